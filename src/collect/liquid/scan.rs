//! Cutting a Liquid source into pieces the `liquid` crate can parse one at a time.
//!
//! Liquid as Jekyll runs it (Liquid 5.4 in lax mode) and the `liquid` crate disagree on what a
//! template may contain: the crate refuses unknown tags and filters, Jekyll's own tag syntax
//! (`{% include a.html x="y" %}`, `{% link _posts/x.md %}`) and anything it cannot parse, and a
//! refusal loses the whole template. So the source is first cut here, the way Ruby's Liquid
//! tokenizes it, into top-level pieces (text, `{{ … }}`, a tag, or a block from `{% x %}` to
//! `{% endx %}`), and each piece is parsed on its own: a piece that fails is a warning and renders
//! as nothing, the rest of the post is still rendered.
//!
//! Inside a piece, what the crate would refuse is rewritten before parsing: a plugin's tag or
//! block becomes an empty comment, a plugin's filter is dropped (Liquid passes the value through
//! an unknown filter), and Jekyll's tags carry their markup to gazette's own tags as a hex string
//! literal (with their position, for warnings).

use std::collections::HashSet;
use std::fmt::Write as _;

use crate::problem::Position;

/// Tags the Liquid language (as gazette runs it) knows.
const TAGS: &[&str] = &[
    "assign",
    "increment",
    "decrement",
    "cycle",
    "break",
    "continue",
    "echo",
    "include",
    "include_relative",
    "post_url",
    "link",
];
/// Blocks it knows, each closed by `end` + its name.
const BLOCKS: &[&str] = &[
    "if",
    "unless",
    "case",
    "for",
    "tablerow",
    "capture",
    "comment",
    "raw",
    "highlight",
    "ifchanged",
];
/// Tags that only make sense inside a block.
const INNER: &[&str] = &["else", "elsif", "when"];
/// Jekyll's tags whose markup is not Liquid syntax: passed to gazette's tags whole.
pub(crate) const JEKYLL_TAGS: &[&str] = &["include", "include_relative", "post_url", "link"];

/// One token of a source, with byte offsets.
#[derive(Debug, Clone)]
enum Token {
    Text {
        start: usize,
        end: usize,
    },
    Output {
        start: usize,
        end: usize,
        markup: (usize, usize),
        trim_left: bool,
        trim_right: bool,
    },
    Tag {
        start: usize,
        end: usize,
        name: String,
        markup: (usize, usize),
        trim_left: bool,
        trim_right: bool,
    },
    /// `{{` or `{%` never closed.
    Unclosed {
        start: usize,
    },
}

