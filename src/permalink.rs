//! Post URLs, computed as Jekyll 4.3 computes them (`Jekyll::URL` with a document's `UrlDrop`),
//! so that feeds link to the pages Jekyll publishes.
//!
//! Placeholders (`:year`, `:title`, `:categories`, …) are replaced by values taken from the
//! post's date in the site's zone, its slug and its categories; each value is percent-encoded
//! like Jekyll's `URL.escape_path`; runs of `/` are squeezed and `..` cannot climb.

use std::path::Path;

use chrono::{Datelike, NaiveDateTime, Timelike};

/// Jekyll's built-in permalink styles for posts (Jekyll 4.3).
pub fn style(name: &str) -> Option<&'static str> {
    Some(match name {
        "date" => "/:categories/:year/:month/:day/:title:output_ext",
        "pretty" => "/:categories/:year/:month/:day/:title/",
        "ordinal" => "/:categories/:year/:y_day/:title:output_ext",
        "weekdate" => "/:categories/:year/W:week/:short_day/:title:output_ext",
        "none" => "/:categories/:title:output_ext",
        _ => return None,
    })
}

/// What a permalink pattern can draw on.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    /// The post's date in the site's zone (Jekyll formats `localtime`).
    pub date: NaiveDateTime,
    /// The post's categories, for `:categories`.
    pub categories: &'a [String],
    /// The slug (from the file name, or the front matter's `slug`).
    pub slug: &'a str,
    /// `.html` for Markdown and HTML posts.
    pub output_ext: &'a str,
    /// The file name, e.g. `2022-01-12-slug.md`.
    pub name: &'a str,
    /// The file's path relative to the site folder.
    pub relative: &'a Path,
}

/// Jekyll's `Utils.slugify` in its modes: `default` keeps letters, marks and digits of any
/// script; `pretty` also keeps `._~!$&'()+,;=@`. Every other run becomes one `-`; one leading
/// and one trailing `-` go; the result is lower-cased unless `cased`.
pub fn slugify(text: &str, pretty: bool, cased: bool) -> String {
    let keep =
        |c: char| c.is_alphanumeric() || is_mark(c) || (pretty && "._~!$&'()+,;=@".contains(c));
    let mut out = String::with_capacity(text.len());
    let mut in_run = false;
    for c in text.chars() {
        if keep(c) {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('-');
            in_run = true;
        }
    }
    let out = out.strip_prefix('-').unwrap_or(&out);
    let out = out.strip_suffix('-').unwrap_or(out);
    if cased {
        out.to_string()
    } else {
        out.to_lowercase()
    }
}

/// Combining marks (Unicode category M) in the blocks real text uses.
fn is_mark(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x0610..=0x061A | 0x064B..=0x065F
        | 0x0900..=0x0903 | 0x093A..=0x094F | 0x0E31 | 0x0E34..=0x0E3A | 0x0E47..=0x0E4E
        | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0x3099..=0x309A | 0xFE20..=0xFE2F)
}

/// Jekyll's `URL.escape_path`: percent-encodes (UTF-8, upper-case hex) every character but
/// `A-Za-z0-9-._~!$&'()*+,;=:@/`.
pub fn escape_path(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/".contains(c) {
            out.push(c);
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push('%');
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 15)] as char);
            }
        }
    }
    out
}

/// The value of a placeholder, or `None` for a name Jekyll does not know.
fn placeholder(name: &str, f: &Fields<'_>) -> Option<String> {
    let d = &f.date;
    let dedup = |items: Vec<String>| {
        let mut seen: Vec<String> = Vec::new();
        for item in items {
            if !seen.contains(&item) {
                seen.push(item);
            }
        }
        seen.join("/")
    };
    Some(match name {
        // Years are 1 to 9999 here (the collector refuses others), so `%Y` is four digits.
        "year" => format!("{:04}", d.year()),
        "month" => format!("{:02}", d.month()),
        "day" => format!("{:02}", d.day()),
        "hour" => format!("{:02}", d.hour()),
        "minute" => format!("{:02}", d.minute()),
        "second" => format!("{:02}", d.second()),
        "i_day" => d.format("%-d").to_string(),
        "i_month" => d.format("%-m").to_string(),
        "short_month" => d.format("%b").to_string(),
        "long_month" => d.format("%B").to_string(),
        "short_year" => d.format("%y").to_string(),
        "y_day" => d.format("%j").to_string(),
        "week" => d.format("%V").to_string(),
        "w_year" => d.format("%G").to_string(),
        "w_day" => d.format("%u").to_string(),
        "short_day" => d.format("%a").to_string(),
        "long_day" => d.format("%A").to_string(),
        "title" => slugify(f.slug, true, true),
        "slug" => slugify(f.slug, false, false),
        "name" => slugify(stem(f.name), false, false),
        "categories" => dedup(f.categories.iter().map(|c| c.to_lowercase()).collect()),
        "slugified_categories" => dedup(
            f.categories
                .iter()
                .map(|c| slugify(c, false, false))
                .collect(),
        ),
        "output_ext" => f.output_ext.to_string(),
        "collection" => "posts".to_string(),
        "path" => {
            let rel = f.relative.to_string_lossy().replace('\\', "/");
            let inner = rel.split_once("_posts/").map_or(rel.as_str(), |(_, r)| r);
            let inner = inner.split_once("_drafts/").map_or(inner, |(_, r)| r);
            stem(inner).to_string()
        }
        _ => return None,
    })
}

