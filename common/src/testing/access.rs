//! The access sync's contract ([`AccessSync`]), both ways:
//! - an apply is a diff: applying the same export again issues nothing
//!   ([`check_apply_converges`]);
//! - a plan executes nothing and lists exactly the statements the apply then executes
//!   ([`check_plan_matches_apply`]);
//! - one outcome per access provider, and a failing one is reported in its feedback while the
//!   others are still applied ([`check_failing_access_provider_is_isolated`]);
//! - the import lists only what Raito does not manage: the access providers an apply created
//!   are never offered back as access providers Raito could take over
//!   ([`check_import_excludes_managed`]).
//!
//! The caller builds the access providers for its system (objects that exist, users that
//! exist, a failure its system really refuses); the checks know nothing of the system and
//! judge only the outcomes, the feedback and the import.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::connector::{AccessOutcome, AccessSync, ApplyMode, Connector};
use crate::model::access::{AccessProvider, ExportedAccessProvider};

fn access_sync(connector: &dyn Connector) -> &dyn AccessSync {
    connector.access().unwrap_or_else(|| {
        panic!(
            "the {} connector has no access sync to check",
            connector.name()
        )
    })
}

/// Runs `export` through the connector's access sync in `mode` and returns one outcome per
/// access provider, in the order of `export`. Checks the trait's promise on the way: the sync
/// itself succeeds and pushes exactly one outcome per access provider (in any order).
pub async fn sync_access(
    connector: &dyn Connector,
    mode: ApplyMode,
    export: &[ExportedAccessProvider],
) -> Vec<AccessOutcome> {
    let ids: BTreeSet<&str> = export.iter().map(|ap| ap.id.as_str()).collect();
    assert_eq!(
        ids.len(),
        export.len(),
        "the export given to the check has unique ids"
    );
    let mut source: VecDeque<ExportedAccessProvider> = export.iter().cloned().collect();
    let mut pushed: Vec<AccessOutcome> = Vec::new();
    access_sync(connector)
        .sync_to_target(mode, &mut source, &mut pushed)
        .await
        .unwrap_or_else(|e| panic!("the {mode:?} of {} access providers fails: {e}", ids.len()));
    let mut by_id: BTreeMap<String, AccessOutcome> = BTreeMap::new();
    for outcome in pushed {
        let id = outcome.feedback.access_provider.clone();
        assert!(
            ids.contains(id.as_str()),
            "{mode:?}: an outcome for {id:?}, which the export does not have"
        );
        assert!(
            by_id.insert(id.clone(), outcome).is_none(),
            "{mode:?}: access provider {id:?} has more than one outcome"
        );
    }
    export
        .iter()
        .map(|ap| {
            by_id.remove(&ap.id).unwrap_or_else(|| {
                panic!(
                    "{mode:?}: access provider {:?} has no outcome (one per access provider)",
                    ap.id
                )
            })
        })
        .collect()
}

fn assert_no_errors(step: &str, outcomes: &[AccessOutcome]) {
    for outcome in outcomes {
        assert!(
            outcome.feedback.errors.is_empty(),
            "{step}: access provider {:?} failed: {:?}",
            outcome.feedback.access_provider,
            outcome.feedback.errors
        );
    }
}

fn assert_nothing_issued(step: &str, outcomes: &[AccessOutcome]) {
    for outcome in outcomes {
        assert!(
            outcome.statements.is_empty(),
            "{step}: access provider {:?} issued {:?}",
            outcome.feedback.access_provider,
            outcome.statements
        );
    }
}

fn statement_count(outcomes: &[AccessOutcome]) -> usize {
    outcomes.iter().map(|o| o.statements.len()).sum()
}

/// `export` as Raito exports it after importing the feedback of `outcomes`: each access
/// provider carries the actual name (and the external id) the target reported.
pub fn with_feedback(
    export: &[ExportedAccessProvider],
    outcomes: &[AccessOutcome],
) -> Vec<ExportedAccessProvider> {
    export
        .iter()
        .zip(outcomes)
        .map(|(ap, outcome)| {
            let mut ap = ap.clone();
            if !outcome.feedback.actual_name.is_empty() {
                ap.actual_name = Some(outcome.feedback.actual_name.clone());
            }
            if outcome.feedback.external_id.is_some() {
                ap.external_id = outcome.feedback.external_id.clone();
            }
            ap
        })
        .collect()
}

