//! Settings the Singer way: `--config FILE` and `--config ENV` sources merged in the order
//! given (later ones win), validated into a [`Config`] whose credentials are one of two valid
//! shapes. Environment variables (`TARGET_HUBSPOT_<SETTING>`) apply only through `--config
//! ENV`, at its position, as the Meltano SDK reads them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;

use crate::secret::Secret;

mod settings;
mod sources;

pub use settings::{SETTINGS, SettingDoc, SettingKind};
pub use sources::env_var;
use sources::{env_settings, numbers_from_strings, read_object};

/// Default `max_reject_rate`.
pub const DEFAULT_MAX_REJECT_RATE: f64 = 0.5;

/// Default `max_removed_rate`.
pub const DEFAULT_MAX_REMOVED_RATE: f64 = 0.2;

/// HubSpot's production API.
pub const DEFAULT_BASE_URL: &str = "https://api.hubapi.com";

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A config file is not a JSON object.
    #[error("config file {path} is not a JSON object: {reason}")]
    NotAnObject {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// An environment variable does not hold a value of the setting's type.
    #[error("environment variable {var}: {reason}")]
    Env {
        /// The variable.
        var: String,
        /// What is wrong.
        reason: String,
    },
    /// Unknown setting, wrong type or missing field.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// How the target authenticates.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// A private-app token that does not expire.
    PrivateApp(Secret),
    /// An OAuth app whose access tokens are refreshed.
    OAuth {
        /// App client id.
        client_id: String,
        /// App client secret.
        client_secret: Secret,
        /// The installation's refresh token.
        refresh_token: Secret,
    },
}

/// How one stream maps to HubSpot.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    /// Object type: `contacts`, `companies`, `0-3`, `p123_car`, …
    pub object_type: String,
    /// The property that identifies records: `email` on contacts, else a unique-value property.
    pub id_property: Option<String>,
    /// The record field that holds HubSpot's record id (instead of `id_property`): records are
    /// updated by id and never created.
    pub id_field: Option<String>,
    /// A property without unique values to find records by (`domain` on companies), through
    /// HubSpot's search: one match is updated, none created, several rejected.
    pub match_property: Option<String>,
    /// Records whose `_sdc_deleted_at` is set archive the matching HubSpot record (none:
    /// `SKIPPED`). Off: they are written like any other record.
    #[serde(default)]
    pub hard_delete: bool,
    /// Record field → HubSpot property (`null` drops the field). Unlisted fields keep their name.
    #[serde(default)]
    pub properties: BTreeMap<String, Option<String>>,
    /// Associations to create from fields of each record.
    #[serde(default)]
    pub associations: Vec<AssociationConfig>,
    /// With a ledger: what happens to HubSpot records whose key left the source.
    #[serde(default)]
    pub on_removed: OnRemoved,
    /// `upsert` (default) creates or updates; `update_only` never creates.
    #[serde(default)]
    pub write_mode: WriteMode,
    /// Record fields never sent (works where config cannot hold `null`, e.g. under Meltano).
    #[serde(default)]
    pub drop: Vec<String>,
    /// What to do with fields that match no property; the top-level setting when unset.
    pub unknown_fields: Option<UnknownFields>,
    /// What `null` and blank strings mean; the top-level setting when unset.
    pub blank_values: Option<BlankValues>,
    /// Keep the date of a `date` value that has a time of day; the top-level setting when unset.
    pub truncate_dates: Option<bool>,
    /// `batch` or `import`; the top-level setting when unset.
    pub load_method: Option<LoadMethod>,
}

/// How a stream's records reach HubSpot.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LoadMethod {
    /// Batch writes of up to 100 records a request (`batch/upsert` and its kin).
    #[default]
    Batch,
    /// CSV files through HubSpot's Imports API: one request per file, processed by HubSpot;
    /// errors mapped back to their records by line.
    Import,
}

/// The Imports API's limits the target keeps (`load_method: import`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportSettings {
    /// Rows per import file (HubSpot: at most 1,048,576).
    pub max_rows: usize,
    /// Bytes per import file (HubSpot: at most 512 MB).
    pub max_bytes: usize,
    /// Longest one import may take, from upload to its errors read.
    pub timeout: std::time::Duration,
}

