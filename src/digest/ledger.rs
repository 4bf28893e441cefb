//! The ledger: one SQLite row per (digest, subscriber), moved `pending` → `sending` → `sent` or
//! `failed`, committed around every send; a subscriber none of whose categories has posts is
//! `empty`, and a send the run stopped before it could be tried goes back to `pending`. It is
//! what makes a digest go out exactly once:
//!
//! - a rerun sends only rows that are not `sent` (nor `empty`);
//! - a row found in `sending` when a run starts belonged to a run that stopped mid-send: whether
//!   the server got it is unknown, so it becomes `unknown` and is resent only when asked;
//! - one run at a time holds `ledger.lock` (an OS lock, released even if the process is killed).
//!
//! A file that is not a gazette ledger, or one written by a newer gazette, is refused and never
//! written to.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, ErrorCode, OpenFlags};

/// `gaze` in ASCII, stored as SQLite's `application_id`.
const APPLICATION_ID: i64 = 0x6761_7a65;
/// The schema version this gazette writes.
const VERSION: i64 = 1;

/// The ledger's file name in the state folder.
pub const FILE: &str = "ledger.sqlite3";
const LOCK: &str = "ledger.lock";

/// Why the ledger cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Another run holds the lock at this path.
    #[error("{0}: another `gazette digest` is running for this site (it holds this lock); wait for it to finish")]
    Busy(PathBuf),
    /// The file is not a gazette ledger.
    #[error("{path}: not a gazette ledger ({why}); refusing to touch it: move it aside to start a new ledger")]
    Foreign {
        /// The ledger's file.
        path: PathBuf,
        /// What the file is instead.
        why: String,
    },
    /// The ledger was written by a newer gazette, whose schema this one does not know.
    #[error("{path}: written by a newer gazette (ledger version {found}; this gazette knows version {VERSION}); refusing to change it: upgrade gazette")]
    Newer {
        /// The ledger's file.
        path: PathBuf,
        /// The schema version it records (SQLite's `user_version`).
        found: i64,
    },
    /// The state folder or the lock file could not be made or opened.
    #[error("{path}: {source}")]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// SQLite failed on the ledger.
    #[error("{path}: {source}")]
    Sql {
        /// The ledger's file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
}

/// A send's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Not sent yet: the next run sends it.
    Pending,
    /// Committed just before the message went to the server, whose answer is not in yet.
    Sending,
    /// The server accepted the message (or it was written to the outbox).
    Sent,
    /// Not delivered: the server refused it or the connection failed; `error` says why.
    Failed,
    /// Was being sent when a run stopped: the server may have it, so it is resent only when asked.
    Unknown,
    /// Nothing to send: none of the subscriber's categories had posts.
    Empty,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Sending => "sending",
            State::Sent => "sent",
            State::Failed => "failed",
            State::Unknown => "unknown",
            State::Empty => "empty",
        }
    }

    fn parse(text: &str) -> State {
        match text {
            "sending" => State::Sending,
            "sent" => State::Sent,
            "failed" => State::Failed,
            "unknown" => State::Unknown,
            "empty" => State::Empty,
            _ => State::Pending,
        }
    }
}

/// One row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Where the send stands.
    pub state: State,
    /// How many times the message has been handed to the server.
    pub attempts: i64,
    /// Why the send did not go through, or was put back; `None` when there is nothing to report.
    pub error: Option<String>,
    /// A 5xx: retried only when asked.
    pub permanent: bool,
}

/// The exclusive right to send digests for a site, held until dropped.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

/// Takes the run lock in `dir` (created if missing).
pub fn lock(dir: &Path) -> Result<RunLock, LedgerError> {
    let io = |source| LedgerError::Io {
        path: dir.to_path_buf(),
        source,
    };
    fs::create_dir_all(dir).map_err(io)?;
    let path = dir.join(LOCK);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| LedgerError::Io {
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(RunLock { _file: file }),
        Err(TryLockError::WouldBlock) => Err(LedgerError::Busy(path)),
        Err(TryLockError::Error(source)) => Err(LedgerError::Io { path, source }),
    }
}

