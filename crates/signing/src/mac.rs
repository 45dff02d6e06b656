//! The keyed hashes the schemes share. HMAC accepts keys of any length, so these never fail.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Raw `HMAC-SHA1(key, msg)`.
pub(crate) fn hmac_sha1(key: &[u8], msg: &[u8]) -> [u8; 20] {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// Raw `HMAC-SHA256(key, msg)`.
pub(crate) fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// Lowercase hex `SHA1(msg)`.
pub(crate) fn sha1_hex(msg: &[u8]) -> String {
    hex::encode(Sha1::digest(msg))
}

/// Lowercase hex `SHA256(msg)`.
pub(crate) fn sha256_hex(msg: &[u8]) -> String {
    hex::encode(Sha256::digest(msg))
}

/// Standard base64 with padding.
pub(crate) fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