/// What happens to a record field that matches no HubSpot property.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UnknownFields {
    /// Not sent; one warning per stream, listed in the summary.
    #[default]
    Ignore,
    /// The record is rejected locally as `UNKNOWN_FIELD`.
    Reject,
    /// A property is created for it (group `target_hubspot`), then used.
    Create,
}

/// What `null` and strings that are empty after trimming mean.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BlankValues {
    /// Not sent: the value in HubSpot stays as it is.
    #[default]
    Skip,
    /// Sent as `""`, which clears the value in HubSpot.
    Clear,
}

/// What a run with a ledger does to records whose key the ledger holds but the run did not
/// read (`on_removed`).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OnRemoved {
    /// Nothing (an incremental export does not hold every row).
    #[default]
    Ignore,
    /// Their mapped properties are set to `""`.
    Clear,
    /// They are archived.
    Archive,
}

/// What a stream may do to HubSpot.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum WriteMode {
    /// Create records that do not exist, update those that do.
    #[default]
    Upsert,
    /// Update existing records only; a record with no match is rejected as `NOT_FOUND`.
    UpdateOnly,
    /// Create records only: with a key, a record whose key exists is skipped; without one,
    /// every record is created.
    CreateOnly,
}

/// An association each record asks for: `field` holds the key (or an array of keys) of the
/// records to associate with.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AssociationConfig {
    /// The record field holding the other record's key; it is not sent as a property.
    pub field: String,
    /// The other record's object type.
    pub to_object_type: String,
    /// The property `field` matches on the other type: `hs_object_id` (HubSpot record ids),
    /// `email` on contacts, a unique-value property, or any other property (found through
    /// search; several matches reject the association as ambiguous).
    #[serde(default = "record_id_property", alias = "to_match")]
    pub to_id_property: String,
    /// An association type id; HubSpot's default association when unset (and no `label`).
    pub type_id: Option<u32>,
    /// The category of `type_id`: `HUBSPOT_DEFINED` (the default) or `USER_DEFINED`.
    #[serde(default)]
    pub category: AssociationCategory,
    /// Instead of `type_id`: an association label, resolved through HubSpot's labels API at
    /// startup.
    pub label: Option<String>,
    /// Set at startup: `to_id_property` has no unique values, so keys are found by search.
    #[serde(skip)]
    pub searched: bool,
}

/// Who defined an association type.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AssociationCategory {
    /// One of HubSpot's own types.
    #[default]
    HubspotDefined,
    /// A label the portal created.
    UserDefined,
}

impl AssociationCategory {
    /// The name HubSpot's API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HubspotDefined => "HUBSPOT_DEFINED",
            Self::UserDefined => "USER_DEFINED",
        }
    }
}

fn record_id_property() -> String {
    "hs_object_id".to_string()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    access_token: Option<Secret>,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    refresh_token: Option<Secret>,
    base_url: Option<String>,
    api_version: Option<String>,
    rejected_records_path: Option<PathBuf>,
    summary_path: Option<PathBuf>,
    batch_size: Option<u64>,
    max_concurrency: Option<u64>,
    max_retries: Option<u32>,
    request_timeout_s: Option<u64>,
    retry_budget_s: Option<u64>,
    flush_interval_ms: Option<u64>,
    fail_on_reject: Option<bool>,
    unknown_fields: Option<UnknownFields>,
    blank_values: Option<BlankValues>,
    truncate_dates: Option<bool>,
    max_reject_rate: Option<f64>,
    search_lag_ms: Option<u64>,
    ledger: Option<Secret>,
    ledger_timeout_s: Option<u64>,
    max_removed_rate: Option<f64>,
    load_method: Option<LoadMethod>,
    import_max_rows: Option<u64>,
    import_max_bytes: Option<u64>,
    import_timeout_s: Option<u64>,
    #[serde(default)]
    streams: BTreeMap<String, StreamConfig>,
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// How to authenticate.
    pub credentials: Credentials,
    /// API base URL without a trailing slash.
    pub base_url: Url,
    /// The HubSpot API version called.
    pub api_version: crate::hubspot::ApiVersion,
    /// Where rejected records are appended.
    pub rejected_records_path: PathBuf,
    /// Where the end-of-run summary is written as JSON, if anywhere.
    pub summary_path: Option<PathBuf>,
    /// Records per request, 1..=100.
    pub batch_size: usize,
    /// Requests in flight.
    pub max_concurrency: usize,
    /// Retries after retryable failures.
    pub max_retries: u32,
    /// One attempt's limit.
    pub request_timeout: std::time::Duration,
    /// All attempts' limit.
    pub retry_budget: std::time::Duration,
    /// Longest wait of a record in an open batch.
    pub flush_interval: std::time::Duration,
    /// Exit 3 when anything was rejected.
    pub fail_on_reject: bool,
    /// Explicit stream mappings.
    pub streams: BTreeMap<String, StreamConfig>,
    /// Default `unknown_fields` of every stream.
    pub unknown_fields: UnknownFields,
    /// Default `blank_values` of every stream.
    pub blank_values: BlankValues,
    /// Default `truncate_dates` of every stream.
    pub truncate_dates: bool,
    /// Share of rejected records (once 100 have an outcome) past which the run stops; `1` never.
    pub max_reject_rate: f64,
    /// How long a key search did not find waits before it is searched again.
    pub search_lag: std::time::Duration,
    /// Where the sync ledger is (a file path or a `postgres://` URL), if anywhere.
    pub ledger: Option<Secret>,
    /// Longest a networked ledger may take to answer one operation.
    pub ledger_timeout: std::time::Duration,
    /// Largest share of an object type's ledger keys `on_removed` may remove in one run.
    pub max_removed_rate: f64,
    /// Default `load_method` of every stream.
    pub load_method: LoadMethod,
    /// The Imports API's limits.
    pub imports: ImportSettings,
}

