//! Hostile input and faults, round two: what a user sees on the command line: file names that are not UTF-8, standard output that cannot be written, a folder that is not a site, and paths in check --json.
//!
//! Each test runs the real binary. Standard output that cannot be written is made two ways: a
//! pipe whose reading end is closed before gazette starts (every write fails with `EPIPE`, as
//! under `gazette … | true`), and `/dev/full` (every write fails with `ENOSPC`).

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::support::site::{run_in, JsonRun, Program, Run, Site};
use crate::support::smtp;

const CONFIG: &str = "title: Hostile\nurl: https://hostile.example.com\ntimezone: UTC\n";
const GOOD: &str = "---\ntitle: Good post\ncategories: [news]\n---\nGood body.\n";
const GOOD_PATH: &str = "_posts/2022-01-01-good.md";
/// A post Jekyll cannot read: its date does not exist.
const IMPOSSIBLE: &str = "---\ntitle: Never\ndate: 2022-02-30\n---\nBody.\n";
/// A post with a warning (a number as tags), and no error.
const WARNED: &str = "---\ntitle: Numbered\ntags: 996\n---\nBody.\n";

/// Where standard output goes.
#[derive(Clone, Copy, Debug)]
enum Stdout {
    /// A pipe whose reader is gone before gazette writes anything.
    ClosedPipe,
    /// `/dev/full`: a disk with no space left.
    Full,
}

/// Runs gazette in `cwd` with `args`, its standard output going to `stdout`; fails the test
/// when gazette panicked or was killed.
fn run_to(cwd: &Path, args: &[&str], stdout: Stdout) -> Run {
    let out: Stdio = match stdout {
        Stdout::ClosedPipe => {
            let (reader, writer) = std::io::pipe().expect("a pipe");
            drop(reader);
            writer.into()
        }
        Stdout::Full => fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full")
            .into(),
    };
    let output = Program::gazette(args).cwd(cwd).stdout(out).lossy().run();
    assert!(
        !output.stderr.contains("panicked") && output.code.is_some_and(|c| c != 101),
        "gazette {args:?} > {stdout:?} panicked or was killed ({:?}):\n{}",
        output.code,
        output.stderr
    );
    output
}

fn stderr(output: &Run) -> String {
    output.stderr.clone()
}

/// The one line a full standard output gives, with exit status 1.
fn assert_full_disk_said_once(output: &Run) {
    let text = stderr(output);
    assert_eq!(output.code, Some(1), "{text}");
    let said: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("standard output"))
        .collect();
    assert_eq!(said.len(), 1, "one message about standard output:\n{text}");
    assert!(
        said[0].starts_with("gazette: cannot write to standard output: "),
        "{text}"
    );
}

/// A closed pipe: nothing said, and the command's own status.
fn assert_quiet(output: &Run, code: i32) {
    let text = stderr(output);
    assert_eq!(output.code, Some(code), "{text}");
    assert!(
        !text.contains("standard output") && !text.to_lowercase().contains("broken pipe"),
        "a closed pipe is not an error:\n{text}"
    );
}

fn good_site() -> Site {
    let site = Site::new(CONFIG);
    site.write(GOOD_PATH, GOOD);
    site
}

fn feed(site: &Site) -> PathBuf {
    site.path().join("_site/feeds/feed.atom.xml")
}

// ---------------------------------------------------------------------------------------------
// 1. File names that are not UTF-8

/// `_posts/<date>-caf\xE9.md`: a Latin-1 name, as an old archive copied onto Linux has.
fn latin1(date: &str) -> Vec<u8> {
    let mut name = format!("{date}-caf").into_bytes();
    name.push(0xE9);
    name.extend_from_slice(b".md");
    name
}

fn write_raw(site: &Site, name: &[u8], content: &str) -> Vec<u8> {
    let path = site.path().join("_posts").join(OsStr::from_bytes(name));
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, content).unwrap();
    let mut relative = b"_posts/".to_vec();
    relative.extend_from_slice(name);
    relative
}

fn bytes_of(value: &serde_json::Value) -> Vec<u8> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("path_bytes is an array: {value}"))
        .iter()
        .map(|b| {
            b.as_u64()
                .and_then(|b| u8::try_from(b).ok())
                .unwrap_or_else(|| panic!("a byte: {b}"))
        })
        .collect()
}

