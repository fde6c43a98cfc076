//! The Snowflake access sync, both ways:
//! - [`import`] (target → Raito): the account roles and, with `sf-database-roles`, the
//!   database roles, as access providers named, typed and locked exactly as the Go connector
//!   imports them (raito-io/cli-plugin-snowflake snowflake/data_access_sync_from_target.go), so
//!   a customer moving from the Go CLI keeps every access provider's external id;
//! - [`apply`] (Raito → target): access providers as account and database roles, their who
//!   and their object privileges, diff-only, in multi-statement requests ([`names`]: role
//!   names as Go generates them; [`what`]: what items as grants).
//!
//! Not yet: outbound shares as access providers, application roles (`sf-applications`),
//! masking and row access policies (both ways: masks and filters fail in their feedback), and
//! the tags of roles.

pub mod apply;
pub mod import;
pub mod names;
pub mod policies;
pub mod rule;
pub mod what;

pub use crate::model::access::{managed_comment, managed_for};
