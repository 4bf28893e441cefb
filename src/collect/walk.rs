//! Finding the files that are posts: `_posts/` (recursively) in the site folder and in any
//! folder below it, where, as in Jekyll, the folders above `_posts` become categories; and
//! `_drafts/` likewise when drafts are asked for.
//!
//! Like Jekyll's `EntryFilter`, names starting with `.`, `_` or `#`, or ending in `~`, are
//! skipped, and so are `node_modules` and `vendor`. A symbolic link is followed only when it
//! stays inside the site; a link that leaves it, or a loop, is reported and skipped.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use walkdir::WalkDir;

use crate::problem::{Position, Problem};

/// Where a post file was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The file's path relative to the site folder.
    pub relative: PathBuf,
    /// True for files under `_drafts/`.
    pub draft: bool,
    /// Categories from the folders above `_posts` / `_drafts` (`news/_posts/x.md` → `news`).
    pub folder_categories: Vec<String>,
}

/// What the walk found.
#[derive(Debug, Default)]
pub struct Found {
    /// The post files, sorted by path.
    pub sources: Vec<Source>,
    /// What could not be read, and entries skipped (links that leave the site, FIFOs…), each
    /// saying why.
    pub problems: Vec<Problem>,
}

/// Whether Jekyll's entry filter calls a name special (`.x`, `_x`, `#x`, `~x`, `x~`).
pub(crate) fn is_special_name(name: &str) -> bool {
    name.starts_with(['.', '_', '#', '~']) || name.ends_with('~')
}

/// Whether Jekyll skips a folder of the site (special names and its default excludes).
pub(crate) fn is_skipped_name(name: &str) -> bool {
    is_special_name(name) || name == "node_modules" || name == "vendor"
}

/// Lists every post (and, with `drafts`, every draft) below `site`, sorted by path.
pub fn find(site: &Path, drafts: bool) -> Found {
    let mut found = Found::default();
    let root = match site.canonicalize() {
        Ok(root) => root,
        Err(e) => {
            found.problems.push(Problem::error(
                site,
                Position::START,
                format!("cannot read the site folder: {e}"),
            ));
            return found;
        }
    };
    // Folders that may hold `_posts`: the site and every folder below it that Jekyll reads.
    let mut homes = vec![PathBuf::new()];
    let walker = WalkDir::new(&root)
        .min_depth(1)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| {
            !e.file_type().is_dir() || !is_skipped_name(&e.file_name().to_string_lossy())
        });
    let mut walker = walker;
    while let Some(entry) = walker.next() {
        match entry {
            Ok(e) if e.file_type().is_dir() => {
                if let Err(problem) = stays_inside(&root, site, &e) {
                    found.problems.push(problem);
                    walker.skip_current_dir();
                    continue;
                }
                if let Some(rel) = inside(&root, e.path()) {
                    homes.push(rel);
                }
            }
            Ok(_) => {}
            Err(e) => found.problems.push(walk_problem(&root, site, &e)),
        }
    }
    for home in homes {
        let mut kinds = vec![("_posts", false)];
        if drafts {
            kinds.push(("_drafts", true));
        }
        for (folder, draft) in kinds {
            let dir = root.join(&home).join(folder);
            if dir.is_dir() {
                list_folder(&root, site, &dir, folder, draft, &mut found);
            }
        }
    }
    // Byte order of the paths, as Ruby sorts them (and much cheaper than comparing components).
    found
        .sources
        .par_sort_unstable_by(|a, b| a.relative.as_os_str().cmp(b.relative.as_os_str()));
    found
        .sources
        .dedup_by(|a, b| a.relative.as_os_str() == b.relative.as_os_str());
    found
}

/// Categories from the folders above `_posts`, as Jekyll's `categories_from_path` finds them:
/// everything from the first occurrence of the text `_posts` on is cut off (so
/// `my_posts_blog/_posts/x.md` gives `my`, a Jekyll quirk kept on purpose), the rest split on `/`.
pub(crate) fn folder_categories(relative: &Path, folder: &str) -> Vec<String> {
    if relative
        .as_os_str()
        .as_encoded_bytes()
        .starts_with(folder.as_bytes())
    {
        return Vec::new(); // `_posts/…`: nothing above the folder (the everyday case)
    }
    let text = relative.to_string_lossy().replace('\\', "/");
    let base = relative
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    let head = text.find(folder).map_or(text.as_str(), |i| &text[..i]);
    head.split('/')
        .filter(|c| !c.is_empty() && *c != folder && Some(*c) != base.as_deref())
        .map(String::from)
        .collect()
}

