//! One post: everything the later stages need, read from one file. The body is not kept: it is
//! read again and rendered only when a feed or digest asks for it ([`Post::content`]).

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset};
use regex::Regex;

use super::body::{self, ExcerptSource, Markup};
use super::cache::Stamp;
use super::files::{read_limited, Folders, ReadError};
use super::taxonomy;
use super::walk::Source;
use crate::collect::nesting::{cap_nesting, MAX_NESTING};
use crate::config::{Author, SiteConfig};
use crate::problem::{Position, Problem};

mod fields;
use fields::Report;

/// A post as the collector read it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Post {
    /// The file, relative to the site folder.
    pub source: PathBuf,
    /// True for a file under `_drafts/`.
    pub draft: bool,
    /// When the post was published, with the offset it was written with (or the site's).
    #[serde(with = "compact_date")]
    pub date: DateTime<FixedOffset>,
    /// The front matter's `title`, else the slug's words capitalised as Jekyll does.
    pub title: String,
    /// Categories in the order written, duplicates removed, case kept.
    pub categories: Vec<String>,
    /// The front matter's `tag`, else its `tags`.
    pub tags: Vec<String>,
    /// The front matter's `slug`, else the one in the file name.
    pub slug: String,
    /// The path of the post's page below the site root (`/news/2022/01/12/x.html`), as Jekyll
    /// builds it, percent-encoded.
    pub path: String,
    /// The absolute URL of the post's page (`url` + `baseurl` + path).
    pub url: String,
    /// Whether the body is Markdown or HTML, by the file's extension.
    pub format: Markup,
    /// Where the excerpt comes from.
    pub excerpt: ExcerptSource,
    /// The front matter's `description`, when not blank.
    pub description: Option<String>,
    /// The front matter's `author`; `None` means the site's.
    pub author: Option<Author>,
    /// The front matter's `image` (or its `path`, when it is a mapping), as written.
    pub image: Option<String>,
    /// A front-matter `id` or `guid`, used instead of the URL as the post's identity in feeds.
    pub id: Option<String>,
    /// The front matter's `last_modified_at`, when given.
    #[serde(with = "compact_date::optional")]
    pub last_modified: Option<DateTime<FixedOffset>>,
    /// False when the post says `feed: false`.
    pub in_feeds: bool,
    /// Whether the body holds Liquid (`{{` or `{%`): its entry then depends on more than the
    /// file (includes, data, the other posts).
    pub has_liquid: bool,
    /// Where the body starts in the file, in bytes.
    body_start: usize,
    /// The file's size and modification time when it was read: what the body was read from.
    pub stamp: Option<Stamp>,
}

/// Dates in the cache as numbers (seconds, nanoseconds, offset in seconds): chrono's own form is
/// an RFC 3339 string, and writing and parsing 100,000 of them was a tenth of a cached run.
mod compact_date {
    use chrono::{DateTime, FixedOffset};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    type Parts = (i64, u32, i32);

    fn parts(at: &DateTime<FixedOffset>) -> Parts {
        (
            at.timestamp(),
            at.timestamp_subsec_nanos(),
            at.offset().local_minus_utc(),
        )
    }

    fn date<E: serde::de::Error>((secs, nanos, offset): Parts) -> Result<DateTime<FixedOffset>, E> {
        let offset = FixedOffset::east_opt(offset).ok_or_else(|| E::custom("bad offset"))?;
        DateTime::from_timestamp(secs, nanos)
            .map(|at| at.with_timezone(&offset))
            .ok_or_else(|| E::custom("bad date"))
    }

    pub(crate) fn serialize<S: Serializer>(
        at: &DateTime<FixedOffset>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        parts(at).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<DateTime<FixedOffset>, D::Error> {
        date(Parts::deserialize(d)?)
    }

    pub mod optional {
        use super::*;

        pub(crate) fn serialize<S: Serializer>(
            at: &Option<DateTime<FixedOffset>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            at.as_ref().map(parts).serialize(s)
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
            Option::<Parts>::deserialize(d)?.map(date).transpose()
        }
    }
}

/// A post's rendered body and excerpt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// The body as HTML.
    pub html: String,
    /// The excerpt as HTML (empty when the post has none).
    pub excerpt_html: String,
    /// Whether the body ran Liquid, so that what it shows depends on more than its own file.
    pub liquid: bool,
    /// Whether that Liquid read a file no input key covers (another post's, a hidden one), so
    /// that what it shows may change with no key changing: never kept from one build to the next.
    pub unkeyed: bool,
}

