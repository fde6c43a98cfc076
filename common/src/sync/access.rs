//! The data access step, both ways.
//!
//! - **Apply** (Raito → target): an access export document (the file Raito exported to, an
//!   access-as-code file in S3, a local file) is read twice, streaming. The first pass checks
//!   the whole document: a document that is not well-formed is refused before anything is
//!   applied, so a truncated or hand-broken file never leaves the target half-changed. An
//!   access provider that does not fit the model (a wrong type, a duplicate id) gets an error
//!   in its feedback and the others are still applied. The second pass hands the access
//!   providers to the connector one at a time; each outcome's feedback is streamed into a JSON
//!   array (the feedback file for Raito) and its statements to a listener (the plan printed by
//!   `raito-sync access plan`, the log). Memory holds the ids seen (to refuse duplicates) and
//!   the feedback of the invalid access providers, never the document.
//! - **Import** (target → Raito): the access the connector finds and does not manage, streamed
//!   into one JSON array, like the other steps.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncReadExt};
use tracing::Instrument;

use super::staged::{self, Staged};
use super::{Error, Outcome, Report, StepError};
use crate::access_file::{self, Format, Header, Part, Reader};
use crate::config::Target;
use crate::connector::{
    AccessOutcome, ApplyMode, Connector, CountingSink, Sink, Source, add_count,
};
use crate::model::access::{
    AccessProvider, AccessProviderFeedback, ExportedAccessProvider, FeedbackElement,
};
use crate::output::{self, Destination, JsonArrayWriter, Written};
use crate::raito::{self, JobId};
use crate::step::Step;

/// The keys of an apply's counts.
pub mod count {
    /// Access providers whose statements ran (or would run, in a plan).
    pub const CHANGED: &str = "changed";
    /// Access providers the target already matched.
    pub const UNCHANGED: &str = "unchanged";
    /// Access providers with an error in their feedback.
    pub const FAILED: &str = "failed";
    /// Statements run (or planned).
    pub const STATEMENTS: &str = "statement";
    /// Access providers imported from the target.
    pub const IMPORTED: &str = "accessProvider";
    /// Access providers imported from the target that Raito may not take over.
    pub const NOT_INTERNALIZABLE: &str = "notInternalizable";
}

/// Where an access export document is read from. It is opened twice (see the module docs).
#[derive(Debug, Clone)]
pub enum ExportInput {
    /// A local file; the format comes from its extension, else from its content.
    File(PathBuf),
    /// An S3 object (an access-as-code file in the bundle's bucket). The first read notes the
    /// object's ETag and the second reads only that version (`If-Match`): a file replaced
    /// between the check and the apply is refused as a whole.
    S3 {
        /// The S3 client.
        client: aws_sdk_s3::Client,
        /// The bucket.
        bucket: String,
        /// The object's key.
        key: String,
        /// The ETag of the first read (see above); start with `Default::default()`.
        etag: Arc<std::sync::OnceLock<String>>,
    },
    /// A URL to GET with no credentials: the presigned location of Raito's export.
    Url {
        /// The HTTP client.
        http: reqwest::Client,
        /// The URL; its query string (a signature) is never logged.
        url: String,
    },
}

impl ExportInput {
    /// The input as errors and logs name it: a URL without its query string.
    pub fn location(&self) -> String {
        match self {
            ExportInput::File(path) => path.display().to_string(),
            ExportInput::S3 { bucket, key, .. } => format!("s3://{bucket}/{key}"),
            ExportInput::Url { url, .. } => {
                let end = url.find(['?', '#']).unwrap_or(url.len());
                url[..end].to_owned()
            }
        }
    }

    fn format(&self) -> Option<Format> {
        match self {
            ExportInput::File(path) => Format::from_path(path),
            ExportInput::S3 { key, .. } => Format::from_path(std::path::Path::new(key)),
            // Raito serves YAML or JSON under any name: tell by the content.
            ExportInput::Url { .. } => None,
        }
    }

