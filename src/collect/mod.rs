//! The collector: reads a site's posts, in parallel, into [`Post`] values sorted newest first.
//!
//! It writes nothing but its cache, when [`Options::cache`] names one. What it cannot read, or
//! reads in a way the author probably did not mean, comes back as [`Problem`]s beside the posts.

pub mod body;
pub mod cache;
pub mod date;
pub mod files;
pub mod front_matter;
pub mod inputs;
mod lazy;
pub use lazy::{collect_for_feeds, Deferred};
pub mod liquid;
pub mod markdown;
pub mod nesting;
/// Permalinks are worked out by the leaf module [`crate::permalink`], which the config reads too.
pub use crate::permalink;
pub mod post;
pub(crate) mod records;
pub mod render;
pub(crate) mod ruby_date;
pub mod simple_yaml;
pub mod taxonomy;
pub mod walk;
pub(crate) mod yaml11;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

pub use body::{ExcerptSource, Markup};
pub use post::{Content, Post};

use crate::config::SiteConfig;
use crate::problem::{Position, Problem};
use post::Reading;

/// What to include besides published, past posts.
#[derive(Debug, Clone)]
pub struct Options {
    /// Read `_drafts/` too.
    pub drafts: bool,
    /// Keep posts dated after `now`.
    pub future: bool,
    /// The moment that decides what is in the future.
    pub now: DateTime<Utc>,
    /// Where to keep what was read, so that the next run reads only changed files.
    pub cache: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            drafts: false,
            future: false,
            now: Utc::now(),
            cache: None,
        }
    }
}

/// Counts for the summary of `gazette check`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Posts collected (drafts included when asked for).
    pub posts: usize,
    /// Drafts read because `--drafts` was given.
    pub drafts: usize,
    /// Drafts left out because `--drafts` was not given.
    pub drafts_skipped: usize,
    /// Posts with `published: false`.
    pub unpublished: usize,
    /// Posts dated after now, left out.
    pub future: usize,
    /// Files that could not be read as posts.
    pub invalid: usize,
    /// Files in `_posts` that are not posts.
    pub ignored: usize,
    /// Posts per category, by name.
    pub categories: BTreeMap<String, usize>,
}

/// Everything the collector found.
#[derive(Debug, Default)]
pub struct Collection {
    /// Posts, newest first; ties by source path, last first (the reverse of Jekyll's order).
    pub posts: Vec<Post>,
    /// Problems in file order.
    pub problems: Vec<Problem>,
    /// How many files went where, for the summary.
    pub stats: Stats,
    /// The key of the settings the posts were read with (`cache::settings_key`), for caches of
    /// what later stages make of them; 0 when no cache was asked for.
    pub settings_key: u64,
    /// When the earliest post left out for being dated in the future comes due: from then on,
    /// the same files give other feeds.
    pub next_due: Option<DateTime<Utc>>,
    /// The key of what Liquid sees of every post collected (`site.posts`, `{% post_url %}`),
    /// newest first ([`liquid::listing_key`]).
    pub listing_key: u64,
    /// When `posts` holds only the posts a build's feeds show (see [`collect_for_feeds`]), not
    /// every post collected: how to list every post for Liquid when a body with Liquid must be
    /// rendered ([`Collection::listing`]).
    pub deferred: Option<Box<Deferred>>,
}

impl Collection {
    /// Whether any problem is an error.
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(Problem::is_error)
    }

    /// Whether `posts` holds only the posts a build's feeds show, not every post collected.
    pub fn is_partial(&self) -> bool {
        self.deferred.is_some()
    }

    /// What Liquid sees of every post collected (`site.posts`, `{% post_url %}`), newest first;
    /// for a partial collection, from the post cache's index (`None` when it cannot be read).
    pub fn listing(&self) -> Option<Vec<liquid::PostInfo>> {
        match &self.deferred {
            Some(deferred) => deferred.listing(),
            None => Some(self.posts.iter().map(liquid::PostInfo::of).collect()),
        }
    }
}

/// What a look at the site's folders found, before any post is read: the post files, and (for
/// a cache, or to tell whether anything changed since the last build) each one's stamp.
#[derive(Debug)]
pub struct Scan {
    found: walk::Found,
    drafts_skipped: usize,
    folders: files::Folders,
    /// Each source's stamp, once [`Scan::stamp`] took them.
    stamps: Option<Vec<Option<cache::Stamp>>>,
}

