//! Singer messages, parsed one line at a time with the line number in every error.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// One Singer message.
#[derive(Debug)]
pub enum Message<'a> {
    /// A stream's JSON schema.
    Schema {
        /// Stream name.
        stream: String,
        /// The JSON schema (has `properties`).
        schema: Value,
        /// The fields that identify a record, as the tap declares them (strings only).
        key_properties: Vec<String>,
    },
    /// One record, kept exactly as read.
    Record {
        /// Stream name.
        stream: Cow<'a, str>,
        /// The record's JSON text as it appeared in the input.
        record: Box<RawValue>,
        /// The line carries an `error`: it comes from a rejected-records file.
        replayed: bool,
    },
    /// A checkpoint to echo once everything before it is settled.
    State {
        /// The state value, echoed verbatim.
        value: Value,
    },
    /// `ACTIVATE_VERSION`: accepted and ignored.
    ActivateVersion {
        /// Stream name.
        stream: String,
    },
    /// A row of an export that cannot be read as a record (a ragged CSV row, a JSONL line
    /// that is not JSON): not a Singer message, rejected by itself as `INVALID_RECORD`.
    Unreadable {
        /// The stream the export's rows belong to.
        stream: String,
        /// The row as written.
        raw: String,
        /// Why it cannot be read.
        reason: String,
    },
    /// Any other message type: accepted and ignored.
    Other {
        /// The type as written.
        kind: String,
    },
}

impl Message<'_> {
    /// The message with nothing borrowed from its line.
    pub fn into_owned(self) -> Message<'static> {
        match self {
            Message::Record {
                stream,
                record,
                replayed,
            } => Message::Record {
                stream: Cow::Owned(stream.into_owned()),
                record,
                replayed,
            },
            Message::Schema {
                stream,
                schema,
                key_properties,
            } => Message::Schema {
                stream,
                schema,
                key_properties,
            },
            Message::State { value } => Message::State { value },
            Message::ActivateVersion { stream } => Message::ActivateVersion { stream },
            Message::Unreadable {
                stream,
                raw,
                reason,
            } => Message::Unreadable {
                stream,
                raw,
                reason,
            },
            Message::Other { kind } => Message::Other { kind },
        }
    }
}

/// A line that is not a valid Singer message: fatal.
#[derive(Debug, thiserror::Error)]
#[error("{line}: {reason}")]
pub struct InputError {
    /// Where it was read.
    pub line: crate::model::Line,
    /// What is wrong.
    pub reason: String,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<&'a RawValue>,
    #[serde(borrow)]
    stream: Option<&'a RawValue>,
    /// Kept even when it is `null`: a record that is not an object is rejected by itself,
    /// like `[1, 2]` is, rather than stopping the run.
    #[serde(default, deserialize_with = "raw_even_if_null")]
    record: Option<Box<RawValue>>,
    schema: Option<Value>,
    value: Option<Value>,
    key_properties: Option<Value>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

fn raw_even_if_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Box<RawValue>>, D::Error> {
    Box::<RawValue>::deserialize(d).map(Some)
}

/// Parses one input line. Blank lines give `None`. Message types match case-insensitively,
/// as the Singer spec allows.
pub fn parse_line(line: u64, text: &str) -> Result<Option<Message<'_>>, InputError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let fail = |reason: String| InputError {
        line: crate::model::Line::new(line),
        reason,
    };
    let env: Envelope = serde_json::from_str(text)
        .map_err(|e| fail(format!("malformed JSON {}", json_error(&e))))?;
    let kind = match env.kind.map(string) {
        Some(Some(k)) => k,
        Some(None) => return Err(fail("\"type\" is not a string".into())),
        None => return Err(fail("message has no \"type\"".into())),
    };
    let stream = |kind: &str| match env.stream.map(string) {
        Some(Some(s)) if !s.is_empty() => Ok(s),
        Some(_) => Err(fail(format!(
            "{kind} message has a \"stream\" that is not a non-empty string"
        ))),
        None => Err(fail(format!("{kind} message has no \"stream\""))),
    };
    let upper = |expected: &str| kind.eq_ignore_ascii_case(expected);
    Ok(Some(if upper("RECORD") {
        let stream = stream("RECORD")?;
        let record = env.record.ok_or_else(|| {
            fail(format!(
                "RECORD message for stream '{stream}' has no \"record\""
            ))
        })?;
        Message::Record {
            stream,
            record,
            replayed: env.error.is_some(),
        }
    } else if upper("SCHEMA") {
        let stream = stream("SCHEMA")?.into_owned();
        let schema = env.schema.ok_or_else(|| {
            fail(format!(
                "SCHEMA message for stream '{stream}' has no \"schema\""
            ))
        })?;
        if !schema.get("properties").is_some_and(Value::is_object) {
            return Err(fail(format!(
                "SCHEMA message for stream '{stream}' has no \"schema.properties\" object"
            )));
        }
        let key_properties = env
            .key_properties
            .as_ref()
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|k| k.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        Message::Schema {
            stream,
            schema,
            key_properties,
        }
    } else if upper("STATE") {
        Message::State {
            value: env
                .value
                .ok_or_else(|| fail("STATE message has no \"value\"".into()))?,
        }
    } else if upper("ACTIVATE_VERSION") {
        Message::ActivateVersion {
            stream: stream("ACTIVATE_VERSION")?.into_owned(),
        }
    } else {
        Message::Other {
            kind: kind.into_owned(),
        }
    }))
}

