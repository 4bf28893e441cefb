//! Who the digest goes to: the store's confirmed subscribers when the site has a store that
//! holds any row, else the subscribers file (as before the store existed); a file given on the
//! command line (`--subscribers FILE`) always wins.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::transfer::TransferError;
use super::{SqliteStore, Status, SubscriberStore, Which};
use crate::digest::subscribers::{self, Subscriber};
use crate::problem::Problem;

/// The digest's subscribers, and what decides who of them is left out.
#[derive(Debug)]
pub struct Roster {
    /// The subscribers, in order (from the store: confirmed only).
    pub subscribers: Vec<Subscriber>,
    /// Where they come from: the subscribers file, or the store's file (whose "lines" are row
    /// ids).
    pub path: PathBuf,
    /// Whether they come from the store.
    pub from_store: bool,
    /// The file's problems (none from the store).
    pub problems: Vec<Problem>,
    /// Addresses (lower-cased) whose unsubscribe in the ledger was lifted: the store records a
    /// confirmation after their last unsubscribe.
    pub resubscribed: HashSet<String>,
    /// Addresses (lower-cased) the store records as unsubscribed: left out of a file's list too.
    pub unsubscribed: HashSet<String>,
    /// From the store: how many of its rows are unsubscribed (they are not in `subscribers`,
    /// and count as unsubscribed in the run's summary, as a file's unsubscribed lines do).
    pub left: usize,
}

impl Roster {
    /// Whether `key` (a lower-cased address) is left out, given the ledger's unsubscribes.
    pub fn is_gone(&self, key: &str, ledger_unsubscribed: &HashSet<String>) -> bool {
        self.unsubscribed.contains(key)
            || (ledger_unsubscribed.contains(key) && !self.resubscribed.contains(key))
    }
}

/// Reads the subscribers: `forced` (a file named on the command line) if given; else the store
/// in `state_dir` when it exists and holds any row (even if all have left: the store is then the
/// list, and a stale file must not bring anyone back); else the settings' `file`.
pub fn load(forced: Option<&Path>, file: &Path, state_dir: &Path) -> Result<Roster, TransferError> {
    let store = SqliteStore::open_existing(state_dir)?;
    let rows = match &store {
        Some(store) => store.list(Which::All)?,
        None => Vec::new(),
    };
    let resubscribed = rows
        .iter()
        .filter(|r| r.resubscribed())
        .map(|r| r.key())
        .collect();
    let unsubscribed: HashSet<String> = rows
        .iter()
        .filter(|r| r.status == Status::Unsubscribed)
        .map(|r| r.key())
        .collect();
    if let (None, Some(store)) = (forced, &store) {
        if !rows.is_empty() {
            return Ok(Roster {
                subscribers: rows
                    .iter()
                    .filter(|r| r.status == Status::Confirmed)
                    .map(|r| r.to_subscriber())
                    .collect(),
                path: store.path().to_path_buf(),
                from_store: true,
                problems: Vec::new(),
                resubscribed,
                left: unsubscribed.len(),
                unsubscribed,
            });
        }
    }
    let path = forced.unwrap_or(file).to_path_buf();
    let loaded = subscribers::load(&path)?;
    Ok(Roster {
        subscribers: loaded.subscribers,
        path,
        from_store: false,
        problems: loaded.problems,
        resubscribed,
        unsubscribed,
        left: 0,
    })
}
