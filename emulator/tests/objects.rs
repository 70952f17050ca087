//! Batch and single-object routes, pinned against HubSpot's recorded responses.

mod common;

use common::{Hub, contact};
use serde_json::{Value, json};

const UPSERT: &str = "/crm/v3/objects/contacts/batch/upsert";

#[tokio::test]
async fn upsert_with_trace_ids_reports_a_bad_email_per_input_in_a_207() {
    let hub = Hub::default().await;
    let reply = hub
        .post(
            UPSERT,
            json!({"inputs": [
                contact(Some("1efc43"), "batch.partial.ok@testdomain.com", json!({"firstname": "Batch", "lastname": "Partial-Ok"})),
                contact(Some("e52df6"), "not-an-email", json!({"email": "not-an-email", "firstname": "Batch"})),
            ]}),
        )
        .await;
    insta::assert_json_snapshot!(reply.snapshot());
    assert_eq!(hub.stored("contacts").await.len(), 1);
}

#[tokio::test]
async fn upsert_without_trace_ids_fails_the_whole_batch_and_stores_nothing() {
    let hub = Hub::default().await;
    let reply = hub
        .post(
            UPSERT,
            json!({"inputs": [
                contact(None, "good@example.com", json!({"firstname": "Good"})),
                contact(None, "bad@example.com", json!({"first000name": "x", "lifecyclestage": "nope"})),
            ]}),
        )
        .await;
    insta::assert_json_snapshot!(reply.snapshot());
    assert!(hub.stored("contacts").await.is_empty());
}

#[tokio::test]
async fn duplicate_ids_in_one_batch_are_refused_case_insensitively_for_email() {
    let hub = Hub::default().await;
    let reply = hub
        .post(
            UPSERT,
            json!({"inputs": [
                contact(Some("a"), "luke@diner.com", json!({})),
                contact(Some("b"), "Luke@Diner.com", json!({})),
            ]}),
        )
        .await;
    insta::assert_json_snapshot!(reply.snapshot());
}

#[tokio::test]
async fn upsert_by_a_property_without_unique_values_is_refused() {
    let hub = Hub::default().await;
    let reply = hub
        .post(
            "/crm/v3/objects/companies/batch/upsert",
            json!({"inputs": [{"id": "Acme", "idProperty": "name", "properties": {"name": "Acme"}, "objectWriteTraceId": "t"}]}),
        )
        .await;
    insta::assert_json_snapshot!(reply.snapshot());
}

#[tokio::test]
async fn more_than_one_hundred_inputs_are_refused() {
    let hub = Hub::default().await;
    let inputs: Vec<Value> = (0..101)
        .map(|i| {
            contact(
                Some(&i.to_string()),
                &format!("c{i}@example.com"),
                json!({}),
            )
        })
        .collect();
    let reply = hub.post(UPSERT, json!({ "inputs": inputs })).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["category"], "VALIDATION_ERROR");
    assert!(hub.stored("contacts").await.is_empty());
}

#[tokio::test]
async fn emails_are_stored_lowercased_and_matched_case_insensitively() {
    let hub = Hub::default().await;
    let first = hub.post(UPSERT, json!({"inputs": [contact(Some("1"), " Ann@Example.COM", json!({"firstname": "Ann"}))]})).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["results"][0]["new"], true);
    let second = hub
        .post(
            UPSERT,
            json!({"inputs": [contact(Some("2"), "ann@example.com", json!({"lastname": "Lee"}))]}),
        )
        .await;
    assert_eq!(second.body["results"][0]["new"], false);
    assert_eq!(
        second.body["results"][0]["id"],
        first.body["results"][0]["id"]
    );
    let stored = hub.stored("contacts").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["properties"]["email"], "ann@example.com");
    assert_eq!(stored[0]["properties"]["firstname"], "Ann");
    assert_eq!(stored[0]["properties"]["lastname"], "Lee");
    insta::assert_json_snapshot!(second.snapshot());
}

