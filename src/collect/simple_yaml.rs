//! The everyday shape of front matter, read without the YAML library.
//!
//! Almost every post's front matter is a handful of `key: value` lines: plain or quoted scalars,
//! and categories or tags as a `[a, b]` list or a block of `- a` lines. Reading those through the
//! full YAML parser was a third of the time `gazette check` spent on a large site, so this module
//! reads exactly that shape and gives the same [`Value`] the parser would. Anything else (other
//! indentation, anchors, tags, block scalars, escapes, comments after values, duplicate keys,
//! numbers, characters YAML forbids) makes it answer `None`, and the caller uses the full parser:
//! this is a shortcut, never a second dialect. `tests/it/properties.rs` checks both give the same
//! mapping on generated front matter.

use serde_yaml::{Mapping, Value};

/// Reads `yaml` when it has the simple shape; `None` when the full parser must decide.
pub fn parse(yaml: &str) -> Option<Mapping> {
    let mut map = Mapping::new();
    let mut lines = yaml.split('\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim_start_matches(' ').is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            // The parser refuses controls in comments too, and ends them at other line breaks.
            if !comment.chars().all(allowed) {
                return None;
            }
            continue;
        }
        let (key, rest) = split_key(line)?;
        let value = if rest.is_empty() {
            // `key:` alone: null, or a block list on the lines that follow.
            let mut items = Vec::new();
            let mut indent = None;
            while let Some(next) = lines.peek() {
                let next = next.strip_suffix('\r').unwrap_or(next);
                let spaces = next.len() - next.trim_start_matches(' ').len();
                let Some(item) = next[spaces..].strip_prefix('-') else {
                    break;
                };
                if *indent.get_or_insert(spaces) != spaces {
                    return None;
                }
                items.push(match item.strip_prefix(' ') {
                    Some(text) => scalar(text.trim_matches(' '), false)?,
                    None if item.is_empty() => Value::Null,
                    None => return None,
                });
                lines.next();
            }
            if indent.is_some() {
                Value::Sequence(items)
            } else {
                Value::Null
            }
        } else if let Some(inner) = rest.strip_prefix('[') {
            flow_list(inner)?
        } else {
            scalar(rest, false)?
        };
        let key = Value::String(key.to_string());
        if map.contains_key(&key) {
            return None;
        }
        map.insert(key, value);
    }
    Some(map)
}

/// `key: rest` at column 0, the key a plain word; `rest` trimmed (empty for `key:`).
fn split_key(line: &str) -> Option<(&str, &str)> {
    let colon = line.find(':')?;
    let (key, rest) = (&line[..colon], &line[colon + 1..]);
    // The parser takes at most 1,024 characters as a simple key.
    if key.len() > 1000 {
        return None;
    }
    let first = key.bytes().next()?;
    let word = (first.is_ascii_alphabetic() || first == b'_')
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !word || resolves_to_non_string(key) {
        return None;
    }
    if !rest.is_empty() && !rest.starts_with(' ') {
        return None;
    }
    Some((key, rest.trim_matches(' ')))
}

/// `[a, b]` on one line, its items plain words or simple quoted strings.
fn flow_list(inner: &str) -> Option<Value> {
    let inner = inner.strip_suffix(']')?;
    if inner.trim_matches(' ').is_empty() {
        return Some(Value::Sequence(Vec::new()));
    }
    inner
        .split(',')
        .map(|item| {
            let item = item.trim_matches(' ');
            if item.is_empty() || item.contains(['[', ']', '{', '}']) {
                return None;
            }
            scalar(item, true)
        })
        .collect::<Option<Vec<Value>>>()
        .map(Value::Sequence)
}

/// One scalar, already trimmed: quoted without escapes, or plain.
fn scalar(text: &str, in_flow: bool) -> Option<Value> {
    if let Some(inner) = text.strip_prefix('"') {
        let inner = inner.strip_suffix('"')?;
        if inner.contains(['"', '\\']) || !inner.chars().all(allowed) {
            return None;
        }
        return Some(Value::String(inner.to_string()));
    }
    if let Some(inner) = text.strip_prefix('\'') {
        let inner = inner.strip_suffix('\'')?;
        // `''` is a quote; a lone `'` would end the string early.
        let unquoted = inner.replace("''", "'");
        if unquoted.matches('\'').count() * 2 != inner.matches('\'').count()
            || !inner.chars().all(allowed)
        {
            return None;
        }
        return Some(Value::String(unquoted));
    }
    plain(text, in_flow)
}

