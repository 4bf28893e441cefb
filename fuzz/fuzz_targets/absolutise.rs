//! `feed::html::for_feed` on arbitrary HTML with a fixed base URL.
//!
//! Promises checked (src/feed/html.rs and the README's "Content is made safe for every reader"):
//! - nothing panics;
//! - no character XML 1.0 forbids is left;
//! - blank input gives empty output;
//! - in the output as any HTML reader tokenizes it, no tag is active content (`script`,
//!   `iframe`, `object`, …), no attribute is an event handler (`on…`) or `style`, and every
//!   `href`, `src`, `srcset`, `poster`, `cite`, `background` and `longdesc` holds an absolute URL
//!   (a scheme and no `javascript:`, `vbscript:` or `data:`): relative, root-relative and
//!   protocol-relative URLs have all been resolved against the base.
//!
//! Why this holds (checked in ammonia 4.2.5): `UrlRelative::RewriteWithBase` resolves every
//! relative `href`/`src` (any element) and `<form action>`/`<video poster>`, and drops the
//! attribute when it cannot; absolute URLs keep only allowed schemes; gazette's own attribute
//! filter resolves `srcset`, `cite`, `background`, `longdesc` and `poster` or drops them. What
//! the check below adds is a second, independent tokenizer over the *serialised* output,
//! so that anything the sanitiser let through as text but a reader would parse as markup
//! counts too.

#![no_main]

use std::sync::LazyLock;

use gazette::collect::body::decode_entities;
use gazette::feed::html::for_feed;
use libfuzzer_sys::fuzz_target;
use url::Url;

static BASE: LazyLock<Url> =
    LazyLock::new(|| Url::parse("https://finews.example.com/news/2022/01/12/x.html").unwrap());

const ACTIVE: &[&str] = &[
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "meta",
    "link", "template", "svg", "math",
];
const URL_ATTRIBUTES: &[&str] = &["href", "src", "poster", "cite", "background", "longdesc"];

fn is_forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}')
}

/// A start tag as the HTML tokenizer reads it: the name and the attributes (names lower-cased,
/// values with character references decoded).
struct Tag {
    name: String,
    attributes: Vec<(String, String)>,
}

/// Every start tag of `html`, read with the tokenizer's rules for tag and attribute syntax
/// (WHATWG 13.2.5.6 – 13.2.5.39, without the raw-text switches: this is how a reader that runs
/// no scripts sees `<noscript>` content, and how a sanitiser would see text re-parsed as markup).
fn start_tags(html: &str) -> Vec<Tag> {
    let b = html.as_bytes();
    let mut tags = Vec::new();
    let mut i = 0;
    let ws = |c: u8| matches!(c, b'\t' | b'\n' | 0x0c | b'\r' | b' ');
    while i < b.len() {
        if b[i] == b'<' && i + 1 < b.len() && b[i + 1].is_ascii_alphabetic() {
            i += 1;
            let start = i;
            while i < b.len() && !ws(b[i]) && b[i] != b'/' && b[i] != b'>' {
                i += 1;
            }
            let name = html[start..i].to_ascii_lowercase();
            let mut attributes = Vec::new();
            loop {
                while i < b.len() && (ws(b[i]) || b[i] == b'/') {
                    i += 1;
                }
                if i >= b.len() || b[i] == b'>' {
                    break;
                }
                let name_start = i;
                i += 1; // the first character may be `=`
                while i < b.len() && !ws(b[i]) && !matches!(b[i], b'/' | b'>' | b'=') {
                    i += 1;
                }
                let attr = html[name_start..i].to_ascii_lowercase();
                while i < b.len() && ws(b[i]) {
                    i += 1;
                }
                let mut value = String::new();
                if i < b.len() && b[i] == b'=' {
                    i += 1;
                    while i < b.len() && ws(b[i]) {
                        i += 1;
                    }
                    if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                        let quote = b[i];
                        i += 1;
                        let v = i;
                        while i < b.len() && b[i] != quote {
                            i += 1;
                        }
                        value = html[v..i].to_string();
                        i = (i + 1).min(b.len());
                    } else {
                        let v = i;
                        while i < b.len() && !ws(b[i]) && b[i] != b'>' {
                            i += 1;
                        }
                        value = html[v..i].to_string();
                    }
                }
                attributes.push((attr, decode_entities(&value)));
            }
            tags.push(Tag { name, attributes });
        }
        i += 1;
        while i < b.len() && !html.is_char_boundary(i) {
            i += 1;
        }
    }
    tags
}

/// The URLs of a `srcset` as the HTML standard parses it (4.8.4.3.10): a URL runs to white
/// space (trailing commas dropped), then descriptors run to a comma outside parentheses.
fn srcset_urls(value: &str) -> Vec<&str> {
    let ws = |c: char| matches!(c, '\t' | '\n' | '\u{c}' | '\r' | ' ');
    let mut urls = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(|c: char| ws(c) || c == ',');
        if rest.is_empty() {
            return urls;
        }
        let end = rest.find(ws).unwrap_or(rest.len());
        let url = &rest[..end];
        rest = &rest[end..];
        if url.ends_with(',') {
            urls.push(url.trim_end_matches(','));
            continue;
        }
        urls.push(url);
        let mut depth = 0usize;
        let mut next = rest.len();
        for (i, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    next = i + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &rest[next..];
    }
}

fn assert_absolute(out: &str, tag: &str, attribute: &str, value: &str) {
    match Url::parse(value.trim()) {
        Ok(url) => assert!(
            !matches!(url.scheme(), "javascript" | "vbscript" | "data"),
            "<{tag} {attribute}={value:?}> kept an unsafe URL in {out:?}"
        ),
        Err(e) => panic!("<{tag} {attribute}={value:?}> is not an absolute URL ({e}) in {out:?}"),
    }
}

fuzz_target!(|html: &str| {
    let out = for_feed(html, &BASE);
    if let Some(c) = out.chars().find(|&c| is_forbidden(c)) {
        panic!("U+{:04X}, which XML forbids, is in {out:?}", c as u32);
    }
    if html.trim().is_empty() {
        assert_eq!(out, "", "blank input gave {out:?}");
    }
    for tag in start_tags(&out) {
        assert!(
            !ACTIVE.contains(&tag.name.as_str()),
            "active content <{}> in {out:?}",
            tag.name
        );
        for (attribute, value) in &tag.attributes {
            assert!(
                !attribute.starts_with("on") && attribute != "style",
                "<{} {attribute}={value:?}> kept in {out:?}",
                tag.name
            );
            if attribute == "srcset" {
                for url in srcset_urls(value) {
                    assert_absolute(&out, &tag.name, attribute, url);
                }
            } else if URL_ATTRIBUTES.contains(&attribute.as_str()) {
                assert_absolute(&out, &tag.name, attribute, value);
            }
        }
    }
});
