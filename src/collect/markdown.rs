//! Markdown rendered as Jekyll 4.3 renders it: kramdown 2.4 with the GFM parser
//! (kramdown-parser-gfm 1.1) and Jekyll's `kramdown:` defaults.
//!
//! comrak parses the block and span structure (CommonMark + GFM, with `cjk_friendly_emphasis`
//! so that `**加强。**各地` is bold as kramdown makes it). Around it:
//!
//! * a line pass before parsing ([`prepare`]) takes out what kramdown reads differently from
//!   CommonMark: block HTML elements (raw up to their matching close tag, the next line is
//!   Markdown again), `{::comment}`, `{::nomarkdown}`, `{::options /}`, block IALs and ALDs,
//!   abbreviation definitions and the `^` end-of-block marker;
//! * our own HTML writer ([`Writer`]) applies kramdown's smart quotes and typographic symbols to
//!   text (never to code or HTML), span IALs, abbreviations, GFM header ids, `{:toc}`, and writes
//!   footnotes, code blocks (Rouge's wrappers), tables and task lists in kramdown's markup.
//!
//! No regular expressions: every pass is a hand-written scan, linear in the text (not measured
//! yet; each pass allocates one output string, plus a `Vec<char>` per run of text that holds a
//! quote or typographic character).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::LazyLock;

use comrak::nodes::{Ast, AstNode, ListType, NodeValue, TableAlignment};
use comrak::{parse_document, Arena, Options};

/// kramdown options from `_config.yml`'s `kramdown:` section that change the output.
#[derive(Debug, Clone, PartialEq)]
pub struct KramdownOptions {
    /// The characters written for `'` and `"`: left single, right single, left double, right
    /// double (`smart_quotes`, given as entity names or code points; Jekyll's default
    /// `lsquo,rsquo,ldquo,rdquo`).
    pub smart_quotes: [String; 4],
    /// What `---`, `--`, `...`, `<<`, `>>`, `<< ` and ` >>` become (`typographic_symbols`).
    pub symbols: Symbols,
    /// Give headers ids (`auto_ids`, default true).
    pub auto_ids: bool,
    /// Put before every automatic id (`auto_id_prefix`).
    pub auto_id_prefix: String,
    /// A single newline in a paragraph is a `<br />` (`hard_wrap`, Jekyll's default false).
    pub hard_wrap: bool,
    /// `input: GFM` (Jekyll's default); false for `input: kramdown`.
    pub input_gfm: bool,
    /// The number of the first footnote (`footnote_nr`).
    pub footnote_nr: usize,
    /// The back link of footnotes, `%s` replaced by the reference number from the second
    /// reference on (`footnote_backlink`, kramdown's default `&8617;`).
    pub footnote_backlink: String,
    /// `gfm_quirks` holds `no_auto_typographic`: `--`, `...`, `<<` stay as typed.
    pub no_auto_typographic: bool,
}

/// The output of kramdown's typographic symbols.
#[derive(Debug, Clone, PartialEq)]
pub struct Symbols {
    /// For `---` (default `—`).
    pub mdash: String,
    /// For `--` (default `–`).
    pub ndash: String,
    /// For `...` (default `…`).
    pub hellip: String,
    /// For `<<` (default `«`).
    pub laquo: String,
    /// For `>>` (default `»`).
    pub raquo: String,
    /// For `<< `, the space kept (default `«` and a no-break space).
    pub laquo_space: String,
    /// For ` >>`, the space kept (default a no-break space and `»`).
    pub raquo_space: String,
}

impl Default for Symbols {
    fn default() -> Self {
        Symbols {
            mdash: "—".into(),
            ndash: "–".into(),
            hellip: "…".into(),
            laquo: "«".into(),
            raquo: "»".into(),
            laquo_space: "«\u{a0}".into(),
            raquo_space: "\u{a0}»".into(),
        }
    }
}

impl Default for KramdownOptions {
    /// Jekyll 4.3's defaults (`Jekyll::Configuration::DEFAULTS["kramdown"]` over kramdown's).
    fn default() -> Self {
        KramdownOptions {
            smart_quotes: ["‘".into(), "’".into(), "“".into(), "”".into()],
            symbols: Symbols::default(),
            auto_ids: true,
            auto_id_prefix: String::new(),
            hard_wrap: false,
            input_gfm: true,
            footnote_nr: 1,
            footnote_backlink: "&#8617;".into(),
            no_auto_typographic: false,
        }
    }
}

static DEFAULT_OPTIONS: LazyLock<KramdownOptions> = LazyLock::new(KramdownOptions::default);

