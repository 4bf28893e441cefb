//! Making post HTML safe for every feed reader: parsed and re-serialised by an HTML5 parser
//! (`ammonia`, on html5ever) so that strict parsers accept it, only the elements and attributes
//! that feed validators accept kept, URLs made absolute (most readers ignore `xml:base`), and
//! characters that XML forbids dropped.

use std::borrow::Cow;
use std::collections::HashSet;

use ammonia::{Builder, UrlRelative};
use url::Url;

use crate::collect::body::decode_entities;
/// The characters XML 1.0 forbids removed; it lives in the crate's escaping module.
pub use crate::escape::xml_safe;

/// The elements kept: the W3C feed validator's accepted ones (its `acceptable_elements`), less
/// the obsolete `keygen`, `multicol`, `nextid`, `sound` and `spacer`, and less the three of
/// [`REMOVED_WITH_CONTENT`] that it accepts: `template` (its content is never shown),
/// `noscript` (html5ever reads its content as text, as a browser running scripts does, and
/// writes that text back unescaped, while readers and validators run no scripts and read it as
/// markup: markup the sanitiser never saw) and `select` (what it may hold changed in HTML's
/// customizable `<select>`; html5ever keeps `<div>`, `<hr>`, `<button>` in it, which html5lib and
/// older parsers refuse).
const ELEMENTS: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "address",
    "area",
    "article",
    "aside",
    "audio",
    "b",
    "bdi",
    "big",
    "blockquote",
    "br",
    "button",
    "canvas",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "command",
    "data",
    "datagrid",
    "datalist",
    "dd",
    "del",
    "details",
    "dfn",
    "dialog",
    "dir",
    "div",
    "dl",
    "dt",
    "em",
    "eventsource",
    "fieldset",
    "figcaption",
    "figure",
    "font",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "i",
    "img",
    "input",
    "ins",
    "kbd",
    "label",
    "legend",
    "li",
    "m",
    "main",
    "map",
    "mark",
    "menu",
    "meter",
    "nav",
    "ol",
    "optgroup",
    "option",
    "output",
    "p",
    "picture",
    "pre",
    "progress",
    "q",
    "rp",
    "rt",
    "ruby",
    "s",
    "samp",
    "section",
    "small",
    "source",
    "span",
    "strike",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "track",
    "tt",
    "u",
    "ul",
    "var",
    "video",
    "wbr",
];

/// Elements removed with everything in them: scripts, styles, frames, plug-ins, and what a
/// page's `<head>` holds. Every other element not in [`ELEMENTS`] is dropped but its content
/// kept (`<marquee>`, `<o:p>`, `<math>` …; the text of an `<svg>` goes with it).
const REMOVED_WITH_CONTENT: &[&str] = &[
    "script", "style", "iframe", "frame", "frameset", "noframes", "object", "embed", "applet",
    "noembed", "param", "template", "noscript", "select", "head", "title", "meta", "link", "base",
];

/// The attributes kept, on any kept element: the W3C feed validator's accepted ones, less those
/// that only matter to scripts or forms posting elsewhere. `style` is never kept (validators and
/// readers distrust CSS); `data-*` attributes are kept (inert, and accepted).
const ATTRIBUTES: &[&str] = &[
    "abbr",
    "accept",
    "accept-charset",
    "accesskey",
    "action",
    "align",
    "allow",
    "allowfullscreen",
    "alt",
    "autoplay",
    "axis",
    "background",
    "bgcolor",
    "border",
    "cellpadding",
    "cellspacing",
    "char",
    "charoff",
    "charset",
    "checked",
    "cite",
    "class",
    "clear",
    "color",
    "cols",
    "colspan",
    "compact",
    "coords",
    "datetime",
    "dir",
    "disabled",
    "download",
    "face",
    "for",
    "frame",
    "headers",
    "height",
    "hidden",
    "href",
    "hreflang",
    "hspace",
    "id",
    "ismap",
    "label",
    "lang",
    "loading",
    "longdesc",
    "loop",
    "max",
    "maxlength",
    "media",
    "method",
    "min",
    "multiple",
    "muted",
    "name",
    "nohref",
    "noshade",
    "nowrap",
    "open",
    "optimum",
    "pattern",
    "placeholder",
    "poster",
    "preload",
    "readonly",
    "rel",
    "required",
    "rev",
    "reversed",
    "rows",
    "rowspan",
    "rules",
    "scope",
    "selected",
    "shape",
    "size",
    "sizes",
    "span",
    "src",
    "srclang",
    "srcset",
    "start",
    "step",
    "summary",
    "tabindex",
    "target",
    "title",
    "type",
    "usemap",
    "valign",
    "value",
    "vspace",
    "width",
];