#[test]
fn check_json_reports_posts_and_problems_whose_file_names_are_not_utf8() {
    let site = good_site();
    let good = write_raw(&site, &latin1("2022-01-02"), GOOD);
    let bad = write_raw(&site, &latin1("2022-01-03"), IMPOSSIBLE);

    let json = site.check_json(&[]);
    assert_eq!(
        json.code,
        Some(1),
        "the impossible date is an error: {json:?}"
    );
    assert_eq!(json.posts.len(), 2, "{json:?}");
    let post = json
        .posts
        .iter()
        .find(|p| p.get("path_bytes").is_some())
        .unwrap_or_else(|| panic!("the Latin-1 post has path_bytes: {json:?}"));
    assert_eq!(post["path"], "_posts/2022-01-02-caf\u{FFFD}.md");
    assert_eq!(bytes_of(&post["path_bytes"]), good);
    assert_eq!(post["title"], "Good post");
    let other = json
        .posts
        .iter()
        .find(|p| p["path"] == GOOD_PATH)
        .expect("the UTF-8 post");
    assert!(
        other.get("path_bytes").is_none(),
        "only when needed: {other}"
    );

    let problem = json
        .problems
        .iter()
        .find(|p| p["severity"] == "error")
        .unwrap_or_else(|| panic!("the impossible date: {json:?}"));
    assert_eq!(problem["path"], "_posts/2022-01-03-caf\u{FFFD}.md");
    assert_eq!(bytes_of(&problem["path_bytes"]), bad);

    // For people: the same file, its odd byte shown as U+FFFD, and the same status.
    let plain = site.check(&["--no-cache"]);
    assert_eq!(plain.code, Some(1), "{plain:?}");
    assert!(
        plain
            .stderr
            .contains("_posts/2022-01-03-caf\u{FFFD}.md:3:7: error: "),
        "{plain:?}"
    );
    assert!(plain.stdout.starts_with("2 posts;"), "{plain:?}");
}

// ---------------------------------------------------------------------------------------------
// 2. Standard output that cannot be written

#[test]
fn build_to_a_closed_pipe_ends_quietly_and_writes_every_feed() {
    let site = good_site();
    let output = run_to(site.path(), &["build", "--site", "."], Stdout::ClosedPipe);
    assert_quiet(&output, 0);
    let atom = fs::read_to_string(feed(&site)).expect("the feed was written");
    assert!(atom.contains("Good post"), "{atom}");
}

#[test]
fn build_to_a_full_disk_says_so_once_and_keeps_every_feed() {
    let site = good_site();
    let output = run_to(site.path(), &["build", "--site", "."], Stdout::Full);
    assert_full_disk_said_once(&output);
    let atom = fs::read_to_string(feed(&site)).expect("the feed was written");
    assert!(atom.contains("Good post"), "{atom}");
    // The build itself is sound: a second one with a working stdout changes nothing.
    let again = run_in(site.path(), &["build", "--site", "."]);
    assert_eq!(again.code, Some(0), "{again:?}");
    assert!(again.stdout.contains("0 files written"), "{again:?}");
}

#[test]
fn check_to_a_closed_pipe_ends_quietly_with_its_own_status() {
    let site = good_site();
    for args in [&["check"][..], &["check", "--json"]] {
        let output = run_to(site.path(), args, Stdout::ClosedPipe);
        assert_quiet(&output, 0);
    }
    // An invalid post keeps check's own status, 1, and its problems still reach stderr.
    site.write("_posts/2022-01-05-never.md", IMPOSSIBLE);
    let output = run_to(site.path(), &["check"], Stdout::ClosedPipe);
    assert_quiet(&output, 1);
    assert!(
        stderr(&output).contains("_posts/2022-01-05-never.md:3:7: error: "),
        "{}",
        stderr(&output)
    );
    let output = run_to(site.path(), &["check", "--json"], Stdout::ClosedPipe);
    assert_quiet(&output, 1);
}

#[test]
fn check_to_a_full_disk_says_so_once() {
    let site = good_site();
    for args in [&["check"][..], &["check", "--json"]] {
        let output = run_to(site.path(), args, Stdout::Full);
        assert_full_disk_said_once(&output);
    }
}

