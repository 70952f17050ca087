//! Replays every recorded HubSpot call (`fixtures/recordings.json`, derived by
//! `fixtures/derive_recordings.py`) against the emulator and compares what a client reads:
//! status, content type, `x-hubspot-notfound`, `Location`, the body's top-level keys (and their
//! order), categories, codes and message texts of errors, the number and keys of results.
//!
//! Each recording runs on a fresh emulator preloaded with what that portal held before the
//! recording (records keep their recorded ids); records the replay creates get the
//! emulator's ids, and later requests and expected messages are rewritten with them.
//! Prints one line per call, then the share that matched.

mod common;

use std::collections::BTreeMap;

use common::Hub;
use hubspot_emulator::Settings;
use hubspot_emulator::preload::Preload;
use serde_json::Value;

/// The recordings (see `fixtures/README.md`).
const RECORDINGS: &str = include_str!("fixtures/recordings.json");

/// At least this share of recorded calls must match.
const REQUIRED_SHARE: f64 = 0.95;

/// Calls whose answers are known to differ, `(recording, call index, why)`. The test fails
/// when one of them starts matching (so the list stays true) or another one differs.
const KNOWN_DIFFERENCES: &[(&str, usize, &str)] = &[];

fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Recorded ids replaced by the emulator's.
#[derive(Default)]
struct Ids(BTreeMap<String, String>);

impl Ids {
    /// `text` with every whole number that is a recorded id replaced by the emulator's id.
    fn rewrite(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut digits = String::new();
        let flush = |digits: &mut String, out: &mut String| {
            out.push_str(self.0.get(digits.as_str()).unwrap_or(digits));
            digits.clear();
        };
        for c in text.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
            } else {
                flush(&mut digits, &mut out);
                out.push(c);
            }
        }
        flush(&mut digits, &mut out);
        out
    }

    fn rewrite_value(&self, v: &Value) -> Value {
        serde_json::from_str(&self.rewrite(&v.to_string())).unwrap_or_else(|_| v.clone())
    }

    /// Learns the ids of records (and lists) the emulator created where HubSpot did.
    fn learn(&mut self, recorded: &Value, got: &Value) {
        let mut pair = |r: &Value, g: &Value| {
            if let (Some(r), Some(g)) = (id_text(r), id_text(g))
                && r != g
            {
                self.0.insert(r, g);
            }
        };
        pair(&recorded["id"], &got["id"]);
        pair(&recorded["list"]["listId"], &got["list"]["listId"]);
        if let (Some(rs), Some(gs)) = (recorded["results"].as_array(), got["results"].as_array()) {
            for (r, g) in rs.iter().zip(gs) {
                if r.get("new") == Some(&Value::Bool(true)) || r.get("new").is_none() {
                    pair(&r["id"], &g["id"]);
                }
            }
        }
    }
}

