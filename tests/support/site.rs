//! Helpers for the integration tests: a site in a temporary folder, and runs of the real
//! `gazette` binary on it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The configuration most tests use: a fixed zone, so that results do not depend on the machine.
pub const SHANGHAI: &str = "timezone: Asia/Shanghai\n";

/// The `gazette` binary Cargo built for these tests.
pub fn gazette_bin() -> &'static str {
    env!("CARGO_BIN_EXE_gazette")
}

/// A Jekyll site in a temporary folder, removed when dropped.
pub struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    /// A site whose `_config.yml` holds `config`.
    pub fn new(config: &str) -> Site {
        let site = Site::without_config();
        site.write("_config.yml", config);
        site
    }

    /// A site with no `_config.yml` at all.
    pub fn without_config() -> Site {
        Site {
            dir: tempfile::Builder::new()
                .prefix("gazette-check-")
                .tempdir()
                .expect("a temporary folder"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `content` to `relative` (creating folders), returning the full path.
    pub fn write(&self, relative: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }

    /// `gazette check --site . ARGS` run inside the site folder, so paths print relative.
    pub fn check(&self, args: &[&str]) -> Run {
        let mut all = vec!["check", "--site", "."];
        all.extend_from_slice(args);
        run_in(self.path(), &all)
    }

    /// `gazette check --site . --json ARGS`, parsed.
    pub fn check_json(&self, args: &[&str]) -> JsonRun {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        JsonRun::parse(self.check(&all))
    }

    /// Both runs, checked against each other: same exit code, and the JSON problems are the
    /// problems printed for people, in the same order.
    pub fn check_both(&self, args: &[&str]) -> (Run, JsonRun) {
        let plain = self.check(args);
        let json = self.check_json(args);
        assert_eq!(
            plain.code, json.code,
            "exit codes of the plain and --json runs differ"
        );
        assert_eq!(
            plain.stderr,
            json.problem_lines(),
            "--json problems differ from the problems printed on stderr"
        );
        (plain, json)
    }
}

/// What one run of the binary gave.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the binary with `args` in `cwd`. The machine's zone is pinned to UTC. Fails the test
/// when the binary panicked or was killed.
pub fn run_in(cwd: &Path, args: &[&str]) -> Run {
    let out = Command::new(gazette_bin())
        .args(args)
        .current_dir(cwd)
        .env("TZ", "UTC")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("gazette runs");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "gazette panicked:\n{}",
        run.stderr
    );
    assert!(
        run.code == 0 || run.code == 1,
        "gazette exited with {}: {run:?}",
        run.code
    );
    run
}

/// A `--json` run: the post lines, the problem lines and the summary line, in that order.
#[derive(Debug)]
pub struct JsonRun {
    pub code: i32,
    pub posts: Vec<Value>,
    pub problems: Vec<Value>,
    pub summary: Value,
    pub stderr: String,
}

impl JsonRun {
    pub fn parse(run: Run) -> JsonRun {
        let mut posts = Vec::new();
        let mut problems = Vec::new();
        let mut summary = None;
        for line in run.stdout.lines() {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            assert!(summary.is_none(), "a line after the summary: {line}");
            match value["type"].as_str() {
                Some("post") => {
                    assert!(problems.is_empty(), "a post after a problem: {line}");
                    posts.push(value);
                }
                Some("problem") => problems.push(value),
                Some("summary") => summary = Some(value),
                _ => panic!("a line of no known type: {line}"),
            }
        }
        JsonRun {
            code: run.code,
            posts,
            problems,
            summary: summary.expect("a summary line"),
            stderr: run.stderr,
        }
    }

    /// The problems as `path:line:col: severity: message` lines.
    pub fn problem_lines(&self) -> String {
        self.problems
            .iter()
            .map(|p| {
                format!(
                    "{}:{}:{}: {}: {}\n",
                    p["path"].as_str().unwrap(),
                    p["line"],
                    p["column"],
                    p["severity"].as_str().unwrap(),
                    p["message"].as_str().unwrap()
                )
            })
            .collect()
    }

    /// The only post.
    pub fn post(&self) -> &Value {
        assert_eq!(self.posts.len(), 1, "expected one post: {:#?}", self.posts);
        &self.posts[0]
    }

    /// The posts' source paths, in output order.
    pub fn paths(&self) -> Vec<&str> {
        self.posts
            .iter()
            .map(|p| p["path"].as_str().unwrap())
            .collect()
    }
}

/// The summary's first line, as `gazette check` prints it.
pub fn counts_line(
    posts: usize,
    drafts_in: usize,
    drafts_left_out: usize,
    unpublished: usize,
    future: usize,
    invalid: usize,
    ignored: usize,
) -> String {
    let n = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let of_which = if drafts_in > 0 {
        format!(" (of which {})", n(drafts_in, "draft", "drafts"))
    } else {
        String::new()
    };
    format!(
        "{}{of_which}; left out: {}, {unpublished} unpublished, \
         {future} in the future, {invalid} invalid, {}\n",
        n(posts, "post", "posts"),
        n(drafts_left_out, "draft", "drafts"),
        n(ignored, "ignored file", "ignored files"),
    )
}
