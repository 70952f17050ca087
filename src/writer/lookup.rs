//! Key → record-id lookups, in one place: the ids this run already holds (records it wrote in
//! any stream, and the ledger's), then HubSpot's search for the rest, in request bodies
//! HubSpot accepts.
//!
//! HubSpot's search index trails writes by a second or two, so a record written moments ago
//! is found through [`RunIds`] when this run wrote it, and otherwise by searching once more
//! after [`Lookups::catch_up`] before it is declared missing.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};

use crate::hubspot::{CallError, Client};
use crate::mapping::Properties;
use crate::mapping::keys::KeyKind;
use crate::mapping::values::Field;

/// HubSpot's limit on a search request: "A query can contain a maximum of 3,000 characters.
/// If the body of your request exceeds 3,000 characters, a 400 error will be returned"
/// (the CRM search guide). Counted here in bytes, which are never fewer than characters.
pub const MAX_SEARCH_BODY: usize = 3_000;
/// Values of one `IN` filter (\[INFERENCE\]: HubSpot documents no figure; 100 is the batch
/// size of its other APIs).
const MAX_IN_VALUES: usize = 100;
/// Results per search page (HubSpot's maximum `limit`).
const PAGE: usize = 200;
/// Results a search can page through.
const MAX_RESULTS: usize = 10_000;
/// Room kept in a body for the paging cursor (`,"after":"…"`).
const AFTER_ROOM: usize = 48;

/// Record ids by normalised key.
pub type Found = HashMap<String, Vec<String>>;

/// What the run's lookups share: the ids it holds and how long search may need to catch up.
#[derive(Debug, Default)]
pub struct Lookups {
    /// Ids of records this run wrote or its ledger knows, by searched property.
    pub ids: RunIds,
    /// How long to wait before searching again for keys search did not find (the index
    /// may not hold a record written moments ago); zero searches once.
    pub catch_up: Duration,
}

/// Ids of records this run holds, by `(object type, property)` and normalised key, for the
/// properties some lookup searches.
#[derive(Debug, Default)]
pub struct RunIds {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The properties whose values are remembered, by object type.
    wanted: HashMap<String, Vec<String>>,
    /// `(object type, property)` → key → ids.
    ids: HashMap<(String, String), Found>,
}

impl RunIds {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remembers, from now on, the values of `property` that records of `object_type` are
    /// written with.
    pub fn want(&self, object_type: &str, property: &str) {
        let mut inner = self.lock();
        let props = inner.wanted.entry(object_type.to_string()).or_default();
        if !props.iter().any(|p| p == property) {
            props.push(property.to_string());
        }
    }

    /// Notes records of `object_type` HubSpot acknowledged, each with the properties it was
    /// written with and its id.
    pub fn written<'a>(
        &self,
        object_type: &str,
        records: impl IntoIterator<Item = (&'a Properties, &'a str)>,
    ) {
        let mut inner = self.lock();
        let Some(wanted) = inner.wanted.get(object_type).cloned() else {
            return;
        };
        for (properties, id) in records {
            for property in &wanted {
                let Some(value) = properties.get(property) else {
                    continue;
                };
                let field = Field::Text(value.as_str().into());
                if let Ok(key) = KeyKind::for_search(property).normalise(Some(&field)) {
                    add(&mut inner, object_type, property, key, id);
                }
            }
        }
    }

    /// Notes that `key` of `property` names record `id`, unless the run already holds ids
    /// for it.
    pub fn insert(&self, object_type: &str, property: &str, key: &str, id: &str) {
        let mut inner = self.lock();
        let held = inner
            .ids
            .get(&(object_type.to_string(), property.to_string()))
            .is_some_and(|keys| keys.contains_key(key));
        if !held {
            add(&mut inner, object_type, property, key.to_string(), id);
        }
    }

    /// Forgets `key` (its record no longer exists).
    pub fn forget(&self, object_type: &str, property: &str, key: &str) {
        let mut inner = self.lock();
        if let Some(keys) = inner
            .ids
            .get_mut(&(object_type.to_string(), property.to_string()))
        {
            keys.remove(key);
        }
    }

    /// The ids held for each of `keys` that has any.
    pub fn get<'k>(
        &self,
        object_type: &str,
        property: &str,
        keys: impl IntoIterator<Item = &'k str>,
    ) -> Found {
        let inner = self.lock();
        let Some(held) = inner
            .ids
            .get(&(object_type.to_string(), property.to_string()))
        else {
            return Found::new();
        };
        keys.into_iter()
            .filter_map(|k| held.get(k).map(|ids| (k.to_string(), ids.clone())))
            .collect()
    }
}

