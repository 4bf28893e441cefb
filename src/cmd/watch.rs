//! `gazette build --watch`: what the site's inputs look like, so that a change is noticed.
//!
//! Polling rather than file-system events: it needs no platform API and no extra crate, it works
//! on network and container file systems where events go missing, and a pass over a site's
//! files' metadata is cheap next to a build (at 10,000 posts, a few tens of milliseconds).

use std::hash::{Hash, Hasher};
use std::path::Path;
use std::time::Duration;

/// How often the inputs are looked at.
const EVERY: Duration = Duration::from_millis(100);

/// A hash of the site's inputs: every file's path, size and modification time, below the site
/// folder, but for hidden entries (`.git`, `.gazette`), Jekyll's destination (`_site`) and the
/// output folder, where builds write (their own writes must not start another build).
pub fn fingerprint(site: &Path, out: Option<&Path>) -> u64 {
    let mut hasher = rustc_hash::FxHasher::default();
    // Compared as the system resolves them: `--site .` with `--out feeds` names one folder.
    let root = site.canonicalize().unwrap_or_else(|_| site.to_path_buf());
    let out = out.and_then(|o| o.canonicalize().ok());
    let walk = walkdir::WalkDir::new(site)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            let written = out.as_ref().is_some_and(|o| {
                e.path()
                    .strip_prefix(site)
                    .is_ok_and(|rest| root.join(rest).starts_with(o))
            });
            e.depth() == 0
                || !(name.starts_with('.') || (e.depth() == 1 && name == "_site") || written)
        });
    for entry in walk.flatten() {
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        entry.path().hash(&mut hasher);
        meta.len().hash(&mut hasher);
        if let Ok(modified) = meta.modified() {
            modified.hash(&mut hasher);
        }
    }
    hasher.finish()
}

/// Waits until the inputs differ from `seen` and then stay the same for one more look (an
/// editor that writes a file in several steps gives one build), and gives the new fingerprint.
pub fn next_change(site: &Path, out: Option<&Path>, seen: u64) -> u64 {
    let mut last = seen;
    loop {
        std::thread::sleep(EVERY);
        let now = fingerprint(site, out);
        if now != seen && now == last {
            return now;
        }
        last = now;
    }
}
