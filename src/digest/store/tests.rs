use std::fs;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use lettre::Address;
use rusqlite::Connection;

use super::transfer::{to_csv, to_yaml, TransferError};
use super::*;
use crate::digest::subscribers::{self, Subscriber};

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 1, 12, minute, 0).unwrap()
}

fn addr(text: &str) -> Address {
    text.parse().unwrap()
}

fn cats(list: &[&str]) -> Vec<String> {
    list.iter().map(|c| c.to_string()).collect()
}

fn pending_token(store: &mut SqliteStore, address: &str, now: DateTime<Utc>) -> Token {
    match store
        .add_pending(&addr(address), Some("Ann"), &cats(&["news"]), now)
        .unwrap()
    {
        SignUp::Pending(token) => token,
        other => panic!("expected a pending sign-up, got {other:?}"),
    }
}

fn confirmed(c: Confirmation) -> Subscription {
    match c {
        Confirmation::Confirmed(s) => *s,
        other => panic!("expected a confirmation, got {other:?}"),
    }
}

const DAY: TimeDelta = TimeDelta::days(1);

#[test]
fn sign_up_confirm_unsubscribe_and_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(dir.path()).unwrap();
    let token = pending_token(&mut store, "Ann@Example.com", at(0));
    let row = store.get(&addr("ann@example.com")).unwrap().unwrap();
    assert_eq!(row.status, Status::Pending);
    assert_eq!(row.address.to_string(), "Ann@Example.com");
    assert!(store.list(Which::Confirmed).unwrap().is_empty());

    let row = confirmed(store.confirm(&token, at(5), DAY).unwrap());
    assert_eq!(row.status, Status::Confirmed);
    assert_eq!(row.categories, ["news"]);
    assert_eq!(row.confirmed, Some(at(5)));
    assert!(!row.resubscribed());
    // A token works once.
    assert_eq!(
        store.confirm(&token, at(6), DAY).unwrap(),
        Confirmation::Unknown
    );
    // Signing a confirmed address up again changes nothing.
    assert_eq!(
        store
            .add_pending(&addr("ann@example.com"), None, &cats(&["other"]), at(7))
            .unwrap(),
        SignUp::AlreadyConfirmed
    );
    assert_eq!(
        store.list(Which::Confirmed).unwrap(),
        std::slice::from_ref(&row)
    );

    assert!(store.unsubscribe(&addr("ANN@example.com"), at(10)).unwrap());
    assert!(!store.unsubscribe(&addr("ann@example.com"), at(11)).unwrap());
    let gone = store.get(&addr("ann@example.com")).unwrap().unwrap();
    assert_eq!(gone.status, Status::Unsubscribed);
    assert_eq!(gone.unsubscribed, Some(at(10)));
    assert!(store.list(Which::Confirmed).unwrap().is_empty());

    // Re-subscribing: pending again, then confirmed, with the new categories.
    let token = pending_token(&mut store, "ann@example.com", at(20));
    assert_eq!(
        store.get(&addr("ann@example.com")).unwrap().unwrap().status,
        Status::Pending
    );
    let back = confirmed(store.confirm(&token, at(21), DAY).unwrap());
    assert_eq!(back.id, row.id, "the same row");
    assert!(back.resubscribed());
    assert_eq!(back.created, at(0));
    assert_eq!(
        store.counts().unwrap(),
        Counts {
            pending: 0,
            confirmed: 1,
            unsubscribed: 0
        }
    );
}

#[test]
fn only_the_newest_unexpired_token_confirms() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(dir.path()).unwrap();
    let first = pending_token(&mut store, "bo@example.com", at(0));
    let second = pending_token(&mut store, "bo@example.com", at(1));
    assert_ne!(first, second);
    assert_eq!(first.as_str().len(), 32);
    assert_eq!(
        store.confirm(&first, at(2), DAY).unwrap(),
        Confirmation::Unknown
    );
    // Expired: nothing changes, and the token is not spent.
    assert_eq!(
        store
            .confirm(&second, at(1) + DAY + TimeDelta::seconds(1), DAY)
            .unwrap(),
        Confirmation::Expired
    );
    assert_eq!(
        store.get(&addr("bo@example.com")).unwrap().unwrap().status,
        Status::Pending
    );
    // An unsubscribe while pending takes the token back.
    let third = pending_token(&mut store, "bo@example.com", at(3));
    assert!(store.unsubscribe(&addr("bo@example.com"), at(4)).unwrap());
    assert_eq!(
        store.confirm(&third, at(5), DAY).unwrap(),
        Confirmation::Unknown
    );
    assert_eq!(Token::parse("not a token"), None);
    assert_eq!(Token::parse(&"A".repeat(32)), None);
    assert!(!format!("{third:?}").contains(third.as_str()));
}

