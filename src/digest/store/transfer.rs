//! The store and a site: where a site's store is, importing today's subscriber files into it
//! (YAML or CSV, read by [`subscribers::load`]), exporting it back to them, and listing it. The
//! `gazette subscribers` commands are these calls.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Counts, Imported, SqliteStore, StoreError, SubscriberStore, Subscription, Which};
use crate::config::SiteConfig;
use crate::digest::ledger::{self, Ledger, LedgerError};
use crate::digest::settings::DigestSettings;
use crate::digest::subscribers;
use crate::problem::Problem;

/// Why an import, export or listing could not be done.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// A setting or the subscribers file is wrong (or cannot be read faithfully): nothing was
    /// imported. The problem names the file and line.
    #[error("{0}")]
    Problem(Problem),
    /// The store refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The ledger (whose unsubscribes an import honours) refused.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The site has no store to export.
    #[error("{}: there is no subscriber store; `gazette subscribers import FILE` makes one", .0.display())]
    NoStore(PathBuf),
    /// A subscriber cannot be written as CSV without changing it on the way back.
    #[error("row {id}: a category holds a space, `;` or `,`, which a CSV file cannot keep apart (the CSV format separates categories with them); export as YAML (--format yaml)")]
    CsvCategory {
        /// The row's id.
        id: i64,
    },
    /// The export could not be written.
    #[error("writing {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The export could not be serialised.
    #[error("making the export: {0}")]
    Format(String),
}

impl From<Problem> for TransferError {
    fn from(problem: Problem) -> Self {
        TransferError::Problem(problem)
    }
}

/// The state folder of a site: the digest's `state` setting, below the site.
pub fn state_dir(site: &Path, config: &SiteConfig) -> Result<PathBuf, Problem> {
    let (settings, _) = DigestSettings::of(config)?;
    Ok(crate::collect::shown(&site.join(&settings.state)).to_path_buf())
}

/// The store's file for a site (whether or not it exists).
pub fn store_path(site: &Path, config: &SiteConfig) -> Result<PathBuf, Problem> {
    Ok(state_dir(site, config)?.join(super::FILE))
}

/// What an import did.
#[derive(Debug)]
pub struct ImportReport {
    /// The store's file.
    pub store: PathBuf,
    /// What the store did with the file's subscribers.
    pub imported: Imported,
    /// Subscribers the file lists that the ledger records as unsubscribed (`gazette
    /// unsubscribe` before the store existed): imported, and marked unsubscribed.
    pub unsubscribed_in_ledger: usize,
    /// Lines of the file that are not a subscriber (skipped).
    pub invalid: usize,
    /// The file's problems (invalid lines: errors; duplicates: warnings), by line.
    pub problems: Vec<Problem>,
}

/// Imports a subscribers file (YAML or CSV, as the digest reads it) into the site's store,
/// creating it when missing: everyone in it is confirmed, but nobody who unsubscribed comes
/// back (in the store, or in the ledger, unless confirmed again since). Invalid lines and
/// duplicates are skipped and reported; a file that cannot be read faithfully imports nothing.
pub fn import_file(
    site: &Path,
    config: &SiteConfig,
    file: &Path,
    now: DateTime<Utc>,
) -> Result<ImportReport, TransferError> {
    let dir = state_dir(site, config)?;
    let loaded = subscribers::load(file)?;
    let gone = ledger_unsubscribes(&dir)?;
    let mut store = SqliteStore::open(&dir)?;
    let imported = store.import(&loaded.subscribers, now)?;
    // The ledger's unsubscribes that the store does not know yet become the store's, so that
    // the store tells the whole story (and a later sign-up can bring them back).
    let mut unsubscribed_in_ledger = 0;
    for s in loaded
        .subscribers
        .iter()
        .filter(|s| gone.contains(&s.key()))
    {
        let known = store.get(&s.address)?;
        if known.is_some_and(|k| !k.resubscribed()) && store.unsubscribe(&s.address, now)? {
            unsubscribed_in_ledger += 1;
        }
    }
    Ok(ImportReport {
        store: store.path().to_path_buf(),
        imported,
        unsubscribed_in_ledger,
        invalid: loaded.problems.iter().filter(|p| p.is_error()).count(),
        problems: loaded.problems,
    })
}

