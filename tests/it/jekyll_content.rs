//! Content oracle: a feed entry must show what Jekyll renders for the post.
//!
//! The fixture site `tests/fixtures/content-site/` holds posts that use Liquid (variables, data
//! files, includes, `post_url`, `link`, `raw`, `highlight`, filters…) and kramdown (smart quotes,
//! typographic symbols, bold next to full-width punctuation, HTML blocks, footnotes, tables,
//! attribute lists, definition lists…). The test copies it into a temporary folder, adds a
//! small plugin that makes the real `jekyll` write every post's converted content (Liquid run,
//! Markdown converted, no layout: what jekyll-feed puts in `<content>`), builds the site with
//! Jekyll and with gazette, and compares, post by post, what a reader sees: the visible text
//! (with all white space removed, since Chinese has none between words), the link targets and
//! the image sources. Jekyll's output is the only expectation.
//!
//! Visible text and links are read with a real HTML parser: ammonia (html5ever), which gazette
//! already depends on. Text: every element is dropped but its text kept, except `<script>` and
//! `<style>`, whose contents go; comments go. Links: the `href` of `<a>` and the `src` of
//! `<img>`, made absolute against the post's URL on both sides.
//!
//! When `jekyll` is not installed the comparison is skipped (loudly), unless
//! `GAZETTE_REQUIRE_JEKYLL=1` is set, in which case it fails.

use crate::support::jekyll::{self, run};
use crate::support::run::{gazette_bin, Program};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use url::Url;

/// The plugin that makes Jekyll tell what it rendered. `:post_convert` runs after Liquid and the
/// converter and before the layout, so `post.content` is exactly what jekyll-feed publishes.
const PLUGIN: &str = r#"# frozen_string_literal: true
# Written by tests/jekyll_content.rs: one JSON line per post with its converted content.
require "json"

Jekyll::Hooks.register :posts, :post_convert do |post|
  out = ENV["GAZETTE_CONTENT_DUMP"].to_s
  next if out.empty?

  File.open(out, "a") do |f|
    f.puts(JSON.generate({ "path" => post.relative_path, "url" => post.url,
                           "content" => post.content.to_s }))
  end
end
"#;

/// gazette's settings for the copy: every post in the feed.
const GAZETTE_YML: &str = "items: 1000\n";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/content-site")
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of the fixture, with gazette's settings, in `scratch/site`.
fn site_copy(scratch: &Path) -> PathBuf {
    let site = scratch.join("site");
    copy_dir(&fixture(), &site);
    fs::write(site.join("gazette.yml"), GAZETTE_YML).unwrap();
    site
}

/// The post files of the fixture (relative paths such as `_posts/2022-01-12-other.md`).
fn fixture_posts() -> BTreeSet<String> {
    fs::read_dir(fixture().join("_posts"))
        .unwrap()
        .map(|e| format!("_posts/{}", e.unwrap().file_name().to_string_lossy()))
        .collect()
}

/// The site's `url` from its `_config.yml`.
fn site_url(site: &Path) -> Url {
    let config: serde_yaml::Value =
        serde_yaml::from_str(&fs::read_to_string(site.join("_config.yml")).unwrap()).unwrap();
    let url = config["url"]
        .as_str()
        .expect("the fixture's _config.yml has a url");
    Url::parse(url).unwrap()
}

/// One post as one side shows it.
struct Rendered {
    /// The post's source file, relative to the site.
    path: String,
    /// The converted HTML.
    content: String,
}