    /// The document's bytes, as stored or served.
    async fn body(&self) -> Result<Box<dyn AsyncRead + Send + Unpin>, access_file::Error> {
        let location = self.location();
        let io = |source: std::io::Error| access_file::Error::Io {
            location: location.clone(),
            source,
        };
        Ok(match self {
            ExportInput::File(path) => Box::new(tokio::fs::File::open(path).await.map_err(io)?),
            ExportInput::S3 {
                client,
                bucket,
                key,
                etag,
            } => {
                let object = client
                    .get_object()
                    .bucket(bucket)
                    .key(key)
                    .set_if_match(etag.get().cloned())
                    .send()
                    .await
                    .map_err(|e| {
                        let changed = e.raw_response().is_some_and(|r| r.status().as_u16() == 412);
                        if changed {
                            return access_file::Error::Io {
                                location: location.clone(),
                                source: std::io::Error::other(
                                    "the file changed between the check and the apply (its \
                                     ETag no longer matches); nothing was applied: put it again",
                                ),
                            };
                        }
                        io(std::io::Error::other(
                            aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
                        ))
                    })?;
                if let Some(tag) = &object.e_tag {
                    let _ = etag.set(tag.clone());
                }
                Box::new(object.body.into_async_read())
            }
            ExportInput::Url { http, url } => {
                let response = http
                    .get(url)
                    .send()
                    .await
                    .map_err(|e| io(std::io::Error::other(e.without_url())))?;
                let status = response.status();
                if !status.is_success() {
                    return Err(io(std::io::Error::other(format!(
                        "the download answered HTTP {status} (an expired export link? run again)"
                    ))));
                }
                let stream =
                    futures::TryStreamExt::map_err(response.bytes_stream(), |e: reqwest::Error| {
                        std::io::Error::other(e.without_url())
                    });
                Box::new(tokio_util::io::StreamReader::new(stream))
            }
        })
    }

    async fn open(&self, options: access_file::Options) -> Result<Reader, access_file::Error> {
        let body = self.body().await?;
        Ok(Reader::from_reader(
            body,
            self.format(),
            self.location(),
            options,
        ))
    }

    /// Copies the document into `destination` byte for byte, as it is stored or served,
    /// without reading it as a document (`raito-sync access export` keeps Raito's export so).
    /// `target` names the failure.
    pub async fn save(
        &self,
        target: &Target,
        mut destination: Destination,
    ) -> Result<Written, Error> {
        let read_error = |source| Error::AccessFile {
            target: target.name.clone(),
            source,
        };
        let write_error = |source| Error::Output {
            target: target.name.clone(),
            step: Step::DataAccess,
            source,
        };
        let mut body = match self.body().await {
            Ok(body) => body,
            Err(error) => {
                destination.abort().await;
                return Err(read_error(error));
            }
        };
        let mut buffer = vec![0; 64 * 1024];
        loop {
            let read = match body.read(&mut buffer).await {
                Ok(0) => break,
                Ok(read) => read,
                Err(source) => {
                    destination.abort().await;
                    return Err(read_error(access_file::Error::Io {
                        location: self.location(),
                        source,
                    }));
                }
            };
            if let Err(error) = destination.write(&buffer[..read]).await {
                destination.abort().await;
                return Err(write_error(error));
            }
        }
        destination.finish().await.map_err(write_error)
    }
}

/// How often an export is polled at most: every second, as the Raito CLI does.
const EXPORT_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Asks Raito Cloud, in `job`, for the export of the access providers of data source
/// `data_source_id` (with `out_of_sync_only`, only those out of sync: what an `apUpdate`
/// applies) and waits for it until `deadline`, polling every `poll_interval` (every second at
/// most). The export is a presigned URL, to [`apply`] or [`ExportInput::save`].
pub async fn request_export(
    raito: &raito::Client,
    job: &JobId,
    data_source_id: &str,
    out_of_sync_only: bool,
    deadline: tokio::time::Instant,
    poll_interval: Duration,
) -> Result<ExportInput, StepError> {
    let subtask = raito
        .export_access_providers(job, data_source_id, out_of_sync_only)
        .await
        .map_err(StepError::raito("requesting the access export"))?;
    let outcome = raito
        .wait_for_subtask(
            job,
            Step::DataAccess,
            &subtask,
            deadline,
            poll_interval.min(EXPORT_POLL_INTERVAL),
        )
        .await
        .map_err(StepError::raito("exporting the access from Raito Cloud"))?;
    let Some(raito::SubtaskResult::AccessProviderExport {
        file_location: Some(url),
        ..
    }) = outcome.result
    else {
        return Err(StepError::Unexpected(
            "Raito's export finished without a file location".into(),
        ));
    };
    Ok(ExportInput::Url {
        http: raito.http().clone(),
        url,
    })
}

/// What the first pass found.
struct Checked {
    /// Access providers in the document, valid or not.
    count: u64,
    /// The feedback of the invalid ones (the first with their id), by position.
    invalid: HashMap<u64, AccessProviderFeedback>,
    /// Positions of access providers whose id an earlier one has: never applied, their error
    /// goes into the feedback of that id (one element per id, as Go writes the file).
    repeated: HashSet<u64>,
    /// What to add to the feedback of an id when it is written.
    notes: Notes,
}

