//! Oracle test: gazette must read a site's posts exactly as the real Jekyll does.
//!
//! The test writes a site full of tricky posts into a temporary folder, adds a page
//! (`dump.json`) whose Liquid makes Jekyll write, for every post in `site.posts`, its path,
//! absolute URL, date, title, slug, categories and tags, runs `jekyll build`, runs
//! `gazette check --json` on the same site, and compares the two post by post.
//!
//! When `jekyll` is not installed the test is skipped (loudly), unless
//! `GAZETTE_REQUIRE_JEKYLL=1` is set, in which case it fails.

use crate::support::jekyll::{self, run};
use crate::support::run::{gazette_bin, Program};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use regex::Regex;
use serde_json::Value;

const SITE_ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

const CONFIG: &str = "\
title: Oracle
url: \"https://Example.COM\"
baseurl: \"/base/\"
timezone: Asia/Shanghai
permalink: /:categories/:year/:month/:day/:title:output_ext
plugins: []
";

/// The page that makes Jekyll tell what it read.
const DUMP: &str = r#"---
layout: null
---
[{% for post in site.posts %}{% unless forloop.first %},{% endunless %}
{"path": {{ post.relative_path | jsonify }}, "url": {{ post.url | prepend: "https://example.com/base" | jsonify }}, "date": {{ post.date | date: "%Y-%m-%dT%H:%M:%S%:z" | jsonify }}, "title": {{ post.title | jsonify }}, "slug": {{ post.slug | jsonify }}, "categories": {{ post.categories | jsonify }}, "tags": {{ post.tags | jsonify }}}{% endfor %}
]
"#;

