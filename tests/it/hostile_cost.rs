//! Hostile input and faults, round two: inputs whose cost would grow faster than their size: deep nesting in HTML, quotes and YAML, thousands of terms, huge posts; and values of the wrong shape.
//!
//! Speed is never asserted. Each input is big enough that the old behaviour took minutes (in a
//! debug build) or gigabytes; every run has a generous time limit, [`HANG_GUARD`], that only
//! catches a hang, and the tests assert on what was done (files written, terms kept, messages).

use std::time::Duration;

use crate::support::site::{Run, Site};

/// Not a speed limit: a run that takes this long is taken to hang (the inputs below took
/// minutes before their fixes, and take well under a second of work after them).
const HANG_GUARD: Duration = Duration::from_secs(60);

const CONFIG: &str = "url: https://hostile.example.com\ntimezone: UTC\n";

/// Runs `gazette ARGS` in `site`, killed after [`HANG_GUARD`]; fails the test when it panicked
/// or exited with other than 0 or 1.
fn guarded(site: &Site, args: &[&str]) -> Run {
    site.gazette(args).deadline(HANG_GUARD).run()
}

fn build(site: &Site, extra: &[&str]) -> Run {
    let mut args = vec!["build", "--site", ".", "--no-cache"];
    args.extend_from_slice(extra);
    guarded(site, &args)
}

fn feed(site: &Site, file: &str) -> String {
    site.read_out(file)
}

fn post(front: &str, body: &str) -> String {
    format!("---\n{front}\n---\n{body}\n")
}

// ---------------------------------------------------------------------------------------------
// 5. Deep nesting in bodies

/// 80,000 nested `<div>` (400 KB) took 81 s in a release build (html5ever looks through every
/// open element on each tag); 40,000 nested `>` took 15 s. Nesting is capped at 256 levels, with
/// a warning naming the post, and the text stays; a normal post beside them is untouched.
#[test]
fn deep_html_and_block_quotes_are_flattened_with_a_warning() {
    let site = Site::new(CONFIG);
    let divs = format!(
        "{}deep text{}",
        "<div>".repeat(80_000),
        "</div>".repeat(80_000)
    );
    site.write("_posts/2022-01-01-divs.html", post("title: Divs", &divs));
    let quotes = format!("{} quoted text", ">".repeat(80_000));
    site.write(
        "_posts/2022-01-02-quotes.md",
        post("title: Quotes", &quotes),
    );
    let spans = format!("{}x", "<span><div></span>".repeat(40_000));
    site.write("_posts/2022-01-03-spans.html", post("title: Spans", &spans));
    let normal = format!(
        "{}normal{}",
        "<div><blockquote>".repeat(100),
        "</blockquote></div>".repeat(100)
    );
    site.write(
        "_posts/2022-01-04-normal.html",
        post("title: Normal", &normal),
    );

    let run = build(&site, &[]);
    assert_eq!(run.code, Some(0), "{run:?}");
    for name in ["divs.html", "quotes.md", "spans.html"] {
        assert!(
            run.stderr.lines().any(|l| l.contains(name) && l.contains("warning: the body nests elements (HTML, block quotes, lists) more than 256 levels deep")),
            "no nesting warning for {name}: {}",
            run.stderr
        );
    }
    assert!(!run.stderr.contains("normal.html"), "{}", run.stderr);
    let atom = feed(&site, "feed.atom.xml");
    assert!(
        atom.contains("deep text") && atom.contains("quoted text"),
        "the text stays"
    );
    // The normal post's 200 levels are all there (in the summary and in the content).
    let rss = feed(&site, "feed.rss.xml");
    let item = rss
        .split("<item>")
        .find(|i| i.contains("<title>Normal</title>"))
        .unwrap();
    assert_eq!(item.matches("<blockquote>").count(), 200, "{item}");
    // The deep ones are cut near the cap.
    let item = rss
        .split("<item>")
        .find(|i| i.contains("<title>Divs</title>"))
        .unwrap();
    let depth = item.matches("<div>").count();
    assert!((2 * 250..=2 * 256).contains(&depth), "{depth} divs kept");
}

// ---------------------------------------------------------------------------------------------
// 6. Thousands of terms