impl Scan {
    /// Lists the site's posts (and drafts, when `options` asks for them).
    pub fn new(site: &Path, options: &Options) -> Scan {
        crate::timing::mark("start");
        let mut found = walk::find(site, true);
        // Sources stay in path order (drafts among the posts): the sort of posts relies on it.
        let drafts = found.sources.iter().filter(|s| s.draft).count();
        found.sources.retain(|s| options.drafts || !s.draft);
        let folders =
            files::Folders::open(site, found.sources.iter().map(|s| s.relative.as_path()));
        crate::timing::mark("walk");
        Scan {
            found,
            drafts_skipped: if options.drafts { 0 } else { drafts },
            folders,
            stamps: None,
        }
    }

    /// Takes every source's stamp (in parallel), once.
    pub fn stamp(&mut self, site: &Path) {
        if self.stamps.is_some() {
            return;
        }
        let folders = &self.folders;
        self.stamps = Some(
            self.found
                .sources
                .par_iter()
                .with_min_len(64)
                .map(|s| folders.stamp(site, &s.relative))
                .collect(),
        );
    }

    /// How many post files there are.
    pub fn len(&self) -> usize {
        self.found.sources.len()
    }

    /// Whether there is no post file.
    pub fn is_empty(&self) -> bool {
        self.found.sources.is_empty()
    }

    /// A hash of what was found: every source's path and stamp, and what the walk could not
    /// read. Two scans with the same key found the same files with the same sizes and times.
    pub fn key(&mut self, site: &Path) -> u64 {
        use std::hash::{Hash, Hasher};
        self.stamp(site);
        let mut h = rustc_hash::FxHasher::default();
        let stamps = self.stamps.as_deref().unwrap_or_default();
        for (source, stamp) in self.found.sources.iter().zip(stamps) {
            source.relative.as_os_str().as_encoded_bytes().hash(&mut h);
            source.draft.hash(&mut h);
            stamp.map(|s| (s.size, s.modified_ns)).hash(&mut h);
        }
        for problem in &self.found.problems {
            problem.message.hash(&mut h);
        }
        self.drafts_skipped.hash(&mut h);
        h.finish()
    }
}

/// Reads every post of the site at `site`.
pub fn collect(site: &Path, config: &SiteConfig, options: &Options) -> Collection {
    collect_scanned(site, config, options, Scan::new(site, options))
}