/// A plain scalar: a string unless YAML would read it as null, a boolean or a number.
fn plain(text: &str, in_flow: bool) -> Option<Value> {
    let first = text.chars().next()?;
    // Indicators that start something other than a plain scalar; and a sign or a dot, which
    // may start a number (`-5`, `+.inf`, `.nan`): those are left to the parser.
    if "-?:,[]{}#&*!|>'\"%@`+.".contains(first) || first == ' ' {
        return None;
    }
    if text.contains('#')
        || text.contains(": ")
        || text.ends_with(':')
        || (in_flow && text.contains(':'))
        || !text.chars().all(allowed)
    {
        return None;
    }
    match text {
        "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    if resolves_to_non_string(text) {
        return None;
    }
    Some(Value::String(text.to_string()))
}

/// Whether the YAML library might read `text` as something other than a string. Numbers need a
/// digit and only the characters of a number (`0-9a-zA-Z+-._`); among those, only the everyday
/// `YYYY-MM-DD` is known to stay a string, the rest go to the parser.
fn resolves_to_non_string(text: &str) -> bool {
    if matches!(
        text,
        "~" | "null" | "Null" | "NULL" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
    ) {
        return true;
    }
    let numeric_chars = text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.' | b'_'));
    if !numeric_chars || !text.bytes().any(|b| b.is_ascii_digit()) {
        return false;
    }
    !is_ymd(text)
}

fn is_ymd(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// Characters a YAML scalar may hold as they are (the parser refuses controls and a few
/// non-characters, breaks lines at U+2028 and U+2029, and reads tabs its own way).
fn allowed(c: char) -> bool {
    !(c < ' '
        || ('\u{7f}'..='\u{9f}').contains(&c)
        || c == '\u{2028}'
        || c == '\u{2029}'
        || c == '\u{feff}'
        || c == '\u{fffe}'
        || c == '\u{ffff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(yaml: &str) -> Mapping {
        match serde_yaml::from_str::<Value>(yaml).unwrap() {
            Value::Mapping(m) => m,
            Value::Null => Mapping::new(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_reference_shape_matches_the_parser() {
        let yaml = "layout: post\ntitle: \"各地人社系统\"\ndate: 2022-01-12 14:18:25 +0800\n\
                    categories: zhongguolaodongbaozhangbao\ntags: 新闻 就业\n";
        assert_eq!(parse(yaml), Some(full(yaml)));
    }

    #[test]
    fn lists_nulls_booleans_and_quotes_match_the_parser() {
        for yaml in [
            "tags: [a, b, 'c d']\ncategories:\n- x\n- \"y\"\n",
            "categories:\n  - x\n  -\n  - z\nempty:\npublished: false\n",
            "title: 'it''s'\nlist: []\nnothing: ~\ndate: 2022-01-12\n",
            "# a comment\ntitle: C++ and Rust\r\nx_y-z: a:b\n",
        ] {
            assert_eq!(parse(yaml), Some(full(yaml)), "{yaml}");
        }
    }

    #[test]
    fn anything_else_is_left_to_the_parser() {
        for yaml in [
            "n: 12\n",
            "n: 1e3\n",
            "n: -5\n",
            "n: 0x1F\n",
            "a: &x 1\n",
            "t: ! 'x'\n",
            "t: |\n  text\n",
            "t: a # comment\n",
            "t: \"a\\tb\"\n",
            "t: a\n  continued\n",
            "t: a\nt: b\n",
            "true: x\n",
            "\"quoted key\": x\n",
            "k:\n- a\n  - b\n",
            "k: [a, [b]]\n",
            "k: [a, b,]\n",
            "k: 'a'b'\n",
            "k: a: b\n",
            "k: a\tb\n",
            "k : v\n",
            "k:v\n",
        ] {
            assert_eq!(parse(yaml), None, "{yaml}");
        }
    }
}
