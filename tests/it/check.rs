//! Integration tests of `gazette check`: the real binary run on sites written into temporary
//! folders (and on the bundled example), with exact messages, places and exit codes.
//!
//! Tests marked `#[ignore = "…"]` describe the behaviour the reference (Jekyll 4.3, or plain
//! good sense about messages) calls for, where gazette currently does something else.

use crate::support::site as common;

use std::path::Path;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, NaiveDate};
use common::{counts_line, run_in, JsonRun, Site, SHANGHAI};
use serde_json::{json, Value};

/// Posts newest first; ties by source path, last first.
fn assert_newest_first(posts: &[Value]) {
    for pair in posts.windows(2) {
        let date = |p: &Value| DateTime::parse_from_rfc3339(p["date"].as_str().unwrap()).unwrap();
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            date(a) > date(b) || (date(a) == date(b) && a["path"].as_str() > b["path"].as_str()),
            "not newest first: {} ({}) before {} ({})",
            a["path"],
            a["date"],
            b["path"],
            b["date"]
        );
    }
}

// ------------------------------------------------------------------------------------------
// 1. The bundled example
// ------------------------------------------------------------------------------------------

fn example_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

const EXAMPLE_CATEGORIES: &str = "  english                     2
  jingjicankaobao             3
  markets                     2
  xinhuashe                   3
  zhengquanribao              3
  zhongguolaodongbaozhangbao  3
";

#[test]
fn example_site_is_clean_with_exact_counts() {
    let run = run_in(example_dir(), &["check", "--site", "example"]);
    assert_eq!(run.stderr, "");
    assert_eq!(
        run.stdout,
        format!(
            "{}{EXAMPLE_CATEGORIES}0 errors, 0 warnings and notes\n",
            counts_line(15, 0, 1, 1, 0, 0, 0)
        )
    );
    assert_eq!(run.code, Some(0));
}

#[test]
fn example_site_json_lists_posts_newest_first_with_stats() {
    let run = JsonRun::parse(run_in(
        example_dir(),
        &["check", "--site", "example", "--json"],
    ));
    assert_eq!(run.code, Some(0));
    assert_eq!(run.stderr, "");
    assert!(run.problems.is_empty(), "{:#?}", run.problems);
    assert_eq!(
        run.paths(),
        [
            "_posts/2022-01-16-genzhi-qianxin.md",
            "_posts/2022-01-15-lenglian-wuliu.md",
            "_posts/2022-01-14-nianbao-yugao.md",
            "_posts/2022-01-14-week-ahead-earnings-season.md",
            "_posts/2022-01-13-wujia-yunxing-pingwen.md",
            "_posts/2022-01-12-xinjiuye-xingtai-quanyi.md",
            "_posts/2022-01-11-zhuanxiangzhai-qianzhi.md",
            "_posts/2022-01-11-reading-the-bond-market.md",
            "_posts/2022-01-10-quanshang-kaimenhong.md",
            "_posts/2022-01-10-renshe-yonggong-fuwu.md",
            "_posts/2022-01-09-notes-on-labour-data.md",
            "_posts/2022-01-08-zhiye-jineng-peixun.md",
            "_posts/2022-01-06-zhizaoye-shuzihua.md",
            "_posts/2022-01-05-gongmu-jijin-faxing.md",
            "_posts/2022-01-03-minsheng-shangpin-baogong.md",
        ]
    );
    assert_newest_first(&run.posts);
    assert_eq!(
        run.summary,
        json!({"type": "summary", "stats": {
            "posts": 15, "drafts": 0, "drafts_skipped": 1, "unpublished": 1, "future": 0,
            "invalid": 0, "ignored": 0,
            "categories": {
                "english": 2, "jingjicankaobao": 3, "markets": 2, "xinhuashe": 3,
                "zhengquanribao": 3, "zhongguolaodongbaozhangbao": 3
            }
        }})
    );
    // A title with `&` and quotes, space-separated tags, an explicit offset.
    assert_eq!(
        run.posts[8],
        json!({
            "type": "post",
            "path": "_posts/2022-01-10-quanshang-kaimenhong.md",
            "date": "2022-01-10T15:20:48+08:00",
            "title": "两融余额稳中有升 & 券商\"开门红\"业务布局提速",
            "categories": ["zhengquanribao"],
            "tags": ["证券日报新闻", "券商"],
            "slug": "quanshang-kaimenhong",
            "url": "https://finews.example.com/zhengquanribao/2022/01/10/quanshang-kaimenhong.html",
            "excerpt": "first_paragraph",
            "draft": false
        })
    );
    // A front-matter excerpt.
    assert_eq!(run.posts[6]["excerpt"], "front_matter");
    // No date in the front matter: the file name's date, midnight in Asia/Shanghai.
    assert_eq!(
        run.posts[10],
        json!({
            "type": "post",
            "path": "_posts/2022-01-09-notes-on-labour-data.md",
            "date": "2022-01-09T00:00:00+08:00",
            "title": "Notes on China's Labour Market Data",
            "categories": ["english"],
            "tags": ["labour", "employment", "data"],
            "slug": "notes-on-labour-data",
            "url": "https://finews.example.com/english/2022/01/09/notes-on-labour-data.html",
            "excerpt": "first_paragraph",
            "draft": false
        })
    );
    // Two categories, both in the URL.
    assert_eq!(
        run.posts[7]["url"],
        "https://finews.example.com/markets/english/2022/01/11/reading-the-bond-market.html"
    );
    assert!(run.posts.iter().all(|p| p["draft"] == false));
}

#[test]
fn example_site_with_drafts_includes_the_draft() {
    let run = run_in(example_dir(), &["check", "--site", "example", "--drafts"]);
    assert_eq!(run.stderr, "");
    assert_eq!(
        run.stdout,
        format!(
            "{}  english                     3
  jingjicankaobao             3
  markets                     3
  xinhuashe                   3
  zhengquanribao              3
  zhongguolaodongbaozhangbao  3
0 errors, 0 warnings and notes\n",
            counts_line(16, 1, 0, 1, 0, 0, 0)
        )
    );
    assert_eq!(run.code, Some(0));

    let json = JsonRun::parse(run_in(
        example_dir(),
        &["check", "--site", "example", "--drafts", "--json"],
    ));
    assert_eq!(json.code, Some(0));
    assert_eq!(json.posts.len(), 16);
    assert_newest_first(&json.posts);
    let drafts: Vec<&Value> = json.posts.iter().filter(|p| p["draft"] == true).collect();
    assert_eq!(drafts.len(), 1);
    let draft = drafts[0];
    assert_eq!(draft["path"], "_drafts/upcoming-rate-decision.md");
    assert_eq!(draft["title"], "Preview: The Upcoming Rate Decision");
    assert_eq!(draft["categories"], json!(["markets", "english"]));
    assert_eq!(draft["tags"], json!(["rates", "central-bank"]));
    assert_eq!(draft["slug"], "upcoming-rate-decision");
    // A draft without a date is dated by its file's modification time, in the site's zone; the
    // URL's date parts are that date's.
    let date = draft["date"].as_str().unwrap();
    assert!(date.ends_with("+08:00"), "{date}");
    let ymd = date[..10].replace('-', "/");
    assert_eq!(
        draft["url"],
        format!("https://finews.example.com/markets/english/{ymd}/upcoming-rate-decision.html")
    );
    assert_eq!(json.summary["stats"]["drafts"], 1);
    assert_eq!(json.summary["stats"]["drafts_skipped"], 0);
}

// ------------------------------------------------------------------------------------------
// 2. Dates
// ------------------------------------------------------------------------------------------

/// A Shanghai site with one post named for 2021-12-31 (so a URL dated otherwise shows the front
/// matter won) whose third line is `date_line`.
fn dated_post(date_line: &str) -> (common::Run, JsonRun) {
    let site = Site::new(SHANGHAI);
    site.write(
        "_posts/2021-12-31-x.md",
        format!("---\ntitle: X\n{date_line}\n---\nBody.\n"),
    );
    site.check_both(&[])
}

