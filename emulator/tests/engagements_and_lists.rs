//! Round two of the emulator: engagements with inline associations, single association
//! routes, the Lists API, merged-away ids, `--preload` and property creation checks.

mod common;

use common::Hub;
use hubspot_emulator::Settings;
use hubspot_emulator::preload::Preload;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn a_note_is_created_with_inline_associations_and_refused_for_a_missing_deal() {
    let hub = Hub::default().await;
    let deal = hub.create("deals", json!({"dealname": "Big"})).await;
    let note = hub
        .post(
            "/crm/v3/objects/notes",
            json!({"properties": {"hs_timestamp": 1705312800000u64, "hs_note_body": "Called"},
                   "associations": [{"to": {"id": deal}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 214}]}]}),
        )
        .await;
    assert_eq!(note.status, 201);
    insta::assert_json_snapshot!(note.snapshot(), {".headers.location" => "[location]", ".body.id" => "[id]", ".body.properties.hs_object_id" => "[id]", ".body.url" => "[url]"});
    // Stored as HubSpot answers it: epoch ms in, ISO out; the url is the notes list view.
    assert_eq!(
        note.body["properties"]["hs_timestamp"],
        "2024-01-15T10:00:00Z"
    );
    let id = note.body["id"].as_str().unwrap();
    assert!(
        note.body["url"]
            .as_str()
            .unwrap()
            .contains("/objects/0-46/views/all/list?filters=")
    );
    let linked = hub
        .get(&format!("/crm/v4/objects/notes/{id}/associations/deals"))
        .await;
    assert_eq!(
        linked.body["results"][0]["toObjectId"],
        json!(deal.parse::<u64>().unwrap())
    );
    let refused = hub
        .post(
            "/crm/v3/objects/notes",
            json!({"properties": {"hs_timestamp": 1705312800000u64, "hs_note_body": "Lost"},
                   "associations": [{"to": {"id": "999999999"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 214}]}]}),
        )
        .await;
    insta::assert_json_snapshot!(refused.snapshot());
}

#[tokio::test]
async fn engagements_need_their_timestamp_and_valid_options() {
    let hub = Hub::default().await;
    let no_timestamp = hub
        .post(
            "/crm/v3/objects/tasks",
            json!({"properties": {"hs_task_subject": "Call back"}}),
        )
        .await;
    insta::assert_json_snapshot!(no_timestamp.snapshot());
    let bad = hub
        .post(
            "/crm/v3/objects/tasks",
            json!({"properties": {"hs_timestamp": "invalid", "hs_task_status": "INVALID_STATUS"}}),
        )
        .await;
    insta::assert_json_snapshot!(bad.snapshot());
    for (object_type, properties) in [
        (
            "calls",
            json!({"hs_timestamp": "2024-01-15T10:30:00Z", "hs_call_direction": "OUTBOUND", "hs_call_duration": 300000}),
        ),
        (
            "meetings",
            json!({"hs_timestamp": "2024-01-15T10:30:00Z", "hs_meeting_outcome": "COMPLETED"}),
        ),
        (
            "emails",
            json!({"hs_timestamp": "2024-01-15T10:30:00Z", "hs_email_direction": "EMAIL"}),
        ),
        (
            "quotes",
            json!({"hs_title": "Q1", "hs_expiration_date": "2024-03-01T00:00:00Z"}),
        ),
    ] {
        hub.create(object_type, properties).await;
    }
}

