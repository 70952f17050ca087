//! One small table of contacts, written the ways warehouses export it: plain CSV, a
//! Snowflake unload, a Redshift unload, BigQuery NDJSON shards, and Parquet with typed columns.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use parquet::data_type::{
    BoolType, ByteArray, ByteArrayType, FixedLenByteArray, FixedLenByteArrayType, Int32Type,
    Int64Type,
};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;

/// The columns, in order.
pub const COLUMNS: [&str; 10] = [
    "email",
    "firstname",
    "city",
    "lifecyclestage",
    "annualrevenue",
    "date_of_birth",
    "hs_email_optout",
    "hs_buying_role",
    "last_seen_at",
    "seats",
];

/// The properties the table fills that a fresh portal lacks.
pub fn preload() -> serde_json::Value {
    serde_json::json!({"properties": {"contacts": [
        {"name": "last_seen_at", "label": "Last seen", "type": "datetime", "fieldType": "date", "groupName": "contactinformation"},
        {"name": "seats", "label": "Seats", "type": "number", "fieldType": "number", "groupName": "contactinformation"}
    ]}})
}

/// One contact as a warehouse holds it.
#[derive(Debug, Clone)]
pub struct Person {
    pub email: String,
    pub firstname: Option<String>,
    pub city: Option<String>,
    pub stage: Option<&'static str>,
    /// NUMBER(38,10): the value times 10^10.
    pub revenue: Option<i128>,
    /// Days since 1970-01-01.
    pub birthday: Option<i32>,
    pub optout: Option<bool>,
    pub roles: Option<Vec<&'static str>>,
    /// Microseconds since the epoch, UTC.
    pub seen: Option<i64>,
    pub seats: Option<i64>,
}

/// `n` contacts with mixed-case emails, NULLs in every column but the key, cells that need
/// quoting (delimiters, quotes, newlines) and one 60,000-character name.
pub fn people(n: usize) -> Vec<Person> {
    (0..n)
        .map(|i| {
            let some = |every: usize| !i.is_multiple_of(every);
            Person {
                email: format!("User{i}@Example.COM"),
                firstname: some(7).then(|| match i % 5 {
                    0 => format!("O'Brien, Jr. {i}"),
                    1 => format!("Say \"hi\" {i}"),
                    2 => format!("Two|lines\n{i}"),
                    3 if i == 3 => "x".repeat(60_000),
                    _ => format!("Ann;{i}"),
                }),
                city: some(4).then(|| format!("City {i}")),
                stage: some(6).then_some(if i % 2 == 0 { "lead" } else { "customer" }),
                revenue: some(5).then(|| (i as i128 * 1_000 + 1) * 10i128.pow(10) / 4 - 7),
                birthday: some(3).then_some(7_000 + i as i32),
                optout: some(8).then_some(i % 2 == 0),
                roles: some(3).then(|| {
                    if i % 2 == 0 {
                        vec!["CHAMPION", "END_USER"]
                    } else {
                        vec!["INFLUENCER"]
                    }
                }),
                seen: some(5).then_some(1_700_000_000_123_456 + i as i64 * 3_600_000_123),
                seats: some(4).then_some(i as i64 * 1_000_000_007),
            }
        })
        .collect()
}

/// `v` with a decimal point 10 digits from the right.
pub fn decimal(v: i128) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let m = v.unsigned_abs();
    format!("{sign}{}.{:010}", m / 10u128.pow(10), m % 10u128.pow(10))
}

fn date(days: i32) -> String {
    time::Date::from_julian_day(2_440_588 + days)
        .unwrap()
        .to_string()
}

/// `micros` as `YYYY-MM-DD HH:MM:SS.ffffff` followed by `zone`.
fn timestamp(micros: i64, digits: usize, zone: &str) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000).unwrap();
    let fraction = format!("{:06}", t.microsecond());
    format!(
        "{} {:02}:{:02}:{:02}.{}{zone}",
        t.date(),
        t.hour(),
        t.minute(),
        t.second(),
        &fraction[..digits]
    )
}