/// Asserts the one post's `date` and URL, and the exact problems printed.
fn assert_date(date_line: &str, date: &str, url: &str, stderr: &str) {
    let (plain, json) = dated_post(date_line);
    assert_eq!(plain.stderr, stderr, "problems for `{date_line}`");
    assert_eq!(json.code, Some(0), "exit code for `{date_line}`");
    assert_eq!(json.post()["date"], date, "date for `{date_line}`");
    assert_eq!(json.post()["url"], url, "URL for `{date_line}`");
    let problems = stderr.lines().count();
    assert_eq!(
        plain.stdout,
        format!(
            "{}0 errors, {}\n",
            counts_line(1, 0, 0, 0, 0, 0, 0),
            if problems == 1 {
                "1 warning or note".to_string()
            } else {
                format!("{problems} warnings and notes")
            }
        )
    );
}

#[test]
fn date_with_compact_offset() {
    assert_date(
        "date: 2022-01-12 14:18:25 +0800",
        "2022-01-12T14:18:25+08:00",
        "/2022/01/12/x.html",
        "",
    );
}

#[test]
fn date_with_colon_offset() {
    assert_date(
        "date: 2022-01-12 14:18:25 +08:00",
        "2022-01-12T14:18:25+08:00",
        "/2022/01/12/x.html",
        "",
    );
}

#[test]
fn date_rfc3339_with_offset() {
    assert_date(
        "date: 2022-01-12T14:18:25+08:00",
        "2022-01-12T14:18:25+08:00",
        "/2022/01/12/x.html",
        "",
    );
}

#[test]
fn date_rfc3339_zulu_takes_the_site_day_for_the_url() {
    // 20:00 UTC on the 11th is 04:00 on the 12th in Shanghai: the URL is the local day.
    assert_date(
        "date: 2022-01-11T20:00:00Z",
        "2022-01-11T20:00:00+00:00",
        "/2022/01/12/x.html",
        "",
    );
}

#[test]
fn date_with_negative_offset_moves_the_url_day_forward() {
    assert_date(
        "date: 2022-01-12 23:00:00 -0500",
        "2022-01-12T23:00:00-05:00",
        "/2022/01/13/x.html",
        "",
    );
}

#[test]
fn date_unquoted_without_offset_is_utc_with_a_warning() {
    assert_date(
        "date: 2022-01-12 20:00:00",
        "2022-01-13T04:00:00+08:00",
        "/2022/01/13/x.html",
        "_posts/2021-12-31-x.md:3:7: warning: date `2022-01-12 20:00:00` has no offset, so YAML \
         reads it as UTC (as Jekyll does): 2022-01-13 04:00:00 +0800 in Asia/Shanghai; add the \
         offset (e.g. `+08:00`) if you meant local time\n",
    );
}

#[test]
fn date_unquoted_without_offset_in_a_utc_site_has_no_warning() {
    let site = Site::new("timezone: UTC\n");
    site.write(
        "_posts/2021-12-31-x.md",
        "---\ntitle: X\ndate: 2022-01-12 20:00:00\n---\nBody.\n",
    );
    let (plain, json) = site.check_both(&[]);
    assert_eq!(plain.stderr, "");
    assert_eq!(json.post()["date"], "2022-01-12T20:00:00+00:00");
    assert_eq!(json.post()["url"], "/2022/01/12/x.html");
}

#[test]
fn date_quoted_without_offset_is_local_without_warning() {
    assert_date(
        "date: \"2022-01-12 20:00:00\"",
        "2022-01-12T20:00:00+08:00",
        "/2022/01/12/x.html",
        "",
    );
}

#[test]
fn date_with_fractional_seconds_drops_the_fraction() {
    assert_date(
        "date: 2022-01-12 14:18:25.987654 +0800",
        "2022-01-12T14:18:25+08:00",
        "/2022/01/12/x.html",
        "",
    );
}

#[test]
fn date_only_is_local_midnight() {
    assert_date(
        "date: 2022-01-12",
        "2022-01-12T00:00:00+08:00",
        "/2022/01/12/x.html",
        "",
    );
}

#[test]
fn date_with_hours_and_minutes_only_is_local() {
    assert_date(
        "date: 2022-01-12 23:30",
        "2022-01-12T23:30:00+08:00",
        "/2022/01/12/x.html",
        "",
    );
}

#[test]
fn no_date_takes_the_file_name_at_local_midnight() {
    assert_date(
        "layout: post",
        "2021-12-31T00:00:00+08:00",
        "/2021/12/31/x.html",
        "",
    );
}

#[test]
fn no_timezone_uses_the_machine_zone_with_a_note() {
    // The tests pin the machine's zone to UTC.
    let site = Site::new("title: No zone\n");
    site.write(
        "_posts/2022-01-12-x.md",
        "---\ntitle: X\ndate: 2022-01-12 14:18\n---\nBody.\n",
    );
    let (plain, json) = site.check_both(&[]);
    assert_eq!(
        plain.stderr,
        "_config.yml:1:1: note: no `timezone` set: dates without an offset are read in this \
         machine's zone (UTC), as Jekyll does; set `timezone` so every machine agrees\n"
    );
    assert_eq!(json.code, Some(0));
    assert_eq!(json.post()["date"], "2022-01-12T14:18:00+00:00");
}

#[test]
fn date_only_with_offset_ignores_the_offset_like_jekyll() {
    // Jekyll (notes §2.2): `2022-01-12 +0100` is a String, and Time.parse ignores the offset:
    // 2022-01-12 00:00 local. gazette does the same, and warns.
    assert_date(
        "date: 2022-01-12 +1200",
        "2022-01-12T00:00:00+08:00",
        "/2022/01/12/x.html",
        "_posts/2021-12-31-x.md:3:7: warning: the offset in `2022-01-12 +1200` is ignored, as Jekyll ignores an offset after a date without a time; add a time (`00:00:00`) to use it\n",
    );
}

// ------------------------------------------------------------------------------------------
// 3. Categories and tags
// ------------------------------------------------------------------------------------------

/// One post in a Shanghai site at `path`, with `front` as its front matter (after the title).
fn taxonomy_post(path: &str, front: &str) -> (common::Run, JsonRun) {
    let site = Site::new(SHANGHAI);
    site.write(path, format!("---\ntitle: X\n{front}---\nBody.\n"));
    site.check_both(&[])
}

#[test]
fn categories_and_tags_as_lists_dedupe_keep_case_and_stringify_numbers() {
    let (plain, json) = taxonomy_post(
        "_posts/2022-01-12-x.md",
        "categories: [News, world, News, 2022]\ntags: [Rust, rust, Rust, 996, 1.5]\n",
    );
    assert_eq!(plain.stderr, "");
    assert_eq!(json.code, Some(0));
    let post = json.post();
    assert_eq!(post["categories"], json!(["News", "world", "2022"]));
    assert_eq!(post["tags"], json!(["Rust", "rust", "996", "1.5"]));
    assert_eq!(post["url"], "/news/world/2022/2022/01/12/x.html");
    assert_eq!(
        plain.stdout,
        format!(
            "{}  2022   1\n  News   1\n  world  1\n0 errors, 0 warnings and notes\n",
            counts_line(1, 0, 0, 0, 0, 0, 0)
        )
    );
}

#[test]
fn categories_and_tags_as_space_separated_strings() {
    let (plain, json) = taxonomy_post(
        "_posts/2022-01-12-x.md",
        "categories: News  world News\ntags: a b\ta\n",
    );
    assert_eq!(plain.stderr, "");
    assert_eq!(json.post()["categories"], json!(["News", "world"]));
    assert_eq!(json.post()["tags"], json!(["a", "b"]));
    assert_eq!(json.post()["url"], "/news/world/2022/01/12/x.html");
}

