//! Writing the feeds so that nothing is ever half done.
//!
//! Every file is first written to a temporary file beside its target; only when all of them are
//! written are they renamed over the old ones. A failure before that (a full disk, a folder that
//! is a file, no permission) removes the temporary files and the folders this write made, and
//! leaves every previous feed as it was. A file whose bytes did not change is not rewritten, so
//! its mtime (and a static host's ETag) stays. Files that gazette wrote before and no longer
//! writes (a category that is gone) are removed; gazette never removes a file it did not write
//! (it keeps a list in `.gazette-files`). A file that replaces an older one is on disk before
//! the renames (see `sync_staged`); a file where there was none is not synced, as there is
//! nothing to lose.
//!
//! Nothing is written through a symbolic link inside the output folder (a link where a folder
//! of feeds or a feed goes is an error, and nothing is written), and nothing is removed through
//! one. The output folder itself may be a link: it is where the user said to write.
//!
//! A run killed while writing leaves its temporary files (`.NAME.gazette-PID.tmp`); the next
//! write removes them from the folders it writes into: only files named so, only regular files,
//! and only when their process is gone or they are older than any run could be.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::Output;
pub(crate) use crate::atomic::remove_stale_temps_below as remove_stale_temps;
use crate::atomic::{is_plain, rename_all, write_temp, FolderError, StageError, Staged, Undo};
use crate::temp::temp_path;
#[cfg(test)]
use crate::temp::tests::dead_pid;

/// The list of files gazette wrote into an output folder.
pub(crate) const MANIFEST: &str = ".gazette-files";

/// What a write did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Files written because they are new or their content changed (paths relative to the
    /// output folder, as in the other lists).
    pub written: Vec<PathBuf>,
    /// Files that already held these bytes, left untouched.
    pub unchanged: Vec<PathBuf>,
    /// Files an earlier build wrote (the manifest lists them) that no feed needs now, deleted.
    pub removed: Vec<PathBuf>,
}

/// Why a write failed (nothing was changed).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {error}")]
pub struct WriteError {
    /// The file or folder.
    pub path: PathBuf,
    /// What the system said.
    pub error: io::Error,
}

pub(crate) fn err(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |error| WriteError {
        path: path.to_path_buf(),
        error,
    }
}

fn refused(path: &Path, kind: io::ErrorKind, why: &str) -> WriteError {
    WriteError {
        path: path.to_path_buf(),
        error: io::Error::new(kind, why.to_string()),
    }
}

const LINK_TO_FOLDER: &str =
    "a symbolic link stands where a folder of feeds goes (gazette never writes through one)";
const LINK_TO_FEED: &str =
    "a symbolic link stands where the feed goes (gazette never writes through one)";

/// The folders (relative to the output folder) that `paths` are in.
fn folders_of<'p>(paths: impl Iterator<Item = &'p Path>) -> BTreeSet<PathBuf> {
    paths
        .filter(|p| is_plain(p))
        .filter_map(|p| p.parent())
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .collect()
}

/// Makes the folders (relative to `dir`) that feeds go into, noting each one it made in `undo`.
/// A symbolic link, or a file, where one of them goes is refused.
fn make_folders(
    dir: &Path,
    folders: &BTreeSet<PathBuf>,
    undo: &mut Undo,
) -> Result<(), WriteError> {
    for relative in folders {
        undo.make_folder_below(dir, relative).map_err(|e| match e {
            FolderError::NotBelow => refused(
                &dir.join(relative),
                io::ErrorKind::InvalidInput,
                "a feed's folder must be below the output folder",
            ),
            FolderError::Link(at) => refused(&at, io::ErrorKind::AlreadyExists, LINK_TO_FOLDER),
            FolderError::NotAFolder(at) => refused(
                &at,
                io::ErrorKind::NotADirectory,
                "a file stands where a folder of feeds goes",
            ),
            FolderError::Io(at, e) => err(&at)(e),
        })?;
    }
    Ok(())
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
            .try_for_each(|(temp, _)| crate::atomic::sync(temp));
    }
    #[cfg(target_os = "linux")]
    {
        let folder = fs::File::open(dir)?;
        rustix::fs::syncfs(&folder)?;
    }
    let _ = dir;
    Ok(())
}

/// Compares one output with the file in place and, when they differ, writes it to a temporary
/// file beside it (its folder is made already). On failure nothing of it is left behind.
fn stage(dir: &Path, output: &Output) -> Result<Staged, WriteError> {
    let target = dir.join(&output.path);
    crate::atomic::stage(&target, &output.bytes).map_err(|e| match e {
        StageError::Link => refused(&target, io::ErrorKind::AlreadyExists, LINK_TO_FEED),
        StageError::Folder => refused(
            &target,
            io::ErrorKind::AlreadyExists,
            "a folder stands where the feed goes",
        ),
        StageError::NotAFile => refused(
            &target,
            io::ErrorKind::AlreadyExists,
            "something that is not a regular file stands where the feed goes",
        ),
        StageError::Io(e) => err(&target)(e),
    })
}