#[tokio::test]
async fn single_associations_are_put_read_and_deleted() {
    let hub = Hub::default().await;
    let contact = hub
        .create("contacts", json!({"email": "a@example.com"}))
        .await;
    let company = hub.create("companies", json!({"name": "Acme"})).await;
    let path = format!("/crm/v4/objects/contacts/{contact}/associations/companies/{company}");
    let put = hub
        .send(
            Method::PUT,
            &path,
            Some(json!([{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}])),
        )
        .await;
    insta::assert_json_snapshot!(put.snapshot(), {".body.fromObjectId" => "[id]", ".body.toObjectId" => "[id]", ".headers.location" => "[location]"});
    let wrong_type = hub
        .send(
            Method::PUT,
            &path,
            Some(json!([{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 214}])),
        )
        .await;
    assert_eq!(wrong_type.status, 400);
    let listed = hub
        .get(&format!(
            "/crm/v4/objects/contacts/{contact}/associations/companies"
        ))
        .await;
    assert_eq!(listed.body["results"].as_array().unwrap().len(), 1);
    let deleted = hub.send(Method::DELETE, &path, None).await;
    assert_eq!(deleted.status, 204);
    let listed = hub
        .get(&format!(
            "/crm/v4/objects/contacts/{contact}/associations/companies"
        ))
        .await;
    assert_eq!(listed.body["results"], json!([]));
    // The v3 form, with an association type name.
    let call = hub
        .create("calls", json!({"hs_timestamp": "2024-01-15T10:30:00Z"}))
        .await;
    let deal = hub.create("deals", json!({"dealname": "D"})).await;
    let v3 = hub
        .send(
            Method::PUT,
            &format!("/crm/v3/objects/calls/{call}/associations/deal/{deal}/call_to_deal"),
            Some(json!({})),
        )
        .await;
    assert_eq!(v3.status, 200);
    assert_eq!(
        v3.body["associations"]["deals"]["results"],
        json!([{"id": deal, "type": "call_to_deal"}])
    );
}

#[tokio::test]
async fn lists_are_found_by_name_created_and_filled() {
    let hub = Hub::default().await;
    let contact = hub
        .create("contacts", json!({"email": "l@example.com"}))
        .await;
    let missing = hub
        .get("/crm/v3/lists/object-type-id/0-1/name/Newsletter")
        .await;
    insta::assert_json_snapshot!(missing.snapshot());
    let created = hub
        .post(
            "/crm/v3/lists",
            json!({"name": "Newsletter", "objectTypeId": "0-1", "processingType": "MANUAL"}),
        )
        .await;
    assert_eq!(created.status, 200);
    let id = created.body["list"]["listId"].as_str().unwrap().to_string();
    let again = hub
        .post(
            "/crm/v3/lists",
            json!({"name": "Newsletter", "objectTypeId": "0-1", "processingType": "MANUAL"}),
        )
        .await;
    assert_eq!(again.status, 400, "one list per name");
    let empty = hub
        .get(&format!("/crm/v3/lists/{id}/memberships/join-order"))
        .await;
    assert_eq!(empty.body, json!({"results": []}));
    let changed = hub
        .send(
            Method::PUT,
            &format!("/crm/v3/lists/{id}/memberships/add-and-remove"),
            Some(json!({"recordIdsToAdd": [contact, "424242"], "recordIdsToRemove": []})),
        )
        .await;
    assert_eq!(
        changed.body,
        json!({"recordsIdsAdded": [contact], "recordIdsMissing": ["424242"]})
    );
    let members = hub
        .get(&format!("/crm/v3/lists/{id}/memberships/join-order"))
        .await;
    assert_eq!(members.body["total"], 1);
    assert_eq!(members.body["results"][0]["recordId"], json!(contact));
    let found = hub
        .get("/crm/v3/lists/object-type-id/0-1/name/Newsletter")
        .await;
    assert_eq!(found.body["list"]["size"], 1);
}

fn preload() -> Preload {
    Preload::from_json(
        &json!({
            "properties": {"contacts": [{"name": "external_id", "label": "External ID", "type": "string",
                                          "fieldType": "text", "groupName": "contactinformation", "hasUniqueValue": true}]},
            "objects": {"companies": [{"id": "5001", "properties": {"name": "Survivor", "hs_merged_object_ids": "5000"}}],
                        "contacts": [{"id": "7001", "properties": {"email": "pre@example.com", "external_id": "X-1"}}]},
            "lists": [{"listId": "33", "name": "Test List", "objectTypeId": "0-1", "members": ["7001"]}]
        })
        .to_string(),
    )
    .expect("preload parses")
}

