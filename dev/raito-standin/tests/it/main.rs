//! The stand-in driven over real HTTP, as the Raito client and the Go CLI talk to Raito Cloud:
//! sign-in, uploads, GraphQL validation, the data source and identity import rules, the data
//! access sync (export, feedback, import), the trigger channel, fault injection.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod access;
mod auth;
mod binary;
mod documents;
mod faults;
mod graphql;
mod identities;
mod import;
mod trigger;
mod upload;