/// Lists the files below one `_posts` or `_drafts` folder. As with Jekyll's `Dir["**/*"]` and
/// entry filter, dot-names are skipped at every depth, but `_`, `#` and `~` names only directly
/// inside the folder or as a file's own name.
///
/// Links are not followed by the walk itself, so that a plain file costs no `stat` (the folder
/// listing says what it is): each link is resolved here, checked, and followed by hand.
fn list_folder(root: &Path, site: &Path, dir: &Path, folder: &str, draft: bool, found: &mut Found) {
    let mut listing = Listing {
        root,
        site,
        folder,
        draft,
        found,
        inside: Vec::new(),
    };
    listing.list(dir, 0);
}

/// One posts folder being listed.
struct Listing<'a> {
    root: &'a Path,
    site: &'a Path,
    folder: &'a str,
    draft: bool,
    found: &'a mut Found,
    /// The real folders of the links being followed, outermost first: a link back to one of
    /// them (or above) is a loop, however many links lead there.
    inside: Vec<PathBuf>,
}

impl Listing<'_> {
    /// Lists `dir`, which is `depth` levels below the `_posts` (or `_drafts`) folder.
    fn list(&mut self, dir: &Path, depth: usize) {
        let walker = WalkDir::new(dir)
            .min_depth(1)
            .follow_links(false)
            .into_iter()
            .filter_entry(|e| {
                let name = e.file_name().to_string_lossy();
                if depth + e.depth() == 1 || !e.file_type().is_dir() {
                    !is_special_name(&name)
                } else {
                    !name.starts_with('.')
                }
            });
        for entry in walker {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    let problem = walk_problem(self.root, self.site, &e);
                    self.found.problems.push(problem);
                    continue;
                }
            };
            let Some(relative) = inside(self.root, entry.path()) else {
                continue;
            };
            let file_type = if entry.path_is_symlink() {
                match self.follow(entry.path(), &relative) {
                    Ok((meta, target)) if meta.is_dir() => {
                        self.inside.push(target);
                        self.list(entry.path(), depth + entry.depth());
                        self.inside.pop();
                        continue;
                    }
                    Ok((meta, _)) => meta.file_type(),
                    Err(problem) => {
                        self.found.problems.push(problem);
                        continue;
                    }
                }
            } else {
                entry.file_type()
            };
            if file_type.is_dir() {
                continue;
            }
            if !file_type.is_file() {
                self.found.problems.push(Problem::warning(
                    self.site.join(&relative),
                    Position::START,
                    "not a regular file (a FIFO, socket or device): skipped",
                ));
                continue;
            }
            self.found.sources.push(Source {
                folder_categories: folder_categories(&relative, self.folder),
                relative,
                draft: self.draft,
            });
        }
    }

    /// Resolves a symbolic link met in a posts folder: its target's metadata and real path when
    /// it stays inside the site and does not lead back to a folder it is in, else the warning
    /// that skips it.
    fn follow(
        &self,
        link: &Path,
        relative: &Path,
    ) -> Result<(std::fs::Metadata, PathBuf), Problem> {
        let shown = self.site.join(relative);
        let target = match link.canonicalize() {
            Ok(target) => target,
            Err(e) if e.raw_os_error() == Some(40) => {
                return Err(Problem::warning(
                    shown,
                    Position::START,
                    "symbolic link loop: skipped",
                ))
            }
            Err(e) => {
                return Err(Problem::warning(
                    shown,
                    Position::START,
                    format!("broken symbolic link: {e}: skipped"),
                ))
            }
        };
        if !target.starts_with(self.root) {
            return Err(Problem::warning(
                shown,
                Position::START,
                format!(
                    "symbolic link to {} leaves the site folder: skipped",
                    target.display()
                ),
            ));
        }
        let meta = std::fs::metadata(&target).map_err(|e| {
            Problem::error(shown.clone(), Position::START, format!("cannot read: {e}"))
        })?;
        let parent = link
            .parent()
            .and_then(|p| p.canonicalize().ok())
            .unwrap_or_default();
        let loops =
            parent.starts_with(&target) || self.inside.iter().any(|d| d.starts_with(&target));
        if meta.is_dir() && loops {
            let ancestor = inside(self.root, &target).unwrap_or_default();
            return Err(Problem::warning(
                shown,
                Position::START,
                format!(
                    "symbolic link loop back to {}: skipped",
                    self.site.join(ancestor).display()
                ),
            ));
        }
        Ok((meta, target))
    }
}