#[test]
fn categories_and_names_are_cleaned_and_changed() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(dir.path()).unwrap();
    store
        .add_pending(
            &addr("cy@example.com"),
            Some(" Cy\r\nBcc: x@evil.example "),
            &cats(&[" news ", "", "news", "tech"]),
            at(0),
        )
        .unwrap();
    let row = store.get(&addr("cy@example.com")).unwrap().unwrap();
    assert_eq!(row.name.as_deref(), Some("Cy  Bcc: x@evil.example"));
    assert_eq!(row.categories, ["news", "tech"]);
    assert!(store
        .set_categories(&addr("CY@example.com"), &cats(&["markets"]), at(1))
        .unwrap());
    assert!(!store
        .set_categories(&addr("nobody@example.com"), &cats(&["x"]), at(1))
        .unwrap());
    let row = store.get(&addr("cy@example.com")).unwrap().unwrap();
    assert_eq!(row.categories, ["markets"]);
    assert_eq!(row.updated, at(1));
}

fn sub(address: &str, name: Option<&str>, categories: &[&str]) -> Subscriber {
    Subscriber {
        address: addr(address),
        name: name.map(String::from),
        categories: cats(categories),
        line: 0,
    }
}

#[test]
fn import_confirms_updates_and_never_brings_back_who_left() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(dir.path()).unwrap();
    pending_token(&mut store, "pending@example.com", at(0));
    store
        .import(&[sub("gone@example.com", None, &[])], at(0))
        .unwrap();
    store.unsubscribe(&addr("gone@example.com"), at(1)).unwrap();
    store
        .import(&[sub("same@example.com", Some("Same"), &["a"])], at(1))
        .unwrap();
    let imported = store
        .import(
            &[
                sub("new@example.com", Some("New"), &[]),
                sub("PENDING@example.com", None, &["b"]),
                sub("gone@example.com", None, &[]),
                sub("same@example.com", Some("Same"), &["a"]),
            ],
            at(2),
        )
        .unwrap();
    assert_eq!(
        imported,
        Imported {
            added: 1,
            updated: 1,
            unchanged: 1,
            kept_unsubscribed: 1
        }
    );
    let confirmed: Vec<String> = store
        .list(Which::Confirmed)
        .unwrap()
        .iter()
        .map(|s| s.key())
        .collect();
    assert_eq!(
        confirmed,
        ["pending@example.com", "same@example.com", "new@example.com"]
    );
    let was_pending = store.get(&addr("pending@example.com")).unwrap().unwrap();
    assert_eq!(was_pending.categories, ["b"]);
    assert_eq!(was_pending.name, None);
    assert_eq!(was_pending.confirmed, Some(at(2)));
}

/// The rows a store holds, as a file gives them.
fn as_file(store: &SqliteStore) -> Vec<(String, Option<String>, Vec<String>)> {
    store
        .list(Which::All)
        .unwrap()
        .into_iter()
        .map(|s| (s.address.to_string(), s.name, s.categories))
        .collect()
}

fn reimport(dir: &Path, name: &str, text: &str) -> SqliteStore {
    let file = dir.join(name);
    fs::write(&file, text).unwrap();
    let loaded = subscribers::load(&file).unwrap();
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let state = dir.join(format!("state-{name}"));
    let mut store = SqliteStore::open(&state).unwrap();
    store.import(&loaded.subscribers, at(0)).unwrap();
    store
}

#[test]
fn export_round_trips_through_import_as_yaml_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("first")).unwrap();
    let people = [
        sub("li.ming@example.com", Some("李明"), &[]),
        sub(
            "Ann@Example.com",
            Some("Ann, A. \"the first\""),
            &["news", "markets"],
        ),
        sub("yes@example.com", Some("yes"), &["123", "null"]),
        sub("num@example.com", Some("0x1F"), &["新华社"]),
        sub("plain@example.net", None, &[]),
        sub(
            "hash@example.net",
            Some("# not a comment: really"),
            &["- dash"],
        ),
    ];
    store.import(&people, at(0)).unwrap();
    // Pending and unsubscribed rows are not exported.
    pending_token(&mut store, "pending@example.com", at(1));
    store
        .import(&[sub("left@example.com", None, &[])], at(1))
        .unwrap();
    store.unsubscribe(&addr("left@example.com"), at(2)).unwrap();
    let rows = store.list(Which::Confirmed).unwrap();
    assert_eq!(rows.len(), people.len());
    let expected: Vec<_> = as_file(&store)[..people.len()].to_vec();

    let yaml = to_yaml(&rows).unwrap();
    assert_eq!(
        as_file(&reimport(dir.path(), "s.yml", &yaml)),
        expected,
        "{yaml}"
    );

    // CSV cannot keep "- dash" apart: the last subscriber holds a category with a space.
    let e = to_csv(&rows).unwrap_err();
    assert!(matches!(e, TransferError::CsvCategory { id: 6 }), "{e}");
    assert!(!e.to_string().contains("hash@example.net"), "{e}");
    let csv = to_csv(&rows[..5]).unwrap();
    assert_eq!(
        as_file(&reimport(dir.path(), "s.csv", &csv)),
        expected[..5],
        "{csv}"
    );
    assert_eq!(to_yaml(&[]).unwrap(), "[]\n");
    let empty = dir.path().join("empty.yml");
    fs::write(&empty, to_yaml(&[]).unwrap()).unwrap();
    assert!(subscribers::load(&empty).unwrap().subscribers.is_empty());
}

