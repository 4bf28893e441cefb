//! Phase timings for profiling, printed to standard error when `GAZETTE_TIMINGS` is set
//! (`GAZETTE_TIMINGS=1 gazette build`). Off, each mark costs one cached flag check.

use std::io::Write as _;
use std::sync::{LazyLock, Mutex};
use std::time::Instant;

static ENABLED: LazyLock<bool> = LazyLock::new(|| std::env::var_os("GAZETTE_TIMINGS").is_some());
static LAST: Mutex<Option<Instant>> = Mutex::new(None);

/// Prints the time since the previous mark (or since the first call) under `phase`.
pub fn mark(phase: &str) {
    if !*ENABLED {
        return;
    }
    let now = Instant::now();
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(previous) = *last {
        // Never `eprintln!`: a standard error that cannot be written must not stop a build.
        let _ = writeln!(
            std::io::stderr(),
            "timing: {phase:<24} {:>8.1} ms",
            (now - previous).as_secs_f64() * 1e3
        );
    }
    *last = Some(now);
}
