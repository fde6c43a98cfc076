//! Fault injection into the PostgreSQL access apply: the connection of the sync is killed in
//! the middle of a `BEGIN; …; COMMIT;` batch, with access providers before and after the
//! statement it was running. Each database stays consistent on its own (every access provider
//! is there entirely or not at all), the failure is reported, and the next run of the same
//! export converges with one feedback element per access provider; the run after it issues
//! nothing.
//!
//! How the kill is placed, without timing: a second (superuser) session opens a transaction
//! that grants on one table, which holds that table's catalog row until it ends. The apply's
//! own GRANT on that table then waits for it. The test polls `pg_stat_activity` (bounded)
//! until a backend of the sync is blocked by that session, terminates it and waits for it to
//! be gone, and only then rolls the holding transaction back.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use raito_common::config::Target;
use raito_common::connector::{AccessOutcome, ApplyMode};
use raito_common::connectors;
use raito_common::connectors::postgres::access::managed_comment;
use raito_common::model::access::{ExportedAccessProvider, FeedbackElement};
use raito_common::output::Destination;
use raito_common::sync::access::{self, Applied, ExportInput};

use crate::postgres_access::{
    SHOP, ap, create_database, create_users, members, privileges, q, role_comment, set, target,
    unique, users, what,
};
use crate::support;

/// The longest the test waits for the sync to block on the held row.
const BLOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// What one run of the access step did: its result, every outcome (in the order handed to the
/// listener) and the feedback file (`None` when the run wrote none).
struct Run {
    result: Result<Option<Applied>, raito_common::sync::Error>,
    outcomes: Vec<AccessOutcome>,
    feedback: Option<Vec<FeedbackElement>>,
}

impl Run {
    /// The counts of a run that completed.
    fn counts(&self) -> &BTreeMap<String, u64> {
        match &self.result {
            Ok(Some(applied)) => &applied.report.counts,
            other => panic!("the run did not complete: {other:?}"),
        }
    }

    fn outcome(&self, id: &str) -> &AccessOutcome {
        let found: Vec<&AccessOutcome> = self
            .outcomes
            .iter()
            .filter(|o| o.feedback.access_provider == id)
            .collect();
        assert_eq!(found.len(), 1, "one outcome for {id}: {:?}", self.outcomes);
        found[0]
    }

    /// The feedback file: exactly one element per access provider of `aps`, in any order,
    /// each with its one item; returned by id.
    fn feedback_by_id(
        &self,
        aps: &[ExportedAccessProvider],
    ) -> BTreeMap<String, raito_common::model::access::FeedbackAccess> {
        let elements = self.feedback.as_ref().expect("a feedback file was written");
        let mut ids: Vec<&str> = elements.iter().map(|e| e.external_id.as_str()).collect();
        ids.sort_unstable();
        let mut expected: Vec<&str> = aps.iter().map(|a| a.id.as_str()).collect();
        expected.sort_unstable();
        assert_eq!(ids, expected, "one feedback element per access provider");
        elements
            .iter()
            .map(|e| {
                assert_eq!(e.access.len(), 1, "{e:?}");
                assert_eq!(e.access[0].access_id, e.external_id, "{e:?}");
                (e.external_id.clone(), e.access[0].clone())
            })
            .collect()
    }
}

/// Runs the access step's apply (the pipeline sync-access runs: the export read twice, one
/// feedback element per access provider) for `aps` against `target`.
async fn run(target: &Target, aps: &[ExportedAccessProvider]) -> Run {
    let connector = connectors::build(target).expect("valid target");
    let dir = tempfile::tempdir().expect("temp dir");
    let (input, feedback) = (dir.path().join("export.json"), dir.path().join("fb.json"));
    let export = serde_json::json!({"lastCalculated": 1, "accessProviders": aps});
    std::fs::write(&input, export.to_string()).expect("write the export");
    let mut outcomes = Vec::new();
    let result = access::apply(
        connector.as_ref(),
        target,
        &ExportInput::File(input),
        ApplyMode::Apply,
        Some(Destination::file(&feedback).await.expect("feedback file")),
        &mut |outcome: &AccessOutcome| outcomes.push(outcome.clone()),
    )
    .await;
    Run {
        result,
        outcomes,
        feedback: read_feedback(&feedback),
    }
}

