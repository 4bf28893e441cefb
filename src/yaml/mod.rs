//! YAML values as gazette reads them, for every stage: describing a value in a message, a
//! scalar as Jekyll's Ruby shows it, YAML 1.1's booleans, and the YAML library's errors placed
//! in files. A leaf: it knows nothing of posts, feeds or mail.

pub(crate) mod last_wins;

use serde_yaml::Value;

use crate::problem::Position;

/// The YAML library's message with its places moved into the file's lines: the error's own place
/// (given separately) is dropped, and a context such as "while parsing a flow sequence at line 2
/// column 7" becomes "… that starts at 3:7".
pub fn yaml_message(message: &str, first_line: usize) -> String {
    static PLACE: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r" at line (\d+) column (\d+)").unwrap());
    let mut out = String::with_capacity(message.len());
    let mut last = 0;
    for (i, c) in PLACE.captures_iter(message).enumerate() {
        let whole = c.get(0).expect("a match");
        out.push_str(&message[last..whole.start()]);
        if i > 0 {
            let line: usize = c[1].parse().unwrap_or(1);
            out.push_str(&format!(
                " that starts at {}:{}",
                first_line + line - 1,
                &c[2]
            ));
        }
        last = whole.end();
    }
    out.push_str(&message[last..]);
    out
}

/// A whole YAML file that the library could not read, as a problem at the file's place.
pub fn yaml_file_error(path: &std::path::Path, e: &serde_yaml::Error) -> crate::problem::Problem {
    let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
    crate::problem::Problem::error(
        path,
        Position::new(line, column),
        format!("invalid YAML: {}", yaml_message(&e.to_string(), 1)),
    )
}

/// Ruby's `inspect` of a YAML value, as Jekyll shows a mapping where text belongs
/// (`{"a"=>1, "b"=>[1, nil]}`, Ruby 3.1's spelling).
pub fn ruby_inspect(value: &Value) -> String {
    let mut out = String::new();
    inspect_into(value, &mut out);
    out
}

/// Ruby's `String#inspect`: quoted, with `"`, `\\`, controls and `#{` escaped as Ruby writes
/// them.
pub(crate) fn inspect_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '#' if matches!(chars.peek(), Some('{' | '$' | '@')) => out.push_str("\\#"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn inspect_into(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("nil"),
        Value::String(s) => out.push_str(&inspect_string(s)),
        Value::Sequence(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                inspect_into(item, out);
            }
            out.push(']');
        }
        Value::Mapping(m) => {
            out.push('{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                inspect_into(k, out);
                out.push_str("=>");
                inspect_into(v, out);
            }
            out.push('}');
        }
        Value::Tagged(t) => inspect_into(&t.value, out),
        other => out.push_str(&scalar_string(other).unwrap_or_default()),
    }
}

/// A value as Liquid writes it into a page (`{{ page.title }}`): a scalar as Ruby's `to_s`, a
/// list as its items' text run together, a mapping as Ruby's `inspect`, null as nothing.
pub fn liquid_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Sequence(items) => items.iter().map(liquid_text).collect(),
        Value::Mapping(_) => ruby_inspect(value),
        Value::Tagged(t) => liquid_text(&t.value),
        other => scalar_string(other).unwrap_or_default(),
    }
}

/// Removes YAML tags at every level, keeping the tagged values.
pub fn untag(value: Value) -> Value {
    match value {
        Value::Tagged(t) => untag(t.value),
        Value::Sequence(s) => Value::Sequence(s.into_iter().map(untag).collect()),
        Value::Mapping(m) => Value::Mapping(m.into_iter().map(|(k, v)| (k, untag(v))).collect()),
        other => other,
    }
}

/// "a list", "the string \"x\"", … for messages.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "empty".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(t) => describe(&t.value),
    }
}

/// A scalar as Jekyll's Ruby `to_s` would show it; `None` for null, lists and mappings.
pub fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        // As Ruby's `to_s` writes them.
        Value::Number(n) if n.as_f64().is_some_and(f64::is_infinite) => Some(
            if n.as_f64().is_some_and(f64::is_sign_negative) {
                "-Infinity"
            } else {
                "Infinity"
            }
            .to_string(),
        ),
        Value::Number(n) if n.is_nan() => Some("NaN".to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Tagged(t) => scalar_string(&t.value),
        Value::Null | Value::Sequence(_) | Value::Mapping(_) => None,
    }
}

/// A YAML 1.1 boolean as Psych (and so Jekyll) reads it: `true/yes/on`, `false/no/off`.
pub fn yaml11_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" => Some(true),
            "false" | "no" | "off" => Some(false),
            _ => None,
        },
        Value::Tagged(t) => yaml11_bool(&t.value),
        _ => None,
    }
}
