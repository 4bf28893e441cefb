//! Splitting a post into YAML front matter and body, and reading the YAML.
//!
//! The split follows Jekyll's `YAML_FRONT_MATTER_REGEXP`: the file starts with a `---` line
//! (trailing white space allowed), and the front matter ends at the first line that is `---` or
//! `...` (again with trailing white space). A byte-order mark is skipped and CRLF line ends
//! work. A file that opens a front matter and never closes it is an error here (Jekyll would
//! silently publish the YAML as the post's text).

use serde_yaml::{Mapping, Value};

use crate::problem::Position;
pub use crate::yaml::{
    describe, liquid_text, ruby_inspect, scalar_string, untag, yaml11_bool, yaml_file_error,
    yaml_message,
};

/// Where the parts of a post's text are, as byte offsets into the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// No front matter: the whole text (after any BOM) is the body.
    None {
        /// Where the body starts: 0, or just after a BOM.
        body_start: usize,
    },
    /// Front matter between two fences.
    Found {
        /// Where the YAML starts: the line after the opening `---`.
        yaml_start: usize,
        /// Where the YAML ends: the start of the closing `---` or `...` line.
        yaml_end: usize,
        /// Where the body starts: after the closing fence and any blank lines after it.
        body_start: usize,
    },
    /// An opening `---` with no closing line.
    Unclosed,
}

const BOM: &str = "\u{feff}";

/// True for the white space Ruby's `\s` matches, minus the newline.
fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
}

/// Whether `line` (without its `\n`) is `fence` followed only by white space.
fn is_fence(line: &[u8], fence: &[u8]) -> bool {
    line.starts_with(fence) && line[fence.len()..].iter().all(|&b| is_blank(b))
}

/// Jekyll's closing `\s*$\n?` is greedy: blank lines after the closing fence are not part of the
/// body. The body starts at the first line holding anything but white space.
fn skip_blank_lines(bytes: &[u8], mut at: usize) -> usize {
    loop {
        let end = memchr::memchr(b'\n', &bytes[at..]).map(|i| at + i);
        let line = &bytes[at..end.unwrap_or(bytes.len())];
        match end {
            Some(e) if line.iter().all(|&b| is_blank(b)) => at = e + 1,
            _ => return at,
        }
    }
}

/// Finds the front matter of `text` the way Jekyll does.
pub fn split(text: &str) -> Split {
    let start = if text.starts_with(BOM) { BOM.len() } else { 0 };
    let bytes = text.as_bytes();
    let first_end = memchr::memchr(b'\n', &bytes[start..]).map(|i| start + i);
    let Some(first_end) = first_end else {
        return Split::None { body_start: start };
    };
    if !is_fence(&bytes[start..first_end], b"---") {
        return Split::None { body_start: start };
    }
    let yaml_start = first_end + 1;
    let mut line_start = yaml_start;
    while line_start <= bytes.len() {
        let line_end = memchr::memchr(b'\n', &bytes[line_start..]).map(|i| line_start + i);
        let line = &bytes[line_start..line_end.unwrap_or(bytes.len())];
        if is_fence(line, b"---") || is_fence(line, b"...") {
            return Split::Found {
                yaml_start,
                yaml_end: line_start,
                body_start: skip_blank_lines(bytes, line_end.map_or(bytes.len(), |e| e + 1)),
            };
        }
        match line_end {
            Some(e) => line_start = e + 1,
            None => break,
        }
    }
    Split::Unclosed
}

/// Why front matter could not be read, with its place in the whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// Where in the file the problem is.
    pub position: Position,
    /// What is wrong, in a sentence.
    pub message: String,
}

/// Front matter read into a YAML mapping, with enough of the source kept to point at keys.
#[derive(Debug, Clone)]
pub struct FrontMatter<'a> {
    /// The keys and values (for a repeated key, the last one written).
    pub data: Mapping,
    yaml: &'a str,
    /// The file line on which the YAML text starts (1-based).
    first_line: usize,
    /// Keys repeated in one mapping, as [`crate::yaml::last_wins`] lists them.
    repeated: Vec<String>,
    /// The YAML tags written on each top-level key's value or inside it (`!!python/object:x`),
    /// which the mapping no longer holds: (key, tag as written).
    tags: Vec<(String, String)>,
}

