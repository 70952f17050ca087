//! What a run tells the person or the scheduler watching it: progress, METRIC lines, the
//! summary (text, JSON log fields, `summary_path`).

mod support;

use std::process::Stdio;
use std::time::Duration;

use hubspot_emulator::Settings;
use serde_json::{Value, json};
use support::*;
use tokio::io::AsyncWriteExt;

/// Runs the binary, feeding `first`, pausing `pause`, then feeding `rest`.
async fn run_slowly(config: &std::path::Path, first: &str, pause: Duration, rest: &str) -> Output {
    let mut child = spawn_target(config);
    let mut stdin = child.stdin.take().expect("stdin");
    let (first, rest) = (first.to_string(), rest.to_string());
    let feeder = tokio::spawn(async move {
        stdin.write_all(first.as_bytes()).await.unwrap();
        stdin.flush().await.unwrap();
        tokio::time::sleep(pause).await;
        stdin.write_all(rest.as_bytes()).await.unwrap();
    });
    let out = child.wait_with_output().await.expect("wait");
    feeder.await.unwrap();
    Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn contacts(range: std::ops::Range<u32>) -> Vec<Value> {
    range
        .map(|i| record("contacts", json!({"email": format!("p{i}@example.com")})))
        .collect()
}

#[tokio::test]
async fn a_long_run_logs_progress_metric_lines_and_a_summary_that_adds_up() {
    let (_hub, work, config) = start(Settings::default(), json!({})).await;
    let summary_path = work.path("summary.json");
    let mut c: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    c["summary_path"] = json!(summary_path);
    std::fs::write(&config, c.to_string()).unwrap();
    let mut first = vec![schema("contacts")];
    first.extend(contacts(0..150));
    first.push(record(
        "contacts",
        json!({"email": "P120@example.com", "firstname": "dup"}),
    ));
    first.push(record("contacts", json!({"firstname": "no key"})));
    let rest = singer(&[state(json!({"n": 152}))]);
    let out = run_slowly(&config, &singer(&first), Duration::from_millis(7000), &rest).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);

    let progress: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains(" progress: "))
        .collect();
    assert!(
        !progress.is_empty(),
        "a progress line after 5 s: {}",
        out.stderr
    );
    let (_, line) = progress[0].split_once("progress: ").unwrap();
    let (counts, rest) = line.split_once("; ").unwrap();
    assert_eq!(
        counts,
        "152 read, 151 upserted, 1 rejected, 0 in flight or waiting"
    );
    assert!(
        rest.ends_with(" records/s; requests waited 0.0 s on the rate limit"),
        "{line}"
    );

    let metrics: Vec<Value> = out
        .stderr
        .lines()
        .filter_map(|l| l.split_once("METRIC: "))
        .map(|(_, m)| serde_json::from_str(m).unwrap())
        .collect();
    assert!(metrics.contains(&json!({"type": "counter", "metric": "record_count", "value": 152, "tags": {"stream": "contacts"}})), "{metrics:?}");
    let timer = metrics
        .iter()
        .find(|m| {
            m["metric"] == "http_request_duration"
                && m["tags"]["endpoint"] == "POST /crm/objects/2026-09/contacts/batch/upsert"
        })
        .expect("upsert timer");
    assert_eq!(
        (
            timer["type"].as_str(),
            timer["tags"]["http_status_code"].as_u64(),
            timer["tags"]["status"].as_str()
        ),
        (Some("timer"), Some(200), Some("succeeded"))
    );

    assert!(
        out.stderr.contains("stream contacts: read 152 = created 150 + updated 0 + merged into an earlier record of its batch 1 + rejected 1 (MISSING_KEY=1)"),
        "{}",
        out.stderr
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(&summary_path).unwrap()).unwrap();
    assert_eq!(
        summary["total"],
        json!({"read": 152, "created": 150, "updated": 0, "merged": 1, "skipped": 0, "archived": 0, "unchanged": 0, "removed": 0, "rejected": 1})
    );
    assert_eq!(
        summary["streams"]["contacts"]["rejected"],
        json!({"MISSING_KEY": 1})
    );
}

#[tokio::test]
async fn json_logs_carry_what_meltano_reads_and_the_summary_as_fields() {
    let (_hub, _work, config) = start(Settings::default(), json!({})).await;
    let mut input = vec![schema("contacts")];
    input.extend(contacts(0..3));
    let out = run(
        &["--config", config.to_str().unwrap(), "--log-format", "json"],
        &singer(&input),
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines: Vec<Value> = out
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).expect("every stderr line is JSON"))
        .collect();
    for l in &lines {
        for key in [
            "levelname",
            "name",
            "message",
            "created",
            "level",
            "pid",
            "logger_name",
            "ts",
            "thread_name",
            "app_name",
            "stream_name",
            "extra",
        ] {
            assert!(l.get(key).is_some(), "{key} missing: {l}");
        }
    }
    let stream = lines
        .iter()
        .find(|l| {
            l["message"]
                .as_str()
                .unwrap_or_default()
                .starts_with("stream contacts: read")
        })
        .unwrap();
    assert_eq!(stream["stream_name"], "contacts");
    assert_eq!(
        (
            stream["extra"]["read"].as_u64(),
            stream["extra"]["created"].as_u64()
        ),
        (Some(3), Some(3))
    );
    let total = lines
        .iter()
        .find(|l| {
            l["message"]
                .as_str()
                .unwrap_or_default()
                .starts_with("total:")
        })
        .unwrap();
    assert_eq!(total["extra"]["read"], 3);
}

