//! The log of each step, kept for Raito as the Go CLI forwards it (raito-io/cli
//! `internal/logging/task_logging.go` and `internal/target_sync/sync_job.go`): while a step
//! runs, every log line it writes goes to its output as usual and, in the same form, to a
//! capture; when the step ends the capture is uploaded and attached to the step's task.
//!
//! The log lines are written by the process's subscriber through [`Tee`] (its writer); a
//! step's future runs inside [`capture`], and each line written from inside it is copied into
//! that step's capture (a temporary file, so memory stays flat; at most [`MAX_BYTES`], then a
//! last line says how much was left out). Lines written by tasks the step spawns are not
//! copied. Lines never carry secrets (the configuration redacts them), so nor does a capture.

use std::future::Future;
use std::io::{self, Seek, Write};
use std::sync::{Arc, Mutex};

/// The most of one step's log kept for Raito: 16 MiB.
pub const MAX_BYTES: u64 = 16 << 20;

tokio::task_local! {
    static CAPTURE: Arc<Capture>;
}

/// A step's log lines, as they are written.
pub struct Capture {
    state: Mutex<State>,
}

struct State {
    file: Option<std::fs::File>,
    bytes: u64,
    lines: u64,
    dropped_lines: u64,
    failed: Option<String>,
}

impl Capture {
    /// An empty capture in a new temporary file.
    pub fn new() -> Self {
        let (file, failed) = match tempfile::tempfile() {
            Ok(file) => (Some(file), None),
            Err(e) => (
                None,
                Some(format!("no temporary file for the step's log: {e}")),
            ),
        };
        Self {
            state: Mutex::new(State {
                file,
                bytes: 0,
                lines: 0,
                dropped_lines: 0,
                failed,
            }),
        }
    }

    fn append(&self, line: &[u8]) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.bytes + line.len() as u64 > MAX_BYTES {
            state.dropped_lines += 1;
            return;
        }
        let written = match state.file.as_mut() {
            Some(file) => file.write_all(line),
            None => return,
        };
        match written {
            Ok(()) => {
                state.bytes += line.len() as u64;
                state.lines += 1;
            }
            Err(e) => {
                state.failed = Some(format!("writing the step's log: {e}"));
                state.file = None;
            }
        }
    }

    /// The captured log: the file, rewound, with a last line for what was left out; `None`
    /// when nothing was captured. An error when the capture could not be written.
    pub fn finish(&self) -> Result<Option<Captured>, String> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(failed) = state.failed.take() {
            return Err(failed);
        }
        let dropped = state.dropped_lines;
        let Some(mut file) = state.file.take() else {
            return Ok(None);
        };
        if dropped > 0 {
            let note = serde_json::json!({
                "level": "WARN",
                "message": format!(
                    "{dropped} more log lines of this step were left out (the log sent to Raito \
                     keeps at most {MAX_BYTES} bytes)"
                ),
            });
            writeln!(file, "{note}").map_err(|e| format!("writing the step's log: {e}"))?;
        }
        if state.lines == 0 && dropped == 0 {
            return Ok(None);
        }
        file.flush()
            .and_then(|()| file.rewind())
            .map_err(|e| format!("reading the step's log back: {e}"))?;
        Ok(Some(Captured {
            file,
            lines: state.lines,
        }))
    }
}

impl Default for Capture {
    fn default() -> Self {
        Self::new()
    }
}

/// A finished capture.
pub struct Captured {
    /// The log lines, from the start.
    pub file: std::fs::File,
    /// How many lines it holds.
    pub lines: u64,
}