impl KramdownOptions {
    /// Jekyll's defaults, shared.
    pub(crate) fn jekyll_default() -> &'static KramdownOptions {
        &DEFAULT_OPTIONS
    }

    /// The options of a `_config.yml` `kramdown:` section (`config.raw.get("kramdown")`), with
    /// a warning for each value gazette cannot follow.
    pub(crate) fn from_yaml(section: Option<&serde_yaml::Value>) -> (Self, Vec<String>) {
        let mut options = KramdownOptions::default();
        let mut warnings = Vec::new();
        let Some(section) = section else {
            return (options, warnings);
        };
        let Some(map) = section.as_mapping() else {
            if !section.is_null() {
                warnings.push("kramdown: is not a mapping; using Jekyll's defaults".into());
            }
            return (options, warnings);
        };
        for (key, value) in map {
            let Some(key) = key.as_str() else { continue };
            let text: Option<String> = match value {
                serde_yaml::Value::String(s) => Some(s.clone()),
                serde_yaml::Value::Bool(b) => Some(b.to_string()),
                serde_yaml::Value::Number(n) => Some(n.to_string()),
                serde_yaml::Value::Sequence(items) => Some(
                    items
                        .iter()
                        .map(|i| match i {
                            serde_yaml::Value::String(s) => s.clone(),
                            serde_yaml::Value::Number(n) => n.to_string(),
                            _ => String::new(),
                        })
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                _ => None,
            };
            if key == "typographic_symbols" {
                if let Some(m) = value.as_mapping() {
                    for (k, v) in m {
                        if let (Some(k), Some(v)) = (k.as_str(), v.as_str()) {
                            if !options.set_symbol(k, v) {
                                warnings.push(format!("kramdown: unknown typographic symbol {k}"));
                            }
                        }
                    }
                }
                continue;
            }
            if let Some(text) = text {
                if let Err(w) = options.set(key, &text) {
                    warnings.push(w.to_string());
                }
            }
        }
        (options, warnings)
    }

    fn set_symbol(&mut self, name: &str, value: &str) -> bool {
        let s = &mut self.symbols;
        let slot = match name {
            "mdash" => &mut s.mdash,
            "ndash" => &mut s.ndash,
            "hellip" => &mut s.hellip,
            "laquo" => &mut s.laquo,
            "raquo" => &mut s.raquo,
            "laquo_space" => &mut s.laquo_space,
            "raquo_space" => &mut s.raquo_space,
            _ => return false,
        };
        *slot = value.to_string();
        true
    }

    /// Sets one option from its text (as in `_config.yml` or `{::options key="value" /}`).
    fn set(&mut self, key: &str, value: &str) -> Result<(), OptionError> {
        let flag = || match value {
            "true" => Ok(true),
            "false" | "nil" | "" => Ok(false),
            _ => Err(OptionError::NotAFlag(key.to_string(), value.to_string())),
        };
        match key {
            "smart_quotes" => {
                let parts: Vec<&str> = value.split(',').map(str::trim).collect();
                let chars: Option<Vec<String>> = parts.iter().map(|p| entity_char(p)).collect();
                match chars {
                    Some(c) if c.len() == 4 => {
                        self.smart_quotes = [c[0].clone(), c[1].clone(), c[2].clone(), c[3].clone()]
                    }
                    _ => return Err(OptionError::SmartQuotes(value.to_string())),
                }
            }
            "auto_ids" => self.auto_ids = flag()?,
            "auto_id_prefix" => self.auto_id_prefix = value.to_string(),
            "hard_wrap" => self.hard_wrap = flag()?,
            "input" => match value.to_ascii_lowercase().as_str() {
                "gfm" => self.input_gfm = true,
                "kramdown" => self.input_gfm = false,
                _ => return Err(OptionError::Input(value.to_string())),
            },
            "footnote_nr" => {
                self.footnote_nr = value
                    .parse()
                    .map_err(|_| OptionError::FootnoteNumber(value.to_string()))?
            }
            "footnote_backlink" => self.footnote_backlink = value.to_string(),
            "gfm_quirks" => {
                self.no_auto_typographic = value
                    .split(',')
                    .any(|q| q.trim().trim_start_matches(':') == "no_auto_typographic")
            }
            "entity_output" if value != "as_char" => {
                return Err(OptionError::EntityOutput(value.to_string()))
            }
            "parse_block_html" | "parse_span_html" | "html_to_native" => {
                let default = key == "parse_span_html";
                if flag()? != default {
                    return Err(OptionError::HtmlParsing(key.to_string(), value.to_string()));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// A kramdown option gazette cannot follow; the message is the warning the author sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum OptionError {
    #[error("kramdown: {0}: {1:?} is not true or false")]
    NotAFlag(String, String),
    #[error("kramdown: smart_quotes {0:?} is not understood")]
    SmartQuotes(String),
    #[error("kramdown: input {0:?} is not supported; reading posts as GFM")]
    Input(String),
    #[error("kramdown: footnote_nr {0:?} is not a number")]
    FootnoteNumber(String),
    #[error(
        "kramdown: entity_output {0:?} is not supported; characters are written as characters"
    )]
    EntityOutput(String),
    /// `parse_block_html`, `parse_span_html` or `html_to_native` set away from its default.
    #[error("kramdown: {0}: {1} is not supported")]
    HtmlParsing(String, String),
}

/// The character of an entity name (`rsquo`), a code point (`8217`) or a character.
fn entity_char(name: &str) -> Option<String> {
    let c = match name {
        "lsquo" => "‘",
        "rsquo" => "’",
        "ldquo" => "“",
        "rdquo" => "”",
        "apos" => "'",
        "quot" => "\"",
        "laquo" => "«",
        "raquo" => "»",
        "lsaquo" => "‹",
        "rsaquo" => "›",
        "sbquo" => "‚",
        "bdquo" => "„",
        "nbsp" => "\u{a0}",
        _ => {
            if let Ok(n) = name.trim_start_matches('#').parse::<u32>() {
                return char::from_u32(n).map(String::from);
            }
            if name.chars().count() == 1 {
                return Some(name.to_string());
            }
            return None;
        }
    };
    Some(c.to_string())
}

/// Renders Markdown as Jekyll's kramdown does with `options`.
pub fn render(text: &str, options: &KramdownOptions) -> String {
    let prepared = prepare(text);
    let options: Cow<KramdownOptions> = if prepared.overrides.is_empty() {
        Cow::Borrowed(options)
    } else {
        let mut o = options.clone();
        for (k, v) in &prepared.overrides {
            let _ = o.set(k, v);
        }
        Cow::Owned(o)
    };
    let mut comrak = Options::default();
    comrak.extension.strikethrough = options.input_gfm;
    // Single tildes then make `Subscript` nodes, which `single_tildes` turns back into text.
    comrak.extension.subscript = options.input_gfm;
    comrak.extension.tasklist = options.input_gfm;
    comrak.extension.table = true;
    comrak.extension.footnotes = true;
    comrak.extension.description_lists = true;
    comrak.extension.cjk_friendly_emphasis = true;
    comrak.parse.escaped_char_spans = true;
    let arena = Arena::new();
    let root = parse_document(&arena, &prepared.source, &comrak);
    flatten_deep(root);
    single_tildes(&arena, root);
    merge_text(root);
    let mut writer = Writer::new(&options, &prepared);
    writer.attach_block_ials(root);
    writer.assign_header_ids(root);
    writer.block(root);
    writer.footnotes();
    let mut out = writer.out;
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// How deep block quotes, lists and inline spans may nest in the tree before they are flattened.
/// Above the feeds' HTML cap ([`crate::collect::nesting::MAX_NESTING`]), so that a body flattened here
/// is still deeper than that cap and reported there, with the post's name; low enough that the
/// writer (which recurses once per level) stays far from the end of its stack.
const MAX_TREE_DEPTH: usize = crate::collect::nesting::MAX_NESTING + 44;

/// Flattens what nests deeper than [`MAX_TREE_DEPTH`]: a block quote or an inline span
/// (emphasis, a link…) below that depth is replaced by what it holds, and a list by its items'
/// blocks, so that the text stays and the tree's depth is bounded (80,000 nested `>` on one line
/// would otherwise be 80,000 levels). Linear: each node is moved at most once. Real posts never
/// come near the depth.
fn flatten_deep<'a>(root: &'a AstNode<'a>) {
    let mut stack: Vec<(&'a AstNode<'a>, usize)> = vec![(root, 0)];
    while let Some((node, depth)) = stack.pop() {
        let mut child = node.first_child();
        while let Some(c) = child {
            if depth >= MAX_TREE_DEPTH {
                let before = c.previous_sibling();
                if hoist(c) {
                    child = match before {
                        Some(b) => b.next_sibling(),
                        None => node.first_child(),
                    };
                    continue;
                }
            }
            stack.push((c, depth + 1));
            child = c.next_sibling();
        }
    }
}

/// Replaces `node` by its children (a list by its items' children) when it is a block quote, a
/// list or an inline span; false for any other node, which stays.
fn hoist<'a>(node: &'a AstNode<'a>) -> bool {
    let list = match node.data().value {
        NodeValue::List(_) => true,
        NodeValue::BlockQuote
        | NodeValue::Emph
        | NodeValue::Strong
        | NodeValue::Strikethrough
        | NodeValue::Superscript
        | NodeValue::Subscript
        | NodeValue::Underline
        | NodeValue::Link(_) => false,
        _ => return false,
    };
    let holders: Vec<&'a AstNode<'a>> = if list {
        node.children().collect()
    } else {
        vec![node]
    };
    for holder in holders {
        while let Some(c) = holder.first_child() {
            node.insert_before(c);
        }
    }
    node.detach();
    true
}

// ---------------------------------------------------------------------------------------------
// The line pass.

/// Stands for the raw HTML piece whose index follows, up to `RAW_END`.
const RAW_START: char = '\u{e000}';
const RAW_END: char = '\u{e001}';
/// Put before a line that starts with span HTML, so that comrak reads a paragraph (as kramdown
/// does) rather than a raw HTML block; written as nothing.
const SPAN_MARK: char = '\u{e002}';

/// An inline attribute list: attributes in order, and the names of ALDs it refers to.
#[derive(Debug, Clone, Default, PartialEq)]
struct Ial {
    attrs: Vec<(String, String)>,
    refs: Vec<String>,
}

struct Prepared {
    /// What comrak parses.
    source: String,
    /// Raw HTML pieces, by placeholder index.
    raws: Vec<String>,
    /// Block IALs: (1-based line of `source`, whether the block ends there (else starts), IAL).
    block_ials: Vec<(usize, bool, Ial)>,
    /// Attribute list definitions, by name.
    alds: HashMap<String, Ial>,
    /// Abbreviations and their titles, longest first.
    abbrevs: Vec<(String, String)>,
    /// `{::options key="value" /}` settings.
    overrides: Vec<(String, String)>,
}

const SPAN_ELEMENTS: &[&str] = &[
    "a", "abbr", "acronym", "b", "big", "bdo", "br", "button", "cite", "code", "del", "dfn", "em",
    "i", "img", "input", "ins", "kbd", "label", "mark", "option", "q", "rb", "rbc", "rp", "rt",
    "rtc", "ruby", "samp", "select", "small", "span", "strong", "sub", "sup", "tt", "u", "var",
];
const VOID_ELEMENTS: &[&str] = &[
    "area", "base", "br", "col", "command", "embed", "hr", "img", "input", "keygen", "link",
    "meta", "param", "source", "track", "wbr",
];

struct Lines {
    out: String,
    line: usize,
    raws: Vec<String>,
}

impl Lines {
    fn push(&mut self, line: &str) {
        self.out.push_str(line);
        self.out.push('\n');
        self.line += 1;
    }
    fn last_blank(&self) -> bool {
        self.out.is_empty() || self.out.ends_with("\n\n")
    }
    /// A raw piece as a paragraph of its own.
    fn raw(&mut self, html: String) {
        if !self.last_blank() {
            self.push("");
        }
        let index = self.raws.len();
        self.raws.push(html);
        self.push(&format!("{RAW_START}{index}{RAW_END}"));
        self.push("");
    }
}

/// Indentation of a line in columns (tabs to 4), and the byte where its text starts.
fn indent(line: &str) -> (usize, usize) {
    let mut cols = 0;
    for (i, b) in line.bytes().enumerate() {
        match b {
            b' ' => cols += 1,
            b'\t' => cols += 4 - cols % 4,
            _ => return (cols, i),
        }
    }
    (cols, line.len())
}

fn prepare(text: &str) -> Prepared {
    let mut lines = Lines {
        out: String::with_capacity(text.len() + 64),
        line: 0,
        raws: Vec::new(),
    };
    let mut block_ials = Vec::new();
    let mut alds = HashMap::new();
    let mut abbrevs: Vec<(String, String)> = Vec::new();
    let mut overrides = Vec::new();
    // Open `markdown="1"` elements.
    let mut open: Vec<String> = Vec::new();
    let mut fence: Option<(u8, usize)> = None;
    // The line (of `source`) the last block content was on, if no blank line came since.
    let mut last_content: Option<usize> = None;
    let mut pending_next: Vec<Ial> = Vec::new();
    let mut pos = 0;
    while pos < text.len() {
        let end = text[pos..].find('\n').map_or(text.len(), |e| pos + e);
        let next = (end + 1).min(text.len()).max(end);
        let line = text[pos..end].trim_end_matches('\r');
        let (cols, at) = indent(line);
        let body = &line[at..];
        if let Some((ch, len)) = fence {
            lines.push(line);
            let run = body.bytes().take_while(|&b| b == ch).count();
            if cols < 4 && run >= len && body[run..].trim().is_empty() {
                fence = None;
            }
            pos = next;
            continue;
        }
        if body.is_empty() {
            lines.push("");
            last_content = None;
            pos = next;
            continue;
        }
        if cols >= 4 {
            lines.push(line);
            last_content = Some(lines.line);
            pos = next;
            continue;
        }
        let first = body.as_bytes()[0];
        if first == b'`' || first == b'~' {
            let run = body.bytes().take_while(|&b| b == first).count();
            if run >= 3 && !(first == b'`' && body[run..].contains('`')) {
                fence = Some((first, run));
            }
        }
        if fence.is_none() {
            if body.trim_end() == "^" {
                // kramdown's end-of-block marker.
                lines.push("");
                last_content = None;
                pos = next;
                continue;
            }
            if let Some(rest) = body.strip_prefix("{::") {
                let name_len = rest
                    .bytes()
                    .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                    .count();
                let name = &rest[..name_len];
                if let Some(close) = rest.find('}') {
                    let head = &rest[name_len..close];
                    let after = pos + at + 3 + close + 1;
                    let self_closed = head.trim_end().ends_with('/');
                    match name {
                        "options" => {
                            let ial = parse_ial(head.trim_end().trim_end_matches('/'));
                            overrides.extend(ial.attrs);
                            lines.push("");
                            pos = skip_line_end(text, after);
                            continue;
                        }
                        "comment" | "nomarkdown" => {
                            let (content, resume) = if self_closed {
                                ("", after)
                            } else {
                                extension_body(text, after, name)
                            };
                            if name == "comment" {
                                lines.raw(format!("<!-- {} -->", content.trim()));
                            } else {
                                lines.raw(content.trim_matches('\n').to_string());
                            }
                            last_content = None;
                            pos = skip_line_end(text, resume);
                            continue;
                        }
                        _ => {}
                    }
                }
            }
            if let Some(inner) = body
                .strip_prefix("{:")
                .and_then(|r| r.trim_end().strip_suffix('}'))
            {
                if !inner.starts_with(':') && !inner.starts_with('/') {
                    let name_len = inner
                        .bytes()
                        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
                        .count();
                    if name_len > 0 && inner[name_len..].starts_with(':') {
                        alds.insert(
                            inner[..name_len].to_string(),
                            parse_ial(&inner[name_len + 1..]),
                        );
                    } else {
                        let ial = parse_ial(inner);
                        match last_content {
                            Some(l) => block_ials.push((l, true, ial)),
                            None => pending_next.push(ial),
                        }
                    }
                    // A block IAL ends the paragraph before it.
                    lines.push("");
                    pos = next;
                    continue;
                }
            }
            if let Some(rest) = body.strip_prefix("*[") {
                if let Some(close) = rest.find("]:") {
                    let name = &rest[..close];
                    if !name.is_empty() && !name.contains(']') {
                        let title = rest[close + 2..].trim().to_string();
                        abbrevs.push((name.to_string(), title));
                        lines.push("");
                        pos = next;
                        continue;
                    }
                }
            }
            if first == b'<' {
                if let Some(resume) = html_line(text, pos + at, &mut lines, &mut open) {
                    last_content = None;
                    pos = resume;
                    continue;
                }
            }
        }
        let adjusted = adjust_line(line);
        if first == b'<' && starts_span_tag(body) {
            lines.push(&format!("{}{SPAN_MARK}{}", &line[..at], &adjusted[at..]));
        } else {
            lines.push(&adjusted);
        }
        last_content = Some(lines.line);
        for ial in pending_next.drain(..) {
            block_ials.push((lines.line, false, ial));
        }
        pos = next;
    }
    abbrevs.sort_by_key(|a| std::cmp::Reverse(a.0.len()));
    Prepared {
        source: lines.out,
        raws: lines.raws,
        block_ials,
        alds,
        abbrevs,
        overrides,
    }
}

/// Stands for `&#39;` / `&apos;` and `&quot;` / `&#34;` in text, which kramdown keeps as
/// straight quotes (comrak would decode them into text that smart quotes then change).
const APOS: char = '\u{e003}';
const QUOT: char = '\u{e004}';
/// Stands for `<<` in text, which kramdown reads as `«` even before a tag (`<<x>>`), where
/// comrak would read `<x>` as inline HTML.
const LAQUO: char = '\u{e005}';

/// Is `c` punctuation (or a symbol) for CommonMark's flanking rules.
fn is_flank_punct(c: char) -> bool {
    c.is_ascii_punctuation() || !(c.is_alphanumeric() || c.is_whitespace() || c.is_control())
}

/// A Markdown line made to read as kramdown reads it, outside code spans:
/// * kramdown opens `*`/`**` before any non-space and closes it after any non-space, where
///   CommonMark also looks at punctuation (`**"q"**x` is bold in kramdown only): a `SPAN_MARK`
///   between a `*` run and punctuation next to it lifts CommonMark's punctuation rules;
/// * quote entities stay straight quotes;
/// * `<<` is the guillemet, not the start of a tag (`LAQUO`);
/// * `\\` at the end of a line is kramdown's line break (two spaces here).
///
/// Cost: one scan of the line; lines without `*`, `&` or a trailing `\` are copied as they are.
fn adjust_line(line: &str) -> Cow<'_, str> {
    let break_end = line.ends_with("\\\\") && !line.ends_with("\\\\\\");
    if !line.contains(['*', '&']) && !line.contains("<<") && !break_end {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 8);
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let mut code: Option<usize> = None;
    while i < chars.len() {
        let c = chars[i];
        if c == '`' {
            let run = chars[i..].iter().take_while(|&&b| b == '`').count();
            match code {
                Some(n) if n == run => code = None,
                None => code = Some(run),
                _ => {}
            }
            out.extend(&chars[i..i + run]);
            i += run;
            continue;
        }
        if code.is_none() && c == '\\' && i + 1 < chars.len() {
            out.push(c);
            out.push(chars[i + 1]);
            i += 2;
            continue;
        }
        if code.is_none() && c == '*' {
            let run = chars[i..].iter().take_while(|&&b| b == '*').count();
            let before = i.checked_sub(1).map(|k| chars[k]);
            let after = chars.get(i + run).copied();
            if before.is_some_and(is_flank_punct) {
                out.push(SPAN_MARK);
            }
            out.extend(&chars[i..i + run]);
            if after.is_some_and(is_flank_punct) {
                out.push(SPAN_MARK);
            }
            i += run;
            continue;
        }
        if code.is_none() && c == '<' && chars.get(i + 1) == Some(&'<') {
            out.push(LAQUO);
            i += 2;
            continue;
        }
        if code.is_none() && c == '&' {
            let rest: String = chars[i..chars.len().min(i + 6)].iter().collect();
            let found = [
                ("&#39;", APOS),
                ("&apos;", APOS),
                ("&quot;", QUOT),
                ("&#34;", QUOT),
            ]
            .into_iter()
            .find(|(e, _)| rest.starts_with(e));
            if let Some((e, mark)) = found {
                out.push(mark);
                i += e.len();
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    if break_end && code.is_none() {
        out.truncate(out.len() - 2);
        out.push_str("  ");
    }
    Cow::Owned(out)
}

/// After `at`, past spaces and tabs and one newline, or `at` when other text follows.
fn skip_line_end(text: &str, at: usize) -> usize {
    let rest = &text[at..];
    let spaces = rest.len() - rest.trim_start_matches([' ', '\t', '\r']).len();
    match rest.as_bytes().get(spaces) {
        Some(b'\n') => at + spaces + 1,
        None => text.len(),
        _ => at,
    }
}

/// The body of `{::name}` up to `{:/name}` or `{:/}`, and where the text goes on.
fn extension_body<'t>(text: &'t str, from: usize, name: &str) -> (&'t str, usize) {
    let rest = &text[from..];
    let long = format!("{{:/{name}}}");
    let found = [
        rest.find(&long).map(|i| (i, long.len())),
        rest.find("{:/}").map(|i| (i, 4)),
    ]
    .into_iter()
    .flatten()
    .min();
    match found {
        Some((i, len)) => (&rest[..i], from + i + len),
        None => (rest, text.len()),
    }
}

/// A tag name at the start of `s` (after `<` or `</`), as REXML reads names.
fn tag_name(s: &str) -> &str {
    let first = s.as_bytes().first().copied().unwrap_or(b' ');
    if !(first.is_ascii_alphabetic() || first == b'_' || first == b':') {
        return "";
    }
    let len = s
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.'))
        .count();
    &s[..len]
}

fn starts_span_tag(body: &str) -> bool {
    let name = tag_name(body.strip_prefix('<').unwrap_or(""));
    let name = name.to_ascii_lowercase();
    SPAN_ELEMENTS.contains(&name.as_str())
}

/// The end of the start tag at `at` (just past `>`), whether it closes itself, and whether it
/// has `markdown="1"`, `markdown="block"` or `markdown="span"` (returned without that attribute).
fn start_tag(text: &str, at: usize) -> Option<(usize, bool, Option<String>)> {
    let bytes = text.as_bytes();
    let mut i = at + 1 + tag_name(&text[at + 1..]).len();
    // The name ends the tag or is followed by attributes (`<http://x>` is not a tag).
    match bytes.get(i) {
        Some(b' ' | b'\t' | b'\n' | b'\r' | b'>') => {}
        Some(b'/') if bytes.get(i + 1) == Some(&b'>') => {}
        _ => return None,
    }
    let mut quote = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'<' => return None,
            None if b == b'>' => {
                let closed = bytes[i - 1] == b'/';
                let tag = &text[at..=i];
                let markdown = [
                    "markdown=\"1\"",
                    "markdown='1'",
                    "markdown=\"block\"",
                    "markdown=\"span\"",
                ]
                .iter()
                .find_map(|m| tag.find(m).map(|p| (p, m.len())))
                .map(|(p, len)| {
                    let mut t = tag[..p].trim_end().to_string();
                    t.push_str(&tag[p + len..]);
                    t
                });
                return Some((i + 1, closed, markdown));
            }
            None => {}
        }
        i += 1;
    }
    None
}

