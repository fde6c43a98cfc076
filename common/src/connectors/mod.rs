//! The connectors, one folder each, with the same shape: `mod.rs` (what it talks to, how it
//! authenticates, the grants it needs, the trait implementations), `config.rs` (its
//! documented parameters, validated before any I/O), `client.rs` (the wire protocol only),
//! and one file per supported sync (`metadata.rs`, `identities.rs`, `access.rs`,
//! `usage.rs`). The registry ([`build`]) maps a target's `connector-name` to one of them.

#[cfg(feature = "entra-id")]
pub mod entra_id;
#[cfg(feature = "ldap")]
pub mod ldap;
#[cfg(feature = "okta")]
pub mod okta;
#[cfg(feature = "postgresql")]
pub mod postgres;
#[cfg(feature = "snowflake")]
pub mod snowflake;

mod registry;

pub use registry::{ALL, build, find};
