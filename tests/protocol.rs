//! HubSpot's protocol, pinned against httpmock: exact request bodies and every answer the
//! target must handle (207 mapping, 400 splitting, 429, 5xx, DAILY, 401/403, OAuth).

mod support;

use std::sync::{Arc, Mutex};

use httpmock::prelude::*;
use serde_json::{Value, json};
use support::*;

const UPSERT: &str = "/crm/objects/2026-09/contacts/batch/upsert";

async fn server_with_properties() -> MockServer {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/crm/properties/2026-09/contacts");
            then.status(200).json_body(json!({"results": [
                {"name": "email", "type": "string", "fieldType": "text", "hasUniqueValue": false},
                {"name": "firstname", "type": "string", "fieldType": "text", "hasUniqueValue": false},
                {"name": "lastname", "type": "string", "fieldType": "text", "hasUniqueValue": false},
                {"name": "vip", "type": "bool", "fieldType": "booleancheckbox", "hasUniqueValue": false},
                {"name": "score", "type": "number", "fieldType": "number", "hasUniqueValue": false},
                {"name": "address", "type": "string", "fieldType": "textarea", "hasUniqueValue": false},
                {"name": "hs_buying_role", "type": "enumeration", "fieldType": "checkbox", "hasUniqueValue": false,
                 "options": [{"value": "CHAMPION", "label": "Champion"}, {"value": "END_USER", "label": "End user"}]},
                {"name": "date_of_birth", "type": "date", "fieldType": "date", "hasUniqueValue": false},
                {"name": "last_seen", "type": "datetime", "fieldType": "date", "hasUniqueValue": false},
            ]}));
        })
        .await;
    server
}

fn results(traces: &[&str]) -> Value {
    let results: Vec<Value> = traces
        .iter()
        .map(|t| json!({"id": format!("9{t}"), "properties": {}, "createdAt": "x", "updatedAt": "x", "archived": false, "objectWriteTraceId": t, "new": true}))
        .collect();
    json!({"status": "COMPLETE", "results": results, "startedAt": "x", "completedAt": "x"})
}

fn contacts(records: &[Value]) -> String {
    let mut lines = vec![schema("contacts")];
    lines.extend(records.iter().map(|r| record("contacts", r.clone())));
    singer(&lines)
}

/// HubSpot's 429 body for the rolling (ten-secondly) limit.
fn rolling_limit_body() -> Value {
    json!({"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
           "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING", "category": "RATE_LIMITS"})
}

/// The first rejected record was rejected as `RETRIES_EXHAUSTED`, its message saying `why`.
fn exhausted_because(work: &Workdir, why: &str) {
    let error = work.first_rejection();
    assert_eq!(error["category"], "RETRIES_EXHAUSTED");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains(why), "{error}");
}

async fn run_against(server: &MockServer, work: &Workdir, extra: Value, input: &str) -> Output {
    let config = work.config(&server.base_url(), extra);
    run(&["--config", config.to_str().unwrap()], input).await
}

#[tokio::test]
async fn the_upsert_request_body_is_pinned() {
    let server = server_with_properties().await;
    let bodies = Arc::new(Mutex::new(Vec::<Value>::new()));
    let recorder = bodies.clone();
    let upsert = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(UPSERT)
                .header("authorization", format!("Bearer {TOKEN}"))
                .header("content-type", "application/json")
                .is_true(move |req| {
                    recorder
                        .lock()
                        .unwrap()
                        .push(serde_json::from_slice(req.body_ref()).unwrap_or(Value::Null));
                    true
                });
            then.status(200).json_body(results(&["0", "1"]));
        })
        .await;
    let work = Workdir::new();
    let input = contacts(&[
        json!({"email": " Ann@Example.com ", "firstname": "Ann", "vip": true, "score": 4.5, "hs_buying_role": ["CHAMPION", "END_USER"],
               "address": {"city": "Oslo"}, "note": null, "_sdc_extracted_at": "2026-01-01T00:00:00Z"}),
        json!({"email": "bob@example.com", "firstname": "Bob", "date_of_birth": "1990-05-17T00:00:00.000000+00:00", "last_seen": "2026-01-05 10:30:00.123456+02:00"}),
        json!({"email": "ann@example.com", "lastname": "Lee", "firstname": "Annie"}),
    ]);
    let out = run_against(&server, &work, json!({}), &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    upsert.assert_calls_async(1).await;
    insta::assert_json_snapshot!(bodies.lock().unwrap().clone());
}

