//! Record → HubSpot input: the key that identifies it and its properties as strings.

use std::collections::{BTreeMap, HashMap};

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::config::{AssociationConfig, StreamConfig, WriteMode, is_contacts};
use crate::error::FatalError;
use crate::hubspot::wire::PropertyInfo;
use crate::rejection::Rejection;

/// How one stream's records become upsert inputs.
#[derive(Debug, Clone)]
pub struct StreamMapping {
    /// Object type as HubSpot's URLs name it.
    pub object_type: String,
    /// The identifying property (`email` on contacts, else a unique-value property).
    pub id_property: String,
    /// Properties whose values are reshaped for HubSpot, by name.
    pub value_kinds: HashMap<String, ValueKind>,
    /// Record field → HubSpot property; `None` drops the field.
    pub renames: HashMap<String, Option<String>>,
    /// Associations made from record fields, in configuration order.
    pub associations: Vec<AssociationConfig>,
    /// Whether records may be created.
    pub write_mode: WriteMode,
}

/// Property types whose values the target reshapes before sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// `date`: a timestamp at midnight UTC is sent as `YYYY-MM-DD`.
    Date,
    /// `datetime`: any ISO-8601 timestamp (any offset or precision) is sent as epoch ms.
    DateTime,
    /// Multi-checkbox enumeration: a JSON array of options is joined with `;`.
    MultiCheckbox,
}

impl ValueKind {
    /// The kind of a property as `GET /crm/v3/properties` describes it, if it is reshaped.
    pub fn of(kind: &str, field_type: &str) -> Option<Self> {
        match (kind, field_type) {
            ("date", _) => Some(Self::Date),
            ("datetime", _) => Some(Self::DateTime),
            ("enumeration", "checkbox") => Some(Self::MultiCheckbox),
            _ => None,
        }
    }
}

/// A timestamp as taps write them: RFC 3339, with a space for `T`, or without an offset
/// (taken as UTC).
fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let spaced = s
        .get(..10)
        .zip(s.get(11..))
        .filter(|_| s.as_bytes().get(10) == Some(&b' '));
    if let Some((date, rest)) = spaced
        && let Ok(t) = OffsetDateTime::parse(&format!("{date}T{rest}"), &Rfc3339)
    {
        return Some(t);
    }
    let naive = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    PrimitiveDateTime::parse(&s.replacen(' ', "T", 1), &naive)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// A `date` value: `YYYY-MM-DD` as is; a timestamp at midnight UTC as its date; anything else
/// untouched, for HubSpot to judge (and name) it.
fn date_text(s: String) -> String {
    let iso_date = format_description!("[year]-[month]-[day]");
    if Date::parse(&s, &iso_date).is_ok() {
        return s;
    }
    match parse_timestamp(&s).map(|t| t.to_offset(time::UtcOffset::UTC)) {
        Some(t) if t.time() == time::Time::MIDNIGHT => t.date().format(&iso_date).unwrap_or(s),
        _ => s,
    }
}

/// A `datetime` value: any timestamp or date as epoch milliseconds; anything else untouched.
fn datetime_text(s: String) -> String {
    let iso_date = format_description!("[year]-[month]-[day]");
    let instant = parse_timestamp(&s).or_else(|| {
        Date::parse(&s, &iso_date)
            .ok()
            .map(|d| d.midnight().assume_utc())
    });
    match instant {
        Some(t) => (t.unix_timestamp_nanos() / 1_000_000).to_string(),
        None => s,
    }
}

/// A record ready to batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// The normalised identifying value (emails trimmed and lowercased).
    pub key: String,
    /// Property values as strings; `null` fields left out.
    pub properties: BTreeMap<String, String>,
    /// `(association index, key of the other record)` for each association the record asks for.
    pub links: Vec<(usize, String)>,
}

