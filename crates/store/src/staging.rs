//! Staging files and blob files: everything that touches object bytes on disk.
//!
//! Architecture Invariant: blob and staging file names are random ids; no object key ever
//! becomes part of a path.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};

use crate::md5fast::Md5;
use md5::Digest as _;

use crate::StoreError;

/// Objects up to this size are kept in the metadata database (table `inline_blobs`) instead of
/// a file of their own: a small PUT then costs no inode (creating and deleting one per write is
/// what a filesystem does slowest), no file fsync and no directory fsync, only its share of a
/// group commit's WAL fsync; a GET of one is answered from the cache's copy.
pub const INLINE_MAX: usize = 16 * 1024;

/// Whether a blob id names an inline blob (file blob ids are 32 lowercase hex digits).
pub(crate) fn is_inline(id: &str) -> bool {
    id.starts_with('i')
}

/// A new inline blob id.
pub(crate) fn new_inline_id() -> String {
    format!("i{}", new_id())
}

/// Write buffer of a staging file.
const BUF_SIZE: usize = 128 * 1024;

/// Read buffer of [`Staging::copy_from`] (CopyObject, CompleteMultipartUpload): large enough for
/// the MD5 to run beside the write (see `PARALLEL_HASH_MIN`).
const COPY_BUF_SIZE: usize = 1024 * 1024;

/// From the first write of this size on, the MD5 of a staging file is computed on a thread of its
/// own while the calling thread writes the bytes and computes the CRC-64. MD5 cannot be split and
/// is the slowest step (~450 MiB/s); for small objects a thread costs more than it saves.
const PARALLEL_HASH_MIN: usize = 256 * 1024;

/// Chunks queued for the MD5 thread at most: enough to keep it busy through short stalls of the
/// writer (each queued chunk is a buffer of its own, so this bounds the memory too).
const MD5_QUEUE: usize = 4;

/// Every this many bytes written, a background thread asks the kernel to write the file's dirty
/// pages to disk (`fdatasync` on a duplicate descriptor), so the disk works while the upload is
/// still being received and the final fsync in [`Staging::finish`] has little left to do.
const WRITEBACK_EVERY: u64 = 8 * 1024 * 1024;

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
    md5: Md5Hasher,
    /// CRC-64/XZ, the checksum OSS sends as `x-oss-hash-crc64ecma`. `crc64fast` folds with
    /// carry-less multiplication (PCLMULQDQ/PMULL, detected at run time, table fallback): ~6 GiB/s
    /// here against ~0.35 GiB/s for the `crc` crate's default table, ~1.3 GiB/s for slice-by-16.
    crc: crc64fast::Digest,
    writeback: Writeback,
}

/// Early writeback: at most one background `fdatasync` of the staging file at a time.
///
/// Durability still rests on the `sync_all` in [`Staging::finish`]. The background sync runs on a
/// duplicate of the same open file description, which shares the kernel's writeback-error cursor:
/// an error it sees would not be reported again to the final fsync, so it is kept and returned
/// by `finish` (or the next write), never dropped.
#[derive(Default)]
struct Writeback {
    /// Bytes written when the last background sync was started.
    started_at: u64,
    in_flight: Option<JoinHandle<io::Result<()>>>,
}

impl Writeback {
    /// Starts a background sync if `WRITEBACK_EVERY` bytes were written since the last one and
    /// none is running. Reports the error of a finished one.
    fn poke(&mut self, file: &mut BufWriter<File>, len: u64) -> io::Result<()> {
        if len - self.started_at < WRITEBACK_EVERY {
            return Ok(());
        }
        if self.in_flight.as_ref().is_some_and(|h| !h.is_finished()) {
            return Ok(());
        }
        self.wait()?;
        file.flush()?;
        // Without a descriptor or a thread to spare, the final fsync simply does all the work.
        let Ok(dup) = file.get_ref().try_clone() else {
            return Ok(());
        };
        if let Ok(handle) = thread::Builder::new()
            .name("staging-writeback".into())
            .spawn(move || dup.sync_data())
        {
            self.in_flight = Some(handle);
            self.started_at = len;
        }
        Ok(())
    }

