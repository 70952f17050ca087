//! Single-record and list reads: repeated and comma-separated query parameters,
//! `associations=`, `propertiesWithHistory=` and `archived=true`.

mod common;

use common::Hub;
use reqwest::Method;
use serde_json::{Value, json};

fn names(v: &Value) -> Vec<String> {
    v["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[tokio::test]
async fn properties_may_be_repeated_or_comma_separated() {
    let hub = Hub::default().await;
    let id = hub
        .create(
            "contacts",
            json!({"email": "r@example.com", "firstname": "R", "city": "Oslo"}),
        )
        .await;
    let repeated = hub
        .get(&format!(
            "/crm/v3/objects/contacts/{id}?properties=firstname&properties=city&properties=nosuch"
        ))
        .await;
    let comma = hub
        .get(&format!(
            "/crm/v3/objects/contacts/{id}?properties=firstname,city,nosuch"
        ))
        .await;
    assert_eq!(repeated.status, 200, "{:?}", repeated.body);
    insta::assert_json_snapshot!(repeated.snapshot(), {".body.id" => "[id]", ".body.properties.hs_object_id" => "[id]", ".body.url" => "[url]"});
    assert_eq!(names(&repeated.body), names(&comma.body));
    assert_eq!(
        names(&repeated.body),
        [
            "city",
            "createdate",
            "firstname",
            "hs_object_id",
            "lastmodifieddate",
            "nosuch"
        ]
    );
    assert_eq!(repeated.body["properties"]["nosuch"], Value::Null);
    let history = hub
        .get(&format!(
            "/crm/v3/objects/contacts/{id}?propertiesWithHistory=city&unknown=1&limit=abc"
        ))
        .await;
    assert_eq!(
        history.status, 200,
        "unknown and unreadable parameters are ignored"
    );
    assert_eq!(
        history.body["propertiesWithHistory"]["city"][0]["value"],
        "Oslo"
    );
    let listed = hub
        .get("/crm/v3/objects/contacts?properties=city&properties=firstname&limit=5")
        .await;
    assert_eq!(listed.body["results"][0]["properties"]["city"], "Oslo");
}

#[tokio::test]
async fn associations_are_read_with_the_record_either_way_round() {
    let hub = Hub::default().await;
    let contact = hub
        .create("contacts", json!({"email": "a@example.com"}))
        .await;
    let company = hub.create("companies", json!({"name": "Acme"})).await;
    let put = hub
        .send(
            Method::PUT,
            &format!("/crm/v4/objects/contacts/{contact}/associations/companies/{company}"),
            Some(json!([{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}])),
        )
        .await;
    assert_eq!(put.status, 201);
    let from_contact = hub
        .get(&format!(
            "/crm/v3/objects/contacts/{contact}?associations=companies&associations=deals"
        ))
        .await;
    assert_eq!(
        from_contact.body["associations"],
        json!({"companies": {"results": [{"id": company, "type": "contact_to_company_unlabeled"}]}})
    );
    let from_company = hub
        .get(&format!(
            "/crm/v3/objects/companies/{company}?associations=contacts"
        ))
        .await;
    assert_eq!(
        from_company.body["associations"],
        json!({"contacts": {"results": [{"id": contact, "type": "company_to_contact_unlabeled"}]}})
    );
    let v4 = hub
        .get(&format!(
            "/crm/v4/objects/companies/{company}/associations/contacts"
        ))
        .await;
    assert_eq!(v4.body["results"][0]["associationTypes"][0]["typeId"], 280);
}

#[tokio::test]
async fn archived_records_are_read_only_with_archived_true() {
    let hub = Hub::default().await;
    let id = hub
        .create("contacts", json!({"email": "gone@example.com"}))
        .await;
    let deleted = hub
        .send(
            Method::DELETE,
            &format!("/crm/v3/objects/contacts/{id}"),
            None,
        )
        .await;
    assert_eq!(deleted.status, 204);
    assert_eq!(
        hub.get(&format!("/crm/v3/objects/contacts/{id}"))
            .await
            .status,
        404
    );
    let archived = hub
        .get(&format!("/crm/v3/objects/contacts/{id}?archived=true"))
        .await;
    assert_eq!(archived.status, 200);
    assert_eq!(archived.body["archived"], true);
    assert!(archived.body["archivedAt"].is_string());
    let listed = hub.get("/crm/v3/objects/contacts?archived=true").await;
    assert_eq!(listed.body["results"][0]["id"], json!(id));
    let live = hub.get("/crm/v3/objects/contacts").await;
    assert_eq!(live.body["results"], json!([]));
}
