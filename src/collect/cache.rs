//! A cache of what reading each post gave, so that a rebuild reads only the files that changed.
//!
//! An entry is reused only when its file has the same path, size and modification time (to the
//! nanosecond) as when it was read, and the whole cache only when it was written by this version
//! of gazette for the same settings (`_config.yml` and `gazette.yml`, byte for byte).
//!
//! Two files hold it. `.gazette/posts.cache` is the index: for each file, its path, stamp, where
//! its record lies, and a `Brief` of the post (its date, categories, tags, URL…: what deciding
//! which feeds hold which posts needs), with a listing section (titles, slugs, paths) read only
//! when Liquid must list every post. `.gazette/posts.records` holds the records (what reading
//! the file gave, whole), appended to (see `records.rs`). So a build can decide which posts
//! its feeds show from the index alone and decode just those posts
//! ([`super::collect_for_feeds`]). A rebuild that read a few files appends their records, and to
//! the index a `Delta` of their entries (and of the files gone); the index is written whole
//! again after `MOST_DELTAS` deltas or when many files changed. At 10,000 posts, decoding and
//! writing every post again was 30–40 ms of a one-change rebuild.
//!
//! The index carries a checksum and each record its own: a damaged, truncated or foreign cache
//! is ignored and rebuilt, never trusted (a damaged record is read again from its file). Losing
//! the cache costs one full read, nothing else. The key covers the time zone the posts were read
//! in too: without `timezone`, that is the machine's, which can change between runs
//! (`TZ=Asia/Tokyo`) while the settings do not. Paths are kept as bytes, so a file name that is
//! not UTF-8 is cached like any other; a temporary file a killed run left beside the cache is
//! removed by the next run that loads it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::post::Reading;
use super::records::{Place, Record, Records};
use super::walk::Source;

const MAGIC: &[u8; 16] = b"gazette-cache-va";

/// What identifies a file's content without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// The file's size in bytes.
    pub size: u64,
    /// Its modification time in nanoseconds since the Unix epoch (negative before it; 0 when
    /// the platform cannot say).
    pub modified_ns: i128,
}

impl Stamp {
    /// The stamp of a file now, or `None` when it cannot be read.
    pub fn of(path: &Path) -> Option<Stamp> {
        std::fs::metadata(path)
            .ok()
            .map(|m| Stamp::from_metadata(&m))
    }

    /// The stamp in a file's metadata (a modification time the platform cannot give counts as
    /// the epoch: the size and the path still tell files apart).
    pub(crate) fn from_metadata(meta: &std::fs::Metadata) -> Stamp {
        let modified_ns = match meta.modified().map(|m| m.duration_since(UNIX_EPOCH)) {
            Ok(Ok(d)) => d.as_nanos() as i128,
            Ok(Err(e)) => -(e.duration().as_nanos() as i128),
            Err(_) => 0,
        };
        Stamp {
            size: meta.len(),
            modified_ns,
        }
    }
}

/// A path as the caches keep it: its bytes, so that a file name that is not UTF-8 (which serde
/// cannot write as a string) is kept as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathBytes(pub Vec<u8>);

impl PathBytes {
    pub(crate) fn of(path: &Path) -> PathBytes {
        PathBytes(path.as_os_str().as_encoded_bytes().to_vec())
    }

    /// The path again; `None` only where a platform's paths are not bytes (Windows) and these
    /// are not UTF-8 (the entry is then not reused).
    pub(crate) fn into_path(self) -> Option<PathBuf> {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            Some(PathBuf::from(std::ffi::OsString::from_vec(self.0)))
        }
        #[cfg(not(unix))]
        {
            String::from_utf8(self.0).ok().map(PathBuf::from)
        }
    }
}

impl Serialize for PathBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for PathBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = PathBytes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a path's bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<PathBytes, E> {
                Ok(PathBytes(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<PathBytes, E> {
                Ok(PathBytes(v))
            }
        }
        d.deserialize_byte_buf(Visitor)
    }
}

/// A borrowed path written as [`PathBytes`] are read.
struct PathRef<'a>(&'a Path);

impl Serialize for PathRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0.as_os_str().as_encoded_bytes())
    }
}

/// The paths an outcome holds (the post's file, each problem's), in a fixed order.
fn paths_of(outcome: &Reading) -> Vec<&Path> {
    match outcome {
        Reading::Post(post, problems) => std::iter::once(post.source.as_path())
            .chain(problems.iter().map(|p| p.path.as_path()))
            .collect(),
        Reading::Unpublished => Vec::new(),
        Reading::Ignored(problem) => vec![problem.path.as_path()],
        Reading::Invalid(problems) => problems.iter().map(|p| p.path.as_path()).collect(),
    }
}

/// [`paths_of`], to change them.
fn paths_of_mut(outcome: &mut Reading) -> Vec<&mut PathBuf> {
    match outcome {
        Reading::Post(post, problems) => std::iter::once(&mut post.source)
            .chain(problems.iter_mut().map(|p| &mut p.path))
            .collect(),
        Reading::Unpublished => Vec::new(),
        Reading::Ignored(problem) => vec![&mut problem.path],
        Reading::Invalid(problems) => problems.iter_mut().map(|p| &mut p.path).collect(),
    }
}

