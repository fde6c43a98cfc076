//! The identity store step: users and groups streamed into two JSON arrays. A file appears
//! under its final name only once complete, and neither does when the sync fails.

use tracing::Instrument;

use super::staged::{self, Staged};
use super::{Error, Outcome};
use crate::config::Target;
use crate::connector::{Connector, CountingSink};
use crate::model::identity::{Group, User};
use crate::output::{Destination, JsonArrayWriter};
use crate::step::Step;

/// Runs the identity store sync of `target`, users into `users` and groups into `groups`.
pub async fn run(
    connector: &dyn Connector,
    target: &Target,
    users: Destination,
    groups: Destination,
) -> Result<Outcome, Error> {
    let span = tracing::info_span!("step", target = %target.name, step = "identity-store");
    async move {
        let what = Step::IdentityStore.to_string();
        if target.skip_identity_store_sync {
            let reason = "the target sets skip-identity-store-sync".to_owned();
            return Ok(staged::skipped(&what, [users, groups], reason).await);
        }
        let Some(sync) = connector.identity_store() else {
            let reason = format!(
                "the {} connector has no identity store sync",
                connector.name()
            );
            return Ok(staged::skipped(&what, [users, groups], reason).await);
        };

        let staged = Staged::start(target, Step::IdentityStore);
        let mut user_writer = JsonArrayWriter::new(users);
        let mut group_writer = JsonArrayWriter::new(groups);
        let mut user_sink = CountingSink::new(&mut user_writer, |_: &User| "user");
        let mut group_sink = CountingSink::new(&mut group_writer, |_: &Group| "group");
        let tags = &target.settings.tags;
        let mut machines = super::post::Changing::new(&mut user_sink, |user: &mut User| {
            super::post::user(user, tags)
        });
        let result = sync
            .sync_identities(&mut machines, &mut group_sink)
            .await
            .map_err(|source| Error::connector(&target.name, Step::IdentityStore, source));
        let mut counts = user_sink.into_counts();
        counts.extend(group_sink.into_counts());
        let report = staged
            .end([user_writer, group_writer], counts, result)
            .await?;
        Ok(Outcome::Completed(report))
    }
    .instrument(span)
    .await
}