fn read_feedback(path: &Path) -> Option<Vec<FeedbackElement>> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(serde_json::from_str(&text).expect("the feedback file is JSON"))
}

/// A second session that holds the catalog row of a table in an open transaction.
struct Holder {
    client: tokio_postgres::Client,
    pid: i32,
    database: String,
}

impl Holder {
    /// `BEGIN; GRANT SELECT ON <table> TO <grantee>` in `database`, left open: every other
    /// GRANT or REVOKE on that table waits until this transaction ends.
    async fn hold(database: &str, table: &str, grantee: &str) -> Holder {
        let client = support::pg_admin(database).await;
        let pid: i32 = client
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .expect("backend pid")
            .get(0);
        client
            .batch_execute(&format!("BEGIN; GRANT SELECT ON {table} TO {}", q(grantee)))
            .await
            .expect("hold the table's catalog row");
        Holder {
            client,
            pid,
            database: database.to_owned(),
        }
    }

    /// Waits until a session of the sync is blocked by this one, terminates that session
    /// (`killing` is set just before) and waits until it is gone, then rolls this transaction
    /// back. Returns the blocked session's `wait_event_type`, `wait_event` and query.
    async fn kill_the_blocked_session(&self, killing: &Cell<bool>) -> (String, String, String) {
        let admin = support::pg_admin("postgres").await;
        let deadline = tokio::time::Instant::now() + BLOCK_TIMEOUT;
        let blocked = loop {
            let rows = admin
                .query(
                    "SELECT pid, coalesce(wait_event_type, ''), coalesce(wait_event, ''), query,
                            application_name
                       FROM pg_stat_activity
                      WHERE datname = $1 AND $2 = ANY (pg_blocking_pids(pid))",
                    &[&self.database, &self.pid],
                )
                .await
                .expect("read pg_stat_activity");
            if let Some(row) = rows.first() {
                assert_eq!(rows.len(), 1, "one session blocked");
                let application: String = row.get(4);
                assert_eq!(
                    application, "raito-sync",
                    "the blocked session is the sync's"
                );
                break (
                    row.get::<_, i32>(0),
                    row.get::<_, String>(1),
                    row.get::<_, String>(2),
                    row.get::<_, String>(3),
                );
            }
            if tokio::time::Instant::now() >= deadline {
                let activity = admin
                    .query(
                        "SELECT pid, state, coalesce(wait_event_type, ''), query
                           FROM pg_stat_activity WHERE datname = $1",
                        &[&self.database],
                    )
                    .await
                    .expect("read pg_stat_activity");
                let activity: Vec<(i32, Option<String>, String, String)> = activity
                    .iter()
                    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
                    .collect();
                panic!(
                    "no session of the sync was blocked by the held row of database {:?} \
                     within {BLOCK_TIMEOUT:?}; its sessions: {activity:?}",
                    self.database
                );
            }
            // Polling interval only: what the test waits for is the state read above.
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let (pid, wait_type, wait_event, query) = blocked;
        killing.set(true);
        // pg_terminate_backend(pid) only signals (its form with a timeout, which waits, is
        // PostgreSQL 14's): the session's end is watched for.
        let terminated: bool = admin
            .query_one("SELECT pg_terminate_backend($1)", &[&pid])
            .await
            .expect("terminate the sync's session")
            .get(0);
        assert!(terminated, "the sync's session {pid} was signalled");
        let patience = tokio::time::Instant::now() + Duration::from_secs(60);
        while admin
            .query_one(
                "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $1)",
                &[&pid],
            )
            .await
            .expect("read the sessions")
            .get::<_, bool>(0)
        {
            assert!(
                tokio::time::Instant::now() < patience,
                "the sync's session {pid} still runs 60 s after it was terminated"
            );
            // Polling interval only: what the test waits for is the state read above.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.client
            .batch_execute("ROLLBACK")
            .await
            .expect("release the held row");
        (wait_type, wait_event, query)
    }
}

/// The feedback error of every access provider whose batch in `database` was running when
/// its session was terminated.
fn killed(database: &str) -> String {
    format!(
        "in database {database:?}: terminating connection due to administrator command \
         (57P01); the transaction was rolled back"
    )
}

/// The roles carrying the marker of access provider `id`.
async fn marked_roles(id: &str) -> Vec<String> {
    let admin = support::pg_admin("postgres").await;
    admin
        .query(
            "SELECT rolname::text FROM pg_roles
              WHERE shobj_description(oid, 'pg_authid') = $1 ORDER BY 1",
            &[&managed_comment(id)],
        )
        .await
        .expect("read roles")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Applies `aps` to `target` while `holder` holds a row one of them needs: kills the sync's
/// session once it waits for that row. Returns the run and what the session was doing.
async fn run_killed(
    target: &Target,
    aps: &[ExportedAccessProvider],
    holder: &Holder,
) -> (Run, (String, String, String)) {
    let killing = Cell::new(false);
    let sync = run(target, aps);
    let killer = holder.kill_the_blocked_session(&killing);
    tokio::pin!(sync, killer);
    tokio::select! {
        run = &mut sync => {
            assert!(
                killing.get(),
                "the sync ended without ever waiting for the held row of database {:?}: {:?}; \
                 outcomes {:?}",
                holder.database,
                run.result,
                run.outcomes
            );
            (run, killer.await)
        }
        killed = &mut killer => (sync.await, killed),
    }
}

/// What every access provider of these tests is meant to hold: its role, with its comment
/// and one member, and SELECT on one relation of schema `shop` in each database it names.
struct Expected {
    id: String,
    role: String,
    member: String,
    /// (database, relation in `shop`).
    relations: Vec<(String, String)>,
}

impl Expected {
    fn new(id: &str, role: &str, member: &str, relations: &[(&str, &str)]) -> Expected {
        Expected {
            id: id.to_owned(),
            role: role.to_owned(),
            member: member.to_owned(),
            relations: relations
                .iter()
                .map(|(d, r)| ((*d).to_owned(), (*r).to_owned()))
                .collect(),
        }
    }

    fn access_provider(&self) -> ExportedAccessProvider {
        let mut a = ap(&self.id, &self.role);
        a.who = users(&[&self.member]);
        a.what = self
            .relations
            .iter()
            .map(|(database, relation)| {
                what(&format!("{database}.shop.{relation}"), "table", &["SELECT"])
            })
            .collect();
        a
    }

    /// The role with its marker and member: entirely there, or (`false`) not at all.
    async fn assert_role(&self, present: bool) {
        if present {
            assert_eq!(
                role_comment(&self.role).await,
                Some(managed_comment(&self.id)),
                "{}",
                self.role
            );
            assert_eq!(
                members(&self.role).await,
                set(&[&self.member]),
                "{}",
                self.role
            );
            assert_eq!(
                marked_roles(&self.id).await,
                std::slice::from_ref(&self.role),
                "one role"
            );
        } else {
            assert_eq!(role_comment(&self.role).await, None, "{}", self.role);
            assert_eq!(marked_roles(&self.id).await, Vec::<String>::new());
        }
    }

    /// The role's privileges in `database`: all it asks for there, or (`false`) none.
    async fn assert_grants(&self, database: &str, present: bool) {
        let expected = match self.relations.iter().find(|(d, _)| d == database) {
            Some((_, relation)) if present => set(&[
                "CONNECT on database",
                "USAGE on shop",
                &format!("SELECT on shop.{relation}"),
            ]),
            Some(_) => BTreeSet::new(),
            None => panic!("{} names nothing in {database}", self.role),
        };
        assert_eq!(
            privileges(database, &self.role).await,
            expected,
            "{} in {database}",
            self.role
        );
    }
}

/// The second and third runs after a fault: the second converges (each access provider
/// applied, one feedback element each, nothing but what was missing issued), the third
/// issues no statement at all.
async fn assert_converges(target: &Target, expected: &[Expected], missing: &BTreeMap<&str, usize>) {
    let aps: Vec<ExportedAccessProvider> = expected.iter().map(Expected::access_provider).collect();
    let second = run(target, &aps).await;
    let counts = second.counts().clone();
    assert_eq!(counts.get("failed"), None, "{:?}", second.outcomes);
    let feedback = second.feedback_by_id(&aps);
    for e in expected {
        let outcome = second.outcome(&e.id);
        assert!(outcome.feedback.errors.is_empty(), "{outcome:?}");
        assert_eq!(outcome.feedback.actual_name, e.role, "{outcome:?}");
        assert_eq!(
            outcome.statements.len(),
            missing[e.id.as_str()],
            "only what was missing: {outcome:?}"
        );
        let item = &feedback[&e.id];
        assert_eq!(item.actual_name, e.role, "{item:?}");
        assert_eq!(
            item.external_id.as_deref(),
            Some(e.role.as_str()),
            "{item:?}"
        );
        assert_eq!(item.errors, None, "{item:?}");
        e.assert_role(true).await;
        for (database, _) in &e.relations {
            e.assert_grants(database, true).await;
        }
    }

    let third = run(target, &aps).await;
    let counts = third.counts();
    assert_eq!(
        counts.get("statement"),
        Some(&0),
        "no DDL: {:?}",
        third.outcomes
    );
    assert_eq!(
        counts.get("unchanged"),
        Some(&(aps.len() as u64)),
        "{counts:?}"
    );
    third.feedback_by_id(&aps);
    for outcome in &third.outcomes {
        assert!(outcome.statements.is_empty(), "{outcome:?}");
        assert!(outcome.feedback.errors.is_empty(), "{outcome:?}");
    }
}

/// Six access providers, each with privileges in two databases. Their roles and their
/// privileges in the first database commit in that database's batch; their privileges in the
/// second go in the second's batch, whose connection is killed while the fourth access
/// provider's GRANT waits (three access providers' statements ran before it, two follow).
#[tokio::test]
async fn a_connection_killed_in_the_middle_of_a_batch_leaves_each_database_whole_and_the_next_run_converges()
 {
    let (first, second) = (unique("flt_a"), unique("flt_b"));
    assert!(first < second, "the first database is the roles' own");
    create_database(&first, SHOP).await;
    create_database(&second, SHOP).await;
    let (ann, bob, holder) = (unique("ann"), unique("bob"), unique("holder"));
    create_users(&[&ann, &bob, &holder]).await;
    let prefix = unique("flt");
    let expected: Vec<Expected> = (0..6)
        .map(|i| {
            // The fourth one is the one that waits: it grants on the held table.
            let there = if i == 3 { "customers" } else { "orders" };
            Expected::new(
                &format!("{prefix}_ap_{i}"),
                &format!("{prefix}_{i}"),
                if i % 2 == 0 { &ann } else { &bob },
                &[(&first, "orders"), (&second, there)],
            )
        })
        .collect();
    let aps: Vec<ExportedAccessProvider> = expected.iter().map(Expected::access_provider).collect();
    let target = target().await;

    let holding = Holder::hold(&second, "shop.customers", &holder).await;
    let (faulted, (wait_type, wait_event, query)) = run_killed(&target, &aps, &holding).await;
    assert_eq!(wait_type, "Lock", "{wait_event}");
    assert!(
        query.starts_with("BEGIN;\nGRANT CONNECT ON DATABASE ")
            && query.contains(&q(&expected[0].role)),
        "the killed session ran the second database's batch, from the first access provider \
         on: {query}"
    );

    // The run itself completes: the failure is in the feedback of the six, once each.
    let counts = faulted.counts();
    assert_eq!(counts.get("failed"), Some(&6), "{counts:?}");
    let feedback = faulted.feedback_by_id(&aps);
    for e in &expected {
        let outcome = faulted.outcome(&e.id);
        assert_eq!(outcome.feedback.errors.len(), 1, "{outcome:?}");
        let error = &outcome.feedback.errors[0];
        assert_eq!(
            error,
            &killed(&second),
            "the server's reason, for each of the six"
        );
        // What committed in the first database is reported; nothing of the second.
        assert_eq!(outcome.statements.len(), 6, "{outcome:?}");
        assert!(
            outcome
                .statements
                .iter()
                .all(|s| !s.contains(&q(&second)) && !s.contains(r#""shop"."customers""#)),
            "what was rolled back is not reported as executed: {outcome:?}"
        );
        assert_eq!(outcome.feedback.actual_name, e.role);
        assert_eq!(
            feedback[&e.id].errors.as_deref(),
            Some(&[error.clone()][..])
        );
        // First database: role, comment, member and privileges committed. Second: nothing.
        e.assert_role(true).await;
        e.assert_grants(&first, true).await;
        e.assert_grants(&second, false).await;
    }

    // Each access provider lacks exactly its three privileges in the second database.
    let missing = expected.iter().map(|e| (e.id.as_str(), 3)).collect();
    assert_converges(&target, &expected, &missing).await;
}

/// The main connection (`pg-database`, where roles are created) is killed while the fourth
/// of six access providers waits in its batch: that batch is rolled back entirely (no role,
/// no member, no privilege of the six anywhere), the two access providers whose batch is in
/// the other database are applied there, and the run stops with an error and no feedback
/// file. The next run finds those two roles by their marker (no second role) and creates the
/// six.
#[tokio::test]
async fn the_main_connection_killed_in_the_middle_of_a_batch_stops_the_run_and_the_next_run_converges()
 {
    let (main, other) = (unique("flt_main"), unique("flt_other"));
    create_database(&main, SHOP).await;
    create_database(&other, SHOP).await;
    let (ann, bob, holder) = (unique("ann"), unique("bob"), unique("holder"));
    create_users(&[&ann, &bob, &holder]).await;
    let prefix = unique("flt");
    let expected: Vec<Expected> = (0..8)
        .map(|i| {
            let there = if i == 3 { "customers" } else { "orders" };
            let relations: &[(&str, &str)] = if i < 6 {
                &[(&main, there), (&other, "customers")]
            } else {
                &[(&other, "orders")]
            };
            Expected::new(
                &format!("{prefix}_ap_{i}"),
                &format!("{prefix}_{i}"),
                if i % 2 == 0 { &ann } else { &bob },
                relations,
            )
        })
        .collect();
    let aps: Vec<ExportedAccessProvider> = expected.iter().map(Expected::access_provider).collect();
    let mut target = target().await;
    target
        .parameters
        .insert("pg-database", serde_json::json!(main), false);

    let holding = Holder::hold(&main, "shop.customers", &holder).await;
    let (faulted, (wait_type, wait_event, query)) = run_killed(&target, &aps, &holding).await;
    assert_eq!(wait_type, "Lock", "{wait_event}");
    assert!(
        query.starts_with(&format!("BEGIN;\nCREATE ROLE {} ", q(&expected[0].role))),
        "the killed session ran the main database's batch, from the first access provider on: \
         {query}"
    );

    // The run stops with an error naming the lost connection; no feedback file is left.
    let error = match &faulted.result {
        Err(error) => error.to_string(),
        Ok(applied) => panic!("the run went on without its main connection: {applied:?}"),
    };
    assert!(
        error.contains("the connection was closed during the access sync")
            && error.contains(&format!("database {main:?}")),
        "{error}"
    );
    assert!(faulted.feedback.is_none(), "{:?}", faulted.feedback);
    // Before stopping, the outcomes of the chunk were handed on, once each.
    assert_eq!(faulted.outcomes.len(), 8, "{:?}", faulted.outcomes);
    for e in &expected[..6] {
        let outcome = faulted.outcome(&e.id);
        assert_eq!(outcome.feedback.errors.len(), 1, "{outcome:?}");
        assert_eq!(outcome.feedback.errors[0], killed(&main), "{outcome:?}");
        assert!(outcome.statements.is_empty(), "{outcome:?}");
        e.assert_role(false).await;
        e.assert_grants(&main, false).await;
        e.assert_grants(&other, false).await;
    }
    for e in &expected[6..] {
        let outcome = faulted.outcome(&e.id);
        assert!(outcome.feedback.errors.is_empty(), "{outcome:?}");
        assert_eq!(outcome.statements.len(), 6, "{outcome:?}");
        e.assert_role(true).await;
        e.assert_grants(&other, true).await;
    }

    // The six lack everything (create, comment, member, three and three privileges); the
    // two, nothing.
    let missing = expected
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.as_str(), if i < 6 { 9 } else { 0 }))
        .collect();
    assert_converges(&target, &expected, &missing).await;
}