/// A block HTML element or comment starting at `at` (a line's first `<`), as kramdown reads
/// it: raw up to the close tag matching it (nested elements counted), or to the end of the text.
/// Pushes it and returns where the Markdown goes on; `None` when the line is not block HTML.
fn html_line(text: &str, at: usize, lines: &mut Lines, open: &mut Vec<String>) -> Option<usize> {
    let rest = &text[at..];
    if rest.starts_with("<!--") {
        let end = rest.find("-->").map_or(text.len(), |e| at + e + 3);
        lines.raw(text[at..end].to_string());
        return Some(skip_line_end(text, end));
    }
    if let Some(close) = rest.strip_prefix("</") {
        let name = tag_name(close).to_ascii_lowercase();
        if !name.is_empty() && open.last() == Some(&name) {
            let end = rest.find('>').map_or(text.len(), |e| at + e + 1);
            open.pop();
            lines.raw(text[at..end].to_string());
            return Some(skip_line_end(text, end));
        }
        return None;
    }
    let name = tag_name(&rest[1..]).to_ascii_lowercase();
    if name.is_empty() || SPAN_ELEMENTS.contains(&name.as_str()) {
        return None;
    }
    let (tag_end, closed, markdown) = start_tag(text, at)?;
    if let Some(tag) = markdown {
        if !closed {
            open.push(name);
            lines.raw(tag);
            return Some(skip_line_end(text, tag_end));
        }
    }
    let end = if closed || VOID_ELEMENTS.contains(&name.as_str()) {
        tag_end
    } else {
        raw_element_end(text, tag_end, &name)
    };
    lines.raw(text[at..end].to_string());
    Some(skip_line_end(text, end))
}

/// Where the element `name` whose start tag ends at `from` ends: past its matching close tag.
fn raw_element_end(text: &str, from: usize, name: &str) -> usize {
    let lower_find = |from: usize, needle: &str| {
        text.as_bytes()[from..]
            .windows(needle.len())
            .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
            .map(|i| from + i)
    };
    if name == "script" || name == "style" {
        let close = format!("</{name}");
        return match lower_find(from, &close) {
            Some(c) => text[c..].find('>').map_or(text.len(), |e| c + e + 1),
            None => text.len(),
        };
    }
    let mut stack = vec![name.to_string()];
    let mut i = from;
    while let Some(lt) = text[i..].find('<').map(|p| i + p) {
        let rest = &text[lt..];
        if rest.starts_with("<!--") {
            i = rest.find("-->").map_or(text.len(), |e| lt + e + 3);
        } else if let Some(close) = rest.strip_prefix("</") {
            let n = tag_name(close).to_ascii_lowercase();
            let end = rest.find('>').map_or(text.len(), |e| lt + e + 1);
            if !n.is_empty() && stack.last() == Some(&n) {
                stack.pop();
                if stack.is_empty() {
                    return end;
                }
            }
            i = end;
        } else {
            let n = tag_name(&rest[1..]).to_ascii_lowercase();
            match (n.is_empty(), start_tag(text, lt)) {
                (false, Some((end, closed, _))) => {
                    if n == "script" || n == "style" {
                        i = raw_element_end(text, end, &n);
                    } else {
                        if !closed && !VOID_ELEMENTS.contains(&n.as_str()) {
                            stack.push(n);
                        }
                        i = end;
                    }
                }
                _ => i = lt + 1,
            }
        }
        if i >= text.len() {
            break;
        }
    }
    text.len()
}

/// Reads the inside of `{: … }`: `.class`, `#id`, `key="value"`, and ALD names.
fn parse_ial(s: &str) -> Ial {
    let mut ial = Ial::default();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' {
            i += 1;
        }
        let word = &s[start..i];
        if i < b.len() && b[i] == b'=' {
            i += 1;
            let mut value = String::new();
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                i += 1;
                let vstart = i;
                while i < b.len() && b[i] != q {
                    if b[i] == b'\\' && i + 1 < b.len() {
                        i += 1;
                    }
                    i += 1;
                }
                value.push_str(&s[vstart..i.min(b.len())].replace(['\\'], ""));
                i += 1;
            } else {
                let vstart = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                value.push_str(&s[vstart..i]);
            }
            set_attr(&mut ial.attrs, word, &value);
        } else if let Some(class) = word.strip_prefix('.') {
            set_attr(&mut ial.attrs, "class", class);
        } else if let Some(id) = word.strip_prefix('#') {
            set_attr(&mut ial.attrs, "id", id);
        } else if !word.is_empty() {
            ial.refs.push(word.to_string());
        }
    }
    ial
}

/// Sets an attribute; classes add up.
fn set_attr(attrs: &mut Vec<(String, String)>, key: &str, value: &str) {
    if let Some(slot) = attrs.iter_mut().find(|(k, _)| k == key) {
        if key == "class" {
            slot.1.push(' ');
            slot.1.push_str(value);
        } else {
            slot.1 = value.to_string();
        }
    } else {
        attrs.push((key.to_string(), value.to_string()));
    }
}

/// kramdown-parser-gfm strikes only `~~text~~`: what comrak struck between single tildes (read
/// as subscript) goes back to text between `~`s.
fn single_tildes<'a>(arena: &'a Arena<'a>, root: &'a AstNode<'a>) {
    let subs: Vec<&AstNode> = root
        .descendants()
        .filter(|n| matches!(n.data().value, NodeValue::Subscript))
        .collect();
    for node in subs {
        let start = node.data().sourcepos.start;
        let tilde = || {
            arena.alloc(AstNode::new(RefCell::new(Ast::new(
                NodeValue::Text("~".into()),
                start,
            ))))
        };
        node.insert_before(tilde());
        while let Some(child) = node.first_child() {
            node.insert_before(child);
        }
        node.insert_before(tilde());
        node.detach();
    }
}