/// The object types a stream may be named after to map without configuration.
pub const STANDARD_OBJECT_TYPES: &[&str] = &[
    "contacts",
    "companies",
    "deals",
    "tickets",
    "products",
    "line_items",
    "quotes",
    "calls",
    "emails",
    "meetings",
    "notes",
    "tasks",
];

/// Where settings come from: one `--config` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// A JSON file.
    File(PathBuf),
    /// `--config ENV`: the environment's `TARGET_HUBSPOT_<SETTING>` variables.
    Env,
}

impl ConfigSource {
    /// `ENV` names the environment; anything else is a file path.
    pub fn parse(arg: &str) -> Self {
        if arg == "ENV" {
            Self::Env
        } else {
            Self::File(PathBuf::from(arg))
        }
    }
}

impl Config {
    /// Merges `sources` in order (a later source's settings win over an earlier one's) and
    /// validates. `env` is read only where a source is [`ConfigSource::Env`].
    pub fn load(
        sources: &[ConfigSource],
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let env: BTreeMap<String, String> = env.into_iter().collect();
        let mut merged = Map::new();
        for source in sources {
            match source {
                ConfigSource::File(path) => merged.extend(read_object(path)?),
                ConfigSource::Env => merged.extend(env_settings(&env)?),
            }
        }
        Self::from_value(Value::Object(merged))
    }