/// Files of the site, path and text. Comments say what each case is about; what the right
/// answer is, only Jekyll decides.
const FILES: &[(&str, &str)] = &[
    // --- Dates -------------------------------------------------------------------------------
    // Offset written without a colon.
    ("_posts/2022-01-12-offset-compact.md", "---\ntitle: Offset compact\ndate: 2022-01-12 14:18:25 +0800\n---\nBody.\n"),
    // RFC 3339 with a colon in the offset.
    ("_posts/2022-01-12-offset-colon.md", "---\ntitle: Offset colon\ndate: 2022-01-12T14:18:25+08:00\n---\nBody.\n"),
    // Unquoted full timestamp without an offset: a YAML timestamp, so UTC (next day in Shanghai).
    ("_posts/2022-01-12-unquoted-utc.md", "---\ntitle: Unquoted UTC\ndate: 2022-01-12 20:18:25\n---\nBody.\n"),
    // The same, quoted: Time.parse in the site's zone.
    ("_posts/2022-01-12-quoted-local.md", "---\ntitle: Quoted local\ndate: \"2022-01-12 20:18:25\"\n---\nBody.\n"),
    // Date only, and it differs from the file name's date: the front matter wins.
    ("_posts/2022-01-12-date-only.md", "---\ntitle: Date only\ndate: 2022-01-14\n---\nBody.\n"),
    // HH:MM without seconds: not a YAML timestamp, so local time.
    ("_posts/2022-01-12-hh-mm.md", "---\ntitle: HH MM\ndate: 2022-01-12 23:30\n---\nBody.\n"),
    // Fractional seconds with an offset (Jekyll drops the fraction).
    ("_posts/2022-01-12-fraction.md", "---\ntitle: Fraction\ndate: 2022-01-12 14:18:25.75 +08:00\n---\nBody.\n"),
    // Fractional seconds without an offset: UTC, next day in Shanghai.
    ("_posts/2022-01-12-fraction-utc.md", "---\ntitle: Fraction UTC\ndate: 2022-01-12 17:59:59.999\n---\nBody.\n"),
    // No date: the file name's date, midnight local.
    ("_posts/2022-01-15-no-date.md", "---\ntitle: No date\n---\nBody.\n"),
    // Two-digit years in the file name.
    ("_posts/22-01-16-short-year.md", "---\ntitle: Short year\n---\nBody.\n"),
    ("_posts/99-12-31-last-century.md", "---\ntitle: Last century\n---\nBody.\n"),
    // One-digit month and day in the file name.
    ("_posts/2022-1-7-single-digits.md", "---\ntitle: Single digits\n---\nBody.\n"),
    // One-digit month and day in the front matter.
    ("_posts/2022-01-12-month-day-single.md", "---\ntitle: Month day single\ndate: 2022-1-2\n---\nBody.\n"),
    // +15:00 moves the day back in Shanghai (and so the URL's day).
    ("_posts/2022-01-12-plus-fifteen.md", "---\ntitle: Plus fifteen\ndate: 2022-01-12 05:00:00 +15:00\n---\nBody.\n"),
    // -05:00 moves the day forward in Shanghai.
    ("_posts/2022-01-12-minus-five.md", "---\ntitle: Minus five\ndate: 2022-01-12 20:30:00 -05:00\n---\nBody.\n"),
    // Z.
    ("_posts/2022-01-12-zulu.md", "---\ntitle: Zulu\ndate: 2022-01-12T06:18:25Z\n---\nBody.\n"),
    // A quoted string with an offset.
    ("_posts/2022-01-12-quoted-offset.md", "---\ntitle: Quoted offset\ndate: \"2022-01-12 14:18:25 +05:30\"\n---\nBody.\n"),
    // An hours-only offset.
    ("_posts/2022-01-12-hour-offset.md", "---\ntitle: Hour offset\ndate: 2022-01-12 14:18:25 +08\n---\nBody.\n"),
    // Slashes and no seconds: Time.parse, local.
    ("_posts/2022-01-12-slashes.md", "---\ntitle: Slashes\ndate: 2022/01/12 09:05\n---\nBody.\n"),
    // RFC 2822.
    ("_posts/2022-01-12-rfc2822.md", "---\ntitle: RFC 2822\ndate: Wed, 12 Jan 2022 14:18:25 +0100\n---\nBody.\n"),
    // --- Categories and tags -----------------------------------------------------------------
    ("_posts/2022-02-01-cat-list.md", "---\ntitle: Cat list\ncategories: [News, World]\ntags: [rust, jekyll]\n---\nBody.\n"),
    // A string is split on white space; duplicates go, case is kept.
    ("_posts/2022-02-02-cat-string.md", "---\ntitle: Cat string\ncategories: news   world News\ntags: \"a b  c\"\n---\nBody.\n"),
    // Singular keys are not split.
    ("_posts/2022-02-03-category-singular.md", "---\ntitle: Category singular\ncategory: Single Word\ntag: hello world\n---\nBody.\n"),
    // Commas are not separators.
    ("_posts/2022-02-04-comma.md", "---\ntitle: Comma\ncategories: news, foundation\ntags: one,two\n---\nBody.\n"),
    // Numbers among tags.
    ("_posts/2022-02-05-int-tags.md", "---\ntitle: Int tags\ntags: [2022, x, 3.5]\n---\nBody.\n"),
    // A number as `tags` is dropped by Jekyll.
    ("_posts/2022-02-06-int-tags-scalar.md", "---\ntitle: Int tags scalar\ncategories: a\ntags: 42\n---\nBody.\n"),
    // A number as `tag` is kept; `tag` wins over `tags`.
    ("_posts/2022-02-07-tag-int.md", "---\ntitle: Tag int\ntag: 7\ntags: ignored list\n---\nBody.\n"),
    // YAML 1.1 booleans and octal among tags (Psych reads `NO` as false, `007` as 7).
    // Folder categories.
    ("news/_posts/2022-02-08-folder.md", "---\ntitle: Folder\ncategories: [extra]\n---\nBody.\n"),
    ("_posts/2019/2019-05-05-subfolder.md", "---\ntitle: Subfolder\n---\nBody.\n"),
    ("my_posts_blog/_posts/2022-02-09-quirk.md", "---\ntitle: Quirk\n---\nBody.\n"),
    ("a/b/_posts/c/2022-02-10-nested.md", "---\ntitle: Nested\n---\nBody.\n"),
    // Case-sensitive dedupe in the data, case-insensitive in the URL.
    ("Blog/_posts/2022-02-11-case.md", "---\ntitle: Case\ncategories: [blog, BLOG2]\n---\nBody.\n"),
    // Chinese slug, categories and tags.
    ("_posts/2022-02-12-新闻-发布.md", "---\ncategories: [财经, 新闻]\ntags: [中国, 经济]\n---\n正文。\n"),
    // Spaces inside categories.
    ("_posts/2022-02-13-spaces.md", "---\ntitle: Spaces\ncategories: [\"hello world\", \"a b\"]\n---\nBody.\n"),
    // `category` added after `categories`.
    ("_posts/2022-02-14-both.md", "---\ntitle: Both\ncategories: [p, q]\ncategory: [x, y]\n---\nBody.\n"),
    // A Chinese folder category.
    ("中文/_posts/2022-02-15-zh-folder.md", "---\ntitle: Zh folder\n---\nBody.\n"),
    // Jekyll does not dedupe tags.
    ("_posts/2022-02-19-dup-tags.md", "---\ntitle: Dup tags\ntags: [A, a, A]\n---\nBody.\n"),
    // Unicode lower-casing in `:categories`, and a `/` inside a category.
    ("_posts/2022-02-20-unicode-case.md", "---\ntitle: Unicode case\ncategories: [ÜBER, \"a/b\"]\n---\nBody.\n"),
    // `./` and `..` are cleaned out of the URL.
    ("_posts/2022-02-21-dots-category.md", "---\ntitle: Dots category\ncategories: [\"v1.\", \"x..y\"]\n---\nBody.\n"),
    // Characters that URL escaping treats specially.
    ("_posts/2022-02-17-hash-category.md", "---\ntitle: Hash category\ncategories: [\"C#\", \"100%\"]\n---\nBody.\n"),
    ("_posts/2022-02-18-question-category.md", "---\ntitle: Question category\ncategories: [\"Why?\"]\n---\nBody.\n"),
    // --- Slugs and permalinks ----------------------------------------------------------------
    // `slug` drives the URL, the title still comes from the file name.
    ("_posts/2022-03-01-file-slug.md", "---\nslug: Custom Slug!\n---\nBody.\n"),
    ("_posts/2022-03-02-perm.md", "---\ntitle: Perm\nslug: Mixed_Case.Name\npermalink: /:year/:i_month/:i_day/:slug/\n---\nBody.\n"),
    ("_posts/2022-03-03-perm2.md", "---\ntitle: Perm 2\ndate: 2022-03-03 09:08:07 +0800\ncategories: x y\npermalink: /archive/:short_year/:y_day/:hour:minute:second-:title:output_ext\n---\nBody.\n"),
    // Literal spaces and non-ASCII in a front-matter permalink.
    ("_posts/2022-03-04-perm3.md", "---\ntitle: Perm 3\ncategories: [Café]\npermalink: \"/my page/新闻/:categories/\"\n---\nBody.\n"),
    ("_posts/2022-03-05-perm-static.md", "---\ntitle: Perm static\npermalink: /static/page.html\n---\nBody.\n"),
    ("_posts/2022-03-06-perm4.md", "---\ntitle: Perm 4\npermalink: /w/:w_year-W:week-:w_day/:short_month/:long_day/:month_:day/:name\n---\nBody.\n"),
    // `:title` of a slug full of punctuation.
    ("_posts/2022-03-07-punct.md", "---\ntitle: Punct\nslug: \"what?#&+=@!\"\n---\nBody.\n"),
    // An empty slug in the file name.
    ("_posts/2022-03-08-.md", "---\n---\nBody.\n"),
    // An explicitly empty title stays empty.
    ("_posts/2022-03-09-empty-title.md", "---\ntitle: \"\"\n---\nBody.\n"),
    // --- published -----------------------------------------------------------------------------
    ("_posts/2022-04-01-unpublished.md", "---\ntitle: Unpublished\npublished: false\n---\nBody.\n"),
    ("_posts/2022-04-02-published-empty.md", "---\ntitle: Published empty\npublished:\n---\nBody.\n"),
    ("_posts/2022-04-03-published-string.md", "---\ntitle: Published string\npublished: \"false\"\n---\nBody.\n"),
    ("_posts/2022-04-04-published-no.md", "---\ntitle: Published no\npublished: no\n---\nBody.\n"),
    // 0 is truthy in Ruby.
    ("_posts/2022-04-05-published-zero.md", "---\ntitle: Published zero\npublished: 0\n---\nBody.\n"),
    // --- How the file is written ---------------------------------------------------------------
    ("_posts/2022-05-01-no-front-matter.md", "Just text, no front matter.\n"),
    ("_posts/2022-05-02-bom.md", "\u{feff}---\ntitle: BOM\ncategories: [bom]\n---\nBody.\n"),
    ("_posts/2022-05-03-crlf.md", "---\r\ntitle: CRLF\r\ndate: 2022-05-03 10:00:00 +08:00\r\ntags: [crlf]\r\n---\r\nBody.\r\n\r\nMore.\r\n"),
    ("_posts/2022-05-04-blank-lines.md", "---\ntitle: Blank lines\n---\n\n\n\nBody.\n"),
    ("_posts/2022-05-05-html-post.html", "---\ntitle: HTML post\n---\n<p>Body.</p>\n"),
    ("_posts/2022-05-06-markdown-ext.markdown", "---\ntitle: Markdown ext\n---\nBody.\n"),
    ("_posts/2022-05-07-empty-fm.md", "---\n---\nBody.\n"),
    ("_posts/2022-05-08-comment-fm.md", "---\n# only a comment\n---\nBody.\n"),
    // An upper-case Markdown extension.
    ("_posts/2022-05-09-upper-ext.MD", "---\ntitle: Upper ext\n---\nBody.\n"),
    // Front matter closed by `...`, opened by `---` with trailing blanks.
    ("_posts/2022-05-10-dots-close.md", "---  \ntitle: Dots close\ntags: [dots]\n...\nBody.\n"),
    // --- Titles made from slugs ----------------------------------------------------------------
    ("_posts/2022-06-10-my-GitHub-post.md", "---\n---\nBody.\n"),
    ("_posts/2022-06-11-UPPER_Case_and-Mixed.md", "---\n---\nBody.\n"),
    ("_posts/2022-06-12-hello--world.md", "---\n---\nBody.\n"),
    ("_posts/2022-06-13-trail-.md", "---\n---\nBody.\n"),
    ("_posts/2022-06-14-éclair-ÉCLAIR.md", "---\n---\nBody.\n"),
    ("_posts/2022-06-15-ßtraße.md", "---\n---\nBody.\n"),
    ("_posts/2022-06-16-multi.dots.name.md", "---\n---\nBody.\n"),
    ("_posts/2022-06-17-trailing-dots...md", "---\n---\nBody.\n"),
    ("_posts/2022-06-18-ǆemal.md", "---\n---\nBody.\n"),
    ("_posts/2022-06-19-ΣΑΣ.md", "---\n---\nBody.\n"),
    ("_posts/2022-06-20-null-title.md", "---\ntitle:\n---\nBody.\n"),
    // A compatibility character (the ligature U+FB01).
    ("_posts/2022-06-22-\u{fb01}nance.md", "---\n---\nBody.\n"),
    // A decomposed é (e + U+0301), as macOS file systems write names.
    ("_posts/2022-06-21-cafe\u{301}.md", "---\n---\nBody.\n"),
    // --- Ties: the same date, different paths -------------------------------------------------
    ("_posts/2022-07-01-a.md", "---\ntitle: Tie a\n---\nBody.\n"),
    ("_posts/2022-07-01-b.md", "---\ntitle: Tie b\n---\nBody.\n"),
    ("z/_posts/2022-07-01-a.md", "---\ntitle: Tie z a\n---\nBody.\n"),
    ("_posts/2022/2022-07-01-c.md", "---\ntitle: Tie c in a folder\n---\nBody.\n"),
    // The same instant written three ways.
    ("_posts/2022-07-02-x1.md", "---\ntitle: Same instant 1\ndate: 2022-07-02 08:00:00 +0800\n---\nBody.\n"),
    ("_posts/2022-07-02-x2.md", "---\ntitle: Same instant 2\ndate: 2022-07-02 00:00:00\n---\nBody.\n"),
    ("_posts/2022-07-02-x3.md", "---\ntitle: Same instant 3\ndate: \"2022-07-02 08:00\"\n---\nBody.\n"),
    // --- Files that are or are not posts -------------------------------------------------------
    ("_posts/_skip/2022-08-01-skipped.md", "---\ntitle: Skipped\n---\nBody.\n"),
    ("_posts/sub/_hidden/2022-08-02-deep.md", "---\ntitle: Deep\n---\nBody.\n"),
    ("_posts/notadate.md", "---\ntitle: Not a date\n---\nBody.\n"),
    ("_posts/#2022-08-03-hash.md", "---\ntitle: Hash\n---\nBody.\n"),
    ("_posts/2022-08-04-backup.md~", "---\ntitle: Backup\n---\nBody.\n"),
    ("_posts/.2022-08-07-dotfile.md", "---\ntitle: Dot file\n---\nBody.\n"),
    ("_foo/_posts/2022-08-05-under.md", "---\ntitle: Under\n---\nBody.\n"),
    (".hidden/_posts/2022-08-06-dot.md", "---\ntitle: Dot folder\n---\nBody.\n"),
    ("_drafts/draft-one.md", "---\ntitle: Draft\n---\nBody.\n"),
];

