//! Writing files all or nothing: the steps the feed writer and the digest's archive share, each
//! keeping its own policy (which files, which folders, what its errors say).
//!
//! Every file is written to a fresh temporary file beside its target ([`stage`], named by
//! [`crate::temp`]); only when all are written, and those that replace an older file are on disk
//! ([`sync`]), are they renamed into place ([`rename_all`]). What a failed write made, its
//! temporary files and the folders it made one level at a time, an [`Undo`] takes back. Nothing
//! is written through a symbolic link below the folder written into, and nothing is removed
//! through one; the temporary files of killed runs are removed ([`remove_stale_temps`]).
//! A leaf: it uses only [`crate::temp`].

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use crate::temp::{is_stale_temp, temp_path, temp_pid};

/// Whether `relative` is a plain path below a folder (no `..`, no root).
pub(crate) fn is_plain(relative: &Path) -> bool {
    relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
}

/// Whether the folder `relative` below `dir` is reached without a symbolic link.
fn reached_without_links(dir: &Path, relative: &Path) -> bool {
    let mut at = dir.to_path_buf();
    is_plain(relative)
        && relative.components().all(|c| {
            at.push(c);
            fs::symlink_metadata(&at).is_ok_and(|m| m.is_dir())
        })
}

/// Removes the temporary files killed runs left in `folder`: only files named so, only regular
/// files, only when their process is gone or they are older than any run. Whatever cannot be
/// removed stays: it is never in the way.
pub(crate) fn remove_stale_temps(folder: &Path) {
    let Ok(entries) = fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        if let Some(pid) = temp_pid(&entry.file_name()) {
            if is_stale_temp(&entry, pid) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// [`remove_stale_temps`] in each of `folders` (relative to `dir`) that is reached without a
/// symbolic link.
pub(crate) fn remove_stale_temps_below(dir: &Path, folders: &BTreeSet<PathBuf>) {
    for relative in folders {
        if reached_without_links(dir, relative) {
            remove_stale_temps(&dir.join(relative));
        }
    }
}

/// What a failed write takes back: its temporary files, then the folders it made (innermost
/// first; a folder that is not empty stays).
#[derive(Debug, Default)]
pub(crate) struct Undo {
    /// The temporary files written.
    pub(crate) temps: Vec<PathBuf>,
    /// The folders made, in the order they were made (outermost first).
    pub(crate) folders: Vec<PathBuf>,
}

/// Why a folder below the folder written into could not be made (see [`Undo::make_folder_below`]).
pub(crate) enum FolderError {
    /// The folder's path is not a plain path below it.
    NotBelow,
    /// A symbolic link stands at this path.
    Link(PathBuf),
    /// Something that is not a folder (a file) stands at this path.
    NotAFolder(PathBuf),
    /// The system refused at this path.
    Io(PathBuf, io::Error),
}

impl Undo {
    /// Removes the temporary files, then the folders made (innermost first).
    pub(crate) fn run(&self) {
        for temp in &self.temps {
            let _ = fs::remove_file(temp);
        }
        for folder in self.folders.iter().rev() {
            let _ = fs::remove_dir(folder);
        }
    }

    /// Makes `dir` and the folders above it that are missing, noting them. The folder given may
    /// be (or be reached through) a link: it is where the user said to write. On failure none of
    /// the folders it made stays.
    pub(crate) fn make_folder(&mut self, dir: &Path) -> io::Result<()> {
        let mut missing = Vec::new();
        let mut at = dir;
        while fs::symlink_metadata(at).is_err_and(|e| e.kind() == io::ErrorKind::NotFound) {
            missing.push(at.to_path_buf());
            match at.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => at = parent,
                _ => break,
            }
        }
        if let Err(e) = fs::create_dir_all(dir) {
            for folder in &missing {
                let _ = fs::remove_dir(folder);
            }
            return Err(e);
        }
        self.folders.extend(missing.into_iter().rev());
        Ok(())
    }

    /// Makes the folder `relative` below `dir`, one level at a time, noting each one it made. A
    /// symbolic link, or a file, where one of them goes is refused: nothing is made through it.
    pub(crate) fn make_folder_below(
        &mut self,
        dir: &Path,
        relative: &Path,
    ) -> Result<(), FolderError> {
        let mut at = dir.to_path_buf();
        for component in relative.components() {
            let Component::Normal(part) = component else {
                return Err(FolderError::NotBelow);
            };
            at.push(part);
            let found = match fs::symlink_metadata(&at) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => match fs::create_dir(&at) {
                    Ok(()) => {
                        self.folders.push(at.clone());
                        continue;
                    }
                    // Made by someone else meanwhile: look again.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        fs::symlink_metadata(&at).map_err(|e| FolderError::Io(at.clone(), e))?
                    }
                    Err(e) => return Err(FolderError::Io(at, e)),
                },
                found => found.map_err(|e| FolderError::Io(at.clone(), e))?,
            };
            if found.file_type().is_symlink() {
                return Err(FolderError::Link(at));
            }
            if !found.is_dir() {
                return Err(FolderError::NotAFolder(at));
            }
        }
        Ok(())
    }
}

