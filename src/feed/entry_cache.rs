//! Feed entries kept from the last build, so that a rebuild renders only the posts that changed.
//!
//! Rendering an entry (reading the body again, Markdown, sanitising, making links absolute) is
//! most of what a rebuild does once the post cache has spared it the front matter. An entry is
//! reused only for the same post file with the same size and modification time, written for the
//! same settings and version of gazette; the file carries a checksum, and anything damaged or
//! foreign is ignored and rebuilt. It lives beside the post cache (`.gazette/entries.cache`).
//! Post paths are kept as bytes (a file name that is not UTF-8 is cached like any other), and a
//! temporary file a killed run left beside it is removed when it is next loaded.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Entry;
use crate::collect::cache::{checksum, remove_stale_temps, replace_file, PathBytes, Stamp};
use crate::collect::Post;

const MAGIC: &[u8; 16] = b"gazette-entry-v2";

#[derive(Serialize, Deserialize)]
struct Contents {
    key: u64,
    entries: Vec<(PathBytes, Stamp, Entry)>,
}

#[derive(Serialize)]
struct ContentsRef<'a> {
    key: u64,
    entries: Vec<(PathBytes, Stamp, &'a Entry)>,
}

/// The entries of the last build, by post file.
#[derive(Debug, Default)]
pub(crate) struct EntryCache {
    key: u64,
    old: HashMap<PathBuf, (Stamp, Entry)>,
}

impl EntryCache {
    /// Loads the cache at `path` for settings `key`; anything unusable gives an empty cache.
    pub fn load(path: &Path, key: u64) -> EntryCache {
        remove_stale_temps(path);
        let parsed = std::fs::read(path).ok().and_then(|bytes| {
            let rest = bytes.strip_prefix(MAGIC.as_slice())?;
            let (sum, payload) = rest.split_at_checked(8)?;
            (checksum(payload) == u64::from_le_bytes(sum.try_into().ok()?)).then_some(())?;
            let contents: Contents = postcard::from_bytes(payload).ok()?;
            (contents.key == key).then_some(contents.entries)
        });
        EntryCache {
            key,
            old: parsed
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(path, stamp, entry)| Some((path.into_path()?, (stamp, entry))))
                .collect(),
        }
    }

    /// The entry rendered for `source` when its file had `stamp`.
    pub fn get(&self, source: &Path, stamp: Option<Stamp>) -> Option<&Entry> {
        let (old_stamp, entry) = self.old.get(source)?;
        (Some(*old_stamp) == stamp).then_some(entry)
    }

    /// Writes `entries` (the ones this build used) in place of the old ones: a temporary file,
    /// then a rename.
    pub fn save(&self, path: &Path, entries: Vec<(&Path, Stamp, &Entry)>) -> std::io::Result<()> {
        let entries = entries
            .into_iter()
            .map(|(path, stamp, entry)| (PathBytes::of(path), stamp, entry))
            .collect();
        let payload = postcard::to_allocvec(&ContentsRef {
            key: self.key,
            entries,
        })
        .map_err(std::io::Error::other)?;
        replace_file(path, |file| {
            file.write_all(MAGIC)?;
            file.write_all(&checksum(&payload).to_le_bytes())?;
            file.write_all(&payload)
        })
    }

    /// Keeps at `path` the entries of this build's posts (`posts`, their `entries`), but those
    /// of posts without a stamp and the `uncachable` ones (whose bodies run Liquid); leaves the
    /// file as it is when it holds exactly those already.
    pub(crate) fn store(
        &self,
        path: &Path,
        posts: &[&Post],
        entries: &HashMap<&Path, Entry>,
        uncachable: &HashSet<&Path>,
    ) -> std::io::Result<()> {
        let stamped = || {
            posts
                .iter()
                .filter(|p| !uncachable.contains(p.source.as_path()))
                .filter_map(|p| Some((p.source.as_path(), p.stamp?)))
        };
        if self.holds_exactly(stamped().collect::<Vec<_>>().into_iter()) {
            return Ok(());
        }
        let keep = stamped()
            .map(|(path, stamp)| (path, stamp, &entries[path]))
            .collect();
        self.save(path, keep)
    }

    /// Whether the cache holds exactly these entries already (then there is nothing to save).
    pub(crate) fn holds_exactly<'a>(
        &self,
        used: impl ExactSizeIterator<Item = (&'a Path, Stamp)>,
    ) -> bool {
        let count = used.len();
        count == self.old.len()
            && used
                .into_iter()
                .all(|(path, stamp)| self.old.get(path).is_some_and(|(s, _)| *s == stamp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entries.cache");
        let stamp = Stamp {
            size: 3,
            modified_ns: 42,
        };
        let entry = Entry {
            title: "T".into(),
            content_html: "<p>x</p>".into(),
            summary_html: "x".into(),
        };
        let cache = EntryCache::load(&path, 1);
        assert!(cache.get(Path::new("a.md"), Some(stamp)).is_none());
        cache
            .save(&path, vec![(Path::new("a.md"), stamp, &entry)])
            .unwrap();
        let cache = EntryCache::load(&path, 1);
        assert_eq!(
            cache.get(Path::new("a.md"), Some(stamp)).map(|e| &e.title),
            Some(&"T".to_string())
        );
        assert!(cache.holds_exactly([(Path::new("a.md"), stamp)].into_iter()));
        let newer = Stamp {
            modified_ns: 43,
            ..stamp
        };
        assert!(cache.get(Path::new("a.md"), Some(newer)).is_none());
        assert!(cache.get(Path::new("a.md"), None).is_none());
        assert!(!cache.holds_exactly([(Path::new("a.md"), newer)].into_iter()));
        assert!(EntryCache::load(&path, 2).old.is_empty());
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(EntryCache::load(&path, 1).old.is_empty());
    }

    /// A post whose file name is not UTF-8 is cached like any other. (It made the save fail with
    /// "Serde Serialization Error", which turned the cache off for the whole site.)
    #[cfg(unix)]
    #[test]
    fn paths_that_are_not_utf8_are_kept_as_they_are() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entries.cache");
        let odd = Path::new(std::ffi::OsStr::from_bytes(b"_posts/2022-01-01-caf\xe9.md"));
        let stamp = Stamp {
            size: 1,
            modified_ns: 2,
        };
        let entry = Entry {
            title: "Café".into(),
            content_html: String::new(),
            summary_html: "x".into(),
        };
        let cache = EntryCache::load(&path, 1);
        cache.save(&path, vec![(odd, stamp, &entry)]).unwrap();
        let cache = EntryCache::load(&path, 1);
        assert_eq!(
            cache.get(odd, Some(stamp)).map(|e| &e.title),
            Some(&entry.title)
        );
        assert!(cache.holds_exactly([(odd, stamp)].into_iter()));
    }
}
