//! target-hubspot's throughput against the emulator, end to end through the real binary.
//!
//! `cargo bench --bench throughput`. Five scenarios:
//! 1. HubSpot's default limit (190 requests / 10 s): records/s as a share of the ceiling
//!    (190 × 100 / 10 s = 1,900 records/s; goal ≥ 95%) and the share of requests answered 429
//!    (goal < 1%).
//! 2. Limits off: how fast the target itself goes, with ten text fields per record.
//! 3. Limits off, warehouse-typed values: the same ten fields, five of them converted by
//!    property type (`t` → bool, a 17-digit decimal, a `+00` timestamp → date, an enum label,
//!    a `;` multi-checkbox list of labels). Goal: ≤ 10% slower than scenario 2.
//! 4. An emulator that sends no rate-limit headers (limit off), so pacing adapts. Goal:
//!    ≥ 10,000 records/s.
//! 5. `--dry-run --dry-run-output FILE` over the warehouse-typed records: mapping, batching
//!    and serialising every request with nothing sent. Goal: ≥ 300,000 records/s.
//!
//! `BENCH_DRY_RUN_RECORDS` (default 1,000,000) sizes scenario 5.
//!
//! Knobs: `BENCH_LIMITED_RECORDS` (default 60,000), `BENCH_UNLIMITED_RECORDS` (default
//! 200,000), `BENCH_LATENCY_MS` (emulator latency, default 30).

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use hubspot_emulator::Settings;
use serde_json::{Value, json};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The ten properties of a record: five text fields, then five that are text or need
/// converting by property type.
fn record(i: u64, typed: bool) -> Value {
    let mut r = json!({
        "email": format!("bench{i}@example.com"), "firstname": "Bench", "lastname": format!("L{i}"),
        "city": "Oslo", "jobtitle": "Engineer"});
    let extra = if typed {
        json!({"hs_email_optout": "t", "annualrevenue": "12345678901234567.89",
               "date_of_birth": "1990-05-17 00:00:00+00", "lifecyclestage": "Lead",
               "hs_buying_role": "Champion;End User"})
    } else {
        json!({"company": "Acme", "country": "Norway", "zip": "0150", "website": "example.com",
               "phone": "+47 22 00 00 00"})
    };
    r.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    r
}

fn write_input(path: &std::path::Path, records: u64, typed: bool) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create input"));
    let schema = json!({"type": "SCHEMA", "stream": "contacts", "schema": {"properties": {}}, "key_properties": ["email"]});
    writeln!(f, "{schema}").unwrap();
    for i in 0..records {
        let r = json!({"type": "RECORD", "stream": "contacts", "record": record(i, typed)});
        writeln!(f, "{r}").unwrap();
        if i % 1000 == 999 {
            writeln!(
                f,
                "{}",
                json!({"type": "STATE", "value": {"offset": i + 1}})
            )
            .unwrap();
        }
    }
}

/// A folder with `records` records of input and a config for the emulator at `base_url`.
fn workdir(
    base_url: &str,
    records: u64,
    typed: bool,
) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("input.jsonl");
    write_input(&input, records, typed);
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        json!({"access_token": "pat-na1-bench", "base_url": base_url,
               "rejected_records_path": dir.path().join("rejected.jsonl")})
        .to_string(),
    )
    .unwrap();
    (dir, input, config)
}

async fn scenario(name: &str, settings: Settings, records: u64, typed: bool) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let limit = settings.rate_limit;
    let window = settings.window;
    let emulator = hubspot_emulator::start(settings).await.expect("emulator");
    let (_dir, input, config) = workdir(&emulator.base_url(), records, typed);
    let started = Instant::now();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_target-hubspot"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ])
        .env("TARGET_HUBSPOT_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run target");
    // Peak resident memory, read from /proc while the target runs (Linux only).
    let status_path = format!("/proc/{}/status", child.id().unwrap_or_default());
    let mut peak_kib = 0u64;
    let out = loop {
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            let hwm = text
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok());
            peak_kib = peak_kib.max(hwm.unwrap_or(0));
        }
        match tokio::time::timeout(Duration::from_millis(100), child.wait()).await {
            Ok(status) => break status.expect("wait"),
            Err(_) => continue,
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    assert!(out.success(), "target-hubspot failed");
    let client = reqwest::Client::new();
    let stats: Value = client
        .get(format!("{}/_emulator/stats", emulator.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stored: Vec<Value> = client
        .get(format!(
            "{}/_emulator/objects/contacts",
            emulator.base_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stored.len() as u64, records, "every record must land");
    let requests = stats["requests"].as_u64().unwrap_or(0);
    let limited = stats["by_status"]["429"].as_u64().unwrap_or(0);
    let rate = records as f64 / elapsed;
    print!(
        "{name}: {records} records in {elapsed:.1} s = {rate:.0} records/s; {requests} requests, {limited} answered 429 ({:.2}%); peak RSS {:.1} MiB",
        100.0 * limited as f64 / requests.max(1) as f64,
        peak_kib as f64 / 1024.0
    );
    if limit > 0 && limit < 1_000_000 {
        let ceiling = f64::from(limit) * 100.0 / window.as_secs_f64();
        print!(
            "; ceiling {ceiling:.0} records/s, share {:.1}%",
            100.0 * rate / ceiling
        );
    }
    println!();
}

async fn dry_run_scenario(records: u64) {
    let emulator = hubspot_emulator::start(Settings::default())
        .await
        .expect("emulator");
    let (dir, input, config) = workdir(&emulator.base_url(), records, true);
    let output = dir.path().join("requests.jsonl");
    let started = Instant::now();
    let status = tokio::process::Command::new(env!("CARGO_BIN_EXE_target-hubspot"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ])
        .args(["--dry-run", "--dry-run-output", output.to_str().unwrap()])
        .env("TARGET_HUBSPOT_LOG", "warn")
        .stdout(Stdio::null())
        .status()
        .await
        .expect("run target");
    let elapsed = started.elapsed().as_secs_f64();
    assert!(status.success(), "dry run failed");
    let requests = std::fs::read_to_string(&output).unwrap().lines().count();
    println!(
        "dry run, warehouse-typed values: {records} records in {elapsed:.2} s = {:.0} records/s; {requests} requests serialised, none sent",
        records as f64 / elapsed
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let latency = Duration::from_millis(env_number("BENCH_LATENCY_MS", 30));
    scenario(
        "default limit (190/10 s)",
        Settings {
            latency,
            ..Settings::default()
        },
        env_number("BENCH_LIMITED_RECORDS", 60_000),
        false,
    )
    .await;
    // "Off": a limit so high it never binds, still announced in the headers as HubSpot does.
    let off = Settings {
        latency,
        rate_limit: 1_000_000,
        daily_limit: 0,
        ..Settings::default()
    };
    let unlimited = env_number("BENCH_UNLIMITED_RECORDS", 200_000);
    scenario("limits off, text values", off.clone(), unlimited, false).await;
    scenario("limits off, warehouse-typed values", off, unlimited, true).await;
    // No rate-limit headers at all (a proxy that strips them): adaptive pacing.
    let headerless = Settings {
        latency,
        rate_limit: 0,
        daily_limit: 0,
        ..Settings::default()
    };
    scenario(
        "no rate-limit headers, text values",
        headerless,
        unlimited,
        false,
    )
    .await;
    dry_run_scenario(env_number("BENCH_DRY_RUN_RECORDS", 1_000_000)).await;
}
