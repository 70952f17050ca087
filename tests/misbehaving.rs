//! The target against a server that misbehaves the way a network, a proxy or an outage does:
//! an answer that never comes, one that drips a byte at a time, a 100 MB body, rate-limit
//! headers no HubSpot tier sends. Each run ends within its bound and loses no record.
//!
//! The server here is a few lines of raw HTTP/1.1 over TCP, so it can do what no mock
//! library lets a test do.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does with a batch upsert.
#[derive(Clone, Copy)]
enum Upsert {
    /// Reads the request and never answers.
    Hang,
    /// Answers 200 and then one byte of body every 200 ms, forever.
    Drip,
    /// Answers 200 with a 100 MB chunked body.
    Huge,
    /// Answers correctly, with `Max: 1` per 31 years in the rate-limit headers.
    ImplausibleLimits,
}

const PROPERTIES: &str = r#"{"results":[{"name":"email","type":"string","fieldType":"text","hasUniqueValue":false},{"name":"firstname","type":"string","fieldType":"text","hasUniqueValue":false}]}"#;

/// Starts the server; returns its base URL and a count of upserts it received.
async fn serve(upsert: Upsert) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let upserts = Arc::new(AtomicUsize::new(0));
    let counted = upserts.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(connection(socket, upsert, counted.clone()));
        }
    });
    (base, upserts)
}

/// One request: its first line and body.
async fn read_request(socket: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if socket.read(&mut byte).await.ok()? == 0 || head.len() > 65_536 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    socket.read_exact(&mut body).await.ok()?;
    Some((head.lines().next().unwrap_or_default().to_string(), body))
}

async fn respond(socket: &mut TcpStream, headers: &str, body: &str) -> std::io::Result<()> {
    let text = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{headers}\r\n{body}",
        body.len()
    );
    socket.write_all(text.as_bytes()).await
}

/// HubSpot's answer to a batch upsert that wrote every input.
fn written(request: &[u8]) -> String {
    let request: Value = serde_json::from_slice(request).unwrap_or_default();
    let results: Vec<Value> = request["inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, input)| {
            json!({"id": format!("{}", 100 + i), "properties": {"email": input["id"]},
                   "createdAt": "x", "updatedAt": "x", "archived": false, "new": true,
                   "objectWriteTraceId": input["objectWriteTraceId"]})
        })
        .collect();
    json!({"status": "COMPLETE", "results": results}).to_string()
}

async fn connection(mut socket: TcpStream, upsert: Upsert, upserts: Arc<AtomicUsize>) {
    while let Some((line, body)) = read_request(&mut socket).await {
        if line.starts_with("GET /crm/properties/2026-09/contacts") {
            if respond(&mut socket, "", PROPERTIES).await.is_err() {
                return;
            }
            continue;
        }
        upserts.fetch_add(1, Ordering::SeqCst);
        let ok = match upsert {
            Upsert::Hang => {
                tokio::time::sleep(Duration::from_secs(3_600)).await;
                return;
            }
            Upsert::Drip => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                loop {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    if socket.write_all(b"1\r\n \r\n").await.is_err() {
                        return;
                    }
                }
            }
            Upsert::Huge => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                let chunk = format!("{:x}\r\n{}\r\n", 1 << 20, " ".repeat(1 << 20));
                let mut ok = socket.write_all(head.as_bytes()).await.is_ok();
                for _ in 0..100 {
                    ok = ok && socket.write_all(chunk.as_bytes()).await.is_ok();
                }
                ok && socket.write_all(b"0\r\n\r\n").await.is_ok()
            }
            Upsert::ImplausibleLimits => {
                let headers = "x-hubspot-ratelimit-max: 1\r\nx-hubspot-ratelimit-interval-milliseconds: 999999999999\r\nx-hubspot-ratelimit-remaining: 0\r\nretry-after: 999999999\r\n";
                respond(&mut socket, headers, &written(&body)).await.is_ok()
            }
        };
        if !ok {
            return;
        }
    }
}

fn input(n: usize) -> String {
    let mut lines = vec![schema("contacts")];
    for i in 0..n {
        lines.push(record(
            "contacts",
            json!({"email": format!("c{i}@example.com"), "firstname": "C"}),
        ));
    }
    lines.push(state(json!({"done": true})));
    singer(&lines)
}

