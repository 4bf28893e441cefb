//! An append-only file of records beside a cache's index, so that a rebuild writes only what it
//! made anew: the post cache (one record per post file) and the entry cache (one per feed
//! entry) keep their records here, and their small index says where each lies.
//!
//! The file starts with a magic and a generation number; the index names the generation it
//! points into, so that an index and a records file written for different generations are never
//! used together. Each record is found by its [`Place`], which carries its checksum: a damaged
//! record is simply not used. New records are appended; when less than half of the file would
//! still be used, it is written anew (a temporary file, then a rename) with only the records
//! kept, under a new generation. A crash between appending and writing the index leaves records
//! no index names: they go at the next rewrite.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::cache::{checksum, replace_file};

const MAGIC: &[u8; 16] = b"gazette-records1";
/// The header: the magic and the generation.
const HEADER: u64 = 24;
/// Dead bytes allowed in the file beyond the live ones before it is written anew.
const SLACK: u64 = 1 << 20;

/// Where a record lies in the records file, and its checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Place {
    offset: u64,
    len: u64,
    sum: u64,
}

/// A record to write: a new one (encoded when it is written, see [`Records::save`]), or a record
/// the file holds already.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Record {
    New,
    Old(Place),
}

/// New records are encoded this many at a time (in parallel) and written before the next ones
/// are: 100,000 posts' records are 40 MB, which a cold build must not hold at once.
const BATCH: usize = 4096;

/// A records file, opened for the generation its index names.
#[derive(Debug, Default)]
pub(crate) struct Records {
    path: PathBuf,
    generation: u64,
    file: Option<std::fs::File>,
}

/// The generation in a records file's header, when it has one.
fn generation_of(file: &std::fs::File) -> Option<u64> {
    let mut header = [0u8; HEADER as usize];
    read_at(file, &mut header, 0).ok()?;
    let rest = header.strip_prefix(MAGIC.as_slice())?;
    Some(u64::from_le_bytes(rest.try_into().ok()?))
}

