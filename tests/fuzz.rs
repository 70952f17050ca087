//! Property-based tests (proptest, stable Rust) of the input readers and the value mapping:
//! any input gives a value or a clear error, never a panic, and number text survives.
//!
//! `cargo test --test fuzz` runs a bounded number of cases; for a longer run,
//! `PROPTEST_CASES=200000 cargo test --release --test fuzz`.

mod support;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use proptest::prelude::*;
use serde_json::value::RawValue;
use target_hubspot::input::InputFormat;
use target_hubspot::mapping::values::{Field, PropertyKind, ValueRules, convert, decimal_text};
use target_hubspot::singer::parse_line;

fn kinds() -> Vec<PropertyKind> {
    vec![
        PropertyKind::Bool,
        PropertyKind::Number,
        PropertyKind::Date,
        PropertyKind::DateTime,
        PropertyKind::Text,
        PropertyKind::Enumeration {
            multi: true,
            options: vec![
                ("A".into(), "Alpha".into()),
                ("B_C".into(), "Bee See".into()),
            ],
            external: false,
        },
        PropertyKind::Enumeration {
            multi: false,
            options: vec![("A".into(), "Alpha".into())],
            external: false,
        },
    ]
}

/// Decimal text as people and warehouses write it: sign, digits, a fraction, an exponent.
fn decimal() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just(""), Just("-"), Just("+")],
        "[0-9]{1,25}",
        proptest::option::of("[0-9]{0,25}"),
        proptest::option::of((
            prop_oneof![Just("e"), Just("E")],
            prop_oneof![Just(""), Just("-"), Just("+")],
            0u32..40,
        )),
    )
        .prop_map(|(sign, int, frac, exp)| {
            let mut s = format!("{sign}{int}");
            if let Some(f) = frac {
                s.push('.');
                s.push_str(&f);
            }
            if let Some((e, esign, n)) = exp {
                s.push_str(&format!("{e}{esign}{n}"));
            }
            s
        })
}

proptest! {
    // 256 cases each by default; PROPTEST_CASES sets more.
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn number_text_keeps_its_value_and_is_stable(written in decimal()) {
        let sent = decimal_text(&written).expect("a decimal is a number");
        prop_assert!(!sent.contains(['e', 'E', '+']), "{sent}");
        let again = decimal_text(&sent);
        prop_assert_eq!(again.as_deref().ok(), Some(&*sent), "stable");
        let (a, b): (f64, f64) = (written.parse().unwrap(), sent.parse().unwrap());
        prop_assert!(a == b || (a == 0.0 && b == 0.0), "{written} = {a}, {sent} = {b}");
    }

    #[test]
    fn integers_of_any_length_keep_every_digit(digits in "[1-9][0-9]{0,80}") {
        let sent = decimal_text(&digits);
        prop_assert_eq!(sent.as_deref().ok(), Some(digits.as_str()));
    }

    #[test]
    fn any_string_value_converts_or_is_refused_with_a_code(text in "\\PC{0,40}") {
        let json = serde_json::to_string(&text).unwrap();
        let raw = RawValue::from_string(json).unwrap();
        let field = Field::read(&raw).expect("a JSON string is readable");
        for kind in kinds() {
            for truncate_dates in [false, true] {
                if let Err(e) = convert(&kind, &field, ValueRules { truncate_dates }) {
                    prop_assert!(e.code.starts_with("INVALID_") || e.code == "VALUE_TOO_LONG");
                    prop_assert!(!e.message.is_empty());
                }
            }
        }
    }

    #[test]
    fn any_json_value_reads_or_is_refused(json in any_json()) {
        if let Ok(raw) = RawValue::from_string(json)
            && let Ok(field) = Field::read(&raw)
        {
            for kind in kinds() {
                let _ = convert(&kind, &field, ValueRules::default());
            }
        }
    }

    #[test]
    fn any_line_is_a_message_or_an_error_naming_the_line(line in "\\PC{0,200}", n in 1u64..1_000_000) {
        if let Err(e) = parse_line(n, &line) {
            let prefix = format!("line {n}: ");
            prop_assert!(e.to_string().starts_with(&prefix));
        }
    }

    #[test]
    fn any_record_line_is_read_or_refused(record in any_json()) {
        let line = format!("{{\"type\":\"RECORD\",\"stream\":\"s\",\"record\":{record}}}");
        let _ = parse_line(1, &line);
    }
}