/// A symbolic link is followed only when it leads to a place inside the site.
fn stays_inside(root: &Path, site: &Path, entry: &walkdir::DirEntry) -> Result<(), Problem> {
    if !entry.path_is_symlink() {
        return Ok(());
    }
    let shown = site.join(inside(root, entry.path()).unwrap_or_else(|| entry.path().to_path_buf()));
    match entry.path().canonicalize() {
        Ok(target) if target.starts_with(root) => Ok(()),
        Ok(target) => Err(Problem::warning(
            shown,
            Position::START,
            format!(
                "symbolic link to {} leaves the site folder: skipped",
                target.display()
            ),
        )),
        Err(e) => Err(Problem::warning(
            shown,
            Position::START,
            format!("broken symbolic link: {e}: skipped"),
        )),
    }
}

/// `path` relative to `root`, when it is below it.
fn inside(root: &Path, path: &Path) -> Option<PathBuf> {
    // Walked paths start with the root as it was given: compare bytes before components.
    let (root_bytes, bytes) = (
        root.as_os_str().as_encoded_bytes(),
        path.as_os_str().as_encoded_bytes(),
    );
    if let Some(rest) = bytes
        .strip_prefix(root_bytes)
        .and_then(|r| r.strip_prefix(b"/"))
    {
        if !rest.is_empty() && !rest.starts_with(b"/") && cfg!(unix) {
            // SAFETY: `rest` is a suffix of an `OsStr`'s bytes that starts right after an ASCII `/`.
            let rest = unsafe { std::ffi::OsStr::from_encoded_bytes_unchecked(rest) };
            return Some(PathBuf::from(rest));
        }
    }
    path.strip_prefix(root).ok().map(Path::to_path_buf)
}