impl StreamMapping {
    /// Checks a stream's configuration against its object type's properties (as
    /// `GET /crm/v3/properties/{type}` lists them): upsert needs `email` on contacts or a
    /// unique-value `id_property`. The error names the properties that would work.
    pub fn resolve(
        stream: &str,
        config: StreamConfig,
        properties: &[PropertyInfo],
    ) -> Result<Self, FatalError> {
        let object_type = config.object_type;
        let fail = |reason: String| FatalError::IdProperty {
            stream: stream.to_string(),
            reason,
        };
        let unique: Vec<&str> = properties
            .iter()
            .filter(|p| p.has_unique_value)
            .map(|p| p.name.as_str())
            .collect();
        let candidates = match (is_contacts(&object_type), unique.is_empty()) {
            (true, _) => std::iter::once("email")
                .chain(unique.iter().copied())
                .collect::<Vec<_>>()
                .join(", "),
            (false, true) => "none; create a property with hasUniqueValue: true".to_string(),
            (false, false) => unique.join(", "),
        };
        let Some(id_property) = config.id_property else {
            return Err(fail(format!(
                "no id_property is set for object type '{object_type}'; upsert needs a unique-value property (candidates: {candidates})"
            )));
        };
        if !(id_property == "email" && is_contacts(&object_type)) {
            match properties.iter().find(|p| p.name == id_property) {
                None => {
                    return Err(fail(format!(
                        "object type '{object_type}' has no property '{id_property}' (usable id_property values: {candidates})"
                    )));
                }
                Some(p) if !p.has_unique_value => {
                    return Err(fail(format!(
                        "id_property '{id_property}' of object type '{object_type}' does not have unique values, so HubSpot cannot upsert by it (usable: {candidates})"
                    )));
                }
                Some(_) => {}
            }
        }
        let value_kinds = properties
            .iter()
            .filter_map(|p| ValueKind::of(&p.kind, &p.field_type).map(|k| (p.name.clone(), k)))
            .collect();
        Ok(Self {
            object_type,
            id_property,
            value_kinds,
            renames: config.properties.into_iter().collect(),
            associations: config.associations,
            write_mode: config.write_mode,
        })
    }

    /// Whether keys are emails (trimmed and lowercased before matching).
    fn keys_are_emails(&self) -> bool {
        self.id_property == "email"
    }