/// The paths of an outcome's problems (not the post's own, which is relative already).
fn problem_paths_mut(outcome: &mut Reading) -> Vec<&mut PathBuf> {
    match outcome {
        Reading::Post(_, problems) | Reading::Invalid(problems) => {
            problems.iter_mut().map(|p| &mut p.path).collect()
        }
        Reading::Ignored(problem) => vec![&mut problem.path],
        Reading::Unpublished => Vec::new(),
    }
}

/// `outcome` with its problems' paths made relative to `site`, for the cache; `None` when none
/// of them is below `site` as written (nothing to change).
pub(crate) fn relative_to(outcome: &Reading, site: &Path) -> Option<Reading> {
    let below = |p: &Path| p.strip_prefix(site).is_ok() && p != site;
    let has_problems = match outcome {
        Reading::Post(_, problems) | Reading::Invalid(problems) => {
            problems.iter().any(|p| below(&p.path))
        }
        Reading::Ignored(problem) => below(&problem.path),
        Reading::Unpublished => false,
    };
    if !has_problems {
        return None;
    }
    let mut owned = outcome.clone();
    for path in problem_paths_mut(&mut owned) {
        if let Ok(rest) = path.strip_prefix(site) {
            if !rest.as_os_str().is_empty() {
                *path = rest.to_path_buf();
            }
        }
    }
    Some(owned)
}

/// An outcome from the cache with its problems' relative paths below `site` again.
pub(crate) fn rooted(mut outcome: Reading, site: &Path) -> Reading {
    for path in problem_paths_mut(&mut outcome) {
        if path.is_relative() {
            *path = site.join(&*path);
        }
    }
    outcome
}

/// One entry as written: the file's path, its stamp, the outcome, and (only when one of the
/// outcome's paths is not UTF-8) those paths' bytes, the outcome then holding empty paths in
/// their place.
type StoredRef<'a> = (
    PathRef<'a>,
    Stamp,
    std::borrow::Cow<'a, Reading>,
    Vec<PathBytes>,
);

/// One entry as read back.
type Stored = (PathBytes, Stamp, Reading, Vec<PathBytes>);

fn stored<'a>(path: &'a Path, stamp: Stamp, outcome: &'a Reading) -> StoredRef<'a> {
    if paths_of(outcome).iter().all(|p| p.to_str().is_some()) {
        return (
            PathRef(path),
            stamp,
            std::borrow::Cow::Borrowed(outcome),
            Vec::new(),
        );
    }
    let mut owned = outcome.clone();
    let bytes = paths_of_mut(&mut owned)
        .into_iter()
        .map(|p| PathBytes::of(&std::mem::take(p)))
        .collect();
    (PathRef(path), stamp, std::borrow::Cow::Owned(owned), bytes)
}

/// An entry read back, its paths restored; `None` when it does not fit together.
fn restored((path, stamp, mut outcome, bytes): Stored) -> Option<(PathBuf, Stamp, Reading)> {
    if !bytes.is_empty() {
        let slots = paths_of_mut(&mut outcome);
        if slots.len() != bytes.len() {
            return None;
        }
        for (slot, bytes) in slots.into_iter().zip(bytes) {
            *slot = bytes.into_path()?;
        }
    }
    Some((path.into_path()?, stamp, outcome))
}

/// The files gazette keeps beside the post cache at `posts` (`.gazette/posts.cache`): the post
/// cache's index and records, the entry cache's (`entries.cache`, `entries.records`) and the
/// build state (`build.state`), in that order.
pub fn beside(posts: &Path) -> [PathBuf; 5] {
    [
        posts.to_path_buf(),
        records_path(posts),
        posts.with_file_name("entries.cache"),
        posts.with_file_name("entries.records"),
        posts.with_file_name("build.state"),
    ]
}

/// What one source gave in this run, from the cache or read now, with the stamp its file had;
/// `None` while it is still to be read.
pub(crate) type Slot = Option<(Reading, Option<Stamp>)>;

/// What a build needs to know of a file, kept in the index so that it is known without decoding
/// the whole record: what kind of outcome reading it gave, and of a post what deciding which
/// feeds show it (and Liquid's `site.posts`) needs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Brief {
    /// 0: a post, 1: unpublished, 2: not a post, 3: could not be read.
    pub kind: u8,
    /// Whether reading it gave problems (kept in its record).
    pub has_problems: bool,
    /// The post's date: seconds, nanoseconds, offset in seconds.
    pub date: (i64, u32, i32),
    pub draft: bool,
    pub in_feeds: bool,
    pub has_liquid: bool,
    /// A hash of the post's URL: posts that share one are told apart by their records.
    pub url: u64,
    /// A hash of what Liquid sees of the post ([`super::liquid::PostInfo::key`]).
    pub info: u64,
    /// Where its categories, then its tags, lie in the index's list of terms ([`Terms`]): the
    /// start, and how many of each. Names are kept once for the whole index, so that an entry
    /// is decoded without one allocation per name.
    pub terms: (u32, u32, u32),
    pub id: Option<String>,
}

/// The names of categories and tags, each once, and the list of them that briefs point into.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Terms {
    names: Vec<String>,
    list: Vec<u32>,
    #[serde(skip)]
    ids: rustc_hash::FxHashMap<String, u32>,
}

