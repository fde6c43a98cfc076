//! The usage sync's contract, [`UsageRequest`]'s: statements only after `since` (whole
//! seconds), in start order, a run stopped by its deadline stopped at a second boundary, and a
//! deadline already passed still moving a backlog on, so that runs cut short and resumed from
//! the last start time import every statement exactly once.
//!
//! The checks read the statements the caller seeded in its source (`ours`: e.g. the
//! statements of the caller's own user), because a real source may hold other statements too
//! (other tests' work): the rules on `since` and order are checked on every statement pushed,
//! the rules on completeness on the caller's. Seed the statements first, across at least two
//! seconds with several statements in a second, and let them settle (past the connector's
//! settle time) before calling a check: the checks compare runs with each other.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::connector::{Connector, Sink, UsageRequest, UsageSync};
use crate::model::usage::Statement;
use crate::output;

fn usage_sync(connector: &dyn Connector) -> &dyn UsageSync {
    connector.usage().unwrap_or_else(|| {
        panic!(
            "the {} connector has no usage sync to check",
            connector.name()
        )
    })
}

/// Runs the connector's usage sync for `request` and returns what it pushed, in order.
pub async fn sync_usage(connector: &dyn Connector, request: &UsageRequest) -> Vec<Statement> {
    let mut pushed = Vec::new();
    usage_sync(connector)
        .sync_usage(request, &mut pushed)
        .await
        .unwrap_or_else(|e| panic!("the usage sync of {request:?} fails: {e}"));
    pushed
}

fn request(since: i64, deadline: Option<Instant>) -> UsageRequest {
    UsageRequest {
        since: Some(since),
        deadline,
    }
}

/// A statement as the checks compare them: its identity and its second.
fn key(statement: &Statement) -> (String, i64) {
    (statement.external_id.clone(), statement.start_time)
}

fn keys<'a>(statements: impl IntoIterator<Item = &'a Statement>) -> Vec<(String, i64)> {
    statements.into_iter().map(key).collect()
}

fn assert_after(since: i64, statements: &[Statement]) {
    for statement in statements {
        assert!(
            statement.start_time > since,
            "statement {:?} started in second {}, at or before since {since}",
            statement.external_id,
            statement.start_time
        );
    }
}

