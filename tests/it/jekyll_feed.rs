//! Moving from jekyll-feed keeps every subscriber: with `jekyll_feed: true`, `gazette build`
//! writes what the real jekyll-feed wrote, where it wrote it, with the same feed and entry ids,
//! links, dates, titles, categories and order.
//!
//! The test builds a site with the real `jekyll` and its jekyll-feed plugin, keeps jekyll-feed's
//! files, runs gazette on the same site (which replaces them in place) and compares both, read
//! with feed-rs. When `jekyll` is not installed the test is skipped (loudly), unless
//! `GAZETTE_REQUIRE_JEKYLL=1` is set, in which case it fails.

use crate::support::jekyll::{self, run};
use crate::support::run::{gazette_bin, Program};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

const CONFIG: &str = "\
title: Gazette's \"Test\" -- Site
description: A site that moves from jekyll-feed
url: \"https://Example.com\"
baseurl: /blog
timezone: Asia/Shanghai
author:
  name: Ed Itor
  email: ed@example.com
plugins: [jekyll-feed]
feed:
  path: /atom.xml
  posts_limit: 4
  categories: [news, Tech, 中文, empty]
  tags:
    except: [skipme]
gazette:
  jekyll_feed: true
  cache: \"\"
";

const POSTS: &[(&str, &str)] = &[
    (
        "_posts/2022-01-08-older.md",
        "---\ntitle: Older\ndate: 2022-01-08 09:00:00 +0800\ndescription: An older post\nimage: /img/a.png\ncategories: [news]\n---\nOlder body.\n",
    ),
    (
        "_posts/2022-01-09-old.md",
        "---\ntitle: Old one\ndate: 2022-01-09 09:00:00 +0800\ncategories: news\ntags: [skipme]\n---\nOld body.\n",
    ),
    (
        "_posts/2022-01-10-first-post.md",
        "---\ntitle: First post\ndate: 2022-01-10 09:00:00 +0800\ncategories: [news]\ntags: [rust]\n---\nFirst body.\n",
    ),
    (
        "_posts/2022-01-11-slugged.md",
        "---\ntitle: \"Don't \\\"quote\\\" me -- ok...\"\ndate: 2022-01-11 09:00:00 +0800\nslug: custom-slug\ncategories: Tech\ntags: [web_dev]\n---\nSlugged body.\n",
    ),
    (
        "_posts/2022-01-12-permalinked.md",
        "---\ntitle: Permalinked & moved\ndate: 2022-01-12 09:00:00 +0800\npermalink: /special/page-name/\n---\nPermalinked body.\n",
    ),
    (
        "news/_posts/2022-01-13-folder-post.md",
        "---\ntitle: Folder post\ndate: 2022-01-13 09:00:00 +0800\ntags: [rust]\n---\nFolder body.\n",
    ),
    (
        "_posts/2022-01-14-zhong-wen.md",
        "---\ntitle: 中文标题：测试\ndate: 2022-01-14 09:00:00 +0800\ncategories: [中文]\ntags: [rust, 中文标签]\n---\n正文。\n",
    ),
    (
        "_posts/2022-01-15-slug-and-title.md",
        "---\ntitle: A title unlike the slug\ndate: 2022-01-15 08:00:00 +0800\nlast_modified_at: 2022-01-20 10:00:00 +0800\nslug: 你好，世界\n---\nBody.\n",
    ),
];

/// The files jekyll-feed writes for this site, relative to `_site`.
const EXPECTED: &[&str] = &[
    "atom.xml",
    "feed/Tech.xml",
    "feed/by_tag/rust.xml",
    "feed/by_tag/web_dev.xml",
    "feed/empty.xml",
    "feed/news.xml",
    "feed/中文.xml",
];

fn jekyll_build(site: &Path, scratch: &Path) {
    let command = jekyll::build(site, &site.join("_site"), scratch);
    let (ok, stdout, stderr) = run(command, Duration::from_secs(120), "jekyll");
    assert!(ok, "jekyll build failed:\n{stdout}\n{stderr}");
}