/// Jekyll's posts by absolute URL.
fn jekyll_posts(site: &Path, scratch: &Path, root: &Url) -> BTreeMap<String, Rendered> {
    fs::create_dir_all(site.join("_plugins")).unwrap();
    fs::write(site.join("_plugins/gazette_content_dump.rb"), PLUGIN).unwrap();
    let dump = scratch.join("jekyll-content.jsonl");
    // Not `--safe`: safe mode loads no plugin from `_plugins/`.
    let command = jekyll::build(site, &scratch.join("jekyll-out"), scratch)
        .env("GAZETTE_CONTENT_DUMP", &dump);
    let (ok, stdout, stderr) = run(command, Duration::from_secs(120), "jekyll");
    assert!(ok, "jekyll build failed:\n{stdout}\n{stderr}");
    // The plugin must not stay in the copy gazette reads (it is not part of the site).
    fs::remove_dir_all(site.join("_plugins")).unwrap();
    let text = fs::read_to_string(&dump).unwrap_or_else(|e| {
        panic!("jekyll wrote no content dump ({e}): did the plugin load?\n{stdout}\n{stderr}")
    });
    let mut posts = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let record: Value = serde_json::from_str(line).unwrap_or_else(|e| {
            panic!("the content dump has a line that is not JSON ({e}): {line}")
        });
        let path = record["path"].as_str().unwrap().to_string();
        let url = absolute(root, record["url"].as_str().unwrap());
        let content = record["content"].as_str().unwrap().to_string();
        // The fixture's layout says this; a dump taken after the layout would hold it.
        assert!(
            !content.contains("LAYOUT CHROME"),
            "the content dump of {path} holds the layout: the hook runs too late"
        );
        let previous = posts.insert(url.clone(), Rendered { path, content });
        assert!(previous.is_none(), "Jekyll rendered {url} twice");
    }
    posts
}

/// Runs `gazette build` on the site; returns success, stdout and stderr.
fn gazette_build(site: &Path, out: &Path) -> (bool, String, String) {
    let command = Program::new(gazette_bin())
        .arg("build")
        .arg("--site")
        .arg(site)
        .arg("--out")
        .arg(out)
        .env_remove("TZ");
    run(command, Duration::from_secs(120), "gazette")
}

/// gazette's entries of the whole-site Atom feed: absolute link → content (empty without one).
fn gazette_entries(out: &Path) -> BTreeMap<String, String> {
    let path = out.join("feed.atom.xml");
    let bytes = fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let feed = feed_rs::parser::parse(&bytes[..])
        .unwrap_or_else(|e| panic!("feed-rs cannot read gazette's {}: {e}", path.display()));
    let mut entries = BTreeMap::new();
    for entry in feed.entries {
        let link = entry
            .links
            .iter()
            .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
            .unwrap_or_else(|| panic!("entry {} has no alternate link", entry.id));
        let url = Url::parse(&link.href)
            .map(String::from)
            .unwrap_or_else(|_| link.href.clone());
        let content = entry.content.and_then(|c| c.body).unwrap_or_default();
        let previous = entries.insert(url.clone(), content);
        assert!(previous.is_none(), "gazette's feed has {url} twice");
    }
    entries
}

/// `href` made absolute against `base`, as a browser would (or as written when it cannot be).
fn absolute(base: &Url, href: &str) -> String {
    base.join(href.trim())
        .map(String::from)
        .unwrap_or_else(|_| href.to_string())
}

/// What a reader sees of `html`, with all white space removed.
fn visible_text(html: &str) -> String {
    // No element is allowed: each goes, its text stays; `<script>` and `<style>` go with their
    // contents (ammonia's default), comments go.
    let text = ammonia::Builder::empty().clean(html).to_string();
    // html5ever escapes these four in text; `&amp;` last, so `&amp;lt;` stays `&lt;`.
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&");
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Link targets (`a href …`) and image sources (`img src …`) of `html`, absolute against `base`.
fn targets(html: &str, base: &Url) -> BTreeSet<String> {
    let found = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&found);
    let tags: HashSet<&str> = ["a", "img"].into();
    let attributes: HashMap<&str, HashSet<&str>> =
        [("a", ["href"].into()), ("img", ["src"].into())].into();
    ammonia::Builder::empty()
        .tags(tags)
        .tag_attributes(attributes)
        .link_rel(None)
        .attribute_filter(move |element, attribute, value| {
            // ammonia asks about attributes before it drops elements: keep only these two.
            if matches!((element, attribute), ("a", "href") | ("img", "src")) {
                sink.lock()
                    .unwrap()
                    .push(format!("{element} {attribute} {value}"));
            }
            Some(Cow::Borrowed(value))
        })
        .clean(html);
    let found = found.lock().unwrap();
    found
        .iter()
        .map(|item| {
            let mut parts = item.splitn(3, ' ');
            let (element, attribute, value) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            format!("{element} {attribute} {}", absolute(base, value))
        })
        .collect()
}