    /// Validates an already merged JSON object.
    pub fn from_value(mut value: Value) -> Result<Self, ConfigError> {
        numbers_from_strings(&mut value)?;
        let raw: RawConfig = serde_path_to_error::deserialize(value).map_err(setting_error)?;
        let credentials = match (
            raw.access_token,
            raw.client_id,
            raw.client_secret,
            raw.refresh_token,
        ) {
            (Some(token), None, None, None) => Credentials::PrivateApp(token),
            (None, Some(client_id), Some(client_secret), Some(refresh_token)) => {
                Credentials::OAuth {
                    client_id,
                    client_secret,
                    refresh_token,
                }
            }
            (None, None, None, None) => {
                return Err(ConfigError::Invalid(
                    "no credentials: set access_token, or client_id + client_secret + refresh_token".into(),
                ));
            }
            (Some(_), ..) => {
                return Err(ConfigError::Invalid(
                    "set either access_token or the OAuth settings (client_id, client_secret, refresh_token), not both"
                        .into(),
                ));
            }
            _ => {
                return Err(ConfigError::Invalid(
                    "OAuth needs all three of client_id, client_secret and refresh_token".into(),
                ));
            }
        };
        let base_url = parse_base_url(raw.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))?;
        let api_version = match &raw.api_version {
            None => crate::hubspot::ApiVersion::default(),
            Some(v) => v.parse().map_err(ConfigError::Invalid)?,
        };
        let batch_size = in_range(
            "batch_size",
            raw.batch_size,
            100,
            1..=100,
            " (HubSpot's batch limit)",
        )?;
        let max_concurrency = in_range("max_concurrency", raw.max_concurrency, 8, 1..=64, "")?;
        let request_timeout_s = in_range(
            "request_timeout_s",
            raw.request_timeout_s,
            120,
            1..=3600,
            "",
        )?;
        let retry_budget_s = in_range("retry_budget_s", raw.retry_budget_s, 600, 1..=86_400, "")?;
        let search_lag_ms = in_range("search_lag_ms", raw.search_lag_ms, 3000, 0..=60_000, "")?;
        let ledger_timeout_s =
            in_range("ledger_timeout_s", raw.ledger_timeout_s, 120, 1..=3600, "")?;
        let max_reject_rate = raw.max_reject_rate.unwrap_or(DEFAULT_MAX_REJECT_RATE);
        if !(0.0..=1.0).contains(&max_reject_rate) {
            return Err(ConfigError::Invalid(format!(
                "max_reject_rate must be between 0 and 1 (1 turns the check off), got {max_reject_rate}"
            )));
        }
        let max_removed_rate = raw.max_removed_rate.unwrap_or(DEFAULT_MAX_REMOVED_RATE);
        if !(0.0..=1.0).contains(&max_removed_rate) {
            return Err(ConfigError::Invalid(format!(
                "max_removed_rate must be between 0 and 1, got {max_removed_rate}"
            )));
        }
        let load_method = raw.load_method.unwrap_or_default();
        let imports = ImportSettings {
            max_rows: in_range(
                "import_max_rows",
                raw.import_max_rows,
                1_048_576,
                1..=1_048_576,
                " (HubSpot's limit per import file)",
            )? as usize,
            max_bytes: in_range(
                "import_max_bytes",
                raw.import_max_bytes,
                512_000_000,
                1024..=512_000_000,
                " (HubSpot's limit per import file)",
            )? as usize,
            timeout: std::time::Duration::from_secs(in_range(
                "import_timeout_s",
                raw.import_timeout_s,
                4 * 3600,
                10..=7 * 86_400,
                "",
            )?),
        };
        if load_method == LoadMethod::Import && raw.blank_values == Some(BlankValues::Clear) {
            return Err(ConfigError::Invalid(
                "load_method import cannot clear values: HubSpot's imports leave a property whose cell is blank as it is (blank_values clear); use load_method batch".into(),
            ));
        }
        for (name, stream) in &raw.streams {
            if stream.load_method.unwrap_or(load_method) == LoadMethod::Import {
                check_importable(name, stream, raw.blank_values.unwrap_or_default())?;
            }
            if stream.on_removed != OnRemoved::Ignore && raw.ledger.is_none() {
                return Err(ConfigError::Invalid(format!(
                    "streams.{name}.on_removed needs a ledger: the ledger is what knows which keys earlier runs loaded; set ledger to a file path or a postgres:// URL"
                )));
            }
            if stream.object_type.trim().is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "streams.{name}.object_type is empty"
                )));
            }
        }
        Ok(Self {
            credentials,
            base_url,
            api_version,
            rejected_records_path: raw
                .rejected_records_path
                .unwrap_or_else(|| PathBuf::from("target-hubspot-rejected.jsonl")),
            summary_path: raw.summary_path,
            batch_size: batch_size as usize,
            max_concurrency: max_concurrency as usize,
            max_retries: raw.max_retries.unwrap_or(5),
            request_timeout: std::time::Duration::from_secs(request_timeout_s),
            retry_budget: std::time::Duration::from_secs(retry_budget_s),
            flush_interval: std::time::Duration::from_millis(
                raw.flush_interval_ms.unwrap_or(1000).max(1),
            ),
            fail_on_reject: raw.fail_on_reject.unwrap_or(false),
            streams: raw.streams,
            unknown_fields: raw.unknown_fields.unwrap_or_default(),
            blank_values: raw.blank_values.unwrap_or_default(),
            truncate_dates: raw.truncate_dates.unwrap_or(false),
            max_reject_rate,
            search_lag: std::time::Duration::from_millis(search_lag_ms),
            ledger: raw.ledger.filter(|l| !l.expose().trim().is_empty()),
            ledger_timeout: std::time::Duration::from_secs(ledger_timeout_s),
            max_removed_rate,
            load_method,
            imports,
        })
    }

    /// The mapping of `stream`: its configuration, or the object type it is named after
    /// (`contacts` defaults to `id_property: email`). `None` when it maps to nothing.
    /// The top-level defaults (`unknown_fields`, `blank_values`, `truncate_dates`) fill what
    /// the stream leaves unset.
    pub fn stream(&self, stream: &str) -> Option<StreamConfig> {
        let mut s = match self.streams.get(stream) {
            Some(s) => s.clone(),
            None if STANDARD_OBJECT_TYPES.contains(&stream) => StreamConfig {
                object_type: stream.to_string(),
                id_property: None,
                id_field: None,
                match_property: None,
                hard_delete: false,
                on_removed: OnRemoved::Ignore,
                properties: BTreeMap::new(),
                associations: Vec::new(),
                write_mode: WriteMode::Upsert,
                drop: Vec::new(),
                unknown_fields: None,
                blank_values: None,
                truncate_dates: None,
                load_method: None,
            },
            None => return None,
        };
        if s.id_property.is_none()
            && s.id_field.is_none()
            && s.match_property.is_none()
            && is_contacts(&s.object_type)
        {
            s.id_property = Some("email".into());
        }
        s.unknown_fields.get_or_insert(self.unknown_fields);
        s.blank_values.get_or_insert(self.blank_values);
        s.truncate_dates.get_or_insert(self.truncate_dates);
        s.load_method.get_or_insert(self.load_method);
        Some(s)
    }
}

