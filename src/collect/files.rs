//! Reading post files with as few system calls as the job allows.
//!
//! Reading 100,000 small posts is mostly system calls, so each one counts: every folder that
//! holds posts is opened once and its files are opened relative to it (no walk down the whole
//! path per file); a file's stamp comes from the open file itself (no separate `stat`); and the
//! file is read straight into the worker's buffer, sized from that stamp. On other systems than
//! Unix the standard library does the same work by path.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::Path;

use super::cache::Stamp;

/// The folders that hold posts, each opened once.
#[derive(Debug, Default)]
pub struct Folders {
    #[cfg(unix)]
    /// Keyed by the folder's path bytes (hashing a `Path` walks its components).
    open: HashMap<OsString, rustix::fd::OwnedFd>,
}

impl Folders {
    /// Opens the folders (relative to `site`) that hold the files `relatives`. A folder that
    /// cannot be opened is left out: its files are then read by path, which reports the error.
    pub fn open<'a>(site: &Path, relatives: impl Iterator<Item = &'a Path>) -> Folders {
        let mut folders = Folders::default();
        #[cfg(unix)]
        for relative in relatives {
            let parent = parent_of(relative);
            if folders.open.contains_key(parent) {
                continue;
            }
            use rustix::fs::{openat, Mode, OFlags, CWD};
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            if let Ok(fd) = openat(CWD, site.join(parent), flags, Mode::empty()) {
                folders.open.insert(parent.to_owned(), fd);
            }
        }
        #[cfg(not(unix))]
        let _ = (site, relatives.count());
        folders
    }

    /// Reads the file at `site/relative` whole into `buffer` (replacing what it held), and
    /// returns the stamp the file had when it was opened. A file of more than `limit` bytes is
    /// not read: [`ReadError::TooLarge`] (told by its size before reading, or by reading one byte
    /// more than `limit` from a file that grew or that has no size, such as a FIFO), so that one
    /// post never takes more memory than the limit.
    pub fn read(
        &self,
        site: &Path,
        relative: &Path,
        buffer: &mut Vec<u8>,
        limit: u64,
    ) -> Result<Stamp, ReadError> {
        buffer.clear();
        #[cfg(unix)]
        if let (Some(dir), Some(name)) = (self.folder_of(relative), relative.file_name()) {
            use rustix::fs::{fstat, openat, Mode, OFlags};
            let file = openat(dir, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
                .map_err(io::Error::from)?;
            let stamp = stamp_of(&fstat(&file).map_err(io::Error::from)?);
            if stamp.size > limit {
                return Err(ReadError::TooLarge { size: stamp.size });
            }
            // One byte more than the file holds: a read that comes back short is at the end.
            buffer.reserve(stamp.size as usize + 1);
            loop {
                if buffer.len() as u64 > limit {
                    return Err(ReadError::TooLarge {
                        size: buffer.len() as u64,
                    });
                }
                if buffer.len() == buffer.capacity() {
                    // Never room for more than one byte over the limit.
                    let left = limit.saturating_add(1) - buffer.len() as u64;
                    buffer.reserve_exact((buffer.capacity().max(4096) as u64).min(left) as usize);
                }
                let room = buffer.capacity() - buffer.len();
                let n = loop {
                    match rustix::io::read(&file, rustix::buffer::spare_capacity(buffer)) {
                        Err(rustix::io::Errno::INTR) => continue,
                        other => break other.map_err(io::Error::from)?,
                    }
                };
                if n == 0 || n < room {
                    if buffer.len() as u64 > limit {
                        return Err(ReadError::TooLarge {
                            size: buffer.len() as u64,
                        });
                    }
                    return Ok(stamp);
                }
            }
        }
        let mut file = std::fs::File::open(site.join(relative))?;
        let stamp = Stamp::from_metadata(&file.metadata()?);
        read_limited(&mut file, stamp.size, buffer, limit)?;
        Ok(stamp)
    }

    /// The stamp of the file at `site/relative` now, or `None` when it cannot be read.
    pub(crate) fn stamp(&self, site: &Path, relative: &Path) -> Option<Stamp> {
        #[cfg(unix)]
        if let (Some(dir), Some(name)) = (self.folder_of(relative), relative.file_name()) {
            use rustix::fs::{statat, AtFlags};
            return statat(dir, name, AtFlags::empty())
                .ok()
                .map(|s| stamp_of(&s));
        }
        Stamp::of(&site.join(relative))
    }

    #[cfg(unix)]
    fn folder_of(&self, relative: &Path) -> Option<&rustix::fd::OwnedFd> {
        self.open.get(parent_of(relative))
    }
}

