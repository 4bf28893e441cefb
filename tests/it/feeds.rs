//! End-to-end tests of `gazette build`: the real binary writes feeds for sites in temporary
//! folders, and every feed is read back with the real parser `feed-rs` (and checked for XML
//! well-formedness with quick-xml) to compare it with what `gazette check --json` reports.
//!
//! It shares the site fixture and the runs of the binary with the other integration tests
//! (`tests/support/site.rs`); reading feeds back is its own.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use feed_rs::model::{Entry, Feed, FeedType, Text};
use quick_xml::events::Event;
use quick_xml::XmlVersion;
use regex::Regex;
use serde_json::Value;

use crate::support::site::{snapshot, Expect, Program, Run, Site};

const CRATE_DIR: &str = env!("CARGO_MANIFEST_DIR");
const OUT_OF_DATE: &str =
    "feeds/ is out of date: run `cargo run -- build --site example --out feeds`";

// ---------------------------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------------------------

/// `gazette ARGS`, where the machine's zone must not matter: every site below sets `timezone`.
fn gazette<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Program::gazette(args)
        .tz("America/New_York")
        .lossy()
        .expect(Expect::NoPanic)
        .run()
}

fn build(site: &Path, out: &Path) -> Run {
    gazette([
        OsStr::new("build"),
        OsStr::new("--site"),
        site.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
    ])
}

fn build_ok(site: &Path, out: &Path) -> Run {
    let run = build(site, out);
    assert!(run.ok(), "build failed: {run:#?}");
    run
}

/// A post as `gazette check --json` reports it.
#[derive(Debug, Clone)]
struct CheckPost {
    path: String,
    date: String,
    title: String,
    categories: Vec<String>,
    tags: Vec<String>,
    url: String,
}

impl CheckPost {
    fn utc(&self) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&self.date)
            .unwrap_or_else(|e| panic!("check date {}: {e}", self.date))
            .with_timezone(&Utc)
    }

    fn rfc2822(&self) -> String {
        DateTime::parse_from_rfc3339(&self.date)
            .unwrap()
            .to_rfc2822()
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The posts `gazette check --json` collects, in its order (newest first).
fn check_posts(site: &Path) -> Vec<CheckPost> {
    let run = gazette([
        OsStr::new("check"),
        OsStr::new("--site"),
        site.as_os_str(),
        OsStr::new("--json"),
    ]);
    assert!(run.ok(), "check failed: {run:#?}");
    run.stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .filter(|v| v["type"] == "post")
        .map(|v| CheckPost {
            path: v["path"].as_str().unwrap().to_string(),
            date: v["date"].as_str().unwrap().to_string(),
            title: v["title"].as_str().unwrap().to_string(),
            categories: strings(&v["categories"]),
            tags: strings(&v["tags"]),
            url: v["url"].as_str().unwrap().to_string(),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Sites in temporary folders
// ---------------------------------------------------------------------------------------------

/// A temporary folder holding `site/` (the Jekyll site) and, once built, `out/`.
fn feeds_site(config: &str) -> Site {
    Site::options()
        .prefix("gazette-feeds-")
        .inside_root()
        .out_beside()
        .tz("America/New_York")
        .lossy()
        .expect(Expect::NoPanic)
        .create(config)
}

trait Feeds {
    /// `gazette build --site SITE --out OUT`, expecting success.
    fn build_ok(&self) -> Run;
}

impl Feeds for Site {
    fn build_ok(&self) -> Run {
        build_ok(self.path(), &self.out())
    }
}

fn files(dir: &Path) -> BTreeSet<String> {
    snapshot(dir)
        .into_keys()
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .collect()
}

fn mtimes(dir: &Path) -> BTreeMap<PathBuf, SystemTime> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap().to_path_buf();
            (rel, e.metadata().unwrap().modified().unwrap())
        })
        .collect()
}

/// An mtime long past, so that any rewrite, however quick, shows.
const LONG_AGO: Duration = Duration::from_secs(1_000_000_000);

fn age_every_file(dir: &Path) {
    for entry in walkdir::WalkDir::new(dir) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let file = fs::File::options().write(true).open(entry.path()).unwrap();
            file.set_modified(SystemTime::UNIX_EPOCH + LONG_AGO)
                .unwrap();
        }
    }
}

/// The files whose mtime is no longer [`LONG_AGO`].
fn touched(dir: &Path) -> BTreeSet<String> {
    mtimes(dir)
        .into_iter()
        .filter(|(_, t)| *t != SystemTime::UNIX_EPOCH + LONG_AGO)
        .map(|(p, _)| p.to_string_lossy().replace('\\', "/"))
        .collect()
}

fn is_feed(rel: &str) -> bool {
    rel.ends_with(".rss.xml") || rel.ends_with(".atom.xml") || rel.ends_with(".json")
}

// ---------------------------------------------------------------------------------------------
// Reading feeds back
// ---------------------------------------------------------------------------------------------

/// Checks that `bytes` is a well-formed XML document: UTF-8, no character XML forbids, tags
/// balanced, one root, nothing but white space outside it, valid references and attributes.
fn assert_well_formed(bytes: &[u8], what: &str) {
    let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{what}: not UTF-8: {e}"));
    if let Some(c) = text.chars().find(|&c| {
        matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
    }) {
        panic!("{what}: holds the character U+{:04X}, which XML forbids", c as u32);
    }
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let decoder = reader.decoder();
    let mut stack: Vec<Vec<u8>> = Vec::new();
    let mut roots = 0;
    let mut first = true;
    loop {
        let position = reader.buffer_position();
        let event = reader
            .read_event()
            .unwrap_or_else(|e| panic!("{what}: not well-formed XML at byte {position}: {e}"));
        let is_decl = matches!(event, Event::Decl(_));
        assert!(
            first || !is_decl,
            "{what}: an XML declaration after the start"
        );
        first = false;
        match event {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) if stack.is_empty() && roots > 0 => {
                panic!(
                    "{what}: a second root element <{}>",
                    String::from_utf8_lossy(e.name().as_ref())
                )
            }
            Event::Start(e) => {
                for a in e.attributes() {
                    let a = a.unwrap_or_else(|err| panic!("{what}: bad attribute: {err}"));
                    a.decoded_and_normalized_value(XmlVersion::Explicit1_0, decoder)
                        .unwrap_or_else(|err| panic!("{what}: bad attribute value: {err}"));
                }
                if stack.is_empty() {
                    roots += 1;
                }
                stack.push(e.name().as_ref().to_vec());
            }
            Event::Empty(e) => {
                for a in e.attributes() {
                    let a = a.unwrap_or_else(|err| panic!("{what}: bad attribute: {err}"));
                    a.decoded_and_normalized_value(XmlVersion::Explicit1_0, decoder)
                        .unwrap_or_else(|err| panic!("{what}: bad attribute value: {err}"));
                }
                if stack.is_empty() {
                    roots += 1;
                }
            }
            Event::End(e) => {
                let open = stack
                    .pop()
                    .unwrap_or_else(|| panic!("{what}: an end tag with no start"));
                assert_eq!(open, e.name().as_ref(), "{what}: mismatched end tag");
            }
            Event::Text(t) => {
                let raw = std::str::from_utf8(t.as_ref()).unwrap();
                assert!(!raw.contains("]]>"), "{what}: `]]>` in text");
                if stack.is_empty() {
                    assert!(
                        raw.trim().is_empty(),
                        "{what}: text outside the root element: {raw:?}"
                    );
                }
            }
            Event::GeneralRef(r) => {
                assert!(
                    !stack.is_empty(),
                    "{what}: a reference outside the root element"
                );
                if r.is_char_ref() {
                    let c = r
                        .resolve_char_ref()
                        .unwrap_or_else(|e| panic!("{what}: bad character reference: {e}"));
                    assert!(c.is_some(), "{what}: bad character reference");
                } else {
                    let name = std::str::from_utf8(r.as_ref()).unwrap();
                    assert!(
                        ["amp", "lt", "gt", "quot", "apos"].contains(&name),
                        "{what}: undeclared entity &{name};"
                    );
                }
            }
            Event::CData(_) => assert!(!stack.is_empty(), "{what}: CDATA outside the root"),
            Event::PI(_) | Event::Comment(_) | Event::Decl(_) => {}
            Event::DocType(_) => panic!("{what}: a DOCTYPE in a feed"),
        }
    }
    assert!(stack.is_empty(), "{what}: unclosed elements {stack:?}");
    assert_eq!(roots, 1, "{what}: no root element");
}

