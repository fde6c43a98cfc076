//! Log records → statements. A statement starts at an *anchor* record and is completed by the
//! records that follow it in the same session (one statement runs at a time per backend):
//!
//! | anchor                                   | completed by                                  |
//! |------------------------------------------|-----------------------------------------------|
//! | `statement:` / `execute …:` (log_statement) | `duration: X ms` (end = start + X), AUDIT lines (rows), an ERROR (failure) |
//! | pgaudit `AUDIT:` (pgaudit alone)          | more AUDIT lines of the same STATEMENT_ID, duration, ERROR |
//! | `duration: X ms  statement: …` (log_min_duration_statement alone) | ERROR |
//! | an ERROR with no statement before it (e.g. a syntax error) | `STATEMENT:` (stderr format) |
//!
//! Statements wait in a buffer ordered by start time and leave it once the log has moved
//! [`HOLD_MS`] past their start, so records of different sessions that were written slightly
//! out of order still come out in order, and late ERROR and duration records still find their
//! statement. An ERROR logged more than that after its statement started becomes a failed
//! statement of its own (keyed by its own log line).

use std::collections::VecDeque;
use std::sync::Arc;

use foldhash::HashMap;

use super::parse::{self, LogRecord, Message};

/// How long (in log time) a statement stays open for the records that complete it, and the
/// most that records of different sessions may be out of order: 60 s.
pub const HOLD_MS: i64 = 60_000;

/// A statement being assembled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Draft {
    /// The anchor record's key: the statement's external id.
    pub key: String,
    /// The session, to find it again (shared with the assembler's map of open statements: one
    /// copy per statement).
    pub session: Arc<str>,
    /// Start, epoch milliseconds.
    pub start_ms: i64,
    /// End, epoch milliseconds, when the log said how long it ran.
    pub end_ms: Option<i64>,
    /// Session user.
    pub user: String,
    /// Database.
    pub database: String,
    /// The SQL text.
    pub query: String,
    /// The server's error (`ERROR 42501: permission denied …`), empty on success.
    pub error: String,
    /// Rows, from pgaudit's `log_rows`.
    pub rows: Option<i64>,
    /// The pgaudit STATEMENT_ID that anchored it; `None` for other anchors.
    audit_id: Option<u64>,
}

/// Turns records (roughly in time order) into drafts in start-time order.
#[derive(Default)]
pub struct Assembler {
    /// The positions (start, then arrival) of the statements waiting, ascending. Records come
    /// in log order, so a new statement almost always goes at the back, and the oldest leaves
    /// from the front: a queue, without a map's node allocations and rebalancing (thousands of
    /// statements wait here during the hold time).
    positions: VecDeque<(i64, u64)>,
    /// The statement at each position (apart: searching reads only the positions).
    drafts: VecDeque<Draft>,
    /// The open statement of each session, by buffer position.
    open: HashMap<Arc<str>, (i64, u64)>,
    sequence: u64,
    watermark: i64,
}

impl Assembler {
    /// Takes one record.
    pub fn push(&mut self, record: LogRecord<'_>) {
        self.watermark = self.watermark.max(record.time_ms);
        match record.severity.as_ref() {
            "LOG" => self.log(record),
            "ERROR" => self.error(record),
            "STATEMENT" => {
                if let Some(draft) = self.open_draft(&record.session)
                    && draft.query.is_empty()
                {
                    draft.query = record.message.into_owned();
                }
            }
            _ => {}
        }
    }

    fn log(&mut self, record: LogRecord<'_>) {
        match parse::message(&record.message) {
            Message::Statement(text) => {
                let text = text.to_owned();
                self.anchor(record, text, None);
            }
            Message::Duration { millis, text } => {
                let end = record.time_ms;
                match self.open_draft(&record.session) {
                    Some(draft) if draft.end_ms.is_none() && draft.error.is_empty() => {
                        draft.end_ms = Some(draft.start_ms + millis.round() as i64);
                        self.close(&record.session);
                    }
                    _ => {
                        if let Some(text) = text {
                            let text = text.to_owned();
                            let session = record.session.clone();
                            self.anchor(record, text, None);
                            if let Some(draft) = self.open_draft(&session) {
                                draft.end_ms = Some(end);
                            }
                        }
                    }
                }
            }
            Message::Audit(audit) => {
                if let Some(draft) = self.open_draft(&record.session)
                    && (draft.audit_id.is_none() || draft.audit_id == Some(audit.statement_id))
                    && draft.end_ms.is_none()
                {
                    if audit.rows.is_some() {
                        draft.rows = audit.rows;
                    }
                    return;
                }
                let rows = audit.rows;
                let session = record.session.clone();
                self.anchor(record, audit.statement, Some(audit.statement_id));
                if let Some(draft) = self.open_draft(&session) {
                    draft.rows = rows;
                }
            }
            Message::Other => {}
        }
    }

