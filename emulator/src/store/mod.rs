//! The portal's state: object types, records, unique indexes and associations.

use axum::http::StatusCode;
use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::clock;
use crate::defaults;
use crate::error::ApiError;
use crate::model::{ObjectType, PropertyDef, PropertyType, StoredObject};

mod associations;
pub mod imports;

/// A stored association between two records.
#[derive(Debug, Clone)]
pub struct Association {
    /// Type id of the source record.
    pub from_type: String,
    /// Source record id.
    pub from_id: u64,
    /// Type id of the target record.
    pub to_type: String,
    /// Target record id.
    pub to_id: u64,
    /// `(associationCategory, associationTypeId)` pairs.
    pub types: Vec<(String, u32)>,
}

/// A write that would give a unique value to a second record.
#[derive(Debug, Clone)]
pub struct UniqueConflict {
    /// The unique property.
    pub property: String,
    /// The record that already holds the value.
    pub existing_id: u64,
}

/// An association label the portal created (`USER_DEFINED`), one direction.
#[derive(Debug, Clone)]
pub struct UserLabel {
    /// Type id of the source type.
    pub from_type: String,
    /// Type id of the target type.
    pub to_type: String,
    /// Its association type id.
    pub type_id: u32,
    /// Its label.
    pub label: String,
}

/// A list (segment) of records, as the Lists API keeps it.
#[derive(Debug, Clone)]
pub struct List {
    /// List id.
    pub id: u64,
    /// Name, unique per object type.
    pub name: String,
    /// Type id of its members (`0-1`).
    pub object_type_id: String,
    /// `MANUAL`, `DYNAMIC` or `SNAPSHOT`.
    pub processing_type: String,
    /// ISO-8601 creation time.
    pub created_at: String,
    /// ISO-8601 time of the last change.
    pub updated_at: String,
    /// Members with the time they joined, in join order.
    pub members: Vec<(u64, String)>,
}

/// Everything one emulated portal holds.
#[derive(Debug)]
pub struct Store {
    /// The portal (hub) id.
    pub portal_id: u64,
    /// Object types, standard ones first.
    pub types: Vec<ObjectType>,
    /// Associations in creation order.
    pub associations: Vec<Association>,
    /// Lists by id.
    pub lists: std::collections::BTreeMap<u64, List>,
    /// Association labels created through the labels API.
    pub user_labels: Vec<UserLabel>,
    /// How long a write takes to reach the search index, in ms (0 = at once).
    pub search_lag_ms: i64,
    /// Imports made through the Imports API.
    pub imports: imports::Imports,
    next_object_id: u64,
    next_custom_type: u64,
    next_list_id: u64,
}

impl Store {
    /// A portal with HubSpot's standard object types and no records.
    pub fn new(portal_id: u64) -> Self {
        Self {
            portal_id,
            types: defaults::standard_types(),
            associations: Vec::new(),
            lists: Default::default(),
            user_labels: Vec::new(),
            search_lag_ms: 0,
            imports: Default::default(),
            next_object_id: 1001,
            next_custom_type: 1_000_001,
            next_list_id: 1,
        }
    }

    /// A fresh list id (one no preloaded list holds).
    pub fn next_list_id(&mut self) -> u64 {
        while self.lists.contains_key(&self.next_list_id) {
            self.next_list_id += 1;
        }
        self.next_list_id
    }

