//! The web archive of digests (#14): a real send to the outbox writes the period's page (with
//! nobody's data in it), the index of issues and their Atom feed into `_site/digest/`; a rerun
//! changes no file; `--dry-run` writes nothing; every email links to the page ("view in
//! browser") and, with `serve_url`, to the subscriber's own preferences page.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use gazette::digest::token::{Purpose, Subject, TokenKey};
use mail_parser::{MessageParser, MimeHeaders};

use crate::support::digest_site::*;

const SERVE_URL: &str = "https://news.example.org/newsletter";
const PAGE_URL: &str = "https://finews.example.com/digest/2022-W02.html";

/// The example's subscribers: address and name.
const SUBSCRIBERS: &[(&str, Option<&str>)] = &[
    ("li.ming@example.com", Some("李明")),
    ("wang.fang@example.com", Some("王芳")),
    ("jane.doe@example.org", Some("Jane Doe")),
    ("reader@example.net", None),
];

/// Titles of some of the example's 2022-W02 posts, across every category.
const W02_TITLES: &[&str] = &[
    "年末物价运行总体平稳 食品价格涨幅回落",
    "人社部门开展节前重点企业用工保障专项服务",
    "两融余额稳中有升 &amp; 券商\"开门红\"业务布局提速",
    "专项债发力前置 基建投资有望企稳回升",
    "Reading the Bond Market: What the Yield Curve Is Saying",
    "Week Ahead: Earnings Season Kicks Off",
];

fn with_service() -> Site {
    Site::example(&example_config(&format!(
        "    serve_url: \"{SERVE_URL}\"\n"
    )))
}

/// Every file below `dir` with its bytes and mtime.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
    let mut files = Vec::new();
    crate::support::site::list_files(dir, &mut files);
    files
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f).unwrap();
            let mtime = std::fs::metadata(&f).unwrap().modified().unwrap();
            (f, (bytes, mtime))
        })
        .collect()
}

/// The outbox's messages: (recipient, text part, HTML part).
fn outbox(site: &Site) -> Vec<(String, String, String)> {
    let dir = site.path().join("_gazette/outbox");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let m = MessageParser::default().parse(&bytes).expect("a message");
        let to = m.to().unwrap().first().unwrap().address().unwrap();
        let text = m.body_text(0).expect("a text part").into_owned();
        let html = m.body_html(0).expect("an HTML part").into_owned();
        assert!(m.content_type().is_some());
        out.push((to.to_string(), text, html));
    }
    out.sort();
    out
}

/// The token of the first `{SERVE_URL}/preferences?token=…` link in `text`.
fn preferences_token(text: &str) -> Option<String> {
    let prefix = format!("{SERVE_URL}/preferences?token=");
    let at = text.find(&prefix)? + prefix.len();
    let token: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
        .collect();
    Some(token)
}

