//! Rendering the digest: Handlebars templates (the bundled ones in `templates/`, or a site's
//! own), helpers for dates in the site's zone and for cutting text by characters, and CSS
//! inlined into the HTML so that Gmail and Outlook show it as designed.

use std::path::Path;

use chrono::{DateTime, Datelike, FixedOffset, Weekday};
use chrono_tz::Tz;
use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, JsonRender, Output, RenderContext,
    RenderError as HbRenderError, RenderErrorReason,
};
use serde::Serialize;

use crate::collect::body::truncate_chars;
use crate::problem::{Position, Problem};

const HTML: &str = include_str!("../../templates/digest.html.hbs");
const TEXT: &str = include_str!("../../templates/digest.txt.hbs");
const INDEX: &str = include_str!("../../templates/digest-index.html.hbs");

/// The data every template sees.
#[derive(Debug, Clone, Serialize)]
pub struct Data {
    /// The site: its title, URL, description and language (`site`).
    pub site: SiteData,
    /// The period the digest covers (`period`).
    pub period: PeriodData,
    /// The categories with posts for this subscriber: those in `digest.category_order` first, in
    /// that order, then the others by name (`groups`).
    pub groups: Vec<Group>,
    /// How many posts the groups hold (`post_count`).
    pub post_count: usize,
    /// Who the email is for (`subscriber`).
    pub subscriber: SubscriberData,
    /// The one-click unsubscribe link; `None` when `digest.unsubscribe_url` is not set.
    pub unsubscribe_url: Option<String>,
    /// The address that unsubscribes whoever writes to it (`digest.unsubscribe_mailto`), if set.
    pub unsubscribe_mailto: Option<String>,
    /// The site-wide feeds' URLs (`feeds`).
    pub feeds: FeedsData,
    /// The subscriber's preferences page (`{serve_url}/preferences?token=…`, signed for them);
    /// `None` when `digest.serve_url` is not set, and on the archive's page.
    pub preferences_url: Option<String>,
    /// This digest's page in the web archive ("view in browser"); `None` when there is no
    /// archive (or its public URL is unknown), and on the archive's page itself.
    pub view_url: Option<String>,
    /// The service's sign-up form (`{serve_url}/subscribe`); `None` without `digest.serve_url`.
    pub subscribe_url: Option<String>,
    /// `true` when rendering the archive's web page, which shows nobody's data: no name, an
    /// empty address, no unsubscribe or preferences link.
    pub archive: bool,
}

/// What the archive's index template (`digest-index.html.hbs`) sees.
#[derive(Debug, Clone, Serialize)]
pub struct IndexData {
    /// The site (`site`).
    pub site: SiteData,
    /// The archived digests, newest first (`issues`).
    pub issues: Vec<IssueData>,
    /// The Atom feed of issues, relative to the index (`feed_url`).
    pub feed_url: String,
    /// The service's sign-up form, when `digest.serve_url` is set (`subscribe_url`).
    pub subscribe_url: Option<String>,
}

/// One archived digest, as the index template sees it in `issues`.
#[derive(Debug, Clone, Serialize)]
pub struct IssueData {
    /// The period's label, e.g. `2022-W02`.
    pub label: String,
    /// The digest's title (its subject as everyone would get it).
    pub title: String,
    /// The page, relative to the index (`2022-W02.html`).
    pub href: String,
    /// The period's start and last day (RFC 3339), for the `date` helper.
    pub start: String,
    /// The start of the period's last day (RFC 3339).
    pub last_day: String,
    /// How many posts the digest shows.
    pub post_count: usize,
}

/// The site, as templates see it under `site`.
#[derive(Debug, Clone, Serialize)]
pub struct SiteData {
    /// The site's `title`, as plain text.
    pub title: String,
    /// The site's root URL (`url` + `baseurl`, ending in `/`); empty when `_config.yml` has no
    /// `url`.
    pub url: String,
    /// The site's `description`, if it has one.
    pub description: Option<String>,
    /// The site's `lang`, if it has one.
    pub lang: Option<String>,
}

