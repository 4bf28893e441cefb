//! The subscriber store: who gets the digest, kept in a database instead of a file edited by
//! hand, so that people can sign up, confirm, change their categories and leave.
//!
//! Everything goes through one narrow interface, [`SubscriberStore`]: add a pending sign-up,
//! confirm it, unsubscribe, change categories, look one up, list, import. [`SqliteStore`]
//! implements it over SQLite in the state folder (`<state>/subscribers.sqlite3`, WAL, one writer
//! at a time); a PostgreSQL back end for several service instances implements the same trait,
//! and nothing else changes: the digest, the commands and [`transfer`] only ever see the trait
//! (or [`SqliteStore::open`], the one place a back end is chosen).
//!
//! A subscription is in one of three [`Status`]es:
//!
//! - **pending**: signed up ([`SubscriberStore::add_pending`]) and not confirmed yet; gets
//!   nothing. Only the newest confirmation [`Token`] of an address works, once.
//! - **confirmed**: gets the digest ([`SubscriberStore::confirm`], or imported from a file).
//! - **unsubscribed**: left; gets nothing. Signing up again and confirming makes it confirmed
//!   again; an import never does (a list made before someone left must not bring them back).
//!
//! Only what the digest needs is stored: the address, an optional name, the categories, the
//! status and when it changed. Errors and messages name a row by its id, never by its address
//! or name.

pub mod roster;
mod sqlite;
pub mod transfer;

use chrono::{DateTime, TimeDelta, Utc};
use lettre::Address;
use std::path::PathBuf;

pub use sqlite::{SqliteStore, FILE};

use super::subscribers::Subscriber;

/// Where a subscription stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Signed up, not confirmed: gets nothing yet.
    Pending,
    /// Gets the digest.
    Confirmed,
    /// Left: gets nothing, until they sign up and confirm again.
    Unsubscribed,
}

impl Status {
    /// The word stored and shown: `pending`, `confirmed`, `unsubscribed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Confirmed => "confirmed",
            Status::Unsubscribed => "unsubscribed",
        }
    }

    fn parse(text: &str) -> Option<Status> {
        match text {
            "pending" => Some(Status::Pending),
            "confirmed" => Some(Status::Confirmed),
            "unsubscribed" => Some(Status::Unsubscribed),
            _ => None,
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One subscription as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The row's id: stable, and what messages name instead of the address.
    pub id: i64,
    /// The address, as it was given (the store keys it lower-cased).
    pub address: Address,
    /// The name to greet them by; `None` when none was given.
    pub name: Option<String>,
    /// The categories they get; empty: every category.
    pub categories: Vec<String>,
    /// Where the subscription stands.
    pub status: Status,
    /// When the address first came into the store.
    pub created: DateTime<Utc>,
    /// When the row last changed.
    pub updated: DateTime<Utc>,
    /// When it was last confirmed (or imported as confirmed).
    pub confirmed: Option<DateTime<Utc>>,
    /// When it last unsubscribed.
    pub unsubscribed: Option<DateTime<Utc>>,
}

impl Subscription {
    /// The address as the ledger keys it (lower-cased).
    pub fn key(&self) -> String {
        self.address.to_string().to_lowercase()
    }

    /// Whether it was confirmed again after it last unsubscribed: a re-subscription, which lifts
    /// an unsubscribe recorded in the ledger before it.
    pub fn resubscribed(&self) -> bool {
        matches!((self.confirmed, self.unsubscribed), (Some(c), Some(u)) if c > u)
    }

    /// The subscriber the digest sends to. Its `line` is the row's id, so that a report line
    /// (`subscribers.sqlite3:ID:1: failed: …`) points at the row.
    pub fn to_subscriber(&self) -> Subscriber {
        Subscriber {
            address: self.address.clone(),
            name: self.name.clone(),
            categories: self.categories.clone(),
            line: usize::try_from(self.id).unwrap_or(0),
        }
    }
}

/// The secret part of a confirmation link: 128 random bits, as 32 lower-case hex digits. The
/// service signs it into the link; the store only checks that it is the newest one issued for a
/// pending sign-up, and takes it back once used.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Token(String);

impl Token {
    /// The token read from a link; `None` unless it is 32 lower-case hex digits.
    pub fn parse(text: &str) -> Option<Token> {
        (text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Token(text.to_string()))
    }

    /// The token's text, to put into a link.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    /// Never the token itself: it is a secret until used.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

/// What a sign-up did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignUp {
    /// A pending sign-up (new, renewed, or after an unsubscribe): send this token in a
    /// confirmation link. Any earlier token of the address no longer works.
    Pending(Token),
    /// The address is already confirmed: nothing changed (a stranger must not change someone's
    /// categories by signing them up again; send them their preferences link instead).
    AlreadyConfirmed,
}

/// What a confirmation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// The sign-up is confirmed: the subscription as it now stands.
    Confirmed(Box<Subscription>),
    /// The token is the newest of a pending sign-up, but older than allowed: nothing changed.
    Expired,
    /// No pending sign-up has this token (never issued, replaced by a newer one, already used,
    /// or the address unsubscribed since): nothing changed.
    Unknown,
}