#[tokio::test]
async fn a_207_is_mapped_per_input_and_an_input_in_neither_list_is_a_failure() {
    let server = server_with_properties().await;
    let mut body = results(&["0"]);
    body["errors"] = json!([{"status": "error", "category": "VALIDATION_ERROR",
        "message": "Property values were not valid: [{\"isValid\":false,\"message\":\"Email address bad is invalid\",\"error\":\"INVALID_EMAIL\",\"name\":\"email\"}]",
        "context": {"objectWriteTraceId": ["1"]}}]);
    body["numErrors"] = json!(1);
    server
        .mock_async(|when, then| {
            when.method(POST).path(UPSERT);
            then.status(207)
                .header("x-hubspot-correlation-id", "corr-207")
                .json_body(body);
        })
        .await;
    let work = Workdir::new();
    let input = contacts(&[
        json!({"email": "a@example.com"}),
        json!({"email": "bad"}),
        json!({"email": "c@example.com"}),
    ]) + &singer(&[state(json!({"s": 1}))]);
    let out = run_against(&server, &work, json!({}), &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.states(), vec![json!({"s": 1})]);
    insta::assert_json_snapshot!(work.rejected());
}

#[tokio::test]
async fn results_without_an_echoed_trace_id_are_matched_by_their_key() {
    let server = server_with_properties().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(UPSERT);
            then.status(200).json_body(json!({"status": "COMPLETE", "startedAt": "x", "completedAt": "x", "results": [
                {"id": "1", "properties": {"email": "A@example.com"}, "createdAt": "x", "updatedAt": "x", "archived": false, "new": false}
            ]}));
        })
        .await;
    let work = Workdir::new();
    let input = contacts(&[
        json!({"email": "a@example.com"}),
        json!({"email": "b@example.com"}),
    ]);
    let out = run_against(&server, &work, json!({}), &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("created 0 + updated 1 +"),
        "{}",
        out.stderr
    );
    let rejected = work.rejected();
    assert_eq!(rejected.len(), 2);
    assert_eq!(rejected[1]["record"]["email"], "b@example.com");
    assert_eq!(rejected[1]["error"]["category"], "NOT_ACKNOWLEDGED");
}