/// Errors and warnings the pipeline adds to the feedback of an access provider, by id: the
/// repeated ids found by the check, the keys the model does not know found by the apply pass.
type Notes = Arc<Mutex<HashMap<String, Note>>>;

#[derive(Debug, Default)]
struct Note {
    errors: Vec<String>,
    warnings: Vec<String>,
}

fn note(notes: &Notes) -> std::sync::MutexGuard<'_, HashMap<String, Note>> {
    // A panic while holding the lock cannot leave the map half-changed (single inserts).
    notes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads the whole document once: refuses it when it is not well-formed, and notes the
/// access providers that cannot be applied.
async fn check(input: &ExportInput, options: access_file::Options) -> Result<Checked, AccessError> {
    let mut reader = input.open(options).await.map_err(AccessError::File)?;
    // The position of the first access provider with each id.
    let mut first: HashMap<String, u64> = HashMap::new();
    let mut checked = Checked {
        count: 0,
        invalid: HashMap::new(),
        repeated: HashSet::new(),
        notes: Notes::default(),
    };
    let repeated = |checked: &mut Checked, id: &str, index: u64, earlier: u64| {
        checked.repeated.insert(index);
        note(&checked.notes)
            .entry(id.to_owned())
            .or_default()
            .errors
            .push(format!(
                "the id {id:?} appears more than once in the document (access providers \
                 {earlier} and {index}); only access provider {earlier} is applied"
            ));
    };
    loop {
        let index = checked.count;
        match reader.next().await {
            Ok(Some(access_provider)) => {
                checked.count += 1;
                let id = access_provider.id;
                match first.get(&id) {
                    Some(&earlier) => repeated(&mut checked, &id, index, earlier),
                    None => {
                        first.insert(id, index);
                    }
                }
            }
            Ok(None) => return Ok(checked),
            Err(error) if !error.ends_reading() => {
                checked.count += 1;
                let Some(Part::AccessProvider { id: Some(id), .. }) = error.part() else {
                    // Without an id its feedback cannot name it: the document must be fixed.
                    return Err(AccessError::File(error));
                };
                match first.get(id) {
                    Some(&earlier) => repeated(&mut checked, id, index, earlier),
                    None => {
                        first.insert(id.clone(), index);
                        checked.invalid.insert(index, failed(id, error.to_string()));
                    }
                }
            }
            Err(error) => return Err(AccessError::File(error)),
        }
    }
}

/// A feedback with one error.
fn failed(id: &str, error: String) -> AccessProviderFeedback {
    AccessProviderFeedback {
        access_provider: id.to_owned(),
        errors: vec![error],
        ..Default::default()
    }
}

/// The most entries one list of an access provider may have (who users, groups, inheritance;
/// what and deleteWhat items): one access provider must fit a fixed memory budget, whatever the
/// document holds.
pub const MAX_LIST_ENTRIES: usize = 100_000;

/// Why `access_provider` is refused for its size, if it is.
fn too_large(access_provider: &ExportedAccessProvider) -> Option<String> {
    let who = &access_provider.who;
    let lists = [
        ("who.users", who.users.len()),
        ("who.groups", who.groups.len()),
        ("who.inheritFrom", who.inherit_from.len()),
        ("who.recipients", who.recipients.len()),
        ("what", access_provider.what.len()),
        ("deleteWhat", access_provider.delete_what.len()),
    ];
    let (list, entries) = lists.into_iter().find(|(_, n)| *n > MAX_LIST_ENTRIES)?;
    Some(format!(
        "{list} has {entries} entries, more than the {MAX_LIST_ENTRIES} one access provider may \
         have; nothing of it was applied (split it into several access providers)"
    ))
}

/// One warning per key of `access_provider` the model does not know (Go ignores them,
/// `sync_to_target/access_provider_file_parser.go`; we apply what is understood and say what
/// was not). Positions in lists are folded: `what[].columns` once, however many items have it.
fn unknown_key_warnings(access_provider: &ExportedAccessProvider) -> Vec<String> {
    // In the order first seen; an access provider has few distinct keys.
    let mut keys: Vec<(String, usize)> = Vec::new();
    for path in access_provider.unknown_field_paths() {
        let mut folded = String::with_capacity(path.len());
        let mut in_index = false;
        for c in path.chars() {
            match c {
                '[' => {
                    in_index = true;
                    folded.push_str("[]");
                }
                ']' => in_index = false,
                _ if in_index => {}
                _ => folded.push(c),
            }
        }
        match keys.iter_mut().find(|(key, _)| *key == folded) {
            Some((_, n)) => *n += 1,
            None => keys.push((folded, 1)),
        }
    }
    keys.into_iter()
        .map(|(key, n)| {
            let times = if n > 1 {
                format!(" ({n} times)")
            } else {
                String::new()
            };
            format!("the key `{key}`{times} is not understood by this connector and was ignored")
        })
        .collect()
}