    fn error(&mut self, record: LogRecord<'_>) {
        let error = if record.state_code.is_empty() {
            format!("ERROR: {}", record.message)
        } else {
            format!("ERROR {}: {}", record.state_code, record.message)
        };
        if let Some(draft) = self.open_draft(&record.session)
            && draft.error.is_empty()
            && (record.statement.is_empty() || same_text(&draft.query, &record.statement))
        {
            draft.error = error;
            return;
        }
        if record.user.is_empty() {
            // A background process's error: not a statement.
            return;
        }
        let text = record.statement.to_string();
        let session = record.session.clone();
        self.anchor(record, text, None);
        if let Some(draft) = self.open_draft(&session) {
            draft.error = error;
        }
    }

    /// Starts a statement at `record`.
    fn anchor(&mut self, record: LogRecord<'_>, query: String, audit_id: Option<u64>) {
        self.sequence += 1;
        let position = (record.time_ms, self.sequence);
        let session: Arc<str> = Arc::from(record.session.as_ref());
        self.open.insert(session.clone(), position);
        let draft = Draft {
            key: record.key.to_text(),
            session,
            start_ms: record.time_ms,
            end_ms: None,
            user: record.user.into_owned(),
            database: record.database.into_owned(),
            query,
            error: String::new(),
            rows: None,
            audit_id,
        };
        // The sequence makes every position new: it goes after those before it.
        if self.positions.back().is_none_or(|last| *last < position) {
            self.positions.push_back(position);
            self.drafts.push_back(draft);
        } else {
            let at = self.positions.partition_point(|other| *other < position);
            self.positions.insert(at, position);
            self.drafts.insert(at, draft);
        }
    }

    fn open_draft(&mut self, session: &str) -> Option<&mut Draft> {
        let position = *self.open.get(session)?;
        let at = self.find(position)?;
        self.drafts.get_mut(at)
    }

    /// The index of `position`, searched from the back: the records that complete a statement
    /// mostly follow it closely, so it is among the last few (a galloping search: a window
    /// doubled until it reaches back far enough, then halved).
    fn find(&self, position: (i64, u64)) -> Option<usize> {
        let positions = &self.positions;
        let n = positions.len();
        let mut width = 1;
        while width < n && positions[n - width] > position {
            width *= 2;
        }
        // Here `positions[n - width] <= position` (or the window is everything), and
        // `positions[n - width / 2..]` are all after it.
        let (mut low, mut high) = (n.saturating_sub(width), n - width / 2);
        while low < high {
            let middle = low + (high - low) / 2;
            match positions[middle].cmp(&position) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Equal => return Some(middle),
                std::cmp::Ordering::Greater => high = middle,
            }
        }
        None
    }

    /// The statement of `session` takes no more records.
    fn close(&mut self, session: &str) {
        self.open.remove(session);
    }

    /// The next statement whose hold time has passed, in start-time order.
    pub fn pop_ready(&mut self) -> Option<Draft> {
        if !self.has_ready() {
            return None;
        }
        self.pop()
    }

    /// Whether [`Self::pop_ready`] has a statement.
    pub fn has_ready(&self) -> bool {
        self.positions
            .front()
            .is_some_and(|&(start, _)| start + HOLD_MS <= self.watermark)
    }

    /// The next statement, ready or not (at the end of the log).
    pub fn pop(&mut self) -> Option<Draft> {
        let (Some(position), Some(draft)) = (self.positions.pop_front(), self.drafts.pop_front())
        else {
            return None;
        };
        if self.open.get(&*draft.session) == Some(&position) {
            self.open.remove(&*draft.session);
        }
        Some(draft)
    }

    /// Statements waiting.
    pub fn pending(&self) -> usize {
        self.drafts.len()
    }
}