/// Which subscriptions [`SubscriberStore::list`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Only those who get the digest.
    Confirmed,
    /// Every row, whatever its status.
    All,
}

/// How many rows are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Signed up, not confirmed.
    pub pending: usize,
    /// Getting the digest.
    pub confirmed: usize,
    /// Left.
    pub unsubscribed: usize,
}

impl Counts {
    /// Every row.
    pub fn total(&self) -> usize {
        self.pending + self.confirmed + self.unsubscribed
    }
}

/// What an import did, subscriber by subscriber.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Imported {
    /// New addresses, now confirmed.
    pub added: usize,
    /// Addresses already there whose name or categories changed, or that were pending: now
    /// confirmed with the file's name and categories.
    pub updated: usize,
    /// Addresses already confirmed with the same name and categories.
    pub unchanged: usize,
    /// Addresses that had unsubscribed: left so (an import never brings anyone back).
    pub kept_unsubscribed: usize,
}

/// Why the store cannot be used. No variant carries a subscriber's address or name.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another writer held the store longer than the wait allows.
    #[error("{0}: another gazette is writing to the subscriber store; try again when it is done")]
    Busy(PathBuf),
    /// The file is not a gazette subscriber store.
    #[error("{path}: not a gazette subscriber store ({why}); refusing to touch it: move it aside to start a new store")]
    Foreign {
        /// The store's file.
        path: PathBuf,
        /// What the file is instead.
        why: String,
    },
    /// The store was written by a newer gazette, whose schema this one does not know.
    #[error("{path}: written by a newer gazette (store version {found}; this gazette knows version {known}); refusing to change it: upgrade gazette")]
    Newer {
        /// The store's file.
        path: PathBuf,
        /// The schema version it records (SQLite's `user_version`).
        found: i64,
        /// The schema version this gazette writes.
        known: i64,
    },
    /// A row holds what gazette never writes (edited by hand?).
    #[error("{path}: row {id} is damaged: {what}")]
    Damaged {
        /// The store's file.
        path: PathBuf,
        /// The row's id.
        id: i64,
        /// Which field is wrong, and how (never its value).
        what: &'static str,
    },
    /// The state folder could not be made.
    #[error("{path}: {source}")]
    Io {
        /// The folder.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// SQLite failed on the store.
    #[error("{path}: {source}")]
    Sql {
        /// The store's file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
}

impl StoreError {
    /// Whether another writer held the store too long: trying again later may work.
    pub fn is_busy(&self) -> bool {
        matches!(self, StoreError::Busy(_))
    }
}

/// The store's one interface. Addresses are keyed case-insensitively (as the ledger keys them);
/// every change takes `now`, so that callers (and tests) decide the time.
///
/// Implementations let one writer in at a time (a second waits, then fails with
/// [`StoreError::Busy`]) and never block readers: a digest reads the confirmed subscribers once
/// while preparing, and sign-ups, confirmations and unsubscribes may go on while it sends.
pub trait SubscriberStore {
    /// Records a sign-up, not confirmed: a new address becomes pending; a pending one gets a
    /// new token (and the name and categories given now); one that unsubscribed becomes pending
    /// again. A confirmed address is left as it is.
    fn add_pending(
        &mut self,
        address: &Address,
        name: Option<&str>,
        categories: &[String],
        now: DateTime<Utc>,
    ) -> Result<SignUp, StoreError>;

    /// Confirms the pending sign-up holding `token`, if that token was issued no longer than
    /// `valid_for` before `now`. A token works once.
    fn confirm(
        &mut self,
        token: &Token,
        now: DateTime<Utc>,
        valid_for: TimeDelta,
    ) -> Result<Confirmation, StoreError>;

    /// Marks the address unsubscribed (a pending sign-up's token stops working); `false` when
    /// it was already unsubscribed or is not in the store.
    fn unsubscribe(&mut self, address: &Address, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Sets the categories an address gets (empty: all); `false` when it is not in the store.
    fn set_categories(
        &mut self,
        address: &Address,
        categories: &[String],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// The subscription of an address, whatever its status.
    fn get(&self, address: &Address) -> Result<Option<Subscription>, StoreError>;

    /// Subscriptions in the order they came into the store.
    fn list(&self, which: Which) -> Result<Vec<Subscription>, StoreError>;

    /// How many rows are in each status.
    fn counts(&self) -> Result<Counts, StoreError>;

    /// Adds or updates subscribers as confirmed, all in one transaction (all or nothing):
    /// their name and categories become the given ones. Addresses that unsubscribed stay so.
    fn import(
        &mut self,
        subscribers: &[Subscriber],
        now: DateTime<Utc>,
    ) -> Result<Imported, StoreError>;
}

/// A name as it may go into a header: control characters made spaces, trimmed; `None` when
/// nothing is left.
pub(crate) fn clean_name(name: Option<&str>) -> Option<String> {
    name.map(|n| {
        n.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
    })
    .map(|n| n.trim().to_string())
    .filter(|n| !n.is_empty())
}

/// Categories trimmed, empty ones dropped, each once (the first kept).
pub(crate) fn clean_categories(categories: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(categories.len());
    for c in categories {
        let c = c.trim();
        if !c.is_empty() && !out.iter().any(|o| o == c) {
            out.push(c.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests;
