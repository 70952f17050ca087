//! HubSpot's routes, grouped as HubSpot groups its APIs.

mod account;
mod associations;
mod imports;
mod inspect;
mod lists;
mod oauth;
mod objects;
mod properties;
mod schemas;

use axum::Router;
use axum::body::Bytes;
use axum::routing::{get, post, put};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::{Ctx, Shared};
use crate::versions::ApiVersion;

/// `/{objectType}/…` below an objects prefix.
fn object_routes() -> Router<Shared> {
    Router::new()
        .route("/{object_type}/batch/upsert", post(objects::batch_upsert))
        .route("/{object_type}/batch/create", post(objects::batch_create))
        .route("/{object_type}/batch/update", post(objects::batch_update))
        .route("/{object_type}/batch/read", post(objects::batch_read))
        .route("/{object_type}/batch/archive", post(objects::batch_archive))
        .route("/{object_type}/search", post(objects::search))
        .route("/{object_type}/merge", post(objects::merge))
        .route(
            "/{object_type}",
            get(objects::list).post(objects::create_one),
        )
        .route(
            "/{object_type}/{id}",
            get(objects::get_one)
                .patch(objects::update_one)
                .delete(objects::delete_one),
        )
}

/// `/{objectType}/…` below a properties prefix.
fn property_routes() -> Router<Shared> {
    Router::new()
        .route(
            "/{object_type}",
            get(properties::list).post(properties::create),
        )
        .route(
            "/{object_type}/groups",
            get(properties::list_groups).post(properties::create_group),
        )
        .route(
            "/{object_type}/groups/{name}",
            get(properties::get_group)
                .patch(properties::update_group)
                .delete(properties::delete_group),
        )
        .route(
            "/{object_type}/{name}",
            get(properties::get_one)
                .patch(properties::update)
                .delete(properties::delete),
        )
}

/// Association batches and labels below an associations prefix (`/crm/v4/associations`,
/// `/crm/associations/2026-09`).
fn association_routes() -> Router<Shared> {
    Router::new()
        .route(
            "/{from}/{to}/batch/create",
            post(associations::batch_create),
        )
        .route(
            "/{from}/{to}/batch/associate/default",
            post(associations::batch_associate_default),
        )
        .route("/{from}/{to}/batch/read", post(associations::batch_read))
        .route(
            "/{from}/{to}/batch/archive",
            post(associations::batch_archive),
        )
        .route(
            "/{from}/{to}/labels",
            get(associations::labels).post(associations::create_label),
        )
}

/// One record's associations below an objects prefix (`/crm/v4/objects`,
/// `/crm/objects/2026-09`).
fn record_association_routes() -> Router<Shared> {
    Router::new()
        .route(
            "/{object_type}/{id}/associations/{to_type}",
            get(associations::list_for_object),
        )
        .route(
            "/{object_type}/{id}/associations/{to_type}/{to_id}",
            put(associations::put_labelled).delete(associations::delete_pair),
        )
        .route(
            "/{object_type}/{id}/associations/default/{to_type}/{to_id}",
            put(associations::put_default),
        )
}

/// Custom-object schemas below a schemas prefix.
fn schema_routes() -> Router<Shared> {
    Router::new()
        .route("/schemas", get(schemas::list).post(schemas::create))
        .route("/schemas/{object_type}", get(schemas::get_one))
}

/// The numbered routes (`/crm/v3/…`, `/crm/v4/associations/…`, `/account-info/v3/…`).
fn numbered_routes() -> Router<Shared> {
    Router::new()
        .nest(
            "/crm/v3/objects",
            object_routes().route(
                "/{object_type}/{id}/associations/{to_type}/{to_id}/{association_type}",
                put(associations::put_v3),
            ),
        )
        .nest("/crm/v3/properties", property_routes())
        .nest("/crm-object-schemas/v3", schema_routes())
        .nest("/crm/v3", schema_routes())
        .nest("/crm/v4/associations", association_routes())
        .nest("/crm/v4/objects", record_association_routes())
        .route("/account-info/v3/details", get(account::details))
        .route("/crm/v3/lists", post(lists::create))
        // HubSpot's official clients post to `/crm/v3/lists/`.
        .route("/crm/v3/lists/", post(lists::create))
        .route(
            "/crm/v3/lists/object-type-id/{object_type_id}/name/{name}",
            get(lists::by_name),
        )
        .route("/crm/v3/lists/{id}", get(lists::get_one))
        .route(
            "/crm/v3/lists/{id}/memberships/join-order",
            get(lists::join_order),
        )
        .route(
            "/crm/v3/lists/{id}/memberships/add-and-remove",
            put(lists::add_and_remove),
        )
}