/// What one tool says about one post.
#[derive(Debug, Clone)]
struct Seen {
    url: String,
    date: Option<DateTime<FixedOffset>>,
    date_text: String,
    title: String,
    slug: String,
    categories: Vec<String>,
    tags: Vec<String>,
}

static URL_DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"/(\d{4})/(\d{2})/(\d{2})/").unwrap());

/// A JSON scalar as Liquid would print it (`{{ tag }}`), for values Jekyll keeps unconverted.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".to_string(),
        other => other.to_string(),
    }
}

fn texts(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().map(text).collect(),
        Value::Null => Vec::new(),
        other => vec![format!("<not a list: {other}>")],
    }
}

fn seen(record: &Value) -> Seen {
    let date_text = text(&record["date"]);
    Seen {
        url: text(&record["url"]),
        date: DateTime::parse_from_rfc3339(&date_text).ok(),
        date_text,
        title: text(&record["title"]),
        slug: text(&record["slug"]),
        categories: texts(&record["categories"]),
        tags: texts(&record["tags"]),
    }
}

/// The URL's `/YYYY/MM/DD/` part, if it has one.
fn url_day(url: &str) -> String {
    URL_DATE
        .captures(url)
        .map(|c| format!("{}-{}-{}", &c[1], &c[2], &c[3]))
        .unwrap_or_else(|| "-".to_string())
}