    /// Maps one record. A record that is not an object or has no usable key is rejected.
    pub fn map(&self, raw: &RawValue) -> Result<Mapped, Rejection> {
        let record: Map<String, Value> = serde_json::from_str(raw.get()).map_err(|_| {
            Rejection::local("INVALID_RECORD", "the record is not a JSON object", None)
        })?;
        let key_field = self
            .renames
            .iter()
            .find(|(_, to)| to.as_deref() == Some(self.id_property.as_str()))
            .map_or(self.id_property.as_str(), |(from, _)| from.as_str());
        let key = self.key(record.get(key_field))?;
        let mut links = Vec::new();
        for (i, a) in self.associations.iter().enumerate() {
            let target = match record.get(&a.field) {
                Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
                Some(Value::Number(n)) => n.to_string(),
                _ => continue,
            };
            links.push((i, target));
        }
        let mut properties = BTreeMap::new();
        for (field, value) in record {
            if self.associations.iter().any(|a| a.field == field) {
                continue;
            }
            let name = match self.renames.get(&field) {
                Some(None) => continue,
                Some(Some(to)) => to.clone(),
                None if field.starts_with("_sdc_") => continue,
                None => field,
            };
            if let Some(text) = self.to_text(&name, value) {
                properties.insert(name, text);
            }
        }
        properties.insert(self.id_property.clone(), key.clone());
        Ok(Mapped {
            key,
            properties,
            links,
        })
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
    /// written, timestamps for `date`/`datetime` properties reshaped (see [`ValueKind`]), arrays
    /// of strings on multi-checkboxes joined by `;`, other arrays and objects as JSON text.
    /// `null` is left out (HubSpot ignores it; `""` is what clears a value).
    fn to_text(&self, name: &str, value: Value) -> Option<String> {
        let kind = self.value_kinds.get(name).copied();
        Some(match value {
            Value::Null => return None,
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::String(s) if s.is_empty() => s,
            Value::String(s) => match kind {
                Some(ValueKind::Date) => date_text(s),
                Some(ValueKind::DateTime) => datetime_text(s),
                _ => s,
            },
            Value::Array(items)
                if kind == Some(ValueKind::MultiCheckbox) && items.iter().all(Value::is_string) =>
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

/// Checks that an association's `to_id_property` can find records of `to_object_type`: record
/// ids, `email` on contacts, or a unique-value property.
pub fn check_association(
    stream: &str,
    a: &AssociationConfig,
    to_properties: &[PropertyInfo],
) -> Result<(), FatalError> {
    let p = a.to_id_property.as_str();
    let usable = p == "hs_object_id"
        || (p == "email" && is_contacts(&a.to_object_type))
        || to_properties
            .iter()
            .any(|d| d.name == p && d.has_unique_value);
    if usable {
        return Ok(());
    }
    Err(FatalError::IdProperty {
        stream: stream.to_string(),
        reason: format!(
            "association field '{}': to_id_property '{p}' cannot find {} records (use hs_object_id, email on contacts, or a unique-value property)",
            a.field, a.to_object_type
        ),
    })
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
            value_kinds: [
                ("hs_buying_role".to_string(), ValueKind::MultiCheckbox),
                ("date_of_birth".to_string(), ValueKind::Date),
                ("closedate".to_string(), ValueKind::DateTime),
            ]
            .into(),
            renames: HashMap::new(),
            associations: Vec::new(),
            write_mode: WriteMode::Upsert,
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
    fn configured_renames_and_drops_apply_and_the_key_may_come_from_a_renamed_field() {
        let mut m = contacts();
        m.renames = [
            ("Email Address".to_string(), Some("email".to_string())),
            ("first_name".to_string(), Some("firstname".to_string())),
            ("internal_note".to_string(), None),
        ]
        .into();
        let mapped = m
            .map(&raw(r#"{"Email Address":"A@B.co","first_name":"Ann","internal_note":"x","city":"Oslo"}"#))
            .unwrap();
        assert_eq!(mapped.key, "a@b.co");
        let names: Vec<&str> = mapped.properties.keys().map(String::as_str).collect();
        assert_eq!(names, ["city", "email", "firstname"]);
    }

    #[test]
    fn dates_and_datetimes_are_reshaped_for_hubspot() {
        let m = contacts();
        let text = |name: &str, v: &str| m.to_text(name, Value::from(v)).unwrap();
        assert_eq!(text("date_of_birth", "1990-05-17"), "1990-05-17");
        assert_eq!(
            text("date_of_birth", "1990-05-17T00:00:00.000000+00:00"),
            "1990-05-17"
        );
        assert_eq!(text("date_of_birth", "1990-05-17 00:00:00Z"), "1990-05-17");
        assert_eq!(
            text("date_of_birth", "1990-05-17T09:00:00Z"),
            "1990-05-17T09:00:00Z",
            "HubSpot judges non-midnight"
        );
        assert_eq!(
            text("closedate", "2026-01-05T10:30:00.123456+02:00"),
            "1767601800123"
        );
        assert_eq!(text("closedate", "2026-01-05 08:30:00"), "1767601800000");
        assert_eq!(text("closedate", "2026-01-05"), "1767571200000");
        assert_eq!(text("closedate", "next tuesday"), "next tuesday");
        assert_eq!(
            text("firstname", "2026-01-05"),
            "2026-01-05",
            "other properties untouched"
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
            value_kinds: HashMap::new(),
            renames: HashMap::new(),
            associations: Vec::new(),
            write_mode: WriteMode::Upsert,
        };
        assert_eq!(m.map(&raw(r#"{"external_id": 42}"#)).unwrap().key, "42");
    }
}