#[tokio::test]
async fn a_dry_run_reads_but_never_writes_to_hubspot() {
    let (hub, work, config) = start(Settings::default(), json!({"unknown_fields": "create"})).await;
    let mut input = vec![
        json!({"type": "SCHEMA", "stream": "contacts", "schema": {"properties": {"email": {"type": "string"}, "shoe_size": {"type": "integer"}}}, "key_properties": ["email"]}),
    ];
    input.extend((0..120).map(|i| {
        record(
            "contacts",
            json!({"email": format!("d{i}@example.com"), "shoe_size": i}),
        )
    }));
    input.push(state(json!({"n": 120})));
    let out = run(
        &["--config", config.to_str().unwrap(), "--dry-run"],
        &singer(&input),
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr
            .contains("stream contacts: read 120 = created 120 +"),
        "{}",
        out.stderr
    );
    let stats = stats(&hub.base_url()).await;
    let routes: Vec<&String> = stats["by_route"].as_object().unwrap().keys().collect();
    assert!(
        routes.iter().all(|r| r.starts_with("GET ")),
        "only reads: {routes:?}"
    );
    assert!(stored(&hub.base_url(), "contacts").await.is_empty());
    assert!(!work.rejected_path().exists());
}

#[tokio::test]
async fn under_meltanos_structured_logging_config_the_logs_are_json_at_its_level() {
    let (_hub, work, config) = start(Settings::default(), json!({})).await;
    // What Meltano writes for a plugin that declares structured-logging.
    let log_config = work.path("singer_sdk_logging.json");
    std::fs::write(
        &log_config,
        json!({"version": 1, "disable_existing_loggers": false,
               "formatters": {"singer_formatter": {"()": "singer_sdk.logging.StructuredFormatter"}},
               "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "singer_formatter", "stream": "ext://sys.stderr"}},
               "root": {"handlers": ["console"], "level": "WARNING"}})
        .to_string(),
    )
    .unwrap();
    let input = singer(&[
        schema("contacts"),
        record(
            "contacts",
            json!({"email": "m@example.com", "shoe_size": 1}),
        ),
    ]);
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_target-hubspot"))
        .args(["--config", config.to_str().unwrap()])
        .env("SINGER_SDK_LOG_CONFIG", &log_config)
        .env_remove("TARGET_HUBSPOT_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .await
        .unwrap();
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert!(!lines.is_empty());
    assert!(
        lines.iter().all(|l| l["levelname"] == "WARNING"),
        "only WARNING and above: {stderr}"
    );
}

/// Six contacts: two good, two without an email, two with a revenue that is not a number.
fn mixed_contacts() -> String {
    let mut input = vec![schema("contacts")];
    for fields in [
        json!({"email": "good1@example.com"}),
        json!({"firstname": "no email"}),
        json!({"email": "bad1@example.com", "annualrevenue": "lots"}),
        json!({"email": "good2@example.com"}),
        json!({"firstname": "no email either"}),
        json!({"email": "bad2@example.com", "annualrevenue": "1,2,3"}),
    ] {
        input.push(record("contacts", fields));
    }
    singer(&input)
}

#[tokio::test]
async fn the_summary_document_is_pinned_and_its_path_takes_run_started() {
    let (_hub, work, config) = start(
        Settings::default(),
        json!({"summary_path": "SUMMARY_DIR/summary-{run_started}.json", "max_reject_rate": 1}),
    )
    .await;
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("SUMMARY_DIR", work.dir.path().to_str().unwrap());
    std::fs::write(&config, text).unwrap();
    let out = run_config(&config, &mixed_contacts()).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let written: Vec<std::path::PathBuf> = std::fs::read_dir(work.dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("summary-"))
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    let name = written[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(
        !name.contains('{') && name.len() == "summary-20261206T174133Z.json".len(),
        "{name}"
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(&written[0]).unwrap()).unwrap();
    insta::assert_json_snapshot!(summary, {
        ".started_at" => "[time]",
        ".ended_at" => "[time]",
        ".elapsed_s" => "[seconds]",
        ".requests" => "[count]",
    });
}

#[tokio::test]
async fn a_dry_run_reports_each_reason_once_with_a_count_and_an_example() {
    let (_hub, _work, config) = start(Settings::default(), json!({"max_reject_rate": 1})).await;
    let mut input = mixed_contacts();
    // Many more of one reason: still one line.
    for i in 0..50 {
        input.push_str(&singer(&[record(
            "contacts",
            json!({"firstname": format!("n{i}")}),
        )]));
    }
    let out = run(&["--config", config.to_str().unwrap(), "--dry-run"], &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("would be rejected"))
        .map(|l| l.split_once("dry run: ").map_or(l, |(_, rest)| rest))
        .collect();
    insta::assert_snapshot!(lines.join("\n"));
}

#[tokio::test]
async fn a_critical_stop_names_the_rejected_files_written_not_the_template() {
    let (_hub, work, config) = start(
        Settings::default(),
        json!({"rejected_records_path": "REJ_DIR/rejected-{stream}.jsonl"}),
    )
    .await;
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("REJ_DIR", work.dir.path().to_str().unwrap());
    std::fs::write(&config, text).unwrap();
    let mut input = vec![schema("contacts")];
    input.extend((0..150).map(|i| record("contacts", json!({"firstname": format!("n{i}")}))));
    let out = run_config(&config, &singer(&input)).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let expected = work.path("rejected-contacts.jsonl");
    assert!(expected.exists());
    assert!(
        out.critical().ends_with(&format!(
            "the rejected records are in {}",
            expected.display()
        )),
        "{}",
        out.critical()
    );
}
