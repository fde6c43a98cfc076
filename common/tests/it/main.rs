//! The one integration test binary of `raito-common`. Tests that need a real service
//! (PostgreSQL, moto) read its address from the environment set by `dev/test.sh` and fail
//! with the command that starts it when it is missing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod config;
mod dashboard;
mod entra_id;
mod ldap;
mod model;
mod okta;
mod output;
mod pending;
mod postgres;
mod postgres_access;
mod postgres_access_import;
mod postgres_faults;
mod postgres_security;
mod postgres_usage;
mod properties;
mod raito;
mod run_partial;
mod snowflake;
mod snowflake_access;
mod snowflake_apply;
mod webhook;
