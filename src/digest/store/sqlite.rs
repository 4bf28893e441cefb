//! [`SubscriberStore`] over SQLite: `<state>/subscribers.sqlite3`, in WAL mode so that readers
//! (a digest preparing its list) never wait for the writer and the writer never waits for them.
//! Every change is one `BEGIN IMMEDIATE` transaction: one writer at a time, a second waits for
//! the busy timeout (5 s unless [`SqliteStore::set_busy_timeout`] says otherwise) and then fails
//! with [`StoreError::Busy`]. Commits are synchronous (`synchronous = FULL`): sign-ups are few, and
//! a confirmed one must survive a power cut.
//!
//! As the ledger does, the store carries its own `application_id` and a schema version
//! (`user_version`): a file that is not a gazette store, or one a newer gazette wrote, is refused
//! before anything is written to it. Opening an existing store writes nothing.
//!
//! Confirmation tokens come from SQLite's `randomblob()`, which draws from the operating
//! system's random source.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use lettre::Address;
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};

use super::{
    clean_categories, clean_name, Confirmation, Counts, Imported, SignUp, Status, StoreError,
    SubscriberStore, Subscription, Token, Which,
};
use crate::digest::subscribers::Subscriber;

/// `gzsb` in ASCII, stored as SQLite's `application_id` (the ledger's is `gaze`: neither file
/// can be taken for the other).
const APPLICATION_ID: i64 = 0x677a_7362;
/// The schema version this gazette writes.
const VERSION: i64 = 1;

/// The store's file name in the state folder.
pub const FILE: &str = "subscribers.sqlite3";

const COLUMNS: &str =
    "id, address, name, categories, status, created, updated, confirmed, unsubscribed";

/// The subscriber store in one SQLite file. One connection; open one per thread.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn stamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn categories_json(categories: &[String]) -> String {
    serde_json::Value::from(clean_categories(categories)).to_string()
}

/// A row as SQLite returns it, before it is checked.
struct RawRow {
    id: i64,
    address: String,
    name: Option<String>,
    categories: String,
    status: String,
    created: String,
    updated: String,
    confirmed: Option<String>,
    unsubscribed: Option<String>,
}

impl RawRow {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
        Ok(RawRow {
            id: r.get(0)?,
            address: r.get(1)?,
            name: r.get(2)?,
            categories: r.get(3)?,
            status: r.get(4)?,
            created: r.get(5)?,
            updated: r.get(6)?,
            confirmed: r.get(7)?,
            unsubscribed: r.get(8)?,
        })
    }

    fn check(self, path: &Path) -> Result<Subscription, StoreError> {
        let id = self.id;
        let damaged = |what| StoreError::Damaged {
            path: path.to_path_buf(),
            id,
            what,
        };
        let time = |text: &str, what| {
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| damaged(what))
        };
        let optional_time = |text: Option<String>, what| text.map(|t| time(&t, what)).transpose();
        Ok(Subscription {
            id,
            address: self
                .address
                .parse()
                .map_err(|_| damaged("the address is not an email address"))?,
            name: self.name,
            categories: serde_json::from_str(&self.categories)
                .map_err(|_| damaged("the categories are not a JSON list of strings"))?,
            status: Status::parse(&self.status).ok_or_else(|| damaged("unknown status"))?,
            created: time(&self.created, "the creation time is not an RFC 3339 time")?,
            updated: time(&self.updated, "the update time is not an RFC 3339 time")?,
            confirmed: optional_time(
                self.confirmed,
                "the confirmation time is not an RFC 3339 time",
            )?,
            unsubscribed: optional_time(
                self.unsubscribed,
                "the unsubscribe time is not an RFC 3339 time",
            )?,
        })
    }
}

