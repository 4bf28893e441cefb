//! The web archive of digests: each period's digest as a page of the site (by default
//! `_site/digest/2022-W02.html`), an index of past issues (`index.html`, newest first) and an
//! Atom feed of issues (`feed.atom.xml`).
//!
//! The page is the "everyone" variant rendered with nobody's data
//! ([`Composer::archive_page`](super::compose::Composer::archive_page)), so it holds no name,
//! address or token, and no build time: the same posts and templates give the same bytes, so a
//! rerun changes no file and a static host's ETag stays.
//!
//! The record of issues and a copy of every page live in the state folder
//! (`<state>/archive/issues.json` and `<state>/archive/PERIOD.html`), so that the whole archive
//! is written again from it even after a Jekyll build emptied `_site`. Every file, in both
//! folders, is written to a temporary file beside it first; only when all are written are they
//! renamed into place, so a failure (a full disk, a file where a folder goes, a symbolic link
//! where a file goes) leaves every earlier file as it was and no temporary file behind. A file
//! whose bytes did not change is not rewritten. Nothing is ever removed.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use atom_syndication::{Feed, Generator, Link, Text};
use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::render::{IndexData, IssueData, RenderError, Renderer, SiteData};
use super::settings::DigestSettings;
use crate::atomic::{self, remove_stale_temps, rename_all, StageError, Staged, Undo};
use crate::config::SiteConfig;
use crate::escape::xml_safe;

/// The index page's file name, in the archive folder.
pub const INDEX: &str = "index.html";
/// The Atom feed's file name, in the archive folder.
pub const FEED: &str = "feed.atom.xml";
/// The record of issues, in `<state>/archive`.
const RECORD: &str = "issues.json";
/// The record's format; a newer one is refused and never written.
const VERSION: u32 = 1;

/// Why the archive could not be written (nothing was changed).
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// A file or folder could not be read or written.
    #[error("{}: {error}", path.display())]
    File {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        error: io::Error,
    },
    /// The record of issues is not one gazette can read.
    #[error("{}: {message}", path.display())]
    Record {
        /// The record's file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The index could not be rendered.
    #[error("rendering the archive's index failed: {0}")]
    Render(#[from] RenderError),
    /// The period's label cannot name a file.
    #[error("the period `{0}` cannot name an archive page")]
    Label(String),
    /// The Atom feed could not be written.
    #[error("writing the archive's Atom feed failed: {0}")]
    Feed(String),
}

fn file_error(path: &Path) -> impl FnOnce(io::Error) -> ArchiveError + '_ {
    move |error| ArchiveError::File {
        path: path.to_path_buf(),
        error,
    }
}

fn refused(path: &Path, why: &str) -> ArchiveError {
    ArchiveError::File {
        path: path.to_path_buf(),
        error: io::Error::new(io::ErrorKind::AlreadyExists, why.to_string()),
    }
}

/// Where the archive goes and how it is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    /// The folder the pages, the index and the feed are written into.
    pub dir: PathBuf,
    /// The folder's public URL, ending in `/`, when known (`digest.archive_url`, or derived
    /// from the site's `url` and `baseurl` when the folder is inside Jekyll's destination).
    pub url: Option<String>,
    /// The record of issues and the pages' copies (`<state>/archive`).
    pub record_dir: PathBuf,
}

impl Archive {
    /// The archive the settings ask for: `None` when `digest.archive` is empty. The folder is
    /// relative to the site; its public URL is `digest.archive_url` when set, else the folder's
    /// place below Jekyll's destination, under the site's root URL (`url` + `baseurl`).
    pub fn of(
        site: &Path,
        config: &SiteConfig,
        settings: &DigestSettings,
        state_dir: &Path,
    ) -> Option<Archive> {
        let folder = settings.archive.as_ref()?;
        let dir = site.join(folder);
        let url = match settings.archive_url.as_deref().map(str::trim) {
            Some(url) if !url.is_empty() => Some(format!("{}/", url.trim_end_matches('/'))),
            _ => derived_url(&dir, &config.destination(site), config),
        };
        Some(Archive {
            dir,
            url,
            record_dir: state_dir.join("archive"),
        })
    }

    /// The public URL of a period's page, when the folder's URL is known.
    pub fn page_url(&self, label: &str) -> Option<String> {
        let name = page_name(label).ok()?;
        self.url.as_ref().map(|base| format!("{base}{name}"))
    }
}