/// How a CSV writer spells values.
pub struct CsvStyle {
    pub delimiter: char,
    pub header: bool,
    pub null: &'static str,
    pub booleans: (&'static str, &'static str),
    /// Digits of a second, and the zone written after a timestamp.
    pub timestamp: (usize, &'static str),
}

/// DuckDB's `COPY … TO 'x.csv' (HEADER)`: a header, empty NULLs.
pub const PLAIN: CsvStyle = CsvStyle {
    delimiter: ',',
    header: true,
    null: "",
    booleans: ("true", "false"),
    timestamp: (6, "+00"),
};
/// Snowflake `COPY INTO @stage` defaults: no header, `\N`, `TIMESTAMP_TZ` with
/// milliseconds and `+0000`.
pub const SNOWFLAKE: CsvStyle = CsvStyle {
    delimiter: ',',
    header: false,
    null: "\\N",
    booleans: ("true", "false"),
    timestamp: (3, " +0000"),
};
/// Redshift `UNLOAD`: pipes, no header, empty NULLs, `t`/`f`.
pub const REDSHIFT: CsvStyle = CsvStyle {
    delimiter: '|',
    header: false,
    null: "",
    booleans: ("t", "f"),
    timestamp: (6, "+00"),
};

/// Postgres's text format (`COPY … TO` without `CSV`): tabs, no header, `\N` for NULL, `t`/`f`,
/// and backslash escapes instead of quotes.
pub fn postgres_text(people: &[Person]) -> String {
    let csv_like = CsvStyle {
        delimiter: '\t',
        header: false,
        null: "\\N",
        booleans: ("t", "f"),
        timestamp: (6, "+00"),
    };
    let mut out = String::new();
    for p in people {
        let cells = cells(p, &csv_like);
        let line: Vec<String> = cells
            .into_iter()
            .map(|c| match c {
                None => "\\N".to_string(),
                Some(v) => v
                    .replace('\\', "\\\\")
                    .replace('\t', "\\t")
                    .replace('\n', "\\n")
                    .replace('\r', "\\r"),
            })
            .collect();
        out.push_str(&line.join("\t"));
        out.push('\n');
    }
    out
}

fn cells(p: &Person, style: &CsvStyle) -> [Option<String>; 10] {
    [
        Some(p.email.clone()),
        p.firstname.clone(),
        p.city.clone(),
        p.stage.map(String::from),
        p.revenue.map(decimal),
        p.birthday.map(date),
        p.optout.map(|b| {
            if b {
                style.booleans.0
            } else {
                style.booleans.1
            }
            .to_string()
        }),
        p.roles.as_ref().map(|r| r.join(";")),
        p.seen
            .map(|s| timestamp(s, style.timestamp.0, style.timestamp.1)),
        p.seats.map(|s| s.to_string()),
    ]
}

fn cell(out: &mut String, value: Option<String>, style: &CsvStyle) {
    match value {
        None => out.push_str(style.null),
        Some(v) if v.contains([style.delimiter, '"', '\n', '\r']) || v.is_empty() => {
            out.push('"');
            out.push_str(&v.replace('"', "\"\""));
            out.push('"');
        }
        Some(v) => out.push_str(&v),
    }
}

/// The rows as CSV text in `style`.
pub fn csv(people: &[Person], style: &CsvStyle) -> String {
    let mut out = String::new();
    if style.header {
        out.push_str(&COLUMNS.join(&style.delimiter.to_string()));
        out.push('\n');
    }
    for p in people {
        for (i, c) in cells(p, style).into_iter().enumerate() {
            if i > 0 {
                out.push(style.delimiter);
            }
            cell(&mut out, c, style);
        }
        out.push('\n');
    }
    out
}

/// BigQuery `EXPORT DATA … format='JSON'`: NULL columns left out, INT64 and NUMERIC as
/// strings, timestamps as `YYYY-MM-DD HH:MM:SS.ffffff UTC`.
pub fn bigquery_json(people: &[Person]) -> String {
    let mut out = String::new();
    for p in people {
        let mut row = serde_json::Map::new();
        row.insert("email".into(), p.email.clone().into());
        let mut put = |k: &str, v: Option<serde_json::Value>| {
            if let Some(v) = v {
                row.insert(k.into(), v);
            }
        };
        put("firstname", p.firstname.clone().map(Into::into));
        put("city", p.city.clone().map(Into::into));
        put("lifecyclestage", p.stage.map(Into::into));
        put("annualrevenue", p.revenue.map(|v| decimal(v).into()));
        put("date_of_birth", p.birthday.map(|d| date(d).into()));
        put("hs_email_optout", p.optout.map(Into::into));
        put("hs_buying_role", p.roles.clone().map(Into::into));
        put(
            "last_seen_at",
            p.seen.map(|s| timestamp(s, 6, " UTC").into()),
        );
        put("seats", p.seats.map(|s| s.to_string().into()));
        out.push_str(&serde_json::Value::Object(row).to_string());
        out.push('\n');
    }
    out
}

/// gzip of `text`, one member.
pub fn gzip(text: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text).unwrap();
    e.finish().unwrap()
}