fn walk_problem(root: &Path, site: &Path, e: &walkdir::Error) -> Problem {
    let path = e
        .path()
        .map(|p| site.join(inside(root, p).unwrap_or_else(|| p.to_path_buf())))
        .unwrap_or_else(|| site.to_path_buf());
    if let Some(ancestor) = e.loop_ancestor() {
        let ancestor = inside(root, ancestor).unwrap_or_else(|| ancestor.to_path_buf());
        return Problem::warning(
            path,
            Position::START,
            format!(
                "symbolic link loop back to {}: skipped",
                site.join(ancestor).display()
            ),
        );
    }
    // A link to itself (or a ring of file links) cannot be followed: skipped like folder loops.
    if e.io_error().and_then(|io| io.raw_os_error()) == Some(40) {
        return Problem::warning(path, Position::START, "symbolic link loop: skipped");
    }
    // A link that points nowhere (an asset or an include whose target went away) is no post:
    // skipped with a warning, wherever it is, and never a failed build.
    let dangling = e.io_error().map(std::io::Error::kind) == Some(std::io::ErrorKind::NotFound)
        && std::fs::symlink_metadata(e.path().unwrap_or(root)).is_ok_and(|m| m.is_symlink());
    if dangling {
        return Problem::warning(
            path,
            Position::START,
            "broken symbolic link (it points to nothing): skipped",
        );
    }
    let message = match e.io_error() {
        Some(io) => io.to_string(),
        None => e.to_string(),
    };
    Problem::error(path, Position::START, format!("cannot read: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn finds_posts_in_nested_folders_with_categories() {
        let dir = tempfile::tempdir().unwrap();
        let s = dir.path();
        for p in [
            "_posts/2022-01-01-a.md",
            "_posts/2019/2019-01-01-b.md",
            "news/world/_posts/2022-01-02-c.md",
            "_drafts/d.md",
            "_posts/.hidden.md",
            "_posts/_partial.md",
            "_posts/backup.md~",
            "node_modules/x/_posts/2022-01-01-e.md",
            "_site/_posts/2022-01-01-f.md",
        ] {
            fs::create_dir_all(s.join(p).parent().unwrap()).unwrap();
            fs::write(s.join(p), "").unwrap();
        }
        let found = find(s, false);
        let names: Vec<_> = found
            .sources
            .iter()
            .map(|x| {
                (
                    x.relative.to_string_lossy().into_owned(),
                    x.folder_categories.clone(),
                )
            })
            .collect();
        assert_eq!(
            names,
            vec![
                ("_posts/2019/2019-01-01-b.md".to_string(), vec![]),
                ("_posts/2022-01-01-a.md".to_string(), vec![]),
                (
                    "news/world/_posts/2022-01-02-c.md".to_string(),
                    vec!["news".to_string(), "world".to_string()]
                ),
            ]
        );
        let with_drafts = find(s, true);
        assert!(with_drafts.sources.iter().any(|x| x.draft));
    }

    #[test]
    fn folder_categories_like_jekyll() {
        let cats = |p: &str| folder_categories(Path::new(p), "_posts");
        assert_eq!(cats("_posts/2022/x.md"), Vec::<String>::new());
        assert_eq!(cats("a/b/_posts/c/x.md"), ["a", "b"]);
        assert_eq!(cats("my_posts_blog/_posts/x.md"), ["my"]);
    }

    #[test]
    fn underscore_folders_deeper_in_posts_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let s = dir.path();
        for p in [
            "_posts/sub/_hidden/2020-01-10-x.md",
            "_posts/_sub/2020-01-10-y.md",
            "_posts/sub/.git/2020-01-10-z.md",
        ] {
            fs::create_dir_all(s.join(p).parent().unwrap()).unwrap();
            fs::write(s.join(p), "").unwrap();
        }
        let found = find(s, false);
        let names: Vec<_> = found
            .sources
            .iter()
            .map(|x| x.relative.to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["_posts/sub/_hidden/2020-01-10-x.md"]);
    }

    /// Two folders linking to each other: each link is followed once, then the walk sees it
    /// is going round and stops with a warning (it once recursed until the stack overflowed).
    #[cfg(unix)]
    #[test]
    fn folders_linking_to_each_other_end_with_a_loop_warning() {
        let dir = tempfile::tempdir().unwrap();
        let s = dir.path();
        fs::create_dir_all(s.join("_posts/a")).unwrap();
        fs::create_dir_all(s.join("_posts/b")).unwrap();
        fs::write(s.join("_posts/a/2022-01-01-x.md"), "x").unwrap();
        std::os::unix::fs::symlink(s.join("_posts/b"), s.join("_posts/a/to-b")).unwrap();
        std::os::unix::fs::symlink(s.join("_posts/a"), s.join("_posts/b/to-a")).unwrap();
        let found = find(s, false);
        let loops = found
            .problems
            .iter()
            .filter(|p| p.message.contains("symbolic link loop back to"))
            .count();
        assert!(loops >= 2, "{:?}", found.problems);
        assert!(found.sources.len() <= 3, "{:?}", found.sources);
        assert!(found
            .sources
            .iter()
            .any(|x| x.relative == Path::new("_posts/a/2022-01-01-x.md")));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_out_of_the_site_and_loops_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let s = dir.path();
        fs::create_dir_all(s.join("_posts")).unwrap();
        fs::write(outside.path().join("2022-01-01-secret.md"), "x").unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("2022-01-01-secret.md"),
            s.join("_posts/2022-01-01-secret.md"),
        )
        .unwrap();
        std::os::unix::fs::symlink(s.join("_posts"), s.join("_posts/loop")).unwrap();
        let found = find(s, false);
        assert!(found.sources.is_empty(), "{:?}", found.sources);
        let messages: Vec<_> = found.problems.iter().map(|p| p.message.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("leaves the site folder")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("symbolic link loop")),
            "{messages:?}"
        );
    }
}
