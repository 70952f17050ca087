//! The ledger in Postgres (tokio-postgres), for runners with no disk that outlives them: the
//! tables `target_hubspot_*` in the URL's database (and schema, by the URL's `options`).
//!
//! Two connections: one for the batch tasks' lookups, one for settlement's transactions. The
//! lock is a session advisory lock on the writing connection, so it goes with the
//! connection (a killed run never leaves a stale lock behind).
//!
//! TLS as the URL's `sslmode` asks (libpq's rules: `prefer` by default, falling back to plain
//! when the server has no TLS; `require` refuses to go on without it), with rustls and the
//! system's trusted roots, as the HubSpot client verifies HubSpot.

use std::collections::HashMap;

use rustls_platform_verifier::ConfigVerifierExt;
use tokio::sync::Mutex;
use tokio_postgres::Client;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{Change, Entry, Fingerprint, LedgerError, SCHEMA_VERSION, Store};

/// The advisory lock's number: "target-hubspot ledger" as one 64-bit value.
const LOCK_ID: i64 = 0x7468_7562_6c65_6467;

const SCHEMA: &str = "
SET client_min_messages TO warning;
CREATE TABLE IF NOT EXISTS target_hubspot_meta (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS target_hubspot_scopes (
    id BIGSERIAL PRIMARY KEY,
    portal TEXT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (portal, name)
);
CREATE TABLE IF NOT EXISTS target_hubspot_runs (
    id BIGSERIAL PRIMARY KEY,
    started TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished TIMESTAMPTZ,
    pid BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS target_hubspot_ledger (
    scope BIGINT NOT NULL,
    key TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    run BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);
";

/// A ledger in a Postgres database.
pub(super) struct Postgres {
    /// The URL without its password, for messages.
    shown: String,
    reader: Client,
    /// `None` in a dry run.
    writer: Option<Mutex<Client>>,
}

/// The URL with any password replaced.
pub(super) fn without_password(url: &str) -> String {
    if is_key_value(url) {
        return mask_key_value(url);
    }
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            // libpq also takes the password as a query parameter.
            let pairs: Vec<(String, String)> = u
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k.eq_ignore_ascii_case("password") {
                        "***".to_string()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            if !pairs.is_empty() {
                u.query_pairs_mut().clear().extend_pairs(pairs);
            }
            u.to_string()
        }
        Err(_) => "a postgres:// URL".into(),
    }
}

/// Whether `location` is a libpq key=value connection string (`host=db dbname=crm …`).
pub(super) fn is_key_value(location: &str) -> bool {
    const KEYS: &[&str] = &[
        "host", "hostaddr", "port", "dbname", "user", "password", "sslmode", "options",
    ];
    location.split_whitespace().any(|part| {
        part.split_once('=')
            .is_some_and(|(k, _)| KEYS.contains(&k.trim().to_ascii_lowercase().as_str()))
    })
}

/// A key=value connection string with its password's value replaced by `***` (quoted
/// values, with spaces or escaped quotes, included).
fn mask_key_value(location: &str) -> String {
    let mut out = String::with_capacity(location.len());
    let mut rest = location;
    while let Some(at) = find_key(rest, "password") {
        out.push_str(&rest[..at]);
        out.push_str("password=***");
        let value = rest[at..]
            .split_once('=')
            .map_or("", |(_, v)| v)
            .trim_start();
        let skip = if let Some(quoted) = value.strip_prefix('\'') {
            let mut escaped = false;
            let end = quoted
                .char_indices()
                .find(|&(_, c)| {
                    let close = c == '\'' && !escaped;
                    escaped = c == '\\' && !escaped;
                    close
                })
                .map_or(quoted.len(), |(i, _)| i + 1);
            1 + end
        } else {
            value.find(char::is_whitespace).unwrap_or(value.len())
        };
        let consumed = rest.len() - value.len() + skip;
        rest = &rest[consumed.min(rest.len())..];
    }
    out.push_str(rest);
    out
}

/// Where `key=` starts a word of `text` (case-insensitively, spaces around `=` allowed).
fn find_key(text: &str, key: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(key) {
        let at = from + i;
        let starts_word = at == 0 || lower.as_bytes()[at - 1].is_ascii_whitespace();
        let after = lower[at + key.len()..].trim_start();
        if starts_word && after.starts_with('=') {
            return Some(at);
        }
        from = at + key.len();
    }
    None
}

#[cfg(test)]
mod password_tests {
    use super::*;

    #[test]
    fn every_form_of_password_is_masked() {
        for (given, shown) in [
            (
                "postgres://ann:s3cret@db.example/crm",
                "postgres://ann:***@db.example/crm",
            ),
            (
                "postgres://ann@db.example/crm?password=s3cret&sslmode=require",
                "postgres://ann@db.example/crm?password=***&sslmode=require",
            ),
            (
                "host=db.example password=s3cret dbname=crm",
                "host=db.example password=*** dbname=crm",
            ),
            (
                "host=db password = 's3 cr\\'et' dbname=crm",
                "host=db password=*** dbname=crm",
            ),
            ("PASSWORD=s3cret host=db", "password=*** host=db"),
        ] {
            let masked = without_password(given);
            assert!(!masked.contains("s3"), "{given} → {masked}");
            assert_eq!(masked, shown);
        }
        assert!(is_key_value("host=db dbname=crm"));
        assert!(!is_key_value("ledgers/crm=1.sqlite"));
        assert!(!is_key_value("/var/lib/ledger.sqlite"));
    }
}

impl Postgres {
    /// Connects to `url`; unless `read_only`, takes the lock and creates the tables.
    pub(super) async fn connect(url: &str, read_only: bool) -> Result<Self, LedgerError> {
        let shown = without_password(url);
        let fail = |e: tokio_postgres::Error| LedgerError::Store {
            store: shown.clone(),
            message: describe(&e),
        };
        let tls = rustls::ClientConfig::with_platform_verifier()
            .map(MakeRustlsConnect::new)
            .map_err(|e| LedgerError::Store {
                store: shown.clone(),
                message: format!("cannot set up TLS: {e}"),
            })?;
        let open = || async {
            let (client, connection) = tokio_postgres::connect(url, tls.clone())
                .await
                .map_err(fail)?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!("ledger connection closed: {e}");
                }
            });
            Ok::<_, LedgerError>(client)
        };
        let reader = open().await?;
        let writer = if read_only {
            None
        } else {
            let w = open().await?;
            let locked: bool = w
                .query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_ID])
                .await
                .map_err(fail)?
                .get(0);
            if !locked {
                let holder = w
                    .query_opt(
                        "SELECT a.pid, a.backend_start::text, coalesce(a.client_addr::text, 'local')
                         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                         WHERE l.locktype = 'advisory' AND l.granted
                           AND ((l.classid::bigint << 32) | l.objid::bigint) = $1",
                        &[&LOCK_ID],
                    )
                    .await
                    .ok()
                    .flatten()
                    .map(|r| {
                        format!(
                            "server process {} connected at {} from {}",
                            r.get::<_, i32>(0),
                            r.get::<_, String>(1),
                            r.get::<_, String>(2)
                        )
                    })
                    .unwrap_or_else(|| "unknown".into());
                return Err(LedgerError::Locked {
                    store: shown,
                    holder,
                });
            }
            w.batch_execute(SCHEMA).await.map_err(fail)?;
            Some(Mutex::new(w))
        };
        Ok(Self {
            shown,
            reader,
            writer,
        })
    }

    /// The URL without its password.
    pub(super) fn describe(&self) -> String {
        self.shown.clone()
    }

    fn fail(&self, e: tokio_postgres::Error) -> LedgerError {
        LedgerError::Store {
            store: self.shown.clone(),
            message: describe(&e),
        }
    }

    /// A read that treats missing tables (a dry run before the first real run) as empty.
    fn empty_if_missing<T: Default>(
        &self,
        r: Result<T, tokio_postgres::Error>,
    ) -> Result<T, LedgerError> {
        match r {
            Ok(t) => Ok(t),
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => {
                Ok(T::default())
            }
            Err(e) => Err(self.fail(e)),
        }
    }
}

