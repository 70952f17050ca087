//! `target-hubspot`: CLI entry. Arguments → config → run → exit code.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use target_hubspot::cli::{AboutFormat, Args, LogFormat};
use target_hubspot::config::Config;
use target_hubspot::error::FatalError;
use target_hubspot::hubspot::dry_run::DryRun;
use target_hubspot::hubspot::{ApiVersion, Client, Limits};
use target_hubspot::ledger::Ledger;
use target_hubspot::output::progress::Progress;
use target_hubspot::output::rejected::{self, RejectedSink};
use target_hubspot::output::state_out::StateOut;
use target_hubspot::shutdown::Shutdown;

/// Longest the process waits at exit for stdout to take the STATE lines still queued.
const STDOUT_DRAIN: std::time::Duration = std::time::Duration::from_secs(3);
use target_hubspot::output::report::ExitStatus;
use target_hubspot::{about, check, input, run};

/// Exit codes; documented in the README.
mod exit {
    /// A fatal error stopped the run.
    pub const FATAL: u8 = 1;
    /// Every record has an outcome, some were rejected, and `fail_on_reject` is set.
    pub const REJECTED: u8 = 3;
    /// Stopped by SIGINT after settling what was read.
    pub const SIGINT: u8 = 130;
    /// Stopped by SIGTERM after settling what was read.
    pub const SIGTERM: u8 = 143;
}

/// What Meltano asks of a plugin's logs through `SINGER_SDK_LOG_CONFIG` (a Python logging
/// config): structured JSON lines when it names the SDK's `StructuredFormatter`, and the root
/// logger's level.
fn meltano_logging() -> (Option<LogFormat>, Option<String>) {
    let Some(text) = std::env::var_os("SINGER_SDK_LOG_CONFIG")
        .and_then(|path| std::fs::read_to_string(path).ok())
    else {
        return (None, None);
    };
    let config: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let format = text
        .contains("StructuredFormatter")
        .then_some(LogFormat::Json);
    let level = config["root"]["level"].as_str().map(|l| match l {
        "WARNING" => "warn".to_string(),
        "CRITICAL" => "error".to_string(),
        other => other.to_lowercase(),
    });
    (format, level)
}

fn init_logging(requested: Option<LogFormat>) -> LogFormat {
    let (meltano_format, meltano_level) = meltano_logging();
    let format = requested.or(meltano_format).unwrap_or(LogFormat::Text);
    let filter = tracing_subscriber::EnvFilter::try_from_env("TARGET_HUBSPOT_LOG")
        .or_else(|_| {
            tracing_subscriber::EnvFilter::try_new(meltano_level.as_deref().unwrap_or("info"))
        })
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_writer(|| target_hubspot::output::progress::LogWriter)
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .event_format(target_hubspot::output::logline::MeltanoJson)
            .init(),
    }
    format
}

/// The log format in force, for lines written outside tracing.
static LOG_FORMAT: std::sync::OnceLock<LogFormat> = std::sync::OnceLock::new();

/// Writes one `CRITICAL` line on stderr (a JSON object with `--log-format json`).
fn critical_line(message: &str) {
    match LOG_FORMAT.get() {
        Some(LogFormat::Json) => eprintln!(
            "{}",
            target_hubspot::output::logline::json_line("CRITICAL", message, Default::default())
        ),
        _ => eprintln!("CRITICAL {message}"),
    }
}