/// Joins adjacent text nodes, so that typography sees whole runs of text.
fn merge_text<'a>(root: &'a AstNode<'a>) {
    let texts: Vec<&AstNode> = root
        .descendants()
        .filter(|n| matches!(n.data().value, NodeValue::Text(_)))
        .collect();
    for node in texts {
        let Some(prev) = node.previous_sibling() else {
            continue;
        };
        let mut prev_data = prev.data_mut();
        if let NodeValue::Text(p) = &mut prev_data.value {
            if let NodeValue::Text(t) = &node.data().value {
                p.to_mut().push_str(t);
            }
            drop(prev_data);
            node.detach();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Text: smart quotes, typographic symbols, abbreviations.

/// Ruby's `\s`.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}
/// Ruby's `\w` (ASCII only).
fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}
/// A word character as Ruby's `\b` sees it (Unicode).
fn is_uword(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}
/// kramdown's `SQ_PUNCT`.
fn is_sq_punct(c: char) -> bool {
    c.is_ascii_punctuation() && c != '&'
}
/// kramdown's `SQ_CLOSE`: a character after which a quote closes.
fn is_sq_close(c: char) -> bool {
    !matches!(c, ' ' | '\\' | '\t' | '\r' | '\n' | '[' | '{' | '(' | '-')
}

/// kramdown's `SQ_RULES` for the quote at `cs[i]`, `p` the plain character before it (none
/// after another span element or symbol): what to write, and how many characters it takes.
fn smart_quote(p: Option<char>, cs: &[char], i: usize) -> ([Option<Q>; 2], usize) {
    let q = cs[i];
    let r = |k: usize| cs.get(i + 1 + k).copied();
    let is_quote = |c: Option<char>| matches!(c, Some('"' | '\''));
    let left = if q == '"' { Q::Ldquo } else { Q::Lsquo };
    let right = if q == '"' { Q::Rdquo } else { Q::Rsquo };
    let space_or_none = p.is_none_or(is_space);
    if p.is_none() {
        // /("|')(?=[_*]{1,2}\S)/
        if matches!(r(0), Some('_' | '*')) && r(1).is_some_and(|c| !is_space(c)) {
            return ([Some(left), None], 1);
        }
        // /("|')(?=#{SQ_PUNCT}(?!\.\.)\B)/
        if r(0).is_some_and(is_sq_punct)
            && !(r(1) == Some('.') && r(2) == Some('.'))
            && !r(1).is_some_and(is_uword)
        {
            return ([Some(right), None], 1);
        }
    }
    if space_or_none && r(1).is_some_and(is_word) {
        // /(\s?)"'(?=\w)/ and /(\s?)'"(?=\w)/
        if q == '"' && r(0) == Some('\'') {
            return ([Some(Q::Ldquo), Some(Q::Lsquo)], 2);
        }
        if q == '\'' && r(0) == Some('"') {
            return ([Some(Q::Lsquo), Some(Q::Ldquo)], 2);
        }
    }
    // /(\s?)'(?=\d\ds)/
    if space_or_none
        && q == '\''
        && r(0).is_some_and(|c| c.is_ascii_digit())
        && r(1).is_some_and(|c| c.is_ascii_digit())
        && r(2) == Some('s')
    {
        return ([Some(Q::Rsquo), None], 1);
    }
    // /(\s)('|")(?=\w)/
    if p.is_some_and(is_space) && r(0).is_some_and(is_word) {
        return ([Some(left), None], 1);
    }
    // /(#{SQ_CLOSE})('|")/: the character before, or else this quote itself, closes.
    match p {
        Some(c) if is_sq_close(c) => return ([Some(right), None], 1),
        None if is_quote(r(0)) => {
            let second = if r(0) == Some('"') {
                Q::Rdquo
            } else {
                Q::Rsquo
            };
            return ([Some(Q::Plain(q)), Some(second)], 2);
        }
        _ => {}
    }
    // /("|')(?=\s|s\b|$)/
    if p.is_none()
        && (r(0).is_none_or(is_space) || (r(0) == Some('s') && !r(1).is_some_and(is_uword)))
    {
        return ([Some(right), None], 1);
    }
    ([Some(left), None], 1)
}

#[derive(Clone, Copy)]
enum Q {
    Lsquo,
    Rsquo,
    Ldquo,
    Rdquo,
    Plain(char),
}

/// Applies kramdown's smart quotes and typographic symbols to a run of plain text.
///
/// `after` is the start of the source that follows the run (`**` for bold…), which kramdown's
/// rules look at.
fn typography(text: &str, after: &str, o: &KramdownOptions, out: &mut String) {
    let stripped;
    let text = if text.contains([SPAN_MARK, LAQUO]) {
        stripped = text.replace(SPAN_MARK, "").replace(LAQUO, "<<");
        stripped.as_str()
    } else {
        text
    };
    if !text.contains(['"', '\'', '-', '.', '<', '>']) {
        out.push_str(text);
        return;
    }
    let mut cs: Vec<char> = text.chars().collect();
    let len = cs.len();
    for c in after.chars() {
        if c == LAQUO {
            cs.extend(['<', '<']);
        } else {
            cs.push(c);
        }
    }
    let mut prev: Option<char> = None;
    let mut i = 0;
    let at = |k: usize| cs.get(k).copied();
    while i < len {
        let c = cs[i];
        let sym: Option<(&str, usize)> = if o.no_auto_typographic || i + 1 >= len {
            None
        } else {
            match c {
                '-' if at(i + 1) == Some('-') => {
                    if at(i + 2) == Some('-') {
                        Some((&o.symbols.mdash, 3))
                    } else {
                        Some((&o.symbols.ndash, 2))
                    }
                }
                '.' if at(i + 1) == Some('.') && at(i + 2) == Some('.') => {
                    Some((&o.symbols.hellip, 3))
                }
                '<' if at(i + 1) == Some('<') => {
                    if at(i + 2) == Some(' ') {
                        Some((&o.symbols.laquo_space, 3))
                    } else {
                        Some((&o.symbols.laquo, 2))
                    }
                }
                ' ' if at(i + 1) == Some('>') && at(i + 2) == Some('>') => {
                    Some((&o.symbols.raquo_space, 3))
                }
                '>' if at(i + 1) == Some('>') => Some((&o.symbols.raquo, 2)),
                _ => None,
            }
        };
        if let Some((s, n)) = sym.filter(|(_, n)| i + n <= len) {
            out.push_str(s);
            i += n;
            prev = None;
            continue;
        }
        if c == '"' || c == '\'' {
            let (qs, n) = smart_quote(prev, &cs, i);
            for q in qs.into_iter().flatten() {
                match q {
                    Q::Lsquo => out.push_str(&o.smart_quotes[0]),
                    Q::Rsquo => out.push_str(&o.smart_quotes[1]),
                    Q::Ldquo => out.push_str(&o.smart_quotes[2]),
                    Q::Rdquo => out.push_str(&o.smart_quotes[3]),
                    Q::Plain(c) => out.push(c),
                }
            }
            i += n.min(len - i);
            prev = None;
            continue;
        }
        out.push(c);
        prev = Some(c);
        i += 1;
    }
}

fn escape_text(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            SPAN_MARK => {}
            APOS => out.push('\''),
            QUOT => out.push('"'),
            LAQUO => out.push_str("&lt;&lt;"),
            _ => crate::escape::push_text_char(c, out),
        }
    }
}

/// Code: the marks of [`adjust_line`] back to what was typed.
fn escape_code(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            APOS => out.push_str("&amp;#39;"),
            QUOT => out.push_str("&amp;quot;"),
            _ => escape_text(c.encode_utf8(&mut [0; 4]), out),
        }
    }
}

fn escape_attr(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '"' | QUOT => out.push_str("&quot;"),
            APOS => out.push('\''),
            LAQUO => out.push_str("&lt;&lt;"),
            SPAN_MARK => {}
            _ => crate::escape::push_text_char(c, out),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The writer.

type Key = usize;
fn key(node: &AstNode<'_>) -> Key {
    node as *const AstNode<'_> as usize
}

struct Footnote<'a> {
    name: String,
    refs: usize,
    def: Option<&'a AstNode<'a>>,
}

struct Writer<'o, 'a> {
    o: &'o KramdownOptions,
    p: &'o Prepared,
    out: String,
    attrs: HashMap<Key, Vec<(String, String)>>,
    toc_lists: Vec<Key>,
    ids: HashMap<Key, String>,
    /// Headers with ids, for `{:toc}`: level, id, node.
    toc: Vec<(u8, String, &'a AstNode<'a>)>,
    footnotes: Vec<Footnote<'a>>,
    definitions: HashMap<String, &'a AstNode<'a>>,
    /// Writing a TOC entry: no links, no footnotes.
    in_toc: bool,
    /// An open raw inline HTML element whose content kramdown keeps as typed (`<code>`…), and
    /// how deep it is nested in itself.
    raw_html: Option<(String, usize)>,
}

/// Inline HTML elements whose content kramdown keeps as typed (its raw content model; `pre` is
/// a block element and not read in text).
const RAW_SPAN_ELEMENTS: &[&str] = &[
    "code", "kbd", "samp", "var", "script", "style", "math", "option", "textarea",
];

fn is_block(v: &NodeValue) -> bool {
    matches!(
        v,
        NodeValue::BlockQuote
            | NodeValue::List(_)
            | NodeValue::Item(_)
            | NodeValue::TaskItem(_)
            | NodeValue::DescriptionList
            | NodeValue::DescriptionItem(_)
            | NodeValue::DescriptionTerm
            | NodeValue::DescriptionDetails
            | NodeValue::CodeBlock(_)
            | NodeValue::HtmlBlock(_)
            | NodeValue::Paragraph
            | NodeValue::Heading(_)
            | NodeValue::ThematicBreak
            | NodeValue::Table(_)
    )
}

impl<'o, 'a> Writer<'o, 'a> {
    fn new(o: &'o KramdownOptions, p: &'o Prepared) -> Self {
        Writer {
            o,
            p,
            out: String::with_capacity(p.source.len() + p.source.len() / 2),
            attrs: HashMap::new(),
            toc_lists: Vec::new(),
            ids: HashMap::new(),
            toc: Vec::new(),
            footnotes: Vec::new(),
            definitions: HashMap::new(),
            in_toc: false,
            raw_html: None,
        }
    }

    /// Follows raw inline HTML elements (`<code>`…) opened and closed by an inline HTML tag.
    fn track_raw_html(&mut self, html: &str) {
        let html = html.trim_start_matches(SPAN_MARK);
        let (close, rest) = match html.strip_prefix("</") {
            Some(rest) => (true, rest),
            None => (false, html.strip_prefix('<').unwrap_or("")),
        };
        let name = tag_name(rest).to_ascii_lowercase();
        if name.is_empty() {
            return;
        }
        let self_closed = html.trim_end().ends_with("/>");
        match &mut self.raw_html {
            Some((open, depth)) if *open == name => {
                if close {
                    *depth -= 1;
                    if *depth == 0 {
                        self.raw_html = None;
                    }
                } else if !self_closed {
                    *depth += 1;
                }
            }
            Some(_) => {}
            None => {
                if !close && !self_closed && RAW_SPAN_ELEMENTS.contains(&name.as_str()) {
                    self.raw_html = Some((name, 1));
                }
            }
        }
    }

    /// Resolves an IAL's ALD references (kramdown applies the referenced lists first).
    fn resolve(&self, ial: &Ial) -> (Vec<(String, String)>, bool) {
        let mut attrs = Vec::new();
        let mut toc = false;
        for r in &ial.refs {
            if r == "toc" {
                toc = true;
            } else if let Some(ald) = self.p.alds.get(r) {
                for (k, v) in &ald.attrs {
                    set_attr(&mut attrs, k, v);
                }
            }
        }
        for (k, v) in &ial.attrs {
            set_attr(&mut attrs, k, v);
        }
        (attrs, toc)
    }

