//! Plain scalars read as Jekyll's YAML 1.1 reader reads them.
//!
//! gazette's YAML readers follow YAML 1.2, where an unquoted `no` is the string "no". Jekyll
//! reads front matter with Psych (YAML 1.1, through SafeYAML): `no`, `off` are false, `yes`, `on`
//! true, `010` is 8, `1_000` is 1000, `12:30:00` is 45000, `.inf` is infinity, while `1e3` and
//! `0o17` stay strings. A post titled `No` is published by Jekyll under its file name's words,
//! and one tagged `[yes, 007]` carries the tags `true` and `7`. This pass looks at the text of
//! each top-level key whose value is a plain scalar, or a list of plain scalars (`[a, b]` or
//! `- a` lines), and puts what YAML 1.1 makes of it in the mapping. Everything else (quoted
//! text, nested mappings, block scalars) is left as read. Every rule below was checked against
//! Jekyll 4.3.1.

use serde_yaml::{Mapping, Number, Value};

/// What YAML 1.1 makes of a plain scalar, when that differs from YAML 1.2's reading;
/// `None` when the two agree or the text is not a plain scalar gazette reads here.
pub fn plain(text: &str) -> Option<Value> {
    let first = *text.as_bytes().first()?;
    // Most values (titles in words, Chinese text) cannot be anything but a string in either.
    if !matches!(
        first,
        b'0'..=b'9'
            | b'+'
            | b'-'
            | b'.'
            | b'~'
            | b'y'
            | b'Y'
            | b'n'
            | b'N'
            | b'o'
            | b'O'
            | b't'
            | b'T'
            | b'f'
            | b'F'
    ) {
        return None;
    }
    // Psych (through SafeYAML) matches these words in any case: `nO` is false, `.iNf` infinity.
    let is = |words: &[&str]| words.iter().any(|w| text.eq_ignore_ascii_case(w));
    let value = if text == "~" || is(&["null"]) {
        Value::Null
    } else if is(&["yes", "true", "on"]) {
        Value::Bool(true)
    } else if is(&["no", "false", "off"]) {
        Value::Bool(false)
    } else if is(&[".inf", "+.inf"]) {
        Value::Number(f64::INFINITY.into())
    } else if is(&["-.inf"]) {
        Value::Number(f64::NEG_INFINITY.into())
    } else if is(&[".nan"]) {
        Value::Number(f64::NAN.into())
    } else {
        number(text).unwrap_or_else(|| Value::String(text.to_string()))
    };
    Some(value)
}

