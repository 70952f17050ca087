//! `POST …/search`, with HubSpot's limits: bodies of at most 3,000 characters, 5 filter
//! groups, 6 filters in a group and 18 in all (HubSpot's search guide, 2026-03; the changelog
//! of Aug 2024 said 10 and 25), one sort, `limit` up to 200, no paging past 10,000 results. Every documented operator, free-text `query` over the type's default searchable
//! properties, and the search index's lag: a write is found only once it has been indexed.

use std::collections::BTreeMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::*;
use crate::clock;
use crate::defaults::{default_result_properties, searchable_properties};
use crate::error::{ApiError, json_response};
use crate::model::{ObjectType, PropertyType, StoredObject};
use crate::routes::parse_json;
use crate::state::{Ctx, Shared};

/// Filter groups per request.
pub const MAX_FILTER_GROUPS: usize = 5;
/// Filters per group (HubSpot's search guide, 2026-03: "up to six filters" a group).
pub const MAX_FILTERS_PER_GROUP: usize = 6;
/// Filters per request (the same guide: 18 in all).
pub const MAX_FILTERS: usize = 18;
/// Values of one `IN` / `NOT_IN` filter (\[INFERENCE\]: HubSpot documents no figure; 100 is
/// the batch size its other APIs use).
pub const MAX_IN_VALUES: usize = 100;
/// Characters of a request body: "A query can contain a maximum of 3,000 characters. If the
/// body of your request exceeds 3,000 characters, a 400 error will be returned" (HubSpot's
/// CRM search guide). \[INFERENCE\] counted in characters of the body as sent; the error's
/// text was not recorded.
pub const MAX_BODY_CHARS: usize = 3_000;
/// Results per page.
pub const MAX_LIMIT: usize = 200;
/// Results a query can page through.
pub const MAX_RESULTS: usize = 10_000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchBody {
    #[serde(default)]
    filter_groups: Vec<FilterGroup>,
    #[serde(default)]
    sorts: Vec<Sort>,
    #[serde(default)]
    properties: Vec<String>,
    query: Option<String>,
    limit: Option<usize>,
    after: Option<IdValue>,
    /// Not a field of HubSpot's search body (filters go in `filterGroups`): refused rather
    /// than ignored, which would return every record.
    filters: Option<Value>,
}