/// The period, as templates see it under `period`; its instants (RFC 3339) go to the `date` and
/// `weekday` helpers.
#[derive(Debug, Clone, Serialize)]
pub struct PeriodData {
    /// `2022-W02` for an ISO week, `2022-01-10..2022-01-16` for other spans.
    pub label: String,
    /// RFC 3339 instants; `last_day` is the start of the period's last day.
    pub start: String,
    /// The instant the period ends (the start of the day after it; not included).
    pub end: String,
    /// The start of the period's last day.
    pub last_day: String,
}

/// The site-wide feeds' URLs, as templates see them under `feeds`.
#[derive(Debug, Clone, Serialize)]
pub struct FeedsData {
    /// The site's RSS feed; `None` when the build makes no site-wide feed.
    pub rss: Option<String>,
    /// The site's Atom feed; `None` when the build makes no site-wide feed.
    pub atom: Option<String>,
    /// The OPML list of all the site's feeds (`feeds.opml`).
    pub opml: String,
}

/// One category's posts.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// The category as posts write it; empty for posts without one.
    pub name: String,
    /// The name shown: from `gazette.category_names`, or `digest.uncategorized` for posts without
    /// a category.
    pub display: String,
    /// The category's RSS feed; `None` when the build makes none for it.
    pub feed_url: Option<String>,
    /// The category's Atom feed; `None` when the build makes none for it.
    pub atom_url: Option<String>,
    /// The group's posts, oldest first.
    pub posts: Vec<PostData>,
}

/// One post, as templates see it in a group's `posts`.
#[derive(Debug, Clone, Serialize)]
pub struct PostData {
    /// The post's title, as plain text.
    pub title: String,
    /// The absolute URL of the post's page.
    pub url: String,
    /// When the post was published (RFC 3339), for the `date` and `weekday` helpers.
    pub date: String,
    /// Plain text, cut to `excerpt_chars` characters.
    pub excerpt: String,
    /// The post's categories, as written.
    pub categories: Vec<String>,
    /// The post's tags, as written.
    pub tags: Vec<String>,
}

/// The subscriber, as templates see them under `subscriber`.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriberData {
    /// Their name; `None` when the subscriber list gives none.
    pub name: Option<String>,
    /// Their email address.
    pub address: String,
}

/// A rendered email: subject, HTML (CSS inlined) and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The subject, on one line.
    pub subject: String,
    /// The HTML body, its CSS inlined.
    pub html: String,
    /// The plain-text body.
    pub text: String,
}

/// `{{date value "%Y-%m-%d"}}`: an RFC 3339 value in the site's zone, formatted with chrono.
struct DateHelper(Tz);
/// `{{weekday value "zh"}}`: the weekday's name in Chinese (`zh`) or English (otherwise).
struct WeekdayHelper(Tz);
/// `{{truncate text 120}}`: at most that many characters, with `…` when cut.
struct TruncateHelper;

fn param_str<'a>(
    h: &'a Helper<'_>,
    i: usize,
    name: &'static str,
) -> Result<&'a str, HbRenderError> {
    h.param(i).and_then(|p| p.value().as_str()).ok_or_else(|| {
        RenderErrorReason::ParamTypeMismatchForName(name, i.to_string(), "string".into()).into()
    })
}

fn local_date(h: &Helper<'_>, zone: Tz, name: &'static str) -> Result<DateTime<Tz>, HbRenderError> {
    let raw = param_str(h, 0, name)?;
    DateTime::<FixedOffset>::parse_from_rfc3339(raw)
        .map(|d| d.with_timezone(&zone))
        .map_err(|e| {
            RenderErrorReason::Other(format!("{name}: `{raw}` is not an RFC 3339 date: {e}")).into()
        })
}

