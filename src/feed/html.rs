//! Making post HTML safe for every feed reader: URLs made absolute (most readers ignore
//! `xml:base`), active content removed (readers strip it anyway, and validators warn about it),
//! and characters that XML forbids dropped.

use lol_html::{element, rewrite_str, RewriteStrSettings};
use url::Url;

use crate::collect::body::decode_entities;

/// Elements removed with their content: scripts, styles, frames and plug-ins.
const ACTIVE: &str =
    "script, style, iframe, frame, frameset, object, embed, applet, meta, link, base, form";

/// Attributes that hold one URL.
const URL_ATTRIBUTES: [&str; 6] = ["href", "src", "poster", "cite", "data", "background"];

/// Removes characters that XML 1.0 forbids (C0 controls but tab, LF and CR; U+FFFE, U+FFFF)
/// and the C1 controls that validators flag.
pub fn xml_safe(text: &str) -> String {
    if !text.chars().any(is_forbidden) {
        return text.to_string();
    }
    text.chars().filter(|&c| !is_forbidden(c)).collect()
}

fn is_forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}')
}

/// Resolves one URL against `base`; `javascript:` and unparseable values become `None`.
pub fn absolute(value: &str, base: &Url) -> Option<String> {
    let decoded = decode_entities(value.trim());
    let lower = decoded.trim_start().to_ascii_lowercase();
    if lower.starts_with("javascript:") || lower.starts_with("vbscript:") {
        return None;
    }
    base.join(&decoded).ok().map(String::from)
}

/// Resolves every URL of a `srcset` (`a.png 1x, /b.png 2x`).
fn absolute_srcset(value: &str, base: &Url) -> String {
    decode_entities(value)
        .split(',')
        .filter_map(|candidate| {
            let mut parts = candidate.split_whitespace();
            let url = parts.next()?;
            let url = absolute(url, base)?;
            let descriptor: Vec<&str> = parts.collect();
            Some(if descriptor.is_empty() {
                url
            } else {
                format!("{url} {}", descriptor.join(" "))
            })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn escape_attribute(value: &str) -> String {
    value.replace('&', "&amp;")
}

/// Rewrites post HTML for a feed: every `href`, `src`, `srcset`, `poster` (…) absolute against
/// `base` (the post's URL; `//host/x` takes its scheme), `on…` handlers and active elements
/// removed, forbidden characters dropped.
pub fn for_feed(html: &str, base: &Url) -> String {
    let clean = xml_safe(html);
    let settings = RewriteStrSettings::new()
        .append_element_content_handler(element!(ACTIVE, |el| {
            el.remove();
            Ok(())
        }))
        .append_element_content_handler(element!("*", |el| {
            let names: Vec<String> = el.attributes().iter().map(|a| a.name()).collect();
            for name in names {
                if name.starts_with("on") {
                    el.remove_attribute(&name);
                } else if URL_ATTRIBUTES.contains(&name.as_str()) {
                    let value = el.get_attribute(&name).unwrap_or_default();
                    match absolute(&value, base) {
                        Some(url) => el.set_attribute(&name, &escape_attribute(&url))?,
                        None => el.remove_attribute(&name),
                    }
                } else if name == "srcset" {
                    let value = el.get_attribute(&name).unwrap_or_default();
                    el.set_attribute(&name, &escape_attribute(&absolute_srcset(&value, base)))?;
                }
            }
            Ok(())
        }));
    let rewritten = rewrite_str(&clean, settings);
    // The rewriter accepts any input; should it still refuse, the text without rewriting is the
    // safer loss than no content at all.
    rewritten.unwrap_or(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://finews.example.com/news/2022/01/12/x.html").unwrap()
    }

    #[test]
    fn urls_become_absolute() {
        let html = r##"<a href="//finews.example.com/c.html">c</a><img src="/images/a.png"><img src="b.png" srcset="b.png 1x, /b2.png 2x"><a href="x?a=1&amp;b=2">q</a><a href="mailto:a@example.com">m</a><a href="#top">t</a>"##;
        let out = for_feed(html, &base());
        assert!(
            out.contains(r#"href="https://finews.example.com/c.html""#),
            "{out}"
        );
        assert!(out.contains(r#"src="https://finews.example.com/images/a.png""#));
        assert!(out.contains(r#"src="https://finews.example.com/news/2022/01/12/b.png""#));
        assert!(out.contains(r#"srcset="https://finews.example.com/news/2022/01/12/b.png 1x, https://finews.example.com/b2.png 2x""#), "{out}");
        assert!(
            out.contains(r#"href="https://finews.example.com/news/2022/01/12/x?a=1&amp;b=2""#),
            "{out}"
        );
        assert!(out.contains(r#"href="mailto:a@example.com""#));
        assert!(out.contains(r##"href="https://finews.example.com/news/2022/01/12/x.html#top""##));
    }

    #[test]
    fn active_content_and_control_characters_go() {
        let html = "<p onclick=\"x()\">a\u{1}b</p><script>alert(1)</script><a href=\"javascript:alert(1)\">j</a><iframe src=\"//e.x\"></iframe>";
        let out = for_feed(html, &base());
        assert_eq!(out, "<p>ab</p><a>j</a>");
    }
}
