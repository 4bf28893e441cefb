//! Taking over from the jekyll-feed plugin (setting `jekyll_feed: true`): the Atom feeds
//! jekyll-feed 0.17 would have written, at the paths it would have written them, with the same
//! feed and entry ids, links, dates, titles and order, so that no subscriber loses a feed and no
//! reader shows an old post as new.
//!
//! What is read, as jekyll-feed reads it (its `generator.rb` and `feed.xml`): the `feed:`
//! section of `_config.yml` (`path`, `categories`, `tags` with `only`/`except`/`path`,
//! `posts_limit`, `excerpt_only`, `collections.posts`, `disable_in_development`), `destination`
//! (where Jekyll writes, `_site` by default), `url` and `baseurl` as Jekyll's `absolute_url`
//! joins them, and a `feed.xslt.xml` in the site. A feed whose path exists in the site's source
//! is not written (jekyll-feed leaves it to the page there).
//!
//! Entry ids are Jekyll's `post.id | absolute_url`: the folder of the post's URL joined with its
//! `slug` (the front matter's, else the file name's), normalised as Addressable does it
//! (percent-escapes decoded and re-encoded, NFKC, dot
//! segments removed). The content follows gazette's rules (sanitised HTML, absolute URLs).
//!
//! Files go into the destination folder through [`stage`] and [`Staged::commit`], so that the
//! build command commits them only once gazette's own feeds are written too; they are recorded in
//! their own manifest, [`MANIFEST`], beside them.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::LazyLock;

use crate::collect::render::Renderer;
use atom_syndication::extension::{Extension, ExtensionMap};
use atom_syndication::{
    Category, Content, Entry as AtomEntry, Feed, Generator, Link, Person, Text,
};
use chrono::{DateTime, FixedOffset};
use regex::Regex;
use serde_yaml::{Mapping, Value};

use super::write::{err, Report, WriteError};
use super::xml::finish;
use super::{term_text, updated, Context, Entries, Entry, Output};
use crate::atomic::{is_plain, sync, write_temp, FolderError, Undo};
use crate::collect::Post;
use crate::config::{Author, SiteConfig};
use crate::escape::xml_safe;
use crate::permalink::escape_path;
use crate::problem::{Position, Problem};
use crate::temp::temp_path;
use crate::yaml::{scalar_string, yaml11_bool};

/// The list of files gazette wrote into Jekyll's destination folder in jekyll-feed's place.
pub(crate) const MANIFEST: &str = ".gazette-jekyll-feed-files";

/// What jekyll-feed's own output starts with: its generator element. A file that carries it was
/// written by jekyll-feed (during `jekyll build`, while the plugin is still enabled), and is
/// replaced because gazette was told to take jekyll-feed's place.
const JEKYLL_FEED_MARK: &str = "<generator uri=\"https://jekyllrb.com/\"";
/// What gazette's files at jekyll-feed's paths carry.
const OUR_MARK: &str = ">gazette (jekyll-feed compatible)</generator>";

/// One feed jekyll-feed would write.
#[derive(Debug, Clone)]
pub(crate) struct JekyllPlan<'a> {
    /// The page's URL below the site (`page.url`: percent-encoded, sanitised as Jekyll does).
    pub url: String,
    /// The file, relative to the destination folder (the URL decoded).
    pub file: PathBuf,
    /// The category of a category feed.
    pub category: Option<String>,
    pub posts: Vec<&'a Post>,
}

/// jekyll-feed's settings (`feed:` in `_config.yml`).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The site feed's path (`feed: path:`, or `collections: posts: path:`).
    pub path: String,
    /// Categories that get a feed of their own, `/feed/<category>.xml` (`feed: categories:`).
    pub categories: Vec<String>,
    /// The tag feeds (`feed: tags:`); `None` when there are none.
    pub tags: Option<TagSettings>,
    /// Posts per feed at most (`feed: posts_limit:`, default 10).
    pub posts_limit: usize,
    /// Entries carry the summary but no content (`feed: excerpt_only:`).
    pub excerpt_only: bool,
    /// `disable_in_development: true` while `JEKYLL_ENV` is unset or `development`.
    pub disabled: bool,
}

/// jekyll-feed's tag feeds (`feed: tags:`), one per tag at `<path><tag>.xml`; tags with
/// characters other than ASCII letters, digits and `_` get none.
#[derive(Debug, Clone, PartialEq)]
pub struct TagSettings {
    /// The tags that get a feed (`only:`); `None` means every tag of the site.
    pub only: Option<Vec<String>>,
    /// Tags that get no feed (`except:`).
    pub except: Vec<String>,
    /// The folder the feeds go in (`path:`, default `/feed/by_tag/`).
    pub path: String,
}

/// Ruby's truthiness of a YAML value as Psych reads it (`nil`, `false`, `no`, `off` are false).
fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(v) => yaml11_bool(v) != Some(false),
    }
}

/// A scalar or a list of scalars as strings (Ruby's `to_s` of each).
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Sequence(items)) => items.iter().filter_map(scalar_string).collect(),
        Some(v) => scalar_string(v).into_iter().collect(),
        None => Vec::new(),
    }
}

