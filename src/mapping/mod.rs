//! Record → HubSpot input: the key that identifies it and its properties as strings.
//!
//! No I/O here: [`fields`] decides which property a field fills, [`values`] turns its value
//! into the text HubSpot takes (or a local rejection), [`keys`] normalises the key.

pub mod fields;
pub mod keys;
pub mod published;
mod resolve;
pub use resolve::check_association;
pub mod values;

use std::borrow::Cow;
use std::sync::Arc;

use compact_str::CompactString;
use serde_json::value::RawValue;

use crate::config::{
    AssociationConfig, BlankValues, StreamConfig, UnknownFields, WriteMode, is_contacts,
};
use crate::error::FatalError;
use crate::hubspot::wire::PropertyInfo;
use crate::model::rejection::{Category, Rejection};
use fields::{FieldMap, Target};
use keys::{KeyKind, KeyProblem};
use values::{Field, ValueRules};

/// How a stream finds the HubSpot record each of its records writes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matching {
    /// By the value of a unique property (`email` on contacts): batch upsert, or a lookup
    /// then an update (`update_only`) or a create (`create_only`).
    IdProperty(Arc<str>),
    /// The record field holds HubSpot's record id: batch update by id.
    IdField(Arc<str>),
    /// By a property without unique values (`domain`), found through search.
    SearchProperty(Arc<str>),
    /// No key (`create_only` without `id_property`): every record is created.
    Nothing,
}

impl Matching {
    /// The property (or field) the key comes from, for messages; empty without a key.
    pub fn key_name(&self) -> &str {
        match self {
            Self::IdProperty(p) | Self::IdField(p) | Self::SearchProperty(p) => p,
            Self::Nothing => "",
        }
    }

    /// The unique property HubSpot matches on, if the stream has one.
    pub fn id_property(&self) -> Option<&Arc<str>> {
        match self {
            Self::IdProperty(p) => Some(p),
            Self::IdField(_) | Self::SearchProperty(_) | Self::Nothing => None,
        }
    }

    /// The property the key is a value of (unique or searched), if any.
    pub fn key_property(&self) -> Option<&Arc<str>> {
        match self {
            Self::IdProperty(p) | Self::SearchProperty(p) => Some(p),
            Self::IdField(_) | Self::Nothing => None,
        }
    }
}

impl std::fmt::Display for Matching {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::IdProperty(p) => write!(f, "by {p}"),
            Self::IdField(field) => write!(f, "by record id in field {field}"),
            Self::SearchProperty(p) => write!(f, "by searching {p}"),
            Self::Nothing => f.write_str("without a key"),
        }
    }
}

/// How one stream's records become upsert inputs.
#[derive(Debug, Clone)]
pub struct StreamMapping {
    /// Object type as HubSpot's URLs name it.
    pub object_type: String,
    /// How records find theirs in HubSpot.
    pub matching: Matching,
    /// Field → property.
    pub fields: FieldMap,
    /// Associations made from record fields, in configuration order.
    pub associations: Vec<AssociationConfig>,
    /// Whether records may be created.
    pub write_mode: WriteMode,
    /// Records marked deleted (`_sdc_deleted_at`) archive their HubSpot record.
    pub hard_delete: bool,
    /// With a ledger: what happens to records whose key left the source.
    pub on_removed: crate::config::OnRemoved,
    /// What happens to fields that match no property.
    pub unknown_fields: UnknownFields,
    /// What blank values mean.
    pub blank_values: BlankValues,
    /// Batch writes, or files through the Imports API.
    pub load_method: crate::config::LoadMethod,
    /// How values are read.
    pub rules: ValueRules,
}

/// The Singer field a tap sets on a row deleted at the source.
pub const DELETED_AT: &str = "_sdc_deleted_at";

pub use crate::model::Properties;

/// A record ready to batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// The normalised identifying value (emails trimmed and lowercased).
    pub key: crate::model::Key,
    /// Property values as strings; blank values left out unless `blank_values: clear`.
    pub properties: Properties,
    /// `(association index, key of the other record)` for each association the record asks for.
    pub links: Vec<(usize, String)>,
    /// Fields that match no property (not sent).
    pub unknown: Vec<String>,
    /// Fields that match read-only or calculated properties (not sent).
    pub read_only: Vec<String>,
    /// The tap marked the record deleted (`_sdc_deleted_at` set).
    pub deleted: bool,
}

