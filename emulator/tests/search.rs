//! Search as HubSpot runs it: limits, operators, free text, default properties and the
//! index lag.

mod common;

use std::time::Duration;

use common::Hub;
use hubspot_emulator::Settings;
use serde_json::{Value, json};

const SEARCH: &str = "/crm/v3/objects/contacts/search";

async fn lagless() -> Hub {
    Hub::start(Settings {
        search_lag: Duration::ZERO,
        ..Settings::unlimited()
    })
    .await
}

async fn seed(hub: &Hub) {
    let inputs: Vec<Value> = [
        ("ada@hubspot.com", "Ada", "King Lovelace", "36"),
        ("grace@navy.mil", "Grace", "Hopper", "85"),
        ("alan@bletchley.uk", "Alan", "Turing", "41"),
    ]
    .iter()
    .map(|(email, first, last, age)| {
        json!({"id": email, "idProperty": "email", "properties": {"firstname": first, "lastname": last, "annualrevenue": age}})
    })
    .collect();
    let reply = hub
        .post(
            "/crm/v3/objects/contacts/batch/upsert",
            json!({ "inputs": inputs }),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
}

fn emails(reply: &common::Reply) -> Vec<String> {
    let mut out: Vec<String> = reply.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["properties"]["email"].as_str().unwrap_or("").to_string())
        .collect();
    out.sort();
    out
}

fn filter(property: &str, operator: &str, extra: Value) -> Value {
    let mut f = json!({"propertyName": property, "operator": operator});
    if let (Some(f), Some(extra)) = (f.as_object_mut(), extra.as_object()) {
        f.extend(extra.clone());
    }
    json!({"filterGroups": [{"filters": [f]}]})
}

#[tokio::test]
async fn every_documented_operator_and_free_text_query_finds_what_hubspot_finds() {
    let hub = lagless().await;
    seed(&hub).await;
    let cases = [
        (
            filter(
                "annualrevenue",
                "BETWEEN",
                json!({"value": "40", "highValue": "85"}),
            ),
            vec!["alan@bletchley.uk", "grace@navy.mil"],
        ),
        (
            filter("email", "CONTAINS_TOKEN", json!({"value": "*@hubspot.com"})),
            vec!["ada@hubspot.com"],
        ),
        (
            filter("lastname", "CONTAINS_TOKEN", json!({"value": "king"})),
            vec!["ada@hubspot.com"],
        ),
        (
            filter("lastname", "NOT_CONTAINS_TOKEN", json!({"value": "king"})),
            vec!["alan@bletchley.uk", "grace@navy.mil"],
        ),
        (
            // Lower-case values match any case; an upper-case one finds nothing.
            filter("firstname", "IN", json!({"values": ["ada", "ALAN"]})),
            vec!["ada@hubspot.com"],
        ),
        (
            filter("annualrevenue", "GT", json!({"value": "41"})),
            vec!["grace@navy.mil"],
        ),
        (
            filter("city", "NOT_HAS_PROPERTY", json!({})).clone(),
            vec!["ada@hubspot.com", "alan@bletchley.uk", "grace@navy.mil"],
        ),
        (json!({"query": "hop"}), vec!["grace@navy.mil"]),
        (json!({"query": "lovelace ada"}), vec!["ada@hubspot.com"]),
    ];
    for (body, expected) in cases {
        let reply = hub.post(SEARCH, body.clone()).await;
        assert_eq!(reply.status, 200, "{body}: {:?}", reply.body);
        assert_eq!(emails(&reply), expected, "{body}");
    }
    // Without `properties`, a result carries HubSpot's defaults for the type.
    let reply = hub.post(SEARCH, json!({"query": "ada"})).await;
    let names: Vec<&String> = reply.body["results"][0]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        names,
        [
            "createdate",
            "email",
            "firstname",
            "hs_object_id",
            "lastmodifieddate",
            "lastname"
        ]
    );
}

#[tokio::test]
async fn searches_past_hubspots_limits_are_refused() {
    let hub = lagless().await;
    let group = |n: usize| json!({"filters": (0..n).map(|i| json!({"propertyName": "firstname", "operator": "EQ", "value": i.to_string()})).collect::<Vec<_>>()});
    let mut refusals = Vec::new();
    for body in [
        json!({"filterGroups": (0..6).map(|_| group(1)).collect::<Vec<_>>()}),
        json!({"filterGroups": [group(7)]}),
        json!({"filterGroups": [group(6), group(6), group(6), group(1)]}),
        filter(
            "firstname",
            "IN",
            json!({"values": (0..101).map(|i| i.to_string()).collect::<Vec<_>>()}),
        ),
        filter("firstname", "BETWEEN", json!({"value": "a"})),
        filter("firstname", "LIKE", json!({"value": "a"})),
        json!({"limit": 201}),
        json!({"limit": 100, "after": "9901"}),
    ] {
        let reply = hub.post(SEARCH, body).await;
        refusals.push(json!({"status": reply.status, "category": reply.body["category"], "message": reply.body["message"]}));
    }
    insta::assert_json_snapshot!(refusals);
    let fine = hub
        .post(
            SEARCH,
            json!({"filterGroups": [group(6), group(6), group(6)], "limit": 200, "after": "9800"}),
        )
        .await;
    assert_eq!(fine.status, 200, "the limits themselves are allowed");
}

#[tokio::test]
async fn writes_reach_search_only_after_the_index_lag() {
    let hub = Hub::start(Settings {
        search_lag: Duration::from_millis(400),
        ..Settings::unlimited()
    })
    .await;
    seed(&hub).await;
    let ada = filter("email", "EQ", json!({"value": "ada@hubspot.com"}));
    let before = hub.post(SEARCH, ada.clone()).await;
    assert_eq!(before.body["total"], 0, "a new record is not found at once");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = hub.post(SEARCH, ada.clone()).await;
    assert_eq!(after.body["total"], 1);
    // A change: search keeps the indexed value until the lag has passed.
    hub.post(
        "/crm/v3/objects/contacts/batch/upsert",
        json!({"inputs": [{"id": "ada@hubspot.com", "idProperty": "email", "properties": {"firstname": "Augusta"}}]}),
    )
    .await;
    let stale = hub.post(SEARCH, ada.clone()).await;
    assert_eq!(stale.body["results"][0]["properties"]["firstname"], "Ada");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let fresh = hub.post(SEARCH, ada).await;
    assert_eq!(
        fresh.body["results"][0]["properties"]["firstname"],
        "Augusta"
    );
}

#[tokio::test]
async fn a_search_body_over_3000_characters_is_refused_as_hubspot_documents() {
    let hub = lagless().await;
    seed(&hub).await;
    // A body of exactly `chars` characters: an `IN` filter padded with one long value.
    let body_of = |chars: usize| {
        let with = |pad: usize| {
            filter(
                "email",
                "IN",
                json!({"values": ["ada@hubspot.com", "é".repeat(pad)]}),
            )
        };
        let base = with(0).to_string().chars().count();
        let body = with(chars - base);
        assert_eq!(body.to_string().chars().count(), chars);
        body
    };
    let fine = hub.post(SEARCH, body_of(3_000)).await;
    assert_eq!(fine.status, 200, "{:?}", fine.body);
    assert_eq!(emails(&fine), ["ada@hubspot.com"]);
    let refused = hub.post(SEARCH, body_of(3_001)).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.body["category"], "VALIDATION_ERROR");
    assert_eq!(
        refused.body["message"],
        "The request body is 3001 characters long; a search query can contain a maximum of 3000 characters"
    );
}
