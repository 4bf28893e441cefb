//! Collecting for a build: every post is counted, checked and ordered from the cache's index
//! ([`Brief`]s), but only the posts some feed shows are decoded whole.
//!
//! A build's feeds show the newest `items` posts of the site, of each category and of each tag;
//! everything else a build needs of the other posts (dates, categories, tags, URLs, ids for the
//! checks, what Liquid's `site.posts` lists) is in the index. So a rebuild of 10,000 posts
//! decodes about 1,500 of them, and reads only the files that changed. The result is the
//! [`Collection`] that [`super::collect`] gives, but for `posts`, which holds only those posts
//! (and, for the sign-up form's list of categories, the newest post of each category), newest
//! first; the feeds planned from it are the feeds planned from every post, since each feed's
//! posts are the newest of its kind and all of them are here. `tests/it/rebuild.rs` checks
//! that builds from it write exactly what builds without a cache write.

use std::path::Path;

use chrono::Utc;
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use super::cache::{self, Brief, Cache, Keep, Stamp, Terms};
use super::liquid::PostInfo;
use super::post::{self, Reading};
use super::{Collection, Options, Post, Scan};
use crate::config::SiteConfig;
use crate::problem::{Position, Problem};

/// What a build collected for its feeds keeps, to list every post for Liquid only if a body with
/// Liquid must be rendered: the post cache (its index and listing section) and, newest first,
/// each post's place in it, or what Liquid sees of a post read in this run.
#[derive(Debug)]
pub struct Deferred {
    cache: Cache,
    posts: Vec<Listed>,
}

#[derive(Debug)]
enum Listed {
    Cached(usize),
    Read(Box<PostInfo>),
    /// Not a post after all (never: candidates are posts), so no listing.
    Missing,
}

impl Deferred {
    /// What Liquid sees of every post, newest first; `None` when the cache's listing cannot be
    /// read.
    pub fn listing(&self) -> Option<Vec<PostInfo>> {
        self.posts
            .iter()
            .map(|p| match p {
                Listed::Read(info) => Some((**info).clone()),
                Listed::Missing => None,
                Listed::Cached(i) => {
                    let old = self.cache.try_get(*i)?;
                    let (title, slug, url) = self.cache.listed(*i)?;
                    Some(PostInfo {
                        source: old.path.to_string_lossy().replace('\\', "/"),
                        title,
                        date: old.brief.date()?,
                        categories: names(
                            &self.cache.terms,
                            self.cache.terms.categories(&old.brief),
                        ),
                        tags: names(&self.cache.terms, self.cache.terms.tags(&old.brief)),
                        slug,
                        url,
                        draft: old.brief.draft,
                    })
                }
            })
            .collect()
    }
}

fn names(terms: &Terms, ids: &[u32]) -> Vec<String> {
    ids.iter().map(|&id| terms.name(id).to_string()).collect()
}

/// One file as this run knows it: from the cache's index, or read now.
enum Known {
    Cached(usize),
    Read(Reading),
}

/// A post taking part in the build, before it is decoded.
struct Candidate<'a> {
    /// Its source's index.
    at: usize,
    brief: std::borrow::Cow<'a, Brief>,
    date: chrono::DateTime<chrono::FixedOffset>,
}

