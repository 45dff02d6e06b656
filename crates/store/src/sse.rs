//! Server-side encryption at rest (OSS's `AES256` mode): an object's bytes are sealed with a key
//! of its own, derived from the store key (itself derived from the data directory's master key)
//! and a random salt kept in the object's metadata. The bytes are cut into 64 KiB chunks, each
//! sealed with ChaCha20-Poly1305 (the AEAD the tokens already use; the algorithm name on the wire
//! is OSS's `AES256`, which clients only echo), so reads, ranged ones too, decrypt chunk by
//! chunk and memory stays flat. Each chunk's nonce is its index and its associated data is the
//! plaintext size and whether it is the last chunk, so chunks cannot be reordered, dropped or
//! moved between objects (another salt is another key).
//!
//! ETag, MD5 and CRC-64 stay those of the plaintext (what clients check).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{FinishedBlob, Staging, StoreError};

/// Plaintext bytes per sealed chunk.
pub const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;

/// The store's key-encryption key (32 bytes), set once at start.
pub(crate) type StoreKey = Zeroizing<[u8; 32]>;

/// The algorithm name objects record (and OSS answers).
pub const AES256: &str = "AES256";

fn object_cipher(store_key: &[u8; 32], salt: &[u8]) -> ChaCha20Poly1305 {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(store_key).expect("HMAC takes any key length");
    mac.update(b"stsgate sse object key v1\0");
    mac.update(salt);
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&mac.finalize().into_bytes());
    ChaCha20Poly1305::new(Key::from_slice(&key[..]))
}

fn nonce(index: u64) -> Nonce {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&index.to_be_bytes());
    *Nonce::from_slice(&n)
}

fn aad(size: u64, last: bool) -> [u8; 9] {
    let mut a = [0u8; 9];
    a[..8].copy_from_slice(&size.to_be_bytes());
    a[8] = u8::from(last);
    a
}

fn chunks(size: u64) -> u64 {
    size.div_ceil(CHUNK as u64).max(1)
}

/// The sealed length of `size` plaintext bytes.
pub fn sealed_len(size: u64) -> u64 {
    size + chunks(size) * TAG as u64
}

fn crypto_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "an encrypted object failed to decrypt (wrong master key or damaged blob)",
    )
}

/// Seals all of `plain` (exactly `size` bytes) into `out`.
fn seal_stream(
    cipher: &ChaCha20Poly1305,
    size: u64,
    plain: &mut impl Read,
    out: &mut impl FnMut(&[u8]) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let n = chunks(size);
    let mut buf = vec![0u8; CHUNK];
    for index in 0..n {
        let want = if index + 1 == n {
            (size - index * CHUNK as u64) as usize
        } else {
            CHUNK
        };
        plain.read_exact(&mut buf[..want])?;
        let sealed = cipher
            .encrypt(
                &nonce(index),
                Payload {
                    msg: &buf[..want],
                    aad: &aad(size, index + 1 == n),
                },
            )
            .map_err(|_| StoreError::Io(io::Error::other("sealing failed")))?;
        out(&sealed)?;
    }
    Ok(())
}

/// Seals `blob` (plaintext) into a new blob with the same size, MD5 and CRC-64; returns it and
/// the hex salt to record.
pub(crate) fn seal(
    store_key: &[u8; 32],
    tmp: &std::path::Path,
    mut blob: FinishedBlob,
) -> Result<(FinishedBlob, String), StoreError> {
    let salt: [u8; 16] = rand::random();
    let cipher = object_cipher(store_key, &salt);
    let size = blob.size();
    let sealed = match blob.take_inline() {
        Some(bytes) => {
            let mut out = Vec::with_capacity(sealed_len(size) as usize);
            seal_stream(&cipher, size, &mut bytes.as_slice(), &mut |c| {
                out.extend_from_slice(c);
                Ok(())
            })?;
            blob.with_content(None, Some(out))
        }
        None => {
            let mut staging = Staging::create(tmp)?;
            seal_file(&cipher, &blob, &mut staging)?;
            let finished = staging.finish()?;
            blob.with_content(Some(finished), None)
        }
    };
    Ok((sealed, hex::encode(salt)))
}