#[test]
fn singular_category_and_tag_are_not_split() {
    let (plain, json) = taxonomy_post(
        "_posts/2022-01-12-x.md",
        "category: Single Word\ntag: hello world\ntags: ignored because tag wins\n",
    );
    assert_eq!(plain.stderr, "");
    assert_eq!(json.post()["categories"], json!(["Single Word"]));
    assert_eq!(json.post()["tags"], json!(["hello world"]));
    assert_eq!(json.post()["url"], "/single%20word/2022/01/12/x.html");
}

#[test]
fn categories_come_before_category() {
    let (plain, json) = taxonomy_post(
        "_posts/2022-01-12-x.md",
        "category: Foo\ncategories: [Bar, Foo]\n",
    );
    assert_eq!(plain.stderr, "");
    assert_eq!(json.post()["categories"], json!(["Bar", "Foo"]));
}

#[test]
fn comma_separated_categories_warn_and_keep_the_comma() {
    let (plain, json) = taxonomy_post("_posts/2022-01-12-x.md", "categories: news, foundation\n");
    assert_eq!(
        plain.stderr,
        "_posts/2022-01-12-x.md:3:13: warning: categories `news,` has a comma: Jekyll splits \
         `categories` on spaces, not commas; write a list (`categories: [a, b]`) or `a b`\n"
    );
    assert_eq!(json.code, Some(0));
    assert_eq!(json.post()["categories"], json!(["news,", "foundation"]));
    assert_eq!(json.post()["url"], "/news,/foundation/2022/01/12/x.html");
}

#[test]
fn numeric_tags_warn_and_give_no_tags() {
    let (plain, json) = taxonomy_post("_posts/2022-01-12-x.md", "tags: 996\n");
    assert_eq!(
        plain.stderr,
        "_posts/2022-01-12-x.md:3:7: warning: `tags` is the number 996, which Jekyll ignores: \
         this post has no tags; quote it (`tags: \"996\"`) or make it a list\n"
    );
    assert_eq!(json.code, Some(0));
    assert_eq!(json.post()["tags"], json!([]));
}

#[test]
fn numeric_categories_are_an_error() {
    let (plain, json) = taxonomy_post("_posts/2022-01-12-x.md", "categories: 2022\n");
    assert_eq!(
        plain.stderr,
        "_posts/2022-01-12-x.md:3:13: error: `categories` is the number 2022: Jekyll cannot read \
         this post (it would publish it with the build's date and no title); write it as a \
         string (`categories: \"2022\"`) or a list\n"
    );
    assert_eq!(json.code, Some(1));
    assert!(json.posts.is_empty());
    assert_eq!(json.summary["stats"]["invalid"], 1);
}

#[test]
fn folder_categories_come_first() {
    let (plain, json) = taxonomy_post("news/_posts/2022-01-12-x.md", "categories: [world, news]\n");
    assert_eq!(plain.stderr, "");
    let post = json.post();
    assert_eq!(post["path"], "news/_posts/2022-01-12-x.md");
    assert_eq!(post["categories"], json!(["news", "world"]));
    assert_eq!(post["url"], "/news/world/2022/01/12/x.html");
    assert_eq!(
        plain.stdout,
        format!(
            "{}  news   1\n  world  1\n0 errors, 0 warnings and notes\n",
            counts_line(1, 0, 0, 0, 0, 0, 0)
        )
    );
}

#[test]
fn nested_folder_categories_keep_case_and_folders_below_posts_do_not_count() {
    let (plain, json) = taxonomy_post(
        "News/World/_posts/2022/2022-01-12-x.md",
        "categories: news\n",
    );
    assert_eq!(plain.stderr, "");
    assert_eq!(json.post()["categories"], json!(["News", "World", "news"]));
    // `:categories` lower-cases and dedupes again.
    assert_eq!(json.post()["url"], "/news/world/2022/01/12/x.html");
}

// ------------------------------------------------------------------------------------------
// 4. Permalinks
// ------------------------------------------------------------------------------------------

/// The URL of `_posts/2022-01-12-Hello-World.md` (categories News, World) under `config`.
fn permalink_url(config: &str, extra_front: &str) -> String {
    let site = Site::new(&format!("timezone: Asia/Shanghai\n{config}"));
    site.write(
        "_posts/2022-01-12-Hello-World.md",
        format!(
            "---\ntitle: X\ncategories: [News, World]\ndate: 2022-01-12 14:18:25 +0800\n\
             {extra_front}---\nBody.\n"
        ),
    );
    let (plain, json) = site.check_both(&[]);
    assert_eq!(plain.stderr, "");
    assert_eq!(json.code, Some(0));
    json.post()["url"].as_str().unwrap().to_string()
}

const SITE_URL: &str = "url: https://Example.COM:443\nbaseurl: /blog/\n";

#[test]
fn permalink_default_is_date() {
    assert_eq!(
        permalink_url("", ""),
        "/news/world/2022/01/12/Hello-World.html"
    );
}

#[test]
fn permalink_style_date() {
    assert_eq!(
        permalink_url(&format!("{SITE_URL}permalink: date\n"), ""),
        "https://example.com/blog/news/world/2022/01/12/Hello-World.html"
    );
}

#[test]
fn permalink_style_pretty() {
    assert_eq!(
        permalink_url(&format!("{SITE_URL}permalink: pretty\n"), ""),
        "https://example.com/blog/news/world/2022/01/12/Hello-World/"
    );
}

#[test]
fn permalink_style_ordinal() {
    assert_eq!(
        permalink_url(&format!("{SITE_URL}permalink: ordinal\n"), ""),
        "https://example.com/blog/news/world/2022/012/Hello-World.html"
    );
}

#[test]
fn permalink_style_weekdate() {
    assert_eq!(
        permalink_url(&format!("{SITE_URL}permalink: weekdate\n"), ""),
        "https://example.com/blog/news/world/2022/W02/Wed/Hello-World.html"
    );
}

#[test]
fn permalink_style_none() {
    assert_eq!(
        permalink_url(&format!("{SITE_URL}permalink: none\n"), ""),
        "https://example.com/blog/news/world/Hello-World.html"
    );
}

#[test]
fn permalink_custom_pattern() {
    assert_eq!(
        permalink_url(
            &format!("{SITE_URL}permalink: /:year/:i_month/:i_day/:slug-:short_month:output_ext\n"),
            ""
        ),
        "https://example.com/blog/2022/1/12/hello-world-Jan.html"
    );
}

#[test]
fn permalink_in_front_matter_overrides_the_config() {
    assert_eq!(
        permalink_url(
            &format!("{SITE_URL}permalink: pretty\n"),
            "permalink: /custom/:year/:title/\n"
        ),
        "https://example.com/blog/custom/2022/Hello-World/"
    );
}

#[test]
fn permalink_with_baseurl_but_no_url_is_a_path() {
    assert_eq!(
        permalink_url("baseurl: /blog/\n", ""),
        "/blog/news/world/2022/01/12/Hello-World.html"
    );
}

#[test]
fn permalink_percent_encodes_non_ascii_slugs_and_categories() {
    let site = Site::new(SHANGHAI);
    site.write(
        "_posts/2022-01-12-新闻-Today.md",
        "---\ntitle: X\ncategories: 财经\n---\nBody.\n",
    );
    let (plain, json) = site.check_both(&[]);
    assert_eq!(plain.stderr, "");
    let post = json.post();
    assert_eq!(post["slug"], "新闻-Today");
    assert_eq!(
        post["url"],
        "/%E8%B4%A2%E7%BB%8F/2022/01/12/%E6%96%B0%E9%97%BB-Today.html"
    );
}

