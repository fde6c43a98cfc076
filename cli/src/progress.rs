//! What the running steps have done so far, for the person who started them.
//!
//! Every subcommand that runs a step runs it through [`step`] (or, for `run`, inside a
//! [`Display`]): while it runs, a thread reads [`metrics::live`] every 200 ms and shows each
//! running step's counts, in one of two ways ([`init`] picks once, from the log format and
//! stderr):
//!
//! - on a terminal with text logs, an `indicatif` spinner line per step once it has run 2 s
//!   (`warehouse data-source: 12,345 written (3,210/s), 456 statements, 78 requests, 00:05`),
//!   cleared when the step ends;
//! - otherwise (stderr redirected, or `--log-format json`), an info log line per running step
//!   every 10 s (`RAITO_PROGRESS_INTERVAL_MS` sets the interval) with the fields `target`,
//!   `step`, `written`, `rate` (written per second), `statements`, `requests` and `elapsed_ms`;
//!   a step that had such a line gets a last one with its totals when it ends.
//!
//! Log lines and the bars share stderr: every log line is written through [`Writer`], which
//! hides the bars while it writes the line ([`MultiProgress::suspend`]) and draws them again
//! under it, so a line is never cut by a bar nor a bar left half-drawn in a line. What a
//! subcommand prints itself while a step runs goes through [`suspend`] for the same reason;
//! summaries are printed after the step, when its bars are gone.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::io::{IsTerminal, Write};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{LazyLock, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use raito_common::metrics::{self, Counted};
use raito_common::step::Step;

/// The environment variable with the interval of the progress log lines, in milliseconds.
pub const INTERVAL_VAR: &str = "RAITO_PROGRESS_INTERVAL_MS";

/// How often the counts are read (and the bars redrawn).
const TICK: Duration = Duration::from_millis(200);

/// A step shorter than this gets no bar: a bar that flashes by tells nobody anything.
const BAR_AFTER: Duration = Duration::from_secs(2);

/// The interval of the log lines when `RAITO_PROGRESS_INTERVAL_MS` is not set.
const LINE_EVERY: Duration = Duration::from_secs(10);

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A spinner line per running step on stderr, a terminal.
    Bars,
    /// A log line per running step, `every` so often.
    Lines { every: Duration },
}

static MODE: OnceLock<Mode> = OnceLock::new();

/// Picks how progress is shown for this process: bars when stderr is a terminal and the logs
/// are text, log lines otherwise. Call it once, before a step runs.
pub fn init(json_logs: bool) {
    let mode = if !json_logs && std::io::stderr().is_terminal() {
        Mode::Bars
    } else {
        Mode::Lines {
            every: line_interval(std::env::var(INTERVAL_VAR).ok().as_deref()),
        }
    };
    let _ = MODE.set(mode);
}

/// `RAITO_PROGRESS_INTERVAL_MS`, at least 1 ms; 10 s when unset or not a number.
fn line_interval(value: Option<&str>) -> Duration {
    value
        .and_then(|ms| ms.trim().parse::<u64>().ok())
        .map_or(LINE_EVERY, |ms| Duration::from_millis(ms.max(1)))
}

fn mode() -> Mode {
    // Without `init` (never the case in main), the quiet choice.
    *MODE.get().unwrap_or(&Mode::Lines { every: LINE_EVERY })
}

/// A running step, as the display keys it.
type Key = (String, Step);

/// What the display keeps between two ticks.
#[derive(Default)]
struct State {
    /// Whether a [`Display`] is showing: a tick after its end draws nothing.
    showing: bool,
    /// The bar of each step that has one.
    bars: HashMap<Key, ProgressBar>,
    /// When each step's next log line is due (its elapsed time).
    next_line: HashMap<Key, Duration>,
    /// The steps that had a log line: they get a last one when they end.
    logged: HashSet<Key>,
}

static STATE: LazyLock<Mutex<State>> = LazyLock::new(Mutex::default);

/// The bars on stderr while a [`Display`] shows them. Apart from [`STATE`] because the log
/// writer needs it, and a log line may be written while [`STATE`] is held (a tick logging).
/// Lock order: [`STATE`], then this.
static BARS: Mutex<Option<MultiProgress>> = Mutex::new(None);

fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

fn bars() -> MutexGuard<'static, Option<MultiProgress>> {
    BARS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Shows the running steps until it is dropped (which clears the bars).
