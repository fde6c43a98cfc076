//! Queues a schedule's targets, one trigger each (each then runs in an invocation of its own),
//! and runs what is pending for one step, never two runs of a target at a time: the protocol
//! of [`crate::pending`] (take the target's lease, run once for every trigger listed, remove
//! them, again until none is left, release, check again).
//!
//! Triggers that pile up while a run is busy coalesce: one pass covers all of them. When they
//! all ask for the same thing (e.g. only the access providers out of sync, or one subtree of
//! the data source) the pass does exactly that; when they differ it runs the whole step for
//! the target, which covers each of them.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::{Error, SyncEnvironment, answer, selection};
use crate::config::Config;
use crate::history::{History, Record};
use crate::pending::DeliveryId;
use crate::pending::{Acquired, Listing};
use crate::step::Step;
use crate::sync::run::{self, Limits, RunSummary, Selection, TargetStatus, TargetSummary};

/// A pass is not started with less time than this left before the deadline.
const MIN_PASS: Duration = Duration::from_secs(60);

/// One invocation's runner.
pub(super) struct Runner<'a> {
    pub(super) env: &'a SyncEnvironment,
    pub(super) config: &'a Config,
    pub(super) step: Step,
    pub(super) limits: Limits,
    /// Names this invocation in leases (the Lambda request id).
    pub(super) holder: &'a str,
}

impl Runner<'_> {
    /// Runs the pending triggers of this step for `targets` (those an S3 event named).
    pub(super) async fn run_pending(&self, targets: &[String]) -> Result<serde_json::Value, Error> {
        let mut summary = RunSummary::default();
        let started = std::time::Instant::now();
        for target in targets {
            if self.config.target(target).is_none() {
                tracing::warn!(target = %target, "pending triggers for a target raito.yml does not have: left alone");
                continue;
            }
            self.drain(target, &mut summary).await?;
        }
        summary.elapsed_ms = started.elapsed().as_millis() as u64;
        answer(summary)
    }

    /// A schedule or a `syncTrigger` invoked directly: a trigger queued for each target, and
    /// nothing run here. Each trigger's `Object Created` event starts an invocation of its own
    /// (the bucket's EventBridge rule), so targets run side by side, up to the function's
    /// reserved concurrency (`MaxConcurrentTargets`), each with a whole invocation's time, and
    /// the per-target lease still keeps two runs of one target apart. With `sweep` (a
    /// schedule), every other target with triggers of this step left waiting (by a run that
    /// died, or a wake-up that was lost) is woken the same way.
    ///
    /// Answers what it queued and woke: `{"queued": [{"target", "key"}], "woken": [...]}`.
    pub(super) async fn queue(
        &self,
        targets: &[String],
        event: &serde_json::Value,
        sweep: bool,
    ) -> Result<serde_json::Value, Error> {
        let delivery = DeliveryId::parse(&format!("direct-{}", self.holder))
            .or_else(|| DeliveryId::parse(&format!("direct-{}", now_ms())))
            .ok_or_else(|| Error::Unsupported("no delivery id for this invocation".into()))?;
        let body = event.to_string();
        let mut queued = Vec::new();
        for target in targets {
            let key = self
                .env
                .pending
                .enqueue(self.step, target, &delivery, &body)
                .await?;
            tracing::info!(target = %target, key, "queued: the target runs in an invocation of its own");
            queued.push(serde_json::json!({"target": target, "key": key}));
        }
        let mut woken = Vec::new();
        if sweep {
            for target in self.env.pending.waiting_targets(self.step).await? {
                if targets.contains(&target) {
                    continue;
                }
                if self.config.target(&target).is_none() {
                    tracing::warn!(target = %target, "pending triggers for a target raito.yml does not have: left alone");
                    continue;
                }
                if let Some(key) = self.env.pending.wake(self.step, &target).await? {
                    woken.push(serde_json::json!({"target": target, "key": key}));
                }
            }
        }
        Ok(serde_json::json!({"queued": queued, "woken": woken}))
    }

    /// Runs everything pending for `target`, under its lease.
    async fn drain(&self, target: &str, summary: &mut RunSummary) -> Result<(), Error> {
        loop {
            let Some(lease) = self.acquire(target).await? else {
                summary.targets.push(TargetSummary {
                    name: target.to_owned(),
                    status: TargetStatus::Skipped,
                    job_id: None,
                    steps: Vec::new(),
                    message: Some(
                        "another run of this target is going: it runs what was queued here next"
                            .into(),
                    ),
                    error_kind: None,
                });
                return Ok(());
            };
            let passes = lease.hold(self.passes(target, summary)).await;
            passes?;
            // A trigger that came after the last listing and found the lease held.
            if self.env.pending.list(self.step, target).await?.is_empty() {
                return Ok(());
            }
            if !self.time_for_a_pass() {
                // Left for a fresh invocation, woken now rather than at the next schedule.
                tracing::warn!(target, "triggers left: no time left in this invocation");
                self.env.pending.wake(self.step, target).await?;
                return Ok(());
            }
        }
    }

    /// The target's lease, for longer than this invocation can live; `None` when held.
    ///
    /// It lasts until the invocation's hard deadline (the run's deadline plus the deadline
    /// margin), plus the margin once more for the clocks of two Lambda instances to differ:
    /// Lambda ends an invocation at its deadline, so the lease of a holder that died (killed,
    /// out of memory, timed out) is free at most one margin after that, and the next
    /// invocation that finds the target's triggers (a schedule's sweep, a new trigger) runs them.
    pub(super) async fn acquire(
        &self,
        target: &str,
    ) -> Result<Option<crate::pending::Lease>, Error> {
        let left = self
            .limits
            .deadline
            .saturating_duration_since(Instant::now());
        let acquired = self
            .env
            .leases
            .acquire(
                self.step,
                target,
                self.holder,
                left + 2 * self.env.deadline_margin,
                SystemTime::now(),
            )
            .await?;
        match acquired {
            Acquired::Held(lease) => Ok(Some(lease)),
            Acquired::Busy { holder, .. } => {
                tracing::info!(
                    target,
                    holder = holder.as_deref().unwrap_or("unknown"),
                    "another run of this target is going: it will run what is queued"
                );
                Ok(None)
            }
        }
    }

    pub(super) fn time_for_a_pass(&self) -> bool {
        Instant::now() + MIN_PASS < self.limits.deadline
    }

    /// Lists, runs once for all, removes; again until nothing is pending or time runs out.
    async fn passes(&self, target: &str, summary: &mut RunSummary) -> Result<(), Error> {
        loop {
            let listing = self.env.pending.list(self.step, target).await?;
            if listing.triggers.is_empty() {
                return Ok(());
            }
            if let Some(selection) = coalesce(self.step, target, &listing) {
                tracing::info!(
                    target,
                    triggers = listing.triggers.len(),
                    ?selection,
                    "running the pending triggers"
                );
                let raito = self.env.raito(self.config).await?;
                let run = run::run(
                    raito,
                    self.config,
                    &selection,
                    &[self.step],
                    &self.env.staging,
                    self.limits,
                )
                .await;
                // Consumed whatever the outcome: a failure is reported to Raito and alarms;
                // the next schedule runs the step again.
                self.env.pending.remove(&listing.keys()).await?;
                let run = run?;
                self.report(&run.targets).await;
                summary.targets.extend(run.targets);
            } else {
                self.env.pending.remove(&listing.keys()).await?;
            }
            if !self.time_for_a_pass() {
                return Ok(());
            }
        }
    }

    /// Each target's run, for operators: its metrics (embedded metric format lines on stdout,
    /// [`crate::metrics::emf`]) and its record in the run history (`runs/`, [`History`]). A
    /// record that cannot be written is a warning: the run stands.
    async fn report(&self, targets: &[TargetSummary]) {
        let finished = SystemTime::now();
        let now_ms = finished
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as i64;
        let namespace = crate::metrics::namespace();
        let history = History::new(self.env.s3.clone(), self.env.bucket.clone());
        for target in targets {
            let lines = crate::metrics::emf(&namespace, self.step, target, now_ms);
            {
                use std::io::Write;
                let mut stdout = std::io::stdout().lock();
                for line in lines {
                    let _ = writeln!(stdout, "{line}");
                }
            }
            let record = Record::of(self.step, target, finished);
            if let Err(error) = history.record(self.step, &record, self.holder).await {
                tracing::warn!(target = %target.name, %error, "the run could not be recorded in the run history");
            }
        }
    }
}