#[tokio::test]
async fn upsert_by_unique_value_property_on_companies_creates_then_updates() {
    let hub = Hub::default().await;
    let property = json!({"name": "external_id", "label": "External ID", "type": "string",
        "fieldType": "text", "groupName": "companyinformation", "hasUniqueValue": true});
    assert_eq!(
        hub.post("/crm/v3/properties/companies", property)
            .await
            .status,
        201
    );
    let input = |name: &str| json!({"inputs": [{"id": "ext-1", "idProperty": "external_id", "objectWriteTraceId": "t", "properties": {"name": name}}]});
    let a = hub
        .post("/crm/v3/objects/companies/batch/upsert", input("Acme"))
        .await;
    let b = hub
        .post("/crm/v3/objects/companies/batch/upsert", input("Acme Inc"))
        .await;
    assert_eq!(
        (
            a.body["results"][0]["new"].clone(),
            b.body["results"][0]["new"].clone()
        ),
        (json!(true), json!(false))
    );
    let stored = hub.stored("companies").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["properties"]["name"], "Acme Inc");
    assert_eq!(stored[0]["properties"]["external_id"], "ext-1");
}

#[tokio::test]
async fn value_errors_use_hubspots_codes_and_messages() {
    let hub = Hub::default().await;
    let long = "x".repeat(65_537);
    let reply = hub
        .post(
            "/crm/v3/objects/deals/batch/create",
            json!({"inputs": [
                {"objectWriteTraceId": "amount", "properties": {"amount": "not-a-number"}},
                {"objectWriteTraceId": "closedate", "properties": {"closedate": "invalid-date-formatZ"}},
                {"objectWriteTraceId": "readonly", "properties": {"hs_is_closed_won": "true"}},
                {"objectWriteTraceId": "option", "properties": {"dealtype": "bogus"}},
                {"objectWriteTraceId": "long", "properties": {"description": long}},
                {"objectWriteTraceId": "ok", "properties": {"dealname": "Fine", "amount": "12.50", "closedate": "2026-01-01T10:00:00Z"}},
            ]}),
        )
        .await;
    insta::assert_json_snapshot!(reply.snapshot());
    let contacts = hub
        .post(
            UPSERT,
            json!({"inputs": [
                contact(Some("date"), "d@example.com", json!({"date_of_birth": "1635535865"})),
                contact(Some("bool"), "b@example.com", json!({"hs_email_optout": "yes"})),
            ]}),
        )
        .await;
    insta::assert_json_snapshot!(contacts.snapshot());
}

#[tokio::test]
async fn empty_string_clears_null_is_ignored_and_leading_semicolon_appends() {
    let hub = Hub::default().await;
    hub.post(UPSERT, json!({"inputs": [contact(Some("1"), "m@example.com", json!({"firstname": "M", "city": "Oslo", "hs_buying_role": "CHAMPION"}))]}))
        .await;
    let reply = hub
        .post(UPSERT, json!({"inputs": [contact(Some("2"), "m@example.com", json!({"firstname": null, "city": "", "hs_buying_role": ";END_USER;CHAMPION"}))]}))
        .await;
    assert_eq!(reply.status, 200);
    let stored = hub.stored("contacts").await;
    let props = &stored[0]["properties"];
    assert_eq!(props["firstname"], "M");
    assert!(props.get("city").is_none(), "{props}");
    assert_eq!(props["hs_buying_role"], "CHAMPION;END_USER");
}

#[tokio::test]
async fn create_with_an_existing_email_conflicts() {
    let hub = Hub::default().await;
    hub.post(
        UPSERT,
        json!({"inputs": [contact(Some("1"), "dup@example.com", json!({}))]}),
    )
    .await;
    let whole = hub
        .post(
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": [{"properties": {"email": "DUP@example.com"}}]}),
        )
        .await;
    insta::assert_json_snapshot!(whole.snapshot());
    let traced = hub
        .post(
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": [
                {"objectWriteTraceId": "0", "properties": {"email": "dup@example.com"}},
                {"objectWriteTraceId": "1", "properties": {"email": "fresh@example.com"}},
            ]}),
        )
        .await;
    insta::assert_json_snapshot!(traced.snapshot());
}