/// Runs the target over `n` records against `base`; returns the output, how long it took and
/// its peak resident memory in KiB.
async fn run_bounded(
    base: &str,
    work: &Workdir,
    extra: Value,
    n: usize,
) -> (Output, Duration, u64) {
    let config = work.config(base, extra);
    let started = Instant::now();
    let mut child = spawn_target(&config);
    let mut stdin = child.stdin.take().unwrap();
    let text = input(n);
    tokio::spawn(async move {
        let _ = stdin.write_all(text.as_bytes()).await;
    });
    let status = format!("/proc/{}/status", child.id().unwrap_or_default());
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = tokio::spawn(async move {
        let (mut out, mut err) = (String::new(), String::new());
        let _ = tokio::join!(
            stdout.read_to_string(&mut out),
            stderr.read_to_string(&mut err)
        );
        (out, err)
    });
    let mut peak = 0u64;
    let code = loop {
        if let Ok(text) = std::fs::read_to_string(&status) {
            let hwm = text
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok());
            peak = peak.max(hwm.unwrap_or(0));
        }
        match tokio::time::timeout(Duration::from_millis(50), child.wait()).await {
            Ok(status) => break status.unwrap().code(),
            Err(_) if started.elapsed() > Duration::from_secs(90) => {
                panic!("the run did not end within 90 s")
            }
            Err(_) => continue,
        }
    };
    let (stdout, stderr) = reader.await.unwrap();
    (
        Output {
            code,
            stdout,
            stderr,
        },
        started.elapsed(),
        peak,
    )
}

/// Every record is rejected as RETRIES_EXHAUSTED with `why` in its message, and the STATE
/// after them is released (each has its outcome).
fn all_exhausted(out: &Output, work: &Workdir, n: usize, why: &str) {
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let rejected: Vec<Value> = work
        .rejected()
        .into_iter()
        .filter(|l| l["type"] == "RECORD")
        .collect();
    assert_eq!(rejected.len(), n, "{}", out.stderr);
    for r in &rejected {
        assert_eq!(r["error"]["category"], "RETRIES_EXHAUSTED", "{r}");
        let message = r["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(why), "{message}");
    }
    assert_eq!(out.states(), [json!({"done": true})]);
}

#[tokio::test]
async fn an_answer_that_never_comes_or_drips_forever_ends_in_the_request_timeout() {
    for upsert in [Upsert::Hang, Upsert::Drip] {
        let (base, upserts) = serve(upsert).await;
        let work = Workdir::new();
        let (out, took, _) = run_bounded(
            &base,
            &work,
            json!({"request_timeout_s": 2, "max_retries": 1}),
            3,
        )
        .await;
        all_exhausted(&out, &work, 3, "timed out after 2 s");
        assert_eq!(upserts.load(Ordering::SeqCst), 2, "one try and one retry");
        // Two attempts of 2 s and a backoff between them, with room for a slow machine.
        assert!(took < Duration::from_secs(30), "took {took:?}");
    }
}

#[tokio::test]
async fn a_100_mb_answer_is_cut_off_and_memory_stays_bounded() {
    let (base, _) = serve(Upsert::Huge).await;
    let work = Workdir::new();
    let (out, _, peak_kib) = run_bounded(&base, &work, json!({"max_retries": 1}), 3).await;
    all_exhausted(&out, &work, 3, "larger than 16 MiB");
    assert!(
        peak_kib < 64 * 1024,
        "peak RSS {} MiB while 100 MB came in",
        peak_kib / 1024
    );
}

#[tokio::test]
async fn rate_limit_headers_no_hubspot_tier_sends_are_ignored() {
    let (base, upserts) = serve(Upsert::ImplausibleLimits).await;
    let work = Workdir::new();
    let (out, took, _) = run_bounded(&base, &work, json!({"batch_size": 10}), 50).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(work.rejected().is_empty(), "{:?}", work.rejected());
    assert_eq!(upserts.load(Ordering::SeqCst), 5);
    assert_eq!(out.states(), [json!({"done": true})]);
    // `Max: 1` per 31 years would mean waiting for ever; five batches go out at once.
    assert!(took < Duration::from_secs(30), "took {took:?}");
}
