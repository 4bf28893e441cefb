//! Post bodies: Markdown rendered as Jekyll's kramdown renders it ([`super::markdown`]; raw
//! HTML passed through, since real posts mix HTML paragraphs with Markdown links), `.html`
//! bodies kept as they are, and excerpts.

use super::markdown::{self, KramdownOptions};

/// How a post's body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Markup {
    /// Markdown (an extension in `markdown_ext`), rendered as kramdown would.
    Markdown,
    /// HTML (`.html`), kept as it is.
    Html,
}

/// Where a post's excerpt comes from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ExcerptSource {
    /// The front matter's `excerpt` (Markdown or HTML like the body).
    FrontMatter(String),
    /// The body up to this separator, which the body contains.
    Separator(String),
    /// The body's first paragraph.
    FirstParagraph,
    /// No excerpt: an empty `excerpt_separator`, as in Jekyll.
    None,
}

impl ExcerptSource {
    /// The name used by `gazette check --json`.
    pub fn kind(&self) -> &'static str {
        match self {
            ExcerptSource::FrontMatter(_) => "front_matter",
            ExcerptSource::Separator(_) => "separator",
            ExcerptSource::FirstParagraph => "first_paragraph",
            ExcerptSource::None => "none",
        }
    }
}

/// Renders a body to HTML with Jekyll's default kramdown options.
pub fn render(text: &str, format: Markup) -> String {
    render_with(text, format, KramdownOptions::jekyll_default())
}

/// Renders a body to HTML with the site's kramdown options (`_config.yml`'s `kramdown:`).
pub(crate) fn render_with(text: &str, format: Markup, options: &KramdownOptions) -> String {
    match format {
        Markup::Html => text.to_string(),
        Markup::Markdown => markdown::render(text, options),
    }
}

/// The excerpt's HTML, from the source chosen at collection time and the body.
pub fn excerpt(source: &ExcerptSource, body: &str, body_html: &str, format: Markup) -> String {
    excerpt_with(
        source,
        body,
        body_html,
        format,
        KramdownOptions::jekyll_default(),
    )
}

/// [`excerpt`] with the site's kramdown options.
pub(crate) fn excerpt_with(
    source: &ExcerptSource,
    body: &str,
    body_html: &str,
    format: Markup,
    options: &KramdownOptions,
) -> String {
    match source {
        ExcerptSource::FrontMatter(text) => render_with(text, format, options),
        ExcerptSource::Separator(sep) => {
            let head = body.split(sep.as_str()).next().unwrap_or(body);
            render_with(&with_link_definitions(head, body, format), format, options)
        }
        ExcerptSource::FirstParagraph => first_paragraph(body_html).to_string(),
        ExcerptSource::None => String::new(),
    }
}

/// Markdown link definitions (`[x]: http://…`) from the rest of the body, appended to the head
/// so that reference links in the excerpt still resolve, as Jekyll does.
fn with_link_definitions(head: &str, body: &str, format: Markup) -> String {
    if format != Markup::Markdown {
        return head.to_string();
    }
    let defs: Vec<&str> = body
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            t.starts_with('[') && t.contains("]:") && l.len() - t.len() < 4
        })
        .collect();
    if defs.is_empty() {
        head.to_string()
    } else {
        format!("{head}\n\n{}\n", defs.join("\n"))
    }
}

/// The first `<p>…</p>` of rendered HTML; failing that, the text up to the first blank line.
pub fn first_paragraph(html: &str) -> &str {
    let lower_find = |from: usize, needle: &str| {
        html.as_bytes()[from..]
            .windows(needle.len())
            .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
            .map(|i| from + i)
    };
    let mut from = 0;
    while let Some(start) = lower_find(from, "<p") {
        // `<p>` or `<p class=…>`, not `<pre>` or `<param>`.
        let next = html.as_bytes().get(start + 2).copied();
        if matches!(next, Some(b'>' | b' ' | b'\t' | b'\n' | b'\r' | b'/')) {
            if let Some(end) = lower_find(start, "</p>") {
                return &html[start..end + 4];
            }
            return html[start..].trim_end();
        }
        from = start + 2;
    }
    let end = html.find("\n\n").unwrap_or(html.len());
    html[..end].trim()
}

