//! The services the test command starts, from the shared `test-support` crate.

pub use test_support::*;