fn add(inner: &mut Inner, object_type: &str, property: &str, key: String, id: &str) {
    let ids = inner
        .ids
        .entry((object_type.to_string(), property.to_string()))
        .or_default()
        .entry(key)
        .or_default();
    if !ids.iter().any(|i| i == id) {
        ids.push(id.to_string());
    }
}

/// What a lookup found.
#[derive(Debug, Default)]
pub struct Lookup {
    /// Record ids by normalised key; a key that found nothing is absent.
    pub found: Found,
    /// Keys too long to search even alone, with why.
    pub refused: HashMap<String, String>,
    /// Keys found among the ids the run holds rather than by search.
    pub held: HashSet<String>,
}

/// Finds the records whose `property` (without unique values) holds each of `keys` (already
/// normalised): first among the ids the run holds, then by search. With `catch_up`, keys
/// search did not find are searched again once the index has had time to catch up.
/// [`CallError::Failed`] says why the lookup failed as a whole.
pub async fn find_searched(
    client: &Client,
    lookups: &Lookups,
    object_type: &str,
    property: &str,
    keys: &[&str],
    catch_up: bool,
) -> Result<Lookup, CallError> {
    let found = lookups.ids.get(object_type, property, keys.iter().copied());
    let mut lookup = Lookup {
        held: found.keys().cloned().collect(),
        found,
        ..Lookup::default()
    };
    let mut rest: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| !lookup.found.contains_key(*k))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    rest.sort_unstable();
    let mut first = true;
    while !rest.is_empty() {
        if !first {
            tracing::debug!(
                keys = rest.len(),
                "{object_type} not found by {property}; searching again once the index has caught up"
            );
            client.pause(lookups.catch_up).await?;
        }
        let more = search(client, object_type, property, &rest).await?;
        lookup.found.extend(more.found);
        lookup.refused.extend(more.refused);
        if !first || !catch_up || lookups.catch_up.is_zero() {
            break;
        }
        first = false;
        rest.retain(|k| !lookup.found.contains_key(*k) && !lookup.refused.contains_key(*k));
    }
    Ok(lookup)
}

