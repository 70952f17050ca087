//! `api_version`: each version's routes and semantics, end to end against an emulator that
//! serves only that version, read back.

mod support;

use std::collections::BTreeSet;

use hubspot_emulator::{ApiVersion, Settings};
use serde_json::{Value, json};
use support::*;

/// The target's setting and the emulator's version for each API version.
const VERSIONS: [(&str, ApiVersion); 3] = [
    ("v3", ApiVersion::Numbered),
    ("2026-03", ApiVersion::Dated2026_03),
    ("2026-09", ApiVersion::Dated2026_09),
];

fn streams(version: &str) -> Value {
    json!({"api_version": version, "streams": {
        "accounts": {"object_type": "companies", "match_property": "domain"},
        "deals": {"object_type": "deals", "match_property": "dealname", "associations": [
            {"field": "company", "to_object_type": "companies", "to_match": "domain"},
            {"field": "buyer", "to_object_type": "contacts", "to_id_property": "email"}]}}})
}

fn input() -> String {
    singer(&[
        schema("accounts"),
        record(
            "accounts",
            json!({"domain": "acme.example", "name": "Acme"}),
        ),
        schema("contacts"),
        record(
            "contacts",
            json!({"email": "ada@example.com", "firstname": "Ada"}),
        ),
        record(
            "contacts",
            json!({"email": "not an email", "firstname": "Bad"}),
        ),
        record(
            "contacts",
            json!({"email": "bob@example.com", "firstname": "Bob"}),
        ),
        schema("deals"),
        record(
            "deals",
            json!({"dealname": "Big", "amount": "10", "company": "acme.example", "buyer": "ada@example.com"}),
        ),
        state(json!({"done": true})),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_version_loads_the_same_records_through_its_own_routes_only() {
    let mut routes_by_version = Vec::new();
    for (setting, version) in VERSIONS {
        let (hub, work, config) = start(
            Settings {
                api_versions: vec![version],
                ..Settings::default()
            },
            streams(setting),
        )
        .await;
        let out = run_config(&config, &input()).await;
        assert_eq!(out.code, Some(0), "{setting}: {}", out.stderr);
        assert_eq!(out.states(), [json!({"done": true})], "{setting}");
        let base = hub.base_url();
        let emails: BTreeSet<String> = stored(&base, "contacts")
            .await
            .iter()
            .map(|c| c["properties"]["email"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            emails,
            BTreeSet::from(["ada@example.com".into(), "bob@example.com".into()]),
            "{setting}"
        );
        // The bad email is its own outcome, whatever status carried it.
        let rejected: Vec<Value> = work
            .rejected()
            .into_iter()
            .filter(|l| l["type"] == "RECORD")
            .collect();
        assert_eq!(rejected.len(), 1, "{setting}: {rejected:?}");
        assert_eq!(rejected[0]["record"]["firstname"], "Bad");
        assert_eq!(rejected[0]["error"]["code"], "INVALID_EMAIL", "{setting}");
        let links: Vec<Value> = http_get_json(&format!("{base}/_emulator/associations")).await;
        assert_eq!(links.len(), 2, "{setting}: deal → company and contact");
        let stats = stats(&base).await;
        let by_status = &stats["by_status"];
        // Before 2026-09 a batch with a failed input answers 207; from 2026-09 on, 200.
        let multi = by_status.get("207").is_some();
        assert_eq!(
            multi,
            version != ApiVersion::Dated2026_09,
            "{setting}: {stats}"
        );
        assert_eq!(
            by_status.get("404"),
            None,
            "{setting}: no unknown route: {stats}"
        );
        let routes: Vec<String> = stats["by_route"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        routes_by_version.push(format!("{setting}:\n  {}", routes.join("\n  ")));
    }
    insta::assert_snapshot!(routes_by_version.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_validation_rule_rejects_the_record_with_hubspots_message_and_writes_the_rest() {
    let (hub, work, config) = start(
        Settings {
            require_on_create: vec![("contacts".into(), "phone".into())],
            ..Settings::default()
        },
        json!({}),
    )
    .await;
    let mut lines = vec![schema("contacts")];
    lines.extend((0..5).map(|i| {
        let mut r = json!({"email": format!("v{i}@example.com")});
        if i != 2 {
            r["phone"] = json!(format!("+1 555 010{i}"));
        }
        record("contacts", r)
    }));
    let out = run_config(&config, &singer(&lines)).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let stored = stored(&hub.base_url(), "contacts").await;
    assert_eq!(stored.len(), 4, "the rule's batch-mates are written");
    let rejection = work.first_rejection();
    assert_eq!(rejection["category"], "VALIDATION_ERROR");
    assert_eq!(
        rejection["message"],
        "Property \"phone\" is required by this portal's validation rules when a contacts record is created"
    );
    let stats = stats(&hub.base_url()).await;
    assert_eq!(
        stats["by_status"]["400"].as_u64(),
        Some(3),
        "split 5 → 2 + 3 → 1 + 2: never retried: {stats}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_version_sends_the_same_bodies_to_its_own_paths() {
    let mut requests = Vec::new();
    let mut bodies: Vec<Vec<Value>> = Vec::new();
    for (setting, version) in VERSIONS {
        let (_hub, work, config) = start(
            Settings {
                api_versions: vec![version],
                search_lag: std::time::Duration::ZERO,
                ..Settings::default()
            },
            streams(setting),
        )
        .await;
        let dry = work.path("dry.jsonl");
        let out = run(
            &[
                "--config",
                config.to_str().unwrap(),
                "--dry-run",
                "--dry-run-output",
                dry.to_str().unwrap(),
            ],
            &input(),
        )
        .await;
        assert_eq!(out.code, Some(0), "{setting}: {}", out.stderr);
        let mut lines: Vec<Value> = std::fs::read_to_string(&dry)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        // Streams' batches go out side by side: compared in an order that does not depend
        // on which answered first.
        lines.sort_by_key(|l| l["body"].to_string());
        requests.push(format!(
            "{setting}:\n  {}",
            lines
                .iter()
                .map(|l| format!(
                    "{} {}",
                    l["method"].as_str().unwrap(),
                    l["path"].as_str().unwrap()
                ))
                .collect::<Vec<_>>()
                .join("\n  ")
        ));
        bodies.push(lines.iter().map(|l| l["body"].clone()).collect());
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "the bodies do not depend on the version"
    );
    insta::assert_snapshot!(requests.join("\n"));
    insta::assert_json_snapshot!(bodies[0], {"[].inputs[].objectWriteTraceId" => "[trace]"});
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_refresh_token_at_the_dated_endpoint_is_fatal_and_says_what_to_do() {
    let hub = start_emulator(Settings {
        refresh_token: Some("the-current-one".into()),
        ..Settings::default()
    })
    .await;
    let work = Workdir::new();
    let config = work.path("oauth.json");
    std::fs::write(
        &config,
        json!({"client_id": "cid", "client_secret": "csecret-abc", "refresh_token": "a-revoked-one",
               "base_url": hub.base_url(), "rejected_records_path": work.rejected_path()})
        .to_string(),
    )
    .unwrap();
    let out = run_config(
        &config,
        &singer(&[
            schema("contacts"),
            record("contacts", json!({"email": "a@example.com"})),
        ]),
    )
    .await;
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.critical(),
        "CRITICAL OAuth token refresh failed: HTTP 400 Bad Request invalid_grant: missing or invalid refresh token; the refresh token was revoked or has expired: authorize the app again and set the new refresh_token"
    );
    assert!(!out.stderr.contains("a-revoked-one") && !out.stderr.contains("csecret-abc"));
    let stats = stats(&hub.base_url()).await;
    assert_eq!(stats["by_route"]["POST /oauth/2026-03/token"], 1, "{stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_names_the_api_version_and_when_hubspot_retires_it() {
    for (setting, version, expected) in [
        (
            "2026-09",
            ApiVersion::Dated2026_09,
            "api_version 2026-09 (HubSpot supports 2026-09 until March 2028)",
        ),
        (
            "v3",
            ApiVersion::Numbered,
            "api_version v3: the numbered routes; HubSpot supports OAuth v1 until 2027-02-16, v4 associations until 2027-03-30 and the v3 objects, properties, schemas and account APIs until September 2027. Set api_version to 2026-09",
        ),
    ] {
        let (_hub, _work, config) = start(
            Settings {
                api_versions: vec![version],
                ..Settings::default()
            },
            json!({"api_version": setting}),
        )
        .await;
        let out = run(&["--check", "--config", config.to_str().unwrap()], "").await;
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        assert!(out.stderr.contains(expected), "{setting}: {}", out.stderr);
    }
}