/// The post's day in the site's zone.
fn local_day(date: Option<DateTime<FixedOffset>>) -> String {
    date.map(|d| d.with_timezone(&SITE_ZONE).format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "<no date>".to_string())
}

fn write_site(site: &Path) {
    fs::write(site.join("_config.yml"), CONFIG).unwrap();
    fs::write(site.join("dump.json"), DUMP).unwrap();
    for (path, content) in FILES {
        let full = site.join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(&full, content).unwrap();
    }
}

/// Jekyll's posts, in `site.posts` order (newest first).
fn jekyll_posts(site: &Path, scratch: &Path) -> Vec<(String, Seen)> {
    let out = scratch.join("out");
    let command = jekyll::build(site, &out, scratch).arg("--safe");
    let (ok, stdout, stderr) = run(command, Duration::from_secs(60), "jekyll");
    assert!(ok, "jekyll build failed:\n{stdout}\n{stderr}");
    let dump = fs::read_to_string(out.join("dump.json"))
        .unwrap_or_else(|e| panic!("jekyll wrote no dump.json ({e}):\n{stdout}\n{stderr}"));
    let records: Vec<Value> = serde_json::from_str(&dump)
        .unwrap_or_else(|e| panic!("jekyll's dump.json is not JSON ({e}):\n{dump}"));
    records
        .iter()
        .map(|r| (text(&r["path"]), seen(r)))
        .collect()
}