/// Attributes holding one URL that the sanitiser itself does not resolve (it resolves `href`,
/// `src`, `<form action>` and `<video poster>`).
const OTHER_URL_ATTRIBUTES: &[&str] = &["cite", "background", "longdesc", "poster"];

/// The URL schemes kept in the URL attributes resolved here (`srcset`, `cite`, …).
const SCHEMES: &[&str] = &["http", "https", "ftp", "ftps", "mailto"];

/// Resolves one URL (entities decoded) against `base`; `javascript:`, other schemes than the web's
/// and mail's, and unparseable values become `None`.
pub fn absolute(value: &str, base: &Url) -> Option<String> {
    let decoded = decode_entities(value.trim());
    resolve(&decoded, base)
}

fn resolve(value: &str, base: &Url) -> Option<String> {
    let url = base.join(value.trim()).ok()?;
    SCHEMES.contains(&url.scheme()).then(|| url.into())
}

/// Resolves every URL of a `srcset` (`a.png 1x, /b.png 2x`), dropping the candidates whose URL
/// cannot be kept.
fn absolute_srcset(value: &str, base: &Url) -> String {
    // As HTML parses it: a URL runs to the next white space (it may hold commas); a comma at its
    // end, or one after its descriptors, ends the candidate.
    let mut out = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
        if rest.is_empty() {
            break;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (mut url, after) = rest.split_at(end);
        let mut descriptor = "";
        rest = after;
        if let Some(stripped) = url.strip_suffix(',') {
            url = stripped.trim_end_matches(',');
        } else {
            let stop = rest.find(',').unwrap_or(rest.len());
            descriptor = rest[..stop].trim();
            rest = &rest[stop..];
        }
        if let Some(url) = resolve(url, base) {
            out.push(if descriptor.is_empty() {
                url
            } else {
                format!(
                    "{url} {}",
                    descriptor.split_whitespace().collect::<Vec<_>>().join(" ")
                )
            });
        }
    }
    out.join(", ")
}

/// The URL attributes that the sanitiser does not resolve itself: resolved against `base`, or
/// dropped.
fn filter_attribute<'u>(base: &Url, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    if attribute == "srcset" {
        let resolved = absolute_srcset(value, base);
        return (!resolved.is_empty()).then_some(Cow::Owned(resolved));
    }
    if OTHER_URL_ATTRIBUTES.contains(&attribute) {
        return resolve(value, base).map(Cow::Owned);
    }
    Some(Cow::Borrowed(value))
}

/// How deep elements may nest in a post's HTML. Browsers and sanitisers cap nesting too
/// (Chromium's parser at 512, html5lib-based sanitisers lower), and html5ever, without a cap,
/// spends time in proportion to the depth on every tag: 80,000 nested `<div>` took 81 s.
/// Real posts stay far below (a few dozen levels at most).
pub const MAX_NESTING: usize = 256;

