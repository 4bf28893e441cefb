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

/// The state file's name, beside the post cache.
pub const FILE: &str = "build.state";

const MAGIC: &[u8; 16] = b"gazette-state-v1";

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

/// The key of a build's inputs (see the module docs). `scan` is stamped if it was not.
pub fn key(job: &Job<'_>, config: &SiteConfig, scan: &mut Scan, cache: &Path) -> u64 {
    let site = job.site;
    let mut h = rustc_hash::FxHasher::default();
    env!("CARGO_PKG_VERSION").hash(&mut h);
    site.hash(&mut h);
    job.out.hash(&mut h);
    job.strict.hash(&mut h);
    crate::collect::cache::settings_key(site, config.timezone).hash(&mut h);
    std::env::var_os("JEKYLL_ENV").hash(&mut h);
    scan.key(site).hash(&mut h);
    // Where builds write is no input: the output folder, Jekyll's destination, the caches'
    // folder (or, when the caches lie in the site folder itself, their files).
    let mut skip = vec![
        job.out.to_path_buf(),
        super::jekyll_feed::destination(site, config),
    ];
    match cache.parent() {
        Some(folder) if folder != site && !folder.as_os_str().is_empty() => {
            skip.push(folder.to_path_buf())
        }
        _ => skip.extend(
            [cache.to_path_buf(), cache.with_file_name("entries.cache")]
                .into_iter()
                .chain(std::iter::once(cache.with_file_name(FILE))),
        ),
    }
    others_key(site, &skip).hash(&mut h);
    h.finish()
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

/// The state as written: paths as bytes (see [`PathBytes`]).
#[derive(Debug, Serialize, Deserialize)]
struct State {
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
}

fn paths(bytes: Vec<PathBytes>) -> Option<Vec<PathBuf>> {
    bytes.into_iter().map(PathBytes::into_path).collect()
}

/// The replay of the last build when it read the same inputs (`key`) and its files are as it
/// left them, and nothing it left out has come due by `now`; else `None`.
pub fn fresh(path: &Path, key: u64, now: DateTime<Utc>) -> Option<Replay> {
    let bytes = std::fs::read(path).ok()?;
    let payload = bytes.strip_prefix(MAGIC.as_slice())?;
    let state: State = postcard::from_bytes(payload).ok()?;
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
    let jekyll_feed = match state.jekyll_feed {
        Some((dest, files)) => Some((dest.into_path()?, paths(files)?)),
        None => None,
    };
    Some(Replay {
        feeds: state.feeds,
        posts: state.posts,
        files: paths(state.files)?,
        jekyll_feed,
        problems: state.problems,
        left_out: state.left_out,
    })
}

/// Records what a build that succeeded read (`key`) and wrote, for the next one; on any error
/// the state is removed instead, so that the next build is a full one.
pub fn record(
    path: &Path,
    key: u64,
    collection: &Collection,
    built: &Built,
    problems: &[Problem],
) -> std::io::Result<()> {
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
    let mut stamp = |file: PathBuf| -> std::io::Result<()> {
        let stamp = Stamp::of(&file).ok_or_else(|| {
            std::io::Error::other(format!("{} is gone after the build", file.display()))
        })?;
        stamps.push((PathBytes::of(&file), stamp));
        Ok(())
    };
    for file in ours.iter().chain(std::iter::once(&PathBuf::from(MANIFEST))) {
        stamp(built.out.join(file))?;
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
    };
    let payload = postcard::to_allocvec(&state).map_err(std::io::Error::other)?;
    crate::collect::cache::replace_file(path, |w| {
        use std::io::Write;
        w.write_all(MAGIC)?;
        w.write_all(&payload)
    })
}