impl SqliteStore {
    /// Opens the store in `dir` (the state folder), creating the folder and the store when
    /// missing.
    pub fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        SqliteStore::connect(&dir.join(FILE), true)
    }

    /// Opens the store in `dir` if there is one; `None` (and nothing created) when not.
    pub fn open_existing(dir: &Path) -> Result<Option<SqliteStore>, StoreError> {
        let path = dir.join(FILE);
        match path.try_exists() {
            Ok(false) => Ok(None),
            Ok(true) => SqliteStore::connect(&path, false).map(Some),
            Err(source) => Err(StoreError::Io { path, source }),
        }
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How long a change waits for another writer before failing with [`StoreError::Busy`].
    pub fn set_busy_timeout(&mut self, wait: Duration) -> Result<(), StoreError> {
        self.conn.busy_timeout(wait).map_err(self.sql())
    }

    fn connect(path: &Path, create: bool) -> Result<SqliteStore, StoreError> {
        let sql = |source| sql_error(path, source);
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(path, flags).map_err(sql)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(sql)?;
        let mut store = SqliteStore {
            conn,
            path: path.to_path_buf(),
        };
        let (app, version, tables) = store.identity().map_err(|e| match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => {
                StoreError::Foreign {
                    path: path.to_path_buf(),
                    why: "the file is not an SQLite database, or is damaged".into(),
                }
            }
            _ => sql_error(path, e),
        })?;
        if app != APPLICATION_ID && tables > 0 {
            return Err(StoreError::Foreign {
                path: path.to_path_buf(),
                why: "an SQLite database of another program".into(),
            });
        }
        if version > VERSION {
            return Err(StoreError::Newer {
                path: path.to_path_buf(),
                found: version,
                known: VERSION,
            });
        }
        store
            .conn
            .execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(sql)?;
        if app != APPLICATION_ID || version != VERSION {
            store.create()?;
        }
        Ok(store)
    }

    /// `application_id`, `user_version` and how many tables the file holds.
    fn identity(&self) -> rusqlite::Result<(i64, i64, i64)> {
        let app = self
            .conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))?;
        let version = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let tables = self
            .conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        Ok((app, version, tables))
    }

    /// Makes a new (empty) file a store.
    fn create(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        self.conn
            .query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .map_err(|e| sql_error(&path, e))?;
        let tx = self.write()?;
        tx.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS subscribers (
                 id INTEGER PRIMARY KEY,
                 key TEXT NOT NULL UNIQUE,
                 address TEXT NOT NULL,
                 name TEXT,
                 categories TEXT NOT NULL DEFAULT '[]',
                 status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'unsubscribed')),
                 token TEXT UNIQUE,
                 token_at TEXT,
                 created TEXT NOT NULL,
                 updated TEXT NOT NULL,
                 confirmed TEXT,
                 unsubscribed TEXT
             );
             CREATE INDEX IF NOT EXISTS subscribers_status ON subscribers (status);
             PRAGMA application_id = {APPLICATION_ID};
             PRAGMA user_version = {VERSION};"
        ))
        .map_err(|e| sql_error(&path, e))?;
        tx.commit().map_err(|e| sql_error(&path, e))
    }

    /// Starts the one write transaction the store allows at a time.
    fn write(&mut self) -> Result<rusqlite::Transaction<'_>, StoreError> {
        let path = self.path.clone();
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql_error(&path, e))
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |source| sql_error(&self.path, source)
    }

    fn rows(&self, filter: &str, value: Option<&str>) -> Result<Vec<Subscription>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM subscribers {filter} ORDER BY id"
            ))
            .map_err(self.sql())?;
        let raw: Vec<RawRow> = match value {
            Some(v) => stmt.query_map([v], RawRow::read),
            None => stmt.query_map([], RawRow::read),
        }
        .and_then(|rows| rows.collect())
        .map_err(self.sql())?;
        raw.into_iter().map(|r| r.check(&self.path)).collect()
    }
}

/// SQLite's error, or [`StoreError::Busy`] when another writer held the store too long.
fn sql_error(path: &Path, source: rusqlite::Error) -> StoreError {
    match source.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => {
            StoreError::Busy(path.to_path_buf())
        }
        _ => StoreError::Sql {
            path: path.to_path_buf(),
            source,
        },
    }
}

fn key(address: &Address) -> String {
    address.to_string().to_lowercase()
}

