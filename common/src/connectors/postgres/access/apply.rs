//! Applies exported access providers to PostgreSQL (placeholder on this branch).

use super::super::config::Config;
use crate::connector::{AccessOutcome, ApplyMode, Error, Sink, Source};
use crate::model::access::ExportedAccessProvider;

/// Applies (or plans) the access providers, one outcome each.
pub async fn run(
    _config: &Config,
    _mode: ApplyMode,
    _access_providers: &mut dyn Source<ExportedAccessProvider>,
    _outcomes: &mut dyn Sink<AccessOutcome>,
) -> Result<(), Error> {
    Err(Error::InvalidRequest {
        connector: super::super::NAME,
        message: "applying access is not built yet".to_owned(),
    })
}