/// A JSON error as `at column 5: <what>`, without serde's "at line 1" (the line is the
/// input's own, named by the caller).
pub fn json_error(e: &serde_json::Error) -> String {
    let detail = e.to_string();
    let detail = detail.split(" at line ").next().unwrap_or(&detail);
    format!("at column {}: {detail}", e.column())
}

/// A JSON string's value, borrowed when it has no escapes; `None` when `raw` is not a string.
fn string(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) if !inner.contains('\\') => Some(Cow::Borrowed(inner)),
        Some(_) => serde_json::from_str::<String>(text).ok().map(Cow::Owned),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_keeps_its_text_exactly() {
        let line = r#"{"type":"RECORD","stream":"contacts","record":{"email" : "A@B.co",  "n":1.50},"version":3}"#;
        let Some(Message::Record { stream, record, .. }) = parse_line(1, line).unwrap() else {
            panic!()
        };
        assert_eq!(stream, "contacts");
        assert_eq!(record.get(), r#"{"email" : "A@B.co",  "n":1.50}"#);
    }

    #[test]
    fn escaped_type_and_stream_names_are_unescaped() {
        let line = r#"{"type":"REC\u004fRD","stream":"con\u0074acts","record":{}}"#;
        let Some(Message::Record { stream, .. }) = parse_line(1, line).unwrap() else {
            panic!()
        };
        assert_eq!(stream, "contacts");
        let err = parse_line(2, r#"{"type":"RECORD","stream":7,"record":{}}"#).unwrap_err();
        assert!(err.reason.contains("not a non-empty string"), "{err}");
    }

    #[test]
    fn fatal_lines_name_the_line_and_the_problem() {
        let cases = [
            ("{not json", "line 7: malformed JSON"),
            (
                r#"{"type":"RECORD","record":{}}"#,
                "line 7: RECORD message has no \"stream\"",
            ),
            (
                r#"{"type":"RECORD","stream":"s"}"#,
                "line 7: RECORD message for stream 's' has no \"record\"",
            ),
            (
                r#"{"type":"SCHEMA","stream":"s","schema":{}}"#,
                "line 7: SCHEMA message for stream 's' has no \"schema.properties\" object",
            ),
            (r#"{"stream":"s"}"#, "line 7: message has no \"type\""),
        ];
        for (line, expected) in cases {
            let err = parse_line(7, line).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{err}");
        }
    }

    #[test]
    fn blank_lines_lowercase_types_and_unknown_types_are_accepted() {
        assert!(parse_line(1, "  ").unwrap().is_none());
        assert!(matches!(
            parse_line(1, r#"{"type":"state","value":{}}"#).unwrap(),
            Some(Message::State { .. })
        ));
        assert!(matches!(
            parse_line(1, r#"{"type":"BATCH","stream":"s"}"#).unwrap(),
            Some(Message::Other { .. })
        ));
    }
}