fn gazette(site: &Path, scratch: &Path, extra: &[&str], name: &str) -> (bool, String, String) {
    let command = Program::new(gazette_bin())
        .arg("build")
        .arg("--site")
        .arg(site)
        .args(extra)
        .cwd(scratch)
        .env("JEKYLL_ENV", "production")
        .env_remove("TZ");
    run(command, Duration::from_secs(120), name)
}

/// Every file below `dir` whose text holds `mark`, by path relative to `dir`.
fn files_marked(dir: &Path, mark: &str) -> BTreeMap<String, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = fs::read(&path) {
                if String::from_utf8_lossy(&bytes).contains(mark) {
                    let rel = path
                        .strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned();
                    found.insert(rel, bytes);
                }
            }
        }
    }
    found
}

/// What a subscriber's reader keeps of a feed.
#[derive(Debug, PartialEq)]
struct Seen {
    id: String,
    title: Option<String>,
    links: Vec<(Option<String>, String)>,
    entries: Vec<SeenEntry>,
}

#[derive(Debug, PartialEq)]
struct SeenEntry {
    id: String,
    title: Option<String>,
    links: Vec<(Option<String>, String)>,
    published: Option<chrono::DateTime<chrono::Utc>>,
    updated: Option<chrono::DateTime<chrono::Utc>>,
    categories: Vec<String>,
    authors: Vec<Option<String>>,
}

fn seen(path: &str, bytes: &[u8]) -> Seen {
    let feed = feed_rs::parser::parse(bytes).unwrap_or_else(|e| {
        panic!(
            "{path} is not a feed feed-rs reads: {e}\n{}",
            String::from_utf8_lossy(bytes)
        )
    });
    let links = |links: &[feed_rs::model::Link]| {
        let mut l: Vec<_> = links
            .iter()
            .map(|l| (l.rel.clone(), l.href.clone()))
            .collect();
        l.sort();
        l
    };
    Seen {
        id: feed.id,
        title: feed.title.map(|t| t.content),
        links: links(&feed.links),
        entries: feed
            .entries
            .iter()
            .map(|e| SeenEntry {
                id: e.id.clone(),
                title: e.title.as_ref().map(|t| t.content.clone()),
                links: links(&e.links),
                published: e.published,
                updated: e.updated,
                categories: e.categories.iter().map(|c| c.term.clone()).collect(),
                authors: e.authors.iter().map(|a| a.name.clone()).collect(),
            })
            .collect(),
    }
}

const JEKYLL_MARK: &str = "<generator uri=\"https://jekyllrb.com/\"";
const GAZETTE_MARK: &str = ">gazette (jekyll-feed compatible)</generator>";

