//! One post: everything the later stages need, read from one file. The body is not kept: it is
//! read again and rendered only when a feed or digest asks for it ([`Post::content`]).

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset};
use regex::Regex;
use serde_yaml::Value;

use super::body::{self, ExcerptSource, Format};
use super::cache::Stamp;
use super::date::{self, DateError, Written};
use super::files::{read_limited, Folders, ReadError};
use super::front_matter::{self, scalar_string, yaml11_bool, FrontMatter, Split};
use super::permalink;
use super::taxonomy;
use super::walk::Source;
use crate::config::{Author, SiteConfig};
use crate::feed::html::{cap_nesting, MAX_NESTING};
use crate::problem::{Position, Problem};

/// A post as the collector read it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Post {
    /// The file, relative to the site folder.
    pub source: PathBuf,
    pub draft: bool,
    /// When the post was published, with the offset it was written with (or the site's).
    #[serde(with = "compact_date")]
    pub date: DateTime<FixedOffset>,
    pub title: String,
    /// Categories in the order written, duplicates removed, case kept.
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    pub slug: String,
    /// The path of the post's page below the site root (`/news/2022/01/12/x.html`), as Jekyll
    /// builds it, percent-encoded.
    pub path: String,
    /// The absolute URL of the post's page (`url` + `baseurl` + path).
    pub url: String,
    pub format: Format,
    pub excerpt: ExcerptSource,
    pub description: Option<String>,
    pub author: Option<Author>,
    pub image: Option<String>,
    /// A front-matter `id` or `guid`, used instead of the URL as the post's identity in feeds.
    pub id: Option<String>,
    #[serde(with = "compact_date::optional")]
    pub last_modified: Option<DateTime<FixedOffset>>,
    /// False when the post says `feed: false`.
    pub in_feeds: bool,
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

    pub fn serialize<S: Serializer>(at: &DateTime<FixedOffset>, s: S) -> Result<S::Ok, S::Error> {
        parts(at).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<FixedOffset>, D::Error> {
        date(Parts::deserialize(d)?)
    }

    pub mod optional {
        use super::*;

        pub fn serialize<S: Serializer>(
            at: &Option<DateTime<FixedOffset>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            at.as_ref().map(parts).serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
            Option::<Parts>::deserialize(d)?.map(date).transpose()
        }
    }
}

/// A post's rendered body and excerpt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub html: String,
    pub excerpt_html: String,
    /// Whether the body ran Liquid, so that what it shows depends on more than its own file.
    pub liquid: bool,
}

