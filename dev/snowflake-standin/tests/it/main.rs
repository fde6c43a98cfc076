//! The stand-in driven over real HTTP, as a connector talks to Snowflake's SQL API:
//! authentication, the protocol (refusals, ResultSet, 202, partitions, retries, cancels,
//! timeouts, faults), the served statements, the usage reads, the grant reads, the writes of an
//! access apply (multi-statement requests among them), masking and row access policies, and the
//! binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod auth;
mod binary;
mod grants;
mod policies;
mod protocol;
mod statements;
mod usage;
mod writes;
