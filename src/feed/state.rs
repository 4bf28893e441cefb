//! What the last build read and wrote, so that a build whose inputs and outputs are just as that
//! build left them reads no post, renders nothing and writes nothing: it says again what the last
//! build said.
//!
//! The state (`.gazette/build.state`, beside the post cache) holds:
//! - a key of everything a build's output depends on: gazette's version, the site and output
//!   folders as given, `--strict`, the settings (byte for byte) and the time zone they are read
//!   in, `JEKYLL_ENV` (Liquid's `jekyll.environment`), every post file's path, size and
//!   modification time ([`Scan::key`]) and every other file of the site a post's Liquid may read
//!   ([`others_key`]);
//! - when the earliest post left out for being dated in the future comes due (from then on, the
//!   same files give other feeds);
//! - the size and modification time of every file the build left in the output folder (and in
//!   Jekyll's destination for `jekyll_feed: true`), so that a feed edited or removed by hand is
//!   written again;
//! - what the build reported (counts and problems), to be said again.
//!
//! Anything that does not match, a state that cannot be read, or one written by another version
//! means a full build, which writes a new state when it succeeds; a failed build leaves the
//! state as it was (it then describes other inputs, so the next build is a full one too). The
//! state is a cache like the others: `--no-cache` neither reads nor writes it, and losing it
//! costs one full build.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::collect::cache::{PathBytes, Stamp};
use crate::collect::inputs::others_key;
use crate::collect::{Collection, Scan};
use crate::config::SiteConfig;
use crate::problem::Problem;

use super::build::Built;
use super::write::MANIFEST;

/// The state file of the post cache at `posts` (`.gazette/build.state`).
pub fn path_beside(posts: &Path) -> PathBuf {
    let [.., state] = crate::collect::cache::beside(posts);
    state
}

const MAGIC: &[u8; 16] = b"gazette-state-v2";

/// What a build is asked to do, beyond the site's files.
#[derive(Debug, Clone)]
pub struct Job<'a> {
    /// The site folder, as given.
    pub site: &'a Path,
    /// The output folder, as given.
    pub out: &'a Path,
    /// Whether a post with errors fails the build.
    pub strict: bool,
}

/// The keys of a build's inputs (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inputs {
    /// Of everything: any change to it is a full build.
    pub all: u64,
    /// Of what every feed depends on besides its posts: gazette's version, the folders, the
    /// settings, the zone, `JEKYLL_ENV`.
    pub feeds: u64,
    /// Of the site's files other than posts ([`others_key`]).
    pub others: u64,
}

/// The keys of a build's inputs (see the module docs). `scan` is stamped if it was not.
pub fn inputs(job: &Job<'_>, config: &SiteConfig, scan: &mut Scan, cache: &Path) -> Inputs {
    let site = job.site;
    let mut h = rustc_hash::FxHasher::default();
    env!("CARGO_PKG_VERSION").hash(&mut h);
    site.hash(&mut h);
    job.out.hash(&mut h);
    job.strict.hash(&mut h);
    crate::collect::cache::settings_key(site, config.timezone).hash(&mut h);
    std::env::var_os("JEKYLL_ENV").hash(&mut h);
    let feeds = h.finish();
    scan.key(site).hash(&mut h);
    // Where builds write is no input.
    let skip = crate::collect::inputs::written(site, config, job.out, Some(cache));
    let others = others_key(site, &skip);
    others.hash(&mut h);
    Inputs {
        all: h.finish(),
        feeds,
        others,
    }
}

/// What a build said, to be said again by a build that finds nothing changed.
#[derive(Debug, Clone)]
pub struct Replay {
    /// Feeds planned.
    pub feeds: usize,
    /// Posts in them.
    pub posts: usize,
    /// gazette's files in the output folder (relative to it).
    pub files: Vec<PathBuf>,
    /// Jekyll's destination and the files written there in jekyll-feed's place (relative to it).
    pub jekyll_feed: Option<(PathBuf, Vec<PathBuf>)>,
    /// Every problem the build reported, reading the posts included.
    pub problems: Vec<Problem>,
    /// Posts that could not be read and were left out.
    pub left_out: usize,
}

/// What the last build wrote into one feed file: the key of what it was made from (see
/// `feed/reuse.rs`), its stamp, and the warnings its entries gave.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Written {
    /// The key of what it was made from.
    pub key: u64,
    /// Its size and modification time once written.
    pub stamp: Stamp,
    /// The warnings its entries gave (said again when it is kept).
    pub problems: Vec<Problem>,
}

/// The state as written: paths as bytes (see `PathBytes`).
#[derive(Debug, Serialize, Deserialize)]
pub struct State {
    key: u64,
    /// When the earliest post left out for its future date comes due (nanoseconds since the
    /// epoch).
    due: Option<i64>,
    /// Every file the build left, and its stamp then.
    stamps: Vec<(PathBytes, Stamp)>,
    feeds: usize,
    posts: usize,
    files: Vec<PathBytes>,
    jekyll_feed: Option<(PathBytes, Vec<PathBytes>)>,
    problems: Vec<Problem>,
    left_out: usize,
    /// gazette's feed files (relative to the output folder) and how each was made.
    written: Vec<(PathBytes, Written)>,
}

