//! A cache of what reading each post gave, so that a rebuild reads only the files that changed.
//!
//! An entry is reused only when its file has the same path, size and modification time (to the
//! nanosecond) as when it was read, and the whole cache only when it was written by this version
//! of gazette for the same settings (`_config.yml` and `gazette.yml`, byte for byte). The file
//! carries a checksum: a damaged, truncated or foreign cache is ignored and rebuilt, never
//! trusted. Losing the cache costs one full read, nothing else.

use std::collections::HashMap;
use std::ffi::OsString;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use super::post::Outcome;

const MAGIC: &[u8; 16] = b"gazette-cache-v1";

/// What identifies a file's content without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub size: u64,
    pub modified_ns: i128,
}

impl Stamp {
    /// The stamp of a file now, or `None` when it cannot be read.
    pub fn of(path: &Path) -> Option<Stamp> {
        let meta = std::fs::metadata(path).ok()?;
        let modified = meta.modified().ok()?;
        let modified_ns = match modified.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        };
        Some(Stamp {
            size: meta.len(),
            modified_ns,
        })
    }
}

/// The file's contents as read back.
#[derive(Debug, Default, Deserialize)]
struct Contents {
    /// gazette's version and the settings' bytes, hashed.
    key: u64,
    entries: Vec<(PathBuf, Stamp, Outcome)>,
}

/// The same, as written (borrowing, so nothing is copied to save it).
#[derive(Serialize)]
struct ContentsRef<'a> {
    key: u64,
    entries: Vec<(&'a Path, Stamp, &'a Outcome)>,
}

/// The cache as loaded; entries are taken out as they are used.
#[derive(Debug, Default)]
pub struct Cache {
    key: u64,
    /// Keyed by the path's bytes: hashing a `Path` walks its components, ten times slower.
    old: HashMap<OsString, (Stamp, Outcome)>,
}

fn checksum(bytes: &[u8]) -> u64 {
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

impl Cache {
    /// Loads the cache at `path` for settings `key`; anything unusable gives an empty cache.
    pub fn load(path: &Path, key: u64) -> Cache {
        let Ok(bytes) = std::fs::read(path) else {
            return Cache {
                key,
                old: HashMap::new(),
            };
        };
        let parsed = (|| {
            let rest = bytes.strip_prefix(MAGIC.as_slice())?;
            let (sum, payload) = rest.split_at_checked(8)?;
            let sum = u64::from_le_bytes(sum.try_into().ok()?);
            (checksum(payload) == sum).then_some(())?;
            let contents: Contents = postcard::from_bytes(payload).ok()?;
            (contents.key == key).then_some(contents.entries)
        })();
        let old = parsed
            .unwrap_or_default()
            .into_iter()
            .map(|(p, stamp, outcome)| (p.into_os_string(), (stamp, outcome)))
            .collect();
        Cache { key, old }
    }

    /// Takes the outcome recorded for `relative` if its file still has `stamp`.
    pub fn take(&mut self, relative: &Path, stamp: Stamp) -> Option<Outcome> {
        match self.old.get(relative.as_os_str()) {
            Some((s, _)) if *s == stamp => self.old.remove(relative.as_os_str()).map(|(_, o)| o),
            _ => None,
        }
    }

    /// Writes this run's outcomes (a temporary file, then a rename).
    pub fn save(&self, path: &Path, entries: Vec<(&Path, Stamp, &Outcome)>) -> std::io::Result<()> {
        let contents = ContentsRef {
            key: self.key,
            entries,
        };
        let payload = postcard::to_allocvec(&contents).map_err(std::io::Error::other)?;
        let mut bytes = Vec::with_capacity(payload.len() + 24);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&checksum(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let temp = path.with_extension(format!("tmp-{}", std::process::id()));
        std::fs::write(&temp, &bytes)?;
        std::fs::rename(&temp, path)
    }

    /// Whether no entry is left (all were used, or none loaded).
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
        assert!(cache.is_empty());
        cache
            .save(
                &path,
                vec![(Path::new("p.md"), stamp, &Outcome::Unpublished)],
            )
            .unwrap();
        // Another stamp, another key, a flipped byte: nothing is trusted.
        let mut cache = Cache::load(&path, 7);
        let other = Stamp { size: 2, ..stamp };
        assert!(cache.take(Path::new("p.md"), other).is_none());
        assert!(matches!(
            cache.take(Path::new("p.md"), stamp),
            Some(Outcome::Unpublished)
        ));
        assert!(cache.is_empty());
        assert!(Cache::load(&path, 8).is_empty());
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(Cache::load(&path, 7).is_empty());
        std::fs::write(&path, b"garbage").unwrap();
        assert!(Cache::load(&path, 7).is_empty());
    }
}
