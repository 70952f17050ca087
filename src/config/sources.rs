//! Where settings come from besides a config file's JSON: files read as objects, the
//! environment (`TARGET_HUBSPOT_<SETTING>`, Meltano's flattened keys nested again), and
//! numbers or booleans written as strings.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::{ConfigError, SETTINGS, SettingDoc, SettingKind};

/// The environment variable of a setting.
pub fn env_var(setting: &str) -> String {
    format!("TARGET_HUBSPOT_{}", setting.to_ascii_uppercase())
}

pub(super) fn read_object(path: &Path) -> Result<Map<String, Value>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.into(),
        source,
    })?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ConfigError::NotAnObject {
            path: path.into(),
            reason: "the root is not an object".into(),
        }),
        Err(e) => Err(ConfigError::NotAnObject {
            path: path.into(),
            reason: e.to_string(),
        }),
    }
}

/// The settings the environment holds. Each is `TARGET_HUBSPOT_<SETTING>`; object settings are
/// JSON text, whose dotted keys (Meltano's flattened form, `{"customers.object_type": …}`)
/// are nested again. Other `TARGET_HUBSPOT_…` variables, such as Meltano's flattened
/// `TARGET_HUBSPOT_STREAMS_CUSTOMERS_OBJECT_TYPE`, are ignored.
pub(super) fn env_settings(
    env: &BTreeMap<String, String>,
) -> Result<Map<String, Value>, ConfigError> {
    let mut found = Map::new();
    for doc in SETTINGS {
        let var = env_var(doc.name);
        if let Some(text) = env.get(&var) {
            found.insert(doc.name.to_string(), env_value(doc, &var, text)?);
        }
    }
    Ok(found)
}

/// `{"a.b": 1, "a.c": 2}` → `{"a": {"b": 1, "c": 2}}`, recursively; plain keys are kept.
fn unflatten(object: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in object {
        let value = match value {
            Value::Object(inner) => Value::Object(unflatten(inner)),
            other => other,
        };
        let parts: Vec<&str> = key.split('.').collect();
        insert_path(&mut out, &parts, value);
    }
    out
}

/// Puts `value` at `path` inside `map`, merging objects that meet there.
fn insert_path(map: &mut Map<String, Value>, path: &[&str], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        match (map.get_mut(*first), value) {
            (Some(Value::Object(existing)), Value::Object(add)) => existing.extend(add),
            (_, value) => {
                map.insert((*first).to_string(), value);
            }
        }
        return;
    }
    let entry = map
        .entry((*first).to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Value::Object(next) = entry {
        insert_path(next, rest, value);
    }
}

/// Number and boolean settings written as JSON strings (`"0.9"`, `"true"`), as `meltano config
/// set` writes settings it has no kind for, read as the numbers and booleans they spell.
pub(super) fn numbers_from_strings(config: &mut Value) -> Result<(), ConfigError> {
    let Value::Object(map) = config else {
        return Ok(());
    };
    for doc in SETTINGS {
        if !matches!(
            doc.kind,
            SettingKind::Integer | SettingKind::Number | SettingKind::Boolean
        ) {
            continue;
        }
        if let Some(Value::String(text)) = map.get(doc.name) {
            let parsed = env_value(doc, doc.name, text).map_err(|_| {
                ConfigError::Invalid(format!(
                    "{}: \"{text}\" is not {}",
                    doc.name,
                    match doc.kind {
                        SettingKind::Boolean => "true or false",
                        SettingKind::Integer => "a whole number",
                        _ => "a number",
                    }
                ))
            })?;
            map.insert(doc.name.to_string(), parsed);
        }
    }
    Ok(())
}

fn env_value(doc: &SettingDoc, var: &str, text: &str) -> Result<Value, ConfigError> {
    let err = |reason: &str| ConfigError::Env {
        var: var.to_string(),
        reason: reason.to_string(),
    };
    Ok(match doc.kind {
        SettingKind::String => Value::String(text.to_string()),
        SettingKind::Integer => Value::from(
            text.trim()
                .parse::<u64>()
                .map_err(|_| err("expected a whole number"))?,
        ),
        SettingKind::Number => Value::from(
            text.trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| err("expected a number"))?,
        ),
        SettingKind::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Value::Bool(true),
            "false" | "0" | "no" => Value::Bool(false),
            _ => return Err(err("expected true or false")),
        },
        SettingKind::Object => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => Value::Object(unflatten(m)),
            _ => return Err(err("expected a JSON object")),
        },
    })
}
