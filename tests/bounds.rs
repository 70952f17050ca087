//! Bounds the README promises, kept whatever the input or the server does: answers as large
//! as the request makes them.

mod support;

use hubspot_emulator::Settings;
use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_whose_answers_echo_60000_character_values_are_stored_and_not_resent() {
    let (hub, work, config) = start(Settings::default(), json!({})).await;
    // Three legal 60,000-character values a record (HubSpot takes 65,536): each batch's
    // answer echoes ~18 MB, more than the 16 MiB a bodiless request may answer.
    let long = |c: char, i: usize| format!("{i:05}{}", c.to_string().repeat(59_995));
    let mut lines = vec![schema("contacts")];
    lines.extend((0..300).map(|i| {
        record(
            "contacts",
            json!({"email": format!("long{i}@example.com"), "firstname": long('f', i),
                "lastname": long('l', i), "city": long('c', i)}),
        )
    }));
    lines.push(state(json!({"done": 300})));
    let out = run_config(&config, &singer(&lines)).await;
    assert_eq!(out.code, Some(0), "{}", out.critical());
    assert_eq!(out.states(), [json!({"done": 300})]);
    assert!(work.rejected().is_empty(), "nothing rejected");
    let stored = stored(&hub.base_url(), "contacts").await;
    assert_eq!(stored.len(), 300);
    for c in &stored {
        let email = c["properties"]["email"].as_str().unwrap();
        let i: usize = email["long".len()..email.find('@').unwrap()]
            .parse()
            .unwrap();
        assert_eq!(c["properties"]["firstname"], long('f', i));
        assert_eq!(c["properties"]["city"], long('c', i));
    }
    let stats = stats(&hub.base_url()).await;
    assert_eq!(
        stats["by_route"]["POST /crm/objects/2026-09/{object_type}/batch/upsert"], 3,
        "each batch sent once: {stats}"
    );
}

