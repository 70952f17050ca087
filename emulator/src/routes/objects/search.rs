//! `POST …/search`.

use std::collections::HashMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::*;
use crate::app::{Ctx, Shared};
use crate::error::{ApiError, json_response};
use crate::routes::parse_json;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchBody {
    #[serde(default)]
    filter_groups: Vec<FilterGroup>,
    #[serde(default)]
    sorts: Vec<Sort>,
    #[serde(default)]
    properties: Vec<String>,
    limit: Option<usize>,
    after: Option<IdValue>,
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

fn filter_matches(f: &Filter, properties: &HashMap<&str, &str>) -> Option<bool> {
    let actual = properties.get(f.property_name.as_str()).copied();
    let wanted = f.value.as_ref().map(IdValue::text).unwrap_or_default();
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let cmp = |a: &str| match (a.parse::<f64>(), wanted.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y),
        _ => Some(a.cmp(wanted.as_str())),
    };
    Some(match f.operator.as_str() {
        "EQ" => actual.is_some_and(|a| eq(a, &wanted)),
        "NEQ" => !actual.is_some_and(|a| eq(a, &wanted)),
        "IN" => actual.is_some_and(|a| f.values.iter().any(|v| eq(a, &v.text()))),
        "NOT_IN" => !actual.is_some_and(|a| f.values.iter().any(|v| eq(a, &v.text()))),
        "HAS_PROPERTY" => actual.is_some(),
        "NOT_HAS_PROPERTY" => actual.is_none(),
        "GT" => actual.and_then(cmp).is_some_and(|o| o.is_gt()),
        "GTE" => actual.and_then(cmp).is_some_and(|o| o.is_ge()),
        "LT" => actual.and_then(cmp).is_some_and(|o| o.is_lt()),
        "LTE" => actual.and_then(cmp).is_some_and(|o| o.is_le()),
        _ => return None,
    })
}

/// `POST …/search`: EQ/NEQ/IN/NOT_IN/HAS_PROPERTY/NOT_HAS_PROPERTY/GT/GTE/LT/LTE filters,
/// filter groups OR-ed and filters within a group AND-ed, sorts, `after` paging.
pub async fn search(
    State(state): State<Shared>,
    Path(object_type): Path<String>,
    Extension(ctx): Extension<Ctx>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let query = parse_json::<SearchBody>(&body, &ctx)?;
    let store = state.store();
    let idx = resolve(&store, &object_type, &ctx)?;
    let t = &store.types[idx];
    let mut hits = Vec::new();
    for object in t.objects.values().filter(|o| !o.archived) {
        let props: HashMap<&str, &str> = object
            .properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut matched = query.filter_groups.is_empty();
        for group in &query.filter_groups {
            let mut all = true;
            for f in &group.filters {
                match filter_matches(f, &props) {
                    Some(ok) => all &= ok,
                    None => {
                        return Err(ApiError::validation(
                            format!(
                                "Invalid operator {} for property {}",
                                f.operator, f.property_name
                            ),
                            &ctx.correlation_id,
                        ));
                    }
                }
            }
            matched |= all;
        }
        if matched {
            hits.push(object);
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
            let (x, y) = (a.properties.get(&name), b.properties.get(&name));
            let o = match (
                x.and_then(|v| v.parse::<f64>().ok()),
                y.and_then(|v| v.parse::<f64>().ok()),
            ) {
                (Some(p), Some(q)) => p.partial_cmp(&q).unwrap_or(std::cmp::Ordering::Equal),
                _ => x.cmp(&y),
            };
            if descending { o.reverse() } else { o }
        });
    }
    let total = hits.len();
    let limit = query.limit.unwrap_or(10).clamp(1, 200);
    let offset: usize = query
        .after
        .map(|a| a.text())
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let results: Vec<Value> = hits
        .iter()
        .skip(offset)
        .take(limit)
        .map(|o| store.record_json(idx, o, Some(query.properties.as_slice())))
        .collect();
    let mut body = Map::new();
    body.insert("total".into(), json!(total));
    body.insert("results".into(), Value::Array(results));
    if offset + limit < total {
        body.insert(
            "paging".into(),
            json!({"next": {"after": (offset + limit).to_string()}}),
        );
    }
    Ok(json_response(StatusCode::OK, &Value::Object(body)))
}