/// `text` from character `from` on, at most `len` characters.
fn window(text: &[char], from: usize, len: usize) -> String {
    text.iter().skip(from).take(len).collect()
}

/// Both texts around their first difference, one above the other.
fn side_by_side(jekyll: &str, gazette: &str) -> String {
    let j: Vec<char> = jekyll.chars().collect();
    let g: Vec<char> = gazette.chars().collect();
    let first = j
        .iter()
        .zip(&g)
        .position(|(a, b)| a != b)
        .unwrap_or(j.len().min(g.len()));
    let from = first.saturating_sub(30);
    format!(
        "    first difference at character {first} (of {} / {}):\n    jekyll:  {}{}\n    gazette: {}{}\n",
        j.len(),
        g.len(),
        if from > 0 { "…" } else { "" },
        window(&j, from, 80),
        if from > 0 { "…" } else { "" },
        window(&g, from, 80),
    )
}

/// A copy of the fixture in a temporary folder and Jekyll's posts, checked to be the fixture's.
fn jekyll_site() -> (tempfile::TempDir, PathBuf, BTreeMap<String, Rendered>) {
    let scratch = tempfile::tempdir().unwrap();
    let site = site_copy(scratch.path());
    let root = site_url(&site);
    let jekyll = jekyll_posts(&site, scratch.path(), &root);
    let rendered_paths: BTreeSet<String> = jekyll.values().map(|p| p.path.clone()).collect();
    assert_eq!(
        rendered_paths,
        fixture_posts(),
        "the content dump does not hold exactly the fixture's posts: is the plugin right?"
    );
    (scratch, site, jekyll)
}

/// How `other` differs from `jekyll` for a reader (visible text, links, images), if it does.
fn differences(jekyll: &str, other: &str, base: &Url) -> Option<String> {
    let (jt, ot) = (visible_text(jekyll), visible_text(other));
    let (jl, ol) = (targets(jekyll, base), targets(other, base));
    if jt == ot && jl == ol {
        return None;
    }
    let mut report = String::new();
    if jt != ot {
        report.push_str("  visible text differs\n");
        report.push_str(&side_by_side(&jt, &ot));
    }
    if jl != ol {
        report.push_str("  links and images differ\n");
        for only in jl.difference(&ol) {
            report.push_str(&format!("    only jekyll:  {only}\n"));
        }
        for only in ol.difference(&jl) {
            report.push_str(&format!("    only gazette: {only}\n"));
        }
    }
    Some(report)
}

/// Jekyll's posts in the order of their files.
fn by_path(jekyll: &BTreeMap<String, Rendered>) -> Vec<(&String, &Rendered)> {
    let mut posts: Vec<(&String, &Rendered)> = jekyll.iter().collect();
    posts.sort_by(|a, b| a.1.path.cmp(&b.1.path));
    posts
}

