//! Feed entries kept from the last build, so that a rebuild renders only the posts that changed.
//!
//! Rendering an entry (reading the body again, Markdown, sanitising, making links absolute) is
//! most of what a rebuild does once the post cache has spared it the front matter. An entry is
//! reused only for the same post file with the same size and modification time, written for the
//! same settings and version of gazette, and for a body with Liquid under the same Liquid key
//! (see `feed/reuse.rs`).
//!
//! Two files beside the post cache hold it: `.gazette/entries.cache`, an index (each post's
//! path, stamp and Liquid key, and where its record lies, with the record's checksum), replaced
//! whole by each build that changes it; and `.gazette/entries.records`, the records (the entry
//! and the warnings rendering it gave), to which a build only appends what it rendered. A
//! rebuild reads the index and the few records it needs: at 10,000 posts, decoding and writing
//! the whole cache again (1,500 entries, 5 MB) took 15–30 ms of a one-change rebuild. When less
//! than half of the records file is still used, it is written anew with just those records.
//!
//! Nothing damaged or foreign is trusted: the index carries a checksum, each record its own, and
//! both files the same generation number (a records file written anew for another index does
//! not match). A damaged record is rendered again. Post paths are kept as bytes (a file name
//! that is not UTF-8 is cached like any other), and a temporary file a killed run left beside
//! the index is removed when it is next loaded.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Entry;
use crate::collect::cache::{checksum, remove_stale_temps, replace_file, PathBytes, Stamp};
use crate::collect::records::{Place, Record, Records};
use crate::collect::Post;
use crate::problem::Problem;

const MAGIC: &[u8; 16] = b"gazette-entry-v5";

/// A problem as kept: its path as bytes (see [`PathBytes`]), the rest with an empty path.
type KeptProblem = (PathBytes, Problem);

/// One post's place in the index.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Indexed {
    path: PathBytes,
    stamp: Stamp,
    /// The Liquid key the entry was rendered with; `None` for a body without Liquid.
    liquid: Option<u64>,
    /// Where the record lies.
    place: Place,
}

#[derive(Serialize, Deserialize)]
struct Index {
    key: u64,
    /// The generation of the records file this index points into.
    generation: u64,
    entries: Vec<Indexed>,
}

/// One entry kept: the entry and the warnings rendering it gave.
#[derive(Debug)]
pub(crate) struct Kept {
    pub entry: Entry,
    pub problems: Vec<Problem>,
}

/// The entries of the last build, by post file: the index, and the records file opened.
#[derive(Debug, Default)]
pub(crate) struct EntryCache {
    key: u64,
    index: HashMap<PathBuf, Indexed>,
    records: Records,
}

fn kept_problem(p: &Problem) -> KeptProblem {
    let mut without = p.clone();
    without.path = PathBuf::new();
    (PathBytes::of(&p.path), without)
}

/// The records file of the index at `path` (`entries.records` for `entries.cache`).
fn records_path(path: &Path) -> PathBuf {
    path.with_extension("records")
}

/// The index in a file's bytes; `None` when it is not a whole index for `key`.
fn parse(bytes: &[u8], key: u64) -> Option<Index> {
    let rest = bytes.strip_prefix(MAGIC.as_slice())?;
    let (sum, index) = rest.split_at_checked(8)?;
    (checksum(index) == u64::from_le_bytes(sum.try_into().ok()?)).then_some(())?;
    let index: Index = postcard::from_bytes(index).ok()?;
    (index.key == key).then_some(index)
}

impl EntryCache {
    /// Loads the cache at `path` for settings `key`; anything unusable gives an empty cache.
    pub fn load(path: &Path, key: u64) -> EntryCache {
        remove_stale_temps(path);
        let index = std::fs::read(path).ok().and_then(|b| parse(&b, key));
        let records = Records::open(
            &records_path(path),
            index.as_ref().map_or(0, |i| i.generation),
        );
        let index = match index {
            Some(index) if records.generation() != 0 => index
                .entries
                .into_iter()
                .filter_map(|i| Some((i.path.clone().into_path()?, i)))
                .collect(),
            _ => HashMap::new(),
        };
        EntryCache {
            key,
            index,
            records,
        }
    }

