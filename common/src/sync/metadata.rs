//! The data source (metadata) step: the data source element first, then every data object
//! the connector finds, streamed into one JSON array. The output appears under its final
//! name only when the step succeeded.

use std::time::Instant;

use tracing::Instrument;

use super::{Error, Outcome, Report};
use crate::config::Target;
use crate::connector::{Connector, CountingSink, DataSourceRequest, Sink};
use crate::model::data_source::{DataObject, DataSourceMetaData, object_type};
use crate::output::{Destination, JsonArrayWriter};
use crate::step::Step;

/// The data source metadata of the target's connector, or `None` when it has no data source
/// sync.
pub async fn data_source_metadata(
    connector: &dyn Connector,
    target: &Target,
) -> Result<Option<DataSourceMetaData>, Error> {
    let Some(sync) = connector.data_source() else {
        return Ok(None);
    };
    sync.metadata()
        .await
        .map(Some)
        .map_err(|source| Error::Connector {
            target: target.name.clone(),
            step: Step::DataSource,
            source,
        })
}

/// Runs the data source sync of `target` into `destination`.
///
/// `request.data_source_id` defaults to the target's `data-source-id`. In a partial sync
/// (`request.parent` set) no data source element is written.
pub async fn run(
    connector: &dyn Connector,
    target: &Target,
    mut request: DataSourceRequest,
    destination: Destination,
) -> Result<Outcome, Error> {
    let span = tracing::info_span!("step", target = %target.name, step = "data-source");
    async move {
        if target.skip_data_source_sync {
            destination.abort().await;
            return Ok(skipped("the target sets skip-data-source-sync"));
        }
        let Some(sync) = connector.data_source() else {
            destination.abort().await;
            return Ok(skipped(&format!(
                "the {} connector has no data source sync",
                connector.name()
            )));
        };
        if request.data_source_id.is_empty() {
            request.data_source_id = target.data_source_id.clone().unwrap_or_default();
        }
        if request.data_source_id.is_empty() {
            destination.abort().await;
            return Err(Error::Target {
                target: target.name.clone(),
                message: "data-source-id is required for the data source sync".into(),
            });
        }

        let started = Instant::now();
        tracing::info!(output = %destination.location(), "data source sync started");
        let mut writer = JsonArrayWriter::new(destination);
        let result = write_objects(sync, target, &request, &mut writer).await;
        let counts = match result {
            Ok(counts) => counts,
            Err(error) => {
                writer.abort().await;
                tracing::error!(%error, "data source sync failed; nothing was written");
                return Err(error);
            }
        };
        let written = writer.finish().await.map_err(|source| Error::Output {
            target: target.name.clone(),
            step: Step::DataSource,
            source,
        })?;
        let elapsed = started.elapsed();
        tracing::info!(
            objects = written.elements,
            bytes = written.bytes,
            elapsed_ms = elapsed.as_millis() as u64,
            output = %written.location,
            "data source sync completed"
        );
        Ok(Outcome::Completed(Report {
            written: vec![written],
            counts,
            elapsed,
        }))
    }
    .instrument(span)
    .await
}

async fn write_objects(
    sync: &dyn crate::connector::DataSourceSync,
    target: &Target,
    request: &DataSourceRequest,
    writer: &mut JsonArrayWriter,
) -> Result<std::collections::BTreeMap<String, u64>, Error> {
    let output_error = |source| Error::Output {
        target: target.name.clone(),
        step: Step::DataSource,
        source,
    };
    let mut counting = CountingSink::new(writer, |object: &DataObject| object.r#type.as_str());
    if request.parent.is_none() {
        counting
            .push(DataObject {
                external_id: request.data_source_id.clone(),
                name: target.name.clone(),
                full_name: request.data_source_id.clone(),
                r#type: object_type::DATASOURCE.to_owned(),
                ..Default::default()
            })
            .await
            .map_err(output_error)?;
    }
    // What the Go writer and post-processor do to each object: the objects directly under the
    // data source (an empty `parentExternalId`) get the data source's id as their parent, as
    // for every object but the data source element, in full and partial syncs alike (raito-io/cli
    // `base/data_source/exporter.go`, `AddDataObjects`): Raito never receives an empty one. Then
    // the target's data object tag rule.
    let (data_source_id, tags) = (&request.data_source_id, &target.settings.tags);
    let mut changing = super::post::Changing::new(&mut counting, |object: &mut DataObject| {
        if object.parent_external_id.is_empty() && object.r#type != object_type::DATASOURCE {
            object.parent_external_id = data_source_id.clone();
        }
        super::post::data_object(object, tags);
    });
    sync.sync_data_objects(request, &mut changing)
        .await
        .map_err(|source| Error::connector(&target.name, Step::DataSource, source))?;
    Ok(counting.into_counts())
}

fn skipped(reason: &str) -> Outcome {
    tracing::info!(reason, "data source sync skipped");
    Outcome::Skipped {
        reason: reason.to_owned(),
    }
}
