//! Subscribers, from a YAML or CSV file: an address, an optional name, an optional list of
//! categories (the digest then holds only those). Invalid addresses and duplicates are reported
//! with their line and left out.

use std::collections::HashSet;
use std::path::Path;

use lettre::Address;
use serde_yaml::Value;

use crate::collect::front_matter::scalar_string;
use crate::problem::{Position, Problem};

/// One person who gets the digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub address: Address,
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
    pub subscribers: Vec<Subscriber>,
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

fn read_csv(path: &Path, text: &str) -> Result<Vec<Raw>, Problem> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| Problem::error(path, Position::START, format!("invalid CSV: {e}")))?
        .clone();
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
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(1, |p| p.line() as usize);
            Problem::error(path, Position::new(line, 1), format!("invalid CSV: {e}"))
        })?;
        let line = record.position().map_or(1, |p| p.line() as usize);
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
    let value: Value = serde_yaml::from_str(text)
        .map_err(|e| crate::collect::front_matter::yaml_file_error(path, &e))?;
    let value = crate::collect::front_matter::untag(value);
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
