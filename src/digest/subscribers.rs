//! Subscribers, from a YAML or CSV file: an address, an optional name, an optional list of
//! categories (the digest then holds only those). Invalid addresses and duplicates are reported
//! with their line and left out. A file that cannot be read faithfully (invalid YAML or CSV, a
//! CSV quote left open that would swallow the rows after it) is an error that stops the run
//! before anything is sent: half a list must never be taken for the whole.

use std::collections::HashSet;
use std::path::Path;

use lettre::Address;
use serde_yaml::Value;

use crate::problem::{Position, Problem};
use crate::yaml::scalar_string;

/// One person who gets the digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// Where the digest goes, as written in the file.
    pub address: Address,
    /// The name to greet them by and put in `To:`, control characters made spaces; `None` when
    /// the file gives none (or only spaces).
    pub name: Option<String>,
    /// Empty: every category.
    pub categories: Vec<String>,
    /// The line it was read from.
    pub line: usize,
}

impl Subscriber {
    /// The address as the ledger keys it (lower-cased).
    pub fn key(&self) -> String {
        self.address.to_string().to_lowercase()
    }
}

/// What reading the file gave.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The valid subscribers, in file order, each address once.
    pub subscribers: Vec<Subscriber>,
    /// Lines left out (invalid addresses: errors) and duplicates (warnings).
    pub problems: Vec<Problem>,
}

/// Reads `path` (`.csv`, else YAML).
pub fn load(path: &Path) -> Result<Loaded, Problem> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Problem::error(
            path,
            Position::START,
            format!("cannot read the subscribers file: {e}"),
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let is_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let raw = if is_csv {
        read_csv(path, text)?
    } else {
        read_yaml(path, text)?
    };
    let mut loaded = Loaded::default();
    let mut seen = HashSet::new();
    for (line, address, name, categories) in raw {
        let at = Position::new(line, 1);
        let address = match address.trim().parse::<Address>() {
            Ok(a) => a,
            Err(e) => {
                loaded.problems.push(Problem::error(
                    path,
                    at,
                    format!(
                        "`{}` is not an email address ({e}): skipped",
                        address.trim()
                    ),
                ));
                continue;
            }
        };
        let key = address.to_string().to_lowercase();
        if !seen.insert(key) {
            loaded.problems.push(Problem::warning(
                path,
                at,
                format!("{address} is listed more than once: only the first is used"),
            ));
            continue;
        }
        // A name goes into a header: no line breaks or controls.
        let name = name
            .map(|n| {
                n.chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect::<String>()
            })
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty());
        loaded.subscribers.push(Subscriber {
            address,
            name,
            categories,
            line,
        });
    }
    Ok(loaded)
}

type Raw = (usize, String, Option<String>, Vec<String>);

fn split_categories(text: &str) -> Vec<String> {
    text.split([' ', ';', ','])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(String::from)
        .collect()
}

/// Line breaks in `text`: LF, CR LF, or a CR alone.
fn line_breaks(text: &str) -> usize {
    let b = text.as_bytes();
    b.iter()
        .enumerate()
        .filter(|&(i, &c)| c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n')))
        .count()
}

/// The line a CSV record starts on (from `start` to the reader's position `end` after it), and
/// an error when it runs over more than one line: a quoted field holds a line break. No
/// subscriber's field has one, so it is a quote left open, which would swallow the rows after it
/// into one field: the error names the line where the quote opened and the line where the field
/// ended.
///
/// The csv crate's position of a record can be that of the line end before it (the LF of a
/// CR LF that ended the record before): the line is counted from the record's first character.
fn record_line(
    path: &Path,
    text: &str,
    start: Option<&csv::Position>,
    end: &csv::Position,
) -> Result<usize, Problem> {
    let Some(start) = start else {
        return Ok(1);
    };
    let reported = usize::try_from(start.line()).unwrap_or(usize::MAX);
    let from = usize::try_from(start.byte()).unwrap_or(usize::MAX);
    let to = usize::try_from(end.byte()).unwrap_or(usize::MAX);
    let Some(raw) = text.get(from..to.min(text.len())) else {
        return Ok(reported);
    };
    let body = raw.trim_start_matches(['\r', '\n']);
    // A CR before the record was counted with the record before it.
    let leading = &raw[..raw.len() - body.len()];
    let first = reported.saturating_add(leading.bytes().filter(|&c| c == b'\n').count());
    let breaks = line_breaks(body.trim_end_matches(['\r', '\n']));
    if breaks == 0 {
        return Ok(first);
    }
    let last = first.saturating_add(breaks);
    Err(Problem::error(
        path,
        Position::new(first, 1),
        format!(
            "invalid CSV: a quoted field runs from line {first} to line {last}, taking in {breaks} following line(s) as one field: a quote (\") is left open; close it (a quote inside a field is written twice: \"\")"
        ),
    ))
}

fn read_csv(path: &Path, text: &str) -> Result<Vec<Raw>, Problem> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| Problem::error(path, Position::START, format!("invalid CSV: {e}")))?
        .clone();
    record_line(path, text, headers.position(), reader.position())?;
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let address = column("address")
        .or_else(|| column("email"))
        .ok_or_else(|| {
            Problem::error(
                path,
                Position::START,
                "the CSV header must name an `address` (or `email`) column",
            )
        })?;
    let (name, categories) = (column("name"), column("categories"));
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut record).map_err(|e| {
            let line = e.position().map_or(1, |p| p.line() as usize);
            Problem::error(path, Position::new(line, 1), format!("invalid CSV: {e}"))
        })?;
        if !more {
            break;
        }
        let line = record_line(path, text, record.position(), reader.position())?;
        let field = |i: Option<usize>| i.and_then(|i| record.get(i)).map(str::to_string);
        out.push((
            line,
            field(Some(address)).unwrap_or_default(),
            field(name),
            field(categories)
                .map(|c| split_categories(&c))
                .unwrap_or_default(),
        ));
    }
    Ok(out)
}