#[test]
fn gazette_writes_what_jekyll_feed_wrote() {
    if !jekyll::available("jekyll_feed") {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let site: PathBuf = scratch.path().join("site");
    fs::create_dir_all(&site).unwrap();
    fs::write(site.join("_config.yml"), CONFIG).unwrap();
    for (path, text) in POSTS {
        let full = site.join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, text).unwrap();
    }
    jekyll_build(&site, scratch.path());
    let dest = site.join("_site");
    let jekyll = files_marked(&dest, JEKYLL_MARK);
    assert_eq!(
        jekyll.keys().map(String::as_str).collect::<Vec<_>>(),
        EXPECTED,
        "jekyll-feed did not write the files this test expects"
    );

    // gazette on the same site: jekyll-feed's files are in place, and are replaced.
    let (ok, stdout, stderr) = gazette(&site, scratch.path(), &[], "gazette");
    assert!(ok, "gazette build failed:\n{stdout}\n{stderr}");
    assert!(
        files_marked(&dest, JEKYLL_MARK).is_empty(),
        "a jekyll-feed file was left:\n{stderr}"
    );
    let ours = files_marked(&dest, GAZETTE_MARK);
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        jekyll.keys().collect::<Vec<_>>(),
        "gazette wrote other files than jekyll-feed:\n{stderr}"
    );
    // gazette's own feeds are still written beside them.
    assert!(dest.join("feeds/feed.atom.xml").is_file());
    assert!(dest.join("feeds/feed.rss.xml").is_file());

    for (path, jekyll_bytes) in &jekyll {
        let j = seen(path, jekyll_bytes);
        let g = seen(path, &ours[path]);
        assert_eq!(g.id, j.id, "{path}: feed id");
        assert_eq!(g.title, j.title, "{path}: feed title");
        assert_eq!(g.links, j.links, "{path}: feed links");
        let ids = |s: &Seen| s.entries.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&g), ids(&j), "{path}: entry ids and their order");
        for (ge, je) in g.entries.iter().zip(&j.entries) {
            assert_eq!(ge, je, "{path}: entry {}", je.id);
        }
    }
    // The cases the site is made of are really there.
    let site_feed = seen("atom.xml", &jekyll["atom.xml"]);
    assert_eq!(site_feed.entries.len(), 4, "posts_limit");
    let all_ids: Vec<String> = jekyll
        .iter()
        .flat_map(|(p, b)| seen(p, b).entries.into_iter().map(|e| e.id))
        .collect();
    for id in [
        "https://example.com/blog/special/permalinked",
        "https://example.com/blog/tech/2022/01/11/custom-slug",
        "https://example.com/blog/news/2022/01/13/folder-post",
        "https://example.com/blog/2022/01/15/%E4%BD%A0%E5%A5%BD,%E4%B8%96%E7%95%8C",
    ] {
        assert!(
            all_ids.iter().any(|i| i == id),
            "no entry {id} in {all_ids:?}"
        );
    }
    assert!(seen("feed/empty.xml", &jekyll["feed/empty.xml"])
        .entries
        .is_empty());

    // A rebuild with nothing changed rewrites nothing.
    let mtimes = |files: &BTreeMap<String, Vec<u8>>| -> Vec<_> {
        files
            .keys()
            .map(|p| fs::metadata(dest.join(p)).unwrap().modified().unwrap())
            .collect()
    };
    let before = mtimes(&ours);
    let (ok, stdout, stderr) = gazette(&site, scratch.path(), &[], "gazette-again");
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("jekyll-feed's feeds into")
            && stdout.contains(": 0 files written, 7 unchanged, 0 removed"),
        "{stdout}"
    );
    assert_eq!(mtimes(&ours), before);

    // A failed build (gazette's own output folder is a file) changes none of them.
    fs::write(
        site.join("_posts/2022-01-16-new.md"),
        "---\ntitle: New\ndate: 2022-01-16 09:00:00 +0800\n---\nNew.\n",
    )
    .unwrap();
    let blocker = scratch.path().join("blocker");
    fs::write(&blocker, "a file").unwrap();
    let blocker_arg = blocker.to_string_lossy().into_owned();
    let (ok, _, stderr) = gazette(
        &site,
        scratch.path(),
        &["--out", &blocker_arg],
        "gazette-fail",
    );
    assert!(!ok, "the build should fail: {stderr}");
    assert_eq!(
        files_marked(&dest, GAZETTE_MARK),
        ours,
        "a failed build changed a file"
    );
    let temps: Vec<_> = files_marked(&dest, "")
        .into_keys()
        .filter(|p| p.ends_with(".tmp"))
        .collect();
    assert!(temps.is_empty(), "{temps:?}");
    fs::remove_file(site.join("_posts/2022-01-16-new.md")).unwrap();

    // A file gazette did not write, and not jekyll-feed's, is never replaced.
    fs::remove_file(dest.join(".gazette-jekyll-feed-files")).unwrap();
    fs::write(dest.join("feed/Tech.xml"), "<feed>the site's own</feed>").unwrap();
    let (ok, _, stderr) = gazette(&site, scratch.path(), &[], "gazette-foreign");
    assert!(ok, "{stderr}");
    assert_eq!(
        fs::read_to_string(dest.join("feed/Tech.xml")).unwrap(),
        "<feed>the site's own</feed>"
    );
    assert!(stderr.contains("Tech.xml"), "{stderr}");
}