/// Reads a feed file with feed-rs (XML ones are checked for well-formedness first).
fn parse_bytes(bytes: &[u8], what: &str) -> Feed {
    if !what.ends_with(".json") {
        assert_well_formed(bytes, what);
    }
    feed_rs::parser::parse(bytes).unwrap_or_else(|e| panic!("feed-rs cannot read {what}: {e}"))
}

fn parse_file(path: &Path) -> Feed {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_bytes(&bytes, &path.display().to_string())
}

/// The text a reader shows for a title: an Atom `type="html"` one is HTML, decoded here.
fn text_of(text: &Text) -> String {
    if text.content_type.to_string() == "text/html" {
        html_text(&text.content)
    } else {
        text.content.clone()
    }
}

fn title(entry: &Entry) -> String {
    entry.title.as_ref().map(text_of).unwrap_or_default()
}

fn feed_title(feed: &Feed) -> String {
    feed.title.as_ref().map(text_of).unwrap_or_default()
}

fn titles(feed: &Feed) -> Vec<String> {
    feed.entries.iter().map(title).collect()
}

fn content(entry: &Entry) -> String {
    entry
        .content
        .as_ref()
        .and_then(|c| c.body.clone())
        .unwrap_or_default()
}

fn entry_link(entry: &Entry) -> String {
    entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .map(|l| l.href.clone())
        .unwrap_or_else(|| panic!("entry {} has no link", entry.id))
}

fn link_with_rel(feed: &Feed, rel: &str) -> Option<String> {
    feed.links
        .iter()
        .find(|l| l.rel.as_deref() == Some(rel))
        .map(|l| l.href.clone())
}

/// Every match of the first group of `pattern` in `text`.
fn all(pattern: &str, text: &str) -> Vec<String> {
    Regex::new(pattern)
        .unwrap()
        .captures_iter(text)
        .map(|c| c[1].to_string())
        .collect()
}

/// The raw XML of each `<item>` (RSS) or `<entry>` (Atom).
fn chunks(xml: &str, element: &str) -> Vec<String> {
    all(&format!(r"(?s)(<{element}>.*?</{element}>)"), xml)
}

/// The text of an HTML fragment: tags dropped, the predefined entities decoded.
fn html_text(html: &str) -> String {
    let text = Regex::new(r"<[^>]*>").unwrap().replace_all(html, "");
    Regex::new(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);")
        .unwrap()
        .replace_all(&text, |c: &regex::Captures<'_>| {
            let name = &c[1];
            let decoded = if let Some(hex) = name.strip_prefix("#x").or(name.strip_prefix("#X")) {
                u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
            } else if let Some(decimal) = name.strip_prefix('#') {
                decimal.parse().ok().and_then(char::from_u32)
            } else {
                match name {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    "nbsp" => Some('\u{a0}'),
                    _ => None,
                }
            };
            decoded.map_or_else(|| c[0].to_string(), String::from)
        })
        .into_owned()
}

/// Every URL in `href`, `src` and `srcset` attributes of an HTML fragment.
fn html_urls(html: &str) -> Vec<String> {
    let mut urls = all(r#"\s(?:href|src|poster)="([^"]*)""#, html);
    for srcset in all(r#"\ssrcset="([^"]*)""#, html) {
        for candidate in srcset.split(',') {
            urls.push(
                candidate
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_string(),
            );
        }
    }
    urls
}

/// A post file with front matter.
fn post(front: &str, body: &str) -> String {
    format!("---\n{front}---\n{body}")
}

// ---------------------------------------------------------------------------------------------
// 1. The bundled example, read back against `check --json`
// ---------------------------------------------------------------------------------------------

fn example() -> PathBuf {
    Path::new(CRATE_DIR).join("example")
}

/// What a feed covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Scope {
    Site,
    Category(String),
    Tag(String),
}

