//! Stream setup: a stream's configuration resolved against HubSpot's definitions (object
//! type, properties, key, associations and their types), the same way for a run and for
//! `--check`. A run stops on the first problem; `--check` reports them all.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::{AssociationCategory, StreamConfig};
use crate::error::FatalError;
use crate::hubspot::schemas::{self, ObjectTypes};
use crate::hubspot::wire::PropertyInfo;
use crate::hubspot::{CallError, Client};
use crate::mapping::fields::PropertyTable;
use crate::mapping::{StreamMapping, check_association};
use crate::model::StreamProblem;
use crate::writer::Strategy;

/// Why a stream was not set up.
#[derive(Debug)]
pub enum SetupError {
    /// The run cannot go on at all (HubSpot unreachable, credentials refused, a signal).
    Stop(FatalError),
    /// The stream is not configured as HubSpot can take it: each problem, in the order
    /// found.
    Problems(Vec<FatalError>),
}

impl From<FatalError> for SetupError {
    fn from(e: FatalError) -> Self {
        Self::Stop(e)
    }
}

impl SetupError {
    /// What a run stops on: the first problem.
    pub fn into_fatal(self) -> FatalError {
        match self {
            Self::Stop(e) => e,
            Self::Problems(problems) => problems.into_iter().next().unwrap_or_else(|| {
                FatalError::Request("stream setup failed without a reason".into())
            }),
        }
    }
}

/// Property definitions by object type, each read once, and the lookup table streams of
/// that type share (built on first use).
#[derive(Debug, Default)]
pub struct PropertyCache {
    definitions: HashMap<String, Vec<PropertyInfo>>,
    tables: HashMap<String, Arc<PropertyTable>>,
}

impl PropertyCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The definitions of `object_type`, when read.
    pub fn get(&self, object_type: &str) -> Option<&Vec<PropertyInfo>> {
        self.definitions.get(object_type)
    }

    fn contains(&self, object_type: &str) -> bool {
        self.definitions.contains_key(object_type)
    }

    fn insert(&mut self, object_type: &str, definitions: Vec<PropertyInfo>) {
        self.tables.remove(object_type);
        self.definitions
            .insert(object_type.to_string(), definitions);
    }

    /// Adds a property created during the run (later streams' tables include it).
    pub fn add(&mut self, object_type: &str, created: PropertyInfo) {
        self.tables.remove(object_type);
        self.definitions
            .entry(object_type.to_string())
            .or_default()
            .push(created);
    }

    /// The shared table of `object_type` (empty when its definitions were never read).
    fn table(&mut self, object_type: &str) -> Arc<PropertyTable> {
        let definitions = self.definitions.get(object_type);
        self.tables
            .entry(object_type.to_string())
            .or_insert_with(|| Arc::new(PropertyTable::new(definitions.map_or(&[], Vec::as_slice))))
            .clone()
    }
}

impl std::ops::Index<&String> for PropertyCache {
    type Output = Vec<PropertyInfo>;

    fn index(&self, object_type: &String) -> &Self::Output {
        &self.definitions[object_type]
    }
}

/// Reads (once) the property definitions of `object_type` into `cache`; `Ok(Err(reason))`
/// when HubSpot does not know the type.
async fn load(
    client: &Client,
    cache: &mut PropertyCache,
    object_type: &str,
) -> Result<Option<String>, FatalError> {
    if cache.contains(object_type) {
        return Ok(None);
    }
    match client.properties(object_type).await {
        Ok(props) => {
            cache.insert(object_type, props);
            Ok(None)
        }
        Err(e) => Ok(Some(e.reason()?)),
    }
}

/// Sets stream `name` up from `config`: its object type canonicalised, its properties and
/// those of every association's target read (into `cache`), its mapping resolved, every
/// association checked and its type resolved.
pub async fn prepare(
    client: &Client,
    types: &mut ObjectTypes,
    cache: &mut PropertyCache,
    name: &str,
    mut config: StreamConfig,
) -> Result<StreamMapping, SetupError> {
    let problem = |problem: StreamProblem| FatalError::Stream {
        stream: name.to_string(),
        problem,
    };
    if let Err(e) = canonicalise(client, types, &mut config).await {
        return Err(SetupError::Problems(vec![problem(
            StreamProblem::ObjectType(e.reason()?),
        )]));
    }
    let object_type = config.object_type.clone();
    if let Some(reason) = load(client, cache, &object_type).await? {
        return Err(SetupError::Problems(vec![problem(
            StreamProblem::ObjectType(format!(
                "HubSpot does not know object type '{object_type}' ({reason})"
            )),
        )]));
    }
    let mut problems = Vec::new();
    for association in &mut config.associations {
        let to = association.to_object_type.clone();
        if let Some(reason) = load(client, cache, &to).await? {
            problems.push(problem(StreamProblem::ObjectType(format!(
                "association field '{}': HubSpot does not know object type '{to}' ({reason})",
                association.field
            ))));
        } else if let Err(e) = check_association(name, association, &cache[&to]) {
            problems.push(e);
        }
    }
    let table = cache.table(&object_type);
    let mut mapping = match StreamMapping::resolve_over(name, config, &cache[&object_type], table) {
        Ok(m) if problems.is_empty() => m,
        Ok(_) => return Err(SetupError::Problems(problems)),
        Err(e) => {
            problems.push(e);
            return Err(SetupError::Problems(problems));
        }
    };
    // The writer's own rule for inline associations: they need a type id up front.
    let inline = Strategy::of(&mapping.matching, mapping.write_mode).associates_inline();
    for association in &mut mapping.associations {
        // A label names a type; an inline association needs a type id up front.
        if association.label.is_none() && (association.type_id.is_some() || !inline) {
            continue;
        }
        match schemas::association_type(
            client,
            &object_type,
            &association.to_object_type,
            association.label.as_deref(),
            &association.field,
        )
        .await
        {
            Ok(chosen) => {
                association.type_id = Some(chosen.type_id);
                association.category = if chosen.category == "USER_DEFINED" {
                    AssociationCategory::UserDefined
                } else {
                    AssociationCategory::HubspotDefined
                };
            }
            Err(e) => problems.push(problem(StreamProblem::Association(e.reason()?))),
        }
    }
    if problems.is_empty() {
        Ok(mapping)
    } else {
        Err(SetupError::Problems(problems))
    }
}

/// Rewrites the object types `stream` names (its own and its associations') to their
/// canonical names; [`CallError::Failed`] says which one is unknown or ambiguous and why.
async fn canonicalise(
    client: &Client,
    types: &mut ObjectTypes,
    stream: &mut StreamConfig,
) -> Result<(), CallError> {
    match types.canonical(client, &stream.object_type).await {
        Ok(c) => stream.object_type = c,
        Err(e) => return Err(CallError::Failed(format!("object_type {}", e.reason()?))),
    }
    for a in &mut stream.associations {
        match types.canonical(client, &a.to_object_type).await {
            Ok(c) => a.to_object_type = c,
            Err(e) => {
                return Err(CallError::Failed(format!(
                    "association field '{}': to_object_type {}",
                    a.field,
                    e.reason()?
                )));
            }
        }
    }
    Ok(())
}