#[tokio::test]
async fn a_whole_batch_400_is_split_until_the_offending_record_stands_alone() {
    let server = server_with_properties().await;
    let refused = server
        .mock_async(|when, then| {
            when.method(POST).path(UPSERT).body_includes("bad@example.com");
            then.status(400).json_body(json!({"status": "error",
                "message": "Property values were not valid: [{\"isValid\":false,\"message\":\"Property \\\"shoe_size\\\" does not exist\",\"error\":\"PROPERTY_DOESNT_EXIST\",\"name\":\"shoe_size\"}]",
                "correlationId": "corr-400", "category": "VALIDATION_ERROR"}));
        })
        .await;
    let accepted = server
        .mock_async(|when, then| {
            when.method(POST).path(UPSERT);
            then.status(200).json_body(results(&["0", "1", "2", "3"]));
        })
        .await;
    let work = Workdir::new();
    let input = contacts(&[
        json!({"email": "a@example.com"}),
        json!({"email": "b@example.com"}),
        json!({"email": "c@example.com"}),
        json!({"email": "bad@example.com", "shoe_size": 44}),
    ]);
    let out = run_against(&server, &work, json!({}), &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    refused.assert_calls_async(3).await; // [a b c bad], [c bad], [bad]
    accepted.assert_calls_async(2).await; // [a b], [c]
    let rejected = work.rejected();
    assert_eq!(rejected.len(), 2);
    assert_eq!(rejected[1]["record"]["email"], "bad@example.com");
    assert_eq!(rejected[1]["error"]["http_status"], 400);
    assert_eq!(rejected[1]["error"]["code"], "PROPERTY_DOESNT_EXIST");
    assert_eq!(
        rejected[1]["error"]["message"],
        "shoe_size: Property \"shoe_size\" does not exist (PROPERTY_DOESNT_EXIST)"
    );
}

#[tokio::test]
async fn a_refusal_about_the_request_itself_is_not_split() {
    let server = server_with_properties().await;
    let refused = server
        .mock_async(|when, then| {
            when.method(POST).path(UPSERT);
            then.status(400).json_body(json!({"status": "error",
                "message": "Unable to perform update/upsert by non-unique 0-1 property email in portal ID 1",
                "correlationId": "c", "category": "VALIDATION_ERROR"}));
        })
        .await;
    let work = Workdir::new();
    let records: Vec<Value> = (0..8)
        .map(|i| json!({"email": format!("r{i}@example.com")}))
        .collect();
    let out = run_against(&server, &work, json!({}), &contacts(&records)).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    refused.assert_calls_async(1).await;
    assert_eq!(
        work.rejected().len(),
        9,
        "a SCHEMA and all eight records, from one request"
    );
}

#[tokio::test]
async fn a_429_is_waited_out_with_or_without_retry_after() {
    for retry_after in [Some("1"), None] {
        let server = server_with_properties().await;
        let limited = server
            .mock_async(|when, then| {
                when.method(POST).path(UPSERT);
                let then = then
                    .status(429)
                    .header("x-hubspot-ratelimit-max", "10")
                    .header("x-hubspot-ratelimit-interval-milliseconds", "300")
                    .header("x-hubspot-ratelimit-remaining", "0");
                let then = match retry_after {
                    Some(s) => then.header("retry-after", s),
                    None => then,
                };
                then.json_body(rolling_limit_body());
            })
            .await;
        limited.up_to_n_times_async(1).await;
        let ok = server
            .mock_async(|when, then| {
                when.method(POST).path(UPSERT);
                then.status(200).json_body(results(&["0"]));
            })
            .await;
        let work = Workdir::new();
        let out = run_against(
            &server,
            &work,
            json!({}),
            &contacts(&[json!({"email": "a@example.com"})]),
        )
        .await;
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        assert!(out.stderr.contains("rate limit hit"), "{}", out.stderr);
        ok.assert_calls_async(1).await;
        assert!(work.rejected().is_empty());
    }
}

#[tokio::test]
async fn a_retry_after_of_31_years_is_capped_and_the_retry_budget_ends_the_wait() {
    let server = server_with_properties().await;
    let limited = server
        .mock_async(|when, then| {
            when.method(POST).path(UPSERT);
            then.status(429)
                .header("retry-after", "999999999")
                .json_body(rolling_limit_body());
        })
        .await;
    let work = Workdir::new();
    let mut input = contacts(&[json!({"email": "a@example.com"})]);
    input.push_str(&format!("{}\n", state(json!({"n": 1}))));
    let started = std::time::Instant::now();
    let out = run_against(&server, &work, json!({"retry_budget_s": 30}), &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // The wait, capped at 60 s, does not fit in the 30 s budget: no wait at all.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    limited.assert_calls_async(1).await;
    exhausted_because(&work, "retry_budget_s (30 s) spent");
    assert_eq!(
        out.states(),
        [json!({"n": 1})],
        "the record has its outcome"
    );
}

#[tokio::test]
async fn server_errors_are_retried_and_then_rejected_as_retries_exhausted() {
    let server = server_with_properties().await;
    let flaky = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(UPSERT)
                .body_includes("flaky@example.com");
            then.status(503).body("Service Unavailable");
        })
        .await;
    flaky.up_to_n_times_async(2).await;
    let broken = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(UPSERT)
                .body_includes("broken@example.com");
            then.status(500)
                .header("x-hubspot-correlation-id", "corr-500")
                .body("<html>oops</html>");
        })
        .await;
    let ok = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(UPSERT)
                .body_includes("flaky@example.com");
            then.status(200).json_body(results(&["0"]));
        })
        .await;
    let work = Workdir::new();
    let input = contacts(&[
        json!({"email": "flaky@example.com"}),
        json!({"email": "broken@example.com"}),
    ]);
    let out = run_against(
        &server,
        &work,
        json!({"batch_size": 1, "max_retries": 2}),
        &input,
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    ok.assert_calls_async(1).await;
    broken.assert_calls_async(3).await;
    let rejected = work.rejected();
    assert_eq!(
        rejected.len(),
        2,
        "a SCHEMA and the one record that never got through"
    );
    insta::assert_json_snapshot!(rejected[1]);
}

#[tokio::test]
async fn the_daily_limit_stops_sending_and_writes_the_last_safe_state() {
    let server = server_with_properties().await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path(UPSERT)
                .body_includes("first@example.com");
            then.status(200).json_body(results(&["0"]));
        })
        .await;
    let daily = server
        .mock_async(|when, then| {
            when.method(POST).path(UPSERT);
            then.status(429).json_body(
                json!({"status": "error", "message": "You have reached your daily limit.",
                "errorType": "RATE_LIMIT", "policyName": "DAILY", "category": "RATE_LIMITS"}),
            );
        })
        .await;
    let work = Workdir::new();
    let input = singer(&[
        schema("contacts"),
        record("contacts", json!({"email": "first@example.com"})),
        state(json!({"after": "first"})),
        record("contacts", json!({"email": "second@example.com"})),
        state(json!({"after": "second"})),
        record("contacts", json!({"email": "third@example.com"})),
    ]);
    let out = run_against(
        &server,
        &work,
        json!({"batch_size": 1, "max_concurrency": 1}),
        &input,
    )
    .await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_eq!(out.states(), vec![json!({"after": "first"})]);
    assert!(
        out.critical().contains("daily API limit is reached"),
        "{}",
        out.critical()
    );
    daily.assert_calls_async(1).await;
}

