//! The identity store step: users and groups streamed into two JSON arrays. A file appears
//! under its final name only once complete, and neither does when the sync fails.

use std::time::Instant;

use tracing::Instrument;

use super::{Error, Outcome, Report};
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
        let skip = if target.skip_identity_store_sync {
            Some("the target sets skip-identity-store-sync".to_owned())
        } else if connector.identity_store().is_none() {
            Some(format!(
                "the {} connector has no identity store sync",
                connector.name()
            ))
        } else {
            None
        };
        let Some(sync) = connector.identity_store().filter(|_| skip.is_none()) else {
            users.abort().await;
            groups.abort().await;
            let reason = skip.unwrap_or_default();
            tracing::info!(reason, "identity store sync skipped");
            return Ok(Outcome::Skipped { reason });
        };

        let started = Instant::now();
        let output_error = |source| Error::Output {
            target: target.name.clone(),
            step: Step::IdentityStore,
            source,
        };
        let mut user_writer = JsonArrayWriter::new(users);
        let mut group_writer = JsonArrayWriter::new(groups);
        let result = {
            let mut user_sink = CountingSink::new(&mut user_writer, |_: &User| "user");
            let mut group_sink = CountingSink::new(&mut group_writer, |_: &Group| "group");
            let tags = &target.settings.tags;
            let mut machines = super::post::Changing::new(&mut user_sink, |user: &mut User| {
                super::post::user(user, tags)
            });
            let result = sync.sync_identities(&mut machines, &mut group_sink).await;
            result.map(|()| {
                let mut counts = user_sink.into_counts();
                counts.extend(group_sink.into_counts());
                counts
            })
        };
        let counts = match result {
            Ok(counts) => counts,
            Err(source) => {
                user_writer.abort().await;
                group_writer.abort().await;
                let error = Error::connector(&target.name, Step::IdentityStore, source);
                tracing::error!(%error, "identity store sync failed; nothing was written");
                return Err(error);
            }
        };
        let users = match user_writer.finish().await {
            Ok(users) => users,
            Err(source) => {
                group_writer.abort().await;
                return Err(output_error(source));
            }
        };
        let groups = group_writer.finish().await.map_err(output_error)?;
        let elapsed = started.elapsed();
        tracing::info!(
            users = users.elements,
            groups = groups.elements,
            elapsed_ms = elapsed.as_millis() as u64,
            "identity store sync completed"
        );
        Ok(Outcome::Completed(Report {
            written: vec![users, groups],
            counts,
            elapsed,
        }))
    }
    .instrument(span)
    .await
}
