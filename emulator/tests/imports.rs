//! The Imports API: checked as HubSpot checks an upload, processed as a batch upsert of the
//! same rows, its errors by line, its states, cancel and limits.

mod common;

use std::time::Duration;

use common::{Hub, Reply};
use hubspot_emulator::Settings;
use hubspot_emulator::settings::ImportLimits;
use serde_json::{Value, json};

const IMPORTS: &str = "/crm/v3/imports";

fn request(file_name: &str, columns: &[(&str, Option<&str>)]) -> Value {
    let mappings: Vec<Value> = columns
        .iter()
        .map(|(name, kind)| {
            let mut m =
                json!({"columnObjectTypeId": "0-1", "columnName": name, "propertyName": name});
            if let Some(kind) = kind {
                m["columnType"] = json!(kind);
            }
            m
        })
        .collect();
    json!({"name": "test", "importOperations": {"0-1": "UPSERT"}, "dateFormat": "YEAR_MONTH_DAY",
           "files": [{"fileName": file_name, "fileFormat": "CSV",
                      "fileImportPage": {"hasHeader": true, "columnMappings": mappings}}]})
}

fn contacts() -> [(&'static str, Option<&'static str>); 3] {
    [
        ("email", Some("HUBSPOT_ALTERNATE_ID")),
        ("firstname", None),
        ("lifecyclestage", None),
    ]
}

async fn upload(hub: &Hub, path: &str, request: &Value, file_name: &str, csv: &str) -> Reply {
    let form = reqwest::multipart::Form::new()
        .text("importRequest", request.to_string())
        .part(
            "files",
            reqwest::multipart::Part::bytes(csv.as_bytes().to_vec())
                .file_name(file_name.to_string()),
        );
    let resp = hub
        .client
        .post(hub.url(path))
        .bearer_auth(&hub.token)
        .multipart(form)
        .send()
        .await
        .expect("send");
    Hub::reply(resp).await
}

async fn finished(hub: &Hub, id: &str) -> Value {
    for _ in 0..200 {
        let reply = hub.get(&format!("{IMPORTS}/{id}")).await;
        if ["DONE", "FAILED", "CANCELED"].contains(&reply.body["state"].as_str().unwrap_or("")) {
            return reply.body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("import {id} did not finish");
}

#[tokio::test]
async fn an_import_writes_what_a_batch_upsert_writes_and_names_each_failed_row_by_line() {
    let hub = Hub::start(Settings::unlimited()).await;
    let csv = "email,firstname,lifecyclestage\n\
               ann@example.com,Ann,lead\n\
               not-an-email,Bob,lead\n\
               cy@example.com,\"Cy, \"\"the\"\" third\",not-a-stage\n";
    let reply = upload(&hub, IMPORTS, &request("c.csv", &contacts()), "c.csv", csv).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["state"], "STARTED");
    let id = reply.body["id"].as_str().unwrap().to_string();
    let done = finished(&hub, &id).await;
    assert_eq!(done["state"], "DONE");
    assert_eq!(
        done["metadata"]["counters"],
        json!({"CREATED_OBJECTS": 2, "ERRORS": 2, "TOTAL_ROWS": 3})
    );
    let errors = hub
        .get(&format!(
            "{IMPORTS}/{id}/errors?includeErrorMessage=true&includeRowData=true"
        ))
        .await;
    let summary: Vec<Value> = errors.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            json!([
                e["errorType"],
                e["sourceData"]["lineNumber"],
                e["knownColumnNumber"],
                e["invalidValue"],
                e["sourceData"]["rowData"][0]
            ])
        })
        .collect();
    assert_eq!(
        summary,
        [
            json!(["INVALID_EMAIL", 3, 0, "not-an-email", "not-an-email"]),
            json!([
                "INVALID_ENUMERATION_OPTION",
                4,
                2,
                "not-a-stage",
                "cy@example.com"
            ])
        ]
    );
    // A good key with a bad value: written without that value.
    let stored = hub.stored("contacts").await;
    let cy = stored
        .iter()
        .find(|o| o["properties"]["email"] == "cy@example.com")
        .unwrap();
    assert_eq!(cy["properties"]["firstname"], "Cy, \"the\" third");
    assert!(cy["properties"].get("lifecyclestage").is_none());
    assert_eq!(stored.len(), 2);
}