impl Token {
    fn start(&self) -> usize {
        match self {
            Token::Text { start, .. }
            | Token::Output { start, .. }
            | Token::Tag { start, .. }
            | Token::Unclosed { start } => *start,
        }
    }
    fn end(&self) -> usize {
        match self {
            Token::Text { end, .. } | Token::Output { end, .. } | Token::Tag { end, .. } => *end,
            Token::Unclosed { start } => start + 2,
        }
    }
    fn trims(&self) -> (bool, bool) {
        match self {
            Token::Output {
                trim_left,
                trim_right,
                ..
            }
            | Token::Tag {
                trim_left,
                trim_right,
                ..
            } => (*trim_left, *trim_right),
            _ => (false, false),
        }
    }
    fn tag_name(&self) -> Option<&str> {
        match self {
            Token::Tag { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// Splits `source` as Ruby's Liquid tokenizer does: `{%…%}` up to the first `%}`, `{{…}}` up to
/// the first `}` (and a second one if it follows).
fn tokenize(source: &str) -> Vec<Token> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut at = 0;
    let mut text_start = 0;
    while let Some(found) = memchr::memchr(b'{', &bytes[at..]) {
        let start = at + found;
        let next = bytes.get(start + 1).copied();
        if next != Some(b'{') && next != Some(b'%') {
            at = start + 1;
            continue;
        }
        if text_start < start {
            tokens.push(Token::Text {
                start: text_start,
                end: start,
            });
        }
        let inner_start = start + 2;
        let token = if next == Some(b'%') {
            match memchr::memmem::find(&bytes[inner_start..], b"%}") {
                Some(close) => {
                    let end = inner_start + close + 2;
                    let (mut from, mut to) = (inner_start, inner_start + close);
                    let trim_left = bytes.get(from) == Some(&b'-');
                    if trim_left {
                        from += 1;
                    }
                    let trim_right = to > from && bytes[to - 1] == b'-';
                    if trim_right {
                        to -= 1;
                    }
                    let inner = &source[from..to];
                    let skipped = inner.len() - inner.trim_start().len();
                    let rest = &inner[skipped..];
                    let name_len = if rest.starts_with('#') {
                        1
                    } else {
                        rest.bytes()
                            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                            .count()
                    };
                    let name = rest[..name_len].to_string();
                    Token::Tag {
                        start,
                        end,
                        name,
                        markup: (from + skipped + name_len, to),
                        trim_left,
                        trim_right,
                    }
                }
                None => Token::Unclosed { start },
            }
        } else {
            match memchr::memchr(b'}', &bytes[inner_start..]) {
                Some(close) => {
                    let mut end = inner_start + close + 1;
                    if bytes.get(end) == Some(&b'}') {
                        end += 1;
                    }
                    let (mut from, mut to) = (inner_start, inner_start + close);
                    let trim_left = bytes.get(from) == Some(&b'-');
                    if trim_left {
                        from += 1;
                    }
                    let trim_right = to > from && bytes[to - 1] == b'-';
                    if trim_right {
                        to -= 1;
                    }
                    Token::Output {
                        start,
                        end,
                        markup: (from, to),
                        trim_left,
                        trim_right,
                    }
                }
                None => Token::Unclosed { start },
            }
        };
        at = token.end();
        text_start = at;
        tokens.push(token);
    }
    if text_start < source.len() {
        tokens.push(Token::Text {
            start: text_start,
            end: source.len(),
        });
    }
    tokens
}

/// What the cutting found that is worth a warning: a byte offset in the source and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Note {
    pub offset: usize,
    pub message: String,
}

/// One top-level piece of a source.
#[derive(Debug)]
pub(crate) enum Piece {
    /// Text as it is output (whitespace control already applied).
    Text(String),
    /// Liquid source for the `liquid` crate (already rewritten), with the offset where it starts
    /// in the original source and how it starts (for warnings).
    Liquid {
        source: String,
        offset: usize,
        label: String,
    },
}

/// How the names of a source are judged.
pub(crate) struct Names<'a> {
    pub filters: &'a HashSet<String>,
    pub lines: &'a Lines<'a>,
}

/// Where the token at index `i` closes when it opens a block: the index of its end tag.
fn match_blocks(tokens: &[Token], source: &str) -> Vec<Option<usize>> {
    let mut closes = vec![None; tokens.len()];
    // Names that have an `end` tag somewhere: an unknown name with one is a block.
    let ends: HashSet<&str> = tokens
        .iter()
        .filter_map(|t| t.tag_name()?.strip_prefix("end"))
        .collect();
    let mut stack: Vec<(usize, &str)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if let Some(name) = tokens[i].tag_name() {
            if name == "raw" || name == "comment" {
                // Their content is not Liquid: skip to the end tag (comments nest).
                let end_name = if name == "raw" {
                    "endraw"
                } else {
                    "endcomment"
                };
                let mut depth = 0;
                let mut j = i + 1;
                let mut close = None;
                while j < tokens.len() {
                    match tokens[j].tag_name() {
                        Some(n) if n == name && name == "comment" => depth += 1,
                        Some(n) if n == end_name => {
                            if depth == 0 {
                                close = Some(j);
                                break;
                            }
                            depth -= 1;
                        }
                        _ => {}
                    }
                    j += 1;
                }
                if let Some(j) = close {
                    closes[i] = Some(j);
                    i = j + 1;
                    continue;
                }
                i += 1;
                continue;
            }
            if let Some(base) = name.strip_prefix("end") {
                if let Some(pos) = stack.iter().rposition(|(_, n)| *n == base) {
                    let (open, _) = stack[pos];
                    closes[open] = Some(i);
                    stack.truncate(pos);
                }
            } else if BLOCKS.contains(&name)
                || (!TAGS.contains(&name)
                    && !INNER.contains(&name)
                    && !name.is_empty()
                    && ends.contains(name))
            {
                stack.push((i, name));
            }
        }
        i += 1;
    }
    let _ = source;
    closes
}