#[test]
fn unknown_placeholder_in_config_permalink_points_at_the_config() {
    // Observed: `_posts/2022-01-12-x.md:2:1: error: permalink `/:year/:nope/` uses `:nope`, ...`
    // for every post (line 2 is the post's `title:`), and each post counted invalid.
    let site = Site::new("timezone: Asia/Shanghai\npermalink: /:year/:nope/\n");
    site.write("_posts/2022-01-12-x.md", "---\ntitle: X\n---\nBody.\n");
    site.write("_posts/2022-01-13-y.md", "---\ntitle: Y\n---\nBody.\n");
    let run = site.check(&[]);
    assert_eq!(run.code, Some(1));
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("_config.yml:2:1: error: ") && run.stderr.contains("`:nope`"),
        "{}",
        run.stderr
    );
}

#[test]
fn relative_url_is_percent_encoded_like_jekyll_relative_url() {
    // Jekyll (notes §5.4): `relative_url` normalises with Addressable, encoding spaces and
    // non-ASCII. With `url` set gazette does encode; without it, it prints `/blog/my page/ü/`.
    let site = Site::new("timezone: Asia/Shanghai\nbaseurl: /blog\n");
    site.write(
        "_posts/2022-01-12-x.md",
        "---\ntitle: X\npermalink: /my page/ü/\n---\nBody.\n",
    );
    let json = site.check_json(&[]);
    assert_eq!(json.post()["url"], "/blog/my%20page/%C3%BC/");
}

// ------------------------------------------------------------------------------------------
// 5. Excerpts
// ------------------------------------------------------------------------------------------

fn excerpt_kind(config: &str, file: &str) -> String {
    let site = Site::new(&format!("timezone: Asia/Shanghai\n{config}"));
    site.write("_posts/2022-01-12-x.md", file);
    let (plain, json) = site.check_both(&[]);
    assert_eq!(plain.stderr, "");
    assert_eq!(json.code, Some(0));
    json.post()["excerpt"].as_str().unwrap().to_string()
}

#[test]
fn excerpt_from_front_matter() {
    assert_eq!(
        excerpt_kind(
            "excerpt_separator: <!--more-->\n",
            "---\ntitle: X\nexcerpt: \"Custom *excerpt*\"\n---\nIntro\n<!--more-->\nRest\n"
        ),
        "front_matter"
    );
}

#[test]
fn excerpt_from_config_separator() {
    assert_eq!(
        excerpt_kind(
            "excerpt_separator: <!--more-->\n",
            "---\ntitle: X\n---\nIntro\n<!--more-->\nRest\n"
        ),
        "separator"
    );
}

#[test]
fn excerpt_from_front_matter_separator() {
    assert_eq!(
        excerpt_kind(
            "",
            "---\ntitle: X\nexcerpt_separator: <!--cut-->\n---\nIntro\n<!--cut-->\nRest\n"
        ),
        "separator"
    );
}

#[test]
fn excerpt_defaults_to_first_paragraph() {
    assert_eq!(
        excerpt_kind("", "---\ntitle: X\n---\nFirst.\n\nSecond.\n"),
        "first_paragraph"
    );
}

#[test]
fn excerpt_with_missing_custom_separator_is_the_first_paragraph() {
    // Jekyll (notes §6) would take the whole body; gazette deliberately takes the first
    // paragraph (the excerpt decides no URL, and a whole body is no summary). See the README.
    assert_eq!(
        excerpt_kind(
            "excerpt_separator: <!--more-->\n",
            "---\ntitle: X\n---\nFirst.\n\nSecond.\n"
        ),
        "first_paragraph"
    );
}

#[test]
fn excerpt_with_empty_separator_is_none() {
    // Jekyll (notes §6): `generate_excerpt?` is false, so `post.excerpt` is empty and
    // jekyll-feed writes no <summary>.
    assert_eq!(
        excerpt_kind(
            "excerpt_separator: \"\"\n",
            "---\ntitle: X\n---\nFirst.\n\nSecond.\n"
        ),
        "none"
    );
}

// ------------------------------------------------------------------------------------------
// 6. Drafts, future posts, `published`
// ------------------------------------------------------------------------------------------

fn drafts_site() -> Site {
    let site = Site::new(SHANGHAI);
    site.write(
        "_posts/2022-01-10-post.md",
        "---\ntitle: Post\n---\nBody.\n",
    );
    let undated = site.write("_drafts/my-draft.md", "---\ntags: wip\n---\nDraft.\n");
    // 2022-03-04 05:06:07 UTC = 13:06:07 in Shanghai.
    std::fs::File::options()
        .write(true)
        .open(undated)
        .unwrap()
        .set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_646_370_367))
        .unwrap();
    site.write(
        "news/_drafts/2022-02-03-dated-draft.md",
        "---\ntitle: Dated\n---\nDraft.\n",
    );
    site
}

#[test]
fn drafts_are_left_out_and_counted_without_the_flag() {
    let site = drafts_site();
    let (plain, json) = site.check_both(&[]);
    assert_eq!(plain.stderr, "");
    assert_eq!(
        plain.stdout,
        format!(
            "{}0 errors, 0 warnings and notes\n",
            counts_line(1, 0, 2, 0, 0, 0, 0)
        )
    );
    assert_eq!(json.code, Some(0));
    assert_eq!(json.paths(), ["_posts/2022-01-10-post.md"]);
    assert_eq!(json.summary["stats"]["drafts_skipped"], 2);
}

#[test]
fn drafts_are_read_with_the_flag() {
    let site = drafts_site();
    let (plain, json) = site.check_both(&["--drafts"]);
    assert_eq!(plain.stderr, "");
    assert_eq!(
        plain.stdout,
        format!(
            "{}  news  1\n0 errors, 0 warnings and notes\n",
            counts_line(3, 2, 0, 0, 0, 0, 0)
        )
    );
    assert_eq!(json.code, Some(0));
    assert_eq!(
        json.posts,
        [
            json!({
                "type": "post",
                "path": "_drafts/my-draft.md",
                "date": "2022-03-04T13:06:07+08:00",
                "title": "My Draft",
                "categories": [],
                "tags": ["wip"],
                "slug": "my-draft",
                "url": "/2022/03/04/my-draft.html",
                "excerpt": "first_paragraph",
                "draft": true
            }),
            json!({
                "type": "post",
                "path": "news/_drafts/2022-02-03-dated-draft.md",
                "date": "2022-02-03T00:00:00+08:00",
                "title": "Dated",
                "categories": ["news"],
                "tags": [],
                "slug": "dated-draft",
                "url": "/news/2022/02/03/dated-draft.html",
                "excerpt": "first_paragraph",
                "draft": true
            }),
            json!({
                "type": "post",
                "path": "_posts/2022-01-10-post.md",
                "date": "2022-01-10T00:00:00+08:00",
                "title": "Post",
                "categories": [],
                "tags": [],
                "slug": "post",
                "url": "/2022/01/10/post.html",
                "excerpt": "first_paragraph",
                "draft": false
            }),
        ]
    );
}

fn future_site(config: &str) -> Site {
    let site = Site::new(&format!("timezone: Asia/Shanghai\n{config}"));
    site.write(
        "_posts/2022-01-10-past.md",
        "---\ntitle: Past\n---\nBody.\n",
    );
    site.write(
        "_posts/2099-01-01-later.md",
        "---\ntitle: Later\n---\nBody.\n",
    );
    site.write(
        "_posts/2022-01-11-front-matter-future.md",
        "---\ntitle: FM\ndate: 2099-06-01 10:00:00 +0800\n---\nBody.\n",
    );
    site
}

#[test]
fn future_posts_are_left_out_and_counted() {
    let (plain, json) = future_site("").check_both(&[]);
    assert_eq!(plain.stderr, "");
    assert_eq!(
        plain.stdout,
        format!(
            "{}0 errors, 0 warnings and notes\n",
            counts_line(1, 0, 0, 0, 2, 0, 0)
        )
    );
    assert_eq!(json.code, Some(0));
    assert_eq!(json.paths(), ["_posts/2022-01-10-past.md"]);
    assert_eq!(json.summary["stats"]["future"], 2);
}