/// The server's message, with its detail, not just "db error".
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            text
        }
    }
}

impl Store for Postgres {
    async fn begin(&self) -> Result<i64, LedgerError> {
        let Some(w) = &self.writer else {
            return Ok(0);
        };
        let w = w.lock().await;
        let version: Option<i64> = w
            .query_opt(
                "SELECT value FROM target_hubspot_meta WHERE name = 'schema_version'",
                &[],
            )
            .await
            .map_err(|e| self.fail(e))?
            .map(|r| r.get(0));
        match version {
            Some(v) if v > SCHEMA_VERSION => {
                return Err(LedgerError::Store {
                    store: self.describe(),
                    message: format!(
                        "written by a newer target-hubspot (layout {v}; this one knows {SCHEMA_VERSION}); upgrade, or use another ledger"
                    ),
                });
            }
            Some(_) => {}
            None => {
                w.execute(
                    "INSERT INTO target_hubspot_meta (name, value) VALUES ('schema_version', $1) ON CONFLICT DO NOTHING",
                    &[&SCHEMA_VERSION],
                )
                .await
                .map_err(|e| self.fail(e))?;
            }
        }
        let pid = i64::from(std::process::id());
        let run: i64 = w
            .query_one(
                "INSERT INTO target_hubspot_runs (pid) VALUES ($1) RETURNING id",
                &[&pid],
            )
            .await
            .map_err(|e| self.fail(e))?
            .get(0);
        Ok(run)
    }