/// Why a post file was not read.
#[derive(Debug)]
pub enum ReadError {
    /// The file holds more than the limit: at least `size` bytes.
    TooLarge {
        /// Its size, or the bytes read before giving up (it holds at least this many).
        size: u64,
    },
    /// The file could not be opened or read.
    Io(io::Error),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// Reads `file` (said to hold `size` bytes) into `buffer`, refusing more than `limit` bytes:
/// never more than `limit + 1` bytes are read.
pub(crate) fn read_limited(
    file: &mut impl io::Read,
    size: u64,
    buffer: &mut Vec<u8>,
    limit: u64,
) -> Result<(), ReadError> {
    use std::io::Read;
    if size > limit {
        return Err(ReadError::TooLarge { size });
    }
    buffer.reserve(size as usize + 1);
    file.take(limit.saturating_add(1)).read_to_end(buffer)?;
    if buffer.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            size: buffer.len() as u64,
        });
    }
    Ok(())
}

/// The folder part of a relative path: the bytes before the last `/` (what `Path::parent`
/// gives for the walk's plain relative paths, without parsing components).
#[cfg(unix)]
fn parent_of(relative: &Path) -> &OsStr {
    let bytes = relative.as_os_str().as_encoded_bytes();
    let parent = match memchr::memrchr(b'/', bytes) {
        Some(at) => &bytes[..at],
        None => &[],
    };
    // SAFETY: cut right before an ASCII `/` of an `OsStr`'s bytes.
    unsafe { OsStr::from_encoded_bytes_unchecked(parent) }
}

/// The stamp in a `stat` result: the same numbers [`Stamp::from_metadata`] reads.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // the field types differ between platforms
fn stamp_of(stat: &rustix::fs::Stat) -> Stamp {
    Stamp {
        size: stat.st_size as u64,
        modified_ns: stat.st_mtime as i128 * 1_000_000_000 + stat.st_mtime_nsec as i128,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn reads_whole_files_and_stamps_them_as_std_does() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("_posts")).unwrap();
        let big: String = "天".repeat(50_000);
        for (name, text) in [("a.md", ""), ("b.md", "x"), ("c.md", big.as_str())] {
            std::fs::write(dir.path().join("_posts").join(name), text).unwrap();
        }
        let names: Vec<PathBuf> = ["a.md", "b.md", "c.md", "missing.md"]
            .iter()
            .map(|n| Path::new("_posts").join(n))
            .collect();
        let folders = Folders::open(dir.path(), names.iter().map(PathBuf::as_path));
        let mut buffer = b"left over".to_vec();
        for (relative, text) in names.iter().zip(["", "x", big.as_str()]) {
            let stamp = folders
                .read(dir.path(), relative, &mut buffer, u64::MAX)
                .unwrap();
            assert_eq!(buffer, text.as_bytes());
            assert_eq!(Some(stamp), Stamp::of(&dir.path().join(relative)));
            assert_eq!(Some(stamp), folders.stamp(dir.path(), relative));
        }
        let err = folders
            .read(dir.path(), &names[3], &mut buffer, u64::MAX)
            .unwrap_err();
        assert!(
            matches!(&err, ReadError::Io(e) if e.kind() == io::ErrorKind::NotFound),
            "{err:?}"
        );
        assert_eq!(folders.stamp(dir.path(), &names[3]), None);
    }
}
