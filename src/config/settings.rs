//! The settings table: every setting the target accepts, its kind, default and help, written
//! once; parsing, environment overrides and `--about` all read it.

/// What a setting holds, for environment parsing and `--about`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingKind {
    /// Text.
    String,
    /// A whole number.
    Integer,
    /// A number, fractions allowed.
    Number,
    /// `true` / `false`.
    Boolean,
    /// A JSON object.
    Object,
}

/// One documented setting.
#[derive(Debug, Clone, Copy)]
pub struct SettingDoc {
    /// Key in the config file.
    pub name: &'static str,
    /// Value type.
    pub kind: SettingKind,
    /// Default, as JSON text; `None` when there is none.
    pub default: Option<&'static str>,
    /// Whether the value is a credential.
    pub secret: bool,
    /// One-line description.
    pub description: &'static str,
}

/// Every setting the target accepts: the single source for parsing, env overrides and `--about`.
pub const SETTINGS: &[SettingDoc] = &[
    SettingDoc {
        name: "access_token",
        kind: SettingKind::String,
        default: None,
        secret: true,
        description: "Private-app access token (pat-…). Use this, or the three OAuth settings.",
    },
    SettingDoc {
        name: "client_id",
        kind: SettingKind::String,
        default: None,
        secret: false,
        description: "OAuth app client id (with client_secret and refresh_token).",
    },
    SettingDoc {
        name: "client_secret",
        kind: SettingKind::String,
        default: None,
        secret: true,
        description: "OAuth app client secret.",
    },
    SettingDoc {
        name: "refresh_token",
        kind: SettingKind::String,
        default: None,
        secret: true,
        description: "OAuth refresh token; access tokens are refreshed before they expire.",
    },
    SettingDoc {
        name: "base_url",
        kind: SettingKind::String,
        default: Some("\"https://api.hubapi.com\""),
        secret: false,
        description: "HubSpot API base URL. Plain http:// is allowed only for loopback hosts.",
    },
    SettingDoc {
        name: "api_version",
        kind: SettingKind::String,
        default: Some("\"2026-09\""),
        secret: false,
        description: "HubSpot API version the target calls: 2026-09, 2026-03 (dated) or v3 (the numbered routes, which HubSpot retires in 2027: OAuth v1 after 2027-02-16, v4 associations after 2027-03-30, v3 in September 2027).",
    },
    SettingDoc {
        name: "rejected_records_path",
        kind: SettingKind::String,
        default: Some("\"target-hubspot-rejected.jsonl\""),
        secret: false,
        description: "File that rejected records are appended to (mode 0600), as a replayable Singer stream. May hold {stream} and {run_started} (UTC YYYYMMDDTHHMMSSZ).",
    },
    SettingDoc {
        name: "summary_path",
        kind: SettingKind::String,
        default: None,
        secret: false,
        description: "When set, the end-of-run summary is written to this file as one JSON document: counts per stream and in total, rejections by category, code and property, the run's start, end and exit status. May hold {run_started}, as rejected_records_path does.",
    },
    SettingDoc {
        name: "batch_size",
        kind: SettingKind::Integer,
        default: Some("100"),
        secret: false,
        description: "Records per batch upsert request (1-100).",
    },
    SettingDoc {
        name: "max_concurrency",
        kind: SettingKind::Integer,
        default: Some("8"),
        secret: false,
        description: "Batch requests in flight at once (1-64).",
    },
    SettingDoc {
        name: "max_retries",
        kind: SettingKind::Integer,
        default: Some("5"),
        secret: false,
        description: "Retries of a request after 5xx, 423 or transport errors before its records are rejected.",
    },
    SettingDoc {
        name: "request_timeout_s",
        kind: SettingKind::Integer,
        default: Some("120"),
        secret: false,
        description: "Longest one request attempt may take, connection to last byte (1-3600).",
    },
    SettingDoc {
        name: "retry_budget_s",
        kind: SettingKind::Integer,
        default: Some("600"),
        secret: false,
        description: "Longest all attempts of one request may take, waits included, before its records are rejected as RETRIES_EXHAUSTED (1-86400).",
    },
    SettingDoc {
        name: "flush_interval_ms",
        kind: SettingKind::Integer,
        default: Some("1000"),
        secret: false,
        description: "Longest time a record waits in an open batch before it is sent.",
    },
    SettingDoc {
        name: "fail_on_reject",
        kind: SettingKind::Boolean,
        default: Some("false"),
        secret: false,
        description: "Exit 3 at the end when any record was rejected.",
    },
    SettingDoc {
        name: "unknown_fields",
        kind: SettingKind::String,
        default: Some("\"ignore\""),
        secret: false,
        description: "Fields that match no HubSpot property: ignore (not sent, one warning per stream), reject (UNKNOWN_FIELD) or create (a property is created). Default of every stream.",
    },
    SettingDoc {
        name: "blank_values",
        kind: SettingKind::String,
        default: Some("\"skip\""),
        secret: false,
        description: "null and blank strings: skip (not sent, HubSpot keeps its value) or clear (sent as \"\", which clears it). Default of every stream.",
    },
    SettingDoc {
        name: "truncate_dates",
        kind: SettingKind::Boolean,
        default: Some("false"),
        secret: false,
        description: "Keep only the date of a timestamp with a time of day sent to a date property, instead of rejecting it. Default of every stream.",
    },
    SettingDoc {
        name: "max_reject_rate",
        kind: SettingKind::Number,
        default: Some("0.5"),
        secret: false,
        description: "Stop the run (exit 1) when more than this share of the records read so far is rejected, judged in input order over records whose outcomes are all known once there are 100 (so the verdict does not depend on how fast HubSpot answers); 1 turns it off.",
    },
    SettingDoc {
        name: "search_lag_ms",
        kind: SettingKind::Integer,
        default: Some("3000"),
        secret: false,
        description: "HubSpot's search index trails writes by a second or two: a key that search does not find (association lookups by a searched property, update_only and hard_delete with match_property) is searched again after this long before it is declared missing. Records this run wrote are found without search. 0 searches once.",
    },
    SettingDoc {
        name: "ledger",
        kind: SettingKind::String,
        default: None,
        secret: true,
        description: "Sync ledger: a file path (SQLite) or a postgres:// URL. Records whose mapped values HubSpot already holds from an earlier run are UNCHANGED and not sent; create_only streams without a unique key stay idempotent; on_removed can mirror rows that left the source. Off when unset.",
    },
    SettingDoc {
        name: "ledger_timeout_s",
        kind: SettingKind::Integer,
        default: Some("120"),
        secret: false,
        description: "Longest a Postgres ledger may take to answer one operation (1-3600). The first that passes it stops the run with a CRITICAL line, and every later one fails at once.",
    },
    SettingDoc {
        name: "max_removed_rate",
        kind: SettingKind::Number,
        default: Some("0.2"),
        secret: false,
        description: "With on_removed, refuse the whole removal step (exit 1, nothing archived or cleared) when a run would remove more than this share of an object type's ledger keys.",
    },
    SettingDoc {
        name: "load_method",
        kind: SettingKind::String,
        default: Some("\"batch\""),
        secret: false,
        description: "batch (batch writes of up to 100 records a request) or import (CSV files through HubSpot's Imports API: a request per file instead of per 100 records, for first loads and re-syncs; errors mapped back to their records by line). Default of every stream.",
    },
    SettingDoc {
        name: "import_max_rows",
        kind: SettingKind::Integer,
        default: Some("1048576"),
        secret: false,
        description: "With load_method import: rows per import file (HubSpot's limit, 1,048,576, is the most). A file is also sent when the records held reach 64 MiB, and at the end of the input.",
    },
    SettingDoc {
        name: "import_max_bytes",
        kind: SettingKind::Integer,
        default: Some("512000000"),
        secret: false,
        description: "With load_method import: bytes per import file (HubSpot's limit, 512 MB, is the most).",
    },
    SettingDoc {
        name: "import_timeout_s",
        kind: SettingKind::Integer,
        default: Some("14400"),
        secret: false,
        description: "With load_method import: the longest one import may take from upload to its errors read (10-604800 s); past it the import is cancelled and its records stay unacknowledged (exit 1).",
    },
    SettingDoc {
        name: "streams",
        kind: SettingKind::Object,
        default: Some("{}"),
        secret: false,
        description: "Per stream name: how its records map to HubSpot (object_type, id_property, id_field or match_property, properties, drop, write_mode, hard_delete, unknown_fields, blank_values, truncate_dates, associations, on_removed, load_method); see the JSON schema in --about and the README.",
    },
];