/// Elements without content (never open).
const VOID: &[&str] = &[
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image", "img",
    "input", "keygen", "link", "meta", "param", "source", "track", "wbr",
];
/// Elements whose content is text up to their end tag (with scripting on, as html5ever parses
/// for ammonia).
const RAW_TEXT: &[&str] = &[
    "iframe", "noembed", "noframes", "noscript", "script", "style", "textarea", "title", "xmp",
];
/// Start tags that first close an open `<p>` (in button scope).
const CLOSES_P: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "dd",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "li",
    "listing",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "plaintext",
    "pre",
    "search",
    "section",
    "summary",
    "table",
    "ul",
    "xmp",
];
/// End tags that close the nearest open element of their name in scope, whatever is above it.
const CLOSE_IN_SCOPE: &[&str] = &[
    "address",
    "applet",
    "article",
    "aside",
    "blockquote",
    "button",
    "caption",
    "center",
    "colgroup",
    "dd",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "header",
    "hgroup",
    "li",
    "listing",
    "main",
    "marquee",
    "menu",
    "nav",
    "object",
    "ol",
    "p",
    "pre",
    "search",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
];
/// The formatting elements (their end tags run HTML's adoption agency).
const FORMATTING: &[&str] = &[
    "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u",
];
/// HTML's "special" elements: an end tag of another element never closes past them.
const SPECIAL: &[&str] = &[
    "address",
    "applet",
    "area",
    "article",
    "aside",
    "base",
    "basefont",
    "bgsound",
    "blockquote",
    "body",
    "br",
    "button",
    "caption",
    "center",
    "col",
    "colgroup",
    "dd",
    "details",
    "dir",
    "div",
    "dl",
    "dt",
    "embed",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "frame",
    "frameset",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hgroup",
    "hr",
    "html",
    "iframe",
    "img",
    "input",
    "keygen",
    "li",
    "link",
    "listing",
    "main",
    "marquee",
    "menu",
    "meta",
    "nav",
    "noembed",
    "noframes",
    "noscript",
    "object",
    "ol",
    "p",
    "param",
    "plaintext",
    "pre",
    "script",
    "search",
    "section",
    "select",
    "source",
    "style",
    "summary",
    "table",
    "tbody",
    "td",
    "template",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "title",
    "tr",
    "track",
    "ul",
    "wbr",
    "xmp",
];
/// Elements that bound a scope: a search for an open element stops at them.
const SCOPE: &[&str] = &[
    "applet", "caption", "html", "table", "td", "th", "marquee", "object", "template",
];
/// Start tags that end foreign content (SVG, MathML) and are read as HTML.
const BREAKOUT: &[&str] = &[
    "b",
    "big",
    "blockquote",
    "body",
    "br",
    "center",
    "code",
    "dd",
    "div",
    "dl",
    "dt",
    "em",
    "embed",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "hr",
    "i",
    "img",
    "li",
    "listing",
    "menu",
    "meta",
    "nobr",
    "ol",
    "p",
    "pre",
    "ruby",
    "s",
    "small",
    "span",
    "strong",
    "strike",
    "sub",
    "sup",
    "table",
    "tt",
    "u",
    "ul",
    "var",
];

/// The namespace an open element is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Space {
    Html,
    Svg,
    Math,
}

/// One open element of [`cap_nesting`]'s model of the parser's stack.
#[derive(Debug)]
struct Open {
    name: String,
    space: Space,
}

impl Open {
    /// Where foreign content reads tags as HTML again (`<foreignObject>`, `<mi>`…).
    fn integration_point(&self) -> bool {
        match self.space {
            Space::Html => false,
            Space::Svg => matches!(self.name.as_str(), "foreignobject" | "desc" | "title"),
            Space::Math => matches!(
                self.name.as_str(),
                "mi" | "mo" | "mn" | "ms" | "mtext" | "annotation-xml"
            ),
        }
    }

    fn is_special(&self) -> bool {
        match self.space {
            Space::Html => SPECIAL.contains(&self.name.as_str()),
            _ => self.integration_point(),
        }
    }

    fn bounds_scope(&self, extra: &[&str]) -> bool {
        match self.space {
            Space::Html => {
                SCOPE.contains(&self.name.as_str()) || extra.contains(&self.name.as_str())
            }
            _ => self.integration_point(),
        }
    }

    fn is_html(&self, name: &str) -> bool {
        self.space == Space::Html && self.name == name
    }
}