/// Writes a temporary file holding `bytes`; [`sync`] makes it durable. The file is made new:
/// whatever stands at its path (a link, or a stale run's file) is removed first, never written
/// through.
pub(crate) fn write_temp(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let create = || {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
    };
    let mut file = match create() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            fs::remove_file(path)?;
            create()?
        }
        file => file?,
    };
    file.write_all(bytes)
}

/// Puts a written temporary file's data on disk, so that a crash after the rename can never
/// leave an empty file where a good one was.
pub(crate) fn sync(temp: &Path) -> io::Result<()> {
    fs::File::open(temp)?.sync_data()
}

/// What staging one file did.
pub(crate) enum Staged {
    /// The file holds these bytes already.
    Unchanged,
    /// Written to `temp`, beside the target (`replaces`: an older file is there).
    Written {
        /// The temporary file.
        temp: PathBuf,
        /// Whether it replaces an older file (which [`sync`] then protects).
        replaces: bool,
    },
}

/// Why a file could not be staged (nothing of it was left behind).
pub(crate) enum StageError {
    /// A symbolic link stands where the file goes.
    Link,
    /// A folder stands where the file goes.
    Folder,
    /// Something else that is not a regular file (a FIFO, a socket…) stands there.
    NotAFile,
    /// Writing the temporary file failed.
    Io(io::Error),
}

/// Compares `bytes` with the file at `target` and, when they differ, writes them to a temporary
/// file beside it (its folder is made already). Only a regular file is read back or replaced (a
/// FIFO would block the read), and never through a link.
pub(crate) fn stage(target: &Path, bytes: &[u8]) -> Result<Staged, StageError> {
    match fs::symlink_metadata(target) {
        Ok(m) if m.file_type().is_symlink() => return Err(StageError::Link),
        Ok(m) if m.is_dir() => return Err(StageError::Folder),
        Ok(m) if !m.is_file() => return Err(StageError::NotAFile),
        _ => {}
    }
    let replaces = match fs::read(target) {
        Ok(old) if old == bytes => return Ok(Staged::Unchanged),
        Ok(_) => true,
        Err(_) => false,
    };
    let temp = temp_path(target);
    if let Err(e) = write_temp(&temp, bytes) {
        let _ = fs::remove_file(&temp);
        return Err(StageError::Io(e));
    }
    Ok(Staged::Written { temp, replaces })
}

/// Renames each temporary file over its target, in order. When one fails it is too late to take
/// back those renamed before; the temporary files not yet renamed become `undo`'s only ones and
/// it is run (its folders that are left empty go too). Returns the target that failed.
pub(crate) fn rename_all(
    renames: &[(PathBuf, PathBuf)],
    undo: &mut Undo,
) -> Result<(), (PathBuf, io::Error)> {
    for (i, (temp, target)) in renames.iter().enumerate() {
        if let Err(e) = fs::rename(temp, target) {
            undo.temps = renames[i..].iter().map(|(t, _)| t.clone()).collect();
            undo.run();
            return Err((target.clone(), e));
        }
    }
    Ok(())
}