/// Creates (or truncates) a file only its owner can read: it will hold records.
fn private_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).write(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// The files `--input` names and how an export's rows become records.
fn input_plan(args: &Args) -> Result<(input::Inputs, input::Export), FatalError> {
    let rows = args.input_format == input::InputFormat::Parquet;
    let inputs = input::Inputs::resolve(args.input.as_deref(), rows)
        .map_err(|e| FatalError::Io(e.to_string()))?;
    let export = input::Export {
        stream: args.stream.clone().unwrap_or_default(),
        key_properties: args.key_properties.clone(),
        dialect: input::csv::Dialect {
            delimiter: args.delimiter,
            columns: args.columns.clone(),
            nulls: args.null.clone(),
            backslash_escapes: args.backslash_escapes,
        },
    };
    Ok((inputs, export))
}

/// After a second signal, how long the run may take to flush what it wrote and end.
const SECOND_SIGNAL_EXIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Reports a fatal error once, as the run's one `CRITICAL` line, and gives exit code 1.
fn critical(error: &FatalError) -> ExitCode {
    critical_line(&error.to_string());
    ExitCode::from(exit::FATAL)
}

/// `--check`: the credentials, and every configured stream set up as a run would.
async fn check(config: &Config, client: &Client, args: &Args) -> ExitCode {
    let (columns, hint) = match &args.input {
        Some(_) => match input_plan(args).and_then(|(inputs, export)| {
            input::columns(args.input_format, &inputs, &export)
                .map_err(|e| FatalError::Io(format!("cannot read --input: {e}")))
        }) {
            Ok(c) => c,
            Err(e) => return critical(&e),
        },
        None => Default::default(),
    };
    match config.api_version {
        ApiVersion::V3 => tracing::warn!(
            "api_version v3: the numbered routes; {}. Set api_version to 2026-09",
            ApiVersion::V3.retired().unwrap_or_default()
        ),
        v => tracing::info!(
            "api_version {v}{}",
            v.retired().map(|r| format!(" ({r})")).unwrap_or_default()
        ),
    }
    match check::check(config, client, &columns, hint.as_deref()).await {
        Err(fatal) => critical(&fatal),
        Ok(0) => {
            tracing::info!(
                "check passed: credentials accepted and every configured stream can be written as configured"
            );
            ExitCode::SUCCESS
        }
        Ok(problems) => {
            critical_line(&format!(
                "check failed: {problems} stream(s) cannot be loaded as configured"
            ));
            ExitCode::from(exit::FATAL)
        }
    }
}

async fn shutdown_signal() -> u8 {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return exit::SIGINT,
                _ = term.recv() => return exit::SIGTERM,
            }
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    exit::SIGINT
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("CRITICAL cannot start the async runtime: {e}");
            return ExitCode::from(exit::FATAL);
        }
    };
    let code = runtime.block_on(run_target());
    // A reader blocked on stdin (e.g. after SIGTERM) must not hold the process open.
    runtime.shutdown_background();
    code
}