fn is_heading(name: &str) -> bool {
    matches!(name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
}

/// HTML white space, as the tokenizer reads it.
fn is_html_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

/// A tag whose name starts at `at` (after `<` or `</`): its name in lower case, where it ends
/// (past `>`, or the end of the text), and whether it ends with `/>`; attributes are skipped
/// as the HTML tokenizer reads them (a quoted value may hold `>`).
fn scan_tag(html: &str, at: usize) -> (String, usize, bool) {
    let b = html.as_bytes();
    let mut i = at;
    while i < b.len() && !is_html_space(b[i]) && b[i] != b'/' && b[i] != b'>' {
        i += 1;
    }
    let name = html[at..i].to_ascii_lowercase();
    loop {
        while i < b.len() && is_html_space(b[i]) {
            i += 1;
        }
        match b.get(i) {
            None => return (name, b.len(), false),
            Some(b'>') => return (name, i + 1, false),
            Some(b'/') if b.get(i + 1) == Some(&b'>') => return (name, i + 2, true),
            Some(b'/') => i += 1,
            Some(_) => {
                // An attribute's name (its first character may be `=`), then maybe a value.
                i += 1;
                while i < b.len() && !is_html_space(b[i]) && !matches!(b[i], b'/' | b'>' | b'=') {
                    i += 1;
                }
                let mut j = i;
                while j < b.len() && is_html_space(b[j]) {
                    j += 1;
                }
                if b.get(j) != Some(&b'=') {
                    i = j;
                    continue;
                }
                i = j + 1;
                while i < b.len() && is_html_space(b[i]) {
                    i += 1;
                }
                match b.get(i) {
                    Some(&q) if q == b'"' || q == b'\'' => {
                        i = memchr::memchr(q, &b[i + 1..]).map_or(b.len(), |e| i + 1 + e + 1);
                    }
                    _ => {
                        while i < b.len() && !is_html_space(b[i]) && b[i] != b'>' {
                            i += 1;
                        }
                    }
                }
            }
        }
    }
}

/// Where the raw text of `<name>` that starts at `from` ends: at its end tag, or the text's end.
fn raw_text_end(html: &str, from: usize, name: &str) -> usize {
    let b = html.as_bytes();
    let mut i = from;
    while let Some(off) = memchr::memmem::find(&b[i..], b"</") {
        let at = i + off + 2;
        let after = at + name.len();
        if b.len() >= after
            && b[at..after].eq_ignore_ascii_case(name.as_bytes())
            && b.get(after)
                .is_none_or(|&c| is_html_space(c) || c == b'/' || c == b'>')
        {
            return at - 2;
        }
        i = at;
    }
    b.len()
}

/// Where a comment that starts at `at` (`<!--`) ends, as the HTML tokenizer ends it.
fn comment_end(html: &str, at: usize) -> usize {
    let rest = &html[at + 4..];
    if rest.starts_with('>') {
        return at + 5;
    }
    if rest.starts_with("->") {
        return at + 6;
    }
    let b = rest.as_bytes();
    let ends = [
        memchr::memmem::find(b, b"-->").map(|e| e + 3),
        memchr::memmem::find(b, b"--!>").map(|e| e + 4),
    ];
    ends.into_iter()
        .flatten()
        .min()
        .map_or(html.len(), |e| at + 4 + e)
}

/// The nesting cap's model of the HTML parser's stack of open elements: close enough to the
/// parser's own that it is never much shallower (so that the parser's stack stays near the cap),
/// and exact for the well-nested HTML posts hold (so that they are never changed).
#[derive(Debug, Default)]
struct Model {
    stack: Vec<Open>,
}

impl Model {
    /// The index of the nearest open HTML element `name` that a search from the top reaches,
    /// stopping at scope boundaries (plus `extra`) or, with `stop_at_special`, at any special
    /// element.
    fn find(&self, name: &str, extra: &[&str], stop_at_special: bool) -> Option<usize> {
        for (i, open) in self.stack.iter().enumerate().rev() {
            if open.is_html(name)
                || (is_heading(name) && open.space == Space::Html && is_heading(&open.name))
            {
                return Some(i);
            }
            if open.bounds_scope(extra) || (stop_at_special && open.is_special()) {
                return None;
            }
        }
        None
    }

    fn pop_to(&mut self, index: usize) {
        self.stack.truncate(index);
    }

    fn close_p(&mut self) {
        if let Some(i) = self.find("p", &["button"], false) {
            self.pop_to(i);
        }
    }

    /// What a start tag read as HTML closes first.
    fn before_start(&mut self, name: &str) {
        if CLOSES_P.contains(&name) {
            self.close_p();
        }
        match name {
            "li" | "dd" | "dt" => {
                let same: &[&str] = if name == "li" { &["li"] } else { &["dd", "dt"] };
                for i in (0..self.stack.len()).rev() {
                    let open = &self.stack[i];
                    if open.space == Space::Html && same.contains(&open.name.as_str()) {
                        self.pop_to(i);
                        break;
                    }
                    if open.is_special() && !matches!(open.name.as_str(), "address" | "div" | "p") {
                        break;
                    }
                }
            }
            h if is_heading(h)
                && self
                    .stack
                    .last()
                    .is_some_and(|o| o.space == Space::Html && is_heading(&o.name)) =>
            {
                self.stack.pop();
            }
            "option" | "optgroup" if self.stack.last().is_some_and(|o| o.is_html("option")) => {
                self.stack.pop();
            }
            "a" | "nobr" => self.end_formatting(name),
            "button" => {
                if let Some(i) = self.find("button", &[], false) {
                    self.pop_to(i);
                }
            }
            _ => {}
        }
    }

    /// A formatting element's end tag (or a second `<a>`): without a special element above it,
    /// everything above it closes with it; with one, the adoption agency moves what is above,
    /// so only the element itself is taken off the stack.
    fn end_formatting(&mut self, name: &str) {
        let Some(i) = self.find(name, &[], false) else {
            return;
        };
        if self.stack[i + 1..].iter().any(Open::is_special) {
            self.stack.remove(i);
        } else {
            self.pop_to(i);
        }
    }

    /// An end tag.
    fn end(&mut self, name: &str) {
        // Foreign elements close by name, down to the first HTML element.
        for i in (0..self.stack.len()).rev() {
            let open = &self.stack[i];
            if open.space == Space::Html {
                break;
            }
            if open.name == name {
                self.pop_to(i);
                return;
            }
        }
        if name == "p" {
            self.close_p();
        } else if name == "li" {
            if let Some(i) = self.find("li", &["ol", "ul"], false) {
                self.pop_to(i);
            }
        } else if CLOSE_IN_SCOPE.contains(&name) || is_heading(name) {
            let extra: &[&str] = if name == "button" { &["button"] } else { &[] };
            if let Some(i) = self.find(name, extra, false) {
                self.pop_to(i);
            }
        } else if FORMATTING.contains(&name) {
            self.end_formatting(name);
        } else if let Some(i) = self.find(name, &[], true) {
            self.pop_to(i);
        }
    }
}

/// Post HTML with elements nested deeper than `max` levels flattened, as browsers and sanitisers
/// cap nesting: a start tag that would open an element beyond `max` is left out, with its end
/// tag; the text inside stays. Linear in the HTML's length (a model of the parser's stack, at
/// most `max` deep, is kept beside the text). HTML that never nests beyond `max` is returned as
/// it is; the number is how many start tags were left out.
pub fn cap_nesting(html: &str, max: usize) -> (Cow<'_, str>, usize) {
    let b = html.as_bytes();
    let mut model = Model::default();
    // The names of the start tags left out, innermost last.
    let mut dropped: Vec<String> = Vec::new();
    let mut removed = 0;
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut cut = |out: &mut Option<String>, from: usize, to: usize| {
        let o = out.get_or_insert_with(|| String::with_capacity(html.len()));
        o.push_str(&html[copied..from]);
        copied = to;
    };
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'<', &b[i..]) {
        let lt = i + off;
        let next = b.get(lt + 1).copied().unwrap_or(b' ');
        if html[lt..].starts_with("<!--") {
            i = comment_end(html, lt);
            continue;
        }
        if next == b'!' || next == b'?' {
            // A doctype, CDATA or a bogus comment: up to the next `>`.
            let foreign = model.stack.last().is_some_and(|o| o.space != Space::Html);
            i = if foreign && html[lt..].starts_with("<![CDATA[") {
                memchr::memmem::find(&b[lt..], b"]]>").map_or(b.len(), |e| lt + e + 3)
            } else {
                memchr::memchr(b'>', &b[lt..]).map_or(b.len(), |e| lt + e + 1)
            };
            continue;
        }
        if next == b'/' {
            let after = b.get(lt + 2).copied().unwrap_or(b' ');
            if !after.is_ascii_alphabetic() {
                i = if after == b'>' {
                    lt + 3
                } else {
                    memchr::memchr(b'>', &b[lt..]).map_or(b.len(), |e| lt + e + 1)
                };
                continue;
            }
            let (name, end, _) = scan_tag(html, lt + 2);
            // The end tag of an element left out goes with it.
            let recent = dropped.len().saturating_sub(16);
            if let Some(k) = dropped[recent..].iter().rposition(|n| *n == name) {
                dropped.truncate(recent + k);
                cut(&mut out, lt, end);
            } else {
                model.end(&name);
            }
            i = end;
            continue;
        }
        if !next.is_ascii_alphabetic() {
            i = lt + 1;
            continue;
        }
        let (name, end, self_closing) = scan_tag(html, lt + 1);
        i = end;
        // In foreign content, a tag of HTML's ends it; any other is foreign, and `/>` closes it.
        let mut space = Space::Html;
        if let Some(top) = model.stack.last() {
            if top.space != Space::Html && !top.integration_point() {
                if BREAKOUT.contains(&name.as_str()) {
                    while model
                        .stack
                        .last()
                        .is_some_and(|o| o.space != Space::Html && !o.integration_point())
                    {
                        model.stack.pop();
                    }
                } else {
                    space = top.space;
                }
            }
        }
        if space == Space::Html {
            if VOID.contains(&name.as_str()) || matches!(name.as_str(), "html" | "body" | "head") {
                continue;
            }
            model.before_start(&name);
            space = match name.as_str() {
                "svg" => Space::Svg,
                "math" => Space::Math,
                _ => Space::Html,
            };
        }
        if space != Space::Html && self_closing {
            continue;
        }
        let raw = space == Space::Html && RAW_TEXT.contains(&name.as_str());
        if model.stack.len() >= max && !raw {
            cut(&mut out, lt, end);
            removed += 1;
            dropped.push(name);
            continue;
        }
        if space == Space::Html && name == "plaintext" {
            break;
        }
        if raw {
            i = raw_text_end(html, end, &name);
        }
        model.stack.push(Open { name, space });
    }
    match out {
        Some(mut o) => {
            o.push_str(&html[copied..]);
            (Cow::Owned(o), removed)
        }
        None => (Cow::Borrowed(html), 0),
    }
}