impl<'a> FrontMatter<'a> {
    /// An empty front matter (a post with none, or with `---\n---`).
    pub fn empty() -> Self {
        FrontMatter {
            data: Mapping::new(),
            yaml: "",
            first_line: 1,
            repeated: Vec::new(),
            tags: Vec::new(),
        }
    }

    /// Reads `text[yaml_start..yaml_end]` as YAML; it must be a mapping (or empty).
    pub fn parse(text: &'a str, yaml_start: usize, yaml_end: usize) -> Result<Self, YamlError> {
        let yaml = &text[yaml_start..yaml_end];
        let first_line = Position::of_offset(text, yaml_start).line;
        if let Some(mut data) = super::simple_yaml::parse(yaml) {
            super::yaml11::apply(yaml, &mut data);
            return Ok(FrontMatter {
                data,
                yaml,
                first_line,
                repeated: Vec::new(),
                tags: Vec::new(),
            });
        }
        // The YAML library's scanner spends time in proportion to the flow nesting on every
        // token: refuse deep nesting before it runs.
        if let Some(at) = too_deep(yaml, MAX_YAML_DEPTH) {
            return Err(YamlError {
                position: Position::of_offset(text, yaml_start + at),
                message: format!(
                    "front matter nests `[` and `{{` more than {MAX_YAML_DEPTH} levels deep: no post needs that; the post is left out"
                ),
            });
        }
        let (value, repeated) = crate::yaml::last_wins::from_str(yaml).map_err(|e| {
            let message = yaml_message(&e.to_string(), first_line);
            // The library also breaks lines at a lone CR: place the error by its byte offset,
            // counted as every other position here is.
            let position = e.location().map_or(Position::new(first_line, 1), |l| {
                Position::of_offset(text, yaml_start + l.index().min(yaml.len()))
            });
            YamlError {
                position,
                message: format!("invalid YAML in front matter: {message}"),
            }
        })?;
        let mut tags = Vec::new();
        if let Value::Mapping(m) = &value {
            for (k, v) in m {
                let key = scalar_string(k).unwrap_or_default();
                collect_tags(v, &key, &mut tags);
            }
        }
        let data = match untag(value) {
            Value::Mapping(mut m) => {
                super::yaml11::apply(yaml, &mut m);
                m
            }
            Value::Null => Mapping::new(),
            other => {
                return Err(YamlError {
                    position: Position::new(first_line, 1),
                    message: format!(
                        "front matter is {}, but it must be a mapping of keys (`title: …`)",
                        describe(&other)
                    ),
                })
            }
        };
        Ok(FrontMatter {
            data,
            yaml,
            first_line,
            repeated,
            tags,
        })
    }

    /// The YAML tags written on top-level keys' values (or inside them): (key, tag as written).
    /// The library resolves YAML's own (`!!str`, `!!python/object:x`) and keeps no trace of
    /// them: [`FrontMatter::written_tag`] finds those.
    pub(crate) fn yaml_tags(&self) -> &[(String, String)] {
        &self.tags
    }

    /// The tag written at the start of a top-level key's value (`title: !!python/object:x X`),
    /// as written.
    pub(crate) fn written_tag(&self, key: &str) -> Option<&str> {
        let raw = self.raw_value(key)?;
        raw.starts_with('!')
            .then(|| raw.split([' ', '\t']).next().unwrap_or(raw))
    }

    /// Each key written twice in one mapping (Jekyll keeps the last value, and so does gazette):
    /// where the kept value is, and a message naming the lines of both.
    pub(crate) fn repeated_keys(&self) -> Vec<(Position, String)> {
        let mut seen = std::collections::HashSet::new();
        self.repeated
            .iter()
            .filter(|key| seen.insert(key.as_str()))
            .map(|key| {
                let lines: Vec<Position> = self.key_positions_nested(key).collect();
                let at = lines.last().copied().unwrap_or(Position::new(self.first_line, 1));
                let listed = lines
                    .iter()
                    .map(|p| p.line.to_string())
                    .collect::<Vec<_>>()
                    .join(" and ");
                let message = if lines.len() >= 2 {
                    format!("the key `{key}` appears on lines {listed}: the last value is used, as Jekyll uses it")
                } else {
                    format!("the key `{key}` appears twice in one mapping: the last value is used, as Jekyll uses it")
                };
                (at, message)
            })
            .collect()
    }

