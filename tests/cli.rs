//! The command line: fatal input and configuration errors, `--about`, `--version`.

mod support;

use std::collections::BTreeMap;

use hubspot_emulator::Settings;
use serde_json::{Value, json};
use support::*;

/// Runs the target on `input` against a fresh emulator with `extra` config.
async fn run_case(extra: Value, input: &str) -> (Output, Workdir) {
    let (_hub, work, config) = start(Settings::default(), extra).await;
    let out = run(&["--config", config.to_str().unwrap()], input).await;
    (out, work)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fatal_input_exits_1_with_a_critical_line_naming_the_problem() {
    let schema_line = r#"{"type":"SCHEMA","stream":"contacts","schema":{"properties":{}}}"#;
    let cases: Vec<(&str, Value, String)> = vec![
        (
            "malformed_json",
            json!({}),
            format!("{schema_line}\n{{\"type\":\"RECORD\",\n"),
        ),
        (
            "record_without_stream",
            json!({}),
            "{\"type\":\"RECORD\",\"record\":{}}\n".into(),
        ),
        (
            "record_without_record",
            json!({}),
            format!("{schema_line}\n{{\"type\":\"RECORD\",\"stream\":\"contacts\"}}\n"),
        ),
        (
            "schema_without_schema",
            json!({}),
            "{\"type\":\"SCHEMA\",\"stream\":\"contacts\"}\n".into(),
        ),
        (
            "schema_without_properties",
            json!({}),
            "{\"type\":\"SCHEMA\",\"stream\":\"contacts\",\"schema\":{\"type\":\"object\"}}\n"
                .into(),
        ),
        (
            "record_before_schema",
            json!({}),
            "{\"type\":\"RECORD\",\"stream\":\"contacts\",\"record\":{\"email\":\"a@b.co\"}}\n"
                .into(),
        ),
        (
            "unmapped_stream",
            json!({}),
            "{\"type\":\"SCHEMA\",\"stream\":\"orders\",\"schema\":{\"properties\":{}}}\n".into(),
        ),
        (
            "non_unique_id_property",
            json!({"streams": {"accounts": {"object_type": "companies", "id_property": "name"}}}),
            "{\"type\":\"SCHEMA\",\"stream\":\"accounts\",\"schema\":{\"properties\":{}}}\n".into(),
        ),
        (
            "missing_id_property",
            json!({}),
            "{\"type\":\"SCHEMA\",\"stream\":\"deals\",\"schema\":{\"properties\":{}}}\n".into(),
        ),
        (
            "unknown_id_property",
            json!({"streams": {"people": {"object_type": "contacts", "id_property": "loyalty_no"}}}),
            "{\"type\":\"SCHEMA\",\"stream\":\"people\",\"schema\":{\"properties\":{}}}\n".into(),
        ),
        (
            "unknown_object_type",
            json!({"streams": {"ships": {"object_type": "spaceships", "id_property": "serial"}}}),
            "{\"type\":\"SCHEMA\",\"stream\":\"ships\",\"schema\":{\"properties\":{}}}\n".into(),
        ),
        (
            "association_by_unknown_property",
            json!({"streams": {"contacts": {"object_type": "contacts", "associations": [
                {"field": "company", "to_object_type": "companies", "to_id_property": "nmae"}]}}}),
            format!("{schema_line}\n"),
        ),
        ("unknown_setting", json!({"batchsize": 10}), String::new()),
        (
            "rejected_folder_missing",
            json!({"rejected_records_path": "/nonexistent-folder/rejected.jsonl"}),
            String::new(),
        ),
        (
            "batch_size_out_of_range",
            json!({"batch_size": 500}),
            String::new(),
        ),
    ];
    let mut messages = BTreeMap::new();
    for (name, extra, input) in cases {
        let (out, _work) = run_case(extra, &input).await;
        assert_eq!(out.code, Some(1), "{name}: {}", out.stderr);
        assert!(
            out.stdout.is_empty(),
            "{name}: no STATE after a fatal error"
        );
        let critical = out.critical().to_string();
        assert!(
            !critical.is_empty(),
            "{name}: no CRITICAL line in {}",
            out.stderr
        );
        messages.insert(name, critical);
    }
    insta::assert_json_snapshot!(messages);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fatal_line_still_settles_the_records_before_it_and_no_state_after_it() {
    let input = singer(&[
        schema("contacts"),
        record("contacts", json!({"email": "a@example.com"})),
        state(json!({"n": 1})),
    ]) + "not json\n"
        + &singer(&[
            record("contacts", json!({"email": "b@example.com"})),
            state(json!({"n": 2})),
        ]);
    let (out, _work) = run_case(json!({}), &input).await;
    assert_eq!(out.code, Some(1));
    assert!(
        out.critical()
            .starts_with("CRITICAL line 4: malformed JSON"),
        "{}",
        out.critical()
    );
    // The record before the bad line was sent, so the STATE it completes is safe; nothing
    // after the bad line is read.
    assert_eq!(out.stdout, "{\"n\":1}\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activate_version_unknown_types_and_blank_lines_are_accepted() {
    let input = format!(
        "{}\n{}\n\n{}",
        json!({"type": "ACTIVATE_VERSION", "stream": "contacts", "version": 1}),
        json!({"type": "BATCH", "stream": "contacts"}),
        singer(&[
            schema("contacts"),
            record("contacts", json!({"email": "a@example.com"})),
            state(json!({"ok": true}))
        ])
    );
    let (out, _work) = run_case(json!({}), &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("ACTIVATE_VERSION") && out.stderr.contains("'BATCH' is not supported")
    );
    assert_eq!(out.states(), vec![json!({"ok": true})]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_come_from_the_environment_and_later_config_files() {
    let hub = support::start_emulator(Settings {
        tokens: vec![TOKEN.into()],
        ..Settings::default()
    })
    .await;
    let work = Workdir::new();
    let first = work.path("first.json");
    std::fs::write(
        &first,
        json!({"base_url": "http://127.0.0.1:1", "batch_size": 5}).to_string(),
    )
    .unwrap();
    let second = work.path("second.json");
    std::fs::write(
        &second,
        json!({"base_url": hub.base_url(), "rejected_records_path": work.rejected_path()})
            .to_string(),
    )
    .unwrap();
    let input = singer(&[
        schema("contacts"),
        record("contacts", json!({"email": "env@example.com"})),
    ]);
    let out = run_with_env(
        &[
            "--config",
            first.to_str().unwrap(),
            "--config",
            second.to_str().unwrap(),
            "--config",
            "ENV",
        ],
        &input,
        &[("TARGET_HUBSPOT_ACCESS_TOKEN", TOKEN)],
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(stored(&hub.base_url(), "contacts").await.len(), 1);
}

#[tokio::test]
async fn fail_on_reject_exits_3_after_loading_the_good_records() {
    let input = singer(&[
        schema("contacts"),
        record("contacts", json!({"email": "good@example.com"})),
        record("contacts", json!({"firstname": "no key"})),
    ]);
    let (out, work) = run_case(json!({"fail_on_reject": true}), &input).await;
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert_eq!(work.rejected().len(), 2);
}

#[tokio::test]
async fn about_lists_every_setting_and_flags_secrets_without_values() {
    let out = run(&["--about"], "").await;
    assert_eq!(out.code, Some(0));
    let about: Value = serde_json::from_str(&out.stdout).unwrap();
    insta::assert_json_snapshot!(about, {".version" => "[version]"});
    let markdown = run(&["--about", "--format", "markdown"], "").await;
    insta::assert_snapshot!(
        markdown
            .stdout
            .replace(env!("CARGO_PKG_VERSION"), "[version]")
    );
    let version = run(&["--version"], "").await;
    assert_eq!(
        version.stdout.trim(),
        format!("target-hubspot {}", env!("CARGO_PKG_VERSION"))
    );
}

#[tokio::test]
async fn the_readme_settings_table_is_the_one_about_prints() {
    let markdown = run(&["--about", "--format", "markdown"], "").await;
    let table = |text: &str| -> Vec<String> {
        text.lines()
            .skip_while(|l| !l.starts_with("| Setting |"))
            .take_while(|l| l.starts_with('|'))
            .map(String::from)
            .collect()
    };
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let printed = table(&markdown.stdout);
    assert!(printed.len() > 10, "{}", markdown.stdout);
    assert_eq!(
        table(&readme),
        printed,
        "README.md's settings table drifted from `--about --format markdown`"
    );
}

#[tokio::test]
async fn a_config_file_that_is_not_an_object_is_named() {
    let work = Workdir::new();
    let path = work.path("bad.json");
    std::fs::write(&path, "[1, 2]").unwrap();
    let out = run(&["--config", path.to_str().unwrap()], "").await;
    assert_eq!(out.code, Some(1));
    assert!(
        out.critical().contains("bad.json is not a JSON object"),
        "{}",
        out.critical()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_validates_credentials_and_stream_mappings_without_writing() {
    let streams = json!({"streams": {
        "people": {"object_type": "contacts"},
        "accounts": {"object_type": "companies", "id_property": "external_id"}
    }});
    let (hub, _work, config) = start(
        Settings {
            tokens: vec![TOKEN.into()],
            ..support::with_external_ids()
        },
        streams,
    )
    .await;
    let ok = run(&["--check", "--config", config.to_str().unwrap()], "").await;
    assert_eq!(ok.code, Some(0), "{}", ok.stderr);
    assert!(
        ok.stderr
            .contains("stream accounts: ok, upserts companies by external_id"),
        "{}",
        ok.stderr
    );
    assert!(
        ok.stderr
            .contains("stream people: ok, upserts contacts by email"),
        "{}",
        ok.stderr
    );
    assert_eq!(ok.stdout, "");
    assert_eq!(
        support::stats(&hub.base_url()).await["by_route"]
            .as_object()
            .unwrap()
            .len(),
        1,
        "only property reads"
    );

    let bad = Workdir::new();
    let bad_config = bad.config(
        &hub.base_url(),
        json!({"streams": {"accounts": {"object_type": "companies", "id_property": "name"}}}),
    );
    let out = run(&["--check", "--config", bad_config.to_str().unwrap()], "").await;
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr
            .contains("id_property 'name' of object type 'companies' does not have unique values"),
        "{}",
        out.stderr
    );

    let wrong_token = bad.path("wrong.json");
    std::fs::write(
        &wrong_token,
        json!({"access_token": "pat-na1-wrong", "base_url": hub.base_url()}).to_string(),
    )
    .unwrap();
    let out = run(&["--check", "--config", wrong_token.to_str().unwrap()], "").await;
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.critical(),
        "CRITICAL HubSpot refused the credentials for object type 'contacts': Authentication credentials not found."
    );
}

#[tokio::test]
async fn a_meltano_shaped_invocation_loads_and_the_environment_counts_only_through_config_env() {
    let (hub, work, config) = start(
        hubspot_emulator::Settings::default(),
        json!({"streams": {"customers": {"object_type": "contacts", "id_property": "email"}}}),
    )
    .await;
    let input = singer(&[
        schema("customers"),
        record("customers", json!({"email": "meltano@example.com"})),
    ]);
    // What Meltano exports beside the config file it writes: the nested setting flattened.
    let meltano_env = [
        (
            "TARGET_HUBSPOT_STREAMS",
            r#"{"customers.object_type": "contacts", "customers.id_property": "email"}"#,
        ),
        ("TARGET_HUBSPOT_STREAMS_CUSTOMERS_OBJECT_TYPE", "contacts"),
        ("TARGET_HUBSPOT_STREAMS_CUSTOMERS_ID_PROPERTY", "email"),
        ("TARGET_HUBSPOT_BATCH_SIZE", "not a number"),
    ];
    let out = run_with_env(
        &["--config", config.to_str().unwrap()],
        &input,
        &meltano_env,
    )
    .await;
    assert_eq!(
        out.code,
        Some(0),
        "a file alone ignores the environment: {}",
        out.stderr
    );
    assert_eq!(stored(&hub.base_url(), "contacts").await.len(), 1);

    // --config ENV alone: every setting from the environment, streams in Meltano's form.
    let (base_url, rejected) = (hub.base_url(), work.rejected_path().display().to_string());
    let env_only = [
        ("TARGET_HUBSPOT_ACCESS_TOKEN", TOKEN),
        ("TARGET_HUBSPOT_BASE_URL", &*base_url),
        ("TARGET_HUBSPOT_REJECTED_RECORDS_PATH", &*rejected),
        (
            "TARGET_HUBSPOT_STREAMS",
            r#"{"customers.object_type": "contacts"}"#,
        ),
        ("TARGET_HUBSPOT_STREAMS_CUSTOMERS_OBJECT_TYPE", "contacts"),
    ];
    let input = singer(&[
        schema("customers"),
        record("customers", json!({"email": "env-only@example.com"})),
    ]);
    let out = run_with_env(&["--config", "ENV"], &input, &env_only).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(stored(&hub.base_url(), "contacts").await.len(), 2);

    // A bad value counts only where ENV is read, and is named by its variable.
    let out = run_with_env(
        &["--config", config.to_str().unwrap(), "--config", "ENV"],
        &input,
        &meltano_env,
    )
    .await;
    assert_eq!(out.code, Some(1));
    assert!(
        out.critical().contains("TARGET_HUBSPOT_BATCH_SIZE"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn connection_failures_name_the_host_and_the_cause_in_one_critical_line() {
    let input = singer(&[schema("contacts")]);
    for (base_url, host, cause) in [
        (
            "http://127.0.0.1:1",
            "cannot reach 127.0.0.1:1: ",
            "Connection refused",
        ),
        (
            "https://no-such-host.invalid",
            "cannot reach no-such-host.invalid:443: ",
            "dns error",
        ),
    ] {
        let work = Workdir::new();
        let config = work.config(base_url, json!({"max_retries": 1}));
        let out = run(&["--config", config.to_str().unwrap()], &input).await;
        assert_eq!(out.code, Some(1), "{}", out.stderr);
        let critical = out.critical();
        assert!(
            critical.contains(host) && critical.contains(cause),
            "{critical}"
        );
        assert_eq!(
            out.stderr.matches("cannot reach").count(),
            1,
            "printed once: {}",
            out.stderr
        );
        assert_eq!(
            out.stderr
                .lines()
                .filter(|l| l.starts_with("CRITICAL "))
                .count(),
            1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_and_a_run_set_a_stream_up_the_same_way_check_reporting_every_problem() {
    // Two problems in one stream: an association by a property its target does not have,
    // and a key property without unique values.
    let streams = json!({"streams": {"accounts": {
        "object_type": "companies", "id_property": "name",
        "associations": [{"field": "owner_ref", "to_object_type": "contacts", "to_id_property": "wizard_id"}]
    }}});
    let (_hub, _work, config) = start(Settings::default(), streams).await;
    let check = run(&["--check", "--config", config.to_str().unwrap()], "").await;
    assert_eq!(check.code, Some(1), "{}", check.stderr);
    let problems: Vec<&str> = check
        .stderr
        .lines()
        .filter(|l| l.contains("ERROR stream accounts: "))
        .map(|l| {
            l.split("ERROR stream accounts: ")
                .nth(1)
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(problems.len(), 2, "{}", check.stderr);
    assert!(problems[0].contains("wizard_id"), "{problems:?}");
    assert!(
        problems[1]
            .contains("id_property 'name' of object type 'companies' does not have unique values"),
        "{problems:?}"
    );
    // The run stops on the first of them, worded the same.
    let input = singer(&[
        schema("accounts"),
        record("accounts", json!({"name": "Acme"})),
    ]);
    let out = run(&["--config", config.to_str().unwrap()], &input).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_eq!(
        out.critical(),
        format!("CRITICAL stream 'accounts': {}", problems[0])
    );
}
