//! End to end: the real binary against the emulator, checked by reading back what HubSpot
//! holds and what the rejected file says.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use hubspot_emulator::Settings;
use serde_json::{Value, json};
use support::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A stream of ≥ 1,000 contacts with every kind of trouble, and what HubSpot should end with.
struct Dataset {
    input: String,
    /// Final properties per email.
    expected: BTreeMap<String, BTreeMap<&'static str, String>>,
    /// Rejected records: (record, category, code).
    rejected: Vec<(Value, &'static str, Option<&'static str>)>,
    last_state: Value,
}

const CITIES: [&str; 3] = ["Oslo", "Rome", "Lima"];

fn dataset() -> Dataset {
    let mut lines = vec![schema("contacts")];
    let mut expected = BTreeMap::new();
    let mut rejected = Vec::new();
    let mut count = 0;
    let mut push = |lines: &mut Vec<Value>, r: Value| {
        lines.push(record("contacts", r));
        count += 1;
        if count % 100 == 0 {
            lines.push(state(json!({"bookmarks": {"contacts": {"offset": count}}})));
        }
    };
    for i in 0..1000 {
        let email = format!("user{i}@example.com");
        push(
            &mut lines,
            json!({"email": email, "firstname": format!("F{i}"), "lastname": format!("L{i}"), "city": CITIES[i % 3]}),
        );
        expected.insert(
            email,
            BTreeMap::from([
                ("firstname", format!("F{i}")),
                ("lastname", format!("L{i}")),
                ("lifecyclestage", String::new()),
            ]),
        );
        if (50..200).contains(&i) {
            // A later version of an earlier contact in mixed case: same batch or the next.
            let j = i - 50;
            push(
                &mut lines,
                json!({"email": format!("  User{j}@Example.COM "), "firstname": format!("F{j}-v2"), "_sdc_extracted_at": "2026-01-01T00:00:00Z"}),
            );
            expected
                .get_mut(&format!("user{j}@example.com"))
                .unwrap()
                .insert("firstname", format!("F{j}-v2"));
        }
        if i % 33 == 0 && i < 990 {
            let bad = json!({"email": format!("bad{i}-at-example.com"), "firstname": "Broken"});
            rejected.push((bad.clone(), "VALIDATION_ERROR", Some("INVALID_EMAIL")));
            push(&mut lines, bad);
        }
        if i % 33 == 1 && i < 990 {
            let missing = if i % 2 == 0 {
                json!({"firstname": "NoEmail"})
            } else {
                json!({"email": null, "firstname": "NullEmail"})
            };
            rejected.push((missing.clone(), "MISSING_KEY", None));
            push(&mut lines, missing);
        }
        if i % 25 == 2 {
            // A field no property matches is left out (unknown_fields: ignore); the rest loads.
            let unknown =
                json!({"email": format!("unknown{i}@example.com"), "favourite_colour": "teal"});
            expected.insert(format!("unknown{i}@example.com"), BTreeMap::new());
            push(&mut lines, unknown);
        }
    }
    for i in 200..210 {
        // A later, invalid version: rejected alone, the earlier values stay.
        let bad = json!({"email": format!("user{i}@example.com"), "lifecyclestage": "superfan"});
        rejected.push((bad.clone(), "INVALID_VALUE", Some("INVALID_OPTION")));
        push(&mut lines, bad);
    }
    for j in 0..20 {
        push(
            &mut lines,
            json!({"email": format!("USER{j}@example.com"), "firstname": format!("F{j}-v3"), "lifecyclestage": "customer"}),
        );
        let e = expected.get_mut(&format!("user{j}@example.com")).unwrap();
        e.insert("firstname", format!("F{j}-v3"));
        e.insert("lifecyclestage", "customer".into());
    }
    let last_state = json!({"bookmarks": {"contacts": {"offset": count, "done": true}}});
    lines.push(state(last_state.clone()));
    Dataset {
        input: singer(&lines),
        expected,
        rejected,
        last_state,
    }
}