/// Rewrites post HTML for a feed: parsed as HTML5 and written back well-formed; only the
/// elements and attributes of [`ELEMENTS`] and [`ATTRIBUTES`] kept (plus `data-*`); scripts,
/// styles, frames and plug-ins removed with their content; comments removed; every `href`,
/// `src`, `srcset`, `poster`, `cite` (…) absolute against `base` (the post's URL; `//host/x`
/// takes its scheme), `javascript:` and other unsafe URLs removed; forbidden characters dropped.
pub fn for_feed(html: &str, base: &Url) -> String {
    let clean = xml_safe(html);
    if clean.trim().is_empty() {
        return String::new();
    }
    // Bodies come here capped already (with a warning naming the post); this keeps every
    // other caller within the parser's linear range too.
    let (capped, _) = cap_nesting(&clean, MAX_NESTING);
    xml_safe(&builder(base).clean(&capped).to_string())
}

/// The sanitiser [`for_feed`] runs.
fn builder(base: &Url) -> Builder<'static> {
    let filter_base = base.clone();
    let mut builder = Builder::empty();
    builder
        .tags(ELEMENTS.iter().copied().collect())
        .clean_content_tags(REMOVED_WITH_CONTENT.iter().copied().collect())
        .tag_attributes(Default::default())
        .tag_attribute_values(Default::default())
        .set_tag_attribute_values(Default::default())
        .generic_attributes(ATTRIBUTES.iter().copied().collect())
        .generic_attribute_prefixes(HashSet::from(["data-"]))
        .link_rel(None)
        .strip_comments(true)
        .url_relative(UrlRelative::RewriteWithBase(base.clone()))
        .attribute_filter(move |_element, attribute, value| {
            filter_attribute(&filter_base, attribute, value)
        });
    builder
}