/// JSON as the recorded (Python) client wrote it: `", "` between items and `": "` after
/// keys, so that the columns in HubSpot's parse errors are the recorded ones.
fn spaced_json(v: &Value) -> String {
    match v {
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(spaced_json).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", Value::from(k.as_str()), spaced_json(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        scalar => scalar.to_string(),
    }
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if s.parse::<u64>().is_ok() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What differs between HubSpot's answer and the emulator's, empty when they match.
fn differences(ids: &Ids, recorded: &Value, got: &Value, problems: &mut Vec<String>) {
    let mut check = |what: &str, ok: bool| {
        if !ok {
            problems.push(what.to_string());
        }
    };
    let mut mine = keys(got);
    if recorded.get("hub_id").is_some() && recorded.get("token_use").is_none() {
        // The Feb 2026 token answers predate HubSpot adding `token_use` (the Jun 2026 ones
        // have it); the emulator answers as HubSpot does now.
        mine.retain(|k| k != "token_use");
    }
    check("top-level keys", mine == keys(recorded));
    for field in ["status", "category", "subCategory"] {
        check(field, got.get(field) == recorded.get(field));
    }
    let message = |v: &Value| v.as_str().unwrap_or("").to_string();
    if let Some(m) = recorded.get("message") {
        check(
            "message",
            message(&got["message"]) == ids.rewrite(m.as_str().unwrap_or("")),
        );
    }
    if let Some(errors) = recorded.get("errors").and_then(Value::as_array) {
        let mine = got["errors"].as_array().cloned().unwrap_or_default();
        check("number of errors", mine.len() == errors.len());
        for (e, m) in errors.iter().zip(&mine) {
            check("error keys", keys(m) == keys(e));
            for field in ["category", "code"] {
                check(&format!("error {field}"), m.get(field) == e.get(field));
            }
            check(
                "error message",
                message(&m["message"]) == ids.rewrite(e["message"].as_str().unwrap_or("")),
            );
        }
    }
    if let Some(results) = recorded.get("results").and_then(Value::as_array) {
        let mine = got["results"].as_array().cloned().unwrap_or_default();
        check("number of results", mine.len() == results.len());
        for (r, m) in results.iter().zip(&mine) {
            check("result keys", keys(m) == keys(r));
        }
    }
    if recorded["id"].is_string() {
        check(
            "numeric string id",
            got["id"]
                .as_str()
                .is_some_and(|id| id.parse::<u64>().is_ok()),
        );
    }
}

/// One call replayed: what differed (empty when it matched).
async fn replay(hub: &Hub, ids: &mut Ids, token: &mut String, call: &Value) -> Vec<String> {
    let request = &call["request"];
    let method = request["method"].as_str().unwrap_or("GET");
    let path = ids.rewrite(request["path"].as_str().unwrap_or("/"));
    let mut url = hub.url(&path);
    if let Some(query) = request.get("query").and_then(Value::as_object) {
        let pairs: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", ids.rewrite(v.as_str().unwrap_or(""))))
            .collect();
        url = format!("{url}?{}", pairs.join("&"));
    }
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut builder = hub.client.request(method, url);
    builder = match &request["body"] {
        // The token request's credentials were scrubbed from the recording: put some back.
        Value::String(form) => builder
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "{form}&refresh_token=replay-refresh&client_id=replay-client&client_secret=replay-secret"
            )),
        Value::Null => builder,
        body => builder
            .header("content-type", "application/json")
            .body(spaced_json(&ids.rewrite_value(body))),
    };
    if std::env::var("REPLAY_DEBUG").is_ok() {
        eprintln!("-> {path}");
    }
    let response = builder.bearer_auth(&*token).send().await.expect("send");
    let recorded = &call["response"];
    let mut problems = Vec::new();
    let status = response.status().as_u16();
    if u64::from(status) != recorded["status"].as_u64().unwrap_or(0) {
        problems.push(format!("status {status}"));
    }
    for header in ["content-type", "x-hubspot-notfound"] {
        let got = response.headers().get(header).and_then(|v| v.to_str().ok());
        if got != recorded["headers"][header].as_str() {
            problems.push(format!("{header} {got:?}"));
        }
    }
    if recorded["headers"].get("location").is_some() != response.headers().contains_key("location")
    {
        problems.push("Location header".into());
    }
    let text = response.text().await.expect("body");
    match &recorded["body"] {
        Value::String(html) => {
            if &text != html {
                problems.push("body text".into());
            }
        }
        body => match serde_json::from_str::<Value>(&text) {
            Ok(got) => {
                differences(ids, body, &got, &mut problems);
                if problems.is_empty() {
                    ids.learn(body, &got);
                }
                if let Some(t) = got["access_token"].as_str() {
                    *token = t.to_string();
                }
            }
            Err(_) => problems.push(format!("body is not JSON: {text:.80}")),
        },
    }
    problems
}

#[tokio::test]
async fn every_recorded_call_is_answered_as_hubspot_did() {
    let recordings: Vec<Value> = serde_json::from_str(RECORDINGS).expect("fixture parses");
    let (mut matched, mut total) = (0usize, 0usize);
    let mut unexpected = Vec::new();
    for recording in &recordings {
        let name = recording["recording"].as_str().unwrap_or("?");
        let preload: Preload =
            serde_json::from_value(recording["preload"].clone()).expect("preload parses");
        let hub = Hub::start(Settings {
            preload,
            ..Settings::unlimited()
        })
        .await;
        let mut ids = Ids::default();
        let mut token = hub.token.clone();
        for (i, call) in recording["calls"]
            .as_array()
            .expect("calls")
            .iter()
            .enumerate()
        {
            let problems = replay(&hub, &mut ids, &mut token, call).await;
            let request = &call["request"];
            let label = format!(
                "{name} #{i} {} {}",
                request["method"].as_str().unwrap_or("?"),
                request["path"].as_str().unwrap_or("?")
            );
            total += 1;
            let known = KNOWN_DIFFERENCES
                .iter()
                .find(|(r, n, _)| *r == name && *n == i);
            if problems.is_empty() {
                matched += 1;
                println!("match   {label}");
                if let Some((_, _, why)) = known {
                    unexpected.push(format!(
                        "{label} matches now; drop it from KNOWN_DIFFERENCES ({why})"
                    ));
                }
            } else {
                println!("DIFFERS {label}: {}", problems.join("; "));
                match known {
                    Some((_, _, why)) => println!("        known: {why}"),
                    None => unexpected.push(format!("{label}: {}", problems.join("; "))),
                }
            }
        }
    }
    let share = matched as f64 / total as f64;
    println!(
        "{matched} of {total} recorded calls match ({:.1}%)",
        share * 100.0
    );
    assert_eq!(total, 160, "every recorded call is replayed");
    assert!(
        unexpected.is_empty(),
        "differences not in KNOWN_DIFFERENCES:\n{}",
        unexpected.join("\n")
    );
    assert!(share >= REQUIRED_SHARE, "only {:.1}% match", share * 100.0);
}