impl Settings {
    /// Reads jekyll-feed's section as its generator and template do; the problems are what is
    /// not reproduced or not usable.
    pub fn read(raw: &Mapping, config_path: &Path) -> (Settings, Vec<Problem>) {
        let mut problems = Vec::new();
        let empty = Mapping::new();
        let feed = match raw.get("feed") {
            Some(Value::Mapping(m)) => m,
            _ => &empty,
        };
        let get = |key: &str| feed.get(key);
        // `collections:` (a list or a mapping); only `posts` is a collection gazette reads.
        let mut posts_meta = Mapping::new();
        match get("collections") {
            Some(Value::Sequence(names)) => {
                for name in names.iter().filter_map(scalar_string) {
                    if name != "posts" {
                        problems.push(skipped_collection(config_path, &name));
                    }
                }
            }
            Some(Value::Mapping(map)) => {
                for (name, meta) in map {
                    match scalar_string(name).as_deref() {
                        Some("posts") => {
                            if let Value::Mapping(m) = meta {
                                posts_meta = m.clone();
                            }
                        }
                        Some(other) => problems.push(skipped_collection(config_path, other)),
                        None => {}
                    }
                }
            }
            _ => {}
        }
        // The collection's own keys win over the top-level ones (`normalize_posts_meta`).
        let path = posts_meta
            .get("path")
            .filter(|v| !v.is_null())
            .or(get("path"))
            .and_then(scalar_string)
            .unwrap_or_else(|| "/feed.xml".to_string());
        let categories = strings(
            posts_meta
                .get("categories")
                .filter(|v| !v.is_null())
                .or(get("categories")),
        );
        let mut unique = BTreeSet::new();
        let categories = categories
            .into_iter()
            .filter(|c| unique.insert(c.clone()))
            .collect();
        let tags = truthy(get("tags")).then(|| {
            let map = match get("tags") {
                Some(Value::Mapping(m)) => m.clone(),
                _ => Mapping::new(),
            };
            TagSettings {
                only: map
                    .get("only")
                    .filter(|v| !v.is_null())
                    .map(|v| strings(Some(v))),
                except: strings(map.get("except")),
                path: map
                    .get("path")
                    .and_then(scalar_string)
                    .unwrap_or_else(|| "/feed/by_tag/".to_string()),
            }
        });
        let posts_limit = match get("posts_limit") {
            None | Some(Value::Null) => 10,
            Some(v) => match scalar_string(v).map(|s| s.trim().parse::<i64>()) {
                Some(Ok(n)) => n.max(0) as usize,
                _ => {
                    problems.push(Problem::warning(
                        config_path,
                        Position::START,
                        "jekyll-feed `feed: posts_limit:` is not a whole number: 10 posts per feed",
                    ));
                    10
                }
            },
        };
        let development = std::env::var("JEKYLL_ENV")
            .map(|e| e == "development")
            .unwrap_or(true);
        let settings = Settings {
            path,
            categories,
            tags,
            posts_limit,
            excerpt_only: truthy(get("excerpt_only")),
            disabled: truthy(get("disable_in_development")) && development,
        };
        (settings, problems)
    }
}

fn skipped_collection(config_path: &Path, name: &str) -> Problem {
    Problem::warning(
        config_path,
        Position::START,
        format!("jekyll-feed `feed: collections: {name}` is not reproduced: gazette reads posts only, so no feed is written for it"),
    )
}

/// The URL of a page jekyll-feed makes for `page` (`PageWithoutAFile` with the template
/// `/:path/:basename:output_ext`), sanitised as Jekyll's `URL#sanitize_url` does.
fn page_url(page: &str) -> String {
    let (stem, ext) = match page.rfind('.') {
        Some(dot) if !page[dot..].contains('/') => (&page[..dot], &page[dot..]),
        _ => (page, ""),
    };
    let stem = stem.trim_end_matches('.');
    let joined = format!("//{}{}", escape_path(stem), escape_path(ext));
    let mut url = format!("/{joined}").replace("..", "/").replace("./", "");
    while url.contains("//") {
        url = url.replace("//", "/");
    }
    url
}

/// Percent-decoded bytes (invalid escapes kept as written).
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(b) = hex {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// The file a page URL is written to, relative to the destination; `None` when it would not be
/// a plain file path inside it.
fn file_of(url: &str) -> Option<PathBuf> {
    let decoded = String::from_utf8(percent_decode(url)).ok()?;
    if decoded.ends_with('/') || decoded.contains('\0') {
        return None;
    }
    let path = PathBuf::from(decoded.trim_start_matches('/'));
    let plain = path.components().count() > 0
        && path.components().all(|c| match c {
            Component::Normal(name) => !name.is_empty(),
            _ => false,
        });
    plain.then_some(path)
}

/// RFC 3986's `pchar` without `%`: what Addressable leaves as it is in a path segment.
fn is_pchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b)
}

/// NFKC, as Addressable applies it to every component it normalises (full-width forms, the
/// ideographic space, ellipses, ligatures, decomposed accents from macOS file names…).
fn nfkc(text: &str) -> Cow<'_, str> {
    use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};
    if is_nfkc_quick(text.chars()) == IsNormalized::Yes {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.nfkc().collect())
}

/// Addressable's `normalize_component`: escapes decoded, NFKC, then every byte outside `keep`
/// percent-encoded in upper case.
fn normalize_component(component: &str, keep: impl Fn(u8) -> bool) -> String {
    let decoded = percent_decode(component);
    let text = String::from_utf8_lossy(&decoded);
    let normal = nfkc(&text);
    let mut out = String::with_capacity(normal.len());
    for b in normal.bytes() {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// RFC 3986 section 5.2.4: `.` and `..` segments removed.
fn remove_dot_segments(path: &str) -> String {
    let mut input = path;
    let mut output: Vec<&str> = Vec::new();
    let absolute = input.starts_with('/');
    if absolute {
        input = &input[1..];
    }
    let segments: Vec<&str> = input.split('/').collect();
    let last = segments.len().saturating_sub(1);
    let mut trailing = false;
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "." => trailing = i == last,
            ".." => {
                output.pop();
                trailing = i == last;
            }
            s => {
                output.push(s);
                trailing = false;
            }
        }
    }
    let mut out = output.join("/");
    if trailing {
        out.push('/');
    }
    if absolute {
        out.insert(0, '/');
    }
    out
}

