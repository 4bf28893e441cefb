//! Runs of a program with a deadline, its output read by threads: the real `gazette` binary
//! ([`Program::gazette`]: the machine's zone pinned, stdin closed, no secret inherited), or any
//! other program a test compares gazette with (`jekyll`). One type, [`Run`], holds what a run
//! gave: exit code, stdout, stderr, time taken.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::smtp::*;

/// How long any single run may take before it counts as hung.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// The `gazette` binary Cargo built for these tests.
pub fn gazette_bin() -> &'static str {
    env!("CARGO_BIN_EXE_gazette")
}

/// What a run must have done for the test to go on (checked when it ends).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Nothing: the test looks at the exit itself (a run killed by a signal has no code).
    Anything,
    /// No panic message on stderr.
    NoPanic,
    /// No panic, and exit code 0 or 1 (gazette's two outcomes).
    Clean,
}

/// The machine's zone a run sees.
#[derive(Clone, Debug)]
enum Tz {
    /// `TZ=…`.
    Pinned(String),
    /// No `TZ`: the machine's own zone.
    Unset,
    /// The test's own `TZ`, if any.
    Inherited,
}

/// A program to run: the arguments, folder and environment of a [`Command`], and how the run
/// is watched (its deadline, what it must have done, whether its output must be UTF-8).
pub struct Program {
    command: Command,
    name: String,
    tz: Tz,
    stdout: Option<Stdio>,
    deadline: Duration,
    strict_utf8: bool,
    expect: Expect,
}

impl Program {
    /// `program`, stdin closed, the environment inherited, [`DEADLINE`], output read lossily,
    /// nothing expected of the exit.
    pub fn new(program: impl AsRef<OsStr>) -> Program {
        let program = program.as_ref();
        let name = Path::new(program)
            .file_name()
            .unwrap_or(program)
            .to_string_lossy()
            .into_owned();
        let mut command = Command::new(program);
        command.stdin(Stdio::null());
        Program {
            command,
            name,
            tz: Tz::Inherited,
            stdout: None,
            deadline: DEADLINE,
            strict_utf8: false,
            expect: Expect::Anything,
        }
    }

    /// The real `gazette` with `args`: the machine's zone pinned to UTC, no `RUST_BACKTRACE`,
    /// no digest secret or SMTP password inherited; stdout and stderr must be UTF-8.
    pub fn gazette<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Program {
        let mut program = Program::new(gazette_bin()).args(args).tz("UTC");
        program.name = "gazette".into();
        program.strict_utf8 = true;
        program
            .env_remove("RUST_BACKTRACE")
            .env_remove("GAZETTE_SECRET")
            .env_remove(PASSWORD_ENV)
    }

    /// The name the run is called by in messages (and in the deadline's panic).
    pub fn name(mut self, name: &str) -> Program {
        self.name = name.to_string();
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Program {
        self.command.arg(arg);
        self
    }

    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Program {
        self.command.args(args);
        self
    }

    /// Runs in `dir` (by default, in the test's own folder).
    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Program {
        self.command.current_dir(dir);
        self
    }

    /// The machine's zone, `TZ=tz`.
    pub fn tz(mut self, tz: &str) -> Program {
        self.tz = Tz::Pinned(tz.to_string());
        self
    }

    /// No `TZ` at all: the machine's own zone.
    pub fn no_tz(mut self) -> Program {
        self.tz = Tz::Unset;
        self
    }

    /// The test's own `TZ`, if it has one.
    pub fn inherit_tz(mut self) -> Program {
        self.tz = Tz::Inherited;
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Program {
        if key.as_ref() == "TZ" {
            return self.tz(&value.as_ref().to_string_lossy());
        }
        self.command.env(key, value);
        self
    }

    pub fn envs<'a>(mut self, vars: impl IntoIterator<Item = &'a (&'a str, &'a str)>) -> Program {
        for (k, v) in vars {
            self = self.env(k, v);
        }
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Program {
        if key.as_ref() == "TZ" {
            return self.no_tz();
        }
        self.command.env_remove(key);
        self
    }

    /// Stdout goes to `to` (a closed pipe, `/dev/full`, …) instead of being read.
    pub fn stdout(mut self, to: impl Into<Stdio>) -> Program {
        self.stdout = Some(to.into());
        self
    }

    /// Anything else on the command (the user it runs as…).
    pub fn configure(mut self, f: impl FnOnce(&mut Command)) -> Program {
        f(&mut self.command);
        self
    }

    pub fn deadline(mut self, deadline: Duration) -> Program {
        self.deadline = deadline;
        self
    }

    /// Output that is not UTF-8 is read lossily instead of failing the test.
    pub fn lossy(mut self) -> Program {
        self.strict_utf8 = false;
        self
    }

    pub fn expect(mut self, expect: Expect) -> Program {
        self.expect = expect;
        self
    }

    pub fn start(mut self) -> Running {
        match &self.tz {
            Tz::Pinned(tz) => {
                self.command.env("TZ", tz);
            }
            Tz::Unset => {
                self.command.env_remove("TZ");
            }
            Tz::Inherited => {}
        }
        self.command
            .stdout(self.stdout.take().unwrap_or_else(Stdio::piped))
            .stderr(Stdio::piped());
        let mut child = self
            .command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.name));
        let out = child.stdout.take().map(drain);
        let err = child.stderr.take().map(drain);
        Running {
            child,
            started: Instant::now(),
            out,
            err,
            name: self.name,
            deadline: self.deadline,
            strict_utf8: self.strict_utf8,
            expect: self.expect,
        }
    }