impl Terms {
    /// The terms of a loaded index, ready to take more names.
    fn ready(mut self) -> Terms {
        self.ids = self
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as u32))
            .collect();
        self
    }

    /// The number of a name, given one if it has none.
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }

    /// Adds a post's categories and tags to the list; where they lie, for [`Brief::terms`].
    fn add(&mut self, categories: &[String], tags: &[String]) -> (u32, u32, u32) {
        let start = self.list.len() as u32;
        for name in categories.iter().chain(tags) {
            let id = self.intern(name);
            self.list.push(id);
        }
        (start, categories.len() as u32, tags.len() as u32)
    }

    /// Copies the terms of `brief`, which points into `from`, into this list (whose names start
    /// with `from`'s, in the same order); where they lie now.
    fn copy(&mut self, from: &Terms, brief: &Brief) -> (u32, u32, u32) {
        let start = self.list.len() as u32;
        self.list.extend_from_slice(from.all(brief));
        let (_, c, t) = brief.terms;
        (start, c, t)
    }

    /// The numbers of a brief's categories and tags.
    fn all(&self, brief: &Brief) -> &[u32] {
        let (start, c, t) = brief.terms;
        let end = start as usize + c as usize + t as usize;
        self.list.get(start as usize..end).unwrap_or_default()
    }

    /// The numbers of a brief's categories.
    pub(crate) fn categories(&self, brief: &Brief) -> &[u32] {
        let all = self.all(brief);
        &all[..(brief.terms.1 as usize).min(all.len())]
    }

    /// The numbers of a brief's tags.
    pub(crate) fn tags(&self, brief: &Brief) -> &[u32] {
        let all = self.all(brief);
        &all[(brief.terms.1 as usize).min(all.len())..]
    }

    /// The name with number `id`.
    pub(crate) fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }
}

/// A hash of a post's URL, for [`Brief::url`].
pub(crate) fn url_hash(url: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    url.hash(&mut h);
    h.finish()
}

impl Brief {
    /// The brief of what reading a file gave, its terms added to `terms`.
    pub(crate) fn of(reading: &Reading, terms: &mut Terms) -> Brief {
        match reading {
            Reading::Post(post, problems) => Brief {
                kind: 0,
                has_problems: !problems.is_empty(),
                date: (
                    post.date.timestamp(),
                    post.date.timestamp_subsec_nanos(),
                    post.date.offset().local_minus_utc(),
                ),
                draft: post.draft,
                in_feeds: post.in_feeds,
                has_liquid: post.has_liquid,
                url: url_hash(&post.url),
                info: super::liquid::PostInfo::key_of(post),
                terms: terms.add(&post.categories, &post.tags),
                id: post.id.clone(),
            },
            Reading::Unpublished => Brief {
                kind: 1,
                ..Brief::default()
            },
            Reading::Ignored(_) => Brief {
                kind: 2,
                has_problems: true,
                ..Brief::default()
            },
            Reading::Invalid(problems) => Brief {
                kind: 3,
                has_problems: !problems.is_empty(),
                ..Brief::default()
            },
        }
    }

    /// The post's date, when it is a post with a date chrono can hold.
    pub(crate) fn date(&self) -> Option<chrono::DateTime<chrono::FixedOffset>> {
        let (secs, nanos, offset) = self.date;
        let offset = chrono::FixedOffset::east_opt(offset)?;
        chrono::DateTime::from_timestamp(secs, nanos).map(|at| at.with_timezone(&offset))
    }
}

/// One file in the index as written: its path, stamp, record, brief, and where its title, slug
/// and page path lie in the index's listing section (see [`Cache::listed`]).
type IndexedRef<'a> = (PathRef<'a>, Stamp, Place, &'a Brief, (u32, u32));
/// One file in the index as read back.
type Indexed = (PathBytes, Stamp, Place, Brief, (u32, u32));

#[derive(Serialize)]
struct IndexRef<'a> {
    key: u64,
    generation: u64,
    terms: &'a Terms,
    entries: Vec<IndexedRef<'a>>,
}

#[derive(Deserialize)]
struct Index {
    key: u64,
    generation: u64,
    terms: Terms,
    entries: Vec<Indexed>,
}

/// What a rebuild that read a few files appends to the index instead of writing it anew: the
/// entries of those files (their `listed` places relative to the delta's own listing section),
/// the names and term lists they added, and the files that went away.
#[derive(Serialize, Deserialize)]
struct Delta {
    key: u64,
    generation: u64,
    names: Vec<String>,
    list: Vec<u32>,
    entries: Vec<Indexed>,
    removed: Vec<PathBytes>,
}

/// A listing section, and where each file's part lies in it (start, length).
type Listing = (Vec<u8>, Vec<(u32, u32)>);

/// At most this many deltas follow an index before it is written anew.
const MOST_DELTAS: usize = 64;

/// A file as the cache knows it.
#[derive(Debug)]
pub(crate) struct Old {
    pub path: PathBuf,
    pub stamp: Stamp,
    place: Place,
    pub brief: Brief,
    /// Where its title, slug and page path lie in the index file as read (start, length).
    listed: (u64, u32),
}

/// The cache as loaded: the index (sorted by path), its listing section (each post's title,
/// slug and page path, decoded only when Liquid must see every post), and the records file.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    key: u64,
    old: Vec<Old>,
    /// The names and lists the briefs' terms point into.
    pub terms: Terms,
    /// The index file as read (its listing sections are not copied: 15 MB at 100,000 posts).
    file: Vec<u8>,
    /// Deltas read after the index; `None` when one of them was damaged (the next save then
    /// writes the index anew).
    deltas: Option<usize>,
    records: Records,
}

/// What a run keeps of one file: the record the cache holds (by its index in the cache), or
/// what reading it gave now.
pub(crate) enum Keep<'a> {
    Old(usize),
    New(&'a Reading),
}

