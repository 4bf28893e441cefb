//! Standard output and standard error, written so that their failures end a command as they
//! should, never with a panic (`println!` panics when standard output cannot be written).
//!
//! - A reader that went away (a closed pipe, `gazette check --json | head -1`: `BrokenPipe`)
//!   stops the printing quietly; the command finishes its work and ends with its own status, as
//!   ripgrep ends with 0.
//! - Any other failure (a full disk: `StorageFull`) stops the printing too, and [`finish`]
//!   reports it as one line on standard error and makes the status 1.
//!
//! The work a command did (feeds written, mails sent and recorded) stays done either way: a
//! command never stops its work because its report cannot be written. Failures are told apart by [`io::ErrorKind`], never by their text.

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// What became of standard output: the first failure decides, and after it nothing more is
/// written there.
enum State {
    Open,
    /// The reader went away.
    Closed,
    /// Anything else: said once, by [`finish`].
    Failed(io::Error),
}

static STATE: Mutex<State> = Mutex::new(State::Open);

fn state() -> MutexGuard<'static, State> {
    // A panic while the lock was held cannot leave the state half-changed.
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether standard output can still be written: false once a write failed.
pub fn is_open() -> bool {
    matches!(*state(), State::Open)
}

fn record(error: io::Error) {
    let mut state = state();
    if matches!(*state, State::Open) {
        *state = match error.kind() {
            io::ErrorKind::BrokenPipe => State::Closed,
            _ => State::Failed(error),
        };
    }
}

/// Standard output, unbuffered (`Out::stdout`, each line goes out at once, for a command that
/// prints a line now and then while other threads work) or through a buffer held for the whole
/// command (`Out::buffered`, for many lines). Dropping it flushes it.
pub struct Out<W: Write> {
    inner: W,
}

impl Out<io::Stdout> {
    pub fn stdout() -> Self {
        Out {
            inner: io::stdout(),
        }
    }
}

impl Out<io::BufWriter<io::StdoutLock<'static>>> {
    pub fn buffered() -> Self {
        Out {
            inner: io::BufWriter::with_capacity(64 * 1024, io::stdout().lock()),
        }
    }
}

impl<W: Write> Out<W> {
    /// Writes one line (a newline is added); does nothing once standard output failed.
    pub fn line(&mut self, text: fmt::Arguments<'_>) {
        if is_open() {
            if let Err(e) = writeln!(self.inner, "{text}") {
                record(e);
            }
        }
    }

    pub fn flush(&mut self) {
        if is_open() {
            if let Err(e) = self.inner.flush() {
                record(e);
            }
        }
    }
}

impl<W: Write> Drop for Out<W> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Writes one line to standard output at once (see [`outln!`]).
pub fn line(text: fmt::Arguments<'_>) {
    Out::stdout().line(text);
}

/// `println!` whose failures are handled as this module says.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cmd::output::line(format_args!($($arg)*))
    };
}
pub(crate) use outln;

/// Writes one line to standard error. Nothing is left to tell anyone when standard error itself
/// cannot be written, so its failures are ignored (`eprintln!` would panic).
pub fn warn(text: fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}

/// `eprintln!` that never panics.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cmd::output::warn(format_args!($($arg)*))
    };
}
pub(crate) use errln;

/// The status to end with, once a command returned `code`: a failure to write standard output
/// other than a closed pipe is said on standard error and turns success into 1.
pub fn finish(code: ExitCode) -> ExitCode {
    Out::stdout().flush();
    let failed = std::mem::replace(&mut *state(), State::Closed);
    match failed {
        State::Failed(error) => {
            warn(format_args!(
                "gazette: cannot write to standard output: {error}; {}",
                advice(error.kind())
            ));
            if code == ExitCode::SUCCESS {
                ExitCode::FAILURE
            } else {
                code
            }
        }
        State::Open | State::Closed => code,
    }
}

fn advice(kind: io::ErrorKind) -> &'static str {
    match kind {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded | io::ErrorKind::FileTooLarge => {
            "free space where it goes, or send it elsewhere"
        }
        _ => "send it elsewhere",
    }
}