    /// Where the entry rendered for `source` when its file had `stamp`, with the Liquid key
    /// `liquid` (`None` for a body without Liquid), lies.
    fn find(&self, source: &Path, stamp: Option<Stamp>, liquid: Option<u64>) -> Option<&Indexed> {
        let found = self.index.get(source)?;
        (Some(found.stamp) == stamp && found.liquid == liquid).then_some(found)
    }

    /// Whether an entry is kept for `source` as [`EntryCache::get`] would find it (its record
    /// is not read).
    pub fn has(&self, source: &Path, stamp: Option<Stamp>, liquid: Option<u64>) -> bool {
        self.find(source, stamp, liquid).is_some()
    }

    /// The entry rendered for `source` when its file had `stamp`, with the Liquid key `liquid`
    /// (`None` for a body without Liquid); `None` also when its record is damaged.
    pub fn get(&self, source: &Path, stamp: Option<Stamp>, liquid: Option<u64>) -> Option<Kept> {
        let record = self.records.read(self.find(source, stamp, liquid)?.place)?;
        let (entry, problems): (Entry, Vec<KeptProblem>) = postcard::from_bytes(&record).ok()?;
        let problems = problems
            .into_iter()
            .map(|(path, mut p)| {
                p.path = path.into_path()?;
                Some(p)
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Kept { entry, problems })
    }

    /// Keeps at `path` the entry of every post of `posts` (those some feed shows): the one
    /// rendered in this build (`fresh`, with its `problems`) or the one kept from the last,
    /// under the Liquid key `liquid` for bodies with Liquid (none without one); none for a
    /// post without a stamp or in `unkeyed` (its Liquid read a file no key covers). Leaves the
    /// files as they are when they hold exactly those already.
    pub(crate) fn store(
        &self,
        path: &Path,
        posts: &[&Post],
        fresh: &HashMap<&Path, Entry>,
        problems: &HashMap<&Path, Vec<Problem>>,
        (unkeyed, rendered): (&HashSet<&Path>, &HashSet<&Path>),
        liquid: Option<u64>,
    ) -> std::io::Result<()> {
        let mut encoded = Vec::new();
        let mut keep = Vec::new();
        for p in posts {
            let source = p.source.as_path();
            let Some(stamp) = p.stamp else { continue };
            if unkeyed.contains(source) || (p.has_liquid && liquid.is_none()) {
                continue;
            }
            let key = if p.has_liquid { liquid } else { None };
            // What the cache holds already stays where it is, unless this build rendered the
            // entry again (its record could not be read).
            let old = self.find(source, Some(stamp), key);
            if let Some(old) = old.filter(|_| !rendered.contains(source)) {
                keep.push((source, stamp, key, Some(old.place)));
                continue;
            }
            let Some(entry) = fresh.get(source) else {
                continue;
            };
            let problems: Vec<KeptProblem> = problems
                .get(source)
                .map_or(Vec::new(), |ps| ps.iter().map(kept_problem).collect());
            encoded.push(postcard::to_allocvec(&(entry, problems)).map_err(std::io::Error::other)?);
            keep.push((source, stamp, key, None));
        }
        if encoded.is_empty() && keep.len() == self.index.len() {
            return Ok(());
        }
        let mut new = encoded.iter();
        let encoded: Vec<Option<&Vec<u8>>> = keep
            .iter()
            .map(|(_, _, _, old)| if old.is_some() { None } else { new.next() })
            .collect();
        let records: Vec<Record> = keep
            .iter()
            .map(|(_, _, _, old)| match old {
                Some(place) => Record::Old(*place),
                None => Record::New,
            })
            .collect();
        let (generation, places) = self
            .records
            .save(&records, |i| Ok(encoded[i].cloned().unwrap_or_default()))?;
        let index = Index {
            key: self.key,
            generation,
            entries: keep
                .iter()
                .zip(places)
                .map(|((post, stamp, liquid, _), place)| Indexed {
                    path: PathBytes::of(post),
                    stamp: *stamp,
                    liquid: *liquid,
                    place,
                })
                .collect(),
        };
        let payload = postcard::to_allocvec(&index).map_err(std::io::Error::other)?;
        replace_file(path, |file| {
            file.write_all(MAGIC)?;
            file.write_all(&checksum(&payload).to_le_bytes())?;
            file.write_all(&payload)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::Position;

    fn post(source: &str, stamp: Stamp, has_liquid: bool) -> Post {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path();
        std::fs::write(
            site.join("_config.yml"),
            "url: https://example.com\ntimezone: UTC\n",
        )
        .unwrap();
        std::fs::create_dir(site.join("_posts")).unwrap();
        let body = if has_liquid { "{{ page.title }}" } else { "x" };
        std::fs::write(
            site.join("_posts/2022-01-01-a.md"),
            format!("---\ntitle: T\n---\n{body}\n"),
        )
        .unwrap();
        let config = crate::config::SiteConfig::load(site).unwrap().config;
        let mut post = crate::collect::collect(site, &config, &Default::default())
            .posts
            .remove(0);
        assert_eq!(post.has_liquid, has_liquid);
        post.source = source.into();
        post.stamp = Some(stamp);
        post
    }

    fn entry(title: &str) -> Entry {
        Entry {
            title: title.into(),
            content_html: format!("<p>{title}</p>"),
            summary_html: title.into(),
        }
    }

    fn stamp(n: i128) -> Stamp {
        Stamp {
            size: 3,
            modified_ns: n,
        }
    }

    /// Stores `posts` with `fresh` entries (by source), as a build does.
    fn store(
        cache: &EntryCache,
        path: &Path,
        posts: &[&Post],
        fresh: &[(&str, Entry)],
        liquid: Option<u64>,
    ) {
        let fresh: HashMap<&Path, Entry> = fresh
            .iter()
            .map(|(p, e)| (Path::new(*p), e.clone()))
            .collect();
        let warning = Problem::warning("site/_includes/x.html", Position::START, "w");
        let problems: HashMap<&Path, Vec<Problem>> =
            fresh.keys().map(|p| (*p, vec![warning.clone()])).collect();
        let rendered: HashSet<&Path> = fresh.keys().copied().collect();
        cache
            .store(
                path,
                posts,
                &fresh,
                &problems,
                (&HashSet::new(), &rendered),
                liquid,
            )
            .unwrap();
    }

    #[test]
    fn entries_come_back_only_for_the_same_stamp_and_liquid_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entries.cache");
        let a = post("_posts/2022-01-01-a.md", stamp(1), true);
        let b = post("_posts/2022-01-02-b.md", stamp(2), false);
        let cache = EntryCache::load(&path, 1);
        assert!(cache.get(&a.source, a.stamp, Some(7)).is_none());
        store(
            &cache,
            &path,
            &[&a, &b],
            &[
                ("_posts/2022-01-01-a.md", entry("A")),
                ("_posts/2022-01-02-b.md", entry("B")),
            ],
            Some(7),
        );
        let cache = EntryCache::load(&path, 1);
        let kept = cache.get(&a.source, a.stamp, Some(7)).unwrap();
        assert_eq!(kept.entry.title, "A");
        assert_eq!(kept.problems.len(), 1);
        assert_eq!(kept.problems[0].path, Path::new("site/_includes/x.html"));
        assert!(cache.has(&b.source, b.stamp, None));
        // Another Liquid key, another stamp, another settings key: not the same entry.
        assert!(cache.get(&a.source, a.stamp, Some(8)).is_none());
        assert!(cache.get(&a.source, Some(stamp(9)), Some(7)).is_none());
        assert!(cache.get(&a.source, None, Some(7)).is_none());
        assert!(EntryCache::load(&path, 2).index.is_empty());
    }

    #[test]
    fn a_rebuild_appends_and_damage_is_never_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entries.cache");
        let records = records_path(&path);
        let a = post("_posts/2022-01-01-a.md", stamp(1), false);
        let b = post("_posts/2022-01-02-b.md", stamp(2), false);
        let cache = EntryCache::load(&path, 1);
        store(
            &cache,
            &path,
            &[&a, &b],
            &[
                ("_posts/2022-01-01-a.md", entry("A")),
                ("_posts/2022-01-02-b.md", entry("B")),
            ],
            None,
        );
        let first = std::fs::read(&records).unwrap();
        // One post changed: its record is appended, the other's stays where it was.
        let b2 = post("_posts/2022-01-02-b.md", stamp(3), false);
        let cache = EntryCache::load(&path, 1);
        store(
            &cache,
            &path,
            &[&a, &b2],
            &[("_posts/2022-01-02-b.md", entry("B2"))],
            None,
        );
        let second = std::fs::read(&records).unwrap();
        assert!(second.starts_with(&first), "appended, not rewritten");
        let cache = EntryCache::load(&path, 1);
        assert_eq!(
            cache.get(&a.source, a.stamp, None).unwrap().entry.title,
            "A"
        );
        assert_eq!(
            cache.get(&b2.source, b2.stamp, None).unwrap().entry.title,
            "B2"
        );
        // Nothing new: neither file is written.
        let index = std::fs::read(&path).unwrap();
        store(&cache, &path, &[&a, &b2], &[], None);
        assert_eq!(std::fs::read(&path).unwrap(), index);
        // A damaged record is not used; the others are.
        let mut bytes = std::fs::read(&records).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 1;
        std::fs::write(&records, &bytes).unwrap();
        let cache = EntryCache::load(&path, 1);
        assert!(cache.get(&b2.source, b2.stamp, None).is_none());
        assert!(cache.get(&a.source, a.stamp, None).is_some());
        // Rendered again, it takes the damaged record's place.
        store(
            &cache,
            &path,
            &[&a, &b2],
            &[("_posts/2022-01-02-b.md", entry("B3"))],
            None,
        );
        let cache = EntryCache::load(&path, 1);
        assert_eq!(
            cache.get(&b2.source, b2.stamp, None).unwrap().entry.title,
            "B3"
        );
        let index = std::fs::read(&path).unwrap();
        // A damaged index, or a records file of another generation, gives an empty cache.
        let mut damaged = index.clone();
        let at = damaged.len() / 2;
        damaged[at] ^= 0x20;
        std::fs::write(&path, &damaged).unwrap();
        assert!(EntryCache::load(&path, 1).index.is_empty());
        std::fs::write(&path, &index).unwrap();
        let mut other = std::fs::read(&records).unwrap();
        other[20] ^= 1; // the records file's generation
        std::fs::write(&records, &other).unwrap();
        assert!(EntryCache::load(&path, 1).index.is_empty());
    }

    /// A post whose file name is not UTF-8 is cached like any other. (It made the save fail with
    /// "Serde Serialization Error", which turned the cache off for the whole site.)
    #[cfg(unix)]
    #[test]
    fn paths_that_are_not_utf8_are_kept_as_they_are() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entries.cache");
        let odd = std::ffi::OsStr::from_bytes(b"_posts/2022-01-01-caf\xe9.md");
        let mut p = post("_posts/2022-01-01-cafe.md", stamp(1), false);
        p.source = PathBuf::from(odd);
        let cache = EntryCache::load(&path, 1);
        let fresh: HashMap<&Path, Entry> = [(p.source.as_path(), entry("Café"))].into();
        let warning = Problem::warning(&p.source, Position::START, "w");
        let problems: HashMap<&Path, Vec<Problem>> =
            [(p.source.as_path(), vec![warning.clone()])].into();
        cache
            .store(
                &path,
                &[&p],
                &fresh,
                &problems,
                (&HashSet::new(), &HashSet::new()),
                None,
            )
            .unwrap();
        let cache = EntryCache::load(&path, 1);
        let kept = cache.get(&p.source, p.stamp, None).unwrap();
        assert_eq!(kept.entry.title, "Café");
        assert_eq!(kept.problems, [warning]);
    }
}