/// A connection to the ledger. Each sending thread opens its own.
pub(crate) struct Ledger {
    conn: Connection,
    path: PathBuf,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Ledger {
    /// Opens (creating if missing) the ledger in `dir`, checking that it is one of ours.
    pub fn open(dir: &Path) -> Result<Ledger, LedgerError> {
        fs::create_dir_all(dir).map_err(|source| LedgerError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(FILE);
        let existed = path.exists();
        let sql = |source| LedgerError::Sql {
            path: path.clone(),
            source,
        };
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(sql)?;
        let ledger = Ledger {
            conn,
            path: path.clone(),
        };
        let (app, version) = ledger.identity().map_err(|e| match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => {
                LedgerError::Foreign {
                    path: path.clone(),
                    why: "the file is not an SQLite database, or is damaged".into(),
                }
            }
            _ => LedgerError::Sql {
                path: path.clone(),
                source: e,
            },
        })?;
        let has_tables: i64 = ledger
            .conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(sql)?;
        if existed && has_tables > 0 && app != APPLICATION_ID {
            return Err(LedgerError::Foreign {
                path,
                why: "an SQLite database of another program".into(),
            });
        }
        if version > VERSION {
            return Err(LedgerError::Newer {
                path,
                found: version,
            });
        }
        ledger
            .conn
            .execute_batch(&format!(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA application_id = {APPLICATION_ID};
                 PRAGMA user_version = {VERSION};
                 CREATE TABLE IF NOT EXISTS sends (
                     digest TEXT NOT NULL,
                     address TEXT NOT NULL,
                     state TEXT NOT NULL,
                     message_id TEXT NOT NULL,
                     attempts INTEGER NOT NULL DEFAULT 0,
                     error TEXT,
                     permanent INTEGER NOT NULL DEFAULT 0,
                     updated TEXT NOT NULL,
                     PRIMARY KEY (digest, address)
                 );
                 CREATE TABLE IF NOT EXISTS unsubscribed (
                     address TEXT PRIMARY KEY,
                     at TEXT NOT NULL
                 );"
            ))
            .map_err(sql)?;
        Ok(ledger)
    }

    fn identity(&self) -> rusqlite::Result<(i64, i64)> {
        let app = self
            .conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))?;
        let version = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        Ok((app, version))
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> LedgerError + '_ {
        move |source| LedgerError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    /// Records an unsubscribe; false when the address was already unsubscribed.
    pub fn unsubscribe(&self, address: &str) -> Result<bool, LedgerError> {
        let n = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO unsubscribed (address, at) VALUES (?1, ?2)",
                params![address.to_lowercase(), now()],
            )
            .map_err(self.sql())?;
        Ok(n == 1)
    }

    /// Every unsubscribed address (lower-cased).
    pub fn unsubscribed(&self) -> Result<HashSet<String>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT address FROM unsubscribed")
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// Adds a `pending` row for every (digest, address) not yet in the ledger, and turns rows
    /// left in `sending` by a stopped run into `unknown`. Returns the rows as they now stand.
    pub fn prepare(
        &mut self,
        digest: &str,
        entries: &[(String, String)],
    ) -> Result<HashMap<String, Row>, LedgerError> {
        let stamp = now();
        let path = self.path.clone();
        let sql = |source| LedgerError::Sql {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        tx.execute(
            "UPDATE sends SET state = 'unknown', error = 'the run sending it stopped before the server answered', updated = ?2
             WHERE digest = ?1 AND state = 'sending'",
            params![digest, stamp],
        )
        .map_err(sql)?;
        {
            let mut insert = tx
                .prepare("INSERT OR IGNORE INTO sends (digest, address, state, message_id, updated) VALUES (?1, ?2, 'pending', ?3, ?4)")
                .map_err(sql)?;
            for (address, message_id) in entries {
                insert
                    .execute(params![digest, address, message_id, stamp])
                    .map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)?;
        self.rows(digest)
    }

    /// The rows of one digest, by address.
    pub fn rows(&self, digest: &str) -> Result<HashMap<String, Row>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT address, state, attempts, error, permanent FROM sends WHERE digest = ?1",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([digest], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Row {
                        state: State::parse(&r.get::<_, String>(1)?),
                        attempts: r.get(2)?,
                        error: r.get(3)?,
                        permanent: r.get::<_, i64>(4)? != 0,
                    },
                ))
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// Marks a row `sending` (committed before the message is handed to the server).
    pub fn sending(&self, digest: &str, address: &str) -> Result<(), LedgerError> {
        self.set(digest, address, State::Sending, None, false, true)
    }

    /// Marks a row `sent`.
    pub fn sent(&self, digest: &str, address: &str) -> Result<(), LedgerError> {
        self.set(digest, address, State::Sent, None, false, false)
    }

    /// Marks a row `failed` (not delivered), permanently for a 5xx.
    pub fn failed(
        &self,
        digest: &str,
        address: &str,
        error: &str,
        permanent: bool,
    ) -> Result<(), LedgerError> {
        self.set(
            digest,
            address,
            State::Failed,
            Some(error),
            permanent,
            false,
        )
    }

    /// Puts a row back to `pending`: not sent, and to be sent by the next run (the run stopped
    /// before it could be tried, or it waits for another attempt). `error` says why.
    pub fn pending(
        &self,
        digest: &str,
        address: &str,
        error: Option<&str>,
    ) -> Result<(), LedgerError> {
        self.set(digest, address, State::Pending, error, false, false)
    }

    /// Marks a row `empty`: none of the subscriber's categories had posts, so there is nothing
    /// to send (a terminal state, like `sent`).
    pub fn empty(&self, digest: &str, address: &str) -> Result<(), LedgerError> {
        self.set(digest, address, State::Empty, None, false, false)
    }

    /// Marks a row `unknown`: handed over, but the server's answer never came.
    pub fn unknown(&self, digest: &str, address: &str, error: &str) -> Result<(), LedgerError> {
        self.set(digest, address, State::Unknown, Some(error), false, false)
    }

    fn set(
        &self,
        digest: &str,
        address: &str,
        state: State,
        error: Option<&str>,
        permanent: bool,
        attempt: bool,
    ) -> Result<(), LedgerError> {
        // Prepared once per connection: two of these run for every message sent.
        self.conn
            .prepare_cached(
                "UPDATE sends SET state = ?3, error = ?4, permanent = ?5, attempts = attempts + ?6, updated = ?7
                 WHERE digest = ?1 AND address = ?2",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    digest,
                    address,
                    state.as_str(),
                    error,
                    permanent as i64,
                    attempt as i64,
                    now()
                ])
            })
            .map_err(self.sql())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_move_through_states_and_stopped_sends_become_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::open(dir.path()).unwrap();
        let entries = vec![
            ("a@x.org".to_string(), "<1@x>".to_string()),
            ("b@x.org".to_string(), "<2@x>".to_string()),
        ];
        let rows = l.prepare("W1", &entries).unwrap();
        assert!(rows.values().all(|r| r.state == State::Pending));
        l.sending("W1", "a@x.org").unwrap();
        l.sent("W1", "a@x.org").unwrap();
        l.sending("W1", "b@x.org").unwrap();
        drop(l);
        // A new run: b was being sent when the last one stopped.
        let mut l = Ledger::open(dir.path()).unwrap();
        let rows = l.prepare("W1", &entries).unwrap();
        assert_eq!(rows["a@x.org"].state, State::Sent);
        assert_eq!(rows["b@x.org"].state, State::Unknown);
        assert_eq!(rows["b@x.org"].attempts, 1);
    }

    #[test]
    fn rows_go_back_to_pending_and_empty_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::open(dir.path()).unwrap();
        let entries = vec![
            ("a@x.org".to_string(), "<1@x>".to_string()),
            ("b@x.org".to_string(), "<2@x>".to_string()),
        ];
        l.prepare("W1", &entries).unwrap();
        l.sending("W1", "a@x.org").unwrap();
        l.pending("W1", "a@x.org", Some("stopped")).unwrap();
        l.empty("W1", "b@x.org").unwrap();
        drop(l);
        let mut l = Ledger::open(dir.path()).unwrap();
        let rows = l.prepare("W1", &entries).unwrap();
        assert_eq!(rows["a@x.org"].state, State::Pending);
        assert_eq!(rows["a@x.org"].error.as_deref(), Some("stopped"));
        assert_eq!(rows["b@x.org"].state, State::Empty);
    }

    #[test]
    fn one_run_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock(dir.path()).unwrap();
        let e = lock(dir.path()).unwrap_err();
        assert!(
            e.to_string()
                .contains("another `gazette digest` is running"),
            "{e}"
        );
        drop(first);
        lock(dir.path()).unwrap();
    }

    #[test]
    fn foreign_and_newer_files_are_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        fs::write(
            &path,
            b"this is not a database, but somebody's notes\n".repeat(200),
        )
        .unwrap();
        let before = fs::read(&path).unwrap();
        let e = Ledger::open(dir.path()).err().unwrap();
        assert!(e.to_string().contains("not a gazette ledger"), "{e}");
        assert_eq!(fs::read(&path).unwrap(), before);

        let dir = tempfile::tempdir().unwrap();
        Ledger::open(dir.path()).unwrap();
        let conn = Connection::open(dir.path().join(FILE)).unwrap();
        conn.execute_batch("PRAGMA user_version = 7").unwrap();
        drop(conn);
        let e = Ledger::open(dir.path()).err().unwrap();
        assert!(e.to_string().contains("ledger version 7"), "{e}");

        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join(FILE)).unwrap();
        conn.execute_batch("CREATE TABLE notes (x TEXT)").unwrap();
        drop(conn);
        let e = Ledger::open(dir.path()).err().unwrap();
        assert!(e.to_string().contains("another program"), "{e}");
    }

    #[test]
    fn unsubscribes_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(dir.path()).unwrap();
        assert!(l.unsubscribe("Li@Example.com").unwrap());
        assert!(!l.unsubscribe("li@example.com").unwrap());
        assert!(l.unsubscribed().unwrap().contains("li@example.com"));
    }
}