/// What reading one file gave.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
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
        let (body, mut problems, liquid) = renderer.liquid(self, &text, self.body_start);
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
            liquid,
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
pub fn titleize(slug: &str) -> String {
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
) -> (Outcome, Option<Stamp>) {
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
) -> (Outcome, Option<Stamp>) {
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
    if let Outcome::Post(post, _) = &mut outcome {
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
    format: Format,
}

impl Name {
    /// Reads a file name, or says why the file is not a post.
    fn of(source: &Source, config: &SiteConfig, shown: &Path) -> Result<Name, Outcome> {
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
                        return Err(Outcome::Ignored(Problem::note(
                            shown,
                            Position::START,
                            "ignored: a draft's name needs an extension (.md, .html)",
                        )))
                    }
                },
                (false, None) => return Err(Outcome::Ignored(Problem::note(
                    shown,
                    Position::START,
                    "ignored: a post's file name must be YYYY-MM-DD-slug.md (or .markdown, .html)",
                ))),
            };
        let ext_lower = ext[1..].to_ascii_lowercase();
        let format = if config.markdown_ext.contains(&ext_lower) {
            Format::Markdown
        } else if ext_lower == "html" || ext_lower == "htm" {
            Format::Html
        } else {
            return Err(Outcome::Ignored(Problem::note(
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

/// Reads one post from its file's bytes.
fn parse(
    site: &Path,
    source: &Source,
    config: &SiteConfig,
    shown: PathBuf,
    name: Name,
    bytes: &[u8],
) -> Outcome {
    let Name {
        full: name,
        date: name_date,
        slug,
        ext: ext_lower,
        format,
    } = name;
    if let Some(nul) = memchr::memchr(0, bytes) {
        let prefix = String::from_utf8_lossy(&bytes[..nul]);
        return invalid(
            &shown,
            Position::of_offset(&prefix, prefix.len()),
            "binary file (it contains a NUL byte), not a text post",
        );
    }
    // Most files are valid: check them with SIMD, and only look for the place when one is not.
    let text = match simdutf8::basic::from_utf8(bytes).or_else(|_| std::str::from_utf8(bytes)) {
        Ok(t) => t,
        Err(e) => {
            let at = e.valid_up_to();
            let prefix = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
            return invalid(
                &shown,
                Position::of_offset(prefix, at),
                format!(
                    "not valid UTF-8 (byte 0x{:02X}): save the file as UTF-8",
                    bytes[at]
                ),
            );
        }
    };

    let mut problems = Vec::new();
    let (fm, body_start) = match front_matter::split(text) {
        Split::Unclosed => {
            return invalid(
                &shown,
                Position::START,
                "front matter opened by `---` on line 1 is never closed: add a `---` line after it",
            )
        }
        Split::None { body_start } => {
            problems.push(Problem::warning(
                &shown,
                Position::START,
                format!(
                    "no front matter: Jekyll still publishes this file, titled \"{}\" from its name",
                    titleize(&slug)
                ),
            ));
            (FrontMatter::empty(), body_start)
        }
        Split::Found {
            yaml_start,
            yaml_end,
            body_start,
        } => match FrontMatter::parse(text, yaml_start, yaml_end) {
            Ok(fm) => (fm, body_start),
            Err(e) => return invalid(&shown, e.position, e.message),
        },
    };

    // Jekyll loads YAML safely: a tag naming a Ruby class other than a string, a list or a
    // mapping stops it reading the front matter ("Tried to load unspecified class").
    if let Some((key, tag)) = fm.yaml_tags().iter().find(|(_, tag)| {
        tag.starts_with("!ruby/")
            && !matches!(tag.as_str(), "!ruby/string" | "!ruby/array" | "!ruby/hash")
    }) {
        return invalid(
            &shown,
            fm.position_of(key),
            format!(
                "`{key}` carries the YAML tag `{tag}`: Jekyll refuses to load the front matter (it loads no Ruby objects) and publishes the file without it; remove the tag"
            ),
        );
    }
    for (position, message) in fm.repeated_keys() {
        problems.push(Problem::warning(&shown, position, message));
    }
    // Jekyll reads the date (and stops on a bad one) before it looks at `published`.
    let unpublished = is_false(&fm, "published");

    let mut errors = Vec::new();
    let zone = config.timezone;
    let date = match fm.get("date") {
        Some(Value::Null) => {
            errors.push(Problem::error(
                &shown,
                fm.position_of("date"),
                "bad date: `date:` is empty (Jekyll stops the whole build on this): give a date or remove the line",
            ));
            None
        }
        Some(v) => match scalar_string(v) {
            Some(raw) => {
                let written = if fm.is_quoted("date") {
                    Written::Quoted
                } else {
                    Written::Plain
                };
                match date::parse(&raw, written, zone) {
                    Ok(d) => {
                        if let Some(w) = d.warning {
                            problems.push(Problem::warning(&shown, fm.position_of("date"), w));
                        }
                        Some(d.at)
                    }
                    Err(DateError::Unreadable(m)) if name_date.is_some() => {
                        // Jekyll forgives more than gazette can reproduce: the post is still
                        // published, on the date its file name gives.
                        let named = name_date
                            .as_deref()
                            .map(four_digit_year)
                            .unwrap_or_default();
                        match date::parse(&named, Written::Quoted, zone) {
                            Ok(d) => {
                                problems.push(Problem::warning(
                                    &shown,
                                    fm.position_of("date"),
                                    format!("bad date: {m}; the file name's date ({named}) is used instead"),
                                ));
                                Some(d.at)
                            }
                            Err(e) => {
                                errors.push(Problem::error(
                                    &shown,
                                    fm.position_of("date"),
                                    format!("bad date: {m}; nor is the file name's date one: {e}"),
                                ));
                                None
                            }
                        }
                    }
                    Err(m) => {
                        errors.push(Problem::error(
                            &shown,
                            fm.position_of("date"),
                            format!("bad date: {m}"),
                        ));
                        None
                    }
                }
            }
            None => {
                errors.push(Problem::error(
                    &shown,
                    fm.position_of("date"),
                    format!(
                        "bad date: `date` is {}, not a date",
                        front_matter::describe(v)
                    ),
                ));
                None
            }
        },
        None => match &name_date {
            Some(d) => match date::parse(&four_digit_year(d), Written::Quoted, zone) {
                Ok(d) => Some(d.at),
                Err(m) => {
                    errors.push(Problem::error(
                        &shown,
                        Position::START,
                        format!("bad date in the file name: {m}"),
                    ));
                    None
                }
            },
            None => {
                // A draft without a date: Jekyll uses the file's modification time.
                let modified = std::fs::metadata(site.join(&source.relative))
                    .and_then(|m| m.modified())
                    .map(DateTime::<chrono::Utc>::from)
                    .unwrap_or_else(|_| chrono::Utc::now());
                Some(modified.with_timezone(&zone).fixed_offset())
            }
        },
    };

    let slug = slug.trim_end_matches('.').to_string();
    // Jekyll's `data["title"] ||= …`: a false title is replaced as a missing one is.
    let title_value = fm.get("title").filter(|v| !matches!(v, Value::Bool(false)));
    if let Some(v @ (Value::Mapping(_) | Value::Sequence(_))) = title_value {
        problems.push(Problem::warning(
            &shown,
            fm.position_of("title"),
            format!(
                "`title` is {}, not text: Jekyll's page shows it as \"{}\", and so do the feeds; write the title as a string",
                front_matter::describe(v),
                front_matter::liquid_text(v)
            ),
        ));
    }
    taxonomy::check_tags("title", &fm, &shown, &mut problems);
    let title_text = title_value.and_then(|v| match v {
        Value::Mapping(_) | Value::Sequence(_) => Some(front_matter::liquid_text(v)),
        other => scalar_string(other),
    });
    let title = match title_text {
        Some(t) => {
            if t.trim().is_empty() {
                problems.push(Problem::warning(
                    &shown,
                    fm.position_of("title"),
                    "empty title",
                ));
            }
            t
        }
        None => titleize(&slug),
    };
    let slug = fm
        .get("slug")
        .and_then(scalar_string)
        .filter(|s| !s.is_empty())
        .unwrap_or(slug);
    let max_terms = config.gazette.max_terms;
    let categories = match taxonomy::categories(
        &fm,
        &source.folder_categories,
        max_terms,
        &shown,
        &mut problems,
    ) {
        Ok(c) => c,
        Err(e) => {
            errors.push(e);
            Vec::new()
        }
    };
    let tags = taxonomy::tags(&fm, max_terms, &shown, &mut problems);

    let last_modified = match fm.get("last_modified_at").filter(|v| !v.is_null()) {
        None => None,
        Some(v) => {
            let written = if fm.is_quoted("last_modified_at") {
                Written::Quoted
            } else {
                Written::Plain
            };
            match scalar_string(v)
                .ok_or_else(|| DateError::Invalid("it is not a date".to_string()))
                .and_then(|raw| date::parse(&raw, written, zone))
            {
                Ok(d) => Some(d.at),
                Err(m) => {
                    errors.push(Problem::error(
                        &shown,
                        fm.position_of("last_modified_at"),
                        format!("bad last_modified_at: {m}"),
                    ));
                    None
                }
            }
        }
    };
    if !errors.is_empty() {
        return Outcome::Invalid(errors);
    }
    if unpublished {
        return Outcome::Unpublished;
    }
    let date = date.expect("a date or an error");
    if let Some(m) = last_modified {
        if m < date {
            problems.push(Problem::warning(
                &shown,
                fm.position_of("last_modified_at"),
                "last_modified_at is before the post's date",
            ));
        }
    }

    let template = fm
        .get("permalink")
        .and_then(scalar_string)
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| config.permalink.clone());
    let path = match permalink::expand(
        &template,
        &permalink::Fields {
            date: date.with_timezone(&zone).naive_local(),
            categories: &categories,
            slug: &slug,
            output_ext: if ext_lower == "htm" { ".htm" } else { ".html" },
            name: &name,
            relative: &source.relative,
        },
    ) {
        Ok(path) => path,
        Err(m) => return invalid(&shown, fm.position_of("permalink"), m),
    };
    let url = config.absolute(&path);

    let body = &text[body_start..];
    let separator = fm
        .get("excerpt_separator")
        .and_then(scalar_string)
        .unwrap_or_else(|| config.excerpt_separator.clone());
    let excerpt = match fm.get("excerpt").and_then(scalar_string) {
        Some(e) => ExcerptSource::FrontMatter(e),
        None if separator.is_empty() => ExcerptSource::None,
        None if separator != "\n\n" && body.contains(&separator) => {
            ExcerptSource::Separator(separator)
        }
        None => ExcerptSource::FirstParagraph,
    };
    let image = fm.get("image").and_then(|v| match v {
        Value::Mapping(m) => m.get("path").and_then(scalar_string),
        other => scalar_string(other),
    });
    let post = Post {
        source: source.relative.clone(),
        draft: source.draft,
        date,
        title,
        categories,
        tags,
        slug,
        path,
        url,
        format,
        excerpt,
        description: fm
            .get("description")
            .and_then(scalar_string)
            .filter(|s| !s.trim().is_empty()),
        author: fm.get("author").and_then(Author::from_yaml),
        image,
        id: fm
            .get("id")
            .or_else(|| fm.get("guid"))
            .and_then(scalar_string)
            .filter(|s| !s.trim().is_empty()),
        last_modified,
        in_feeds: !is_false(&fm, "feed"),
        body_start,
        stamp: None,
    };
    Outcome::Post(Box::new(post), problems)
}

/// Whether a key is falsy as Jekyll reads it: `false`, `no`, `off` (unquoted) or empty.
fn is_false(fm: &FrontMatter<'_>, key: &str) -> bool {
    match fm.get(key) {
        None => false,
        Some(Value::Null) => true,
        Some(Value::String(_)) if fm.is_quoted(key) => false,
        Some(v) => yaml11_bool(v) == Some(false),
    }
}

/// A file name's date with its year made four digits as Ruby's `Time.parse` reads it: two
/// digits are 1969–2068, three are taken as they are.
fn four_digit_year(date: &str) -> String {
    let (year, rest) = date.split_once('-').unwrap_or((date, ""));
    let year: u32 = year.parse().unwrap_or(0);
    let full = match (date.split_once('-').map_or(0, |(y, _)| y.len()), year) {
        (2, y) if y >= 69 => 1900 + y,
        (2, y) => 2000 + y,
        (_, y) => y,
    };
    format!("{full:04}-{rest}")
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

fn invalid(path: &Path, position: Position, message: impl Into<String>) -> Outcome {
    Outcome::Invalid(vec![Problem::error(path, position, message)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_digit_years_like_ruby() {
        assert_eq!(four_digit_year("20-01-05"), "2020-01-05");
        assert_eq!(four_digit_year("69-1-5"), "1969-1-5");
        assert_eq!(four_digit_year("020-01-05"), "0020-01-05");
        assert_eq!(four_digit_year("2022-01-05"), "2022-01-05");
    }

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
