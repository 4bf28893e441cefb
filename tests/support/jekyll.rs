//! Running the real `jekyll` as an oracle: whether it is installed (and what to do when it is
//! not), and `jekyll build` in a clean environment.

use super::run::Program;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// Whether `program` is a file in a folder on `PATH`.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            let candidate = dir.join(program);
            fs::metadata(&candidate).is_ok_and(|m| m.is_file())
        })
    })
}

/// Whether `jekyll` can run. When it cannot, a test named `test` that needs it says so loudly
/// and is skipped, or fails under `GAZETTE_REQUIRE_JEKYLL=1`.
pub fn available(test: &str) -> bool {
    if on_path("jekyll") {
        return true;
    }
    if std::env::var("GAZETTE_REQUIRE_JEKYLL").as_deref() == Ok("1") {
        panic!("GAZETTE_REQUIRE_JEKYLL=1 but `jekyll` is not on PATH (apt-get install jekyll)");
    }
    // Written to the real stderr, not through `eprintln!`, so that the test harness does not
    // swallow it when the test "passes".
    let _ = std::io::stderr().write_all(
        format!(
            "\n************************************************************\n\
             *** {test} skipped: jekyll not installed\n\
             *** (set GAZETTE_REQUIRE_JEKYLL=1 to make this a failure) ***\n\
             ************************************************************\n"
        )
        .as_bytes(),
    );
    false
}

/// `jekyll build` of `site` into `destination`, run in `scratch` with a private `HOME` there,
/// in production mode, in a UTF-8 locale, and with no `TZ`, bundler or `RUBYOPT` from the
/// caller. Add arguments (`--safe`) or variables before running it.
pub fn build(site: &Path, destination: &Path, scratch: &Path) -> Program {
    let home = scratch.join("home");
    fs::create_dir_all(&home).unwrap();
    Program::new("jekyll")
        .arg("build")
        .arg("--source")
        .arg(site)
        .arg("--destination")
        .arg(destination)
        .args(["--quiet", "--disable-disk-cache"])
        .cwd(scratch)
        .env("HOME", &home)
        .env("JEKYLL_ENV", "production")
        .env("JEKYLL_NO_BUNDLER_REQUIRE", "true")
        .env("LANG", "C.UTF-8")
        .env("LC_ALL", "C.UTF-8")
        .env_remove("TZ")
        .env_remove("BUNDLE_GEMFILE")
        .env_remove("RUBYOPT")
}

/// Runs `program` with a time limit; returns whether it succeeded, its stdout and stderr.
pub fn run(program: Program, limit: Duration, name: &str) -> (bool, String, String) {
    let run = program.name(name).deadline(limit).lossy().run();
    (run.ok(), run.stdout, run.stderr)
}