#[test]
fn example_feeds_hold_what_check_reports_in_order() {
    let config: serde_yaml::Value =
        serde_yaml::from_str(&fs::read_to_string(example().join("_config.yml")).unwrap()).unwrap();
    let site_title = config["title"].as_str().unwrap().to_string();
    let site_url = config["url"]
        .as_str()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let baseurl = config["baseurl"]
        .as_str()
        .unwrap_or("")
        .trim_matches('/')
        .to_string();
    let g = &config["gazette"];
    let names = |key: &str| -> BTreeMap<String, String> {
        g[key]
            .as_mapping()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().unwrap().to_string(),
                            v.as_str().unwrap().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let category_names = names("category_names");
    let tag_names = names("tag_names");
    let limit = g["items"].as_u64().unwrap_or(20) as usize;
    let tag_feeds = g["tag_feeds"].as_bool().unwrap_or(false);
    let feed_base = if baseurl.is_empty() {
        format!("{site_url}/feeds/")
    } else {
        format!("{site_url}/{baseurl}/feeds/")
    };

    let posts = check_posts(&example());
    assert!(!posts.is_empty());
    assert!(
        posts.iter().all(|p| p.date.ends_with("+08:00")),
        "{posts:#?}"
    );
    // Newest first, as feeds want them.
    assert!(posts.windows(2).all(|w| w[0].utc() >= w[1].utc()));

    let mut expected: BTreeMap<Scope, Vec<&CheckPost>> = BTreeMap::new();
    expected.insert(Scope::Site, posts.iter().take(limit).collect());
    for p in &posts {
        for c in &p.categories {
            let list = expected.entry(Scope::Category(c.clone())).or_default();
            if list.len() < limit {
                list.push(p);
            }
        }
        if tag_feeds {
            for t in &p.tags {
                let list = expected.entry(Scope::Tag(t.clone())).or_default();
                if list.len() < limit {
                    list.push(p);
                }
            }
        }
    }

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("feeds");
    let run = build_ok(&example(), &out);
    assert!(
        run.stdout.contains(&format!(
            "{} feeds from {} posts",
            expected.len(),
            posts.len()
        )),
        "{}",
        run.stdout
    );

    let written = files(&out);
    let feed_files: Vec<&String> = written
        .iter()
        .filter(|f| f.ends_with(".rss.xml") || f.ends_with(".atom.xml"))
        .collect();
    assert_eq!(feed_files.len(), expected.len() * 2, "{written:#?}");
    let slug = Regex::new(r"^(feed|(categories|tags)/[a-z0-9][a-z0-9_-]{0,79})\.(rss|atom)\.xml$")
        .unwrap();
    let mut seen: BTreeSet<(Scope, &str)> = BTreeSet::new();
    let prefix = format!("{site_title} — ");

    for rel in feed_files {
        let path = out.join(rel);
        let bytes = fs::read(&path).unwrap();
        let raw = String::from_utf8(bytes.clone()).unwrap();
        let feed = parse_bytes(&bytes, rel);
        assert!(slug.is_match(rel), "unexpected feed file name {rel}");
        let format = if rel.ends_with(".rss.xml") {
            "rss"
        } else {
            "atom"
        };
        assert_eq!(
            feed.feed_type,
            if format == "rss" {
                FeedType::RSS2
            } else {
                FeedType::Atom
            },
            "{rel}"
        );

        // Which category or tag the feed is for, from its title.
        let shown = feed_title(&feed);
        let scope = if rel.starts_with("feed.") {
            assert_eq!(shown, site_title, "{rel}");
            Scope::Site
        } else {
            let display = shown
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("{rel}: title {shown:?} does not start with {prefix:?}"));
            type Maker = fn(String) -> Scope;
            let (table, make): (&BTreeMap<String, String>, Maker) =
                if rel.starts_with("categories/") {
                    (&category_names, Scope::Category)
                } else {
                    (&tag_names, Scope::Tag)
                };
            let name = table
                .iter()
                .find(|(_, v)| *v == display)
                .map_or(display.to_string(), |(k, _)| k.clone());
            make(name)
        };
        assert!(
            seen.insert((scope.clone(), format)),
            "{rel}: a second {format} feed for {scope:?}"
        );
        let want = expected
            .get(&scope)
            .unwrap_or_else(|| panic!("{rel}: a feed for {scope:?}, which no post has"));

        // Items: titles, links, ids, dates, terms, in order.
        assert_eq!(
            titles(&feed),
            want.iter().map(|p| p.title.clone()).collect::<Vec<_>>(),
            "{rel}: titles and order"
        );
        for (entry, p) in feed.entries.iter().zip(want.iter()) {
            assert_eq!(entry_link(entry), p.url, "{rel}: link of {}", p.path);
            assert_eq!(entry.id, p.url, "{rel}: id of {}", p.path);
            assert_eq!(
                entry.published,
                Some(p.utc()),
                "{rel}: published of {}",
                p.path
            );
            let terms: Vec<String> = entry.categories.iter().map(|c| c.term.clone()).collect();
            let want_terms: Vec<String> = p.categories.iter().chain(&p.tags).cloned().collect();
            assert_eq!(terms, want_terms, "{rel}: terms of {}", p.path);
            assert!(!entry.authors.is_empty(), "{rel}: {} has no author", p.path);
        }

        // The feed's own address.
        let self_url = format!("{feed_base}{rel}");
        assert_eq!(
            link_with_rel(&feed, "self").as_deref(),
            Some(self_url.as_str()),
            "{rel}"
        );

        // Dates as written: the posts' own offset kept.
        if format == "rss" {
            let pub_dates = all(r"<pubDate>([^<]*)</pubDate>", &raw);
            assert_eq!(
                pub_dates,
                want.iter().map(|p| p.rfc2822()).collect::<Vec<_>>(),
                "{rel}: pubDate text"
            );
            assert!(
                pub_dates.iter().all(|d| d.ends_with(" +0800")),
                "{rel}: {pub_dates:?}"
            );
            assert_eq!(
                all(r"<lastBuildDate>([^<]*)</lastBuildDate>", &raw),
                [want[0].rfc2822()],
                "{rel}"
            );
            assert_eq!(
                all(r#"<guid isPermaLink="true">([^<]*)</guid>"#, &raw),
                want.iter().map(|p| p.url.clone()).collect::<Vec<_>>(),
                "{rel}: guids"
            );
        } else {
            let published = all(r"<published>([^<]*)</published>", &raw);
            assert_eq!(
                published,
                want.iter().map(|p| p.date.clone()).collect::<Vec<_>>(),
                "{rel}: published text"
            );
            let updated = all(r"<updated>([^<]*)</updated>", &raw);
            assert_eq!(updated.len(), want.len() + 1, "{rel}");
            assert!(
                updated.iter().all(|d| d.ends_with("+08:00")),
                "{rel}: {updated:?}"
            );
            let newest = want
                .iter()
                .map(|p| p.date.clone())
                .max_by_key(|d| DateTime::parse_from_rfc3339(d).unwrap());
            assert_eq!(
                Some(&updated[0]),
                newest.as_ref(),
                "{rel}: the feed's updated"
            );
        }
    }

    for scope in expected.keys() {
        for format in ["rss", "atom"] {
            assert!(
                seen.contains(&(scope.clone(), format)),
                "no {format} feed for {scope:?}"
            );
        }
    }
    // A readable slug for a Chinese tag.
    if tag_feeds && expected.contains_key(&Scope::Tag("中国劳动保障报新闻".into())) {
        assert!(written.contains("tags/zhong-guo-lao-dong-bao-zhang-bao-xin-wen.rss.xml"));
    }
    // Drafts and unpublished posts of the example appear nowhere.
    for (rel, bytes) in snapshot(&out) {
        let text = String::from_utf8(bytes).unwrap();
        for absent in [
            "Preview: The Upcoming Rate Decision",
            "（待审稿件）",
            "upcoming-rate-decision",
            "weifabu-gaojian",
        ] {
            assert!(!text.contains(absent), "{}: holds {absent}", rel.display());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 2. The committed feeds/ folder is what the example builds to
// ---------------------------------------------------------------------------------------------

#[test]
fn committed_feeds_folder_is_up_to_date() {
    let committed = Path::new(CRATE_DIR).join("feeds");
    let tmp = tempfile::tempdir().unwrap();
    let fresh = tmp.path().join("feeds");
    build_ok(&example(), &fresh);
    let want = snapshot(&fresh);
    let have = if committed.is_dir() {
        snapshot(&committed)
    } else {
        BTreeMap::new()
    };
    if have != want {
        let names = |m: &BTreeMap<PathBuf, Vec<u8>>| m.keys().cloned().collect::<BTreeSet<_>>();
        for missing in names(&want).difference(&names(&have)) {
            eprintln!("missing from feeds/: {}", missing.display());
        }
        for extra in names(&have).difference(&names(&want)) {
            eprintln!("not written by a fresh build: {}", extra.display());
        }
        for (path, bytes) in &want {
            if have.get(path).is_some_and(|b| b != bytes) {
                eprintln!("differs: {}", path.display());
            }
        }
        panic!("{OUT_OF_DATE}");
    }
    assert!(have.contains_key(Path::new(".gazette-files")));
}

// ---------------------------------------------------------------------------------------------
// 3. Determinism and minimal rewrites
// ---------------------------------------------------------------------------------------------

const UTC_SITE: &str =
    "title: Det\nurl: https://example.org\ntimezone: UTC\ngazette:\n  tag_feeds: true\n";

fn determinism_site() -> Site {
    let site = feeds_site(UTC_SITE);
    site.write(
        "_posts/2022-03-01-one.md",
        post(
            "title: One\ncategories: [alpha]\ntags: [t1]\n",
            "First *post*.\n",
        ),
    );
    site.write(
        "_posts/2022-03-02-two.md",
        post(
            "title: Two\ncategories: [beta]\ntags: [t2]\n",
            "Second post.\n",
        ),
    );
    site.write(
        "_posts/2022-03-03-three.md",
        post(
            "title: Three\ncategories: [beta, gamma]\ntags: [t2, t3]\n",
            "Third post.\n",
        ),
    );
    site
}

#[test]
fn builds_are_deterministic_and_rewrite_only_what_changed() {
    let site = determinism_site();
    let first = site.build_ok();
    assert!(
        first
            .stdout
            .contains("18 files written, 0 unchanged, 0 removed"),
        "{}",
        first.stdout
    );
    let other = site.root().join("other");
    build_ok(site.path(), &other);
    let before = snapshot(&site.out());
    assert_eq!(before, snapshot(&other), "two builds differ");

    // A rebuild with nothing changed writes nothing.
    age_every_file(&site.out());
    let again = site.build_ok();
    assert!(
        again
            .stdout
            .contains("0 files written, 18 unchanged, 0 removed"),
        "{}",
        again.stdout
    );
    assert_eq!(touched(&site.out()), BTreeSet::new());
    assert_eq!(snapshot(&site.out()), before);

    // Changing the body of one post rewrites exactly the feeds that hold it.
    site.write(
        "_posts/2022-03-01-one.md",
        post(
            "title: One\ncategories: [alpha]\ntags: [t1]\n",
            "First *post*, edited.\n",
        ),
    );
    let changed = site.build_ok();
    assert!(
        changed
            .stdout
            .contains("6 files written, 12 unchanged, 0 removed"),
        "{}",
        changed.stdout
    );
    let want: BTreeSet<String> = [
        "feed.rss.xml",
        "feed.atom.xml",
        "categories/alpha.rss.xml",
        "categories/alpha.atom.xml",
        "tags/t1.rss.xml",
        "tags/t1.atom.xml",
    ]
    .map(String::from)
    .into();
    assert_eq!(touched(&site.out()), want);
    let after = snapshot(&site.out());
    for (path, bytes) in &before {
        let rel = path.to_string_lossy().replace('\\', "/");
        assert_eq!(after[path] != *bytes, want.contains(&rel), "{rel}");
    }
    let feed = parse_file(&site.out().join("categories/alpha.atom.xml"));
    assert!(content(&feed.entries[0]).contains("First <em>post</em>, edited."));
}

#[test]
fn feeds_of_gone_categories_are_removed_and_nothing_else() {
    let site = determinism_site();
    site.build_ok();
    fs::write(site.out().join("mine.txt"), "not gazette's").unwrap();
    let outside = site.root().join("victim.txt");
    fs::write(&outside, "outside").unwrap();
    // A tampered manifest naming files outside the folder must not make gazette delete them.
    let manifest = site.out().join(".gazette-files");
    let mut listed = fs::read_to_string(&manifest).unwrap();
    listed.push_str("../victim.txt\n");
    listed.push_str(&format!("{}\n", outside.display()));
    fs::write(&manifest, listed).unwrap();

    fs::remove_file(site.path().join("_posts/2022-03-01-one.md")).unwrap();
    let run = site.build_ok();
    assert!(run.stdout.contains("4 removed"), "{}", run.stdout);
    let left = files(&site.out());
    for gone in [
        "categories/alpha.rss.xml",
        "categories/alpha.atom.xml",
        "tags/t1.rss.xml",
        "tags/t1.atom.xml",
    ] {
        assert!(!left.contains(gone), "{gone} is still there");
    }
    assert!(left.contains("mine.txt"));
    assert_eq!(fs::read_to_string(&outside).unwrap(), "outside");
    let manifest = fs::read_to_string(site.out().join(".gazette-files")).unwrap();
    let listed: BTreeSet<String> = manifest.lines().map(String::from).collect();
    let mut want = left.clone();
    want.remove("mine.txt");
    want.remove(".gazette-files");
    assert_eq!(listed, want);
}

// ---------------------------------------------------------------------------------------------
// 4. A failed build changes nothing
// ---------------------------------------------------------------------------------------------

#[test]
fn a_failed_build_leaves_every_feed_as_it_was() {
    let site = determinism_site();
    site.build_ok();
    age_every_file(&site.out());
    let before = snapshot(&site.out());

    let bad = site.write(
        "_posts/2022-03-04-bad.md",
        "---\ntitle: Bad\ntags: [a, b\n---\nbody\n",
    );
    // A valid change too, which must not be written either.
    site.write(
        "_posts/2022-03-02-two.md",
        post("title: Two, changed\ncategories: [beta]\n", "Changed.\n"),
    );
    // `--strict`: one unreadable post fails the whole build (without it, the post is left out
    // and the others are written, as `every_post_jekyll_publishes_is_in_the_feeds` checks).
    let run = gazette([
        OsStr::new("build"),
        OsStr::new("--strict"),
        OsStr::new("--site"),
        site.path().as_os_str(),
        OsStr::new("--out"),
        site.out().as_os_str(),
    ]);
    assert_eq!(run.code, Some(1), "{run:#?}");
    let place = format!("{}:4:1: error: invalid YAML", bad.display());
    assert!(
        run.stderr.contains(&place),
        "wanted {place:?} in:\n{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("build failed with 1 errors; no feed was written or changed"),
        "{}",
        run.stderr
    );
    assert_eq!(snapshot(&site.out()), before);
    assert_eq!(touched(&site.out()), BTreeSet::new());
}

#[test]
fn a_failure_while_writing_leaves_every_feed_as_it_was() {
    let site = determinism_site();
    site.build_ok();
    // A folder where one feed goes: writing fails after other feeds were staged.
    fs::remove_file(site.out().join("tags/t3.atom.xml")).unwrap();
    fs::create_dir(site.out().join("tags/t3.atom.xml")).unwrap();
    age_every_file(&site.out());
    let before = snapshot(&site.out());
    site.write(
        "_posts/2022-03-03-three.md",
        post(
            "title: Three, changed\ncategories: [beta, gamma]\ntags: [t2, t3]\n",
            "Changed.\n",
        ),
    );
    let run = build(site.path(), &site.out());
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.stderr.contains("a folder stands where the feed goes"),
        "{}",
        run.stderr
    );
    assert_eq!(snapshot(&site.out()), before);
    assert_eq!(touched(&site.out()), BTreeSet::new());
    let leftovers: Vec<_> = walkdir::WalkDir::new(site.out())
        .into_iter()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn an_output_folder_that_is_a_file_fails_cleanly() {
    let site = determinism_site();
    fs::write(site.out(), "I am a file").unwrap();
    let run = build(site.path(), &site.out());
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.stderr.contains("the output folder is a file"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&site.out().display().to_string()),
        "{}",
        run.stderr
    );
    assert_eq!(fs::read_to_string(site.out()).unwrap(), "I am a file");
    let entries: BTreeSet<String> = fs::read_dir(site.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, ["out", "site"].map(String::from).into());
}

#[test]
fn an_output_folder_that_is_a_file_is_reported_once() {
    let site = determinism_site();
    fs::write(site.out(), "I am a file").unwrap();
    let run = build(site.path(), &site.out());
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stderr.matches("the output folder is a file").count(),
        1,
        "{}",
        run.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Content safety
// ---------------------------------------------------------------------------------------------

const NASTY_TITLE: &str = "title: \"<b>Bold</b> & <i>x</i> < y\\u0001z\\u000bw\"\n";
/// What the title above reads as: tags stripped, `&` and `<` kept as text, forbidden characters
/// dropped (U+000B is white space).
const NASTY_TITLE_TEXT: &str = "Bold & x < yz w";

#[test]
fn content_is_made_safe_and_every_feed_still_parses() {
    let site = feeds_site(
        "title: Safe\nurl: https://example.org\ntimezone: UTC\ngazette:\n  json_feed: true\n",
    );
    let body = "<p>Body ]]> end \u{1}ctl\u{b}.</p>\n\
<p><a href=\"images/x.png\">rel</a> <a href=\"/x\">root</a> <img src=\"//cdn.example/p.png\" srcset=\"a.png 1x, /b.png 2x, //c.example/c.png 3x\"></p>\n\
<script>alert(\"boom\")</script>\n\
\n\
Markdown [link](sub/page.html) and ![img](images/y.png).\n";
    site.write(
        "_posts/2022-01-02-safe.md",
        post(
            &format!("{NASTY_TITLE}date: 2022-01-02 10:00:00 +0800\ncategories: [news]\n"),
            body,
        ),
    );
    site.build_ok();

    let base = "https://example.org/news/2022/01/02/";
    for rel in [
        "feed.rss.xml",
        "feed.atom.xml",
        "feed.json",
        "categories/news.rss.xml",
        "categories/news.atom.xml",
        "categories/news.json",
    ] {
        let feed = parse_file(&site.out().join(rel));
        assert_eq!(feed.entries.len(), 1, "{rel}");
        let entry = &feed.entries[0];
        assert_eq!(title(entry), NASTY_TITLE_TEXT, "{rel}");
        let html = content(entry);
        assert!(
            html_text(&html).contains("Body ]]> end ctl."),
            "{rel}: {html}"
        );
        for url in [
            format!("href=\"{base}images/x.png\""),
            "href=\"https://example.org/x\"".to_string(),
            "src=\"https://cdn.example/p.png\"".to_string(),
            format!("srcset=\"{base}a.png 1x, https://example.org/b.png 2x, https://c.example/c.png 3x\""),
            format!("href=\"{base}sub/page.html\""),
            format!("src=\"{base}images/y.png\""),
        ] {
            assert!(html.contains(&url), "{rel}: no {url} in {html}");
        }
        let urls = html_urls(&html);
        assert_eq!(urls.len(), 8, "{rel}: {urls:?}");
        assert!(
            urls.iter().all(|u| u.starts_with("https://")),
            "{rel}: {urls:?}"
        );
        assert!(
            !html.contains("<script") && !html.contains("boom"),
            "{rel}: {html}"
        );
        assert!(!html.contains('\u{1}') && !html.contains('\u{b}'), "{rel}");
        if let Some(summary) = &entry.summary {
            assert!(!summary.content.contains('\u{1}'), "{rel}");
        }
    }
    // As written: the item's title element holds the text escaped once (however spelled).
    let rss = site.read_out("feed.rss.xml");
    let raw = all(r"<item><title>([^<]*)</title>", &rss);
    assert_eq!(raw.len(), 1, "{rss}");
    assert_eq!(html_text(&raw[0]), NASTY_TITLE_TEXT, "{rss}");
}

#[test]
fn protocol_relative_urls_take_the_sites_scheme() {
    let site = feeds_site("title: Plain\nurl: http://plain.example\ntimezone: UTC\n");
    site.write(
        "_posts/2022-01-02-p.md",
        post(
            "title: P\n",
            "<p><img src=\"//cdn.example/p.png\"> <a href=\"/a\">a</a></p>\n",
        ),
    );
    site.build_ok();
    for rel in ["feed.rss.xml", "feed.atom.xml"] {
        let html = content(&parse_file(&site.out().join(rel)).entries[0]);
        assert_eq!(
            html_urls(&html),
            ["http://cdn.example/p.png", "http://plain.example/a"],
            "{rel}"
        );
    }
}

#[test]
fn javascript_urls_hidden_by_white_space_are_removed() {
    let site = feeds_site("title: S\nurl: https://example.org\ntimezone: UTC\n");
    site.write(
        "_posts/2022-01-02-js.html",
        post(
            "title: JS\n",
            "<p><a href=\"java\tscript:alert(1)\">t</a> <a href=\"java&#x09;script:alert(2)\">e</a> <a href=\"java\nscript:alert(3)\">n</a></p>\n",
        ),
    );
    site.build_ok();
    for rel in ["feed.rss.xml", "feed.atom.xml"] {
        let html = content(&parse_file(&site.out().join(rel)).entries[0]);
        assert!(
            !html.to_ascii_lowercase().contains("javascript:"),
            "{rel}: {html}"
        );
        assert_eq!(html_text(&html).trim(), "t e n", "{rel}");
        assert!(!html.contains("alert"), "{rel}: {html}");
    }
}

#[test]
fn a_control_character_between_words_leaves_one_space() {
    let site = feeds_site("title: S\nurl: https://example.org\ntimezone: UTC\n");
    site.write(
        "_posts/2022-01-02-c.md",
        post("title: \"a \\u0001 b\"\n", "x\n"),
    );
    site.build_ok();
    for rel in ["feed.rss.xml", "feed.atom.xml"] {
        assert_eq!(titles(&parse_file(&site.out().join(rel))), ["a b"], "{rel}");
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Category names that could be paths
// ---------------------------------------------------------------------------------------------

#[test]
fn category_names_never_lead_outside_the_output_folder() {
    let long = "x".repeat(300);
    let site = feeds_site(
        "title: Cats\nurl: https://example.org\ntimezone: UTC\ngazette:\n  slugs:\n    a/b: custom-ab\n    \"!!!\": ../evil\n",
    );
    let names = [
        "../../etc",
        "/",
        "a/b",
        long.as_str(),
        "!!!",
        "中国劳动保障报新闻",
        "News",
        "news",
    ];
    let list = names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    site.write(
        "_posts/2022-01-02-a.md",
        post(&format!("title: A\ncategories: [{list}]\n"), "hello\n"),
    );
    let run = site.build_ok();
    assert!(
        run.stdout.contains("9 feeds from 1 posts"),
        "{}",
        run.stdout
    );

    // Everything written is inside the output folder, and nothing else appeared anywhere.
    let out = site.out().canonicalize().unwrap();
    for entry in walkdir::WalkDir::new(&out).follow_links(false) {
        let entry = entry.unwrap();
        let real = entry.path().canonicalize().unwrap();
        assert!(
            real.starts_with(&out),
            "{} is outside {}",
            real.display(),
            out.display()
        );
    }
    let top: BTreeSet<String> = fs::read_dir(site.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(top, ["out", "site"].map(String::from).into());
    // The site folder holds its posts and gazette's caches of them, nothing else.
    assert_eq!(
        files(site.path()),
        [
            ".gazette/build.state",
            ".gazette/entries.cache",
            ".gazette/entries.records",
            ".gazette/posts.cache",
            ".gazette/posts.records",
            "_config.yml",
            "_posts/2022-01-02-a.md"
        ]
        .map(String::from)
        .into()
    );

    // Which file each category got, read from the feeds' titles.
    let mut stems: BTreeMap<String, String> = BTreeMap::new();
    for rel in files(&site.out()) {
        let Some(stem) = rel.strip_suffix(".rss.xml") else {
            continue;
        };
        let feed = parse_file(&site.out().join(&rel));
        let atom = parse_file(&site.out().join(format!("{stem}.atom.xml")));
        assert_eq!(feed_title(&feed), feed_title(&atom));
        assert_eq!(titles(&feed), ["A"]);
        let shown = feed_title(&feed);
        let name = shown.strip_prefix("Cats — ").unwrap_or(&shown).to_string();
        assert!(stems.insert(name, stem.to_string()).is_none());
    }
    let hashed = Regex::new(r"^categories/category-[0-9a-f]{8}$").unwrap();
    assert_eq!(stems.len(), 9, "{stems:#?}");
    assert_eq!(stems["Cats"], "feed");
    assert_eq!(stems["../../etc"], "categories/etc");
    assert!(hashed.is_match(&stems["/"]), "{}", stems["/"]);
    assert_eq!(stems["a/b"], "categories/custom-ab");
    assert_eq!(stems[&long], format!("categories/{}", "x".repeat(80)));
    // An unsafe explicit slug is not used.
    assert!(hashed.is_match(&stems["!!!"]), "{}", stems["!!!"]);
    assert_ne!(stems["!!!"], stems["/"]);
    assert_eq!(
        stems["中国劳动保障报新闻"],
        "categories/zhong-guo-lao-dong-bao-zhang-bao-xin-wen"
    );
    assert_eq!(stems["News"], "categories/news");
    assert_eq!(stems["news"], "categories/news-2");

    // The names are stable from build to build.
    let again = site.root().join("again");
    build_ok(site.path(), &again);
    assert_eq!(files(&again), files(&site.out()));
}

// ---------------------------------------------------------------------------------------------
// 7. guid, id, dates and authors
// ---------------------------------------------------------------------------------------------

#[test]
fn guids_ids_updated_and_authors() {
    let site = feeds_site(
        "title: Guid\nurl: https://example.org\ntimezone: Asia/Shanghai\nauthor:\n  name: Site Ed\n  email: ed@example.org\n",
    );
    site.write(
        "_posts/2022-01-02-a.md",
        post(
            "title: A\ndate: 2022-01-02 08:00:00 +0800\nid: urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66\nlast_modified_at: 2022-02-01 12:00:00 +0800\nauthor: Jane Doe\n",
            "a\n",
        ),
    );
    site.write(
        "_posts/2022-01-03-b.md",
        post("title: B\ndate: 2022-01-03 09:00:00 +0800\n", "b\n"),
    );
    site.write(
        "_posts/2022-01-04-c.md",
        post("title: C\ndate: 2022-01-04 10:00:00 +0800\nauthor:\n  name: Bob\n  email: bob@example.org\n", "c\n"),
    );
    site.build_ok();
    let url = |slug: &str, day: u32| format!("https://example.org/2022/01/{day:02}/{slug}.html");

    let rss = site.read_out("feed.rss.xml");
    let items = chunks(&rss, "item");
    assert_eq!(items.len(), 3, "{rss}");
    let (c, b, a) = (&items[0], &items[1], &items[2]);
    assert!(
        c.contains(&format!(
            "<guid isPermaLink=\"true\">{}</guid>",
            url("c", 4)
        )),
        "{c}"
    );
    assert!(c.contains("<author>bob@example.org (Bob)</author>"), "{c}");
    assert!(
        b.contains(&format!(
            "<guid isPermaLink=\"true\">{}</guid>",
            url("b", 3)
        )),
        "{b}"
    );
    assert!(
        b.contains("<author>ed@example.org (Site Ed)</author>"),
        "{b}"
    );
    assert!(!b.contains("<dc:creator>"), "{b}");
    assert!(
        a.contains(
            "<guid isPermaLink=\"false\">urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66</guid>"
        ),
        "{a}"
    );
    assert!(a.contains("<dc:creator>Jane Doe</dc:creator>"), "{a}");
    assert!(!a.contains("<author>"), "{a}");
    assert!(
        a.contains("<pubDate>Sun, 2 Jan 2022 08:00:00 +0800</pubDate>"),
        "{a}"
    );
    assert!(rss.contains("xmlns:dc=\"http://purl.org/dc/elements/1.1/\""));

    let atom = site.read_out("feed.atom.xml");
    let entries = chunks(&atom, "entry");
    assert_eq!(entries.len(), 3, "{atom}");
    let (c, b, a) = (&entries[0], &entries[1], &entries[2]);
    assert!(
        a.contains("<id>urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66</id>"),
        "{a}"
    );
    assert!(
        a.contains("<updated>2022-02-01T12:00:00+08:00</updated>"),
        "{a}"
    );
    assert!(
        a.contains("<published>2022-01-02T08:00:00+08:00</published>"),
        "{a}"
    );
    assert!(a.contains("<author><name>Jane Doe</name></author>"), "{a}");
    assert!(b.contains(&format!("<id>{}</id>", url("b", 3))), "{b}");
    assert!(
        b.contains("<author><name>Site Ed</name><email>ed@example.org</email></author>"),
        "{b}"
    );
    assert!(
        c.contains("<author><name>Bob</name><email>bob@example.org</email></author>"),
        "{c}"
    );
    // The feed's updated is the newest change, here a last_modified_at.
    assert_eq!(
        all(r"<updated>([^<]*)</updated>", &atom)[0],
        "2022-02-01T12:00:00+08:00"
    );

    let parsed = parse_file(&site.out().join("feed.atom.xml"));
    let ids: Vec<&str> = parsed.entries.iter().map(|e| e.id.as_str()).collect();
    let (c_url, b_url) = (url("c", 4), url("b", 3));
    assert_eq!(
        ids,
        [
            c_url.as_str(),
            b_url.as_str(),
            "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"
        ]
    );
    let a = &parsed.entries[2];
    assert_eq!(a.updated, Some("2022-02-01T04:00:00Z".parse().unwrap()));
    assert_eq!(a.published, Some("2022-01-02T00:00:00Z".parse().unwrap()));
    for entry in &parsed.entries {
        assert!(!entry.authors.is_empty(), "{} has no author", entry.id);
    }
    let parsed = parse_file(&site.out().join("feed.rss.xml"));
    assert_eq!(
        parsed.entries[2].id,
        "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"
    );
    assert_eq!(
        parsed.entries[2].published,
        Some("2022-01-02T00:00:00Z".parse().unwrap())
    );
}

#[test]
fn without_a_site_author_every_atom_entry_still_has_one() {
    let site = feeds_site("title: Nobody\nurl: https://example.org\ntimezone: UTC\n");
    site.write("_posts/2022-01-02-a.md", post("title: A\n", "a\n"));
    site.write(
        "_posts/2022-01-03-b.md",
        post("title: B\nauthor: Jane Doe\n", "b\n"),
    );
    site.build_ok();
    let atom = parse_file(&site.out().join("feed.atom.xml"));
    let names: Vec<Vec<String>> = atom
        .entries
        .iter()
        .map(|e| {
            e.authors
                .iter()
                .map(|p| p.name.clone().unwrap_or_default())
                .collect()
        })
        .collect();
    assert_eq!(
        names,
        [vec!["Jane Doe".to_string()], vec!["Nobody".to_string()]]
    );
    let rss = site.read_out("feed.rss.xml");
    let items = chunks(&rss, "item");
    assert!(items[0].contains("<dc:creator>Jane Doe</dc:creator>"));
    assert!(
        !items[1].contains("<author>") && !items[1].contains("<dc:creator>"),
        "{}",
        items[1]
    );
}

// ---------------------------------------------------------------------------------------------
// 8. What is left out, and the options
// ---------------------------------------------------------------------------------------------

#[test]
fn left_out_posts_never_appear_and_items_limits_after_filtering() {
    let site = feeds_site(
        "title: Filter\nurl: https://example.org\ntimezone: UTC\ngazette:\n  items: 2\n",
    );
    site.write(
        "_posts/2022-01-05-hidden.md",
        post("title: Hidden\nfeed: false\ncategories: [solo]\n", "h\n"),
    );
    site.write(
        "_posts/2999-01-01-future.md",
        post("title: Future\ncategories: [news]\n", "f\n"),
    );
    site.write(
        "_posts/2022-01-04-unpublished.md",
        post(
            "title: Unpublished\npublished: false\ncategories: [news]\n",
            "u\n",
        ),
    );
    site.write(
        "_drafts/draft.md",
        post("title: Draft\ncategories: [news]\n", "d\n"),
    );
    site.write(
        "_posts/2022-01-03-three.md",
        post("title: Three\ncategories: [news]\ntags: [t]\n", "3\n"),
    );
    site.write(
        "_posts/2022-01-02-two.md",
        post("title: Two\ncategories: [news]\n", "2\n"),
    );
    site.write(
        "_posts/2022-01-01-one.md",
        post("title: One\ncategories: [news]\n", "1\n"),
    );
    site.build_ok();

    assert_eq!(
        files(&site.out()),
        [
            ".gazette-files",
            ".gazette-names",
            "categories/news.atom.xml",
            "categories/news.rss.xml",
            "feed.atom.xml",
            "feed.rss.xml",
            "feeds-atom.opml",
            "feeds.html",
            "feeds.opml",
        ]
        .map(String::from)
        .into()
    );
    for rel in [
        "feed.rss.xml",
        "feed.atom.xml",
        "categories/news.rss.xml",
        "categories/news.atom.xml",
    ] {
        assert_eq!(
            titles(&parse_file(&site.out().join(rel))),
            ["Three", "Two"],
            "{rel}"
        );
    }
    for (rel, bytes) in snapshot(&site.out()) {
        let text = String::from_utf8(bytes).unwrap();
        for absent in ["Hidden", "Future", "Unpublished", "Draft", "solo"] {
            assert!(!text.contains(absent), "{}: holds {absent}", rel.display());
        }
    }
}

#[test]
fn json_feed_hub_stylesheet_and_size_warnings() {
    let site = feeds_site(
        "title: Opts\nurl: https://example.org\ntimezone: UTC\ngazette:\n  tag_feeds: true\n  json_feed: true\n  hub: https://hub.example.net/\n  stylesheet: /feed.xsl\n  max_feed_bytes: 1000\n",
    );
    site.write(
        "_posts/2022-01-02-a.md",
        post("title: Alpha\ncategories: [c]\ntags: [t]\n", "a\n"),
    );
    site.write(
        "_posts/2022-01-03-b.md",
        post(
            "title: Beta\ncategories: [c]\n",
            &"A longer body to push feeds over the limit. ".repeat(20),
        ),
    );
    let run = site.build_ok();
    let written = files(&site.out());
    let stems: Vec<&str> = written
        .iter()
        .filter_map(|f| f.strip_suffix(".rss.xml"))
        .collect();
    assert_eq!(stems, ["categories/c", "feed", "tags/t"]);
    for stem in &stems {
        let rss = parse_file(&site.out().join(format!("{stem}.rss.xml")));
        let atom = parse_file(&site.out().join(format!("{stem}.atom.xml")));
        let json = parse_file(&site.out().join(format!("{stem}.json")));
        assert_eq!(json.feed_type, FeedType::JSON);
        assert_eq!(titles(&json), titles(&rss), "{stem}");
        assert_eq!(titles(&json), titles(&atom), "{stem}");
        assert_eq!(feed_title(&json), feed_title(&rss), "{stem}");
        let ids = |f: &Feed| f.entries.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&json), ids(&atom), "{stem}");
        for (format, feed) in [("rss", &rss), ("atom", &atom)] {
            assert_eq!(
                link_with_rel(feed, "hub").as_deref(),
                Some("https://hub.example.net/"),
                "{stem} {format}"
            );
            let raw = site.read_out(&format!("{stem}.{format}.xml"));
            assert!(
                raw.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<?xml-stylesheet type=\"text/xsl\" href=\"/feed.xsl\"?>"),
                "{stem} {format}: {}",
                &raw[..200.min(raw.len())]
            );
        }
        let json: Value = serde_json::from_str(&site.read_out(&format!("{stem}.json"))).unwrap();
        assert_eq!(json["hubs"][0]["url"], "https://hub.example.net/");
        assert_eq!(
            json["feed_url"],
            format!("https://example.org/feeds/{stem}.json")
        );
    }
    assert_eq!(site.read_out("feeds.html").lines().count(), 9);

    // Every feed over 1000 bytes is named, and only those.
    let mut over = 0;
    for rel in written.iter().filter(|f| is_feed(f)) {
        let size = fs::metadata(site.out().join(rel)).unwrap().len();
        let warning = format!(
            "{}:1:1: warning: feed is {size} bytes, over 1000",
            site.out().join(rel).display()
        );
        assert_eq!(
            run.stderr.contains(&warning),
            size > 1000,
            "{rel} ({size} bytes):\n{}",
            run.stderr
        );
        over += usize::from(size > 1000);
    }
    assert!(over >= 3, "the test wants some feeds over the limit");
    assert_eq!(
        run.stderr.matches("warning: feed is").count(),
        over,
        "{}",
        run.stderr
    );
}

#[test]
fn a_category_whose_posts_are_all_left_out_has_no_feed_and_tags_are_off_by_default() {
    let site = feeds_site("title: T\nurl: https://example.org\ntimezone: UTC\n");
    site.write(
        "_posts/2022-01-02-a.md",
        post("title: A\ncategories: [kept]\ntags: [x, y]\n", "a\n"),
    );
    site.write(
        "_posts/2022-01-03-b.md",
        post("title: B\ncategories: [quiet]\nfeed: false\n", "b\n"),
    );
    site.build_ok();
    let written = files(&site.out());
    assert!(written.contains("categories/kept.rss.xml"));
    assert!(!written.iter().any(|f| f.contains("quiet")), "{written:#?}");
    assert!(
        !written.iter().any(|f| f.starts_with("tags/")),
        "{written:#?}"
    );
    assert!(!site.out().join("tags").exists());
    assert!(
        !written.iter().any(|f| f.ends_with(".json")),
        "{written:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 9. OPML and link tags
// ---------------------------------------------------------------------------------------------

/// The attributes of every `<outline>` of an OPML file.
fn outlines(opml: &str) -> Vec<BTreeMap<String, String>> {
    assert_well_formed(opml.as_bytes(), "OPML");
    let mut reader = quick_xml::Reader::from_str(opml);
    let decoder = reader.decoder();
    let mut out = Vec::new();
    let mut root = None;
    loop {
        match reader.read_event().unwrap() {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                root.get_or_insert(name.clone());
                if name == "outline" {
                    out.push(
                        e.attributes()
                            .map(|a| {
                                let a = a.unwrap();
                                (
                                    String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                                    a.decoded_and_normalized_value(
                                        XmlVersion::Explicit1_0,
                                        decoder,
                                    )
                                    .unwrap()
                                    .into_owned(),
                                )
                            })
                            .collect(),
                    );
                }
            }
            _ => {}
        }
    }
    assert_eq!(root.as_deref(), Some("opml"));
    out
}

#[test]
fn opml_and_link_tags_list_every_feed_at_its_public_url() {
    let site = feeds_site(
        "title: \"Lists & Co <3\"\nurl: https://example.org\nbaseurl: /blog\ntimezone: UTC\ngazette:\n  path: /syndication/\n  tag_feeds: true\n  json_feed: true\n",
    );
    site.write(
        "_posts/2022-01-02-a.md",
        post("title: A\ncategories: [news, 报道]\ntags: [x]\n", "a\n"),
    );
    site.write(
        "_posts/2022-01-03-b.md",
        post("title: B\ncategories: [news]\n", "b\n"),
    );
    site.build_ok();
    let base = "https://example.org/blog/syndication/";
    let written = files(&site.out());
    let manifest: BTreeSet<String> = site
        .read_out(".gazette-files")
        .lines()
        .map(String::from)
        .collect();
    let mut without_manifest = written.clone();
    without_manifest.remove(".gazette-files");
    assert_eq!(manifest, without_manifest);

    for (opml, ext, kind) in [
        ("feeds.opml", ".rss.xml", "rss"),
        // OPML subscription lists know `type="rss"` only, for Atom feeds too.
        ("feeds-atom.opml", ".atom.xml", "rss"),
    ] {
        let listed = outlines(&site.read_out(opml));
        let urls: BTreeSet<String> = listed.iter().map(|o| o["xmlUrl"].clone()).collect();
        let want: BTreeSet<String> = written
            .iter()
            .filter(|f| f.ends_with(ext))
            .map(|f| format!("{base}{f}"))
            .collect();
        assert_eq!(listed.len(), want.len(), "{opml}");
        assert_eq!(urls, want, "{opml}");
        assert_eq!(
            listed[0]["xmlUrl"],
            format!("{base}feed{ext}"),
            "{opml}: the site feed first"
        );
        for o in &listed {
            assert_eq!(o["type"], kind, "{opml}");
            assert_eq!(o["htmlUrl"], "https://example.org/blog/", "{opml}");
            let rel = o["xmlUrl"].strip_prefix(base).unwrap();
            let feed = parse_file(&site.out().join(rel));
            // OPML text is often read as HTML: either form must show the feed's title.
            assert_eq!(html_text(&o["title"]), feed_title(&feed), "{opml} {rel}");
            assert_eq!(o["text"], o["title"], "{opml} {rel}");
            assert_eq!(
                link_with_rel(&feed, "self").as_deref(),
                Some(o["xmlUrl"].as_str()),
                "{rel}"
            );
        }
        assert_eq!(html_text(&listed[0]["title"]), "Lists & Co <3");
    }

    let tag =
        Regex::new(r#"^<link rel="alternate" type="([^"]+)" title="([^"]*)" href="([^"]+)">$"#)
            .unwrap();
    let html = site.read_out("feeds.html");
    let mut links = BTreeSet::new();
    for line in html.lines() {
        let c = tag
            .captures(line)
            .unwrap_or_else(|| panic!("not a link tag: {line}"));
        let href = c[3].to_string();
        let rel = href.strip_prefix(base).unwrap_or_else(|| panic!("{href}"));
        let want_type = if rel.ends_with(".rss.xml") {
            "application/rss+xml"
        } else if rel.ends_with(".atom.xml") {
            "application/atom+xml"
        } else {
            "application/feed+json"
        };
        assert_eq!(&c[1], want_type, "{line}");
        assert!(links.insert(rel.to_string()), "{rel} twice");
    }
    let feeds: BTreeSet<String> = written.iter().filter(|f| is_feed(f)).cloned().collect();
    assert_eq!(links, feeds);
    assert_eq!(feeds.len(), 4 * 3, "{feeds:#?}");
    assert!(html.contains("title=\"Lists &amp; Co &lt;3\""), "{html}");
}

#[test]
fn a_site_url_with_a_path_is_kept_in_feed_urls() {
    let site =
        feeds_site("title: Sub\nurl: https://example.org/sub\nbaseurl: /blog\ntimezone: UTC\n");
    site.write("_posts/2022-01-02-a.md", post("title: A\n", "a\n"));
    site.build_ok();
    let rss = parse_file(&site.out().join("feed.rss.xml"));
    assert_eq!(
        entry_link(&rss.entries[0]),
        "https://example.org/sub/blog/2022/01/02/a.html"
    );
    assert_eq!(
        link_with_rel(&rss, "self").as_deref(),
        Some("https://example.org/sub/blog/feeds/feed.rss.xml")
    );
    assert!(site
        .read_out("feed.rss.xml")
        .contains("<link>https://example.org/sub/blog/</link>"));
    assert!(site
        .read_out("feeds.html")
        .contains("href=\"https://example.org/sub/blog/feeds/feed.atom.xml\""));
}

#[test]
fn a_stylesheet_url_cannot_break_the_xml() {
    let site = feeds_site(
        "title: X\nurl: https://example.org\ntimezone: UTC\ngazette:\n  stylesheet: \"/feed.xsl?v=1?>x\"\n",
    );
    site.write("_posts/2022-01-02-a.md", post("title: A\n", "a\n"));
    site.build_ok();
    for rel in ["feed.rss.xml", "feed.atom.xml"] {
        assert_well_formed(site.read_out(rel).as_bytes(), rel);
    }
}

// ---------------------------------------------------------------------------------------------
// 10. Sites that cannot have feeds; the default output folder
// ---------------------------------------------------------------------------------------------

#[test]
fn a_site_without_url_cannot_build() {
    let site = feeds_site("title: Nowhere\ntimezone: UTC\n");
    site.write("_posts/2022-01-02-a.md", post("title: A\n", "a\n"));
    let run = build(site.path(), &site.out());
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.stderr.contains("feeds need the site's address: set `url` (e.g. `url: https://example.com`) in _config.yml"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("no feed was written or changed"),
        "{}",
        run.stderr
    );
    assert!(!site.out().exists());

    let site = feeds_site("title: Relative\nurl: /somewhere\ntimezone: UTC\n");
    let run = build(site.path(), &site.out());
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(
        run.stderr
            .contains(":2:1: error: `url: /somewhere` is not a URL"),
        "{}",
        run.stderr
    );
    assert!(!site.out().exists());
}

#[test]
fn without_out_feeds_go_to_the_configured_folder() {
    let site = feeds_site("title: D\nurl: https://example.org\ntimezone: UTC\n");
    site.write("_posts/2022-01-02-a.md", post("title: A\n", "a\n"));
    let run = gazette([
        OsStr::new("build"),
        OsStr::new("--site"),
        site.path().as_os_str(),
    ]);
    assert!(run.ok(), "{run:#?}");
    assert_eq!(
        titles(&parse_file(&site.path().join("_site/feeds/feed.atom.xml"))),
        ["A"]
    );

    let site = feeds_site(
        "title: D\nurl: https://example.org\ntimezone: UTC\ngazette:\n  out: public/rss\n",
    );
    site.write("_posts/2022-01-02-a.md", post("title: A\n", "a\n"));
    let run = gazette([
        OsStr::new("build"),
        OsStr::new("--site"),
        site.path().as_os_str(),
        OsStr::new("--quiet"),
    ]);
    assert!(run.ok(), "{run:#?}");
    assert_eq!(run.stdout, "");
    assert_eq!(
        titles(&parse_file(&site.path().join("public/rss/feed.rss.xml"))),
        ["A"]
    );
}

/// Rebuilds reuse the entries rendered before (`.gazette/entries.cache`) only for unchanged
/// post files: an edited body is rendered again, and a damaged or foreign entry cache, or other
/// settings, give exactly the feeds a build without any cache gives.
#[test]
fn kept_entries_are_reused_only_for_unchanged_posts() {
    let site = feeds_site("url: https://example.com\ntimezone: UTC\n");
    site.write(
        "_posts/2022-01-02-a.md",
        post("title: A\ncategories: [news]\n", "FIRST-BODY\n"),
    );
    site.write(
        "_posts/2022-01-03-b.md",
        post("title: B\ncategories: [news]\n", "OTHER-BODY\n"),
    );
    site.build_ok();
    let cache = site.path().join(".gazette/entries.cache");
    assert!(cache.is_file());
    assert!(site.read_out("feed.rss.xml").contains("FIRST-BODY"));

    // Same title, new body, same size: the mtime tells.
    std::thread::sleep(std::time::Duration::from_millis(20));
    site.write(
        "_posts/2022-01-02-a.md",
        post("title: A\ncategories: [news]\n", "SECOND-BODY\n"),
    );
    site.build_ok();
    for feed in ["feed.rss.xml", "feed.atom.xml", "categories/news.atom.xml"] {
        let text = site.read_out(feed);
        assert!(
            text.contains("SECOND-BODY") && !text.contains("FIRST-BODY"),
            "{feed}"
        );
        assert!(text.contains("OTHER-BODY"), "{feed}");
    }

    // What a build without caches writes, to compare the cached builds with.
    let fresh_out = site.root().join("fresh");
    let run = gazette([
        OsStr::new("build"),
        OsStr::new("--no-cache"),
        OsStr::new("--site"),
        site.path().as_os_str(),
        OsStr::new("--out"),
        fresh_out.as_os_str(),
    ]);
    assert!(run.ok(), "{run:#?}");
    let fresh = snapshot(&fresh_out);
    assert_eq!(snapshot(&site.out()), fresh);

    // A damaged entry cache is not trusted.
    let mut bytes = fs::read(&cache).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x20;
    fs::write(&cache, &bytes).unwrap();
    fs::remove_dir_all(site.out()).unwrap();
    site.build_ok();
    assert_eq!(snapshot(&site.out()), fresh);

    // Other settings (a new site URL) make every entry new: links inside bodies change.
    site.write(
        "_posts/2022-01-03-b.md",
        post("title: B\ncategories: [news]\n", "[link](/x.html)\n"),
    );
    site.build_ok();
    assert!(site
        .read_out("feed.rss.xml")
        .contains("https://example.com/x.html"));
    site.write("_config.yml", "url: https://other.example\ntimezone: UTC\n");
    site.build_ok();
    let rss = site.read_out("feed.rss.xml");
    assert!(rss.contains("https://other.example/x.html"), "{rss}");
    assert!(!rss.contains("https://example.com"), "{rss}");
}

#[test]
fn a_posts_image_reaches_readers_as_an_absolute_media_thumbnail() {
    let site = feeds_site("url: https://example.com\nbaseurl: /blog\ntimezone: UTC\n");
    site.write(
        "_posts/2022-01-01-path.md",
        post("title: Path\nimage: /img/cover.png\n", "Body.\n"),
    );
    site.write(
        "_posts/2022-01-02-mapping.md",
        post(
            "title: Mapping\nimage:\n  path: pics/c.jpg\n  alt: A cover\n",
            "Body.\n",
        ),
    );
    site.write(
        "_posts/2022-01-03-none.md",
        post("title: None\n", "Body.\n"),
    );
    site.build_ok();
    for file in ["feed.atom.xml", "feed.rss.xml"] {
        let feed = parse_file(&site.out().join(file));
        let thumbnails: BTreeMap<String, Vec<String>> = feed
            .entries
            .iter()
            .map(|e| {
                let urls = e
                    .media
                    .iter()
                    .flat_map(|m| m.thumbnails.iter().map(|t| t.image.uri.clone()))
                    .collect();
                (title(e), urls)
            })
            .collect();
        assert_eq!(
            thumbnails["Path"],
            ["https://example.com/blog/img/cover.png"],
            "{file}"
        );
        // A path is below the site's root, as jekyll-feed's `absolute_url` makes it.
        assert_eq!(
            thumbnails["Mapping"],
            ["https://example.com/blog/pics/c.jpg"],
            "{file}"
        );
        assert!(thumbnails["None"].is_empty(), "{file}");
        let xml = site.read_out(file);
        assert!(
            xml.contains(
                r#"<media:content medium="image" url="https://example.com/blog/img/cover.png""#
            ),
            "{xml}"
        );
        assert!(
            xml.contains("xmlns:media=\"http://search.yahoo.com/mrss/\""),
            "{xml}"
        );
    }
}
