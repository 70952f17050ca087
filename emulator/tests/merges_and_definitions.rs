//! Merging records, v4 association batch read and archive, property and group changes.

mod common;

use common::Hub;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn a_merged_away_record_lives_on_in_the_primary() {
    let hub = Hub::default().await;
    let primary = hub
        .create(
            "contacts",
            json!({"email": "ada@example.com", "firstname": "Ada"}),
        )
        .await;
    let other = hub
        .create(
            "contacts",
            json!({"email": "augusta@example.com", "firstname": "Augusta", "city": "London"}),
        )
        .await;
    let company = hub.create("companies", json!({"name": "Analytical"})).await;
    hub.send(
        Method::PUT,
        &format!("/crm/v4/objects/contacts/{other}/associations/companies/{company}"),
        Some(json!([{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}])),
    )
    .await;
    let merged = hub
        .post(
            "/crm/v3/objects/contacts/merge",
            json!({"primaryObjectId": primary, "objectIdToMerge": other}),
        )
        .await;
    assert_eq!(merged.status, 200, "{:?}", merged.body);
    insta::assert_json_snapshot!(merged.snapshot(), {".body.id" => "[primary]", ".body.properties.hs_object_id" => "[primary]", ".body.properties.hs_merged_object_ids" => "[other]", ".body.url" => "[url]"});
    assert_eq!(merged.body["id"], json!(primary));
    // The primary keeps its values and gains the ones it lacked.
    assert_eq!(merged.body["properties"]["firstname"], "Ada");
    assert_eq!(merged.body["properties"]["city"], "London");
    assert_eq!(
        merged.body["properties"]["hs_merged_object_ids"],
        json!(other)
    );
    // Reads and PATCHes of the merged-away id reach the primary.
    let read = hub.get(&format!("/crm/v3/objects/contacts/{other}")).await;
    assert_eq!(read.body["id"], json!(primary));
    // Upserting by the merged-away email updates the primary.
    let upsert = hub
        .post(
            "/crm/v3/objects/contacts/batch/upsert",
            json!({"inputs": [{"id": "augusta@example.com", "idProperty": "email", "properties": {"lastname": "King"}}]}),
        )
        .await;
    assert_eq!(upsert.body["results"][0]["id"], json!(primary));
    assert_eq!(upsert.body["results"][0]["new"], false);
    // batch/update leaves the merged-away id out, as recorded.
    let batch = hub
        .post(
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": [{"id": other, "properties": {"lastname": "X"}}]}),
        )
        .await;
    assert_eq!(batch.body["results"], json!([]));
    // The association moved to the primary.
    let linked = hub
        .get(&format!(
            "/crm/v4/objects/contacts/{primary}/associations/companies"
        ))
        .await;
    assert_eq!(
        linked.body["results"][0]["toObjectId"],
        json!(company.parse::<u64>().unwrap())
    );
    let again = hub
        .post(
            "/crm/v3/objects/contacts/merge",
            json!({"primaryObjectId": primary, "objectIdToMerge": other}),
        )
        .await;
    assert_eq!(again.status, 400, "merging a record into itself");
    let missing = hub
        .post(
            "/crm/v3/objects/contacts/merge",
            json!({"primaryObjectId": primary, "objectIdToMerge": "424242"}),
        )
        .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn associations_are_read_and_archived_in_batches() {
    let hub = Hub::default().await;
    let contact = hub
        .create("contacts", json!({"email": "b@example.com"}))
        .await;
    let company = hub.create("companies", json!({"name": "B"})).await;
    hub.post(
        "/crm/v4/associations/contacts/companies/batch/associate/default",
        json!({"inputs": [{"from": {"id": contact}, "to": {"id": company}}]}),
    )
    .await;
    let read = hub
        .post(
            "/crm/v4/associations/contacts/companies/batch/read",
            json!({"inputs": [{"id": contact}, {"id": "424242"}]}),
        )
        .await;
    assert_eq!(read.status, 207);
    assert_eq!(read.body["results"][0]["from"]["id"], json!(contact));
    assert_eq!(
        read.body["results"][0]["to"][0]["associationTypes"][0]["typeId"],
        279
    );
    assert_eq!(read.body["numErrors"], 1);
    let archived = hub
        .post(
            "/crm/v4/associations/companies/contacts/batch/archive",
            json!({"inputs": [{"from": {"id": company}, "to": [{"id": contact}]}]}),
        )
        .await;
    assert_eq!(archived.status, 204);
    let read = hub
        .post(
            "/crm/v4/associations/contacts/companies/batch/read",
            json!({"inputs": [{"id": contact}]}),
        )
        .await;
    assert_eq!(read.body["results"][0]["to"], json!([]));
}

#[tokio::test]
async fn properties_and_groups_are_changed_and_deleted() {
    let hub = Hub::default().await;
    let group = hub
        .post(
            "/crm/v3/properties/contacts/groups",
            json!({"name": "loyalty", "label": "Loyalty"}),
        )
        .await;
    assert_eq!(group.status, 201);
    let created = hub
        .post(
            "/crm/v3/properties/contacts",
            json!({"name": "tier", "label": "Tier", "type": "enumeration", "fieldType": "select", "groupName": "loyalty",
                   "options": [{"label": "Gold", "value": "gold"}]}),
        )
        .await;
    assert_eq!(created.status, 201);
    let changed = hub
        .send(
            Method::PATCH,
            "/crm/v3/properties/contacts/tier",
            Some(json!({"label": "Loyalty tier", "options": [{"label": "Gold", "value": "gold"}, {"label": "Silver", "value": "silver"}]})),
        )
        .await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(changed.body["label"], "Loyalty tier");
    let bad = hub
        .send(
            Method::PATCH,
            "/crm/v3/properties/contacts/tier",
            Some(json!({"fieldType": "text"})),
        )
        .await;
    assert_eq!(bad.status, 400, "an enumeration shown as text");
    let theirs = hub
        .send(
            Method::PATCH,
            "/crm/v3/properties/contacts/email",
            Some(json!({"label": "Mail"})),
        )
        .await;
    assert_eq!(
        theirs.status, 400,
        "HubSpot's own definitions do not change"
    );
    let id = hub
        .create(
            "contacts",
            json!({"email": "t@example.com", "tier": "silver"}),
        )
        .await;
    let busy = hub
        .send(
            Method::DELETE,
            "/crm/v3/properties/contacts/groups/loyalty",
            None,
        )
        .await;
    assert_eq!(busy.status, 400, "a group that still holds properties");
    let groups = hub.get("/crm/v3/properties/contacts/groups").await;
    assert!(
        groups.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "loyalty" && g["label"] == "Loyalty")
    );
    let deleted = hub
        .send(Method::DELETE, "/crm/v3/properties/contacts/tier", None)
        .await;
    assert_eq!(deleted.status, 204);
    assert_eq!(
        hub.get("/crm/v3/properties/contacts/tier").await.status,
        404
    );
    let read = hub
        .get(&format!("/crm/v3/objects/contacts/{id}?properties=tier"))
        .await;
    assert_eq!(read.body["properties"]["tier"], Value::Null);
    let renamed = hub
        .send(
            Method::PATCH,
            "/crm/v3/properties/contacts/groups/loyalty",
            Some(json!({"label": "Rewards"})),
        )
        .await;
    assert_eq!(renamed.body["label"], "Rewards");
    let gone = hub
        .send(
            Method::DELETE,
            "/crm/v3/properties/contacts/groups/loyalty",
            None,
        )
        .await;
    assert_eq!(gone.status, 204);
    assert_eq!(
        hub.get("/crm/v3/properties/contacts/groups/loyalty")
            .await
            .status,
        404
    );
}