impl SubscriberStore for SqliteStore {
    fn add_pending(
        &mut self,
        address: &Address,
        name: Option<&str>,
        categories: &[String],
        now: DateTime<Utc>,
    ) -> Result<SignUp, StoreError> {
        let path = self.path.clone();
        let sql = |e| sql_error(&path, e);
        let tx = self.write()?;
        let status: Option<String> = tx
            .query_row(
                "SELECT status FROM subscribers WHERE key = ?1",
                [key(address)],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)?;
        if status.as_deref() == Some(Status::Confirmed.as_str()) {
            return Ok(SignUp::AlreadyConfirmed);
        }
        let token: String = tx
            .query_row("SELECT lower(hex(randomblob(16)))", [], |r| r.get(0))
            .map_err(sql)?;
        let values = params![
            key(address),
            address.to_string(),
            clean_name(name),
            categories_json(categories),
            token,
            stamp(now)
        ];
        let sql_text = if status.is_none() {
            "INSERT INTO subscribers (key, address, name, categories, status, token, token_at, created, updated)
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?6, ?6)"
        } else {
            "UPDATE subscribers SET address = ?2, name = ?3, categories = ?4, status = 'pending',
                 token = ?5, token_at = ?6, updated = ?6
             WHERE key = ?1"
        };
        tx.execute(sql_text, values).map_err(sql)?;
        tx.commit().map_err(sql)?;
        Token::parse(&token)
            .map(SignUp::Pending)
            .ok_or_else(|| StoreError::Damaged {
                path: path.clone(),
                id: 0,
                what: "SQLite made a token that is not 32 hex digits",
            })
    }

    fn confirm(
        &mut self,
        token: &Token,
        now: DateTime<Utc>,
        valid_for: TimeDelta,
    ) -> Result<Confirmation, StoreError> {
        let path = self.path.clone();
        let sql = |e| sql_error(&path, e);
        let tx = self.write()?;
        let found: Option<(i64, Option<String>)> = tx
            .query_row(
                "SELECT id, token_at FROM subscribers WHERE token = ?1 AND status = 'pending'",
                [token.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(sql)?;
        let Some((id, issued)) = found else {
            return Ok(Confirmation::Unknown);
        };
        let issued = issued
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .ok_or_else(|| StoreError::Damaged {
                path: path.clone(),
                id,
                what: "a pending token without an RFC 3339 issue time",
            })?;
        if now.signed_duration_since(issued) > valid_for {
            return Ok(Confirmation::Expired);
        }
        tx.execute(
            "UPDATE subscribers SET status = 'confirmed', token = NULL, token_at = NULL,
                 confirmed = ?2, updated = ?2
             WHERE id = ?1",
            params![id, stamp(now)],
        )
        .map_err(sql)?;
        let row = tx
            .query_row(
                &format!("SELECT {COLUMNS} FROM subscribers WHERE id = ?1"),
                [id],
                RawRow::read,
            )
            .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(Confirmation::Confirmed(Box::new(row.check(&path)?)))
    }

    fn unsubscribe(&mut self, address: &Address, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let path = self.path.clone();
        let tx = self.write()?;
        let n = tx
            .execute(
                "UPDATE subscribers SET status = 'unsubscribed', token = NULL, token_at = NULL,
                     unsubscribed = ?2, updated = ?2
                 WHERE key = ?1 AND status != 'unsubscribed'",
                params![key(address), stamp(now)],
            )
            .map_err(|e| sql_error(&path, e))?;
        tx.commit().map_err(|e| sql_error(&path, e))?;
        Ok(n == 1)
    }

    fn set_categories(
        &mut self,
        address: &Address,
        categories: &[String],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let path = self.path.clone();
        let tx = self.write()?;
        let n = tx
            .execute(
                "UPDATE subscribers SET categories = ?2, updated = ?3 WHERE key = ?1",
                params![key(address), categories_json(categories), stamp(now)],
            )
            .map_err(|e| sql_error(&path, e))?;
        tx.commit().map_err(|e| sql_error(&path, e))?;
        Ok(n == 1)
    }

    fn get(&self, address: &Address) -> Result<Option<Subscription>, StoreError> {
        Ok(self
            .rows("WHERE key = ?1", Some(&key(address)))?
            .into_iter()
            .next())
    }

    fn list(&self, which: Which) -> Result<Vec<Subscription>, StoreError> {
        match which {
            Which::Confirmed => self.rows("WHERE status = ?1", Some(Status::Confirmed.as_str())),
            Which::All => self.rows("", None),
        }
    }

    fn counts(&self) -> Result<Counts, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT status, count(*) FROM subscribers GROUP BY status")
            .map_err(self.sql())?;
        let rows: Vec<(String, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(self.sql())?;
        let mut counts = Counts::default();
        for (status, n) in rows {
            let n = usize::try_from(n).unwrap_or(0);
            match Status::parse(&status) {
                Some(Status::Pending) => counts.pending += n,
                Some(Status::Confirmed) => counts.confirmed += n,
                Some(Status::Unsubscribed) => counts.unsubscribed += n,
                // The table's CHECK admits no other status.
                None => {}
            }
        }
        Ok(counts)
    }

    fn import(
        &mut self,
        subscribers: &[Subscriber],
        now: DateTime<Utc>,
    ) -> Result<Imported, StoreError> {
        let path = self.path.clone();
        let sql = |e| sql_error(&path, e);
        let now = stamp(now);
        let mut imported = Imported::default();
        let tx = self.write()?;
        for s in subscribers {
            let name = clean_name(s.name.as_deref());
            let categories = categories_json(&s.categories);
            let address = s.address.to_string();
            let found: Option<(String, Option<String>, String, String)> = tx
                .query_row(
                    "SELECT address, name, categories, status FROM subscribers WHERE key = ?1",
                    [s.key()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()
                .map_err(sql)?;
            match found {
                None => {
                    tx.execute(
                        "INSERT INTO subscribers (key, address, name, categories, status, created, updated, confirmed)
                         VALUES (?1, ?2, ?3, ?4, 'confirmed', ?5, ?5, ?5)",
                        params![s.key(), address, name, categories, now],
                    )
                    .map_err(sql)?;
                    imported.added += 1;
                }
                Some((_, _, _, status)) if status == Status::Unsubscribed.as_str() => {
                    imported.kept_unsubscribed += 1;
                }
                Some((was_address, was_name, was_categories, status))
                    if status == Status::Confirmed.as_str()
                        && was_address == address
                        && was_name == name
                        && was_categories == categories =>
                {
                    imported.unchanged += 1;
                }
                Some((_, _, _, status)) => {
                    let confirmed_now = status != Status::Confirmed.as_str();
                    tx.execute(
                        "UPDATE subscribers SET address = ?2, name = ?3, categories = ?4,
                             status = 'confirmed', token = NULL, token_at = NULL, updated = ?5,
                             confirmed = CASE WHEN ?6 THEN ?5 ELSE confirmed END
                         WHERE key = ?1",
                        params![s.key(), address, name, categories, now, confirmed_now],
                    )
                    .map_err(sql)?;
                    imported.updated += 1;
                }
            }
        }
        tx.commit().map_err(sql)?;
        Ok(imported)
    }
}