#[test]
fn unsubscribe_to_a_closed_pipe_or_a_full_disk_still_records_it() {
    let site = smtp::Site::new(&smtp::small_config(""));
    let output = run_to(
        site.path(),
        &["unsubscribe", "--site", ".", "a@example.com"],
        Stdout::ClosedPipe,
    );
    assert_quiet(&output, 0);
    let output = run_to(
        site.path(),
        &["unsubscribe", "--site", ".", "b@example.com"],
        Stdout::Full,
    );
    assert_full_disk_said_once(&output);
    for address in ["a@example.com", "b@example.com"] {
        let again = run_in(site.path(), &["unsubscribe", "--site", ".", address]);
        assert_eq!(again.code, Some(0), "{again:?}");
        assert_eq!(
            again.stdout,
            format!("{address} was already unsubscribed\n"),
            "the first run recorded it"
        );
    }
}

fn outbox(site: &smtp::Site) -> Vec<PathBuf> {
    let mut mails: Vec<PathBuf> = fs::read_dir(site.path().join("_gazette/outbox"))
        .map(|entries| entries.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    mails.sort();
    mails
}

#[test]
fn digest_to_a_closed_pipe_or_a_full_disk_keeps_every_mail_recorded() {
    for stdout in [Stdout::ClosedPipe, Stdout::Full] {
        let site = smtp::Site::example(&smtp::example_config(""));
        let args = ["digest", "--site", ".", "--week", "2022-W02"];
        let output = run_to(site.path(), &args, stdout);
        match stdout {
            Stdout::ClosedPipe => assert_quiet(&output, 0),
            Stdout::Full => assert_full_disk_said_once(&output),
        }
        let sent = outbox(&site);
        assert!(!sent.is_empty(), "{stdout:?}: the digest was sent");
        // Recorded in the ledger: a second run sends nothing more.
        let again = run_in(site.path(), &args);
        assert_eq!(again.code, Some(0), "{again:?}");
        assert_eq!(outbox(&site), sent, "{stdout:?}: sent twice");
    }
}

// ---------------------------------------------------------------------------------------------
// 13. A folder that is not a Jekyll site

/// Every file and folder below `dir`, to see that nothing was added.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            all.push(path);
        }
    }
    all.sort();
    all
}

#[test]
fn commands_outside_a_site_say_so_and_create_nothing() {
    // A home folder, say: Markdown files named like posts, but no _config.yml and no _posts/.
    let home = Site::without_config();
    home.write("notes/2022-01-01-groceries.md", GOOD);
    home.write("blog-draft/_drafts/2022-01-01-idea.md", GOOD);
    let before = tree(home.path());
    for args in [
        &["build"][..],
        &["check"],
        &["check", "--json"],
        &["digest", "--week", "2022-W02"],
        &["unsubscribe", "a@example.com"],
    ] {
        let run = run_in(home.path(), args);
        assert_eq!(run.code, Some(1), "{args:?}: {run:?}");
        assert!(run.stdout.is_empty(), "{args:?}: {run:?}");
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: one line: {run:?}");
        assert!(
            lines[0].starts_with("gazette: this folder (")
                && lines[0].contains(") is not a Jekyll site: no _config.yml and no _posts/"),
            "{args:?}: {run:?}"
        );
        assert_eq!(tree(home.path()), before, "{args:?} created something");
    }
    // The same with --site naming it.
    let elsewhere = Site::without_config();
    let site_arg = home.path().to_str().unwrap();
    let run = run_in(elsewhere.path(), &["build", "--site", site_arg]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .starts_with(&format!("gazette: {site_arg} is not a Jekyll site: ")),
        "{run:?}"
    );
    assert_eq!(tree(home.path()), before);
    // A folder that does not exist is named as such.
    let missing = home.path().join("no-such-site");
    let run = run_in(home.path(), &["check", "--site", missing.to_str().unwrap()]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.starts_with(&format!(
            "gazette: cannot read the site folder {}: ",
            missing.display()
        )),
        "{run:?}"
    );
}

