//! One reader per part of a post: its text, its front matter, and each field the feeds use.
//! Readers report what they find to a [`Report`]; an error makes the file invalid once every
//! field has been read, so that the author hears of all of them at once.

use std::path::Path;

use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use serde_yaml::Value;

use super::{invalid, titleize, Name, Reading};
use crate::collect::body::ExcerptSource;
use crate::collect::date::{self, DateError, Written};
use crate::collect::front_matter::{self, scalar_string, yaml11_bool, FrontMatter, Split};
use crate::collect::permalink;
use crate::collect::taxonomy;
use crate::collect::walk::Source;
use crate::config::SiteConfig;
use crate::problem::{Position, Problem};

/// What the readers found wrong with one post: warnings it is published with, and errors that
/// keep it out.
pub(super) struct Report<'p> {
    pub(super) shown: &'p Path,
    pub(super) problems: Vec<Problem>,
    pub(super) errors: Vec<Problem>,
}

impl<'p> Report<'p> {
    pub(super) fn new(shown: &'p Path) -> Self {
        Report {
            shown,
            problems: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn warn(&mut self, position: Position, message: impl Into<String>) {
        self.problems
            .push(Problem::warning(self.shown, position, message));
    }

    fn error(&mut self, position: Position, message: impl Into<String>) {
        self.errors
            .push(Problem::error(self.shown, position, message));
    }
}

/// The file's bytes as text: no NUL byte, valid UTF-8.
pub(super) fn decode<'b>(bytes: &'b [u8], shown: &Path) -> Result<&'b str, Reading> {
    if let Some(nul) = memchr::memchr(0, bytes) {
        let prefix = String::from_utf8_lossy(&bytes[..nul]);
        return Err(invalid(
            shown,
            Position::of_offset(&prefix, prefix.len()),
            "binary file (it contains a NUL byte), not a text post",
        ));
    }
    // Most files are valid: check them with SIMD, and only look for the place when one is not.
    simdutf8::basic::from_utf8(bytes)
        .or_else(|_| std::str::from_utf8(bytes))
        .map_err(|e| {
            let at = e.valid_up_to();
            let prefix = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
            invalid(
                shown,
                Position::of_offset(prefix, at),
                format!(
                    "not valid UTF-8 (byte 0x{:02X}): save the file as UTF-8",
                    bytes[at]
                ),
            )
        })
}

/// The front matter and where the body starts; a file Jekyll would not read as a post (an
/// unclosed front matter, YAML it cannot load) is invalid.
pub(super) fn read_front_matter<'t>(
    text: &'t str,
    slug: &str,
    report: &mut Report<'_>,
) -> Result<(FrontMatter<'t>, usize), Reading> {
    let shown = report.shown;
    let (fm, body_start) = match front_matter::split(text) {
        Split::Unclosed => {
            return Err(invalid(
                shown,
                Position::START,
                "front matter opened by `---` on line 1 is never closed: add a `---` line after it",
            ))
        }
        Split::None { body_start } => {
            report.warn(
                Position::START,
                format!(
                    "no front matter: Jekyll still publishes this file, titled \"{}\" from its name",
                    titleize(slug)
                ),
            );
            (FrontMatter::empty(), body_start)
        }
        Split::Found {
            yaml_start,
            yaml_end,
            body_start,
        } => match FrontMatter::parse(text, yaml_start, yaml_end) {
            Ok(fm) => (fm, body_start),
            Err(e) => return Err(invalid(shown, e.position, e.message)),
        },
    };
    // Jekyll loads YAML safely: a tag naming a Ruby class other than a string, a list or a
    // mapping stops it reading the front matter ("Tried to load unspecified class").
    if let Some((key, tag)) = fm.yaml_tags().iter().find(|(_, tag)| {
        tag.starts_with("!ruby/")
            && !matches!(tag.as_str(), "!ruby/string" | "!ruby/array" | "!ruby/hash")
    }) {
        return Err(invalid(
            shown,
            fm.position_of(key),
            format!(
                "`{key}` carries the YAML tag `{tag}`: Jekyll refuses to load the front matter (it loads no Ruby objects) and publishes the file without it; remove the tag"
            ),
        ));
    }
    for (position, message) in fm.repeated_keys() {
        report.warn(position, message);
    }
    Ok((fm, body_start))
}

/// How a date key is written: quoted text is always read by `Time.parse`.
fn written(fm: &FrontMatter<'_>, key: &str) -> Written {
    if fm.is_quoted(key) {
        Written::Quoted
    } else {
        Written::Plain
    }
}