/// Checks that an apply converges: `export` (access providers that apply without error and
/// change the target: at least one statement, else the check proves nothing) is applied, then
/// applied again exactly as it was (a run whose feedback Raito never got), then once more as
/// Raito exports it after the first feedback (with the actual names and external ids): the
/// second and third applies issue no statement, fail nothing and report the same actual names.
/// Returns the first apply's outcomes, in the order of `export`.
pub async fn check_apply_converges(
    connector: &dyn Connector,
    export: &[ExportedAccessProvider],
) -> Vec<AccessOutcome> {
    let first = sync_access(connector, ApplyMode::Apply, export).await;
    assert_no_errors("the first apply", &first);
    assert!(
        statement_count(&first) > 0,
        "the first apply issued nothing: give the check access providers that change the target"
    );

    let again = sync_access(connector, ApplyMode::Apply, export).await;
    assert_no_errors("the same export applied again", &again);
    assert_nothing_issued("the same export applied again", &again);

    let fed_back = with_feedback(export, &first);
    let next = sync_access(connector, ApplyMode::Apply, &fed_back).await;
    assert_no_errors("the export with the first apply's feedback", &next);
    assert_nothing_issued("the export with the first apply's feedback", &next);

    for ((first, again), next) in first.iter().zip(&again).zip(&next) {
        assert_eq!(
            (&again.feedback.actual_name, &next.feedback.actual_name),
            (&first.feedback.actual_name, &first.feedback.actual_name),
            "access provider {:?} keeps its actual name",
            first.feedback.access_provider
        );
    }
    first
}

/// Checks that a plan is the apply's dry run: a plan of `export` (access providers that apply
/// without error and change the target) lists for each access provider exactly the statements
/// the apply then executes, in the same order, with the same actual name and the same errors;
/// the plan changed nothing (a second plan lists the same statements, and the apply still has
/// them to execute); and a plan after the apply lists nothing (the plan reads the state the
/// apply left). Returns the apply's outcomes, in the order of `export`.
pub async fn check_plan_matches_apply(
    connector: &dyn Connector,
    export: &[ExportedAccessProvider],
) -> Vec<AccessOutcome> {
    let plan = sync_access(connector, ApplyMode::Plan, export).await;
    assert_no_errors("the plan", &plan);
    assert!(
        statement_count(&plan) > 0,
        "the plan lists nothing: give the check access providers that change the target"
    );
    let second_plan = sync_access(connector, ApplyMode::Plan, export).await;
    for (first, second) in plan.iter().zip(&second_plan) {
        assert_eq!(
            second.statements, first.statements,
            "access provider {:?}: a second plan lists other statements (did the first plan \
             change the target?)",
            first.feedback.access_provider
        );
    }

    let applied = sync_access(connector, ApplyMode::Apply, export).await;
    for (planned, applied) in plan.iter().zip(&applied) {
        let id = &planned.feedback.access_provider;
        assert_eq!(
            applied.statements, planned.statements,
            "access provider {id:?}: the apply executed other statements than the plan listed"
        );
        assert_eq!(
            applied.feedback.actual_name, planned.feedback.actual_name,
            "access provider {id:?}: the plan and the apply name it differently"
        );
        assert_eq!(
            applied.feedback.errors, planned.feedback.errors,
            "access provider {id:?}: the plan and the apply report different errors"
        );
    }

    let after = sync_access(connector, ApplyMode::Plan, export).await;
    assert_no_errors("the plan after the apply", &after);
    assert_nothing_issued("the plan after the apply", &after);
    applied
}