/// Collects the posts of `scan` for a build's feeds (see the module docs). Without a cache,
/// or when the cache cannot give what is needed, every post is read as [`super::collect`]
/// reads them.
pub fn collect_for_feeds(
    site: &Path,
    config: &SiteConfig,
    options: &Options,
    mut scan: Scan,
) -> Collection {
    let Some(path) = options.cache.as_ref() else {
        return super::collect_scanned(site, config, options, scan);
    };
    let settings_key = cache::settings_key(site, config.timezone);
    let cache = Cache::load(path, settings_key);
    scan.stamp(site);
    let stamps = scan.stamps.clone().unwrap_or_default();
    let sources = &scan.found.sources;
    let found = cache.found(sources, &stamps);
    crate::timing::mark("cache load + stamps");
    // The files that changed, read in parallel.
    let mut known: Vec<(Known, Option<Stamp>)> = found
        .par_iter()
        .zip(sources.par_iter())
        .zip(stamps.par_iter())
        .with_min_len(64)
        .map(|((at, source), stamp)| match at {
            Some(i) => (Known::Cached(*i), *stamp),
            None => {
                let (reading, stamp) = post::read(site, source, config, &scan.folders);
                (Known::Read(reading), stamp)
            }
        })
        .collect();
    crate::timing::mark("read posts");
    let keep: Vec<(&Path, Stamp, Keep<'_>)> = sources
        .iter()
        .zip(&known)
        .filter_map(|(s, (k, stamp))| {
            let what = match k {
                Known::Cached(i) => Keep::Old(*i),
                Known::Read(reading) => Keep::New(reading),
            };
            Some((s.relative.as_path(), (*stamp)?, what))
        })
        .collect();
    let mut collection = Collection {
        problems: std::mem::take(&mut scan.found.problems),
        settings_key,
        ..Collection::default()
    };
    collection.stats.drafts_skipped = scan.drafts_skipped;
    if let Err(e) = cache.store(path, site, &keep) {
        collection.problems.push(Problem::warning(
            path,
            Position::START,
            format!("cannot write the cache (the next run reads every post again): {e}"),
        ));
    }
    drop(keep);
    crate::timing::mark("cache save");

    // The terms of the posts read now are numbered after the cache's.
    let mut terms = cache.terms.clone();
    let admitted = admit(
        site,
        config,
        options,
        &cache,
        &known,
        &mut terms,
        &mut collection,
    );
    let Some(candidates) = admitted else {
        return super::collect_scanned(site, config, options, scan);
    };
    let url_of = |c: &Candidate<'_>| -> Option<(String, String)> {
        let reading = match &known[c.at].0 {
            Known::Cached(at) => cache.reading(*at, site, None)?,
            Known::Read(reading) => reading.clone(),
        };
        match reading {
            Reading::Post(post, _) => Some((post.url, post.path)),
            _ => None,
        }
    };
    let Some((mut candidates, no_id)) =
        checks(site, sources, candidates, url_of, &mut collection.problems)
    else {
        return super::collect_scanned(site, config, options, scan);
    };
    // Newest first; the same date by path, last first (candidates come in path order).
    candidates.sort_by(|a, b| b.date.cmp(&a.date).then(b.at.cmp(&a.at)));
    collection.stats.posts = candidates.len();
    let mut categories: FxHashMap<u32, usize> = FxHashMap::default();
    for c in &candidates {
        for &id in terms.categories(&c.brief) {
            *categories.entry(id).or_default() += 1;
        }
    }
    collection.stats.categories = categories
        .into_iter()
        .map(|(id, count)| (terms.name(id).to_string(), count))
        .collect();
    collection.listing_key = super::liquid::listing_key(candidates.iter().map(|c| c.brief.info));
    crate::timing::mark("sort + checks");

    let shown = shown(&candidates, &terms, config);
    // Many records are read in one go; a few, each where it lies.
    let all = if shown.len() > 64 {
        cache.records()
    } else {
        None
    };
    // What Liquid would see of every post, before the posts read now are moved out of `known`.
    let listed: Vec<Listed> = candidates
        .iter()
        .map(|c| match &known[c.at].0 {
            Known::Cached(i) => Listed::Cached(*i),
            Known::Read(Reading::Post(post, _)) => Listed::Read(Box::new(PostInfo::of(post))),
            Known::Read(_) => Listed::Missing,
        })
        .collect();
    // The posts shown: those read now moved, the others decoded from their records.
    let mut moved: Vec<Option<Reading>> = shown
        .iter()
        .map(|&i| match &mut known[candidates[i].at].0 {
            Known::Read(reading) => Some(std::mem::replace(reading, Reading::Unpublished)),
            Known::Cached(_) => None,
        })
        .collect();
    let mut posts: Vec<Option<Post>> = shown
        .par_iter()
        .zip(moved.par_iter_mut())
        .map(|(&i, moved)| {
            let c = &candidates[i];
            let reading = match (&known[c.at].0, moved.take()) {
                (_, Some(reading)) => reading,
                (Known::Cached(at), None) => cache.reading(*at, site, all.as_deref())?,
                (Known::Read(_), None) => return None,
            };
            match reading {
                Reading::Post(mut post, _) => {
                    if no_id.contains(&c.at) {
                        post.id = None;
                    }
                    Some(*post)
                }
                _ => None,
            }
        })
        .collect();
    if posts.iter().any(Option::is_none) {
        // A damaged record: read every post again, as a build without the cache would.
        return super::collect_scanned(site, config, options, scan);
    }
    collection.posts = posts.iter_mut().filter_map(Option::take).collect();
    drop(candidates);
    known.clear();
    collection.deferred = Some(Box::new(Deferred {
        cache,
        posts: listed,
    }));
    collection
        .problems
        .sort_by(|a, b| a.path.cmp(&b.path).then(a.position.cmp(&b.position)));
    crate::timing::mark("posts shown");
    collection
}