#[cfg(unix)]
fn read_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Read, Seek};
    let mut file = file;
    file.seek(std::io::SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

impl Records {
    /// The records file at `path` when it holds `generation` (an index's); else an empty one,
    /// which holds no record and is written anew by the next save.
    pub fn open(path: &Path, generation: u64) -> Records {
        let file = std::fs::File::open(path)
            .ok()
            .filter(|f| generation != 0 && generation_of(f) == Some(generation));
        Records {
            path: path.to_path_buf(),
            generation: if file.is_some() { generation } else { 0 },
            file,
        }
    }

    /// The generation an index must name to use this file (0: none).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The record at `place`, when whole.
    pub fn read(&self, place: Place) -> Option<Vec<u8>> {
        let mut bytes = vec![0; usize::try_from(place.len).ok()?];
        read_at(self.file.as_ref()?, &mut bytes, place.offset).ok()?;
        (checksum(&bytes) == place.sum).then_some(bytes)
    }

    /// The whole file, to take many records from at once ([`Records::slice`]).
    pub fn read_all(&self) -> Option<Vec<u8>> {
        // From the start, whatever read before (the file's position is shared).
        let file = self.file.as_ref()?;
        let len = usize::try_from(file.metadata().ok()?.len()).ok()?;
        let mut bytes = vec![0; len];
        read_at(file, &mut bytes, 0).ok()?;
        Some(bytes)
    }

    /// The record at `place` in `all` (the bytes [`Records::read_all`] gave), when whole.
    pub fn slice(all: &[u8], place: Place) -> Option<&[u8]> {
        let start = usize::try_from(place.offset).ok()?;
        let end = start.checked_add(usize::try_from(place.len).ok()?)?;
        let bytes = all.get(start..end)?;
        (checksum(bytes) == place.sum).then_some(bytes)
    }

    /// Writes `records`: each new one as `encode` gives it (called with its place in
    /// `records`), appended, the old ones left where they are; or all of them into a new file
    /// when too little of this one is still used. Gives the generation the index must now name,
    /// and each record's place, in order.
    pub fn save(
        &self,
        records: &[Record],
        encode: impl Fn(usize) -> std::io::Result<Vec<u8>> + Sync,
    ) -> std::io::Result<(u64, Vec<Place>)> {
        let live: u64 = records
            .iter()
            .map(|r| match r {
                Record::New => 0,
                Record::Old(place) => place.len,
            })
            .sum();
        let size = self
            .file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map_or(0, |m| m.len());
        if self.file.is_some() && size <= 2 * live + SLACK {
            if let Ok(places) = self.append(records, &encode) {
                return Ok((self.generation, places));
            }
        }
        self.rewrite(records, &encode)
    }

    /// Writes `records` into `file` from `offset` on: the old ones copied from `old` (the bytes
    /// of the file being replaced) when given, else left where they are; the new ones encoded
    /// a batch at a time.
    fn write_records(
        file: &mut impl Write,
        mut offset: u64,
        records: &[Record],
        old: Option<&[u8]>,
        encode: &(impl Fn(usize) -> std::io::Result<Vec<u8>> + Sync),
    ) -> std::io::Result<Vec<Place>> {
        use rayon::prelude::*;
        let mut places = Vec::with_capacity(records.len());
        for (b, batch) in records.chunks(BATCH).enumerate() {
            let encoded: Vec<Option<Vec<u8>>> = batch
                .par_iter()
                .enumerate()
                .map(|(i, r)| match r {
                    Record::New => encode(b * BATCH + i).map(Some),
                    Record::Old(_) => Ok(None),
                })
                .collect::<std::io::Result<_>>()?;
            for (record, bytes) in batch.iter().zip(&encoded) {
                let bytes: &[u8] = match (record, bytes, old) {
                    (Record::New, Some(bytes), _) => bytes,
                    (Record::Old(place), _, Some(old)) => Records::slice(old, *place)
                        .ok_or_else(|| std::io::Error::other("a kept record is damaged"))?,
                    (Record::Old(place), _, None) => {
                        places.push(*place);
                        continue;
                    }
                    (Record::New, None, _) => &[],
                };
                file.write_all(bytes)?;
                places.push(Place {
                    offset,
                    len: bytes.len() as u64,
                    sum: checksum(bytes),
                });
                offset += bytes.len() as u64;
            }
        }
        Ok(places)
    }

    /// Appends the new records.
    fn append(
        &self,
        records: &[Record],
        encode: &(impl Fn(usize) -> std::io::Result<Vec<u8>> + Sync),
    ) -> std::io::Result<Vec<Place>> {
        use std::io::Seek;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .open(&self.path)?;
        // Still this generation, on the very file written to (another run may have written the
        // file anew meanwhile).
        if generation_of(&file) != Some(self.generation) {
            return Err(std::io::Error::other("records file of another generation"));
        }
        // The new records in one write: where it landed is known once written (another run
        // appending at the same time cannot move them), and the places are moved there.
        let mut new = Vec::new();
        let mut places = Records::write_records(&mut new, 0, records, None, encode)?;
        file.write_all(&new)?;
        let start = file.stream_position()? - new.len() as u64;
        for (record, place) in records.iter().zip(&mut places) {
            if matches!(record, Record::New) {
                place.offset += start;
            }
        }
        Ok(places)
    }

    /// Writes the file anew with every record of `records`, under a new generation.
    fn rewrite(
        &self,
        records: &[Record],
        encode: &(impl Fn(usize) -> std::io::Result<Vec<u8>> + Sync),
    ) -> std::io::Result<(u64, Vec<Place>)> {
        // Never the one an index names now, never 0 (no file).
        let generation = (self.generation ^ u64::from(std::process::id()))
            .wrapping_add(0x9e37_79b9_7f4a_7c15)
            .max(1);
        let all = if records.iter().any(|r| matches!(r, Record::Old(_))) {
            self.read_all().unwrap_or_default()
        } else {
            Vec::new()
        };
        let mut places = Vec::new();
        replace_file(&self.path, |file| {
            file.write_all(MAGIC)?;
            file.write_all(&generation.to_le_bytes())?;
            places = Records::write_records(file, HEADER, records, Some(&all), encode)?;
            Ok(())
        })?;
        Ok((generation, places))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_appended_kept_and_compacted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.records");
        let empty = Records::open(&path, 0);
        assert_eq!(empty.generation(), 0);
        let words: [&[u8]; 2] = [b"one", b"two"];
        let (generation, places) = empty
            .save(&[Record::New, Record::New], |i| Ok(words[i].to_vec()))
            .unwrap();
        let records = Records::open(&path, generation);
        assert_eq!(records.read(places[0]).unwrap(), b"one");
        assert_eq!(records.read(places[1]).unwrap(), b"two");
        // Another generation's index cannot use the file.
        assert!(Records::open(&path, generation + 1)
            .read(places[0])
            .is_none());
        // Appending keeps the old records where they are.
        let before = std::fs::read(&path).unwrap();
        let (same, more) = records
            .save(&[Record::Old(places[0]), Record::New], |_| {
                Ok(b"three".to_vec())
            })
            .unwrap();
        assert_eq!(same, generation);
        assert!(std::fs::read(&path).unwrap().starts_with(&before));
        let records = Records::open(&path, same);
        assert_eq!(records.read(more[0]).unwrap(), b"one");
        assert_eq!(records.read(more[1]).unwrap(), b"three");
        let all = records.read_all().unwrap();
        assert_eq!(Records::slice(&all, more[1]).unwrap(), b"three");
        // Read whole twice: the same bytes (a rewrite after a bulk read needs them again).
        assert_eq!(records.read_all().unwrap(), all);
        // Damage is found.
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(Records::open(&path, same).read(more[1]).is_none());
        assert!(Records::open(&path, same).read(more[0]).is_some());
    }

    #[test]
    fn a_file_mostly_of_dead_records_is_written_anew() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.records");
        let big = vec![7u8; 400_000];
        let mut records = Records::open(&path, 0);
        let mut generations = std::collections::BTreeSet::new();
        for _ in 0..10 {
            let (generation, places) = records.save(&[Record::New], |_| Ok(big.clone())).unwrap();
            generations.insert(generation);
            records = Records::open(&path, generation);
            assert_eq!(records.read(places[0]).unwrap(), big);
        }
        assert!(generations.len() > 1, "written anew at least once");
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size <= 2 * 400_000 + SLACK + HEADER + 400_000, "{size}");
    }
}