/// Checks that one failing access provider is isolated: the export `before`, `failing`,
/// `after` (both sides non-empty; the good ones apply without error and change the target;
/// `failing` is one the target refuses) is applied in one run; the run itself succeeds, the
/// failing access provider's feedback carries an error, every good one is applied without
/// error (it issued statements, and a plan of the good ones afterwards lists nothing: they are
/// in place, those after the failure too). Returns the outcomes, in export order.
pub async fn check_failing_access_provider_is_isolated(
    connector: &dyn Connector,
    before: &[ExportedAccessProvider],
    failing: &ExportedAccessProvider,
    after: &[ExportedAccessProvider],
) -> Vec<AccessOutcome> {
    assert!(
        !before.is_empty() && !after.is_empty(),
        "give the check good access providers both before and after the failing one"
    );
    let export: Vec<ExportedAccessProvider> = before
        .iter()
        .chain(std::iter::once(failing))
        .chain(after)
        .cloned()
        .collect();
    let outcomes = sync_access(connector, ApplyMode::Apply, &export).await;
    let failed = &outcomes[before.len()];
    assert!(
        !failed.feedback.errors.is_empty(),
        "the failing access provider {:?} has no error in its feedback (statements {:?})",
        failing.id,
        failed.statements
    );
    let good: Vec<ExportedAccessProvider> = before.iter().chain(after).cloned().collect();
    let good_outcomes: Vec<AccessOutcome> = outcomes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != before.len())
        .map(|(_, o)| o.clone())
        .collect();
    assert_no_errors("next to a failing access provider", &good_outcomes);
    for outcome in &good_outcomes {
        assert!(
            !outcome.statements.is_empty(),
            "access provider {:?} next to the failing one issued nothing: give the check \
             access providers that change the target",
            outcome.feedback.access_provider
        );
    }
    let plan = sync_access(connector, ApplyMode::Plan, &good).await;
    assert_no_errors(
        "a plan of the good access providers after the run with a failing one",
        &plan,
    );
    assert_nothing_issued(
        "a plan of the good access providers after the run with a failing one (were they \
         applied?)",
        &plan,
    );
    outcomes
}

/// Checks that the import leaves Raito's own access providers out: `export` (access providers
/// that apply without error) is applied, then the connector's import is run: no imported
/// access provider has the actual name or external id of one the apply manages, unless it is
/// marked not internalizable (Raito would otherwise offer to take over, as a second access
/// provider, what it already manages). Every name in `unmanaged` (access the caller created in
/// the target outside Raito; at least one) must be imported, by external id, so that an import
/// that lists nothing cannot pass. Returns the imported access providers.
pub async fn check_import_excludes_managed(
    connector: &dyn Connector,
    export: &[ExportedAccessProvider],
    unmanaged: &[&str],
) -> Vec<AccessProvider> {
    assert!(
        !unmanaged.is_empty(),
        "name at least one access control the caller created outside Raito"
    );
    let applied = sync_access(connector, ApplyMode::Apply, export).await;
    assert_no_errors("the apply before the import", &applied);
    let mut managed: BTreeSet<String> = BTreeSet::new();
    for (ap, outcome) in export.iter().zip(&applied) {
        if ap.delete {
            continue;
        }
        if !outcome.feedback.actual_name.is_empty() {
            managed.insert(outcome.feedback.actual_name.clone());
        }
        if let Some(id) = &outcome.feedback.external_id {
            managed.insert(id.clone());
        }
    }
    assert!(
        !managed.is_empty(),
        "the apply reported no actual name: give the check access providers to create"
    );

    let mut imported: Vec<AccessProvider> = Vec::new();
    access_sync(connector)
        .sync_from_target(&mut imported)
        .await
        .unwrap_or_else(|e| panic!("the access import fails: {e}"));
    for ap in &imported {
        let clash = [&ap.external_id, &ap.actual_name]
            .into_iter()
            .find(|name| managed.contains(name.as_str()));
        if let Some(name) = clash {
            assert!(
                ap.not_internalizable,
                "the import lists {name:?}, which an apply manages, as an access provider Raito \
                 could take over: {ap:?}"
            );
        }
    }
    let ids: BTreeSet<&str> = imported.iter().map(|ap| ap.external_id.as_str()).collect();
    for name in unmanaged {
        assert!(
            ids.contains(name),
            "the import lists {name:?}, created outside Raito"
        );
    }
    imported
}

#[cfg(test)]
mod tests {
    //! Each check against an in-memory connector that keeps the contract (it passes), then
    //! against one that breaks the check's rule (it panics).

    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::connector::{Error, Sink, Source};
    use crate::model::access::{AccessProviderFeedback, Action, DataObjectReference, WhatItem};

