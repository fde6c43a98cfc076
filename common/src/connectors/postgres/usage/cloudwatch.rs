//! The `cloudwatch` source: the PostgreSQL log that Amazon RDS or Aurora exports to a
//! CloudWatch Logs log group, read with `FilterLogEvents` page by page (a page may be empty
//! and still carry a `nextToken`: the loop ends only when there is none). Each event is one
//! log entry in RDS's stderr format, continuation lines included.

use aws_sdk_cloudwatchlogs::error::{DisplayErrorContext, ProvideErrorMetadata};

use super::parse;
use super::{Emitter, Flow};
use crate::connector::Error;
use crate::connectors::postgres::NAME;

pub(super) async fn read(emitter: &mut Emitter<'_>, now_s: i64) -> Result<(), Error> {
    let config = emitter.config;
    let group = config
        .usage
        .cloudwatch_log_group
        .clone()
        .unwrap_or_default();
    let aws = crate::aws::load_config().await;
    let client = crate::aws::cloudwatch_logs_client(&aws);
    let from_ms = emitter.read_from_ms().max(0);
    let horizon_ms = (now_s - i64::from(config.usage.settle_seconds)) * 1000;
    if horizon_ms <= from_ms {
        return Ok(());
    }
    tracing::info!(log_group = %group, from_ms, horizon_ms, "reading CloudWatch Logs");
    let mut token: Option<String> = None;
    let mut pages = 0u64;
    loop {
        crate::metrics::sent(0, 1);
        let page = client
            .filter_log_events()
            .log_group_name(&group)
            .start_time(from_ms)
            .end_time(horizon_ms - 1)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|error| {
                let operation = format!("reading log group {group:?} with FilterLogEvents");
                let source = DisplayErrorContext(&error).to_string().into();
                match error.code() {
                    Some("AccessDeniedException") => Error::PermissionDenied {
                        connector: NAME,
                        operation: format!("{operation} (grant logs:FilterLogEvents on it)"),
                        source,
                    },
                    Some("ResourceNotFoundException") => Error::Operation {
                        connector: NAME,
                        operation: format!(
                            "{operation} (no such log group: check pg-usage-cloudwatch-log-group and that the instance exports its postgresql log)"
                        ),
                        source,
                    },
                    _ => Error::Operation {
                        connector: NAME,
                        operation,
                        source,
                    },
                }
            })?;
        pages += 1;
        for event in page.events() {
            let (Some(message), Some(stream)) = (event.message(), event.log_stream_name()) else {
                continue;
            };
            let event_id = event.event_id().unwrap_or_default();
            let timestamp = event.timestamp().unwrap_or_default();
            let record = parse::rds_stderr(message, stream, event_id, timestamp);
            if emitter.offer(record, from_ms, horizon_ms).await? == Flow::Stop {
                return Ok(());
            }
        }
        if emitter.between_reads() == Flow::Stop {
            return Ok(());
        }
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => break,
        }
    }
    tracing::debug!(pages, "read CloudWatch Logs");
    Ok(())
}
