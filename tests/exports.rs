//! Warehouse exports as warehouses write them (#21): every shape loads exactly the values the
//! same table gives as a plain CSV, read back from the emulator.

mod support;

use hubspot_emulator::Settings;
use serde_json::{Value, json};
use support::exports::{self, COLUMNS, PLAIN, REDSHIFT, SNOWFLAKE};
use support::{Held, held};
use support::{Output, Workdir, run_bytes, start};

const STREAM: &str = "warehouse_contacts";
const ROWS: usize = 40;

fn settings() -> Settings {
    Settings {
        preload: hubspot_emulator::preload::Preload::from_json(&exports::preload().to_string())
            .unwrap(),
        ..Settings::default()
    }
}

/// Loads with `args` (after the config and the stream) and `stdin` into a fresh portal.
async fn load(args: &[&str], stdin: &[u8]) -> (Held, Output, Workdir) {
    let (hub, work, config) = start(
        settings(),
        json!({"streams": {STREAM: {"object_type": "contacts"}}}),
    )
    .await;
    let mut all = vec!["--config", config.to_str().unwrap(), "--stream", STREAM];
    all.extend_from_slice(args);
    let out = run_bytes(&all, stdin).await;
    (held(&hub.base_url()).await, out, work)
}

/// Loads into a fresh portal and asserts it then holds what `baseline` holds.
async fn loads_as(baseline: &Held, what: &str, args: &[&str], stdin: &[u8]) {
    let (held, out, _w) = load(args, stdin).await;
    assert_eq!(out.code, Some(0), "{what}: {}", out.stderr);
    assert_eq!(&held, baseline, "{what}");
}

