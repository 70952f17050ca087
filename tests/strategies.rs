//! Ways of matching other than upsert, end to end against the emulator, each read back:
//! `id_field` (update by record id), `create_only` with and without a key.

mod support;

use hubspot_emulator::Settings;
use serde_json::{Value, json};
use support::*;

async fn create(base_url: &str, object_type: &str, properties: Value) -> String {
    let reply: Value = http()
        .post(format!("{base_url}/crm/objects/2026-09/{object_type}"))
        .bearer_auth("pat-na1-test")
        .json(&json!({ "properties": properties }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    reply["id"].as_str().unwrap().to_string()
}

async fn merge(base_url: &str, object_type: &str, primary: &str, other: &str) {
    let status = http()
        .post(format!(
            "{base_url}/crm/objects/2026-09/{object_type}/merge"
        ))
        .bearer_auth("pat-na1-test")
        .json(&json!({"primaryObjectId": primary, "objectIdToMerge": other}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_field_updates_records_by_id_and_rejects_unknown_ids() {
    let (hub, work, config) = start(
        Settings::default(),
        json!({"streams": {"accounts": {"object_type": "companies", "id_field": "hubspot_id"}}}),
    )
    .await;
    let base = hub.base_url();
    let acme = create(&base, "companies", json!({"name": "Acme"})).await;
    let globex = create(&base, "companies", json!({"name": "Globex"})).await;
    let initech = create(&base, "companies", json!({"name": "Initech"})).await;
    // Initech was merged into Globex since the export: its id still finds Globex.
    merge(&base, "companies", &globex, &initech).await;
    let input = singer(&[
        schema("accounts"),
        record(
            "accounts",
            json!({"hubspot_id": acme, "name": "Acme Inc", "city": "Oslo"}),
        ),
        record(
            "accounts",
            json!({"hubspot_id": globex.parse::<u64>().unwrap(), "city": "Rome"}),
        ),
        record(
            "accounts",
            json!({"hubspot_id": initech, "country": "Italy"}),
        ),
        record(
            "accounts",
            json!({"hubspot_id": "424242", "name": "Nobody"}),
        ),
        record(
            "accounts",
            json!({"hubspot_id": "ABC", "name": "Not an id"}),
        ),
        state(json!({"done": true})),
    ]);
    let out = run(&["--config", config.to_str().unwrap()], &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let stored = stored(&base, "companies").await;
    let by_id = |id: &str| {
        stored
            .iter()
            .find(|o| o["id"] == json!(id))
            .map(|o| o["properties"].clone())
            .unwrap()
    };
    assert_eq!(stored.len(), 2, "nothing created: {stored:?}");
    assert_eq!(by_id(&acme)["name"], "Acme Inc");
    assert_eq!(by_id(&acme)["city"], "Oslo");
    assert_eq!(by_id(&globex)["city"], "Rome");
    assert_eq!(
        by_id(&globex)["country"],
        "Italy",
        "written through the merged-away id"
    );
    assert!(
        by_id(&acme).get("hubspot_id").is_none(),
        "the id field is the key, not a property"
    );
    let rejected: Vec<Value> = work
        .rejected()
        .into_iter()
        .filter(|l| l["type"] == "RECORD")
        .collect();
    let mut reasons: Vec<(&str, &str)> = rejected
        .iter()
        .map(|l| {
            (
                l["record"]["hubspot_id"].as_str().unwrap(),
                l["error"]["category"].as_str().unwrap(),
            )
        })
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [("424242", "OBJECT_NOT_FOUND"), ("ABC", "MISSING_KEY")],
        "{rejected:?}"
    );
    let not_an_id = rejected
        .iter()
        .find(|l| l["record"]["hubspot_id"] == "ABC")
        .unwrap();
    assert!(
        not_an_id["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a record id"),
        "{rejected:?}"
    );
    assert_eq!(out.states(), vec![json!({"done": true})]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_only_skips_existing_keys_and_creates_the_rest() {
    let (hub, work, config) = start(
        Settings::default(),
        json!({"summary_path": "SUMMARY", "streams": {"leads": {"object_type": "contacts", "id_property": "email", "write_mode": "create_only"}}}),
    )
    .await;
    let base = hub.base_url();
    let existing = create(
        &base,
        "contacts",
        json!({"email": "ada@example.com", "firstname": "Ada"}),
    )
    .await;
    let summary = work.path("summary.json");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("SUMMARY", summary.to_str().unwrap());
    std::fs::write(&config, text).unwrap();
    let input = singer(&[
        schema("leads"),
        record(
            "leads",
            json!({"email": "ADA@example.com", "firstname": "Changed"}),
        ),
        record(
            "leads",
            json!({"email": "grace@example.com", "firstname": "Grace"}),
        ),
        record(
            "leads",
            json!({"email": "grace@example.com", "lastname": "Hopper"}),
        ),
        state(json!({"n": 3})),
    ]);
    let out = run(&["--config", config.to_str().unwrap()], &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let stored = stored(&base, "contacts").await;
    assert_eq!(stored.len(), 2);
    let ada = stored.iter().find(|o| o["id"] == json!(existing)).unwrap();
    assert_eq!(
        ada["properties"]["firstname"], "Ada",
        "an existing key is left alone"
    );
    let grace = stored
        .iter()
        .find(|o| o["properties"]["email"] == "grace@example.com")
        .unwrap();
    assert_eq!(grace["properties"]["lastname"], "Hopper");
    assert!(
        work.rejected().iter().all(|l| l["type"] != "RECORD"),
        "a skip is not a rejection"
    );
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(
        summary["total"],
        json!({"read": 3, "created": 1, "updated": 0, "merged": 1, "skipped": 1, "archived": 0, "unchanged": 0, "removed": 0, "rejected": 0})
    );
    assert!(out.stderr.contains("+ skipped 1"), "{}", out.stderr);
    assert_eq!(out.states(), vec![json!({"n": 3})]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_only_without_a_key_creates_every_record() {
    let (hub, _work, config) = start(
        Settings::default(),
        json!({"batch_size": 2, "streams": {"activity": {"object_type": "notes", "write_mode": "create_only"}}}),
    )
    .await;
    let input = singer(&[
        schema("activity"),
        record(
            "activity",
            json!({"hs_timestamp": "2024-01-15T10:00:00Z", "hs_note_body": "one"}),
        ),
        record(
            "activity",
            json!({"hs_timestamp": "2024-01-15T10:00:00Z", "hs_note_body": "one"}),
        ),
        record(
            "activity",
            json!({"hs_timestamp": "2024-01-16T10:00:00Z", "hs_note_body": "two"}),
        ),
    ]);
    let out = run(&["--config", config.to_str().unwrap()], &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("running the same input again creates the records again"),
        "{}",
        out.stderr
    );
    let notes = stored(&hub.base_url(), "notes").await;
    assert_eq!(
        notes.len(),
        3,
        "identical records are not merged without a key"
    );
    let stats = stats(&hub.base_url()).await;
    assert_eq!(
        stats["by_route"]["POST /crm/objects/2026-09/{object_type}/batch/create"], 2,
        "{stats}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn companies_matched_by_domain_never_duplicate_despite_the_search_lag() {
    // The emulator's default index lag (1.5 s) is on: a company written in this run is not
    // found by search until later.
    let settings = Settings::default();
    assert!(!settings.search_lag.is_zero());
    let (hub, work, config) = start(
        settings,
        json!({"batch_size": 2, "streams": {"accounts": {"object_type": "companies", "match_property": "domain"}}}),
    )
    .await;
    let base = hub.base_url();
    // Two companies already share a domain: matching it is ambiguous.
    let twin_a = create(
        &base,
        "companies",
        json!({"name": "Twin A", "domain": "twins.example"}),
    )
    .await;
    let twin_b = create(
        &base,
        "companies",
        json!({"name": "Twin B", "domain": "twins.example"}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    let input = singer(&[
        schema("accounts"),
        record(
            "accounts",
            json!({"domain": "acme.example", "name": "Acme"}),
        ),
        record(
            "accounts",
            json!({"domain": "globex.example", "name": "Globex"}),
        ),
        // Next batch: the same company spelled differently, before search can see it.
        record(
            "accounts",
            json!({"domain": "https://www.ACME.example/about", "city": "Oslo"}),
        ),
        record(
            "accounts",
            json!({"domain": "twins.example", "name": "Which twin?"}),
        ),
        record(
            "accounts",
            json!({"domain": "Globex.Example", "city": "Rome"}),
        ),
        state(json!({"run": 1})),
    ]);
    let out = run(&["--config", config.to_str().unwrap()], &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let companies = stored(&base, "companies").await;
    let by_domain = |d: &str| -> Vec<Value> {
        companies
            .iter()
            .filter(|c| c["properties"]["domain"] == d)
            .map(|c| c["properties"].clone())
            .collect()
    };
    assert_eq!(companies.len(), 4, "{companies:?}");
    let acme = by_domain("acme.example");
    assert_eq!(acme.len(), 1, "one Acme: {companies:?}");
    assert_eq!(acme[0]["name"], "Acme");
    assert_eq!(acme[0]["city"], "Oslo");
    assert_eq!(by_domain("globex.example")[0]["city"], "Rome");
    let rejected: Vec<Value> = work
        .rejected()
        .into_iter()
        .filter(|l| l["type"] == "RECORD")
        .collect();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0]["error"]["category"], "AMBIGUOUS_MATCH");
    let message = rejected[0]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&twin_a) && message.contains(&twin_b),
        "{message}"
    );

    // A second run of the same export, once the index has caught up: nothing new.
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    let out = run(&["--config", config.to_str().unwrap()], &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(stored(&base, "companies").await.len(), 4);
    assert!(
        out.stderr.contains("created 0 + updated 4"),
        "{}",
        out.stderr
    );
    let stats = stats(&base).await;
    assert!(
        stats["by_route"]["POST /crm/objects/2026-09/{object_type}/search"]
            .as_u64()
            .unwrap()
            >= 2,
        "{stats}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hard_delete_archives_what_the_tap_deleted_and_skips_what_is_not_there() {
    let (hub, work, config) = start(
        Settings::default(),
        json!({"streams": {"people": {"object_type": "contacts", "hard_delete": true}}}),
    )
    .await;
    let base = hub.base_url();
    create(&base, "contacts", json!({"email": "gone@example.com"})).await;
    create(&base, "contacts", json!({"email": "stays@example.com"})).await;
    let input = singer(&[
        schema("people"),
        record(
            "people",
            json!({"email": "GONE@example.com", "_sdc_deleted_at": "2026-11-30T10:00:00Z"}),
        ),
        record(
            "people",
            json!({"email": "never@example.com", "_sdc_deleted_at": "2026-11-30T10:00:00Z"}),
        ),
        record(
            "people",
            json!({"email": "stays@example.com", "firstname": "Still", "_sdc_deleted_at": null}),
        ),
        record(
            "people",
            json!({"email": "new@example.com", "firstname": "New"}),
        ),
        state(json!({"n": 4})),
    ]);
    let out = run(&["--config", config.to_str().unwrap()], &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let live: Vec<String> = stored(&base, "contacts")
        .await
        .iter()
        .filter(|c| c["archived"] == false)
        .map(|c| c["properties"]["email"].as_str().unwrap().to_string())
        .collect();
    let mut live = live;
    live.sort();
    assert_eq!(live, ["new@example.com", "stays@example.com"]);
    assert!(
        out.stderr.contains("+ skipped 1 + archived 1 + rejected 0"),
        "{}",
        out.stderr
    );
    assert!(work.rejected().iter().all(|l| l["type"] != "RECORD"));
    assert_eq!(out.states(), vec![json!({"n": 4})]);

    // Without hard_delete, a deleted record is written like any other, with a warning.
    let (hub, _work, config) = start(
        Settings::default(),
        json!({"streams": {"people": {"object_type": "contacts"}}}),
    )
    .await;
    let out = run(
        &["--config", config.to_str().unwrap()],
        &singer(&[
            schema("people"),
            record(
                "people",
                json!({"email": "kept@example.com", "_sdc_deleted_at": "2026-11-30T10:00:00Z"}),
            ),
        ]),
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("set hard_delete: true"),
        "{}",
        out.stderr
    );
    assert_eq!(stored(&hub.base_url(), "contacts").await.len(), 1);
}

/// `(from type id, from id, to type id, to id)` of every stored association, sorted.
async fn associations(base_url: &str) -> Vec<(String, String, String, String)> {
    let all: Vec<Value> = http_get_json(&format!("{base_url}/_emulator/associations")).await;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let mut out: Vec<_> = all
        .iter()
        .map(|a| {
            (
                text(&a["fromObjectTypeId"]),
                text(&a["fromObjectId"]),
                text(&a["toObjectTypeId"]),
                text(&a["toObjectId"]),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engagements_are_created_with_their_associations_inline() {
    let (hub, work, config) = start(
        Settings::default(),
        json!({"streams": {
            "notes": {"object_type": "notes", "write_mode": "create_only", "associations": [
                {"field": "contact_email", "to_object_type": "contacts", "to_id_property": "email"}]},
            "calls": {"object_type": "calls", "write_mode": "create_only", "associations": [
                {"field": "who", "to_object_type": "contacts", "to_match": "email"}]}
        }}),
    )
    .await;
    let base = hub.base_url();
    let ada = create(&base, "contacts", json!({"email": "ada@example.com"})).await;
    let grace = create(&base, "contacts", json!({"email": "grace@example.com"})).await;
    let input = singer(&[
        schema("notes"),
        record(
            "notes",
            json!({"hs_timestamp": "2024-01-15T10:00:00Z", "hs_note_body": "Met Ada", "contact_email": "ADA@example.com"}),
        ),
        record(
            "notes",
            json!({"hs_timestamp": "2024-01-15T11:00:00Z", "hs_note_body": "Met both", "contact_email": ["ada@example.com", "grace@example.com"]}),
        ),
        record(
            "notes",
            json!({"hs_timestamp": "2024-01-15T12:00:00Z", "hs_note_body": "Met a stranger", "contact_email": "nobody@example.com"}),
        ),
        schema("calls"),
        record(
            "calls",
            json!({"hs_timestamp": "2024-01-16T09:00:00Z", "hs_call_title": "Call Grace", "who": "grace@example.com"}),
        ),
    ]);
    let out = run(&["--config", config.to_str().unwrap()], &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let notes = stored(&base, "notes").await;
    assert_eq!(
        notes.len(),
        2,
        "the note to a stranger is not created: {notes:?}"
    );
    let note_id = |body: &str| {
        notes
            .iter()
            .find(|n| n["properties"]["hs_note_body"] == body)
            .map(|n| n["id"].as_str().unwrap().to_string())
            .unwrap()
    };
    let call_id = stored(&base, "calls").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let link = |from: &str, id: &str, to: &str| {
        (
            from.to_string(),
            id.to_string(),
            "0-1".to_string(),
            to.to_string(),
        )
    };
    let mut expected = vec![
        link("0-46", &note_id("Met Ada"), &ada),
        link("0-46", &note_id("Met both"), &ada),
        link("0-46", &note_id("Met both"), &grace),
        link("0-48", &call_id, &grace),
    ];
    expected.sort();
    assert_eq!(associations(&base).await, expected);
    let stats = stats(&base).await;
    assert!(
        stats["by_route"]
            .get("POST /crm/associations/2026-09/{from}/{to}/batch/create")
            .is_none()
            && stats["by_route"]
                .get("POST /crm/associations/2026-09/{from}/{to}/batch/associate/default")
                .is_none(),
        "no second call: {stats}"
    );
    let rejected: Vec<Value> = work
        .rejected()
        .into_iter()
        .filter(|l| l["type"] == "RECORD")
        .collect();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["error"]["category"], "ASSOCIATION_FAILED");
    assert!(
        rejected[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no contacts record has email = 'nobody@example.com'"),
        "{rejected:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deal_is_associated_with_contacts_from_an_array_and_a_company_by_domain() {
    let (hub, _work, config) = start(
        Settings::default(),
        json!({"streams": {"deals": {"object_type": "deals", "match_property": "dealname", "associations": [
            {"field": "contacts", "to_object_type": "contacts", "to_id_property": "email"},
            {"field": "company_domain", "to_object_type": "companies", "to_match": "domain"}]}}}),
    )
    .await;
    let base = hub.base_url();
    let ada = create(&base, "contacts", json!({"email": "ada@example.com"})).await;
    let grace = create(&base, "contacts", json!({"email": "grace@example.com"})).await;
    let acme = create(
        &base,
        "companies",
        json!({"name": "Acme", "domain": "acme.example"}),
    )
    .await;
    // The company must be in the search index before it can be found by domain.
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    let input = singer(&[
        schema("deals"),
        record(
            "deals",
            json!({"dealname": "Big Deal", "amount": "100",
            "contacts": ["ada@example.com", "GRACE@example.com"], "company_domain": "https://www.acme.example/"}),
        ),
    ]);
    let out = run(&["--config", config.to_str().unwrap()], &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let deals = stored(&base, "deals").await;
    assert_eq!(deals.len(), 1);
    let deal = deals[0]["id"].as_str().unwrap().to_string();
    let link = |to_type: &str, to: &str| {
        (
            "0-3".to_string(),
            deal.clone(),
            to_type.to_string(),
            to.to_string(),
        )
    };
    let mut expected = vec![link("0-1", &ada), link("0-1", &grace), link("0-2", &acme)];
    expected.sort();
    assert_eq!(associations(&base).await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_defined_association_label_is_found_by_name() {
    let (hub, work, config) = start(
        Settings::default(),
        json!({"streams": {"deals": {"object_type": "deals", "match_property": "dealname", "associations": [
            {"field": "buyer", "to_object_type": "contacts", "to_id_property": "email", "label": "Decision maker"}]}}}),
    )
    .await;
    let base = hub.base_url();
    let label: Value = http()
        .post(format!(
            "{base}/crm/associations/2026-09/deals/contacts/labels"
        ))
        .bearer_auth("pat-na1-test")
        .json(&json!({"label": "Decision maker", "name": "decision_maker"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let type_id = label["results"][0]["typeId"].clone();
    let ada = create(&base, "contacts", json!({"email": "ada@example.com"})).await;
    let input = singer(&[
        schema("deals"),
        record(
            "deals",
            json!({"dealname": "Engine", "buyer": "ada@example.com"}),
        ),
    ]);
    let out = run(&["--config", config.to_str().unwrap()], &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let all: Vec<Value> = http_get_json(&format!("{base}/_emulator/associations")).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["toObjectId"], json!(ada));
    assert_eq!(
        all[0]["types"],
        json!([{"associationCategory": "USER_DEFINED", "associationTypeId": type_id}])
    );
    assert!(work.rejected().iter().all(|l| l["type"] != "RECORD"));

    // A label the portal does not have stops the run at startup, listing the ones it has.
    let (_hub2, _work2, config) = start(
        Settings::default(),
        json!({"streams": {"deals": {"object_type": "deals", "match_property": "dealname", "associations": [
            {"field": "buyer", "to_object_type": "contacts", "to_id_property": "email", "label": "Champion"}]}}}),
    )
    .await;
    let out = run(
        &["--config", config.to_str().unwrap()],
        &singer(&[schema("deals")]),
    )
    .await;
    assert_eq!(out.code, Some(1));
    assert!(
        out.critical().contains("no association label 'Champion' between deals and contacts (known: unlabelled (HUBSPOT_DEFINED 3))"),
        "{}",
        out.stderr
    );
}