    async fn scope(&self, portal: &str, name: &str) -> Result<i64, LedgerError> {
        if let Some(w) = &self.writer {
            let w = w.lock().await;
            let row = w
                .query_one(
                    "INSERT INTO target_hubspot_scopes (portal, name) VALUES ($1, $2)
                     ON CONFLICT (portal, name) DO UPDATE SET name = excluded.name RETURNING id",
                    &[&portal, &name],
                )
                .await
                .map_err(|e| self.fail(e))?;
            return Ok(row.get(0));
        }
        let found = self
            .reader
            .query_opt(
                "SELECT id FROM target_hubspot_scopes WHERE portal = $1 AND name = $2",
                &[&portal, &name],
            )
            .await
            .map(|r| r.map(|r| r.get::<_, i64>(0)));
        Ok(self.empty_if_missing(found)?.unwrap_or(-1))
    }

    async fn lookup(
        &self,
        scope: i64,
        keys: &[&str],
    ) -> Result<HashMap<String, Entry>, LedgerError> {
        let rows = self
            .reader
            .query(
                "SELECT key, record_id, hash FROM target_hubspot_ledger WHERE scope = $1 AND key = ANY($2)",
                &[&scope, &keys],
            )
            .await;
        let rows = self.empty_if_missing(rows)?;
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    r.get::<_, String>(0),
                    Entry {
                        id: super::id_of_column(r.get(1)),
                        hash: Fingerprint::from_bytes(r.get(2)),
                    },
                )
            })
            .collect())
    }

    async fn commit(&self, scope: i64, run: i64, changes: &[Change]) -> Result<(), LedgerError> {
        let Some(w) = &self.writer else {
            return Ok(());
        };
        let mut put_keys: Vec<&str> = Vec::new();
        let mut put_ids: Vec<i64> = Vec::new();
        let mut put_hashes: Vec<&[u8]> = Vec::new();
        let mut drops: Vec<&str> = Vec::new();
        for change in changes {
            match change {
                Change::Put { key, entry } => {
                    put_keys.push(key);
                    put_ids.push(super::id_column(entry.id));
                    put_hashes.push(&entry.hash.0);
                }
                Change::Drop { key } => drops.push(key),
            }
        }
        let mut w = w.lock().await;
        let tx = w.transaction().await.map_err(|e| self.fail(e))?;
        if !put_keys.is_empty() {
            tx.execute(
                "INSERT INTO target_hubspot_ledger (scope, key, record_id, hash, run)
                 SELECT $1, k, i, h, $5 FROM unnest($2::text[], $3::bigint[], $4::bytea[]) AS u(k, i, h)
                 ON CONFLICT (scope, key) DO UPDATE SET record_id = excluded.record_id, hash = excluded.hash, run = excluded.run",
                &[&scope, &put_keys, &put_ids, &put_hashes, &run],
            )
            .await
            .map_err(|e| self.fail(e))?;
        }
        if !drops.is_empty() {
            tx.execute(
                "DELETE FROM target_hubspot_ledger WHERE scope = $1 AND key = ANY($2)",
                &[&scope, &drops],
            )
            .await
            .map_err(|e| self.fail(e))?;
        }
        tx.commit().await.map_err(|e| self.fail(e))
    }

    async fn count(&self, scope: i64) -> Result<u64, LedgerError> {
        let n = self
            .reader
            .query_one(
                "SELECT count(*) FROM target_hubspot_ledger WHERE scope = $1",
                &[&scope],
            )
            .await
            .map(|r| r.get::<_, i64>(0) as u64);
        self.empty_if_missing(n)
    }

    async fn select(
        &self,
        scope: i64,
        keep: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Vec<(String, Option<i64>)>, LedgerError> {
        let rows = self
            .reader
            .query(
                "SELECT key, record_id FROM target_hubspot_ledger WHERE scope = $1",
                &[&scope],
            )
            .await;
        Ok(self
            .empty_if_missing(rows)?
            .into_iter()
            .filter_map(|r| {
                let key: String = r.get(0);
                keep(&key).then(|| (key, super::id_of_column(r.get::<_, i64>(1))))
            })
            .collect())
    }

    async fn finish(&self, run: i64) -> Result<(), LedgerError> {
        let Some(w) = &self.writer else {
            return Ok(());
        };
        w.lock()
            .await
            .execute(
                "UPDATE target_hubspot_runs SET finished = now() WHERE id = $1",
                &[&run],
            )
            .await
            .map_err(|e| self.fail(e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_shown_without_its_password() {
        assert_eq!(
            without_password("postgres://etl:hunter2@db.internal:5432/crm?sslmode=disable"),
            "postgres://etl:***@db.internal:5432/crm?sslmode=disable"
        );
        assert_eq!(
            without_password("postgres://etl@db/crm"),
            "postgres://etl@db/crm"
        );
        assert!(!without_password("postgres://:hunter2@/crm").contains("hunter2"));
    }
}