fn read_yaml(path: &Path, text: &str) -> Result<Vec<Raw>, Problem> {
    let value: Value =
        serde_yaml::from_str(text).map_err(|e| crate::yaml::yaml_file_error(path, &e))?;
    let value = crate::yaml::untag(value);
    let items = match value {
        Value::Sequence(items) => items,
        Value::Mapping(mut m) => match m.remove("subscribers") {
            Some(Value::Sequence(items)) => items,
            _ => {
                return Err(Problem::error(
                    path,
                    Position::START,
                    "expected a list of subscribers (or `subscribers:` holding one)",
                ))
            }
        },
        Value::Null => Vec::new(),
        _ => {
            return Err(Problem::error(
                path,
                Position::START,
                "expected a list of subscribers",
            ))
        }
    };
    // Lines of list items, in order, to point at each entry.
    let item_lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start();
            t.starts_with("- ") || t == "-"
        })
        .map(|(i, _)| i + 1)
        .collect();
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let line = item_lines.get(i).copied().unwrap_or(1);
        match item {
            Value::Mapping(m) => {
                let get = |k: &str| m.get(k).and_then(scalar_string);
                let categories = match m.get("categories") {
                    Some(Value::Sequence(s)) => s.iter().filter_map(scalar_string).collect(),
                    Some(v) => scalar_string(v)
                        .map(|c| split_categories(&c))
                        .unwrap_or_default(),
                    None => Vec::new(),
                };
                out.push((
                    line,
                    get("address").or_else(|| get("email")).unwrap_or_default(),
                    get("name"),
                    categories,
                ));
            }
            other => out.push((
                line,
                scalar_string(&other).unwrap_or_default(),
                None,
                Vec::new(),
            )),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(name: &str, text: &str) -> Loaded {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        load(&path).unwrap()
    }

    #[test]
    fn yaml_with_names_categories_bad_and_duplicate_lines() {
        let l = load_text(
            "s.yml",
            "- address: li@example.com\n  name: 李明\n  categories: [xinhuashe]\n- not-an-address\n- LI@example.com\n- wang@example.com\n",
        );
        assert_eq!(l.subscribers.len(), 2);
        assert_eq!(l.subscribers[0].name.as_deref(), Some("李明"));
        assert_eq!(l.subscribers[0].categories, ["xinhuashe"]);
        let messages: Vec<String> = l
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.position.line, p.message))
            .collect();
        assert!(
            messages[0].starts_with("4: `not-an-address` is not an email address"),
            "{messages:?}"
        );
        assert_eq!(
            messages[1],
            "5: LI@example.com is listed more than once: only the first is used"
        );
    }

    #[test]
    fn csv_with_header() {
        let l = load_text(
            "s.csv",
            "address,name,categories\na@example.com,\"Ann, A.\",news;markets\nbad,,\n",
        );
        assert_eq!(l.subscribers[0].name.as_deref(), Some("Ann, A."));
        assert_eq!(l.subscribers[0].categories, ["news", "markets"]);
        assert_eq!(l.problems[0].position.line, 3);
    }

    #[test]
    fn csv_with_a_quote_left_open_is_an_error_naming_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.csv");
        for text in [
            // Open to the end of the file.
            "address,name\na@example.com,\"Ann\nb@example.com,Bob\nc@example.com,Cy\n",
            // Closed by a quote on a later line.
            "address,name\na@example.com,\"Ann\nb@example.com,Bob\nc@example.com,\"Cy\"\n",
            // Without a line end at the end, and with CR LF.
            "address,name\r\na@example.com,\"Ann\r\nb@example.com,Bob",
        ] {
            std::fs::write(&path, text).unwrap();
            let e = load(&path).unwrap_err();
            assert_eq!(e.position.line, 2, "{text:?}: {}", e.message);
            assert!(e.message.contains("quote"), "{}", e.message);
        }
        // A header with a quote left open swallows every row.
        std::fs::write(&path, "address,\"name\na@example.com,Ann\n").unwrap();
        assert_eq!(load(&path).unwrap_err().position.line, 1);
        // With CR LF, subscribers' lines are still their own.
        std::fs::write(&path, "address\r\nbad\r\nalso bad\r\n").unwrap();
        let lines: Vec<usize> = load(&path)
            .unwrap()
            .problems
            .iter()
            .map(|p| p.position.line)
            .collect();
        assert_eq!(lines, [2, 3]);
    }

    #[test]
    fn names_lose_line_breaks() {
        let l = load_text(
            "s.yml",
            "- address: a@example.com\n  name: \"Eve\\r\\nBcc: x@evil.example\"\n",
        );
        assert_eq!(
            l.subscribers[0].name.as_deref(),
            Some("Eve  Bcc: x@evil.example")
        );
    }
}
