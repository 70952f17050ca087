//! The portal's state: object types, records, unique indexes and associations.

use serde_json::{Map, Value, json};

use crate::clock;
use crate::defaults;
use crate::model::{ObjectType, StoredObject};

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

/// Everything one emulated portal holds.
#[derive(Debug)]
pub struct Store {
    /// The portal (hub) id.
    pub portal_id: u64,
    /// Object types, standard ones first.
    pub types: Vec<ObjectType>,
    /// Associations in creation order.
    pub associations: Vec<Association>,
    next_object_id: u64,
    next_custom_type: u64,
}

impl Store {
    /// A portal with HubSpot's standard object types and no records.
    pub fn new(portal_id: u64) -> Self {
        Self {
            portal_id,
            types: defaults::standard_types(),
            associations: Vec::new(),
            next_object_id: 1001,
            next_custom_type: 1_000_001,
        }
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
        let id = existing.unwrap_or(self.next_object_id);
        let now = clock::now_iso();
        let created = existing.is_none();
        if created {
            self.next_object_id += 1;
        }
        let t = &mut self.types[idx];
        let object = t.objects.entry(id).or_insert_with(|| StoredObject {
            id,
            properties: Default::default(),
            created_at: now.clone(),
            updated_at: now.clone(),
            archived: false,
        });
        if created {
            object
                .properties
                .insert("hs_object_id".into(), id.to_string());
            object.properties.insert("createdate".into(), now.clone());
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

    /// Adds association types between two records (merging with existing ones).
    pub fn associate(
        &mut self,
        from_type: &str,
        from_id: u64,
        to_type: &str,
        to_id: u64,
        types: Vec<(String, u32)>,
    ) {
        if let Some(a) = self.associations.iter_mut().find(|a| {
            a.from_type == from_type
                && a.from_id == from_id
                && a.to_type == to_type
                && a.to_id == to_id
        }) {
            for t in types {
                if !a.types.contains(&t) {
                    a.types.push(t);
                }
            }
            return;
        }
        self.associations.push(Association {
            from_type: from_type.to_string(),
            from_id,
            to_type: to_type.to_string(),
            to_id,
            types,
        });
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
                for name in ["createdate", "hs_object_id", t.modified_property.as_str()] {
                    m.insert(name.into(), json!(object.properties.get(name)));
                }
                for name in names {
                    m.insert(name.clone(), json!(object.properties.get(name)));
                }
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

    /// The record's link in HubSpot's UI.
    pub fn url(&self, idx: usize, id: u64) -> String {
        format!(
            "https://app.hubspot.com/contacts/{}/record/{}/{id}",
            self.portal_id, self.types[idx].type_id
        )
    }
}
