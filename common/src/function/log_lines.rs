//! The functions' log lines: one flat JSON object per line, `level` and `message` first, then
//! the fields of every span the event is in, outermost first, then the event's own fields (a
//! field of an inner span, or of the event, replaces an outer one of the same name).
//!
//! So the fields of the spans around a piece of work are on every line it logs, at the top
//! level where CloudWatch Logs Insights finds them: `step` from the function's span (`serve`,
//! `serve_webhooks`), `requestId` from the Lambda runtime's span of each invocation, `target`
//! from the span of a target's run ([`crate::sync::run::run`]). tracing-subscriber's own JSON
//! format gives only the innermost span's fields, or nests all of them in a list.

use std::fmt;

use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The event format of [`super::init_logging`]; spans keep their fields as JSON
/// ([`JsonFields`]), which it reads back.
pub(super) struct FlatJson;

impl<S> FormatEvent<S, JsonFields> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = Line::default();
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<FormattedFields<JsonFields>>() else {
                    continue;
                };
                if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(fields) {
                    for (name, value) in fields {
                        line.set(name, value);
                    }
                }
            }
        }
        event.record(&mut line);
        let mut text = String::from("{");
        // Written by hand, to keep the order whatever serde_json's map does.
        let level = Value::from(event.metadata().level().to_string());
        let first = [("level".to_owned(), level)]
            .into_iter()
            .chain(line.message.map(|m| ("message".to_owned(), m)));
        for (i, (name, value)) in first.chain(line.fields).enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&Value::from(name.as_str()).to_string());
            text.push(':');
            text.push_str(&value.to_string());
        }
        text.push('}');
        writeln!(writer, "{text}")
    }
}

/// One line's fields as they are recorded.
#[derive(Default)]
struct Line {
    message: Option<Value>,
    /// In order of first appearance; a later value of the same name replaces the earlier.
    fields: Vec<(String, Value)>,
}

impl Line {
    fn set(&mut self, name: String, value: Value) {
        if name == "message" {
            self.message = Some(value);
        } else if name == "level" {
            // The event's level is written first; a field of that name would be a second key.
        } else if let Some(slot) = self.fields.iter_mut().find(|(n, _)| *n == name) {
            slot.1 = value;
        } else {
            self.fields.push((name, value));
        }
    }

    fn record(&mut self, field: &Field, value: Value) {
        let name = field.name();
        // tracing-log's fields of a `log` record: its metadata, not part of the message.
        if name.starts_with("log.") {
            return;
        }
        self.set(name.strip_prefix("r#").unwrap_or(name).to_owned(), value);
    }
}

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record(field, Value::from(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.record(field, Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.record(field, Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.record(field, Value::from(value));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    /// What the subscriber writes, kept.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;

        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    #[test]
    fn a_line_carries_the_fields_of_every_span_it_is_in_at_the_top_level() {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(JsonFields::new())
            .event_format(FlatJson)
            .with_writer(buffer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let function = tracing::info_span!("function", step = "data-source");
            let _function = function.enter();
            tracing::info!("before any target");
            let target = tracing::info_span!("target", target = "warehouse");
            let _target = target.enter();
            let step = tracing::info_span!("step", step = "data-access-import", r#type = "x");
            let _step = step.enter();
            tracing::warn!(
                count = 3,
                ok = true,
                target = "its own",
                what = ?vec![1],
                "a \"quoted\" message"
            );
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            [
                r#"{"level":"INFO","message":"before any target","step":"data-source"}"#,
                // Inner spans and the event replace a field of the same name in place.
                r#"{"level":"WARN","message":"a \"quoted\" message","step":"data-access-import","target":"its own","type":"x","count":3,"ok":true,"what":"[1]"}"#,
            ]
        );
    }
}