/// gazette's posts, in its order (newest first), and the errors it reported.
fn gazette_posts(site: &Path) -> (Vec<(String, Seen)>, Vec<String>) {
    let command = Program::new(gazette_bin())
        .args(["check", "--json", "--site"])
        .arg(site)
        .env_remove("TZ");
    let (_, stdout, stderr) = run(command, Duration::from_secs(30), "gazette");
    let mut posts = Vec::new();
    let mut errors = Vec::new();
    let mut summary = false;
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("gazette printed a line that is not JSON ({e}): {line}"));
        match v["type"].as_str() {
            Some("post") => posts.push((text(&v["path"]), seen(&v))),
            Some("problem") if v["severity"] == "error" => errors.push(format!(
                "{}:{}:{}: {}",
                text(&v["path"]),
                v["line"],
                v["column"],
                text(&v["message"])
            )),
            Some("summary") => summary = true,
            _ => {}
        }
    }
    assert!(
        summary,
        "gazette printed no summary; stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    (posts, errors)
}

/// One differing field of one post.
struct Row {
    path: String,
    field: &'static str,
    jekyll: String,
    gazette: String,
}

fn compare(path: &str, j: &Seen, g: &Seen, rows: &mut Vec<Row>) {
    let mut diff = |field, jekyll: String, gazette: String| {
        if jekyll != gazette {
            rows.push(Row {
                path: path.to_string(),
                field,
                jekyll,
                gazette,
            });
        }
    };
    // Jekyll's `absolute_url` NFKC-normalises and leaves `?` unescaped, so its links can miss the
    // file it writes; gazette links to the file Jekyll writes (`post.url`, under the site's root).
    // Both name the same page when percent-decoded.
    diff("url", percent_decoded(&j.url), percent_decoded(&g.url));
    let same_instant = matches!((j.date, g.date), (Some(a), Some(b)) if a == b);
    if !same_instant {
        diff("date", j.date_text.clone(), g.date_text.clone());
    }
    diff("day (site zone)", local_day(j.date), local_day(g.date));
    diff("url day", url_day(&j.url), url_day(&g.url));
    diff("title", format!("{:?}", j.title), format!("{:?}", g.title));
    diff("slug", format!("{:?}", j.slug), format!("{:?}", g.slug));
    diff(
        "categories",
        format!("{:?}", j.categories),
        format!("{:?}", g.categories),
    );
    // gazette removes duplicate tags (Jekyll keeps them); tags decide no URL.
    let mut jekyll_tags: Vec<String> = Vec::new();
    for tag in &j.tags {
        if !jekyll_tags.contains(tag) {
            jekyll_tags.push(tag.clone());
        }
    }
    diff(
        "tags",
        format!("{:?}", jekyll_tags),
        format!("{:?}", g.tags),
    );
}

