//! Staging files and blob files: everything that touches object bytes on disk.
//!
//! Architecture Invariant: blob and staging file names are random ids; no object key ever
//! becomes part of a path.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crc::{Crc, CRC_64_XZ};
use md5::{Digest as _, Md5};

use crate::StoreError;

/// CRC-64/XZ, the checksum OSS sends as `x-oss-hash-crc64ecma`.
static CRC64: Crc<u64> = Crc::<u64>::new(&CRC_64_XZ);

/// Write buffer of a staging file, and read buffer of stream copies.
const BUF_SIZE: usize = 128 * 1024;

/// A staging file being written. Bytes go in with [`Staging::write`]; [`Staging::finish`] fsyncs
/// and returns the digests. Dropping an unfinished staging deletes its file.
pub struct Staging {
    path: PathBuf,
    /// `None` once finished (or after a failed finish); the file is then someone else's business.
    writing: Option<Writing>,
    len: u64,
}

struct Writing {
    file: BufWriter<File>,
    md5: Md5,
    crc: crc::Digest<'static, u64>,
}

impl Staging {
    /// Creates a new, empty staging file (mode 0600) in `tmp_dir`.
    pub(crate) fn create(tmp_dir: &Path) -> Result<Staging, StoreError> {
        let path = tmp_dir.join(format!("{}.tmp", new_id()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        let writing = Writing {
            file: BufWriter::with_capacity(BUF_SIZE, file),
            md5: Md5::new(),
            crc: CRC64.digest(),
        };
        Ok(Staging {
            path,
            writing: Some(writing),
            len: 0,
        })
    }

    /// Appends bytes, updating MD5 and CRC-64/XZ.
    pub fn write(&mut self, buf: &[u8]) -> Result<(), StoreError> {
        let Some(writing) = self.writing.as_mut() else {
            return Err(StoreError::Io(io::Error::other(
                "staging file already finished",
            )));
        };
        writing.file.write_all(buf)?;
        writing.md5.update(buf);
        writing.crc.update(buf);
        self.len += buf.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing has been written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Flushes and fsyncs the file; returns the finished blob ready to commit.
    pub fn finish(mut self) -> Result<FinishedBlob, StoreError> {
        let Some(writing) = self.writing.take() else {
            return Err(StoreError::Io(io::Error::other(
                "staging file already finished",
            )));
        };
        // From here on the FinishedBlob owns the file and deletes it if anything fails.
        let mut blob = FinishedBlob {
            path: Some(self.path.clone()),
            size: self.len,
            md5: [0; 16],
            crc64: 0,
        };
        let file = writing.file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        blob.md5 = writing.md5.finalize().into();
        blob.crc64 = writing.crc.finalize();
        Ok(blob)
    }

    /// Streams everything `reader` yields into this staging file with a fixed-size buffer.
    pub(crate) fn copy_from(&mut self, reader: &mut impl Read) -> Result<(), StoreError> {
        let mut buf = vec![0u8; BUF_SIZE];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            self.write(&buf[..n])?;
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if self.writing.take().is_some() {
            remove_quietly(&self.path);
        }
    }
}

/// A fully written, fsynced staging file and its digests. Dropping it without committing
/// deletes the file.
pub struct FinishedBlob {
    /// The staging file; `None` once moved into `blobs/`.
    path: Option<PathBuf>,
    size: u64,
    md5: [u8; 16],
    crc64: u64,
}

impl FinishedBlob {
    pub fn size(&self) -> u64 {
        self.size
    }
    /// Raw MD5 of the bytes.
    pub fn md5(&self) -> [u8; 16] {
        self.md5
    }
    /// CRC-64/XZ (ECMA-182 reflected, OSS's `x-oss-hash-crc64ecma`).
    pub fn crc64(&self) -> u64 {
        self.crc64
    }
}

impl Drop for FinishedBlob {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            remove_quietly(&path);
        }
    }
}

/// The directories of a store and the file operations on blobs.
#[derive(Debug)]
pub(crate) struct Dirs {
    pub(crate) blobs: PathBuf,
    pub(crate) tmp: PathBuf,
}

impl Dirs {
    /// Creates (mode 0700) or tightens `root`, `root/blobs` and `root/tmp`.
    pub(crate) fn create(root: &Path) -> io::Result<Dirs> {
        let dirs = Dirs {
            blobs: root.join("blobs"),
            tmp: root.join("tmp"),
        };
        for dir in [root, &dirs.blobs, &dirs.tmp] {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        }
        Ok(dirs)
    }

    pub(crate) fn blob_path(&self, id: &str) -> PathBuf {
        self.blobs.join(id)
    }

    /// Moves a finished staging file into `blobs/` under a new id and makes the rename durable.
    /// Until the id is committed to the database the blob is garbage that `open` would sweep.
    pub(crate) fn install(&self, mut blob: FinishedBlob) -> Result<String, StoreError> {
        let Some(path) = blob.path.as_ref() else {
            return Err(StoreError::Io(io::Error::other("blob already installed")));
        };
        let id = new_id();
        fs::rename(path, self.blob_path(&id))?;
        blob.path = None;
        if let Err(e) = self.sync_blobs_dir() {
            self.remove_blob(&id);
            return Err(e.into());
        }
        Ok(id)
    }

    /// Hard-links blob `src` under a new id (the caller fsyncs the directory).
    pub(crate) fn link_blob(&self, src: &str) -> io::Result<String> {
        let id = new_id();
        fs::hard_link(self.blob_path(src), self.blob_path(&id))?;
        Ok(id)
    }

    pub(crate) fn sync_blobs_dir(&self) -> io::Result<()> {
        File::open(&self.blobs)?.sync_all()
    }

    /// Deletes a blob nobody refers to any more. Failure only leaks space until the next
    /// `open`, so it is logged, not returned.
    pub(crate) fn remove_blob(&self, id: &str) {
        remove_quietly(&self.blob_path(id));
    }
}

fn remove_quietly(path: &Path) {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "could not delete a store file")
        }
    }
}

/// A random 32-hex-digit id for blob and staging file names.
pub(crate) fn new_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// The `"`-quoted uppercase hex ETag of an MD5.
pub(crate) fn etag_of(md5: &[u8]) -> String {
    format!("\"{}\"", hex::encode_upper(md5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_matches_the_check_values() {
        assert_eq!(CRC64.checksum(b"123456789"), 0x995D_C9BB_DF19_39FA);
        assert_eq!(CRC64.checksum(b"hello world"), 5_981_764_153_023_615_706);
        assert_eq!(CRC64.checksum(b""), 0);
    }

    #[test]
    fn staging_hashes_what_it_writes_and_drop_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let mut staging = Staging::create(dir.path()).unwrap();
        staging.write(b"hello ").unwrap();
        staging.write(b"world").unwrap();
        assert_eq!(staging.len(), 11);
        let blob = staging.finish().unwrap();
        assert_eq!(etag_of(&blob.md5()), "\"5EB63BBBE01EEED093CB22BB8F5ACDC3\"");
        assert_eq!(blob.crc64(), 5_981_764_153_023_615_706);
        assert_eq!(blob.size(), 11);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        drop(blob);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);

        let mut staging = Staging::create(dir.path()).unwrap();
        staging.write(b"abandoned").unwrap();
        drop(staging);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