#[test]
fn future_posts_are_included_with_the_flag() {
    let (plain, json) = future_site("").check_both(&["--future"]);
    assert_eq!(plain.stderr, "");
    assert_eq!(
        plain.stdout,
        format!(
            "{}0 errors, 0 warnings and notes\n",
            counts_line(3, 0, 0, 0, 0, 0, 0)
        )
    );
    assert_eq!(
        json.paths(),
        [
            "_posts/2022-01-11-front-matter-future.md",
            "_posts/2099-01-01-later.md",
            "_posts/2022-01-10-past.md",
        ]
    );
    assert_eq!(json.posts[0]["url"], "/2099/06/01/front-matter-future.html");
}

#[test]
fn future_posts_are_included_with_future_true_in_the_config() {
    let json = future_site("future: true\n").check_json(&[]);
    assert_eq!(json.code, Some(0));
    assert_eq!(json.posts.len(), 3);
    assert_eq!(json.summary["stats"]["future"], 0);
}

/// One post with `published_line`; returns (posts, unpublished count).
fn published(published_line: &str) -> (usize, u64) {
    let site = Site::new(SHANGHAI);
    site.write(
        "_posts/2022-01-12-x.md",
        format!("---\ntitle: X\n{published_line}\n---\nBody.\n"),
    );
    let (plain, json) = site.check_both(&[]);
    assert_eq!(plain.stderr, "", "problems for `{published_line}`");
    assert_eq!(json.code, Some(0));
    let unpublished = json.summary["stats"]["unpublished"].as_u64().unwrap();
    let expected = counts_line(json.posts.len(), 0, 0, unpublished as usize, 0, 0, 0);
    assert!(plain.stdout.starts_with(&expected), "{}", plain.stdout);
    (json.posts.len(), unpublished)
}

#[test]
fn published_false_is_left_out() {
    assert_eq!(published("published: false"), (0, 1));
}

#[test]
fn published_no_is_left_out() {
    assert_eq!(published("published: no"), (0, 1));
}

#[test]
fn published_quoted_false_is_published_like_jekyll() {
    assert_eq!(published("published: \"false\""), (1, 0));
}

#[test]
fn published_other_values_like_jekyll() {
    // Null is falsy in Ruby; 0, "no" and true are truthy; YAML 1.1 `Off` and `NO` are false.
    assert_eq!(published("published:"), (0, 1));
    assert_eq!(published("published: Off"), (0, 1));
    assert_eq!(published("published: NO"), (0, 1));
    assert_eq!(published("published: 0"), (1, 0));
    assert_eq!(published("published: 'no'"), (1, 0));
    assert_eq!(published("published: true"), (1, 0));
}

#[test]
fn unpublished_post_with_a_bad_date_is_still_an_error() {
    // Jekyll (notes §2.1, §1.4): merge_date! raises InvalidDateError (fatal) while reading the
    // front matter, before `published` is looked at. gazette says 0 errors, exit 0.
    let site = Site::new(SHANGHAI);
    site.write(
        "_posts/2022-01-12-x.md",
        "---\ntitle: X\npublished: false\ndate: 2022-13-45\n---\nBody.\n",
    );
    let run = site.check(&[]);
    assert_eq!(
        run.stderr,
        "_posts/2022-01-12-x.md:4:7: error: bad date: month 13 is out of range (1 to 12)\n"
    );
    assert_eq!(run.code, Some(1));
}

// ------------------------------------------------------------------------------------------
// 7. Bad input
// ------------------------------------------------------------------------------------------

/// One file at `path` in a Shanghai site; asserts it is the one invalid file, with exactly
/// `stderr`, and exit 1.
fn assert_invalid(path: &str, content: impl AsRef<[u8]>, stderr: &str) {
    let site = Site::new(SHANGHAI);
    site.write(path, content);
    let (plain, json) = site.check_both(&[]);
    assert_eq!(plain.stderr, stderr);
    assert_eq!(
        plain.stdout,
        format!(
            "{}1 error, 0 warnings and notes\n",
            counts_line(0, 0, 0, 0, 0, 1, 0)
        )
    );
    assert_eq!(plain.code, Some(1));
    assert!(json.posts.is_empty());
    assert_eq!(json.summary["stats"]["invalid"], 1);
}

#[test]
fn invalid_yaml_points_at_the_bad_place() {
    assert_invalid(
        "_posts/2022-01-12-x.md",
        "---\ntitle: X\n  bad: indent\n---\nBody.\n",
        "_posts/2022-01-12-x.md:3:6: error: invalid YAML in front matter: mapping values are not \
         allowed in this context\n",
    );
}

#[test]
fn invalid_yaml_tab_indentation() {
    assert_invalid(
        "_posts/2022-01-12-x.md",
        "---\ntitle: X\ntags:\n\t- a\n---\nBody.\n",
        "_posts/2022-01-12-x.md:4:1: error: invalid YAML in front matter: found character that \
         cannot start any token, while scanning for the next token\n",
    );
}

#[test]
fn a_repeated_key_keeps_its_last_value_with_a_warning_naming_both_lines() {
    let site = Site::new(SHANGHAI);
    site.write(
        "_posts/2022-01-12-x.md",
        "---\ntitle: X\ndate: 2022-01-12\ntitle: Y\n---\nBody.\n",
    );
    let (plain, json) = site.check_both(&[]);
    assert_eq!(
        plain.stderr,
        "_posts/2022-01-12-x.md:4:1: warning: the key `title` appears on lines 2 and 4: the last \
         value is used, as Jekyll uses it\n"
    );
    assert_eq!(plain.code, Some(0));
    assert_eq!(json.posts[0]["title"], "Y");
}

#[test]
fn invalid_yaml_unclosed_flow_sequence_is_reported_where_the_parser_stops() {
    assert_invalid(
        "_posts/2022-01-12-x.md",
        "---\ntitle: X\ntags: [a, b\n---\nBody.\n",
        "_posts/2022-01-12-x.md:4:1: error: invalid YAML in front matter: did not find expected \
         ',' or ']', while parsing a flow sequence that starts at 3:7\n",
    );
}

#[test]
fn invalid_yaml_says_where_the_unclosed_construct_starts() {
    // The YAML library says "did not find expected ',' or ']' at line 3 column 1, while parsing
    // a flow sequence at line 2 column 7" (front-matter lines); gazette truncates at " at line "
    // and keeps only "did not find expected ',' or ']'" at 4:1, the `---` line.
    let site = Site::new(SHANGHAI);
    site.write(
        "_posts/2022-01-12-x.md",
        "---\ntitle: X\ntags: [a, b\n---\nBody.\n",
    );
    let run = site.check(&[]);
    assert_eq!(run.code, Some(1));
    assert!(
        (run.stderr.contains("flow sequence") && run.stderr.contains("3:7"))
            || run.stderr.contains("line 3 column 7"),
        "the message should say the `[` opened at 3:7 is never closed: {}",
        run.stderr
    );
    site.write("_posts/2022-01-12-x.md", "---\ntitle: \"X\n---\nBody.\n");
    let run = site.check(&[]);
    assert!(
        (run.stderr.contains("quoted scalar") && run.stderr.contains("2:8"))
            || run.stderr.contains("line 2 column 8"),
        "the message should say the quote opened at 2:8 is never closed: {}",
        run.stderr
    );
}

#[test]
fn unclosed_front_matter() {
    assert_invalid(
        "_posts/2022-01-12-x.md",
        "---\ntitle: X\nBody without a closing fence.\n",
        "_posts/2022-01-12-x.md:1:1: error: front matter opened by `---` on line 1 is never \
         closed: add a `---` line after it\n",
    );
}

