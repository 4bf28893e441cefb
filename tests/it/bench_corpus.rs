//! Keeps the benchmark's corpus working with gazette: a tiny corpus from `bench/gen_corpus.py`
//! (the same generator `bench/run.py` uses) must read cleanly and build. Nothing here is timed;
//! speed is measured by `python3 bench/run.py`, never in a test.

use std::path::Path;
use std::process::Command;

use crate::support::run::{Program, Run};

/// `gazette ARGS` (the machine's zone as the test has it).
fn gazette(args: &[&str]) -> Run {
    Program::gazette(args).inherit_tz().run()
}

/// Runs the benchmark's generator: 120 posts, 6 categories, seed 3, into `out`.
fn generate(out: &Path) {
    let generator = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/gen_corpus.py");
    let made = Command::new("python3")
        .arg(&generator)
        .args([
            "--posts",
            "120",
            "--categories",
            "6",
            "--seed",
            "3",
            "--out",
        ])
        .arg(out)
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&made.stderr);
    assert!(made.status.success(), "{stderr}");
}

#[test]
fn a_tiny_benchmark_corpus_checks_clean_and_builds() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    generate(&site);
    assert_eq!(std::fs::read_dir(site.join("_posts")).unwrap().count(), 120);

    let site_arg = site.to_str().unwrap();
    let check = gazette(&["check", "--site", site_arg, "--json"]);
    assert!(check.ok(), "{}", check.stderr);
    let stdout = check.stdout;
    let posts = stdout
        .lines()
        .filter(|l| l.starts_with(r#"{"type":"post""#))
        .count();
    assert_eq!(posts, 120);
    let errors = stdout
        .lines()
        .filter(|l| l.contains(r#""severity":"error""#))
        .count();
    assert_eq!(errors, 0, "{stdout}");

    // A few posts run Liquid (includes, _data, post_url, highlight...) and kramdown's
    // extensions, with the include and the data file in the site, as a real site has them.
    assert!(site.join("_includes/source.html").is_file());
    assert!(site.join("_data/desk.yml").is_file());
    let liquid_posts = std::fs::read_dir(site.join("_posts"))
        .unwrap()
        .filter(|e| {
            let text = std::fs::read_to_string(e.as_ref().unwrap().path()).unwrap();
            text.contains("{% include source.html") && text.contains("{{ site.title }}")
        })
        .count();
    assert!(
        (2..=12).contains(&liquid_posts),
        "{liquid_posts} posts with Liquid"
    );

    let out = dir.path().join("out");
    let build = gazette(&["build", "--site", site_arg, "--out", out.to_str().unwrap()]);
    assert!(build.ok(), "{}", build.stderr);
    let build_stderr = build.stderr;
    // Every tag and include resolves: no Liquid warning, and no Liquid source in a feed.
    assert!(!build_stderr.contains("warning:"), "{build_stderr}");
    assert!(out.join("feed.rss.xml").is_file());
    assert!(out.join("feeds.opml").is_file());
    let mut feeds = String::new();
    for folder in [out.clone(), out.join("categories"), out.join("tags")] {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "xml") {
                feeds.push_str(&std::fs::read_to_string(path).unwrap());
            }
        }
    }
    assert!(!feeds.contains("{%"), "Liquid source left in a feed");
    // The include, rendered with the site's title, is in the feeds of the posts shown.
    assert!(feeds.contains("由财经快讯镜像站转载"));
    // Generated twice with one seed, the corpus is the same: the benchmark is repeatable.
    let again = dir.path().join("again");
    generate(&again);
    for entry in std::fs::read_dir(site.join("_posts")).unwrap() {
        let entry = entry.unwrap();
        let twin = again.join("_posts").join(entry.file_name());
        assert_eq!(
            std::fs::read(entry.path()).unwrap(),
            std::fs::read(twin).unwrap()
        );
    }
}

/// The benchmark script itself, at a tiny size with this test's binary (nothing is timed: the
/// figures are thrown away): it must run every scenario and write a report with a floor ratio
/// on every row and the targets table, and the SVG chart beside it. (`--compare`, which runs
/// Jekyll and Hugo, is not run here: CI has neither.)
#[test]
fn the_benchmark_script_runs_end_to_end_at_a_tiny_size() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.md");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/run.py");
    let run = Command::new("python3")
        .arg(&script)
        .args([
            "--quick",
            "--sizes",
            "40",
            "--subscribers",
            "12",
            "--categories",
            "5",
        ])
        .args(["--gazette", env!("CARGO_BIN_EXE_gazette"), "--cache"])
        .arg(dir.path().join("cache"))
        .arg("--out")
        .arg(&report)
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let text = std::fs::read_to_string(&report).unwrap();
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("| gazette "))
        .collect();
    assert_eq!(rows.len(), 6, "{text}");
    for row in &rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert!(cells[5].ends_with('×'), "no floor ratio: {row}");
        assert!(!row.contains("not yet implemented"), "{row}");
    }
    assert!(text.contains("## Targets"), "{text}");
    // The chart beside the report, drawn from those figures and embedded in it.
    let chart = std::fs::read_to_string(dir.path().join("report.svg")).unwrap();
    assert!(chart.starts_with("<svg") && chart.trim_end().ends_with("</svg>"));
    assert!(chart.contains("gazette, cold build"), "{chart}");
    assert!(text.contains("](report.svg)"), "{text}");
}