impl HelperDef for DateHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let date = local_date(h, self.0, "date")?;
        let format = h
            .param(1)
            .and_then(|p| p.value().as_str())
            .unwrap_or("%Y-%m-%d %H:%M");
        let mut text = String::new();
        use std::fmt::Write;
        write!(text, "{}", date.format(format))
            .map_err(|_| RenderErrorReason::Other(format!("date: bad format `{format}`")))?;
        out.write(&text)?;
        Ok(())
    }
}

impl HelperDef for WeekdayHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let date = local_date(h, self.0, "weekday")?;
        let lang = h.param(1).and_then(|p| p.value().as_str()).unwrap_or("en");
        out.write(weekday_name(date.weekday(), lang))?;
        Ok(())
    }
}

impl HelperDef for TruncateHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let text = h.param(0).map(|p| p.value().render()).unwrap_or_default();
        let max = h.param(1).and_then(|p| p.value().as_u64()).unwrap_or(100) as usize;
        out.write(&truncate_chars(&text, max))?;
        Ok(())
    }
}

/// A weekday's name: `星期一` for `zh…`, `Monday` otherwise.
pub(crate) fn weekday_name(day: Weekday, lang: &str) -> &'static str {
    let i = day.num_days_from_monday() as usize;
    if lang.to_ascii_lowercase().starts_with("zh") {
        [
            "星期一",
            "星期二",
            "星期三",
            "星期四",
            "星期五",
            "星期六",
            "星期日",
        ][i]
    } else {
        [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ][i]
    }
}

/// The digest's templates, ready to render.
pub struct Renderer {
    html: Handlebars<'static>,
    text: Handlebars<'static>,
    /// Where each template came from, for errors: the HTML and text files, and the setting
    /// that holds the subject.
    html_source: String,
    text_source: String,
    index_source: String,
}

/// Where the subject template comes from, for errors.
const SUBJECT_SOURCE: &str = "the `digest: subject:` setting";

/// A render error that names the template's file, and the line and column when Handlebars
/// gives them (a helper that fails, a missing partial…).
/// Why an email could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A template failed at render time (a helper's error, a missing partial): the template
    /// file, and the place Handlebars gives.
    #[error("{}{}: {reason}", template, place(*line, *column))]
    Template {
        /// The template's file, or the setting that holds the subject.
        template: String,
        /// The line in it, when Handlebars gives one.
        line: Option<usize>,
        /// The column in it, when Handlebars gives one.
        column: Option<usize>,
        /// Handlebars' message.
        reason: String,
    },
    /// The HTML's styles could not be inlined.
    #[error("inlining CSS: {0}")]
    Css(String),
}

fn place(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(":{line}:{column}"),
        (Some(line), None) => format!(":{line}"),
        _ => String::new(),
    }
}

fn render_problem(source: &str, e: &HbRenderError) -> RenderError {
    RenderError::Template {
        template: source.to_string(),
        line: e.line_no,
        column: e.column_no,
        reason: e.reason().to_string(),
    }
}

fn template_problem(path: &Path, e: &handlebars::TemplateError) -> Problem {
    let position = e
        .pos()
        .map_or(Position::START, |(line, col)| Position::new(line, col));
    Problem::error(path, position, format!("template error: {}", e.reason()))
}