/// JSON-like text, valid or not: nested arrays and objects of numbers, strings, literals.
fn any_json() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        "-?[0-9]{1,30}(\\.[0-9]{0,10})?([eE][-+]?[0-9]{1,4})?",
        "\"(\\PC|\\\\u[dD][89abAB][0-9a-f]{2}){0,10}\"",
        Just("true".to_string()),
        Just("null".to_string()),
        Just("1e400".to_string()),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6)
                .prop_map(|v| format!("[{}]", v.join(","))),
            proptest::collection::vec(("[a-zA-Z_ ]{1,8}", inner), 0..6).prop_map(|v| {
                let fields: Vec<String> =
                    v.into_iter().map(|(k, v)| format!("{:?}:{v}", k)).collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
}

/// Every line `input::spawn` hands over for a file holding `bytes`, read as `format`.
fn read_export(format: InputFormat, bytes: &[u8]) -> Vec<target_hubspot::input::Chunk> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export");
    std::fs::write(&path, bytes).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let inputs =
            target_hubspot::input::Inputs::resolve(Some(&path), format == InputFormat::Parquet)
                .unwrap();
        let export = target_hubspot::input::Export {
            stream: "s".into(),
            ..Default::default()
        };
        let mut lines =
            target_hubspot::input::spawn(format, inputs, export, Arc::new(AtomicU64::new(0)));
        let mut chunks = Vec::new();
        while let Some(chunk) = lines.recv().await {
            chunks.push(chunk);
        }
        chunks
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_csv_export_gives_records_or_an_error_that_ends_the_input(
        text in "([a-zA-Z\",;\\r\\n ]|\\PC){0,200}",
    ) {
        let chunks = read_export(InputFormat::Csv, text.as_bytes());
        // Only the last item may be an error, and every row is numbered by the file line it
        // starts on: after the synthesised SCHEMA (0), never decreasing (a quoted cell may
        // span lines, so numbers may skip; a lone `\r` ends a row but not a line).
        let errors = chunks.iter().filter(|c| c.is_err()).count();
        prop_assert!(errors <= 1);
        prop_assert!(errors == 0 || chunks.last().is_some_and(Result::is_err));
        let numbers: Vec<u64> = chunks.iter().flatten().flatten().map(|l| l.line.number).collect();
        prop_assert_eq!(numbers.first().copied(), Some(0));
        prop_assert!(numbers.windows(2).all(|w| w[0] <= w[1]), "{:?}", numbers);
        prop_assert!(numbers.iter().skip(1).all(|n| *n >= 1), "{:?}", numbers);
    }

    #[test]
    fn any_jsonl_export_gives_messages_or_errors_naming_their_line(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let chunks = read_export(InputFormat::Jsonl, &bytes);
        for line in chunks.iter().flatten().flatten() {
            if let Err(e) = &line.message {
                let prefix = format!("line {}: ", line.line.number);
                prop_assert!(e.to_string().starts_with(&prefix));
            }
        }
    }

    #[test]
    fn any_bytes_behind_a_compression_header_give_records_or_one_error_at_the_end(
        magic in prop_oneof![
            Just(vec![0x1f_u8, 0x8b]),
            Just(vec![0x28, 0xb5, 0x2f, 0xfd]),
            Just(b"BZh9".to_vec()),
        ],
        tail in proptest::collection::vec(any::<u8>(), 0..400),
        format in prop_oneof![Just(InputFormat::Csv), Just(InputFormat::Jsonl), Just(InputFormat::Singer)],
    ) {
        let mut bytes = magic;
        bytes.extend(tail);
        let chunks = read_export(format, &bytes);
        let errors = chunks.iter().filter(|c| c.is_err()).count();
        prop_assert!(errors <= 1);
        prop_assert!(errors == 0 || chunks.last().is_some_and(Result::is_err));
    }

    #[test]
    fn a_damaged_compressed_export_gives_records_or_one_error_at_the_end(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        codec in 0..3u8,
    ) {
        let text = support::exports::csv(&support::exports::people(30), &support::exports::PLAIN);
        let mut bytes = match codec {
            0 => support::exports::gzip(text.as_bytes()),
            1 => zstd::encode_all(text.as_bytes(), 3).unwrap(),
            _ => {
                use std::io::Write;
                let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
                e.write_all(text.as_bytes()).unwrap();
                e.finish().unwrap()
            }
        };
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= byte;
        }
        bytes.truncate(cut.index(bytes.len()) + 1);
        let chunks = read_export(InputFormat::Csv, &bytes);
        let errors = chunks.iter().filter(|c| c.is_err()).count();
        prop_assert!(errors <= 1);
        prop_assert!(errors == 0 || chunks.last().is_some_and(Result::is_err));
    }

    #[test]
    fn a_damaged_parquet_file_gives_records_or_one_error_at_the_end(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("good.parquet");
        support::exports::parquet(&support::exports::people(30), &path, 8);
        let mut bytes = std::fs::read(&path).unwrap();
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= byte;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        let chunks = read_export(InputFormat::Parquet, &bytes);
        let errors = chunks.iter().filter(|c| c.is_err()).count();
        prop_assert!(errors <= 1);
        prop_assert!(errors == 0 || chunks.last().is_some_and(Result::is_err));
        let records = chunks.iter().flatten().flatten().filter(|l| l.line.number > 0).count();
        prop_assert!(records <= 30);
    }
}
