//! Runs of the real `gazette` binary with a deadline: a run that hangs is killed and fails the test.

#![allow(dead_code)]

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::smtp::*;

// ------------------------------------------------------------------------------------------
// Running gazette

/// What a run of `gazette` printed, and how it ended.
#[derive(Debug)]
pub struct Output {
    /// The exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Output {
    /// The stderr lines that report `kind` (`failed`/`unknown`), as their addresses.
    pub fn reported(&self, kind: &str) -> Vec<String> {
        let marker = format!(":1: {kind}: ");
        let mut out: Vec<String> = self
            .stderr
            .lines()
            .filter_map(|l| {
                let rest = &l[l.find(&marker)? + marker.len()..];
                Some(rest.split(": ").next()?.to_lowercase())
            })
            .collect();
        out.sort();
        out
    }
}

/// A running `gazette`, its output read by threads so that it never blocks on a full pipe.
pub struct Running {
    child: Child,
    started: Instant,
    out: std::thread::JoinHandle<Vec<u8>>,
    err: std::thread::JoinHandle<Vec<u8>>,
}

fn drain(mut from: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = from.read_to_end(&mut buf);
        buf
    })
}

/// Checks what every run prints: never the SMTP password, in clear or inside an AUTH PLAIN
/// blob.
pub fn assert_no_secret(text: &str) {
    assert!(
        !text.contains(PASSWORD),
        "the SMTP password was printed:\n{text}"
    );
    let blob = base64(format!("\0{USER}\0{PASSWORD}").as_bytes());
    assert!(
        !text.contains(&blob),
        "the AUTH PLAIN credentials were printed:\n{text}"
    );
}

impl Running {
    pub fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Running {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gazette"));
        cmd.args(args)
            .current_dir(dir)
            .env_remove("GAZETTE_SECRET")
            .env_remove(PASSWORD_ENV)
            .env("TZ", "America/New_York")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("gazette starts");
        let out = drain(child.stdout.take().unwrap());
        let err = drain(child.stderr.take().unwrap());
        Running {
            child,
            started: Instant::now(),
            out,
            err,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// SIGKILL.
    pub fn kill(mut self) -> Output {
        let _ = self.child.kill();
        self.finish()
    }

    /// Waits for the end, at most `deadline`; a run still going then is killed and the test
    /// fails (gazette hung).
    pub fn wait(mut self, deadline: Duration) -> Output {
        loop {
            if self.child.try_wait().unwrap().is_some() {
                return self.finish();
            }
            if self.started.elapsed() > deadline {
                let _ = self.child.kill();
                let out = self.finish();
                panic!(
                    "gazette did not finish within {deadline:?}: it hung\nstdout:\n{}\nstderr:\n{}",
                    out.stdout, out.stderr
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn finish(mut self) -> Output {
        let status = self.child.wait().unwrap();
        let elapsed = self.started.elapsed();
        let stdout = String::from_utf8(self.out.join().unwrap()).unwrap();
        let stderr = String::from_utf8(self.err.join().unwrap()).unwrap();
        assert_no_secret(&stdout);
        assert_no_secret(&stderr);
        Output {
            code: status.code(),
            stdout,
            stderr,
            elapsed,
        }
    }
}

/// How long any single run may take before it counts as hung.
pub const DEADLINE: Duration = Duration::from_secs(60);