impl Renderer {
    /// Loads the templates (a site's own folder overrides the bundled ones file by file). A
    /// folder that does not exist is an error: a mistyped `templates:` must not silently give the
    /// bundled templates.
    pub fn new(folder: Option<&Path>, subject: &str, zone: Tz) -> Result<Renderer, Problem> {
        if let Some(dir) = folder {
            match std::fs::metadata(dir) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    return Err(Problem::error(
                        dir,
                        Position::START,
                        "the `digest: templates:` setting names this, which is not a folder",
                    ))
                }
                Err(e) => {
                    return Err(Problem::error(
                        dir,
                        Position::START,
                        format!("the `digest: templates:` setting names this folder, which cannot be read: {e}"),
                    ))
                }
            }
        }
        let mut html = Handlebars::new();
        let mut text = Handlebars::new();
        text.register_escape_fn(handlebars::no_escape);
        for registry in [&mut html, &mut text] {
            registry.register_helper("date", Box::new(DateHelper(zone)));
            registry.register_helper("weekday", Box::new(WeekdayHelper(zone)));
            registry.register_helper("truncate", Box::new(TruncateHelper));
        }
        let load = |name: &str,
                    bundled: &'static str|
         -> Result<(std::path::PathBuf, String), Problem> {
            if let Some(dir) = folder {
                let path = dir.join(name);
                if path.exists() {
                    let body = std::fs::read_to_string(&path).map_err(|e| {
                        Problem::error(&path, Position::START, format!("cannot read template: {e}"))
                    })?;
                    return Ok((path, body));
                }
            }
            Ok((Path::new("templates").join(name), bundled.to_string()))
        };
        let (html_path, body) = load("digest.html.hbs", HTML)?;
        html.register_template_string("html", body)
            .map_err(|e| template_problem(&html_path, &e))?;
        let (index_path, body) = load("digest-index.html.hbs", INDEX)?;
        html.register_template_string("index", body)
            .map_err(|e| template_problem(&index_path, &e))?;
        let (text_path, body) = load("digest.txt.hbs", TEXT)?;
        text.register_template_string("text", body)
            .map_err(|e| template_problem(&text_path, &e))?;
        text.register_template_string("subject", subject)
            .map_err(|e| template_problem(Path::new(SUBJECT_SOURCE), &e))?;
        let shown = |p: &Path| crate::collect::shown(p).display().to_string();
        Ok(Renderer {
            html,
            text,
            html_source: shown(&html_path),
            text_source: shown(&text_path),
            index_source: shown(&index_path),
        })
    }

    /// Renders one email. The HTML's `<style>` rules are inlined into `style` attributes.
    pub fn render(&self, data: &Data) -> Result<Rendered, RenderError> {
        let html = self
            .html
            .render("html", data)
            .map_err(|e| render_problem(&self.html_source, &e))?;
        let html = css_inline::inline(&html).map_err(|e| RenderError::Css(e.to_string()))?;
        let text = self
            .text
            .render("text", data)
            .map_err(|e| render_problem(&self.text_source, &e))?;
        let subject = self
            .text
            .render("subject", data)
            .map_err(|e| render_problem(SUBJECT_SOURCE, &e))?;
        Ok(Rendered {
            subject: one_line(&subject),
            html,
            text: tidy_text(&text),
        })
    }
}

impl Renderer {
    /// Renders the archive's index page (no CSS inlining: it is a web page, not an email).
    pub fn render_index(&self, data: &IndexData) -> Result<String, RenderError> {
        self.html
            .render("index", data)
            .map_err(|e| render_problem(&self.index_source, &e))
    }
}