    /// The positions of `key:` at any indentation (or after a list's `- `).
    fn key_positions_nested<'s>(&'s self, key: &'s str) -> impl Iterator<Item = Position> + 's {
        self.yaml.lines().enumerate().filter_map(move |(i, line)| {
            let trimmed = line.trim_start_matches([' ', '\t']);
            let trimmed = trimmed.strip_prefix("- ").unwrap_or(trimmed).trim_start();
            strip_key(trimmed, key)?;
            Some(Position::new(
                self.first_line + i,
                line[..line.len() - trimmed.len()].chars().count() + 1,
            ))
        })
    }

    /// The value of a top-level key, with YAML tags (`! 'x'`, `!!str`) looked through.
    pub fn get(&self, key: &str) -> Option<&Value> {
        let mut v = self.data.get(key)?;
        while let Value::Tagged(t) = v {
            v = &t.value;
        }
        Some(v)
    }

    /// Whether `key` is present at all (even as `key:` with no value).
    pub fn has(&self, key: &str) -> bool {
        self.data.contains_key(key)
    }

    /// The file position of a top-level key's value (or of the front matter's start when the key
    /// cannot be found in the text, as in a flow mapping).
    pub fn position_of(&self, key: &str) -> Position {
        self.key_positions(key)
            .next()
            .unwrap_or(Position::new(self.first_line, 1))
    }

    /// Whether a top-level key's value is written in quotes: YAML reads an unquoted
    /// `2022-01-12 14:18:25` as a UTC timestamp but a quoted one as a string.
    pub fn is_quoted(&self, key: &str) -> bool {
        self.raw_value(key)
            .is_some_and(|raw| raw.starts_with('"') || raw.starts_with('\''))
    }

    /// The text after `key:` on the key's first line, trimmed.
    fn raw_value(&self, key: &str) -> Option<&str> {
        self.yaml.lines().find_map(|line| {
            let rest = strip_key(line, key)?;
            Some(rest.trim())
        })
    }

    fn key_positions<'s>(&'s self, key: &'s str) -> impl Iterator<Item = Position> + 's {
        self.yaml.lines().enumerate().filter_map(move |(i, line)| {
            let rest = strip_key(line, key)?;
            let value_at = line.len() - rest.trim_start().len();
            let value_at = if rest.trim().is_empty() { 0 } else { value_at };
            Some(Position::new(
                self.first_line + i,
                line[..value_at].chars().count() + 1,
            ))
        })
    }
}

/// If `line` is `key:` at column 0 (the key possibly quoted), the text after the colon.
fn strip_key<'l>(line: &'l str, key: &str) -> Option<&'l str> {
    let rest = line
        .strip_prefix(key)
        .or_else(|| line.strip_prefix('"')?.strip_prefix(key)?.strip_prefix('"'))
        .or_else(|| {
            line.strip_prefix('\'')?
                .strip_prefix(key)?
                .strip_prefix('\'')
        })?;
    let rest = rest.trim_start_matches([' ', '\t']);
    let rest = rest.strip_prefix(':')?;
    (rest.is_empty() || rest.starts_with([' ', '\t', '\r'])).then_some(rest)
}

/// How deep flow collections (`[`, `{`) may nest in front matter. Real front matter nests two
/// or three levels; the YAML library's scanner costs time in proportion to the depth on every
/// token (80,000 `[` took 43 s to be refused).
pub(crate) const MAX_YAML_DEPTH: usize = 64;