/// Jekyll's `absolute_url` filter on a path below the site (`url` + `baseurl` + the path, the
/// whole normalised by Addressable). `site_url` is `url` as written in `_config.yml`.
pub fn absolute_url(site_url: &str, baseurl: &str, input: &str) -> String {
    if input.contains("://") {
        return input.to_string();
    }
    let lead = |s: &str| {
        if s.is_empty() || s.starts_with('/') {
            s.to_string()
        } else {
            format!("/{s}")
        }
    };
    let base = baseurl.strip_suffix('/').unwrap_or(baseurl);
    let relative = format!("{}{}", lead(base), lead(input));
    let (origin, site_path) = match site_url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let authority = &rest[..end];
            let origin = url::Url::parse(&format!("{scheme}://{authority}/"))
                .map(|u| u.as_str().trim_end_matches('/').to_string())
                .unwrap_or_else(|_| format!("{}://{authority}", scheme.to_ascii_lowercase()));
            (origin, &rest[end..])
        }
        None => (String::new(), site_url),
    };
    let whole = format!("{site_path}{relative}");
    let (before_fragment, fragment) = match whole.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (whole.as_str(), None),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (before_fragment, None),
    };
    let path = path.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\0');
    let segments: Vec<String> = path
        .split('/')
        .map(|s| normalize_component(s, is_pchar))
        .collect();
    let mut path = remove_dot_segments(&segments.join("/"));
    if path.is_empty() {
        path.push('/');
    }
    let mut out = format!("{origin}{path}");
    if let Some(query) = query {
        let query_char = |b: u8| b.is_ascii_alphanumeric() || b"-._~!$'()*+,=:@/?".contains(&b);
        let normal: Vec<String> = query
            .split('&')
            .map(|pair| {
                // `+` stays encoded (`%2B`) and stays a plus sign when written as one.
                pair.split("%2B")
                    .flat_map(|p| p.split("%2b"))
                    .map(|p| normalize_component(p, query_char))
                    .collect::<Vec<_>>()
                    .join("%2B")
            })
            .collect();
        let normal = normal.join("&");
        if !normal.is_empty() {
            out.push('?');
            out.push_str(&normal);
        }
    }
    if let Some(fragment) = fragment {
        let normal = normalize_component(fragment, |b| is_pchar(b) || b == b'/' || b == b'?');
        if !normal.is_empty() {
            out.push('#');
            out.push_str(&normal);
        }
    }
    out
}

/// Ruby's `File.dirname` of a URL path.
fn dirname(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.starts_with('/') { "/" } else { "." };
    }
    match trimmed.rfind('/') {
        Some(i) => {
            let dir = trimmed[..i].trim_end_matches('/');
            if dir.is_empty() {
                "/"
            } else {
                dir
            }
        }
        None => ".",
    }
}

/// Jekyll's `Document#id`: `File.join(File.dirname(url), slug)`, the slug being the front
/// matter's, else the file name's.
pub(crate) fn document_id(post_path: &str, slug: &str) -> String {
    let dir = dirname(post_path);
    match (dir.ends_with('/'), slug.starts_with('/')) {
        (true, true) => format!("{dir}{}", &slug[1..]),
        (false, false) => format!("{dir}/{slug}"),
        _ => format!("{dir}{slug}"),
    }
}

/// Ruby's `String#capitalize` (Liquid's `capitalize`): the first character in upper case, the
/// rest in lower case.
fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// Jekyll's `smartify` (kramdown's SmartyPants) on plain text, giving HTML: quotes made curly by
/// kramdown's rules, `---`, `--`, `...`, `<<`, `>>` made dashes, an ellipsis and guillemets, and
/// `&`, `<`, `>` escaped.
pub(crate) fn smartify(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    // Whether the character before the current one was consumed by a rule (a quote or a
    // symbol): kramdown then starts its next match at the quote itself.
    let mut after_element = true;
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    const PUNCT: &str = "!\"#$%'()*+,-./:;<=>?@[\\]^_`{|}~";
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at = |k: usize| chars.get(i + k).copied();
        let rest_starts = |s: &str| s.chars().enumerate().all(|(k, x)| at(k) == Some(x));
        if rest_starts("---") {
            out.push('\u{2014}');
            i += 3;
            after_element = true;
            continue;
        }
        if rest_starts("--") {
            out.push('\u{2013}');
            i += 2;
            after_element = true;
            continue;
        }
        if rest_starts("...") {
            out.push('\u{2026}');
            i += 3;
            after_element = true;
            continue;
        }
        if rest_starts("<< ") {
            out.push_str("\u{AB}\u{A0}");
            i += 3;
            after_element = true;
            continue;
        }
        if c == ' ' && at(1) == Some('>') && at(2) == Some('>') {
            out.push_str("\u{A0}\u{BB}");
            i += 3;
            after_element = true;
            continue;
        }
        if rest_starts("<<") || rest_starts(">>") {
            out.push(if c == '<' { '\u{AB}' } else { '\u{BB}' });
            i += 2;
            after_element = true;
            continue;
        }
        if c == '"' || c == '\'' {
            let prev = if after_element || i == 0 {
                None
            } else {
                Some(chars[i - 1])
            };
            let double = c == '"';
            let (left, right) = if double {
                ('\u{201C}', '\u{201D}')
            } else {
                ('\u{2018}', '\u{2019}')
            };
            let next = at(1);
            let other = if double { '\'' } else { '"' };
            let pair_opens = next == Some(other) && at(2).is_some_and(is_word);
            let open_pair = |out: &mut String| {
                if double {
                    out.push_str("\u{201C}\u{2018}");
                } else {
                    out.push_str("\u{2018}\u{201C}");
                }
            };
            let decade = !double
                && at(1).is_some_and(|d| d.is_ascii_digit())
                && at(2).is_some_and(|d| d.is_ascii_digit())
                && at(3) == Some('s');
            match prev {
                None => {
                    let emphasis = matches!(next, Some('_' | '*'))
                        && (at(2).is_some_and(|x| !x.is_whitespace() && x != '_' && x != '*')
                            || (matches!(at(2), Some('_' | '*'))
                                && at(3).is_some_and(|x| !x.is_whitespace())));
                    let punct_close = next.is_some_and(|n| PUNCT.contains(n))
                        && !(at(1) == Some('.') && at(2) == Some('.'))
                        && !at(2).is_some_and(is_word);
                    let s_end = next == Some('s') && !at(2).is_some_and(is_word);
                    if emphasis {
                        out.push(left);
                    } else if punct_close {
                        out.push(right);
                    } else if pair_opens {
                        open_pair(&mut out);
                        i += 1;
                    } else if decade || next.is_none_or(char::is_whitespace) || s_end {
                        out.push(right);
                    } else {
                        out.push(left);
                    }
                }
                Some(p) if p.is_whitespace() => {
                    if pair_opens {
                        open_pair(&mut out);
                        i += 1;
                    } else if decade {
                        out.push(right);
                    } else {
                        out.push(left);
                    }
                }
                Some(p) if !"\\[{(-".contains(p) => out.push(right),
                Some(_) => out.push(left),
            }
            i += 1;
            after_element = true;
            continue;
        }
        crate::escape::push_text_char(c, &mut out);
        after_element = false;
        i += 1;
    }
    out
}