/// The folder's URL below the site's root, when the folder is inside Jekyll's destination and
/// the site has a `url`.
fn derived_url(dir: &Path, destination: &Path, config: &SiteConfig) -> Option<String> {
    let mut url = config.site_root()?;
    let below = dir.strip_prefix(destination).ok()?;
    let mut parts = Vec::new();
    for part in below.components() {
        let std::path::Component::Normal(part) = part else {
            return None;
        };
        parts.push(part.to_str()?);
    }
    url.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .extend(parts)
        .push("");
    Some(url.to_string())
}

/// The page's file name for a period: `2022-W02.html`. A label is digits, letters, `-` and `.`
/// (`2022-01-10..2022-01-16`); anything else is refused.
pub fn page_name(label: &str) -> Result<String, ArchiveError> {
    let plain = !label.is_empty()
        && !label.starts_with('.')
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !plain {
        return Err(ArchiveError::Label(label.to_string()));
    }
    Ok(format!("{label}.html"))
}

/// One archived digest, as the record keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    /// The period's label, e.g. `2022-W02`.
    pub label: String,
    /// The digest's title (its subject as everyone would get it).
    pub title: String,
    /// The period's start (RFC 3339).
    pub start: String,
    /// The start of the period's last day (RFC 3339).
    pub last_day: String,
    /// How many posts the digest shows.
    pub post_count: usize,
    /// The posts' titles, in the digest's order (the feed's summary).
    pub posts: Vec<String>,
    /// When the period was first archived.
    pub published: DateTime<Utc>,
    /// When its page last changed.
    pub updated: DateTime<Utc>,
    /// SHA-256 of the page and the title, to tell whether a rerun changed anything.
    pub sha256: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    version: u32,
    issues: Vec<Issue>,
}

/// This period's page, ready to archive.
#[derive(Debug, Clone)]
pub struct Page {
    /// The period's label.
    pub label: String,
    /// The digest's title.
    pub title: String,
    /// The period's start (RFC 3339).
    pub start: String,
    /// The start of the period's last day (RFC 3339).
    pub last_day: String,
    /// The posts' titles, in the digest's order.
    pub posts: Vec<String>,
    /// The page's HTML.
    pub html: String,
}

/// What writing the archive did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// The period's page.
    pub page: PathBuf,
    /// Files written because they are new or changed (the archive's and the record's).
    pub written: Vec<PathBuf>,
    /// Files that held these bytes already, left untouched.
    pub unchanged: Vec<PathBuf>,
}

/// What the index and the feed show besides the issues.
pub struct Context<'a> {
    /// The site, as the templates see it.
    pub site: &'a SiteData,
    /// The service's sign-up form, when `digest.serve_url` is set.
    pub subscribe_url: Option<&'a str>,
    /// The site's host, for the feed's ids when the archive's URL is unknown.
    pub host: &'a str,
}