/// One selection covering every readable trigger of the listing for `target`; `None` when
/// none asks for anything this step does.
fn coalesce(step: Step, target: &str, listing: &Listing) -> Option<Selection> {
    let mut selections = Vec::new();
    for pending in &listing.triggers {
        let wanted = pending
            .trigger
            .clone()
            .and_then(|trigger| selection(step, trigger).map_err(|e| e.to_string()));
        match wanted {
            Ok(selection) => selections.push(Selection {
                targets: vec![target.to_owned()],
                data_sources: Vec::new(),
                identity_store: None,
                ..selection
            }),
            Err(reason) => tracing::warn!(
                key = %pending.key,
                reason = %reason,
                "pending trigger dropped: nothing this step can do"
            ),
        }
    }
    let first = selections.first()?.clone();
    if selections.iter().all(|s| *s == first) {
        Some(first)
    } else {
        Some(Selection {
            targets: vec![target.to_owned()],
            ..Default::default()
        })
    }
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pending::PendingTrigger;
    use crate::trigger::Trigger;

    fn listing(bodies: &[serde_json::Value]) -> Listing {
        Listing {
            triggers: bodies
                .iter()
                .enumerate()
                .map(|(i, body)| PendingTrigger {
                    key: format!("triggers/access/t/{i}.json"),
                    delivery: i.to_string(),
                    enqueued_at: None,
                    trigger: Trigger::from_event(body.clone()).map_err(|e| e.to_string()),
                })
                .collect(),
            more: false,
        }
    }

    #[test]
    fn identical_requests_keep_their_scope_and_different_ones_run_the_whole_step() {
        let update = serde_json::json!({"apUpdate": {"domain": "d", "dataSourceNames": ["ds"]}});
        let only_updates = coalesce(
            Step::DataAccess,
            "t",
            &listing(&[update.clone(), update.clone()]),
        )
        .unwrap();
        assert!(only_updates.access_out_of_sync_only);
        assert_eq!(only_updates.targets, ["t"]);

        let mixed = coalesce(
            Step::DataAccess,
            "t",
            &listing(&[update, serde_json::json!({"targets": []})]),
        )
        .unwrap();
        assert!(!mixed.access_out_of_sync_only, "a full run covers both");

        let unreadable = coalesce(
            Step::DataAccess,
            "t",
            &listing(&[serde_json::json!({"usageSync": 1})]),
        );
        assert_eq!(unreadable, None);
    }
}