/// Writes `outputs` into `dir` (created if missing), as described in the module docs; the files
/// `kept` (relative to `dir`, found as the last build left them) stay as they are, listed in the
/// manifest and reported unchanged.
pub fn write_all(dir: &Path, outputs: &[Output], kept: &[PathBuf]) -> Result<Report, WriteError> {
    if dir.exists() && !dir.is_dir() {
        return Err(refused(
            dir,
            io::ErrorKind::AlreadyExists,
            "the output folder is a file",
        ));
    }
    let mut undo = Undo::default();
    undo.make_folder(dir).map_err(err(dir))?;
    let manifest = dir.join(MANIFEST);
    let old_manifest = fs::read_to_string(&manifest).unwrap_or_default();

    // What killed runs left goes first, from every folder this write or the last one used.
    let folders = folders_of(outputs.iter().map(|o| o.path.as_path()));
    let mut swept = folders_of(old_manifest.lines().map(Path::new));
    swept.extend(folders.iter().cloned());
    swept.insert(PathBuf::new());
    remove_stale_temps(dir, &swept);

    if let Err(e) = make_folders(dir, &folders, &mut undo) {
        undo.run();
        return Err(e);
    }
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
            Ok(Staged::Written { temp, replaces: r }) => {
                undo.temps.push(temp.clone());
                staged.push((temp, dir.join(&output.path)));
                replaces |= r;
                report.written.push(output.path.clone());
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        undo.run();
        return Err(e);
    }

    report.unchanged.extend(kept.iter().cloned());
    let new_list: BTreeSet<PathBuf> = outputs
        .iter()
        .map(|o| o.path.clone())
        .chain(kept.iter().cloned())
        .collect();
    let manifest_text: String = new_list
        .iter()
        .map(|p| format!("{}\n", p.display()))
        .collect();
    let manifest_temp = temp_path(&manifest);
    if old_manifest != manifest_text {
        undo.temps.push(manifest_temp.clone());
        if let Err(e) = write_temp(&manifest_temp, manifest_text.as_bytes()) {
            undo.run();
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
            undo.run();
            return Err(err(dir)(e));
        }
    }
    let mut renames = staged;
    if old_manifest != manifest_text {
        renames.push((manifest_temp, manifest));
    }
    // Too late to take the others back when one fails; at least no temporary file stays.
    rename_all(&renames, &mut undo).map_err(|(target, e)| err(&target)(e))?;
    // Remove what an earlier build wrote and this one does not; never anything else, and never
    // through a symbolic link (a planted link must not lead a removal out of the folder).
    let real_dir = dir.canonicalize().map_err(err(dir))?;
    for line in old_manifest.lines() {
        let old = PathBuf::from(line);
        let inside = || {
            let target = dir.join(&old);
            fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_file())
                && target
                    .parent()
                    .and_then(|p| p.canonicalize().ok())
                    .is_some_and(|p| p.starts_with(&real_dir))
        };
        if is_plain(&old) && !new_list.contains(&old) && inside() {
            fs::remove_file(dir.join(&old)).map_err(err(&dir.join(&old)))?;
            report.removed.push(old);
        }
    }
    Ok(report)
}