#[test]
fn front_matter_that_is_a_list() {
    assert_invalid(
        "_posts/2022-01-12-x.md",
        "---\n- a\n- b\n---\nBody.\n",
        "_posts/2022-01-12-x.md:2:1: error: front matter is a list, but it must be a mapping of \
         keys (`title: …`)\n",
    );
}

#[test]
fn front_matter_that_is_a_scalar() {
    assert_invalid(
        "_posts/2022-01-12-x.md",
        "---\njust a string\n---\nBody.\n",
        "_posts/2022-01-12-x.md:2:1: error: front matter is the string \"just a string\", but it \
         must be a mapping of keys (`title: …`)\n",
    );
    assert_invalid(
        "_posts/2022-01-12-x.md",
        "---\n42\n---\nBody.\n",
        "_posts/2022-01-12-x.md:2:1: error: front matter is the number 42, but it must be a \
         mapping of keys (`title: …`)\n",
    );
}

fn bad_date(date_line: &str, stderr_after_path: &str) {
    assert_invalid(
        "_posts/2022-01-12-x.md",
        format!("---\ntitle: X\n{date_line}\n---\nBody.\n"),
        &format!("_posts/2022-01-12-x.md:{stderr_after_path}\n"),
    );
}

#[test]
fn bad_date_month_13_day_45() {
    bad_date(
        "date: 2022-13-45",
        "3:7: error: bad date: month 13 is out of range (1 to 12)",
    );
}

#[test]
fn bad_date_february_30() {
    bad_date(
        "date: 2022-02-30",
        "3:7: error: bad date: day 30 does not exist in 2022-02",
    );
    bad_date(
        "date: \"2022-02-30 10:00\"",
        "3:7: error: bad date: day 30 does not exist in 2022-02",
    );
}

#[test]
fn bad_date_year_zero() {
    bad_date(
        "date: 0000-01-01 10:00:00 +0800",
        "3:7: error: bad date: year 0 is out of range: feeds carry years 0001 to 9999",
    );
}

#[test]
fn a_date_not_even_ruby_reads_takes_the_file_names_date_with_a_warning() {
    let site = Site::new(SHANGHAI);
    site.write(
        "_posts/2022-01-12-x.md",
        "---\ntitle: X\ndate: 16:30-:00+16:30\n---\nBody.\n",
    );
    let (plain, json) = site.check_both(&[]);
    assert_eq!(
        plain.stderr,
        "_posts/2022-01-12-x.md:3:7: warning: bad date: `16:30-:00+16:30` is not a date gazette \
         can read as Jekyll would: write it as `2022-01-12 14:18:25 +0800`, `2022-01-12` or RFC \
         3339; the file name's date (2022-01-12) is used instead\n"
    );
    assert_eq!(plain.code, Some(0));
    assert_eq!(json.posts.len(), 1);
    assert_eq!(json.posts[0]["date"], "2022-01-12T00:00:00+08:00");
}

#[test]
fn a_malformed_date_is_read_as_ruby_reads_it_with_a_warning() {
    let site = Site::new(SHANGHAI);
    site.write(
        "_posts/2017-11-09-x.md",
        "---\ntitle: X\ndate: 11-9-2017\n---\nBody.\n",
    );
    let (plain, json) = site.check_both(&[]);
    assert!(
        plain
            .stderr
            .starts_with("_posts/2017-11-09-x.md:3:7: warning: malformed date `11-9-2017`"),
        "{}",
        plain.stderr
    );
    assert_eq!(plain.code, Some(0));
    // Ruby reads day first here, and Jekyll's URL follows the front matter's date.
    assert_eq!(json.posts[0]["date"], "2017-09-11T00:00:00+08:00");
    assert_eq!(json.posts[0]["url"], "/2017/09/11/x.html");
}

#[test]
fn bad_date_offset_of_24_hours() {
    bad_date(
        "date: 2022-01-12 10:00:00 +24:00",
        "3:7: error: bad date: offset +24:00 is out of range (it must be under 24 hours)",
    );
}

#[test]
fn bad_date_empty() {
    bad_date(
        "date:",
        "3:1: error: bad date: `date:` is empty (Jekyll stops the whole build on this): give a \
         date or remove the line",
    );
}

#[test]
fn bad_date_in_the_file_name() {
    assert_invalid(
        "_posts/2022-13-45-x.md",
        "---\ntitle: X\n---\nBody.\n",
        "_posts/2022-13-45-x.md:1:1: error: bad date in the file name: month 13 is out of range \
         (1 to 12)\n",
    );
}

#[test]
fn offset_beyond_14_hours_is_a_warning() {
    assert_date(
        "date: 2022-01-12 10:00:00 +16:30",
        "2022-01-12T10:00:00+16:30",
        // 17:30 UTC on the 11th: 01:30 on the 12th in Shanghai.
        "/2022/01/12/x.html",
        "_posts/2021-12-31-x.md:3:7: warning: offset +16:30 is beyond ±14:00, which no place on \
         Earth uses; it is taken literally, as Jekyll does\n",
    );
}

#[test]
fn non_utf8_file_points_at_the_bad_byte() {
    assert_invalid(
        "_posts/2022-01-12-x.md",
        b"---\ntitle: \xe4\xb8\xad\xe6\x96\x87\n---\nBody ok.\nsecond \xff line\n",
        "_posts/2022-01-12-x.md:5:8: error: not valid UTF-8 (byte 0xFF): save the file as UTF-8\n",
    );
    // Latin-1 in the front matter, after a character that is several bytes in UTF-8.
    assert_invalid(
        "_posts/2022-01-12-x.md",
        b"---\ntitle: \xe4\xb8\xadab\xe9c\n---\nBody.\n",
        "_posts/2022-01-12-x.md:2:11: error: not valid UTF-8 (byte 0xE9): save the file as UTF-8\n",
    );
}

#[test]
fn byte_order_mark_is_not_a_column() {
    // Observed 1:4; the bad byte follows the two visible characters `ab`.
    assert_invalid(
        "_posts/2022-01-12-x.md",
        b"\xef\xbb\xbfab\xff\n",
        "_posts/2022-01-12-x.md:1:3: error: not valid UTF-8 (byte 0xFF): save the file as UTF-8\n",
    );
}

#[test]
fn binary_file_with_a_nul_byte() {
    assert_invalid(
        "_posts/2022-01-12-x.md",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "_posts/2022-01-12-x.md:3:1: error: binary file (it contains a NUL byte), not a text \
         post\n",
    );
    assert_invalid(
        "_posts/2022-01-12-x.md",
        b"---\ntitle: X\n---\nab\x00cd\n",
        "_posts/2022-01-12-x.md:4:3: error: binary file (it contains a NUL byte), not a text \
         post\n",
    );
}

fn duplicate_site() -> Site {
    let site = Site::new(SHANGHAI);
    site.write("_posts/2022-01-12-same.md", "---\ntitle: A\n---\nA.\n");
    site.write(
        "_posts/2022-01-13-other.md",
        "---\ntitle: B\npermalink: /2022/01/12/same.html\n---\nB.\n",
    );
    site
}

#[test]
fn a_shared_url_goes_to_the_post_jekyll_writes_last_with_a_warning_naming_it() {
    let site = duplicate_site();
    // With an absolute --site, the place and the message both show absolute paths.
    let dir = site.path().display().to_string();
    let run = run_in(site.path(), &["check", "--site", &dir]);
    assert_eq!(
        run.stderr,
        format!(
            "{dir}/_posts/2022-01-12-same.md:1:1: warning: conflict: {dir}/_posts/2022-01-13-other.md \
             is published at /2022/01/12/same.html too, and Jekyll writes it last, so the page \
             there is that post's: this one is left out of the feeds (give one of them another \
             `permalink`)\n"
        )
    );
    assert_eq!(
        run.stdout,
        format!(
            "{}0 errors, 1 warning or note\n",
            counts_line(1, 0, 0, 0, 0, 0, 0)
        )
    );
    assert_eq!(run.code, Some(0));
}