fn stem(name: &str) -> &str {
    match name.rfind('.') {
        Some(dot) if dot > 0 && !name[dot..].contains('/') => &name[..dot],
        _ => name,
    }
}

/// A permalink pattern Jekyll cannot expand (Jekyll then stops the whole build).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("permalink `{template}` uses `:{placeholder}`, which Jekyll does not know")]
pub struct UnknownPlaceholder {
    /// The pattern as written.
    pub template: String,
    /// The unknown name, without its `:`.
    pub placeholder: String,
}

/// Expands a permalink pattern into the post's path (always starting with `/`).
pub fn expand(template: &str, fields: &Fields<'_>) -> Result<String, UnknownPlaceholder> {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(colon) = rest.find(':') {
        out.push_str(&rest[..colon]);
        let after = &rest[colon + 1..];
        let len = after
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..len];
        if name.is_empty() {
            out.push(':');
            rest = after;
            continue;
        }
        // Jekyll lets `:title_` stand for `:title` followed by `_`.
        let (value, used) = match placeholder(name, fields) {
            Some(v) => (v, len),
            None => match name
                .strip_suffix('_')
                .and_then(|short| placeholder(short, fields))
            {
                Some(v) => (v, len - 1),
                None => {
                    return Err(UnknownPlaceholder {
                        template: template.to_string(),
                        placeholder: name.to_string(),
                    })
                }
            },
        };
        out.push_str(&escape_path(&value));
        rest = &after[used..];
    }
    out.push_str(rest);
    Ok(sanitize(&out))
}

/// Jekyll's `URL#sanitize_url`: a leading `/`, no `..`, no `./`, no runs of `/`.
fn sanitize(path: &str) -> String {
    let with_root = format!("/{path}").replace("..", "/").replace("./", "");
    let mut out = String::with_capacity(with_root.len());
    for c in with_root.chars() {
        if c == '/' && out.ends_with('/') {
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(categories: &'a [String], slug: &'a str) -> Fields<'a> {
        Fields {
            date: chrono::NaiveDate::from_ymd_opt(2022, 1, 3)
                .unwrap()
                .and_hms_opt(14, 18, 25)
                .unwrap(),
            categories,
            slug,
            output_ext: ".html",
            name: "2022-01-03-x.md",
            relative: Path::new("_posts/2022/2022-01-03-x.md"),
        }
    }

    fn expand_style(style: &str, categories: &[String], slug: &str) -> String {
        expand(super::style(style).unwrap(), &fields(categories, slug)).unwrap()
    }

    #[test]
    fn built_in_styles() {
        let cats = vec!["News".to_string(), "World".to_string()];
        assert_eq!(
            expand_style("date", &cats, "hello"),
            "/news/world/2022/01/03/hello.html"
        );
        assert_eq!(
            expand_style("pretty", &cats, "hello"),
            "/news/world/2022/01/03/hello/"
        );
        assert_eq!(
            expand_style("ordinal", &cats, "hello"),
            "/news/world/2022/003/hello.html"
        );
        assert_eq!(
            expand_style("weekdate", &cats, "hello"),
            "/news/world/2022/W01/Mon/hello.html"
        );
        assert_eq!(
            expand_style("none", &cats, "hello"),
            "/news/world/hello.html"
        );
        assert_eq!(expand_style("date", &[], "hello"), "/2022/01/03/hello.html");
    }

    #[test]
    fn non_ascii_is_percent_encoded_and_title_keeps_case() {
        let cats = vec!["财经".to_string()];
        assert_eq!(
            expand_style("date", &cats, "新闻-Today"),
            "/%E8%B4%A2%E7%BB%8F/2022/01/03/%E6%96%B0%E9%97%BB-Today.html"
        );
        assert_eq!(
            expand("/:slug/", &fields(&[], "Hello World?!")).unwrap(),
            "/hello-world/"
        );
        assert_eq!(
            expand("/:title/", &fields(&[], "a b?c")).unwrap(),
            "/a-b-c/"
        );
    }

    #[test]
    fn custom_patterns_and_traversal() {
        let f = fields(&[], "x");
        assert_eq!(
            expand(
                "/:year/:i_month/:i_day/:hour:minute:second-:title_:name",
                &f
            )
            .unwrap(),
            "/2022/1/3/141825-x_2022-01-03-x"
        );
        assert_eq!(
            expand("blog/:path/", &f).unwrap(),
            "/blog/2022/2022-01-03-x/"
        );
        assert_eq!(expand("/../../:title", &f).unwrap(), "/x");
        let err = expand("/:nope/", &f).unwrap_err();
        assert_eq!(err.placeholder, "nope");
        assert!(err.to_string().contains("`:nope`"));
    }

    #[test]
    fn slugify_modes() {
        assert_eq!(slugify("Hello, World!", false, false), "hello-world");
        assert_eq!(slugify("Hello, World!", true, true), "Hello,-World!");
        assert_eq!(
            slugify("中国劳动保障报新闻", false, false),
            "中国劳动保障报新闻"
        );
        assert_eq!(slugify("--a--", false, false), "a");
    }
}