/// Why applying a document stopped.
#[derive(Debug)]
enum AccessError {
    File(access_file::Error),
    Changed(String),
}

/// The second pass: the valid access providers, one at a time; the invalid ones' feedback is
/// set aside.
struct Valid {
    reader: Reader,
    checked: Checked,
    index: u64,
    set_aside: Vec<AccessProviderFeedback>,
    failure: Option<AccessError>,
}

impl Valid {
    /// Stops the connector's reading; the pipeline reports `error`.
    fn stop(&mut self, error: AccessError) -> output::Error {
        let location = match &error {
            AccessError::File(e) => e.to_string(),
            AccessError::Changed(message) => message.clone(),
        };
        self.failure = Some(error);
        output::Error::Abandoned { location }
    }

    fn changed(&mut self) -> output::Error {
        let message = format!(
            "the document changed between the check and the apply (at access provider {})",
            self.index
        );
        self.stop(AccessError::Changed(message))
    }
}

#[async_trait]
impl Source<ExportedAccessProvider> for Valid {
    async fn next(&mut self) -> Result<Option<ExportedAccessProvider>, output::Error> {
        loop {
            let index = self.index;
            match self.reader.next().await {
                Ok(Some(access_provider)) => {
                    self.index += 1;
                    if index >= self.checked.count {
                        return Err(self.changed());
                    }
                    if self.checked.repeated.contains(&index) {
                        continue;
                    }
                    if let Some(feedback) = self.checked.invalid.remove(&index) {
                        self.set_aside.push(feedback);
                        continue;
                    }
                    if let Some(error) = too_large(&access_provider) {
                        self.set_aside.push(failed(&access_provider.id, error));
                        continue;
                    }
                    let warnings = unknown_key_warnings(&access_provider);
                    if !warnings.is_empty() {
                        note(&self.checked.notes)
                            .entry(access_provider.id.clone())
                            .or_default()
                            .warnings
                            .extend(warnings);
                    }
                    return Ok(Some(access_provider));
                }
                Ok(None) if index == self.checked.count => return Ok(None),
                Ok(None) => return Err(self.changed()),
                Err(error) if error.ends_reading() => {
                    return Err(self.stop(AccessError::File(error)));
                }
                Err(_) => {
                    self.index += 1;
                    if self.checked.repeated.contains(&index) {
                        continue;
                    }
                    match self.checked.invalid.remove(&index) {
                        Some(feedback) => self.set_aside.push(feedback),
                        None => return Err(self.changed()),
                    }
                }
            }
        }
    }
}

/// Receives each outcome as it comes: to print a plan or log the statements.
pub type Listener<'a> = dyn FnMut(&AccessOutcome) + Send + 'a;

/// The outcomes' sink: notes, counts, feedback file, listener.
struct Outcomes<'a> {
    notes: Notes,
    feedback: Option<JsonArrayWriter>,
    listener: &'a mut Listener<'a>,
    counts: BTreeMap<String, u64>,
}

impl Outcomes<'_> {
    fn count(&mut self, key: &str, n: u64) {
        add_count(&mut self.counts, key, n);
    }
}

#[async_trait]
impl Sink<AccessOutcome> for Outcomes<'_> {
    async fn push(&mut self, mut outcome: AccessOutcome) -> Result<(), output::Error> {
        if let Some(note) = note(&self.notes).remove(&outcome.feedback.access_provider) {
            outcome.feedback.errors.extend(note.errors);
            outcome.feedback.warnings.extend(note.warnings);
        }
        (self.listener)(&outcome);
        let key = if !outcome.feedback.errors.is_empty() {
            count::FAILED
        } else if outcome.statements.is_empty() {
            count::UNCHANGED
        } else {
            count::CHANGED
        };
        self.count(key, 1);
        self.count(count::STATEMENTS, outcome.statements.len() as u64);
        if !outcome.feedback.errors.is_empty() {
            tracing::warn!(
                access_provider = %outcome.feedback.access_provider,
                errors = ?outcome.feedback.errors,
                "access provider not applied"
            );
        }
        match &mut self.feedback {
            Some(writer) => {
                writer
                    .write(&FeedbackElement::from(&outcome.feedback))
                    .await
            }
            None => Ok(()),
        }
    }
}