/// A server that accepts connections and reads requests, and either never answers them or
/// answers every one `429` with a `Retry-After` of 31 years.
async fn stubborn_server(answer_429: bool) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                loop {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) if answer_429 && buf[..n].windows(4).any(|w| w == b"\r\n\r\n") => {
                            let body = r#"{"status":"error","message":"slow down","category":"RATE_LIMITS"}"#;
                            let reply = format!(
                                "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nretry-after: 999999999\r\ncontent-length: {}\r\n\r\n{body}",
                                body.len()
                            );
                            let _ = socket.write_all(reply.as_bytes()).await;
                        }
                        Ok(_) => {}
                    }
                }
            });
        }
    });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_a_read_the_server_never_answers_and_a_31_year_retry_after() {
    // (server answers 429 with a 31-year Retry-After, longest the exit may take)
    for (answer_429, bound) in [(false, 15), (true, 5)] {
        let base = stubborn_server(answer_429).await;
        let work = Workdir::new();
        let config = work.config(&base, json!({}));
        let (code, took, stderr) = terminate_after(
            &config,
            &singer(&[schema("contacts")]),
            std::time::Duration::from_secs(1),
        )
        .await;
        assert_eq!(code, Some(143), "{stderr}");
        assert!(
            took < std::time::Duration::from_secs(bound),
            "429: {answer_429}, {took:?}: {stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stops_reading_stdout_never_holds_the_exit() {
    let (_hub, _work, config) = start(Settings::unlimited(), json!({"flush_interval_ms": 1})).await;
    // STATEs of 20 kB: a few fill the pipe's buffer when nobody reads it.
    let mut lines = vec![schema("contacts")];
    for i in 0..300 {
        lines.push(record(
            "contacts",
            json!({"email": format!("s{i}@example.com")}),
        ));
        lines.push(state(json!({"position": i, "padding": "x".repeat(20_000)})));
    }
    let input = singer(&lines);
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_target-hubspot"))
        .args(["--config", config.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // stdout is taken and never read.
    let _stdout = child.stdout.take().unwrap();
    tokio::spawn(async move {
        let _ = tokio::io::AsyncWriteExt::write_all(&mut stdin, input.as_bytes()).await;
    });
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
        .await
        .expect("the target exits although nobody reads its stdout")
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_file_torn_by_a_crash_is_repaired_and_replays() {
    let (hub, work, config) = start(Settings::default(), json!({"max_reject_rate": 1})).await;
    let bad = |n: usize| {
        let mut lines = vec![schema("contacts")];
        lines.extend(
            (0..n).map(|i| record("contacts", json!({"firstname": format!("no email {i}")}))),
        );
        singer(&lines)
    };
    assert_eq!(run_config(&config, &bad(3)).await.code, Some(0));
    // A crash (or a full disk) in the middle of the last line.
    let path = work.rejected_path();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, &text[..text.len() - 20]).unwrap();
    let out = run_config(&config, &bad(2)).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("last line was cut off"),
        "{}",
        out.stderr
    );
    // Every line is whole again: the file replays (after a fix: here, emails added).
    let fixed: String = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut v: serde_json::Value = serde_json::from_str(l).expect("a whole line");
            if v["type"] == "RECORD" {
                v["record"]["email"] = json!(format!("fixed{i}@example.com"));
            }
            format!("{v}\n")
        })
        .collect();
    let out = run_config(&config, &fixed).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(stored(&hub.base_url(), "contacts").await.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_hundred_per_stream_rejected_files_fit_under_ulimit_256() {
    let streams: serde_json::Map<String, serde_json::Value> = (0..400)
        .map(|i| (format!("s{i}"), json!({"object_type": "contacts"})))
        .collect();
    let (_hub, work, config) = start(
        Settings::default(),
        json!({"streams": streams, "max_reject_rate": 1,
               "rejected_records_path": "REJ/rejected-{stream}.jsonl"}),
    )
    .await;
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("REJ", work.dir.path().to_str().unwrap());
    std::fs::write(&config, text).unwrap();
    let mut lines = Vec::new();
    for i in 0..400 {
        lines.push(schema(&format!("s{i}")));
        lines.push(record(&format!("s{i}"), json!({"firstname": "no email"})));
    }
    lines.push(state(json!({"done": true})));
    let out = run_in_shell(
        &format!(
            "ulimit -n 256 && exec \"$TARGET\" --config '{}'",
            config.display()
        ),
        &singer(&lines),
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.states(), [json!({"done": true})]);
    for i in [0, 199, 399] {
        let file = work.path(&format!("rejected-s{i}.jsonl"));
        assert_eq!(
            std::fs::read_to_string(&file).unwrap().lines().count(),
            2,
            "{file:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_report_their_own_line_numbers_and_null_rows_are_rejected_alone() {
    let (hub, work, config) = start(Settings::default(), json!({"max_reject_rate": 1})).await;
    let cfg = config.to_str().unwrap();
    // JSONL: line 2 is null, line 3 has no email: each rejected with its own line.
    let jsonl = work.path("rows.jsonl");
    std::fs::write(
        &jsonl,
        "{\"email\": \"a@example.com\"}\nnull\n{\"firstname\": \"x\"}\n{\"email\": \"b@example.com\"}\n",
    )
    .unwrap();
    let args = [
        "--config",
        cfg,
        "--input",
        jsonl.to_str().unwrap(),
        "--input-format",
        "jsonl",
        "--stream",
        "contacts",
    ];
    let out = run(&args, "").await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines: Vec<(u64, String)> = work
        .rejected()
        .iter()
        .filter(|l| l["type"] == "RECORD")
        .map(|l| {
            (
                l["error"]["line"].as_u64().unwrap(),
                l["error"]["category"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (2, "INVALID_RECORD".to_string()),
            (3, "MISSING_KEY".to_string())
        ]
    );
    assert_eq!(stored(&hub.base_url(), "contacts").await.len(), 2);

    // CSV: a cell spanning two lines; the row after it is reported on its own line (5).
    let csv = work.path("rows.csv");
    std::fs::write(
        &csv,
        "email,firstname\nc@example.com,\"two\nlines\"\nd@example.com,x\n,no email\n",
    )
    .unwrap();
    std::fs::remove_file(work.rejected_path()).unwrap();
    let args = [
        "--config",
        cfg,
        "--input",
        csv.to_str().unwrap(),
        "--input-format",
        "csv",
        "--stream",
        "contacts",
    ];
    let out = run(&args, "").await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(work.first_rejection()["line"], 5);

    // A duplicated header column and invalid UTF-8 stop the run naming the line.
    std::fs::write(&csv, "email,email\na@example.com,b@example.com\n").unwrap();
    let out = run(&args, "").await;
    assert_eq!(out.code, Some(1));
    assert!(
        out.critical()
            .contains("line 1: the header names column 'email' twice"),
        "{}",
        out.critical()
    );
    std::fs::write(
        &jsonl,
        b"{\"email\": \"a@example.com\"}\n{\"email\": \"\xff\"}\n",
    )
    .unwrap();
    let args = [
        "--config",
        cfg,
        "--input",
        jsonl.to_str().unwrap(),
        "--input-format",
        "jsonl",
        "--stream",
        "contacts",
    ];
    // An export's line that is not UTF-8 is a row that cannot be read: rejected alone.
    let out = run(&args, "").await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let rejected = work.rejected();
    let rejection = &rejected.last().expect("a rejected record")["error"];
    assert_eq!(rejection["line"], 2);
    assert_eq!(rejection["category"], "INVALID_RECORD");
}

/// The process's peak resident memory (`VmHWM`) in MiB, read until it exits.
async fn run_measuring_peak(config: &std::path::Path, input: String) -> (Option<i32>, u64) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_target-hubspot"))
        .args(["--config", config.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    tokio::spawn(async move {
        let _ = tokio::io::AsyncWriteExt::write_all(&mut stdin, input.as_bytes()).await;
    });
    let mut peak_kb = 0u64;
    loop {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status"))
            && let Some(kb) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        {
            peak_kb = peak_kb.max(kb);
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), peak_kb / 1024);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_with_a_1_mib_unsent_field_through_a_slow_server_stay_within_256_mib() {
    let (hub, _work, config) = start(
        Settings {
            latency: std::time::Duration::from_millis(1_500),
            ..Settings::unlimited()
        },
        json!({}),
    )
    .await;
    let blob = "b".repeat(1 << 20);
    let mut input = singer(&[schema("contacts")]);
    for i in 0..400 {
        input.push_str(&singer(&[record(
            "contacts",
            json!({"email": format!("m{i}@example.com"), "blob_never_sent": blob}),
        )]));
    }
    let (code, peak_mib) = run_measuring_peak(&config, input).await;
    assert_eq!(code, Some(0));
    assert_eq!(stored(&hub.base_url(), "contacts").await.len(), 400);
    assert!(peak_mib < 256, "peak RSS {peak_mib} MiB");
    eprintln!("peak RSS for 400 records of 1 MiB through a 1.5 s server: {peak_mib} MiB");
}