impl Archive {
    fn read_record(&self) -> Result<Vec<Issue>, ArchiveError> {
        let path = self.record_dir.join(RECORD);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(file_error(&path)(e)),
        };
        let record: Record = serde_json::from_str(&text).map_err(|e| ArchiveError::Record {
            path: path.clone(),
            message: format!("not an archive record gazette can read ({e}); it was left as it is"),
        })?;
        if record.version > VERSION {
            return Err(ArchiveError::Record {
                path,
                message: format!(
                    "written by a newer gazette (version {}); it was left as it is",
                    record.version
                ),
            });
        }
        Ok(record.issues)
    }

    /// Adds (or updates) `page` and writes the period's page, every earlier page, the index
    /// and the feed, all or nothing (see the module's docs).
    pub fn write(
        &self,
        page: &Page,
        renderer: &Renderer,
        context: &Context<'_>,
        now: DateTime<Utc>,
    ) -> Result<Written, ArchiveError> {
        let name = page_name(&page.label)?;
        // Whole seconds: the feed's dates read as people write them.
        let now = now.trunc_subsecs(0);
        let mut issues = self.read_record()?;
        let mut hasher = Sha256::new();
        hasher.update(page.html.as_bytes());
        hasher.update([0]);
        hasher.update(page.title.as_bytes());
        let sha256: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        match issues.iter_mut().find(|i| i.label == page.label) {
            Some(issue) if issue.sha256 == sha256 => {}
            Some(issue) => {
                issue.title = page.title.clone();
                issue.start = page.start.clone();
                issue.last_day = page.last_day.clone();
                issue.post_count = page.posts.len();
                issue.posts = page.posts.clone();
                issue.updated = now;
                issue.sha256 = sha256;
            }
            None => issues.push(Issue {
                label: page.label.clone(),
                title: page.title.clone(),
                start: page.start.clone(),
                last_day: page.last_day.clone(),
                post_count: page.posts.len(),
                posts: page.posts.clone(),
                published: now,
                updated: now,
                sha256,
            }),
        }
        // Newest first; equal starts by label, so that the order never depends on the record's.
        issues.sort_by(|a, b| b.start.cmp(&a.start).then_with(|| b.label.cmp(&a.label)));

        // Every earlier page, from the record's copy (or the site's, when the copy is gone); an
        // issue with neither is left out of the index and the feed.
        let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        let mut kept = Vec::with_capacity(issues.len());
        for issue in issues {
            let Ok(file) = page_name(&issue.label) else {
                continue;
            };
            let bytes = if issue.label == page.label {
                page.html.clone().into_bytes()
            } else {
                match fs::read(self.record_dir.join(&file))
                    .or_else(|_| fs::read(self.dir.join(&file)))
                {
                    Ok(bytes) => bytes,
                    Err(_) => continue,
                }
            };
            files.push((self.record_dir.join(&file), bytes.clone()));
            files.push((self.dir.join(&file), bytes));
            kept.push(issue);
        }
        let index = renderer.render_index(&IndexData {
            site: context.site.clone(),
            issues: kept
                .iter()
                .filter_map(|i| {
                    Some(IssueData {
                        label: i.label.clone(),
                        title: i.title.clone(),
                        href: page_name(&i.label).ok()?,
                        start: i.start.clone(),
                        last_day: i.last_day.clone(),
                        post_count: i.post_count,
                    })
                })
                .collect(),
            feed_url: FEED.to_string(),
            subscribe_url: context.subscribe_url.map(String::from),
        })?;
        files.push((self.dir.join(INDEX), index.into_bytes()));
        files.push((self.dir.join(FEED), self.feed(&kept, context)?));
        let record = serde_json::to_string_pretty(&Record {
            version: VERSION,
            issues: kept,
        })
        .map_err(|e| ArchiveError::Record {
            path: self.record_dir.join(RECORD),
            message: e.to_string(),
        })?;
        files.push((self.record_dir.join(RECORD), (record + "\n").into_bytes()));
        let (written, unchanged) = commit(&[&self.dir, &self.record_dir], &files)?;
        Ok(Written {
            page: self.dir.join(name),
            written,
            unchanged,
        })
    }

    /// The Atom feed of `issues` (newest first): one entry per issue, linking to its page.
    fn feed(&self, issues: &[Issue], context: &Context<'_>) -> Result<Vec<u8>, ArchiveError> {
        let href = |file: &str| match &self.url {
            Some(base) => format!("{base}{file}"),
            None => file.to_string(),
        };
        let id = |file: &str| match &self.url {
            Some(base) => format!("{base}{file}"),
            None => format!("urn:gazette:{}:digest:{file}", context.host),
        };
        let link = |href: String, rel: &str, media_type: &str| Link {
            href,
            rel: rel.into(),
            mime_type: Some(media_type.into()),
            ..Link::default()
        };
        let entries: Vec<atom_syndication::Entry> = issues
            .iter()
            .filter_map(|issue| {
                let file = page_name(&issue.label).ok()?;
                Some(atom_syndication::Entry {
                    id: id(&file),
                    title: Text::plain(xml_safe(&issue.title)),
                    updated: issue.updated.fixed_offset(),
                    published: Some(issue.published.fixed_offset()),
                    links: vec![link(href(&file), "alternate", "text/html")],
                    summary: Some(Text::plain(xml_safe(&issue.posts.join(" · ")))),
                    ..atom_syndication::Entry::default()
                })
            })
            .collect();
        let updated = issues
            .iter()
            .map(|i| i.updated)
            .max()
            .unwrap_or_default()
            .fixed_offset();
        let zh = context
            .site
            .lang
            .as_deref()
            .is_some_and(|l| l.to_ascii_lowercase().starts_with("zh"));
        let title = format!(
            "{} · {}",
            context.site.title,
            if zh { "每周摘要" } else { "Weekly digest" }
        );
        let mut links = vec![link(href(INDEX), "alternate", "text/html")];
        if self.url.is_some() {
            links.insert(0, link(href(FEED), "self", "application/atom+xml"));
        }
        let feed = Feed {
            id: id(FEED),
            title: Text::plain(xml_safe(&title)),
            updated,
            links,
            generator: Some(Generator {
                value: "gazette".into(),
                ..Generator::default()
            }),
            lang: context.site.lang.clone(),
            entries,
            ..Feed::default()
        };
        let mut bytes = feed
            .write_to(Vec::new())
            .map_err(|e| ArchiveError::Feed(e.to_string()))?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

/// Writes `files` (each in one of `folders`, which are made when missing) all or nothing: each
/// changed file goes to a temporary file beside it, and only when all are written (and those
/// that replace a file are on disk) are they renamed into place. Returns the files written and
/// those left unchanged.
fn commit(
    folders: &[&Path],
    files: &[(PathBuf, Vec<u8>)],
) -> Result<(Vec<PathBuf>, Vec<PathBuf>), ArchiveError> {
    let mut undo = Undo::default();
    for folder in folders {
        if let Err(e) = undo.make_folder(folder) {
            undo.run();
            return Err(file_error(folder)(e));
        }
        remove_stale_temps(folder);
    }
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut replacing = Vec::new();
    let mut unchanged = Vec::new();
    for (target, bytes) in files {
        match stage(target, bytes) {
            Ok(Staged::Unchanged) => unchanged.push(target.clone()),
            Ok(Staged::Written { temp, replaces }) => {
                undo.temps.push(temp.clone());
                if replaces {
                    replacing.push((temp.clone(), target.clone()));
                }
                staged.push((temp, target.clone()));
            }
            Err(e) => {
                undo.run();
                return Err(e);
            }
        }
    }
    for (temp, target) in &replacing {
        if let Err(e) = atomic::sync(temp) {
            undo.run();
            return Err(file_error(target)(e));
        }
    }
    // Too late to take the others back when a rename fails; at least no temporary file stays
    // (the folders made stay).
    undo.folders.clear();
    rename_all(&staged, &mut undo).map_err(|(target, e)| file_error(&target)(e))?;
    let written = staged.into_iter().map(|(_, target)| target).collect();
    Ok((written, unchanged))
}

/// Compares `bytes` with the file at `target` and, when they differ, writes a temporary file
/// beside it.
fn stage(target: &Path, bytes: &[u8]) -> Result<Staged, ArchiveError> {
    atomic::stage(target, bytes).map_err(|e| match e {
        StageError::Link => refused(
            target,
            "a symbolic link stands where an archive file goes (gazette never writes through one)",
        ),
        StageError::Folder | StageError::NotAFile => refused(
            target,
            "something that is not a regular file stands where an archive file goes",
        ),
        StageError::Io(e) => file_error(target)(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> SiteData {
        SiteData {
            title: "小站 & <站>".into(),
            url: "https://news.example.org/".into(),
            description: None,
            lang: Some("zh-CN".into()),
        }
    }

    fn page(label: &str, start: &str, html: &str) -> Page {
        Page {
            label: label.into(),
            title: format!("小站 {label}"),
            start: format!("{start}T00:00:00+08:00"),
            last_day: format!("{start}T00:00:00+08:00"),
            posts: vec!["一".into(), "二".into()],
            html: html.into(),
        }
    }

    fn archive(root: &Path) -> Archive {
        Archive {
            dir: root.join("_site/digest"),
            url: Some("https://news.example.org/digest/".into()),
            record_dir: root.join(".gazette/archive"),
        }
    }

    #[test]
    fn labels_that_are_not_plain_cannot_name_a_page() {
        assert_eq!(page_name("2022-W02").unwrap(), "2022-W02.html");
        assert_eq!(
            page_name("2022-01-10..2022-01-16").unwrap(),
            "2022-01-10..2022-01-16.html"
        );
        for bad in ["", "..", "../x", "a/b", "a b", ".hidden"] {
            assert!(page_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn issues_accumulate_newest_first_and_a_rerun_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let archive = archive(dir.path());
        let renderer = Renderer::new(None, "s", chrono_tz::Asia::Shanghai).unwrap();
        let site = site();
        let context = Context {
            site: &site,
            subscribe_url: None,
            host: "news.example.org",
        };
        let t0 = Utc::now();
        archive
            .write(
                &page("2022-W01", "2022-01-03", "<p>one</p>"),
                &renderer,
                &context,
                t0,
            )
            .unwrap();
        let second = archive
            .write(
                &page("2022-W02", "2022-01-10", "<p>two</p>"),
                &renderer,
                &context,
                t0,
            )
            .unwrap();
        assert_eq!(second.page, archive.dir.join("2022-W02.html"));
        let index = fs::read_to_string(archive.dir.join(INDEX)).unwrap();
        let (w02, w01) = (
            index.find("2022-W02.html").unwrap(),
            index.find("2022-W01.html").unwrap(),
        );
        assert!(w02 < w01, "newest first: {index}");
        assert!(index.contains("小站 &amp; &lt;站&gt;"), "{index}");
        // Later, the same page again: nothing is written.
        let later = t0 + chrono::TimeDelta::days(3);
        let again = archive
            .write(
                &page("2022-W02", "2022-01-10", "<p>two</p>"),
                &renderer,
                &context,
                later,
            )
            .unwrap();
        assert!(again.written.is_empty(), "{again:?}");
        // A changed page is rewritten, with a later `updated`.
        let changed = archive
            .write(
                &page("2022-W02", "2022-01-10", "<p>2</p>"),
                &renderer,
                &context,
                later,
            )
            .unwrap();
        assert!(changed.written.contains(&archive.dir.join("2022-W02.html")));
        let feed = fs::read_to_string(archive.dir.join(FEED)).unwrap();
        assert!(
            feed.contains(&later.trunc_subsecs(0).fixed_offset().to_rfc3339()),
            "{feed}"
        );
        // The site's copy is written again from the record's after the site was emptied.
        fs::remove_dir_all(dir.path().join("_site")).unwrap();
        archive
            .write(
                &page("2022-W02", "2022-01-10", "<p>2</p>"),
                &renderer,
                &context,
                later,
            )
            .unwrap();
        assert_eq!(
            fs::read_to_string(archive.dir.join("2022-W01.html")).unwrap(),
            "<p>one</p>"
        );
    }

    #[test]
    fn a_failed_write_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let archive = archive(dir.path());
        let renderer = Renderer::new(None, "s", chrono_tz::UTC).unwrap();
        let site = site();
        let context = Context {
            site: &site,
            subscribe_url: None,
            host: "news.example.org",
        };
        let now = Utc::now();
        archive
            .write(
                &page("2022-W01", "2022-01-03", "one"),
                &renderer,
                &context,
                now,
            )
            .unwrap();
        let index = fs::read(archive.dir.join(INDEX)).unwrap();
        let record = fs::read(archive.record_dir.join(RECORD)).unwrap();
        // A folder where the feed goes: staging fails after the pages were staged.
        fs::remove_file(archive.dir.join(FEED)).unwrap();
        fs::create_dir(archive.dir.join(FEED)).unwrap();
        let e = archive
            .write(
                &page("2022-W02", "2022-01-10", "two"),
                &renderer,
                &context,
                now,
            )
            .unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        assert!(!archive.dir.join("2022-W02.html").exists());
        assert!(!archive.record_dir.join("2022-W02.html").exists());
        assert_eq!(fs::read(archive.dir.join(INDEX)).unwrap(), index);
        assert_eq!(fs::read(archive.record_dir.join(RECORD)).unwrap(), record);
        for folder in [&archive.dir, &archive.record_dir] {
            let temps: Vec<_> = fs::read_dir(folder)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".tmp"))
                .collect();
            assert!(temps.is_empty(), "{temps:?}");
        }
    }

    #[test]
    fn a_record_from_a_newer_gazette_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let archive = archive(dir.path());
        fs::create_dir_all(&archive.record_dir).unwrap();
        let newer = "{\"version\": 99, \"issues\": []}";
        fs::write(archive.record_dir.join(RECORD), newer).unwrap();
        let renderer = Renderer::new(None, "s", chrono_tz::UTC).unwrap();
        let site = site();
        let context = Context {
            site: &site,
            subscribe_url: None,
            host: "h",
        };
        let e = archive
            .write(
                &page("2022-W02", "2022-01-10", "x"),
                &renderer,
                &context,
                Utc::now(),
            )
            .unwrap_err();
        assert!(e.to_string().contains("newer gazette"), "{e}");
        assert_eq!(
            fs::read_to_string(archive.record_dir.join(RECORD)).unwrap(),
            newer
        );
        assert!(!archive.dir.exists());
    }
}