/// HTML reduced to its text: tags dropped, the common entities decoded, white space folded.
pub fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let after = &rest[lt..];
        match after.find('>') {
            Some(gt) => {
                // Block-level tags separate words.
                out.push(' ');
                rest = &after[gt + 1..];
            }
            None => {
                out.push_str(after);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    let decoded = decode_entities(&out);
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Decodes the character references HTML text commonly holds (`&amp;`, `&#39;`, `&#x4e2d;`, …).
pub fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp..];
        let end = after.find(';').filter(|&e| e <= 10);
        let decoded = end.and_then(|e| {
            let name = &after[1..e];
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" | "#39" => '\'',
                "nbsp" => ' ',
                _ => {
                    let code =
                        if let Some(hex) = name.strip_prefix("#x").or(name.strip_prefix("#X")) {
                            u32::from_str_radix(hex, 16).ok()
                        } else {
                            name.strip_prefix('#').and_then(|d| d.parse().ok())
                        };
                    code.and_then(char::from_u32)?
                }
            };
            Some((c, e))
        });
        match decoded {
            Some((c, e)) => {
                // A reference to a character no text may hold (`&#0;`, `&#xFFFE;`, controls) is
                // dropped rather than let into titles and feeds.
                let allowed = !c.is_control() || matches!(c, '\t' | '\n' | '\r');
                if allowed && !matches!(c, '\u{fffe}' | '\u{ffff}') {
                    out.push(c);
                }
                rest = &after[e + 1..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// At most `max` characters of `text` (never cutting a character), with `…` when cut.
pub(crate) fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((cut, _)) => {
            let head = text[..cut].trim_end();
            // Prefer a word boundary in spaced scripts, if one is near the end.
            let head = match head.rfind(' ') {
                Some(space) if head[space..].chars().count() <= 15 && space > 0 => &head[..space],
                _ => head,
            };
            format!("{head}…")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_keeps_raw_html_and_renders_links() {
        let body = "<p>第一段。</p>\n <p>第二段</p>\n\n<http://a.example/x>\n\n[返回](//b.example/c.html)｜[首页](//b.example/)\n";
        let html = render(body, Markup::Markdown);
        // As Jekyll 4.3.1 (kramdown) writes it: each block HTML element on its own line.
        assert!(html.contains("<p>第一段。</p>\n<p>第二段</p>"), "{html}");
        assert!(html.contains(r#"<a href="http://a.example/x">http://a.example/x</a>"#));
        assert!(html.contains(r#"<a href="//b.example/c.html">返回</a>"#));
    }

    #[test]
    fn html_bodies_are_kept() {
        assert_eq!(render("a *b*\n\nc", Markup::Html), "a *b*\n\nc");
    }

    #[test]
    fn first_paragraph_of_html() {
        assert_eq!(
            first_paragraph("<pre>x</pre><p class=\"a\">一</p>\n<p>二</p>"),
            "<p class=\"a\">一</p>"
        );
        assert_eq!(first_paragraph("just text\n\nmore"), "just text");
    }

    #[test]
    fn separator_excerpts_keep_link_definitions() {
        let body = "Intro with [a link][x].\n<!--more-->\nRest.\n\n[x]: https://example.com/\n";
        let source = ExcerptSource::Separator("<!--more-->".into());
        let html = excerpt(&source, body, "", Markup::Markdown);
        assert!(
            html.contains(r#"<a href="https://example.com/">a link</a>"#),
            "{html}"
        );
        assert!(!html.contains("Rest."));
    }

    #[test]
    fn plain_text_and_character_truncation() {
        assert_eq!(
            plain_text("<p>A &amp; B&#39;s</p>\n<p>c&lt;d</p>"),
            "A & B's c<d"
        );
        let chinese = "加强企业用工服务，是帮扶企业纾困的重要措施";
        assert_eq!(truncate_chars(chinese, 6), "加强企业用工…");
        assert_eq!(truncate_chars(chinese, 100), chinese);
        assert_eq!(truncate_chars("one two three four", 12), "one two…");
    }
}