/// What a stream's fields map to, as `--check` and the first SCHEMA report it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldPlan {
    /// `(field, property, what its values are converted to)`.
    pub mapped: Vec<(String, String, &'static str)>,
    /// Fields matching no property, each with a "did you mean" hint where one is close.
    pub unknown: Vec<(String, Option<String>)>,
    /// Fields matching read-only or calculated properties.
    pub read_only: Vec<String>,
    /// Fields left out on purpose (`drop`, renames to `null`, `_sdc_*`).
    pub dropped: Vec<String>,
}

impl FieldPlan {
    /// `a (did you mean 'b'?), c`: the unknown fields for a message.
    pub fn unknown_list(&self) -> String {
        self.unknown
            .iter()
            .map(|(f, hint)| match hint {
                Some(h) => format!("{} (did you mean '{h}'?)", brief(f)),
                None => brief(f),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A name as a log line quotes it: at most 100 characters (a field name can be a megabyte).
pub fn brief(name: &str) -> String {
    match name.char_indices().nth(100) {
        Some((cut, _)) => format!("{}… ({} characters)", &name[..cut], name.chars().count()),
        None => name.to_string(),
    }
}

impl StreamMapping {
    /// What the stream does to HubSpot, for logs: "upserts companies by domain".
    pub fn action(&self) -> String {
        let action = self.write_action();
        match self.load_method {
            crate::config::LoadMethod::Batch => action,
            crate::config::LoadMethod::Import => {
                format!("{action}, through CSV files and HubSpot's Imports API")
            }
        }
    }

    fn write_action(&self) -> String {
        let t = &self.object_type;
        match (&self.matching, self.write_mode) {
            (Matching::IdProperty(p), WriteMode::Upsert) => format!("upserts {t} by {p}"),
            (Matching::IdProperty(p), WriteMode::UpdateOnly) => {
                format!("updates existing {t} found by {p}, never creates")
            }
            (Matching::IdProperty(p), WriteMode::CreateOnly) => {
                format!("creates {t}, skipping records whose {p} exists")
            }
            (Matching::IdField(f), _) => {
                format!("updates {t} by the record ids in field {f}, never creates")
            }
            (Matching::Nothing, _) => {
                format!("creates a new {t} record for every record read (no key)")
            }
            (Matching::SearchProperty(p), WriteMode::Upsert) => {
                format!("finds {t} by searching {p}: updates one match, creates when none")
            }
            (Matching::SearchProperty(p), WriteMode::UpdateOnly) => {
                format!("finds {t} by searching {p}: updates one match, never creates")
            }
            (Matching::SearchProperty(p), WriteMode::CreateOnly) => {
                format!("finds {t} by searching {p}: creates when none, skips a match")
            }
        }
    }

    fn key_kind(&self) -> KeyKind {
        match &self.matching {
            Matching::IdProperty(p) if &**p == "email" => KeyKind::Email,
            Matching::IdField(_) => KeyKind::RecordId,
            Matching::SearchProperty(p) => KeyKind::for_search(p),
            _ => KeyKind::Unique,
        }
    }

    /// Where each of `fields` goes, e.g. the columns of a SCHEMA.
    pub fn plan<'a>(&self, fields: impl IntoIterator<Item = &'a str>) -> FieldPlan {
        let mut plan = FieldPlan::default();
        for field in fields {
            match self.fields.target(field) {
                Target::Property(p) => {
                    plan.mapped
                        .push((field.to_string(), p.name.to_string(), p.kind.describe()));
                }
                Target::Association(_) => {}
                Target::Dropped => plan.dropped.push(field.to_string()),
                Target::ReadOnly(_) => plan.read_only.push(field.to_string()),
                Target::Unknown => plan.unknown.push((
                    field.to_string(),
                    closest_property(field, self.fields.names()).map(String::from),
                )),
            }
        }
        plan
    }

    /// Whether `fields` include the one each record's key comes from (always, without a key).
    pub fn has_key_column<'a>(&self, mut fields: impl Iterator<Item = &'a str>) -> bool {
        match &self.matching {
            Matching::IdField(f) => fields.any(|c| c == &**f),
            Matching::IdProperty(p) | Matching::SearchProperty(p) => fields.any(
                |c| matches!(self.fields.target(c), Target::Property(prop) if *prop.name == **p),
            ),
            Matching::Nothing => true,
        }
    }

    /// The key of a record [`StreamMapping::map`] rejected, when its key field itself is
    /// readable (the ledger must not take a rejected row for one that left the source).
    pub fn key_of(&self, raw: &RawValue) -> Option<String> {
        let Fields(record) = serde_json::from_str(raw.get()).ok()?;
        for (name, raw_value) in &record {
            let name: &str = name;
            let is_key = match &self.matching {
                Matching::IdField(f) => **f == *name,
                Matching::IdProperty(p) | Matching::SearchProperty(p) => {
                    matches!(self.fields.target(name), Target::Property(prop) if *prop.name == **p)
                }
                Matching::Nothing => false,
            };
            if is_key {
                let value = Field::read(raw_value).ok()?;
                return self
                    .key_kind()
                    .normalise(Some(&value))
                    .ok()
                    .filter(|k| !k.is_empty());
            }
        }
        None
    }

    /// Maps one record. A record that is not a readable object, has no usable key, holds a
    /// value its property cannot take, or (with `unknown_fields: reject`) an unknown field is
    /// rejected before anything is sent.
    pub fn map(&self, raw: &RawValue) -> Result<Mapped, Rejection> {
        let text = raw.get();
        if !text.trim_start().starts_with('{') {
            return Err(Rejection::local(
                Category::InvalidRecord,
                "the record is not a JSON object",
                None,
            ));
        }
        let Fields(record) = serde_json::from_str(text).map_err(|e| unreadable(&e.to_string()))?;
        let mut mapped = Mapped {
            key: crate::model::Key::Value(String::new()),
            properties: Properties::new(),
            links: Vec::new(),
            unknown: Vec::new(),
            read_only: Vec::new(),
            deleted: false,
        };
        let mut key: Option<Result<String, KeyProblem>> = None;
        let mut errors: Vec<Rejection> = Vec::new();
        // Gathered first and sorted once: cheaper than inserting one by one.
        let mut properties: Vec<(Arc<str>, CompactString)> = Vec::with_capacity(record.len());
        let mut filled: Vec<(&str, &str)> = Vec::with_capacity(record.len());
        let id_field = match &self.matching {
            Matching::IdField(f) => Some(&**f),
            _ => None,
        };
        for (name, raw_value) in &record {
            let name: &str = name;
            if name == DELETED_AT {
                let value =
                    Field::read(raw_value).map_err(|e| unreadable_field(text, name, &e.0))?;
                mapped.deleted = value != Field::Blank;
                continue;
            }
            if id_field == Some(name) {
                // The record id: the key, never a property (HubSpot's hs_object_id is read-only).
                let value =
                    Field::read(raw_value).map_err(|e| unreadable_field(text, name, &e.0))?;
                key = Some(KeyKind::RecordId.normalise(Some(&value)));
                continue;
            }
            let target = self.fields.target(name);
            let property = match target {
                Target::Dropped => continue,
                Target::Unknown => {
                    mapped.unknown.push(name.to_string());
                    continue;
                }
                Target::ReadOnly(_) => {
                    mapped.read_only.push(name.to_string());
                    continue;
                }
                Target::Association(i) => {
                    // One key, or an array of keys (a deal's contacts).
                    let push = |links: &mut Vec<(usize, String)>, f: &Field| match f {
                        Field::Text(s) if !s.trim().is_empty() => {
                            links.push((i, s.trim().to_string()))
                        }
                        Field::Number(n) => links.push((i, n.to_string())),
                        _ => {}
                    };
                    match Field::read(raw_value) {
                        Ok(Field::Array(_, items)) => {
                            for item in &items {
                                push(&mut mapped.links, item);
                            }
                        }
                        Ok(f) => push(&mut mapped.links, &f),
                        Err(e) => return Err(unreadable_field(text, name, &e.0)),
                    }
                    continue;
                }
                Target::Property(p) => p,
            };
            if let Some((other, _)) = filled.iter().find(|(_, p)| **p == *property.name) {
                return Err(Rejection::local(
                    Category::InvalidRecord,
                    format!(
                        "fields '{other}' and '{name}' both map to property '{}'; drop or rename one of them",
                        property.name
                    ),
                    Some(&property.name),
                ));
            }
            filled.push((name, &property.name));
            let value = Field::read(raw_value).map_err(|e| unreadable_field(text, name, &e.0))?;
            if self
                .matching
                .id_property()
                .is_some_and(|p| **p == *property.name)
            {
                key = Some(self.key_kind().normalise(Some(&value)));
                continue;
            }
            if let Matching::SearchProperty(p) = &self.matching
                && **p == *property.name
            {
                // The key, and also a value sent as written (a domain as normalised, below).
                key = Some(self.key_kind().normalise(Some(&value)));
            }
            if value == Field::Blank {
                if self.blank_values == BlankValues::Clear {
                    properties.push((property.name.clone(), CompactString::default()));
                }
                continue;
            }
            match values::convert(&property.kind, &value, self.rules) {
                Ok(text) => {
                    properties.push((property.name.clone(), text));
                }
                Err(e) => {
                    let mut r = Rejection::local(
                        Category::InvalidValue,
                        format!("{}: {}", field_label(name, &property.name), e.message),
                        Some(&property.name),
                    )
                    .with_code(e.code);
                    if *name != *property.name {
                        r = r.with_field(name);
                    }
                    errors.push(r);
                }
            }
        }
        mapped.key = match (&self.matching, key.unwrap_or(Err(KeyProblem::Missing))) {
            // Keyless records get theirs when batched: each one its own.
            (Matching::Nothing, _) => crate::model::Key::Value(String::new()),
            (_, Ok(k)) if !k.is_empty() => crate::model::Key::Value(k),
            (_, Ok(_) | Err(KeyProblem::Missing)) => return Err(self.missing_key("no value")),
            (_, Err(KeyProblem::NotText)) => {
                return Err(self.missing_key("a value that is not a string"));
            }
            (_, Err(KeyProblem::NotRecordId)) => {
                return Err(self.missing_key("a value that is not a record id (digits only)"));
            }
        };
        if self.unknown_fields == UnknownFields::Reject && !mapped.unknown.is_empty() {
            let plan = self.plan(mapped.unknown.iter().map(String::as_str));
            let mut r = Rejection::local(
                Category::UnknownField,
                format!(
                    "object type '{}' has no property for field(s) {}; add a rename or drop, or set unknown_fields to ignore or create",
                    self.object_type,
                    plan.unknown_list()
                ),
                None,
            )
            .with_code("UNKNOWN_FIELD");
            if let [only] = mapped.unknown.as_slice() {
                r = r.with_field(only);
            }
            return Err(r);
        }
        if let Some(first) = errors.first() {
            let mut r = first.clone();
            if errors.len() > 1 {
                r.message = errors
                    .iter()
                    .map(|e| e.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; ");
            }
            return Err(r);
        }
        // Each property comes from one field (checked above), so no name repeats.
        mapped.properties = properties.into_iter().collect();
        match &self.matching {
            Matching::IdProperty(p) => {
                mapped
                    .properties
                    .insert(p.clone(), CompactString::new(mapped.key.as_str()));
            }
            // The README's rule: a domain matched by search is sent as normalised.
            Matching::SearchProperty(p) if self.key_kind() == KeyKind::Domain => {
                mapped
                    .properties
                    .insert(p.clone(), CompactString::new(mapped.key.as_str()));
            }
            _ => {}
        }
        Ok(mapped)
    }

    fn missing_key(&self, why: &str) -> Rejection {
        Rejection::local(
            Category::MissingKey,
            format!(
                "the record has {why} for {} \"{}\", so it cannot be matched",
                match self.matching {
                    Matching::IdField(_) => "id_field",
                    _ => "id_property",
                },
                self.matching.key_name()
            ),
            Some(self.matching.key_name()),
        )
    }
}

/// A record's field name, borrowed from its JSON text when it has no escapes.
#[derive(serde::Deserialize)]
struct FieldName<'a>(#[serde(borrow)] Cow<'a, str>);

/// A record's fields in name order, each name once (the last value given wins, as in a
/// JSON object read into a map).
struct Fields<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Fields<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Fields<'de>, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some((FieldName(name), value)) =
                    map.next_entry::<FieldName, &RawValue>()?
                {
                    fields.push((name, value));
                }
                crate::model::properties::sort_last_wins(&mut fields, |(name, _)| name);
                Ok(Fields(fields))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// `field → property`, or the property alone when the field has its name.
fn field_label(field: &str, property: &str) -> String {
    if field == property {
        property.to_string()
    } else {
        format!("{field} → {property}")
    }
}

/// A record whose JSON the parser refused: the parser's reason and column.
fn unreadable(reason: &str) -> Rejection {
    Rejection::local(
        Category::InvalidRecord,
        format!(
            "the record cannot be read: {}",
            reason.replace(" at line 1 column ", " at column ")
        ),
        None,
    )
}

/// A field whose value the parser refused, with the column the whole record gives.
fn unreadable_field(text: &str, field: &str, reason: &str) -> Rejection {
    let whole = serde_json::from_str::<serde_json::Value>(text)
        .err()
        .map_or_else(|| reason.to_string(), |e| e.to_string());
    unreadable(&whole).with_field(field)
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
mod brief_tests {
    #[test]
    fn a_megabyte_field_name_is_quoted_in_100_characters() {
        let name = "f".repeat(1 << 20);
        let shown = super::brief(&name);
        assert!(shown.len() < 130, "{}", shown.len());
        assert!(shown.ends_with("… (1048576 characters)"));
        assert_eq!(super::brief("email"), "email");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn props() -> Vec<PropertyInfo> {
        let p = |v: serde_json::Value| serde_json::from_value::<PropertyInfo>(v).unwrap();
        vec![
            p(json!({"name": "email", "type": "string", "fieldType": "text"})),
            p(json!({"name": "firstname", "type": "string", "fieldType": "text"})),
            p(json!({"name": "city", "type": "string", "fieldType": "text"})),
            p(json!({"name": "age", "type": "number", "fieldType": "number"})),
            p(json!({"name": "vip", "type": "bool", "fieldType": "booleancheckbox"})),
            p(json!({"name": "addr", "type": "string", "fieldType": "textarea"})),
            p(
                json!({"name": "hs_buying_role", "type": "enumeration", "fieldType": "checkbox",
                "options": [{"value": "CHAMPION", "label": "Champion"}, {"value": "END_USER", "label": "End User"}]}),
            ),
            p(
                json!({"name": "hs_object_id", "type": "number", "fieldType": "number",
                "modificationMetadata": {"readOnlyValue": true}}),
            ),
            p(
                json!({"name": "external_id", "type": "string", "fieldType": "text", "hasUniqueValue": true}),
            ),
        ]
    }

    fn stream(extra: serde_json::Value) -> StreamMapping {
        let mut config = json!({"object_type": "contacts", "id_property": "email"});
        config
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        StreamMapping::resolve("s", serde_json::from_value(config).unwrap(), &props()).unwrap()
    }

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).unwrap()
    }

    #[test]
    fn values_become_strings_and_the_email_key_is_normalised() {
        let m = stream(json!({}))
            .map(&raw(r#"{"Email":"  Ann@Example.COM ","age":41.10,"vip":"t","city":null,"hs_buying_role":["champion","End User"],"addr":{"city":"Oslo"},"_sdc_batched_at":"x","hs_object_id":"5","shoe_size":44}"#))
            .unwrap();
        assert_eq!(m.key, "ann@example.com");
        let expected: Properties = [
            ("addr", r#"{"city":"Oslo"}"#),
            ("age", "41.10"),
            ("email", "ann@example.com"),
            ("hs_buying_role", "CHAMPION;END_USER"),
            ("vip", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
        assert_eq!(m.properties, expected);
        assert_eq!(m.unknown, ["shoe_size"]);
        assert_eq!(m.read_only, ["hs_object_id"]);
    }

    #[test]
    fn a_repeated_field_keeps_its_last_value_and_escaped_names_and_values_are_read() {
        let m = stream(json!({}))
            .map(&raw(r#"{"city":"Bergen","email":"a@b.co","city":"Oslo","first\u006eame":"Ann \"A\" \u00c5s"}"#))
            .unwrap();
        assert_eq!(m.properties["city"], "Oslo");
        assert_eq!(m.properties["firstname"], "Ann \"A\" Ås");
    }

    #[test]
    fn a_field_matched_ignoring_case_or_renamed_goes_to_its_property() {
        let mapping = stream(json!({"properties": {"Town": "city"}, "drop": ["FirstName"]}));
        let m = mapping
            .map(&raw(
                r#"{"EMAIL":"a@b.co","Town":"Oslo","FirstName":"x","AGE":"7"}"#,
            ))
            .unwrap();
        let names: Vec<&str> = m.properties.keys().map(|k| &**k).collect();
        assert_eq!(names, ["age", "city", "email"]);
    }

    #[test]
    fn blanks_are_skipped_or_clear_as_configured() {
        let record = raw(r#"{"email":"a@b.co","city":"  ","firstname":null}"#);
        let skipped = stream(json!({})).map(&record).unwrap();
        assert_eq!(skipped.properties.len(), 1);
        let cleared = stream(json!({"blank_values": "clear"}))
            .map(&record)
            .unwrap();
        assert_eq!(cleared.properties["city"], "");
        assert_eq!(cleared.properties["firstname"], "");
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
            let err = stream(json!({})).map(&raw(record)).unwrap_err();
            assert!(
                ["MISSING_KEY", "INVALID_RECORD"].contains(&err.category.as_str()),
                "{record}: {err:?}"
            );
        }
        let err = stream(json!({}))
            .map(&raw(r#"{"firstname":"x"}"#))
            .unwrap_err();
        assert_eq!(
            err.message,
            "the record has no value for id_property \"email\", so it cannot be matched"
        );
    }

    #[test]
    fn configured_renames_and_drops_apply_and_the_key_may_come_from_a_renamed_field() {
        let m = stream(json!({
            "properties": {"Email Address": "email", "first_name": "firstname", "secret": null},
            "drop": ["internal_note"]
        }));
        let mapped = m
            .map(&raw(r#"{"Email Address":"A@B.co","first_name":"Ann","internal_note":"x","secret":"y","city":"Oslo"}"#))
            .unwrap();
        assert_eq!(mapped.key, "a@b.co");
        let names: Vec<&str> = mapped.properties.keys().map(|k| &**k).collect();
        assert_eq!(names, ["city", "email", "firstname"]);
    }

    #[test]
    fn renames_to_properties_that_do_not_exist_stop_at_startup() {
        let config = serde_json::from_value(
            json!({"object_type": "contacts", "properties": {"x": "frstname"}}),
        )
        .unwrap();
        let mut config: StreamConfig = config;
        config.id_property = Some("email".into());
        let err = StreamMapping::resolve("s", config, &props()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "stream 's': properties: field 'x' is renamed to 'frstname', but object type 'contacts' has no such property (did you mean 'firstname'?)"
        );
    }

    #[test]
    fn unknown_fields_are_rejected_when_asked_and_two_fields_for_one_property_are_refused() {
        let m = stream(json!({"unknown_fields": "reject"}));
        let err = m
            .map(&raw(r#"{"email":"a@b.co","frstname":"x"}"#))
            .unwrap_err();
        assert_eq!(err.category, Category::UnknownField);
        assert!(
            err.message.contains("frstname (did you mean 'firstname'?)"),
            "{}",
            err.message
        );
        let err = stream(json!({}))
            .map(&raw(r#"{"email":"a@b.co","CITY":"x","city":"y"}"#))
            .unwrap_err();
        assert_eq!(err.category, Category::InvalidRecord);
    }

    #[test]
    fn unreadable_records_name_the_parser_reason() {
        let err = stream(json!({}))
            .map(&raw(r#"{"email":"a@b.co","age":1e400}"#))
            .unwrap_err();
        assert_eq!(err.category, Category::InvalidRecord);
        assert!(
            err.message.contains("number out of range at column"),
            "{}",
            err.message
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
        let m = StreamMapping::resolve(
            "s",
            serde_json::from_value(
                json!({"object_type": "companies", "id_property": "external_id"}),
            )
            .unwrap(),
            &props(),
        )
        .unwrap();
        assert_eq!(m.map(&raw(r#"{"external_id": 42}"#)).unwrap().key, "42");
    }
}