    /// Stores a record as given, with its own id (for `--preload`): values are not
    /// validated, since they stand for what HubSpot already holds. Unique values are indexed;
    /// `hs_merged_object_ids` makes the listed ids find this record.
    pub fn insert_record(&mut self, idx: usize, id: u64, properties: BTreeMap<String, String>) {
        let now = clock::now_iso();
        let t = &mut self.types[idx];
        let mut properties = properties;
        properties.insert("hs_object_id".into(), id.to_string());
        let created_at = properties
            .get(&t.created_property)
            .cloned()
            .unwrap_or_else(|| now.clone());
        properties
            .entry(t.created_property.clone())
            .or_insert_with(|| created_at.clone());
        for (name, index) in t.unique_index.iter_mut() {
            if let Some(value) = properties.get(name).filter(|v| !v.is_empty()) {
                let key = if name == "email" {
                    value.to_lowercase()
                } else {
                    value.clone()
                };
                index.insert(key, id);
            }
        }
        if let Some(away) = properties.get("hs_merged_object_ids") {
            for other in away.split(';').filter_map(|s| s.trim().parse::<u64>().ok()) {
                t.merged.insert(other, id);
            }
        }
        t.objects.insert(
            id,
            StoredObject {
                id,
                properties,
                created_at,
                updated_at: now,
                archived: false,
                indexed: None,
                index_due: None,
            },
        );
    }

