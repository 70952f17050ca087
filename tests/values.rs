//! Property-aware values and fields, end to end: warehouse-shaped input goes through the real
//! binary into the emulator, and what HubSpot stores is read back.

mod support;

use std::collections::BTreeMap;

use hubspot_emulator::Settings;
use serde_json::{Value, json};
use support::*;

/// Creates a property on the emulator as a user does in HubSpot's settings.
async fn create_property(base_url: &str, object_type: &str, body: Value) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let status = reqwest::Client::new()
        .post(format!("{base_url}/crm/properties/2026-09/{object_type}"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .expect("create property")
        .status();
    assert_eq!(status.as_u16(), 201, "{body}");
}

/// Every stored contact's properties, by email, limited to `names`.
async fn contacts_by_email(
    base_url: &str,
    names: &[&str],
) -> BTreeMap<String, BTreeMap<String, Value>> {
    stored(base_url, "contacts")
        .await
        .into_iter()
        .map(|c| {
            let p = &c["properties"];
            let email = p["email"].as_str().unwrap_or_default().to_string();
            let picked = names
                .iter()
                .map(|n| (n.to_string(), p.get(*n).cloned().unwrap_or(Value::Null)))
                .collect();
            (email, picked)
        })
        .collect()
}

async fn warehouse_properties(base_url: &str) {
    create_property(
        base_url,
        "contacts",
        json!({"name": "signed_up_at", "label": "Signed up at", "type": "datetime", "fieldType": "date", "groupName": "contactinformation"}),
    )
    .await;
    create_property(
        base_url,
        "contacts",
        json!({"name": "balance", "label": "Balance", "type": "number", "fieldType": "number", "groupName": "contactinformation"}),
    )
    .await;
}

#[tokio::test]
async fn a_postgres_csv_export_loads_every_valid_row_with_the_stored_values_expected() {
    let (hub, work, config) = start(
        Settings::default(),
        json!({"streams": {"customers": {"object_type": "contacts", "properties": {"first_name": "firstname", "opted_out": "hs_email_optout", "birthday": "date_of_birth", "stage": "lifecyclestage", "roles": "hs_buying_role"}}}}),
    )
    .await;
    warehouse_properties(&hub.base_url()).await;
    // As `\copy (select …) to 'x.csv' csv header` writes it: t/f, +00 offsets, NULLs as empty
    // cells, numeric columns with every digit, enum labels and `;` lists.
    let csv = "\
Email,first_name,opted_out,signed_up_at,balance,birthday,stage,roles,City
Ann@Example.com,Ann,t,2024-01-01 01:00:00.123+00,99999999999999.99,1990-05-17,Customer,Budget Holder;end_user,Oslo
bo@example.com,Bo,f,2024-01-01 06:30:00+05:30,12345678901234567.89,,lead,,
cy@example.com,,F,2024-01-01T01:00:00Z,1.10,1990-05-17 00:00:00+00,,CHAMPION,Rome
dee@example.com,Dee,maybe,2024-01-01 01:00:00+00,-0,,,,
eve@example.com,Eve,t,,1e3,1990-05-17 09:30:00+00,,,
";
    let input = work.path("customers.csv");
    std::fs::write(&input, csv).unwrap();
    let input_arg = input.display().to_string();
    let mut args = config_args(&config);
    args.extend(
        [
            "--input-format",
            "csv",
            "--stream",
            "customers",
            "--input",
            &input_arg,
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args, "").await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);

    let names = [
        "firstname",
        "hs_email_optout",
        "signed_up_at",
        "balance",
        "date_of_birth",
        "lifecyclestage",
        "hs_buying_role",
        "city",
    ];
    let stored = contacts_by_email(&hub.base_url(), &names).await;
    insta::assert_json_snapshot!("postgres_csv_stored", stored);

    let rejected = work.rejected();
    let errors: Vec<&Value> = rejected
        .iter()
        .filter(|l| l["type"] == "RECORD")
        .map(|l| &l["error"])
        .collect();
    insta::assert_json_snapshot!("postgres_csv_rejected", errors);
}

#[tokio::test]
async fn number_text_reaches_hubspot_digit_for_digit() {
    let (hub, work, config) = start(Settings::default(), json!({})).await;
    warehouse_properties(&hub.base_url()).await;
    // Written by hand: a JSON library would round these before the target saw them.
    let written = [
        "99999999999999.99",
        "12345678901234567.89",
        "123456789012345678901234567890",
        "1.10",
        "-0",
        "1e3",
        "1.5E-7",
        "\"  42.50 \"",
        "-12.5e-1",
    ];
    let mut input = format!("{}\n", schema("contacts"));
    for (i, w) in written.iter().enumerate() {
        input.push_str(&format!(
            "{{\"type\":\"RECORD\",\"stream\":\"contacts\",\"record\":{{\"email\":\"n{i}@example.com\",\"balance\":{w}}}}}\n"
        ));
    }
    let out = run_config(&config, &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(work.rejected().is_empty(), "{:?}", work.rejected());
    let stored = contacts_by_email(&hub.base_url(), &["balance"]).await;
    let table: Vec<(String, Value)> = written
        .iter()
        .enumerate()
        .map(|(i, w)| {
            (
                w.to_string(),
                stored[&format!("n{i}@example.com")]["balance"].clone(),
            )
        })
        .collect();
    insta::assert_json_snapshot!("number_text_table", table);
}

fn schema_with(stream: &str, properties: Value) -> Value {
    json!({"type": "SCHEMA", "stream": stream, "schema": {"type": "object", "properties": properties}, "key_properties": ["email"]})
}

fn unknown_columns_input() -> String {
    singer(&[
        schema_with(
            "contacts",
            json!({"email": {"type": "string"}, "firstname": {"type": ["null", "string"]}, "shoe_size": {"type": ["null", "integer"]}, "frstname": {"type": ["null", "string"]}, "hs_object_id": {"type": "integer"}}),
        ),
        record(
            "contacts",
            json!({"email": "a@example.com", "firstname": "Ann", "shoe_size": 38, "frstname": "typo", "hs_object_id": 5}),
        ),
        record(
            "contacts",
            json!({"email": "b@example.com", "firstname": "Bo", "shoe_size": 44}),
        ),
        state(json!({"done": true})),
    ])
}

#[tokio::test]
async fn unknown_columns_are_ignored_with_one_warning() {
    let (hub, work, config) = start(Settings::default(), json!({})).await;
    let out = run_config(&config, &unknown_columns_input()).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("match no property"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", out.stderr);
    assert!(
        warnings[0].contains("shoe_size, frstname (did you mean 'firstname'?)")
            || warnings[0].contains("frstname (did you mean 'firstname'?), shoe_size"),
        "{}",
        warnings[0]
    );
    assert!(
        out.stderr.contains(
            "read-only or calculated properties of 'contacts' are never sent: hs_object_id"
        ),
        "{}",
        out.stderr
    );
    assert!(work.rejected().is_empty());
    let stored = contacts_by_email(&hub.base_url(), &["firstname", "shoe_size"]).await;
    assert_eq!(stored["a@example.com"]["firstname"], "Ann");
    assert_eq!(stored["b@example.com"]["shoe_size"], Value::Null);
    assert_eq!(out.states(), vec![json!({"done": true})]);
}

#[tokio::test]
async fn unknown_columns_reject_their_records_when_asked() {
    let (hub, work, config) = start(Settings::default(), json!({"unknown_fields": "reject"})).await;
    let out = run_config(&config, &unknown_columns_input()).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(stored(&hub.base_url(), "contacts").await.is_empty());
    let rejected = work.rejected();
    let errors: Vec<&Value> = rejected
        .iter()
        .filter(|l| l["type"] == "RECORD")
        .map(|l| &l["error"])
        .collect();
    insta::assert_json_snapshot!("unknown_fields_rejected", errors);
    let schema_line = rejected.iter().find(|l| l["type"] == "SCHEMA").unwrap();
    assert!(
        schema_line["schema"]["properties"]["shoe_size"].is_object(),
        "the input's schema is kept"
    );
}

#[tokio::test]
async fn unknown_columns_become_properties_when_asked() {
    let (hub, work, config) = start(
        Settings::default(),
        json!({"streams": {"contacts": {"object_type": "contacts", "unknown_fields": "create", "drop": ["frstname"]}}}),
    )
    .await;
    let out = run_config(&config, &unknown_columns_input()).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(work.rejected().is_empty(), "{:?}", work.rejected());
    let props: Value = http_get_json_auth(&format!(
        "{}/crm/properties/2026-09/contacts/shoe_size",
        hub.base_url()
    ))
    .await;
    assert_eq!(
        (
            props["type"].as_str(),
            props["fieldType"].as_str(),
            props["groupName"].as_str()
        ),
        (Some("number"), Some("number"), Some("target_hubspot"))
    );
    let stored = contacts_by_email(&hub.base_url(), &["shoe_size", "frstname"]).await;
    assert_eq!(stored["a@example.com"]["shoe_size"], "38");
    assert_eq!(stored["b@example.com"]["shoe_size"], "44");
    assert_eq!(
        stored["a@example.com"]["frstname"],
        Value::Null,
        "dropped, so never created"
    );
    assert!(
        out.stderr.contains("properties created: shoe_size"),
        "{}",
        out.stderr
    );
}

async fn http_get_json_auth(url: &str) -> Value {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
        .get(url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// What `city` and `firstname` hold after a record that has them blank, by route and setting.
async fn after_blank(route: &str, blank_values: &str) -> (Value, Value) {
    let (hub, work, config) =
        start(Settings::default(), json!({"blank_values": blank_values})).await;
    let args = config_args(&config);
    let seed = singer(&[
        schema("contacts"),
        record(
            "contacts",
            json!({"email": "ann@example.com", "city": "Oslo", "firstname": "Ann"}),
        ),
    ]);
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), &seed).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let (stdin, extra): (String, Vec<String>) = match route {
        "singer" => (
            singer(&[
                schema("contacts"),
                record(
                    "contacts",
                    json!({"email": "ann@example.com", "city": "", "firstname": null}),
                ),
            ]),
            vec![],
        ),
        "jsonl" => {
            let path = work.path("x.jsonl");
            std::fs::write(
                &path,
                "{\"email\":\"ann@example.com\",\"city\":\"  \",\"firstname\":null}\n",
            )
            .unwrap();
            (
                String::new(),
                vec![
                    "--input-format".into(),
                    "jsonl".into(),
                    "--stream".into(),
                    "contacts".into(),
                    "--input".into(),
                    path.display().to_string(),
                ],
            )
        }
        _ => {
            let path = work.path("x.csv");
            std::fs::write(&path, "email,city,firstname\nann@example.com,,\n").unwrap();
            (
                String::new(),
                vec![
                    "--input-format".into(),
                    "csv".into(),
                    "--stream".into(),
                    "contacts".into(),
                    "--input".into(),
                    path.display().to_string(),
                ],
            )
        }
    };
    let mut all = args.clone();
    all.extend(extra);
    let out = run(&all.iter().map(String::as_str).collect::<Vec<_>>(), &stdin).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let stored = contacts_by_email(&hub.base_url(), &["city", "firstname"]).await;
    let ann = &stored["ann@example.com"];
    // A cleared value reads back as absent.
    let cleared = |v: &Value| if v.is_null() { json!("") } else { v.clone() };
    (cleared(&ann["city"]), cleared(&ann["firstname"]))
}

#[tokio::test]
async fn blank_values_mean_the_same_for_csv_jsonl_and_singer_input() {
    for route in ["singer", "jsonl", "csv"] {
        assert_eq!(
            after_blank(route, "skip").await,
            (json!("Oslo"), json!("Ann")),
            "{route}, skip"
        );
        assert_eq!(
            after_blank(route, "clear").await,
            (json!(""), json!("")),
            "{route}, clear"
        );
    }
}

#[tokio::test]
async fn a_run_that_is_mostly_rejected_stops_loudly_without_acknowledging_past_the_threshold() {
    let mut lines = vec![schema("contacts")];
    for i in 0..50 {
        lines.push(record(
            "contacts",
            json!({"email": format!("good{i}@example.com"), "hs_email_optout": "f"}),
        ));
    }
    lines.push(state(json!({"n": 50})));
    for i in 0..200 {
        lines.push(record(
            "contacts",
            json!({"email": format!("bad{i}@example.com"), "hs_email_optout": "perhaps"}),
        ));
    }
    lines.push(state(json!({"n": 250})));
    let input = singer(&lines);

    let (_hub, work, config) = start(Settings::default(), json!({})).await;
    let out = run_config(&config, &input).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let critical = out.critical();
    assert!(
        critical.contains(
            "100 of 150 records with an outcome were rejected (67%, more than max_reject_rate 0.5)"
        ) || critical.contains("more than max_reject_rate 0.5"),
        "{critical}"
    );
    assert!(
        critical.contains("INVALID_VALUE/INVALID_BOOLEAN/hs_email_optout ×"),
        "{critical}"
    );
    assert!(
        out.states().iter().all(|s| s == &json!({"n": 50})),
        "no STATE past the threshold: {:?}",
        out.states()
    );
    assert!(
        work.rejected()
            .iter()
            .filter(|l| l["type"] == "RECORD")
            .count()
            >= 51
    );

    let (_hub, _work, config) = start(Settings::default(), json!({"max_reject_rate": 1})).await;
    let out = run_config(&config, &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.states().last(), Some(&json!({"n": 250})));
}

#[tokio::test]
async fn every_local_rejection_reason_is_pinned() {
    let (hub, work, config) = start(Settings::default(), json!({"streams": {"contacts": {"object_type": "contacts", "properties": {"dob": "date_of_birth"}}}})).await;
    warehouse_properties(&hub.base_url()).await;
    let lines = [
        r#"{"email":"a@example.com","hs_email_optout":"perhaps"}"#,
        r#"{"email":"b@example.com","balance":"12,5"}"#,
        r#"{"email":"c@example.com","dob":"2024-01-01T10:15:00Z"}"#,
        r#"{"email":"d@example.com","dob":"tomorrow"}"#,
        r#"{"email":"e@example.com","signed_up_at":"last week"}"#,
        r#"{"email":"f@example.com","lifecyclestage":"VIP"}"#,
        r#"{"email":"g@example.com","hs_buying_role":["CHAMPION","BOSS"]}"#,
        r#"{"email":"h@example.com","balance":1e400}"#,
        r#"{"email":"i@example.com","city":"x","CITY":"y"}"#,
        r#"{"email":"j@example.com","firstname":"ok","hs_email_optout":"nah","balance":"lots"}"#,
        r#"{"firstname":"no key"}"#,
    ];
    let mut input = format!("{}\n", schema("contacts"));
    for l in lines {
        input.push_str(&format!(
            "{{\"type\":\"RECORD\",\"stream\":\"contacts\",\"record\":{l}}}\n"
        ));
    }
    let long = format!(
        "{{\"type\":\"RECORD\",\"stream\":\"contacts\",\"record\":{{\"email\":\"k@example.com\",\"city\":\"{}\"}}}}\n",
        "x".repeat(65_537)
    );
    input.push_str(&long);
    let out = run_config(&config, &input).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let stats = stats(&hub.base_url()).await;
    assert!(
        stats["by_route"]
            .as_object()
            .unwrap()
            .keys()
            .all(|r| !r.contains("batch")),
        "no record was sent: {stats}"
    );
    // Read without parsing the records: one holds 1e400, which a JSON library refuses.
    #[derive(serde::Deserialize)]
    struct Line {
        #[serde(rename = "type")]
        kind: String,
        #[allow(dead_code)]
        record: Option<Box<serde_json::value::RawValue>>,
        error: Option<Value>,
    }
    let text = std::fs::read_to_string(work.rejected_path()).unwrap();
    let errors: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Line>(l).unwrap())
        .filter(|l| l.kind == "RECORD")
        .filter_map(|l| l.error)
        .collect();
    insta::assert_json_snapshot!("local_rejections", errors);
}

#[tokio::test]
async fn check_with_input_reports_how_each_column_maps_and_never_says_ok_after_an_error() {
    let (hub, work, config) = start(
        Settings::default(),
        json!({"streams": {
            "contacts": {"object_type": "contacts", "unknown_fields": "create", "drop": ["frstname"]},
            "broken": {"object_type": "contacts", "properties": {"x": "nosuchproperty"}}
        }}),
    )
    .await;
    let input = work.path("input.singer");
    std::fs::write(&input, unknown_columns_input()).unwrap();
    let input_arg = input.display().to_string();
    let mut args = config_args(&config);
    args.extend(["--check".to_string(), "--input".to_string(), input_arg]);
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>(), "").await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    for expected in [
        "stream contacts: email → email (text)",
        "stream contacts: shoe_size → shoe_size (would be created: type number, fieldType number)",
        "stream contacts: read-only or calculated properties, never sent: hs_object_id",
        "stream contacts: dropped: frstname",
        "stream contacts: ok, upserts contacts by email",
        "stream broken: properties: field 'x' is renamed to 'nosuchproperty'",
    ] {
        assert!(out.stderr.contains(expected), "{expected}\n{}", out.stderr);
    }
    assert!(!out.stderr.contains("stream broken: ok"), "{}", out.stderr);
    let stats = stats(&hub.base_url()).await;
    assert!(
        stats["by_route"]
            .as_object()
            .unwrap()
            .keys()
            .all(|r| r.starts_with("GET")),
        "nothing written: {stats}"
    );
}