#[tokio::test]
async fn update_of_unknown_ids_is_a_grouped_object_not_found_in_a_207() {
    let hub = Hub::default().await;
    let created = hub
        .post(
            UPSERT,
            json!({"inputs": [contact(Some("1"), "u@example.com", json!({}))]}),
        )
        .await;
    let id = created.body["results"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let reply = hub
        .post(
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": [
                {"id": id, "properties": {"firstname": "Updated"}, "objectWriteTraceId": "a"},
                {"id": "999999", "properties": {"firstname": "Nobody"}, "objectWriteTraceId": "b"},
            ]}),
        )
        .await;
    insta::assert_json_snapshot!(reply.snapshot());
    let by_email = hub
        .post(
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": [{"id": "u@example.com", "idProperty": "email", "properties": {}}]}),
        )
        .await;
    assert_eq!(by_email.status, 400);
    assert_eq!(
        by_email.body["message"],
        "Unable to perform update/upsert by non-unique 0-1 property email in portal ID 23170316"
    );
}

#[tokio::test]
async fn batch_read_returns_found_records_and_reports_missing_ones() {
    let hub = Hub::default().await;
    hub.post(
        UPSERT,
        json!({"inputs": [contact(Some("1"), "r@example.com", json!({"firstname": "R"}))]}),
    )
    .await;
    let reply = hub
        .post(
            "/crm/v3/objects/contacts/batch/read",
            json!({"properties": ["firstname"], "idProperty": "email", "inputs": [{"id": "R@example.com"}, {"id": "nobody@example.com"}]}),
        )
        .await;
    insta::assert_json_snapshot!(reply.snapshot());
}

#[tokio::test]
async fn archive_answers_204_and_hides_the_record() {
    let hub = Hub::default().await;
    let created = hub
        .post(
            UPSERT,
            json!({"inputs": [contact(Some("1"), "gone@example.com", json!({}))]}),
        )
        .await;
    let id = created.body["results"][0]["id"].clone();
    let reply = hub
        .post(
            "/crm/v3/objects/contacts/batch/archive",
            json!({"inputs": [{"id": id}]}),
        )
        .await;
    assert_eq!(reply.status, 204);
    let get = hub
        .get(&format!(
            "/crm/v3/objects/contacts/{}",
            id.as_str().unwrap()
        ))
        .await;
    assert_eq!(get.status, 404);
    assert_eq!(hub.stored("contacts").await[0]["archived"], true);
}

#[tokio::test]
async fn single_object_routes_create_read_and_update() {
    let hub = Hub::default().await;
    let created = hub
        .post(
            "/crm/v3/objects/companies",
            json!({"properties": {"name": "Acme", "domain": "acme.test"}}),
        )
        .await;
    insta::assert_json_snapshot!(created.snapshot());
    let id = created.body["id"].as_str().unwrap().to_string();
    let patched = hub
        .patch(
            &format!("/crm/v3/objects/companies/{id}"),
            json!({"properties": {"industry": "RETAIL"}}),
        )
        .await;
    assert_eq!(patched.status, 200);
    assert_eq!(patched.body["properties"]["industry"], "RETAIL");
    let by_email = hub
        .get("/crm/v3/objects/contacts/not-an-email?idProperty=email")
        .await;
    insta::assert_json_snapshot!(by_email.snapshot());
    let invalid = hub
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"firstname": "12345", "email": "not-an-email"}}),
        )
        .await;
    insta::assert_json_snapshot!(invalid.snapshot());
}