    /// The index of an object type named by plural name, type id (`0-1`), fully qualified
    /// name (`p123_car`) or, for custom objects, its plain name.
    pub fn resolve(&self, name: &str) -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        let singular_alias = |t: &ObjectType| t.upper_singular.eq_ignore_ascii_case(&lower);
        self.types.iter().position(|t| {
            t.name == lower
                || t.type_id == lower
                || singular_alias(t)
                || t.fully_qualified_name.as_deref() == Some(lower.as_str())
        })
    }

    /// Registers a new custom object type and returns its index.
    pub fn add_custom_type(&mut self, mut t: ObjectType) -> usize {
        t.type_id = format!("2-{}", self.next_custom_type);
        self.next_custom_type += 1;
        t.fully_qualified_name = Some(format!("p{}_{}", self.portal_id, t.name));
        self.types.push(t);
        self.types.len() - 1
    }

    /// Creates (`existing = None`) or updates a record of type `idx` with validated values.
    /// Returns the record id and whether it was created.
    ///
    /// `""` clears a value; a value starting with `;` on a multi-checkbox appends to it.
    pub fn write(
        &mut self,
        idx: usize,
        existing: Option<u64>,
        values: &[(String, String)],
    ) -> Result<(u64, bool), UniqueConflict> {
        self.check_unique(idx, existing, values)?;
        if existing.is_none() {
            // Preloaded records keep their own ids; new ones never take those.
            while self
                .types
                .iter()
                .any(|t| t.objects.contains_key(&self.next_object_id))
            {
                self.next_object_id += 1;
            }
        }
        let id = existing.unwrap_or(self.next_object_id);
        let now = clock::now_iso();
        let created = existing.is_none();
        if created {
            self.next_object_id += 1;
        }
        let lag = self.search_lag_ms;
        let now_ms = clock::now_millis();
        let t = &mut self.types[idx];
        let object = t.objects.entry(id).or_insert_with(|| StoredObject {
            id,
            properties: Default::default(),
            created_at: now.clone(),
            updated_at: now.clone(),
            archived: false,
            indexed: None,
            index_due: None,
        });
        if lag > 0 {
            // Search keeps what it last indexed until this write reaches the index.
            if !created && object.index_due.is_none_or(|due| due <= now_ms) {
                object.indexed = Some(object.properties.clone());
            }
            object.index_due = Some(now_ms + lag);
        }
        if created {
            object
                .properties
                .insert("hs_object_id".into(), id.to_string());
            object
                .properties
                .insert(t.created_property.clone(), now.clone());
        }
        for (name, value) in values {
            let old = object.properties.get(name).cloned();
            let multi = t.properties.iter().any(|p| &p.name == name && p.is_multi());
            let new_value = match (&old, value.strip_prefix(';')) {
                (Some(old), Some(appended)) if multi => {
                    let mut parts: Vec<&str> = old.split(';').filter(|p| !p.is_empty()).collect();
                    for part in appended.split(';').filter(|p| !p.is_empty()) {
                        if !parts.contains(&part) {
                            parts.push(part);
                        }
                    }
                    parts.join(";")
                }
                (_, Some(appended)) if multi => appended.to_string(),
                _ => value.clone(),
            };
            if let Some(index) = t.unique_index.get_mut(name) {
                if let Some(old) = &old {
                    let old_key = if name == "email" {
                        old.to_lowercase()
                    } else {
                        old.clone()
                    };
                    index.remove(&old_key);
                }
                if !new_value.is_empty() {
                    let key = if name == "email" {
                        new_value.to_lowercase()
                    } else {
                        new_value.clone()
                    };
                    index.insert(key, id);
                }
            }
            if new_value.is_empty() {
                object.properties.remove(name);
            } else {
                object.properties.insert(name.clone(), new_value);
            }
        }
        object.updated_at = now.clone();
        object.properties.insert(t.modified_property.clone(), now);
        Ok((id, created))
    }

    /// Fails when `values` would give a unique value held by another record to `existing`
    /// (or to a new record when `None`).
    pub fn check_unique(
        &self,
        idx: usize,
        existing: Option<u64>,
        values: &[(String, String)],
    ) -> Result<(), UniqueConflict> {
        let t = &self.types[idx];
        for (name, value) in values {
            if value.is_empty() {
                continue;
            }
            if let Some(index) = t.unique_index.get(name) {
                let key = t.normalise_key(name, value);
                if let Some(&holder) = index.get(&key)
                    && Some(holder) != existing
                {
                    return Err(UniqueConflict {
                        property: name.clone(),
                        existing_id: holder,
                    });
                }
            }
        }
        Ok(())
    }

    /// Archives a record and frees its unique values. Returns whether it existed.
    pub fn archive(&mut self, idx: usize, id: u64) -> bool {
        let t = &mut self.types[idx];
        let Some(object) = t.objects.get_mut(&id).filter(|o| !o.archived) else {
            return false;
        };
        object.archived = true;
        for (name, index) in t.unique_index.iter_mut() {
            if let Some(value) = object.properties.get(name) {
                let key = if name == "email" {
                    value.to_lowercase()
                } else {
                    value.clone()
                };
                index.remove(&key);
            }
        }
        true
    }

    /// A live (not archived) record.
    pub fn live(&self, idx: usize, id: u64) -> Option<&StoredObject> {
        self.types[idx].objects.get(&id).filter(|o| !o.archived)
    }

    /// A record as HubSpot returns it: `id`, `properties`, `createdAt`, `updatedAt`,
    /// `archived`, then `url`. With `only`, just those properties (missing ones as `null`).
    pub fn object_json(
        &self,
        idx: usize,
        object: &StoredObject,
        only: Option<&[String]>,
    ) -> Map<String, Value> {
        let t = &self.types[idx];
        let properties: Map<String, Value> = match only {
            Some(names) => {
                let mut m = Map::new();
                for name in [
                    t.created_property.as_str(),
                    "hs_object_id",
                    t.modified_property.as_str(),
                ] {
                    m.insert(name.into(), json!(object.properties.get(name)));
                }
                for name in names {
                    m.insert(name.clone(), json!(object.properties.get(name)));
                }
                // HubSpot lists a record's properties by name.
                m.sort_keys();
                m
            }
            None => object
                .properties
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect(),
        };
        let mut m = Map::new();
        m.insert("id".into(), json!(object.id.to_string()));
        m.insert("properties".into(), Value::Object(properties));
        m.insert("createdAt".into(), json!(object.created_at));
        m.insert("updatedAt".into(), json!(object.updated_at));
        m.insert("archived".into(), json!(object.archived));
        m
    }

    /// A record as `GET` and search return it: [`Store::object_json`] plus `url`.
    pub fn record_json(&self, idx: usize, object: &StoredObject, only: Option<&[String]>) -> Value {
        let mut m = self.object_json(idx, object, only);
        m.insert("url".into(), json!(self.url(idx, object.id)));
        Value::Object(m)
    }

    /// The record's link in HubSpot's UI, as recorded for contacts, companies, deals, calls,
    /// tasks and notes (\[INFERENCE\] meetings and emails link like notes, other types like
    /// contacts).
    pub fn url(&self, idx: usize, id: u64) -> String {
        let portal = self.portal_id;
        let type_id = &self.types[idx].type_id;
        match type_id.as_str() {
            "0-48" => format!("https://app.hubspot.com/calls/{portal}/review/{id}"),
            "0-27" => format!("https://app.hubspot.com/tasks/{portal}/view/all/task/{id}"),
            "0-46" | "0-47" | "0-49" => format!(
                "https://app.hubspot.com/contacts/{portal}/objects/{type_id}/views/all/list?filters=%5B%7B%22property%22%3A%22hs_object_id%22%2C%22operator%22%3A%22EQ%22%2C%22value%22%3A%22{id}%22%7D%5D"
            ),
            _ => format!("https://app.hubspot.com/contacts/{portal}/record/{type_id}/{id}"),
        }
    }
}