#[tokio::test]
async fn unauthorized_and_forbidden_are_fatal_and_name_the_object_type_and_scopes() {
    for (status, body, expected) in [
        (
            401,
            json!({"status": "error", "message": "Authentication credentials not found.", "category": "INVALID_AUTHENTICATION"}),
            "CRITICAL HubSpot refused the credentials for object type 'contacts': Authentication credentials not found.",
        ),
        (
            403,
            json!({"status": "error", "message": "This app hasn't been granted all required scopes to make this call.",
                      "errors": [{"message": "One or more of the following scopes are required.",
                                  "context": {"requiredGranularScopes": ["crm.objects.contacts.write"]}}],
                      "category": "MISSING_SCOPES"}),
            "CRITICAL HubSpot denied access for object type 'contacts' (403): This app hasn't been granted all required scopes to make this call.; required scopes: crm.objects.contacts.write",
        ),
    ] {
        let server = server_with_properties().await;
        server
            .mock_async(|when, then| {
                when.method(POST).path(UPSERT);
                then.status(status).json_body(body);
            })
            .await;
        let work = Workdir::new();
        let input =
            contacts(&[json!({"email": "a@example.com"})]) + &singer(&[state(json!({"s": 1}))]);
        let out = run_against(&server, &work, json!({}), &input).await;
        assert_eq!(out.code, Some(1), "{}", out.stderr);
        assert_eq!(out.critical(), expected);
        assert_eq!(out.stdout, "", "no STATE acknowledges the unsent record");
    }
}

async fn oauth_config(work: &Workdir, server: &MockServer) -> std::path::PathBuf {
    let path = work.path("oauth.json");
    std::fs::write(
        &path,
        json!({"client_id": "cid-1", "client_secret": "secret-shh", "refresh_token": "refresh-shh",
               "base_url": server.base_url(), "rejected_records_path": work.rejected_path()})
        .to_string(),
    )
    .unwrap();
    path
}

#[tokio::test]
async fn oauth_refreshes_after_expired_authentication_and_retries() {
    let server = server_with_properties().await;
    let first_token = server
        .mock_async(|when, then| {
            when.method(POST).path("/oauth/2026-03/token").body_includes("grant_type=refresh_token").body_includes("client_id=cid-1");
            then.status(200).json_body(json!({"token_type": "bearer", "refresh_token": "refresh-shh", "access_token": "tok-1", "expires_in": 1800}));
        })
        .await;
    first_token.up_to_n_times_async(1).await;
    let second_token = server
        .mock_async(|when, then| {
            when.method(POST).path("/oauth/2026-03/token");
            then.status(200).json_body(json!({"token_type": "bearer", "refresh_token": "refresh-shh", "access_token": "tok-2", "expires_in": 1800}));
        })
        .await;
    let expired = server
        .mock_async(|when, then| {
            when.method(POST).path(UPSERT).header("authorization", "Bearer tok-1");
            then.status(401).json_body(json!({"status": "error", "message": "The OAuth token used to make this call expired 3 second(s) ago.",
                "category": "EXPIRED_AUTHENTICATION"}));
        })
        .await;
    let ok = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(UPSERT)
                .header("authorization", "Bearer tok-2");
            then.status(200).json_body(results(&["0"]));
        })
        .await;
    let work = Workdir::new();
    let config = oauth_config(&work, &server).await;
    let out = run(
        &["--config", config.to_str().unwrap()],
        &contacts(&[json!({"email": "a@example.com"})]),
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    first_token.assert_calls_async(1).await;
    second_token.assert_calls_async(1).await;
    expired.assert_calls_async(1).await;
    ok.assert_calls_async(1).await;
    assert!(
        !out.stderr.contains("secret-shh")
            && !out.stderr.contains("refresh-shh")
            && !out.stderr.contains("tok-")
    );
}

#[tokio::test]
async fn a_refused_refresh_token_is_fatal_and_secrets_stay_hidden() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/oauth/2026-03/token");
            then.status(400).json_body(json!({"status": "BAD_REFRESH_TOKEN", "message": "missing or invalid refresh token"}));
        })
        .await;
    let work = Workdir::new();
    let config = oauth_config(&work, &server).await;
    let out = run(
        &["--config", config.to_str().unwrap()],
        &contacts(&[json!({"email": "a@example.com"})]),
    )
    .await;
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.critical(),
        "CRITICAL OAuth token refresh failed: HTTP 400 Bad Request BAD_REFRESH_TOKEN: missing or invalid refresh token; the refresh token was revoked or has expired: authorize the app again and set the new refresh_token"
    );
    assert!(!out.stderr.contains("secret-shh") && !out.stderr.contains("refresh-shh"));
}