/// Liquid's `strip_html` then Jekyll's `normalize_whitespace`.
fn strip_html_normalized(html: &str) -> String {
    static BLOCKS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?is)<script.*?</script>|<!--.*?-->|<style.*?</style>")
            .expect("a valid pattern")
    });
    static TAGS: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?s)<.*?>").expect("a valid pattern"));
    let text = BLOCKS.replace_all(html, "");
    let text = TAGS.replace_all(&text, "");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The site's `url` and `baseurl` as `_config.yml` writes them (what `absolute_url` joins).
fn raw_url_parts(config: &SiteConfig) -> (String, String) {
    let raw = |key: &str| config.raw.get(key).and_then(scalar_string);
    let url = raw("url")
        .filter(|u| !u.trim().is_empty())
        .or_else(|| config.url.as_ref().map(|u| u.to_string()))
        .unwrap_or_default();
    let base = raw("baseurl").unwrap_or_else(|| config.baseurl.clone());
    (url, base)
}

/// Jekyll's destination folder: `destination` in `_config.yml` (relative to the site folder),
/// else `_site`.
pub fn destination(site: &Path, config: &SiteConfig) -> PathBuf {
    config.destination(site)
}

/// Decides which feeds jekyll-feed would write and which posts each holds (newest first,
/// `posts_limit` of them). Posts marked `feed: false` are left out (gazette's own setting).
pub(crate) fn plan<'a>(
    site: &Path,
    posts: &'a [Post],
    settings: &Settings,
    config_path: &Path,
) -> (Vec<JekyllPlan<'a>>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut plans = Vec::new();
    if settings.disabled {
        problems.push(Problem::note(
            config_path,
            Position::START,
            "jekyll-feed `disable_in_development` is set and JEKYLL_ENV is development: no jekyll-feed file is written",
        ));
        return (plans, problems);
    }
    let eligible: Vec<&Post> = posts.iter().filter(|p| !p.draft && p.in_feeds).collect();
    let limit = settings.posts_limit;
    let mut missing_tags = Vec::new();
    let mut add = |page: String, category: Option<String>, chosen: Vec<&'a Post>| {
        // jekyll-feed leaves a path to a file of the site's own.
        let in_source = site.join(page.trim_start_matches('/'));
        if fs::symlink_metadata(&in_source).is_ok() {
            problems.push(Problem::note(
                &in_source,
                Position::START,
                "the site has its own file where jekyll-feed would write a feed: left to it, as jekyll-feed leaves it",
            ));
            return;
        }
        let url = page_url(&page);
        match file_of(&url) {
            Some(file) => plans.push(JekyllPlan {
                url,
                file,
                category,
                posts: chosen.into_iter().take(limit).collect(),
            }),
            None => problems.push(Problem::warning(
                config_path,
                Position::START,
                format!("jekyll-feed feed `{page}` does not name a file inside the destination folder: not written"),
            )),
        }
    };
    add(settings.path.clone(), None, eligible.clone());
    for category in &settings.categories {
        let chosen = eligible
            .iter()
            .copied()
            .filter(|p| p.categories.iter().any(|c| c == category))
            .collect();
        add(
            format!("/feed/{category}.xml"),
            Some(category.clone()),
            chosen,
        );
    }
    if let Some(tags) = &settings.tags {
        // `site.tags`: every tag of every post (of Jekyll's `site.posts`).
        let site_tags: BTreeSet<&str> = posts
            .iter()
            .filter(|p| !p.draft)
            .flat_map(|p| p.tags.iter().map(String::as_str))
            .collect();
        if !site_tags.is_empty() {
            let pool: Vec<String> = match &tags.only {
                Some(only) => only.clone(),
                None => site_tags.iter().map(|t| t.to_string()).collect(),
            };
            let mut seen = BTreeSet::new();
            for tag in pool {
                if tags.except.contains(&tag) || !seen.insert(tag.clone()) {
                    continue;
                }
                // jekyll-feed: "allow only tags with basic alphanumeric characters and
                // underscore to keep feed path simple".
                if tag.is_empty() || !tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    continue;
                }
                if !site_tags.contains(tag.as_str()) {
                    // Jekyll stops with a Liquid error ("Cannot sort a null object").
                    missing_tags.push(Problem::warning(
                        config_path,
                        Position::START,
                        format!("jekyll-feed `tags: only:` names `{tag}`, which no post has: no feed for it (Jekyll would stop with a Liquid error)"),
                    ));
                    continue;
                }
                let chosen = eligible
                    .iter()
                    .copied()
                    .filter(|p| p.tags.contains(&tag))
                    .collect();
                add(format!("{}{tag}.xml", tags.path), None, chosen);
            }
        }
    }
    problems.extend(missing_tags);
    (plans, problems)
}

fn person(author: &Author) -> Person {
    Person {
        name: xml_safe(
            author
                .name
                .as_deref()
                .or(author.email.as_deref())
                .unwrap_or(""),
        ),
        email: author.email.as_deref().map(xml_safe),
        uri: author.uri.as_deref().map(xml_safe),
        ..Person::default()
    }
}

/// An attribute value for an extension element (written as it is by the XML writer).
fn attribute(value: &str) -> String {
    crate::escape::xml_attribute(value)
}

const MEDIA: &str = "http://search.yahoo.com/mrss/";