/// A checksum of a cache's bytes: XXH3, which finds damage as SipHash did and hashes tens of
/// gigabytes a second where SipHash hashed one or two (at 10,000 posts the caches' 14 MB took
/// 7–14 ms to check and write with SipHash).
pub(crate) fn checksum(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(bytes, 0x6761_7a65_7474_6521)
}

/// The key of a site's settings and of the time zone the posts are read in (`zone`: the
/// config's `timezone`, else the machine's): any change to them may change every post.
pub(crate) fn settings_key(site: &Path, zone: chrono_tz::Tz) -> u64 {
    let mut bytes = env!("CARGO_PKG_VERSION").as_bytes().to_vec();
    bytes.extend_from_slice(b"zone:");
    bytes.extend_from_slice(zone.name().as_bytes());
    bytes.push(0);
    for name in ["_config.yml", "_config.yaml", "gazette.yml"] {
        bytes.extend_from_slice(name.as_bytes());
        bytes.extend(std::fs::read(site.join(name)).unwrap_or_default());
    }
    checksum(&bytes)
}

/// Writes a cache file through `write`: into a temporary file beside it, renamed over it when
/// whole (its folder created if needed); on failure the temporary file is removed. Not synced:
/// a cache cut short by a crash fails its checksum and is rebuilt.
pub(crate) fn replace_file(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // `posts.tmp-PID` for `posts.cache`: see `remove_stale_temps`.
    let temp = path.with_extension(format!("tmp-{}", std::process::id()));
    // Made new: whatever stands there (a link, a stale file of a process with this id) is
    // removed first, never written through.
    let create = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
    };
    let file = match create() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(&temp).and_then(|()| create())
        }
        file => file,
    };
    let written = file.and_then(|file| {
        let mut file = std::io::BufWriter::new(file);
        write(&mut file)?;
        file.flush()
    });
    match written {
        Ok(()) => std::fs::rename(&temp, path),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(e)
        }
    }
}

/// The start of the names of [`replace_file`]'s temporary files for `path` (`posts.tmp-` for
/// `posts.cache`), which end in the writing process's id.
fn temp_prefix(path: &Path) -> Option<String> {
    let temp = path.with_extension("tmp-");
    temp.file_name()?.to_str().map(str::to_string)
}