pub struct Display {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Display {
    /// Starts showing the running steps.
    pub fn start() -> Display {
        let mode = mode();
        state().showing = true;
        if mode == Mode::Bars {
            *bars() = Some(MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        }
        let tick_every = match mode {
            Mode::Bars => TICK,
            Mode::Lines { every } => every.min(TICK),
        };
        let (stop, stopped) = mpsc::channel::<()>();
        // A thread, not a task: `Drop` can then wait for it to be gone before clearing the
        // bars, so no tick draws after the end (and a tick never waits on a busy runtime).
        let thread = std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(tick_every) {
                    tick(mode);
                }
            });
        let thread = match thread {
            Ok(thread) => Some(thread),
            Err(error) => {
                tracing::debug!(%error, "no progress display: cannot start its thread");
                None
            }
        };
        Display {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        // Closing the channel ends the thread's wait at once.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let mut state = state();
        state.showing = false;
        for (_, bar) in state.bars.drain() {
            bar.finish_and_clear();
        }
        state.next_line.clear();
        state.logged.clear();
        if let Some(multi) = bars().take() {
            let _ = multi.clear();
        }
    }
}

/// One look at the running steps: bars drawn, due log lines written.
fn tick(mode: Mode) {
    let mut state = state();
    if !state.showing {
        return;
    }
    let live = metrics::live();
    let running = |key: &Key| live.iter().any(|l| l.target == key.0 && l.step == key.1);
    match mode {
        Mode::Bars => {
            let Some(multi) = bars().clone() else {
                return;
            };
            state.bars.retain(|key, bar| {
                let keep = running(key);
                if !keep {
                    bar.finish_and_clear();
                    multi.remove(bar);
                }
                keep
            });
            for step in live.iter().filter(|l| l.elapsed >= BAR_AFTER) {
                let bar = state
                    .bars
                    .entry((step.target.clone(), step.step))
                    .or_insert_with(|| {
                        multi.add(
                            ProgressBar::new_spinner().with_style(ProgressStyle::default_spinner()),
                        )
                    });
                bar.set_message(describe(
                    &step.target,
                    step.step,
                    step.counted,
                    step.elapsed,
                ));
                bar.tick();
            }
        }
        Mode::Lines { every } => {
            state.next_line.retain(|key, _| running(key));
            for step in &live {
                let key = (step.target.clone(), step.step);
                let next = state.next_line.entry(key.clone()).or_insert(every);
                if step.elapsed < *next {
                    continue;
                }
                while *next <= step.elapsed {
                    *next += every;
                }
                log_line(&step.target, step.step, step.counted, step.elapsed, false);
                state.logged.insert(key);
            }
        }
    }
}

/// Runs `work`, one step of `target`, measured ([`metrics::measure`]) and shown while it runs;
/// its bar is gone when this returns.
pub async fn step<F: Future>(target: &str, step: Step, work: F) -> F::Output {
    let display = Display::start();
    let started = Instant::now();
    let (output, counted) = metrics::measure(target, step, work).await;
    ended(target, step, counted, started.elapsed());
    drop(display);
    output
}

/// `step` of `target` ended having counted `counted` in `elapsed`: its bar goes, and a step
/// that had log lines gets its last one, with these totals.
pub fn ended(target: &str, step: Step, counted: Counted, elapsed: Duration) {
    let mut state = state();
    let key = (target.to_owned(), step);
    if let Some(bar) = state.bars.remove(&key) {
        bar.finish_and_clear();
        if let Some(multi) = bars().as_ref() {
            multi.remove(&bar);
        }
    }
    state.next_line.remove(&key);
    if state.logged.remove(&key) {
        log_line(target, step, counted, elapsed, true);
    }
}

/// Runs `print` (something written to stdout or stderr while a step runs) with the bars
/// hidden.
pub fn suspend<R>(print: impl FnOnce() -> R) -> R {
    let multi = bars().clone();
    match multi {
        Some(multi) => multi.suspend(print),
        None => print(),
    }
}

fn log_line(target: &str, step: Step, counted: Counted, elapsed: Duration, last: bool) {
    let rate = rate(counted.written, elapsed);
    let elapsed_ms = elapsed.as_millis() as u64;
    let (written, statements, requests) = (counted.written, counted.statements, counted.requests);
    let step = step.name();
    if last {
        tracing::info!(
            target = target,
            step,
            written,
            rate,
            statements,
            requests,
            elapsed_ms,
            "step finished"
        );
    } else {
        tracing::info!(
            target = target,
            step,
            written,
            rate,
            statements,
            requests,
            elapsed_ms,
            "step in progress"
        );
    }
}

/// One step's line: `warehouse data-source: 12,345 written (3,210/s), 456 statements, 78
/// requests, 00:05`.
fn describe(target: &str, step: Step, counted: Counted, elapsed: Duration) -> String {
    format!(
        "{target} {}: {} written ({}/s), {} statements, {} requests, {}",
        step.name(),
        thousands(counted.written),
        thousands(rate(counted.written, elapsed)),
        thousands(counted.statements),
        thousands(counted.requests),
        clock(elapsed)
    )
}

/// Elements written per second, on average since the step started.
fn rate(written: u64, elapsed: Duration) -> u64 {
    let seconds = elapsed.as_secs_f64();
    if seconds < 0.001 {
        return 0;
    }
    (written as f64 / seconds).round() as u64
}

/// `12,345`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `00:05`, `12:34`, `1:02:03`.
fn clock(elapsed: Duration) -> String {
    let s = elapsed.as_secs();
    if s < 3600 {
        format!("{:02}:{:02}", s / 60, s % 60)
    } else {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    }
}

/// The log lines' writer: `M`'s, with each line written while the bars are hidden
/// (`tracing_subscriber::fmt().with_writer(Writer(Tee::stderr()))`).
#[derive(Clone, Copy)]
pub struct Writer<M>(pub M);

/// One log line being written (see [`Writer`]).
pub struct LineWriter<W: Write> {
    inner: W,
    /// The bars showing when the line began; `None`: written straight through.
    bars: Option<MultiProgress>,
    line: Vec<u8>,
}

impl<'a, M: tracing_subscriber::fmt::MakeWriter<'a>> tracing_subscriber::fmt::MakeWriter<'a>
    for Writer<M>
{
    type Writer = LineWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            inner: self.0.make_writer(),
            bars: bars().clone(),
            line: Vec::new(),
        }
    }
}