fn paths(bytes: Vec<PathBytes>) -> Option<Vec<PathBuf>> {
    bytes.into_iter().map(PathBytes::into_path).collect()
}

impl State {
    /// The state at `path`; `None` when there is none or it cannot be used.
    pub fn load(path: &Path) -> Option<State> {
        let bytes = std::fs::read(path).ok()?;
        let payload = bytes.strip_prefix(MAGIC.as_slice())?;
        postcard::from_bytes(payload).ok()
    }

    /// The replay of the last build when it read the same inputs (`key`), its files are as it
    /// left them, and nothing it left out has come due by `now`; else `None`.
    pub fn replay(&self, key: u64, now: DateTime<Utc>) -> Option<Replay> {
        replay(self, key, now)
    }

    /// How the last build made each of gazette's feed files (relative to the output folder).
    pub fn written(&self) -> std::collections::HashMap<PathBuf, Written> {
        self.written
            .iter()
            .filter_map(|(path, w)| Some((path.clone().into_path()?, w.clone())))
            .collect()
    }
}

fn replay(state: &State, key: u64, now: DateTime<Utc>) -> Option<Replay> {
    if state.key != key {
        return None;
    }
    if state
        .due
        .is_some_and(|due| now.timestamp_nanos_opt().is_none_or(|now| now >= due))
    {
        return None;
    }
    let unchanged = |(path, stamp): &(PathBytes, Stamp)| {
        path.clone()
            .into_path()
            .and_then(|p| std::fs::symlink_metadata(p).ok())
            .is_some_and(|m| m.is_file() && Stamp::from_metadata(&m) == *stamp)
    };
    if !state.stamps.iter().all(unchanged) {
        return None;
    }
    let jekyll_feed = match &state.jekyll_feed {
        Some((dest, files)) => Some((dest.clone().into_path()?, paths(files.clone())?)),
        None => None,
    };
    Some(Replay {
        feeds: state.feeds,
        posts: state.posts,
        files: paths(state.files.clone())?,
        jekyll_feed,
        problems: state.problems.clone(),
        left_out: state.left_out,
    })
}

/// Records what a build that succeeded read (`key`) and wrote, for the next one; on any error,
/// or when the build read what no key covers ([`Built::volatile`]), the state is removed
/// instead, so that the next build is a full one.
pub fn record(
    path: &Path,
    key: u64,
    collection: &Collection,
    built: &Built,
    problems: &[Problem],
) -> std::io::Result<()> {
    if built.volatile {
        // What no key covers changes what it wrote: the next build is a full one.
        let _ = std::fs::remove_file(path);
        return Ok(());
    }
    let result = write(path, key, collection, built, problems);
    if result.is_err() {
        let _ = std::fs::remove_file(path);
    }
    result
}

fn write(
    path: &Path,
    key: u64,
    collection: &Collection,
    built: &Built,
    problems: &[Problem],
) -> std::io::Result<()> {
    let relative = |report: &super::write::Report| -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = report
            .written
            .iter()
            .chain(&report.unchanged)
            .cloned()
            .collect();
        files.sort();
        files
    };
    let ours = relative(&built.report);
    let mut stamps = Vec::with_capacity(ours.len() + 1);
    let mut stamp = |file: PathBuf| -> std::io::Result<Stamp> {
        let stamp = Stamp::of(&file).ok_or_else(|| {
            std::io::Error::other(format!("{} is gone after the build", file.display()))
        })?;
        stamps.push((PathBytes::of(&file), stamp));
        Ok(stamp)
    };
    let mut written = Vec::with_capacity(built.made.len());
    for (file, key, problems) in &built.made {
        let stamp = stamp(built.out.join(file))?;
        written.push((
            PathBytes::of(file),
            Written {
                key: *key,
                stamp,
                problems: problems.clone(),
            },
        ));
    }
    let made: std::collections::HashSet<&PathBuf> = built.made.iter().map(|m| &m.0).collect();
    for file in ours.iter().chain(std::iter::once(&PathBuf::from(MANIFEST))) {
        if !made.contains(file) {
            stamp(built.out.join(file))?;
        }
    }
    let jekyll_feed = match &built.jekyll_feed {
        Some((dest, report)) => {
            let theirs = relative(report);
            for file in &theirs {
                stamp(dest.join(file))?;
            }
            let manifest = dest.join(super::jekyll_feed::MANIFEST);
            if manifest.exists() {
                stamp(manifest)?;
            }
            Some((
                PathBytes::of(dest),
                theirs.iter().map(|p| PathBytes::of(p)).collect(),
            ))
        }
        None => None,
    };
    let state = State {
        key,
        due: collection
            .next_due
            .map(|due| due.timestamp_nanos_opt().unwrap_or(i64::MAX)),
        stamps,
        feeds: built.feeds,
        posts: built.posts,
        files: ours.iter().map(|p| PathBytes::of(p)).collect(),
        jekyll_feed,
        problems: problems.to_vec(),
        left_out: collection.stats.invalid,
        written,
    };
    let payload = postcard::to_allocvec(&state).map_err(std::io::Error::other)?;
    crate::collect::cache::replace_file(path, |w| {
        use std::io::Write;
        w.write_all(MAGIC)?;
        w.write_all(&payload)
    })
}