#[test]
fn a_send_archives_the_page_index_and_feed_with_nobodys_data() {
    let site = with_service();
    let archive = site.path().join("_site/digest");
    let record = site.path().join("_gazette/archive");

    let dry = site.digest(&["--week", "2022-W02", "--dry-run"]);
    assert_eq!(dry.code, Some(0), "{dry:#?}");
    assert!(!archive.exists(), "--dry-run writes no archive");
    assert!(!record.exists(), "--dry-run records no archive");

    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(
        out.stdout,
        summary(W02, "into ./_gazette/outbox", [4, 0, 0, 0, 0, 0, 0])
    );
    let page = std::fs::read_to_string(archive.join("2022-W02.html")).unwrap();
    for title in W02_TITLES {
        assert!(page.contains(title), "{title} is on the page");
    }
    assert!(
        page.contains(&format!("href=\"{SERVE_URL}/subscribe\"")),
        "a neutral subscribe link"
    );
    let secret = std::fs::read_to_string(site.path().join("digest-secret.txt")).unwrap();
    for (address, name) in SUBSCRIBERS {
        assert!(!page.contains(address), "{address} is not on the page");
        if let Some(name) = name {
            assert!(!page.contains(name), "{name} is not on the page");
        }
    }
    for private in ["token=", "unsubscribe", "preferences", "mailto:", "您好"] {
        assert!(!page.contains(private), "{private} is not on the page");
    }
    assert!(!page.contains(secret.trim()));
    assert!(!page.contains('\u{E000}'), "no marker is left");

    let index = std::fs::read_to_string(archive.join("index.html")).unwrap();
    assert!(index.contains("href=\"2022-W02.html\""), "{index}");
    let feed = feed_rs::parser::parse(&std::fs::read(archive.join("feed.atom.xml")).unwrap()[..])
        .expect("valid Atom");
    assert_eq!(feed.entries.len(), 1);
    assert_eq!(feed.entries[0].links[0].href, PAGE_URL);
    assert_eq!(
        feed.entries[0].title.as_ref().unwrap().content,
        "财经新闻镜像 · 每周摘要 2022-W02"
    );

    // Every email links to the page, and to its subscriber's own preferences.
    let key = TokenKey::new(secret.trim().as_bytes()).unwrap();
    let messages = outbox(&site);
    assert_eq!(messages.len(), 4);
    for (to, text, html) in &messages {
        assert!(
            text.contains(&format!("在浏览器中查看：{PAGE_URL}")),
            "{to}: {text}"
        );
        assert!(html.contains(&format!("href=\"{PAGE_URL}\"")), "{to}");
        for (part, body) in [("text", text), ("html", html)] {
            let token = preferences_token(body)
                .unwrap_or_else(|| panic!("{to}: no preferences link in the {part} part"));
            let claims = key
                .verify(&token, Purpose::Preferences, chrono::Utc::now())
                .unwrap_or_else(|e| panic!("{to}: {part}: {e:?}"));
            assert_eq!(claims.subject, Subject::Address(to.clone()), "{part}");
        }
    }

    // A rerun sends nothing and writes nothing: the same bytes, the same mtimes.
    let before = (snapshot(&archive), snapshot(&record));
    std::thread::sleep(std::time::Duration::from_millis(20));
    let again = site.digest(&["--week", "2022-W02"]);
    assert_eq!(again.code, Some(0), "{again:#?}");
    assert!(
        again.stdout.contains(", 4 already sent,"),
        "{}",
        again.stdout
    );
    assert_eq!((snapshot(&archive), snapshot(&record)), before);

    // Another period joins the index (newest first) and the feed.
    let w01 = site.digest(&["--week", "2022-W01"]);
    assert_eq!(w01.code, Some(0), "{w01:#?}");
    assert!(archive.join("2022-W01.html").exists());
    let index = std::fs::read_to_string(archive.join("index.html")).unwrap();
    let (at02, at01) = (
        index.find("2022-W02.html").unwrap(),
        index.find("2022-W01.html").unwrap(),
    );
    assert!(at02 < at01, "newest first: {index}");
    let feed = feed_rs::parser::parse(&std::fs::read(archive.join("feed.atom.xml")).unwrap()[..])
        .expect("valid Atom");
    let links: Vec<_> = feed
        .entries
        .iter()
        .map(|e| e.links[0].href.as_str())
        .collect();
    assert_eq!(
        links,
        [PAGE_URL, "https://finews.example.com/digest/2022-W01.html"]
    );
    assert_eq!(
        std::fs::read_to_string(archive.join("2022-W02.html")).unwrap(),
        page,
        "the earlier page is kept as it was"
    );
}

#[test]
fn the_archive_can_be_moved_or_turned_off() {
    // Elsewhere, with its own URL; without serve_url there is no preferences link.
    let site = Site::example(&example_config(
        "    archive: public/letters\n    archive_url: https://letters.example.com/\n",
    ));
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(site.path().join("public/letters/2022-W02.html").exists());
    assert!(!site.path().join("_site/digest").exists());
    for (to, text, html) in outbox(&site) {
        let url = "https://letters.example.com/2022-W02.html";
        assert!(text.contains(url), "{to}: {text}");
        assert!(html.contains(url), "{to}");
        assert!(!text.contains("preferences"), "{to}: {text}");
        assert!(!html.contains("preferences"), "{to}");
    }

    // Off: no page, no link.
    let site = Site::example(&example_config("    archive: \"\"\n"));
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(!site.path().join("_site").exists());
    assert!(!site.path().join("_gazette/archive").exists());
    for (to, text, html) in outbox(&site) {
        assert!(!text.contains("在浏览器中查看"), "{to}: {text}");
        assert!(!html.contains("在浏览器中查看"), "{to}");
    }
}

#[test]
fn a_failed_archive_write_changes_nothing_and_says_so() {
    let site = Site::example(&example_config(""));
    // A folder where the index goes.
    std::fs::create_dir_all(site.path().join("_site/digest/index.html")).unwrap();
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(
        out.stderr.contains("the digest's web archive:")
            && out.stderr.contains("nothing of the archive was changed"),
        "{}",
        out.stderr
    );
    let mut left = Vec::new();
    crate::support::site::list_files(&site.path().join("_site/digest"), &mut left);
    assert!(left.is_empty(), "{left:?}");
    assert!(!site.path().join("_gazette/archive/issues.json").exists());
    // Once the folder is gone, the next run writes the archive (and sends nothing again).
    std::fs::remove_dir(site.path().join("_site/digest/index.html")).unwrap();
    let out = site.digest(&["--week", "2022-W02"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(site.path().join("_site/digest/index.html").is_file());
    assert!(site.path().join("_site/digest/2022-W02.html").is_file());
}