/// Refuses what an import cannot do for stream `name`: HubSpot's Imports API matches rows
/// only by a record id or a unique value, reads a blank cell as "leave as is", and neither
/// archives nor reports the ids of what it wrote.
fn check_importable(
    name: &str,
    stream: &StreamConfig,
    default_blanks: BlankValues,
) -> Result<(), ConfigError> {
    let refuse = |what: &str| {
        Err(ConfigError::Invalid(format!(
            "streams.{name}: load_method import {what}; use load_method batch for this stream"
        )))
    };
    if stream.match_property.is_some() {
        return refuse(
            "matches rows by a record id or a unique value only (HubSpot's imports cannot match by match_property)",
        );
    }
    if stream.blank_values.unwrap_or(default_blanks) == BlankValues::Clear {
        return refuse(
            "cannot clear values: HubSpot's imports leave a property whose cell is blank as it is (blank_values clear)",
        );
    }
    if stream.hard_delete {
        return refuse("cannot archive records (hard_delete)");
    }
    if stream.on_removed != OnRemoved::Ignore {
        return refuse(
            "does not learn the ids of the records it writes, which on_removed archives or clears by",
        );
    }
    let keyless = stream.id_property.is_none()
        && stream.id_field.is_none()
        && !is_contacts(&stream.object_type);
    if keyless && !stream.associations.is_empty() {
        return refuse(
            "cannot associate records without a key (set id_property): their ids are found by key after the import",
        );
    }
    Ok(())
}

/// Whether an object type names contacts (in any case, as HubSpot reads names).
pub fn is_contacts(object_type: &str) -> bool {
    ["contacts", "contact", "0-1"]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(object_type))
}

/// A whole-number setting, its default when unset, refused outside `range`.
fn in_range(
    name: &str,
    value: Option<u64>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
    why: &str,
) -> Result<u64, ConfigError> {
    let value = value.unwrap_or(default);
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError::Invalid(format!(
            "{name} must be {}-{}{why}, got {value}",
            range.start(),
            range.end()
        )))
    }
}

/// A deserialisation error naming the setting it is about. The value of a secret setting is
/// never shown (serde's messages quote the value: "invalid type: integer `8675309…`").
fn setting_error(e: serde_path_to_error::Error<serde_json::Error>) -> ConfigError {
    let path = e.path().to_string();
    let top = path.split(['.', '[']).next().unwrap_or_default();
    let secret = SETTINGS.iter().any(|s| s.secret && s.name == top);
    let inner = e.into_inner().to_string();
    let message = if secret {
        format!("{path}: not a string (the value is not shown: it is a secret)")
    } else if path == "." || path.is_empty() || path == top && inner.starts_with("unknown field") {
        inner
    } else {
        format!("{path}: {inner}")
    };
    ConfigError::Invalid(message)
}