impl Captured {
    /// The log as an upload to Raito: read once for its digest and length; each attempt
    /// reads the file again from the start.
    pub fn into_upload(mut self) -> io::Result<crate::raito::Upload> {
        use sha2::{Digest, Sha256};
        use std::io::Read;
        let mut hasher = Sha256::new();
        let mut length = 0u64;
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let read = self.file.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
            length += read as u64;
        }
        let file = Arc::new(self.file);
        Ok(crate::raito::Upload::from_opener(
            hasher.finalize().into(),
            length,
            move || {
                let file = Arc::clone(&file);
                async move {
                    // Attempts run one after the other: the shared offset is rewound each time.
                    let mut handle = file.try_clone()?;
                    handle.rewind()?;
                    let stream =
                        tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(handle));
                    Ok(reqwest::Body::wrap_stream(stream))
                }
            },
        ))
    }
}

/// Runs `future` with its log lines copied into `capture`.
pub async fn capture<F: Future>(capture: Arc<Capture>, future: F) -> F::Output {
    CAPTURE.scope(capture, future).await
}

/// Changes the log level when raito.yml says `debug` (set by the process's subscriber).
static DEBUG: std::sync::OnceLock<Box<dyn Fn(bool) + Send + Sync>> = std::sync::OnceLock::new();

/// Registers how to switch debug logging on and off (once, by whoever set up the subscriber).
pub fn on_debug(switch: impl Fn(bool) + Send + Sync + 'static) {
    let _ = DEBUG.set(Box::new(switch));
}

/// Logs at debug level, or back at the default, as raito.yml's `debug` says (the Raito CLI's
/// `debug` setting). Nothing when the level was set otherwise (`RUST_LOG`).
pub fn set_debug(debug: bool) {
    if let Some(switch) = DEBUG.get() {
        switch(debug);
    }
}

/// The writer of a subscriber that also copies each line into the capture of the step
/// writing it (see the module docs): `tracing_subscriber::fmt().with_writer(Tee::stdout())`.
#[derive(Clone, Copy)]
pub struct Tee {
    stderr: bool,
}

impl Tee {
    /// Lines to standard output (the Lambda functions).
    pub fn stdout() -> Self {
        Self { stderr: false }
    }

    /// Lines to standard error (`raito-sync`, whose standard output is its result).
    pub fn stderr() -> Self {
        Self { stderr: true }
    }
}

/// One line being written: to the output, and to the step's capture when there is one.
pub struct TeeWriter {
    stderr: bool,
    capture: Option<Arc<Capture>>,
    line: Vec<u8>,
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Tee {
    type Writer = TeeWriter;

    fn make_writer(&'a self) -> Self::Writer {
        TeeWriter {
            stderr: self.stderr,
            capture: CAPTURE.try_with(Arc::clone).ok(),
            line: Vec::new(),
        }
    }
}

impl Write for TeeWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.capture.is_some() {
            self.line.extend_from_slice(buf);
        }
        if self.stderr {
            io::stderr().write(buf)
        } else {
            io::stdout().write(buf)
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.stderr {
            io::stderr().flush()
        } else {
            io::stdout().flush()
        }
    }
}

impl Drop for TeeWriter {
    fn drop(&mut self) {
        // The formatter writes one event per writer: the whole line is here now.
        if let Some(capture) = &self.capture
            && !self.line.is_empty()
        {
            capture.append(&self.line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[tokio::test]
    async fn lines_written_inside_a_capture_are_kept_and_others_are_not() {
        let tee = Tee::stderr();
        let capture = Arc::new(Capture::new());
        let write = |text: &str| {
            let mut writer = tracing_subscriber::fmt::MakeWriter::make_writer(&tee);
            writer.write_all(text.as_bytes()).unwrap();
        };
        write("outside\n");
        super::capture(capture.clone(), async {
            write("{\"a\":1}\n");
            write("{\"b\":2}\n");
        })
        .await;
        write("after\n");
        let mut captured = capture.finish().unwrap().unwrap();
        assert_eq!(captured.lines, 2);
        let mut text = String::new();
        captured.file.read_to_string(&mut text).unwrap();
        assert_eq!(text, "{\"a\":1}\n{\"b\":2}\n");
    }

    #[tokio::test]
    async fn an_empty_capture_is_nothing() {
        let capture = Capture::new();
        assert!(capture.finish().unwrap().is_none());
    }
}