#[test]
fn a_shared_url_names_the_other_file_as_locations_do() {
    let (plain, json) = duplicate_site().check_both(&[]);
    assert_eq!(
        plain.stderr,
        "_posts/2022-01-12-same.md:1:1: warning: conflict: _posts/2022-01-13-other.md is \
         published at /2022/01/12/same.html too, and Jekyll writes it last, so the page there is \
         that post's: this one is left out of the feeds (give one of them another `permalink`)\n"
    );
    assert_eq!(plain.code, Some(0));
    assert_eq!(json.posts.len(), 1);
    assert_eq!(json.posts[0]["title"], "B");
}

/// A site whose `_config.yml` holds `config`, with one good post; asserts the exact stderr, an
/// empty stdout (no summary when the config is unusable) and exit 1.
fn assert_bad_config(config: &str, stderr: &str) {
    let site = Site::new(config);
    site.write("_posts/2022-01-12-x.md", "---\ntitle: X\n---\nBody.\n");
    let (plain, json) = site.check_both(&[]);
    assert_eq!(plain.stderr, stderr);
    assert_eq!(plain.stdout, "");
    assert_eq!(plain.code, Some(1));
    assert!(json.posts.is_empty());
    assert_eq!(json.summary["stats"]["posts"], 0);
}

#[test]
fn config_that_is_not_a_mapping() {
    assert_bad_config(
        "- a\n- b\n",
        "_config.yml:1:1: error: the configuration is a list, but it must be a mapping of \
         settings (`title: …`)\n",
    );
    assert_bad_config(
        "just text\n",
        "_config.yml:1:1: error: the configuration is the string \"just text\", but it must be a \
         mapping of settings (`title: …`)\n",
    );
}

#[test]
fn config_with_invalid_yaml() {
    assert_bad_config(
        "title: x\n  bad: indent\n",
        "_config.yml:2:6: error: invalid YAML: mapping values are not allowed in this context\n",
    );
}

#[test]
fn config_with_a_bad_timezone() {
    assert_bad_config(
        "title: x\ntimezone: Mars/Olympus\n",
        "_config.yml:2:1: error: `timezone: Mars/Olympus` is not an IANA time zone name (such as \
         Asia/Shanghai)\n",
    );
}

#[test]
fn unknown_gazette_setting_is_a_warning() {
    let site = Site::new("title: x\ntimezone: UTC\ngazette:\n  tag_feeds: true\n  colour: blue\n");
    site.write("_posts/2022-01-12-x.md", "---\ntitle: X\n---\nBody.\n");
    let (plain, json) = site.check_both(&[]);
    assert_eq!(
        plain.stderr,
        "_config.yml:5:3: warning: unknown gazette setting `colour` is ignored\n"
    );
    assert_eq!(
        plain.stdout,
        format!(
            "{}0 errors, 1 warning or note\n",
            counts_line(1, 0, 0, 0, 0, 0, 0)
        )
    );
    assert_eq!(plain.code, Some(0));
    assert_eq!(json.posts.len(), 1);
}

#[test]
fn gazette_setting_of_the_wrong_type_names_the_key() {
    // Observed: `_config.yml:3:1: error: gazette setting: invalid type: string "many", expected usize`.
    let site = Site::new("title: x\ntimezone: UTC\ngazette:\n  items: many\n");
    site.write("_posts/2022-01-12-x.md", "---\ntitle: X\n---\nBody.\n");
    let run = site.check(&[]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.starts_with("_config.yml:4:") && run.stderr.contains("items"),
        "{}",
        run.stderr
    );
}

#[test]
fn files_in_posts_not_named_like_posts_are_noted_and_ignored() {
    let site = Site::new(SHANGHAI);
    site.write("_posts/notes.md", "---\ntitle: Notes\n---\nBody.\n");
    site.write("_posts/2022-01-12-photo.png", "not really a PNG");
    site.write("_posts/2022-01-12-x.md", "---\ntitle: X\n---\nBody.\n");
    let (plain, json) = site.check_both(&[]);
    assert_eq!(
        plain.stderr,
        "_posts/2022-01-12-photo.png:1:1: note: ignored: `.png` is neither Markdown (markdown, \
         mkdown, mkdn, mkd, md) nor HTML\n\
         _posts/notes.md:1:1: note: ignored: a post's file name must be YYYY-MM-DD-slug.md (or \
         .markdown, .html)\n"
    );
    assert_eq!(
        plain.stdout,
        format!(
            "{}0 errors, 2 warnings and notes\n",
            counts_line(1, 0, 0, 0, 0, 0, 2)
        )
    );
    assert_eq!(plain.code, Some(0));
    assert_eq!(json.paths(), ["_posts/2022-01-12-x.md"]);
}

#[test]
fn bom_crlf_and_tabs_in_front_matter_read_fine() {
    let site = Site::new(SHANGHAI);
    site.write(
        "_posts/2022-01-12-x.md",
        "\u{feff}---  \r\ntitle:\t\"Tabbed\"\t\r\ntags:\t[a,\tb]\r\ncategories: one\ttwo\r\n\
         date: 2022-01-12 10:00:00 +0800\r\n---\r\n\r\nBody.\r\n",
    );
    let (plain, json) = site.check_both(&[]);
    assert_eq!(plain.stderr, "");
    assert_eq!(plain.code, Some(0));
    assert_eq!(
        json.post(),
        &json!({
            "type": "post",
            "path": "_posts/2022-01-12-x.md",
            "date": "2022-01-12T10:00:00+08:00",
            "title": "Tabbed",
            "categories": ["one", "two"],
            "tags": ["a", "b"],
            "slug": "x",
            "url": "/one/two/2022/01/12/x.html",
            "excerpt": "first_paragraph",
            "draft": false
        })
    );
}

#[test]
fn crlf_front_matter_errors_have_the_right_place() {
    assert_invalid(
        "_posts/2022-01-12-x.md",
        "\u{feff}---\r\ntitle: X\r\ndate: 2022-02-30\r\n---\r\nBody.\r\n",
        "_posts/2022-01-12-x.md:3:7: error: bad date: day 30 does not exist in 2022-02\n",
    );
}

#[test]
fn non_ascii_file_names() {
    let site = Site::new(SHANGHAI);
    site.write(
        "_posts/2022-01-12-中文标题.md",
        "---\ndate: 2022-01-12 10:00:00 +0800\n---\nBody.\n",
    );
    let (plain, json) = site.check_both(&[]);
    assert_eq!(plain.stderr, "");
    assert_eq!(
        json.post(),
        &json!({
            "type": "post",
            "path": "_posts/2022-01-12-中文标题.md",
            "date": "2022-01-12T10:00:00+08:00",
            "title": "中文标题",
            "categories": [],
            "tags": [],
            "slug": "中文标题",
            "url": "/2022/01/12/%E4%B8%AD%E6%96%87%E6%A0%87%E9%A2%98.html",
            "excerpt": "first_paragraph",
            "draft": false
        })
    );
    // Problems name such files as they are.
    assert_invalid(
        "_posts/2022-01-12-坏日期.md",
        "---\ntitle: 标题\ndate: 2022-02-30\n---\nBody.\n",
        "_posts/2022-01-12-坏日期.md:3:7: error: bad date: day 30 does not exist in 2022-02\n",
    );
}

#[test]
fn yaml_non_specific_tag_on_a_title() {
    let site = Site::new(SHANGHAI);
    site.write("_posts/2022-01-12-x.md", "---\ntitle: ! 'x'\n---\nBody.\n");
    let (plain, json) = site.check_both(&[]);
    assert_eq!(plain.stderr, "");
    assert_eq!(plain.code, Some(0));
    assert_eq!(json.post()["title"], "x");
}