#[test]
fn a_site_needs_only_one_of_config_or_posts() {
    // Only _posts/: a site (Jekyll builds it with its defaults).
    let posts_only = Site::without_config();
    posts_only.write(GOOD_PATH, GOOD);
    let run = run_in(posts_only.path(), &["check"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.starts_with("1 post;"), "{run:?}");
    // Only _config.yaml: a site with no post yet.
    let yaml_only = Site::without_config();
    yaml_only.write("_config.yaml", CONFIG);
    let run = run_in(yaml_only.path(), &["check"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.starts_with("0 posts;"), "{run:?}");
}

// ---------------------------------------------------------------------------------------------
// 21. One form for the paths of check --json

/// `<tempdir>/blog`, a site with a post that has a warning and one that is invalid.
fn blog() -> (Site, PathBuf) {
    let root = Site::without_config();
    let site = root.path().join("blog");
    fs::create_dir_all(site.join("_posts")).unwrap();
    fs::write(site.join("_config.yml"), CONFIG).unwrap();
    fs::write(site.join("_posts/2022-01-01-numbered.md"), WARNED).unwrap();
    fs::write(site.join("_posts/2022-01-02-never.md"), IMPOSSIBLE).unwrap();
    (root, site)
}

#[test]
fn check_json_gives_problem_paths_in_the_form_of_post_paths() {
    // The site given as a relative folder, one with `./` and a slash, and an absolute one (run
    // from `/`). Each on a site of its own: the post cache's paths are not what is tested here.
    for site_arg in ["blog", "./blog/", "absolute"] {
        let (root, site) = blog();
        let absolute = site.to_str().unwrap().to_string();
        let (cwd, site_arg) = match site_arg {
            "absolute" => (Path::new("/"), absolute.as_str()),
            relative => (root.path(), relative),
        };
        let json = JsonRun::parse(run_in(cwd, &["check", "--json", "--site", site_arg]));
        assert_eq!(json.code, Some(1), "{site_arg}: {json:?}");
        assert_eq!(
            json.paths(),
            ["_posts/2022-01-01-numbered.md"],
            "{site_arg}"
        );
        let problem_paths: Vec<&str> = json
            .problems
            .iter()
            .map(|p| p["path"].as_str().unwrap())
            .collect();
        assert_eq!(
            problem_paths,
            [
                "_posts/2022-01-01-numbered.md",
                "_posts/2022-01-02-never.md"
            ],
            "{site_arg}: problems name their posts as the posts do: {json:?}"
        );
        // People still get paths they can open from where they are.
        let plain = run_in(cwd, &["check", "--site", site_arg]);
        let shown = site_arg.trim_start_matches("./").trim_end_matches('/');
        assert!(
            plain.stderr.starts_with(&format!(
                "{shown}/_posts/2022-01-01-numbered.md:3:7: warning: "
            )),
            "{site_arg}: {plain:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 22. unsubscribe reads no post, so it has no cache to turn off

#[test]
fn unsubscribe_offers_no_no_cache_option() {
    let site = smtp::Site::new(&smtp::small_config(""));
    let help = run_in(site.path(), &["unsubscribe", "--help"]);
    assert_eq!(help.code, Some(0), "{help:?}");
    assert!(help.stdout.contains("--site <DIR>"), "{}", help.stdout);
    assert!(!help.stdout.contains("--no-cache"), "{}", help.stdout);
    let output = Program::gazette(["unsubscribe", "--site", ".", "--no-cache", "a@example.com"])
        .cwd(site.path())
        .lossy()
        .run();
    assert_eq!(output.code, Some(2), "a usage error: {output:?}");
    assert!(
        stderr(&output).contains("unexpected argument '--no-cache'"),
        "{output:?}"
    );
    // The commands that read posts keep it.
    for command in ["check", "build", "digest"] {
        let help = run_in(site.path(), &[command, "--help"]);
        assert!(help.stdout.contains("--no-cache"), "{command}: {help:?}");
    }
}

#[test]
fn cached_problems_name_the_site_as_this_run_names_it() {
    let root = tempfile::tempdir().unwrap();
    let blog = root.path().join("blog");
    fs::create_dir_all(blog.join("_posts")).unwrap();
    fs::write(blog.join("_config.yml"), CONFIG).unwrap();
    fs::write(blog.join("_posts/2022-01-02-warned.md"), WARNED).unwrap();
    // The first run names the site `blog` and fills the cache.
    let first = run_in(root.path(), &["check", "--site", "blog"]);
    assert!(
        first
            .stderr
            .starts_with("blog/_posts/2022-01-02-warned.md:"),
        "{}",
        first.stderr
    );
    assert!(blog.join(".gazette/posts.cache").exists());
    // The second names it by its absolute path, from elsewhere, and reads from the cache.
    let absolute = blog.display().to_string();
    let second = run_in(Path::new("/"), &["check", "--site", &absolute]);
    assert!(
        second
            .stderr
            .starts_with(&format!("{absolute}/_posts/2022-01-02-warned.md:")),
        "{}",
        second.stderr
    );
    // And from inside, as `.`.
    let third = run_in(&blog, &["check", "--site", "."]);
    assert!(
        third.stderr.starts_with("_posts/2022-01-02-warned.md:"),
        "{}",
        third.stderr
    );
}