/// The post's date: the front matter's `date`, else the file name's, else (a dateless draft)
/// the file's modification time. `None` when an error was reported.
pub(super) fn read_date(
    fm: &FrontMatter<'_>,
    name: &Name,
    site: &Path,
    source: &Source,
    zone: Tz,
    report: &mut Report<'_>,
) -> Option<DateTime<FixedOffset>> {
    let position = fm.position_of("date");
    match fm.get("date") {
        Some(Value::Null) => {
            report.error(
                position,
                "bad date: `date:` is empty (Jekyll stops the whole build on this): give a date or remove the line",
            );
            None
        }
        Some(v) => match scalar_string(v) {
            Some(raw) => written_date(&raw, written(fm, "date"), name, zone, position, report),
            None => {
                report.error(
                    position,
                    format!(
                        "bad date: `date` is {}, not a date",
                        front_matter::describe(v)
                    ),
                );
                None
            }
        },
        None => match &name.date {
            Some(d) => match date::parse(&four_digit_year(d), Written::Quoted, zone) {
                Ok(d) => Some(d.at),
                Err(m) => {
                    report.error(Position::START, format!("bad date in the file name: {m}"));
                    None
                }
            },
            None => Some(modified(site, source, zone)),
        },
    }
}

/// A front-matter date as written; when gazette cannot read it but Jekyll forgives it, the
/// file name's date.
fn written_date(
    raw: &str,
    written: Written,
    name: &Name,
    zone: Tz,
    position: Position,
    report: &mut Report<'_>,
) -> Option<DateTime<FixedOffset>> {
    match date::parse(raw, written, zone) {
        Ok(d) => {
            if let Some(w) = d.warning {
                report.warn(position, w);
            }
            Some(d.at)
        }
        Err(DateError::Unreadable(m)) if name.date.is_some() => {
            // Jekyll forgives more than gazette can reproduce: the post is still published, on
            // the date its file name gives.
            let named = name
                .date
                .as_deref()
                .map(four_digit_year)
                .unwrap_or_default();
            match date::parse(&named, Written::Quoted, zone) {
                Ok(d) => {
                    report.warn(
                        position,
                        format!("bad date: {m}; the file name's date ({named}) is used instead"),
                    );
                    Some(d.at)
                }
                Err(e) => {
                    report.error(
                        position,
                        format!("bad date: {m}; nor is the file name's date one: {e}"),
                    );
                    None
                }
            }
        }
        Err(m) => {
            report.error(position, format!("bad date: {m}"));
            None
        }
    }
}

/// A draft without a date: Jekyll uses the file's modification time.
fn modified(site: &Path, source: &Source, zone: Tz) -> DateTime<FixedOffset> {
    let modified = std::fs::metadata(site.join(&source.relative))
        .and_then(|m| m.modified())
        .map(DateTime::<chrono::Utc>::from)
        .unwrap_or_else(|_| chrono::Utc::now());
    modified.with_timezone(&zone).fixed_offset()
}

/// The title: the front matter's as Jekyll shows it, else the slug's words.
pub(super) fn read_title(fm: &FrontMatter<'_>, slug: &str, report: &mut Report<'_>) -> String {
    // Jekyll's `data["title"] ||= …`: a false title is replaced as a missing one is.
    let title_value = fm.get("title").filter(|v| !matches!(v, Value::Bool(false)));
    if let Some(v @ (Value::Mapping(_) | Value::Sequence(_))) = title_value {
        report.warn(
            fm.position_of("title"),
            format!(
                "`title` is {}, not text: Jekyll's page shows it as \"{}\", and so do the feeds; write the title as a string",
                front_matter::describe(v),
                front_matter::liquid_text(v)
            ),
        );
    }
    taxonomy::check_tags("title", fm, report.shown, &mut report.problems);
    let title_text = title_value.and_then(|v| match v {
        Value::Mapping(_) | Value::Sequence(_) => Some(front_matter::liquid_text(v)),
        other => scalar_string(other),
    });
    match title_text {
        Some(t) => {
            if t.trim().is_empty() {
                report.warn(fm.position_of("title"), "empty title");
            }
            t
        }
        None => titleize(slug),
    }
}

/// The front matter's `slug`, else the file name's.
pub(super) fn read_slug(fm: &FrontMatter<'_>, from_name: String) -> String {
    fm.get("slug")
        .and_then(scalar_string)
        .filter(|s| !s.is_empty())
        .unwrap_or(from_name)
}