/// Writes one feed as jekyll-feed's template does.
pub(crate) fn write(
    plan: &JekyllPlan<'_>,
    entries: &HashMap<&Path, &Entry>,
    ctx: &Context<'_>,
    settings: &Settings,
    newest: Option<DateTime<FixedOffset>>,
    stylesheet: Option<&str>,
) -> Vec<u8> {
    let config = ctx.config;
    let (site_url, baseurl) = raw_url_parts(config);
    let abs = |path: &str| absolute_url(&site_url, &baseurl, path);
    let site_author = ctx.site_author();
    let mut uses_media = false;
    let atom_entries: Vec<AtomEntry> = plan
        .posts
        .iter()
        .filter_map(|post| {
            let entry = entries.get(post.source.as_path())?;
            let title = smartify(&entry.title)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let link_url = abs(&post.path);
            let author = post.author.as_ref().unwrap_or(&site_author);
            let summary = strip_html_normalized(&entry.summary_html);
            let mut extensions = ExtensionMap::default();
            if let Some(image) = post.image.as_deref().filter(|i| !i.is_empty()) {
                uses_media = true;
                let image = if image.contains("://") {
                    image.to_string()
                } else {
                    abs(image)
                };
                let element = |name: &str, attrs: &[(&str, &str)]| Extension {
                    name: name.into(),
                    attrs: attrs
                        .iter()
                        .map(|(k, v)| (k.to_string(), attribute(v)))
                        .collect(),
                    ..Extension::default()
                };
                let mut media = BTreeMap::new();
                media.insert(
                    "thumbnail".to_string(),
                    vec![element("media:thumbnail", &[("url", &image)])],
                );
                media.insert(
                    "content".to_string(),
                    vec![element(
                        "media:content",
                        &[("medium", "image"), ("url", &image)],
                    )],
                );
                extensions.insert("media".to_string(), media);
            }
            Some(AtomEntry {
                id: abs(&document_id(&post.path, &post.slug)),
                title: Text::html(title.clone()),
                updated: updated(post),
                published: Some(post.date),
                authors: vec![person(author)],
                links: vec![Link {
                    href: link_url.clone(),
                    rel: "alternate".into(),
                    mime_type: Some("text/html".into()),
                    title: Some(title),
                    ..Link::default()
                }],
                categories: post
                    .categories
                    .iter()
                    .chain(&post.tags)
                    .map(|t| term_text(t))
                    .filter(|t| !t.is_empty())
                    .map(|term| Category {
                        term,
                        ..Category::default()
                    })
                    .collect(),
                summary: (!summary.is_empty()).then(|| Text::html(summary)),
                content: (!settings.excerpt_only && !entry.content_html.is_empty()).then(|| {
                    Content {
                        base: Some(link_url),
                        value: Some(entry.content_html.clone()),
                        content_type: Some("html".into()),
                        ..Content::default()
                    }
                }),
                extensions,
                ..AtomEntry::default()
            })
        })
        .collect();

    let self_url = abs(&plan.url);
    let lang = ctx.language();
    let site_title = match config.title.trim() {
        "" => config
            .raw
            .get("name")
            .and_then(scalar_string)
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| ctx.site_title()),
        _ => config.title.clone(),
    };
    let title = match &plan.category {
        Some(category) => format!("{site_title} | {}", capitalize(category)),
        None => site_title,
    };
    let mut namespaces = BTreeMap::new();
    if uses_media {
        namespaces.insert("media".to_string(), MEDIA.to_string());
    }
    let feed = Feed {
        id: self_url.clone(),
        title: Text::html(smartify(&xml_safe(&title))),
        subtitle: config
            .description
            .as_deref()
            .map(xml_safe)
            .filter(|d| !d.trim().is_empty())
            .map(Text::plain),
        updated: plan
            .posts
            .iter()
            .map(|p| updated(p))
            .max()
            .or(newest)
            .unwrap_or_default(),
        authors: config.author.iter().map(person).collect(),
        links: vec![
            Link {
                href: self_url,
                rel: "self".into(),
                mime_type: Some("application/atom+xml".into()),
                ..Link::default()
            },
            Link {
                href: abs("/"),
                rel: "alternate".into(),
                mime_type: Some("text/html".into()),
                hreflang: lang.clone(),
                ..Link::default()
            },
        ],
        generator: Some(Generator {
            value: "gazette (jekyll-feed compatible)".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
            ..Generator::default()
        }),
        lang,
        namespaces,
        entries: atom_entries,
        ..Feed::default()
    };
    let bytes = feed
        .write_to(Vec::new())
        .expect("writing to memory cannot fail");
    finish(bytes, stylesheet)
}

/// The feeds jekyll-feed would write, rendered: files relative to the destination folder, and
/// the problems met. Entries are taken from `known` (those gazette's own feeds rendered or took
/// from the entry cache), else rendered.
pub(crate) fn render(
    site: &Path,
    posts: &[Post],
    ctx: &Context<'_>,
    renderer: &Renderer,
    known: &Entries<'_>,
) -> Result<(Vec<Output>, Vec<Problem>, bool), Problem> {
    let config = ctx.config;
    let (settings, mut problems) = Settings::read(&config.raw, &config.path);
    let (plans, planned) = plan(site, posts, &settings, &config.path);
    problems.extend(planned);
    if config
        .raw
        .get("plugins")
        .or(config.raw.get("gems"))
        .is_some_and(|p| strings(Some(p)).iter().any(|p| p == "jekyll-feed"))
    {
        problems.push(Problem::note(
            &config.path,
            Position::START,
            "jekyll-feed is still among the plugins: gazette replaces the feeds it writes (`jekyll_feed: true`); remove it from `plugins:` to save the work",
        ));
    }
    // Most posts are in gazette's own feeds, whose entries are rendered already; only the
    // others (a category only jekyll-feed has a feed for) are rendered here.
    let missing: Vec<&Post> = plans
        .iter()
        .flat_map(|p| p.posts.iter().copied())
        .filter(|p| !known.contains_key(p.source.as_path()))
        .map(|p| (p.source.as_path(), p))
        .collect::<BTreeMap<_, _>>()
        .into_values()
        .collect();
    // Given every post (`liquid_ok`), rendering never stops for want of them.
    let Some(rendered) = super::render_entries(site, &missing, None, renderer, None, true)? else {
        return Err(Problem::error(
            site,
            Position::START,
            "a post's Liquid could not be rendered",
        ));
    };
    // An entry whose Liquid read what no key covers (the clock…): the build is not replayed.
    let volatile = !rendered.unkeyed.is_empty();
    let rendered = rendered.entries;
    let entries: HashMap<&Path, &Entry> = known
        .iter()
        .chain(&rendered)
        .map(|(path, entry)| (*path, entry))
        .collect();
    let newest = posts
        .iter()
        .filter(|p| !p.draft && p.in_feeds)
        .map(updated)
        .max();
    let (site_url, baseurl) = raw_url_parts(config);
    let stylesheet = site
        .join("feed.xslt.xml")
        .exists()
        .then(|| absolute_url(&site_url, &baseurl, "/feed.xslt.xml"));
    let outputs = plans
        .iter()
        .map(|plan| Output {
            path: plan.file.clone(),
            bytes: write(
                plan,
                &entries,
                ctx,
                &settings,
                newest,
                stylesheet.as_deref(),
            ),
        })
        .collect();
    Ok((outputs, problems, volatile))
}