#[cfg(test)]
mod tests {
    #[test]
    fn srcset_urls_may_hold_commas() {
        let base = Url::parse("https://example.com/a/post.html").unwrap();
        assert_eq!(
            absolute_srcset("img,1.png 1x, /b.png 2x,c.png", &base),
            "https://example.com/a/img,1.png 1x, https://example.com/b.png 2x, https://example.com/a/c.png"
        );
        assert_eq!(
            absolute_srcset(" x.png,y.png, z.png 100w ", &base),
            "https://example.com/a/x.png,y.png, https://example.com/a/z.png 100w"
        );
    }

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

    #[test]
    fn other_url_attributes_are_resolved_or_dropped() {
        let html = r#"<video src="/v.mp4" poster="p.jpg"></video><blockquote cite="/q">q</blockquote><table background="javascript:x()"><tbody><tr><td>1</td></tr></tbody></table><img src="data:image/png;base64,AAAA" srcset="javascript:x 1x" alt="d">"#;
        let out = for_feed(html, &base());
        assert_eq!(
            out,
            r#"<video src="https://finews.example.com/v.mp4" poster="https://finews.example.com/news/2022/01/12/p.jpg"></video><blockquote cite="https://finews.example.com/q">q</blockquote><table><tbody><tr><td>1</td></tr></tbody></table><img alt="d">"#
        );
    }

