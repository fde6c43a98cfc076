//! How every pipeline ends the JSON arrays it streams a connector's output into (the data
//! source file, the users and groups files, the usage parts, the access import and feedback
//! files): when the connector succeeded, each array is closed, which makes it visible under its
//! final name, and reported with the counts; when it failed, or an array cannot be closed, the
//! arrays not closed yet are removed, so that no half-written file is ever left under a final
//! name. The log lines of a pipeline's end are written here too, the same for every pipeline.

use std::collections::BTreeMap;
use std::time::Instant;

use super::{Error, Outcome, Report};
use crate::config::Target;
use crate::output::{self, Destination, JsonArrayWriter, Written};
use crate::step::Step;

/// A pipeline writing JSON arrays, from its start (for the elapsed time) to its end.
pub(crate) struct Staged<'a> {
    target: &'a Target,
    step: Step,
    /// The pipeline in words, for its log lines: the step's (`data source sync`) unless set.
    what: &'static str,
    started: Instant,
    /// Arrays closed before the end (usage parts that reached their size cap), in order.
    closed: Vec<Written>,
}

impl<'a> Staged<'a> {
    /// A pipeline of `step` for `target` starting now.
    pub(crate) fn start(target: &'a Target, step: Step) -> Self {
        Self {
            target,
            step,
            what: "",
            started: Instant::now(),
            closed: Vec::new(),
        }
    }

    /// Names the pipeline in its log lines (`access import`) instead of its step.
    pub(crate) fn called(mut self, what: &'static str) -> Self {
        self.what = what;
        self
    }

    /// A failure to write the output, as the pipeline's error.
    pub(crate) fn output_error(&self, source: output::Error) -> Error {
        Error::Output {
            target: self.target.name.clone(),
            step: self.step,
            source,
        }
    }

    /// Records an array closed before the end; it is reported first, and kept when the
    /// pipeline fails later.
    pub(crate) fn closed(&mut self, written: Written) {
        self.closed.push(written);
    }

    /// Ends the pipeline. On `Ok`: closes the `open` arrays in order and reports them, after
    /// those closed before, with `counts`; an array that cannot be closed fails the pipeline
    /// and the ones after it are removed. On `Err`: removes the `open` arrays and returns the
    /// error. `counts` are logged either way (how far a failed pipeline got).
    pub(crate) async fn end(
        mut self,
        open: impl IntoIterator<Item = JsonArrayWriter>,
        counts: BTreeMap<String, u64>,
        result: Result<(), Error>,
    ) -> Result<Report, Error> {
        let mut open = open.into_iter();
        let kept = self.closed.len();
        let mut written = std::mem::take(&mut self.closed);
        let failure = match result {
            Ok(()) => loop {
                let Some(writer) = open.next() else {
                    break None;
                };
                match writer.finish().await {
                    Ok(array) => written.push(array),
                    Err(source) => break Some(self.output_error(source)),
                }
            },
            Err(error) => Some(error),
        };
        let what = self.what();
        if let Some(error) = failure {
            for writer in open {
                writer.abort().await;
            }
            tracing::error!(
                %error,
                ?counts,
                kept,
                "{what} failed; the output not closed yet was removed"
            );
            return Err(error);
        }
        let elapsed = self.started.elapsed();
        let locations: Vec<&str> = written.iter().map(|w| w.location.as_str()).collect();
        tracing::info!(
            elements = written.iter().map(|w| w.elements).sum::<u64>(),
            bytes = written.iter().map(|w| w.bytes).sum::<u64>(),
            ?counts,
            elapsed_ms = elapsed.as_millis() as u64,
            output = %locations.join(", "),
            "{what} completed"
        );
        Ok(Report {
            written,
            counts,
            elapsed,
        })
    }

    fn what(&self) -> String {
        if self.what.is_empty() {
            self.step.to_string()
        } else {
            self.what.to_owned()
        }
    }
}