/// A URL with its `%XX` escapes decoded (as UTF-8, lossily).
fn percent_decoded(url: &str) -> String {
    let bytes = url.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&url[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Columns a cell takes in a terminal, roughly: combining marks take none.
fn columns(cell: &str) -> usize {
    cell.chars()
        .filter(|c| !matches!(*c as u32, 0x0300..=0x036F))
        .count()
}

fn table(rows: &[Row]) -> String {
    let headers = ["path", "field", "jekyll", "gazette"];
    let cells: Vec<[&str; 4]> = rows
        .iter()
        .map(|r| {
            [
                r.path.as_str(),
                r.field,
                r.jekyll.as_str(),
                r.gazette.as_str(),
            ]
        })
        .collect();
    let mut width = headers.map(columns);
    for row in &cells {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(columns(cell));
        }
    }
    let line = |row: [&str; 4]| {
        let mut s = String::new();
        for (i, cell) in row.iter().enumerate() {
            let pad = width[i] - columns(cell);
            s.push_str(cell);
            if i < 3 {
                s.push_str(&" ".repeat(pad));
                s.push_str(" | ");
            }
        }
        s.trim_end().to_string()
    };
    let mut out = line(headers);
    out.push('\n');
    out.push_str(&width.map(|w| "-".repeat(w)).join("-+-"));
    for row in cells {
        out.push('\n');
        out.push_str(&line(row));
    }
    out
}

#[test]
fn gazette_reads_posts_as_jekyll_does() {
    if !jekyll::available("jekyll_oracle") {
        return;
    }

    let scratch = tempfile::tempdir().unwrap();
    let site: PathBuf = scratch.path().join("site");
    fs::create_dir_all(&site).unwrap();
    write_site(&site);

    let jekyll = jekyll_posts(&site, scratch.path());
    let (gazette, gazette_errors) = gazette_posts(&site);
    assert!(
        jekyll.len() > 40,
        "the oracle saw only {} posts: is dump.json right?",
        jekyll.len()
    );

    let j: BTreeMap<&str, &Seen> = jekyll.iter().map(|(p, s)| (p.as_str(), s)).collect();
    let g: BTreeMap<&str, &Seen> = gazette.iter().map(|(p, s)| (p.as_str(), s)).collect();
    assert_eq!(j.len(), jekyll.len(), "Jekyll listed a post twice");
    assert_eq!(g.len(), gazette.len(), "gazette listed a post twice");

    let mut rows = Vec::new();
    for (path, js) in &j {
        match g.get(path) {
            Some(gs) => compare(path, js, gs, &mut rows),
            None => rows.push(Row {
                path: path.to_string(),
                field: "(post)",
                jekyll: format!("published at {}", js.url),
                gazette: "missing".to_string(),
            }),
        }
    }
    for (path, gs) in &g {
        if !j.contains_key(path) {
            rows.push(Row {
                path: path.to_string(),
                field: "(post)",
                jekyll: "not a post".to_string(),
                gazette: format!("published at {}", gs.url),
            });
        }
    }

    // Order: both list newest first, ties broken by path, last first.
    let common: BTreeSet<&str> = j.keys().filter(|p| g.contains_key(*p)).copied().collect();
    let j_order: Vec<&str> = jekyll
        .iter()
        .map(|(p, _)| p.as_str())
        .filter(|p| common.contains(p))
        .collect();
    let g_order: Vec<&str> = gazette
        .iter()
        .map(|(p, _)| p.as_str())
        .filter(|p| common.contains(p))
        .collect();
    for (i, (jp, gp)) in j_order.iter().zip(&g_order).enumerate() {
        if jp != gp {
            rows.push(Row {
                path: format!("(position {i} in site.posts)"),
                field: "order",
                jekyll: jp.to_string(),
                gazette: gp.to_string(),
            });
        }
    }

    if !rows.is_empty() {
        let mut message = format!(
            "gazette and Jekyll disagree ({} differences; Jekyll {} posts, gazette {}):\n\n{}\n",
            rows.len(),
            jekyll.len(),
            gazette.len(),
            table(&rows)
        );
        if !gazette_errors.is_empty() {
            message.push_str("\ngazette reported these errors:\n");
            for e in &gazette_errors {
                message.push_str(&format!("  {e}\n"));
            }
        }
        panic!("{message}");
    }
    assert!(
        gazette_errors.is_empty(),
        "gazette reported errors on a site Jekyll builds: {gazette_errors:#?}"
    );
}

// --- Real sites' quirks: every post Jekyll publishes is in gazette's feeds ---------------------

/// A site of the quirks found on real Jekyll sites, each of which Jekyll forgives. Every body
/// carries a marker naming its file, so that the page Jekyll writes tells which post it is.
const QUIRKS_CONFIG: &str = "\
title: Quirks
url: https://quirks.example.org
timezone: Asia/Shanghai
plugins: []
";

const QUIRKS: &[(&str, &str)] = &[
    // A key written twice: the last value wins.
    ("_posts/2021-03-01-repeated-title.md", "---\ntitle: English title\ndate: 2021-03-01 09:00:00 +0800\ntitle: 中文标题\nvideo: a\nvideo: b\n---\n"),
    ("_posts/2021-03-02-repeated-nested.md", "---\ntitle: Nested\nauthor:\n  name: A\n  name: B\n---\n"),
    // Dates only Ruby's `Time.parse` reads.
    ("_posts/2021-09-03-cest.md", "---\ntitle: CEST\ndate: Fri Sep  3 11:21:31 CEST 2021\n---\n"),
    ("_posts/2017-02-10-double-colon.md", "---\ntitle: Double colon\ndate: 2017-02-10 00:10::00 -03:00\n---\n"),
    ("_posts/2021-02-08-broken-offset.md", "---\ntitle: Broken offset\ndate: 2021-02-08 16:30-:00+16:30\n---\n"),
    ("_posts/2017-11-09-day-first.md", "---\ntitle: Day first\ndate: 11-9-2017\n---\n"),
    ("_posts/2020-05-05-words-after.md", "---\ntitle: Words after\ndate: 2020-05-05 10:00 and some words\n---\n"),
    ("_posts/2020-05-06-month-name.md", "---\ntitle: Month name\ndate: May 6, 2020\n---\n"),
    ("_posts/2020-05-07-iso-then-words.md", "---\ntitle: ISO then words\ndate: 2020-05-07T10:00:00.123+02:00 extra\n---\n"),
    ("_posts/2020-05-08-digits.md", "---\ntitle: Digits\ndate: 20200508\n---\n"),
    ("_posts/2020-05-09-eu-with-zone.md", "---\ntitle: EU with zone\ndate: 9 May 2020 18:30 EST\n---\n"),
    ("_posts/2020-05-10-weekday-only.md", "---\ntitle: Weekday\ndate: \"Sunday, 10 May 2020\"\n---\n"),
    ("_posts/2020-05-11-dots.md", "---\ntitle: Dots\ndate: 2020.05.11 08:00\n---\n"),
    ("_posts/2020-05-12-pm.md", "---\ntitle: PM\ndate: 2020/5/12 3pm\n---\n"),
    // Three posts at one URL: Jekyll writes the newest last, and its page stays.
    ("_posts/2020-01-02-same-a.md", "---\ntitle: Same A\npermalink: /same.html\n---\n"),
    ("_posts/2020-01-03-same-b.md", "---\ntitle: Same B\npermalink: /same.html\n---\n"),
    ("news/_posts/2019-01-03-same-c.md", "---\ntitle: Same C\npermalink: /same.html\n---\n"),
    // Two at one URL on the same date: the later path is written last.
    ("_posts/2020-02-02-tie-a.md", "---\ntitle: Tie A\ndate: 2020-02-02 10:00:00 +0800\npermalink: /tie/\n---\n"),
    ("_posts/2020-02-02-tie-b.md", "---\ntitle: Tie B\ndate: 2020-02-02 10:00:00 +0800\npermalink: /tie/\n---\n"),
    // Liquid in a body and a plain post beside the quirks.
    ("_posts/2022-01-12-plain.md", "---\ntitle: 普通新闻\ndate: 2022-01-12 14:18:25 +0800\ncategories: zhongguolaodongbaozhangbao\ntags: 中国劳动保障报新闻\n---\n"),
    // An include whose link points nowhere: Jekyll ignores it, and so must gazette.
];

/// Front matter that is not YAML: Jekyll reports it and still publishes the file, without its
/// front matter, dated when the build ran; gazette leaves it out (a deliberate difference).
const UNREADABLE: (&str, &str) = (
    "_posts/2020-03-03-not-yaml.md",
    "---\ntitle: [unclosed\n---\nMarker.\n",
);

/// What Jekyll published: path → (URL, date, title).
fn jekyll_quirks(
    site: &Path,
    scratch: &Path,
) -> (BTreeMap<String, (String, String, String)>, PathBuf) {
    let out = scratch.join("jekyll-out");
    let home = scratch.join("home");
    fs::create_dir_all(&home).unwrap();
    let command = Program::new("jekyll")
        .arg("build")
        .arg("--source")
        .arg(site)
        .arg("--destination")
        .arg(&out)
        .args(["--safe", "--disable-disk-cache"])
        .cwd(scratch)
        .env("HOME", &home)
        .env("LANG", "C.UTF-8")
        .env("LC_ALL", "C.UTF-8")
        .env_remove("TZ")
        .env_remove("BUNDLE_GEMFILE")
        .env_remove("RUBYOPT");
    let (ok, stdout, stderr) = run(command, Duration::from_secs(60), "jekyll-quirks");
    assert!(ok, "jekyll build failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("Conflict") || stderr.contains("Conflict"),
        "Jekyll did not warn about the shared URL:\n{stdout}\n{stderr}"
    );
    let dump = fs::read_to_string(out.join("dump.json")).unwrap();
    let records: Vec<Value> = serde_json::from_str(&dump).unwrap();
    let posts = records
        .iter()
        .map(|r| {
            (
                text(&r["path"]),
                (
                    text(&r["url"])
                        .replace("https://example.com/base", "https://quirks.example.org"),
                    text(&r["date"]),
                    text(&r["title"]),
                ),
            )
        })
        .collect();
    (posts, out)
}

#[test]
fn every_post_jekyll_publishes_is_in_the_feeds() {
    if !jekyll::available("jekyll_oracle quirks") {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let site = scratch.path().join("site");
    fs::create_dir_all(site.join("_includes")).unwrap();
    fs::write(site.join("_config.yml"), QUIRKS_CONFIG).unwrap();
    fs::write(site.join("dump.json"), DUMP).unwrap();
    for (path, front) in QUIRKS.iter().chain([&UNREADABLE]) {
        let full = site.join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(&full, format!("{front}Marker: {path}.\n")).unwrap();
    }
    std::os::unix::fs::symlink("gone.html", site.join("_includes/broken.html")).unwrap();

    let (jekyll, out) = jekyll_quirks(&site, scratch.path());
    assert!(
        jekyll.len() >= QUIRKS.len(),
        "Jekyll listed {} posts",
        jekyll.len()
    );

    // Which post's page Jekyll left at each URL.
    let mut by_url: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (path, (url, _, _)) in &jekyll {
        if path != UNREADABLE.0 {
            by_url.entry(url.as_str()).or_default().push(path.as_str());
        }
    }
    let mut expected: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (url, paths) in &by_url {
        let path = if paths.len() == 1 {
            paths[0]
        } else {
            let mut file = out.join(url.trim_start_matches("https://quirks.example.org/"));
            if url.ends_with('/') {
                file = file.join("index.html");
            }
            let page =
                fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let found: Vec<&str> = paths
                .iter()
                .copied()
                .filter(|p| page.contains(&format!("Marker: {p}.")))
                .collect();
            assert_eq!(found.len(), 1, "which post is at {url}? {page}");
            found[0]
        };
        let (_, date, title) = &jekyll[path];
        expected.insert(url.to_string(), (title.clone(), date.clone()));
    }
    assert!(
        by_url.values().any(|p| p.len() == 3),
        "the conflict did not happen: {by_url:?}"
    );

    // Links that point nowhere, which Jekyll itself stumbles on: gazette only warns.
    std::os::unix::fs::symlink("/nonexistent/gazette", site.join("assets-link")).unwrap();
    fs::create_dir_all(site.join("assets")).unwrap();
    std::os::unix::fs::symlink("../nope.png", site.join("assets/img.png")).unwrap();
    std::os::unix::fs::symlink("nowhere.md", site.join("_posts/2020-04-04-dangling.md")).unwrap();
    fs::write(site.join("gazette.yml"), "items: 1000\n").unwrap();

    let feeds = scratch.path().join("feeds");
    let command = Program::new(gazette_bin())
        .arg("build")
        .arg("--site")
        .arg(&site)
        .arg("--out")
        .arg(&feeds)
        .env_remove("TZ");
    let (ok, stdout, stderr) = run(command, Duration::from_secs(60), "gazette-quirks");
    assert!(
        ok,
        "gazette build failed on a site Jekyll builds:\n{stdout}\n{stderr}"
    );
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains(": error: ")).collect();
    assert_eq!(
        errors.len(),
        1,
        "only the unreadable post is an error:\n{stderr}"
    );
    assert!(errors[0].contains(UNREADABLE.0), "{stderr}");
    assert!(
        stderr.contains("1 post was left out of every feed"),
        "{stderr}"
    );
    for expected_warning in [
        "the key `title` appears on lines 2 and 4",
        "the key `name` appears on lines 4 and 5",
        "malformed date `Fri Sep  3 11:21:31 CEST 2021`",
        "_posts/2020-01-03-same-b.md is published at /same.html too",
        "assets-link:1:1: warning: broken symbolic link",
        "assets/img.png:1:1: warning: broken symbolic link",
        "2020-04-04-dangling.md:1:1: warning: broken symbolic link",
    ] {
        assert!(
            stderr.contains(expected_warning),
            "no warning `{expected_warning}`:\n{stderr}"
        );
    }

    let bytes = fs::read(feeds.join("feed.atom.xml")).unwrap();
    let feed = feed_rs::parser::parse(bytes.as_slice()).unwrap();
    let mut seen: BTreeMap<String, (String, String)> = BTreeMap::new();
    for entry in &feed.entries {
        let link = entry
            .links
            .first()
            .map(|l| l.href.clone())
            .unwrap_or_default();
        let title = entry
            .title
            .as_ref()
            .map(|t| t.content.clone())
            .unwrap_or_default();
        let published = entry
            .published
            .map(|d| {
                d.with_timezone(&SITE_ZONE)
                    .format("%Y-%m-%dT%H:%M:%S%:z")
                    .to_string()
            })
            .unwrap_or_default();
        assert!(
            seen.insert(link.clone(), (title, published)).is_none(),
            "{link} twice in the feed"
        );
    }
    let mut rows = Vec::new();
    for (url, (title, date)) in &expected {
        match seen.get(url) {
            None => rows.push(format!(
                "{url}: missing from the feed (Jekyll: {title} at {date})"
            )),
            Some((t, d)) if (t, d) != (title, date) => rows.push(format!(
                "{url}: Jekyll {title:?} at {date}, gazette {t:?} at {d}"
            )),
            Some(_) => {}
        }
    }
    for url in seen.keys().filter(|u| !expected.contains_key(*u)) {
        rows.push(format!(
            "{url}: in the feed, but Jekyll published nothing there"
        ));
    }
    assert!(
        rows.is_empty(),
        "feeds and Jekyll disagree:\n{}",
        rows.join("\n")
    );

    // `--strict`: the same site writes nothing at all.
    let strict_out = scratch.path().join("strict");
    let command = Program::new(gazette_bin())
        .args(["build", "--strict", "--no-cache", "--site"])
        .arg(&site)
        .arg("--out")
        .arg(&strict_out);
    let (ok, _, stderr) = run(command, Duration::from_secs(60), "gazette-strict");
    assert!(
        !ok,
        "--strict built a site with an unreadable post:\n{stderr}"
    );
    assert!(
        stderr.contains("no feed was written or changed"),
        "{stderr}"
    );
    assert!(
        !strict_out.exists(),
        "--strict wrote {}",
        strict_out.display()
    );
}