/// What an apply did.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The feedback file written (if one was asked for), the counts ([`count`]), the time.
    pub report: Report,
    /// The document's header: `lastCalculated`, `fileBuildTime`.
    pub header: Header,
}

/// Applies (or plans) the access export document `input` to the target through its
/// connector; writes one feedback per access provider into `feedback` (when given) and hands
/// every outcome to `listener`. See the module docs for the two passes.
pub async fn apply(
    connector: &dyn Connector,
    target: &Target,
    input: &ExportInput,
    mode: ApplyMode,
    feedback: Option<Destination>,
    listener: &mut Listener<'_>,
) -> Result<Option<Applied>, Error> {
    let span = tracing::info_span!("step", target = %target.name, step = "data-access", ?mode);
    async move {
        let Some(sync) = connector.access() else {
            if let Some(destination) = feedback {
                destination.abort().await;
            }
            tracing::info!("the {} connector has no access sync", connector.name());
            return Ok(None);
        };
        let staged = Staged::start(target, Step::DataAccess).called(match mode {
            ApplyMode::Plan => "access plan",
            ApplyMode::Apply => "access apply",
        });
        let location = input.location();
        let fail = |error: AccessError| match error {
            AccessError::File(source) => Error::AccessFile {
                target: target.name.clone(),
                source,
            },
            AccessError::Changed(message) => Error::Target {
                target: target.name.clone(),
                message: format!("{location}: {message}; nothing more was applied"),
            },
        };
        let options = access_file::Options::default();
        tracing::info!(input = %location, "checking the access document");
        let checked = match check(input, options).await {
            Ok(checked) => checked,
            Err(error) => {
                if let Some(destination) = feedback {
                    destination.abort().await;
                }
                return Err(fail(error));
            }
        };
        tracing::info!(
            access_providers = checked.count,
            invalid = checked.invalid.len(),
            "the access document is well-formed; applying"
        );
        let reader = match input.open(options).await {
            Ok(reader) => reader,
            Err(error) => {
                if let Some(destination) = feedback {
                    destination.abort().await;
                }
                return Err(fail(AccessError::File(error)));
            }
        };
        let mut source = Valid {
            reader,
            checked,
            index: 0,
            set_aside: Vec::new(),
            failure: None,
        };
        let mut outcomes = Outcomes {
            notes: source.checked.notes.clone(),
            feedback: feedback.map(JsonArrayWriter::new),
            listener,
            counts: BTreeMap::new(),
        };
        let result = sync.sync_to_target(mode, &mut source, &mut outcomes).await;
        let mut result = match (result, source.failure.take()) {
            (_, Some(error)) => Err(fail(error)),
            (Err(error), None) => Err(Error::connector(&target.name, Step::DataAccess, error)),
            (Ok(()), None) => Ok(()),
        };
        if result.is_ok() {
            for feedback in std::mem::take(&mut source.set_aside) {
                let outcome = AccessOutcome {
                    feedback,
                    statements: Vec::new(),
                };
                if let Err(source) = outcomes.push(outcome).await {
                    result = Err(staged.output_error(source));
                    break;
                }
            }
        }
        let header = source.reader.header().clone();
        let report = staged
            .end(outcomes.feedback, outcomes.counts, result)
            .await?;
        Ok(Some(Applied { report, header }))
    }
    .instrument(span)
    .await
}