#[test]
fn empty_file_is_a_post_titled_from_its_name_with_a_warning() {
    let site = Site::new(SHANGHAI);
    site.write("_posts/2022-01-12-empty-post.md", "");
    let (plain, json) = site.check_both(&[]);
    assert_eq!(
        plain.stderr,
        "_posts/2022-01-12-empty-post.md:1:1: warning: no front matter: Jekyll still publishes \
         this file, titled \"Empty Post\" from its name\n"
    );
    assert_eq!(
        plain.stdout,
        format!(
            "{}0 errors, 1 warning or note\n",
            counts_line(1, 0, 0, 0, 0, 0, 0)
        )
    );
    assert_eq!(plain.code, Some(0));
    assert_eq!(
        json.post(),
        &json!({
            "type": "post",
            "path": "_posts/2022-01-12-empty-post.md",
            "date": "2022-01-12T00:00:00+08:00",
            "title": "Empty Post",
            "categories": [],
            "tags": [],
            "slug": "empty-post",
            "url": "/2022/01/12/empty-post.html",
            "excerpt": "first_paragraph",
            "draft": false
        })
    );
}

#[test]
fn one_bad_post_does_not_hide_the_others() {
    let site = Site::new(SHANGHAI);
    site.write(
        "_posts/2022-01-10-good.md",
        "---\ntitle: Good\n---\nBody.\n",
    );
    site.write(
        "_posts/2022-01-11-bad.md",
        "---\ntitle: Bad\ndate: 2022-02-30\n---\nBody.\n",
    );
    site.write(
        "_posts/2022-01-12-also-good.md",
        "---\ntitle: Also\n---\nBody.\n",
    );
    let (plain, json) = site.check_both(&[]);
    assert_eq!(
        plain.stderr,
        "_posts/2022-01-11-bad.md:3:7: error: bad date: day 30 does not exist in 2022-02\n"
    );
    assert_eq!(
        plain.stdout,
        format!(
            "{}1 error, 0 warnings and notes\n",
            counts_line(2, 0, 0, 0, 0, 1, 0)
        )
    );
    assert_eq!(plain.code, Some(1));
    assert_eq!(
        json.paths(),
        [
            "_posts/2022-01-12-also-good.md",
            "_posts/2022-01-10-good.md"
        ]
    );
}

#[test]
fn same_date_ties_are_ordered_by_path_descending_bytewise_like_ruby() {
    // Ruby compares whole paths as strings: `-` (0x2D) sorts before `/` (0x2F), and `_` (0x5F)
    // before `z`.
    let site = Site::new(SHANGHAI);
    for path in [
        "_posts/2022-06-01-a.md",
        "_posts/2022-06-01-l.md",
        "_posts/a/2022-06-01-p.md",
        "_posts/a-b/2022-06-01-q.md",
        "z/_posts/2022-06-01-z.md",
    ] {
        site.write(path, "---\ntitle: T\n---\nBody.\n");
    }
    let (plain, json) = site.check_both(&[]);
    assert_eq!(plain.stderr, "");
    assert_eq!(
        json.paths(),
        [
            "z/_posts/2022-06-01-z.md",
            "_posts/a/2022-06-01-p.md",
            "_posts/a-b/2022-06-01-q.md",
            "_posts/2022-06-01-l.md",
            "_posts/2022-06-01-a.md",
        ]
    );
}

// ------------------------------------------------------------------------------------------
// 8. Many posts
// ------------------------------------------------------------------------------------------

#[test]
fn ten_thousand_posts() {
    const N: usize = 10_000;
    let site = Site::new("timezone: UTC\n");
    let posts = site.path().join("_posts");
    std::fs::create_dir_all(&posts).unwrap();
    let start = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    // Written from a few threads: 10,000 small files.
    std::thread::scope(|scope| {
        for part in 0..4 {
            let posts = &posts;
            scope.spawn(move || {
                for i in (part..N).step_by(4) {
                    let day = start + chrono::Days::new((i % 700) as u64);
                    let category = ["alpha", "beta", "gamma", "delta"][i % 4];
                    std::fs::write(
                        posts.join(format!("{day}-post-{i}.md")),
                        format!(
                            "---\ntitle: Post {i}\ncategories: {category}\ntags: [t{}]\n---\nBody {i}.\n",
                            i % 10
                        ),
                    )
                    .unwrap();
                }
            });
        }
    });

    let run = site.check(&[]);
    assert_eq!(run.stderr, "");
    assert_eq!(
        run.stdout,
        format!(
            "{}  alpha  2500\n  beta   2500\n  delta  2500\n  gamma  2500\n0 errors, 0 warnings and notes\n",
            counts_line(N, 0, 0, 0, 0, 0, 0)
        )
    );
    assert_eq!(run.code, Some(0));

    let json = site.check_json(&[]);
    assert_eq!(json.code, Some(0));
    assert_eq!(json.posts.len(), N);
    assert_eq!(json.summary["stats"]["posts"], N);
    assert!(json.problems.is_empty());
    assert_newest_first(&json.posts);

    // How many cores the run used: printed only (see `--nocapture`), never asserted.
    let time = Path::new("/usr/bin/time");
    if time.exists() {
        let out = common::Program::new(time)
            .arg("-v")
            .arg(common::gazette_bin())
            .args(["check", "--site", "."])
            .cwd(site.path())
            .run();
        assert_eq!(out.code, Some(0));
        let stderr = out.stderr;
        for line in stderr.lines() {
            if line.contains("Percent of CPU") {
                println!("gazette check on {N} posts: {}", line.trim());
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// 9. The cache of what was read
// ------------------------------------------------------------------------------------------

#[test]
fn the_cache_is_used_but_never_trusted_blindly() {
    let site = Site::new(SHANGHAI);
    site.write("_posts/2022-01-12-a.md", "---\ntitle: First\n---\nBody.\n");
    site.write("_posts/2022-01-13-b.md", "---\ntitle: Second\n---\nBody.\n");
    let cache = site.path().join(".gazette/posts.cache");
    assert_eq!(site.check_json(&[]).posts[1]["title"], "First");
    assert!(cache.is_file(), "the first run writes the cache");

    // An edit (same size, new mtime) is seen.
    std::thread::sleep(std::time::Duration::from_millis(20));
    site.write("_posts/2022-01-12-a.md", "---\ntitle: FIRST\n---\nBody.\n");
    assert_eq!(site.check_json(&[]).posts[1]["title"], "FIRST");

    // A damaged cache is ignored and rebuilt; so is one from other settings.
    let mut bytes = std::fs::read(&cache).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&cache, &bytes).unwrap();
    let json = site.check_json(&[]);
    assert_eq!(json.code, Some(0));
    assert_eq!(json.posts.len(), 2);
    assert_eq!(json.posts[1]["title"], "FIRST");
    std::fs::write(&cache, b"not a cache").unwrap();
    assert_eq!(site.check_json(&[]).posts[0]["title"], "Second");
    site.write("_config.yml", "timezone: UTC\n");
    let json = site.check_json(&[]);
    assert_eq!(
        json.posts[0]["date"], "2022-01-13T00:00:00+00:00",
        "settings changed: all read again"
    );

    // Problems come back from the cache too, and a deleted post is gone.
    site.write("_posts/2022-01-14-c.md", "---\ntitle: [unclosed\n---\n");
    assert_eq!(site.check(&[]).code, Some(1));
    assert_eq!(
        site.check(&[]).code,
        Some(1),
        "the error is remembered with the post"
    );
    std::fs::remove_file(site.path().join("_posts/2022-01-14-c.md")).unwrap();
    assert_eq!(site.check(&[]).code, Some(0));

    // --no-cache reads everything and leaves the cache alone.
    std::fs::remove_file(&cache).unwrap();
    assert_eq!(site.check(&["--no-cache"]).code, Some(0));
    assert!(!cache.exists());
}
