//! Singer messages, parsed one line at a time with the line number in every error.

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// One Singer message.
#[derive(Debug)]
pub enum Message {
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
        stream: String,
        /// The record's JSON text as it appeared in the input.
        record: Box<RawValue>,
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
    /// Any other message type: accepted and ignored.
    Other {
        /// The type as written.
        kind: String,
    },
}

/// A line that is not a valid Singer message: fatal.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct InputError {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong.
    pub reason: String,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: Option<Value>,
    stream: Option<Value>,
    record: Option<Box<RawValue>>,
    schema: Option<Value>,
    value: Option<Value>,
    key_properties: Option<Value>,
}

/// Parses one input line. Blank lines give `None`. Message types match case-insensitively,
/// as the Singer spec allows.
pub fn parse_line(line: u64, text: &str) -> Result<Option<Message>, InputError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let fail = |reason: String| InputError { line, reason };
    let env: Envelope = serde_json::from_str(text).map_err(|e| {
        let detail = e.to_string();
        let detail = detail
            .split(" at line ")
            .next()
            .unwrap_or(&detail)
            .to_string();
        fail(format!("malformed JSON at column {}: {detail}", e.column()))
    })?;
    let kind = match env.kind {
        Some(Value::String(k)) => k,
        Some(_) => return Err(fail("\"type\" is not a string".into())),
        None => return Err(fail("message has no \"type\"".into())),
    };
    let stream = |kind: &str| match &env.stream {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(_) => Err(fail(format!(
            "{kind} message has a \"stream\" that is not a non-empty string"
        ))),
        None => Err(fail(format!("{kind} message has no \"stream\""))),
    };
    Ok(Some(match kind.to_ascii_uppercase().as_str() {
        "RECORD" => {
            let stream = stream("RECORD")?;
            let record = env.record.ok_or_else(|| {
                fail(format!(
                    "RECORD message for stream '{stream}' has no \"record\""
                ))
            })?;
            Message::Record { stream, record }
        }
        "SCHEMA" => {
            let stream = stream("SCHEMA")?;
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
        }
        "STATE" => Message::State {
            value: env
                .value
                .ok_or_else(|| fail("STATE message has no \"value\"".into()))?,
        },
        "ACTIVATE_VERSION" => Message::ActivateVersion {
            stream: stream("ACTIVATE_VERSION")?,
        },
        _ => Message::Other { kind },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_keeps_its_text_exactly() {
        let line = r#"{"type":"RECORD","stream":"contacts","record":{"email" : "A@B.co",  "n":1.50},"version":3}"#;
        let Some(Message::Record { stream, record }) = parse_line(1, line).unwrap() else {
            panic!()
        };
        assert_eq!(stream, "contacts");
        assert_eq!(record.get(), r#"{"email" : "A@B.co",  "n":1.50}"#);
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