/// Where `yaml` first opens a flow collection (`[` or `{`) nested more than `max` levels deep,
/// as a byte offset; `None` when it never does. A linear scan that follows the YAML scanner's
/// tokens (quoted and plain scalars, comments, block scalars) closely enough never to miss a
/// flow collection the scanner would open; where it cannot tell, it counts an opening bracket
/// rather than skip one, so it may only err towards refusing.
pub(crate) fn too_deep(yaml: &str, max: usize) -> Option<usize> {
    let b = yaml.as_bytes();
    let len = b.len();
    let blank = |i: usize| i >= len || matches!(b[i], b' ' | b'\t' | b'\r' | b'\n');
    let mut i = 0;
    // Block context, one line at a time: `parent` is the column of the line's last key or `-`
    // (a block scalar's lines, and a plain scalar's continuation lines, are indented more).
    'lines: while i < len {
        let line_start = i;
        while i < len && b[i] == b' ' {
            i += 1;
        }
        let mut parent = i - line_start;
        loop {
            while i < len && matches!(b[i], b' ' | b'\t') {
                i += 1;
            }
            if i >= len {
                break 'lines;
            }
            match b[i] {
                b'\n' | b'\r' => {
                    i += 1;
                    continue 'lines;
                }
                b'#' => {
                    i = memchr::memchr(b'\n', &b[i..]).map_or(len, |e| i + e + 1);
                    continue 'lines;
                }
                b'-' | b'?' | b':' if blank(i + 1) => {
                    if b[i] != b':' {
                        parent = i - line_start;
                    }
                    i += 1;
                }
                b'[' | b'{' => match flow_end(b, i, max) {
                    Ok(end) => i = end,
                    Err(at) => return Some(at),
                },
                b'"' | b'\'' => i = quoted_end(b, i),
                b'&' | b'*' | b'!' => {
                    while !blank(i) {
                        i += 1;
                    }
                }
                b'|' | b'>' => {
                    // A block scalar: its lines are indented more than its parent.
                    i = memchr::memchr(b'\n', &b[i..]).map_or(len, |e| i + e + 1);
                    let mut content_indent = None;
                    while i < len {
                        let end = memchr::memchr(b'\n', &b[i..]).map_or(len, |e| i + e + 1);
                        let line = &b[i..end];
                        let spaces = line.iter().take_while(|&&c| c == b' ').count();
                        if !line[spaces..].iter().all(u8::is_ascii_whitespace) {
                            let need = *content_indent.get_or_insert(spaces);
                            if spaces < need || need <= parent {
                                break;
                            }
                        }
                        i = end;
                    }
                    continue 'lines;
                }
                _ => {
                    // A plain scalar, or a key: up to `: `, ` #` or the line's end.
                    let start = i;
                    while i < len && b[i] != b'\n' {
                        if b[i] == b':' && blank(i + 1) {
                            break;
                        }
                        if b[i] == b'#' && i > start && matches!(b[i - 1], b' ' | b'\t') {
                            break;
                        }
                        i += 1;
                    }
                    if i < len && b[i] == b':' {
                        parent = start - line_start;
                        continue;
                    }
                    // A comment ends the line; continuation lines (indented more than the
                    // parent, not blank, not a comment) are the scalar's text.
                    i = memchr::memchr(b'\n', &b[i..]).map_or(len, |e| i + e);
                    while i < len {
                        let spaces = b[i + 1..].iter().take_while(|&&c| c == b' ').count();
                        let rest = i + 1 + spaces;
                        if spaces > parent && rest < len && !matches!(b[rest], b'\n' | b'\r' | b'#')
                        {
                            i = memchr::memchr(b'\n', &b[rest..]).map_or(len, |e| rest + e);
                        } else {
                            break;
                        }
                    }
                    continue 'lines;
                }
            }
        }
    }
    None
}

