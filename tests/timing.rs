//! Right under real timing, end to end against the emulator with HubSpot's search lag, read
//! back: links to records written moments ago, every link of a record attempted, search
//! bodies within HubSpot's 3,000 characters.

mod support;

use std::collections::{BTreeSet, HashMap};

use hubspot_emulator::Settings;
use serde_json::{Value, json};
use support::*;

/// `(from type id, from id, to type id, to id)` of every stored association.
async fn links(base_url: &str) -> BTreeSet<(String, String, String, String)> {
    let all: Vec<Value> = http_get_json(&format!("{base_url}/_emulator/associations")).await;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    all.iter()
        .map(|a| {
            (
                text(&a["fromObjectTypeId"]),
                text(&a["fromObjectId"]),
                text(&a["toObjectTypeId"]),
                text(&a["toObjectId"]),
            )
        })
        .collect()
}

/// Stored record ids of `object_type` by the value of `property`.
async fn ids_by(base_url: &str, object_type: &str, property: &str) -> HashMap<String, String> {
    stored(base_url, object_type)
        .await
        .iter()
        .map(|o| {
            (
                o["properties"][property]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                o["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn deals_config() -> Value {
    json!({"streams": {
        "accounts": {"object_type": "companies", "match_property": "domain"},
        "deals": {"object_type": "deals", "match_property": "dealname", "associations": [
            {"field": "company_domain", "to_object_type": "companies", "to_match": "domain"},
            {"field": "buyer", "to_object_type": "contacts", "to_id_property": "email"}]}}})
}

fn company(i: usize) -> Value {
    json!({"domain": format!("Company{i}.example"), "name": format!("Company {i}")})
}

fn contact(i: usize) -> Value {
    json!({"email": format!("buyer{i}@example.com")})
}

fn deal(i: usize) -> Value {
    json!({"dealname": format!("Deal {i}"), "company_domain": format!("https://www.company{}.example/", i % 30),
        "buyer": format!("Buyer{i}@Example.com")})
}

/// Every deal `Deal {i}` is linked to exactly company `i % 30` and contact `i`.
async fn assert_every_deal_linked(base: &str, deals: usize) {
    let companies = ids_by(base, "companies", "domain").await;
    let contacts = ids_by(base, "contacts", "email").await;
    let stored_deals = ids_by(base, "deals", "dealname").await;
    assert_eq!(stored_deals.len(), deals);
    let mut expected = BTreeSet::new();
    for i in 0..deals {
        let deal = stored_deals[&format!("Deal {i}")].clone();
        let company = companies[&format!("company{}.example", i % 30)].clone();
        let contact = contacts[&format!("buyer{i}@example.com")].clone();
        expected.insert(("0-3".into(), deal.clone(), "0-2".into(), company));
        expected.insert(("0-3".into(), deal, "0-1".into(), contact));
    }
    let made: BTreeSet<_> = links(base)
        .await
        .into_iter()
        .filter(|l| l.0 == "0-3")
        .collect();
    assert_eq!(made.len(), expected.len(), "one link of each kind per deal");
    assert_eq!(made, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn companies_contacts_and_deals_in_one_input_are_all_linked_despite_the_search_lag() {
    let settings = Settings::default();
    assert!(!settings.search_lag.is_zero(), "HubSpot's lag is on");
    let (hub, work, config) = start(settings, deals_config()).await;
    let mut lines = vec![schema("accounts")];
    lines.extend((0..30).map(|i| record("accounts", company(i))));
    lines.push(schema("contacts"));
    lines.extend((0..150).map(|i| record("contacts", contact(i))));
    lines.push(schema("deals"));
    lines.extend((0..150).map(|i| record("deals", deal(i))));
    lines.push(state(json!({"done": 1})));
    let out = run_config(&config, &singer(&lines)).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(work.rejected().is_empty(), "{:?}", work.rejected());
    assert_eq!(out.states(), [json!({"done": 1})]);
    assert_every_deal_linked(&hub.base_url(), 150).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deals_loaded_right_after_their_companies_by_another_run_are_all_linked() {
    let (hub, work, config) = start(Settings::default(), deals_config()).await;
    let mut first = vec![schema("accounts")];
    first.extend((0..30).map(|i| record("accounts", company(i))));
    first.push(schema("contacts"));
    first.extend((0..40).map(|i| record("contacts", contact(i))));
    let out = run_config(&config, &singer(&first)).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // The next job starts at once: the index does not hold the companies yet.
    let mut second = vec![schema("deals")];
    second.extend((0..40).map(|i| record("deals", deal(i))));
    let out = run_config(&config, &singer(&second)).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(work.rejected().is_empty(), "{:?}", work.rejected());
    assert_every_deal_linked(&hub.base_url(), 40).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deal_whose_contact_link_fails_keeps_its_company_link_and_names_the_contact_key() {
    let (hub, work, config) = start(
        Settings {
            search_lag: std::time::Duration::ZERO,
            ..Settings::default()
        },
        deals_config(),
    )
    .await;
    let input = singer(&[
        schema("accounts"),
        record("accounts", company(1)),
        schema("deals"),
        record(
            "deals",
            json!({"dealname": "Orphan", "company_domain": "company1.example", "buyer": "nobody@example.com"}),
        ),
    ]);
    let out = run_config(&config, &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let base = hub.base_url();
    let deal = ids_by(&base, "deals", "dealname").await["Orphan"].clone();
    let company = ids_by(&base, "companies", "domain").await["company1.example"].clone();
    let made: Vec<_> = links(&base)
        .await
        .into_iter()
        .filter(|l| l.0 == "0-3")
        .collect();
    assert_eq!(made, [("0-3".into(), deal, "0-2".into(), company)]);
    let rejection = work.first_rejection();
    assert_eq!(rejection["category"], "ASSOCIATION_FAILED");
    let message = rejection["message"].as_str().unwrap();
    assert!(
        message.contains(
            "to contacts with email = 'nobody@example.com' failed: no contacts record has that value"
        ) && message.contains("(1 other link(s) were made)"),
        "{message}"
    );
    assert_eq!(rejection["property"], "buyer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn companies_with_long_domains_are_matched_within_hubspots_search_body_limit() {
    // The emulator refuses search bodies over 3,000 characters, as HubSpot does: 100 domains
    // of 60 characters in one IN filter would be ~6,500.
    let (hub, work, config) = start(
        Settings {
            search_per_second: 0,
            ..Settings::default()
        },
        json!({"streams": {"accounts": {"object_type": "companies", "match_property": "domain"}}}),
    )
    .await;
    let domain = |i: usize| format!("{i:04}-{}.example", "long-company-name-".repeat(3));
    assert_eq!(domain(1).len(), 67);
    let mut lines = vec![schema("accounts")];
    lines.extend((0..300).map(|i| record("accounts", json!({"domain": domain(i), "name": "A"}))));
    let input = singer(&lines);
    for run_no in 1..=2 {
        // The second run starts once the index holds the first run's companies: every
        // domain is found by search, none created again.
        if run_no == 2 {
            tokio::time::sleep(std::time::Duration::from_millis(1_600)).await;
        }
        let out = run_config(&config, &input).await;
        assert_eq!(out.code, Some(0), "run {run_no}: {}", out.stderr);
        assert!(work.rejected().is_empty(), "{:?}", work.rejected());
    }
    let companies = stored(&hub.base_url(), "companies").await;
    assert_eq!(companies.len(), 300, "each company created once");
    let stats = stats(&hub.base_url()).await;
    assert_eq!(stats["by_status"].get("400"), None, "{stats}");
}

/// 400 contacts, `bad(i)` of them without an email (refused locally, at once).
fn contacts_with_holes(bad: impl Fn(usize) -> bool) -> String {
    let mut lines = vec![schema("contacts")];
    lines.extend((0..400).map(|i| {
        if bad(i) {
            record("contacts", json!({"firstname": format!("No email {i}")}))
        } else {
            record("contacts", json!({"email": format!("c{i}@example.com")}))
        }
    }));
    lines.push(state(json!({"done": 1})));
    singer(&lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_rejections_settling_before_slow_answers_do_not_trip_the_reject_rate() {
    for latency_ms in [0, 400] {
        let (hub, work, config) = start(
            Settings {
                latency: std::time::Duration::from_millis(latency_ms),
                ..Settings::default()
            },
            json!({"batch_size": 50}),
        )
        .await;
        let out = run_config(&config, &contacts_with_holes(|i| i % 4 == 3)).await;
        assert_eq!(out.code, Some(0), "latency {latency_ms} ms: {}", out.stderr);
        assert_eq!(out.states(), [json!({"done": 1})]);
        assert_eq!(stored(&hub.base_url(), "contacts").await.len(), 300);
        let rejected = work.rejected();
        assert_eq!(
            rejected.iter().filter(|l| l["type"] == "RECORD").count(),
            100
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mostly_failing_run_still_stops_and_says_how_to_replay() {
    let (_hub, work, config) = start(Settings::default(), json!({})).await;
    let out = run_config(&config, &contacts_with_holes(|i| i % 5 != 0)).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.states().is_empty());
    let critical = out.critical().to_string();
    assert!(
        critical.contains("80 of 100 records with an outcome were rejected"),
        "{critical}"
    );
    assert!(!critical.contains("rejected-records file"), "{critical}");
    // Replaying the rejected file unedited fails again, and the line says why and what to do.
    let replay = std::fs::read_to_string(work.rejected_path()).unwrap();
    let out = run_config(&config, &replay).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.critical()
            .contains("The input is a rejected-records file"),
        "{}",
        out.critical()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_line_does_not_cost_the_records_before_it() {
    let (hub, work, config) = start(Settings::default(), json!({})).await;
    let mut lines = vec![schema("contacts")];
    for i in 0..500 {
        lines.push(record(
            "contacts",
            json!({"email": format!("c{i}@example.com")}),
        ));
        if i == 249 || i == 499 {
            lines.push(state(json!({"after": i + 1})));
        }
    }
    let mut input = singer(&lines);
    let bad_line = lines.len() + 1;
    input.push_str(
        "{\"type\": \"RECORD\", \"stream\": \"contacts\", \"record\": {\"email\": \"cut@",
    );
    let out = run_config(&config, &input).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_eq!(
        out.states().last(),
        Some(&json!({"after": 500})),
        "{}",
        out.stderr
    );
    assert_eq!(stored(&hub.base_url(), "contacts").await.len(), 500);
    assert!(work.rejected().is_empty());
    assert!(
        out.critical().contains(&format!("line {bad_line}")),
        "{}",
        out.critical()
    );
    assert!(
        out.stderr.contains("read 500") && out.stderr.contains("created 500"),
        "the summary adds up: {}",
        out.stderr
    );
}
