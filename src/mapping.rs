//! Record → HubSpot input: the key that identifies it and its properties as strings.

use std::collections::{BTreeMap, HashSet};

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::rejection::Rejection;

/// How one stream's records become upsert inputs.
#[derive(Debug, Clone)]
pub struct StreamMapping {
    /// Object type as HubSpot's URLs name it.
    pub object_type: String,
    /// The identifying property (`email` on contacts, else a unique-value property).
    pub id_property: String,
    /// Multi-checkbox properties: a JSON array of options is joined with `;`.
    pub multi_checkbox: HashSet<String>,
}

/// A record ready to batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// The normalised identifying value (emails trimmed and lowercased).
    pub key: String,
    /// Property values as strings; `null` fields left out.
    pub properties: BTreeMap<String, String>,
}

impl StreamMapping {
    /// Whether keys are emails (trimmed and lowercased before matching).
    fn keys_are_emails(&self) -> bool {
        self.id_property == "email"
    }

    /// Maps one record. A record that is not an object or has no usable key is rejected.
    pub fn map(&self, raw: &RawValue) -> Result<Mapped, Rejection> {
        let record: Map<String, Value> = serde_json::from_str(raw.get()).map_err(|_| {
            Rejection::local("INVALID_RECORD", "the record is not a JSON object", None)
        })?;
        let key = self.key(record.get(&self.id_property))?;
        let mut properties = BTreeMap::new();
        for (name, value) in record {
            if name.starts_with("_sdc_") {
                continue;
            }
            if let Some(text) = self.to_text(&name, value) {
                properties.insert(name, text);
            }
        }
        properties.insert(self.id_property.clone(), key.clone());
        Ok(Mapped { key, properties })
    }

    fn key(&self, value: Option<&Value>) -> Result<String, Rejection> {
        let missing = |why: &str| {
            Rejection::local(
                "MISSING_KEY",
                format!(
                    "the record has {why} for id_property \"{}\", so it cannot be matched",
                    self.id_property
                ),
                Some(&self.id_property),
            )
        };
        let text = match value {
            None | Some(Value::Null) => return Err(missing("no value")),
            Some(Value::String(s)) => s.trim().to_string(),
            Some(Value::Number(n)) if !self.keys_are_emails() => n.to_string(),
            Some(_) => return Err(missing("a value that is not a string")),
        };
        if text.is_empty() {
            return Err(missing("an empty value"));
        }
        Ok(if self.keys_are_emails() {
            text.to_lowercase()
        } else {
            text
        })
    }

    /// A value as HubSpot wants it: always a string. Booleans `true`/`false`, numbers as
    /// written, arrays of strings on multi-checkboxes joined by `;`, other arrays and objects as
    /// JSON text. `null` is left out (HubSpot ignores it; `""` is what clears a value).
    fn to_text(&self, name: &str, value: Value) -> Option<String> {
        Some(match value {
            Value::Null => return None,
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::String(s) => s,
            Value::Array(items)
                if self.multi_checkbox.contains(name) && items.iter().all(Value::is_string) =>
            {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(";")
            }
            other => other.to_string(),
        })
    }
}

/// The property a misspelt `name` most likely meant, e.g. `first_name` → `firstname`.
pub fn closest_property<'a>(
    name: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let plain = |s: &str| {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let wanted = plain(name);
    known
        .into_iter()
        .map(|k| (strsim::normalized_levenshtein(&wanted, &plain(k)), k))
        .filter(|(score, _)| *score >= 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contacts() -> StreamMapping {
        StreamMapping {
            object_type: "contacts".into(),
            id_property: "email".into(),
            multi_checkbox: ["hs_buying_role".to_string()].into(),
        }
    }

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).unwrap()
    }

    #[test]
    fn values_become_strings_and_the_email_key_is_normalised() {
        let m = contacts()
            .map(&raw(r#"{"email":"  Ann@Example.COM ","age":41,"vip":true,"note":null,"tags":["a"],"hs_buying_role":["CHAMPION","END_USER"],"addr":{"city":"Oslo"},"_sdc_batched_at":"x"}"#))
            .unwrap();
        assert_eq!(m.key, "ann@example.com");
        let expected: BTreeMap<String, String> = [
            ("addr", r#"{"city":"Oslo"}"#),
            ("age", "41"),
            ("email", "ann@example.com"),
            ("hs_buying_role", "CHAMPION;END_USER"),
            ("tags", r#"["a"]"#),
            ("vip", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(m.properties, expected);
    }

    #[test]
    fn records_without_a_usable_key_are_rejected_with_the_property_named() {
        for record in [
            r#"{"firstname":"x"}"#,
            r#"{"email":null}"#,
            r#"{"email":"  "}"#,
            r#"{"email":5}"#,
            "[1]",
        ] {
            let err = contacts().map(&raw(record)).unwrap_err();
            assert!(
                ["MISSING_KEY", "INVALID_RECORD"].contains(&err.category.as_str()),
                "{record}: {err:?}"
            );
        }
        let err = contacts().map(&raw(r#"{"firstname":"x"}"#)).unwrap_err();
        assert_eq!(
            err.message,
            "the record has no value for id_property \"email\", so it cannot be matched"
        );
    }

    #[test]
    fn misspelt_properties_get_a_suggestion_and_strangers_none() {
        let known = ["firstname", "lastname", "email", "lifecyclestage"];
        assert_eq!(closest_property("first_name", known), Some("firstname"));
        assert_eq!(
            closest_property("LifeCycle Stage", known),
            Some("lifecyclestage")
        );
        assert_eq!(closest_property("favourite_colour", known), None);
    }

    #[test]
    fn numeric_keys_are_allowed_for_unique_value_properties() {
        let m = StreamMapping {
            object_type: "companies".into(),
            id_property: "external_id".into(),
            multi_checkbox: HashSet::new(),
        };
        assert_eq!(m.map(&raw(r#"{"external_id": 42}"#)).unwrap().key, "42");
    }
}