impl<W: Write> Write for LineWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bars.is_none() {
            return self.inner.write(buf);
        }
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.bars.is_none() {
            return self.inner.flush();
        }
        Ok(())
    }
}

impl<W: Write> Drop for LineWriter<W> {
    fn drop(&mut self) {
        // The formatter writes one event per writer: the whole line is here now.
        if let Some(multi) = &self.bars
            && !self.line.is_empty()
        {
            let (inner, line) = (&mut self.inner, &self.line);
            // Nowhere to report a failed log write (the formatter ignores them too).
            let _ = multi.suspend(|| inner.write_all(line).and_then(|()| inner.flush()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_says_counts_rate_and_time_as_a_person_reads_them() {
        let counted = Counted {
            written: 12_345,
            statements: 456,
            requests: 78,
        };
        assert_eq!(
            describe(
                "warehouse",
                Step::DataSource,
                counted,
                Duration::from_millis(5_000)
            ),
            "warehouse data-source: 12,345 written (2,469/s), 456 statements, 78 requests, 00:05"
        );
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567_890), "1,234,567,890");
        assert_eq!(clock(Duration::from_secs(754)), "12:34");
        assert_eq!(clock(Duration::from_secs(3723)), "1:02:03");
        assert_eq!(
            rate(10, Duration::ZERO),
            0,
            "no rate before any time passed"
        );
    }

    #[test]
    fn the_line_interval_is_ten_seconds_unless_set() {
        assert_eq!(line_interval(None), Duration::from_secs(10));
        assert_eq!(line_interval(Some("250")), Duration::from_millis(250));
        assert_eq!(line_interval(Some("0")), Duration::from_millis(1));
        assert_eq!(line_interval(Some("soon")), Duration::from_secs(10));
    }

    #[test]
    fn a_log_line_is_written_whole_with_or_without_bars() {
        use tracing_subscriber::fmt::MakeWriter;

        #[derive(Clone, Default)]
        struct Sink(std::sync::Arc<Mutex<Vec<Vec<u8>>>>);
        struct SinkWriter(Sink, Vec<u8>);
        impl Write for SinkWriter {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.1.extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                let line = std::mem::take(&mut self.1);
                if !line.is_empty() {
                    self.0.0.lock().unwrap().push(line);
                }
                Ok(())
            }
        }
        impl<'a> MakeWriter<'a> for Sink {
            type Writer = SinkWriter;
            fn make_writer(&'a self) -> SinkWriter {
                SinkWriter(self.clone(), Vec::new())
            }
        }

        let sink = Sink::default();
        let writer = Writer(sink.clone());
        let mut straight = writer.make_writer();
        straight.write_all(b"no bars\n").unwrap();
        assert!(straight.bars.is_none());
        assert!(straight.line.is_empty(), "written through, not kept");
        straight.flush().unwrap();

        // Bars showing (hidden from this test's stderr): the line waits for its end, then
        // goes in one write.
        *bars() = Some(MultiProgress::with_draw_target(ProgressDrawTarget::hidden()));
        let mut held = writer.make_writer();
        *bars() = None;
        held.write_all(b"first half, ").unwrap();
        held.write_all(b"second half\n").unwrap();
        assert_eq!(sink.0.lock().unwrap().len(), 1, "nothing yet");
        drop(held);
        let lines = sink.0.lock().unwrap().clone();
        assert_eq!(
            lines,
            vec![b"no bars\n".to_vec(), b"first half, second half\n".to_vec()]
        );
    }
}
