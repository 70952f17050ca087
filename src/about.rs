//! `--about`: name, version, capabilities and every setting (secrets flagged, never valued).

use serde_json::{Map, Value, json};

use crate::config::{SETTINGS, SettingKind};

/// Capabilities in Meltano's vocabulary: `--about`, and `--log-format json` lines that
/// Meltano's parser reads (see [`crate::output::logline`]).
pub const CAPABILITIES: &[&str] = &["about", "structured-logging"];

fn json_type(kind: SettingKind) -> &'static str {
    match kind {
        SettingKind::String => "string",
        SettingKind::Integer => "integer",
        SettingKind::Number => "number",
        SettingKind::Boolean => "boolean",
        SettingKind::Object => "object",
    }
}

/// The `--about --format json` document, shaped like the Meltano SDK's.
pub fn json() -> Value {
    let mut properties = Map::new();
    for s in SETTINGS {
        let mut p = json!({"type": [json_type(s.kind), "null"], "description": s.description});
        if let Some(default) = s
            .default
            .and_then(|d| serde_json::from_str::<Value>(d).ok())
        {
            p["default"] = default;
        }
        if s.name == "streams" {
            p = streams_schema();
            p["description"] = json!(s.description);
            p["default"] = json!({});
        }
        if s.secret {
            p["secret"] = json!(true);
            p["writeOnly"] = json!(true);
        }
        properties.insert(s.name.to_string(), p);
    }
    json!({
        "name": "target-hubspot",
        "description": env!("CARGO_PKG_DESCRIPTION"),
        "version": env!("CARGO_PKG_VERSION"),
        "sdk_version": null,
        "capabilities": CAPABILITIES,
        "settings": {"type": "object", "properties": properties},
    })
}

/// The `--about --format markdown` document.
pub fn markdown() -> String {
    let mut out = format!(
        "# target-hubspot {}\n\n{}\n\nCapabilities: {}\n\n| Setting | Type | Default | Secret | Description |\n|---|---|---|---|---|\n",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_DESCRIPTION"),
        CAPABILITIES.join(", ")
    );
    for s in SETTINGS {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            s.name,
            json_type(s.kind),
            s.default
                .map(|d| format!("`{d}`"))
                .unwrap_or_else(|| "—".into()),
            if s.secret { "yes" } else { "no" },
            s.description.replace('|', "\\|")
        ));
    }
    out
}

/// The JSON schema of the `streams` setting: stream name → how it maps to HubSpot.
pub fn streams_schema() -> Value {
    let text = |d: &str| json!({"type": "string", "description": d});
    let one_of =
        |values: &[&str], d: &str| json!({"type": "string", "enum": values, "description": d});
    json!({
        "type": ["object", "null"],
        "additionalProperties": {
            "type": "object",
            "additionalProperties": false,
            "required": ["object_type"],
            "properties": {
                "object_type": text("HubSpot object type: contacts, companies, deals, …, a type id (0-2, 2-1234) or a custom object's fully qualified name."),
                "id_property": text("The property that identifies records: email on contacts (the default there), else a unique-value property."),
                "match_property": text("Instead of id_property: a property without unique values to match records by through search (domain on companies: normalised); one match is updated, none created, several rejected as AMBIGUOUS_MATCH."),
                "id_field": text("Instead of id_property: the record field holding HubSpot's record id; records are updated by id, unknown ids rejected as OBJECT_NOT_FOUND."),
                "properties": {
                    "type": "object",
                    "additionalProperties": {"type": ["string", "null"]},
                    "description": "Record field → HubSpot property; null drops the field."
                },
                "drop": {"type": "array", "items": {"type": "string"}, "description": "Record fields never sent."},
                "write_mode": one_of(&["upsert", "update_only", "create_only"], "upsert (default) creates or updates; update_only updates existing records only (NOT_FOUND otherwise); create_only creates records (with id_property, records whose key exists are SKIPPED; without, every record is created)."),
                "hard_delete": {"type": "boolean", "description": "Records whose _sdc_deleted_at is set archive the matching HubSpot record (no match: SKIPPED); off by default, when they are written like others."},
                "on_removed": one_of(&["ignore", "clear", "archive"], "With a ledger: HubSpot records whose key the ledger holds but a complete run did not read: ignore (default), clear (mapped properties set to \"\") or archive; max_removed_rate limits how many."),
                "unknown_fields": one_of(&["ignore", "reject", "create"], "Fields that match no property; the top-level setting when unset."),
                "blank_values": one_of(&["skip", "clear"], "null and blank strings; the top-level setting when unset."),
                "load_method": one_of(&["batch", "import"], "batch (batch writes) or import (CSV files through HubSpot's Imports API); the top-level setting when unset."),
                "truncate_dates": {"type": "boolean", "description": "Keep the date of a timestamp with a time of day sent to a date property; the top-level setting when unset."},
                "associations": {
                    "type": "array",
                    "description": "Associations made from record fields.",
                    "items": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["field", "to_object_type"],
                        "properties": {
                            "field": text("The record field holding the other record's key; not sent as a property."),
                            "to_object_type": text("The other record's object type."),
                            "to_id_property": text("The property the field matches on the other type; hs_object_id (record ids) by default."),
                            "type_id": {"type": "integer", "description": "An association type id; HubSpot's default association when unset (and no label)."},
                            "category": one_of(&["HUBSPOT_DEFINED", "USER_DEFINED"], "The category of type_id; HUBSPOT_DEFINED by default."),
                            "label": text("Instead of type_id: an association label, resolved through HubSpot's labels API at startup.")
                        }
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StreamConfig;

    /// A value of every property the schema lists: the config parser must accept each one.
    fn example(schema: &Value) -> Value {
        if let Some(values) = schema["enum"].as_array() {
            return values[values.len() - 1].clone();
        }
        let kind = match &schema["type"] {
            Value::Array(t) => t[0].as_str().unwrap_or_default().to_string(),
            t => t.as_str().unwrap_or_default().to_string(),
        };
        match kind.as_str() {
            "string" => json!("x"),
            "integer" => json!(1),
            "boolean" => json!(true),
            "array" => json!([example(&schema["items"])]),
            "object" => match schema["properties"].as_object() {
                Some(props) => {
                    Value::Object(props.iter().map(|(k, v)| (k.clone(), example(v))).collect())
                }
                None => json!({"a": "b"}),
            },
            _ => Value::Null,
        }
    }

    #[test]
    fn the_streams_schema_lists_exactly_what_the_config_parser_takes() {
        let schema = streams_schema();
        let stream = example(&schema["additionalProperties"]);
        let parsed: StreamConfig =
            serde_json::from_value(stream.clone()).expect("every listed setting parses");
        assert_eq!(parsed.write_mode, crate::config::WriteMode::CreateOnly);
        let mut listed: Vec<String> = schema["additionalProperties"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        listed.sort();
        let mut extra = stream;
        extra["not_a_setting"] = json!(1);
        // serde's refusal of an unknown setting names every setting the parser takes.
        let refusal = serde_json::from_value::<StreamConfig>(extra)
            .expect_err("unknown settings are refused")
            .to_string();
        let mut parsed_names: Vec<String> = refusal
            .split("expected one of ")
            .nth(1)
            .unwrap_or_default()
            .split(", ")
            .map(|n| n.trim_matches('`').to_string())
            .collect();
        parsed_names.sort();
        assert_eq!(
            listed, parsed_names,
            "the schema lists exactly the stream settings the parser takes"
        );
        assert_eq!(
            json()["settings"]["properties"]["streams"]["additionalProperties"],
            schema["additionalProperties"]
        );
    }
}