    /// How a [`Fake`] breaks the contract.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    enum Break {
        #[default]
        Nothing,
        /// Every apply grants everything again, changed or not.
        RegrantsAlways,
        /// A plan executes its statements.
        PlanExecutes,
        /// A plan lists its statements in another order than the apply runs them.
        PlanReordered,
        /// The first failing access provider ends the run.
        StopsAtFailure,
        /// A failing access provider is reported as a success.
        HidesFailure,
        /// The import lists the managed roles too, as ordinary access providers.
        ImportsManaged,
    }

    /// A target of roles: name → grants, and which roles are Raito's (by access provider id).
    #[derive(Default)]
    struct Fake {
        broken: Break,
        roles: Mutex<BTreeMap<String, BTreeSet<String>>>,
        managed: Mutex<BTreeMap<String, String>>,
    }

    impl Fake {
        fn broken(broken: Break) -> Self {
            let fake = Self {
                broken,
                ..Default::default()
            };
            fake.roles
                .lock()
                .unwrap()
                .insert("theirs".to_owned(), BTreeSet::from(["t".to_owned()]));
            fake
        }

        /// The statements that make `ap` hold, executed unless `plan`.
        fn apply(
            &self,
            ap: &ExportedAccessProvider,
            plan: bool,
        ) -> Result<(String, Vec<String>), String> {
            if ap.action == Action::Deny {
                return Err("deny cannot be expressed".to_owned());
            }
            let mut roles = self.roles.lock().unwrap();
            let mut managed = self.managed.lock().unwrap();
            let role = managed
                .iter()
                .find(|(_, id)| **id == ap.id)
                .map(|(role, _)| role.clone())
                .unwrap_or_else(|| ap.naming_hint.clone());
            let wanted: BTreeSet<String> = ap
                .what
                .iter()
                .map(|w| w.data_object.full_name.clone())
                .collect();
            let mut statements = Vec::new();
            let current = match roles.get(&role) {
                Some(current) => current.clone(),
                None => {
                    statements.push(format!("CREATE ROLE {role}"));
                    BTreeSet::new()
                }
            };
            let regrant = self.broken == Break::RegrantsAlways;
            for object in &wanted {
                if regrant || !current.contains(object) {
                    statements.push(format!("GRANT {object} TO {role}"));
                }
            }
            for object in current.difference(&wanted) {
                statements.push(format!("REVOKE {object} FROM {role}"));
            }
            if !plan || self.broken == Break::PlanExecutes {
                roles.insert(role.clone(), wanted);
                managed.insert(role.clone(), ap.id.clone());
            }
            if plan && self.broken == Break::PlanReordered {
                statements.reverse();
            }
            Ok((role, statements))
        }
    }

    impl Connector for Fake {
        fn name(&self) -> &'static str {
            "fake"
        }

        fn access(&self) -> Option<&dyn AccessSync> {
            Some(self)
        }
    }

    #[async_trait]
    impl AccessSync for Fake {
        async fn sync_from_target(&self, sink: &mut dyn Sink<AccessProvider>) -> Result<(), Error> {
            let roles = self.roles.lock().unwrap().clone();
            let managed = self.managed.lock().unwrap().clone();
            for role in roles.keys() {
                if managed.contains_key(role) && self.broken != Break::ImportsManaged {
                    continue;
                }
                sink.push(AccessProvider {
                    external_id: role.clone(),
                    actual_name: role.clone(),
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
        ) -> Result<(), Error> {
            let mut pushed = Vec::new();
            while let Some(ap) = access_providers.next().await? {
                let mut feedback = AccessProviderFeedback {
                    access_provider: ap.id.clone(),
                    ..Default::default()
                };
                let statements = match self.apply(&ap, mode == ApplyMode::Plan) {
                    Ok((role, statements)) => {
                        feedback.actual_name = role.clone();
                        feedback.external_id = Some(role);
                        statements
                    }
                    Err(_) if self.broken == Break::StopsAtFailure => break,
                    Err(_) if self.broken == Break::HidesFailure => Vec::new(),
                    Err(error) => {
                        feedback.errors.push(error);
                        Vec::new()
                    }
                };
                pushed.push(AccessOutcome {
                    feedback,
                    statements,
                });
            }
            // In any order, as the trait allows: the checks must not rely on the export's.
            pushed.reverse();
            for outcome in pushed {
                outcomes.push(outcome).await?;
            }
            Ok(())
        }
    }

    fn ap(id: &str, objects: &[&str]) -> ExportedAccessProvider {
        ExportedAccessProvider {
            id: id.to_owned(),
            naming_hint: format!("role_{id}"),
            what: objects
                .iter()
                .map(|o| WhatItem {
                    data_object: DataObjectReference::new(*o, "table"),
                    permissions: vec!["SELECT".to_owned()],
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn export() -> Vec<ExportedAccessProvider> {
        vec![ap("a", &["db.s.t1", "db.s.t2"]), ap("b", &["db.s.t2"])]
    }

    fn failing() -> ExportedAccessProvider {
        ExportedAccessProvider {
            action: Action::Deny,
            ..ap("x", &["db.s.t1"])
        }
    }

    #[tokio::test]
    async fn a_connector_that_keeps_the_contract_passes_every_access_check() {
        let applied = check_apply_converges(&Fake::broken(Break::Nothing), &export()).await;
        assert_eq!(applied[0].feedback.actual_name, "role_a");
        assert_eq!(
            applied[0].statements,
            [
                "CREATE ROLE role_a",
                "GRANT db.s.t1 TO role_a",
                "GRANT db.s.t2 TO role_a"
            ]
        );
        let applied = check_plan_matches_apply(&Fake::broken(Break::Nothing), &export()).await;
        assert_eq!(applied[1].statements.len(), 2);
        let outcomes = check_failing_access_provider_is_isolated(
            &Fake::broken(Break::Nothing),
            &[ap("a", &["db.s.t1"])],
            &failing(),
            &[ap("b", &["db.s.t2"])],
        )
        .await;
        assert_eq!(outcomes[1].feedback.errors, ["deny cannot be expressed"]);
        let imported =
            check_import_excludes_managed(&Fake::broken(Break::Nothing), &export(), &["theirs"])
                .await;
        let ids: Vec<&str> = imported.iter().map(|a| a.external_id.as_str()).collect();
        assert_eq!(ids, ["theirs"]);
    }

    #[tokio::test]
    #[should_panic(expected = "the same export applied again: access provider \"a\" issued")]
    async fn check_apply_converges_fails_on_an_apply_that_grants_again() {
        check_apply_converges(&Fake::broken(Break::RegrantsAlways), &export()).await;
    }

    #[tokio::test]
    #[should_panic(expected = "a second plan lists other statements")]
    async fn check_plan_matches_apply_fails_on_a_plan_that_executes() {
        check_plan_matches_apply(&Fake::broken(Break::PlanExecutes), &export()).await;
    }

    #[tokio::test]
    #[should_panic(expected = "the apply executed other statements than the plan listed")]
    async fn check_plan_matches_apply_fails_on_a_plan_in_another_order() {
        check_plan_matches_apply(&Fake::broken(Break::PlanReordered), &export()).await;
    }

    #[tokio::test]
    #[should_panic(expected = "has no outcome (one per access provider)")]
    async fn check_failing_access_provider_is_isolated_fails_when_a_failure_ends_the_run() {
        check_failing_access_provider_is_isolated(
            &Fake::broken(Break::StopsAtFailure),
            &[ap("a", &["db.s.t1"])],
            &failing(),
            &[ap("b", &["db.s.t2"])],
        )
        .await;
    }

    #[tokio::test]
    #[should_panic(expected = "has no error in its feedback")]
    async fn check_failing_access_provider_is_isolated_fails_when_a_failure_is_hidden() {
        check_failing_access_provider_is_isolated(
            &Fake::broken(Break::HidesFailure),
            &[ap("a", &["db.s.t1"])],
            &failing(),
            &[ap("b", &["db.s.t2"])],
        )
        .await;
    }

    #[tokio::test]
    #[should_panic(expected = "as an access provider Raito could take over")]
    async fn check_import_excludes_managed_fails_when_managed_roles_are_imported() {
        check_import_excludes_managed(&Fake::broken(Break::ImportsManaged), &export(), &["theirs"])
            .await;
    }
}
