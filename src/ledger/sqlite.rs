//! The ledger in an embedded SQLite file (rusqlite, bundled): WAL, so lookups from batch
//! tasks never wait for the settlement's writes. `synchronous = NORMAL`: a commit survives
//! the process being killed; a power cut may lose the last commits, which only makes the
//! next run send those records again.
//!
//! The lock is an OS lock on `<file>-lock`, next to the file's real path (every spelling of
//! it, a symlink included, takes the same lock), so it goes with the process that held it (a
//! killed run never leaves a stale lock behind).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::{Change, Entry, Fingerprint, LedgerError, SCHEMA_VERSION, Store};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS scopes (
    id INTEGER PRIMARY KEY,
    portal TEXT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (portal, name)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    finished TEXT,
    pid INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    scope INTEGER NOT NULL,
    key TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    hash BLOB NOT NULL,
    run INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
";

/// A ledger file.
pub(super) struct Sqlite {
    path: PathBuf,
    /// Lookups (batch tasks).
    reader: Option<Mutex<Connection>>,
    /// Settlement's writes; `None` in a dry run.
    writer: Option<Mutex<Connection>>,
    /// Held for the run's life: the lock.
    _lock: Option<File>,
}

impl Sqlite {
    /// Opens (creating unless `read_only`) the ledger at `path` and takes its lock.
    pub(super) fn open(path: &Path, read_only: bool) -> Result<Self, LedgerError> {
        let fail = |e: &dyn std::fmt::Display| LedgerError::Store {
            store: path.display().to_string(),
            message: e.to_string(),
        };
        if read_only {
            // A dry run reads what is there; a ledger not yet written holds nothing.
            let reader = if path.exists() {
                let c = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(|e| fail(&e))?;
                Some(Mutex::new(c))
            } else {
                None
            };
            return Ok(Self {
                path: path.to_path_buf(),
                reader,
                writer: None,
                _lock: None,
            });
        }
        let lock = take_lock(path)?;
        let writer = Connection::open(path).map_err(|e| fail(&e))?;
        writer
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .map_err(|e| fail(&e))?;
        writer
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| fail(&e))?;
        writer.execute_batch(SCHEMA).map_err(|e| fail(&e))?;
        let reader = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| fail(&e))?;
        Ok(Self {
            path: path.to_path_buf(),
            reader: Some(Mutex::new(reader)),
            writer: Some(Mutex::new(writer)),
            _lock: Some(lock),
        })
    }

    /// The file, for messages.
    pub(super) fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn fail(&self, e: impl std::fmt::Display) -> LedgerError {
        LedgerError::Store {
            store: self.describe(),
            message: e.to_string(),
        }
    }

    fn with_writer<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<Option<T>, LedgerError> {
        let Some(w) = &self.writer else {
            return Ok(None);
        };
        let mut c = w.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut c).map(Some).map_err(|e| self.fail(e))
    }

    fn with_reader<T: Default>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, LedgerError> {
        let Some(r) = &self.reader else {
            return Ok(T::default());
        };
        let c = r.lock().unwrap_or_else(|e| e.into_inner());
        match f(&c) {
            Ok(t) => Ok(t),
            // A dry run on a ledger file made by an older layout, or not yet holding tables.
            Err(rusqlite::Error::SqliteFailure(_, Some(m))) if m.starts_with("no such table") => {
                Ok(T::default())
            }
            Err(e) => Err(self.fail(e)),
        }
    }
}

