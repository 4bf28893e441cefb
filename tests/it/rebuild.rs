//! Rebuilds: `gazette build` keeps a build state (`.gazette/build.state`) so that a build that
//! finds every input and every output as the last successful build left them reads nothing,
//! writes nothing and says that build's report again; and a build after any change writes what
//! changed. Black-box: whatever a build skips, its output folder must hold exactly what a build
//! from scratch (`--no-cache`, into an empty folder) writes for the same site, byte for byte
//! ([`rebuild_equals_scratch`]), and a build that changed nothing must say the last full build's
//! warnings again ([`assert_replay`]).
//!
//! The sites are shaped like a Chinese finance-news Jekyll site: pinyin categories, Chinese tags,
//! HTML and Markdown bodies, and a post whose Liquid reads an include, a data file, the list of
//! posts, another post's URL and `jekyll.environment`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use regex::Regex;

use crate::support::site::{files, list_files, snapshot, Program, Run, Site, Snapshot};

// ---------------------------------------------------------------------------------------------
// The site
// ---------------------------------------------------------------------------------------------

const CONFIG: &str = "\
title: 财经快讯镜像
description: 汇集证券日报、新华社、经济参考报的财经新闻（测试站点）
url: \"https://kuaixun.example.com\"
timezone: Asia/Shanghai
lang: zh-CN
permalink: date
gazette:
  tag_feeds: true
  items: 10
  category_names:
    xinhuashe: 新华社
    zhengquanribao: 证券日报
    jingjicankaobao: 经济参考报
";

const WUJIA: &str = "_posts/2022-01-10-wujia-yunxing-pingwen.md";
const ZHUANXIANGZHAI: &str = "_posts/2022-01-11-zhuanxiangzhai-qianzhi.md";
const QUANSHANG: &str = "_posts/2022-01-12-quanshang-kaimenhong.md";
const NIANBAO: &str = "_posts/2022-01-13-nianbao-yugao.md";
const INCLUDE: &str = "_includes/laiyuan.html";
const DESK: &str = "_data/desk.yml";

/// The target of the Liquid post's `{% post_url %}`, in `xinhuashe` (its only post).
fn wujia(title: &str, categories: &str) -> String {
    format!(
        "---
layout: post
title: \"{title}\"
date: 2022-01-10 09:30:00 +0800
categories: {categories}
tags: [新华社新闻, 物价]
---
<p>国家统计局10日发布数据，2021年12月份全国居民消费价格指数（CPI）同比上涨1.5%，环比下降0.3%。</p>
 <p>国家统计局城市司首席统计师表示，12月份，受季节性因素及保供稳价政策等影响，物价运行总体平稳。</p><p class=\"em_media\">（文章来源：新华社）</p>
"
    )
}

/// A Markdown post, the only one of `jingjicankaobao`, whose front matter repeats a key: the
/// warning every build (and every replay) must say.
const ZHUANXIANGZHAI_TEXT: &str = "---
layout: post
title: 专项债发行
title: \"经济参考报：专项债发行前置\"
date: 2022-01-11 08:05:12 +0800
categories: jingjicankaobao
tags: 经济参考报新闻
---
**经济参考报**记者获悉，2022年新增专项债券额度已提前下达，多地启动发行。

- 重点支持交通基础设施
- 支持保障性安居工程

