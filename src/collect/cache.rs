//! A cache of what reading each post gave, so that a rebuild reads only the files that changed.
//!
//! An entry is reused only when its file has the same path, size and modification time (to the
//! nanosecond) as when it was read, and the whole cache only when it was written by this version
//! of gazette for the same settings (`_config.yml` and `gazette.yml`, byte for byte). The file
//! is a header and chunks of 4,096 entries, each with its checksum, so that 100,000 posts are
//! written and read on every core: a damaged, truncated or foreign cache (any chunk) is ignored
//! and rebuilt, never trusted. Losing the cache costs one full read, nothing else.
//!
//! The key covers the time zone the posts were read in too: without `timezone`, that is the
//! machine's, which can change between runs (`TZ=Asia/Tokyo`) while the settings do not.
//! Paths are kept as bytes, so a file name that is not UTF-8 is cached like any other; a
//! temporary file a killed run left beside the cache is removed by the next run that loads it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::post::Reading;
use super::walk::Source;

const MAGIC: &[u8; 16] = b"gazette-cache-v5";

/// Entries per separately encoded (and checked) chunk: chunks are written and read in parallel.
const CHUNK: usize = 4096;

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

/// What one source gave in this run, from the cache or read now, with the stamp its file had;
/// `None` while it is still to be read.
pub(crate) type Slot = Option<(Reading, Option<Stamp>)>;

/// The cache as loaded: entries sorted by path, each taken out when it is used.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    key: u64,
    old: Vec<(PathBuf, Stamp, Option<Reading>)>,
    used: usize,
    /// Set by [`Cache::release`] when some entries were never used.
    released_unused: bool,
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

/// Splits the file into its chunks' payloads, checking the header and every checksum.
fn chunks(bytes: &[u8], key: u64) -> Option<Vec<&[u8]>> {
    let rest = bytes.strip_prefix(MAGIC.as_slice())?;
    let (head, mut rest) = rest.split_at_checked(12)?;
    (u64::from_le_bytes(head[..8].try_into().ok()?) == key).then_some(())?;
    let count = u32::from_le_bytes(head[8..].try_into().ok()?) as usize;
    let mut out = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        let (len, after) = rest.split_at_checked(8)?;
        let len = usize::try_from(u64::from_le_bytes(len.try_into().ok()?)).ok()?;
        let (sum, after) = after.split_at_checked(8)?;
        let (payload, after) = after.split_at_checked(len)?;
        (checksum(payload) == u64::from_le_bytes(sum.try_into().ok()?)).then_some(())?;
        out.push(payload);
        rest = after;
    }
    rest.is_empty().then_some(out)
}

impl Cache {
    /// Loads the cache at `path` for settings `key`; anything unusable gives an empty cache.
    pub fn load(path: &Path, key: u64) -> Cache {
        remove_stale_temps(path);
        let empty = Cache {
            key,
            ..Cache::default()
        };
        let Ok(bytes) = std::fs::read(path) else {
            return empty;
        };
        let Some(chunks) = chunks(&bytes, key) else {
            return empty;
        };
        let decoded: Option<Vec<Vec<(PathBuf, Stamp, Reading)>>> = chunks
            .par_iter()
            .map(|payload| {
                postcard::from_bytes::<Vec<Stored>>(payload)
                    .ok()?
                    .into_iter()
                    .map(restored)
                    .collect()
            })
            .collect();
        drop(bytes); // the entries own their data: free the file's bytes before going on
        let Some(decoded) = decoded else {
            return empty;
        };
        let mut old: Vec<(PathBuf, Stamp, Option<Reading>)> = decoded
            .into_iter()
            .flatten()
            .map(|(p, stamp, outcome)| (p, stamp, Some(outcome)))
            .collect();
        old.par_sort_unstable_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
        Cache {
            key,
            old,
            ..Cache::default()
        }
    }

