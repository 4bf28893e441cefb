//! How deep a post's HTML nests, capped before any HTML5 parser sees it: html5ever spends time
//! in proportion to the depth on every tag, so a hostile post of deep nesting would cost
//! quadratic time in the sanitiser. A linear pass that models the parser's open elements
//! (misnested end tags, tables, foreign content) drops the start tags beyond the cap.

use std::borrow::Cow;

/// How deep elements may nest in a post's HTML. Browsers and sanitisers cap nesting too
/// (Chromium's parser at 512, html5lib-based sanitisers lower), and html5ever, without a cap,
/// spends time in proportion to the depth on every tag: 80,000 nested `<div>` took 81 s.
/// Real posts stay far below (a few dozen levels at most).
pub const MAX_NESTING: usize = 256;

/// Elements without content (never open).
pub(crate) const VOID: &[&str] = &[
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
pub(crate) fn scan_tag(html: &str, at: usize) -> (String, usize, bool) {
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