#[tokio::test]
async fn association_requests_are_pinned() {
    let server = server_with_properties().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/crm/properties/2026-09/companies");
            then.status(200).json_body(json!({"results": [
                {"name": "external_id", "type": "string", "fieldType": "text", "hasUniqueValue": true},
            ]}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(UPSERT);
            then.status(200).json_body(results(&["0", "1"]));
        })
        .await;
    let bodies = Arc::new(Mutex::new(Vec::<Value>::new()));
    let (read_log, link_log) = (bodies.clone(), bodies.clone());
    server
        .mock_async(|when, then| {
            when.method(POST).path("/crm/objects/2026-09/companies/batch/read").is_true(move |req| {
                read_log.lock().unwrap().push(serde_json::from_slice(req.body_ref()).unwrap_or(Value::Null));
                true
            });
            then.status(207).json_body(json!({"status": "COMPLETE", "results": [
                {"id": "77", "properties": {"external_id": "A-1", "hs_object_id": "77"}, "createdAt": "x", "updatedAt": "x", "archived": false}
            ], "errors": [{"status": "error", "category": "OBJECT_NOT_FOUND", "message": "Could not get some COMPANY objects", "context": {"ids": ["A-404"]}}],
               "numErrors": 1, "startedAt": "x", "completedAt": "x"}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/crm/associations/2026-09/contacts/companies/batch/create").is_true(move |req| {
                link_log.lock().unwrap().push(serde_json::from_slice(req.body_ref()).unwrap_or(Value::Null));
                true
            });
            then.status(201).json_body(json!({"status": "COMPLETE", "results": [
                {"fromObjectTypeId": "0-1", "fromObjectId": 90, "toObjectTypeId": "0-2", "toObjectId": 77, "labels": []}
            ], "startedAt": "x", "completedAt": "x"}));
        })
        .await;
    let work = Workdir::new();
    let streams = json!({"streams": {"contacts": {"object_type": "contacts", "associations": [
        {"field": "company", "to_object_type": "companies", "to_id_property": "external_id", "type_id": 279}]}}});
    let input = contacts(&[
        json!({"email": "a@example.com", "company": "A-1"}),
        json!({"email": "b@example.com", "company": "A-404"}),
    ]);
    let out = run_against(&server, &work, streams, &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let mut logged = bodies.lock().unwrap().clone();
    // The lookup lists distinct keys in no particular order.
    if let Some(inputs) = logged[0]["inputs"].as_array_mut() {
        inputs.sort_by_key(|v| v["id"].to_string());
    }
    insta::assert_json_snapshot!(logged);
    let rejected = work.rejected();
    assert_eq!(rejected.len(), 2);
    assert_eq!(rejected[1]["record"]["email"], "b@example.com");
    assert_eq!(rejected[1]["error"]["category"], "ASSOCIATION_FAILED");
}

#[tokio::test]
async fn a_dry_run_serialises_exactly_the_requests_a_real_run_sends_and_sends_none() {
    let server = server_with_properties().await;
    let bodies = Arc::new(Mutex::new(Vec::<Value>::new()));
    let recorder = bodies.clone();
    let upsert = server
        .mock_async(|when, then| {
            when.method(POST).path(UPSERT).is_true(move |req| {
                recorder
                    .lock()
                    .unwrap()
                    .push(serde_json::from_slice(req.body_ref()).unwrap_or(Value::Null));
                true
            });
            then.status(200)
                .json_body(json!({"status": "COMPLETE", "results": []}));
        })
        .await;
    let records: Vec<Value> = (0..250)
        .map(|i| json!({"email": format!("Dry{i}@Example.com"), "firstname": "D", "vip": "t", "score": "1e2", "note": "not a property"}))
        .chain([json!({"firstname": "no key"})])
        .collect();
    let input = contacts(&records);
    let work = Workdir::new();
    let config = work.config(&server.base_url(), json!({"max_reject_rate": 1}));
    let out = run(&["--config", config.to_str().unwrap()], &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    upsert.assert_calls_async(3).await;

    let dry_out = work.path("requests.jsonl");
    let dry = run(
        &[
            "--config",
            config.to_str().unwrap(),
            "--dry-run",
            "--dry-run-output",
            dry_out.to_str().unwrap(),
        ],
        &input,
    )
    .await;
    assert_eq!(dry.code, Some(0), "{}", dry.stderr);
    upsert.assert_calls_async(3).await;
    assert!(
        dry.stdout.is_empty(),
        "no STATE in a dry run: {}",
        dry.stdout
    );
    assert!(
        dry.stderr
            .contains("dry run: 3 write request(s) prepared and none sent"),
        "{}",
        dry.stderr
    );
    assert!(
        dry.stderr
            .contains("dry run: 1 record(s) would be rejected as MISSING_KEY")
            && dry
                .stderr
                .contains("the first: line 252 (stream contacts): "),
        "{}",
        dry.stderr
    );
    let lines: Vec<Value> = std::fs::read_to_string(&dry_out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .all(|l| l["method"] == "POST" && l["path"] == UPSERT),
        "{lines:?}"
    );
    let key = |v: &Value| v.to_string();
    let mut dry_bodies: Vec<Value> = lines.into_iter().map(|l| l["body"].clone()).collect();
    let mut real_bodies = bodies.lock().unwrap().clone();
    dry_bodies.sort_by_key(key);
    real_bodies.sort_by_key(key);
    assert_eq!(dry_bodies, real_bodies);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&dry_out).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn a_redirect_is_never_followed_and_its_records_are_not_acknowledged() {
    let server = server_with_properties().await;
    let elsewhere = MockServer::start_async().await;
    let stolen = elsewhere
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).json_body(results(&["0"]));
        })
        .await;
    let location = format!("{}{UPSERT}", elsewhere.base_url());
    server
        .mock_async(|when, then| {
            when.method(POST).path(UPSERT);
            then.status(307).header("location", location.as_str());
        })
        .await;
    let work = Workdir::new();
    let mut input = contacts(&[json!({"email": "a@example.com"})]);
    input.push_str(&format!("{}\n", state(json!({"n": 1}))));
    let out = run_against(&server, &work, json!({}), &input).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.critical()
            .contains("answered 307 Temporary Redirect to http://"),
        "{}",
        out.critical()
    );
    assert!(
        out.critical().contains("redirects are never followed"),
        "{}",
        out.critical()
    );
    stolen.assert_calls_async(0).await;
    assert!(out.states().is_empty(), "the record was not acknowledged");
}