fn columns() -> String {
    COLUMNS.join(",")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_warehouse_shape_loads_the_values_a_plain_csv_gives() {
    let people = exports::people(ROWS);
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("contacts.csv");
    std::fs::write(&plain, exports::csv(&people, &PLAIN)).unwrap();
    let (baseline, out, _w) = load(
        &["--input", plain.to_str().unwrap(), "--input-format", "csv"],
        b"",
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(baseline.len(), ROWS);
    // The baseline itself holds what the table says, exactly.
    let third = &baseline["user3@example.com"];
    assert_eq!(third["firstname"], "x".repeat(60_000));
    assert_eq!(
        third["annualrevenue"],
        exports::decimal(people[3].revenue.unwrap())
    );
    assert_eq!(baseline["user2@example.com"]["firstname"], "Two|lines\n2");
    assert_eq!(
        baseline["user2@example.com"]["hs_buying_role"],
        "CHAMPION;END_USER"
    );
    assert_eq!(
        baseline["user1@example.com"]["last_seen_at"],
        "2023-11-14T23:13:20.123Z"
    );
    assert!(
        !baseline["user4@example.com"].contains_key("city"),
        "NULL is no value"
    );

    // Snowflake: a folder of gzip parts (one of two members), no header, \N, _SUCCESS.
    let snowflake = dir.path().join("snowflake");
    std::fs::create_dir(&snowflake).unwrap();
    for (i, part) in people.chunks(15).enumerate() {
        let text = exports::csv(part, &SNOWFLAKE);
        let mut bytes = exports::gzip(&text.as_bytes()[..text.len() / 2]);
        bytes.extend(exports::gzip(&text.as_bytes()[text.len() / 2..]));
        std::fs::write(snowflake.join(format!("data_0_0_{i}.csv.gz")), bytes).unwrap();
    }
    std::fs::write(snowflake.join("_SUCCESS"), "").unwrap();
    loads_as(
        &baseline,
        "Snowflake unload",
        &[
            "--input",
            snowflake.to_str().unwrap(),
            "--input-format",
            "csv",
            "--columns",
            &columns(),
        ],
        b"",
    )
    .await;

    // Redshift: pipe-delimited parts without an extension, no header, empty NULLs, t/f.
    let redshift = dir.path().join("redshift");
    std::fs::create_dir(&redshift).unwrap();
    for (i, part) in people.chunks(25).enumerate() {
        std::fs::write(
            redshift.join(format!("000{i}_part_00")),
            exports::csv(part, &REDSHIFT),
        )
        .unwrap();
    }
    std::fs::write(redshift.join("unload_manifest"), "{}").unwrap();
    loads_as(
        &baseline,
        "Redshift unload",
        &[
            "--input",
            redshift.to_str().unwrap(),
            "--input-format",
            "csv",
            "--delimiter",
            "|",
            "--columns",
            &columns(),
        ],
        b"",
    )
    .await;

    // BigQuery: gzip NDJSON shards read by a glob, numbers as strings.
    let bigquery = dir.path().join("bigquery");
    std::fs::create_dir(&bigquery).unwrap();
    for (i, part) in people.chunks(10).enumerate() {
        let text = exports::bigquery_json(part);
        std::fs::write(
            bigquery.join(format!("{i:012}.json")),
            exports::gzip(text.as_bytes()),
        )
        .unwrap();
    }
    let pattern = bigquery.join("0*.json");
    loads_as(
        &baseline,
        "BigQuery shards",
        &[
            "--input",
            pattern.to_str().unwrap(),
            "--input-format",
            "jsonl",
        ],
        b"",
    )
    .await;

    // DuckDB: a zstd CSV with a header.
    let zstd = dir.path().join("contacts.csv.zst");
    let text = exports::csv(&people, &PLAIN);
    std::fs::write(&zstd, zstd::encode_all(text.as_bytes(), 3).unwrap()).unwrap();
    loads_as(
        &baseline,
        "zstd CSV",
        &["--input", zstd.to_str().unwrap(), "--input-format", "csv"],
        b"",
    )
    .await;

    // Postgres's text format (`\copy … TO PROGRAM 'gzip > …'`): tabs, backslash escapes.
    let text_format = dir.path().join("contacts.tsv.gz");
    std::fs::write(
        &text_format,
        exports::gzip(exports::postgres_text(&people).as_bytes()),
    )
    .unwrap();
    loads_as(
        &baseline,
        "Postgres text format",
        &[
            "--input",
            text_format.to_str().unwrap(),
            "--input-format",
            "csv",
            "--delimiter",
            "\\t",
            "--backslash-escapes",
            "--columns",
            &columns(),
        ],
        b"",
    )
    .await;

    // A gzip CSV on stdin.
    loads_as(
        &baseline,
        "gzip CSV on stdin",
        &["--input", "-", "--input-format", "csv"],
        &exports::gzip(text.as_bytes()),
    )
    .await;

    // Parquet: a folder of files with typed columns, several row groups each.
    let parquet = dir.path().join("parquet");
    std::fs::create_dir(&parquet).unwrap();
    for (i, part) in people.chunks(20).enumerate() {
        exports::parquet(part, &parquet.join(format!("part-0000{i}.parquet")), 7);
    }
    std::fs::write(parquet.join("_SUCCESS"), "").unwrap();
    loads_as(
        &baseline,
        "Parquet",
        &[
            "--input",
            parquet.to_str().unwrap(),
            "--input-format",
            "parquet",
        ],
        b"",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_that_cannot_be_a_record_is_rejected_with_its_file_and_line_and_the_rest_load() {
    let dir = tempfile::tempdir().unwrap();
    let parts = dir.path().join("parts");
    std::fs::create_dir(&parts).unwrap();
    std::fs::write(
        parts.join("part-0.csv"),
        "email,firstname\na@example.com,Ann\nb@example.com,Bo,extra\n\"c@example.com\",\"Cy\"\n",
    )
    .unwrap();
    std::fs::write(
        parts.join("part-1.csv"),
        b"email,firstname\nd@example.com,\"Di\nna\"\ne@example.com\n\xff@example.com,Bad\nf@example.com,Fay\n",
    )
    .unwrap();
    let (held, out, work) = load(
        &["--input", parts.to_str().unwrap(), "--input-format", "csv"],
        b"",
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let names: Vec<(&String, &Value)> = held.iter().map(|(e, p)| (e, &p["firstname"])).collect();
    assert_eq!(
        names,
        [
            (&"a@example.com".to_string(), &json!("Ann")),
            (&"c@example.com".to_string(), &json!("Cy")),
            (&"d@example.com".to_string(), &json!("Di\nna")),
            (&"f@example.com".to_string(), &json!("Fay")),
        ]
    );
    let rejected = work.rejected();
    let shown: Vec<Value> = rejected[1..]
        .iter()
        .map(|l| {
            json!([
                l["record"],
                l["error"]["category"],
                l["error"]["file"]
                    .as_str()
                    .map(|f| f.rsplit('/').next().unwrap().to_string()),
                l["error"]["line"],
                l["error"]["message"]
            ])
        })
        .collect();
    insta::assert_json_snapshot!(shown);

    // JSONL: a line that is not JSON, and one that is not an object.
    let jsonl = dir.path().join("rows.jsonl");
    std::fs::write(
        &jsonl,
        "{\"email\": \"g@example.com\"}\n{\"email\": \"h@exa\n[1, 2]\n{\"email\": \"i@example.com\"}\n",
    )
    .unwrap();
    let (held, out, work) = load(
        &[
            "--input",
            jsonl.to_str().unwrap(),
            "--input-format",
            "jsonl",
        ],
        b"",
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        held.keys().collect::<Vec<_>>(),
        ["g@example.com", "i@example.com"]
    );
    let rejected = work.rejected();
    let shown: Vec<Value> = rejected[1..]
        .iter()
        .map(|l| {
            json!([
                l["record"],
                l["error"]["category"],
                l["error"]["line"],
                l["error"]["message"]
            ])
        })
        .collect();
    insta::assert_json_snapshot!(shown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quote_never_closed_stops_the_run_naming_its_line_after_loading_what_came_before() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("cut.csv");
    std::fs::write(
        &csv,
        "email,firstname\na@example.com,Ann\nb@example.com,\"Bo\nc@example.com,Cy\n",
    )
    .unwrap();
    let (held, out, _w) = load(
        &["--input", csv.to_str().unwrap(), "--input-format", "csv"],
        b"",
    )
    .await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.critical().contains(
            "line 3: a quoted cell begins here and is never closed, so it would take in the rest of the file"
        ),
        "{}",
        out.critical()
    );
    assert_eq!(held.keys().collect::<Vec<_>>(), ["a@example.com"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmarked_null_spellings_and_unreadable_compression_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("nulls.csv");
    let mut text = String::from("email,city\n");
    for i in 0..10 {
        text.push_str(&format!(
            "u{i}@example.com,{}\n",
            if i < 8 { "NULL" } else { "Oslo" }
        ));
    }
    std::fs::write(&csv, &text).unwrap();
    let (held, out, _w) = load(
        &["--input", csv.to_str().unwrap(), "--input-format", "csv"],
        b"",
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        held["u0@example.com"]["city"], "NULL",
        "not a null marker unless told"
    );
    assert!(
        out.stderr.contains("column \"city\": 8 of 10 cells read so far are written \\N, NULL or null and are loaded as that text; if they mark missing values, pass --null with that spelling (e.g. --null NULL)"),
        "{}",
        out.stderr
    );
    let (held, out, _w) = load(
        &[
            "--input",
            csv.to_str().unwrap(),
            "--input-format",
            "csv",
            "--null",
            "NULL",
        ],
        b"",
    )
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(!held["u0@example.com"].contains_key("city"));
    assert!(!out.stderr.contains("cells read so far"), "{}", out.stderr);

    let xz = dir.path().join("rows.csv.xz");
    std::fs::write(&xz, [0xfd, b'7', b'z', b'X', b'Z', 0, 0, 4]).unwrap();
    let (_, out, _w) = load(
        &["--input", xz.to_str().unwrap(), "--input-format", "csv"],
        b"",
    )
    .await;
    assert_eq!(out.code, Some(1));
    assert!(
        out.critical().contains(
            "compressed with xz, which the target does not read; unpack it first (xz -d)"
        ),
        "{}",
        out.critical()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_fails_on_a_missing_key_column_and_names_the_delimiter_it_sees() {
    let (_hub, work, config) = start(
        settings(),
        json!({"streams": {STREAM: {"object_type": "contacts"}}}),
    )
    .await;
    let semicolons = work.path("semi.csv");
    std::fs::write(&semicolons, "email;firstname\na@example.com;Ann\n").unwrap();
    let check = |path: std::path::PathBuf, extra: Vec<&'static str>| {
        let config = config.clone();
        async move {
            let mut args = vec![
                "--config".to_string(),
                config.display().to_string(),
                "--check".into(),
                "--input".into(),
                path.display().to_string(),
                "--input-format".into(),
                "csv".into(),
                "--stream".into(),
                STREAM.into(),
            ];
            args.extend(extra.into_iter().map(String::from));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run_bytes(&args, b"").await
        }
    };
    let out = check(semicolons.clone(), vec![]).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "the input has no column for the key (by email); its columns are `email;firstname`"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("the header has one column `email;firstname`: is the delimiter `;`? (pass --delimiter ';')"),
        "{}",
        out.stderr
    );
    let out = check(semicolons, vec!["--delimiter", ";"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let headerless = work.path("headerless.csv");
    std::fs::write(&headerless, "a@example.com,Ann\n").unwrap();
    let out = check(headerless.clone(), vec![]).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("the header row holds `a@example.com`, which looks like data: if the file has no header row, name its columns with --columns"),
        "{}",
        out.stderr
    );
    let out = check(headerless.clone(), vec!["--columns", "mail,firstname"]).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("no column for the key"),
        "{}",
        out.stderr
    );
    let out = check(headerless, vec!["--columns", "email,firstname"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}