/// What reading one file gave.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Reading {
    /// A post, with the warnings and notes about it.
    Post(Box<Post>, Vec<Problem>),
    /// `published: false`.
    Unpublished,
    /// Not a post (a note says why).
    Ignored(Problem),
    /// The file cannot be read as a post.
    Invalid(Vec<Problem>),
}

/// `YYYY-MM-DD-slug.ext`, as Jekyll's `DATE_FILENAME_MATCHER` takes it.
static DATED_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\d{2,4}-\d{1,2}-\d{1,2})-(.*)(\.[^.]+)$").unwrap());
/// `slug.ext` for drafts.
static DATELESS_NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(.+)(\.[^.]+)$").unwrap());

impl Post {
    /// Reads the body again and renders it with its excerpt, as Jekyll renders it (Liquid, then
    /// Markdown); the problems are warnings about the body's Liquid.
    pub fn content(
        &self,
        site: &Path,
        renderer: &super::render::Renderer,
    ) -> Result<(Content, Vec<Problem>), Problem> {
        let path = site.join(&self.source);
        // The post was no larger than `max_post_bytes` when it was read: it may not have grown
        // past that (or past the default) since.
        let limit = self
            .stamp
            .map_or(0, |s| s.size)
            .max(crate::config::DEFAULT_MAX_POST_BYTES);
        let mut bytes = Vec::new();
        std::fs::File::open(&path)
            .and_then(|file| Ok((file.metadata()?.len(), file)))
            .map_err(ReadError::Io)
            .and_then(|(size, mut file)| read_limited(&mut file, size, &mut bytes, limit))
            .map_err(|e| match e {
                ReadError::Io(e) => {
                    Problem::error(&path, Position::START, format!("cannot read: {e}"))
                }
                ReadError::TooLarge { size } => Problem::error(
                    &path,
                    Position::START,
                    format!("file changed while gazette ran: {}", too_large(size, limit)),
                ),
            })?;
        let text = String::from_utf8(bytes).map_err(|_| {
            Problem::error(
                &path,
                Position::START,
                "file changed while gazette ran: no longer UTF-8",
            )
        })?;
        if text.get(self.body_start..).is_none() {
            return Err(Problem::error(
                &path,
                Position::START,
                "file changed while gazette ran",
            ));
        }
        let (body, mut problems, ran) = renderer.liquid(self, &text, self.body_start);
        drop(text);
        let options = renderer.markdown();
        let (html, flattened) = capped(body::render_with(&body, self.format, options));
        let excerpt_html = body::excerpt_with(&self.excerpt, &body, &html, self.format, options);
        let (excerpt_html, _) = capped(excerpt_html);
        if flattened > 0 {
            problems.push(Problem::warning(
                &path,
                Position::START,
                format!(
                    "the body nests elements (HTML, block quotes, lists) more than {MAX_NESTING} levels deep: {flattened} tags beyond that depth are left out (their text stays), as browsers and sanitisers cap nesting"
                ),
            ));
        }
        let content = Content {
            html,
            excerpt_html,
            liquid: ran != super::render::Ran::No,
            unkeyed: ran == super::render::Ran::Unkeyed,
        };
        Ok((content, problems))
    }

    /// The post's categories and tags, for `category` elements.
    pub fn terms(&self) -> impl Iterator<Item = &str> {
        self.categories
            .iter()
            .chain(self.tags.iter())
            .map(String::as_str)
    }
}

/// Jekyll's `Utils.titleize_slug`: words split on `-` (trailing empty words dropped, as Ruby's
/// `split` drops them), each capitalised as Ruby's `capitalize` does: the first letter in title
/// case, the rest in lower case.
pub(crate) fn titleize(slug: &str) -> String {
    let mut words: Vec<&str> = slug.split('-').collect();
    while words.last() == Some(&"") {
        words.pop();
    }
    words
        .iter()
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => {
                    let mut out = titlecase(first);
                    out.extend(chars.flat_map(char::to_lowercase));
                    out
                }
                None => String::new(),
            }
        })
        .collect::<Vec<String>>()
        .join(" ")
}

