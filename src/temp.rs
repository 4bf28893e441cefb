//! gazette's temporary files: how they are named, and when one was left by a run that is gone
//! (killed while writing), so that the next run may remove it. A leaf: atomic writing
//! ([`crate::atomic`], for the feeds and the digest's archive) and the caches use it.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where a file is written before it is renamed into place: `.NAME.gazette-PID.tmp` beside it.
pub(crate) fn temp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.gazette-{}.tmp", std::process::id()))
}

/// The process id in the name of one of [`temp_path`]'s files (`.NAME.gazette-PID.tmp`).
pub(crate) fn temp_pid(name: &OsStr) -> Option<u32> {
    let inner = name.to_str()?.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (target, pid) = inner.rsplit_once(".gazette-")?;
    let digits = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    (!target.is_empty() && digits)
        .then(|| pid.parse().ok())
        .flatten()
}

/// No run takes this long: a temporary file older than this is stale whatever its process id
/// says (the id may have been given to another process since).
const STALE_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// Whether process `pid` is running. Where this cannot be told (no `/proc`), it counts as
/// running, and only a temporary file's age makes it stale.
fn is_running(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    #[cfg(target_os = "linux")]
    {
        let proc = Path::new("/proc");
        if proc.join("self").exists() {
            return fs::symlink_metadata(proc.join(pid.to_string())).is_ok();
        }
    }
    true
}

/// Whether `entry`, a temporary file named for process `pid`, was left by a run that is gone:
/// a regular file (never a link) whose process is not running, or older than any run.
pub(crate) fn is_stale_temp(entry: &fs::DirEntry, pid: u32) -> bool {
    // `DirEntry::metadata` does not follow a link.
    let Ok(meta) = entry.metadata() else {
        return false;
    };
    if !meta.file_type().is_file() {
        return false;
    }
    let old = meta
        .modified()
        .ok()
        .and_then(|m| m.elapsed().ok())
        .is_some_and(|age| age > STALE_AFTER);
    old || !is_running(pid)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The id of a process that has ended (a child run and waited for).
    pub(crate) fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!is_running(pid));
        pid
    }
}
