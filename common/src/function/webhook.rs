//! Raito's webhooks on the webhook receiver's URL: checked ([`crate::webhook`]), queued
//! for the step and target they are for ([`crate::pending`]), then recorded against replays,
//! and answered `202` before any sync runs (see `webhook::function_url::receive` for why in
//! this order). The queued trigger wakes the
//! function of its step (an EventBridge rule on `triggers/<step>/`, see template.yaml).

use std::time::SystemTime;

use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest;
use secrecy::SecretString;
use serde_json::json;

use super::{WebhookEnvironment, selection};
use crate::aws::secrets::secret_object;
use crate::config::Config;
use crate::step::Step;
use crate::sync::run;
use crate::trigger::Trigger;
use crate::webhook::{self, Rejection, Response, Verifier};

/// Answers one Function URL request. Never fails: every problem is an HTTP answer.
pub(super) async fn receive(
    env: &WebhookEnvironment,
    request: LambdaFunctionUrlRequest,
) -> Response {
    let verifier = match verifier(env).await {
        Ok(verifier) => verifier,
        Err(message) => {
            tracing::error!(error = %message, "webhook refused: no signing secret");
            return Response::rejected(&Rejection::Unavailable);
        }
    };
    let mut queued = Vec::new();
    let act = async |accepted: &webhook::function_url::Accepted| {
        let delivery = &accepted.delivery;
        let unavailable = |message: String| {
            tracing::error!(%delivery, error = %message, "webhook not queued");
            Response::rejected(&Rejection::Unavailable)
        };
        let config = env
            .load_config_for_routing()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let work = routes(&config, &accepted.trigger).map_err(|message| {
            // Well signed, but for nothing this bundle syncs: a retry would not help.
            tracing::warn!(%delivery, reason = %message, "webhook for no target");
            Response {
                status: 422,
                headers: Vec::new(),
                body: json!({"error": message}),
            }
        })?;
        for (step, target) in &work {
            env.pending
                .enqueue(*step, target, delivery, &accepted.body)
                .await
                .map_err(|e| unavailable(e.to_string()))?;
            queued.push(json!({"step": step.segment(), "target": target}));
        }
        tracing::info!(%delivery, queued = ?work, "webhook queued");
        Ok(())
    };
    let accepted = match webhook::function_url::receive(
        request,
        &verifier,
        &env.deliveries,
        SystemTime::now(),
        act,
    )
    .await
    {
        Ok(accepted) => accepted,
        Err(response) => return response,
    };
    Response {
        status: 202,
        headers: Vec::new(),
        body: json!({"status": "accepted", "delivery": accepted.delivery.as_str(), "queued": queued}),
    }
}

/// The signing secrets: `secret` and, during a rotation, `previous` of the JSON secret named
/// by `RAITO_WEBHOOK_SECRET_NAME` (cached by the secrets client for a few minutes).
async fn verifier(env: &WebhookEnvironment) -> Result<Verifier, String> {
    let name = env
        .webhook_secret
        .as_deref()
        .ok_or("RAITO_WEBHOOK_SECRET_NAME is not set")?;
    let object = secret_object(&env.secrets, name)
        .await
        .map_err(|e| e.to_string())?;
    let field = |key: &str| -> Result<Option<SecretString>, String> {
        match object.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(value)) if !value.is_empty() => {
                Ok(Some(SecretString::from(value.clone())))
            }
            Some(_) => Err(format!(
                "secret {name}: \"{key}\" must be a non-empty string"
            )),
        }
    };
    let current = field("secret")?.ok_or_else(|| format!("secret {name} has no \"secret\""))?;
    Ok(Verifier::new(current, field("previous")?))
}

/// The steps and targets a trigger asks for: an `apUpdate` is the access step of the targets
/// of its data sources; a `syncTrigger` is each step it names, for the targets of its data
/// source or identity store.
pub(super) fn routes(config: &Config, trigger: &Trigger) -> Result<Vec<(Step, String)>, String> {
    let steps: Vec<Step> = match trigger {
        Trigger::ApUpdate(_) => vec![Step::DataAccess],
        Trigger::SyncTrigger(t) => [
            (t.data_source_sync, Step::DataSource),
            (t.identity_store_sync, Step::IdentityStore),
            (t.access_sync, Step::DataAccess),
            (t.usage_sync, Step::DataUsage),
        ]
        .into_iter()
        .filter_map(|(asked, step)| asked.then_some(step))
        .collect(),
        Trigger::Schedule(_) => return Err("a schedule is not a webhook".into()),
    };
    if steps.is_empty() {
        return Err("this syncTrigger asks for no step".into());
    }
    let mut work = Vec::new();
    for step in steps {
        let selection = selection(step, trigger.clone()).map_err(|e| e.to_string())?;
        let targets = run::select(config, &selection).map_err(|e| e.to_string())?;
        work.extend(targets.into_iter().map(|t| (step, t.name.clone())));
    }
    Ok(work)
}
