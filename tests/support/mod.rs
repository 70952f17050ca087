//! Helpers for the end-to-end tests: run the real binary against a server.
#![allow(dead_code)]

pub mod exports;
pub mod postgres;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

/// The private-app token used in tests; asserted never to be printed.
pub const TOKEN: &str = "pat-na1-11111111-2222-3333-4444-555555555555";

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// STATE lines on stdout, parsed.
    pub fn states(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).expect("stdout carries only JSON"))
            .collect()
    }

    /// The CRITICAL line on stderr.
    pub fn critical(&self) -> &str {
        self.stderr
            .lines()
            .find(|l| l.starts_with("CRITICAL "))
            .unwrap_or("")
    }
}

/// A temporary working directory with a config file.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn rejected_path(&self) -> PathBuf {
        self.path("rejected.jsonl")
    }

    /// Writes a config with the test token, `base_url` and the rejected path, plus `extra`.
    pub fn config(&self, base_url: &str, extra: Value) -> PathBuf {
        let mut c = json!({"access_token": TOKEN, "base_url": base_url, "rejected_records_path": self.rejected_path()});
        if let (Some(c), Some(extra)) = (c.as_object_mut(), extra.as_object()) {
            c.extend(extra.clone());
        }
        let path = self.path("config.json");
        std::fs::write(&path, c.to_string()).expect("write config");
        path
    }

    /// The `error` of the first rejected record.
    pub fn first_rejection(&self) -> Value {
        self.rejected()
            .into_iter()
            .find(|l| l["type"] == "RECORD")
            .map(|l| l["error"].clone())
            .expect("a rejected record")
    }

    /// Lines of the rejected file, parsed (empty when it does not exist).
    pub fn rejected(&self) -> Vec<Value> {
        std::fs::read_to_string(self.rejected_path())
            .map(|t| {
                t.lines()
                    .map(|l| serde_json::from_str(l).expect("rejected lines are JSON"))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Singer lines from JSON values.
pub fn singer(messages: &[Value]) -> String {
    messages.iter().map(|m| format!("{m}\n")).collect()
}

pub fn schema(stream: &str) -> Value {
    json!({"type": "SCHEMA", "stream": stream, "schema": {"type": "object", "properties": {}}, "key_properties": []})
}

pub fn record(stream: &str, record: Value) -> Value {
    json!({"type": "RECORD", "stream": stream, "record": record})
}

pub fn state(value: Value) -> Value {
    json!({"type": "STATE", "value": value})
}

/// Runs the binary with `args`, feeding `input` on stdin.
pub async fn run(args: &[&str], input: &str) -> Output {
    run_with_env(args, input, &[]).await
}

/// Runs the binary with extra environment variables.
pub async fn run_with_env(args: &[&str], input: &str, env: &[(&str, &str)]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_target-hubspot"));
    command.args(args).envs(env.iter().copied());
    run_command(command, input).await
}

/// Runs `sh -c script` (which runs the binary, `$TARGET` in it), feeding `input` on stdin.
pub async fn run_in_shell(script: &str, input: &str) -> Output {
    let mut command = tokio::process::Command::new("sh");
    command
        .args(["-c", script])
        .env("TARGET", env!("CARGO_BIN_EXE_target-hubspot"));
    run_command(command, input).await
}

/// Runs the binary with `args`, feeding `input` (any bytes: a compressed file, say) on stdin.
pub async fn run_bytes(args: &[&str], input: &[u8]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_target-hubspot"));
    command.args(args);
    run_command(command, input).await
}

async fn run_command(mut command: tokio::process::Command, input: impl AsRef<[u8]>) -> Output {
    let mut child = command
        .env("TARGET_HUBSPOT_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn target-hubspot");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.as_ref().to_vec();
    let feeder = tokio::spawn(async move {
        let _ = stdin.write_all(&input).await;
    });
    let out = child.wait_with_output().await.expect("wait");
    let _ = feeder.await;
    let output = Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !output.stderr.contains(TOKEN) && !output.stdout.contains(TOKEN),
        "the token leaked: {output:?}"
    );
    output
}

/// Starts an emulator with `settings` and writes a config for it with `extra` settings.
/// Emulator settings whose portal has a unique-value `external_id` property on companies,
/// created as a user creates it in HubSpot's settings (a fresh portal has none).
pub fn with_external_ids() -> hubspot_emulator::Settings {
    let property = serde_json::json!({"name": "external_id", "label": "External ID", "type": "string",
        "fieldType": "text", "groupName": "companyinformation", "hasUniqueValue": true});
    let preload = serde_json::json!({ "properties": { "companies": [property] } });
    hubspot_emulator::Settings {
        preload: hubspot_emulator::preload::Preload::from_json(&preload.to_string())
            .expect("preload"),
        ..hubspot_emulator::Settings::default()
    }
}

///
/// The emulator serves only the routes of the API version the target calls by default
/// (2026-09), so a test fails if the target ever calls another (a numbered route it no
/// longer should, say); a test of another `api_version` sets `settings.api_versions` itself.
pub async fn start(
    settings: hubspot_emulator::Settings,
    extra: Value,
) -> (hubspot_emulator::RunningEmulator, Workdir, PathBuf) {
    let hub = start_emulator(settings).await;
    let work = Workdir::new();
    let config = work.config(&hub.base_url(), extra);
    (hub, work, config)
}

/// `--config PATH` as arguments.
pub fn config_args(path: &Path) -> Vec<String> {
    vec!["--config".into(), path.display().to_string()]
}

/// An HTTP client for reading the emulator back (reqwest is built without a default TLS
/// provider, so ring is installed first).
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// Any JSON document from the emulator's inspection routes.
pub async fn http_get_json<T: serde::de::DeserializeOwned>(url: &str) -> T {
    http()
        .get(url)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
}

/// Every stored record of a type in the emulator.
pub async fn stored(base_url: &str, object_type: &str) -> Vec<Value> {
    http_get_json(&format!("{base_url}/_emulator/objects/{object_type}")).await
}

/// The emulator's request stats.
pub async fn stats(base_url: &str) -> Value {
    http_get_json(&format!("{base_url}/_emulator/stats")).await
}

/// Runs the binary with `--config PATH`, feeding `input` on stdin.
pub async fn run_config(config: &Path, input: &str) -> Output {
    run(&["--config", config.to_str().expect("a UTF-8 path")], input).await
}

/// Starts the binary with `--config PATH` and piped stdin, stdout and stderr.
pub fn spawn_target(config: &Path) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_target-hubspot"))
        .args(["--config", config.to_str().expect("a UTF-8 path")])
        .env("TARGET_HUBSPOT_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn target-hubspot")
}

/// Sends SIGTERM to the process `pid`.
pub fn terminate(pid: &str) {
    let sent = std::process::Command::new("kill")
        .args(["-TERM", pid])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -TERM {pid}");
}

/// Starts an emulator serving, unless `settings` names other versions, only the routes of
/// the API version the target calls by default (2026-09): a test fails if the target calls
/// any other route.
pub async fn start_emulator(
    mut settings: hubspot_emulator::Settings,
) -> hubspot_emulator::RunningEmulator {
    if settings.api_versions == hubspot_emulator::ApiVersion::ALL {
        settings.api_versions = vec![hubspot_emulator::ApiVersion::Dated2026_09];
    }
    hubspot_emulator::start(settings)
        .await
        .expect("emulator starts")
}

/// Starts the target on `config`, feeds it `input` (stdin left open), sends SIGTERM after
/// `after` and returns its exit code and how long after the signal it ended.
pub async fn terminate_after(
    config: &std::path::Path,
    input: &str,
    after: std::time::Duration,
) -> (Option<i32>, std::time::Duration, String) {
    use tokio::io::AsyncWriteExt;
    let mut child = spawn_target(config);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    tokio::time::sleep(after).await;
    terminate(&child.id().unwrap().to_string());
    let signalled = std::time::Instant::now();
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the target ends")
        .unwrap();
    drop(stdin);
    (
        out.status.code(),
        signalled.elapsed(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What HubSpot holds for each contact, by email: the table's columns only.
pub type Held =
    std::collections::BTreeMap<String, std::collections::BTreeMap<String, serde_json::Value>>;

/// Every contact the emulator at `base_url` holds, by email, with the table's columns.
pub async fn held(base_url: &str) -> Held {
    stored(base_url, "contacts")
        .await
        .into_iter()
        .map(|o| {
            let p = &o["properties"];
            let email = p["email"].as_str().unwrap_or_default().to_string();
            let columns = exports::COLUMNS[1..]
                .iter()
                .filter_map(|c| p.get(*c).map(|v| (c.to_string(), v.clone())))
                .collect();
            (email, columns)
        })
        .collect()
}