    fn attach_block_ials(&mut self, root: &'a AstNode<'a>) {
        if self.p.block_ials.is_empty() {
            return;
        }
        for node in root.descendants() {
            let data = node.data();
            if matches!(data.value, NodeValue::FootnoteDefinition(_)) {
                let name = match &data.value {
                    NodeValue::FootnoteDefinition(d) => d.name.clone(),
                    _ => unreachable!(),
                };
                self.definitions.entry(name).or_insert(node);
            }
        }
        let ials = &self.p.block_ials;
        for (line, ends, ial) in ials {
            let target = root.descendants().find(|n| {
                let d = n.data();
                is_block(&d.value)
                    && if *ends {
                        d.sourcepos.end.line == *line
                    } else {
                        d.sourcepos.start.line == *line
                    }
            });
            if let Some(node) = target {
                let (attrs, toc) = self.resolve(ial);
                if toc && matches!(node.data().value, NodeValue::List(_)) {
                    self.toc_lists.push(key(node));
                }
                let slot = self.attrs.entry(key(node)).or_default();
                for (k, v) in attrs {
                    set_attr(slot, &k, &v);
                }
            }
        }
    }

    /// Header ids as kramdown-parser-gfm's `generate_gfm_header_id` makes them (or kramdown's
    /// `generate_id` for `input: kramdown`), in document order; `{#id}` at a header's end.
    fn assign_header_ids(&mut self, root: &'a AstNode<'a>) {
        for node in root.descendants() {
            if let NodeValue::FootnoteDefinition(d) = &node.data().value {
                self.definitions.entry(d.name.clone()).or_insert(node);
            }
        }
        let mut counter: HashMap<String, usize> = HashMap::new();
        let headings: Vec<&AstNode> = root
            .descendants()
            .filter(|n| matches!(n.data().value, NodeValue::Heading(_)))
            .collect();
        for node in headings {
            let level = match node.data().value {
                NodeValue::Heading(h) => h.level,
                _ => 0,
            };
            let mut custom = self
                .attrs
                .get(&key(node))
                .and_then(|a| a.iter().find(|(k, _)| k == "id"))
                .map(|(_, v)| v.clone());
            if let Some(last) = node.last_child() {
                let mut data = last.data_mut();
                if let NodeValue::Text(t) = &mut data.value {
                    if let Some((kept, id)) = header_id_suffix(t) {
                        custom = Some(id.to_string());
                        let kept = kept.to_string();
                        *t.to_mut() = kept;
                    }
                }
            }
            let id = match custom {
                Some(id) => Some(id),
                None if self.o.auto_ids => {
                    let mut text = String::new();
                    self.plain(node, &mut text);
                    let base = if self.o.input_gfm {
                        gfm_id(&text)
                    } else {
                        kramdown_id(&text)
                    };
                    let n = counter.entry(base.clone()).or_insert(0);
                    let id = if *n == 0 {
                        base.clone()
                    } else {
                        format!("{base}-{n}")
                    };
                    *n += 1;
                    Some(format!("{}{id}", self.o.auto_id_prefix))
                }
                None => None,
            };
            if let Some(id) = id {
                self.toc.push((level, id.clone(), node));
                self.ids.insert(key(node), id);
            }
        }
    }

    /// The text of inline content, typography applied (for ids).
    fn plain(&self, node: &'a AstNode<'a>, out: &mut String) {
        for child in node.children() {
            match &child.data().value {
                NodeValue::Text(t) => {
                    let mut s = String::new();
                    typography(&strip_inline_extensions(t), "", self.o, &mut s);
                    out.extend(s.chars().filter(|c| *c != SPAN_MARK));
                }
                NodeValue::SoftBreak | NodeValue::LineBreak => out.push(' '),
                NodeValue::Code(c) => out.push_str(&c.literal),
                NodeValue::FootnoteReference(_) | NodeValue::HtmlInline(_) => {}
                _ => self.plain(child, out),
            }
        }
    }

    fn open_tag(&mut self, name: &str, own: &[(&str, &str)], node: &AstNode<'_>) {
        let extra = self.attrs.get(&key(node)).cloned();
        self.write_tag(name, own, extra.as_deref());
    }