    /// Where the entry for `relative` is, if its file still has `stamp` (for [`Cache::take`]).
    pub fn find(&self, relative: &Path, stamp: Stamp) -> Option<usize> {
        let i = self
            .old
            .binary_search_by(|e| e.0.as_os_str().cmp(relative.as_os_str()))
            .ok()?;
        (self.old[i].1 == stamp).then_some(i)
    }

    /// Takes the outcome found at `index` by [`Cache::find`] (once).
    pub fn take(&mut self, index: usize) -> Option<Reading> {
        let outcome = self.old.get_mut(index)?.2.take();
        self.used += usize::from(outcome.is_some());
        outcome
    }

    /// Writes this run's outcomes (a temporary file, then a rename).
    pub fn save(&self, path: &Path, entries: Vec<(&Path, Stamp, &Reading)>) -> std::io::Result<()> {
        // Encoded a few chunks at a time (in parallel) and written as they come, never gathered
        // in one buffer: the cache of 100,000 posts is tens of megabytes, and it counts in the
        // run's peak memory.
        replace_file(path, |file| {
            file.write_all(MAGIC)?;
            file.write_all(&self.key.to_le_bytes())?;
            file.write_all(&(entries.chunks(CHUNK).len() as u32).to_le_bytes())?;
            for batch in entries.chunks(CHUNK * rayon::current_num_threads().max(1)) {
                let payloads = batch
                    .par_chunks(CHUNK)
                    .map(|chunk| {
                        let chunk: Vec<StoredRef<'_>> = chunk
                            .iter()
                            .map(|(path, stamp, outcome)| stored(path, *stamp, outcome))
                            .collect();
                        postcard::to_allocvec(&chunk).map_err(std::io::Error::other)
                    })
                    .collect::<std::io::Result<Vec<Vec<u8>>>>()?;
                for payload in &payloads {
                    file.write_all(&(payload.len() as u64).to_le_bytes())?;
                    file.write_all(&checksum(payload).to_le_bytes())?;
                    file.write_all(payload)?;
                }
            }
            Ok(())
        })
    }

    /// One slot per source: the cached outcome (its paths rooted at `site`) of every file whose
    /// stamp has not changed, `None` for those to read. The files are stat'ed only when there are
    /// cached entries to check them against (a file that is read gets its stamp from the open
    /// file); the entries not used are then let go ([`Cache::release`]).
    pub(crate) fn lookup(
        &mut self,
        site: &Path,
        sources: &[Source],
        stamps: &[Option<Stamp>],
    ) -> Vec<Slot> {
        if self.is_empty() {
            return (0..sources.len()).map(|_| None).collect();
        }
        let found: Vec<(Option<Stamp>, Option<usize>)> = sources
            .par_iter()
            .zip(stamps.par_iter())
            .with_min_len(64)
            .map(|(s, &stamp)| (stamp, stamp.and_then(|stamp| self.find(&s.relative, stamp))))
            .collect();
        let slots = found
            .into_iter()
            .map(|(stamp, at)| Some((rooted(self.take(at?)?, site), stamp)))
            .collect();
        self.release();
        slots
    }

    /// Saves this run's outcomes at `path`, one per source, when something was read (`hits`, the
    /// outcomes found by [`Cache::lookup`], is below the number of sources) or went away; else
    /// leaves the file as it is. Problems are kept with paths relative to the site, so that a
    /// later run that names the site otherwise (`blog`, `/srv/blog`) shows them as it names the
    /// site.
    pub(crate) fn store(
        &self,
        path: &Path,
        site: &Path,
        sources: &[Source],
        outcomes: &[(Reading, Option<Stamp>)],
        hits: usize,
    ) -> std::io::Result<()> {
        if hits == sources.len() && self.all_used() {
            return Ok(());
        }
        let relative: Vec<Option<Reading>> =
            outcomes.iter().map(|(o, _)| relative_to(o, site)).collect();
        let entries = sources
            .iter()
            .zip(outcomes)
            .zip(&relative)
            .filter_map(|((s, (o, stamp)), r)| {
                Some((s.relative.as_path(), (*stamp)?, r.as_ref().unwrap_or(o)))
            })
            .collect();
        self.save(path, entries)
    }