    /// Waits for the running background sync, if any, and returns its result.
    fn wait(&mut self) -> io::Result<()> {
        match self.in_flight.take() {
            None => Ok(()),
            Some(handle) => handle
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("writeback thread panicked"))),
        }
    }
}

/// The MD5 of a staging file: inline, or (after the first large write) on a thread of its own,
/// fed owned chunks in order through a bounded queue. Hashed chunks come back, emptied, as spare
/// buffers; a new buffer is allocated only when none has come back, so about `MD5_QUEUE` + 2
/// buffers exist beside the caller's.
enum Md5Hasher {
    Inline(Md5),
    Thread {
        chunks: mpsc::SyncSender<Vec<u8>>,
        spare: mpsc::Receiver<Vec<u8>>,
        handle: JoinHandle<Md5>,
    },
}

impl Md5Hasher {
    /// Moves the hashing to its own thread, if it is not there yet and a thread can be had.
    fn start_thread(&mut self) {
        let Md5Hasher::Inline(md5) = self else {
            return;
        };
        let mut state = md5.clone();
        let (chunks, queue) = mpsc::sync_channel::<Vec<u8>>(MD5_QUEUE);
        let (give_back, spare) = mpsc::channel();
        let spawned = thread::Builder::new()
            .name("staging-md5".into())
            .spawn(move || {
                for mut chunk in queue {
                    state.update(&chunk);
                    chunk.clear();
                    // The staging may be gone already; the buffer is then simply freed.
                    let _ = give_back.send(chunk);
                }
                state
            });
        // Without a thread to spare, hashing stays inline.
        if let Ok(handle) = spawned {
            *self = Md5Hasher::Thread {
                chunks,
                spare,
                handle,
            };
        }
    }

    /// Hashes `chunk` (here or on the thread) and returns an empty buffer for the next one.
    fn update_vec(&mut self, mut chunk: Vec<u8>) -> io::Result<Vec<u8>> {
        if chunk.len() >= PARALLEL_HASH_MIN {
            self.start_thread();
        }
        match self {
            Md5Hasher::Inline(md5) => {
                md5.update(&chunk);
                chunk.clear();
                Ok(chunk)
            }
            Md5Hasher::Thread { chunks, spare, .. } => {
                let capacity = chunk.capacity();
                chunks
                    .send(chunk)
                    .map_err(|_| io::Error::other("the MD5 thread failed"))?;
                Ok(spare
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(capacity)))
            }
        }
    }

    /// Hashes a copy of `buf`.
    fn update(&mut self, buf: &[u8]) -> io::Result<()> {
        if buf.len() >= PARALLEL_HASH_MIN {
            self.start_thread();
        }
        match self {
            Md5Hasher::Inline(md5) => md5.update(buf),
            Md5Hasher::Thread { chunks, spare, .. } => {
                let mut copy = spare
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(buf.len()));
                copy.extend_from_slice(buf);
                chunks
                    .send(copy)
                    .map_err(|_| io::Error::other("the MD5 thread failed"))?;
            }
        }
        Ok(())
    }

    /// Waits for every queued chunk to be hashed and returns the digest.
    fn finalize(self) -> io::Result<[u8; 16]> {
        let md5 = match self {
            Md5Hasher::Inline(md5) => md5,
            Md5Hasher::Thread { chunks, handle, .. } => {
                drop(chunks);
                handle
                    .join()
                    .map_err(|_| io::Error::other("the MD5 thread panicked"))?
            }
        };
        Ok(md5.finalize())
    }
}

impl Staging {
    /// Creates a new, empty staging file (mode 0600) in `tmp_dir`.
    pub(crate) fn create(tmp_dir: &Path) -> Result<Staging, StoreError> {
        Staging::create_sized(tmp_dir, BUF_SIZE)
    }