/// A dated version's routes (`/crm/objects/2026-09/…`, `/crm/properties/2026-09/…`,
/// `/crm/associations/2026-09/…`, `/crm-object-schemas/2026-09/…`,
/// `/account-info/2026-09/…`), as HubSpot's specs of that version list them.
fn dated_routes(date: &str) -> Router<Shared> {
    Router::new()
        .nest(
            &format!("/crm/objects/{date}"),
            object_routes().merge(record_association_routes()),
        )
        .nest(&format!("/crm/properties/{date}"), property_routes())
        .nest(&format!("/crm-object-schemas/{date}"), schema_routes())
        .nest(&format!("/crm/associations/{date}"), association_routes())
        .route(
            &format!("/account-info/{date}/details"),
            get(account::details),
        )
}

/// Object, property, schema and association routes of the `versions` served: auth and rate
/// limits apply. Every version takes the same bodies; where answers differ, handlers ask
/// [`crate::state::Ctx::version`].
pub fn crm_routes(versions: &[ApiVersion]) -> Router<Shared> {
    let mut router = Router::new();
    for version in versions {
        router = match version.date() {
            None => router.merge(numbered_routes()),
            Some(date) => router.merge(dated_routes(date)),
        };
    }
    router
}

/// The Imports API of the `versions` served (`/crm/v3/imports`, `/crm/imports/{date}`); HubSpot's
/// clients post to `…/imports/` too.
pub fn import_routes(versions: &[ApiVersion]) -> Router<Shared> {
    let mut router = Router::new();
    for version in versions {
        let base = match version.date() {
            None => "/crm/v3/imports".to_string(),
            Some(date) => format!("/crm/imports/{date}"),
        };
        router = router
            .route(&base, get(imports::list).post(imports::create))
            .route(&format!("{base}/"), post(imports::create))
            .route(&format!("{base}/{{id}}"), get(imports::get_one))
            .route(&format!("{base}/{{id}}/cancel"), post(imports::cancel))
            .route(&format!("{base}/{{id}}/errors"), get(imports::errors));
    }
    router
}

/// The OAuth token endpoints of the `versions` served: `POST /oauth/v1/token` (numbered) and
/// `POST /oauth/2026-03/token` (dated; also `/oauth/2026-09/token`). Counted, but neither
/// authenticated nor rate limited.
pub fn oauth_routes(versions: &[ApiVersion]) -> Router<Shared> {
    let mut router = Router::new();
    if versions.contains(&ApiVersion::Numbered) {
        router = router.route("/oauth/v1/token", post(oauth::token));
    }
    if versions.iter().any(|v| v.date().is_some()) {
        router = router
            .route("/oauth/2026-03/token", post(oauth::token))
            .route("/oauth/2026-09/token", post(oauth::token));
    }
    router
}

/// `/_emulator/*`: inspection for tests, no auth.
pub fn inspect_routes() -> Router<Shared> {
    Router::new()
        .route("/_emulator/objects/{object_type}", get(inspect::objects))
        .route("/_emulator/associations", get(inspect::associations))
        .route("/_emulator/stats", get(inspect::stats))
        .route("/_emulator/reset", post(inspect::reset))
}

/// The Java class HubSpot's parser names when a body holds the wrong kind of JSON value where
/// this type belongs.
pub trait JavaName {
    /// Fully qualified class name.
    const NAME: &'static str;
}

/// A `T` that only a JSON object can be (serde would also take an array for a struct), so
/// that an array in its place is refused as HubSpot's parser refuses it.
#[derive(Debug)]
pub struct Object<T>(pub T);

impl<'de, T: serde::Deserialize<'de> + JavaName> serde::Deserialize<'de> for Object<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<T>(std::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de> + JavaName> serde::de::Visitor<'de> for Visit<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "`{}`", T::NAME)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Object)
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// serde's "invalid type: sequence, expected `T`" in the words of HubSpot's (Jackson) parser,
/// or `None` when serde's words stay.
fn jackson_words(detail: &str) -> Option<String> {
    for (serde_kind, jackson) in [
        ("sequence", "Array value (token `JsonToken.START_ARRAY`)"),
        ("map", "Object value (token `JsonToken.START_OBJECT`)"),
    ] {
        let prefix = format!("invalid type: {serde_kind}, expected `");
        if let Some(class) = detail
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix('`'))
        {
            return Some(format!(
                "Cannot deserialize value of type `{class}` from {jackson}"
            ));
        }
    }
    None
}

/// Parses a JSON body, answering as HubSpot does when it cannot: 400 "Invalid input JSON on
/// line L, column C: …" without a `category` (in Jackson's words where the emulator knows
/// them, serde's otherwise).
pub fn parse_json<T: DeserializeOwned>(body: &Bytes, ctx: &Ctx) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        let text = e.to_string();
        let detail = text.split(" at line ").next().unwrap_or(&text).to_string();
        let (column, detail) = match jackson_words(&detail) {
            // serde places a wrong-type error just before the value; Jackson names the
            // value's own (1-based) column, as recorded.
            Some(words) => (e.column() + 1, words),
            None => (e.column(), detail),
        };
        ApiError::invalid_json(
            format_args!("on line {}, column {column}: {detail}", e.line()),
            &ctx.correlation_id,
        )
    })
}