/// The distinct seconds of `statements`, in order.
fn seconds(statements: &[Statement]) -> Vec<i64> {
    statements
        .iter()
        .map(|s| s.start_time)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Checks `since`, which counts in whole seconds: a run from `since` pushes no statement that
/// started in that second or before; and at each second boundary inside the caller's
/// statements (`ours`, in at least two seconds), a run from that second leaves out exactly the
/// statements of that second and before, and a run from the second before keeps every
/// statement of that second (the first and the last of a second alike). Returns the caller's
/// statements of the run from `since`.
pub async fn check_usage_since(
    connector: &dyn Connector,
    since: i64,
    ours: impl Fn(&Statement) -> bool,
) -> Vec<Statement> {
    let all = sync_usage(connector, &request(since, None)).await;
    assert_after(since, &all);
    let mine: Vec<Statement> = all.into_iter().filter(|s| ours(s)).collect();
    let mine_seconds = seconds(&mine);
    assert!(
        mine_seconds.len() >= 2,
        "seed statements in at least two seconds after since {since}: found {:?}",
        keys(&mine)
    );
    // The boundaries after the first, a middle and the last but one second.
    let inner = &mine_seconds[..mine_seconds.len() - 1];
    let boundaries: BTreeSet<i64> = [inner[0], inner[inner.len() / 2], inner[inner.len() - 1]]
        .into_iter()
        .collect();
    for second in boundaries {
        let after = sync_usage(connector, &request(second, None)).await;
        assert_after(second, &after);
        assert_eq!(
            keys(after.iter().filter(|s| ours(s))),
            keys(mine.iter().filter(|s| s.start_time > second)),
            "a run from since {second} pushes exactly the statements after that second"
        );
        let from = sync_usage(connector, &request(second - 1, None)).await;
        assert_after(second - 1, &from);
        assert_eq!(
            keys(from.iter().filter(|s| ours(s))),
            keys(mine.iter().filter(|s| s.start_time >= second)),
            "a run from since {} pushes every statement of second {second}",
            second - 1
        );
    }
    mine
}

/// Checks the order: a run from `since` (with statements in at least two seconds) pushes its
/// statements in non-decreasing start time, each once (unique external ids). Returns them.
pub async fn check_usage_order(connector: &dyn Connector, since: i64) -> Vec<Statement> {
    let all = sync_usage(connector, &request(since, None)).await;
    assert!(
        seconds(&all).len() >= 2,
        "seed statements in at least two seconds after since {since}: found {:?}",
        keys(&all)
    );
    for pair in all.windows(2) {
        assert!(
            pair[0].start_time <= pair[1].start_time,
            "statements not in time order: {:?} (second {}) before {:?} (second {})",
            pair[0].external_id,
            pair[0].start_time,
            pair[1].external_id,
            pair[1].start_time
        );
    }
    let mut ids = BTreeSet::new();
    for statement in &all {
        assert!(
            ids.insert(statement.external_id.as_str()),
            "statement {:?} pushed twice in one run",
            statement.external_id
        );
    }
    all
}

/// How long a run of [`check_usage_second_boundaries`] is given before its deadline.
const CUT_BUDGET: Duration = Duration::from_secs(1);

/// Collects a run's statements and holds its deadline back until the run is inside its
/// second second of statements: the deadline then passes in the middle of a second (after the
/// first statement of that second) that is not the run's first.
struct CutSink {
    pushed: Vec<Statement>,
    deadline: Instant,
    cut: bool,
}

#[async_trait]
impl Sink<Statement> for CutSink {
    async fn push(&mut self, statement: Statement) -> Result<(), output::Error> {
        let later = self
            .pushed
            .first()
            .is_some_and(|first| statement.start_time > first.start_time);
        self.pushed.push(statement);
        if later && !self.cut {
            self.cut = true;
            tokio::time::sleep_until(self.deadline).await;
        }
        Ok(())
    }
}

/// Runs from `since` until the caller's statements (`mine`, from a run without deadline) are
/// all collected, each run resuming from the largest start time the previous one pushed, as
/// the pipeline does. Each run must end at a whole second: it pushed every statement of the
/// caller's up to its last second and none after. Returns every run's statements.
async fn resume_until_complete(
    since: i64,
    mine: &[Statement],
    ours: &impl Fn(&Statement) -> bool,
    mut run: impl AsyncFnMut(&UsageRequest) -> Vec<Statement>,
    what: &str,
) -> Vec<Vec<Statement>> {
    let Some(last) = mine.last().map(|s| s.start_time) else {
        panic!("seed statements after since {since} first");
    };
    let mut runs: Vec<Vec<Statement>> = Vec::new();
    let mut collected: Vec<Statement> = Vec::new();
    let mut resume = since;
    while resume < last {
        assert!(
            runs.len() <= mine.len(),
            "{what}: more runs than statements to collect"
        );
        let pushed = run(&request(resume, None)).await;
        let number = runs.len() + 1;
        assert_after(resume, &pushed);
        let Some(reached) = pushed.iter().map(|s| s.start_time).max() else {
            panic!(
                "{what}: run {number} from since {resume} made no progress: it pushed nothing, \
                 and statements up to second {last} are waiting"
            );
        };
        let got: Vec<&Statement> = pushed.iter().filter(|s| ours(s)).collect();
        let expected: Vec<&Statement> = mine
            .iter()
            .filter(|s| s.start_time > resume && s.start_time <= reached)
            .collect();
        assert_eq!(
            keys(got.iter().copied()),
            keys(expected.iter().copied()),
            "{what}: run {number} from since {resume} stopped inside second {reached}, not at \
             its end: the next run, from that second, would lose the rest"
        );
        collected.extend(got.into_iter().cloned());
        resume = reached;
        runs.push(pushed);
    }
    assert_eq!(
        keys(&collected),
        keys(mine),
        "{what}: the runs together pushed every statement once, in order"
    );
    runs
}

/// Checks that a run stopped by its deadline stops at a whole second: runs from `since`, each
/// given a deadline that passes in the middle of a second (held back, when the connector is
/// fast enough, until the run is inside its second second of statements; else it passes
/// earlier, which the rule covers as well), each resumed from the largest start time the run
/// before pushed; every run must have pushed all of the caller's statements (`ours`) up to its
/// last second, so that together they push every statement of a run without deadline, once
/// and in order: no gap, no duplicate. Returns every run's statements.
pub async fn check_usage_second_boundaries(
    connector: &dyn Connector,
    since: i64,
    ours: impl Fn(&Statement) -> bool,
) -> Vec<Vec<Statement>> {
    let mine = our_statements(connector, since, &ours).await;
    assert!(
        seconds(&mine).len() >= 2 && mine.len() > seconds(&mine).len(),
        "seed statements in at least two seconds after since {since}, several in one: found \
         {:?}",
        keys(&mine)
    );
    let run = async |request: &UsageRequest| {
        let deadline = Instant::now() + CUT_BUDGET;
        let mut sink = CutSink {
            pushed: Vec::new(),
            deadline,
            cut: false,
        };
        let request = UsageRequest {
            deadline: Some(deadline),
            ..request.clone()
        };
        usage_sync(connector)
            .sync_usage(&request, &mut sink)
            .await
            .unwrap_or_else(|e| panic!("the usage sync of {request:?} fails: {e}"));
        sink.pushed
    };
    resume_until_complete(since, &mine, &ours, run, "deadline mid-run").await
}

/// The caller's statements (`ours`) of a run from `since` without deadline.
async fn our_statements(
    connector: &dyn Connector,
    since: i64,
    ours: &impl Fn(&Statement) -> bool,
) -> Vec<Statement> {
    sync_usage(connector, &request(since, None))
        .await
        .into_iter()
        .filter(|s| ours(s))
        .collect()
}

/// Checks that a backlog always moves: runs from `since` whose deadline has passed before
/// they start each push at least their first second of new statements (all of it), so that
/// resuming from the largest start time pushed, run after run, collects every statement of
/// the caller's (`ours`, in at least two seconds) once and in order. Returns every run's
/// statements.
pub async fn check_usage_progress_past_deadline(
    connector: &dyn Connector,
    since: i64,
    ours: impl Fn(&Statement) -> bool,
) -> Vec<Vec<Statement>> {
    let mine = our_statements(connector, since, &ours).await;
    assert!(
        seconds(&mine).len() >= 2,
        "seed statements in at least two seconds after since {since}: found {:?}",
        keys(&mine)
    );
    let run = async |request: &UsageRequest| {
        let request = UsageRequest {
            deadline: Some(Instant::now()),
            ..request.clone()
        };
        sync_usage(connector, &request).await
    };
    resume_until_complete(since, &mine, &ours, run, "deadline passed").await
}

#[cfg(test)]
mod tests {
    //! Each check against an in-memory connector that keeps the contract (it passes), then
    //! against one that breaks the check's rule (it panics).

    use super::*;
    use crate::connector::Error;

    /// How a [`Fake`] breaks the contract.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Break {
        Nothing,
        /// Pushes the statements of the `since` second too.
        SinceInclusive,
        /// Pushes the newest first.
        NewestFirst,
        /// Stops as soon as the deadline has passed, in the middle of a second.
        StopsMidSecond,
        /// Pushes nothing once the deadline has passed.
        NoProgressPastDeadline,
    }

    /// A log of statements: three of ours in each of the seconds 100 to 103, and one of
    /// another user in second 101.
    struct Fake {
        broken: Break,
        log: Vec<Statement>,
    }

    impl Fake {
        fn broken(broken: Break) -> Self {
            let mut log = Vec::new();
            for second in 100..=103 {
                for i in 0..3 {
                    log.push(Statement {
                        external_id: format!("s{second}-{i}"),
                        user: "us".to_owned(),
                        start_time: second,
                        end_time: second,
                        ..Default::default()
                    });
                }
                if second == 101 {
                    log.push(Statement {
                        external_id: "other".to_owned(),
                        user: "them".to_owned(),
                        start_time: second,
                        ..Default::default()
                    });
                }
            }
            Self { broken, log }
        }
    }

    impl Connector for Fake {
        fn name(&self) -> &'static str {
            "fake"
        }

        fn usage(&self) -> Option<&dyn UsageSync> {
            Some(self)
        }
    }

    #[async_trait]
    impl UsageSync for Fake {
        async fn sync_usage(
            &self,
            request: &UsageRequest,
            sink: &mut dyn Sink<Statement>,
        ) -> Result<(), Error> {
            let since = request.since.unwrap_or(i64::MIN);
            let mut selected: Vec<&Statement> = self
                .log
                .iter()
                .filter(|s| match self.broken {
                    Break::SinceInclusive => s.start_time >= since,
                    _ => s.start_time > since,
                })
                .collect();
            if self.broken == Break::NewestFirst {
                selected.reverse();
            }
            let mut last: Option<i64> = None;
            for statement in selected {
                let past = request
                    .deadline
                    .is_some_and(|deadline| Instant::now() >= deadline);
                let stop = match self.broken {
                    Break::NoProgressPastDeadline => past,
                    Break::StopsMidSecond => past && last.is_some(),
                    _ => past && last.is_some_and(|last| statement.start_time > last),
                };
                if stop {
                    break;
                }
                sink.push(statement.clone()).await?;
                last = Some(statement.start_time);
            }
            Ok(())
        }
    }

    fn ours(statement: &Statement) -> bool {
        statement.user == "us"
    }

    fn ids(statements: &[Statement]) -> Vec<&str> {
        statements.iter().map(|s| s.external_id.as_str()).collect()
    }

    #[tokio::test]
    async fn a_connector_that_keeps_the_contract_passes_every_usage_check() {
        let fake = Fake::broken(Break::Nothing);
        let mine = check_usage_since(&fake, 99, ours).await;
        assert_eq!(mine.len(), 12);
        let all = check_usage_order(&fake, 100).await;
        assert_eq!(ids(&all)[..4], ["s101-0", "s101-1", "s101-2", "other"]);
        // The deadline passes after the first statement of each run's second second: each run
        // ends with the whole of that second.
        let runs = check_usage_second_boundaries(&fake, 99, ours).await;
        let spans: Vec<Vec<i64>> = runs.iter().map(|run| seconds(run)).collect();
        assert_eq!(spans, [vec![100, 101], vec![102, 103]]);
        // One second per run, the other user's statement with ours.
        let runs = check_usage_progress_past_deadline(&fake, 99, ours).await;
        let sizes: Vec<usize> = runs.iter().map(Vec::len).collect();
        assert_eq!(sizes, [3, 4, 3, 3]);
    }

    #[tokio::test]
    #[should_panic(expected = "at or before since")]
    async fn check_usage_since_fails_on_a_since_that_includes_its_second() {
        check_usage_since(&Fake::broken(Break::SinceInclusive), 100, ours).await;
    }

    #[tokio::test]
    #[should_panic(expected = "statements not in time order")]
    async fn check_usage_order_fails_on_statements_newest_first() {
        check_usage_order(&Fake::broken(Break::NewestFirst), 99).await;
    }

    #[tokio::test]
    #[should_panic(expected = "stopped inside second 101, not at its end")]
    async fn check_usage_second_boundaries_fails_on_a_stop_in_the_middle_of_a_second() {
        check_usage_second_boundaries(&Fake::broken(Break::StopsMidSecond), 99, ours).await;
    }

    #[tokio::test]
    #[should_panic(expected = "made no progress")]
    async fn check_usage_progress_past_deadline_fails_when_a_passed_deadline_pushes_nothing() {
        check_usage_progress_past_deadline(&Fake::broken(Break::NoProgressPastDeadline), 99, ours)
            .await;
    }

    #[tokio::test]
    #[should_panic(expected = "stopped inside second 100, not at its end")]
    async fn check_usage_progress_past_deadline_fails_on_a_stop_after_the_first_statement() {
        check_usage_progress_past_deadline(&Fake::broken(Break::StopsMidSecond), 99, ours).await;
    }
}