/// The categories: the folders' and the front matter's.
pub(super) fn read_categories(
    fm: &FrontMatter<'_>,
    source: &Source,
    max_terms: usize,
    report: &mut Report<'_>,
) -> Vec<String> {
    let categories = taxonomy::categories(
        fm,
        &source.folder_categories,
        max_terms,
        report.shown,
        &mut report.problems,
    );
    categories.unwrap_or_else(|e| {
        report.errors.push(e);
        Vec::new()
    })
}

/// `last_modified_at`, when given.
pub(super) fn read_last_modified(
    fm: &FrontMatter<'_>,
    zone: Tz,
    report: &mut Report<'_>,
) -> Option<DateTime<FixedOffset>> {
    let v = fm.get("last_modified_at").filter(|v| !v.is_null())?;
    let read = scalar_string(v)
        .ok_or_else(|| DateError::Invalid("it is not a date".to_string()))
        .and_then(|raw| date::parse(&raw, written(fm, "last_modified_at"), zone));
    match read {
        Ok(d) => Some(d.at),
        Err(m) => {
            report.error(
                fm.position_of("last_modified_at"),
                format!("bad last_modified_at: {m}"),
            );
            None
        }
    }
}

/// Warns when `last_modified_at` comes before the post's date.
pub(super) fn check_modified_after(
    fm: &FrontMatter<'_>,
    date: DateTime<FixedOffset>,
    last_modified: Option<DateTime<FixedOffset>>,
    report: &mut Report<'_>,
) {
    if last_modified.is_some_and(|m| m < date) {
        report.warn(
            fm.position_of("last_modified_at"),
            "last_modified_at is before the post's date",
        );
    }
}

/// The parts of a post its permalink is made of.
pub(super) struct PathParts<'a> {
    pub(super) date: DateTime<FixedOffset>,
    pub(super) categories: &'a [String],
    pub(super) slug: &'a str,
    pub(super) name: &'a Name,
}

/// The post's path below the site root, from its `permalink` or the site's; an error is the
/// problem that makes the post invalid.
pub(super) fn read_path(
    fm: &FrontMatter<'_>,
    config: &SiteConfig,
    source: &Source,
    parts: PathParts<'_>,
    shown: &Path,
) -> Result<String, Reading> {
    let template = fm
        .get("permalink")
        .and_then(scalar_string)
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| config.permalink.clone());
    permalink::expand(
        &template,
        &permalink::Fields {
            date: parts.date.with_timezone(&config.timezone).naive_local(),
            categories: parts.categories,
            slug: parts.slug,
            output_ext: if parts.name.ext == "htm" {
                ".htm"
            } else {
                ".html"
            },
            name: &parts.name.full,
            relative: &source.relative,
        },
    )
    .map_err(|m| invalid(shown, fm.position_of("permalink"), m.to_string()))
}

/// Where the excerpt comes from: the front matter's `excerpt`, the body up to the separator,
/// or the first paragraph.
pub(super) fn read_excerpt(fm: &FrontMatter<'_>, config: &SiteConfig, body: &str) -> ExcerptSource {
    let separator = fm
        .get("excerpt_separator")
        .and_then(scalar_string)
        .unwrap_or_else(|| config.excerpt_separator.clone());
    match fm.get("excerpt").and_then(scalar_string) {
        Some(e) => ExcerptSource::FrontMatter(e),
        None if separator.is_empty() => ExcerptSource::None,
        None if separator != "\n\n" && body.contains(&separator) => {
            ExcerptSource::Separator(separator)
        }
        None => ExcerptSource::FirstParagraph,
    }
}

/// `image`, or the `path` of an `image` mapping.
pub(super) fn read_image(fm: &FrontMatter<'_>) -> Option<String> {
    fm.get("image").and_then(|v| match v {
        Value::Mapping(m) => m.get("path").and_then(scalar_string),
        other => scalar_string(other),
    })
}

/// A text field that is not blank.
fn text_field(value: Option<&Value>) -> Option<String> {
    value
        .and_then(scalar_string)
        .filter(|s| !s.trim().is_empty())
}

/// `description`, when not blank.
pub(super) fn read_description(fm: &FrontMatter<'_>) -> Option<String> {
    text_field(fm.get("description"))
}

/// `id` (or else `guid`), when not blank.
pub(super) fn read_id(fm: &FrontMatter<'_>) -> Option<String> {
    text_field(fm.get("id").or_else(|| fm.get("guid")))
}

/// Whether a key is falsy as Jekyll reads it: `false`, `no`, `off` (unquoted) or empty.
pub(super) fn is_false(fm: &FrontMatter<'_>, key: &str) -> bool {
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
}
