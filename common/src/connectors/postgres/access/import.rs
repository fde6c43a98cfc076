//! Reads the roles and grants Raito does not manage (placeholder on this branch).

use super::super::config::Config;
use crate::connector::{Error, Sink};
use crate::model::access::AccessProvider;

/// Pushes one access provider per unmanaged role.
pub async fn run(_config: &Config, _sink: &mut dyn Sink<AccessProvider>) -> Result<(), Error> {
    Err(Error::InvalidRequest {
        connector: super::super::NAME,
        message: "importing access is not built yet".to_owned(),
    })
}