/// YAML 1.1's integers (decimal, octal `0…`, hex, binary, sexagesimal, with `_` or `,` between
/// digits) and floats (which need a `.`); `None` for anything else.
fn number(text: &str) -> Option<Value> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let bytes = digits.as_bytes();
    if bytes.is_empty() || !bytes[0].is_ascii_digit() && bytes[0] != b'.' {
        return None;
    }
    let clean = |s: &str| {
        s.chars()
            .filter(|c| *c != '_' && *c != ',')
            .collect::<String>()
    };
    let signed = |n: i128| -> Option<Value> {
        let n = if negative { -n } else { n };
        Some(match i64::try_from(n) {
            Ok(n) => Value::Number(n.into()),
            Err(_) => Value::Number(Number::from(n as f64)),
        })
    };
    let all = |s: &str, ok: fn(&u8) -> bool| {
        !s.is_empty()
            && s.as_bytes()
                .iter()
                .all(|b| ok(b) || *b == b'_' || *b == b',')
    };
    if let Some(hex) = digits.strip_prefix("0x") {
        return all(hex, u8::is_ascii_hexdigit)
            .then(|| signed(i128::from_str_radix(&clean(hex), 16).ok()?))?;
    }
    if let Some(bin) = digits.strip_prefix("0b") {
        return all(bin, |b| matches!(b, b'0' | b'1'))
            .then(|| signed(i128::from_str_radix(&clean(bin), 2).ok()?))?;
    }
    if digits.contains(':') {
        // Sexagesimal: 1:30:00 is 5400.
        let mut parts = digits.split(':');
        let head = parts.next()?;
        if !all(head, u8::is_ascii_digit) {
            return None;
        }
        let mut total: i128 = clean(head).parse().ok()?;
        let mut count = 0;
        for part in parts {
            count += 1;
            let ok = (1..=2).contains(&part.len())
                && part.bytes().all(|b| b.is_ascii_digit())
                && part.parse::<u8>().ok()? < 60;
            if !ok || count > 2 {
                return None;
            }
            total = total * 60 + i128::from(part.parse::<u8>().ok()?);
        }
        return signed(total);
    }
    if digits.contains('.') {
        // Psych's float: digits, a dot, digits, and an exponent with a sign.
        let (mantissa, exponent) = match digits.find(['e', 'E']) {
            Some(at) => (&digits[..at], Some(&digits[at + 1..])),
            None => (digits, None),
        };
        let (int, frac) = mantissa.split_once('.')?;
        let int_ok =
            int.is_empty() || (int.as_bytes()[0].is_ascii_digit() && all(int, u8::is_ascii_digit));
        let frac_ok = frac.bytes().all(|b| b.is_ascii_digit());
        let exp_ok = exponent.is_none_or(|e| {
            e.len() > 1 && e.starts_with(['+', '-']) && e[1..].bytes().all(|b| b.is_ascii_digit())
        });
        if !(int_ok && frac_ok && exp_ok) || (int.is_empty() && frac.is_empty()) {
            return None;
        }
        let value: f64 = format!("{}{}", if negative { "-" } else { "" }, clean(digits))
            .parse()
            .ok()?;
        return Some(Value::Number(Number::from(value)));
    }
    if !all(digits, u8::is_ascii_digit) {
        return None;
    }
    let clean = clean(digits);
    if clean.len() > 1 && clean.starts_with('0') {
        // `010` is octal in YAML 1.1 (and `08` is no number at all).
        return clean
            .bytes()
            .all(|b| (b'0'..=b'7').contains(&b))
            .then(|| signed(i128::from_str_radix(&clean, 8).ok()?))?;
    }
    signed(clean.parse().ok()?)
}

/// Applies YAML 1.1's reading to every top-level key of `data` whose value `yaml` writes as a
/// plain scalar or a list of plain scalars. `yaml` is the front matter's text.
pub(crate) fn apply(yaml: &str, data: &mut Mapping) {
    let mut lines = yaml.lines().peekable();
    while let Some(line) = lines.next() {
        let Some((key, rest)) = top_level_key(line) else {
            continue;
        };
        let rest = without_comment(rest).trim();
        let Some(slot) = data.get_mut(key) else {
            continue;
        };
        if rest.is_empty() {
            // A block list below: `- item` lines, indented or not.
            let mut items = Vec::new();
            while let Some(next) = lines.peek() {
                let t = next.trim_start();
                match t.strip_prefix("- ").or((t == "-").then_some("")) {
                    Some(item) => items.push(without_comment(item).trim()),
                    None if t.is_empty() || t.starts_with('#') => {}
                    None => break,
                }
                lines.next();
            }
            if let Value::Sequence(values) = slot {
                apply_to_list(&items, values);
            }
        } else if let Some(inner) = rest.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            if let Value::Sequence(values) = slot {
                let items: Vec<&str> = if inner.trim().is_empty() {
                    Vec::new()
                } else {
                    inner.split(',').map(str::trim).collect()
                };
                apply_to_list(&items, values);
            }
        } else if is_plain(rest)
            && matches!(
                slot,
                Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null
            )
        {
            if let Some(value) = plain(rest) {
                *slot = value;
            }
        }
    }
}