    /// Runs to the end; a run still going at the deadline is killed and fails the test.
    pub fn run(self) -> Run {
        self.start().wait()
    }
}

/// `gazette ARGS` in `cwd` (the machine's zone pinned to UTC); fails the test when the binary
/// panicked, was killed, or exited with other than 0 or 1.
pub fn run_in(cwd: &Path, args: &[&str]) -> Run {
    Program::gazette(args).cwd(cwd).expect(Expect::Clean).run()
}

/// What a run printed, and how it ended.
#[derive(Debug)]
pub struct Run {
    /// The exit code; `None` when killed by a signal (or at its deadline, see
    /// [`Running::wait_or_kill`]).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// Exit code 0.
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// Exit code `code`, and no panic.
    pub fn assert_code(&self, code: i32) -> &Run {
        assert!(
            !self.stderr.contains("panicked"),
            "gazette panicked:\n{}",
            self.stderr
        );
        assert_eq!(self.code, Some(code), "unexpected exit: {self:#?}");
        self
    }

    /// Stderr holds each of `expected`.
    pub fn assert_stderr_has(&self, expected: &[&str]) -> &Run {
        for line in expected {
            assert!(
                self.stderr.contains(line),
                "stderr lacks {line:?}:\n{}",
                self.stderr
            );
        }
        self
    }

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

/// A running program, its output read by threads so that it never blocks on a full pipe.
pub struct Running {
    child: Child,
    started: Instant,
    out: Option<std::thread::JoinHandle<Vec<u8>>>,
    err: Option<std::thread::JoinHandle<Vec<u8>>>,
    name: String,
    deadline: Duration,
    strict_utf8: bool,
    expect: Expect,
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
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// SIGKILL.
    pub fn kill(mut self) -> Run {
        let _ = self.child.kill();
        self.finish()
    }

    /// Waits for the end, at most the deadline; a run still going then is killed and the test
    /// fails (it hung).
    pub fn wait(mut self) -> Run {
        if self.wait_until_deadline() {
            return self.finish();
        }
        let _ = self.child.kill();
        let deadline = self.deadline;
        let name = self.name.clone();
        let run = self.finish_unchecked();
        panic!(
            "{name} did not finish within {deadline:?}: it hung\nstdout:\n{}\nstderr:\n{}",
            run.stdout, run.stderr
        );
    }

    /// Waits for the end, at most the deadline; a run still going then is killed, and its
    /// [`Run::code`] is `None`.
    pub fn wait_or_kill(mut self) -> Run {
        if !self.wait_until_deadline() {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let mut run = self.finish_unchecked();
            run.code = None;
            return run;
        }
        self.finish()
    }

    /// Whether it ended before the deadline.
    fn wait_until_deadline(&mut self) -> bool {
        loop {
            if self.child.try_wait().unwrap().is_some() {
                return true;
            }
            if self.started.elapsed() > self.deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn finish_unchecked(&mut self) -> Run {
        let status = self.child.wait().unwrap();
        let elapsed = self.started.elapsed();
        let read = |thread: Option<std::thread::JoinHandle<Vec<u8>>>| {
            thread.map(|t| t.join().unwrap()).unwrap_or_default()
        };
        let (out, err) = (read(self.out.take()), read(self.err.take()));
        let text = |bytes: Vec<u8>, what: &str| {
            if self.strict_utf8 {
                String::from_utf8(bytes)
                    .unwrap_or_else(|e| panic!("{}'s {what} is not UTF-8: {e}", self.name))
            } else {
                String::from_utf8_lossy(&bytes).into_owned()
            }
        };
        Run {
            code: status.code(),
            stdout: text(out, "stdout"),
            stderr: text(err, "stderr"),
            elapsed,
        }
    }

    fn finish(mut self) -> Run {
        let run = self.finish_unchecked();
        assert_no_secret(&run.stdout);
        assert_no_secret(&run.stderr);
        if self.expect != Expect::Anything {
            assert!(
                !run.stderr.contains("panicked"),
                "{} panicked:\n{}",
                self.name,
                run.stderr
            );
        }
        if self.expect == Expect::Clean {
            assert!(
                run.code == Some(0) || run.code == Some(1),
                "{} exited with {:?}: {run:?}",
                self.name,
                run.code
            );
        }
        run
    }
}