/// One post with 4,000 categories wrote 4,000 feed pairs each listing all 4,000 (113 s,
/// 1.2 GB), and 100,000 tags took 48 s in `check` (each one looked up in a list). Terms are kept
/// once each through a set, and at most `max_terms` (default 100) per post, with a warning.
#[test]
fn thousands_of_terms_are_capped_with_a_warning() {
    let site = Site::new(CONFIG);
    let categories: Vec<String> = (0..4_000).map(|i| format!("c{i}")).collect();
    let tags: Vec<String> = (0..100_000).map(|i| format!("t{i}")).collect();
    site.write(
        "_posts/2022-01-01-many.md",
        post(
            &format!(
                "title: Many\ncategories: [{}]\ntags: {}",
                categories.join(", "),
                tags.join(" ")
            ),
            "Body.",
        ),
    );
    let run = build(&site, &[]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stderr.contains("_posts/2022-01-01-many.md:3:13: warning: this post has 4000 categories, over `max_terms` (100): the first 100 are kept and 3900 are dropped"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("_posts/2022-01-01-many.md:4:7: warning: this post has 100000 tags, over `max_terms` (100): the first 100 are kept and 99900 are dropped"),
        "{}",
        run.stderr
    );
    let written = std::fs::read_dir(site.path().join("_site/feeds/categories"))
        .unwrap()
        .count();
    assert_eq!(written, 200, "100 categories, RSS and Atom");
    let rss = feed(&site, "feed.rss.xml");
    assert_eq!(
        rss.matches("<category>").count(),
        200,
        "100 categories and 100 tags"
    );
    assert!(rss.contains("<category>c99</category>") && !rss.contains("<category>c100</category>"));

    // The cap is a setting.
    site.write("gazette.yml", "max_terms: 3\n");
    let run = build(&site, &[]);
    assert!(
        run.stderr.contains("this post has 4000 categories, over `max_terms` (3): the first 3 are kept and 3997 are dropped"),
        "{}",
        run.stderr
    );
    let rss = feed(&site, "feed.rss.xml");
    assert_eq!(
        rss.matches("<category>").count(),
        6,
        "3 categories and 3 tags"
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Deep YAML

/// 80,000 `[` in front matter took 43 s to be refused (the YAML scanner looks through every
/// open level on each token); `{a: ` the same. Nesting beyond 64 levels is refused before the
/// YAML library runs, at its line and column; the other posts are published.
#[test]
fn deep_yaml_nesting_is_refused_before_parsing() {
    let site = Site::new(CONFIG);
    site.write(
        "_posts/2022-01-01-brackets.md",
        post(&format!("title: B\ntags: {}", "[".repeat(80_000)), "b"),
    );
    site.write(
        "_posts/2022-01-02-braces.md",
        post(&format!("title: C\nx:\n  - {}", "{a: ".repeat(80_000)), "c"),
    );
    site.write(
        "_posts/2022-01-03-fine.md",
        post("title: Fine\nx: [[a, b], {c: [d]}]\ny: \"[[[[\"", "f"),
    );
    let run = guarded(&site, &["check", "--site", ".", "--no-cache"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    let message = "error: front matter nests `[` and `{` more than 64 levels deep";
    assert!(
        run.stderr
            .contains(&format!("_posts/2022-01-01-brackets.md:3:71: {message}")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("_posts/2022-01-02-braces.md:4:261: {message}")),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("fine.md"), "{}", run.stderr);
    // A build goes on without them.
    let run = build(&site, &[]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(feed(&site, "feed.rss.xml").contains("<title>Fine</title>"));
}

// ---------------------------------------------------------------------------------------------
// 8. Huge posts

/// A 200 MB post took 7.8 GB to build. A post over `max_post_bytes` (default 16 MiB) is left out
/// unread, with an error naming it; the build goes on without it (`--strict` fails), and the
/// setting lets a site raise the cap.
#[test]
fn a_post_over_max_post_bytes_is_left_out_unread() {
    let site = Site::new(CONFIG);
    site.write("_posts/2022-01-01-small.md", post("title: Small", "Small."));
    let huge = site.write("_posts/2022-01-02-huge.md", post("title: Huge", "x"));
    // 200 MB without writing it: a sparse file.
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(&huge)
        .unwrap();
    file.set_len(200 * 1024 * 1024).unwrap();
    drop(file);

    let run = build(&site, &[]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stderr.contains("_posts/2022-01-02-huge.md:1:1: error: the post is 209715200 bytes (200.0 MiB), over `max_post_bytes` (16777216 bytes, 16.0 MiB): it is left out, unread"),
        "{}",
        run.stderr
    );
    let rss = feed(&site, "feed.rss.xml");
    assert!(rss.contains("<title>Small</title>") && !rss.contains("Huge"));
    let strict = build(&site, &["--strict"]);
    assert_eq!(strict.code, Some(1), "{strict:?}");

    // Raised: the post is read (its NUL bytes then make it a binary file, another error).
    site.write("gazette.yml", "max_post_bytes: 300000000\n");
    let run = guarded(&site, &["check", "--site", ".", "--no-cache"]);
    assert!(
        run.stderr.contains("huge.md:5:1: error: binary file"),
        "{}",
        run.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// 12. Values of the wrong shape

/// A title, category or tag that is a mapping, a list or a tagged value became the file name's
/// words or vanished, silently. Now each is what Jekyll makes of it (checked with Jekyll 4.3:
/// a mapping is Ruby's text of it, a list title its items run together, `!!python/object` tags
/// ignored, `!ruby/object` refused), with a warning naming the field and the line.
#[test]
fn titles_and_terms_of_the_wrong_shape_are_warned_about() {
    let site = Site::new(CONFIG);
    site.write("_posts/2022-01-01-tmap.md", post("title: {a: 1}", "b"));
    site.write("_posts/2022-01-02-tlist.md", post("title: [a, b]", "b"));
    site.write(
        "_posts/2022-01-03-ttag.md",
        post("title: !!python/object:foo X", "b"),
    );
    site.write(
        "_posts/2022-01-04-terms.md",
        post(
            "title: T\ncategories: [x, {a: 1}]\ntag: {b: [1, null]}",
            "b",
        ),
    );
    site.write(
        "_posts/2022-01-05-ruby.md",
        post("title: !ruby/object:Foo {a: 1}", "b"),
    );
    let (plain, json) = site.check_both(&["--no-cache"]);
    assert_eq!(plain.code, Some(1), "{plain:?}");
    let title = |slug: &str| {
        json.posts
            .iter()
            .find(|p| p["slug"] == slug)
            .map(|p| p["title"].as_str().unwrap().to_string())
    };
    assert_eq!(title("tmap").as_deref(), Some("{\"a\"=>1}"));
    assert_eq!(title("tlist").as_deref(), Some("ab"));
    assert_eq!(title("ttag").as_deref(), Some("X"));
    assert_eq!(title("ruby"), None, "left out, as Jekyll cannot read it");
    let terms = json.posts.iter().find(|p| p["slug"] == "terms").unwrap();
    assert_eq!(terms["categories"], serde_json::json!(["x", "{\"a\"=>1}"]));
    assert_eq!(terms["tags"], serde_json::json!(["{\"b\"=>[1, nil]}"]));
    for line in [
        "_posts/2022-01-01-tmap.md:2:8: warning: `title` is a mapping, not text: Jekyll's page shows it as \"{\"a\"=>1}\"",
        "_posts/2022-01-02-tlist.md:2:8: warning: `title` is a list, not text: Jekyll's page shows it as \"ab\"",
        "_posts/2022-01-03-ttag.md:2:8: warning: `title` carries the YAML tag `!!python/object:foo`, which Jekyll ignores",
        "_posts/2022-01-04-terms.md:3:13: warning: a value of `categories` is a mapping, not a name: Jekyll names it with Ruby's text of it, `{\"a\"=>1}`",
        "_posts/2022-01-04-terms.md:4:6: warning: a value of `tag` is a mapping, not a name",
        "_posts/2022-01-05-ruby.md:2:8: error: `title` carries the YAML tag `!ruby/object:Foo`: Jekyll refuses to load the front matter",
    ] {
        assert!(plain.stderr.contains(line), "missing {line:?} in:\n{}", plain.stderr);
    }
}