/// The title case of a character: the Latin digraphs have their own (`ǆ` → `ǅ`); a character
/// whose upper case is several letters takes the first upper and the rest lower (`ß` → `Ss`,
/// `ﬁ` → `Fi`).
fn titlecase(c: char) -> String {
    match c {
        '\u{1C4}'..='\u{1C6}' => return '\u{1C5}'.to_string(),
        '\u{1C7}'..='\u{1C9}' => return '\u{1C8}'.to_string(),
        '\u{1CA}'..='\u{1CC}' => return '\u{1CB}'.to_string(),
        '\u{1F1}'..='\u{1F3}' => return '\u{1F2}'.to_string(),
        _ => {}
    }
    let mut upper = c.to_uppercase();
    let mut out = String::new();
    if let Some(first) = upper.next() {
        out.push(first);
    }
    out.extend(upper.flat_map(char::to_lowercase));
    out
}

thread_local! {
    /// Each worker reads every file into the same buffer: no allocation per post.
    static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Reads one post file, and gives the stamp the file had when it was opened (`None` when it
/// could not be opened).
pub fn read(
    site: &Path,
    source: &Source,
    config: &SiteConfig,
    folders: &Folders,
) -> (Reading, Option<Stamp>) {
    let mut buffer = BUFFER.with(|b| b.take());
    let result = read_with(site, source, config, folders, &mut buffer);
    buffer.clear();
    BUFFER.with(|b| b.replace(buffer));
    result
}

fn read_with(
    site: &Path,
    source: &Source,
    config: &SiteConfig,
    folders: &Folders,
    buffer: &mut Vec<u8>,
) -> (Reading, Option<Stamp>) {
    let shown = site.join(&source.relative);
    let name = match Name::of(source, config, &shown) {
        Ok(name) => name,
        Err(ignored) => return (ignored, None),
    };
    let limit = config.gazette.max_post_bytes;
    let stamp = match folders.read(site, &source.relative, buffer, limit) {
        Ok(stamp) => stamp,
        Err(ReadError::Io(e)) => {
            return (
                invalid(&shown, Position::START, format!("cannot read: {e}")),
                None,
            )
        }
        Err(ReadError::TooLarge { size }) => {
            return (
                invalid(&shown, Position::START, too_large(size, limit)),
                None,
            )
        }
    };
    let mut outcome = parse(site, source, config, shown, name, buffer);
    if let Reading::Post(post, _) = &mut outcome {
        post.stamp = Some(stamp);
    }
    (outcome, Some(stamp))
}

/// What a post's file name says.
struct Name {
    /// The whole file name.
    full: String,
    /// The date in the name (`2022-01-12`), absent for a dateless draft.
    date: Option<String>,
    slug: String,
    /// The extension in lower case, without the dot.
    ext: String,
    format: Markup,
}

impl Name {
    /// Reads a file name, or says why the file is not a post.
    fn of(source: &Source, config: &SiteConfig, shown: &Path) -> Result<Name, Reading> {
        let full = source
            .relative
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parts = match dated_name(&full) {
            Some((date, slug, ext)) => Some((Some(date), slug, ext)),
            None => DATED_NAME
                .captures(&full)
                .map(|c| (Some(c[1].to_string()), c[2].to_string(), c[3].to_string())),
        };
        let (date, slug, ext) =
            match (source.draft, parts) {
                (_, Some(parts)) => parts,
                (true, None) => match DATELESS_NAME.captures(&full) {
                    Some(c) => (None, c[1].to_string(), c[2].to_string()),
                    None => {
                        return Err(Reading::Ignored(Problem::note(
                            shown,
                            Position::START,
                            "ignored: a draft's name needs an extension (.md, .html)",
                        )))
                    }
                },
                (false, None) => return Err(Reading::Ignored(Problem::note(
                    shown,
                    Position::START,
                    "ignored: a post's file name must be YYYY-MM-DD-slug.md (or .markdown, .html)",
                ))),
            };
        let ext_lower = ext[1..].to_ascii_lowercase();
        let format = if config.markdown_ext.contains(&ext_lower) {
            Markup::Markdown
        } else if ext_lower == "html" || ext_lower == "htm" {
            Markup::Html
        } else {
            return Err(Reading::Ignored(Problem::note(
                shown,
                Position::START,
                format!(
                    "ignored: `{ext}` is neither Markdown ({}) nor HTML",
                    config.markdown_ext.join(", ")
                ),
            )));
        };
        Ok(Name {
            full,
            date,
            slug,
            ext: ext_lower,
            format,
        })
    }
}

/// The everyday `2022-01-12-slug.md` split as [`DATED_NAME`] splits it, without the regex;
/// `None` leaves anything unusual (other digits, a line break) to the regex.
fn dated_name(name: &str) -> Option<(String, String, String)> {
    let b = name.as_bytes();
    let digits = |at: usize, n: usize| {
        b.get(at..at + n)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let shape = digits(0, 4)
        && b.get(4) == Some(&b'-')
        && digits(5, 2)
        && b.get(7) == Some(&b'-')
        && digits(8, 2)
        && b.get(10) == Some(&b'-');
    if !shape || name.contains('\n') {
        return None;
    }
    let rest = &name[11..];
    let dot = rest.rfind('.')?;
    if dot + 1 == rest.len() {
        return None;
    }
    Some((
        name[..10].to_string(),
        rest[..dot].to_string(),
        rest[dot..].to_string(),
    ))
}

/// Reads one post from its file's bytes, one field at a time ([`fields`]).
fn parse(
    site: &Path,
    source: &Source,
    config: &SiteConfig,
    shown: PathBuf,
    name: Name,
    bytes: &[u8],
) -> Reading {
    let text = match fields::decode(bytes, &shown) {
        Ok(text) => text,
        Err(invalid) => return invalid,
    };
    let mut report = Report::new(&shown);
    let (fm, body_start) = match fields::read_front_matter(text, &name.slug, &mut report) {
        Ok(found) => found,
        Err(invalid) => return invalid,
    };
    // Jekyll reads the date (and stops on a bad one) before it looks at `published`.
    let unpublished = fields::is_false(&fm, "published");
    let zone = config.timezone;
    let date = fields::read_date(&fm, &name, site, source, zone, &mut report);
    let title = fields::read_title(&fm, name.slug.trim_end_matches('.'), &mut report);
    let slug = fields::read_slug(&fm, name.slug.trim_end_matches('.').to_string());
    let max_terms = config.gazette.max_terms;
    let categories = fields::read_categories(&fm, source, max_terms, &mut report);
    let tags = taxonomy::tags(&fm, max_terms, &shown, &mut report.problems);
    let last_modified = fields::read_last_modified(&fm, zone, &mut report);
    if !report.errors.is_empty() {
        return Reading::Invalid(report.errors);
    }
    if unpublished {
        return Reading::Unpublished;
    }
    let date = date.expect("a date or an error");
    fields::check_modified_after(&fm, date, last_modified, &mut report);
    let parts = fields::PathParts {
        date,
        categories: &categories,
        slug: &slug,
        name: &name,
    };
    let path = match fields::read_path(&fm, config, source, parts, &shown) {
        Ok(path) => path,
        Err(invalid) => return invalid,
    };
    let post = Post {
        source: source.relative.clone(),
        draft: source.draft,
        date,
        title,
        categories,
        tags,
        slug,
        url: config.absolute(&path),
        path,
        format: name.format,
        excerpt: fields::read_excerpt(&fm, config, &text[body_start..]),
        description: fields::read_description(&fm),
        author: fm.get("author").and_then(Author::from_yaml),
        image: fields::read_image(&fm),
        id: fields::read_id(&fm),
        last_modified,
        in_feeds: !fields::is_false(&fm, "feed"),
        has_liquid: super::render::has_liquid(&text[body_start..]),
        body_start,
        stamp: None,
    };
    Reading::Post(Box::new(post), report.problems)
}

/// Rendered HTML with its nesting capped at [`MAX_NESTING`], and how many tags that left out.
fn capped(html: String) -> (String, usize) {
    match cap_nesting(&html, MAX_NESTING) {
        (Cow::Owned(flat), n) => (flat, n),
        (Cow::Borrowed(_), _) => (html, 0),
    }
}

/// The message for a post over `max_post_bytes`.
fn too_large(size: u64, limit: u64) -> String {
    let mib = |n: u64| n as f64 / (1024.0 * 1024.0);
    format!(
        "the post is {size} bytes ({:.1} MiB), over `max_post_bytes` ({limit} bytes, {:.1} MiB): it is left out, unread; shorten it, or raise `max_post_bytes` in gazette's settings",
        mib(size),
        mib(limit)
    )
}

fn invalid(path: &Path, position: Position, message: impl Into<String>) -> Reading {
    Reading::Invalid(vec![Problem::error(path, position, message)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_from_slugs_like_jekyll() {
        assert_eq!(titleize("my-GitHub-post"), "My Github Post");
        assert_eq!(titleize("中文-标题"), "中文 标题");
        assert_eq!(titleize("trail-"), "Trail");
        assert_eq!(titleize("hello--world"), "Hello  World");
        assert_eq!(
            titleize("ßtraße-ǆemal-ﬁnance-ΣΑΣ"),
            "Sstraße ǅemal Finance Σασ"
        );
    }
}