fn is_liquid_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r' | '\0')
}

/// Cuts `source` into pieces, with warnings for what is dropped.
pub(crate) fn cut(source: &str, names: &Names<'_>) -> (Vec<Piece>, Vec<Note>) {
    let tokens = tokenize(source);
    let closes = match_blocks(&tokens, source);
    let mut pieces: Vec<Piece> = Vec::new();
    let mut notes = Vec::new();
    let mut trim_next = false;
    let mut i = 0;
    let push_text = |pieces: &mut Vec<Piece>, text: &str, trim_next: &mut bool| {
        let text = if std::mem::take(trim_next) {
            text.trim_start_matches(is_liquid_space)
        } else {
            text
        };
        if text.is_empty() {
            return;
        }
        match pieces.last_mut() {
            Some(Piece::Text(previous)) => previous.push_str(text),
            _ => pieces.push(Piece::Text(text.to_string())),
        }
    };
    let trim_previous = |pieces: &mut Vec<Piece>| {
        if let Some(Piece::Text(previous)) = pieces.last_mut() {
            let kept = previous.trim_end_matches(is_liquid_space).len();
            previous.truncate(kept);
        }
    };
    while i < tokens.len() {
        let token = &tokens[i];
        match token {
            Token::Text { start, end } => {
                push_text(&mut pieces, &source[*start..*end], &mut trim_next);
                i += 1;
                continue;
            }
            Token::Unclosed { start } => {
                notes.push(Note {
                    offset: *start,
                    message: format!(
                        "`{}` is never closed: Liquid refuses it, gazette leaves it out",
                        &source[*start..start + 2]
                    ),
                });
                trim_next = false;
                i += 1;
                continue;
            }
            _ => {}
        }
        let (trim_left, _) = token.trims();
        if trim_left {
            trim_previous(&mut pieces);
        }
        let last = closes[i].unwrap_or(i);
        let (_, trim_right) = tokens[last].trims();
        let start = token.start();
        let end = tokens[last].end();
        let name = token.tag_name().unwrap_or("");
        match token {
            Token::Tag { .. } if name == "raw" && closes[i].is_some() => {
                let text = &source[token.end()..tokens[last].start()];
                if !text.is_empty() {
                    match pieces.last_mut() {
                        Some(Piece::Text(previous)) => previous.push_str(text),
                        _ => pieces.push(Piece::Text(text.to_string())),
                    }
                }
                trim_next = trim_right;
                i = last + 1;
                continue;
            }
            Token::Tag { .. } if name == "comment" || name == "#" => {
                if name == "comment" && closes[i].is_none() {
                    notes.push(Note {
                        offset: start,
                        message:
                            "Liquid block `comment` is never closed: gazette leaves the tag out"
                                .into(),
                    });
                }
                trim_next = trim_right;
                i = last + 1;
                continue;
            }
            _ => {}
        }
        let mut rewritten = String::with_capacity(end - start);
        let label = match token {
            Token::Output { .. } => format!("`{}`", shorten(&source[start..token.end()])),
            _ => format!("`{name}`"),
        };
        let before = notes.len();
        rewrite(
            source,
            &tokens[i..=last],
            &closes[i..=last],
            i,
            names,
            &mut rewritten,
            &mut notes,
        );
        let dropped_whole = notes.len() > before
            && (rewritten.trim().is_empty()
                || rewritten.replace('-', "") == "{%comment%}{%endcomment%}");
        if !dropped_whole && !rewritten.is_empty() {
            pieces.push(Piece::Liquid {
                source: rewritten,
                offset: start,
                label,
            });
        }
        trim_next = trim_right;
        i = last + 1;
    }
    (pieces, notes)
}