    fn write_tag(&mut self, name: &str, own: &[(&str, &str)], extra: Option<&[(String, String)]>) {
        let mut attrs: Vec<(String, String)> = own
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (k, v) in extra.unwrap_or_default() {
            set_attr(&mut attrs, k, v);
        }
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in &attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            escape_attr(v, &mut self.out);
            self.out.push('"');
        }
        self.out.push('>');
    }

    fn block(&mut self, node: &'a AstNode<'a>) {
        let value = node.data().value.clone();
        match value {
            NodeValue::Document => self.blocks(node, false),
            NodeValue::Paragraph => self.paragraph(node, false),
            NodeValue::Heading(h) => {
                let tag = format!("h{}", h.level);
                let id = self.ids.get(&key(node)).cloned();
                let mut own: Vec<(&str, &str)> = Vec::new();
                if let Some(id) = &id {
                    own.push(("id", id));
                }
                let mut extra = self.attrs.get(&key(node)).cloned().unwrap_or_default();
                extra.retain(|(k, _)| k != "id");
                self.write_tag(&tag, &own, Some(&extra));
                self.inlines(node);
                self.out.push_str(&format!("</{tag}>\n"));
            }
            NodeValue::BlockQuote => {
                self.open_tag("blockquote", &[], node);
                self.out.push('\n');
                self.blocks(node, false);
                self.out.push_str("</blockquote>\n");
            }
            NodeValue::List(list) => {
                if self.toc_lists.contains(&key(node)) {
                    self.write_toc();
                    return;
                }
                let tag = if list.list_type == ListType::Ordered {
                    "ol"
                } else {
                    "ul"
                };
                let task = node
                    .children()
                    .any(|c| matches!(c.data().value, NodeValue::TaskItem(_)));
                let own: &[(&str, &str)] = if task { &[("class", "task-list")] } else { &[] };
                self.open_tag(tag, own, node);
                self.out.push('\n');
                for item in node.children() {
                    let checked = match &item.data().value {
                        NodeValue::TaskItem(t) => Some(t.symbol.is_some()),
                        _ => None,
                    };
                    let own: &[(&str, &str)] = if checked.is_some() {
                        &[("class", "task-list-item")]
                    } else {
                        &[]
                    };
                    self.open_tag("li", own, item);
                    match checked {
                        Some(true) => self.out.push_str("<input type=\"checkbox\" class=\"task-list-item-checkbox\" disabled=\"disabled\" checked=\"checked\" />"),
                        Some(false) => self.out.push_str("<input type=\"checkbox\" class=\"task-list-item-checkbox\" disabled=\"disabled\" />"),
                        None => {}
                    }
                    self.blocks(item, list.tight);
                    self.out.push_str("</li>\n");
                }
                self.out.push_str(&format!("</{tag}>\n"));
            }
            NodeValue::DescriptionList => {
                self.open_tag("dl", &[], node);
                self.out.push('\n');
                for item in node.children() {
                    let tight = match item.data().value {
                        NodeValue::DescriptionItem(i) => i.tight,
                        _ => false,
                    };
                    for part in item.children() {
                        let is_term = matches!(part.data().value, NodeValue::DescriptionTerm);
                        let tag = if is_term { "dt" } else { "dd" };
                        self.open_tag(tag, &[], part);
                        self.blocks(part, is_term || tight);
                        self.out.push_str(&format!("</{tag}>\n"));
                    }
                }
                self.out.push_str("</dl>\n");
            }
            NodeValue::CodeBlock(code) => {
                let lang = code.info.split_whitespace().next().unwrap_or("");
                let lang = if lang.is_empty() { "plaintext" } else { lang };
                let class = format!("language-{lang} highlighter-rouge");
                self.open_tag("div", &[("class", &class)], node);
                self.out
                    .push_str("<div class=\"highlight\"><pre class=\"highlight\"><code>");
                escape_code(&code.literal, &mut self.out);
                self.out.push_str("</code></pre></div></div>\n");
            }
            NodeValue::HtmlBlock(html) => {
                self.out.push_str(&html.literal);
                if !html.literal.ends_with('\n') {
                    self.out.push('\n');
                }
            }
            NodeValue::ThematicBreak => {
                self.open_tag("hr", &[], node);
                self.out.pop();
                self.out.push_str(" />\n");
            }
            NodeValue::Table(table) => self.table(node, &table.alignments),
            NodeValue::FootnoteDefinition(_) => {}
            _ => self.blocks(node, false),
        }
    }

    fn blocks(&mut self, node: &'a AstNode<'a>, tight: bool) {
        for child in node.children() {
            if tight && matches!(child.data().value, NodeValue::Paragraph) {
                self.paragraph(child, true);
            } else {
                self.block(child);
            }
        }
    }

    fn paragraph(&mut self, node: &'a AstNode<'a>, tight: bool) {
        // A raw HTML piece standing alone.
        let alone = node.first_child().map(key) == node.last_child().map(key);
        if let (Some(only), true) = (node.first_child(), alone) {
            if let NodeValue::Text(t) = &only.data().value {
                if let Some(raw) = self.placeholder(t.as_ref()) {
                    self.out.push_str(raw);
                    self.out.push('\n');
                    return;
                }
            }
        }
        if !tight {
            self.open_tag("p", &[], node);
        }
        self.inlines(node);
        if !tight {
            self.out.push_str("</p>\n");
        }
    }

    fn placeholder(&self, text: &str) -> Option<&'o str> {
        let inner = text.strip_prefix(RAW_START)?.strip_suffix(RAW_END)?;
        self.p
            .raws
            .get(inner.parse::<usize>().ok()?)
            .map(String::as_str)
    }

    fn table(&mut self, node: &'a AstNode<'a>, align: &[TableAlignment]) {
        self.open_tag("table", &[], node);
        self.out.push('\n');
        let mut body_open = false;
        for row in node.children() {
            let header = matches!(row.data().value, NodeValue::TableRow(true));
            if header {
                self.out.push_str("<thead>\n");
            } else if !body_open {
                self.out.push_str("<tbody>\n");
                body_open = true;
            }
            self.out.push_str("<tr>\n");
            for (i, cell) in row.children().enumerate() {
                let tag = if header { "th" } else { "td" };
                let style = match align.get(i) {
                    Some(TableAlignment::Left) => Some("text-align: left"),
                    Some(TableAlignment::Center) => Some("text-align: center"),
                    Some(TableAlignment::Right) => Some("text-align: right"),
                    _ => None,
                };
                match style {
                    Some(s) => self.write_tag(tag, &[("style", s)], None),
                    None => self.write_tag(tag, &[], None),
                }
                self.inlines(cell);
                self.out.push_str(&format!("</{tag}>\n"));
            }
            self.out.push_str("</tr>\n");
            if header {
                self.out.push_str("</thead>\n");
            }
        }
        if body_open {
            self.out.push_str("</tbody>\n");
        }
        self.out.push_str("</table>\n");
    }

    /// Inline children: runs of text (with soft breaks) get typography; a span IAL right after
    /// an element gives it attributes.
    fn inlines(&mut self, node: &'a AstNode<'a>) {
        // A raw HTML element left open ends with its block, as in kramdown.
        if node.data().value.block() {
            let outer = self.raw_html.take();
            self.inline_children(node);
            self.raw_html = outer;
        } else {
            self.inline_children(node);
        }
    }

    fn inline_children(&mut self, node: &'a AstNode<'a>) {
        let children: Vec<&'a AstNode<'a>> = node.children().collect();
        let mut i = 0;
        while i < children.len() {
            let child = children[i];
            let is_run = |n: &AstNode<'_>| {
                matches!(n.data().value, NodeValue::Text(_) | NodeValue::SoftBreak)
            };
            if is_run(child) {
                let mut run = String::new();
                while i < children.len() && is_run(children[i]) {
                    match &children[i].data().value {
                        NodeValue::Text(t) => run.push_str(t),
                        _ => run.push('\n'),
                    }
                    i += 1;
                }
                let after = children
                    .get(i)
                    .map_or("", |n| source_start(&n.data().value));
                self.run(&run, after);
                continue;
            }
            // A span IAL in the text right after this element.
            let mut extra: Option<Vec<(String, String)>> = None;
            if let Some(next) = children.get(i + 1) {
                let mut data = next.data_mut();
                if let NodeValue::Text(t) = &mut data.value {
                    if let Some(end) = span_ial_len(t) {
                        let lead = t.len() - t.trim_start_matches(SPAN_MARK).len();
                        let ial = parse_ial(&t[lead + 2..end - 1]);
                        extra = Some(self.resolve(&ial).0);
                        let rest = t[end..].to_string();
                        *t.to_mut() = rest;
                    }
                }
            }
            self.inline(child, extra.as_deref().unwrap_or_default());
            i += 1;
        }
    }

    fn inline(&mut self, node: &'a AstNode<'a>, extra: &[(String, String)]) {
        let value = node.data().value.clone();
        let own_extra = extra;
        let extra = Some(extra);
        match value {
            NodeValue::Escaped => {
                for c in node.children() {
                    if let NodeValue::Text(t) = &c.data().value {
                        escape_text(t, &mut self.out);
                    }
                }
            }
            NodeValue::LineBreak => self.out.push_str("<br />\n"),
            NodeValue::Code(code) => {
                let mut class = String::from("language-plaintext");
                let mut rest: Vec<(String, String)> = Vec::new();
                for (k, v) in own_extra {
                    if k == "class" {
                        class.push(' ');
                        class.push_str(v);
                    } else {
                        rest.push((k.clone(), v.clone()));
                    }
                }
                class.push_str(" highlighter-rouge");
                self.write_tag("code", &[("class", &class)], Some(&rest));
                escape_code(&code.literal, &mut self.out);
                self.out.push_str("</code>");
            }
            NodeValue::HtmlInline(html) => {
                self.track_raw_html(&html);
                self.out
                    .push_str(&html.replace(SPAN_MARK, "").replace(LAQUO, "<<"));
            }
            NodeValue::Raw(raw) => self.out.push_str(&raw),
            NodeValue::Emph => self.wrap("em", node, extra),
            NodeValue::Strong => self.wrap("strong", node, extra),
            NodeValue::Strikethrough => self.wrap("del", node, extra),
            NodeValue::Superscript => self.wrap("sup", node, extra),
            NodeValue::Link(link) => {
                if self.in_toc {
                    self.inlines(node);
                    return;
                }
                let mut own = vec![("href", link.url.as_str())];
                if !link.title.is_empty() {
                    own.push(("title", link.title.as_str()));
                }
                self.write_tag("a", &own, extra);
                self.inlines(node);
                self.out.push_str("</a>");
            }
            NodeValue::Image(link) => {
                let mut alt = String::new();
                self.plain(node, &mut alt);
                let mut own = vec![("src", link.url.as_str()), ("alt", alt.as_str())];
                if !link.title.is_empty() {
                    own.push(("title", link.title.as_str()));
                }
                self.write_tag("img", &own, extra);
                self.out.pop();
                self.out.push_str(" />");
            }
            NodeValue::FootnoteReference(r) => {
                if self.in_toc {
                    return;
                }
                let name = r.name.clone();
                let index = match self.footnotes.iter().position(|f| f.name == name) {
                    Some(i) => i,
                    None => {
                        let def = self.definitions.get(&name).copied();
                        self.footnotes.push(Footnote {
                            name: name.clone(),
                            refs: 0,
                            def,
                        });
                        self.footnotes.len() - 1
                    }
                };
                let nth = self.footnotes[index].refs;
                self.footnotes[index].refs += 1;
                let id = if nth == 0 {
                    format!("fnref:{name}")
                } else {
                    format!("fnref:{name}:{nth}")
                };
                let number = index + self.o.footnote_nr;
                self.out.push_str(&format!(
                    "<sup id=\"{id}\" role=\"doc-noteref\"><a href=\"#fn:{name}\" class=\"footnote\" rel=\"footnote\">{number}</a></sup>"
                ));
            }
            _ => self.inlines(node),
        }
    }

    fn wrap(&mut self, tag: &str, node: &'a AstNode<'a>, extra: Option<&[(String, String)]>) {
        self.write_tag(tag, &[], extra);
        self.inlines(node);
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
    }

    /// A run of text: raw pieces, inline extensions, typography, abbreviations, escaping.
    fn run(&mut self, run: &str, after: &str) {
        let mut rest = run;
        while !rest.is_empty() {
            // The next raw piece or inline extension.
            let next = [
                rest.find(RAW_START).map(|i| (i, 0)),
                rest.find("{::").map(|i| (i, 1)),
                rest.find("{:").filter(|_| true).map(|i| (i, 2)),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some((at, kind)) = next else {
                self.text(rest, after);
                return;
            };
            self.text(&rest[..at], &rest[at..at + 1]);
            let tail = &rest[at..];
            match kind {
                0 => {
                    let end = tail
                        .find(RAW_END)
                        .map_or(tail.len(), |e| e + RAW_END.len_utf8());
                    if let Some(raw) = self.placeholder(&tail[..end]) {
                        self.out.push_str(raw);
                    }
                    rest = &tail[end..];
                }
                _ => match inline_extension(tail) {
                    Some((len, html)) => {
                        if let Some(h) = html {
                            self.out.push_str(&h);
                        }
                        rest = &tail[len..];
                    }
                    None => {
                        self.text(&tail[..1], &tail[1..]);
                        rest = &tail[1..];
                    }
                },
            }
        }
    }

    fn text(&mut self, text: &str, after: &str) {
        if text.is_empty() {
            return;
        }
        if self.raw_html.is_some() {
            // Inside `<code>`…: as typed, no typography, no abbreviations.
            escape_text(text, &mut self.out);
            return;
        }
        let mut typed = String::with_capacity(text.len() + 8);
        typography(text, after, self.o, &mut typed);
        let hard = self.o.hard_wrap;
        let emit = |s: &str, out: &mut String| {
            if hard && s.contains('\n') {
                let mut first = true;
                for line in s.split('\n') {
                    if !first {
                        out.push_str("<br />\n");
                    }
                    first = false;
                    escape_text(line, out);
                }
            } else {
                escape_text(s, out);
            }
        };
        if self.p.abbrevs.is_empty() || self.in_toc {
            emit(&typed, &mut self.out);
            return;
        }
        // kramdown: an abbreviation where a non-word character (or the start) is before it and
        // no word character after it.
        let mut last = 0;
        let mut prev_word = false;
        let mut found: Vec<(usize, usize, &str)> = Vec::new();
        let mut iter = typed.char_indices().peekable();
        while let Some((i, c)) = iter.next() {
            if i >= last && !prev_word {
                if let Some((name, title)) = self.p.abbrevs.iter().find(|(name, _)| {
                    typed[i..].starts_with(name.as_str())
                        && !typed[i + name.len()..].chars().next().is_some_and(is_word)
                }) {
                    found.push((i, i + name.len(), title));
                    last = i + name.len();
                    while iter.peek().is_some_and(|(j, _)| *j < last) {
                        iter.next();
                    }
                    prev_word = typed[..last].chars().next_back().is_some_and(is_word);
                    continue;
                }
            }
            prev_word = is_word(c);
        }
        let mut at = 0;
        for (start, end, title) in found {
            emit(&typed[at..start], &mut self.out);
            if title.is_empty() {
                self.out.push_str("<abbr>");
            } else {
                self.out.push_str("<abbr title=\"");
                escape_attr(title, &mut self.out);
                self.out.push_str("\">");
            }
            escape_text(&typed[start..end], &mut self.out);
            self.out.push_str("</abbr>");
            at = end;
        }
        emit(&typed[at..], &mut self.out);
    }

    fn write_toc(&mut self) {
        // kramdown's generate_toc_tree: each entry nests under the last one of a lower level.
        struct Entry {
            level: u8,
            index: usize,
            children: Vec<Entry>,
        }
        fn insert(list: &mut Vec<Entry>, e: Entry) {
            match list.last_mut() {
                Some(last) if last.level < e.level => insert(&mut last.children, e),
                _ => list.push(e),
            }
        }
        let mut tree = Vec::new();
        for (index, (level, _, _)) in self.toc.iter().enumerate() {
            insert(
                &mut tree,
                Entry {
                    level: *level,
                    index,
                    children: Vec::new(),
                },
            );
        }
        fn write<'o, 'a>(w: &mut Writer<'o, 'a>, list: &[Entry], top: bool) {
            w.out.push_str(if top {
                "<ul id=\"markdown-toc\">\n"
            } else {
                "<ul>\n"
            });
            for e in list {
                let (_, id, node) = &w.toc[e.index];
                let (id, node) = (id.clone(), *node);
                w.out
                    .push_str(&format!("<li><a href=\"#{id}\" id=\"markdown-toc-{id}\">"));
                w.in_toc = true;
                w.inlines(node);
                w.in_toc = false;
                w.out.push_str("</a>");
                if !e.children.is_empty() {
                    w.out.push('\n');
                    write(w, &e.children, false);
                }
                w.out.push_str("</li>\n");
            }
            w.out.push_str("</ul>\n");
        }
        if !tree.is_empty() {
            write(self, &tree, true);
        }
    }

    /// kramdown's footnote list, in order of first reference.
    fn footnotes(&mut self) {
        if self.footnotes.is_empty() {
            return;
        }
        self.out
            .push_str("\n<div class=\"footnotes\" role=\"doc-endnotes\">\n<ol>\n");
        let notes: Vec<(String, usize, Option<&'a AstNode<'a>>)> = self
            .footnotes
            .iter()
            .map(|f| (f.name.clone(), f.refs, f.def))
            .collect();
        for (name, refs, def) in notes {
            self.out
                .push_str(&format!("<li id=\"fn:{name}\" role=\"doc-endnote\">\n"));
            let mut links = String::new();
            for k in 0..refs {
                if k == 0 {
                    links.push_str(&format!(
                        " <a href=\"#fnref:{name}\" class=\"reversefootnote\" role=\"doc-backlink\">{}</a>",
                        self.o.footnote_backlink.replace("%s", "1")
                    ));
                } else {
                    let mark = if self.o.footnote_backlink.contains("%s") {
                        self.o.footnote_backlink.replace("%s", &(k + 1).to_string())
                    } else {
                        format!("{}<sup>{}</sup>", self.o.footnote_backlink, k + 1)
                    };
                    links.push_str(&format!(
                        " <a href=\"#fnref:{name}:{k}\" class=\"reversefootnote\" role=\"doc-backlink\">{mark}</a>"
                    ));
                }
            }
            if let Some(def) = def {
                let start = self.out.len();
                self.blocks(def, false);
                let ends_para = def
                    .last_child()
                    .is_some_and(|c| matches!(c.data().value, NodeValue::Paragraph));
                if ends_para && self.out[start..].ends_with("</p>\n") {
                    let at = self.out.len() - "</p>\n".len();
                    self.out.insert_str(at, &links);
                } else {
                    self.out
                        .push_str(&format!("<p>{}</p>\n", links.trim_start()));
                }
            }
            self.out.push_str("</li>\n");
        }
        self.out.push_str("</ol>\n</div>\n");
    }
}

/// How the source of an inline element starts, as far as smart quotes before it care.
fn source_start(v: &NodeValue) -> &'static str {
    match v {
        NodeValue::Emph | NodeValue::Strong => "*x",
        NodeValue::Strikethrough => "~~",
        NodeValue::Code(_) => "`",
        NodeValue::Link(_) | NodeValue::FootnoteReference(_) => "[",
        NodeValue::Image(_) => "!",
        NodeValue::HtmlInline(_) => "<",
        NodeValue::LineBreak => "\n",
        NodeValue::Escaped => "\\",
        _ => "",
    }
}

