//! `--preload FILE`: property definitions, custom-object schemas, records and lists a portal
//! holds before the first request, for demos and tests that want them.
//!
//! ```json
//! {"properties": {"contacts": [{"name": "external_id", "label": "External ID", "type": "string",
//!                              "fieldType": "text", "groupName": "contactinformation",
//!                              "hasUniqueValue": true}]},
//!  "schemas": [{"name": "cars", "labels": {"singular": "Car", "plural": "Cars"},
//!               "primaryDisplayProperty": "vin", "properties": [...]}],
//!  "objects": {"contacts": [{"id": "901", "properties": {"email": "a@example.com"}}]},
//!  "lists": [{"listId": "33", "name": "Test List", "objectTypeId": "0-1",
//!             "processingType": "MANUAL", "members": ["901"]}]}
//! ```
//!
//! Properties and schemas take the bodies of `POST /crm/v3/properties/{type}` and
//! `POST /crm-object-schemas/v3/schemas` and are checked the same way; records keep the ids
//! and values given (they stand for what HubSpot already holds, so read-only values are fine).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::clock;
use crate::creation::{PropertyCreate, SchemaCreate, create_schema};
use crate::store::{List, Store};

/// What a portal holds at start.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preload {
    /// Property definitions by object type, in `PropertyCreate` form.
    #[serde(default)]
    pub properties: BTreeMap<String, Vec<Value>>,
    /// Custom object schemas, in `ObjectSchemaEgg` form.
    #[serde(default)]
    pub schemas: Vec<Value>,
    /// Records by object type.
    #[serde(default)]
    pub objects: BTreeMap<String, Vec<PreloadRecord>>,
    /// Lists and their members.
    #[serde(default)]
    pub lists: Vec<PreloadList>,
}

/// A record to hold at start.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreloadRecord {
    /// Its record id; a fresh one when left out.
    pub id: Option<String>,
    /// Its values (strings, numbers or booleans; `null` is left out).
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
}

/// A list to hold at start.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreloadList {
    /// Its list id; a fresh one when left out.
    pub list_id: Option<String>,
    /// Its name.
    pub name: String,
    /// Type id of its members.
    pub object_type_id: String,
    /// `MANUAL` unless given.
    pub processing_type: Option<String>,
    /// Record ids of its members.
    #[serde(default)]
    pub members: Vec<String>,
}

/// Why a preload could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum PreloadError {
    /// The file is not a preload.
    #[error("preload is not valid: {0}")]
    Parse(#[from] serde_json::Error),
    /// An entry names something the portal does not have or refuses.
    #[error("preload {what}: {reason}")]
    Entry {
        /// Which entry.
        what: String,
        /// Why.
        reason: String,
    },
}

fn entry(what: impl Into<String>, reason: impl Into<String>) -> PreloadError {
    PreloadError::Entry {
        what: what.into(),
        reason: reason.into(),
    }
}

fn api_reason(e: &crate::error::ApiError) -> String {
    e.body["message"].as_str().unwrap_or("refused").to_string()
}

impl Preload {
    /// Reads a preload from JSON text.
    pub fn from_json(text: &str) -> Result<Self, PreloadError> {
        Ok(serde_json::from_str(text)?)
    }

    /// Applies everything to `store`: schemas, then properties, then records, then lists.
    pub fn apply(&self, store: &mut Store) -> Result<(), PreloadError> {
        for (n, schema) in self.schemas.iter().enumerate() {
            let what = format!("schemas[{n}]");
            let egg: SchemaCreate =
                serde_json::from_value(schema.clone()).map_err(|e| entry(&what, e.to_string()))?;
            create_schema(store, egg, "preload").map_err(|e| entry(&what, api_reason(&e)))?;
        }
        for (object_type, properties) in &self.properties {
            let idx = store
                .resolve(object_type)
                .ok_or_else(|| entry(format!("properties.{object_type}"), "no such object type"))?;
            for (n, p) in properties.iter().enumerate() {
                let what = format!("properties.{object_type}[{n}]");
                let create: PropertyCreate =
                    serde_json::from_value(p.clone()).map_err(|e| entry(&what, e.to_string()))?;
                let group = format!(
                    "{}information",
                    store.types[idx].upper_singular.to_lowercase()
                );
                store
                    .create_property(idx, create.into_def(&group), "preload")
                    .map_err(|e| entry(&what, api_reason(&e)))?;
            }
        }
        for (object_type, records) in &self.objects {
            let idx = store
                .resolve(object_type)
                .ok_or_else(|| entry(format!("objects.{object_type}"), "no such object type"))?;
            for (n, record) in records.iter().enumerate() {
                let what = format!("objects.{object_type}[{n}]");
                let mut values = BTreeMap::new();
                for (name, value) in &record.properties {
                    let text = match value {
                        Value::Null => continue,
                        Value::String(s) => s.clone(),
                        Value::Bool(_) | Value::Number(_) => value.to_string(),
                        _ => return Err(entry(&what, format!("{name}: not a scalar"))),
                    };
                    values.insert(name.clone(), text);
                }
                match &record.id {
                    Some(id) => {
                        let id = id
                            .parse::<u64>()
                            .map_err(|_| entry(&what, format!("id '{id}' is not a number")))?;
                        store.insert_record(idx, id, values);
                    }
                    None => {
                        let values: Vec<(String, String)> = values.into_iter().collect();
                        store
                            .write(idx, None, &values)
                            .map_err(|c| entry(&what, format!("{} is not unique", c.property)))?;
                    }
                }
            }
        }
        for (n, list) in self.lists.iter().enumerate() {
            let what = format!("lists[{n}]");
            let id = match &list.list_id {
                Some(id) => id
                    .parse::<u64>()
                    .map_err(|_| entry(&what, format!("listId '{id}' is not a number")))?,
                None => store.next_list_id(),
            };
            let now = clock::now_iso();
            let mut members = Vec::new();
            for m in &list.members {
                let member = m
                    .parse::<u64>()
                    .map_err(|_| entry(&what, format!("member '{m}' is not a record id")))?;
                members.push((member, now.clone()));
            }
            store.lists.insert(
                id,
                List {
                    id,
                    name: list.name.clone(),
                    object_type_id: list.object_type_id.clone(),
                    processing_type: list
                        .processing_type
                        .clone()
                        .unwrap_or_else(|| "MANUAL".to_string()),
                    created_at: now.clone(),
                    updated_at: now,
                    members,
                },
            );
        }
        Ok(())
    }
}