/// Holds the store's write lock from another connection, as another process would.
fn hold_write_lock(dir: &Path) -> Connection {
    let conn = Connection::open(dir.join(FILE)).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    conn
}

#[test]
fn a_second_writer_waits_then_fails_cleanly_and_readers_never_wait() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(dir.path()).unwrap();
    store
        .import(&[sub("a@example.com", None, &[])], at(0))
        .unwrap();
    store.set_busy_timeout(Duration::from_millis(100)).unwrap();

    let holder = hold_write_lock(dir.path());
    // Readers go on while someone writes (WAL).
    assert_eq!(store.list(Which::Confirmed).unwrap().len(), 1);
    let reader = SqliteStore::open_existing(dir.path()).unwrap().unwrap();
    assert_eq!(reader.counts().unwrap().confirmed, 1);
    // A writer gives up after its wait, cleanly: nothing changed.
    let e = store
        .unsubscribe(&addr("a@example.com"), at(1))
        .unwrap_err();
    assert!(e.is_busy(), "{e}");
    assert!(e.to_string().contains("another gazette is writing"), "{e}");
    assert!(!e.to_string().contains("a@example.com"), "{e}");
    drop(holder);
    assert_eq!(
        store.get(&addr("a@example.com")).unwrap().unwrap().status,
        Status::Confirmed
    );

    // A writer that may wait long enough gets in once the other is done.
    store.set_busy_timeout(Duration::from_secs(10)).unwrap();
    let holder = hold_write_lock(dir.path());
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        holder.execute_batch("COMMIT").unwrap();
    });
    assert!(store.unsubscribe(&addr("a@example.com"), at(2)).unwrap());
    release.join().unwrap();
}

#[test]
fn foreign_damaged_and_newer_files_are_refused_untouched() {
    // Not a database at all.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE);
    fs::write(&path, b"somebody's notes, not a database\n".repeat(200)).unwrap();
    let before = fs::read(&path).unwrap();
    let e = SqliteStore::open(dir.path()).unwrap_err();
    assert!(
        e.to_string().contains("not a gazette subscriber store"),
        "{e}"
    );
    assert_eq!(fs::read(&path).unwrap(), before);
    let e = SqliteStore::open_existing(dir.path()).unwrap_err();
    assert!(matches!(e, StoreError::Foreign { .. }), "{e}");

    // Another program's database, and gazette's own ledger under the store's name.
    for setup in [
        "CREATE TABLE notes (x TEXT)",
        "PRAGMA application_id = 1734441573; CREATE TABLE sends (x TEXT)",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        Connection::open(&path)
            .unwrap()
            .execute_batch(setup)
            .unwrap();
        let before = fs::read(&path).unwrap();
        let e = SqliteStore::open(dir.path()).unwrap_err();
        assert!(e.to_string().contains("another program"), "{setup}: {e}");
        assert_eq!(fs::read(&path).unwrap(), before, "{setup}");
    }

    // Written by a newer gazette.
    let dir = tempfile::tempdir().unwrap();
    SqliteStore::open(dir.path())
        .unwrap()
        .import(&[sub("a@example.com", None, &[])], at(0))
        .unwrap();
    let path = dir.path().join(FILE);
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA user_version = 9; PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    drop(conn);
    let before = fs::read(&path).unwrap();
    let e = SqliteStore::open(dir.path()).unwrap_err();
    assert!(e.to_string().contains("store version 9"), "{e}");
    assert_eq!(fs::read(&path).unwrap(), before);

    // A row edited by hand into something gazette never writes: named by id, not by address.
    let dir = tempfile::tempdir().unwrap();
    SqliteStore::open(dir.path())
        .unwrap()
        .import(&[sub("a@example.com", None, &[])], at(0))
        .unwrap();
    Connection::open(dir.path().join(FILE))
        .unwrap()
        .execute_batch("UPDATE subscribers SET address = 'secret-person at example'")
        .unwrap();
    let e = SqliteStore::open(dir.path())
        .unwrap()
        .list(Which::All)
        .unwrap_err();
    assert!(e.to_string().contains("row 1 is damaged"), "{e}");
    assert!(!e.to_string().contains("secret-person"), "{e}");
}

#[test]
fn opening_an_existing_store_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    assert!(SqliteStore::open_existing(&state).unwrap().is_none());
    assert!(!state.exists());
    SqliteStore::open(&state).unwrap();
    let store = SqliteStore::open_existing(&state).unwrap().unwrap();
    assert_eq!(store.counts().unwrap().total(), 0);
}