/// Counts every file, takes its problems, and gives the posts that take part (not left out
/// for being in the future), in path order; `None` when a record needed for its problems is
/// damaged.
fn admit<'a>(
    site: &Path,
    config: &SiteConfig,
    options: &Options,
    cache: &'a Cache,
    known: &[(Known, Option<Stamp>)],
    terms: &mut Terms,
    collection: &mut Collection,
) -> Option<Vec<Candidate<'a>>> {
    let future_allowed = options.future || config.future;
    let mut candidates = Vec::with_capacity(known.len());
    for (at, (k, _)) in known.iter().enumerate() {
        let brief = match k {
            Known::Cached(i) => std::borrow::Cow::Borrowed(&cache.get(*i).brief),
            Known::Read(reading) => std::borrow::Cow::Owned(Brief::of(reading, terms)),
        };
        if brief.has_problems {
            let mut problems = match k {
                Known::Cached(i) => problems_of(cache.reading(*i, site, None)?),
                Known::Read(reading) => problems_of(reading.clone()),
            };
            collection.problems.append(&mut problems);
        }
        match brief.kind {
            0 => {
                let date = brief.date()?;
                if !future_allowed && date.with_timezone(&Utc) > options.now {
                    collection.stats.future += 1;
                    let due = date.with_timezone(&Utc);
                    collection.next_due = Some(collection.next_due.map_or(due, |d| d.min(due)));
                    continue;
                }
                if brief.draft {
                    collection.stats.drafts += 1;
                }
                candidates.push(Candidate { at, brief, date });
            }
            1 => collection.stats.unpublished += 1,
            2 => collection.stats.ignored += 1,
            _ => collection.stats.invalid += 1,
        }
    }
    Some(candidates)
}

fn problems_of(reading: Reading) -> Vec<Problem> {
    match reading {
        Reading::Post(_, problems) | Reading::Invalid(problems) => problems,
        Reading::Ignored(note) => vec![note],
        Reading::Unpublished => Vec::new(),
    }
}

