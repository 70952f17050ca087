//! `load_method: import` (#24): records loaded through HubSpot's Imports API store what the
//! same records store by batch upsert, read back from the emulator; errors come back to the
//! records on their lines; a failed import, a signal, several files and the ledger.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use hubspot_emulator::Settings;
use hubspot_emulator::settings::ImportLimits;
use serde_json::{Value, json};
use support::exports::{self, PLAIN};
use support::{Held, held};
use support::{Output, TOKEN, Workdir, record, run_bytes, schema, singer, start, state, stored};

const STREAM: &str = "warehouse_contacts";

fn settings(imports: ImportLimits) -> Settings {
    Settings {
        preload: hubspot_emulator::preload::Preload::from_json(&exports::preload().to_string())
            .unwrap(),
        imports,
        ..Settings::default()
    }
}

/// The dirty table of the export tests (mixed case, NULLs, quotes, line breaks, a
/// 60,000-character name), a repeated key, and rows HubSpot or the target refuses.
fn table() -> Vec<u8> {
    let mut csv = exports::csv(&exports::people(40), &PLAIN);
    csv.push_str("not-an-email,Bad,,lead,,,,,,\n");
    csv.push_str("two@@example.com,Worse,,lead,,,,,,\n");
    csv.push_str("stage@example.com,Stage,,not-a-stage,,,,,,\n");
    csv.push_str("User1@Example.COM,Again,Lisbon,,,,,,,\n");
    csv.into_bytes()
}