/// Seals a staged (file) blob's bytes into `staging`.
fn seal_file(
    cipher: &ChaCha20Poly1305,
    blob: &FinishedBlob,
    staging: &mut Staging,
) -> Result<(), StoreError> {
    let path = blob
        .path()
        .ok_or_else(|| StoreError::Io(io::Error::other("no staged file")))?;
    let mut plain = io::BufReader::with_capacity(CHUNK, File::open(path)?);
    seal_stream(cipher, blob.size(), &mut plain, &mut |c| staging.write(c))
}

/// Seals a multipart part: the file is its 16-byte salt, then the sealed chunks (a part row has
/// no column for the salt, and the part is only ever read whole, by the completion).
pub(crate) fn seal_part(
    store_key: &[u8; 32],
    tmp: &std::path::Path,
    mut blob: FinishedBlob,
) -> Result<FinishedBlob, StoreError> {
    let salt: [u8; 16] = rand::random();
    let cipher = object_cipher(store_key, &salt);
    let size = blob.size();
    let mut staging = Staging::create(tmp)?;
    staging.write(&salt)?;
    match blob.take_inline() {
        Some(bytes) => seal_stream(&cipher, size, &mut bytes.as_slice(), &mut |c| {
            staging.write(c)
        })?,
        None => seal_file(&cipher, &blob, &mut staging)?,
    }
    let finished = staging.finish()?;
    Ok(blob.with_content(Some(finished), None))
}

/// Reads a part sealed by [`seal_part`] (`size` plaintext bytes) as plaintext.
pub(crate) fn open_part(store_key: &[u8; 32], mut file: File, size: u64) -> io::Result<impl Read> {
    let mut salt = [0u8; 16];
    file.read_exact(&mut salt)?;
    SealedReader::new(store_key, &hex::encode(salt), size, Skip16(file))
}

/// A file read from its 17th byte on (the part's salt comes first).
struct Skip16(File);

impl Read for Skip16 {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Seek for Skip16 {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match pos {
            SeekFrom::Start(n) => Ok(self.0.seek(SeekFrom::Start(n + 16))? - 16),
            other => Ok(self.0.seek(other)?.saturating_sub(16)),
        }
    }
}

/// Opens all of a small sealed object.
pub(crate) fn open_all(
    store_key: &[u8; 32],
    salt_hex: &str,
    size: u64,
    sealed: &[u8],
) -> io::Result<Vec<u8>> {
    let mut reader = SealedReader::new(store_key, salt_hex, size, io::Cursor::new(sealed))?;
    let mut out = Vec::with_capacity(size as usize);
    reader.read_to_end(&mut out)?;
    Ok(out)
}

/// Reads the plaintext of a sealed blob, seeking by chunks.
pub struct SealedReader<R> {
    inner: R,
    cipher: ChaCha20Poly1305,
    size: u64,
    pos: u64,
    /// The decrypted chunk `chunk_index`, if any.
    chunk: Vec<u8>,
    chunk_index: Option<u64>,
}

impl<R> std::fmt::Debug for SealedReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedReader")
            .field("size", &self.size)
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

impl<R: Read + Seek> SealedReader<R> {
    pub(crate) fn new(
        store_key: &[u8; 32],
        salt_hex: &str,
        size: u64,
        inner: R,
    ) -> io::Result<Self> {
        let salt = hex::decode(salt_hex).map_err(|_| crypto_error())?;
        Ok(SealedReader {
            inner,
            cipher: object_cipher(store_key, &salt),
            size,
            pos: 0,
            chunk: Vec::new(),
            chunk_index: None,
        })
    }

