//! The site's files other than its posts, as a build may read them: the settings, `_includes/`,
//! `_data/`, the pages `{% link %}` names, files `{% include_relative %}` takes. Which of them a
//! build reads depends on the posts' Liquid, so all of them count: [`others_key`] hashes every
//! file's path, size and modification time, so that a build can tell that none changed without
//! reading one.
//!
//! Left out, as neither Jekyll nor gazette reads them: hidden entries (`.git`, `.gazette`),
//! `node_modules` and `vendor` (Jekyll's default excludes), the `_posts` and `_drafts` folders
//! (their files are the [`Scan`](super::Scan)'s), and the folders builds write into (Jekyll's
//! destination, gazette's output folder, its cache), whose changes are their own writes.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// A hash of every input file of the site at `site` but the posts (see the module docs); `skip`
/// names folders or files where builds write (any spelling: they are compared as the system
/// resolves them).
///
/// Each file is hashed on its own and the hashes summed, so that the order in which folders list
/// their files does not matter; the walk is not sorted, because walkdir reads and sorts a whole
/// folder before it can be skipped (`_posts`, 10,000 names, was two thirds of this key's cost).
pub fn others_key(site: &Path, skip: &[PathBuf]) -> u64 {
    let mut sum = 0u64;
    let mut add = |what: &dyn Fn(&mut rustc_hash::FxHasher)| {
        let mut h = rustc_hash::FxHasher::default();
        what(&mut h);
        sum = sum.wrapping_add(mix(h.finish()));
    };
    let root = site.canonicalize().unwrap_or_else(|_| site.to_path_buf());
    let skip: Vec<PathBuf> = skip.iter().filter_map(|p| p.canonicalize().ok()).collect();
    let written = |path: &Path| {
        path.strip_prefix(site)
            .is_ok_and(|rest| skip.iter().any(|s| root.join(rest).starts_with(s)))
    };
    let walk = walkdir::WalkDir::new(site)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| {
            if e.depth() == 0 {
                return true;
            }
            let name = e.file_name().to_string_lossy();
            let folder = e.file_type().is_dir();
            !(name.starts_with('.')
                || (folder && matches!(&*name, "_posts" | "_drafts" | "node_modules" | "vendor"))
                || written(e.path()))
        });
    for entry in walk {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                // A loop of links or an unreadable folder: said the same way each time.
                add(&|h| e.to_string().hash(h));
                continue;
            }
        };
        if entry.file_type().is_dir() {
            continue;
        }
        let stamp = entry
            .metadata()
            .map(|meta| super::cache::Stamp::from_metadata(&meta))
            .map(|s| (s.size, s.modified_ns))
            .map_err(|e| e.to_string());
        add(&|h| {
            entry.path().hash(h);
            stamp.hash(h);
        });
    }
    sum
}

/// Where builds of the site at `site` write, none of it an input: the output folder `out`,
/// Jekyll's destination, and the folder of the post cache at `cache` (or, when it lies in the
/// site folder itself, the cache files: [`super::cache::beside`]).
pub fn written(
    site: &Path,
    config: &crate::config::SiteConfig,
    out: &Path,
    cache: Option<&Path>,
) -> Vec<PathBuf> {
    let mut written = vec![out.to_path_buf(), config.destination(site)];
    if let Some(cache) = cache {
        let folder = cache.parent().filter(|f| {
            f.components()
                .any(|c| !matches!(c, std::path::Component::CurDir))
                && *f != site
        });
        match folder {
            Some(folder) => written.push(folder.to_path_buf()),
            None => written.extend(super::cache::beside(cache)),
        }
    }
    written
}

/// Whether a file (relative to the site) is among those [`others_key`] covers: not hidden, not in
/// a posts or drafts folder, not in Jekyll's excluded folders or its destination.
pub fn is_other_input(relative: &Path) -> bool {
    use std::path::Component;
    relative.components().all(|c| match c {
        Component::Normal(name) => {
            let name = name.to_string_lossy();
            !(name.starts_with('.')
                || matches!(
                    &*name,
                    "_posts" | "_drafts" | "node_modules" | "vendor" | "_site"
                ))
        }
        Component::CurDir => true,
        _ => false,
    })
}

/// splitmix64's finaliser: spreads a hash's bits, so that sums of hashes do not cancel out.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_to_an_include_shows_and_writes_into_skipped_folders_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path();
        for folder in [
            "_includes",
            "_posts",
            "_site",
            "feeds",
            ".gazette",
            "node_modules",
        ] {
            std::fs::create_dir(site.join(folder)).unwrap();
        }
        std::fs::write(site.join("_config.yml"), "url: https://example.com\n").unwrap();
        std::fs::write(site.join("_includes/a.html"), "one").unwrap();
        let skip = [site.join("_site"), site.join("feeds")];
        let before = others_key(site, &skip);
        for written in [
            "_site/index.html",
            "feeds/feed.xml",
            ".gazette/posts.cache",
            "_posts/2022-01-01-a.md",
            "node_modules/x.js",
        ] {
            std::fs::write(site.join(written), "x").unwrap();
        }
        assert_eq!(others_key(site, &skip), before);
        std::fs::write(site.join("_includes/a.html"), "two").unwrap();
        assert_ne!(others_key(site, &skip), before);
        let after = others_key(site, &skip);
        std::fs::write(site.join("about.md"), "a page").unwrap();
        assert_ne!(others_key(site, &skip), after);
    }
}
