//! The sync ledger end to end against the emulator, on SQLite and on a real Postgres server
//! the test starts itself: every claim is checked by reading HubSpot back and by counting the
//! write requests the emulator answered.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use hubspot_emulator::Settings;
use serde_json::{Value, json};
use support::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

/// A Singer stream of contacts, `key_properties: ["email"]`, a STATE every 100 records.
fn contacts(rows: &[(String, String)]) -> String {
    let mut lines = vec![
        json!({"type": "SCHEMA", "stream": "contacts", "key_properties": ["email"],
        "schema": {"type": "object", "properties": {"email": {"type": "string"}, "firstname": {"type": "string"}, "city": {"type": ["string", "null"]}}}}),
    ];
    for (n, (email, firstname)) in rows.iter().enumerate() {
        lines.push(record(
            "contacts",
            json!({"email": email, "firstname": firstname, "city": "Oslo"}),
        ));
        if n % 100 == 99 {
            lines.push(state(json!({"at": n + 1})));
        }
    }
    lines.push(state(json!({"at": "end"})));
    singer(&lines)
}

fn rows(n: usize, tag: &str) -> Vec<(String, String)> {
    (0..n)
        .map(|i| (format!("user{i}@example.com"), format!("{tag}{i}")))
        .collect()
}

/// Write requests (batch upsert, create, update, archive) the emulator has answered.
async fn writes(base: &str) -> u64 {
    let stats = stats(base).await;
    stats["by_route"]
        .as_object()
        .map(|routes| {
            routes
                .iter()
                .filter(|(route, _)| {
                    [
                        "batch/upsert",
                        "batch/create",
                        "batch/update",
                        "batch/archive",
                    ]
                    .iter()
                    .any(|w| route.ends_with(w))
                })
                .map(|(_, n)| n.as_u64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}

/// Live (not archived) records of `object_type` by a property's value → all properties.
async fn live_by(base: &str, object_type: &str, property: &str) -> BTreeMap<String, Value> {
    stored(base, object_type)
        .await
        .into_iter()
        .filter(|o| o["archived"] != json!(true))
        .filter_map(|o| {
            let key = o["properties"][property].as_str()?.to_string();
            Some((key, o["properties"].clone()))
        })
        .collect()
}

/// The summary document a run wrote.
fn summary(work: &Workdir) -> Value {
    serde_json::from_str(&std::fs::read_to_string(work.path("summary.json")).expect("summary"))
        .expect("summary JSON")
}

fn ledger_config(work: &Workdir, base: &str, ledger: &str, streams: Value) -> std::path::PathBuf {
    work.config(
        base,
        json!({"ledger": ledger, "summary_path": work.path("summary.json"), "streams": streams}),
    )
}

/// An emulator, a work folder and a config with a ledger and `streams`.
async fn fixture(
    settings: Settings,
    ledger: impl Fn(&Workdir) -> String,
    streams: Value,
) -> (
    hubspot_emulator::RunningEmulator,
    String,
    Workdir,
    std::path::PathBuf,
) {
    let hub = support::start_emulator(settings).await;
    let base = hub.base_url();
    let work = Workdir::new();
    let config = ledger_config(&work, &base, &ledger(&work), streams);
    (hub, base, work, config)
}

fn sqlite(work: &Workdir) -> String {
    work.path("ledger.db").display().to_string()
}

/// A second run of an unchanged export sends nothing; 50 changed rows are sent alone; a
/// row HubSpot rejected is sent again next time; `--full-resync` sends everything.
async fn only_changes_are_sent(ledger: impl Fn(&Workdir) -> String, n: usize) {
    let (_hub, base, work, config) = fixture(Settings::unlimited(), ledger, json!({})).await;
    let mut export = rows(n, "A");
    export.push(("bad@@example".into(), "Bad".into()));
    let input = contacts(&export);

    let first = run_config(&config, &input).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let after_first = writes(&base).await;
    assert_eq!(summary(&work)["total"]["created"], json!(n));
    assert_eq!(summary(&work)["total"]["rejected"], json!(1));

    let second = run_config(&config, &input).await;
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    let s = summary(&work);
    assert_eq!(s["total"]["unchanged"], json!(n), "{s}");
    // Only the row HubSpot rejected last time is sent again (and rejected again).
    assert_eq!(s["total"]["rejected"], json!(1), "{s}");
    assert_eq!(
        writes(&base).await - after_first,
        1,
        "one request, for the rejected row"
    );
    assert_eq!(
        second.states().last(),
        Some(&json!({"at": "end"})),
        "unchanged records are settled, so STATE goes out"
    );

    // 50 rows change: they alone are sent, batched together, and HubSpot holds them.
    let mut changed = export.clone();
    for (i, row) in changed.iter_mut().enumerate().take(50) {
        row.1 = format!("B{i}");
    }
    let before = writes(&base).await;
    let third = run_config(&config, &contacts(&changed)).await;
    assert_eq!(third.code, Some(0), "{}", third.stderr);
    let s = summary(&work);
    assert_eq!(s["total"]["updated"], json!(50), "{s}");
    assert_eq!(s["total"]["unchanged"], json!(n - 50), "{s}");
    assert_eq!(
        writes(&base).await - before,
        1,
        "one request: the 50 changed rows and the row rejected last time"
    );
    let live = live_by(&base, "contacts", "email").await;
    assert_eq!(live.len(), n);
    for (i, (email, firstname)) in changed.iter().take(n).enumerate() {
        assert_eq!(live[email]["firstname"], json!(firstname), "row {i}");
    }

    // --full-resync sends every row and refreshes the ledger.
    let before = writes(&base).await;
    let resync = run(
        &["--config", config.to_str().unwrap(), "--full-resync"],
        &contacts(&changed),
    )
    .await;
    assert_eq!(resync.code, Some(0), "{}", resync.stderr);
    assert_eq!(summary(&work)["total"]["unchanged"], json!(0));
    assert!(writes(&base).await - before >= (n as u64).div_ceil(100));
    let again = run_config(&config, &contacts(&changed)).await;
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert_eq!(summary(&work)["total"]["unchanged"], json!(n));
}

/// `on_removed: archive` archives exactly the rows that left the export; `clear` blanks
/// exactly their mapped properties; past `max_removed_rate` nothing is removed.
async fn removals_mirror_the_export(ledger: impl Fn(&Workdir) -> String) {
    let hub = support::start_emulator(Settings::unlimited()).await;
    let base = hub.base_url();
    let work = Workdir::new();
    let location = ledger(&work);
    let archive = ledger_config(
        &work,
        &base,
        &location,
        json!({"contacts": {"object_type": "contacts", "on_removed": "archive"}}),
    );
    let all = rows(100, "A");
    let first = run_config(&archive, &contacts(&all)).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);

    // A truncated export (10 of 100 rows) would remove 90%: refused, nothing archived.
    let truncated = run_config(&archive, &contacts(&all[..10])).await;
    assert_eq!(truncated.code, Some(1), "{}", truncated.stderr);
    assert!(
        truncated
            .critical()
            .contains("did not read 90 of the 100 keys")
            && truncated.critical().contains("max_removed_rate 0.2"),
        "{}",
        truncated.critical()
    );
    assert_eq!(live_by(&base, "contacts", "email").await.len(), 100);

    // Rows 90..100 left the source: exactly they are archived.
    let kept = &all[..90];
    let mirrored = run_config(&archive, &contacts(kept)).await;
    assert_eq!(mirrored.code, Some(0), "{}", mirrored.stderr);
    assert_eq!(summary(&work)["total"]["removed"], json!(10));
    let live = live_by(&base, "contacts", "email").await;
    assert_eq!(
        live.keys().cloned().collect::<Vec<_>>(),
        kept.iter()
            .map(|r| r.0.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    // Removed keys left the ledger: the same export again removes nothing more.
    let before = writes(&base).await;
    let again = run_config(&archive, &contacts(kept)).await;
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert_eq!(summary(&work)["total"]["removed"], json!(0));
    assert_eq!(summary(&work)["total"]["unchanged"], json!(90));
    assert_eq!(
        writes(&base).await,
        before,
        "an unchanged export sends no write"
    );

    // clear: the next 5 rows leave; their firstname and city become empty, the key stays.
    let clear = ledger_config(
        &work,
        &base,
        &location,
        json!({"contacts": {"object_type": "contacts", "on_removed": "clear"}}),
    );
    let fewer = &all[..85];
    let cleared = run_config(&clear, &contacts(fewer)).await;
    assert_eq!(cleared.code, Some(0), "{}", cleared.stderr);
    assert_eq!(summary(&work)["total"]["removed"], json!(5));
    let live = live_by(&base, "contacts", "email").await;
    assert_eq!(live.len(), 90, "clear archives nothing");
    for (i, (email, firstname)) in all[..90].iter().enumerate() {
        let p = &live[email];
        if i < 85 {
            assert_eq!(p["firstname"], json!(firstname));
            assert_eq!(p["city"], json!("Oslo"));
        } else {
            assert!(
                p["firstname"].as_str().unwrap_or("").is_empty()
                    && p["city"].as_str().unwrap_or("").is_empty(),
                "row {i} cleared: {p}"
            );
        }
    }
}

/// Notes with `create_only` and no unique key are created once, however often the export
/// is loaded (a changed note is left alone: create_only never updates).
async fn notes_are_created_once(ledger: impl Fn(&Workdir) -> String) {
    let (_hub, base, work, config) = fixture(
        Settings::unlimited(),
        ledger,
        json!({"notes": {"object_type": "notes", "write_mode": "create_only"}}),
    )
    .await;
    let notes = |body: &str| {
        let mut lines = vec![
            json!({"type": "SCHEMA", "stream": "notes", "key_properties": ["note_id"],
            "schema": {"type": "object", "properties": {"note_id": {"type": "integer"}}}}),
        ];
        for i in 0..30 {
            lines.push(record("notes", json!({"note_id": i, "hs_note_body": format!("{body} {i}"), "hs_timestamp": "2026-11-30T10:00:00Z"})));
        }
        singer(&lines)
    };
    for (round, body) in ["Called", "Called", "Called back"].iter().enumerate() {
        let out = run_config(&config, &notes(body)).await;
        assert_eq!(out.code, Some(0), "round {round}: {}", out.stderr);
        let stored = stored(&base, "notes").await;
        assert_eq!(stored.len(), 30, "round {round}: never created twice");
    }
    // The last round changed every body: left alone, not created again.
    let s = summary(&work);
    assert_eq!(s["total"]["skipped"], json!(30), "{s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_unchanged_export_sends_nothing_and_changes_go_alone() {
    only_changes_are_sent(sqlite, 10_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_removed_rows_are_archived_or_cleared_within_the_safety_limit() {
    removals_mirror_the_export(sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_create_only_notes_are_not_created_twice() {
    notes_are_created_once(sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_ledger_behaves_as_sqlite() {
    let server = match support::postgres::Postgres::start() {
        Ok(s) => s,
        Err(reason) => {
            eprintln!("SKIPPED postgres_ledger_behaves_as_sqlite: {reason}");
            return;
        }
    };
    // Each scenario in its own schema of one database, as separate deployments would be.
    let scenario = std::sync::atomic::AtomicUsize::new(0);
    let url = |_: &Workdir| {
        let n = scenario.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        format!("{}?options=-csearch_path%3Ds{n}", server.url)
    };
    let (client, conn) = tokio_postgres::connect(&server.url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
        .batch_execute(
            &(0..6)
                .map(|n| format!("CREATE SCHEMA s{n};"))
                .collect::<String>(),
        )
        .await
        .unwrap();
    only_changes_are_sent(&url, 1_000).await;
    removals_mirror_the_export(&url).await;
    notes_are_created_once(&url).await;
    two_runs_at_once_are_refused(&url).await;
    killed_then_rerun(&url).await;
    dry_run_counts(&url).await;
    let _ = server.path();
}

/// While one run holds the ledger, a second stops at startup; the first finishes.
async fn two_runs_at_once_are_refused(ledger: impl Fn(&Workdir) -> String) {
    let (_hub, base, _work, config) = fixture(Settings::unlimited(), ledger, json!({})).await;
    let mut first = spawn_target(&config);
    let mut stdin = first.stdin.take().unwrap();
    let mut stdout = tokio::io::BufReader::new(first.stdout.take().unwrap()).lines();
    let input = contacts(&rows(10, "A"));
    stdin.write_all(input.as_bytes()).await.unwrap();
    // The first run has settled its records (its STATE is out) and waits for more input.
    let line = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
        .await
        .expect("first run's STATE")
        .unwrap();
    assert!(line.is_some());
    let second = run_config(&config, &contacts(&rows(10, "B"))).await;
    assert_eq!(second.code, Some(1), "{}", second.stderr);
    assert!(
        second.critical().contains("is in use by another run"),
        "{}",
        second.critical()
    );
    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(30), first.wait())
        .await
        .expect("first run ends")
        .unwrap();
    assert!(status.success());
    let live = live_by(&base, "contacts", "email").await;
    assert!(
        live.values()
            .all(|p| p["firstname"].as_str().unwrap().starts_with('A'))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_runs_at_once_are_refused() {
    two_runs_at_once_are_refused(sqlite).await;
}

/// Killed (SIGKILL) in the middle of loading new values, then run again: HubSpot ends with
/// every new value, so the ledger never marked a value sent that HubSpot did not hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_killed_run_never_marks_unsent_values_as_sent() {
    killed_then_rerun(sqlite).await;
}

async fn killed_then_rerun(ledger: impl Fn(&Workdir) -> String) {
    let settings = Settings {
        latency: Duration::from_millis(150),
        ..Settings::unlimited()
    };
    let hub = support::start_emulator(settings).await;
    let base = hub.base_url();
    let work = Workdir::new();
    let config = work.config(
        &base,
        json!({"ledger": ledger(&work), "summary_path": work.path("summary.json"), "max_concurrency": 1}),
    );
    let old = rows(3_000, "A");
    let first = run_config(&config, &contacts(&old)).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);

    let new = rows(3_000, "B");
    let mut killed = spawn_target(&config);
    let mut stdin = killed.stdin.take().unwrap();
    let input = contacts(&new);
    let feeder = tokio::spawn(async move {
        let _ = stdin.write_all(input.as_bytes()).await;
    });
    let mut stdout = tokio::io::BufReader::new(killed.stdout.take().unwrap()).lines();
    // Some records are settled (a STATE is out), most are not.
    for _ in 0..3 {
        tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
            .await
            .expect("a STATE")
            .unwrap();
    }
    killed.start_kill().unwrap();
    let _ = killed.wait().await;
    let _ = feeder.await;
    let live = live_by(&base, "contacts", "email").await;
    let loaded = live
        .values()
        .filter(|p| p["firstname"].as_str().unwrap().starts_with('B'))
        .count();
    assert!(
        loaded > 0 && loaded < 3_000,
        "killed mid-run: {loaded} of 3000 new values written"
    );

    let rerun = run_config(&config, &contacts(&new)).await;
    assert_eq!(rerun.code, Some(0), "{}", rerun.stderr);
    let live = live_by(&base, "contacts", "email").await;
    for (email, firstname) in &new {
        assert_eq!(live[email]["firstname"], json!(firstname), "{email}");
    }
    let s = summary(&work);
    assert!(
        s["total"]["unchanged"].as_u64().unwrap() > 0,
        "the rerun skipped what the killed run had settled: {s}"
    );
}

/// A dry run with a ledger counts what would be unchanged and removed, and sends no write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_dry_run_reports_unchanged_and_removed_without_writing() {
    dry_run_counts(sqlite).await;
}

async fn dry_run_counts(ledger: impl Fn(&Workdir) -> String) {
    let (_hub, base, work, config) = fixture(
        Settings::unlimited(),
        ledger,
        json!({"contacts": {"object_type": "contacts", "on_removed": "archive"}}),
    )
    .await;
    let all = rows(100, "A");
    assert_eq!(run_config(&config, &contacts(&all)).await.code, Some(0));
    let before = writes(&base).await;
    let mut next = all[..95].to_vec();
    next[0].1 = "changed".into();
    let dry = run(
        &["--config", config.to_str().unwrap(), "--dry-run"],
        &contacts(&next),
    )
    .await;
    assert_eq!(dry.code, Some(0), "{}", dry.stderr);
    let s = summary(&work);
    assert_eq!(s["total"]["unchanged"], json!(94), "{s}");
    assert_eq!(s["total"]["updated"], json!(1), "{s}");
    assert_eq!(s["total"]["created"], json!(0), "{s}");
    assert_eq!(s["total"]["removed"], json!(5), "{s}");
    assert_eq!(writes(&base).await, before, "a dry run writes nothing");
    // Nor does it touch the ledger: the real run finds the same.
    let real = run_config(&config, &contacts(&next)).await;
    assert_eq!(real.code, Some(0), "{}", real.stderr);
    let s = summary(&work);
    assert_eq!(s["total"]["unchanged"], json!(94), "{s}");
    assert_eq!(s["total"]["updated"], json!(1), "{s}");
    assert_eq!(s["total"]["removed"], json!(5), "{s}");
}

/// Companies matched by domain: a second run moments after the first (search has not caught
/// up) updates by the ids the ledger holds instead of creating duplicates; an id HubSpot no
/// longer has is forgotten and the row takes the normal path (search, then create).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_search_matched_streams_use_the_ledger_ids() {
    let (_hub, base, work, config) = fixture(
        Settings::default(),
        sqlite,
        json!({"accounts": {"object_type": "companies", "match_property": "domain"}}),
    )
    .await;
    let accounts = |names: &[String]| {
        let mut lines = vec![
            json!({"type": "SCHEMA", "stream": "accounts", "key_properties": ["domain"],
            "schema": {"type": "object", "properties": {}}}),
        ];
        for (i, name) in names.iter().enumerate() {
            lines.push(record(
                "accounts",
                json!({"domain": format!("acme{i}.com"), "name": name}),
            ));
        }
        singer(&lines)
    };
    let searches = |stats: &Value| {
        stats["by_route"]["POST /crm/objects/2026-09/{object_type}/search"]
            .as_u64()
            .unwrap_or(0)
    };
    let mut names: Vec<String> = (0..20).map(|i| format!("Acme {i}")).collect();
    let first = run_config(&config, &accounts(&names)).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let searched = searches(&stats(&base).await);

    for name in names.iter_mut().take(5) {
        name.push_str(" Inc");
    }
    let second = run_config(&config, &accounts(&names)).await;
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    let s = summary(&work);
    assert_eq!(
        (
            s["total"]["updated"].clone(),
            s["total"]["unchanged"].clone()
        ),
        (json!(5), json!(15)),
        "{s}"
    );
    assert_eq!(
        searches(&stats(&base).await),
        searched,
        "known ids need no search"
    );
    let live = live_by(&base, "companies", "domain").await;
    assert_eq!(live.len(), 20, "no duplicates although search lags");
    assert_eq!(live["acme0.com"]["name"], json!("Acme 0 Inc"));

    // acme0.com is deleted in HubSpot; its row changes again.
    let id = live["acme0.com"]["hs_object_id"]
        .as_str()
        .unwrap()
        .to_string();
    let archived = http()
        .post(format!(
            "{base}/crm/objects/2026-09/companies/batch/archive"
        ))
        .bearer_auth(TOKEN)
        .json(&json!({"inputs": [{"id": id}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(archived.status(), 204);
    names[0] = "Acme Reborn".into();
    let third = run_config(&config, &accounts(&names)).await;
    assert_eq!(third.code, Some(0), "{}", third.stderr);
    let s = summary(&work);
    assert_eq!(s["total"]["created"], json!(1), "{s}");
    assert_eq!(s["total"]["rejected"], json!(0), "{s}");
    let live = live_by(&base, "companies", "domain").await;
    assert_eq!(live["acme0.com"]["name"], json!("Acme Reborn"));
    assert_ne!(live["acme0.com"]["hs_object_id"], json!(id));
    // The ledger holds the new id: nothing left to send.
    let fourth = run_config(&config, &accounts(&names)).await;
    assert_eq!(fourth.code, Some(0), "{}", fourth.stderr);
    assert_eq!(summary(&work)["total"]["unchanged"], json!(20));
}

/// Within one run, a key sent with a new value and later read again with the value the
/// ledger holds is sent again: the later value wins in HubSpot, as without a ledger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_later_value_equal_to_the_ledger_still_wins_over_an_earlier_change() {
    let (_hub, base, _work, config) = fixture(Settings::unlimited(), sqlite, json!({})).await;
    let first = run_config(&config, &contacts(&rows(1, "A"))).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    // user0 becomes B, then (in a later ledger chunk) goes back to A, the ledger's value.
    let mut export = vec![("user0@example.com".to_string(), "B0".to_string())];
    export.extend(rows(2_500, "C").into_iter().skip(1));
    export.push(("user0@example.com".into(), "A0".into()));
    let second = run_config(&config, &contacts(&export)).await;
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    let live = live_by(&base, "contacts", "email").await;
    assert_eq!(live["user0@example.com"]["firstname"], json!("A0"));
    let third = run_config(&config, &contacts(&export)).await;
    assert_eq!(third.code, Some(0), "{}", third.stderr);
    let live = live_by(&base, "contacts", "email").await;
    assert_eq!(live["user0@example.com"]["firstname"], json!("A0"));
}

/// A Postgres ledger over TLS as the URL's `sslmode` asks: with `require`, a certificate the
/// system trusts (here through `SSL_CERT_FILE`) connects, and one it does not is refused with a
/// message that says so, before anything is written to HubSpot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_ledger_over_tls_verifies_the_server() {
    let server = match support::postgres::Postgres::start_tls() {
        Ok(s) => s,
        Err(reason) => {
            eprintln!("SKIPPED postgres_ledger_over_tls_verifies_the_server: {reason}");
            return;
        }
    };
    let url = format!("{}?sslmode=require", server.url);
    let (_hub, base, work, config) =
        fixture(Settings::unlimited(), |_| url.clone(), json!({})).await;
    let input = contacts(&rows(10, "A"));
    let ca = server.ca().display().to_string();
    let args = ["--config", config.to_str().unwrap()];

    let trusted = run_with_env(&args, &input, &[("SSL_CERT_FILE", &ca)]).await;
    assert_eq!(trusted.code, Some(0), "{}", trusted.stderr);
    assert_eq!(summary(&work)["total"]["created"], json!(10));

    let untrusted = run_with_env(&args, &input, &[("SSL_CERT_FILE", "/dev/null")]).await;
    assert_eq!(untrusted.code, Some(1), "{}", untrusted.stderr);
    assert!(
        untrusted.critical().contains("certificate"),
        "{}",
        untrusted.critical()
    );
    assert_eq!(writes(&base).await, 1, "the refused run wrote nothing");
}

/// A warehouse export of notes (CSV, no tap) with `--key-properties`: the ledger knows each
/// row by its id column, so loading the export twice creates each note once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_csv_export_of_notes_with_key_properties_is_created_once() {
    let (_hub, base, work, config) = fixture(
        Settings::unlimited(),
        sqlite,
        json!({"notes": {"object_type": "notes", "write_mode": "create_only"}}),
    )
    .await;
    let csv = work.path("notes.csv");
    let mut text = String::from("note_id,hs_note_body,hs_timestamp\n");
    for i in 0..25 {
        text.push_str(&format!("{i},Called {i},2026-11-30T10:00:00Z\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let args = [
        "--config",
        config.to_str().unwrap(),
        "--input",
        csv.to_str().unwrap(),
        "--input-format",
        "csv",
        "--stream",
        "notes",
        "--key-properties",
        "note_id",
    ];
    for round in 0..2 {
        let out = run(&args, "").await;
        assert_eq!(out.code, Some(0), "round {round}: {}", out.stderr);
        assert_eq!(stored(&base, "notes").await.len(), 25, "round {round}");
    }
    assert_eq!(summary(&work)["total"]["unchanged"], json!(25));
}

/// A Postgres ledger that accepts connections and never answers: the run stops with a
/// CRITICAL within `ledger_timeout_s`, and a SIGTERM ends it within 15 s whatever the bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_postgres_ledger_stops_the_run_within_its_bound_and_sigterm_ends_it() {
    let server = match support::postgres::Postgres::start() {
        Ok(s) => s,
        Err(reason) => {
            eprintln!("SKIPPED a_frozen_postgres_ledger: {reason}");
            return;
        }
    };
    let hub = support::start_emulator(Settings::unlimited()).await;
    let work = Workdir::new();
    let input = singer(
        &std::iter::once(schema("contacts"))
            .chain(
                (0..50).map(|i| record("contacts", json!({"email": format!("f{i}@example.com")}))),
            )
            .collect::<Vec<_>>(),
    );
    // A first run creates the ledger's tables while the server answers.
    let config = work.config(
        &hub.base_url(),
        json!({"ledger": server.url, "ledger_timeout_s": 3}),
    );
    let out = run_config(&config, &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);

    server.freeze(true);
    let started = std::time::Instant::now();
    let out = run_config(&config, &input).await;
    let took = started.elapsed();
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.critical().contains("no answer within 3 s"),
        "{}",
        out.critical()
    );
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");

    // With the default bound (120 s), SIGTERM ends the wait.
    let config = work.config(&hub.base_url(), json!({"ledger": server.url}));
    let (code, took, stderr) =
        terminate_after(&config, &input, std::time::Duration::from_secs(1)).await;
    server.freeze(false);
    assert_eq!(code, Some(143), "{stderr}");
    assert!(took < std::time::Duration::from_secs(15), "{took:?}");
}

/// Every form of Postgres connection string libpq takes is used as one, and its password
/// appears nowhere: not in the CRITICAL line, not in a file name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_password_never_shows_whatever_form_the_connection_string_takes() {
    let hub = support::start_emulator(Settings::unlimited()).await;
    let work = Workdir::new();
    for ledger in [
        "postgres://ann@127.0.0.1:1/crm?password=hunter2-query",
        "postgres://ann:hunter2-userinfo@127.0.0.1:1/crm",
        "host=127.0.0.1 port=1 user=ann password=hunter2-kv dbname=crm",
        "host=127.0.0.1 port=1 password='hunter2 quoted' dbname=crm",
    ] {
        let config = work.config(
            &hub.base_url(),
            json!({"ledger": ledger, "ledger_timeout_s": 5}),
        );
        let out = run_config(&config, &singer(&[schema("contacts")])).await;
        assert_eq!(out.code, Some(1), "{ledger}: {}", out.stderr);
        assert!(!out.stderr.contains("hunter2"), "{ledger}: {}", out.stderr);
        assert!(out.critical().contains("ledger"), "{}", out.critical());
        let files: Vec<String> = std::fs::read_dir(work.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            files
                .iter()
                .all(|f| !f.contains("hunter2") && !f.contains("host=")),
            "no SQLite file named after it: {files:?}"
        );
    }
}

/// A second run reaching the same SQLite ledger through a symlink is refused like one using
/// the same path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlinked_sqlite_ledger_is_refused_while_another_run_holds_it() {
    let (_hub, base, work, config) = fixture(Settings::unlimited(), sqlite, json!({})).await;
    let mut first = spawn_target(&config);
    let mut stdin = first.stdin.take().unwrap();
    let mut stdout = tokio::io::BufReader::new(first.stdout.take().unwrap()).lines();
    stdin
        .write_all(contacts(&rows(10, "A")).as_bytes())
        .await
        .unwrap();
    let line = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
        .await
        .expect("first run's STATE")
        .unwrap();
    assert!(line.is_some());
    let link = work.path("link-to-ledger.db");
    std::os::unix::fs::symlink(work.path("ledger.db"), &link).unwrap();
    let other = work.config(&base, json!({"ledger": link}));
    let second = run_config(&other, &contacts(&rows(10, "B"))).await;
    assert_eq!(second.code, Some(1), "{}", second.stderr);
    assert!(
        second.critical().contains("is in use by another run"),
        "{}",
        second.critical()
    );
    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(30), first.wait())
        .await
        .expect("first run ends")
        .unwrap();
    assert!(status.success());
}

/// A key that happens to start with `#` is a key like any other: the ledger knows it, so an
/// unchanged second run sends nothing (keys were once told apart from keyless records by a
/// leading `#`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_key_starting_with_a_hash_is_known_to_the_ledger() {
    let streams = json!({"accounts": {"object_type": "companies", "id_property": "external_id"}});
    let settings = Settings {
        rate_limit: 1_000_000,
        ..support::with_external_ids()
    };
    let (_hub, base, _work, config) = fixture(settings, sqlite, streams).await;
    let lines: Vec<Value> = std::iter::once(schema("accounts"))
        .chain((0..3).map(|i| {
            record(
                "accounts",
                json!({"external_id": format!("#{i}"), "name": format!("Co {i}")}),
            )
        }))
        .collect();
    let input = singer(&lines);
    let first = run_config(&config, &input).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let after_first = writes(&base).await;
    assert_eq!(live_by(&base, "companies", "external_id").await.len(), 3);
    let second = run_config(&config, &input).await;
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    assert_eq!(
        writes(&base).await,
        after_first,
        "nothing changed, nothing sent"
    );
}
