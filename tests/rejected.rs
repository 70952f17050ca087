//! The rejected-records file: what its SCHEMA lines keep, where it goes, who may read it.

mod support;

use std::os::unix::fs::PermissionsExt;

use hubspot_emulator::Settings;
use serde_json::{Value, json};
use support::*;

fn input() -> String {
    singer(&[
        json!({"type": "SCHEMA", "stream": "customers", "schema": {"type": "object", "properties": {"email": {"type": "string"}}}, "key_properties": ["email"]}),
        record("customers", json!({"firstname": "no key"})),
        json!({"type": "SCHEMA", "stream": "leads", "schema": {"type": "object", "properties": {"email": {"type": "string"}}}, "key_properties": ["email", "source"]}),
        record(
            "leads",
            json!({"email": "x@example.com", "hs_email_optout": "perhaps"}),
        ),
    ])
}

fn streams() -> Value {
    json!({"streams": {"customers": {"object_type": "contacts"}, "leads": {"object_type": "contacts"}}})
}

#[tokio::test]
async fn schema_lines_keep_the_inputs_key_properties_and_the_file_is_private() {
    let (_hub, work, config) = start(Settings::default(), streams()).await;
    let out = run_config(&config, &input()).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines = work.rejected();
    let schemas: Vec<(&Value, &Value)> = lines
        .iter()
        .filter(|l| l["type"] == "SCHEMA")
        .map(|l| (&l["stream"], &l["key_properties"]))
        .collect();
    assert_eq!(
        schemas,
        [
            (&json!("customers"), &json!(["email"])),
            (&json!("leads"), &json!(["email", "source"]))
        ]
    );
    let mode = std::fs::metadata(work.rejected_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
}

#[tokio::test]
async fn placeholders_give_one_file_per_stream_and_per_run() {
    let (_hub, work, _) = start(Settings::default(), json!({})).await;
    let template = work.path("rejected-{stream}-{run_started}.jsonl");
    let mut extra = streams();
    extra["rejected_records_path"] = json!(template);
    let config = work.config(&_hub.base_url(), extra);
    let out = run_config(&config, &input()).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let mut names: Vec<String> = std::fs::read_dir(work.dir.path())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("rejected-"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    for (name, stream) in names.iter().zip(["customers", "leads"]) {
        let stamp = name
            .strip_prefix(&format!("rejected-{stream}-"))
            .and_then(|r| r.strip_suffix(".jsonl"))
            .unwrap_or_else(|| panic!("{name}"));
        assert!(
            stamp.len() == 16 && stamp.as_bytes()[8] == b'T' && stamp.ends_with('Z'),
            "{stamp}: UTC YYYYMMDDTHHMMSSZ"
        );
        let text = std::fs::read_to_string(work.path(name)).unwrap();
        assert_eq!(
            text.lines().count(),
            2,
            "a SCHEMA and one record of {stream}"
        );
        assert!(
            text.lines()
                .all(|l| l.contains(&format!("\"stream\":\"{stream}\"")))
        );
    }
}