async fn run_target() -> ExitCode {
    let args = Args::parse();
    if args.about {
        match args.format {
            AboutFormat::Json => println!("{:#}", about::json()),
            AboutFormat::Markdown => print!("{}", about::markdown()),
        }
        return ExitCode::SUCCESS;
    }
    let log_format = init_logging(args.log_format);
    let _ = LOG_FORMAT.set(log_format);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = match Config::load(&args.config, std::env::vars()) {
        Ok(c) => c,
        Err(e) => return critical(&e.into()),
    };
    let limits = Limits {
        max_retries: config.max_retries,
        request_timeout: config.request_timeout,
        retry_budget: config.retry_budget,
        max_concurrency: config.max_concurrency,
    };
    let routes = target_hubspot::hubspot::Routes::new(config.api_version);
    // One shutdown for every wait, from here on: startup reads, the ledger, the run.
    let shutdown = Shutdown::new();
    let signal_code = Arc::new(std::sync::atomic::AtomicU8::new(exit::SIGINT));
    {
        let (shutdown, code) = (shutdown.clone(), signal_code.clone());
        tokio::spawn(async move {
            code.store(shutdown_signal().await, std::sync::atomic::Ordering::SeqCst);
            shutdown.signal();
            // A second signal while draining means "stop now": requests on the wire are
            // abandoned at once (their records stay unacknowledged and are sent again by the
            // next run), and the run ends as it does after the grace, so the rejected file is
            // still flushed. Should that take more than a few seconds, the process exits.
            let again = shutdown_signal().await;
            code.store(again, std::sync::atomic::Ordering::SeqCst);
            critical_line(
                "stopped by a second signal before in-flight records were settled: requests on the wire are abandoned now and their records stay unacknowledged",
            );
            shutdown.abandon_now();
            tokio::time::sleep(SECOND_SIGNAL_EXIT).await;
            std::process::exit(i32::from(again));
        });
    }
    // A wait a signal ended is not a failure: the process exits with the signal's code.
    let stopped = |e: &FatalError| {
        matches!(e, FatalError::Interrupted).then(|| {
            tracing::warn!("stopped by a signal before any record was read");
            ExitCode::from(signal_code.load(std::sync::atomic::Ordering::SeqCst))
        })
    };
    let mut client = match Client::new(
        config.base_url.clone(),
        config.credentials.clone(),
        limits,
        routes,
        shutdown.clone(),
    ) {
        Ok(c) => c,
        Err(e) => return critical(&e),
    };
    if args.dry_run {
        let out = match &args.dry_run_output {
            None => None,
            Some(path) => match private_file(path) {
                Ok(f) => Some(f),
                Err(e) => {
                    return critical(&FatalError::Io(format!(
                        "cannot create --dry-run-output {}: {e}",
                        path.display()
                    )));
                }
            },
        };
        client.dry_run = Some(DryRun::new(out));
    }
    let client = Arc::new(client);
    if args.check {
        return check(&config, &client, &args).await;
    }
    let (inputs, export) = match input_plan(&args) {
        Ok(plan) => plan,
        Err(e) => return critical(&e),
    };
    let input_paths: Vec<PathBuf> = match &inputs {
        input::Inputs::Stdin => Vec::new(),
        input::Inputs::Files(files) => files.iter().map(|f| f.path.clone()).collect(),
    };
    let total_bytes = inputs.total_bytes();
    let bytes_read = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let lines = input::spawn(args.input_format, inputs, export, bytes_read.clone());
    let terminal = matches!(log_format, LogFormat::Text)
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let progress = Progress::new(total_bytes, bytes_read, terminal);
    if let Some(dir) = config
        .rejected_records_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.to_string_lossy().contains('{'))
        && !dir.is_dir()
    {
        return critical(&FatalError::Io(format!(
            "rejected_records_path {}: the folder {} does not exist",
            config.rejected_records_path.display(),
            dir.display()
        )));
    }
    let run_started = rejected::run_started_stamp(time::OffsetDateTime::now_utc());
    let input_paths: Vec<&std::path::Path> = input_paths.iter().map(PathBuf::as_path).collect();
    let mut sink = RejectedSink::new(&config.rejected_records_path, &run_started, &input_paths);
    if args.dry_run {
        sink = sink.dry_run();
    }
    let ledger = match &config.ledger {
        None if args.full_resync => {
            tracing::warn!(
                "--full-resync has no effect without a ledger: every record is sent anyway"
            );
            None
        }
        None => None,
        Some(location) => {
            let portal = match client.portal_id().await {
                Ok(p) => p,
                Err(e) => return stopped(&e).unwrap_or_else(|| critical(&e)),
            };
            let open = Ledger::open(
                location.expose(),
                portal,
                args.full_resync,
                args.dry_run,
                (config.ledger_timeout, shutdown.clone()),
            );
            match open.await {
                Ok(l) => {
                    tracing::info!(ledger = %l.describe(), full_resync = args.full_resync, "sync ledger open");
                    Some(Arc::new(l))
                }
                Err(e) => {
                    let e = e.into();
                    return stopped(&e).unwrap_or_else(|| critical(&e));
                }
            }
        }
    };
    let fail_on_reject = config.fail_on_reject;
    let summary_path = config.summary_path.clone();
    let stdout = StateOut::spawn();
    let end = run::run(
        config,
        client.clone(),
        lines,
        run::Outputs {
            sink,
            stdout: stdout.clone(),
            progress,
        },
        ledger,
        shutdown.clone(),
    )
    .await;
    // The last STATE goes out when stdout takes it, never holding the exit past a bound.
    if !stdout.drain(STDOUT_DRAIN) {
        tracing::warn!(
            "stdout did not take the last STATE within {} s (nothing reads it?); exiting without it",
            STDOUT_DRAIN.as_secs()
        );
    }
    end.summary
        .log(matches!(LOG_FORMAT.get(), Some(LogFormat::Json)));
    if let Some(dry) = &client.dry_run {
        if let Err(e) = dry.finish() {
            return critical(&FatalError::Io(format!(
                "cannot write --dry-run-output: {e}"
            )));
        }
        tracing::info!(
            "dry run: {} write request(s) prepared and none sent; no STATE and no rejected file were written; \"created\" above means \"would be written\"",
            dry.writes.load(std::sync::atomic::Ordering::Relaxed)
        );
    }
    let interrupted_code = signal_code.load(std::sync::atomic::Ordering::SeqCst);
    let rejected_fail = fail_on_reject && end.summary.rejected() > 0;
    let status = match (&end.fatal, end.interrupted) {
        (Some(_), _) => ExitStatus {
            code: exit::FATAL,
            meaning: "fatal",
        },
        (None, true) => ExitStatus {
            code: interrupted_code,
            meaning: "interrupted",
        },
        (None, false) if rejected_fail => ExitStatus {
            code: exit::REJECTED,
            meaning: "rejected",
        },
        (None, false) => ExitStatus {
            code: 0,
            meaning: "ok",
        },
    };
    if let Some(path) = &summary_path {
        let path = PathBuf::from(
            path.display()
                .to_string()
                .replace(rejected::RUN_STARTED_PLACEHOLDER, &run_started),
        );
        let text = format!("{:#}\n", end.summary.to_json(status));
        if let Err(e) = std::fs::write(&path, text) {
            return critical(&FatalError::Io(format!(
                "cannot write summary_path {}: {e}",
                path.display()
            )));
        }
    }
    if let Some(fatal) = &end.fatal {
        return critical(fatal);
    }
    if end.interrupted {
        tracing::warn!(
            "stopped by a signal; the last safe STATE was written, and records not covered by it are sent again by the next run"
        );
        return ExitCode::from(status.code);
    }
    if rejected_fail {
        tracing::error!(
            "{} record(s) rejected and fail_on_reject is set",
            end.summary.rejected()
        );
    }
    ExitCode::from(status.code)
}

/// jemalloc: records are allocated on the mapping threads and freed on the batch tasks', which
/// glibc's allocator serialises on an arena lock.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