#[cfg(test)]
pub(crate) mod tests {
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
        let first = write_all(dir.path(), &[out("a.xml", "1"), out("c/b.xml", "2")], &[]).unwrap();
        assert_eq!(first.written.len(), 2);
        let mtime = fs::metadata(dir.path().join("a.xml"))
            .unwrap()
            .modified()
            .unwrap();
        fs::write(dir.path().join("mine.txt"), "not gazette's").unwrap();
        let second = write_all(dir.path(), &[out("a.xml", "1"), out("d.xml", "3")], &[]).unwrap();
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
        write_all(dir.path(), &[out("a.xml", "old"), out("b.xml", "old")], &[]).unwrap();
        // A folder where the second file goes makes staging fail after the first was staged.
        fs::create_dir(dir.path().join("x.xml")).unwrap();
        let e =
            write_all(dir.path(), &[out("a.xml", "new"), out("x.xml", "new")], &[]).unwrap_err();
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
        let report = write_all(dir.path(), &[out("a.xml", "1")], &[]).unwrap();
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
        let e = write_all(&file, &[out("a.xml", "1")], &[]).unwrap_err();
        assert!(
            e.to_string().ends_with("the output folder is a file"),
            "{e}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn temporary_files_of_killed_runs_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        write_all(dir.path(), &[out("a.xml", "1"), out("c/b.xml", "2")], &[]).unwrap();
        let dead = dead_pid();
        let me = std::process::id();
        let stale = [
            format!(".a.xml.gazette-{dead}.tmp"),
            format!("c/.b.xml.gazette-{dead}.tmp"),
            format!("c/.gone.xml.gazette-{dead}.tmp"),
            format!("..gazette-files.gazette-{dead}.tmp"),
        ];
        let kept = [
            format!(".a.xml.gazette-{me}.tmp"),
            format!("a.xml.gazette-{dead}.tmp"),
            format!(".gazette-{dead}.tmp"),
            format!(".a.xml.gazette-{dead}x.tmp"),
            format!(".a.xml.gazette-{dead}.tmp.keep"),
            "mine.tmp".to_string(),
        ];
        for name in stale.iter().chain(&kept) {
            fs::write(dir.path().join(name), "x").unwrap();
        }
        // A file of a live process that no run could still be writing is stale too.
        let ancient = dir.path().join(format!("c/.old.xml.gazette-{me}.tmp"));
        fs::write(&ancient, "x").unwrap();
        let two_days =
            std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 24 * 60 * 60);
        fs::File::options()
            .write(true)
            .open(&ancient)
            .unwrap()
            .set_modified(two_days)
            .unwrap();
        // Links are never followed nor removed, and folders reached through one are not swept.
        fs::write(
            outside.path().join(format!(".x.xml.gazette-{dead}.tmp")),
            "x",
        )
        .unwrap();
        let link = dir.path().join(format!(".l.xml.gazette-{dead}.tmp"));
        std::os::unix::fs::symlink(outside.path().join("victim"), &link).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("elsewhere")).unwrap();
        fs::write(
            dir.path().join(MANIFEST),
            "a.xml\nc/b.xml\nelsewhere/x.xml\n",
        )
        .unwrap();

        write_all(dir.path(), &[out("a.xml", "1"), out("c/b.xml", "2")], &[]).unwrap();
        for name in &stale {
            assert!(!dir.path().join(name).exists(), "{name} is still there");
        }
        assert!(!ancient.exists());
        for name in &kept {
            assert!(dir.path().join(name).exists(), "{name} was removed");
        }
        assert!(fs::symlink_metadata(&link).is_ok());
        assert!(outside
            .path()
            .join(format!(".x.xml.gazette-{dead}.tmp"))
            .exists());
    }

    #[test]
    fn a_failed_write_removes_the_folders_it_made() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("site/feeds");
        fs::create_dir_all(dir.join("feed.xml")).unwrap();
        let outputs = [
            out("feed.xml", "x"),
            out("categories/a.xml", "a"),
            out("tags/deep/t.xml", "t"),
        ];
        let e = write_all(&dir, &outputs, &[]).unwrap_err();
        assert_eq!(e.error.kind(), io::ErrorKind::AlreadyExists, "{e}");
        let left: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["feed.xml"]);
        // A file where a folder goes, met after other folders were made.
        fs::write(dir.join("z.xml"), "a file").unwrap();
        let outputs = [out("categories/a.xml", "a"), out("z.xml/x", "?")];
        let e = write_all(&dir, &outputs, &[]).unwrap_err();
        assert_eq!(e.error.kind(), io::ErrorKind::NotADirectory, "{e}");
        assert!(!dir.join("categories").exists());
        // An output folder the write made goes too, with the folders above it it made.
        fs::remove_dir_all(parent.path().join("site")).unwrap();
        let e = write_all(&dir, &[out("x.xml", "x"), out("x.xml/y", "y")], &[]).unwrap_err();
        assert!(e.path.ends_with("x.xml"), "{e}");
        assert!(!parent.path().join("site").exists());
    }

    #[cfg(unix)]
    #[test]
    fn writes_never_follow_links_inside_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("categories")).unwrap();
        let e = write_all(
            dir.path(),
            &[out("feed.xml", "f"), out("categories/a.xml", "a")],
            &[],
        )
        .unwrap_err();
        assert_eq!(e.path, dir.path().join("categories"));
        assert!(e.to_string().contains(LINK_TO_FOLDER), "{e}");
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
        assert!(!dir.path().join("feed.xml").exists());
        assert!(!dir.path().join(MANIFEST).exists());

        fs::remove_file(dir.path().join("categories")).unwrap();
        let victim = outside.path().join("victim.xml");
        fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("feed.xml")).unwrap();
        let e = write_all(dir.path(), &[out("feed.xml", "f")], &[]).unwrap_err();
        assert!(e.to_string().contains(LINK_TO_FEED), "{e}");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
        // A link where a temporary file goes is replaced, never written through.
        fs::remove_file(dir.path().join("feed.xml")).unwrap();
        std::os::unix::fs::symlink(&victim, temp_path(&dir.path().join("feed.xml"))).unwrap();
        write_all(dir.path(), &[out("feed.xml", "f")], &[]).unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(
            fs::read_to_string(dir.path().join("feed.xml")).unwrap(),
            "f"
        );
    }
}
