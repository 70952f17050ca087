//! Command-line arguments.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use crate::config::ConfigSource;
pub use crate::input::InputFormat;

fn parse_source(arg: &str) -> Result<ConfigSource, String> {
    Ok(ConfigSource::parse(arg))
}

/// Loads Singer records into HubSpot CRM through batch upserts.
///
/// Reads Singer messages (SCHEMA, RECORD, STATE) from stdin or --input, upserts records in
/// batches of up to 100, appends every rejected record with its reason to the rejected-records
/// file, and writes each STATE to stdout once every record before it is settled.
#[derive(Debug, Parser)]
#[command(name = "target-hubspot", version, about, long_about)]
pub struct Args {
    /// Config file (JSON), or ENV for the TARGET_HUBSPOT_<SETTING> environment variables.
    /// Repeatable; sources merge in order and a later one wins. The environment is read only
    /// through --config ENV.
    #[arg(long, short = 'c', value_name = "FILE|ENV", value_parser = parse_source)]
    pub config: Vec<ConfigSource>,
    /// Read from PATH instead of stdin: a file (e.g. a rejected-records file to replay), a
    /// folder (its files in name order, skipping hidden ones, `_SUCCESS`-like markers and
    /// manifests), a quoted glob ('exports/data_*.csv.gz'), or - for stdin. gzip, zstd and
    /// bzip2 are recognised by content and read as they stream.
    #[arg(long, value_name = "PATH")]
    pub input: Option<PathBuf>,
    /// Shape of the input: Singer messages, or a warehouse export (JSONL, CSV, Parquet) whose
    /// rows become records of --stream.
    #[arg(long, value_enum, default_value_t = InputFormat::Singer)]
    pub input_format: InputFormat,
    /// The stream the rows of an export belong to (maps like any stream).
    #[arg(long, value_name = "NAME", required_if_eq_any = [("input_format", "jsonl"), ("input_format", "csv"), ("input_format", "parquet")])]
    pub stream: Option<String>,
    /// CSV: the character between cells: `,` (default), `|`, `;`, or `\t` for a tab.
    #[arg(long, value_name = "CHAR", value_parser = crate::input::csv::parse_delimiter, default_value = ",")]
    pub delimiter: u8,
    /// CSV without a header row: the names of its columns, in order (every file of the input
    /// is then read from its first line).
    #[arg(long, value_name = "NAME,…", value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// CSV: an unquoted cell equal to TEXT is a blank value (a quoted one stays text).
    /// Repeatable; default `\N` (Postgres, Snowflake and Hive write it for NULL). Giving
    /// --null replaces the default: add `--null '\N'` to keep it.
    #[arg(long, value_name = "TEXT", default_value = "\\N")]
    pub null: Vec<String>,
    /// CSV in Postgres's or Hive's text format: cells are never quoted and a backslash
    /// escapes (`\t`, `\n`, `\\`, …), as `COPY … TO` without `CSV` writes them.
    #[arg(long)]
    pub backslash_escapes: bool,
    /// The columns that identify a row of a JSONL or CSV export (the SCHEMA's
    /// `key_properties`): what a sync ledger knows rows of a stream without a unique key by.
    #[arg(
        long,
        value_name = "COLUMN,…",
        value_delimiter = ',',
        requires = "stream"
    )]
    pub key_properties: Vec<String>,
    /// Check credentials and every configured stream's mapping against HubSpot, write nothing,
    /// and exit 0 when all is well. With --input, also report how the input's columns (its
    /// SCHEMA messages, CSV header or first JSONL record) map to properties.
    #[arg(long, conflicts_with = "about")]
    pub check: bool,
    /// Read (properties, schemas), map, validate, batch and serialise every request a run
    /// would send, but send no write: no STATE, no rejected file. Prints the summary the run
    /// would have.
    #[arg(long, conflicts_with_all = ["about", "check"])]
    pub dry_run: bool,
    /// With --dry-run, write every request it would send to FILE as JSON lines
    /// (`method`, `path`, `body`).
    #[arg(long, value_name = "FILE", requires = "dry_run")]
    pub dry_run_output: Option<PathBuf>,
    /// With a ledger: send every record this run, whatever the ledger holds, and refresh it
    /// from HubSpot's answers.
    #[arg(long)]
    pub full_resync: bool,
    /// Print the target's name, capabilities and settings, then exit.
    #[arg(long)]
    pub about: bool,
    /// Format of --about.
    #[arg(long, value_enum, default_value_t = AboutFormat::Json, requires = "about")]
    pub format: AboutFormat,
    /// Log format on stderr. Default: json when Meltano asks for structured logs (its
    /// SINGER_SDK_LOG_CONFIG names the SDK's StructuredFormatter), else text.
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
}

/// `--about` output formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AboutFormat {
    /// Meltano SDK-style JSON.
    Json,
    /// A Markdown settings table.
    Markdown,
}

/// Log formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}
