//! Writing the feeds so that nothing is ever half done.
//!
//! Every file is first written to a temporary file beside its target; only when all of them are
//! written are they renamed over the old ones. A failure before that (a full disk, a folder that
//! is a file, no permission) removes the temporary files and leaves every previous feed as it
//! was. A file whose bytes did not change is not rewritten, so its mtime (and a static host's
//! ETag) stays. Files that gazette wrote before and no longer writes (a category that is gone)
//! are removed; gazette never removes a file it did not write (it keeps a list in
//! `.gazette-files`). A file that replaces an older one is on disk before the renames (see
//! `sync_staged`); a file where there was none is not synced, as there is nothing to lose.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::Output;

/// The list of files gazette wrote into an output folder.
pub const MANIFEST: &str = ".gazette-files";

/// What a write did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub written: Vec<PathBuf>,
    pub unchanged: Vec<PathBuf>,
    pub removed: Vec<PathBuf>,
}

/// Why a write failed (nothing was changed).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {error}")]
pub struct WriteError {
    pub path: PathBuf,
    pub error: io::Error,
}

fn err(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |error| WriteError {
        path: path.to_path_buf(),
        error,
    }
}

fn temp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.gazette-{}.tmp", std::process::id()))
}

/// Writes a temporary file; [`sync_staged`] makes it durable when it replaces a feed.
fn write_temp(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = fs::File::create(path)?;
    file.write_all(bytes)
}

/// Makes every staged file durable before the renames make it visible, so that a crash can never
/// leave an empty feed in place of a good one. A few files (a rebuild after one post changed)
/// are synced one by one; many (226 of them took 0.9 s so on a busy machine) through one
/// `syncfs`, which flushes the whole filesystem at once.
fn sync_staged(dir: &Path, staged: &[(PathBuf, PathBuf)]) -> io::Result<()> {
    const FEW: usize = 16;
    if staged.len() <= FEW || !cfg!(target_os = "linux") {
        // At once: the filesystem can then commit them together.
        use rayon::prelude::*;
        return staged
            .par_iter()
            .try_for_each(|(temp, _)| fs::File::open(temp)?.sync_data());
    }
    #[cfg(target_os = "linux")]
    {
        let folder = fs::File::open(dir)?;
        rustix::fs::syncfs(&folder)?;
    }
    let _ = dir;
    Ok(())
}

/// What staging one output did.
enum Staged {
    /// The file holds these bytes already.
    Unchanged,
    /// Written to `temp`, to be renamed over `target` (`replaces`: an older file is there).
    Written {
        temp: PathBuf,
        target: PathBuf,
        replaces: bool,
    },
}

/// Compares one output with the file in place and, when they differ, writes it to a temporary
/// file beside it. On failure nothing of it is left behind.
fn stage(dir: &Path, output: &Output) -> Result<Staged, WriteError> {
    let target = dir.join(&output.path);
    // Only a regular file is read back or replaced (a FIFO would block the read).
    if fs::symlink_metadata(&target).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        return Err(WriteError {
            path: target,
            error: io::Error::new(
                io::ErrorKind::AlreadyExists,
                "something that is not a regular file stands where the feed goes",
            ),
        });
    }
    let replaces = match fs::read(&target) {
        Ok(old) if old == output.bytes => return Ok(Staged::Unchanged),
        Ok(_) => true,
        Err(_) => false,
    };
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(err(parent))?;
    }
    if target.is_dir() {
        return Err(WriteError {
            path: target,
            error: io::Error::new(
                io::ErrorKind::AlreadyExists,
                "a folder stands where the feed goes",
            ),
        });
    }
    let temp = temp_path(&target);
    if let Err(e) = write_temp(&temp, &output.bytes) {
        let _ = fs::remove_file(&temp);
        return Err(err(&target)(e));
    }
    Ok(Staged::Written {
        temp,
        target,
        replaces,
    })
}