#[test]
fn feed_content_shows_what_jekyll_renders() {
    if !jekyll::available("jekyll_content") {
        return;
    }
    let (scratch, site, jekyll) = jekyll_site();

    let out = scratch.path().join("gazette-out");
    let (ok, stdout, stderr) = gazette_build(&site, &out);
    assert!(ok, "gazette build failed:\n{stdout}\n{stderr}");
    let gazette = gazette_entries(&out);

    let mut report = String::new();
    let mut identical = 0;
    for (url, post) in by_path(&jekyll) {
        let Some(content) = gazette.get(url) else {
            report.push_str(&format!("\n{} ({url}): not in gazette's feed\n", post.path));
            continue;
        };
        match differences(&post.content, content, &Url::parse(url).unwrap()) {
            None => identical += 1,
            Some(diff) => report.push_str(&format!("\n{} ({url}):\n{diff}", post.path)),
        }
    }
    for url in gazette.keys().filter(|u| !jekyll.contains_key(*u)) {
        report.push_str(&format!(
            "\n{url}: in gazette's feed, but Jekyll rendered no post there\n"
        ));
    }
    if !report.is_empty() {
        panic!(
            "feed content differs from what Jekyll renders: {identical} of {} posts identical\n{report}",
            jekyll.len()
        );
    }
}

/// The control: Jekyll's own HTML put through gazette's feed sanitiser still shows a reader the
/// same. Were it not so, the test above could not pass however well gazette rendered, and a
/// failure there would not be about rendering.
#[test]
fn jekyll_content_survives_gazettes_sanitiser() {
    if !jekyll::available("jekyll_content") {
        return;
    }
    let (_scratch, _site, jekyll) = jekyll_site();
    let mut report = String::new();
    for (url, post) in by_path(&jekyll) {
        let base = Url::parse(url).unwrap();
        let sanitised = gazette::feed::html::for_feed(&post.content, &base);
        if let Some(diff) = differences(&post.content, &sanitised, &base) {
            report.push_str(&format!("\n{} ({url}):\n{diff}", post.path));
        }
    }
    assert!(
        report.is_empty(),
        "gazette's sanitiser changes what a reader sees of Jekyll's own HTML:\n{report}"
    );
}

#[test]
fn gazette_reports_no_liquid_problem_on_the_fixture() {
    let scratch = tempfile::tempdir().unwrap();
    let site = site_copy(scratch.path());
    let out = scratch.path().join("gazette-out");
    let (ok, stdout, stderr) = gazette_build(&site, &out);
    assert!(ok, "gazette build failed:\n{stdout}\n{stderr}");
    // Problems are `path:line:col: severity: message`; post paths here contain "liquid", so only
    // the message is looked at.
    let problem = regex::Regex::new(r"^.*?:\d+:\d+: (note|warning|error): (.*)$").unwrap();
    let liquid: Vec<&str> = stderr
        .lines()
        .filter(|line| {
            problem
                .captures(line)
                .is_some_and(|c| c[2].to_lowercase().contains("liquid"))
        })
        .collect();
    assert!(
        liquid.is_empty(),
        "gazette reported Liquid problems on a site Jekyll builds with only its own tags:\n{}\n\nfull stderr:\n{stderr}",
        liquid.join("\n")
    );
}

/// The comparison's own tools, on inputs whose answer is known.
#[test]
fn visible_text_and_targets_read_html_as_a_browser_does() {
    let html = "<p>A&amp;lt;b &amp; <b>c</b>\u{3000}d&nbsp;e &#8617;</p><script>x()</script>\
                <style>p{}</style><!-- gone --><pre>\n  f  </pre>";
    assert_eq!(visible_text(html), "A&lt;b&cde\u{21a9}f");
    let base = Url::parse("https://h.example/a/b.html").unwrap();
    let links = targets(
        "<a href=\"c.html\" class=\"x\">1</a><a href=\"//o.example/p\">2</a>\
         <img src=\"/i.png\" alt=\"i\"><a href=\"#fn:1\">3</a><code class=\"k\">4</code>",
        &base,
    );
    let expected: BTreeSet<String> = [
        "a href https://h.example/a/c.html",
        "a href https://o.example/p",
        "img src https://h.example/i.png",
        "a href https://h.example/a/b.html#fn:1",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(links, expected);
}