#[tokio::test]
async fn a_preloaded_portal_holds_its_properties_records_lists_and_merged_ids() {
    let hub = Hub::start(Settings {
        preload: preload(),
        ..Settings::default()
    })
    .await;
    let by_external = hub
        .post(
            "/crm/v3/objects/contacts/batch/upsert",
            json!({"inputs": [{"id": "X-1", "idProperty": "external_id", "properties": {"firstname": "Pre"}}]}),
        )
        .await;
    insta::assert_json_snapshot!(by_external.snapshot());
    assert_eq!(by_external.body["results"][0]["id"], "7001");
    assert_eq!(by_external.body["results"][0]["new"], false);
    let list = hub.get("/crm/v3/lists/33/memberships/join-order").await;
    assert_eq!(list.body["results"][0]["recordId"], "7001");
    // A merged-away id: left out of batch/update, followed by PATCH and GET.
    let batch = hub
        .post(
            "/crm/v3/objects/companies/batch/update",
            json!({"inputs": [{"id": "5000", "properties": {"name": "Via batch"}}]}),
        )
        .await;
    assert_eq!(batch.status, 200);
    assert_eq!(batch.body["results"], json!([]));
    assert!(batch.body.get("errors").is_none());
    let patched = hub
        .patch(
            "/crm/v3/objects/companies/5000",
            json!({"properties": {"name": "Via patch"}}),
        )
        .await;
    assert_eq!(patched.body["id"], "5001");
    let read = hub.get("/crm/v3/objects/companies/5000").await;
    assert_eq!(read.body["properties"]["name"], "Via patch");
    // A fresh portal has no such property: a config keyed on it fails until it is created.
    let fresh = Hub::default().await;
    let refused = fresh
        .post(
            "/crm/v3/objects/contacts/batch/upsert",
            json!({"inputs": [{"id": "X-1", "idProperty": "external_id", "properties": {}}]}),
        )
        .await;
    assert_eq!(refused.status, 400);
}

#[tokio::test]
async fn a_preload_naming_an_unknown_type_stops_the_emulator_with_the_reason() {
    let bad = Preload::from_json(r#"{"objects": {"cars": [{"properties": {}}]}}"#).unwrap();
    let err = hubspot_emulator::start(Settings {
        preload: bad,
        ..Settings::default()
    })
    .await
    .expect_err("refused");
    assert_eq!(err.to_string(), "preload objects.cars: no such object type");
    assert!(
        Preload::from_json(r#"{"object": {}}"#).is_err(),
        "unknown keys are refused"
    );
}

#[tokio::test]
async fn property_creation_is_checked_as_hubspot_checks_it() {
    let hub = Hub::default().await;
    let property = |name: &str, kind: &str, field_type: &str| json!({"name": name, "label": "L", "type": kind, "fieldType": field_type, "groupName": "contactinformation"});
    let mut refusals = Vec::new();
    for body in [
        property("Bad Name", "string", "text"),
        property("wrong_pair", "bool", "text"),
        property("no_options", "enumeration", "select"),
        json!({"name": "no_group", "label": "L", "type": "string", "fieldType": "text"}),
        property("elsewhere", "string", "text")
            .as_object()
            .map(|m| {
                let mut m = m.clone();
                m.insert("groupName".into(), json!("nosuchgroup"));
                Value::Object(m)
            })
            .unwrap(),
    ] {
        let reply = hub.post("/crm/v3/properties/contacts", body).await;
        refusals.push(json!({"status": reply.status, "message": reply.body["message"]}));
    }
    insta::assert_json_snapshot!(refusals);
    for i in 0..10 {
        let mut p = property(&format!("unique_{i}"), "string", "text");
        p["hasUniqueValue"] = json!(true);
        let reply = hub.post("/crm/v3/properties/contacts", p).await;
        assert_eq!(reply.status, 201, "unique property {i}");
    }
    let mut eleventh = property("unique_10", "string", "text");
    eleventh["hasUniqueValue"] = json!(true);
    let reply = hub.post("/crm/v3/properties/contacts", eleventh).await;
    assert_eq!(reply.status, 400, "ten unique-value properties at most");
}