/// The addresses the ledger in `dir` records as unsubscribed; none when there is no ledger
/// (nothing is created).
fn ledger_unsubscribes(dir: &Path) -> Result<HashSet<String>, LedgerError> {
    if !dir.join(ledger::FILE).exists() {
        return Ok(HashSet::new());
    }
    Ledger::open(dir)?.unsubscribed()
}

/// The formats of a subscribers file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A YAML list of `address`, `name`, `categories`.
    Yaml,
    /// A CSV file with an `address,name,categories` header; categories separated by spaces.
    Csv,
}

impl Format {
    /// The format a file name asks for: `.csv` is CSV, anything else YAML (as the digest reads
    /// them).
    pub fn of_path(path: &Path) -> Format {
        match path.extension() {
            Some(e) if e.eq_ignore_ascii_case("csv") => Format::Csv,
            _ => Format::Yaml,
        }
    }
}

/// An export: the file's text and how many subscribers it holds.
#[derive(Debug)]
pub struct Export {
    /// The text of the file.
    pub text: String,
    /// How many subscribers it lists.
    pub count: usize,
}

/// The site's confirmed subscribers as a subscribers file, which [`import_file`] (and the
/// digest's `--subscribers`) reads back to the same subscribers. Pending and unsubscribed rows
/// are left out: a file means "these get the digest".
pub fn export(site: &Path, config: &SiteConfig, format: Format) -> Result<Export, TransferError> {
    let dir = state_dir(site, config)?;
    let store = SqliteStore::open_existing(&dir)?
        .ok_or_else(|| TransferError::NoStore(dir.join(super::FILE)))?;
    let rows = store.list(Which::Confirmed)?;
    let text = match format {
        Format::Yaml => to_yaml(&rows)?,
        Format::Csv => to_csv(&rows)?,
    };
    Ok(Export {
        text,
        count: rows.len(),
    })
}

#[derive(Serialize)]
struct Entry<'a> {
    address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    categories: &'a [String],
}

/// Subscriptions as the YAML list the digest reads.
pub fn to_yaml(rows: &[Subscription]) -> Result<String, TransferError> {
    if rows.is_empty() {
        return Ok("[]\n".to_string());
    }
    let entries: Vec<Entry<'_>> = rows
        .iter()
        .map(|r| Entry {
            address: r.address.to_string(),
            name: r.name.as_deref(),
            categories: &r.categories,
        })
        .collect();
    serde_yaml::to_string(&entries).map_err(|e| TransferError::Format(e.to_string()))
}

/// Subscriptions as the CSV file the digest reads (`address,name,categories`, categories
/// separated by spaces). A category holding a separator cannot be written so.
pub fn to_csv(rows: &[Subscription]) -> Result<String, TransferError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let format = |e: csv::Error| TransferError::Format(e.to_string());
    writer
        .write_record(["address", "name", "categories"])
        .map_err(format)?;
    for r in rows {
        if r.categories.iter().any(|c| c.contains([' ', ';', ','])) {
            return Err(TransferError::CsvCategory { id: r.id });
        }
        let address = r.address.to_string();
        let categories = r.categories.join(" ");
        writer
            .write_record([
                address.as_str(),
                r.name.as_deref().unwrap_or(""),
                categories.as_str(),
            ])
            .map_err(format)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| TransferError::Format(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| TransferError::Format(e.to_string()))
}

/// Writes an export to `path` through a temporary file beside it, renamed into place: a failed
/// write leaves what was there.
pub fn write_file(path: &Path, text: &str) -> Result<(), TransferError> {
    let temp = crate::temp::temp_path(path);
    let write = |source| TransferError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Err(e) = std::fs::write(&temp, text).and_then(|()| std::fs::rename(&temp, path)) {
        let _ = std::fs::remove_file(&temp);
        return Err(write(e));
    }
    Ok(())
}

/// Every row of a site's store, and how many are in each status.
#[derive(Debug)]
pub struct Listing {
    /// The store's file.
    pub store: PathBuf,
    /// Every subscription, in the order they came in.
    pub rows: Vec<Subscription>,
    /// How many are in each status.
    pub counts: Counts,
}

/// The site's store, row by row; `None` when the site has none (nothing is created).
pub fn list(site: &Path, config: &SiteConfig) -> Result<Option<Listing>, TransferError> {
    let dir = state_dir(site, config)?;
    let Some(store) = SqliteStore::open_existing(&dir)? else {
        return Ok(None);
    };
    Ok(Some(Listing {
        rows: store.list(Which::All)?,
        counts: store.counts()?,
        store: store.path().to_path_buf(),
    }))
}