/// `(email as written, code)` of each rejected record.
fn rejected(work: &Workdir) -> BTreeSet<(String, String)> {
    work.rejected()
        .into_iter()
        .filter(|l| l["type"] == "RECORD")
        .map(|l| {
            (
                l["record"]["email"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                l["error"]["code"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

async fn load_table(extra: Value, imports: ImportLimits) -> (Held, Output, Workdir, Value) {
    let mut config = json!({"streams": {STREAM: {"object_type": "contacts"}}});
    if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    let (hub, work, config) = start(settings(imports), config).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contacts.csv");
    std::fs::write(&file, table()).unwrap();
    let out = run_bytes(
        &[
            "--config",
            config.to_str().unwrap(),
            "--stream",
            STREAM,
            "--input",
            file.to_str().unwrap(),
            "--input-format",
            "csv",
        ],
        b"",
    )
    .await;
    let stats = support::stats(&hub.base_url()).await;
    (held(&hub.base_url()).await, out, work, stats)
}

fn import_posts(stats: &Value) -> u64 {
    stats["by_route"]["POST /crm/imports/2026-09"]
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_stores_what_a_batch_upsert_stores_and_rejects_the_same_records() {
    let (by_batch, out, batch_work, batch_stats) =
        load_table(json!({}), ImportLimits::default()).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let (by_import, out, import_work, import_stats) =
        load_table(json!({"load_method": "import"}), ImportLimits::default()).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // 40 people + the row refused for its stage locally + none of the bad emails.
    assert_eq!(by_batch.len(), 40);
    assert_eq!(by_import, by_batch, "the same values, read back");
    let expected: BTreeSet<(String, String)> = [
        ("not-an-email", "INVALID_EMAIL"),
        ("two@@example.com", "INVALID_EMAIL"),
        ("stage@example.com", "INVALID_OPTION"),
    ]
    .into_iter()
    .map(|(e, c)| (e.to_string(), c.to_string()))
    .collect();
    assert_eq!(rejected(&batch_work), expected);
    assert_eq!(rejected(&import_work), expected);
    // The import's refusals name HubSpot's import, the line and the value.
    let invalid = import_work
        .rejected()
        .into_iter()
        .find(|l| l["record"]["email"] == "not-an-email")
        .unwrap();
    assert_eq!(invalid["error"]["category"], "IMPORT_ERROR");
    let message = invalid["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("refused line 42: INVALID_EMAIL") && message.contains("\"not-an-email\""),
        "{message}"
    );
    // One upload for the whole table, against one batch request per 100 records.
    assert_eq!(import_posts(&import_stats), 1);
    assert_eq!(import_posts(&batch_stats), 0);
    assert!(
        out.stderr
            .contains("imported 40 + merged into an earlier record of its batch 1"),
        "{}",
        out.stderr
    );
}

fn contacts_input(n: usize) -> String {
    let mut messages = vec![schema(STREAM)];
    for i in 0..n {
        messages.push(record(
            STREAM,
            json!({"email": format!("p{i}@example.com"), "firstname": format!("P{i}")}),
        ));
        if i == n / 2 {
            messages.push(state(json!({"at": i})));
        }
    }
    messages.push(state(json!({"at": n})));
    singer(&messages)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_import_rejects_its_records_with_hubspots_reason_and_their_replay_loads_them() {
    let limits = ImportLimits {
        fail_next: 1,
        ..ImportLimits::default()
    };
    let (hub, work, config) = start(
        settings(limits),
        json!({"load_method": "import", "max_reject_rate": 1,
               "streams": {STREAM: {"object_type": "contacts"}}}),
    )
    .await;
    let out = support::run_config(&config, &contacts_input(6)).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(stored(&hub.base_url(), "contacts").await.is_empty());
    let lines = work.rejected();
    let records: Vec<&Value> = lines.iter().filter(|l| l["type"] == "RECORD").collect();
    assert_eq!(records.len(), 6);
    let error = &records[0]["error"];
    assert_eq!(error["category"], "IMPORT_ERROR");
    assert_eq!(error["code"], "IMPORT_FAILED");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("ended FAILED: UNKNOWN_ERROR"),
        "{error}"
    );
    // Every record settled (rejected): the last STATE goes out.
    assert_eq!(out.states(), vec![json!({"at": 6})]);
    // The rejected file is a Singer stream: replayed, the import (no longer failing) loads it.
    let replay = std::fs::read_to_string(work.rejected_path()).unwrap();
    std::fs::remove_file(work.rejected_path()).unwrap();
    let out = support::run_config(&config, &replay).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(stored(&hub.base_url(), "contacts").await.len(), 6);
    assert!(work.rejected().iter().all(|l| l["type"] != "RECORD"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_rows_than_a_file_holds_go_as_several_imports_and_state_waits_for_all() {
    let (hub, _work, config) = start(
        settings(ImportLimits::default()),
        json!({"load_method": "import", "import_max_rows": 7,
               "streams": {STREAM: {"object_type": "contacts"}}}),
    )
    .await;
    let out = support::run_config(&config, &contacts_input(20)).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let imports = list_imports(&hub.base_url()).await;
    let mut rows: Vec<u64> = imports
        .iter()
        .map(|i| i["metadata"]["counters"]["TOTAL_ROWS"].as_u64().unwrap())
        .collect();
    rows.sort();
    assert_eq!(rows, [6, 7, 7]);
    let stored = stored(&hub.base_url(), "contacts").await;
    assert_eq!(stored.len(), 20);
    // A STATE goes out once every record before it is settled: the middle one when the
    // first two imports finish before the third (or not at all, the last saying it all).
    let states = out.states();
    assert_eq!(states.last(), Some(&json!({"at": 20})));
    assert!(
        states == [json!({"at": 20})] || states == [json!({"at": 10}), json!({"at": 20})],
        "{states:?}"
    );
}

async fn list_imports(base_url: &str) -> Vec<Value> {
    let answer: Value = support::http()
        .get(format!("{base_url}/crm/imports/2026-09"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["results"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_learns_what_an_import_wrote_and_an_unchanged_rerun_imports_nothing() {
    let (hub, work, config) = start(
        settings(ImportLimits::default()),
        json!({"load_method": "import", "streams": {STREAM: {"object_type": "contacts"}}}),
    )
    .await;
    let ledger = work.path("ledger.db");
    let mut c: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    c["ledger"] = json!(ledger);
    std::fs::write(&config, c.to_string()).unwrap();
    let input = contacts_input(12);
    let out = support::run_config(&config, &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(list_imports(&hub.base_url()).await.len(), 1);
    // The same input again: every record is unchanged, nothing is imported.
    let out = support::run_config(&config, &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("unchanged 12"), "{}", out.stderr);
    assert_eq!(list_imports(&hub.base_url()).await.len(), 1);
    // One record changed: one import of one row.
    let changed = input.replace("\"firstname\":\"P3\"", "\"firstname\":\"Pat\"");
    let out = support::run_config(&config, &changed).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let imports = list_imports(&hub.base_url()).await;
    assert_eq!(imports.len(), 2);
    assert_eq!(imports[0]["metadata"]["counters"]["TOTAL_ROWS"], 1);
    let pat = stored(&hub.base_url(), "contacts")
        .await
        .into_iter()
        .find(|o| o["properties"]["email"] == "p3@example.com")
        .unwrap();
    assert_eq!(pat["properties"]["firstname"], "Pat");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_cancels_the_import_and_leaves_its_records_unacknowledged() {
    // 40 rows at 4 a second: ten seconds of processing.
    let limits = ImportLimits {
        rows_per_second: 4,
        ..ImportLimits::default()
    };
    let (hub, _work, config) = start(
        settings(limits),
        json!({"load_method": "import", "streams": {STREAM: {"object_type": "contacts"}}}),
    )
    .await;
    let mut child = support::spawn_target(&config);
    let mut stdin = child.stdin.take().unwrap();
    use tokio::io::AsyncWriteExt;
    stdin
        .write_all(contacts_input(40).as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let base = hub.base_url();
    let mut started = false;
    for _ in 0..100 {
        if !list_imports(&base).await.is_empty() {
            started = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(started, "an import starts");
    tokio::time::sleep(Duration::from_millis(700)).await;
    support::terminate(&child.id().unwrap().to_string());
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the target ends")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(out.stdout.is_empty(), "no STATE acknowledges the records");
    assert!(stderr.contains("import cancelled"), "{stderr}");
    let imports = list_imports(&base).await;
    assert_eq!(imports[0]["state"], "CANCELED");
    let written = stored(&base, "contacts").await.len();
    assert!(written < 40, "cancelled part-way: {written} rows written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_records_are_associated_with_records_imported_just_before() {
    let (hub, _work, config) = start(
        support::with_external_ids(),
        json!({"load_method": "import", "streams": {
            "accounts": {"object_type": "companies", "id_property": "external_id"},
            "people": {"object_type": "contacts", "associations": [
                {"field": "account", "to_object_type": "companies", "to_id_property": "external_id"}]}}}),
    )
    .await;
    let mut messages = vec![schema("accounts"), schema("people")];
    for i in 0..5 {
        messages.push(record(
            "accounts",
            json!({"external_id": format!("acc-{i}"), "name": format!("Account {i}")}),
        ));
        messages.push(record(
            "people",
            json!({"email": format!("p{i}@example.com"), "account": format!("acc-{i}")}),
        ));
    }
    let out = support::run_config(&config, &singer(&messages)).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let links: Vec<Value> =
        support::http_get_json(&format!("{}/_emulator/associations", hub.base_url())).await;
    assert_eq!(links.len(), 5, "{links:?}");
    let contacts = stored(&hub.base_url(), "contacts").await;
    let companies = stored(&hub.base_url(), "companies").await;
    for link in &links {
        let contact = contacts
            .iter()
            .find(|c| c["id"] == link["fromObjectId"])
            .unwrap();
        let company = companies
            .iter()
            .find(|c| c["id"] == link["toObjectId"])
            .unwrap();
        let n = contact["properties"]["email"].as_str().unwrap()[1..2].to_string();
        assert_eq!(company["properties"]["external_id"], format!("acc-{n}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_an_import_cannot_do_is_refused_before_anything_is_read() {
    let work = Workdir::new();
    for (stream, why) in [
        (
            json!({"object_type": "companies", "match_property": "domain"}),
            "match_property",
        ),
        (
            json!({"object_type": "contacts", "blank_values": "clear"}),
            "cannot clear values",
        ),
        (
            json!({"object_type": "contacts", "hard_delete": true}),
            "hard_delete",
        ),
    ] {
        let config = work.config(
            "http://127.0.0.1:9",
            json!({"load_method": "import", "streams": {"s": stream}}),
        );
        let out = support::run_config(&config, "").await;
        assert_eq!(out.code, Some(1), "{}", out.stderr);
        assert!(out.stderr.contains(why), "{why}: {}", out.stderr);
        assert!(out.stderr.contains("load_method batch"), "{}", out.stderr);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_records_the_import_request_and_starts_no_import() {
    let (hub, work, config) = start(
        settings(ImportLimits::default()),
        json!({"load_method": "import", "streams": {STREAM: {"object_type": "contacts"}}}),
    )
    .await;
    let requests = work.path("requests.jsonl");
    let out = support::run(
        &[
            "--config",
            config.to_str().unwrap(),
            "--dry-run",
            "--dry-run-output",
            requests.to_str().unwrap(),
        ],
        &contacts_input(5),
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(list_imports(&hub.base_url()).await.is_empty());
    assert!(stored(&hub.base_url(), "contacts").await.is_empty());
    assert!(out.stdout.is_empty(), "a dry run writes no STATE");
    let recorded: Vec<Value> = std::fs::read_to_string(&requests)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let [request] = recorded.as_slice() else {
        panic!("one request recorded: {recorded:?}")
    };
    assert_eq!(request["path"], "/crm/imports/2026-09");
    let mappings = &request["body"]["files"][0]["fileImportPage"]["columnMappings"];
    assert_eq!(mappings[0]["columnType"], "HUBSPOT_ALTERNATE_ID");
    assert_eq!(request["body"]["importOperations"]["0-1"], "UPSERT");
    assert!(out.stderr.contains("imported 5"), "{}", out.stderr);
}
