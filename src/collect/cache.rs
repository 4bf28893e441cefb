//! A cache of what reading each post gave, so that a rebuild reads only the files that changed.
//!
//! An entry is reused only when its file has the same path, size and modification time (to the
//! nanosecond) as when it was read, and the whole cache only when it was written by this version
//! of gazette for the same settings (`_config.yml` and `gazette.yml`, byte for byte). The file
//! is a header and chunks of 4,096 entries, each with its checksum, so that 100,000 posts are
//! written and read on every core: a damaged, truncated or foreign cache (any chunk) is ignored
//! and rebuilt, never trusted. Losing the cache costs one full read, nothing else.

use std::hash::Hasher;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::post::Outcome;

const MAGIC: &[u8; 16] = b"gazette-cache-v2";

/// Entries per separately encoded (and checked) chunk: chunks are written and read in parallel.
const CHUNK: usize = 4096;

/// What identifies a file's content without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub size: u64,
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
    pub fn from_metadata(meta: &std::fs::Metadata) -> Stamp {
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

/// One chunk's entries as read back.
type Entries = Vec<(PathBuf, Stamp, Outcome)>;

/// The cache as loaded: entries sorted by path, each taken out when it is used.
#[derive(Debug, Default)]
pub struct Cache {
    key: u64,
    old: Vec<(PathBuf, Stamp, Option<Outcome>)>,
    used: usize,
    /// Set by [`Cache::release`] when some entries were never used.
    released_unused: bool,
}

pub(crate) fn checksum(bytes: &[u8]) -> u64 {
    // SipHash with fixed keys: stable for a given Rust, which is all a cache needs.
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new_with_keys(0x6761_7a65, 0x7474_6521);
    h.write(bytes);
    h.finish()
}

/// The key of a site's settings: any change to them may change every post.
pub fn settings_key(site: &Path) -> u64 {
    let mut bytes = env!("CARGO_PKG_VERSION").as_bytes().to_vec();
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
    let temp = path.with_extension(format!("tmp-{}", std::process::id()));
    let written = std::fs::File::create(&temp).and_then(|file| {
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
        let decoded: Option<Vec<Entries>> = chunks
            .par_iter()
            .map(|payload| postcard::from_bytes::<Entries>(payload).ok())
            .collect();
        drop(bytes); // the entries own their data: free the file's bytes before going on
        let Some(decoded) = decoded else {
            return empty;
        };
        let mut old: Vec<(PathBuf, Stamp, Option<Outcome>)> = decoded
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
    pub fn take(&mut self, index: usize) -> Option<Outcome> {
        let outcome = self.old.get_mut(index)?.2.take();
        self.used += usize::from(outcome.is_some());
        outcome
    }

    /// Writes this run's outcomes (a temporary file, then a rename).
    pub fn save(&self, path: &Path, entries: Vec<(&Path, Stamp, &Outcome)>) -> std::io::Result<()> {
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
                    .map(|chunk| postcard::to_allocvec(chunk).map_err(std::io::Error::other))
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

    /// Whether every loaded entry was used (or none was loaded).
    pub fn all_used(&self) -> bool {
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
            .map(|n| (n.as_path(), stamp, &Outcome::Unpublished))
            .collect();
        cache.save(&path, entries).unwrap();
        // Another stamp, another key, a flipped byte: nothing is trusted.
        let mut cache = Cache::load(&path, 7);
        let p = Path::new("_posts/00042.md");
        let other = Stamp { size: 2, ..stamp };
        assert!(cache.find(p, other).is_none());
        assert!(cache.find(Path::new("_posts/missing.md"), stamp).is_none());
        let at = cache.find(p, stamp).unwrap();
        assert!(matches!(cache.take(at), Some(Outcome::Unpublished)));
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
}
