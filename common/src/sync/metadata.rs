//! The data source (metadata) step: the data source element first, then every data object
//! the connector finds, streamed into one JSON array. The output appears under its final
//! name only when the step succeeded.

use std::collections::BTreeMap;

use async_trait::async_trait;
use tracing::Instrument;

use super::staged::{self, Staged};
use super::{Error, Outcome};
use crate::config::Target;
use crate::connector::{Connector, DataSourceRequest, Sink};
use crate::model::data_source::{DataObject, DataSourceMetaData, object_type};
use crate::output::{self, Destination, JsonArrayWriter, add_count};
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
        let what = Step::DataSource.to_string();
        if target.skip_data_source_sync {
            let reason = "the target sets skip-data-source-sync".to_owned();
            return Ok(staged::skipped(&what, [destination], reason).await);
        }
        let Some(sync) = connector.data_source() else {
            let reason = format!("the {} connector has no data source sync", connector.name());
            return Ok(staged::skipped(&what, [destination], reason).await);
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

        let staged = Staged::start(target, Step::DataSource);
        tracing::info!(output = %destination.location(), "data source sync started");
        let mut objects = ObjectWriter {
            writer: JsonArrayWriter::new(destination),
            counts: BTreeMap::new(),
        };
        let result = write_objects(sync, target, &request, &staged, &mut objects).await;
        let report = staged.end([objects.writer], objects.counts, result).await?;
        Ok(Outcome::Completed(report))
    }
    .instrument(span)
    .await
}

/// The end of the pipeline: writes each data object into the data source file with
/// [`DataObject::write_json`] and counts it by type. Written by hand, not by serde, because
/// there is one object per column, table, schema…: millions in a large catalog. Counting here,
/// not in a [`crate::connector::CountingSink`] in front, spares each object one more hand-over
/// (a move and a boxed future).
struct ObjectWriter {
    writer: JsonArrayWriter,
    counts: BTreeMap<String, u64>,
}

#[async_trait]
impl Sink<DataObject> for ObjectWriter {
    async fn push(&mut self, object: DataObject) -> Result<(), output::Error> {
        add_count(&mut self.counts, &object.r#type, 1);
        self.writer
            .write_with(|buffer| object.write_json(buffer))
            .await
    }
}

async fn write_objects(
    sync: &dyn crate::connector::DataSourceSync,
    target: &Target,
    request: &DataSourceRequest,
    staged: &Staged<'_>,
    sink: &mut (dyn Sink<DataObject> + '_),
) -> Result<(), Error> {
    if request.parent.is_none() {
        let (name, full_name) = sync
            .data_source_names()
            .await
            .map_err(|source| Error::connector(&target.name, Step::DataSource, source))?
            .unwrap_or_else(|| (target.name.clone(), request.data_source_id.clone()));
        sink.push(DataObject {
            external_id: request.data_source_id.clone(),
            name,
            full_name,
            r#type: object_type::DATASOURCE.to_owned(),
            ..Default::default()
        })
        .await
        .map_err(|source| staged.output_error(source))?;
    }
    // What the Go writer and post-processor do to each object: the objects directly under the
    // data source (an empty `parentExternalId`) get the data source's id as their parent, as
    // for every object but the data source element, in full and partial syncs alike (raito-io/cli
    // `base/data_source/exporter.go`, `AddDataObjects`): Raito never receives an empty one. Then
    // the target's data object tag rule.
    let (data_source_id, tags) = (&request.data_source_id, &target.settings.tags);
    let mut changing = super::post::Changing::new(sink, |object: &mut DataObject| {
        if object.parent_external_id.is_empty() && object.r#type != object_type::DATASOURCE {
            object.parent_external_id = data_source_id.clone();
        }
        super::post::data_object(object, tags);
    });
    sync.sync_data_objects(request, &mut changing)
        .await
        .map_err(|source| Error::connector(&target.name, Step::DataSource, source))
}