/// What `gazette build` does for jekyll-feed's feeds before it writes its own: render them,
/// check that none would overwrite one of gazette's own `outputs` in `out`, and stage them in
/// Jekyll's destination. The caller commits the result once its own files are written (and
/// drops it, changing nothing, when they cannot be). The problems are warnings and notes.
pub(crate) fn prepare(
    site: &Path,
    posts: &[Post],
    ctx: &Context<'_>,
    renderer: &Renderer,
    known: &Entries<'_>,
    out: &Path,
    outputs: &[Output],
) -> Result<(Staged, Vec<Problem>, bool), Problem> {
    let (ours, mut problems, volatile) = render(site, posts, ctx, renderer, known)?;
    let dest = destination(site, ctx.config);
    if let Some(path) = clash(&dest, &ours, out, outputs) {
        return Err(Problem::error(
            &ctx.config.path,
            Position::START,
            format!(
                "jekyll-feed's feed and one of gazette's own would both be {}: change `feed: path:` or gazette's `out`",
                path.display()
            ),
        ));
    }
    let (staged, staging) = stage(&dest, &ours).map_err(|e| {
        Problem::error(
            &e.path,
            Position::START,
            format!("cannot write jekyll-feed's feed: {}", e.error),
        )
    })?;
    problems.extend(staging);
    Ok((staged, problems, volatile))
}

/// A file that two writers would both write: jekyll-feed's `dest`-relative outputs against
/// gazette's own in `out`. Compared as paths below the same site, without touching the disk.
pub(crate) fn clash(
    dest: &Path,
    ours: &[Output],
    out: &Path,
    theirs: &[Output],
) -> Option<PathBuf> {
    let theirs: BTreeSet<PathBuf> = theirs.iter().map(|o| out.join(&o.path)).collect();
    ours.iter()
        .map(|o| dest.join(&o.path))
        .find(|p| theirs.contains(p))
}

/// Whether the first bytes of `file` carry `mark`.
fn carries(file: &[u8], mark: &str) -> bool {
    String::from_utf8_lossy(&file[..file.len().min(4096)]).contains(mark)
}

/// Whether the regular file at `path` carries gazette's mark.
fn carries_ours(path: &Path) -> bool {
    fs::read(path).is_ok_and(|file| carries(&file, OUR_MARK))
}

/// jekyll-feed's files staged in temporary files beside their targets, waiting for
/// [`Staged::commit`]; dropped without it, the temporary files are removed and nothing changed.
#[derive(Debug)]
pub struct Staged {
    dest: PathBuf,
    /// (temporary file, target, whether it replaces a file).
    files: Vec<(PathBuf, PathBuf, bool)>,
    /// The new manifest's temporary file, when it changed.
    manifest: Option<PathBuf>,
    old_manifest: String,
    new_list: BTreeSet<PathBuf>,
    report: Report,
    committed: bool,
    /// The folders staging made, removed again (when empty) if the files are not committed.
    made: Undo,
}

/// Writes `outputs` (relative to `dest`) to temporary files beside their targets. A target is
/// replaced only when gazette wrote it (it is in [`MANIFEST`], or carries gazette's generator
/// mark: `jekyll build` removes the manifest with everything it did not write), or when it is
/// jekyll-feed's own
/// output (its generator element says so: Jekyll ran the plugin before gazette, and
/// `jekyll_feed: true` tells gazette to take its place); anything else standing there (a page
/// of the site, another plugin's file) is left as it is, with a warning, and not recorded, so
/// that it is never removed either.
pub(crate) fn stage(dest: &Path, outputs: &[Output]) -> Result<(Staged, Vec<Problem>), WriteError> {
    if dest.exists() && !dest.is_dir() {
        return Err(WriteError {
            path: dest.to_path_buf(),
            error: io::Error::new(
                io::ErrorKind::AlreadyExists,
                "Jekyll's destination is a file",
            ),
        });
    }
    fs::create_dir_all(dest).map_err(err(dest))?;
    let manifest = dest.join(MANIFEST);
    let old_manifest = fs::read_to_string(&manifest).unwrap_or_default();
    let recorded: BTreeSet<PathBuf> = old_manifest.lines().map(PathBuf::from).collect();
    let mut staged = Staged {
        dest: dest.to_path_buf(),
        files: Vec::new(),
        manifest: None,
        old_manifest: old_manifest.clone(),
        new_list: BTreeSet::new(),
        report: Report::default(),
        committed: false,
        made: Undo::default(),
    };
    // Temporaries a killed build left (`.NAME.gazette-PID.tmp` of a process that is gone) in the
    // folders jekyll-feed's files go to, as gazette's own writer removes them from its folders.
    let folders: BTreeSet<PathBuf> = outputs
        .iter()
        .map(|o| o.path.parent().map(Path::to_path_buf).unwrap_or_default())
        .chain([PathBuf::new()])
        .collect();
    super::write::remove_stale_temps(dest, &folders);
    let mut problems = Vec::new();
    for output in outputs {
        let target = dest.join(&output.path);
        let meta = fs::symlink_metadata(&target);
        if meta.as_ref().is_ok_and(|m| !m.is_file()) {
            problems.push(Problem::warning(
                &target,
                Position::START,
                "something that is not a regular file stands where jekyll-feed's feed goes: left as it is, the feed is not written",
            ));
            continue;
        }
        // The file in place, read once: whose it is, and whether it holds these bytes already.
        let old = meta.is_ok().then(|| fs::read(&target).ok()).flatten();
        let replaces = meta.is_ok();
        let known = |old: &[u8]| {
            recorded.contains(&output.path)
                || carries(old, JEKYLL_FEED_MARK)
                || carries(old, OUR_MARK)
        };
        if replaces && !known(old.as_deref().unwrap_or_default()) {
            problems.push(Problem::warning(
                &target,
                Position::START,
                "a file gazette did not write, and not jekyll-feed's, stands where jekyll-feed's feed goes: left as it is, the feed is not written",
            ));
            continue;
        }
        staged.new_list.insert(output.path.clone());
        if old.is_some_and(|old| old == output.bytes) {
            staged.report.unchanged.push(output.path.clone());
            continue;
        }
        // Folders below Jekyll's destination are made one level at a time, never through a
        // link (as gazette's own writer makes its folders): a link where a folder of feeds goes
        // is someone else's, left as it is.
        let folder = output.path.parent().unwrap_or(Path::new(""));
        match staged.made.make_folder_below(dest, folder) {
            Ok(()) => {}
            Err(FolderError::Link(at) | FolderError::NotAFolder(at)) => {
                staged.new_list.remove(&output.path);
                problems.push(Problem::warning(
                    &at,
                    Position::START,
                    "a symbolic link or a file stands where a folder of jekyll-feed's feeds goes: left as it is, the feed is not written (gazette never writes through a link)",
                ));
                continue;
            }
            Err(FolderError::NotBelow) => {
                return Err(err(&target)(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a path below Jekyll's destination",
                )))
            }
            Err(FolderError::Io(at, e)) => return Err(err(&at)(e)),
        }
        let temp = temp_path(&target);
        // A fresh file: whatever stands at the temporary name (a link) is removed, never
        // written through.
        if let Err(e) = write_temp(&temp, &output.bytes) {
            let _ = fs::remove_file(&temp);
            return Err(err(&target)(e));
        }
        staged.files.push((temp, target, replaces));
        staged.report.written.push(output.path.clone());
    }
    let text: String = staged
        .new_list
        .iter()
        .map(|p| format!("{}\n", p.display()))
        .collect();
    if text != old_manifest {
        let temp = temp_path(&manifest);
        if let Err(e) = write_temp(&temp, text.as_bytes()) {
            let _ = fs::remove_file(&temp);
            return Err(err(&manifest)(e));
        }
        staged.manifest = Some(temp);
    }
    // A file that replaces an older one reaches the disk before the rename.
    for (temp, _, replaces) in &staged.files {
        if *replaces {
            sync(temp).map_err(err(temp))?;
        }
    }
    if !old_manifest.is_empty() {
        if let Some(temp) = &staged.manifest {
            sync(temp).map_err(err(temp))?;
        }
    }
    Ok((staged, problems))
}