/// Takes the OS lock on `<path>-lock` and writes who holds it into the file.
fn take_lock(path: &Path) -> Result<File, LedgerError> {
    // The file's real path, so every spelling of it (a symlink, `./`, a relative path) locks
    // the same `-lock` file. (A hard link is another name for the same file that nothing
    // can tell apart from here; the lock follows the name the run was given.)
    let real = std::fs::canonicalize(path)
        .or_else(|_| {
            // Not created yet: its folder's real path and its name.
            let name = path.file_name().ok_or(std::io::ErrorKind::InvalidInput)?;
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            std::fs::canonicalize(parent).map(|p| p.join(name))
        })
        .unwrap_or_else(|_| path.to_path_buf());
    let path = real.as_path();
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push("-lock");
    let store = path.display().to_string();
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| LedgerError::Store {
            store: store.clone(),
            message: format!("cannot open {}: {e}", Path::new(&lock_path).display()),
        })?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            return Err(LedgerError::Locked {
                store,
                holder: if holder.trim().is_empty() {
                    "unknown".into()
                } else {
                    holder.trim().to_string()
                },
            });
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(LedgerError::Store {
                store,
                message: format!("cannot lock: {e}"),
            });
        }
    }
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = write!(file, "pid {}, started {}", std::process::id(), now());
    let _ = file.flush();
    Ok(file)
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Store for Sqlite {
    async fn begin(&self) -> Result<i64, LedgerError> {
        let store = self.describe();
        let run = self.with_writer(|c| {
            let tx = c.transaction()?;
            let version: Option<i64> = tx
                .query_row(
                    "SELECT value FROM meta WHERE name = 'schema_version'",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            if version.is_none() {
                tx.execute(
                    "INSERT INTO meta (name, value) VALUES ('schema_version', ?1)",
                    [SCHEMA_VERSION],
                )?;
            }
            tx.execute(
                "INSERT INTO runs (started, pid) VALUES (?1, ?2)",
                params![now(), std::process::id()],
            )?;
            let run = tx.last_insert_rowid();
            tx.commit()?;
            Ok((version, run))
        })?;
        match run {
            Some((Some(v), _)) if v > SCHEMA_VERSION => Err(LedgerError::Store {
                store,
                message: format!(
                    "written by a newer target-hubspot (layout {v}; this one knows {SCHEMA_VERSION}); upgrade, or use another ledger"
                ),
            }),
            Some((_, run)) => Ok(run),
            None => Ok(0),
        }
    }

    async fn scope(&self, portal: &str, name: &str) -> Result<i64, LedgerError> {
        let find = |c: &Connection| {
            c.query_row(
                "SELECT id FROM scopes WHERE portal = ?1 AND name = ?2",
                params![portal, name],
                |r| r.get::<_, i64>(0),
            )
            .optional()
        };
        let written = self.with_writer(|c| {
            if let Some(id) = find(c)? {
                return Ok(id);
            }
            c.execute(
                "INSERT INTO scopes (portal, name) VALUES (?1, ?2)",
                params![portal, name],
            )?;
            Ok(c.last_insert_rowid())
        })?;
        match written {
            Some(id) => Ok(id),
            // Read only: a scope never written holds nothing.
            None => Ok(self
                .with_reader(|c| find(c).map(|id| Some(id.unwrap_or(-1))))?
                .unwrap_or(-1)),
        }
    }

    async fn lookup(
        &self,
        scope: i64,
        keys: &[&str],
    ) -> Result<HashMap<String, Entry>, LedgerError> {
        self.with_reader(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT record_id, hash FROM entries WHERE scope = ?1 AND key = ?2",
            )?;
            let mut found = HashMap::new();
            for key in keys {
                let row = stmt
                    .query_row(params![scope, key], |r| {
                        Ok(Entry {
                            id: super::id_of_column(r.get(0)?),
                            hash: Fingerprint::from_bytes(&r.get::<_, Vec<u8>>(1)?),
                        })
                    })
                    .optional()?;
                if let Some(entry) = row {
                    found.insert((*key).to_string(), entry);
                }
            }
            Ok(found)
        })
    }

    async fn commit(&self, scope: i64, run: i64, changes: &[Change]) -> Result<(), LedgerError> {
        self.with_writer(|c| {
            let tx = c.transaction()?;
            {
                let mut put = tx.prepare_cached(
                    "INSERT INTO entries (scope, key, record_id, hash, run) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (scope, key) DO UPDATE SET record_id = excluded.record_id, hash = excluded.hash, run = excluded.run",
                )?;
                let mut drop = tx.prepare_cached("DELETE FROM entries WHERE scope = ?1 AND key = ?2")?;
                for change in changes {
                    match change {
                        Change::Put { key, entry } => {
                            put.execute(params![
                                scope,
                                key,
                                super::id_column(entry.id),
                                &entry.hash.0[..],
                                run
                            ])?;
                        }
                        Change::Drop { key } => {
                            drop.execute(params![scope, key])?;
                        }
                    }
                }
            }
            tx.commit()
        })?;
        Ok(())
    }

    async fn count(&self, scope: i64) -> Result<u64, LedgerError> {
        self.with_reader(|c| {
            c.query_row(
                "SELECT count(*) FROM entries WHERE scope = ?1",
                [scope],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
        })
    }

    async fn select(
        &self,
        scope: i64,
        keep: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Vec<(String, Option<i64>)>, LedgerError> {
        self.with_reader(|c| {
            let mut stmt = c.prepare("SELECT key, record_id FROM entries WHERE scope = ?1")?;
            let mut rows = stmt.query([scope])?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                let key: String = row.get(0)?;
                if keep(&key) {
                    out.push((key, super::id_of_column(row.get(1)?)));
                }
            }
            Ok(out)
        })
    }

    async fn finish(&self, run: i64) -> Result<(), LedgerError> {
        self.with_writer(|c| {
            c.execute(
                "UPDATE runs SET finished = ?1 WHERE id = ?2",
                params![now(), run],
            )
            .map(|_| ())
        })?;
        Ok(())
    }
}