/// Removes the temporary files of `path` that runs killed while writing it left behind
/// (`posts.tmp-PID` beside `posts.cache`): only files named so, only regular files (never a
/// link), only beside `path`, and only when their process is gone or they are older than any
/// run (see [`crate::temp::is_stale_temp`]). Whatever cannot be removed stays.
pub(crate) fn remove_stale_temps(path: &Path) {
    let (Some(dir), Some(prefix)) = (path.parent(), temp_prefix(path)) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix.as_str()))
            .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|digits| digits.parse::<u32>().ok())
        else {
            continue;
        };
        if crate::temp::is_stale_temp(&entry, pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The records file of the index at `path` (`posts.records` for `posts.cache`).
fn records_path(path: &Path) -> PathBuf {
    path.with_extension("records")
}

/// The index in a file's bytes, and its listing section; `None` when it is not a whole index
/// for `key`. The file: the magic, then for the index and for the listing section, each, its
/// length, its checksum and its bytes.
fn parse(bytes: &[u8], key: u64) -> Option<(Index, &[u8], &[u8])> {
    let rest = bytes.strip_prefix(MAGIC.as_slice())?;
    let (payload, rest) = section(rest)?;
    let (listing, rest) = section(rest)?;
    let index: Index = postcard::from_bytes(payload).ok()?;
    (index.key == key).then_some((index, listing, rest))
}

/// A section of an index file (its length, checksum and bytes) and what follows it.
fn section(rest: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = rest.split_at_checked(8)?;
    let (sum, rest) = rest.split_at_checked(8)?;
    let len = usize::try_from(u64::from_le_bytes(len.try_into().ok()?)).ok()?;
    let (payload, rest) = rest.split_at_checked(len)?;
    (checksum(payload) == u64::from_le_bytes(sum.try_into().ok()?)).then_some((payload, rest))
}

/// Writes a section: its length, its checksum, its bytes.
fn write_section(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(&(bytes.len() as u64).to_le_bytes())?;
    out.write_all(&checksum(bytes).to_le_bytes())?;
    out.write_all(bytes)
}

/// Where `part` (a slice of `whole`) starts in it.
fn offset_in(whole: &[u8], part: &[u8]) -> u64 {
    (part.as_ptr() as usize - whole.as_ptr() as usize) as u64
}

/// Applies the deltas in `rest` (after an index of `key` and `generation`) to `old` (sorted by
/// path) and `terms`; how many applied, `None` when one was damaged or foreign (the ones before
/// it stand: a delta is whole or ignored).
fn apply_deltas(
    whole: &[u8],
    mut rest: &[u8],
    (key, generation): (u64, u64),
    old: &mut Vec<Old>,
    terms: &mut Terms,
) -> Option<usize> {
    let mut applied = 0;
    while !rest.is_empty() {
        let (payload, after) = section(rest)?;
        let (listing, after) = section(after)?;
        let delta: Delta = postcard::from_bytes(payload).ok()?;
        (delta.key == key && delta.generation == generation).then_some(())?;
        let base = offset_in(whole, listing);
        terms.names.extend(delta.names);
        terms.list.extend(delta.list);
        for path in delta.removed {
            let path = path.into_path()?;
            if let Ok(i) = old.binary_search_by(|e| e.path.as_os_str().cmp(path.as_os_str())) {
                old.remove(i);
            }
        }
        for (path, stamp, place, brief, (start, len)) in delta.entries {
            let entry = Old {
                path: path.into_path()?,
                stamp,
                place,
                brief,
                listed: (base + u64::from(start), len),
            };
            match old.binary_search_by(|e| e.path.as_os_str().cmp(entry.path.as_os_str())) {
                Ok(i) => old[i] = entry,
                Err(i) => old.insert(i, entry),
            }
        }
        applied += 1;
        rest = after;
    }
    Some(applied)
}

impl Cache {
    /// Loads the cache at `path` for settings `key`; anything unusable gives an empty cache.
    pub fn load(path: &Path, key: u64) -> Cache {
        remove_stale_temps(path);
        let bytes = std::fs::read(path).unwrap_or_default();
        let index = parse(&bytes, key);
        let generation = index.as_ref().map_or(0, |(i, _, _)| i.generation);
        let records = Records::open(&records_path(path), generation);
        let (old, terms, deltas) = match index {
            Some((index, listing, rest)) if records.generation() != 0 => {
                let base = offset_in(&bytes, listing);
                let mut old: Vec<Old> = index
                    .entries
                    .into_iter()
                    .filter_map(|(path, stamp, place, brief, (start, len))| {
                        Some(Old {
                            path: path.into_path()?,
                            stamp,
                            place,
                            brief,
                            listed: (base + u64::from(start), len),
                        })
                    })
                    .collect();
                old.par_sort_unstable_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
                let mut terms = index.terms;
                let deltas =
                    apply_deltas(&bytes, rest, (key, index.generation), &mut old, &mut terms);
                (old, terms.ready(), deltas)
            }
            _ => (Vec::new(), Terms::default(), None),
        };
        Cache {
            key,
            old,
            terms,
            file: bytes,
            deltas,
            records,
        }
    }

    /// Where the entry for `relative` is, if its file still has `stamp`.
    pub fn find(&self, relative: &Path, stamp: Stamp) -> Option<usize> {
        let i = self
            .old
            .binary_search_by(|e| e.path.as_os_str().cmp(relative.as_os_str()))
            .ok()?;
        (self.old[i].stamp == stamp).then_some(i)
    }

    /// The file at `index` (from [`Cache::find`]).
    pub fn get(&self, index: usize) -> &Old {
        &self.old[index]
    }

    /// The file at `index`, if there is one.
    pub(crate) fn try_get(&self, index: usize) -> Option<&Old> {
        self.old.get(index)
    }

    /// Where each source's entry is, if its file still has the stamp in `stamps`.
    pub(crate) fn found(&self, sources: &[Source], stamps: &[Option<Stamp>]) -> Vec<Option<usize>> {
        sources
            .par_iter()
            .zip(stamps.par_iter())
            .with_min_len(256)
            .map(|(s, stamp)| self.find(&s.relative, (*stamp)?))
            .collect()
    }

    /// What reading the file at `index` gave, its problems' paths below `site`; `None` when its
    /// record is damaged. `all`: the whole records file, when many are taken at once.
    pub(crate) fn reading(&self, index: usize, site: &Path, all: Option<&[u8]>) -> Option<Reading> {
        let place = self.old[index].place;
        let owned;
        let bytes = match all {
            Some(all) => Records::slice(all, place)?,
            None => {
                owned = self.records.read(place)?;
                &owned
            }
        };
        let stored: Stored = postcard::from_bytes(bytes).ok()?;
        let (path, _, reading) = restored(stored)?;
        (path == self.old[index].path).then(|| rooted(reading, site))
    }

    /// The bytes of the post at `index` in the listing sections of the index file as read.
    fn listed_bytes(&self, index: usize) -> Option<&[u8]> {
        let (start, len) = self.old.get(index)?.listed;
        let start = usize::try_from(start).ok()?;
        self.file.get(start..start.checked_add(len as usize)?)
    }

    /// The title, slug and page path of the post at `index`, from the listing section.
    pub(crate) fn listed(&self, index: usize) -> Option<(String, String, String)> {
        postcard::from_bytes(self.listed_bytes(index)?).ok()
    }

    /// The whole records file, to take many records at once.
    pub(crate) fn records(&self) -> Option<Vec<u8>> {
        self.records.read_all()
    }

    /// Saves this run's files at `path`: for each source (its path and stamp), what the cache
    /// holds or what was read now. Leaves the files as they are when nothing was read and
    /// nothing went away. Problems are kept with paths relative to the site, so that a later run
    /// that names the site otherwise (`blog`, `/srv/blog`) shows them as it names the site.
    pub(crate) fn store(
        &self,
        path: &Path,
        site: &Path,
        keep: &[(&Path, Stamp, Keep<'_>)],
    ) -> std::io::Result<()> {
        let fresh = keep.iter().filter(|k| matches!(k.2, Keep::New(_))).count();
        if fresh == 0 && keep.len() == self.old.len() {
            return Ok(());
        }
        // New records are encoded as they are written; old ones stay where they are.
        let records: Vec<Record> = keep
            .iter()
            .map(|(_, _, what)| match what {
                Keep::Old(i) => Record::Old(self.old[*i].place),
                Keep::New(_) => Record::New,
            })
            .collect();
        let encode = |i: usize| -> std::io::Result<Vec<u8>> {
            let (source, stamp, Keep::New(reading)) = &keep[i] else {
                return Ok(Vec::new());
            };
            let relative = relative_to(reading, site);
            let reading = relative.as_ref().unwrap_or(reading);
            postcard::to_allocvec(&stored(source, *stamp, reading)).map_err(std::io::Error::other)
        };
        let (generation, places) = self.records.save(&records, encode)?;
        if generation == self.records.generation() {
            if let Some(written) = self.append_delta(path, keep, &places, fresh)? {
                return Ok(written);
            }
        }
        // The terms anew: the same names first (so that numbers stay), only the lists kept.
        let mut terms = Terms {
            names: self.terms.names.clone(),
            list: Vec::with_capacity(self.terms.list.len()),
            ids: self.terms.ids.clone(),
        };
        let briefs: Vec<Brief> = keep
            .iter()
            .map(|(_, _, what)| match what {
                Keep::Old(i) => {
                    let old = &self.old[*i].brief;
                    Brief {
                        terms: terms.copy(&self.terms, old),
                        ..old.clone()
                    }
                }
                Keep::New(reading) => Brief::of(reading, &mut terms),
            })
            .collect();
        let (listing, listed) = self.listing_of(keep.iter().map(|k| &k.2), fresh)?;
        let index = IndexRef {
            key: self.key,
            generation,
            terms: &terms,
            entries: keep
                .iter()
                .zip(places)
                .zip(&briefs)
                .zip(listed)
                .map(|((((source, stamp, _), place), brief), listed)| {
                    (PathRef(source), *stamp, place, brief, listed)
                })
                .collect(),
        };
        let payload = postcard::to_allocvec(&index).map_err(std::io::Error::other)?;
        replace_file(path, |file| {
            file.write_all(MAGIC)?;
            write_section(file, &payload)?;
            write_section(file, &listing)
        })
    }

    /// The listing section of `what` (each file's title, slug and page path: the old ones'
    /// bytes copied, the new ones encoded), and where each lies in it.
    fn listing_of<'k>(
        &self,
        what: impl Iterator<Item = &'k Keep<'k>>,
        fresh: usize,
    ) -> std::io::Result<Listing> {
        let mut listing = Vec::with_capacity(256 * fresh);
        let mut listed = Vec::new();
        for what in what {
            let start = listing.len();
            match what {
                Keep::Old(i) => {
                    listing.extend_from_slice(self.listed_bytes(*i).unwrap_or_default())
                }
                Keep::New(Reading::Post(post, _)) => {
                    let names = (&post.title, &post.slug, &post.path);
                    let bytes = postcard::to_allocvec(&names).map_err(std::io::Error::other)?;
                    listing.extend_from_slice(&bytes);
                }
                Keep::New(_) => {}
            }
            let len = listing.len() - start;
            let fits = |n: usize| u32::try_from(n).map_err(std::io::Error::other);
            listed.push((fits(start)?, fits(len)?));
        }
        Ok((listing, listed))
    }

    /// Appends to the index at `path` a [`Delta`] of the files read anew in `keep` (their
    /// records at `places`) and of those gone, when they are few (a few hundredths of the
    /// index), the index read had no damaged delta and not too many, and the file is still the
    /// one read. `Ok(None)` when the index is to be written anew instead.
    fn append_delta(
        &self,
        path: &Path,
        keep: &[(&Path, Stamp, Keep<'_>)],
        places: &[Place],
        fresh: usize,
    ) -> std::io::Result<Option<()>> {
        let Some(deltas) = self.deltas else {
            return Ok(None);
        };
        let mut used = vec![false; self.old.len()];
        for (_, _, what) in keep {
            if let Keep::Old(i) = what {
                used[*i] = true;
            }
        }
        let removed: Vec<PathBytes> = self
            .old
            .iter()
            .zip(&used)
            .filter(|(_, used)| !**used)
            .map(|(old, _)| PathBytes::of(&old.path))
            .collect();
        let changed = fresh + removed.len();
        let still_the_one =
            std::fs::metadata(path).is_ok_and(|m| m.len() == self.file.len() as u64);
        if self.old.is_empty()
            || deltas >= MOST_DELTAS
            || changed * 50 > self.old.len()
            || !still_the_one
        {
            return Ok(None);
        }
        let mut terms = self.terms.clone();
        let (names_before, list_before) = (terms.names.len(), terms.list.len());
        let new: Vec<(usize, &Path, Stamp, &Reading)> = keep
            .iter()
            .enumerate()
            .filter_map(|(i, (source, stamp, what))| match what {
                Keep::New(reading) => Some((i, *source, *stamp, *reading)),
                Keep::Old(_) => None,
            })
            .collect();
        let briefs: Vec<Brief> = new
            .iter()
            .map(|(_, _, _, reading)| Brief::of(reading, &mut terms))
            .collect();
        let news: Vec<Keep<'_>> = new.iter().map(|(_, _, _, r)| Keep::New(r)).collect();
        let (listing, listed) = self.listing_of(news.iter(), fresh)?;
        let entries: Vec<Indexed> = new
            .iter()
            .zip(briefs)
            .zip(listed)
            .map(|(((i, source, stamp, _), brief), listed)| {
                (PathBytes::of(source), *stamp, places[*i], brief, listed)
            })
            .collect();
        let delta = Delta {
            key: self.key,
            generation: self.records.generation(),
            names: terms.names[names_before..].to_vec(),
            list: terms.list[list_before..].to_vec(),
            entries,
            removed,
        };
        let payload = postcard::to_allocvec(&delta).map_err(std::io::Error::other)?;
        let mut bytes = Vec::with_capacity(payload.len() + listing.len() + 32);
        write_section(&mut bytes, &payload)?;
        write_section(&mut bytes, &listing)?;
        // One write at the end of the file: cut short by a crash, it fails its checksum and is
        // ignored with whatever follows (the files it named are read again).
        let mut file = std::fs::OpenOptions::new().append(true).open(path)?;
        file.write_all(&bytes)?;
        Ok(Some(()))
    }

    /// Whether nothing was loaded.
    pub fn is_empty(&self) -> bool {
        self.old.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Saves `entries` as a run that read them all would.
    fn save(cache: &Cache, path: &Path, site: &Path, entries: &[(&Path, Stamp, Reading)]) {
        let keep: Vec<(&Path, Stamp, Keep<'_>)> = entries
            .iter()
            .map(|(p, stamp, reading)| (*p, *stamp, Keep::New(reading)))
            .collect();
        cache.store(path, site, &keep).unwrap();
    }

    #[test]
    fn round_trip_and_damage_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path();
        let path = site.join(".gazette/posts.cache");
        let stamp = Stamp {
            size: 1,
            modified_ns: 5,
        };
        let cache = Cache::load(&path, 7);
        assert!(cache.is_empty());
        let names: Vec<PathBuf> = (0..10_000)
            .map(|i| PathBuf::from(format!("_posts/{i:05}.md")))
            .collect();
        let entries: Vec<(&Path, Stamp, Reading)> = names
            .iter()
            .map(|n| (n.as_path(), stamp, Reading::Unpublished))
            .collect();
        save(&cache, &path, site, &entries);
        // Another stamp, another key, a flipped byte: nothing is trusted.
        let cache = Cache::load(&path, 7);
        let p = Path::new("_posts/00042.md");
        let other = Stamp { size: 2, ..stamp };
        assert!(cache.find(p, other).is_none());
        assert!(cache.find(Path::new("_posts/missing.md"), stamp).is_none());
        let at = cache.find(p, stamp).unwrap();
        assert_eq!(cache.get(at).brief.kind, 1);
        assert!(matches!(
            cache.reading(at, site, None),
            Some(Reading::Unpublished)
        ));
        assert!(Cache::load(&path, 8).is_empty());
        // A rebuild that read one file appends its record and keeps the others where they were.
        let records = records_path(&path);
        let before = std::fs::read(&records).unwrap();
        let invalid = Reading::Invalid(Vec::new());
        let keep: Vec<(&Path, Stamp, Keep<'_>)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let what = if i == 42 {
                    Keep::New(&invalid)
                } else {
                    Keep::Old(cache.find(n, stamp).unwrap())
                };
                (n.as_path(), stamp, what)
            })
            .collect();
        cache.store(&path, site, &keep).unwrap();
        assert!(std::fs::read(&records).unwrap().starts_with(&before));
        let cache = Cache::load(&path, 7);
        let at = cache.find(p, stamp).unwrap();
        assert_eq!(cache.get(at).brief.kind, 3);
        assert!(matches!(
            cache.reading(at, site, None),
            Some(Reading::Invalid(_))
        ));
        // A damaged record is not used (the file is read again); a damaged index, none.
        let mut bytes = std::fs::read(&records).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&records, &bytes).unwrap();
        let cache = Cache::load(&path, 7);
        assert!(cache
            .reading(cache.find(p, stamp).unwrap(), site, None)
            .is_none());
        // The index (the rebuild appended a delta to it): damage in the index proper leaves
        // nothing; damage in the delta, or a delta cut short, leaves the index before it.
        let good = std::fs::read(&path).unwrap();
        for at in [good.len() / 2, 20] {
            let mut bytes = good.clone();
            bytes[at] ^= 1;
            std::fs::write(&path, &bytes).unwrap();
            assert!(Cache::load(&path, 7).is_empty(), "flipped byte {at}");
        }
        let mut bytes = good.clone();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        for damaged in [&bytes[..], &good[..good.len() - 3]] {
            std::fs::write(&path, damaged).unwrap();
            let cache = Cache::load(&path, 7);
            assert_eq!(cache.deltas, None);
            assert_eq!(cache.get(cache.find(p, stamp).unwrap()).brief.kind, 1);
        }
        std::fs::write(&path, b"garbage").unwrap();
        assert!(Cache::load(&path, 7).is_empty());
    }

    /// A rebuild that read a few files appends a delta to the index instead of writing it anew;
    /// a damaged delta is ignored (with what follows), and the next save writes the index anew.
    #[test]
    fn few_changes_append_a_delta_and_a_damaged_one_is_ignored() {
        use crate::problem::{Position, Problem};
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path();
        let path = site.join("posts.cache");
        let stamp = Stamp {
            size: 1,
            modified_ns: 5,
        };
        let names: Vec<PathBuf> = (0..200)
            .map(|i| PathBuf::from(format!("_posts/{i:03}.md")))
            .collect();
        let entries: Vec<(&Path, Stamp, Reading)> = names
            .iter()
            .map(|n| (n.as_path(), stamp, Reading::Unpublished))
            .collect();
        let cache = Cache::load(&path, 7);
        save(&cache, &path, site, &entries);
        let base = std::fs::read(&path).unwrap();
        // One file read anew, one gone.
        let cache = Cache::load(&path, 7);
        let note = Reading::Ignored(Problem::note(&names[5], Position::START, "not a post"));
        let newer = Stamp { size: 2, ..stamp };
        let keep: Vec<(&Path, Stamp, Keep<'_>)> = names
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 9)
            .map(|(i, n)| match i {
                5 => (n.as_path(), newer, Keep::New(&note)),
                _ => (n.as_path(), stamp, Keep::Old(cache.find(n, stamp).unwrap())),
            })
            .collect();
        cache.store(&path, site, &keep).unwrap();
        let with_delta = std::fs::read(&path).unwrap();
        assert!(
            with_delta.starts_with(&base) && with_delta.len() > base.len(),
            "a delta"
        );
        let cache = Cache::load(&path, 7);
        assert_eq!(cache.deltas, Some(1));
        assert_eq!(cache.old.len(), 199);
        assert!(cache.find(&names[9], stamp).is_none());
        assert!(cache.find(&names[5], stamp).is_none());
        let at = cache.find(&names[5], newer).unwrap();
        assert_eq!(cache.get(at).brief.kind, 2);
        assert!(matches!(
            cache.reading(at, site, None),
            Some(Reading::Ignored(_))
        ));
        assert!(cache.find(&names[6], stamp).is_some());
        // The delta damaged: ignored, the index as it was before it.
        let mut bytes = with_delta.clone();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let cache = Cache::load(&path, 7);
        assert_eq!(cache.deltas, None);
        assert_eq!(cache.old.len(), 200);
        assert!(cache.find(&names[5], stamp).is_some());
        // Then written anew, whole.
        let keep: Vec<(&Path, Stamp, Keep<'_>)> = names
            .iter()
            .map(|n| (n.as_path(), stamp, Keep::Old(cache.find(n, stamp).unwrap())))
            .chain(std::iter::once((
                Path::new("_posts/new.md"),
                stamp,
                Keep::New(&note),
            )))
            .collect();
        cache.store(&path, site, &keep).unwrap();
        let cache = Cache::load(&path, 7);
        assert_eq!(cache.deltas, Some(0));
        assert_eq!(cache.old.len(), 201);
    }

    /// A file name that is not UTF-8 is cached as it is, in the entry's path and in the paths of
    /// its problems. (It made the whole save fail with "Serde Serialization Error".)
    #[cfg(unix)]
    #[test]
    fn paths_that_are_not_utf8_are_kept_as_they_are() {
        use crate::problem::{Position, Problem};
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path();
        let path = site.join("posts.cache");
        let odd = Path::new(std::ffi::OsStr::from_bytes(b"_posts/2022-01-01-caf\xe9.md"));
        let plain = Path::new("_posts/2022-01-02-plain.md");
        let stamp = Stamp {
            size: 1,
            modified_ns: 2,
        };
        let invalid = Reading::Invalid(vec![
            Problem::error(plain, Position::START, "first"),
            Problem::error(odd, Position::new(2, 3), "second"),
        ]);
        let ignored = Reading::Ignored(Problem::note(plain, Position::START, "plain"));
        let cache = Cache::load(&path, 1);
        save(
            &cache,
            &path,
            site,
            &[(odd, stamp, invalid), (plain, stamp, ignored)],
        );
        let cache = Cache::load(&path, 1);
        let at = cache.find(odd, stamp).expect("the entry is kept");
        let Some(Reading::Invalid(problems)) = cache.reading(at, site, None) else {
            panic!("not the outcome saved");
        };
        // Relative paths come back below the site.
        assert_eq!(problems[0].path, site.join(plain));
        assert_eq!(problems[1].path, site.join(odd));
        assert_eq!(problems[1].message, "second");
        let at = cache.find(plain, stamp).expect("the other entry is kept");
        assert!(
            matches!(cache.reading(at, site, None), Some(Reading::Ignored(p)) if p.path == site.join(plain))
        );
    }

    /// The zone posts are read in is part of the key: without `timezone`, the machine's zone
    /// can change while the settings do not.
    #[test]
    fn the_zone_is_part_of_the_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("_config.yml"), "title: x\n").unwrap();
        let utc = settings_key(dir.path(), chrono_tz::UTC);
        assert_eq!(utc, settings_key(dir.path(), chrono_tz::UTC));
        assert_ne!(utc, settings_key(dir.path(), chrono_tz::Asia::Tokyo));
    }

    /// Temporary files a killed run left beside the cache go; nothing else does.
    #[cfg(unix)]
    #[test]
    fn stale_temporary_files_beside_the_cache_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("posts.cache");
        let dead = crate::temp::tests::dead_pid();
        let stale = dir.path().join(format!("posts.tmp-{dead}"));
        let live = dir.path().join(format!("posts.tmp-{}", std::process::id()));
        let keep = [
            live.clone(),
            dir.path().join(format!("entries.tmp-{dead}")),
            dir.path().join(format!("posts.tmp-{dead}x")),
            dir.path().join("posts.tmp-"),
        ];
        for file in keep.iter().chain([&stale]) {
            std::fs::write(file, "x").unwrap();
        }
        let link = dir
            .path()
            .join(format!("posts.tmp-{}", crate::temp::tests::dead_pid()));
        std::os::unix::fs::symlink(&keep[1], &link).unwrap();
        let _ = Cache::load(&path, 1);
        assert!(!stale.exists());
        for file in &keep {
            assert!(file.exists(), "{}", file.display());
        }
        assert!(std::fs::symlink_metadata(&link).is_ok());
    }
}