impl Staged {
    /// Renames the staged files into place, records them, and removes the files an earlier
    /// build wrote and this one does not (only regular files inside the folder that still carry
    /// gazette's mark; never through a symbolic link).
    pub(crate) fn commit(mut self) -> Result<Report, WriteError> {
        self.committed = true;
        for (temp, target, _) in &self.files {
            fs::rename(temp, target).map_err(err(target))?;
        }
        let manifest = self.dest.join(MANIFEST);
        if let Some(temp) = &self.manifest {
            fs::rename(temp, &manifest).map_err(err(&manifest))?;
        }
        let real_dest = self.dest.canonicalize().map_err(err(&self.dest))?;
        let mut report = std::mem::take(&mut self.report);
        for line in self.old_manifest.lines() {
            let old = PathBuf::from(line);
            if self.new_list.contains(&old) || !is_plain(&old) {
                continue;
            }
            let target = self.dest.join(&old);
            let ours = fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_file())
                && target
                    .parent()
                    .and_then(|p| p.canonicalize().ok())
                    .is_some_and(|p| p.starts_with(&real_dest))
                && carries_ours(&target);
            if ours {
                fs::remove_file(&target).map_err(err(&target))?;
                report.removed.push(old);
            }
        }
        Ok(report)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        for (temp, _, _) in &self.files {
            let _ = fs::remove_file(temp);
        }
        if let Some(temp) = &self.manifest {
            let _ = fs::remove_file(temp);
        }
        self.made.run();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_url_folder_and_the_slug() {
        assert_eq!(
            document_id("/news/2022/01/12/x.html", "x"),
            "/news/2022/01/12/x"
        );
        assert_eq!(
            document_id("/2022/01/12/title/", "slug"),
            "/2022/01/12/slug"
        );
        assert_eq!(document_id("/about.html", "a"), "/a");
        assert_eq!(document_id("/custom/", "s"), "/s");
        assert_eq!(document_id("/a/b", "/c"), "/a/c");
    }

    #[test]
    fn absolute_urls_are_normalised_as_addressable_does() {
        let abs = |base: &str, p: &str| absolute_url("https://Example.COM", base, p);
        assert_eq!(abs("", "/a/b.html"), "https://example.com/a/b.html");
        assert_eq!(abs("/blog/", "a/b"), "https://example.com/blog/a/b");
        assert_eq!(
            abs("", "/2022/01/12/中文"),
            "https://example.com/2022/01/12/%E4%B8%AD%E6%96%87"
        );
        assert_eq!(abs("", "/a/%e4%b8%ad"), "https://example.com/a/%E4%B8%AD");
        assert_eq!(abs("", "/a/%41 b"), "https://example.com/a/A%20b");
        assert_eq!(
            abs("", "/a/你好，世界"),
            "https://example.com/a/%E4%BD%A0%E5%A5%BD,%E4%B8%96%E7%95%8C"
        );
        assert_eq!(abs("", "/a/./b/../c"), "https://example.com/a/c");
        // Decomposed accents (macOS file names) and a CJK compatibility ideograph, as NFKC
        // composes and maps them.
        assert_eq!(abs("", "/cafe\u{301}"), "https://example.com/caf%C3%A9");
        assert_eq!(abs("", "/\u{F900}"), "https://example.com/%E8%B1%88");
        assert_eq!(abs("", "/"), "https://example.com/");
        assert_eq!(
            abs("", "/a?x=1 2&y#f g"),
            "https://example.com/a?x=1%202&y#f%20g"
        );
        assert_eq!(abs("", "https://other.org/x y"), "https://other.org/x y");
        assert_eq!(
            absolute_url("http://example.com:80/sub", "", "/x"),
            "http://example.com/sub/x"
        );
    }

    #[test]
    fn page_urls_and_files_follow_jekyll() {
        assert_eq!(page_url("/feed.xml"), "/feed.xml");
        assert_eq!(page_url("atom.xml"), "/atom.xml");
        assert_eq!(page_url("/feed/my news.xml"), "/feed/my%20news.xml");
        assert_eq!(page_url("/feed/中文.xml"), "/feed/%E4%B8%AD%E6%96%87.xml");
        assert_eq!(page_url("/feed/../../etc.xml"), "/feed/etc.xml");
        assert_eq!(
            file_of("/feed/%E4%B8%AD%E6%96%87.xml"),
            Some(PathBuf::from("feed/中文.xml"))
        );
        assert_eq!(file_of("/feed/"), None);
        assert_eq!(file_of("/"), None);
        assert_eq!(file_of("/a/%2E%2E/b"), None);
    }

