//! Strict wherever HubSpot is strict: each refusal a lenient emulator would let a loader pass
//! locally and fail on HubSpot.

mod common;

use common::{Hub, contact};
use hubspot_emulator::Settings;
use serde_json::{Value, json};

const UPSERT: &str = "/crm/v3/objects/contacts/batch/upsert";

async fn lagless() -> Hub {
    Hub::start(Settings {
        search_lag: std::time::Duration::ZERO,
        ..Settings::unlimited()
    })
    .await
}

#[tokio::test]
async fn a_property_name_in_the_wrong_case_refuses_the_whole_request() {
    let hub = lagless().await;
    let reply = hub
        .post(
            UPSERT,
            json!({"inputs": [
                contact(Some("1"), "good@example.com", json!({"firstname": "Good"})),
                contact(Some("2"), "bad@example.com", json!({"FirstName": "Bad"})),
            ]}),
        )
        .await;
    insta::assert_json_snapshot!(reply.snapshot());
    assert!(
        hub.stored("contacts").await.is_empty(),
        "nothing is written"
    );
}

#[tokio::test]
async fn a_batch_association_of_the_wrong_type_or_category_is_refused_and_nothing_stored() {
    let hub = lagless().await;
    let contact_id = hub
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "a@example.com"}}),
        )
        .await
        .body["id"]
        .clone();
    let company_id = hub
        .post(
            "/crm/v3/objects/companies",
            json!({"properties": {"name": "Acme"}}),
        )
        .await
        .body["id"]
        .clone();
    let create = |type_id: u32, category: &str| {
        json!({"inputs": [{"from": {"id": contact_id}, "to": {"id": company_id},
            "types": [{"associationCategory": category, "associationTypeId": type_id}]}]})
    };
    let path = "/crm/v4/associations/contacts/companies/batch/create";
    // 279 is contact → company; 3 is deal → contact; 279 is not USER_DEFINED.
    for body in [create(3, "HUBSPOT_DEFINED"), create(279, "USER_DEFINED")] {
        let reply = hub.post(path, body).await;
        assert_eq!(reply.status, 400, "{:?}", reply.body);
        assert_eq!(
            reply.body["message"],
            "One or more associations are invalid"
        );
    }
    let all: Vec<Value> = hub
        .client
        .get(hub.url("/_emulator/associations"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(all.is_empty(), "{all:?}");
    let ok = hub.post(path, create(279, "HUBSPOT_DEFINED")).await;
    assert_eq!(ok.status, 201, "{:?}", ok.body);
}

/// Ids of deals a search finds, sorted.
async fn found(hub: &Hub, filter: Value) -> Vec<String> {
    let reply = hub
        .post(
            "/crm/v3/objects/deals/search",
            json!({"filterGroups": [{"filters": [filter]}], "properties": ["dealname"]}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let mut names: Vec<String> = reply.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["properties"]["dealname"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn search_compares_dates_as_instants_and_enumerations_case_sensitively() {
    let hub = lagless().await;
    for (name, close) in [
        ("early", "2026-01-15T00:00:00Z"),
        ("late", "2027-06-01T12:00:00Z"),
    ] {
        let reply = hub
            .post(
                "/crm/v3/objects/deals",
                json!({"properties": {"dealname": name, "closedate": close, "dealtype": "newbusiness"}}),
            )
            .await;
        assert_eq!(reply.status, 201, "{:?}", reply.body);
    }
    let ms = |iso: &str| {
        time::OffsetDateTime::parse(iso, &time::format_description::well_known::Rfc3339)
            .unwrap()
            .unix_timestamp()
            * 1000
    };
    let f = |op: &str, value: i64| json!({"propertyName": "closedate", "operator": op, "value": value.to_string()});
    assert!(
        found(&hub, f("GT", ms("2030-01-01T00:00:00Z")))
            .await
            .is_empty()
    );
    assert_eq!(
        found(&hub, f("LT", ms("2026-06-01T00:00:00Z"))).await,
        ["early"]
    );
    assert_eq!(
        found(&hub, f("GTE", ms("2026-01-15T00:00:00Z"))).await,
        ["early", "late"]
    );
    let between = json!({"propertyName": "closedate", "operator": "BETWEEN",
        "value": ms("2027-01-01T00:00:00Z").to_string(), "highValue": "2028-01-01T00:00:00Z"});
    assert_eq!(found(&hub, between).await, ["late"]);
    let eq = |value: &str| json!({"propertyName": "dealtype", "operator": "EQ", "value": value});
    assert_eq!(found(&hub, eq("newbusiness")).await, ["early", "late"]);
    assert!(found(&hub, eq("NEWBUSINESS")).await.is_empty());
}

#[tokio::test]
async fn search_refuses_two_sorts_and_a_top_level_filters_key() {
    let hub = lagless().await;
    let path = "/crm/v3/objects/contacts/search";
    let two_sorts = hub
        .post(
            path,
            json!({"sorts": [{"propertyName": "email"}, {"propertyName": "firstname"}]}),
        )
        .await;
    assert_eq!(two_sorts.status, 400);
    let stray = hub
        .post(
            path,
            json!({"filters": [{"propertyName": "email", "operator": "EQ", "value": "x"}]}),
        )
        .await;
    assert_eq!(stray.status, 400, "not every record: {:?}", stray.body);
    insta::assert_json_snapshot!([
        two_sorts.body["message"].clone(),
        stray.body["message"].clone()
    ]);
}

#[tokio::test]
async fn a_number_with_two_signs_is_refused() {
    let hub = lagless().await;
    let reply = hub
        .post(
            UPSERT,
            json!({"inputs": [contact(Some("1"), "n@example.com", json!({"annualrevenue": "--5"}))]}),
        )
        .await;
    assert_eq!(reply.status, 207, "{:?}", reply.body);
    assert!(hub.stored("contacts").await.is_empty());
}

#[tokio::test]
async fn the_search_limit_is_the_accounts_whatever_the_token() {
    let hub = Hub::start(Settings {
        search_per_second: 5,
        ..Settings::unlimited()
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let token = format!("pat-na1-token-{}", i % 2);
        let status = hub
            .client
            .post(hub.url("/crm/v3/objects/contacts/search"))
            .bearer_auth(token)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        statuses.push(status);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
}

#[tokio::test]
async fn a_custom_objects_required_properties_are_kept_and_enforced() {
    let hub = lagless().await;
    let schema = hub
        .post(
            "/crm-object-schemas/v3/schemas",
            json!({"name": "cars", "labels": {"singular": "Car", "plural": "Cars"},
                "primaryDisplayProperty": "vin", "requiredProperties": ["vin"],
                "searchableProperties": ["vin", "model"], "associatedObjects": ["CONTACT"],
                "properties": [
                    {"name": "vin", "label": "VIN", "type": "string", "fieldType": "text", "hasUniqueValue": true},
                    {"name": "model", "label": "Model", "type": "string", "fieldType": "text"}]}),
        )
        .await;
    assert_eq!(schema.status, 201, "{:?}", schema.body);
    let type_id = schema.body["objectTypeId"].as_str().unwrap().to_string();
    let read = hub
        .get(&format!("/crm-object-schemas/v3/schemas/{type_id}"))
        .await;
    assert_eq!(read.body["requiredProperties"], json!(["vin"]));
    assert_eq!(read.body["searchableProperties"], json!(["vin", "model"]));
    assert_eq!(read.body["associations"].as_array().map(Vec::len), Some(1));
    let create = hub
        .post(
            &format!("/crm/v3/objects/{type_id}/batch/create"),
            json!({"inputs": [
                {"properties": {"vin": "V1", "model": "A"}, "objectWriteTraceId": "1"},
                {"properties": {"model": "no vin"}, "objectWriteTraceId": "2"}]}),
        )
        .await;
    assert_eq!(create.status, 207, "{:?}", create.body);
    assert_eq!(create.body["numErrors"], 1);
    assert_eq!(hub.stored(&type_id).await.len(), 1);
}

#[tokio::test]
async fn batch_reads_honour_archived_history_and_their_caps() {
    let hub = lagless().await;
    let id = hub
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "old@example.com", "firstname": "Old"}}),
        )
        .await
        .body["id"]
        .clone();
    let read = |archived: bool| {
        let path = if archived {
            "/crm/v3/objects/contacts/batch/read?archived=true"
        } else {
            "/crm/v3/objects/contacts/batch/read"
        };
        (
            path,
            json!({"inputs": [{"id": id}], "properties": ["email"], "propertiesWithHistory": ["firstname"]}),
        )
    };
    let (path, body) = read(false);
    let live = hub.post(path, body).await;
    assert_eq!(live.status, 200, "{:?}", live.body);
    assert_eq!(
        live.body["results"][0]["propertiesWithHistory"]["firstname"][0]["value"],
        "Old"
    );
    let status = hub
        .client
        .delete(hub.url(&format!(
            "/crm/v3/objects/contacts/{}",
            id.as_str().unwrap()
        )))
        .bearer_auth("pat-na1-test")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 204);
    let (path, body) = read(false);
    assert_eq!(hub.post(path, body).await.body["results"], json!([]));
    let (path, body) = read(true);
    let archived = hub.post(path, body).await;
    assert_eq!(archived.body["results"][0]["id"], id, "{:?}", archived.body);
    let many: Vec<Value> = (0..51).map(|i| json!({"id": i.to_string()})).collect();
    let capped = hub
        .post(
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": many, "propertiesWithHistory": ["firstname"]}),
        )
        .await;
    assert_eq!(capped.status, 400);
    let pairs: Vec<Value> = (0..1001).map(|i| json!({"id": i.to_string()})).collect();
    let too_many = hub
        .post(
            "/crm/v4/associations/contacts/companies/batch/read",
            json!({"inputs": pairs}),
        )
        .await;
    assert_eq!(too_many.status, 400);
}