/// Past the flow collection that opens at `at` (`[` or `{`), lines not mattering; `Err` with
/// the place of a collection nested more than `max` deep.
fn flow_end(b: &[u8], at: usize, max: usize) -> Result<usize, usize> {
    let len = b.len();
    let blank = |i: usize| i >= len || matches!(b[i], b' ' | b'\t' | b'\r' | b'\n');
    let indicator = |i: usize| i < len && matches!(b[i], b',' | b'[' | b']' | b'{' | b'}');
    let mut depth = 0usize;
    let mut i = at;
    while i < len {
        match b[i] {
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(i);
                }
                i += 1;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
                if depth == 0 {
                    return Ok(i);
                }
            }
            b',' | b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'#' if matches!(b[i - 1], b' ' | b'\t' | b'\r' | b'\n') => {
                i = memchr::memchr(b'\n', &b[i..]).map_or(len, |e| i + e);
            }
            b'"' | b'\'' => i = quoted_end(b, i),
            b'?' | b':' | b'-' if blank(i + 1) || indicator(i + 1) => i += 1,
            b'&' | b'*' | b'!' => {
                while !blank(i) && !indicator(i) {
                    i += 1;
                }
            }
            _ => {
                // A plain scalar: up to a flow indicator, `: ` or ` #`.
                i += 1;
                while i < len && !indicator(i) {
                    if b[i] == b':' && (blank(i + 1) || indicator(i + 1)) {
                        break;
                    }
                    if b[i] == b'#' && matches!(b[i - 1], b' ' | b'\t' | b'\r' | b'\n') {
                        break;
                    }
                    i += 1;
                }
            }
        }
    }
    Ok(len)
}

/// Past the quoted scalar that starts at `at` (`"` with `\` escapes, or `'` with `''`).
fn quoted_end(b: &[u8], at: usize) -> usize {
    let quote = b[at];
    let mut i = at + 1;
    while i < b.len() {
        match b[i] {
            b'\\' if quote == b'"' => i += 2,
            c if c == quote => {
                if quote == b'\'' && b.get(i + 1) == Some(&b'\'') {
                    i += 2;
                } else {
                    return i + 1;
                }
            }
            _ => i += 1,
        }
    }
    b.len()
}