    #[test]
    fn only_accepted_elements_and_attributes_stay() {
        let html = r#"<p style="color: red" role="note" data-x="1" class="c">a</p><svg><circle r="4"/><text>s</text></svg><marquee>m</marquee><o:p>w</o:p><style>p{}</style><form action="/f"><input name="q"></form><template><p>t</p></template><!-- c -->"#;
        let out = for_feed(html, &base());
        assert_eq!(
            out,
            r#"<p data-x="1" class="c">a</p>mw<form action="https://finews.example.com/f"><input name="q"></form>"#
        );
    }

    #[test]
    fn output_is_html_that_strict_parsers_accept() {
        let html = "AT&T <p/> &#x92; x</br> <a href=\"/a\">1<a href=\"/b\">2</a></a> <b title=\"1\" title=\"2\">t</b> 5 < 6 & <i>open";
        let out = for_feed(html, &base());
        assert_eq!(
            out,
            "AT&amp;T <p> \u{2019} x<br> <a href=\"https://finews.example.com/a\">1</a><a href=\"https://finews.example.com/b\">2</a> <b title=\"1\">t</b> 5 &lt; 6 &amp; <i>open</i></p>"
        );
    }

    #[test]
    fn noscript_and_select_go_with_their_content() {
        let html = "<noscript><img src=x onerror=alert(1)></noscript><select><option>a</option><div>d</div></select><p>&#0;k\u{fffd}</p>";
        assert_eq!(for_feed(html, &base()), "<p>k</p>");
    }

    #[test]
    fn blank_html_stays_blank() {
        assert_eq!(for_feed(" \n", &base()), "");
        assert_eq!(for_feed("<script>x</script>", &base()), "");
    }

    /// The depth of the deepest element of the sanitiser's tree, read from its output (which
    /// closes every element it opens).
    fn parsed_depth(html: &str) -> usize {
        let out = builder(&base()).clean(html).to_string();
        let (mut depth, mut deepest, mut i) = (0usize, 0, 0);
        while let Some(off) = out[i..].find('<') {
            let at = i + off;
            if out[at..].starts_with("</") {
                depth = depth.saturating_sub(1);
                i = scan_tag(&out, at + 2).1;
            } else {
                let (name, end, _) = scan_tag(&out, at + 1);
                if !VOID.contains(&name.as_str()) {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                i = end;
            }
        }
        deepest
    }

    #[test]
    fn well_nested_html_is_never_changed() {
        let html = format!(
            "<p>a<br>b<img src=x></p><ul><li>1<li>2</ul><p>x<p>y<table><tr><td>c<td>d</table><script>if (a<b) {{ '<div>' }}</script><svg><path/><path/></svg>{}t{}",
            "<div><span>".repeat(120),
            "</span></div>".repeat(120)
        );
        assert!(matches!(
            cap_nesting(&html, MAX_NESTING),
            (Cow::Borrowed(_), 0)
        ));
        // Unclosed paragraphs and items close each other: no depth.
        let items = "<ul>".to_string() + &"<li><p>item".repeat(1000) + "</ul>";
        assert!(matches!(
            cap_nesting(&items, MAX_NESTING),
            (Cow::Borrowed(_), 0)
        ));
    }

    #[test]
    fn deep_nesting_is_cut_at_the_cap_and_the_text_stays() {
        let html = format!("{}deep{}", "<div>".repeat(1000), "</div>".repeat(1000));
        let (capped, removed) = cap_nesting(&html, 10);
        assert_eq!(removed, 990);
        assert_eq!(
            capped,
            format!("{}deep{}", "<div>".repeat(10), "</div>".repeat(10))
        );
    }

    #[test]
    fn misnested_html_cannot_get_past_the_cap() {
        // Each pattern nests one level deeper per repetition in an HTML parser, whatever its
        // end tags seem to say; after the cap, the parser's tree stays near the cap.
        for pattern in [
            "<div>",
            "<span><div></span>",
            "<b><div></b>",
            "<div><table></div>",
            "<table><td>",
            "<a><div><a>",
            "<li><ul>",
            "<svg><p><div/>",
            "<math><mi><div/>",
            "<p><blockquote></p>",
            "<i><p></i>",
            "<x-a><x-b></x-a>",
        ] {
            let html = pattern.repeat(3000);
            let (capped, _) = cap_nesting(&html, MAX_NESTING);
            let depth = parsed_depth(&capped);
            assert!(depth <= 3 * MAX_NESTING, "{pattern}: depth {depth}");
        }
    }
}