#[derive(Deserialize)]
struct FilterGroup {
    #[serde(default)]
    filters: Vec<Filter>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filter {
    property_name: String,
    operator: String,
    value: Option<IdValue>,
    high_value: Option<IdValue>,
    #[serde(default)]
    values: Vec<IdValue>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Sort {
    Name(String),
    Spec {
        #[serde(rename = "propertyName")]
        property_name: String,
        #[serde(default)]
        direction: Option<String>,
    },
}

const OPERATORS: &[&str] = &[
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
];

/// Orders two values as numbers when both are, otherwise as text.
fn compare(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        _ => a.cmp(b),
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters.
fn wildcard(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    if !text.ends_with(last) {
        return false;
    }
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

/// `CONTAINS_TOKEN`: the value, or one of its whitespace-separated words, matches the token
/// (case-insensitively, `*` as wildcard).
fn contains_token(value: &str, token: &str) -> bool {
    let (value, token) = (value.to_lowercase(), token.to_lowercase());
    wildcard(&token, &value) || value.split_whitespace().any(|w| wildcard(&token, w))
}

/// A date or datetime value as epoch milliseconds: epoch milliseconds as digits, an RFC 3339
/// instant, or a `YYYY-MM-DD` date (midnight UTC).
fn instant(text: &str) -> Option<i128> {
    let text = text.trim();
    if let Ok(ms) = text.parse::<i128>() {
        return Some(ms);
    }
    let rfc3339 = &time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(text, rfc3339) {
        return Some(t.unix_timestamp_nanos() / 1_000_000);
    }
    let date = time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()?;
    Some(i128::from(date.midnight().assume_utc().unix_timestamp()) * 1_000)
}

/// How a filter compares values of a property, by its type.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Comparison {
    /// Dates and datetimes: as instants (HubSpot's examples filter them with epoch
    /// milliseconds).
    Instant,
    /// Enumerations: values as written, case-sensitively (dropdown values are).
    Exact,
    /// Other strings: `EQ`/`NEQ` ignore case; `IN`/`NOT_IN` compare as written (HubSpot asks
    /// for lower-case `IN` values on strings: an upper-case value finds nothing).
    Text,
}

impl Comparison {
    fn of(t: &ObjectType, property: &str) -> Self {
        match t.property(property).map(|p| p.kind) {
            Some(PropertyType::Date | PropertyType::DateTime) => Self::Instant,
            Some(PropertyType::Enumeration) => Self::Exact,
            _ => Self::Text,
        }
    }

    fn order(self, a: &str, b: &str) -> std::cmp::Ordering {
        match (self, instant(a), instant(b)) {
            (Self::Instant, Some(x), Some(y)) => x.cmp(&y),
            _ => compare(a, b),
        }
    }

    fn equal(self, a: &str, b: &str) -> bool {
        match self {
            Self::Instant => self.order(a, b).is_eq(),
            Self::Exact => a == b,
            Self::Text => a.eq_ignore_ascii_case(b),
        }
    }

    fn member(self, a: &str, values: &[IdValue]) -> bool {
        match self {
            Self::Instant => values.iter().any(|v| self.equal(a, &v.text())),
            // \[INFERENCE\] HubSpot's index holds strings lower-cased for IN: a lower-case
            // value finds any case, an upper-case one finds nothing.
            Self::Text => values.iter().any(|v| {
                let v = v.text();
                v == v.to_lowercase() && a.to_lowercase() == v
            }),
            Self::Exact => values.iter().any(|v| a == v.text()),
        }
    }
}

fn filter_matches(t: &ObjectType, f: &Filter, properties: &BTreeMap<String, String>) -> bool {
    let actual = properties
        .get(&f.property_name)
        .map(String::as_str)
        .filter(|v| !v.is_empty());
    let wanted = f.value.as_ref().map(IdValue::text).unwrap_or_default();
    let how = Comparison::of(t, &f.property_name);
    let cmp = |a: &str| how.order(a, &wanted);
    match f.operator.as_str() {
        "EQ" => actual.is_some_and(|a| how.equal(a, &wanted)),
        "NEQ" => !actual.is_some_and(|a| how.equal(a, &wanted)),
        "IN" => actual.is_some_and(|a| how.member(a, &f.values)),
        "NOT_IN" => !actual.is_some_and(|a| how.member(a, &f.values)),
        "HAS_PROPERTY" => actual.is_some(),
        "NOT_HAS_PROPERTY" => actual.is_none(),
        "GT" => actual.is_some_and(|a| cmp(a).is_gt()),
        "GTE" => actual.is_some_and(|a| cmp(a).is_ge()),
        "LT" => actual.is_some_and(|a| cmp(a).is_lt()),
        "LTE" => actual.is_some_and(|a| cmp(a).is_le()),
        "BETWEEN" => {
            let high = f.high_value.as_ref().map(IdValue::text).unwrap_or_default();
            actual.is_some_and(|a| cmp(a).is_ge() && how.order(a, &high).is_le())
        }
        "CONTAINS_TOKEN" => actual.is_some_and(|a| contains_token(a, &wanted)),
        "NOT_CONTAINS_TOKEN" => !actual.is_some_and(|a| contains_token(a, &wanted)),
        _ => false,
    }
}

/// Free-text `query`: \[INFERENCE\] every word of it starts a word of one of the type's default
/// searchable properties, case-insensitively.
fn query_matches(query: &str, type_id: &str, properties: &BTreeMap<String, String>) -> bool {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    words.iter().all(|word| {
        searchable_properties(type_id).iter().any(|name| {
            properties.get(*name).is_some_and(|v| {
                let v = v.to_lowercase();
                v.starts_with(word.as_str())
                    || v.split(|c: char| !c.is_alphanumeric())
                        .any(|w| w.starts_with(word.as_str()))
            })
        })
    })
}

/// The request-level refusals, in the order HubSpot would meet them. \[INFERENCE\] the texts:
/// HubSpot's were not recorded.
fn check_limits(query: &SearchBody, ctx: &Ctx) -> Result<(usize, usize), ApiError> {
    let invalid = |m: String| Err(ApiError::validation(m, &ctx.correlation_id));
    if query.filters.is_some() {
        // [INFERENCE] text: HubSpot's parser rejects unknown fields of the search body.
        return invalid(
            "Unrecognized field \"filters\": filters go in filterGroups, e.g. {\"filterGroups\": [{\"filters\": [...]}]}".into(),
        );
    }
    if query.sorts.len() > 1 {
        // The search guide: "only one sorting rule can be applied to any search".
        return invalid(format!(
            "Only one sort is allowed, {} were given",
            query.sorts.len()
        ));
    }
    if query.filter_groups.len() > MAX_FILTER_GROUPS {
        return invalid(format!(
            "Too many filter groups: {} were given, the limit is {MAX_FILTER_GROUPS}",
            query.filter_groups.len()
        ));
    }
    let mut total = 0;
    for group in &query.filter_groups {
        if group.filters.len() > MAX_FILTERS_PER_GROUP {
            return invalid(format!(
                "Too many filters in a filter group: {} were given, the limit is {MAX_FILTERS_PER_GROUP}",
                group.filters.len()
            ));
        }
        total += group.filters.len();
        for f in &group.filters {
            if !OPERATORS.contains(&f.operator.as_str()) {
                return invalid(format!(
                    "Invalid operator {} for property {}",
                    f.operator, f.property_name
                ));
            }
            if f.values.len() > MAX_IN_VALUES {
                return invalid(format!(
                    "Too many values for {} on {}: {} were given, the limit is {MAX_IN_VALUES}",
                    f.operator,
                    f.property_name,
                    f.values.len()
                ));
            }
            if f.operator == "BETWEEN" && (f.value.is_none() || f.high_value.is_none()) {
                return invalid(format!(
                    "BETWEEN on {} needs value and highValue",
                    f.property_name
                ));
            }
        }
    }
    if total > MAX_FILTERS {
        return invalid(format!(
            "Too many filters: {total} were given, the limit is {MAX_FILTERS}"
        ));
    }
    let limit = query.limit.unwrap_or(10);
    if limit == 0 || limit > MAX_LIMIT {
        return invalid(format!(
            "limit must be between 1 and {MAX_LIMIT}, was {limit}"
        ));
    }
    let offset: usize = match &query.after {
        None => 0,
        Some(a) => match a.text().parse() {
            Ok(n) => n,
            Err(_) => return invalid(format!("after '{}' is not a valid offset", a.text())),
        },
    };
    if offset + limit > MAX_RESULTS {
        return invalid(format!(
            "Searches can page through at most {MAX_RESULTS} results (after {offset} + limit {limit})"
        ));
    }
    Ok((limit, offset))
}

/// `POST …/search`: filter groups OR-ed, filters within a group AND-ed, `query`, sorts,
/// `after` paging; records are found as the search index holds them.
pub async fn search(
    State(state): State<Shared>,
    Path(object_type): Path<String>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let chars = String::from_utf8_lossy(&body).chars().count();
    if chars > MAX_BODY_CHARS {
        return Err(ApiError::validation(
            format!(
                "The request body is {chars} characters long; a search query can contain a maximum of {MAX_BODY_CHARS} characters"
            ),
            &ctx.correlation_id,
        ));
    }
    let query = parse_json::<SearchBody>(&body, &ctx)?;
    let (limit, offset) = check_limits(&query, &ctx)?;
    let store = state.store();
    let idx = resolve(&store, &object_type, &ctx)?;
    let t = &store.types[idx];
    let now = clock::now_millis();
    // Each record as search sees it: its indexed values, not later writes.
    let mut hits: Vec<StoredObject> = Vec::new();
    for object in t.objects.values().filter(|o| !o.archived) {
        let Some(props) = object.searchable(now) else {
            continue;
        };
        let by_filters = query.filter_groups.is_empty()
            || query
                .filter_groups
                .iter()
                .any(|g| g.filters.iter().all(|f| filter_matches(t, f, props)));
        let by_query = query
            .query
            .as_deref()
            .is_none_or(|q| query_matches(q, &t.type_id, props));
        if by_filters && by_query {
            // The record as the index holds it: its indexed values, its own metadata.
            hits.push(StoredObject {
                id: object.id,
                properties: props.clone(),
                created_at: object.created_at.clone(),
                updated_at: object.updated_at.clone(),
                archived: object.archived,
                indexed: None,
                index_due: None,
            });
        }
    }
    for sort in query.sorts.iter().rev() {
        let (name, descending) = match sort {
            Sort::Name(n) => (n.clone(), false),
            Sort::Spec {
                property_name,
                direction,
            } => (
                property_name.clone(),
                direction.as_deref() == Some("DESCENDING"),
            ),
        };
        hits.sort_by(|a, b| {
            let o = match (a.properties.get(&name), b.properties.get(&name)) {
                (Some(x), Some(y)) => compare(x, y),
                (x, y) => x.cmp(&y),
            };
            if descending { o.reverse() } else { o }
        });
    }
    let total = hits.len();
    let names: Vec<String> = if query.properties.is_empty() {
        default_result_properties(&t.type_id)
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        query.properties.clone()
    };
    let results: Vec<Value> = hits
        .iter()
        .skip(offset)
        .take(limit)
        .map(|o| store.record_json(idx, o, Some(names.as_slice())))
        .collect();
    let mut body = Map::new();
    body.insert("total".into(), json!(total));
    body.insert("results".into(), Value::Array(results));
    if offset + limit < total.min(MAX_RESULTS) {
        body.insert(
            "paging".into(),
            json!({"next": {"after": (offset + limit).to_string()}}),
        );
    }
    Ok(json_response(StatusCode::OK, &Value::Object(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_runs_of_characters() {
        assert!(wildcard("*@hubspot.com", "ada@hubspot.com"));
        assert!(wildcard("ada*", "ada@hubspot.com"));
        assert!(wildcard("a*b*c", "aXbYc"));
        assert!(!wildcard("a*b*c", "aXcYb"));
        assert!(!wildcard("ada", "adam"));
        assert!(contains_token("Ada King Lovelace", "king"));
        assert!(!contains_token("Ada Lovelace", "kin"));
    }
}
