//! `GET /account-info/v3/details`: the portal's id and settings.
//!
//! [INFERENCE] Neither the recordings nor `hubspot-api.md` hold this call; the fields and
//! their forms are those of HubSpot's published Account Information API reference.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::error::json_response;
use crate::state::Shared;

/// The portal's details.
pub async fn details(State(state): State<Shared>) -> Response {
    let portal_id = state.store().portal_id;
    json_response(
        StatusCode::OK,
        &json!({
            "portalId": portal_id,
            "accountType": "STANDARD",
            "timeZone": "US/Eastern",
            "companyCurrency": "USD",
            "additionalCurrencies": [],
            "utcOffset": "-05:00",
            "utcOffsetMilliseconds": -18_000_000,
            "uiDomain": "app.hubspot.com",
            "dataHostingLocation": "na1",
        }),
    )
}