/// Gathers the tags written in `value` (at any level) as `(key, tag)`, the tag as written
/// (`!!python/object:x`, `!local`).
fn collect_tags(value: &Value, key: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Tagged(t) => {
            let raw = t.tag.to_string();
            let written = match raw.strip_prefix("!tag:yaml.org,2002:") {
                Some(rest) => format!("!!{rest}"),
                None => raw,
            };
            out.push((key.to_string(), written));
            collect_tags(&t.value, key, out);
        }
        Value::Sequence(items) => items.iter().for_each(|v| collect_tags(v, key, out)),
        Value::Mapping(m) => m.values().for_each(|v| collect_tags(v, key, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml_of(text: &str) -> Option<&str> {
        match split(text) {
            Split::Found {
                yaml_start,
                yaml_end,
                ..
            } => Some(&text[yaml_start..yaml_end]),
            _ => None,
        }
    }

    #[test]
    fn splits_like_jekyll() {
        let text = "---\ntitle: x\n---\nbody\n";
        assert_eq!(yaml_of(text), Some("title: x\n"));
        let Split::Found { body_start, .. } = split(text) else {
            panic!()
        };
        assert_eq!(&text[body_start..], "body\n");
        let text = "---\ntitle: x\n---\n\n \n  indented\n";
        let Split::Found { body_start, .. } = split(text) else {
            panic!()
        };
        assert_eq!(&text[body_start..], "  indented\n");
    }

    #[test]
    fn accepts_bom_crlf_trailing_space_and_dots() {
        assert_eq!(
            yaml_of("\u{feff}---  \r\ntitle: x\r\n--- \r\nbody"),
            Some("title: x\r\n")
        );
        assert_eq!(yaml_of("---\ntitle: x\n...\nbody"), Some("title: x\n"));
        assert_eq!(yaml_of("---\n---\n"), Some(""));
        assert_eq!(yaml_of("---\ntitle: x\n---"), Some("title: x\n"));
    }

    #[test]
    fn no_front_matter_and_unclosed() {
        assert_eq!(split("hello\n---\n"), Split::None { body_start: 0 });
        assert_eq!(split(" ---\nx\n---\n"), Split::None { body_start: 0 });
        assert_eq!(split("----\nx\n---\n"), Split::None { body_start: 0 });
        assert_eq!(split("---\ntitle: x\nbody"), Split::Unclosed);
        assert_eq!(split(""), Split::None { body_start: 0 });
    }

    #[test]
    fn yaml_errors_point_into_the_file() {
        let text = "---\ntitle: x\ntags: [a, b\n---\n";
        let Split::Found {
            yaml_start,
            yaml_end,
            ..
        } = split(text)
        else {
            panic!()
        };
        let err = FrontMatter::parse(text, yaml_start, yaml_end).unwrap_err();
        assert_eq!(err.position.line, 4);
        assert!(err.message.starts_with("invalid YAML in front matter: "));
        assert!(!err.message.contains("at line"));
        assert!(
            err.message.contains("flow sequence that starts at 3:7"),
            "{}",
            err.message
        );
    }

    #[test]
    fn repeated_keys_keep_the_last_value_and_name_both_lines() {
        let text =
            "---\ntitle: a\ndate: 2022-01-01\ntitle: b\nmedia:\n  video: x\n  video: y\n---\n";
        let fm = FrontMatter::parse(text, 4, text.len() - 4).unwrap();
        assert_eq!(fm.get("title"), Some(&Value::String("b".into())));
        let repeated = fm.repeated_keys();
        assert_eq!(repeated.len(), 2, "{repeated:?}");
        assert_eq!(repeated[0].0, Position::new(4, 1));
        assert!(
            repeated[0].1.contains("`title` appears on lines 2 and 4"),
            "{}",
            repeated[0].1
        );
        assert_eq!(repeated[1].0, Position::new(7, 3));
        assert!(
            repeated[1].1.contains("`video` appears on lines 6 and 7"),
            "{}",
            repeated[1].1
        );
    }

    #[test]
    fn front_matter_must_be_a_mapping() {
        let text = "---\n- a\n- b\n---\n";
        let err = FrontMatter::parse(text, 4, 12).unwrap_err();
        assert_eq!(
            err.message,
            "front matter is a list, but it must be a mapping of keys (`title: …`)"
        );
    }

    #[test]
    fn deep_flow_nesting_is_found_before_parsing() {
        for fine in [
            "title: x\ntags: [[a, b], {c: [d, {e: f}]}]\n",
            "title: \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"\n",
            "title: a[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n",
            "text: |\n  [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n",
            "# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n",
            "t: [it's, \"]]]\", 'a''b']\n",
        ] {
            assert_eq!(too_deep(fine, 64), None, "{fine}");
        }
        let deep = format!("tags: {}", "[".repeat(100));
        assert_eq!(too_deep(&deep, 64), Some(6 + 64));
        // Decoys: brackets inside quotes, comments, a block scalar or a plain scalar's
        // continuation lines do not close anything.
        for decoy in ["\"]\"", "']'", " # ]\n"] {
            let yaml = format!("t: {}\n", format!("[{decoy}, ").repeat(100));
            assert!(too_deep(&yaml, 64).is_some(), "{yaml}");
        }
        let yaml = format!("a: |\n  \"\nb: {}\nc: \"\n", "[".repeat(100));
        assert!(too_deep(&yaml, 64).is_some());
        let yaml = format!("a: x\n  \"\nb: {}\nc: \"\n", "[".repeat(100));
        assert!(too_deep(&yaml, 64).is_some());
        let yaml = format!("[a]: {}\n", "{".repeat(100));
        assert!(too_deep(&yaml, 64).is_some());
    }

    #[test]
    fn mappings_as_ruby_shows_them() {
        let v: Value =
            serde_yaml::from_str("{a: \"x\\\"y\", b: [1, 2.5, null, true], \"c d\": {}}").unwrap();
        assert_eq!(
            ruby_inspect(&v),
            r#"{"a"=>"x\"y", "b"=>[1, 2.5, nil, true], "c d"=>{}}"#
        );
        let v: Value = serde_yaml::from_str("[a, [b, null], {c: 1}]").unwrap();
        assert_eq!(liquid_text(&v), r#"ab{"c"=>1}"#);
    }

    #[test]
    fn keys_tags_and_quotes() {
        let text = "---\ntitle: ! 'x'\n\"date\" : \"2022-01-12 10:00:00\"\n---\n";
        let fm = FrontMatter::parse(text, 4, text.len() - 4).unwrap();
        assert_eq!(fm.get("title"), Some(&Value::String("x".into())));
        assert!(fm.is_quoted("date"));
        assert!(!fm.is_quoted("title"));
        assert_eq!(fm.position_of("date"), Position::new(3, 10));
        assert_eq!(fm.position_of("missing"), Position::new(2, 1));
    }
}