fn by_email(stored: &[Value]) -> HashMap<String, Value> {
    stored
        .iter()
        .map(|o| {
            (
                o["properties"]["email"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                o["properties"].clone(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_contacts_with_duplicates_and_bad_records_end_in_exactly_one_place_each() {
    let (hub, work, config) = start(Settings::default(), json!({"max_concurrency": 4})).await;
    let data = dataset();
    assert!(data.input.lines().count() > 1200);
    let out = run(&["--config", config.to_str().unwrap()], &data.input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);

    // HubSpot holds exactly the expected contacts with their final values.
    let stored = stored(&hub.base_url(), "contacts").await;
    let stored = by_email(&stored);
    assert_eq!(
        stored.len(),
        data.expected.len(),
        "one record per distinct email"
    );
    for (email, props) in &data.expected {
        let got = stored
            .get(email)
            .unwrap_or_else(|| panic!("{email} missing"));
        for (name, value) in props {
            let got_value = got.get(*name).and_then(Value::as_str).unwrap_or("");
            assert_eq!(got_value, value, "{email}.{name}");
        }
        assert!(
            got.get("_sdc_extracted_at").is_none(),
            "_sdc_ fields are never sent"
        );
    }

    // The rejected file holds exactly the bad records, each as read and with its reason.
    let lines = work.rejected();
    assert_eq!(lines[0]["type"], "SCHEMA");
    let records: Vec<&Value> = lines.iter().filter(|l| l["type"] == "RECORD").collect();
    assert_eq!(records.len(), data.rejected.len());
    let mut expected = data.rejected.clone();
    for line in &records {
        let pos = expected
            .iter()
            .position(|(r, _, _)| *r == line["record"])
            .unwrap_or_else(|| panic!("unexpected rejection {line}"));
        let (_, category, code) = expected.remove(pos);
        assert_eq!(line["error"]["category"], category, "{line}");
        assert_eq!(line["error"]["code"].as_str(), code, "{line}");
        assert!(!line["error"]["message"].as_str().unwrap().is_empty());
    }

    // Pin one rejected line of each kind: the earliest in the input (batches settle in the
    // order HubSpot answers, so the file's order varies).
    let mut examples = BTreeMap::new();
    let mut records = records.clone();
    records.sort_by_key(|l| l["error"]["line"].as_u64());
    for line in &records {
        let kind = line["error"]["code"]
            .as_str()
            .or(line["error"]["category"].as_str())
            .unwrap()
            .to_string();
        examples.entry(kind).or_insert_with(|| {
            let mut l = (*line).clone();
            if l["error"].get("correlation_id").is_some() {
                l["error"]["correlation_id"] = json!("[redacted]");
            }
            l
        });
    }
    insta::assert_json_snapshot!(examples);

    // STATE: only JSON values, in order, ending with the last one read.
    let states = out.states();
    assert_eq!(states.last(), Some(&data.last_state));
    let read = data
        .input
        .lines()
        .filter(|l| l.contains(r#""type":"RECORD""#))
        .count();
    assert!(
        out.stderr.contains(&format!(
            "stream contacts: read {read} = created 1040 + updated "
        )),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_the_fixed_rejected_file_loads_the_records_and_replaying_it_as_is_never_appends_to_it()
 {
    let (hub, work, config) = start(Settings::default(), json!({"unknown_fields": "reject"})).await;
    let input = singer(&[
        schema("contacts"),
        record(
            "contacts",
            json!({"email": "ok@example.com", "firstname": "Ok"}),
        ),
        record(
            "contacts",
            json!({"email": "broken-at-example.com", "firstname": "Broken"}),
        ),
        record("contacts", json!({"firstname": "NoEmail"})),
        record(
            "contacts",
            json!({"email": "typo@example.com", "favourite_colour": "teal"}),
        ),
        state(json!({"n": 4})),
    ]);
    let first = run(&["--config", config.to_str().unwrap()], &input).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let rejected_text = std::fs::read_to_string(work.rejected_path()).unwrap();
    assert_eq!(
        rejected_text.lines().count(),
        4,
        "a SCHEMA and three records"
    );

    // As is: the same three are rejected again, into another file; the replayed file is untouched.
    let again = run(
        &[
            "--config",
            config.to_str().unwrap(),
            "--input",
            work.rejected_path().to_str().unwrap(),
        ],
        "",
    )
    .await;
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert_eq!(
        std::fs::read_to_string(work.rejected_path()).unwrap(),
        rejected_text
    );
    let replay_files: Vec<_> = std::fs::read_dir(work.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".replay-"))
        .collect();
    assert_eq!(replay_files.len(), 1);
    assert_eq!(
        std::fs::read_to_string(replay_files[0].path())
            .unwrap()
            .lines()
            .count(),
        4
    );

    // Fixed: every record loads and nothing new is rejected.
    let fixed: String = rejected_text
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if v["type"] == "RECORD" {
                let category = v["error"]["category"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let code = v["error"]["code"].as_str().unwrap_or_default().to_string();
                let r = v["record"].as_object_mut().unwrap();
                match category.as_str() {
                    "MISSING_KEY" => {
                        r.insert("email".into(), json!("noemail@example.com"));
                    }
                    _ if code == "INVALID_EMAIL" => {
                        r.insert("email".into(), json!("broken@example.com"));
                    }
                    _ => {
                        r.remove("favourite_colour");
                    }
                }
            }
            format!("{v}\n")
        })
        .collect();
    let fixed_path = work.path("fixed.jsonl");
    std::fs::write(&fixed_path, fixed).unwrap();
    let replay = run(
        &[
            "--config",
            config.to_str().unwrap(),
            "--input",
            fixed_path.to_str().unwrap(),
        ],
        "",
    )
    .await;
    assert_eq!(replay.code, Some(0), "{}", replay.stderr);
    assert_eq!(
        std::fs::read_to_string(work.rejected_path()).unwrap(),
        rejected_text,
        "nothing new rejected"
    );
    let emails: Vec<String> = by_email(&stored(&hub.base_url(), "contacts").await)
        .into_keys()
        .collect();
    for e in [
        "ok@example.com",
        "broken@example.com",
        "noemail@example.com",
        "typo@example.com",
    ] {
        assert!(
            emails.contains(&e.to_string()),
            "{e} not loaded: {emails:?}"
        );
    }
}

/// Spawns the target with piped stdin/stdout against `config`.
fn chunk(from: usize, to: usize) -> String {
    let mut lines: Vec<Value> = (from..to)
        .map(|i| {
            record(
                "contacts",
                json!({"email": format!("c{i}@example.com"), "firstname": "X"}),
            )
        })
        .collect();
    lines.push(state(json!({"upto": to})));
    singer(&lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_is_written_only_after_every_record_before_it_is_in_hubspot() {
    let (hub, _work, config) = start(
        Settings {
            latency: Duration::from_millis(150),
            ..Settings::default()
        },
        json!({"batch_size": 20, "max_concurrency": 4}),
    )
    .await;
    let mut child = spawn_target(&config);
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    stdin
        .write_all(singer(&[schema("contacts")]).as_bytes())
        .await
        .unwrap();
    let mut checked = 0;
    for n in 1..=6 {
        stdin
            .write_all(chunk((n - 1) * 50, n * 50).as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
        let line = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let upto = serde_json::from_str::<Value>(&line).unwrap()["upto"]
            .as_u64()
            .unwrap() as usize;
        let held = stored(&hub.base_url(), "contacts").await.len();
        assert!(
            held >= upto,
            "STATE upto={upto} written while HubSpot held only {held} records"
        );
        checked += 1;
    }
    drop(stdin);
    assert!(child.wait().await.unwrap().success());
    assert_eq!(checked, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_writes_the_last_safe_state_and_loses_nothing() {
    let (hub, work, config) = start(
        Settings {
            latency: Duration::from_millis(100),
            ..Settings::default()
        },
        json!({"batch_size": 25, "max_concurrency": 2}),
    )
    .await;
    let mut child = spawn_target(&config);
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let collect = tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        let mut states = Vec::new();
        while let Ok(Some(l)) = lines.next_line().await {
            states.push(serde_json::from_str::<Value>(&l).unwrap());
        }
        states
    });
    let errors = tokio::spawn(async move {
        let mut text = String::new();
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(l)) = lines.next_line().await {
            text.push_str(&l);
            text.push('\n');
        }
        text
    });
    stdin
        .write_all(singer(&[schema("contacts")]).as_bytes())
        .await
        .unwrap();
    for n in 1..=8 {
        stdin
            .write_all(chunk((n - 1) * 60, n * 60).as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let pid = child.id().unwrap().to_string();
    terminate(&pid);
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .unwrap()
        .unwrap();
    drop(stdin);
    assert_eq!(status.code(), Some(143));
    let states = collect.await.unwrap();
    let stderr = errors.await.unwrap();
    let held = stored(&hub.base_url(), "contacts").await.len();
    if let Some(last) = states.last() {
        assert!(
            held >= last["upto"].as_u64().unwrap() as usize,
            "last state {last} but HubSpot holds {held}"
        );
    }
    // Every record read is in HubSpot or unacknowledged (no STATE covers it, so the next run
    // sends it again): the summary's "created" is exactly what HubSpot holds.
    let count = |label: &str| -> usize {
        stderr
            .split(label)
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {label:?} in {stderr}"))
    };
    let read = count("stream contacts: read ");
    assert_eq!(held, count(" = created "), "{stderr}");
    assert!(held <= read, "{stderr}");
    assert!(work.rejected().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_tight_rate_limit_every_record_lands_with_few_429s() {
    let (hub, _work, config) = start(
        Settings {
            rate_limit: 8,
            window: Duration::from_millis(1000),
            ..Settings::default()
        },
        json!({"batch_size": 50, "max_concurrency": 4}),
    )
    .await;
    let lines: Vec<Value> = std::iter::once(schema("contacts"))
        .chain((0..1500).map(|i| record("contacts", json!({"email": format!("r{i}@example.com")}))))
        .collect();
    let out = run(&["--config", config.to_str().unwrap()], &singer(&lines)).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(stored(&hub.base_url(), "contacts").await.len(), 1500);
    let stats = stats(&hub.base_url()).await;
    let total = stats["requests"].as_u64().unwrap();
    let limited = stats["by_status"]["429"].as_u64().unwrap_or(0);
    assert!(
        limited * 10 <= total,
        "{limited} of {total} requests were 429s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_are_retried_and_nothing_is_lost() {
    let (hub, _work, config) = start(
        Settings {
            fault_rate: 0.2,
            seed: Some(11),
            ..Settings::unlimited()
        },
        json!({"batch_size": 20, "max_retries": 12}),
    )
    .await;
    let lines: Vec<Value> = std::iter::once(schema("contacts"))
        .chain((0..300).map(|i| {
            record(
                "contacts",
                json!({"email": format!("f{i}@example.com"), "firstname": "F"}),
            )
        }))
        .chain(std::iter::once(state(json!({"done": true}))))
        .collect();
    let out = run(&["--config", config.to_str().unwrap()], &singer(&lines)).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(stored(&hub.base_url(), "contacts").await.len(), 300);
    assert_eq!(out.states(), vec![json!({"done": true})]);
    let stats = stats(&hub.base_url()).await;
    let faults: u64 = ["500", "502", "503", "504", "423"]
        .iter()
        .filter_map(|s| stats["by_status"][s].as_u64())
        .sum();
    assert!(faults > 0, "the emulator injected no faults: {stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_keys_under_faults_wait_alone_and_every_key_keeps_its_last_value() {
    let (hub, _work, config) = start(
        Settings {
            fault_rate: 0.2,
            seed: Some(5),
            latency: Duration::from_millis(20),
            ..Settings::unlimited()
        },
        json!({"batch_size": 20, "max_retries": 12}),
    )
    .await;
    // Every fifth record repeats the key of the record 37 before it: most batches hold a key
    // the batch before them has on the wire.
    let key = |i: usize| {
        if i.is_multiple_of(5) && i >= 37 {
            i - 37
        } else {
            i
        }
    };
    let lines: Vec<Value> = std::iter::once(schema("contacts"))
        .chain((0..600).map(|i| {
            record(
                "contacts",
                json!({"email": format!("r{}@example.com", key(i)), "firstname": format!("V{i}")}),
            )
        }))
        .chain(std::iter::once(state(json!({"done": true}))))
        .collect();
    let out = run(&["--config", config.to_str().unwrap()], &singer(&lines)).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let mut last = BTreeMap::new();
    for i in 0..600 {
        last.insert(format!("r{}@example.com", key(i)), format!("V{i}"));
    }
    let held: BTreeMap<String, String> = stored(&hub.base_url(), "contacts")
        .await
        .iter()
        .map(|o| {
            (
                o["properties"]["email"].as_str().unwrap().to_string(),
                o["properties"]["firstname"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        held, last,
        "a later value never lands before an earlier one"
    );
    assert_eq!(out.states(), vec![json!({"done": true})]);
}

/// A config for OAuth client `cid` / `csecret-abc` with refresh token `rtoken-xyz`, batches of
/// 10, and `extra` settings.
fn oauth_config(work: &Workdir, base_url: &str, extra: Value) -> std::path::PathBuf {
    let config = work.path("oauth.json");
    let mut settings = json!({"client_id": "cid", "client_secret": "csecret-abc", "refresh_token": "rtoken-xyz",
                              "base_url": base_url, "rejected_records_path": work.rejected_path(), "batch_size": 10});
    if let (Some(all), Some(more)) = (settings.as_object_mut(), extra.as_object()) {
        all.extend(more.clone());
    }
    std::fs::write(&config, settings.to_string()).unwrap();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_tokens_are_refreshed_before_they_expire() {
    let hub = support::start_emulator(Settings {
        oauth_client_id: Some("cid".into()),
        oauth_client_secret: Some("csecret-abc".into()),
        refresh_token: Some("rtoken-xyz".into()),
        token_ttl: Duration::from_secs(1),
        latency: Duration::from_millis(200),
        ..Settings::default()
    })
    .await;
    let work = Workdir::new();
    let config = oauth_config(&work, &hub.base_url(), json!({"max_concurrency": 1}));
    let lines: Vec<Value> = std::iter::once(schema("contacts"))
        .chain((0..120).map(|i| record("contacts", json!({"email": format!("o{i}@example.com")}))))
        .collect();
    let out = run(&["--config", config.to_str().unwrap()], &singer(&lines)).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(!out.stderr.contains("csecret-abc") && !out.stderr.contains("rtoken-xyz"));
    assert_eq!(stored(&hub.base_url(), "contacts").await.len(), 120);
    let stats = stats(&hub.base_url()).await;
    assert!(
        stats["by_route"]["POST /oauth/2026-03/token"]
            .as_u64()
            .unwrap()
            >= 2,
        "{stats}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauth_app_keeps_to_hubspots_secondly_limit_without_429s() {
    // HubSpot's OAuth limits as the emulator applies them: 110 / 10 s and 11 / s, the latter
    // announced in X-HubSpot-RateLimit-Secondly.
    let hub = support::start_emulator(Settings {
        refresh_token: Some("rtoken-xyz".into()),
        ..Settings::default()
    })
    .await;
    let work = Workdir::new();
    let config = oauth_config(&work, &hub.base_url(), json!({}));
    // 41 requests with the properties read: more than the first second's 11 allow at once.
    let lines: Vec<Value> = std::iter::once(schema("contacts"))
        .chain((0..400).map(|i| record("contacts", json!({"email": format!("s{i}@example.com")}))))
        .collect();
    let out = run(&["--config", config.to_str().unwrap()], &singer(&lines)).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(stored(&hub.base_url(), "contacts").await.len(), 400);
    let stats = stats(&hub.base_url()).await;
    assert_eq!(
        stats["by_status"]["429"].as_u64().unwrap_or(0),
        0,
        "{stats}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn companies_upsert_by_a_unique_value_property_from_a_mapped_stream() {
    let (hub, work, config) = start(
        support::with_external_ids(),
        json!({"streams": {"accounts": {"object_type": "companies", "id_property": "external_id",
            "properties": {"company_name": "name", "secret_notes": null}, "unknown_fields": "reject"}}}),
    )
    .await;
    let input = singer(&[
        schema("accounts"),
        record(
            "accounts",
            json!({"external_id": "A-1", "name": "Acme", "numberofemployees": 12, "is_public": false}),
        ),
        record(
            "accounts",
            json!({"external_id": "A-2", "company_name": "Globex", "industry": "RETAIL", "secret_notes": "never sent"}),
        ),
        record(
            "accounts",
            json!({"external_id": "A-1", "name": "Acme Inc"}),
        ),
        record(
            "accounts",
            json!({"external_id": "A-3", "industry": "SPACE_MINING"}),
        ),
        record(
            "accounts",
            json!({"external_id": "A-4", "number_of_employees": 5}),
        ),
    ]);
    let out = run(&["--config", config.to_str().unwrap()], &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let stored = stored(&hub.base_url(), "companies").await;
    let names: BTreeMap<String, Value> = stored
        .iter()
        .map(|o| {
            (
                o["properties"]["external_id"].as_str().unwrap().to_string(),
                o["properties"].clone(),
            )
        })
        .collect();
    assert_eq!(names.len(), 2);
    assert_eq!(names["A-1"]["name"], "Acme Inc");
    assert_eq!(names["A-1"]["numberofemployees"], "12");
    assert_eq!(names["A-1"]["is_public"], "false");
    assert_eq!(
        names["A-2"]["name"], "Globex",
        "company_name was renamed to name"
    );
    assert!(
        names["A-2"].get("secret_notes").is_none(),
        "dropped fields are never sent"
    );
    let rejected = work.rejected();
    assert_eq!(rejected.len(), 3);
    assert_eq!(rejected[1]["error"]["code"], "INVALID_OPTION");
    assert_eq!(rejected[1]["error"]["property"], "industry");
    assert_eq!(
        rejected[2]["error"]["message"],
        "object type 'companies' has no property for field(s) number_of_employees (did you mean 'numberofemployees'?); add a rename or drop, or set unknown_fields to ignore or create"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_or_jsonl_warehouse_export_loads_without_a_tap() {
    let (hub, work, config) = start(
        Settings::default(),
        json!({"streams": {"warehouse_contacts": {"object_type": "contacts"}}}),
    )
    .await;
    let csv = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/export-contacts.csv");
    let out = run(
        &[
            "--config",
            config.to_str().unwrap(),
            "--input",
            csv,
            "--input-format",
            "csv",
            "--stream",
            "warehouse_contacts",
        ],
        "",
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let held = by_email(&stored(&hub.base_url(), "contacts").await);
    assert_eq!(held.len(), 2);
    assert_eq!(held["grace@example.com"]["lifecyclestage"], "customer");
    assert_eq!(held["alan@example.com"]["city"], "Manchester");
    assert!(
        held["alan@example.com"].get("lifecyclestage").is_none(),
        "empty cells are left out"
    );
    let rejected = work.rejected();
    let categories: Vec<&str> = rejected
        .iter()
        .skip(1)
        .map(|l| l["error"]["category"].as_str().unwrap())
        .collect();
    assert_eq!(categories.len(), 2);
    assert!(categories.contains(&"MISSING_KEY") && categories.contains(&"VALIDATION_ERROR"));

    let jsonl = work.path("export.jsonl");
    std::fs::write(&jsonl, "{\"email\": \"ada@example.com\", \"firstname\": \"Ada\"}\n\n{\"email\": \"grace@example.com\", \"lastname\": \"Murray Hopper\"}\n").unwrap();
    let out = run(
        &[
            "--config",
            config.to_str().unwrap(),
            "--input",
            jsonl.to_str().unwrap(),
            "--input-format",
            "jsonl",
            "--stream",
            "warehouse_contacts",
        ],
        "",
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let held = by_email(&stored(&hub.base_url(), "contacts").await);
    assert_eq!(held.len(), 3);
    assert_eq!(held["grace@example.com"]["lastname"], "Murray Hopper");
    assert_eq!(held["grace@example.com"]["firstname"], "Grace");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn associations_are_made_once_the_records_they_point_to_are_written() {
    let streams = json!({"batch_size": 2, "max_concurrency": 4, "streams": {
        "accounts": {"object_type": "companies", "id_property": "external_id"},
        "contacts": {"object_type": "contacts", "associations": [
            {"field": "company_ext", "to_object_type": "companies", "to_id_property": "external_id", "type_id": 279}
        ]},
        "leads": {"object_type": "contacts", "associations": [
            {"field": "company_ext", "to_object_type": "companies", "to_id_property": "external_id"}
        ]}
    }});
    let (hub, work, config) = start(
        Settings {
            latency: Duration::from_millis(60),
            ..support::with_external_ids()
        },
        streams,
    )
    .await;
    let mut lines = vec![schema("accounts"), schema("contacts"), schema("leads")];
    for i in 0..12 {
        // Each contact comes right after the company it points to: only ordering saves it.
        lines.push(record(
            "accounts",
            json!({"external_id": format!("A-{i}"), "name": format!("Co {i}")}),
        ));
        lines.push(record(
            "contacts",
            json!({"email": format!("c{i}@example.com"), "company_ext": format!("A-{i}")}),
        ));
    }
    lines.push(record(
        "leads",
        json!({"email": "lead@example.com", "company_ext": "A-3"}),
    ));
    lines.push(record(
        "contacts",
        json!({"email": "lost@example.com", "company_ext": "A-404"}),
    ));
    lines.push(record("contacts", json!({"email": "alone@example.com"})));
    // Two versions of one contact in one batch, both naming the same company.
    lines.push(record(
        "contacts",
        json!({"email": "twice@example.com", "company_ext": "A-5"}),
    ));
    lines.push(record(
        "contacts",
        json!({"email": "Twice@example.com", "company_ext": "A-5", "firstname": "T"}),
    ));
    lines.push(state(json!({"done": true})));
    let out = run(&["--config", config.to_str().unwrap()], &singer(&lines)).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.states(), vec![json!({"done": true})]);

    let companies: HashMap<String, String> = stored(&hub.base_url(), "companies")
        .await
        .iter()
        .map(|o| {
            (
                o["id"].as_str().unwrap().to_string(),
                o["properties"]["external_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let contacts = stored(&hub.base_url(), "contacts").await;
    let contact_email: HashMap<String, String> = contacts
        .iter()
        .map(|o| {
            (
                o["id"].as_str().unwrap().to_string(),
                o["properties"]["email"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        contacts.len(),
        16,
        "every contact is upserted, even the one whose company is unknown"
    );
    assert!(
        contacts
            .iter()
            .all(|c| c["properties"].get("company_ext").is_none()),
        "association fields are not properties"
    );
    let associations: Vec<Value> =
        support::http_get_json(&format!("{}/_emulator/associations", hub.base_url())).await;
    let mut linked: Vec<(String, String)> = associations
        .iter()
        .filter(|a| a["fromObjectTypeId"] == "0-1" && a["toObjectTypeId"] == "0-2")
        .map(|a| {
            assert_eq!(a["types"][0]["associationTypeId"], 279);
            (
                contact_email[a["fromObjectId"].as_str().unwrap()].clone(),
                companies[a["toObjectId"].as_str().unwrap()].clone(),
            )
        })
        .collect();
    linked.sort();
    let mut expected: Vec<(String, String)> = (0..12)
        .map(|i| (format!("c{i}@example.com"), format!("A-{i}")))
        .collect();
    expected.push(("lead@example.com".into(), "A-3".into()));
    expected.push(("twice@example.com".into(), "A-5".into()));
    expected.sort();
    assert_eq!(linked, expected);

    let rejected = work.rejected();
    let records: Vec<&Value> = rejected.iter().filter(|l| l["type"] == "RECORD").collect();
    assert_eq!(records.len(), 1, "{rejected:?}");
    assert_eq!(records[0]["record"]["email"], "lost@example.com");
    assert_eq!(records[0]["error"]["category"], "ASSOCIATION_FAILED");
    let message = records[0]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("with external_id = 'A-404' failed: no companies record has that value"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_stops_at_once_without_acknowledging_unsettled_records() {
    let (_hub, work, config) = start(
        Settings {
            latency: Duration::from_secs(3),
            ..Settings::default()
        },
        json!({}),
    )
    .await;
    let mut child = spawn_target(&config);
    let mut stdin = child.stdin.take().unwrap();
    // A record rejected before anything is sent: its line reaches the rejected file even
    // though the second signal cuts the run short (the file is flushed, not dropped).
    stdin
        .write_all(
            singer(&[
                schema("contacts"),
                record("contacts", json!({"firstname": "no email"})),
            ])
            .as_bytes(),
        )
        .await
        .unwrap();
    stdin.write_all(chunk(0, 60).as_bytes()).await.unwrap();
    stdin.flush().await.unwrap();
    // Once the stream is mapped (after the properties read's 3 s of latency), the rejected
    // record, which follows its SCHEMA, is settled at once and the batch of 60 goes out.
    let stderr = child.stderr.take().unwrap();
    let (mapped_tx, mapped_rx) = tokio::sync::oneshot::channel();
    let log = tokio::spawn(async move {
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let (mut text, mut mapped_tx) = (String::new(), Some(mapped_tx));
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("stream mapped")
                && let Some(tx) = mapped_tx.take()
            {
                let _ = tx.send(());
            }
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    tokio::time::timeout(Duration::from_secs(30), mapped_rx)
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = child.id().unwrap().to_string();
    for _ in 0..2 {
        terminate(&pid);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = log.await.unwrap();
    drop(stdin);
    assert_eq!(out.status.code(), Some(143));
    assert!(
        stderr.contains("CRITICAL stopped by a second signal"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing was settled, so no STATE");
    let rejected = work.rejected();
    assert_eq!(rejected.len(), 2, "{rejected:?} {stderr}");
    assert_eq!(rejected[1]["record"]["firstname"], "no email");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_only_streams_change_existing_records_and_never_create() {
    let (hub, work, config) = start(
        Settings::default(),
        json!({"streams": {"enrich": {"object_type": "contacts", "write_mode": "update_only"}}}),
    )
    .await;
    let seed = singer(&[
        schema("contacts"),
        record(
            "contacts",
            json!({"email": "a@example.com", "firstname": "A"}),
        ),
        record(
            "contacts",
            json!({"email": "b@example.com", "firstname": "B"}),
        ),
    ]);
    assert_eq!(
        run(&["--config", config.to_str().unwrap()], &seed)
            .await
            .code,
        Some(0)
    );
    let enrich = singer(&[
        schema("enrich"),
        record(
            "enrich",
            json!({"email": "A@Example.com", "jobtitle": "Engineer"}),
        ),
        record(
            "enrich",
            json!({"email": "new@example.com", "jobtitle": "Nobody"}),
        ),
        record(
            "enrich",
            json!({"email": "b@example.com", "lifecyclestage": "superfan"}),
        ),
    ]);
    let out = run(&["--config", config.to_str().unwrap()], &enrich).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let stored = stored(&hub.base_url(), "contacts").await;
    assert_eq!(stored.len(), 2, "nothing was created");
    let a = stored
        .iter()
        .find(|o| o["properties"]["email"] == "a@example.com")
        .unwrap();
    assert_eq!(a["properties"]["jobtitle"], "Engineer");
    assert_eq!(a["properties"]["firstname"], "A");
    let rejected = work.rejected();
    let reasons: BTreeMap<String, String> = rejected
        .iter()
        .filter(|l| l["type"] == "RECORD")
        .map(|l| {
            (
                l["record"]["email"].as_str().unwrap().to_string(),
                l["error"]["category"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(reasons["new@example.com"], "NOT_FOUND");
    assert_eq!(reasons["b@example.com"], "INVALID_VALUE");
    assert_eq!(reasons.len(), 2);
    assert!(
        out.stderr.contains("created 0 + updated 1 +"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_object_is_found_by_each_of_its_names() {
    let preload = json!({"schemas": [{"name": "cars", "labels": {"singular": "Car", "plural": "Cars"},
        "primaryDisplayProperty": "model",
        "properties": [{"name": "vin", "label": "VIN", "type": "string", "fieldType": "text", "hasUniqueValue": true},
                       {"name": "model", "label": "Model", "type": "string", "fieldType": "text"}]}]});
    let settings = Settings {
        preload: hubspot_emulator::preload::Preload::from_json(&preload.to_string()).unwrap(),
        ..Settings::default()
    };
    // Four streams, one per way of naming the object; all write to the same type.
    let names = ["cars", "Car", "p23170316_cars", "2-1000001"];
    let streams: serde_json::Map<String, Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            (
                format!("s{i}"),
                json!({"object_type": n, "id_property": "vin"}),
            )
        })
        .collect();
    let (hub, _work, config) = start(settings, json!({ "streams": streams })).await;
    let mut messages = Vec::new();
    for i in 0..names.len() {
        messages.push(schema(&format!("s{i}")));
        // The same car from every stream: the last write wins, one record in all.
        messages.push(record(
            &format!("s{i}"),
            json!({"vin": "VIN-1", "model": format!("Model {i}")}),
        ));
        messages.push(record(
            &format!("s{i}"),
            json!({"vin": format!("VIN-{}", i + 2), "model": "Other"}),
        ));
    }
    let out = run(&["--config", config.to_str().unwrap()], &singer(&messages)).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let cars = stored(&hub.base_url(), "2-1000001").await;
    assert_eq!(cars.len(), 5, "{cars:?}");
    let first = cars
        .iter()
        .find(|c| c["properties"]["vin"] == "VIN-1")
        .unwrap();
    assert_eq!(
        first["properties"]["model"], "Model 3",
        "written in input order"
    );

    let (_hub, work, config) = start(
        Settings::default(),
        json!({"streams": {"boats": {"object_type": "boats", "id_property": "hull"}}}),
    )
    .await;
    let out = run(
        &["--config", config.to_str().unwrap()],
        &singer(&[schema("boats")]),
    )
    .await;
    assert_eq!(out.code, Some(1));
    assert!(
        out.critical().contains("object_type 'boats' is neither a standard object type nor a custom object of this portal (custom objects: none)"),
        "{}",
        out.stderr
    );
    drop(work);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_without_a_scope_stops_at_hubspots_403_naming_it() {
    let granted = [
        "crm.objects.contacts.read",
        "crm.objects.contacts.write",
        "crm.schemas.contacts.read",
        "crm.objects.deals.read",
        "crm.schemas.deals.read",
    ];
    let (hub, _work, config) = start(
        Settings {
            scopes: Some(granted.iter().map(|s| s.to_string()).collect()),
            ..Settings::default()
        },
        json!({"streams": {"deals": {"object_type": "deals", "write_mode": "create_only"}}}),
    )
    .await;
    let input = singer(&[
        schema("contacts"),
        record("contacts", json!({"email": "scoped@example.com"})),
        state(json!({"contacts": "done"})),
        schema("deals"),
        record("deals", json!({"dealname": "Needs write"})),
    ]);
    let out = run_config(&config, &input).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.critical().contains("(403)") && out.critical().contains("crm.objects.deals.write"),
        "{}",
        out.critical()
    );
    assert_eq!(stored(&hub.base_url(), "contacts").await.len(), 1);
    assert!(stored(&hub.base_url(), "deals").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_locked_by_hubspot_are_retried_until_they_land() {
    let (hub, work, config) = start(
        Settings {
            locks: vec![("contacts".into(), 2)],
            ..Settings::default()
        },
        json!({}),
    )
    .await;
    let mut lines = vec![schema("contacts")];
    lines
        .extend((0..30).map(|i| record("contacts", json!({"email": format!("l{i}@example.com")}))));
    lines.push(state(json!({"n": 30})));
    let out = run_config(&config, &singer(&lines)).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.states(), [json!({"n": 30})]);
    assert_eq!(stored(&hub.base_url(), "contacts").await.len(), 30);
    assert!(work.rejected().is_empty());
    let stats = stats(&hub.base_url()).await;
    assert_eq!(stats["by_status"]["423"], 2, "{stats}");
    assert!(out.stderr.contains("2 retries"), "{}", out.stderr);
}
