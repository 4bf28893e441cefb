//! Helpers for the integration tests: a site in a temporary folder ([`Site`]), runs of the real
//! `gazette` binary on it ([`super::run`]), and what a folder holds ([`snapshot`], [`files`]).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

pub use super::run::{gazette_bin, run_in, Expect, Program, Run};

/// The configuration most tests use: a fixed zone, so that results do not depend on the machine.
pub const SHANGHAI: &str = "timezone: Asia/Shanghai\n";

/// A Jekyll site in a temporary folder, removed when dropped, and how its runs of `gazette` are
/// made: in the site's folder, the machine's zone pinned (`TZ`), checked as [`SiteOptions`] say.
pub struct Site {
    root: tempfile::TempDir,
    dir: PathBuf,
    out: PathBuf,
    tz: &'static str,
    lossy: bool,
    expect: Expect,
}

/// How a [`Site`] is laid out and run; [`Site::options`] gives the defaults: the site is the
/// temporary folder itself, feeds go to `_site/feeds`, runs have `TZ=UTC`, must print UTF-8,
/// must not panic and must exit with 0 or 1.
#[derive(Clone, Copy, Debug)]
pub struct SiteOptions {
    prefix: &'static str,
    inside_root: bool,
    out_beside: bool,
    tz: &'static str,
    lossy: bool,
    expect: Expect,
}

impl SiteOptions {
    /// The temporary folder's name starts with `prefix`.
    pub fn prefix(mut self, prefix: &'static str) -> SiteOptions {
        self.prefix = prefix;
        self
    }

    /// The site is `<tempdir>/site`, so that anything written beside it (outside the site)
    /// shows below [`Site::root`].
    pub fn inside_root(mut self) -> SiteOptions {
        self.inside_root = true;
        self
    }

    /// The output folder is `<tempdir>/out`, beside the site (with [`Self::inside_root`]),
    /// instead of the default `_site/feeds` inside it.
    pub fn out_beside(mut self) -> SiteOptions {
        self.out_beside = true;
        self
    }

    /// Runs have `TZ=tz`.
    pub fn tz(mut self, tz: &'static str) -> SiteOptions {
        self.tz = tz;
        self
    }

    /// Runs' output that is not UTF-8 is read lossily.
    pub fn lossy(mut self) -> SiteOptions {
        self.lossy = true;
        self
    }

    /// What every run must have done (see [`Expect`]).
    pub fn expect(mut self, expect: Expect) -> SiteOptions {
        self.expect = expect;
        self
    }

    /// Lossy output and nothing expected of the exit: for the hostile cases, whose every test
    /// checks the exit itself ([`Run::assert_code`]).
    pub fn lenient(self) -> SiteOptions {
        self.lossy().expect(Expect::Anything)
    }

    /// The site, its `_config.yml` holding `config`.
    pub fn create(self, config: &str) -> Site {
        let site = self.without_config();
        site.write("_config.yml", config);
        site
    }

    /// The site, with no `_config.yml` at all.
    pub fn without_config(self) -> Site {
        let root = tempfile::Builder::new()
            .prefix(self.prefix)
            .tempdir()
            .expect("a temporary folder");
        let dir = if self.inside_root {
            let dir = root.path().join("site");
            std::fs::create_dir(&dir).unwrap();
            dir
        } else {
            root.path().to_path_buf()
        };
        let out = if self.out_beside {
            root.path().join("out")
        } else {
            dir.join("_site/feeds")
        };
        Site {
            root,
            dir,
            out,
            tz: self.tz,
            lossy: self.lossy,
            expect: self.expect,
        }
    }
}

impl Site {
    /// The defaults, to change before [`SiteOptions::create`].
    pub fn options() -> SiteOptions {
        SiteOptions {
            prefix: "gazette-check-",
            inside_root: false,
            out_beside: false,
            tz: "UTC",
            lossy: false,
            expect: Expect::Clean,
        }
    }

    /// A site whose `_config.yml` holds `config`, with the default options.
    pub fn new(config: &str) -> Site {
        Site::options().create(config)
    }

    /// A site with no `_config.yml` at all, with the default options.
    pub fn without_config() -> Site {
        Site::options().without_config()
    }

    /// The site's folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The temporary folder: the site's folder, or the folder that holds it
    /// ([`SiteOptions::inside_root`]).
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The output folder (`_site/feeds` by default).
    pub fn out(&self) -> PathBuf {
        self.out.clone()
    }

    /// Writes `content` to `relative` (creating folders), returning the full path.
    pub fn write(&self, relative: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }

    /// The text of `relative` in the output folder.
    pub fn read_out(&self, relative: &str) -> String {
        let path = self.out.join(relative);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// `gazette ARGS` in the site's folder, as the site's options say, to adjust and run.
    pub fn gazette<S: AsRef<std::ffi::OsStr>>(&self, args: impl IntoIterator<Item = S>) -> Program {
        let program = Program::gazette(args)
            .cwd(&self.dir)
            .tz(self.tz)
            .expect(self.expect);
        if self.lossy {
            program.lossy()
        } else {
            program
        }
    }

    /// `gazette ARGS` run in the site's folder (so paths print relative to it).
    pub fn run(&self, args: &[&str]) -> Run {
        self.gazette(args).run()
    }

    /// The same with the machine's zone `TZ=tz`.
    pub fn run_tz(&self, args: &[&str], tz: &str) -> Run {
        self.gazette(args).tz(tz).run()
    }

    /// `gazette build --site .`.
    pub fn build(&self) -> Run {
        self.run(&["build", "--site", "."])
    }

    /// `gazette check --site . ARGS` run inside the site folder, so paths print relative.
    pub fn check(&self, args: &[&str]) -> Run {
        let mut all = vec!["check", "--site", "."];
        all.extend_from_slice(args);
        self.run(&all)
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

// ------------------------------------------------------------------------------------------
// What a folder holds

/// Every file below a folder (hidden ones too) with its bytes, by relative path.
pub type Snapshot = BTreeMap<PathBuf, Vec<u8>>;

/// Every non-folder entry below `dir` with its bytes (read through links), by relative path;
/// empty when `dir` does not exist.
pub fn snapshot(dir: &Path) -> Snapshot {
    let mut files = Vec::new();
    list_files(dir, &mut files);
    files
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f).unwrap();
            (f.strip_prefix(dir).unwrap().to_path_buf(), bytes)
        })
        .collect()
}

/// Every non-folder entry below `dir`, symbolic links not followed, appended to `out`.
pub fn list_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            list_files(&entry.path(), out);
        } else {
            out.push(entry.path());
        }
    }
}

/// Every entry below `dir` that is not a folder (links included, not followed), relative.
pub fn files(dir: &Path) -> BTreeSet<PathBuf> {
    let mut all = Vec::new();
    list_files(dir, &mut all);
    all.into_iter()
        .map(|f| f.strip_prefix(dir).unwrap().to_path_buf())
        .collect()
}

// ------------------------------------------------------------------------------------------
// A full disk

/// A tmpfs of 64 KiB mounted for the test, unmounted when dropped; `None` where this process
/// may not mount.
pub struct Tmpfs {
    pub dir: tempfile::TempDir,
}

impl Tmpfs {
    pub fn mount() -> Option<Tmpfs> {
        let dir = tempfile::Builder::new()
            .prefix("gazette-full-")
            .tempdir()
            .ok()?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(Tmpfs { dir })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// A `--json` run: the post lines, the problem lines and the summary line, in that order.
#[derive(Debug)]
pub struct JsonRun {
    pub code: Option<i32>,
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
