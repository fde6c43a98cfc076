//! The conformance suite every connector runs (the `testing` feature): one free function per
//! contract, over `&dyn Connector`, so that a connector's own tests build what is specific to
//! its system (a target, a seeded workload, access providers that fit it) and let these
//! functions check what every connector owes the pipelines and Raito Cloud.
//!
//! - [`data_source`]: the data source metadata and the data objects file (full and partial);
//! - [`identities`]: the users and groups files;
//! - [`access`]: the access sync both ways: an apply converges, a plan lists exactly what the
//!   apply then runs, a failing access provider does not stop the others, the import leaves
//!   the access providers Raito manages out;
//! - [`usage`]: the [`UsageRequest`](crate::connector::UsageRequest) contract: `since` in
//!   whole seconds, time order, a deadline that stops only at a second boundary, and progress
//!   even past the deadline.
//!
//! The data source and identity checks run the real pipeline into files and read them back,
//! as Raito would; the access and usage checks drive the connector's trait directly, because
//! their contracts are the trait's ([`AccessSync`](crate::connector::AccessSync),
//! [`UsageRequest`](crate::connector::UsageRequest)): the pipeline adds nothing a connector must
//! keep there, and reading the trait's output keeps each failure next to its cause.
//!
//! Every check panics, with a message that names the broken rule, when its contract does not
//! hold: it is test code, meant to be called from `#[test]`s. Each one is shown to fail on a
//! connector that breaks its rule by the unit tests next to it.

// Test code: a failed expectation is the result, reported by a panic with its reason, as
// `assert!` does. The same lints are allowed for the same reason in every test binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod access;
pub mod data_source;
pub mod identities;
pub mod usage;

pub use access::{
    check_apply_converges, check_failing_access_provider_is_isolated,
    check_import_excludes_managed, check_plan_matches_apply,
};
pub use data_source::{
    check_data_source_metadata, check_data_source_sync, check_partial_data_source_sync,
};
pub use identities::check_identity_sync;
pub use usage::{
    check_usage_order, check_usage_progress_past_deadline, check_usage_second_boundaries,
    check_usage_since,
};