    /// Whether every loaded entry was used (or none was loaded).
    pub(crate) fn all_used(&self) -> bool {
        !self.released_unused && self.used == self.old.len()
    }

    /// Lets go of the entries that were not taken (their memory is needed for what comes next),
    /// remembering whether all were used.
    pub fn release(&mut self) {
        self.released_unused = !self.all_used();
        self.old = Vec::new();
        self.used = 0;
    }

    /// Whether nothing was loaded.
    pub fn is_empty(&self) -> bool {
        self.old.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache");
        let file = dir.path().join("p.md");
        std::fs::write(&file, "x").unwrap();
        let stamp = Stamp::of(&file).unwrap();
        let cache = Cache::load(&path, 7);
        assert!(cache.is_empty() && cache.all_used());
        // Enough entries for several chunks, saved out of order.
        let names: Vec<PathBuf> = (0..10_000)
            .rev()
            .map(|i| PathBuf::from(format!("_posts/{i:05}.md")))
            .collect();
        let entries = names
            .iter()
            .map(|n| (n.as_path(), stamp, &Reading::Unpublished))
            .collect();
        cache.save(&path, entries).unwrap();
        // Another stamp, another key, a flipped byte: nothing is trusted.
        let mut cache = Cache::load(&path, 7);
        let p = Path::new("_posts/00042.md");
        let other = Stamp { size: 2, ..stamp };
        assert!(cache.find(p, other).is_none());
        assert!(cache.find(Path::new("_posts/missing.md"), stamp).is_none());
        let at = cache.find(p, stamp).unwrap();
        assert!(matches!(cache.take(at), Some(Reading::Unpublished)));
        assert!(cache.take(at).is_none());
        assert!(!cache.all_used());
        for n in &names {
            if let Some(i) = cache.find(n, stamp) {
                cache.take(i);
            }
        }
        assert!(cache.all_used());
        let mut partly = Cache::load(&path, 7);
        let first = partly.find(p, stamp).unwrap();
        partly.take(first);
        partly.release();
        assert!(!partly.all_used() && partly.is_empty());
        assert!(Cache::load(&path, 8).is_empty());
        let good = std::fs::read(&path).unwrap();
        for at in [good.len() - 1, good.len() / 2, 20] {
            let mut bytes = good.clone();
            bytes[at] ^= 1;
            std::fs::write(&path, &bytes).unwrap();
            assert!(Cache::load(&path, 7).is_empty(), "flipped byte {at}");
        }
        std::fs::write(&path, &good[..good.len() - 3]).unwrap();
        assert!(Cache::load(&path, 7).is_empty());
        std::fs::write(&path, b"garbage").unwrap();
        assert!(Cache::load(&path, 7).is_empty());
    }

    /// A file name that is not UTF-8 is cached as it is, in the entry's path and in the paths of
    /// its problems. (It made the whole save fail with "Serde Serialization Error".)
    #[cfg(unix)]
    #[test]
    fn paths_that_are_not_utf8_are_kept_as_they_are() {
        use crate::problem::{Position, Problem};
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("posts.cache");
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
        cache
            .save(
                &path,
                vec![(odd, stamp, &invalid), (plain, stamp, &ignored)],
            )
            .unwrap();
        let mut cache = Cache::load(&path, 1);
        let at = cache.find(odd, stamp).expect("the entry is kept");
        let Some(Reading::Invalid(problems)) = cache.take(at) else {
            panic!("not the outcome saved");
        };
        assert_eq!(problems[0].path, plain);
        assert_eq!(problems[1].path, odd);
        assert_eq!(problems[1].message, "second");
        let at = cache.find(plain, stamp).expect("the other entry is kept");
        assert!(matches!(cache.take(at), Some(Reading::Ignored(p)) if p.path == plain));
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