    /// [`Staging::create`] with a write buffer of at most `size` bytes (a small body written in
    /// one go needs none: `BufWriter` passes writes as large as its buffer straight through).
    pub(crate) fn create_sized(tmp_dir: &Path, size: usize) -> Result<Staging, StoreError> {
        let path = tmp_dir.join(format!("{}.tmp", new_id()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        let writing = Writing {
            file: BufWriter::with_capacity(size.min(BUF_SIZE), file),
            md5: Md5Hasher::Inline(Md5::new()),
            crc: crc64fast::Digest::new(),
            writeback: Writeback::default(),
        };
        Ok(Staging {
            path,
            writing: Some(writing),
            len: 0,
        })
    }

    /// Appends bytes, updating MD5 and CRC-64/XZ.
    pub fn write(&mut self, buf: &[u8]) -> Result<(), StoreError> {
        let writing = self.writing_mut()?;
        writing.md5.update(buf)?;
        writing.file.write_all(buf)?;
        writing.crc.write(buf);
        self.wrote(buf.len())
    }

    /// [`Staging::write`] for an owned chunk, which goes on to the MD5 thread without a copy;
    /// returns an empty buffer (of the same capacity) for the next chunk.
    pub fn write_vec(&mut self, chunk: Vec<u8>) -> Result<Vec<u8>, StoreError> {
        let writing = self.writing_mut()?;
        let n = chunk.len();
        writing.file.write_all(&chunk)?;
        writing.crc.write(&chunk);
        let spare = writing.md5.update_vec(chunk)?;
        self.wrote(n)?;
        Ok(spare)
    }

    fn writing_mut(&mut self) -> Result<&mut Writing, StoreError> {
        self.writing
            .as_mut()
            .ok_or_else(|| StoreError::Io(io::Error::other("staging file already finished")))
    }

    /// Counts `n` bytes written and starts background writeback when due.
    fn wrote(&mut self, n: usize) -> Result<(), StoreError> {
        self.len += n as u64;
        if let Some(writing) = self.writing.as_mut() {
            writing.writeback.poke(&mut writing.file, self.len)?;
        }
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
        let Some(mut writing) = self.writing.take() else {
            return Err(StoreError::Io(io::Error::other(
                "staging file already finished",
            )));
        };
        // From here on the FinishedBlob owns the file and deletes it if anything fails.
        let mut blob = FinishedBlob {
            path: Some(self.path.clone()),
            inline: None,
            size: self.len,
            md5: [0; 16],
            crc64: 0,
        };
        let file = writing.file.into_inner().map_err(|e| e.into_error())?;
        writing.writeback.wait()?;
        file.sync_all()?;
        blob.md5 = writing.md5.finalize()?;
        blob.crc64 = writing.crc.sum64();
        Ok(blob)
    }

    /// Streams everything `reader` yields into this staging file with a fixed-size buffer.
    pub(crate) fn copy_from(&mut self, reader: &mut impl Read) -> Result<(), StoreError> {
        let mut buf = vec![0u8; COPY_BUF_SIZE];
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
    /// The staging file; `None` once moved into `blobs/`, and for an inline blob.
    path: Option<PathBuf>,
    /// The bytes of a blob kept in the database (at most [`INLINE_MAX`]); no file exists.
    inline: Option<Vec<u8>>,
    size: u64,
    md5: [u8; 16],
    crc64: u64,
}

impl FinishedBlob {
    /// A blob of at most [`INLINE_MAX`] bytes kept in the database: nothing touches the disk
    /// until its row is committed.
    pub(crate) fn inline(bytes: &[u8]) -> FinishedBlob {
        let mut crc = crc64fast::Digest::new();
        crc.write(bytes);
        FinishedBlob {
            path: None,
            inline: Some(bytes.to_vec()),
            size: bytes.len() as u64,
            md5: md5::Md5::digest(bytes).into(),
            crc64: crc.sum64(),
        }
    }

    /// The bytes of an inline blob (taken out: the blob is then committed through its row).
    pub(crate) fn take_inline(&mut self) -> Option<Vec<u8>> {
        self.inline.take()
    }

    pub fn size(&self) -> u64 {
        self.size
    }
    /// The same size, MD5 and CRC-64 (those of the plaintext) over other bytes: `file`'s staged
    /// file or `inline` bytes (a sealed blob, see `sse.rs`).
    pub(crate) fn with_content(
        mut self,
        file: Option<FinishedBlob>,
        inline: Option<Vec<u8>>,
    ) -> FinishedBlob {
        let path = file.and_then(|mut f| f.path.take());
        if let Some(old) = self.path.take() {
            remove_quietly(&old);
        }
        FinishedBlob {
            path,
            inline,
            size: self.size,
            md5: self.md5,
            crc64: self.crc64,
        }
    }

    /// The staged file (`None` for an inline blob).
    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
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

/// Replaced or deleted blobs at least this large are deleted on a thread of their own, after the
/// request's answer: freeing a large file's extents takes long (0.13-0.16 s for 512 MiB here,
/// where the filesystem discards freed blocks), and an overwrite's client would wait for it.
const BACKGROUND_DELETE_MIN: u64 = 8 * 1024 * 1024;

/// Deletions queued for the background thread at most; beyond that the caller deletes itself.
const DELETE_QUEUE: usize = 64;

/// The directories of a store and the file operations on blobs.
#[derive(Debug)]
pub(crate) struct Dirs {
    pub(crate) blobs: PathBuf,
    pub(crate) tmp: PathBuf,
    /// The background deleter of large blobs (started with the first one).
    deleter: std::sync::Mutex<Option<mpsc::SyncSender<PathBuf>>>,
}

impl Dirs {
    /// Creates (mode 0700) or tightens `root`, `root/blobs` and `root/tmp`.
    pub(crate) fn create(root: &Path) -> io::Result<Dirs> {
        let dirs = Dirs {
            blobs: root.join("blobs"),
            tmp: root.join("tmp"),
            deleter: Default::default(),
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
    pub(crate) fn install(&self, blob: FinishedBlob) -> Result<String, StoreError> {
        let id = self.install_unsynced(blob)?;
        if let Err(e) = self.sync_blobs_dir() {
            self.remove_blob(&id);
            return Err(e.into());
        }
        Ok(id)
    }

    /// Moves a finished staging file into `blobs/` under a new id; the caller fsyncs `blobs/`
    /// before committing the id (the group commit does it once per batch).
    pub(crate) fn install_unsynced(&self, mut blob: FinishedBlob) -> Result<String, StoreError> {
        if let Some(bytes) = blob.inline.take() {
            // Where the caller needs a file (multipart parts), an inline blob becomes one.
            let mut staging = Staging::create_sized(&self.tmp, bytes.len())?;
            staging.write(&bytes)?;
            return self.install_unsynced(staging.finish()?);
        }
        let Some(path) = blob.path.as_ref() else {
            return Err(StoreError::Io(io::Error::other("blob already installed")));
        };
        let id = new_id();
        fs::rename(path, self.blob_path(&id))?;
        blob.path = None;
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
        // An inline blob goes with its row, in the row's transaction (`db::upsert_object`).
        if is_inline(id) {
            return;
        }
        remove_quietly(&self.blob_path(id));
    }

    /// [`Dirs::remove_blob`] for a blob a committed write replaced or deleted: a large one is
    /// deleted on the background thread, so the request that replaced it does not wait. A
    /// crash before it is deleted leaves an unnamed blob, which the start-up sweep deletes.
    pub(crate) fn retire_blob(&self, id: &str) {
        if is_inline(id) {
            return;
        }
        let path = self.blob_path(id);
        let large = fs::metadata(&path).is_ok_and(|m| m.len() >= BACKGROUND_DELETE_MIN);
        let path = match large {
            true => match self.send_to_deleter(path) {
                Ok(()) => return,
                Err(path) => path,
            },
            false => path,
        };
        remove_quietly(&path);
    }

    /// Queues `path` for the background deleter (starting it if needed); gives the path back
    /// when the queue is full or no thread can be had.
    fn send_to_deleter(&self, path: PathBuf) -> Result<(), PathBuf> {
        let mut deleter = self
            .deleter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if deleter.is_none() {
            let (send, queue) = mpsc::sync_channel::<PathBuf>(DELETE_QUEUE);
            let spawned = thread::Builder::new()
                .name("store-delete".into())
                .spawn(move || queue.into_iter().for_each(|p| remove_quietly(&p)));
            if spawned.is_err() {
                return Err(path);
            }
            *deleter = Some(send);
        }
        let Some(send) = deleter.as_ref() else {
            return Err(path);
        };
        send.try_send(path).map_err(|e| match e {
            mpsc::TrySendError::Full(p) | mpsc::TrySendError::Disconnected(p) => p,
        })
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

    fn crc64(chunks: &[&[u8]]) -> u64 {
        let mut digest = crc64fast::Digest::new();
        for chunk in chunks {
            digest.write(chunk);
        }
        digest.sum64()
    }

    #[test]
    fn crc64_matches_the_check_values() {
        assert_eq!(crc64(&[b"123456789"]), 0x995D_C9BB_DF19_39FA);
        assert_eq!(crc64(&[b"hello world"]), 5_981_764_153_023_615_706);
        assert_eq!(crc64(&[b""]), 0);
    }

    proptest::proptest! {
        /// The SIMD CRC agrees with the `crc` crate's reference CRC-64/XZ, however the bytes
        /// are split into writes (lengths around the 16/64/128-byte folding blocks included).
        #[test]
        fn crc64_matches_the_reference(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..3000),
            cut in 0usize..3000,
        ) {
            let reference = crc::Crc::<u64>::new(&crc::CRC_64_XZ).checksum(&bytes);
            let cut = cut.min(bytes.len());
            proptest::prop_assert_eq!(crc64(&[&bytes]), reference);
            proptest::prop_assert_eq!(crc64(&[&bytes[..cut], &bytes[cut..]]), reference);
        }
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

    /// Large writes move the MD5 to a thread of its own and start background writeback; the
    /// digests and the bytes on disk are those of a plain sequential pass.
    #[test]
    fn large_writes_hash_and_store_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..20 * 1024 * 1024 + 12345u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut staging = Staging::create(dir.path()).unwrap();
        let sizes = [
            1024 * 1024,
            7,
            PARALLEL_HASH_MIN,
            3 * 1024 * 1024 + 1,
            100_000,
        ];
        let (mut at, mut i) = (0, 0);
        while at < data.len() {
            let n = sizes[i % sizes.len()].min(data.len() - at);
            if i % 3 == 1 {
                // Owned chunks and borrowed slices are hashed in the order they were written.
                let spare = staging.write_vec(data[at..at + n].to_vec()).unwrap();
                assert!(spare.is_empty());
            } else {
                staging.write(&data[at..at + n]).unwrap();
            }
            at += n;
            i += 1;
        }
        let path = staging.path.clone();
        let blob = staging.finish().unwrap();
        assert_eq!(blob.size(), data.len() as u64);
        assert_eq!(blob.md5(), <[u8; 16]>::from(md5::Md5::digest(&data)));
        let reference = crc::Crc::<u64>::new(&crc::CRC_64_XZ).checksum(&data);
        assert_eq!(blob.crc64(), reference);
        assert!(fs::read(&path).unwrap() == data);
    }

    #[test]
    fn copy_from_hashes_like_write() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..3 * 1024 * 1024 + 5u32)
            .map(|i| (i % 251) as u8)
            .collect();
        let mut staging = Staging::create(dir.path()).unwrap();
        staging.copy_from(&mut &data[..]).unwrap();
        let blob = staging.finish().unwrap();
        assert_eq!(blob.md5(), <[u8; 16]>::from(md5::Md5::digest(&data)));
        assert_eq!(blob.size(), data.len() as u64);
    }
}