/// Jekyll's and gazette's checks across posts, as [`super::collect`] makes them: a URL shared by
/// posts goes to the one written last, the others are left out with a warning; an id shared by
/// posts stays with the first (by path), the others lose it with an error. Gives the posts left
/// and the sources of those that lost their id; `None` when the record of a post that may share
/// its URL (`url_of` gives its URL and page path) cannot be read.
fn checks<'a>(
    site: &Path,
    sources: &[super::walk::Source],
    candidates: Vec<Candidate<'a>>,
    url_of: impl Fn(&Candidate<'a>) -> Option<(String, String)>,
    problems: &mut Vec<Problem>,
) -> Option<(Vec<Candidate<'a>>, FxHashSet<usize>)> {
    let source = |c: &Candidate<'_>| sources[c.at].relative.as_path();
    // Posts whose URLs hash alike: only they may share a URL, and their records tell.
    let mut by_hash: FxHashMap<u64, Vec<usize>> =
        FxHashMap::with_capacity_and_hasher(candidates.len(), Default::default());
    for (i, c) in candidates.iter().enumerate() {
        by_hash.entry(c.brief.url).or_default().push(i);
    }
    let mut left_out = vec![false; candidates.len()];
    for group in by_hash.values().filter(|g| g.len() > 1) {
        let urls: Vec<(String, String)> = group
            .iter()
            .map(|&i| url_of(&candidates[i]))
            .collect::<Option<_>>()?;
        // The same URL: the post written last (by date, the same date by path) stays.
        let mut survivor: FxHashMap<&str, usize> = FxHashMap::default();
        for (k, &i) in group.iter().enumerate() {
            let c = &candidates[i];
            match survivor.get_mut(urls[k].0.as_str()) {
                Some(kept) => {
                    let other = &candidates[group[*kept]];
                    if (c.date, source(c).as_os_str()) > (other.date, source(other).as_os_str()) {
                        *kept = k;
                    }
                }
                None => {
                    survivor.insert(&urls[k].0, k);
                }
            }
        }
        for (k, &i) in group.iter().enumerate() {
            let winner = survivor[urls[k].0.as_str()];
            if winner == k {
                continue;
            }
            left_out[i] = true;
            let winner = source(&candidates[group[winner]]);
            problems.push(super::conflict(
                site,
                source(&candidates[i]),
                winner,
                &urls[k].1,
            ));
        }
    }
    let left: Vec<Candidate<'a>> = candidates
        .into_iter()
        .zip(left_out)
        .filter_map(|(c, out)| (!out).then_some(c))
        .collect();
    let mut first: FxHashMap<&str, usize> = FxHashMap::default();
    let mut no_id = FxHashSet::default();
    for c in &left {
        let Some(id) = c.brief.id.as_deref() else {
            continue;
        };
        if let Some(other) = first.get(id) {
            let first = &sources[*other].relative;
            problems.push(super::duplicate_id(site, source(c), id, first));
            no_id.insert(c.at);
        } else {
            first.insert(id, c.at);
        }
    }
    Some((left, no_id))
}

/// The candidates (by their place in `candidates`, newest first) that some feed shows, as
/// [`crate::plan::plan_keeping`] chooses them: the newest `items` of the site, of each category
/// and (with `tag_feeds`) of each tag, among the posts in feeds and not drafts; and the newest
/// post of each category that is not a draft (the sign-up form lists their categories).
fn shown(candidates: &[Candidate<'_>], terms: &Terms, config: &SiteConfig) -> Vec<usize> {
    let settings = &config.gazette;
    let limit = settings.items.max(1);
    let mut take = vec![false; candidates.len()];
    let mut site = 0;
    // By the terms' numbers: one number a name.
    let mut categories: FxHashMap<u32, usize> = FxHashMap::default();
    let mut tags: FxHashMap<u32, usize> = FxHashMap::default();
    let mut listed: FxHashSet<u32> = FxHashSet::default();
    for (i, c) in candidates.iter().enumerate() {
        if c.brief.draft {
            continue;
        }
        for &id in terms.categories(&c.brief) {
            if listed.insert(id) {
                take[i] = true;
            }
        }
        if !c.brief.in_feeds {
            continue;
        }
        if settings.site_feed && site < limit {
            site += 1;
            take[i] = true;
        }
        for &id in terms.categories(&c.brief) {
            let n = categories.entry(id).or_default();
            if *n < limit {
                *n += 1;
                take[i] = true;
            }
        }
        if settings.tag_feeds {
            for &id in terms.tags(&c.brief) {
                let n = tags.entry(id).or_default();
                if *n < limit {
                    *n += 1;
                    take[i] = true;
                }
            }
        }
    }
    (0..candidates.len()).filter(|&i| take[i]).collect()
}
