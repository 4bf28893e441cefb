//! `front_matter::split` and `FrontMatter::parse` (and the taxonomy readers that work on the
//! parsed YAML) on arbitrary UTF-8.
//!
//! Promises checked (src/collect/front_matter.rs, src/collect/taxonomy.rs):
//! - nothing panics, whatever the text;
//! - `split` finds front matter exactly as its docs say (Jekyll's regexp): an optional BOM, a
//!   `---` line, the YAML, the first `---` or `...` line, then the body after any blank lines;
//!   every offset is in bounds, on a character boundary and in order;
//! - `parse` gives a mapping or an error whose position lies inside the file (line and column
//!   1-based) and whose message is one of the documented ones;
//! - every key position points inside the file;
//! - categories and tags never hold an empty name or a duplicate;
//! - wherever the fast path (`simple_yaml::parse`) reads the text, or the YAML that `split`
//!   found, to a mapping, the YAML library reads it to the same mapping, keys in the same order
//!   (src/collect/simple_yaml.rs).

#![no_main]

use std::path::Path;

use gazette::collect::front_matter::{
    self, describe, scalar_string, yaml11_bool, FrontMatter, Split,
};
use gazette::collect::{simple_yaml, taxonomy};
use gazette::problem::Position;
use libfuzzer_sys::fuzz_target;

const BOM: &str = "\u{feff}";

/// Ruby's `\s` without the newline.
fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
}

fn is_fence(line: &str, fence: &str) -> bool {
    line.strip_prefix(fence)
        .is_some_and(|rest| rest.bytes().all(is_blank))
}

/// The split as the module docs describe it, written independently (line by line).
fn expected_split(text: &str) -> Split {
    let start = if text.starts_with(BOM) { BOM.len() } else { 0 };
    let rest = &text[start..];
    let Some(first_end) = rest.find('\n') else {
        return Split::None { body_start: start };
    };
    if !is_fence(&rest[..first_end], "---") {
        return Split::None { body_start: start };
    }
    let yaml_start = start + first_end + 1;
    let mut at = yaml_start;
    loop {
        let line_end = text[at..].find('\n').map(|i| at + i);
        let line = &text[at..line_end.unwrap_or(text.len())];
        if is_fence(line, "---") || is_fence(line, "...") {
            // The body starts after the closing line and any blank lines that end in `\n`.
            let mut body = line_end.map_or(text.len(), |e| e + 1);
            while let Some(e) = text[body..].find('\n').map(|i| body + i) {
                if text.as_bytes()[body..e].iter().all(|&b| is_blank(b)) {
                    body = e + 1;
                } else {
                    break;
                }
            }
            return Split::Found {
                yaml_start,
                yaml_end: at,
                body_start: body,
            };
        }
        match line_end {
            Some(e) => at = e + 1,
            None => return Split::Unclosed,
        }
    }
}

fn assert_inside(text: &str, p: Position, what: &str) {
    let lines = text.split('\n').count();
    assert!(
        p.line >= 1 && p.column >= 1,
        "{what}: position {p:?} is not 1-based"
    );
    assert!(
        p.line <= lines,
        "{what}: line {} is past the end of a text of {lines} lines",
        p.line
    );
    let line_text = text.split('\n').nth(p.line - 1).unwrap_or("");
    assert!(
        p.column <= line_text.chars().count() + 1,
        "{what}: column {} is past the end of line {} ({:?})",
        p.column,
        p.line,
        line_text
    );
}

/// When the fast path reads `yaml`, the YAML library must read it to the same mapping (or to
/// null, for no keys). This crate has no `serde_yaml` of its own, so the library is reached
/// through `FrontMatter::parse` on the same YAML behind a `---` line: an explicit document start
/// that changes nothing for the library, and a line the fast path never reads, so `parse` takes
/// its library path (which also removes YAML tags, never in what the fast path reads).
fn check_fast_path(yaml: &str) {
    let Some(fast) = simple_yaml::parse(yaml) else {
        return;
    };
    let forced = format!("---\n{yaml}");
    assert!(
        simple_yaml::parse(&forced).is_none(),
        "the fast path read {forced:?}"
    );
    match FrontMatter::parse(&forced, 0, forced.len()) {
        Ok(fm) => assert!(
            fm.data == fast && fm.data.iter().eq(fast.iter()),
            "the fast path and the YAML library disagree on {yaml:?}:\n  fast path: {fast:?}\n  library:   {:?}",
            fm.data
        ),
        Err(e) => panic!(
            "the fast path read {yaml:?} as {fast:?}, the YAML library refused it: {}",
            e.message
        ),
    }
}

fuzz_target!(|text: &str| {
    // Fuzz input is mostly not `---`-fenced: try the fast path on the whole text too.
    check_fast_path(text);
    let split = front_matter::split(text);
    assert_eq!(split, expected_split(text), "split of {text:?}");
    let Split::Found {
        yaml_start,
        yaml_end,
        body_start,
    } = split
    else {
        return;
    };
    assert!(yaml_start <= yaml_end && yaml_end <= body_start && body_start <= text.len());
    for at in [yaml_start, yaml_end, body_start] {
        assert!(text.is_char_boundary(at));
    }
    check_fast_path(&text[yaml_start..yaml_end]);

    match FrontMatter::parse(text, yaml_start, yaml_end) {
        Err(e) => {
            // The YAML library also breaks lines at a lone CR, NEL, LS and PS, gazette only at
            // LF: with those in the YAML, its line numbers drift (see
            // `yaml_errors_count_lines_as_gazette_does` in tests/hostile.rs).
            let yaml = &text[yaml_start..yaml_end];
            let other_breaks = yaml
                .replace("\r\n", "\n")
                .contains(['\r', '\u{85}', '\u{2028}', '\u{2029}']);
            if !other_breaks {
                assert_inside(text, e.position, "YAML error");
            }
            assert!(
                e.message.starts_with("invalid YAML in front matter: ")
                    || (e.message.starts_with("front matter is ")
                        && e.message
                            .ends_with("but it must be a mapping of keys (`title: …`)")),
                "unexpected message {:?}",
                e.message
            );
        }
        Ok(fm) => {
            let mut keys: Vec<String> = fm
                .data
                .keys()
                .filter_map(|k| k.as_str().map(String::from))
                .take(8)
                .collect();
            keys.extend(
                [
                    "title",
                    "date",
                    "categories",
                    "category",
                    "tags",
                    "tag",
                    "permalink",
                    "published",
                ]
                .map(String::from),
            );
            for key in &keys {
                let _ = fm.has(key);
                let _ = fm.is_quoted(key);
                assert_inside(text, fm.position_of(key), key);
                if let Some(value) = fm.get(key) {
                    let _ = scalar_string(value);
                    let _ = yaml11_bool(value);
                    assert!(!describe(value).is_empty());
                }
            }
            let mut problems = Vec::new();
            let path = Path::new("_posts/2022-01-01-x.md");
            if let Ok(categories) = taxonomy::categories(&fm, &[], path, &mut problems) {
                for (i, c) in categories.iter().enumerate() {
                    assert!(!c.trim().is_empty(), "empty category in {categories:?}");
                    assert!(
                        !categories[..i].contains(c),
                        "duplicate category in {categories:?}"
                    );
                }
            }
            let tags = taxonomy::tags(&fm, path, &mut problems);
            for (i, t) in tags.iter().enumerate() {
                assert!(!t.trim().is_empty(), "empty tag in {tags:?}");
                assert!(!tags[..i].contains(t), "duplicate tag in {tags:?}");
            }
            for p in &problems {
                assert_inside(text, p.position, &p.message);
            }
        }
    }
});