/// `text {#id}` at a header's end: the text before and the id.
fn header_id_suffix(t: &str) -> Option<(&str, &str)> {
    let trimmed = t.trim_end();
    let inner = trimmed.strip_suffix('}')?;
    let open = inner.rfind("{#")?;
    let id = &inner[open + 2..];
    let before = &inner[..open];
    let ok_id = id.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-'));
    if ok_id && (before.ends_with(' ') || before.ends_with('\t')) {
        Some((before.trim_end(), id))
    } else {
        None
    }
}

/// The length of a span IAL `{: … }` at the start of `t`.
fn span_ial_len(t: &str) -> Option<usize> {
    let lead = t.len() - t.trim_start_matches(SPAN_MARK).len();
    let rest = t[lead..].strip_prefix("{:")?;
    if rest.starts_with(':') || rest.starts_with('/') {
        return None;
    }
    let close = rest.find('}')?;
    if rest[..close].contains(['{', '\n']) {
        return None;
    }
    Some(lead + close + 3)
}

/// An inline kramdown extension or stray IAL at the start of `t` (`{::comment}…{:/comment}`,
/// `{::nomarkdown}…{:/}`, `{::options /}`, `{: …}`): its length and what to write.
fn inline_extension(t: &str) -> Option<(usize, Option<String>)> {
    if let Some(rest) = t.strip_prefix("{::") {
        let close = rest.find('}')?;
        let head = &rest[..close];
        let name: String = head
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let after = 3 + close + 1;
        if head.trim_end().ends_with('/') {
            return match name.as_str() {
                "comment" | "options" | "nomarkdown" => Some((after, None)),
                _ => None,
            };
        }
        let (body, end) = match name.as_str() {
            "comment" | "nomarkdown" => {
                let (body, end) = extension_body(t, after, &name);
                (body.to_string(), end)
            }
            _ => return None,
        };
        let html = if name == "comment" {
            format!("<!-- {} -->", body.trim())
        } else {
            body
        };
        return Some((end, Some(html)));
    }
    span_ial_len(t).map(|len| (len, None))
}

