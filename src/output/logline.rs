//! `--log-format json`: one JSON object per log line, shaped so that Meltano's log parser
//! shows our levels and messages as ours (the `structured-logging` capability).
//!
//! Each line carries the Python-logging names Meltano's parser reads (`levelname`, `name`,
//! `message`, `created`) and the Singer SDK's structured fields (`level`, `logger_name`, `ts`,
//! `pid`, `thread_name`, `app_name`, `stream_name`, `extra`). An event's other fields go in
//! `extra`; a `stream` field also fills `stream_name`.

use std::fmt;

use serde_json::{Map, Value, json};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The logger name every line carries.
pub const LOGGER_NAME: &str = "target_hubspot";

/// A level as Python's `logging` names it.
fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        Level::DEBUG | Level::TRACE => "DEBUG",
    }
}

/// One log line as JSON: `level` is a Python level name (`CRITICAL` allowed).
pub fn json_line(level: &str, message: &str, mut extra: Map<String, Value>) -> Value {
    let now = time::OffsetDateTime::now_utc();
    let created = now.unix_timestamp_nanos() as f64 / 1e9;
    let stream = extra.get("stream").cloned().unwrap_or(Value::Null);
    extra.remove("message");
    json!({
        "levelname": level,
        "level": level.to_lowercase(),
        "name": LOGGER_NAME,
        "logger_name": LOGGER_NAME,
        "message": message,
        "created": created,
        "ts": created,
        "asctime": now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "pid": std::process::id(),
        "thread_name": std::thread::current().name().unwrap_or("main"),
        "app_name": "target-hubspot",
        "stream_name": stream,
        "extra": extra,
    })
}

#[derive(Default)]
struct Fields {
    message: String,
    extra: Map<String, Value>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.extra
                .insert(field.name().to_string(), Value::String(text));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.extra.insert(field.name().to_string(), json!(value));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.extra.insert(field.name().to_string(), json!(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.extra.insert(field.name().to_string(), json!(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.extra.insert(field.name().to_string(), json!(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.extra.insert(field.name().to_string(), json!(value));
    }
}

/// The event formatter of `--log-format json`.
#[derive(Debug, Default, Clone, Copy)]
pub struct MeltanoJson;

impl<S, N> FormatEvent<S, N> for MeltanoJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let line = json_line(
            level_name(*event.metadata().level()),
            &fields.message,
            fields.extra,
        );
        writeln!(writer, "{line}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_has_what_meltanos_parser_reads() {
        let mut extra = Map::new();
        extra.insert("stream".into(), json!("contacts"));
        let line = json_line("WARNING", "hello", extra);
        for key in [
            "levelname",
            "message",
            "name",
            "created",
            "level",
            "pid",
            "logger_name",
            "ts",
            "thread_name",
            "app_name",
            "stream_name",
            "extra",
        ] {
            assert!(line.get(key).is_some(), "{key}: {line}");
        }
        assert_eq!(line["stream_name"], "contacts");
        assert_eq!(line["extra"]["stream"], "contacts");
    }
}
