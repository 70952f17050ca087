//! `/_emulator/*`: what tests read back. Not part of HubSpot's API; no auth.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::error::json_response;
use crate::state::{Shared, Stats};

/// `GET /_emulator/objects/{objectType}`: every stored record, archived ones included.
pub async fn objects(State(state): State<Shared>, Path(object_type): Path<String>) -> Response {
    let store = state.store();
    let Some(idx) = store.resolve(&object_type) else {
        return (
            StatusCode::NOT_FOUND,
            format!("no object type {object_type}"),
        )
            .into_response();
    };
    let all: Vec<Value> = store.types[idx]
        .objects
        .values()
        .map(|o| Value::Object(store.object_json(idx, o, None)))
        .collect();
    json_response(StatusCode::OK, &Value::Array(all))
}

/// `GET /_emulator/associations`: every stored association.
pub async fn associations(State(state): State<Shared>) -> Response {
    let store = state.store();
    let all: Vec<Value> = store
        .associations
        .iter()
        .map(|a| {
            json!({
                "fromObjectTypeId": a.from_type,
                "fromObjectId": a.from_id.to_string(),
                "toObjectTypeId": a.to_type,
                "toObjectId": a.to_id.to_string(),
                "types": a.types.iter().map(|(c, id)| json!({"associationCategory": c, "associationTypeId": id})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json_response(StatusCode::OK, &Value::Array(all))
}

/// `GET /_emulator/stats`: request counts by status and route.
pub async fn stats(State(state): State<Shared>) -> Response {
    let stats = state.stats.lock().unwrap_or_else(|e| e.into_inner());
    let by_status: Map<String, Value> = stats
        .by_status
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let by_route: Map<String, Value> = stats
        .by_route
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"requests": stats.requests, "by_status": by_status, "by_route": by_route}),
    )
}

/// `POST /_emulator/reset`: back to an empty portal, counters and limits cleared.
pub async fn reset(State(state): State<Shared>) -> Response {
    // The preload applied once at start, so it applies again.
    if let Ok(store) = crate::state::fresh_store(&state.settings) {
        *state.store() = store;
    }
    *state.stats.lock().unwrap_or_else(|e| e.into_inner()) = Stats::default();
    state.limiter.reset();
    state.auth.reset();
    StatusCode::NO_CONTENT.into_response()
}