#[tokio::test]
async fn a_huge_answer_is_not_read_and_its_records_are_rejected_after_retries() {
    let server = server_with_properties().await;
    let huge = "x".repeat(17 << 20);
    server
        .mock_async(|when, then| {
            when.method(POST).path(UPSERT);
            then.status(200).body(huge.as_str());
        })
        .await;
    let work = Workdir::new();
    let out = run_against(
        &server,
        &work,
        json!({"max_retries": 1}),
        &contacts(&[json!({"email": "a@example.com"})]),
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    exhausted_because(&work, "larger than 16 MiB");
}

#[tokio::test]
async fn sigterm_during_a_long_server_directed_wait_exits_at_once_with_the_last_safe_state() {
    let server = server_with_properties().await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path(UPSERT)
                .body_includes("second@example.com");
            then.status(429)
                .header("retry-after", "999999999")
                .json_body(rolling_limit_body());
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path(UPSERT)
                .body_includes("first@example.com");
            then.status(200).json_body(results(&["0"]));
        })
        .await;
    let work = Workdir::new();
    let config = work.config(&server.base_url(), json!({"batch_size": 1}));
    let first = singer(&[
        schema("contacts"),
        record("contacts", json!({"email": "first@example.com"})),
        state(json!({"n": 1})),
    ]);
    let second = singer(&[
        record("contacts", json!({"email": "second@example.com"})),
        state(json!({"n": 2})),
    ]);
    let mut child = spawn_target(&config);
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap());
    // The first record is written, and its STATE released, before the second is read.
    tokio::io::AsyncWriteExt::write_all(&mut stdin, first.as_bytes())
        .await
        .unwrap();
    let mut first_state = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        tokio::io::AsyncBufReadExt::read_line(&mut stdout, &mut first_state),
    )
    .await
    .expect("the first STATE comes")
    .unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, second.as_bytes())
        .await
        .unwrap();
    drop(stdin);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let pid = child.id().unwrap().to_string();
    let signalled = std::time::Instant::now();
    terminate(&pid);
    let out = tokio::time::timeout(std::time::Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("exits within its bound")
        .unwrap();
    let mut rest = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut stdout, &mut rest)
        .await
        .unwrap();
    let took = signalled.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(took < std::time::Duration::from_secs(15), "took {took:?}");
    let states: Vec<Value> = format!("{first_state}{rest}")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        states,
        [json!({"n": 1})],
        "the second record is unacknowledged: {stderr}"
    );
    assert!(
        work.rejected().is_empty(),
        "nothing rejected: the next run sends it again"
    );
}