#[tokio::test]
async fn malformed_bodies_and_unknown_types_get_hubspot_shaped_400s() {
    let hub = Hub::default().await;
    let truncated = hub
        .post_raw(UPSERT, r#"{"inputs":[{"id":"a@b.co","properties":"#)
        .await;
    insta::assert_json_snapshot!(truncated.snapshot());
    let wrong_type = hub.post_raw(UPSERT, r#"{"inputs":{"id":1}}"#).await;
    assert_eq!(wrong_type.status, 400);
    assert!(
        wrong_type.body["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid input JSON on line 1")
    );
    let nested = hub.post(UPSERT, json!({"inputs": [contact(Some("1"), "n@example.com", json!({"firstname": {"a": 1}}))]})).await;
    assert_eq!(nested.status, 400);
    let unknown = hub
        .post(
            "/crm/v3/objects/spaceships/batch/upsert",
            json!({"inputs": []}),
        )
        .await;
    insta::assert_json_snapshot!(unknown.snapshot());
    let nowhere = hub.get("/crm/v3/nothing/here").await;
    assert_eq!(nowhere.status, 404);
}

#[tokio::test]
async fn search_filters_sorts_and_pages() {
    // Without the index lag (tested in engagements_and_lists.rs), search sees every write.
    let hub = Hub::start(hubspot_emulator::Settings {
        search_lag: std::time::Duration::ZERO,
        ..hubspot_emulator::Settings::default()
    })
    .await;
    let inputs: Vec<Value> = (0..5)
        .map(|i| contact(Some(&i.to_string()), &format!("s{i}@example.com"), json!({"firstname": format!("N{i}"), "city": if i % 2 == 0 { "Oslo" } else { "Rome" }})))
        .collect();
    hub.post(UPSERT, json!({ "inputs": inputs })).await;
    let eq = hub
        .post(
            "/crm/v3/objects/contacts/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "city", "operator": "EQ", "value": "oslo"}]}], "properties": ["firstname"], "sorts": [{"propertyName": "firstname", "direction": "DESCENDING"}], "limit": 2}),
        )
        .await;
    insta::assert_json_snapshot!(eq.snapshot());
    let page2 = hub
        .post(
            "/crm/v3/objects/contacts/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "firstname", "operator": "IN", "values": ["n1", "n3", "n4"]}]}], "limit": 2, "after": "2"}),
        )
        .await;
    assert_eq!(page2.body["total"], 3);
    // HubSpot wants `IN` values on strings in lower case: upper-case ones find nothing.
    let upper = hub
        .post(
            "/crm/v3/objects/contacts/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "firstname", "operator": "IN", "values": ["N1", "N3"]}]}]}),
        )
        .await;
    assert_eq!(upper.body["total"], 0);
    assert_eq!(page2.body["results"].as_array().unwrap().len(), 1);
    assert!(
        page2.headers.get("x-hubspot-ratelimit-remaining").is_none(),
        "search carries no rate-limit headers"
    );
}

#[tokio::test]
async fn concurrent_upserts_of_the_same_email_leave_one_record() {
    let hub = Hub::start(hubspot_emulator::Settings::unlimited()).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let client = hub.client.clone();
        let url = hub.url(UPSERT);
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth("pat-na1-x")
                .json(&json!({"inputs": [contact(Some("t"), "same@example.com", json!({"firstname": format!("v{i}")}))]}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert_eq!(hub.stored("contacts").await.len(), 1);
}

#[tokio::test]
async fn date_versioned_paths_are_served_like_v3() {
    let hub = Hub::default().await;
    let reply = hub
        .post(
            "/crm/objects/2026-03/contacts/batch/upsert",
            json!({"inputs": [contact(Some("1"), "v@example.com", json!({}))]}),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        hub.get("/crm/properties/2026-09/contacts/email")
            .await
            .status,
        200
    );
    assert_eq!(hub.stored("contacts").await.len(), 1);
}

#[tokio::test]
async fn requests_the_framework_refuses_still_get_hubspot_shaped_errors() {
    let hub = Hub::default().await;
    let wrong_method = hub
        .send(
            reqwest::Method::PUT,
            "/crm/v3/objects/contacts/batch/upsert",
            None,
        )
        .await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.body["status"], "error");
    assert_eq!(wrong_method.body["category"], "VALIDATION_ERROR");
    assert!(wrong_method.body["correlationId"].is_string());
    let huge = format!(
        r#"{{"inputs":[{{"properties":{{"a":"{}"}}}}]}}"#,
        "x".repeat(hubspot_emulator::app::MAX_BODY_BYTES)
    );
    let resp = hub
        .client
        .post(hub.url("/crm/v3/objects/contacts/batch/upsert"))
        .bearer_auth(&hub.token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 413);
    let body: serde_json::Value = resp.json().await.expect("JSON body");
    assert_eq!(body["status"], "error");
    // A wrong kind of JSON value gets Jackson's words, as recorded.
    let nested = hub
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "n@example.com"}, "associations": [[]]}),
        )
        .await;
    assert_eq!(nested.status, 400);
    assert!(
        nested.body["message"]
            .as_str()
            .unwrap()
            .ends_with("Cannot deserialize value of type `com.hubspot.crmpublic.core.models.associations.PublicAssociationsForObject$Json` from Array value (token `JsonToken.START_ARRAY`)"),
        "{}",
        nested.body["message"]
    );
}
