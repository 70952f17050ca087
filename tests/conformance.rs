//! Singer conformance, after the Meltano SDK's standard target tests: the message shapes taps
//! really send are accepted, and the values arrive in HubSpot intact.

mod support;

use hubspot_emulator::Settings;
use serde_json::{Value, json};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_message_shapes_taps_send_are_accepted_and_values_arrive_intact() {
    let (hub, work, config) = start(Settings::default(), json!({})).await;
    let strange = "Ζωή 中文 \"quoted\" back\\slash tab\t newline\n nul\u{0000} emoji 🚀";
    let lines = [
        // STATE before any SCHEMA, and an empty state.
        json!({"type": "STATE", "value": {}}),
        // key_properties inside the schema only (the SDK's pk_updates file does this), anyOf types.
        json!({"type": "SCHEMA", "stream": "contacts", "schema": {"type": "object", "key_properties": ["email"],
            "properties": {"email": {"type": "string"}, "firstname": {"anyOf": [{"type": "string"}, {"type": "null"}]}}}}),
        // `version` and `time_extracted` on the envelope; unicode, escapes and NUL in values.
        json!({"type": "RECORD", "stream": "contacts", "record": {"email": "u@example.com", "firstname": strange},
            "version": 1_541_199_424_491_u64, "time_extracted": "2018-11-02T22:57:04.841020Z"}),
        // A record missing optional fields.
        json!({"type": "RECORD", "stream": "contacts", "record": {"email": "sparse@example.com"}}),
        json!({"type": "STATE", "value": {"n": 1}}),
        // The schema changes mid-stream: a boolean, an object and an array column appear.
        json!({"type": "SCHEMA", "stream": "contacts", "key_properties": ["email"], "schema": {"type": "object",
            "properties": {"email": {"type": "string"}, "hs_email_optout": {"type": "boolean"}, "hs_buying_role": {"type": "array"}}}}),
        json!({"type": "RECORD", "stream": "contacts", "record": {"email": "u@example.com", "hs_email_optout": true, "hs_buying_role": ["CHAMPION"]}}),
        json!({"type": "ACTIVATE_VERSION", "stream": "contacts", "version": 1_541_199_424_491_u64}),
        json!({"type": "STATE", "value": {"n": 2}}),
        json!({"type": "STATE", "value": {"n": 3}}),
    ];
    let out = run(&["--config", config.to_str().unwrap()], &singer(&lines)).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let states = out.states();
    assert_eq!(states.last(), Some(&json!({"n": 3})));
    let mut seen: Vec<Value> = states.clone();
    seen.dedup();
    assert_eq!(seen, states, "states arrive in order, each once");
    let stored = stored(&hub.base_url(), "contacts").await;
    assert_eq!(stored.len(), 2);
    let u = stored
        .iter()
        .find(|o| o["properties"]["email"] == "u@example.com")
        .unwrap();
    assert_eq!(u["properties"]["firstname"], strange);
    assert_eq!(u["properties"]["hs_email_optout"], "true");
    assert_eq!(u["properties"]["hs_buying_role"], "CHAMPION");
    assert!(work.rejected().is_empty(), "{:?}", work.rejected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_key_three_times_lands_once_with_the_last_values() {
    let (hub, _work, config) = start(Settings::default(), json!({})).await;
    let input = singer(&[
        schema("contacts"),
        record(
            "contacts",
            json!({"email": "dup@example.com", "annualrevenue": 1}),
        ),
        record(
            "contacts",
            json!({"email": "dup@example.com", "annualrevenue": 10}),
        ),
        record(
            "contacts",
            json!({"email": "DUP@example.com", "annualrevenue": 100}),
        ),
    ]);
    let out = run(&["--config", config.to_str().unwrap()], &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let stored = stored(&hub.base_url(), "contacts").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["properties"]["annualrevenue"], "100");
    // Running the same stream again changes nothing: upserts are idempotent.
    let again = run(&["--config", config.to_str().unwrap()], &input).await;
    assert_eq!(again.code, Some(0));
    assert_eq!(support::stored(&hub.base_url(), "contacts").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_version_of_a_record_costs_only_itself_when_versions_share_a_batch() {
    let (hub, work, config) = start(Settings::default(), json!({})).await;
    let input = singer(&[
        schema("contacts"),
        record(
            "contacts",
            json!({"email": "same@example.com", "firstname": "First"}),
        ),
        record(
            "contacts",
            json!({"email": "same@example.com", "lifecyclestage": "superfan"}),
        ),
        record(
            "contacts",
            json!({"email": "Same@Example.com", "lastname": "Last"}),
        ),
        record("contacts", json!({"email": "other@example.com"})),
    ]);
    let out = run(&["--config", config.to_str().unwrap()], &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let stored = stored(&hub.base_url(), "contacts").await;
    assert_eq!(stored.len(), 2);
    let same = stored
        .iter()
        .find(|o| o["properties"]["email"] == "same@example.com")
        .unwrap();
    assert_eq!(same["properties"]["firstname"], "First");
    assert_eq!(same["properties"]["lastname"], "Last");
    assert!(same["properties"].get("lifecyclestage").is_none());
    let rejected = work.rejected();
    assert_eq!(rejected.len(), 2, "a SCHEMA and the one bad version");
    assert_eq!(rejected[1]["record"]["lifecyclestage"], "superfan");
    assert_eq!(rejected[1]["error"]["line"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_byte_order_mark_and_windows_line_endings_are_accepted() {
    let (hub, _work, config) = start(Settings::default(), json!({})).await;
    let input = format!(
        "\u{feff}{}\r\n{}\r\n{}\r\n",
        schema("contacts"),
        record("contacts", json!({"email": "crlf@example.com"})),
        json!({"type": "STATE", "value": {"done": true}})
    );
    let out = run(&["--config", config.to_str().unwrap()], &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.states(), vec![json!({"done": true})]);
    assert_eq!(stored(&hub.base_url(), "contacts").await.len(), 1);
}