/// Reads every post that `scan` found (made with the same `options`).
pub fn collect_scanned(
    site: &Path,
    config: &SiteConfig,
    options: &Options,
    mut scan: Scan,
) -> Collection {
    let mut collection = Collection {
        problems: std::mem::take(&mut scan.found.problems),
        ..Collection::default()
    };
    collection.stats.drafts_skipped = scan.drafts_skipped;
    if options.cache.is_some() {
        collection.settings_key = cache::settings_key(site, config.timezone);
    }
    let cache = options
        .cache
        .as_ref()
        .map(|path| cache::Cache::load(path, collection.settings_key));
    // Where each source's entry is in the cache, for the files whose stamps did not change.
    let mut found: Vec<Option<usize>> = match &cache {
        Some(c) if !c.is_empty() => {
            scan.stamp(site);
            c.found(
                &scan.found.sources,
                scan.stamps.as_deref().unwrap_or_default(),
            )
        }
        _ => vec![None; scan.len()],
    };
    let stamps = scan.stamps.as_deref().unwrap_or_default();
    let mut slots: Vec<cache::Slot> = match &cache {
        Some(c) if found.iter().any(Option::is_some) => {
            let all = c.records();
            found
                .par_iter()
                .enumerate()
                .with_min_len(64)
                .map(|(i, at)| Some((c.reading((*at)?, site, all.as_deref())?, stamps[i])))
                .collect()
        }
        _ => (0..scan.len()).map(|_| None).collect(),
    };
    // A record that could not be decoded is read again from its file.
    for (at, slot) in found.iter_mut().zip(&slots) {
        if slot.is_none() {
            *at = None;
        }
    }
    let (sources, folders) = (&scan.found.sources, &scan.folders);
    crate::timing::mark("cache load + stamps");
    read_uncached(site, config, folders, sources, &mut slots);
    crate::timing::mark("read posts");
    let outcomes: Vec<(Reading, Option<cache::Stamp>)> = slots.into_iter().flatten().collect();
    if let (Some(cache), Some(path)) = (&cache, &options.cache) {
        let keep: Vec<(&Path, cache::Stamp, cache::Keep<'_>)> = sources
            .iter()
            .zip(&outcomes)
            .zip(&found)
            .filter_map(|((s, (outcome, stamp)), at)| {
                let what = match at {
                    Some(i) => cache::Keep::Old(*i),
                    None => cache::Keep::New(outcome),
                };
                Some((s.relative.as_path(), (*stamp)?, what))
            })
            .collect();
        if let Err(e) = cache.store(path, site, &keep) {
            collection.problems.push(Problem::warning(
                path,
                Position::START,
                format!("cannot write the cache (the next run reads every post again): {e}"),
            ));
        }
    }
    crate::timing::mark("cache save");
    let future_allowed = options.future || config.future;
    let is_future = |post: &Post| !future_allowed && post.date.with_timezone(&Utc) > options.now;
    admit(&mut collection, outcomes, is_future);
    resolve_url_conflicts(site, &mut collection.posts, &mut collection.problems);
    duplicate_ids(site, &mut collection.posts, &mut collection.problems);

    sort_newest_first(&mut collection.posts);
    collection.stats.posts = collection.posts.len();
    collection.listing_key =
        liquid::listing_key(collection.posts.iter().map(liquid::PostInfo::key_of));
    collection.stats.categories = count_categories(&collection.posts);
    crate::timing::mark("sort + checks");
    collection
        .problems
        .sort_by(|a, b| a.path.cmp(&b.path).then(a.position.cmp(&b.position)));
    collection
}

/// Reads, in parallel, every source whose slot the cache left empty.
fn read_uncached(
    site: &Path,
    config: &SiteConfig,
    folders: &files::Folders,
    sources: &[walk::Source],
    slots: &mut [cache::Slot],
) {
    slots
        .par_iter_mut()
        .zip(sources.par_iter())
        .with_min_len(16)
        .for_each(|(slot, source)| {
            if slot.is_none() {
                *slot = Some(post::read(site, source, config, folders));
            }
        });
}

/// Adds what reading each file gave to the collection: posts (but those `is_future` leaves out),
/// problems and counts.
fn admit(
    collection: &mut Collection,
    outcomes: Vec<(Reading, Option<cache::Stamp>)>,
    is_future: impl Fn(&Post) -> bool,
) {
    // One list of posts, filled in order: collecting them in parallel would hold partial lists
    // beside the final one (tens of megabytes at 100,000 posts).
    collection.posts.reserve_exact(outcomes.len());
    for (outcome, _) in outcomes {
        match outcome {
            Reading::Post(post, mut problems) => {
                collection.problems.append(&mut problems);
                if is_future(&post) {
                    collection.stats.future += 1;
                    let due = post.date.with_timezone(&Utc);
                    collection.next_due = Some(collection.next_due.map_or(due, |d| d.min(due)));
                    continue;
                }
                if post.draft {
                    collection.stats.drafts += 1;
                }
                collection.posts.push(*post);
            }
            Reading::Unpublished => collection.stats.unpublished += 1,
            Reading::Ignored(note) => {
                collection.stats.ignored += 1;
                collection.problems.push(note);
            }
            Reading::Invalid(mut problems) => {
                collection.stats.invalid += 1;
                collection.problems.append(&mut problems);
            }
        }
    }
}

/// Posts per category, by name.
fn count_categories(posts: &[Post]) -> BTreeMap<String, usize> {
    let mut counts: FxHashMap<&str, usize> = FxHashMap::default();
    for post in posts {
        for category in &post.categories {
            *counts.entry(category.as_str()).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .map(|(name, count)| (name.to_string(), count))
        .collect()
}

/// Sorts posts newest first; ties by source path, last first (paths compare as strings, as Ruby
/// compares them: `-` before `/`). `posts` must come in path order, so that a tie is decided by
/// position: the keys are small numbers, and the posts (hundreds of bytes each) are swapped into
/// place without a second list of them.
fn sort_newest_first(posts: &mut [Post]) {
    debug_assert!(posts
        .windows(2)
        .all(|w| w[0].source.as_os_str() <= w[1].source.as_os_str()));
    let mut order: Vec<(i64, u32, usize)> = posts
        .iter()
        .enumerate()
        .map(|(i, p)| (p.date.timestamp(), p.date.timestamp_subsec_nanos(), i))
        .collect();
    order.par_sort_unstable_by(|a, b| b.cmp(a));
    // `order[k]` names the post that belongs at `k`: follow each cycle of that permutation,
    // swapping, so that every post moves at most once.
    let mut from: Vec<usize> = order.into_iter().map(|(_, _, i)| i).collect();
    for start in 0..from.len() {
        let mut k = start;
        while from[k] != start {
            let next = from[k];
            posts.swap(k, next);
            from[k] = k;
            k = next;
        }
        from[k] = k;
    }
}

/// A path as messages show it: without a leading `./`.
pub fn shown(path: &Path) -> &Path {
    path.strip_prefix(".").unwrap_or(path)
}

/// Two posts published at the same address: Jekyll writes each over the one before, in its
/// order of posts (oldest first; the same date by path), and warns "Conflict". The page that
/// stays is the last one written, so the feeds carry that post alone: the others are taken out
/// of `posts`, each with a warning naming the file that is published instead.
fn resolve_url_conflicts(site: &Path, posts: &mut Vec<Post>, problems: &mut Vec<Problem>) {
    // A fast hash for these local names: there is no one to attack the table.
    let mut survivor: FxHashMap<&str, usize> =
        FxHashMap::with_capacity_and_hasher(posts.len(), Default::default());
    let mut conflicts = false;
    for (i, post) in posts.iter().enumerate() {
        match survivor.get_mut(post.url.as_str()) {
            Some(kept) => {
                conflicts = true;
                if written_after(post, &posts[*kept]) {
                    *kept = i;
                }
            }
            None => {
                survivor.insert(&post.url, i);
            }
        }
    }
    if !conflicts {
        return;
    }
    let keep: Vec<bool> = posts
        .iter()
        .enumerate()
        .map(|(i, post)| survivor.get(post.url.as_str()) == Some(&i))
        .collect();
    for (i, post) in posts.iter().enumerate() {
        if keep[i] {
            continue;
        }
        let winner = &posts[survivor[post.url.as_str()]];
        problems.push(conflict(site, &post.source, &winner.source, &post.path));
    }
    let mut index = 0;
    posts.retain(|_| {
        index += 1;
        keep[index - 1]
    });
}

/// The warning for the post at `source`, left out because the post at `winner` is published at
/// the same `page` and Jekyll writes it last.
fn conflict(site: &Path, source: &Path, winner: &Path, page: &str) -> Problem {
    Problem::warning(
        site.join(source),
        Position::START,
        format!(
            "conflict: {} is published at {page} too, and Jekyll writes it last, so the page \
             there is that post's: this one is left out of the feeds (give one of them another \
             `permalink`)",
            shown(&site.join(winner)).display(),
        ),
    )
}

/// The error for the post at `source`, whose `id` the post at `first` has already.
fn duplicate_id(site: &Path, source: &Path, id: &str, first: &Path) -> Problem {
    Problem::error(
        site.join(source),
        Position::START,
        format!(
            "duplicate id {id}: {} has the same id",
            shown(&site.join(first)).display()
        ),
    )
}

/// Whether Jekyll writes `a` after `b`: posts are written in date order, the same date by path.
fn written_after(a: &Post, b: &Post) -> bool {
    (a.date, a.source.as_os_str()) > (b.date, b.source.as_os_str())
}

/// Two posts with the same front-matter `id` (or `guid`): feeds would give two entries one
/// identity, and readers show only one of them. Each later file (by path) is an error naming the
/// first, and loses its `id` (its feed entries are identified by its URL), so that a build that
/// goes on past errors still writes valid feeds. Posts come in path order.
fn duplicate_ids(site: &Path, posts: &mut [Post], problems: &mut Vec<Problem>) {
    let mut first: FxHashMap<String, PathBuf> = FxHashMap::default();
    for post in posts.iter_mut() {
        let Some(id) = post.id.as_deref() else {
            continue;
        };
        if let Some(other) = first.get(id) {
            problems.push(duplicate_id(site, &post.source, id, other));
            post.id = None;
        } else {
            first.insert(id.to_string(), post.source.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect_site(posts: &[(&str, &str)]) -> (tempfile::TempDir, Collection) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("_config.yml"),
            "url: https://example.com\ntimezone: UTC\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("_posts")).unwrap();
        for (name, text) in posts {
            std::fs::write(dir.path().join("_posts").join(name), text).unwrap();
        }
        let config = SiteConfig::load(dir.path()).unwrap().config;
        let collection = collect(dir.path(), &config, &Options::default());
        (dir, collection)
    }

    #[test]
    fn posts_sharing_an_id_or_guid_are_errors() {
        let (dir, c) = collect_site(&[
            ("2022-01-01-a.md", "---\ntitle: A\nid: NW1\n---\na\n"),
            ("2022-01-02-b.md", "---\ntitle: B\nguid: NW1\n---\nb\n"),
            ("2022-01-03-c.md", "---\ntitle: C\nid: NW2\n---\nc\n"),
            ("2022-01-04-d.md", "---\ntitle: D\n---\nd\n"),
            ("2022-01-05-e.md", "---\ntitle: E\n---\ne\n"),
        ]);
        let errors: Vec<&Problem> = c.problems.iter().filter(|p| p.is_error()).collect();
        assert_eq!(errors.len(), 1, "{:?}", c.problems);
        assert_eq!(errors[0].path, dir.path().join("_posts/2022-01-02-b.md"));
        assert_eq!(
            errors[0].message,
            format!(
                "duplicate id NW1: {} has the same id",
                dir.path().join("_posts/2022-01-01-a.md").display()
            )
        );
        assert_eq!(c.posts.len(), 5);
    }
}