#[tokio::test]
async fn uploads_hubspot_would_refuse_are_refused() {
    let hub = Hub::start(Settings::unlimited()).await;
    let csv = "email,firstname,lifecyclestage\nann@example.com,Ann,lead\n";
    let cases = [
        (
            "file name differs",
            request("other.csv", &contacts()),
            "c.csv",
            csv,
        ),
        (
            "unknown property",
            request(
                "c.csv",
                &[("email", Some("HUBSPOT_ALTERNATE_ID")), ("shoe_size", None)],
            ),
            "c.csv",
            "email,shoe_size\na@x.com,9\n",
        ),
        (
            "alternate id without unique values",
            request("c.csv", &[("firstname", Some("HUBSPOT_ALTERNATE_ID"))]),
            "c.csv",
            "firstname\nAnn\n",
        ),
        (
            "header differs from the mappings",
            request("c.csv", &contacts()),
            "c.csv",
            "email,first_name,lifecyclestage\nann@example.com,Ann,lead\n",
        ),
    ];
    for (what, request, name, csv) in cases {
        let reply = upload(&hub, IMPORTS, &request, name, csv).await;
        assert_eq!(reply.status, 400, "{what}: {:?}", reply.body);
        assert_eq!(reply.body["category"], "VALIDATION_ERROR", "{what}");
    }
    assert!(hub.stored("contacts").await.is_empty());
    let none = hub.get(IMPORTS).await;
    assert_eq!(none.body["results"], json!([]));
}

#[tokio::test]
async fn files_over_the_row_limit_and_imports_past_the_day_answer_429() {
    let hub = Hub::start(Settings {
        imports: ImportLimits {
            max_rows: 2,
            per_day: 1,
            ..ImportLimits::default()
        },
        ..Settings::unlimited()
    })
    .await;
    let three = "email,firstname,lifecyclestage\na@x.com,A,lead\nb@x.com,B,lead\nc@x.com,C,lead\n";
    let reply = upload(
        &hub,
        IMPORTS,
        &request("c.csv", &contacts()),
        "c.csv",
        three,
    )
    .await;
    assert_eq!(reply.status, 429, "{:?}", reply.body);
    let two = "email,firstname,lifecyclestage\na@x.com,A,lead\nb@x.com,B,lead\n";
    let dated = "/crm/imports/2026-09";
    let reply = upload(&hub, dated, &request("c.csv", &contacts()), "c.csv", two).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let reply = upload(&hub, dated, &request("c.csv", &contacts()), "c.csv", two).await;
    assert_eq!(
        reply.status, 429,
        "the day's one import is spent: {:?}",
        reply.body
    );
}

#[tokio::test]
async fn a_fourth_import_waits_deferred_and_a_cancelled_one_stops_writing() {
    let hub = Hub::start(Settings {
        imports: ImportLimits {
            rows_per_second: 10,
            ..ImportLimits::default()
        },
        ..Settings::unlimited()
    })
    .await;
    let mut csv = String::from("email,firstname,lifecyclestage\n");
    for i in 0..50 {
        csv.push_str(&format!("p{i}@x.com,P{i},lead\n"));
    }
    let mut ids = Vec::new();
    for _ in 0..4 {
        let reply = upload(&hub, IMPORTS, &request("c.csv", &contacts()), "c.csv", &csv).await;
        ids.push(reply.body["id"].as_str().unwrap().to_string());
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let states: Vec<Value> = {
        let mut states = Vec::new();
        for id in &ids {
            states.push(hub.get(&format!("{IMPORTS}/{id}")).await.body["state"].clone());
        }
        states
    };
    assert_eq!(
        states,
        ["PROCESSING", "PROCESSING", "PROCESSING", "DEFERRED"]
    );
    let cancel = hub
        .send(
            reqwest::Method::POST,
            &format!("{IMPORTS}/{}/cancel", ids[0]),
            None,
        )
        .await;
    assert_eq!(cancel.body["status"], "CANCELED");
    let counted = |body: &Value| {
        body["metadata"]["counters"]["TOTAL_ROWS"]
            .as_u64()
            .unwrap_or(0)
    };
    let at_cancel = counted(&hub.get(&format!("{IMPORTS}/{}", ids[0])).await.body);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let later = hub.get(&format!("{IMPORTS}/{}", ids[0])).await.body;
    assert_eq!(later["state"], "CANCELED");
    assert_eq!(
        counted(&later),
        at_cancel,
        "a cancelled import writes no more"
    );
    assert!(at_cancel < 50);
    // With one slot free, the deferred import runs.
    assert_eq!(
        hub.get(&format!("{IMPORTS}/{}", ids[3])).await.body["state"],
        "PROCESSING"
    );
}

#[tokio::test]
async fn errors_are_paged() {
    let hub = Hub::start(Settings::unlimited()).await;
    let mut csv = String::from("email,firstname,lifecyclestage\n");
    for i in 0..7 {
        csv.push_str(&format!("bad-{i},P{i},lead\n"));
    }
    let reply = upload(&hub, IMPORTS, &request("c.csv", &contacts()), "c.csv", &csv).await;
    let id = reply.body["id"].as_str().unwrap().to_string();
    finished(&hub, &id).await;
    let mut lines = Vec::new();
    let mut after = String::new();
    loop {
        let page = hub
            .get(&format!("{IMPORTS}/{id}/errors?limit=3&after={after}"))
            .await
            .body;
        for e in page["results"].as_array().unwrap() {
            lines.push(e["sourceData"]["lineNumber"].as_u64().unwrap());
        }
        match page["paging"]["next"]["after"].as_str() {
            Some(next) => after = next.to_string(),
            None => break,
        }
    }
    assert_eq!(lines, [2, 3, 4, 5, 6, 7, 8]);
}
