//! The data usage step: the statements a connector reads, streamed into JSON-array parts
//! (`usage-0001.json`, `usage-0002.json`, …) of at most a size cap each, so that a large
//! backlog never makes one huge file. Reports every part, the counts (statements, parsed,
//! unparsed, accessed objects) and the last statement start time reached: the `since` of the
//! next run (see [`UsageRequest`] for the stop-and-resume contract).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tracing::Instrument;

use super::staged::{self, Staged};
use super::{Error, Outcome};
use crate::config::Target;
use crate::connector::{Connector, Sink, UsageRequest};
use crate::model::usage::{Statement, UNPARSED};
use crate::output::{self, Destination, JsonArrayWriter};
use crate::step::Step;

/// The default size cap of one part: 256 MiB.
pub const DEFAULT_PART_BYTES: u64 = 256 * 1024 * 1024;

/// Count keys of the usage report.
pub mod count {
    /// Statements written.
    pub const STATEMENTS: &str = "statements";
    /// Statements whose SQL was parsed.
    pub const PARSED: &str = "parsed";
    /// Statements whose SQL could not be parsed (kept, without accessed objects).
    pub const UNPARSED: &str = "unparsed";
    /// Statements that failed on the server.
    pub const FAILED: &str = "failed";
    /// Accessed data objects, over all statements.
    pub const ACCESSED_OBJECTS: &str = "accessed objects";
}

/// Opens the destination of each part, numbered from 1.
#[async_trait]
pub trait Parts: Send {
    /// The destination of part `number`.
    async fn open(&mut self, number: u32) -> Result<Destination, output::Error>;
}

/// Local files: part `n` of `usage.json` is `usage-000n.json` (the number before the last
/// extension, four digits or more).
#[derive(Debug, Clone)]
pub struct LocalParts {
    base: PathBuf,
}

impl LocalParts {
    /// Parts named after `base`.
    pub fn new(base: impl Into<PathBuf>) -> Self {
        Self { base: base.into() }
    }

    /// The path of part `number`.
    pub fn path(&self, number: u32) -> PathBuf {
        part_path(&self.base, number)
    }
}

/// `dir/name.ext` → `dir/name-0001.ext` (`dir/name-0001` without an extension).
pub fn part_path(base: &Path, number: u32) -> PathBuf {
    let stem = base
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match base.extension() {
        Some(ext) => format!("{stem}-{number:04}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{number:04}"),
    };
    base.with_file_name(name)
}

#[async_trait]
impl Parts for LocalParts {
    async fn open(&mut self, number: u32) -> Result<Destination, output::Error> {
        Destination::file(self.path(number)).await
    }
}

/// What the usage step did.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageOutcome {
    /// Skipped, or the parts written and the counts.
    pub outcome: Outcome,
    /// The largest statement start time written (epoch seconds): the next run's `since`.
    /// `None` when nothing was written (the next run keeps the same `since`).
    pub last_start_time: Option<i64>,
}