/// A header's text with inline extensions taken out (for ids).
fn strip_inline_extensions(t: &str) -> Cow<'_, str> {
    if !t.contains("{:") {
        return Cow::Borrowed(t);
    }
    let mut out = String::new();
    let mut rest = t;
    while let Some(at) = rest.find("{:") {
        out.push_str(&rest[..at]);
        match inline_extension(&rest[at..]) {
            Some((len, _)) => rest = &rest[at + len..],
            None => {
                out.push_str("{:");
                rest = &rest[at + 2..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Unicode `\p{Word}` as far as the standard library knows it: letters, numbers, combining
/// marks in the common blocks, connector punctuation.
fn is_pword(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(
            c,
            '_' | '\u{203f}' | '\u{2040}' | '\u{2054}' | '\u{fe33}' | '\u{fe34}' | '\u{fe4d}'
                ..='\u{fe4f}' | '\u{ff3f}'
        )
        || matches!(c, '\u{300}'..='\u{36f}' | '\u{1ab0}'..='\u{1aff}' | '\u{1dc0}'..='\u{1dff}' | '\u{20d0}'..='\u{20ff}' | '\u{fe20}'..='\u{fe2f}' | '\u{3099}' | '\u{309a}')
}

/// kramdown-parser-gfm's `generate_gfm_header_id` (before the duplicate counter): lower case,
/// characters other than `\p{Word}`, `-`, space and tab dropped, spaces and tabs to `-`.
fn gfm_id(text: &str) -> String {
    let mut id = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if c == ' ' || c == '\t' {
            id.push('-');
        } else if c == '-' || is_pword(c) {
            id.push(c);
        }
    }
    id
}

/// kramdown's `basic_generate_id` (for `input: kramdown`): ASCII letters, digits, spaces and
/// dashes from the first letter on, spaces to `-`, lower case; `section` when nothing is left.
fn kramdown_id(text: &str) -> String {
    let start = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let id: String = text[start..]
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ' ' || *c == '-')
        .map(|c| {
            if c == ' ' {
                '-'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    if id.is_empty() {
        "section".into()
    } else {
        id
    }
}

#[cfg(test)]
mod tests {
    //! Expected HTML below is what Jekyll 4.3.1 (kramdown 2.4.0, kramdown-parser-gfm 1.1.0,
    //! Jekyll's default `kramdown:` options) wrote for the same Markdown, in a post without a
    //! layout, unless a comment says otherwise. Comparisons ignore white space between tags,
    //! where kramdown indents and gazette does not.
    use super::*;

    fn md(text: &str) -> String {
        render(text, &KramdownOptions::default())
    }

    fn squeeze(html: &str) -> String {
        html.split_whitespace().collect()
    }

    #[track_caller]
    fn same(markdown: &str, jekyll: &str) {
        let ours = md(markdown);
        assert_eq!(
            squeeze(&ours),
            squeeze(jekyll),
            "\nours:\n{ours}\njekyll:\n{jekyll}"
        );
    }

    #[test]
    fn bold_next_to_cjk_punctuation() {
        same("说法。**•**中国", "<p>说法。<strong>•</strong>中国</p>");
        same(
            "**加强政策支持有力度。**各地",
            "<p><strong>加强政策支持有力度。</strong>各地</p>",
        );
        same(
            "记者：**王某（实习）**报道",
            "<p>记者：<strong>王某（实习）</strong>报道</p>",
        );
        // kramdown ignores punctuation when it opens and closes emphasis.
        same(
            "**\"quote\"**word and a**b**c and *x*y",
            "<p><strong>“quote”</strong>word and a<strong>b</strong>c and <em>x</em>y</p>",
        );
        same("\"**bold**\" and x", "<p>“<strong>bold</strong>” and x</p>");
    }

    #[test]
    fn smart_quotes_follow_kramdown_rules() {
        same(
            "don't '90s ('quoted') \"a 'nested' one\" rock 'n' roll\n'start' and \"line\n\"second\"",
            "<p>don’t ’90s (‘quoted’) “a ‘nested’ one” rock ‘n’ roll\n‘start’ and “line\n“second”</p>",
        );
        same(
            "*\"em\"* \"*em2*\" **bold**'s it's 5'10\" the 80's.",
            "<p><em>“em”</em> “<em>em2</em>” <strong>bold</strong>’s it’s 5’10” the 80’s.</p>",
        );
        same(
            "\"Hello,\" she said. 'Hi!' 1990's x'\"y\"' \"'a'\"",
            "<p>“Hello,” she said. ‘Hi!’ 1990’s x’“y”’ “‘a’”</p>",
        );
        // Closing quotes after CJK characters: kramdown's rules, not typographers'.
        same("中文\"引号\"和'单'", "<p>中文”引号”和’单’</p>");
        // Escaped quotes and quote entities stay straight.
        same(
            "Para \"foo\" \\\"bar\\\" and &#39;x&#39;",
            "<p>Para “foo” \"bar\" and 'x'</p>",
        );
    }

    #[test]
    fn typographic_symbols_but_not_in_code_or_html() {
        same(
            "en -- em --- ell ... << a >> \\<< x",
            "<p>en – em — ell … « a » &lt;&lt; x</p>",
        );
        // `<< ` and ` >>` take a no-break space.
        assert!(md("a << b >> c").contains("«\u{a0}b\u{a0}»"));
        same(
            "`code \"x\" -- y` and <span title=\"a 'b' -- c\">in \"span\"</span>",
            "<p><code class=\"language-plaintext highlighter-rouge\">code \"x\" -- y</code> and <span title=\"a 'b' -- c\">in “span”</span></p>",
        );
        same(
            "```\n\"q\" -- x...\n```",
            "<div class=\"language-plaintext highlighter-rouge\"><div class=\"highlight\"><pre class=\"highlight\"><code>\"q\" -- x...\n</code></pre></div></div>",
        );
    }

    #[test]
    fn smart_quotes_option() {
        // The rendered strings here came from kramdown 2.4.0 itself with these options.
        let (options, warnings) = KramdownOptions::from_yaml(Some(
            &serde_yaml::from_str("smart_quotes: [\"apos\", \"apos\", \"quot\", \"quot\"]\nhard_wrap: true\nauto_id_prefix: x-\n").unwrap(),
        ));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(options.smart_quotes[0], "'");
        assert_eq!(options.smart_quotes[3], "\"");
        assert!(options.hard_wrap);
        assert_eq!(
            render("\"a\" don't\nb", &options),
            "<p>\"a\" don't<br />\nb</p>\n"
        );
        let (options, _) = KramdownOptions::from_yaml(Some(
            &serde_yaml::from_str("smart_quotes: lsaquo,rsaquo,laquo,raquo").unwrap(),
        ));
        assert_eq!(render("\"a\"", &options), "<p>«a»</p>\n");
        let (_, warnings) =
            KramdownOptions::from_yaml(Some(&serde_yaml::from_str("input: markdown\n").unwrap()));
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn html_blocks_end_at_their_close_tag() {
        same(
            "<p>第一段。</p>\n<pre><code>line\n\n# NEW\n</code></pre>\n<figure><img src=\"a.png\" /><figcaption>cap</figcaption></figure>\n![](b.png)\n <p>加强</p>\n <p>各地 **x**</p><p class=\"em_media\">（来源）</p>\n\n<div>\n*not md*\n\nstill div\n</div>\nafter *div*\n<p>a</p> trailing *text*\n<span>span *line*</span>\n<div markdown=\"1\">\n*md inside*\n</div>\n<!-- comment -->\ntext\n",
            "<p>第一段。</p>\n<pre><code>line\n\n# NEW\n</code></pre>\n<figure><img src=\"a.png\" /><figcaption>cap</figcaption></figure>\n<p><img src=\"b.png\" alt=\"\" /></p>\n<p>加强</p>\n<p>各地 **x**</p>\n<p class=\"em_media\">（来源）</p>\n\n<div>\n*not md*\n\nstill div\n</div>\n<p>after <em>div</em></p>\n<p>a</p>\n<p>trailing <em>text</em>\n<span>span <em>line</em></span></p>\n<div>\n  <p><em>md inside</em></p>\n</div>\n<!-- comment -->\n<p>text</p>",
        );
    }

    #[test]
    fn chinese_html_with_markdown_links() {
        // Quotes in raw HTML stay straight. The shape of real posts: HTML paragraphs, an autolink, protocol-relative links.
        same(
            "<p>一段文字，\"引号\"。</p>\n <p>小标题</p>\n <p>又一段。</p><p class=\"src\">（文章来源：某报）</p>\n\n<http://a.example/x?y=1>\n\n[返回新闻](//b.example/c.html)｜[返回首页](//b.example/)",
            "<p>一段文字，\"引号\"。</p>\n<p>小标题</p>\n<p>又一段。</p>\n<p class=\"src\">（文章来源：某报）</p>\n\n<p><a href=\"http://a.example/x?y=1\">http://a.example/x?y=1</a></p>\n\n<p><a href=\"//b.example/c.html\">返回新闻</a>｜<a href=\"//b.example/\">返回首页</a></p>",
        );
    }

    #[test]
    fn header_ids() {
        same(
            "# Hello World!\n## Hello World!\n### Hello  World\n## 中文 标题：测试\n## Custom {#my-id}\n## \"Quoted\" -- dash `code` *em*\n# 1. Numbered & <b>bold</b>\n\n## Hello_World-x (y)\n",
            "<h1 id=\"hello-world\">Hello World!</h1>\n<h2 id=\"hello-world-1\">Hello World!</h2>\n<h3 id=\"hello--world\">Hello  World</h3>\n<h2 id=\"中文-标题测试\">中文 标题：测试</h2>\n<h2 id=\"my-id\">Custom</h2>\n<h2 id=\"quoted--dash-code-em\">“Quoted” – dash <code class=\"language-plaintext highlighter-rouge\">code</code> <em>em</em></h2>\n<h1 id=\"1-numbered--bold\">1. Numbered &amp; <b>bold</b></h1>\n<h2 id=\"hello_world-x-y\">Hello_World-x (y)</h2>",
        );
        let options = KramdownOptions {
            auto_id_prefix: "p-".into(),
            ..KramdownOptions::default()
        };
        assert_eq!(render("# A b", &options), "<h1 id=\"p-a-b\">A b</h1>\n");
        let options = KramdownOptions {
            auto_ids: false,
            ..KramdownOptions::default()
        };
        assert_eq!(render("# A b", &options), "<h1>A b</h1>\n");
    }

    #[test]
    fn footnotes_as_kramdown_writes_them() {
        same(
            "Text with note[^b] and another[^a] and again[^b].\n\n[^a]: Note A with *em*.\n[^b]: Note B.\n\n    indented second para of B?\n",
            "<p>Text with note<sup id=\"fnref:b\" role=\"doc-noteref\"><a href=\"#fn:b\" class=\"footnote\" rel=\"footnote\">1</a></sup> and another<sup id=\"fnref:a\" role=\"doc-noteref\"><a href=\"#fn:a\" class=\"footnote\" rel=\"footnote\">2</a></sup> and again<sup id=\"fnref:b:1\" role=\"doc-noteref\"><a href=\"#fn:b\" class=\"footnote\" rel=\"footnote\">1</a></sup>.</p>\n\n<div class=\"footnotes\" role=\"doc-endnotes\">\n  <ol>\n    <li id=\"fn:b\" role=\"doc-endnote\">\n      <p>Note B.</p>\n\n      <p>indented second para of B? <a href=\"#fnref:b\" class=\"reversefootnote\" role=\"doc-backlink\">&#8617;</a> <a href=\"#fnref:b:1\" class=\"reversefootnote\" role=\"doc-backlink\">&#8617;<sup>2</sup></a></p>\n    </li>\n    <li id=\"fn:a\" role=\"doc-endnote\">\n      <p>Note A with <em>em</em>. <a href=\"#fnref:a\" class=\"reversefootnote\" role=\"doc-backlink\">&#8617;</a></p>\n    </li>\n  </ol>\n</div>",
        );
    }

    #[test]
    fn tables_task_lists_strikethrough_breaks_and_links() {
        same(
            "| a | b |\n|---|:-:|\n| 1 | ~~s~~ |\n",
            "<table>\n  <thead>\n    <tr>\n      <th>a</th>\n      <th style=\"text-align: center\">b</th>\n    </tr>\n  </thead>\n  <tbody>\n    <tr>\n      <td>1</td>\n      <td style=\"text-align: center\"><del>s</del></td>\n    </tr>\n  </tbody>\n</table>",
        );
        same(
            "- [ ] todo\n- [x] done\n",
            "<ul class=\"task-list\">\n  <li class=\"task-list-item\"><input type=\"checkbox\" class=\"task-list-item-checkbox\" disabled=\"disabled\" />todo</li>\n  <li class=\"task-list-item\"><input type=\"checkbox\" class=\"task-list-item-checkbox\" disabled=\"disabled\" checked=\"checked\" />done</li>\n</ul>",
        );
        // Bare URLs and `www.` are not links in kramdown's GFM input.
        same(
            "Visit https://example.com/x and www.example.com and <https://a.b/c> and <me@x.com>.\n~~del~~ text ~~a~~b\nLine one  \nline two\\\nline three\n[p](//host/x) ![i](//h/i.png \"T\")",
            "<p>Visit https://example.com/x and www.example.com and <a href=\"https://a.b/c\">https://a.b/c</a> and <a href=\"mailto:me@x.com\">me@x.com</a>.\n<del>del</del> text <del>a</del>b\nLine one<br />\nline two<br />\nline three\n<a href=\"//host/x\">p</a> <img src=\"//h/i.png\" alt=\"i\" title=\"T\" /></p>",
        );
        // kramdown's own line break: two backslashes at the end of a line.
        same("a\\\\\nb", "<p>a<br />\nb</p>");
    }

    #[test]
    fn kramdown_extensions_are_never_text() {
        same(
            "## First\n\nA para.\n{: .lead #p1 data-x=\"v\"}\n\n{:ref: .warn title=\"t\"}\n\n{: ref}\nNext para.\n\n[link](http://x.y){:target=\"_blank\"} and *em*{: .c} and `code`{: .k}\n\n{::comment}\nhidden text\n{:/comment}\n\n{::nomarkdown}\n<b>*raw*</b>\n{:/nomarkdown}\n\nThe HTML spec and W3C.\n\n*[HTML]: Hyper Text Markup Language\n*[W3C]:  World Wide Web Consortium\n\nTerm\n: Definition *one*\n\nTerm2\n: Def2\n",
            // Jekyll's output, with `id="first"` (its test had `{::options auto_ids="false" /}`).
            "<h2 id=\"first\">First</h2>\n<p class=\"lead\" id=\"p1\" data-x=\"v\">A para.</p>\n<p class=\"warn\" title=\"t\">Next para.</p>\n<p><a href=\"http://x.y\" target=\"_blank\">link</a> and <em class=\"c\">em</em> and <code class=\"language-plaintext k highlighter-rouge\">code</code></p>\n<!-- hidden text -->\n<b>*raw*</b>\n<p>The <abbr title=\"Hyper Text Markup Language\">HTML</abbr> spec and <abbr title=\"World Wide Web Consortium\">W3C</abbr>.</p>\n<dl>\n  <dt>Term</dt>\n  <dd>Definition <em>one</em></dd>\n  <dt>Term2</dt>\n  <dd>Def2</dd>\n</dl>",
        );
        same(
            "## First\n\n{::options auto_ids=\"false\" /}\n\nPara and inline {::comment}c{:/comment} comment.\n^\n",
            "<h2>First</h2>\n<p>Para and inline <!-- c --> comment.</p>",
        );
    }

    #[test]
    fn toc() {
        same(
            "* TOC\n{:toc}\n\n# One\n\n## Two *x*\n\nSetext\n------\n\nPara.\n",
            "<ul id=\"markdown-toc\">\n  <li><a href=\"#one\" id=\"markdown-toc-one\">One</a>    <ul>\n      <li><a href=\"#two-x\" id=\"markdown-toc-two-x\">Two <em>x</em></a></li>\n      <li><a href=\"#setext\" id=\"markdown-toc-setext\">Setext</a></li>\n    </ul>\n  </li>\n</ul>\n\n<h1 id=\"one\">One</h1>\n\n<h2 id=\"two-x\">Two <em>x</em></h2>\n\n<h2 id=\"setext\">Setext</h2>\n\n<p>Para.</p>",
        );
    }

    #[test]
    fn lists_quotes_rules_and_code() {
        same(
            "- a\n- b\n\n1. one\n2. two\n\n- loose\n\n- items\n\n> quote *q*\n> more\n\n---\n\n***\n",
            "<ul>\n  <li>a</li>\n  <li>b</li>\n</ul>\n\n<ol>\n  <li>one</li>\n  <li>two</li>\n</ol>\n\n<ul>\n  <li>\n    <p>loose</p>\n  </li>\n  <li>\n    <p>items</p>\n  </li>\n</ul>\n\n<blockquote>\n  <p>quote <em>q</em>\nmore</p>\n</blockquote>\n\n<hr />\n\n<hr />",
        );
        // Rouge's spans inside highlighted code are not reproduced; the text is the same.
        same(
            "```\nplain\n```\n\n    indented <code>\n",
            "<div class=\"language-plaintext highlighter-rouge\"><div class=\"highlight\"><pre class=\"highlight\"><code>plain\n</code></pre></div></div>\n\n<div class=\"language-plaintext highlighter-rouge\"><div class=\"highlight\"><pre class=\"highlight\"><code>indented &lt;code&gt;\n</code></pre></div></div>",
        );
    }

    #[test]
    fn soft_breaks_and_hard_wrap() {
        same("a\nb", "<p>a\nb</p>");
        let options = KramdownOptions {
            hard_wrap: true,
            ..KramdownOptions::default()
        };
        assert_eq!(render("a\nb", &options), "<p>a<br />\nb</p>\n");
    }

    #[test]
    fn kramdown_input_ids() {
        // kramdown 2.4.0 with `input: kramdown` wrote these (its `generate_id`: ASCII only, from
        // the first letter).
        let options = KramdownOptions {
            input_gfm: false,
            ..KramdownOptions::default()
        };
        assert_eq!(
            render("# 1. Über Café\n\n# 中文", &options),
            "<h1 id=\"ber-caf\">1. Über Café</h1>\n<h1 id=\"section\">中文</h1>\n"
        );
    }
    #[test]
    fn only_double_tildes_strike() {
        same(
            "Not ~single~ tilde, and ~~two words~~ struck.",
            "<p>Not ~single~ tilde, and <del>two words</del> struck.</p>",
        );
        same(
            "~single *em ~x~* done~ and ~~*em*~~ and `~c~`",
            "<p>~single <em>em ~x~</em> done~ and <del><em>em</em></del> and \
             <code class=\"language-plaintext highlighter-rouge\">~c~</code></p>",
        );
    }

    #[test]
    fn guillemets_before_a_word() {
        same(
            "and <<guillemets>> or << spaced >> ones",
            "<p>and «guillemets» or «\u{a0}spaced\u{a0}» ones</p>",
        );
        same(
            "<<a b>> and <<div>> and `<<code>>` and *<<em>>*",
            "<p>«a b» and «div» and \
             <code class=\"language-plaintext highlighter-rouge\">&lt;&lt;code&gt;&gt;</code> \
             and <em>«em»</em></p>",
        );
        same(
            "    <<indented>>",
            "<div class=\"language-plaintext highlighter-rouge\"><div class=\"highlight\">\
             <pre class=\"highlight\"><code>&lt;&lt;indented&gt;&gt;\n</code></pre></div></div>",
        );
    }

    #[test]
    fn no_typography_in_raw_html_code() {
        same(
            "html <code>it's \"quoted\" -- ...</code> and back to \"smart\" text.",
            "<p>html <code>it's \"quoted\" -- ...</code> and back to “smart” text.</p>",
        );
        same(
            "k <kbd>it's \"q\" --</kbd> v <var>it's</var> tt <tt>it's</tt> s <span>it's</span>",
            "<p>k <kbd>it's \"q\" --</kbd> v <var>it's</var> tt <tt>it’s</tt> s <span>it’s</span></p>",
        );
        same(
            "e <code>x <code>y</code> it's</code> \"w\"",
            "<p>e <code>x <code>y</code> it's</code> “w”</p>",
        );
        // Jekyll: `<p>c <code>open it's</code></p>` (kramdown closes the element at the end of
        // its paragraph; gazette leaves that to the sanitiser); the next paragraph is typeset.
        let html = md("c <code>open it's\n\nd \"next\"");
        assert!(html.contains("<code>open it's"), "{html}");
        assert!(html.contains("<p>d “next”</p>"), "{html}");
    }
}