/// HubSpot's documented limit on unique-value properties per object type.
pub const MAX_UNIQUE_PROPERTIES: usize = 10;

/// \[INFERENCE\] HubSpot's limits page allows 1,000 custom properties per object type; its
/// refusal text was not captured.
pub const MAX_CUSTOM_PROPERTIES: usize = 1_000;

/// The field types a property `type` may be shown with, from HubSpot's properties guide
/// (`number` with `calculation_equation` is \[INFERENCE\]: calculated properties use it).
fn field_types_for(kind: PropertyType) -> &'static [&'static str] {
    match kind {
        PropertyType::Bool => &["booleancheckbox"],
        PropertyType::Enumeration => &["booleancheckbox", "checkbox", "radio", "select"],
        PropertyType::Date | PropertyType::DateTime => &["date"],
        PropertyType::Number => &["number", "calculation_equation"],
        PropertyType::PhoneNumber => &["phonenumber"],
        PropertyType::String => &["text", "textarea", "file", "html", "phonenumber"],
    }
}

/// Whether `name` is a valid internal property name: a lowercase letter, then lowercase
/// letters, digits and underscores, at most 100 characters (\[INFERENCE\]: HubSpot's settings
/// page enforces this form; the API's refusal text was not captured).
pub fn is_valid_property_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 100
}

impl Store {
    /// Adds a portal-defined property to type `idx` after HubSpot's checks, returning its
    /// JSON. Errors carry `correlation_id`.
    pub fn create_property(
        &mut self,
        idx: usize,
        def: PropertyDef,
        correlation_id: &str,
    ) -> Result<Value, ApiError> {
        let t = &mut self.types[idx];
        let invalid = |message: String| ApiError::validation(message, correlation_id);
        if t.property(&def.name).is_some() {
            // [INFERENCE] category and wording as HubSpot's client libraries report them.
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                Some("OBJECT_ALREADY_EXISTS"),
                format!("Property named '{}' already exists.", def.name),
                correlation_id,
            ));
        }
        if !is_valid_property_name(&def.name) {
            // [INFERENCE] wording.
            return Err(invalid(format!(
                "Property name '{}' is invalid: use lowercase letters, digits and underscores, starting with a letter (at most 100 characters)",
                def.name
            )));
        }
        let allowed = field_types_for(def.kind);
        if !allowed.contains(&def.field_type.as_str()) {
            // [INFERENCE] wording.
            return Err(invalid(format!(
                "Property {} of type {} cannot have fieldType {}; allowed: {}",
                def.name,
                serde_json::to_value(def.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                def.field_type,
                allowed.join(", ")
            )));
        }
        if def.kind == PropertyType::Enumeration
            && def.field_type != "booleancheckbox"
            && def.options.is_empty()
        {
            // [INFERENCE] wording.
            return Err(invalid(format!(
                "Enumeration property {} needs at least one option",
                def.name
            )));
        }
        if !t.has_group(&def.group_name) {
            // [INFERENCE] HubSpot refuses a property in a group that does not exist; the exact
            // wording was not captured.
            return Err(invalid(format!(
                "Property group {} does not exist for object type {}",
                def.group_name, t.type_id
            )));
        }
        if def.has_unique_value
            && t.properties.iter().filter(|p| p.has_unique_value).count() >= MAX_UNIQUE_PROPERTIES
        {
            // [INFERENCE] wording; the limit of ten is documented.
            return Err(invalid(format!(
                "Object type {} already has {MAX_UNIQUE_PROPERTIES} unique-value properties, the limit",
                t.type_id
            )));
        }
        if t.properties.iter().filter(|p| !p.hubspot_defined).count() >= MAX_CUSTOM_PROPERTIES {
            return Err(invalid(format!(
                "Object type {} already has {MAX_CUSTOM_PROPERTIES} custom properties, the limit",
                t.type_id
            )));
        }
        if def.has_unique_value {
            t.unique_index.entry(def.name.clone()).or_default();
        }
        let body = def.to_json();
        t.properties.push(def);
        Ok(body)
    }
}