/// Searches `property` for `keys` with `IN` filters, as many keys a request as fit in
/// HubSpot's body limit, paging through the results.
pub async fn search(
    client: &Client,
    object_type: &str,
    property: &str,
    keys: &[&str],
) -> Result<Lookup, CallError> {
    let kind = KeyKind::for_search(property);
    let (chunks, refused) = search_chunks(property, keys);
    let mut lookup = Lookup {
        refused,
        ..Lookup::default()
    };
    for chunk in chunks {
        let mut after: Option<String> = None;
        let mut seen = 0usize;
        loop {
            let mut body = search_body(property, &chunk);
            if let Some(a) = &after {
                body["after"] = json!(a);
            }
            let answer = client.search(object_type, &body).await?;
            let results = answer["results"].as_array().cloned().unwrap_or_default();
            seen += results.len();
            for r in &results {
                let Some(id) = id_text(&r["id"]) else {
                    continue;
                };
                let value = r["properties"][property].as_str().unwrap_or_default();
                if let Ok(key) = kind.normalise(Some(&Field::Text(value.into()))) {
                    let ids = lookup.found.entry(key).or_default();
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
            after = answer["paging"]["next"]["after"].as_str().map(String::from);
            if after.is_none() || results.is_empty() {
                break;
            }
            if seen + PAGE > MAX_RESULTS {
                return Err(CallError::Failed(format!(
                    "search for these {property} values matched more than {MAX_RESULTS} records, more than HubSpot lets a search page through"
                )));
            }
        }
    }
    Ok(lookup)
}

/// The search body for `keys` (without a paging cursor).
fn search_body(property: &str, keys: &[&str]) -> Value {
    json!({
        "filterGroups": [{"filters": [{"propertyName": property, "operator": "IN", "values": keys}]}],
        "properties": [property],
        "limit": PAGE,
    })
}

/// `keys` in groups whose search bodies, with room for a paging cursor, stay within
/// [`MAX_SEARCH_BODY`] (and [`MAX_IN_VALUES`] values); keys too long to search alone are
/// refused with why.
fn search_chunks<'k>(
    property: &str,
    keys: &[&'k str],
) -> (Vec<Vec<&'k str>>, HashMap<String, String>) {
    let base = search_body(property, &[]).to_string().len() + AFTER_ROOM;
    let room = MAX_SEARCH_BODY.saturating_sub(base);
    let mut chunks: Vec<Vec<&str>> = Vec::new();
    let mut refused = HashMap::new();
    let mut current: Vec<&str> = Vec::new();
    let mut used = 0usize;
    for &key in keys {
        // The value as JSON text, and a comma between values.
        let cost = Value::from(key).to_string().len() + 1;
        if cost > room {
            refused.insert(
                key.to_string(),
                format!(
                    "the {property} value is {} characters long: a search for it alone exceeds HubSpot's limit of {MAX_SEARCH_BODY} characters a search request",
                    key.chars().count()
                ),
            );
            continue;
        }
        if used + cost > room || current.len() == MAX_IN_VALUES {
            chunks.push(std::mem::take(&mut current));
            used = 0;
        }
        current.push(key);
        used += cost;
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    (chunks, refused)
}

/// An id in a HubSpot body, which may be a string or a number.
pub fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_bodies_stay_within_hubspot_limit_whatever_the_key_lengths() {
        let keys: Vec<String> = (0..300)
            .map(|i| format!("{i:03}-{}.example.com", "x".repeat(i % 90)))
            .collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let (chunks, refused) = search_chunks("domain", &refs);
        assert!(refused.is_empty());
        assert_eq!(chunks.iter().map(Vec::len).sum::<usize>(), 300);
        assert!(chunks.len() > 3, "300 long keys need more than 3 requests");
        for chunk in &chunks {
            let mut body = search_body("domain", chunk);
            body["after"] = json!("12345678901234567890");
            assert!(body.to_string().len() <= MAX_SEARCH_BODY, "{}", body);
            assert!(chunk.len() <= MAX_IN_VALUES);
        }
    }

    #[test]
    fn short_keys_fill_a_request_up_to_the_value_limit() {
        let keys: Vec<String> = (0..250).map(|i| format!("d{i}.io")).collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let (chunks, _) = search_chunks("domain", &refs);
        assert_eq!(
            chunks.iter().map(Vec::len).collect::<Vec<_>>(),
            [100, 100, 50]
        );
    }

    #[test]
    fn a_key_too_long_to_search_alone_is_refused_with_a_reason() {
        let long = "y".repeat(3_000);
        let (chunks, refused) = search_chunks("domain", &["ok.com", &long]);
        assert_eq!(chunks, vec![vec!["ok.com"]]);
        assert!(
            refused[&long].contains("3000 characters long"),
            "{refused:?}"
        );
    }

    #[test]
    fn written_records_are_remembered_by_the_wanted_properties_only() {
        let ids = RunIds::default();
        ids.want("companies", "domain");
        let props: Properties = [
            ("domain".into(), "https://www.Acme.com/x".into()),
            ("name".into(), "Acme".into()),
        ]
        .into_iter()
        .collect();
        ids.written("companies", [(&props, "7")]);
        ids.written("deals", [(&props, "8")]);
        ids.written("companies", [(&props, "9")]);
        let found = ids.get("companies", "domain", ["acme.com", "other.com"]);
        assert_eq!(found.len(), 1);
        assert_eq!(found["acme.com"], ["7", "9"]);
        assert!(ids.get("companies", "name", ["acme"]).is_empty());
        ids.forget("companies", "domain", "acme.com");
        assert!(ids.get("companies", "domain", ["acme.com"]).is_empty());
    }
}