fn parse_base_url(text: &str) -> Result<Url, ConfigError> {
    let shown = crate::secret::redact_userinfo(text);
    let url = Url::parse(text.trim_end_matches('/'))
        .map_err(|e| ConfigError::Invalid(format!("base_url {shown:?} is not a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::Invalid(format!(
            "base_url {shown:?} holds a user name or password; credentials go in access_token or the OAuth settings, never in the URL"
        )));
    }
    let text = shown.as_str();
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(ConfigError::Invalid(format!(
            "base_url {text:?} uses plain http; only https is allowed except for loopback hosts"
        ))),
        other => Err(ConfigError::Invalid(format!(
            "base_url scheme {other:?} is not http(s)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_settings_are_refused_by_name() {
        let err = Config::from_value(json!({"access_token": "pat-x", "batchsize": 5})).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `batchsize`"),
            "{err}"
        );
    }

    #[test]
    fn numbers_and_booleans_written_as_strings_are_read_as_such() {
        // What `meltano config set` writes for a setting declared without a kind.
        let c = Config::from_value(json!({"access_token": "t", "max_reject_rate": "0.9",
            "batch_size": " 50", "fail_on_reject": "true", "search_lag_ms": "0"}))
        .unwrap();
        assert_eq!(c.max_reject_rate, 0.9);
        assert_eq!(c.batch_size, 50);
        assert!(c.fail_on_reject);
        assert!(c.search_lag.is_zero());
        let err = Config::from_value(json!({"access_token": "t", "max_reject_rate": "most"}))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration: max_reject_rate: \"most\" is not a number"
        );
    }

    #[test]
    fn credentials_must_be_one_complete_shape() {
        assert!(Config::from_value(json!({})).is_err());
        assert!(Config::from_value(json!({"client_id": "a", "client_secret": "b"})).is_err());
        assert!(Config::from_value(json!({"access_token": "t", "client_id": "a"})).is_err());
        let c = Config::from_value(
            json!({"client_id": "a", "client_secret": "b", "refresh_token": "c"}),
        )
        .unwrap();
        assert!(matches!(c.credentials, Credentials::OAuth { .. }));
    }

    #[test]
    fn plain_http_only_on_loopback_and_batch_size_in_range() {
        let with = |extra: Value| {
            let mut v = json!({"access_token": "t"});
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            Config::from_value(v)
        };
        assert!(with(json!({"base_url": "http://127.0.0.1:9000"})).is_ok());
        assert!(with(json!({"base_url": "http://example.com"})).is_err());
        assert!(with(json!({"batch_size": 101})).is_err());
        assert!(with(json!({"batch_size": 0})).is_err());
    }

    #[test]
    fn the_environment_applies_only_through_config_env_at_its_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        std::fs::write(&path, r#"{"access_token": "file", "batch_size": 10}"#).unwrap();
        let env = || {
            vec![
                ("TARGET_HUBSPOT_BATCH_SIZE".to_string(), "20".to_string()),
                ("TARGET_HUBSPOT_ACCESS_TOKEN".to_string(), "env".to_string()),
            ]
        };
        let file = ConfigSource::File(path.clone());
        let batch = |sources: &[ConfigSource]| Config::load(sources, env()).unwrap().batch_size;
        assert_eq!(
            batch(std::slice::from_ref(&file)),
            10,
            "file alone: env ignored"
        );
        assert_eq!(batch(&[ConfigSource::Env]), 20, "ENV alone");
        assert_eq!(
            batch(&[file.clone(), ConfigSource::Env]),
            20,
            "ENV after the file wins"
        );
        assert_eq!(
            batch(&[ConfigSource::Env, file.clone()]),
            10,
            "the file after ENV wins"
        );
        let bad = [(
            "TARGET_HUBSPOT_FAIL_ON_REJECT".to_string(),
            "maybe".to_string(),
        )];
        assert!(
            Config::load(&[file, ConfigSource::Env], bad)
                .unwrap_err()
                .to_string()
                .contains("TARGET_HUBSPOT_FAIL_ON_REJECT")
        );
    }

    #[test]
    fn meltanos_flattened_streams_are_understood_or_ignored() {
        let env = [
            ("TARGET_HUBSPOT_ACCESS_TOKEN".to_string(), "t".to_string()),
            (
                "TARGET_HUBSPOT_STREAMS".to_string(),
                r#"{"customers.object_type": "contacts", "customers.id_property": "email", "accounts": {"object_type": "companies"}}"#.to_string(),
            ),
            ("TARGET_HUBSPOT_STREAMS_CUSTOMERS_OBJECT_TYPE".to_string(), "contacts".to_string()),
        ];
        let c = Config::load(&[ConfigSource::Env], env).unwrap();
        assert_eq!(c.streams["customers"].object_type, "contacts");
        assert_eq!(c.streams["customers"].id_property.as_deref(), Some("email"));
        assert_eq!(c.streams["accounts"].object_type, "companies");
    }

    #[test]
    fn streams_named_after_object_types_map_themselves() {
        let c = Config::from_value(
            json!({"access_token": "t", "streams": {"people": {"object_type": "contacts"}}}),
        )
        .unwrap();
        assert_eq!(
            c.stream("people").unwrap().id_property.as_deref(),
            Some("email")
        );
        assert_eq!(
            c.stream("contacts").unwrap().id_property.as_deref(),
            Some("email")
        );
        assert_eq!(c.stream("deals").unwrap().id_property, None);
        assert!(c.stream("orders").is_none());
        // A capitalised object type keeps the email default (it lost it).
        let c = Config::from_value(
            json!({"access_token": "t", "streams": {"people": {"object_type": "Contacts"}}}),
        )
        .unwrap();
        assert_eq!(
            c.stream("people").unwrap().id_property.as_deref(),
            Some("email")
        );
    }
}