/// Runs the import side of the access sync of `target` into `destination`: one access
/// provider per access control the connector finds and does not manage.
pub async fn import(
    connector: &dyn Connector,
    target: &Target,
    destination: Destination,
) -> Result<Outcome, Error> {
    let span = tracing::info_span!("step", target = %target.name, step = "data-access-import");
    async move {
        const WHAT: &str = "access import";
        let Some(sync) = connector.access() else {
            let reason = format!("the {} connector has no access sync", connector.name());
            return Ok(staged::skipped(WHAT, [destination], reason).await);
        };
        let staged = Staged::start(target, Step::DataAccess).called(WHAT);
        tracing::info!(output = %destination.location(), "access import started");
        let mut writer = JsonArrayWriter::new(destination);
        let mut counting = CountingSink::new(&mut writer, |access_provider: &AccessProvider| {
            if access_provider.not_internalizable {
                count::NOT_INTERNALIZABLE
            } else {
                count::IMPORTED
            }
        });
        // The target's locks and tag rules, as the Raito CLI applies them.
        let settings = &target.settings;
        let mut changing = super::post::Changing::new(&mut counting, |ap: &mut AccessProvider| {
            super::post::access_provider(ap, &settings.locks, &settings.tags)
        });
        let result = sync
            .sync_from_target(&mut changing)
            .await
            .map_err(|error| Error::connector(&target.name, Step::DataAccess, error));
        let counts = counting.into_counts();
        let report = staged.end([writer], counts, result).await?;
        Ok(Outcome::Completed(report))
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    //! The pipeline's own behaviour (two passes, invalid and duplicate access providers,
    //! feedback file), with a connector that records what it is handed; applying to a real
    //! database is covered by each connector's tests.

    use super::*;
    use crate::aws::secrets::NoSecrets;
    use crate::config::Config;
    use crate::connector::AccessSync;
    use crate::model::access::FeedbackAccess;

    #[derive(Default)]
    struct Recording {
        seen: Mutex<Vec<String>>,
    }

    impl Connector for Recording {
        fn name(&self) -> &'static str {
            "recording"
        }
        fn access(&self) -> Option<&dyn AccessSync> {
            Some(self)
        }
    }

    #[async_trait]
    impl AccessSync for Recording {
        async fn sync_from_target(
            &self,
            sink: &mut dyn Sink<AccessProvider>,
        ) -> Result<(), crate::connector::Error> {
            for name in ["a", "b"] {
                sink.push(AccessProvider {
                    external_id: name.to_owned(),
                    not_internalizable: name == "b",
                    ..Default::default()
                })
                .await?;
            }
            Ok(())
        }

        async fn sync_to_target(
            &self,
            mode: ApplyMode,
            access_providers: &mut dyn Source<ExportedAccessProvider>,
            outcomes: &mut dyn Sink<AccessOutcome>,
        ) -> Result<(), crate::connector::Error> {
            while let Some(access_provider) = access_providers.next().await? {
                self.seen.lock().unwrap().push(access_provider.id.clone());
                outcomes
                    .push(AccessOutcome {
                        feedback: AccessProviderFeedback {
                            access_provider: access_provider.id.clone(),
                            actual_name: access_provider.naming_hint.clone(),
                            ..Default::default()
                        },
                        statements: if mode == ApplyMode::Apply || access_provider.id != "p1" {
                            vec![format!("GRANT {}", access_provider.id)]
                        } else {
                            Vec::new()
                        },
                    })
                    .await?;
            }
            Ok(())
        }
    }

    async fn target() -> Target {
        let yaml =
            "targets:\n  - name: t\n    connector-name: postgresql\n    data-source-id: ds\n";
        let config = Config::from_yaml_str(yaml, "test.yml", &NoSecrets)
            .await
            .unwrap();
        config.targets[0].clone()
    }

    async fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> ExportInput {
        let path = dir.path().join(name);
        tokio::fs::write(&path, text).await.unwrap();
        ExportInput::File(path)
    }

    async fn run(
        input: &ExportInput,
        feedback: &std::path::Path,
    ) -> (Result<Option<Applied>, Error>, Vec<String>, usize) {
        let connector = Recording::default();
        let mut heard = 0;
        let mut listener = |_: &AccessOutcome| heard += 1;
        let result = apply(
            &connector,
            &target().await,
            input,
            ApplyMode::Apply,
            Some(Destination::file(feedback).await.unwrap()),
            &mut listener,
        )
        .await;
        let seen = connector.seen.into_inner().unwrap();
        (result, seen, heard)
    }

    /// The feedback file as Raito reads it: (id, the one item).
    fn read_feedback(path: &std::path::Path) -> Vec<(String, FeedbackAccess)> {
        let text = std::fs::read_to_string(path).unwrap();
        let elements: Vec<FeedbackElement> = serde_json::from_str(&text).unwrap();
        elements
            .into_iter()
            .map(|mut e| {
                assert_eq!(e.access.len(), 1, "{text}");
                let access = e.access.remove(0);
                assert_eq!(access.access_id, e.external_id, "{text}");
                (e.external_id, access)
            })
            .collect()
    }

    #[tokio::test]
    async fn every_valid_access_provider_is_applied_and_each_id_gets_one_feedback() {
        let dir = tempfile::tempdir().unwrap();
        let input = write(
            &dir,
            "access.yaml",
            "lastCalculated: 7\naccessProviders:\n  - {id: p1, name: one, namingHint: one, action: grant}\n  - {id: p2, action: frobnicate}\n  - {id: p3, name: three, namingHint: three, action: grant}\n  - {id: p1, action: grant}\n  - {id: p2, action: grant}\n",
        )
        .await;
        let feedback_path = dir.path().join("feedback.json");
        let (result, seen, heard) = run(&input, &feedback_path).await;
        let applied = result.unwrap().unwrap();
        assert_eq!(
            seen,
            ["p1", "p3"],
            "the invalid and the repeated ids are not applied"
        );
        assert_eq!(heard, 3, "one outcome per id");
        assert_eq!(applied.header.last_calculated, 7);
        assert_eq!(applied.report.counts[count::CHANGED], 1);
        assert_eq!(applied.report.counts[count::FAILED], 2);
        assert_eq!(applied.report.counts[count::STATEMENTS], 2);
        let feedback = read_feedback(&feedback_path);
        let ids: Vec<&str> = feedback.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["p1", "p3", "p2"], "Go writes one element per id");
        let errors = |i: usize| feedback[i].1.errors.clone().unwrap_or_default();
        assert_eq!(errors(0).len(), 1, "{feedback:?}");
        assert!(errors(0)[0].contains("more than once"), "{feedback:?}");
        assert_eq!(feedback[1].1.errors, None, "no error is null, as Go writes");
        assert_eq!(feedback[1].1.warnings, None);
        assert_eq!(errors(2).len(), 2, "{feedback:?}");
        assert!(errors(2)[0].contains("frobnicate"), "{feedback:?}");
        assert!(errors(2)[1].contains("more than once"), "{feedback:?}");
    }

    #[tokio::test]
    async fn keys_the_model_does_not_know_are_applied_with_one_warning_per_key() {
        let dir = tempfile::tempdir().unwrap();
        let input = write(
            &dir,
            "access.json",
            r#"{"accessProviders": [
                {"id": "p1", "action": "grant", "whoAbacRule": {}, "what": [
                    {"dataObject": {"fullName": "a", "type": "table", "id": "x", "v": 1}, "permissions": [], "columns": 1},
                    {"dataObject": {"fullName": "b", "type": "table"}, "permissions": [], "columns": 2}]},
                {"id": "p2", "action": "grant"}]}"#,
        )
        .await;
        let feedback_path = dir.path().join("feedback.json");
        let (result, seen, _) = run(&input, &feedback_path).await;
        result.unwrap().unwrap();
        assert_eq!(seen, ["p1", "p2"], "both applied");
        let feedback = read_feedback(&feedback_path);
        let warnings = feedback[0].1.warnings.clone().unwrap();
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].contains("`whoAbacRule`"), "{warnings:?}");
        assert!(
            warnings[1].contains("`what[].columns` (2 times)"),
            "{warnings:?}"
        );
        assert!(
            warnings[2].contains("`what[].dataObject.v`"),
            "{warnings:?}"
        );
        assert_eq!(feedback[0].1.errors, None);
        assert_eq!(feedback[1].1.warnings, None);
    }

    #[tokio::test]
    async fn an_access_provider_over_the_list_budget_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let users: Vec<String> = (0..=MAX_LIST_ENTRIES).map(|i| format!("u{i}")).collect();
        let document = serde_json::json!({"accessProviders": [
            {"id": "big", "action": "grant", "who": {"users": users}},
            {"id": "small", "action": "grant"},
        ]});
        let input = write(&dir, "access.json", &document.to_string()).await;
        let feedback_path = dir.path().join("feedback.json");
        let (result, seen, _) = run(&input, &feedback_path).await;
        result.unwrap().unwrap();
        assert_eq!(seen, ["small"]);
        let feedback = read_feedback(&feedback_path);
        let errors = feedback[1].1.errors.clone().unwrap();
        assert_eq!(feedback[1].0, "big");
        assert!(
            errors[0].contains("who.users has 100001 entries"),
            "{errors:?}"
        );
    }

    #[tokio::test]
    async fn a_document_that_is_not_well_formed_applies_nothing() {
        let dir = tempfile::tempdir().unwrap();
        // Well-formed at first, broken at the end: the check reads it all before applying.
        let input = write(
            &dir,
            "access.json",
            r#"{"accessProviders": [{"id": "p1", "action": "grant"}, {"id": "p2", "action": "grant"}"#,
        )
        .await;
        let feedback_path = dir.path().join("feedback.json");
        let (result, seen, heard) = run(&input, &feedback_path).await;
        let error = result.unwrap_err().to_string();
        assert!(error.contains("access.json"), "{error}");
        assert!(seen.is_empty() && heard == 0, "nothing applied: {seen:?}");
        assert!(
            !feedback_path.exists(),
            "no feedback file for a refused document"
        );
    }

    #[tokio::test]
    async fn an_access_provider_without_an_id_refuses_the_document() {
        let dir = tempfile::tempdir().unwrap();
        let input = write(
            &dir,
            "access.yaml",
            "accessProviders:\n  - {id: p1, action: grant}\n  - {name: nameless, action: grant}\n",
        )
        .await;
        let (result, seen, _) = run(&input, &dir.path().join("feedback.json")).await;
        assert!(result.is_err());
        assert!(seen.is_empty());
    }

    #[tokio::test]
    async fn a_plan_hands_every_outcome_to_the_listener_and_writes_no_feedback() {
        let dir = tempfile::tempdir().unwrap();
        let input = write(
            &dir,
            "access.yaml",
            "accessProviders:\n  - {id: p1, action: grant}\n  - {id: p2, action: grant}\n",
        )
        .await;
        let connector = Recording::default();
        let mut statements = Vec::new();
        let mut listener = |o: &AccessOutcome| statements.extend(o.statements.clone());
        let applied = apply(
            &connector,
            &target().await,
            &input,
            ApplyMode::Plan,
            None,
            &mut listener,
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(statements, ["GRANT p2"]);
        assert!(applied.report.written.is_empty());
        assert_eq!(applied.report.counts[count::UNCHANGED], 1);
    }

    #[tokio::test]
    async fn the_import_counts_what_raito_may_manage() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("access-providers.json");
        let outcome = import(
            &Recording::default(),
            &target().await,
            Destination::file(&out).await.unwrap(),
        )
        .await
        .unwrap();
        let Outcome::Completed(report) = outcome else {
            panic!("skipped")
        };
        assert_eq!(report.counts["accessProvider"], 1);
        assert_eq!(report.counts["notInternalizable"], 1);
        let written: Vec<AccessProvider> =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert_eq!(written.len(), 2);
    }

    /// An access-as-code file replaced between the check and the apply is refused (moto).
    #[tokio::test]
    async fn an_s3_file_replaced_after_the_check_is_refused() {
        let client = crate::aws::s3_client(&test_support::moto_sdk_config());
        let bucket = test_support::unique_name("etag").replace('_', "-");
        client
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("create bucket in moto (is moto running? dev/services.sh start)");
        let put = |text: &'static str| {
            client
                .put_object()
                .bucket(&bucket)
                .key("access-as-code/t/a.yaml")
                .body(aws_sdk_s3::primitives::ByteStream::from_static(
                    text.as_bytes(),
                ))
                .send()
        };
        put("accessProviders:\n  - {id: p1, action: grant}\n")
            .await
            .unwrap();
        let input = ExportInput::S3 {
            client: client.clone(),
            bucket: bucket.clone(),
            key: "access-as-code/t/a.yaml".into(),
            etag: Default::default(),
        };
        let options = access_file::Options::default();
        let checked = check(&input, options).await.unwrap();
        assert_eq!(checked.count, 1);
        // The same version opens again.
        assert!(input.open(options).await.is_ok());
        put("accessProviders:\n  - {id: p2, action: grant}\n")
            .await
            .unwrap();
        let Err(error) = input.open(options).await else {
            panic!("a replaced file was read");
        };
        assert!(
            error.to_string().contains("changed between the check"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn save_copies_the_document_byte_for_byte_or_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        // Not read as a document: even one that would not parse is kept as it is.
        let text = "# Raito's export\naccessProviders:\n  - {id: p1, action: grant}\n  - {";
        let input = write(&dir, "export.yaml", text).await;
        let out = dir.path().join("kept.yaml");
        let target = target().await;
        let written = input
            .save(&target, Destination::file(&out).await.unwrap())
            .await
            .unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
        assert_eq!(written.bytes, text.len() as u64);
        assert_eq!(written.location, out.display().to_string());

        let missing = ExportInput::File(dir.path().join("missing.yaml"));
        let out = dir.path().join("nothing.yaml");
        let error = missing
            .save(&target, Destination::file(&out).await.unwrap())
            .await
            .unwrap_err();
        assert!(matches!(error, Error::AccessFile { .. }), "{error}");
        assert!(error.to_string().contains("missing.yaml"), "{error}");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(
            !names.iter().any(|n| n.starts_with("nothing")),
            "no file, no partial: {names:?}"
        );
    }

    #[test]
    fn a_presigned_url_is_named_without_its_signature() {
        let input = ExportInput::Url {
            http: reqwest::Client::new(),
            url: "https://bucket.s3.amazonaws.com/export.yaml?X-Amz-Signature=secret".into(),
        };
        assert_eq!(
            input.location(),
            "https://bucket.s3.amazonaws.com/export.yaml"
        );
    }
}
