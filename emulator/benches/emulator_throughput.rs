//! The emulator's own throughput with limits off: upserted records per second through
//! `POST /crm/v3/objects/contacts/batch/upsert` with 100 inputs per request.
//!
//! `cargo bench -p hubspot-emulator --bench emulator_throughput`. Goal: ≥ 20,000 records/s
//! (200 batch requests/s) on 2 cores, so the emulator never limits the target's benchmarks.

use std::time::{Duration, Instant};

use serde_json::json;

const CLIENTS: usize = 4;
const RUN_FOR: Duration = Duration::from_secs(5);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let emulator = hubspot_emulator::start(hubspot_emulator::Settings::unlimited())
        .await
        .expect("start");
    let url = format!(
        "{}/crm/v3/objects/contacts/batch/upsert",
        emulator.base_url()
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client_no in 0..CLIENTS {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut batches = 0u64;
            while started.elapsed() < RUN_FOR {
                let inputs: Vec<_> = (0..100)
                    .map(|i| {
                        // Every second batch updates the records the one before created.
                        let n = (batches / 2) * 100 + i;
                        json!({"id": format!("c{client_no}-{n}@bench.example"), "idProperty": "email",
                               "objectWriteTraceId": i.to_string(),
                               "properties": {"firstname": "Bench", "lastname": format!("L{i}"), "lifecyclestage": "lead"}})
                    })
                    .collect();
                let resp = client.post(&url).bearer_auth("pat-na1-bench").json(&json!({"inputs": inputs})).send().await.expect("send");
                assert_eq!(resp.status(), 200);
                let _ = resp.bytes().await;
                batches += 1;
            }
            batches
        }));
    }
    let mut batches = 0;
    for t in tasks {
        batches += t.await.expect("task");
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "emulator_throughput: {batches} requests, {} records in {secs:.1} s = {:.0} requests/s, {:.0} records/s",
        batches * 100,
        batches as f64 / secs,
        batches as f64 * 100.0 / secs
    );
}