/// The first line of a piece of source, cut to a readable length.
pub(crate) fn shorten(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    let mut out: String = line.chars().take(60).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// Hex of `line:column:text`, the form gazette's tags read their markup in.
pub(crate) fn encode(position: Position, text: &str) -> String {
    let mut out = String::with_capacity(2 * text.len() + 24);
    for b in format!("{}:{}:{text}", position.line, position.column).bytes() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The reverse of [`encode`]: the position and the text.
pub(crate) fn decode(hex: &str) -> Option<(Position, String)> {
    let bytes = hex.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 2);
    for pair in bytes.chunks(2) {
        let text = std::str::from_utf8(pair).ok()?;
        out.push(u8::from_str_radix(text, 16).ok()?);
    }
    let text = String::from_utf8(out).ok()?;
    let (line, rest) = text.split_once(':')?;
    let (column, rest) = rest.split_once(':')?;
    Some((
        Position::new(line.parse().ok()?, column.parse().ok()?),
        rest.to_string(),
    ))
}

fn open(trim: bool) -> &'static str {
    if trim {
        "{%-"
    } else {
        "{%"
    }
}

fn close(trim: bool) -> &'static str {
    if trim {
        "-%}"
    } else {
        "%}"
    }
}

/// Writes the tokens of one top-level piece as source the `liquid` crate accepts. `base` is the
/// index of `tokens[0]` in the whole token list (`closes` holds indexes into it).
fn rewrite(
    source: &str,
    tokens: &[Token],
    closes: &[Option<usize>],
    base: usize,
    names: &Names<'_>,
    out: &mut String,
    notes: &mut Vec<Note>,
) {
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        match token {
            Token::Text { start, end } => out.push_str(&source[*start..*end]),
            Token::Unclosed { start } => notes.push(Note {
                offset: *start,
                message: format!(
                    "`{}` is never closed: Liquid refuses it, gazette leaves it out",
                    &source[*start..start + 2]
                ),
            }),
            Token::Output {
                start,
                markup,
                trim_left,
                trim_right,
                ..
            } => {
                let markup = filter_markup(&source[markup.0..markup.1], *start, names, notes);
                let _ = write!(
                    out,
                    "{}{markup}{}",
                    if *trim_left { "{{-" } else { "{{" },
                    if *trim_right { "-}}" } else { "}}" }
                );
            }
            Token::Tag {
                start,
                name,
                markup,
                trim_left,
                trim_right,
                ..
            } => {
                let close_at = closes[i].map(|c| c - base);
                let markup_text = &source[markup.0..markup.1];
                let (l, r) = (*trim_left, *trim_right);
                if name == "raw" || name == "comment" || name == "#" {
                    let last = close_at.unwrap_or(i);
                    let (_, last_r) = tokens[last].trims();
                    if name == "raw" {
                        if let Some(c) = close_at {
                            let text = &source[token.end()..tokens[c].start()];
                            let _ = write!(
                                out,
                                "{} gazette_text \"{}\" {}",
                                open(l),
                                encode(names.lines.position(*start), text),
                                close(last_r)
                            );
                        } else {
                            notes.push(Note {
                                offset: *start,
                                message:
                                    "Liquid block `raw` is never closed: gazette leaves the tag out"
                                        .into(),
                            });
                        }
                    } else {
                        let _ = write!(
                            out,
                            "{}comment{}{}endcomment{}",
                            open(l),
                            close(false),
                            open(false),
                            close(last_r)
                        );
                    }
                    i = last + 1;
                    continue;
                }
                if name == "echo" {
                    let markup = filter_markup(markup_text, *start, names, notes);
                    let _ = write!(
                        out,
                        "{}{markup}{}",
                        if l { "{{-" } else { "{{" },
                        if r { "-}}" } else { "}}" }
                    );
                } else if JEKYLL_TAGS.contains(&name.as_str()) || name == "highlight" {
                    let _ = write!(
                        out,
                        "{}{name} \"{}\"{}",
                        open(l),
                        encode(names.lines.position(*start), markup_text.trim()),
                        close(r)
                    );
                } else if name == "assign" {
                    let markup = filter_markup(markup_text, *start, names, notes);
                    let _ = write!(out, "{}assign{markup}{}", open(l), close(r));
                } else if TAGS.contains(&name.as_str())
                    || BLOCKS.contains(&name.as_str())
                    || INNER.contains(&name.as_str())
                    || name
                        .strip_prefix("end")
                        .is_some_and(|base| BLOCKS.contains(&base))
                {
                    if BLOCKS.contains(&name.as_str()) && close_at.is_none() {
                        notes.push(Note {
                            offset: *start,
                            message: format!(
                                "Liquid block `{name}` is never closed (no `{{% end{name} %}}`): \
                                 gazette leaves the tag out"
                            ),
                        });
                    } else if let Some(base_name) = name
                        .strip_prefix("end")
                        .filter(|b| BLOCKS.contains(b) && !is_closing(tokens, closes, base, i))
                    {
                        notes.push(Note {
                            offset: *start,
                            message: format!(
                                "`{{% {name} %}}` closes no `{{% {base_name} %}}`: gazette leaves it out"
                            ),
                        });
                    } else {
                        out.push_str(&source[token.start()..token.end()]);
                    }
                } else if name.is_empty() {
                    notes.push(Note {
                        offset: *start,
                        message: format!(
                            "`{}` is not a Liquid tag: gazette leaves it out",
                            shorten(&source[token.start()..token.end()])
                        ),
                    });
                } else if let Some(c) = close_at {
                    notes.push(Note {
                        offset: *start,
                        message: format!(
                            "Liquid block `{name}` comes from a plugin gazette does not have: \
                             it renders as nothing, up to its `{{% end{name} %}}`"
                        ),
                    });
                    let (_, last_r) = tokens[c].trims();
                    let _ = write!(
                        out,
                        "{}comment{}{}endcomment{}",
                        open(l),
                        close(false),
                        open(false),
                        close(last_r)
                    );
                    i = c + 1;
                    continue;
                } else {
                    notes.push(Note {
                        offset: *start,
                        message: format!(
                            "Liquid tag `{name}` comes from a plugin gazette does not have: \
                             it renders as nothing"
                        ),
                    });
                    let _ = write!(
                        out,
                        "{}comment{}{}endcomment{}",
                        open(l),
                        close(false),
                        open(false),
                        close(r)
                    );
                }
            }
        }
        i += 1;
    }
}