/// Whether two texts are the same statement (the log may add or drop a trailing `;` or
/// whitespace).
fn same_text(a: &str, b: &str) -> bool {
    let trim = |s: &str| s.trim().trim_end_matches(';').trim_end().to_owned();
    trim(a) == trim(b)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn record(
        time_ms: i64,
        session: &str,
        line: u32,
        severity: &str,
        message: &str,
    ) -> LogRecord<'static> {
        LogRecord {
            time_ms,
            user: "alice".into(),
            database: "app".into(),
            session: session.to_owned().into(),
            key: parse::Key {
                name: session.to_owned().into(),
                number: Some(line.into()),
            },
            severity: severity.to_owned().into(),
            message: message.to_owned().into(),
            ..Default::default()
        }
    }

    fn drain(assembler: &mut Assembler) -> Vec<Draft> {
        std::iter::from_fn(|| assembler.pop()).collect()
    }

    #[test]
    fn a_statement_takes_its_duration_and_a_failure_its_error() {
        let mut a = Assembler::default();
        a.push(record(1_000, "s1", 1, "LOG", "statement: SELECT 1"));
        a.push(record(1_002, "s1", 2, "LOG", "duration: 2.4 ms"));
        a.push(record(
            1_003,
            "s1",
            3,
            "LOG",
            "statement: SELECT * FROM nope",
        ));
        let mut error = record(1_004, "s1", 4, "ERROR", "relation \"nope\" does not exist");
        error.state_code = "42P01".into();
        error.statement = "SELECT * FROM nope".into();
        a.push(error);
        let drafts = drain(&mut a);
        assert_eq!(drafts.len(), 2);
        assert_eq!(drafts[0].end_ms, Some(1_002));
        assert!(drafts[0].error.is_empty());
        assert_eq!(drafts[1].key, "s1:3");
        assert_eq!(
            drafts[1].error,
            "ERROR 42P01: relation \"nope\" does not exist"
        );
    }

    #[test]
    fn an_error_without_a_logged_statement_is_a_failed_statement_of_its_own() {
        let mut a = Assembler::default();
        let mut error = record(1_000, "s1", 7, "ERROR", "syntax error at or near \"SELEC\"");
        error.statement = "SELEC 1;".into();
        a.push(error);
        let drafts = drain(&mut a);
        assert_eq!(drafts.len(), 1);
        assert_eq!(drafts[0].query, "SELEC 1;");
        assert_eq!(drafts[0].key, "s1:7");
    }

    #[test]
    fn pgaudit_lines_of_one_statement_make_one_statement() {
        let mut a = Assembler::default();
        a.push(record(
            1_000,
            "s1",
            1,
            "LOG",
            "AUDIT: SESSION,3,1,READ,SELECT,TABLE,a.b,\"SELECT * FROM a.b, a.c\",<none>",
        ));
        a.push(record(
            1_000,
            "s1",
            2,
            "LOG",
            "AUDIT: SESSION,3,1,READ,SELECT,TABLE,a.c,\"SELECT * FROM a.b, a.c\",<none>",
        ));
        a.push(record(
            1_001,
            "s1",
            3,
            "LOG",
            "AUDIT: SESSION,4,1,WRITE,DELETE,TABLE,a.b,DELETE FROM a.b,<none>,5",
        ));
        let drafts = drain(&mut a);
        assert_eq!(drafts.len(), 2);
        assert_eq!(drafts[0].query, "SELECT * FROM a.b, a.c");
        assert_eq!(drafts[1].rows, Some(5));
    }

    #[test]
    fn statements_leave_in_start_order_once_the_log_moved_on() {
        let mut a = Assembler::default();
        a.push(record(2_000, "s2", 1, "LOG", "statement: SELECT 2"));
        a.push(record(1_999, "s1", 1, "LOG", "statement: SELECT 1"));
        assert!(a.pop_ready().is_none());
        a.push(record(
            2_000 + HOLD_MS,
            "s3",
            1,
            "LOG",
            "statement: SELECT 3",
        ));
        assert_eq!(a.pop_ready().unwrap().query, "SELECT 1");
        assert_eq!(a.pop_ready().unwrap().query, "SELECT 2");
        assert!(a.pop_ready().is_none());
    }

    #[test]
    fn statements_logged_out_of_order_leave_in_order_and_still_take_their_records() {
        let mut a = Assembler::default();
        // Start times 5, 1, 3, 3, 2, 4 (records of six sessions written out of order).
        for (session, time) in [
            ("s5", 5),
            ("s1", 1),
            ("s3", 3),
            ("t3", 3),
            ("s2", 2),
            ("s4", 4),
        ] {
            a.push(record(
                time,
                session,
                1,
                "LOG",
                &format!("statement: SELECT {time}"),
            ));
        }
        // Each completed by its own session, whatever its place in the buffer.
        for (session, time) in [
            ("s1", 1),
            ("s2", 2),
            ("s3", 3),
            ("t3", 3),
            ("s4", 4),
            ("s5", 5),
        ] {
            a.push(record(time + 10, session, 2, "LOG", "duration: 10 ms"));
        }
        let drafts = drain(&mut a);
        let order: Vec<_> = drafts.iter().map(|d| (d.start_ms, &*d.session)).collect();
        assert_eq!(
            order,
            [
                (1, "s1"),
                (2, "s2"),
                (3, "s3"),
                (3, "t3"),
                (4, "s4"),
                (5, "s5")
            ]
        );
        assert!(drafts.iter().all(|d| d.end_ms == Some(d.start_ms + 10)));
        assert_eq!(a.pending(), 0);
        // Many sessions, started in a scrambled order, completed in another: every statement
        // is found wherever it waits, and they leave in start order.
        let mut a = Assembler::default();
        let sessions: Vec<String> = (0..300).map(|n| format!("s{n}")).collect();
        for n in 0..300i64 {
            let time = (n * 7919) % 300;
            a.push(record(
                time,
                &sessions[n as usize],
                1,
                "LOG",
                "statement: SELECT 1",
            ));
        }
        for n in 0..300i64 {
            let session = (n * 104_729) % 300;
            let time = (session * 7919) % 300;
            let duration = format!("duration: {} ms", session + 1);
            a.push(record(
                time + 500,
                &sessions[session as usize],
                2,
                "LOG",
                &duration,
            ));
        }
        let drafts = drain(&mut a);
        assert_eq!(drafts.len(), 300);
        assert!(drafts.windows(2).all(|w| w[0].start_ms <= w[1].start_ms));
        for draft in &drafts {
            let session: i64 = draft.session[1..].parse().unwrap();
            assert_eq!(
                draft.end_ms,
                Some(draft.start_ms + session + 1),
                "{}",
                draft.session
            );
        }
    }
}