/// Runs the usage sync of `target` into parts of at most `part_bytes` bytes each (a single
/// statement larger than that still gets a part of its own). At least one part is written,
/// an empty array when there is nothing new.
pub async fn run(
    connector: &dyn Connector,
    target: &Target,
    request: UsageRequest,
    parts: &mut dyn Parts,
    part_bytes: u64,
) -> Result<UsageOutcome, Error> {
    let span = tracing::info_span!("step", target = %target.name, step = "data-usage");
    async move {
        let skipped = |reason: String| async {
            UsageOutcome {
                outcome: staged::skipped(&Step::DataUsage.to_string(), [], reason).await,
                last_start_time: None,
            }
        };
        if target.skip_data_usage_sync {
            return Ok(skipped("the target sets skip-data-usage-sync".into()).await);
        }
        let Some(sync) = connector.usage() else {
            let reason = format!("the {} connector has no data usage sync", connector.name());
            return Ok(skipped(reason).await);
        };
        let staged = Staged::start(target, Step::DataUsage);
        tracing::info!(since = request.since, part_bytes, "data usage sync started");
        let first = parts.open(1).await.map_err(|e| staged.output_error(e))?;
        let mut sink = PartSink {
            parts,
            part_bytes,
            current: Some((JsonArrayWriter::new(first), 0)),
            number: 1,
            staged,
            counts: Counts::default(),
            last_start_time: None,
            scratch: Vec::with_capacity(4096),
        };
        let result = sync
            .sync_usage(&request, &mut sink)
            .await
            .map_err(|error| Error::connector(&target.name, Step::DataUsage, error));
        let PartSink {
            current,
            staged,
            counts,
            last_start_time,
            ..
        } = sink;
        // Every count is reported, zero or not.
        let counts: BTreeMap<String, u64> = [
            (count::STATEMENTS, counts.statements),
            (count::PARSED, counts.parsed),
            (count::UNPARSED, counts.unparsed),
            (count::FAILED, counts.failed),
            (count::ACCESSED_OBJECTS, counts.accessed_objects),
        ]
        .into_iter()
        .map(|(key, n)| (key.to_owned(), n))
        .collect();
        let current = current.map(|(writer, _)| writer);
        let report = staged.end(current, counts, result).await?;
        tracing::info!(
            last_start_time,
            "the next data usage sync resumes after last_start_time"
        );
        Ok(UsageOutcome {
            outcome: Outcome::Completed(report),
            last_start_time,
        })
    }
    .instrument(span)
    .await
}

/// Writes statements into the current part, opening the next one at the size cap.
struct PartSink<'p, 't> {
    parts: &'p mut dyn Parts,
    part_bytes: u64,
    /// The part being written and its size so far.
    current: Option<(JsonArrayWriter, u64)>,
    number: u32,
    /// The parts closed at the cap.
    staged: Staged<'t>,
    counts: Counts,
    last_start_time: Option<i64>,
    scratch: Vec<u8>,
}

/// The counts of the statements written (plain fields: a map lookup per statement and count
/// was a measurable share of the usage sync's time).
#[derive(Default)]
struct Counts {
    statements: u64,
    parsed: u64,
    unparsed: u64,
    failed: u64,
    accessed_objects: u64,
}

#[async_trait]
impl Sink<Statement> for PartSink<'_, '_> {
    async fn push(&mut self, statement: Statement) -> Result<(), output::Error> {
        // The element's size as the writer will write it (plus `,\n`), to split before the cap.
        self.scratch.clear();
        statement.write_json(&mut self.scratch);
        let size = self.scratch.len() as u64 + 2;
        let full = self.current.as_ref().is_some_and(|(writer, bytes)| {
            writer.count() > 0 && bytes + size + 2 > self.part_bytes
        });
        if full && let Some((writer, _)) = self.current.take() {
            self.staged.closed(writer.finish().await?);
            self.number += 1;
            let next = self.parts.open(self.number).await?;
            self.current = Some((JsonArrayWriter::new(next), 0));
        }
        let Some((writer, bytes)) = self.current.as_mut() else {
            return Err(output::Error::Abandoned {
                location: format!("usage part {}", self.number),
            });
        };
        writer.write_encoded(&self.scratch).await?;
        *bytes += size;
        let counts = &mut self.counts;
        counts.statements += 1;
        if statement.error.contains(UNPARSED) {
            counts.unparsed += 1;
        } else {
            counts.parsed += 1;
        }
        if !statement.success {
            counts.failed += 1;
        }
        counts.accessed_objects += statement.accessed_data_objects.len() as u64;
        self.last_start_time = Some(
            self.last_start_time
                .map_or(statement.start_time, |t| t.max(statement.start_time)),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_numbered_before_the_extension() {
        assert_eq!(
            part_path(Path::new("/tmp/out/usage.json"), 1),
            PathBuf::from("/tmp/out/usage-0001.json")
        );
        assert_eq!(
            part_path(Path::new("usage"), 12),
            PathBuf::from("usage-0012")
        );
    }
}