/// A Parquet file of `people` at `path` (snappy pages, `rows_per_group` rows a row group),
/// typed as a warehouse types them: STRING, DECIMAL(38,10) in 16 bytes, DATE, BOOLEAN,
/// LIST<STRING>, TIMESTAMP(MICROS, UTC), INT64.
pub fn parquet(people: &[Person], path: &Path, rows_per_group: usize) {
    let schema = parquet::schema::parser::parse_message_type(
        "message contacts {
            REQUIRED BYTE_ARRAY email (STRING);
            OPTIONAL BYTE_ARRAY firstname (STRING);
            OPTIONAL BYTE_ARRAY city (STRING);
            OPTIONAL BYTE_ARRAY lifecyclestage (STRING);
            OPTIONAL FIXED_LEN_BYTE_ARRAY (16) annualrevenue (DECIMAL(38,10));
            OPTIONAL INT32 date_of_birth (DATE);
            OPTIONAL BOOLEAN hs_email_optout;
            OPTIONAL group hs_buying_role (LIST) {
                REPEATED group list {
                    OPTIONAL BYTE_ARRAY element (STRING);
                }
            }
            OPTIONAL INT64 last_seen_at (TIMESTAMP(MICROS,true));
            OPTIONAL INT64 seats;
        }",
    )
    .unwrap();
    let props = WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = SerializedFileWriter::new(file, Arc::new(schema), Arc::new(props)).unwrap();
    for group in people.chunks(rows_per_group) {
        let mut rg = writer.next_row_group().unwrap();
        let strings = |f: fn(&Person) -> Option<String>| {
            let values: Vec<ByteArray> = group
                .iter()
                .filter_map(f)
                .map(|s| ByteArray::from(s.as_str()))
                .collect();
            let defs: Vec<i16> = group.iter().map(|p| i16::from(f(p).is_some())).collect();
            (values, defs)
        };
        let mut c = rg.next_column().unwrap().unwrap();
        let emails: Vec<ByteArray> = group
            .iter()
            .map(|p| ByteArray::from(p.email.as_str()))
            .collect();
        c.typed::<ByteArrayType>()
            .write_batch(&emails, None, None)
            .unwrap();
        c.close().unwrap();
        for f in [
            (|p: &Person| p.firstname.clone()) as fn(&Person) -> Option<String>,
            |p| p.city.clone(),
            |p| p.stage.map(String::from),
        ] {
            let (values, defs) = strings(f);
            let mut c = rg.next_column().unwrap().unwrap();
            c.typed::<ByteArrayType>()
                .write_batch(&values, Some(&defs), None)
                .unwrap();
            c.close().unwrap();
        }
        let mut c = rg.next_column().unwrap().unwrap();
        let values: Vec<FixedLenByteArray> = group
            .iter()
            .filter_map(|p| p.revenue)
            .map(|v| FixedLenByteArray::from(v.to_be_bytes().to_vec()))
            .collect();
        let defs: Vec<i16> = group
            .iter()
            .map(|p| i16::from(p.revenue.is_some()))
            .collect();
        c.typed::<FixedLenByteArrayType>()
            .write_batch(&values, Some(&defs), None)
            .unwrap();
        c.close().unwrap();
        let mut c = rg.next_column().unwrap().unwrap();
        let values: Vec<i32> = group.iter().filter_map(|p| p.birthday).collect();
        let defs: Vec<i16> = group
            .iter()
            .map(|p| i16::from(p.birthday.is_some()))
            .collect();
        c.typed::<Int32Type>()
            .write_batch(&values, Some(&defs), None)
            .unwrap();
        c.close().unwrap();
        let mut c = rg.next_column().unwrap().unwrap();
        let values: Vec<bool> = group.iter().filter_map(|p| p.optout).collect();
        let defs: Vec<i16> = group
            .iter()
            .map(|p| i16::from(p.optout.is_some()))
            .collect();
        c.typed::<BoolType>()
            .write_batch(&values, Some(&defs), None)
            .unwrap();
        c.close().unwrap();
        // LIST<STRING>: definition 0 = null list, 3 = an element; repetition 1 = same list.
        let (mut values, mut defs, mut reps) = (Vec::new(), Vec::new(), Vec::new());
        for p in group {
            match &p.roles {
                None => {
                    defs.push(0);
                    reps.push(0);
                }
                Some(roles) => {
                    for (i, r) in roles.iter().enumerate() {
                        values.push(ByteArray::from(*r));
                        defs.push(3);
                        reps.push(i16::from(i > 0));
                    }
                }
            }
        }
        let mut c = rg.next_column().unwrap().unwrap();
        c.typed::<ByteArrayType>()
            .write_batch(&values, Some(&defs), Some(&reps))
            .unwrap();
        c.close().unwrap();
        for f in [(|p: &Person| p.seen) as fn(&Person) -> Option<i64>, |p| {
            p.seats
        }] {
            let values: Vec<i64> = group.iter().filter_map(f).collect();
            let defs: Vec<i16> = group.iter().map(|p| i16::from(f(p).is_some())).collect();
            let mut c = rg.next_column().unwrap().unwrap();
            c.typed::<Int64Type>()
                .write_batch(&values, Some(&defs), None)
                .unwrap();
            c.close().unwrap();
        }
        rg.close().unwrap();
    }
    writer.close().unwrap();
}