    #[test]
    fn smartify_follows_kramdown() {
        assert_eq!(smartify("Don't stop"), "Don\u{2019}t stop");
        assert_eq!(
            smartify("He said \"hi\" -- then..."),
            "He said \u{201C}hi\u{201D} \u{2013} then\u{2026}"
        );
        assert_eq!(smartify("'80s music"), "\u{2019}80s music");
        assert_eq!(smartify("A & B < C"), "A &amp; B &lt; C");
        assert_eq!(smartify("'quoted'"), "\u{2018}quoted\u{2019}");
        assert_eq!(smartify("中文标题"), "中文标题");
        assert_eq!(capitalize("nEWS"), "News");
        assert_eq!(capitalize("中文"), "中文");
    }

    #[test]
    fn settings_are_read_as_jekyll_feed_reads_them() {
        let raw: Mapping = serde_yaml::from_str(
            "feed:\n  path: atom.xml\n  categories: [news, 2022, news]\n  posts_limit: 3\n  tags:\n    only: [a, b]\n    except: [b]\n  collections:\n    posts:\n      path: /posts.xml\n    notes: {}\n",
        )
        .unwrap();
        let (s, problems) = Settings::read(&raw, Path::new("_config.yml"));
        assert_eq!(s.path, "/posts.xml");
        assert_eq!(s.categories, ["news", "2022"]);
        assert_eq!(s.posts_limit, 3);
        let tags = s.tags.unwrap();
        assert_eq!(tags.only, Some(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(tags.except, ["b"]);
        assert_eq!(tags.path, "/feed/by_tag/");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.contains("notes"));

        let (s, _) = Settings::read(&Mapping::new(), Path::new("_config.yml"));
        assert_eq!(s.path, "/feed.xml");
        assert_eq!(s.posts_limit, 10);
        assert!(s.tags.is_none() && !s.excerpt_only);
        let raw: Mapping =
            serde_yaml::from_str("feed:\n  tags: no\n  excerpt_only: yes\n").unwrap();
        let (s, _) = Settings::read(&raw, Path::new("_config.yml"));
        assert!(s.tags.is_none() && s.excerpt_only);
    }

    fn out(path: &str, bytes: &str) -> Output {
        Output {
            path: path.into(),
            bytes: bytes.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_killed_builds_temporaries_go_and_links_are_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir(d.join("feed")).unwrap();
        let dead = crate::temp::tests::dead_pid();
        let stale = d.join(format!("feed/.news.xml.gazette-{dead}.tmp"));
        fs::write(&stale, "half a feed").unwrap();
        let look_alike = d.join("feed/.news.xml.gazette-x.tmp");
        fs::write(&look_alike, "not gazette's").unwrap();
        // A link where this run's own temporary file goes.
        let elsewhere = tempfile::tempdir().unwrap();
        let target = elsewhere.path().join("victim");
        fs::write(&target, "keep").unwrap();
        let own = d.join(format!(".feed.xml.gazette-{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&target, &own).unwrap();
        let (staged, _) = stage(
            d,
            &[
                out("feed.xml", "<feed>x</feed>"),
                out("feed/news.xml", "<feed>y</feed>"),
            ],
        )
        .unwrap();
        staged.commit().unwrap();
        assert!(!stale.exists(), "a dead run's temporary file is left");
        assert!(
            look_alike.exists(),
            "a file gazette did not name was removed"
        );
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep");
        assert_eq!(
            fs::read_to_string(d.join("feed.xml")).unwrap(),
            "<feed>x</feed>"
        );
    }

    #[test]
    fn a_link_where_a_folder_of_feeds_goes_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("feed")).unwrap();
        let (staged, problems) = stage(
            dir.path(),
            &[
                out("feed.xml", "<feed>x</feed>"),
                out("feed/news.xml", "<feed>y</feed>"),
            ],
        )
        .unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.contains("never writes through a link"));
        let report = staged.commit().unwrap();
        assert_eq!(report.written, [PathBuf::from("feed.xml")]);
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
        // A staging dropped uncommitted takes back the folders it made.
        let (staged, _) = stage(dir.path(), &[out("deep/er/f.xml", "<feed>z</feed>")]).unwrap();
        drop(staged);
        assert!(!dir.path().join("deep").exists());
    }

    #[test]
    fn foreign_files_are_left_and_jekyll_feeds_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(
            d.join("feed.xml"),
            format!("<feed>{JEKYLL_FEED_MARK} version=\"4\">"),
        )
        .unwrap();
        fs::create_dir(d.join("feed")).unwrap();
        fs::write(d.join("feed/news.xml"), "a page of the site").unwrap();
        let ours = |s: &str| {
            format!("<feed><generator>gazette (jekyll-feed compatible)</generator>{s}</feed>")
        };
        let (staged, problems) = stage(
            d,
            &[
                out("feed.xml", &ours("1")),
                out("feed/news.xml", &ours("2")),
                out("feed/x.xml", &ours("3")),
            ],
        )
        .unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        let report = staged.commit().unwrap();
        assert_eq!(report.written.len(), 2);
        assert_eq!(fs::read_to_string(d.join("feed.xml")).unwrap(), ours("1"));
        assert_eq!(
            fs::read_to_string(d.join("feed/news.xml")).unwrap(),
            "a page of the site"
        );
        assert_eq!(
            fs::read_to_string(d.join(MANIFEST)).unwrap(),
            "feed/x.xml\nfeed.xml\n"
        );
        // Unchanged: nothing rewritten; gone: removed; dropped unstaged: nothing changed.
        let (staged, _) = stage(d, &[out("feed.xml", &ours("1"))]).unwrap();
        let report = staged.commit().unwrap();
        assert!(report.written.is_empty());
        assert_eq!(report.removed, [PathBuf::from("feed/x.xml")]);
        let (staged, _) = stage(d, &[out("feed.xml", &ours("new"))]).unwrap();
        drop(staged);
        assert_eq!(fs::read_to_string(d.join("feed.xml")).unwrap(), ours("1"));
        let names: Vec<_> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(
            names.iter().all(|n| !n.to_string_lossy().ends_with(".tmp")),
            "{names:?}"
        );
    }
}