#[cfg(test)]
mod error_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_name_the_setting_and_never_show_a_secret_or_userinfo() {
        let err = |v: Value| Config::from_value(v).unwrap_err().to_string();
        insta::assert_snapshot!(err(json!({"access_token": 8675309123456789u64})), @"invalid configuration: access_token: not a string (the value is not shown: it is a secret)");
        insta::assert_snapshot!(err(json!({"access_token": "t", "batch_size": "eight"})), @r#"invalid configuration: batch_size: "eight" is not a whole number"#);
        insta::assert_snapshot!(err(json!({"access_token": "t", "streams": {"c": {"object_type": 5}}})), @"invalid configuration: streams.c.object_type: invalid type: integer `5`, expected a string");
        insta::assert_snapshot!(err(json!({"access_token": "t", "base_url": "https://user:hunter2@api.hubapi.com"})), @r#"invalid configuration: base_url "https://***@api.hubapi.com" holds a user name or password; credentials go in access_token or the OAuth settings, never in the URL"#);
        assert!(
            !err(json!({"client_id": "a", "client_secret": ["s3cr3t"], "refresh_token": "r"}))
                .contains("s3cr3t")
        );
    }
}

#[cfg(test)]
mod drift_tests {
    use super::*;

    #[test]
    fn the_parser_takes_exactly_the_documented_settings() {
        // serde lists every field it knows in its unknown-field error.
        let err = serde_json::from_value::<RawConfig>(serde_json::json!({"no_such_setting": 1}))
            .unwrap_err()
            .to_string();
        let listed = err.split("expected one of ").nth(1).unwrap_or_default();
        let parsed: Vec<&str> = listed
            .split(", ")
            .map(|n| n.trim().trim_matches('`'))
            .collect();
        let documented: Vec<&str> = SETTINGS.iter().map(|s| s.name).collect();
        assert_eq!(
            parsed, documented,
            "SETTINGS and RawConfig must list the same settings, in order"
        );
    }

    #[test]
    fn the_documented_defaults_are_the_ones_applied() {
        let c = Config::from_value(serde_json::json!({"access_token": "pat-x"})).unwrap();
        let applied = [
            ("batch_size", c.batch_size.to_string()),
            ("max_concurrency", c.max_concurrency.to_string()),
            ("max_retries", c.max_retries.to_string()),
            ("request_timeout_s", c.request_timeout.as_secs().to_string()),
            ("retry_budget_s", c.retry_budget.as_secs().to_string()),
            (
                "flush_interval_ms",
                c.flush_interval.as_millis().to_string(),
            ),
            ("max_reject_rate", c.max_reject_rate.to_string()),
        ];
        for (name, value) in applied {
            let doc = SETTINGS.iter().find(|s| s.name == name).unwrap();
            assert_eq!(doc.default, Some(value.as_str()), "{name}");
        }
    }
}