#[tokio::test]
async fn five_hundreds_forever_end_within_the_retry_budget() {
    let server = server_with_properties().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(UPSERT);
            then.status(500).body("oops");
        })
        .await;
    let work = Workdir::new();
    let started = std::time::Instant::now();
    let out = run_against(
        &server,
        &work,
        json!({"max_retries": 1000, "retry_budget_s": 2}),
        &contacts(&[json!({"email": "a@example.com"})]),
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    exhausted_because(&work, "retry_budget_s (2 s) spent");
}

#[tokio::test]
async fn search_matching_requests_are_pinned() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/crm/properties/2026-09/companies");
            then.status(200).json_body(json!({"results": [
                {"name": "domain", "type": "string", "fieldType": "text", "hasUniqueValue": false},
                {"name": "name", "type": "string", "fieldType": "text", "hasUniqueValue": false},
            ]}));
        })
        .await;
    let bodies = Arc::new(Mutex::new(Vec::<(String, Value)>::new()));
    let log = |path: &'static str| {
        let bodies = bodies.clone();
        move |req: &HttpMockRequest| {
            bodies.lock().unwrap().push((
                path.to_string(),
                serde_json::from_slice(req.body_ref()).unwrap_or(Value::Null),
            ));
            true
        }
    };
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/crm/objects/2026-09/companies/search")
                .is_true(log("search"));
            // One of the two keys matches one record (stored with other case); no next page.
            then.status(200).json_body(json!({"total": 1, "results": [
                {"id": "501", "properties": {"domain": "Acme.example", "hs_object_id": "501"}, "createdAt": "x", "updatedAt": "x", "archived": false}
            ]}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/crm/objects/2026-09/companies/batch/update")
                .is_true(log("update"));
            then.status(200).json_body(json!({"status": "COMPLETE", "results": [
                {"id": "501", "properties": {}, "createdAt": "x", "updatedAt": "x", "archived": false, "objectWriteTraceId": "0"}
            ], "startedAt": "x", "completedAt": "x"}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/crm/objects/2026-09/companies/batch/create")
                .is_true(log("create"));
            then.status(201).json_body(json!({"status": "COMPLETE", "results": [
                {"id": "502", "properties": {}, "createdAt": "x", "updatedAt": "x", "archived": false, "objectWriteTraceId": "1"}
            ], "startedAt": "x", "completedAt": "x"}));
        })
        .await;
    let work = Workdir::new();
    let streams =
        json!({"streams": {"accounts": {"object_type": "companies", "match_property": "domain"}}});
    let input = singer(&[
        schema("accounts"),
        record(
            "accounts",
            json!({"domain": "https://www.acme.example", "name": "Acme"}),
        ),
        record(
            "accounts",
            json!({"domain": "globex.example", "name": "Globex"}),
        ),
    ]);
    let out = run_against(&server, &work, streams, &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let logged = bodies.lock().unwrap().clone();
    insta::assert_json_snapshot!(logged);
    assert!(work.rejected().iter().all(|l| l["type"] != "RECORD"));
}

#[tokio::test]
async fn an_inline_association_create_body_is_pinned() {
    let server = MockServer::start_async().await;
    for (path, results) in [
        (
            "/crm/properties/2026-09/notes",
            json!([
            {"name": "hs_timestamp", "type": "datetime", "fieldType": "date", "hasUniqueValue": false},
            {"name": "hs_note_body", "type": "string", "fieldType": "html", "hasUniqueValue": false}]),
        ),
        (
            "/crm/properties/2026-09/contacts",
            json!([
            {"name": "email", "type": "string", "fieldType": "text", "hasUniqueValue": false}]),
        ),
        (
            "/crm/associations/2026-09/notes/contacts/labels",
            json!([
            {"category": "HUBSPOT_DEFINED", "typeId": 202, "label": null}]),
        ),
    ] {
        server
            .mock_async(|when, then| {
                when.method(GET).path(path);
                then.status(200).json_body(json!({ "results": results }));
            })
            .await;
    }
    server
        .mock_async(|when, then| {
            when.method(POST).path("/crm/objects/2026-09/contacts/batch/read");
            then.status(200).json_body(json!({"status": "COMPLETE", "results": [
                {"id": "301", "properties": {"email": "ada@example.com"}, "createdAt": "x", "updatedAt": "x", "archived": false}
            ]}));
        })
        .await;
    let bodies = Arc::new(Mutex::new(Vec::<Value>::new()));
    let log = bodies.clone();
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/crm/objects/2026-09/notes/batch/create")
                .is_true(move |req| {
                    log.lock()
                        .unwrap()
                        .push(serde_json::from_slice(req.body_ref()).unwrap_or(Value::Null));
                    true
                });
            then.status(201).json_body(json!({"status": "COMPLETE", "results": [
                {"id": "801", "properties": {}, "createdAt": "x", "updatedAt": "x", "archived": false, "objectWriteTraceId": "0"}
            ]}));
        })
        .await;
    let work = Workdir::new();
    let streams = json!({"streams": {"notes": {"object_type": "notes", "write_mode": "create_only",
        "associations": [{"field": "contact", "to_object_type": "contacts", "to_id_property": "email"}]}}});
    let input = singer(&[
        schema("notes"),
        record(
            "notes",
            json!({"hs_timestamp": "2024-01-15T10:00:00Z", "hs_note_body": "Met", "contact": "Ada@example.com"}),
        ),
    ]);
    let out = run_against(&server, &work, streams, &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    insta::assert_json_snapshot!(bodies.lock().unwrap().clone());
}

#[tokio::test]
async fn search_matching_batches_keys_by_100_and_follows_pages() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/crm/properties/2026-09/deals");
            then.status(200).json_body(json!({"results": [
                {"name": "dealname", "type": "string", "fieldType": "text", "hasUniqueValue": false}]}));
        })
        .await;
    let searches = Arc::new(Mutex::new(Vec::<Value>::new()));
    let (first_page, second_page) = (searches.clone(), searches.clone());
    // The first page of a search says there is more; the request for it carries `after`.
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/crm/objects/2026-09/deals/search")
                .is_true(move |req| {
                    let body: Value = serde_json::from_slice(req.body_ref()).unwrap_or(Value::Null);
                    let first = body.get("after").is_none();
                    if first {
                        first_page.lock().unwrap().push(body);
                    }
                    first
                });
            then.status(200).json_body(json!({"total": 2, "results": [
                {"id": "6", "properties": {"dealname": "Some other deal"}, "createdAt": "x", "updatedAt": "x", "archived": false}],
                "paging": {"next": {"after": "200"}}}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/crm/objects/2026-09/deals/search")
                .is_true(move |req| {
                    let body: Value = serde_json::from_slice(req.body_ref()).unwrap_or(Value::Null);
                    let later = body.get("after").is_some();
                    if later {
                        second_page.lock().unwrap().push(body);
                    }
                    later
                });
            then.status(200).json_body(json!({"total": 2, "results": [
                {"id": "7", "properties": {"dealname": "deal 0"}, "createdAt": "x", "updatedAt": "x", "archived": false}]}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/crm/objects/2026-09/deals/batch/update");
            then.status(200).json_body(json!({"status": "COMPLETE", "results": [
                {"id": "7", "properties": {}, "createdAt": "x", "updatedAt": "x", "archived": false, "objectWriteTraceId": "0"}]}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/crm/objects/2026-09/deals/batch/create");
            then.status(201)
                .json_body(json!({"status": "COMPLETE", "results": []}));
        })
        .await;
    let work = Workdir::new();
    // The mock creates nothing, so most records fail: the rejection guard is turned off.
    let streams = json!({"batch_size": 100, "max_concurrency": 1, "max_reject_rate": 1.0,
        "streams": {"deals": {"object_type": "deals", "match_property": "dealname"}}});
    let mut lines = vec![schema("deals")];
    lines.extend((0..150).map(|i| record("deals", json!({"dealname": format!("Deal {i}")}))));
    let out = run_against(&server, &work, streams, &singer(&lines)).await;
    assert!(out.code.is_some(), "{}", out.stderr);
    let logged = searches.lock().unwrap().clone();
    // Two batches (100 + 50 keys), each one search and its second page.
    let sizes: Vec<usize> = logged
        .iter()
        .map(|b| {
            b["filterGroups"][0]["filters"][0]["values"]
                .as_array()
                .map_or(0, Vec::len)
        })
        .collect();
    assert_eq!(sizes, [100, 100, 50, 50], "{logged:?}");
    assert_eq!(logged[1]["after"], "200");
    assert_eq!(
        logged[0]["filterGroups"][0]["filters"][0]["values"][1], "deal 1",
        "keys are sent in lower case, as HubSpot wants IN values"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_account_details_call_is_named_as_such_not_as_an_object_type() {
    let server = server_with_properties().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/account-info/2026-09/details");
            then.status(401).json_body(json!({"status": "error", "message": "Authentication credentials not found.", "category": "INVALID_AUTHENTICATION"}));
        })
        .await;
    let work = Workdir::new();
    let ledger = work.path("ledger.db");
    let out = run_against(
        &server,
        &work,
        json!({"ledger": ledger.to_str().unwrap()}),
        &contacts(&[json!({"email": "a@example.com"})]),
    )
    .await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_eq!(
        out.critical(),
        "CRITICAL HubSpot refused the credentials: Authentication credentials not found. (reading the account's details: GET /account-info/2026-09/details)"
    );
}