/// Why two records could not be merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeRefusal {
    /// Both ids name the same record.
    Same,
    /// This id names no live record.
    Missing(u64),
}

impl Store {
    /// Merges record `other` into `primary` (both of type `idx`), as HubSpot's merge does
    /// (\[INFERENCE\] for what the recordings do not show): the primary keeps its id and its
    /// values, gains the other's values it lacks and its associations, and lists the other's
    /// id in `hs_merged_object_ids`. The other id (and any merged into it before) then finds
    /// the primary, and so do its unique values.
    pub fn merge(&mut self, idx: usize, primary: u64, other: u64) -> Result<(), MergeRefusal> {
        let t = &self.types[idx];
        let primary = t.merged.get(&primary).copied().unwrap_or(primary);
        let other = t.merged.get(&other).copied().unwrap_or(other);
        if primary == other {
            return Err(MergeRefusal::Same);
        }
        for id in [primary, other] {
            if self.live(idx, id).is_none() {
                return Err(MergeRefusal::Missing(id));
            }
        }
        let type_id = self.types[idx].type_id.clone();
        let now = clock::now_iso();
        let t = &mut self.types[idx];
        let Some(gone) = t.objects.remove(&other) else {
            return Err(MergeRefusal::Missing(other));
        };
        let mut away: Vec<String> = vec![other.to_string()];
        if let Some(before) = gone.properties.get("hs_merged_object_ids") {
            away.extend(
                before
                    .split(';')
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            );
        }
        for target in t.merged.values_mut() {
            if *target == other {
                *target = primary;
            }
        }
        t.merged.insert(other, primary);
        for index in t.unique_index.values_mut() {
            for holder in index.values_mut() {
                if *holder == other {
                    *holder = primary;
                }
            }
        }
        let modified = t.modified_property.clone();
        if let Some(kept) = t.objects.get_mut(&primary) {
            for (name, value) in gone.properties {
                if name != "hs_object_id" && name != "hs_merged_object_ids" {
                    kept.properties.entry(name).or_insert(value);
                }
            }
            let mut merged: Vec<String> = kept
                .properties
                .get("hs_merged_object_ids")
                .map(|s| {
                    s.split(';')
                        .filter(|p| !p.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            merged.extend(away);
            kept.properties
                .insert("hs_merged_object_ids".into(), merged.join(";"));
            kept.properties.insert(modified, now.clone());
            kept.updated_at = now;
        }
        for a in &mut self.associations {
            if a.from_type == type_id && a.from_id == other {
                a.from_id = primary;
            }
            if a.to_type == type_id && a.to_id == other {
                a.to_id = primary;
            }
        }
        Ok(())
    }
}