fn apply_to_list(items: &[&str], values: &mut [Value]) {
    // Only when the text's items are the list's items, one for one.
    if items.len() != values.len() {
        return;
    }
    for (item, value) in items.iter().zip(values) {
        if is_plain(item)
            && matches!(
                value,
                Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null
            )
        {
            if let Some(v) = plain(item) {
                *value = v;
            }
        }
    }
}

/// `key: rest` at column 0, the key plain.
fn top_level_key(line: &str) -> Option<(&str, &str)> {
    let first = line.chars().next()?;
    if first.is_whitespace()
        || matches!(
            first,
            '#' | '-' | '"' | '\'' | '?' | '{' | '[' | '&' | '*' | '!'
        )
    {
        return None;
    }
    let colon = line
        .find(": ")
        .or_else(|| line.strip_suffix(':').map(|l| l.len()))?;
    Some((&line[..colon], line.get(colon + 1..).unwrap_or("")))
}

/// The text before a ` #` comment.
fn without_comment(text: &str) -> &str {
    match text.find(" #") {
        Some(at) => &text[..at],
        None => text,
    }
}

/// A plain scalar on one line: not quoted, not a collection, anchor, alias, tag or block scalar.
fn is_plain(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with(['"', '\'', '[', '{', '&', '*', '!', '|', '>', '%', '@', '`'])
        && !text.contains(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(yaml: &str) -> Mapping {
        let mut data: Mapping = serde_yaml::from_str(yaml).unwrap();
        apply(yaml, &mut data);
        data
    }

    /// Jekyll 4.3.1 published `title: X` with these titles (a false or empty title gives the
    /// file name's words; `to_s` of the value otherwise).
    #[test]
    fn titles_as_jekyll_reads_them() {
        let cases = [
            ("No", Value::Bool(false)),
            ("yes", Value::Bool(true)),
            ("on", Value::Bool(true)),
            ("TRUE", Value::Bool(true)),
            ("010", Value::Number(8.into())),
            ("1_000", Value::Number(1000.into())),
            ("0x1F", Value::Number(31.into())),
            ("+12", Value::Number(12.into())),
            ("12:30:00", Value::Number(45000.into())),
            ("-0", Value::Number(0.into())),
            ("1.10", Value::Number(1.1.into())),
            (".inf", Value::Number(f64::INFINITY.into())),
            ("1e3", Value::String("1e3".into())),
            ("0o17", Value::String("0o17".into())),
            ("n", Value::String("n".into())),
            ("y", Value::String("y".into())),
            ("Null", Value::Null),
            // Any case, as Jekyll 4.3 read them.
            ("nO", Value::Bool(false)),
            ("tRUE", Value::Bool(true)),
            ("oFf", Value::Bool(false)),
            ("nUlL", Value::Null),
            (".iNf", Value::Number(f64::INFINITY.into())),
            ("-.InF", Value::Number(f64::NEG_INFINITY.into())),
            ("2022-01-12", Value::String("2022-01-12".into())),
        ];
        for (text, expected) in cases {
            let data = read(&format!("title: {text}\n"));
            assert_eq!(data.get("title"), Some(&expected), "{text}");
        }
    }

    #[test]
    fn lists_quoted_values_and_other_shapes() {
        let data = read("tags: [NO, 007, 'yes', 中文]\ncategories:\n  - off\n  - \"on\"\n  - 1_0\ntitle: 'No'\nauthor:\n  name: yes\n");
        assert_eq!(
            data["tags"],
            serde_yaml::from_str::<Value>("[false, 7, 'yes', 中文]").unwrap()
        );
        assert_eq!(
            data["categories"],
            serde_yaml::from_str::<Value>("[false, 'on', 10]").unwrap()
        );
        assert_eq!(data["title"], Value::String("No".into()));
        // Nested mappings are left as read.
        assert_eq!(data["author"]["name"], Value::String("yes".into()));
    }
}