详见[财政部网站](http://www.mof.gov.cn/)。
";

/// The post whose body reads, through Liquid, the include, the data file, the number of posts,
/// the URL of [`WUJIA`] and the environment.
fn quanshang(body_word: &str) -> String {
    format!(
        "---
layout: post
title: \"证券日报：券商迎来开门红\"
date: 2022-01-12 14:18:25 +0800
categories: zhengquanribao
tags: [证券日报新闻, 券商]
---
<p>本报记者 {{{{ site.data.desk.name }}}} 报道：{body_word}，本站共收录 {{{{ site.posts | size }}}} 篇报道。</p>
{{% include laiyuan.html from=\"证券日报\" %}}
<p>相关阅读：<a href=\"{{% post_url 2022-01-10-wujia-yunxing-pingwen %}}\">物价运行平稳</a></p>
<p>运行环境：{{{{ jekyll.environment }}}}</p>
"
    )
}

fn nianbao(date: &str) -> String {
    format!(
        "---
layout: post
title: 证券日报：年报预告密集披露
date: {date}
categories: zhengquanribao
tags: [证券日报新闻, 年报]
---
<p>截至1月13日晚，沪深两市已有超过百家上市公司披露2021年业绩预告。</p>
"
    )
}

/// The finance-news site every scenario starts from: four posts in three categories, tag
/// feeds, one warning.
fn finance_site() -> Site {
    let site = Site::options().prefix("gazette-rebuild-").create(CONFIG);
    site.write(
        INCLUDE,
        "<p class=\"em_media\">（文章来源：{{ include.from }}）</p>\n",
    );
    site.write(DESK, "name: 财经编辑部\n");
    site.write(WUJIA, wujia("新华社：物价运行总体平稳", "xinhuashe"));
    site.write(ZHUANXIANGZHAI, ZHUANXIANGZHAI_TEXT);
    site.write(QUANSHANG, quanshang("券商板块全线上涨"));
    site.write(NIANBAO, nianbao("2022-01-13 20:00:00 +0800"));
    site
}

/// Writes `content` over the site's file `relative`, making sure its modification time moved
/// (two writes within one tick of the file system's clock may share one).
fn edit(site: &Site, relative: &str, content: impl AsRef<[u8]>) {
    edit_path(&site.path().join(relative), content);
}

fn edit_path(path: &Path, content: impl AsRef<[u8]>) {
    let before = fs::metadata(path).and_then(|m| m.modified()).ok();
    fs::write(path, content).unwrap();
    if let Some(before) = before {
        let after = fs::metadata(path).unwrap().modified().unwrap();
        if after <= before {
            let file = fs::File::options().write(true).open(path).unwrap();
            file.set_modified(before + Duration::from_secs(1)).unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running builds
// ---------------------------------------------------------------------------------------------

/// How a scenario runs gazette beyond the site's defaults (`TZ`, `JEKYLL_ENV`).
type Adjust<'a> = &'a dyn Fn(Program) -> Program;

fn same(program: Program) -> Program {
    program
}

/// `gazette ARGS` in the site's folder, `JEKYLL_ENV` unset unless `adjust` sets it.
fn gazette(site: &Site, args: &[&str], adjust: Adjust<'_>) -> Run {
    adjust(site.gazette(args).env_remove("JEKYLL_ENV")).run()
}

/// The summary line of `gazette build`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Summary {
    feeds: usize,
    posts: usize,
    out: String,
    written: usize,
    unchanged: usize,
    removed: usize,
}

impl Summary {
    fn parse(run: &Run) -> Summary {
        let re = Regex::new(
            r"^(\d+) feeds from (\d+) posts into (.+): (\d+) files written, (\d+) unchanged, (\d+) removed$",
        )
        .unwrap();
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert_eq!(lines.len(), 1, "one summary line expected: {run:#?}");
        let c = re
            .captures(lines[0])
            .unwrap_or_else(|| panic!("not a build summary: {:?}", lines[0]));
        let n = |i: usize| c[i].parse::<usize>().unwrap();
        Summary {
            feeds: n(1),
            posts: n(2),
            out: c[3].to_string(),
            written: n(4),
            unchanged: n(5),
            removed: n(6),
        }
    }

    /// The files the build left in the output folder.
    fn total(&self) -> usize {
        self.written + self.unchanged
    }

    /// The line a build that changed nothing after this one prints.
    fn replayed(&self) -> String {
        format!(
            "{} feeds from {} posts into {}: 0 files written, {} unchanged, 0 removed\n",
            self.feeds,
            self.posts,
            self.out,
            self.total()
        )
    }
}

/// A build that succeeded, and what it said.
#[derive(Debug)]
struct Built {
    run: Run,
    summary: Summary,
}

/// `gazette build --site .` (into the site's own output folder, with the caches), which must
/// succeed.
fn build(site: &Site, adjust: Adjust<'_>) -> Built {
    let run = gazette(site, &["build", "--site", "."], adjust);
    assert_eq!(run.code, Some(0), "the build failed: {run:#?}");
    let summary = Summary::parse(&run);
    Built { run, summary }
}

/// The core oracle: an incremental build in the site's output folder, then a build from
/// scratch of the same site (`--no-cache`, into an empty folder outside the site, run the same
/// way); both must leave the same files, byte for byte, say the same problems and count the same
/// feeds, posts and files. Returns the incremental build.
fn rebuild_equals_scratch(site: &Site, adjust: Adjust<'_>) -> Built {
    let incremental = build(site, adjust);
    let fresh = tempfile::Builder::new()
        .prefix("gazette-rebuild-scratch-")
        .tempdir()
        .unwrap();
    let fresh_out = fresh.path().to_str().unwrap();
    let caches_before = snapshot(&site.path().join(".gazette"));
    let scratch = gazette(
        site,
        &["build", "--site", ".", "--no-cache", "--out", fresh_out],
        adjust,
    );
    assert_eq!(
        scratch.code,
        Some(0),
        "the build from scratch failed: {scratch:#?}"
    );
    let from_scratch = Summary::parse(&scratch);
    assert_same_outputs(&site.out(), fresh.path());
    assert_eq!(
        incremental.run.stderr, scratch.stderr,
        "the incremental build and the build from scratch report different problems"
    );
    let counts = |s: &Summary| (s.feeds, s.posts, s.total());
    assert_eq!(
        counts(&incremental.summary),
        counts(&from_scratch),
        "(feeds, posts, files) differ: incremental {:?}, from scratch {:?}",
        incremental.summary,
        from_scratch
    );
    assert!(
        !fresh.path().join(".gazette").exists()
            && snapshot(&site.path().join(".gazette")) == caches_before,
        "the build with --no-cache wrote a cache"
    );
    incremental
}

/// A rebuild after a change: equal to a build from scratch, and at least one file written.
fn rebuild_after_change(site: &Site, adjust: Adjust<'_>, change: &str) -> Built {
    let built = rebuild_equals_scratch(site, adjust);
    assert!(
        built.summary.written >= 1,
        "after {change}, the build wrote nothing: {:#?}",
        built.run
    );
    built
}

/// A build with nothing changed since `last` (the last full build): nothing written, the same
/// files counted as unchanged, the same warnings said again; and still equal to a build from
/// scratch.
fn assert_replay(site: &Site, last: &Built, adjust: Adjust<'_>) -> Built {
    let again = rebuild_equals_scratch(site, adjust);
    assert_eq!(
        again.run.stdout,
        last.summary.replayed(),
        "a build with nothing changed is no replay of {:#?}",
        last.run
    );
    assert_eq!(
        again.run.stderr, last.run.stderr,
        "a build with nothing changed says other problems than the last full build"
    );
    again
}

// ---------------------------------------------------------------------------------------------
// Comparing output folders
// ---------------------------------------------------------------------------------------------

/// Both folders hold the same files with the same bytes (gazette's bookkeeping files
/// `.gazette-files` and `.gazette-names` included); else fails, saying which files differ and
/// where.
fn assert_same_outputs(incremental: &Path, scratch: &Path) {
    let ours = snapshot(incremental);
    let theirs = snapshot(scratch);
    assert!(!theirs.is_empty(), "the build from scratch wrote nothing");
    let problems = differences(&ours, &theirs);
    assert!(
        problems.is_empty(),
        "the incremental build's output ({}) differs from a build from scratch ({}):\n{}",
        incremental.display(),
        scratch.display(),
        problems.join("\n")
    );
}

fn differences(ours: &Snapshot, theirs: &Snapshot) -> Vec<String> {
    let mut problems = Vec::new();
    for (path, bytes) in ours {
        match theirs.get(path) {
            None => problems.push(format!(
                "{}: only in the incremental build's output",
                path.display()
            )),
            Some(other) if other != bytes => problems.push(format!(
                "{}: differs\n{}",
                path.display(),
                first_difference(bytes, other)
            )),
            Some(_) => {}
        }
    }
    for path in theirs.keys().filter(|p| !ours.contains_key(*p)) {
        problems.push(format!(
            "{}: only in the build from scratch's output",
            path.display()
        ));
    }
    problems
}

/// Where two contents first differ: the line, as each has it (cut to a readable length).
fn first_difference(ours: &[u8], theirs: &[u8]) -> String {
    let at = ours
        .iter()
        .zip(theirs)
        .position(|(a, b)| a != b)
        .unwrap_or(ours.len().min(theirs.len()));
    let line = ours[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    let excerpt = |bytes: &[u8]| {
        let start = bytes[..at.min(bytes.len())]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1)
            .max(at.saturating_sub(120));
        let end = (at + 120).min(bytes.len());
        String::from_utf8_lossy(&bytes[start..end]).into_owned()
    };
    format!(
        "  at byte {at} (line {line}; sizes {} and {}):\n  - incremental:  {:?}\n  + from scratch: {:?}",
        ours.len(),
        theirs.len(),
        excerpt(ours),
        excerpt(theirs)
    )
}

/// Every file below `dir` and its modification time.
fn mtimes(dir: &Path) -> BTreeMap<PathBuf, SystemTime> {
    let mut all = Vec::new();
    list_files(dir, &mut all);
    all.into_iter()
        .map(|f| {
            let modified = fs::metadata(&f).unwrap().modified().unwrap();
            (f.strip_prefix(dir).unwrap().to_path_buf(), modified)
        })
        .collect()
}

fn state_file(site: &Site) -> PathBuf {
    site.path().join(".gazette/build.state")
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

/// 1. Two builds, nothing changed: the second writes nothing, touches no file, says the first
///    one's report and warnings again; the state file is there.
#[test]
fn a_build_with_nothing_changed_replays_the_last_one() {
    let site = finance_site();
    let first = rebuild_equals_scratch(&site, &same);
    assert!(
        first.summary.written >= 1 && first.summary.unchanged == 0,
        "{:#?}",
        first.summary
    );
    assert!(
        first
            .run
            .stderr
            .contains("the key `title` appears on lines 3 and 4"),
        "the fixture's warning is not said: {}",
        first.run.stderr
    );
    assert!(state_file(&site).is_file(), "no .gazette/build.state");
    let feed = site.read_out("categories/zhengquanribao.atom.xml");
    assert!(
        feed.contains("财经编辑部")
            && feed.contains("共收录 4 篇报道")
            && feed.contains("（文章来源：证券日报）")
            && feed.contains("/xinhuashe/2022/01/10/wujia-yunxing-pingwen.html")
            && feed.contains("运行环境：development"),
        "the Liquid post is not rendered as expected:\n{feed}"
    );

    let before = mtimes(&site.out());
    let second = assert_replay(&site, &first, &same);
    assert_eq!(
        mtimes(&site.out()),
        before,
        "a build with nothing changed touched the output"
    );
    // And again: a replay's replay says the same.
    assert_replay(&site, &first, &same);
    assert_eq!(mtimes(&site.out()), before);
    assert_eq!(second.summary.unchanged, first.summary.total());
}

/// 2. A post's body edited, at the same size (only the modification time tells), then at
///    another size.
#[test]
fn an_edited_body_is_rebuilt() {
    let site = finance_site();
    rebuild_equals_scratch(&site, &same);

    let old = fs::read(site.path().join(NIANBAO)).unwrap();
    let text = nianbao("2022-01-13 20:00:00 +0800").replace("超过百家", "超过千家");
    assert_eq!(text.len(), old.len(), "the edit must keep the size");
    edit(&site, NIANBAO, &text);
    let built = rebuild_after_change(&site, &same, "a same-size edit");
    assert!(site
        .read_out("categories/zhengquanribao.rss.xml")
        .contains("超过千家"));
    assert_replay(&site, &built, &same);

    edit(
        &site,
        NIANBAO,
        text.replace("业绩预告。", "业绩预告，其中超六成预喜。"),
    );
    let built = rebuild_after_change(&site, &same, "an edit that changes the size");
    assert!(site.read_out("feed.atom.xml").contains("超六成预喜"));
    assert_replay(&site, &built, &same);
}

/// 3. A post's title, date and categories edited: it changes place in its feeds, then moves to
///    another category's feeds (and, being the target of a `{% post_url %}`, changes the other
///    post's link).
#[test]
fn edited_front_matter_moves_posts_between_feeds() {
    let site = finance_site();
    rebuild_equals_scratch(&site, &same);

    edit(
        &site,
        WUJIA,
        wujia("新华社：12月CPI同比上涨1.5%", "xinhuashe"),
    );
    rebuild_after_change(&site, &same, "a new title");
    assert!(site
        .read_out("categories/xinhuashe.atom.xml")
        .contains("12月CPI同比上涨1.5%"));

    // The newest post becomes the oldest.
    edit(&site, NIANBAO, nianbao("2022-01-09 20:00:00 +0800"));
    let built = rebuild_after_change(&site, &same, "a new date");
    assert_replay(&site, &built, &same);

    edit(
        &site,
        WUJIA,
        wujia("新华社：12月CPI同比上涨1.5%", "jingjicankaobao"),
    );
    let built = rebuild_after_change(&site, &same, "a move to another category");
    assert!(
        !site.out().join("categories/xinhuashe.atom.xml").exists(),
        "the feeds of a category left without posts are still there"
    );
    assert!(built.summary.removed >= 1, "{:#?}", built.summary);
    assert!(site
        .read_out("categories/zhengquanribao.atom.xml")
        .contains("/jingjicankaobao/2022/01/10/wujia-yunxing-pingwen.html"));
    assert_replay(&site, &built, &same);
}

/// 4. A post added, one deleted (its category's feeds go), one renamed.
#[test]
fn added_deleted_and_renamed_posts_are_rebuilt() {
    let site = finance_site();
    rebuild_equals_scratch(&site, &same);

    site.write(
        "_posts/2022-01-14-lenglian-wuliu.md",
        "---
title: 中国劳动保障报：冷链物流从业人员技能培训启动
date: 2022-01-14 10:00:00 +0800
categories: zhongguolaodongbaozhangbao
tags: 中国劳动保障报新闻
---
<p>人社部门联合行业协会启动冷链物流从业人员技能提升培训。</p>
",
    );
    rebuild_after_change(&site, &same, "a new post");
    assert!(site
        .out()
        .join("categories/zhongguolaodongbaozhangbao.rss.xml")
        .is_file());
    assert!(site
        .read_out("categories/zhengquanribao.atom.xml")
        .contains("共收录 5 篇报道"));

    fs::remove_file(site.path().join(ZHUANXIANGZHAI)).unwrap();
    let built = rebuild_after_change(&site, &same, "a deleted post");
    assert!(built.summary.removed >= 1, "{:#?}", built.summary);
    for gone in [
        "categories/jingjicankaobao.atom.xml",
        "categories/jingjicankaobao.rss.xml",
    ] {
        assert!(!site.out().join(gone).exists(), "{gone} is still there");
    }
    // The warning went with the post.
    assert!(!built.run.stderr.contains("appears on lines"));

    fs::rename(
        site.path().join(NIANBAO),
        site.path().join("_posts/2022-01-13-nianbao-yugao-milu.md"),
    )
    .unwrap();
    let built = rebuild_after_change(&site, &same, "a renamed post");
    assert!(site
        .read_out("feed.atom.xml")
        .contains("nianbao-yugao-milu"));
    assert_replay(&site, &built, &same);
}

/// 5. The include the Liquid post reads, edited.
#[test]
fn an_edited_include_is_rebuilt() {
    let site = finance_site();
    rebuild_equals_scratch(&site, &same);
    edit(
        &site,
        INCLUDE,
        "<p class=\"em_media\">（来源：{{ include.from }}，转载请注明）</p>\n",
    );
    let built = rebuild_after_change(&site, &same, "an edited include");
    let feed = site.read_out("categories/zhengquanribao.atom.xml");
    assert!(feed.contains("转载请注明"), "{feed}");
    assert_replay(&site, &built, &same);
}

/// 6. The data file the Liquid post reads, edited.
#[test]
fn an_edited_data_file_is_rebuilt() {
    let site = finance_site();
    rebuild_equals_scratch(&site, &same);
    edit(&site, DESK, "name: 证券市场编辑部\n");
    let built = rebuild_after_change(&site, &same, "an edited data file");
    assert!(site
        .read_out("categories/zhengquanribao.rss.xml")
        .contains("证券市场编辑部"));
    assert_replay(&site, &built, &same);
}

/// 7. The settings edited: the site's title, then the number of items.
#[test]
fn edited_settings_are_rebuilt() {
    let site = finance_site();
    rebuild_equals_scratch(&site, &same);

    edit(
        &site,
        "_config.yml",
        CONFIG.replace("财经快讯镜像", "财经新闻镜像"),
    );
    rebuild_after_change(&site, &same, "a new site title");
    assert!(site.read_out("feed.rss.xml").contains("财经新闻镜像"));

    edit(
        &site,
        "_config.yml",
        CONFIG
            .replace("财经快讯镜像", "财经新闻镜像")
            .replace("items: 10", "items: 1"),
    );
    let built = rebuild_after_change(&site, &same, "fewer items");
    assert_eq!(
        site.read_out("feed.atom.xml").matches("<entry>").count(),
        1,
        "items: 1 is not followed"
    );
    assert_replay(&site, &built, &same);

    // A category's display name: its feeds' titles and the lists of feeds change, no post does.
    edit(
        &site,
        "_config.yml",
        CONFIG
            .replace("财经快讯镜像", "财经新闻镜像")
            .replace("items: 10", "items: 1")
            .replace("xinhuashe: 新华社", "xinhuashe: 新华通讯社"),
    );
    let built = rebuild_after_change(&site, &same, "a category's new display name");
    assert!(site
        .read_out("categories/xinhuashe.rss.xml")
        .contains("新华通讯社"));
    assert!(site.read_out("feeds.opml").contains("新华通讯社"));
    assert_replay(&site, &built, &same);
}

/// 8. An output feed edited by hand, then one removed by hand: the next build writes it again.
#[test]
fn outputs_changed_by_hand_are_written_again() {
    let site = finance_site();
    rebuild_equals_scratch(&site, &same);

    let feed = site.out().join("categories/zhengquanribao.atom.xml");
    let text = fs::read_to_string(&feed).unwrap();
    edit_path(&feed, text.replace("证券日报", "证券时报"));
    let built = rebuild_after_change(&site, &same, "a feed edited by hand");
    assert!(built.summary.written >= 1);
    assert_eq!(fs::read_to_string(&feed).unwrap(), text);

    // Same size, other bytes.
    let same_size = text.replacen("券商", "银行", 1);
    assert_eq!(same_size.len(), text.len());
    edit_path(&feed, same_size);
    rebuild_after_change(&site, &same, "a feed edited by hand at the same size");
    assert_eq!(fs::read_to_string(&feed).unwrap(), text);

    let tag_feed = site.out().join("tags/wu-jia.rss.xml");
    assert!(tag_feed.is_file(), "{:?}", files(&site.out()));
    fs::remove_file(&tag_feed).unwrap();
    let built = rebuild_after_change(&site, &same, "a feed removed by hand");
    assert!(tag_feed.is_file(), "the removed feed is not written again");
    assert_replay(&site, &built, &same);
}

/// 9. `JEKYLL_ENV` is Liquid's `jekyll.environment`: the feeds follow it from build to build.
#[test]
fn the_feeds_follow_jekyll_env() {
    let production = |p: Program| p.env("JEKYLL_ENV", "production");
    let site = finance_site();
    let post = "categories/zhengquanribao.atom.xml";

    rebuild_equals_scratch(&site, &same);
    assert!(site.read_out(post).contains("运行环境：development"));

    let built = rebuild_after_change(&site, &production, "JEKYLL_ENV=production");
    assert!(site.read_out(post).contains("运行环境：production"));
    assert_replay(&site, &built, &production);

    let built = rebuild_after_change(&site, &same, "JEKYLL_ENV unset again");
    assert!(site.read_out(post).contains("运行环境：development"));
    assert_replay(&site, &built, &same);
}

/// 10. With no `timezone` in the settings, dates are shown (and, quoted, read) in the machine's
///     zone: another `TZ` is another build. YAML reads an unquoted date without an offset as UTC
///     (as Ruby does), a quoted one is read in the zone.
#[test]
fn the_machine_zone_is_an_input_when_the_settings_name_none() {
    let site = Site::options()
        .prefix("gazette-rebuild-tz-")
        .create(&CONFIG.replace("timezone: Asia/Shanghai\n", ""));
    site.write(
        "_posts/2022-01-12-xinjiuye-xingtai-quanyi.md",
        "---
title: 中国劳动保障报：新就业形态劳动者权益保障落地见效
date: 2022-01-12 14:18:25
categories: zhongguolaodongbaozhangbao
tags: 中国劳动保障报新闻
---
<p>多地人社部门推动新就业形态劳动者权益保障各项措施落地见效。</p>
",
    );
    site.write(
        "_posts/2022-01-13-renshe-yonggong-fuwu.md",
        "---
title: 中国劳动保障报：人社部门优化用工服务
date: \"2022-01-13 09:05:00\"
categories: zhongguolaodongbaozhangbao
tags: 中国劳动保障报新闻
---
<p>各地人社部门开展春节前后用工服务专项活动。</p>
",
    );
    let shanghai = |p: Program| p.tz("Asia/Shanghai");
    let utc = |p: Program| p.tz("UTC");
    let shows = |dates: &[&str]| {
        let feed = site.read_out("feed.atom.xml");
        for date in dates {
            assert!(feed.contains(date), "{date} is not in the feed:\n{feed}");
        }
    };
    let in_shanghai = ["2022-01-12T22:18:25+08:00", "2022-01-13T09:05:00+08:00"];
    let in_utc = ["2022-01-12T14:18:25+00:00", "2022-01-13T09:05:00+00:00"];

    let first = rebuild_equals_scratch(&site, &shanghai);
    shows(&in_shanghai);
    first.run.assert_stderr_has(&["(Asia/Shanghai)"]);
    assert_replay(&site, &first, &shanghai);

    let second = rebuild_after_change(&site, &utc, "another machine zone");
    shows(&in_utc);
    second.run.assert_stderr_has(&["(UTC)"]);
    assert_replay(&site, &second, &utc);

    rebuild_after_change(&site, &shanghai, "the first machine zone again");
    shows(&in_shanghai);
}

/// 11. A post dated a few seconds ahead is left out, then, once due, is in the feeds although no
///     file changed.
#[test]
fn a_future_post_comes_in_when_due() {
    let site = finance_site();
    let now = chrono::Utc::now();
    // At least 3 s ahead, on a whole second.
    let due = chrono::DateTime::from_timestamp(now.timestamp() + 4, 0).unwrap();
    site.write(
        &format!("_posts/{}-kuaixun.md", due.format("%Y-%m-%d")),
        format!(
            "---
title: 快讯：央行开展逆回购操作
date: {}
categories: zhengquanribao
tags: 证券日报新闻
---
<p>央行今日开展1000亿元7天期逆回购操作。</p>
",
            due.format("%Y-%m-%d %H:%M:%S +0000")
        ),
    );

    let first = build(&site, &same);
    assert_eq!(first.summary.posts, 4, "{:#?}", first.run);
    assert!(!site.read_out("feed.atom.xml").contains("逆回购"));
    // Still before it is due (when the machine is not too slow to tell): a replay.
    let before = mtimes(&site.out());
    if chrono::Utc::now() + chrono::Duration::milliseconds(1500) < due {
        let again = build(&site, &same);
        if chrono::Utc::now() < due {
            assert_eq!(again.run.stdout, first.summary.replayed());
            assert_eq!(mtimes(&site.out()), before);
        }
    }

    let wait = (due - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(1);
    std::thread::sleep(wait);
    let built = rebuild_after_change(&site, &same, "the future post came due");
    assert_eq!(built.summary.posts, 5, "{:#?}", built.run);
    assert!(site.read_out("feed.atom.xml").contains("逆回购"));
    assert!(site
        .read_out("categories/zhengquanribao.atom.xml")
        .contains("共收录 5 篇报道"));
    assert_replay(&site, &built, &same);
}

/// 12. `--no-cache` neither reads nor writes the state (nor any other cache).
#[test]
fn no_cache_writes_no_state() {
    let site = finance_site();
    assert!(!site.path().join(".gazette").exists());
    for _ in 0..2 {
        let run = gazette(&site, &["build", "--site", ".", "--no-cache"], &same);
        assert_eq!(run.code, Some(0), "{run:#?}");
        assert!(Summary::parse(&run).total() > 0);
        assert!(!state_file(&site).exists(), "--no-cache wrote the state");
        assert!(
            !site.path().join(".gazette").exists(),
            "--no-cache wrote a cache: {:?}",
            files(&site.path().join(".gazette"))
        );
    }
    // A build with the caches after them: a full build (it is the first to write a state),
    // equal to one from scratch.
    rebuild_equals_scratch(&site, &same);
    assert!(state_file(&site).is_file());
}

/// 13. A post that cannot be read is left out by a lenient build (said again by a replay), and
///     fails a strict one even when nothing else changed since the lenient build succeeded.
#[test]
fn strict_is_no_replay_of_a_lenient_success() {
    let site = finance_site();
    site.write(
        "_posts/2022-01-14-weifabu-gaojian.md",
        "---
title: [未闭合的标题
date: 2022-01-14 09:00:00 +0800
categories: xinhuashe
---
<p>尚未发布的稿件。</p>
",
    );
    let lenient = rebuild_equals_scratch(&site, &same);
    assert_eq!(lenient.summary.posts, 4);
    lenient.run.assert_stderr_has(&[
        "_posts/2022-01-14-weifabu-gaojian.md",
        "1 post was left out of every feed",
    ]);
    assert_replay(&site, &lenient, &same);
    let output = snapshot(&site.out());

    let strict = gazette(&site, &["build", "--site", ".", "--strict"], &same);
    strict.assert_code(1);
    strict.assert_stderr_has(&["build failed", "_posts/2022-01-14-weifabu-gaojian.md"]);
    assert!(
        differences(&snapshot(&site.out()), &output).is_empty(),
        "a failed build changed the output"
    );
    // Twice: a failure records no state to replay.
    let again = gazette(&site, &["build", "--site", ".", "--strict"], &same);
    again.assert_code(1);
    assert_eq!(again.stderr, strict.stderr);

    // Lenient again: it succeeds as before.
    let back = rebuild_equals_scratch(&site, &same);
    assert_eq!(back.run.stderr, lenient.run.stderr);

    // `strict: true` in the settings fails it too.
    edit(
        &site,
        "_config.yml",
        CONFIG.replace("gazette:\n", "gazette:\n  strict: true\n"),
    );
    let strict = gazette(&site, &["build", "--site", "."], &same);
    strict.assert_code(1);
    strict.assert_stderr_has(&["build failed"]);
    assert!(differences(&snapshot(&site.out()), &output).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Many posts, few shown: a build decodes only the posts its feeds show
// ---------------------------------------------------------------------------------------------

/// A small deterministic generator (a linear congruential one): the same site every run.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

const CATEGORIES: [&str; 6] = [
    "xinhuashe",
    "zhengquanribao",
    "jingjicankaobao",
    "shangwuzhoubao",
    "nongcunbao",
    "kejixunkan",
];
const TAGS: [&str; 5] = ["物价", "债券", "券商", "年报", "科技"];

/// Post number `n` of the crowded site: most are plain, some are out of the feeds, in the
/// future, share a permalink or an id with another post, run Liquid, cannot be read, or are not
/// published.
fn crowded_post(n: u64, dice: &mut Dice, version: u64) -> String {
    let category = CATEGORIES[dice.roll(6) as usize];
    let second = CATEGORIES[dice.roll(6) as usize];
    let tag = TAGS[dice.roll(5) as usize];
    let day = 1 + n % 28;
    // The site feed's newest posts have no category or tag: only that feed shows them.
    let month = if n.is_multiple_of(7) { 2 } else { 1 };
    let hour = dice.roll(24);
    let year = if n % 17 == 3 { 2031 } else { 2022 };
    let mut extra = String::new();
    if n % 11 == 5 {
        extra.push_str("feed: false\n");
    }
    if n % 13 == 7 {
        extra.push_str("permalink: /shared/page.html\n");
    }
    if n % 19 == 2 {
        extra.push_str("id: NW-SHARED-1\n");
    }
    if n % 29 == 4 {
        extra.push_str("published: false\n");
    }
    let body = if n % 9 == 1 {
        "共有 {{ site.posts | size }} 篇；另见 {% post_url 2022-01-01-post-000 %}。".to_string()
    } else {
        format!(
            "<p>第{n}篇第{version}版：市场运行平稳，成交额{}亿元。</p>",
            dice.roll(9000)
        )
    };
    if n % 31 == 6 {
        return format!("---\ntitle: [broken\n---\n{body}\n");
    }
    // Some posts are in the site's feed only; the posts out of the feeds have a category of
    // their own (the sign-up form still lists it).
    let terms = if n.is_multiple_of(7) {
        String::new()
    } else if n % 11 == 5 {
        "categories: [zhuankan]\n".to_string()
    } else {
        format!("categories: [{category}, {second}]\ntags: [{tag}]\n")
    };
    format!(
        "---\ntitle: \"第{n}号快讯 v{version}\"\ndate: {year}-{month:02}-{day:02} {hour:02}:15:00 +0800\n\
         {terms}{extra}---\n{body}\n"
    )
}

fn crowded_name(n: u64) -> String {
    format!("_posts/2022-01-{:02}-post-{n:03}.md", 1 + n % 28)
}

/// 90 posts, 3 items a feed: each feed shows a few of them, the checks across posts (a shared
/// URL, a shared id) and the counts see all of them, and the sign-up form lists every category.
/// Edits, additions and removals in rounds; after each, the incremental build writes exactly
/// what a build from scratch writes.
#[test]
fn a_crowded_site_rebuilds_like_a_build_from_scratch() {
    let site = Site::options().prefix("gazette-rebuild-crowded-").create(
        "title: 拥挤的站点\nurl: \"https://crowded.example.com\"\ntimezone: Asia/Shanghai\n\
         gazette:\n  tag_feeds: true\n  items: 3\n  digest:\n    serve_url: \"https://crowded.example.com/subscribe\"\n",
    );
    let mut dice = Dice(20_220_112);
    for n in 0..90 {
        let text = crowded_post(n, &mut dice, 0);
        site.write(&crowded_name(n), text);
    }
    let first = rebuild_equals_scratch(&site, &same);
    let form = fs::read_to_string(site.out().join("subscribe.html")).unwrap();
    assert!(form.contains("zhuankan"), "{form}");
    assert!(first.run.stderr.contains("conflict:"), "{:#?}", first.run);
    assert!(
        first.run.stderr.contains("duplicate id"),
        "{:#?}",
        first.run
    );
    assert_replay(&site, &first, &same);
    let mut alive: Vec<u64> = (0..90).collect();
    let mut next = 90;
    for round in 1..=8 {
        // One to three edits, sometimes an addition or a removal.
        for _ in 0..=dice.roll(3) {
            let n = alive[dice.roll(alive.len() as u64) as usize];
            let text = crowded_post(n, &mut dice, round);
            edit(&site, &crowded_name(n), text);
        }
        match dice.roll(3) {
            0 => {
                let text = crowded_post(next, &mut dice, round);
                site.write(&crowded_name(next), text);
                alive.push(next);
                next += 1;
            }
            1 => {
                let n = alive.remove(dice.roll(alive.len() as u64) as usize);
                fs::remove_file(site.path().join(crowded_name(n))).unwrap();
            }
            _ => {}
        }
        rebuild_equals_scratch(&site, &same);
    }
}

// ---------------------------------------------------------------------------------------------
// What no key covers: the clock, data outside the site
// ---------------------------------------------------------------------------------------------

/// A body that shows the time of the build (`site.time`, `"now" | date`) is rendered by every
/// build: neither its entry nor the build is kept (a rebuild with no file changed is no replay).
#[test]
fn a_body_that_reads_the_clock_is_rendered_by_every_build() {
    let stamp = Regex::new(r"生成于 (\d+)").unwrap();
    for body in [
        "生成于 {{ site.time | date: \"%s\" }}。",
        "生成于 {{ \"now\" | date: \"%s\" }}。",
    ] {
        let site = Site::options()
            .prefix("gazette-rebuild-clock-")
            .create("title: 时钟\nurl: \"https://clock.example.com\"\ntimezone: UTC\n");
        site.write(
            "_posts/2022-01-12-shijian.md",
            format!("---\ntitle: 时间\ncategories: [xinwen]\n---\n{body}\n"),
        );
        site.write(
            "_posts/2022-01-11-qita.md",
            "---\ntitle: 其他\ncategories: [xinwen]\n---\n<p>其他新闻。</p>\n",
        );
        build(&site, &same);
        let first = site.read_out("feed.atom.xml");
        assert!(
            !state_file(&site).exists(),
            "{body}: a build that read the clock is kept"
        );
        std::thread::sleep(Duration::from_millis(1100));
        let again = build(&site, &same);
        assert!(again.summary.written >= 1, "{body}: {:#?}", again.run);
        assert_ne!(site.read_out("feed.atom.xml"), first, "{body}");
        // Another post changed: the clock's post is rendered again too.
        std::thread::sleep(Duration::from_millis(1100));
        let before = site.read_out("feed.atom.xml");
        edit(
            &site,
            "_posts/2022-01-11-qita.md",
            "---\ntitle: 其他\ncategories: [xinwen]\n---\n<p>其他新闻，更新。</p>\n",
        );
        build(&site, &same);
        let after = site.read_out("feed.atom.xml");
        let seconds = |feed: &str| stamp.captures(feed).map(|c| c[1].to_string());
        assert_ne!(seconds(&after), seconds(&before), "{body}: {after}");
    }
}

/// `data_dir` outside the site (or hidden) is no file the site's key covers: a change there
/// still reaches the feeds.
#[test]
fn data_outside_the_site_is_read_by_every_build() {
    let site = Site::options()
        .prefix("gazette-rebuild-data-")
        .inside_root()
        .create(
            "title: 数据\nurl: \"https://data.example.com\"\ntimezone: UTC\ndata_dir: ../shared\n",
        );
    let shared = site.root().join("shared");
    fs::create_dir_all(&shared).unwrap();
    fs::write(shared.join("desk.yml"), "name: 甲编辑部\n").unwrap();
    site.write(
        "_posts/2022-01-12-bianji.md",
        "---\ntitle: 编辑\ncategories: [xinwen]\n---\n责任编辑：{{ site.data.desk.name }}。\n",
    );
    build(&site, &same);
    assert!(site.read_out("feed.atom.xml").contains("甲编辑部"));
    edit_path(&shared.join("desk.yml"), "name: 乙编辑部\n");
    build(&site, &same);
    let feed = site.read_out("feed.atom.xml");
    assert!(
        feed.contains("乙编辑部") && !feed.contains("甲编辑部"),
        "{feed}"
    );
}

/// A way to damage a file, and its name.
type Damage<'a> = (&'a str, &'a dyn Fn(&Path));

/// Damaged caches and state (cut short, flipped bytes, garbage, a folder in a file's place) are
/// never trusted: the build still writes exactly what a build from scratch writes, and mends
/// them.
#[test]
fn damaged_caches_and_state_are_never_trusted() {
    let site = finance_site();
    rebuild_equals_scratch(&site, &same);
    let state = site.path().join(".gazette");
    let names = [
        "posts.cache",
        "posts.records",
        "entries.cache",
        "entries.records",
        "build.state",
    ];
    for name in names {
        assert!(state.join(name).is_file(), "{name}");
    }
    let damages: [Damage<'_>; 3] = [
        ("cut short", &|p: &Path| {
            let bytes = fs::read(p).unwrap();
            fs::write(p, &bytes[..bytes.len() / 2]).unwrap();
        }),
        ("one byte flipped", &|p: &Path| {
            let mut bytes = fs::read(p).unwrap();
            let at = bytes.len() * 2 / 3;
            bytes[at] ^= 0x10;
            fs::write(p, &bytes).unwrap();
        }),
        ("garbage", &|p: &Path| {
            fs::write(p, b"\x00garbage\xff").unwrap()
        }),
    ];
    for (what, damage) in damages {
        for name in names {
            let path = state.join(name);
            // A change too, so that what the caches hold is needed.
            edit(&site, QUANSHANG, quanshang(&format!("券商{what}{name}")));
            damage(&path);
            let built = rebuild_equals_scratch(&site, &same);
            assert!(
                built.summary.written >= 1,
                "{what} {name}: {:#?}",
                built.run
            );
        }
    }
    // A folder where a cache's file goes: the feeds are still right, and the cache (not the
    // state, which is only ever an optimisation) says it cannot be written.
    for name in names {
        let path = state.join(name);
        edit(&site, QUANSHANG, quanshang(&format!("券商文件夹{name}")));
        fs::remove_file(&path).unwrap();
        fs::create_dir(&path).unwrap();
        let built = build(&site, &same);
        let scratch = tempfile::tempdir().unwrap();
        let run = gazette(
            &site,
            &[
                "build",
                "--site",
                ".",
                "--no-cache",
                "--out",
                scratch.path().to_str().unwrap(),
            ],
            &same,
        );
        assert_eq!(run.code, Some(0), "{run:#?}");
        assert_same_outputs(&site.out(), scratch.path());
        if name != "build.state" {
            assert!(
                built.run.stderr.contains("cannot write the"),
                "{name}: {:#?}",
                built.run
            );
        }
        fs::remove_dir(&path).unwrap();
    }
    // Mended: the next build with nothing changed is a replay again.
    let last = rebuild_equals_scratch(&site, &same);
    assert_replay(&site, &last, &same);
}

/// The caches kept in the site folder itself (`cache: posts.cache`): their files (the index,
/// the records, the entry cache, the state) are no inputs, so a build with nothing changed is
/// still a replay.
#[test]
fn caches_in_the_site_folder_are_no_inputs() {
    let site = Site::options().prefix("gazette-rebuild-rootcache-").create(
        "title: 根目录缓存\nurl: \"https://root.example.com\"\ntimezone: UTC\ngazette:\n  cache: posts.cache\n",
    );
    site.write(
        "_posts/2022-01-12-a.md",
        "---\ntitle: 甲\ncategories: [xinwen]\n---\n<p>正文。</p>\n",
    );
    let first = rebuild_equals_scratch(&site, &same);
    for name in [
        "posts.cache",
        "posts.records",
        "entries.cache",
        "entries.records",
        "build.state",
    ] {
        assert!(site.path().join(name).is_file(), "{name}");
    }
    assert_replay(&site, &first, &same);
}