/// A pipeline that does not run (the target skips it, the connector lacks it): its
/// destinations are discarded and `reason` logged.
pub(crate) async fn skipped(
    what: &str,
    destinations: impl IntoIterator<Item = Destination>,
    reason: String,
) -> Outcome {
    for destination in destinations {
        destination.abort().await;
    }
    tracing::info!(reason, "{what} skipped");
    Outcome::Skipped { reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::secrets::NoSecrets;
    use crate::config::Config;

    async fn target() -> Target {
        let yaml = "targets:\n  - name: t\n    connector-name: postgresql\n";
        let config = Config::from_yaml_str(yaml, "test.yml", &NoSecrets)
            .await
            .unwrap();
        config.targets[0].clone()
    }

    async fn writer(path: &std::path::Path, elements: &[&str]) -> JsonArrayWriter {
        let mut writer = JsonArrayWriter::new(Destination::file(path).await.unwrap());
        for element in elements {
            writer.write(element).await.unwrap();
        }
        writer
    }

    fn partial(path: &std::path::Path) -> std::path::PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push(".partial");
        name.into()
    }

    #[tokio::test]
    async fn a_success_closes_every_array_after_those_closed_before() {
        let dir = tempfile::tempdir().unwrap();
        let target = target().await;
        let (first, a, b) = (
            dir.path().join("first.json"),
            dir.path().join("a.json"),
            dir.path().join("b.json"),
        );
        let mut staged = Staged::start(&target, Step::IdentityStore);
        staged.closed(writer(&first, &["x"]).await.finish().await.unwrap());
        let open = [writer(&a, &["u1", "u2"]).await, writer(&b, &[]).await];
        let counts = BTreeMap::from([("user".to_owned(), 2)]);
        let report = staged.end(open, counts.clone(), Ok(())).await.unwrap();
        let locations: Vec<&str> = report.written.iter().map(|w| w.location.as_str()).collect();
        assert_eq!(
            locations,
            [&first, &a, &b].map(|p| p.to_str().unwrap()),
            "in order, the one closed before first"
        );
        assert_eq!(report.written[1].elements, 2);
        assert_eq!(report.counts, counts);
        assert_eq!(
            std::fs::read_to_string(&a).unwrap(),
            "[\n\"u1\",\n\"u2\"\n]\n"
        );
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "[]\n");
    }

    #[tokio::test]
    async fn a_failure_removes_the_open_arrays_and_keeps_those_closed_before() {
        let dir = tempfile::tempdir().unwrap();
        let target = target().await;
        let (first, a) = (dir.path().join("first.json"), dir.path().join("a.json"));
        let mut staged = Staged::start(&target, Step::DataUsage);
        staged.closed(writer(&first, &["x"]).await.finish().await.unwrap());
        let open = writer(&a, &["half"]).await;
        assert!(partial(&a).exists());
        let failure = Error::Target {
            target: "t".into(),
            message: "the connector failed".into(),
        };
        let error = staged
            .end([open], BTreeMap::new(), Err(failure))
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("the connector failed"),
            "{error}"
        );
        assert!(!a.exists() && !partial(&a).exists(), "nothing half-written");
        assert!(first.exists(), "a complete part stays");
    }

    #[tokio::test]
    async fn an_array_that_cannot_be_closed_fails_and_removes_the_ones_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = target().await;
        let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
        let broken = writer(&a, &["u"]).await;
        // Its partial file gone, the rename into place fails.
        std::fs::remove_file(partial(&a)).unwrap();
        let after = writer(&b, &["g"]).await;
        let error = Staged::start(&target, Step::IdentityStore)
            .end([broken, after], BTreeMap::new(), Ok(()))
            .await
            .unwrap_err();
        assert!(matches!(error, Error::Output { .. }), "{error}");
        assert!(!b.exists() && !partial(&b).exists(), "the next one removed");
    }

    #[tokio::test]
    async fn a_skipped_pipeline_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        let destination = Destination::file(&path).await.unwrap();
        assert!(partial(&path).exists());
        let outcome = skipped("identity store sync", [destination], "why".into()).await;
        assert_eq!(
            outcome,
            Outcome::Skipped {
                reason: "why".into()
            }
        );
        assert!(!partial(&path).exists() && !path.exists());
    }
}