/// Whether the end tag at `i` closes a block opened in `tokens`.
fn is_closing(tokens: &[Token], closes: &[Option<usize>], base: usize, i: usize) -> bool {
    let _ = tokens;
    closes.iter().any(|c| *c == Some(base + i))
}

/// The markup of `{{ … }}` (or `assign`, `echo`) without the filters Liquid does not know:
/// Jekyll's Liquid passes the value through a filter it does not have.
fn filter_markup(markup: &str, offset: usize, names: &Names<'_>, notes: &mut Vec<Note>) -> String {
    let parts = split_pipes(markup);
    if parts.len() < 2 {
        return markup.to_string();
    }
    let mut out = String::with_capacity(markup.len());
    out.push_str(parts[0]);
    for part in &parts[1..] {
        let name: String = part
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        if names.filters.contains(&name) {
            out.push('|');
            out.push_str(part);
        } else {
            notes.push(Note {
                offset,
                message: if name.is_empty() {
                    "an empty Liquid filter (`|` with no name): it is left out".to_string()
                } else {
                    format!(
                        "Liquid filter `{name}` comes from a plugin gazette does not have: \
                         the value passes through unchanged"
                    )
                },
            });
        }
    }
    out
}

/// `markup` split at each `|` outside quotes.
fn split_pipes(markup: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quote = None;
    let mut from = 0;
    for (i, c) in markup.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '|') => {
                parts.push(&markup[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&markup[from..]);
    parts
}

/// Positions of byte offsets in a source that starts on line `first_line` of its file, found
/// without scanning the source again for each one.
pub(crate) struct Lines<'a> {
    source: &'a str,
    first_line: usize,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(source: &'a str, first_line: usize) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', source.as_bytes()).map(|i| i + 1));
        Lines {
            source,
            first_line,
            starts,
        }
    }

    pub(crate) fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.source.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1) - 1;
        let start = self.starts[line];
        let before = self.source.get(start..offset).unwrap_or("");
        Position::new(line + self.first_line.max(1), before.chars().count() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters() -> HashSet<String> {
        ["upcase", "date"].iter().map(|s| s.to_string()).collect()
    }

    fn cut_all(source: &str) -> (Vec<Piece>, Vec<Note>) {
        let filters = filters();
        let lines = Lines::new(source, 1);
        cut(
            source,
            &Names {
                filters: &filters,
                lines: &lines,
            },
        )
    }

    #[test]
    fn tokens_follow_ruby_liquid() {
        let t = tokenize("a {{ x }} b {%- if y -%} c {{ z }");
        let kinds: Vec<String> = t
            .iter()
            .map(|t| match t {
                Token::Text { .. } => "text".into(),
                Token::Output { .. } => "out".into(),
                Token::Tag { name, .. } => format!("tag:{name}"),
                Token::Unclosed { .. } => "unclosed".into(),
            })
            .collect();
        assert_eq!(kinds, ["text", "out", "text", "tag:if", "text", "out"]);
    }

    #[test]
    fn plugin_tags_and_blocks_become_empty_comments() {
        let (pieces, notes) =
            cut_all("a {% if x %}{% youtube abc %}{% endif %} {% note %}n{% endnote %} b");
        assert_eq!(notes.len(), 2);
        assert!(notes[0].message.contains("Liquid tag `youtube`"));
        assert!(notes[1].message.contains("Liquid block `note`"));
        match &pieces[1] {
            Piece::Liquid { source, .. } => {
                assert_eq!(source, "{% if x %}{%comment%}{%endcomment%}{% endif %}")
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(&pieces[..], [Piece::Text(a), Piece::Liquid { .. }, Piece::Text(b)] if a == "a " && b == "  b")
        );
    }

    #[test]
    fn plugin_filters_are_dropped() {
        let (pieces, notes) = cut_all("{{ 'a|b' | upcase | fancy: 1 | date: '%Y' }}");
        assert_eq!(notes.len(), 1);
        match &pieces[0] {
            Piece::Liquid { source, .. } => assert_eq!(source, "{{ 'a|b' | upcase | date: '%Y' }}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn markup_round_trips_through_hex() {
        let hex = encode(Position::new(4, 2), "a.html x=\"é\"");
        assert_eq!(
            decode(&hex),
            Some((Position::new(4, 2), "a.html x=\"é\"".to_string()))
        );
        assert_eq!(decode("zz"), None);
        assert_eq!(decode("abc"), None);
    }
}

#[cfg(test)]
mod lines_tests {
    use super::*;

    #[test]
    fn positions_match_a_scan_of_the_text() {
        let text = "ab\néé{{x}}\n\nz";
        let lines = Lines::new(text, 5);
        for offset in [0, 1, 3, 5, 7, 12, 13, 14, 99] {
            let p = Position::of_offset(text, offset);
            assert_eq!(lines.position(offset), Position::new(p.line + 4, p.column));
        }
    }
}
