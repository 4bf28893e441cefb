//! Problems found while reading a site: every one names a file, a place in it and what is wrong.
//!
//! Stages never print; they return [`Problem`]s, and the commands decide how to show them
//! (`path:line:col: severity: message` for people, one JSON object per line for scripts).

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How bad a problem is. Only [`Severity::Error`] makes `gazette check` fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something worth knowing that changes nothing (an ignored file, say).
    Note,
    /// The result is what Jekyll does, but probably not what the author meant.
    Warning,
    /// The post cannot be read; it is left out and the run fails.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Position {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1, in characters.
    pub column: usize,
}

impl Default for Position {
    /// The start of a file.
    fn default() -> Self {
        Position::START
    }
}

impl Position {
    /// The start of a file.
    pub(crate) const START: Position = Position { line: 1, column: 1 };

    /// The position at `line` and `column`, both 1-based.
    pub fn new(line: usize, column: usize) -> Self {
        Position { line, column }
    }

    /// The position of byte offset `at` in `text` (clamped to the text's end).
    pub(crate) fn of_offset(text: &str, at: usize) -> Self {
        let at = at.min(text.len());
        let at = (0..=at)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        let before = &text[..at];
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let mut column = before[line_start..].chars().count() + 1;
        if line_start == 0 && before.starts_with('\u{feff}') {
            column -= 1; // a byte-order mark is not a column anyone can see
        }
        Position { line, column }
    }
}

/// One thing wrong (or worth saying) about one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The file the problem is in, as the stage was given it.
    pub path: PathBuf,
    /// Where in the file (line 1, column 1 when the problem is about the whole file).
    pub position: Position,
    /// How bad it is.
    pub severity: Severity,
    /// What is wrong, in a sentence for the site's author.
    pub message: String,
}

impl Problem {
    /// A problem of any severity at `position` in `path`.
    pub fn new(
        path: impl Into<PathBuf>,
        position: Position,
        severity: Severity,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            path: path.into(),
            position,
            severity,
            message: message.into(),
        }
    }

    /// An error ([`Severity::Error`]): what it concerns cannot be used, and the run fails.
    pub fn error(path: impl Into<PathBuf>, position: Position, message: impl Into<String>) -> Self {
        Self::new(path, position, Severity::Error, message)
    }

    /// A warning ([`Severity::Warning`]): probably not what the author meant.
    pub fn warning(
        path: impl Into<PathBuf>,
        position: Position,
        message: impl Into<String>,
    ) -> Self {
        Self::new(path, position, Severity::Warning, message)
    }

    /// A note ([`Severity::Note`]): worth knowing, but it changes nothing.
    pub fn note(path: impl Into<PathBuf>, position: Position, message: impl Into<String>) -> Self {
        Self::new(path, position, Severity::Note, message)
    }

    /// Whether this is an error, which makes the run fail.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.path.strip_prefix(".").unwrap_or(&self.path).display(),
            self.position.line,
            self.position.column,
            self.severity,
            self.message
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_character_columns() {
        let text = "ab\n中文x\n";
        assert_eq!(Position::of_offset(text, 0), Position::new(1, 1));
        assert_eq!(Position::of_offset(text, 3), Position::new(2, 1));
        // "中文" is 6 bytes but 2 characters.
        assert_eq!(Position::of_offset(text, 9), Position::new(2, 3));
        assert_eq!(Position::of_offset(text, 100), Position::new(3, 1));
    }

    #[test]
    fn displays_as_path_line_col() {
        let p = Problem::error("_posts/x.md", Position::new(3, 7), "bad date");
        assert_eq!(p.to_string(), "_posts/x.md:3:7: error: bad date");
    }
}