/// Writes `outputs` into `dir` (created if missing), as described in the module docs.
pub fn write_all(dir: &Path, outputs: &[Output]) -> Result<Report, WriteError> {
    if dir.exists() && !dir.is_dir() {
        return Err(WriteError {
            path: dir.to_path_buf(),
            error: io::Error::new(io::ErrorKind::AlreadyExists, "the output folder is a file"),
        });
    }
    fs::create_dir_all(dir).map_err(err(dir))?;
    // Every output is compared and staged on its own, in parallel (creating files is most of
    // a cold build's writing); the results are then taken in order.
    use rayon::prelude::*;
    let results: Vec<Result<Staged, WriteError>> = outputs
        .par_iter()
        .map(|output| stage(dir, output))
        .collect();
    let mut report = Report::default();
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut replaces = false;
    let mut first_error = None;
    for (result, output) in results.into_iter().zip(outputs) {
        match result {
            Ok(Staged::Unchanged) => report.unchanged.push(output.path.clone()),
            Ok(Staged::Written {
                temp,
                target,
                replaces: r,
            }) => {
                staged.push((temp, target));
                replaces |= r;
                report.written.push(output.path.clone());
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        for (temp, _) in &staged {
            let _ = fs::remove_file(temp);
        }
        return Err(e);
    }

    let new_list: BTreeSet<PathBuf> = outputs.iter().map(|o| o.path.clone()).collect();
    let manifest = dir.join(MANIFEST);
    let manifest_text: String = new_list
        .iter()
        .map(|p| format!("{}\n", p.display()))
        .collect();
    let old_manifest = fs::read_to_string(&manifest).unwrap_or_default();
    let manifest_temp = temp_path(&manifest);
    if old_manifest != manifest_text {
        if let Err(e) = write_temp(&manifest_temp, manifest_text.as_bytes()) {
            for (temp, _) in &staged {
                let _ = fs::remove_file(temp);
            }
            return Err(err(&manifest)(e));
        }
    }

    // Only a file that replaces an older one needs its data on disk before the rename: a crash
    // can then never leave an empty file where a good feed was. A file where there was none has
    // nothing to lose (the next build rewrites it if a crash cut it short).
    let replaces = replaces || (!old_manifest.is_empty() && old_manifest != manifest_text);
    if replaces {
        let mut to_sync = staged.clone();
        if old_manifest != manifest_text {
            to_sync.push((manifest_temp.clone(), manifest.clone()));
        }
        if let Err(e) = sync_staged(dir, &to_sync) {
            for (temp, _) in &staged {
                let _ = fs::remove_file(temp);
            }
            let _ = fs::remove_file(&manifest_temp);
            return Err(err(dir)(e));
        }
    }
    for (temp, target) in &staged {
        fs::rename(temp, target).map_err(err(target))?;
    }
    if old_manifest != manifest_text {
        fs::rename(&manifest_temp, &manifest).map_err(err(&manifest))?;
    }
    // Remove what an earlier build wrote and this one does not; never anything else, and never
    // through a symbolic link (a planted link must not lead a removal out of the folder).
    let real_dir = dir.canonicalize().map_err(err(dir))?;
    for line in old_manifest.lines() {
        let old = PathBuf::from(line);
        let safe = old
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        let inside = || {
            let target = dir.join(&old);
            fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_file())
                && target
                    .parent()
                    .and_then(|p| p.canonicalize().ok())
                    .is_some_and(|p| p.starts_with(&real_dir))
        };
        if safe && !new_list.contains(&old) && inside() {
            fs::remove_file(dir.join(&old)).map_err(err(&dir.join(&old)))?;
            report.removed.push(old);
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(path: &str, bytes: &str) -> Output {
        Output {
            path: path.into(),
            bytes: bytes.as_bytes().to_vec(),
        }
    }

    #[test]
    fn unchanged_files_are_not_rewritten_and_stale_ones_removed() {
        let dir = tempfile::tempdir().unwrap();
        let first = write_all(dir.path(), &[out("a.xml", "1"), out("c/b.xml", "2")]).unwrap();
        assert_eq!(first.written.len(), 2);
        let mtime = fs::metadata(dir.path().join("a.xml"))
            .unwrap()
            .modified()
            .unwrap();
        fs::write(dir.path().join("mine.txt"), "not gazette's").unwrap();
        let second = write_all(dir.path(), &[out("a.xml", "1"), out("d.xml", "3")]).unwrap();
        assert_eq!(second.unchanged, [PathBuf::from("a.xml")]);
        assert_eq!(second.written, [PathBuf::from("d.xml")]);
        assert_eq!(second.removed, [PathBuf::from("c/b.xml")]);
        assert_eq!(
            fs::metadata(dir.path().join("a.xml"))
                .unwrap()
                .modified()
                .unwrap(),
            mtime
        );
        assert!(dir.path().join("mine.txt").exists());
    }

    #[test]
    fn a_failure_leaves_the_previous_files_and_no_temporary_ones() {
        let dir = tempfile::tempdir().unwrap();
        write_all(dir.path(), &[out("a.xml", "old"), out("b.xml", "old")]).unwrap();
        // A folder where the second file goes makes staging fail after the first was staged.
        fs::create_dir(dir.path().join("x.xml")).unwrap();
        let e = write_all(dir.path(), &[out("a.xml", "new"), out("x.xml", "new")]).unwrap_err();
        assert!(
            e.to_string()
                .contains("a folder stands where the feed goes"),
            "{e}"
        );
        assert_eq!(fs::read_to_string(dir.path().join("a.xml")).unwrap(), "old");
        assert_eq!(fs::read_to_string(dir.path().join("b.xml")).unwrap(), "old");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(
            names.iter().all(|n| !n.to_string_lossy().ends_with(".tmp")),
            "{names:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn removals_never_follow_links_out_of_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("victim.xml"), "keep").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("sub")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("victim.xml"), dir.path().join("v.xml"))
            .unwrap();
        fs::write(dir.path().join(MANIFEST), "sub/victim.xml\nv.xml\n").unwrap();
        let report = write_all(dir.path(), &[out("a.xml", "1")]).unwrap();
        assert!(report.removed.is_empty(), "{report:?}");
        assert_eq!(
            fs::read_to_string(outside.path().join("victim.xml")).unwrap(),
            "keep"
        );
    }

    #[test]
    fn an_output_folder_that_is_a_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("feeds");
        fs::write(&file, "x").unwrap();
        let e = write_all(&file, &[out("a.xml", "1")]).unwrap_err();
        assert!(
            e.to_string().ends_with("the output folder is a file"),
            "{e}"
        );
    }
}