    fn load(&mut self, index: u64) -> io::Result<()> {
        if self.chunk_index == Some(index) {
            return Ok(());
        }
        let n = chunks(self.size);
        let plain_len = if index + 1 == n {
            (self.size - index * CHUNK as u64) as usize
        } else {
            CHUNK
        };
        let mut sealed = vec![0u8; plain_len + TAG];
        self.inner
            .seek(SeekFrom::Start(index * (CHUNK + TAG) as u64))?;
        self.inner.read_exact(&mut sealed)?;
        self.chunk = self
            .cipher
            .decrypt(
                &nonce(index),
                Payload {
                    msg: &sealed,
                    aad: &aad(self.size, index + 1 == n),
                },
            )
            .map_err(|_| crypto_error())?;
        self.chunk_index = Some(index);
        Ok(())
    }
}

impl<R: Read + Seek> Read for SealedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let index = self.pos / CHUNK as u64;
        self.load(index)?;
        let offset = (self.pos - index * CHUNK as u64) as usize;
        let n = buf.len().min(self.chunk.len() - offset);
        buf[..n].copy_from_slice(&self.chunk[offset..offset + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for SealedReader<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn seal_bytes(key: &[u8; 32], plain: &[u8]) -> (Vec<u8>, String) {
        let salt: [u8; 16] = [7; 16];
        let cipher = object_cipher(key, &salt);
        let mut out = Vec::new();
        seal_stream(&cipher, plain.len() as u64, &mut &plain[..], &mut |c| {
            out.extend_from_slice(c);
            Ok(())
        })
        .unwrap();
        (out, hex::encode(salt))
    }

    #[test]
    fn round_trip_ranges_and_tampering() {
        let key = [1u8; 32];
        let plain: Vec<u8> = (0..(CHUNK * 2 + 100)).map(|i| (i % 251) as u8).collect();
        let (sealed, salt) = seal_bytes(&key, &plain);
        assert_eq!(sealed.len() as u64, sealed_len(plain.len() as u64));
        assert!(!sealed.windows(64).any(|w| w == &plain[1000..1064]));
        assert_eq!(
            open_all(&key, &salt, plain.len() as u64, &sealed).unwrap(),
            plain
        );
        let mut r =
            SealedReader::new(&key, &salt, plain.len() as u64, io::Cursor::new(&sealed)).unwrap();
        r.seek(SeekFrom::Start(CHUNK as u64 - 10)).unwrap();
        let mut mid = vec![0u8; 30];
        r.read_exact(&mut mid).unwrap();
        assert_eq!(mid, plain[CHUNK - 10..CHUNK + 20]);
        // Another master key, a flipped bit, a dropped chunk: all refused.
        assert!(open_all(&[2u8; 32], &salt, plain.len() as u64, &sealed).is_err());
        let mut flipped = sealed.clone();
        flipped[5] ^= 1;
        assert!(open_all(&key, &salt, plain.len() as u64, &flipped).is_err());
        let short = &sealed[..CHUNK + TAG];
        assert!(open_all(&key, &salt, CHUNK as u64, short).is_err());
        // Empty objects seal to one tag.
        let (empty, salt) = seal_bytes(&key, b"");
        assert_eq!(empty.len(), TAG);
        assert_eq!(open_all(&key, &salt, 0, &empty).unwrap(), b"");
    }

    proptest! {
        #[test]
        fn any_bytes_round_trip(plain in proptest::collection::vec(any::<u8>(), 0..(CHUNK * 2 + 3)), start in 0usize..200_000) {
            let key = [9u8; 32];
            let (sealed, salt) = seal_bytes(&key, &plain);
            prop_assert_eq!(open_all(&key, &salt, plain.len() as u64, &sealed).unwrap(), plain.clone());
            let mut r = SealedReader::new(&key, &salt, plain.len() as u64, io::Cursor::new(&sealed)).unwrap();
            let start = start.min(plain.len());
            r.seek(SeekFrom::Start(start as u64)).unwrap();
            let mut rest = Vec::new();
            r.read_to_end(&mut rest).unwrap();
            prop_assert_eq!(&rest[..], &plain[start..]);
        }
    }
}