/// A header value on one line: controls (CR, LF, …) become spaces, runs of space fold.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Text mail without trailing spaces and with at most one blank line in a row.
fn tidy_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_start_matches('\n').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Data {
        Data {
            site: SiteData {
                title: "财经 & <新闻>".into(),
                url: "https://finews.example.com/".into(),
                description: None,
                lang: Some("zh-CN".into()),
            },
            period: PeriodData {
                label: "2022-W02".into(),
                start: "2022-01-10T00:00:00+08:00".into(),
                end: "2022-01-17T00:00:00+08:00".into(),
                last_day: "2022-01-16T00:00:00+08:00".into(),
            },
            groups: vec![Group {
                name: "xinhuashe".into(),
                display: "新华社".into(),
                feed_url: Some(
                    "https://finews.example.com/feeds/categories/xinhuashe.rss.xml".into(),
                ),
                atom_url: None,
                posts: vec![PostData {
                    title: "<script>alert(1)</script>标题".into(),
                    url: "https://finews.example.com/a.html".into(),
                    date: "2022-01-10T02:00:00+08:00".into(),
                    excerpt: "摘要".into(),
                    categories: vec!["xinhuashe".into()],
                    tags: vec![],
                }],
            }],
            post_count: 1,
            subscriber: SubscriberData {
                name: Some("李明".into()),
                address: "li@example.com".into(),
            },
            unsubscribe_url: Some("https://finews.example.com/u?a=li%40example.com&t=abc".into()),
            unsubscribe_mailto: None,
            feeds: FeedsData {
                rss: None,
                atom: None,
                opml: "https://finews.example.com/feeds/feeds.opml".into(),
            },
            preferences_url: None,
            view_url: None,
            subscribe_url: None,
            archive: false,
        }
    }

    #[test]
    fn bundled_templates_render_escaped_inlined_and_dated_in_zone() {
        let r = Renderer::new(
            None,
            "{{site.title}} · {{period.label}}\r\nBcc: x@evil.example",
            chrono_tz::Asia::Shanghai,
        )
        .unwrap();
        let out = r.render(&data()).unwrap();
        assert_eq!(out.subject, "财经 & <新闻> · 2022-W02 Bcc: x@evil.example");
        assert!(
            out.html
                .contains("&lt;script&gt;alert(1)&lt;/script&gt;标题"),
            "post data is escaped"
        );
        assert!(!out.html.contains("<style"), "CSS is inlined");
        assert!(out.html.contains("style=\""), "CSS is inlined");
        assert!(out.html.contains("2022-01-10 02:00 星期一"));
        assert!(out.html.contains("2022年1月10日（星期一）"));
        assert!(
            out.text.contains("* <script>alert(1)</script>标题"),
            "text is not HTML-escaped"
        );
        assert!(out
            .text
            .contains("退订：https://finews.example.com/u?a=li%40example.com&t=abc"));
    }

    #[test]
    fn template_errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("digest.html.hbs"),
            "<p>\n{{#each groups}}\n",
        )
        .unwrap();
        let e = Renderer::new(Some(dir.path()), "s", chrono_tz::UTC)
            .err()
            .unwrap();
        assert!(e.path.ends_with("digest.html.hbs"));
        assert!(e.message.starts_with("template error:"), "{}", e.message);
    }

    #[test]
    fn render_errors_name_the_template_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("digest.txt.hbs"),
            "{{site.title}}\n\n{{date site.title \"%Y\"}}\n",
        )
        .unwrap();
        let r = Renderer::new(Some(dir.path()), "s", chrono_tz::UTC).unwrap();
        let e = r.render(&data()).unwrap_err();
        let file = dir.path().join("digest.txt.hbs");
        let RenderError::Template { template, line, .. } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(template, &file.display().to_string());
        assert_eq!(*line, Some(3));
        assert!(
            e.to_string().starts_with(&format!("{}:3:", file.display())),
            "{e}"
        );
        assert!(e.to_string().contains("is not an RFC 3339 date"), "{e}");
    }

    #[test]
    fn a_templates_folder_that_does_not_exist_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("_digset");
        let e = Renderer::new(Some(&missing), "s", chrono_tz::UTC)
            .err()
            .unwrap();
        assert_eq!(e.path, missing);
        assert!(e.message.contains("`digest: templates:`"), "{}", e.message);
    }

    #[test]
    fn helpers() {
        let mut h = Handlebars::new();
        h.register_helper("truncate", Box::new(TruncateHelper));
        h.register_helper("date", Box::new(DateHelper(chrono_tz::UTC)));
        let out = h
            .render_template(
                "{{truncate t 3}}|{{date d \"%H:%M %z\"}}",
                &serde_json::json!({"t": "加强企业用工", "d": "2022-01-10T02:00:00+08:00"}),
            )
            .unwrap();
        assert_eq!(out, "加强企…|18:00 +0000");
    }
}
