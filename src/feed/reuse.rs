//! Which feed files a build can leave as the last build wrote them, without rendering them.
//!
//! Each feed file gets a key of everything its bytes are made from: what every feed depends on
//! ([`Inputs::feeds`]: gazette's version, the folders, the settings, the zone, `JEKYLL_ENV`), the
//! format, the feed's name, title and file, and for each of its posts, in order, the post file's
//! path and stamp, its URL and identity (both may come from other posts: a URL taken by a later
//! post, an id shared), and for a body with Liquid the Liquid key below. The build state keeps
//! each file's key and stamp ([`super::state`]); a file whose key and stamp are as the last build
//! left them is neither rendered nor written.
//!
//! The Liquid key covers what a body's Liquid can read besides its own file: the settings, the
//! site's other files ([`Inputs::others`]: includes, `_data/`, pages) and, for `site.posts`,
//! `{% post_url %}` and `{% link %}`, every post's path, title, date, categories, tags, slug,
//! URL and draft flag. A body whose Liquid read a file no key covers (another post's file,
//! a hidden one) is never kept, so that its feeds are rendered every time.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use super::entry_cache::EntryCache;
use super::state::{Inputs, Written};
use crate::collect::cache::Stamp;
use crate::plan::{Format, Plan};

/// What a build may keep from the last one.
pub(crate) struct Reuse<'r> {
    /// The keys of this build's inputs.
    pub inputs: Inputs,
    /// How the last build made each feed file (relative to `out`).
    pub written: &'r HashMap<PathBuf, Written>,
    /// The output folder.
    pub out: &'r Path,
}

/// The Liquid key of a build (see the module docs): `settings` is the key the posts were read
/// with, `listing` the key of what Liquid sees of every post collected
/// ([`crate::collect::Collection::listing_key`]).
pub(crate) fn liquid_key(settings: u64, others: u64, listing: u64) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    settings.hash(&mut h);
    others.hash(&mut h);
    std::env::var_os("JEKYLL_ENV").hash(&mut h);
    listing.hash(&mut h);
    h.finish()
}

/// The key of one feed file; `None` when some post's entry depends on what no key covers (its
/// file has no stamp, or its Liquid entry was not kept under this `liquid` key).
pub(crate) fn file_key(
    feeds: u64,
    liquid: Option<u64>,
    plan: &Plan<'_>,
    format: Format,
    cache: Option<&EntryCache>,
) -> Option<u64> {
    let mut h = rustc_hash::FxHasher::default();
    feeds.hash(&mut h);
    format.extension().hash(&mut h);
    (&plan.name, &plan.title, &plan.stem).hash(&mut h);
    std::mem::discriminant(&plan.scope).hash(&mut h);
    for post in &plan.posts {
        let stamp = post.stamp?;
        (&post.source, stamp.size, stamp.modified_ns).hash(&mut h);
        (&post.url, &post.id).hash(&mut h);
        if post.has_liquid {
            cache?
                .has(&post.source, Some(stamp), Some(liquid?))
                .then_some(())?;
            liquid.hash(&mut h);
        }
    }
    Some(h.finish())
}

impl Reuse<'_> {
    /// Whether the file `file` (relative to the output folder), with key `key`, is as the last
    /// build left it: the same key, and the same stamp on disk.
    pub(crate) fn keeps(&self, file: &Path, key: Option<u64>) -> Option<&Written> {
        let written = self.written.get(file)?;
        if Some(written.key) != key {
            return None;
        }
        let meta = std::fs::symlink_metadata(self.out.join(file)).ok()?;
        (meta.is_file() && Stamp::from_metadata(&meta) == written.stamp).then_some(written)
    }
}
