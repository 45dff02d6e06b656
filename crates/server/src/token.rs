//! stsgate's self-contained security token for temporary credentials.
//!
//! `SecurityToken = "CAIS" + base64(nonce(12) || ChaCha20-Poly1305(claims JSON))` for Alibaba
//! credentials, `"TCST" + base64url(…)` (no padding: SDKs put it in URLs unencoded) for Tencent
//! ones, keyed by `HMAC-SHA256(master key, "stsgate sts-token v1")`. Any node holding the master key can verify a
//! token without a database. The claims carry the temporary secret, so the oss face can check the
//! request signature, plus the role, session name, policies and expiry.
//! Pure: the current time is always a parameter.

use crate::common::provider::Vendor;
use crate::datadir::{random_alnum, MasterKey};
use crate::secret::Secret;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::OffsetDateTime;
use zeroize::Zeroizing;

const PREFIX: &str = "CAIS";
const TENCENT_PREFIX: &str = "TCST";
const AAD: &[u8] = b"stsgate-token-v1";

/// What a token says.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The temporary AccessKeyId (`STS.` …).
    pub ak: String,
    /// The temporary AccessKeySecret.
    pub sk: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
    /// `acs:ram::<account>:role/<name>`
    pub role_arn: String,
    pub session_name: String,
    /// The role's permission policy (JSON); `None` = the role allows everything.
    pub role_policy: Option<String>,
    /// The inline session policy (JSON), if the issuer gave one.
    pub session_policy: Option<String>,
    /// The api face's caller id (`jwt:alice`) the credentials were issued to, so that
    /// `POST /v1/revoke {"caller": …}` reaches them; `tc-sts:<SecretId>` (the permanent key at the
    /// root of the chain) in tc-sts tokens; absent in sts-face tokens and in tokens made before
    /// this field existed (which still open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    /// `tencent` for Tencent credentials (CAM policies, the cos and tc-sts faces); absent for
    /// Alibaba ones (RAM policies, the oss and sts faces), as in every token made before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
}

impl Claims {
    /// The cloud these credentials belong to.
    pub fn vendor(&self) -> Vendor {
        match self.vendor.as_deref() {
            Some("tencent") => Vendor::Tencent,
            _ => Vendor::Aliyun,
        }
    }
}

/// What a credential is minted for.
#[derive(Debug, Clone)]
pub struct MintSpec<'a> {
    pub vendor: Vendor,
    /// The api face's caller id (for revocation), if any.
    pub caller: Option<&'a str>,
    pub role_arn: &'a str,
    pub session_name: &'a str,
    /// The role's permission policy (`None`: the role allows everything).
    pub role_policy: Option<String>,
    /// The inline session policy, if any (in the vendor's grammar).
    pub session_policy: Option<String>,
    pub duration_secs: i64,
}

impl std::fmt::Debug for Claims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claims")
            .field("ak", &self.ak)
            .field("sk", &"<redacted>")
            .field("iat", &self.iat)
            .field("exp", &self.exp)
            .field("role_arn", &self.role_arn)
            .field("session_name", &self.session_name)
            .field("caller", &self.caller)
            .field("vendor", &self.vendor)
            .finish_non_exhaustive()
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Occurs when the token was not made with this master key, was altered, or is not a token.
    #[error("the security token is invalid")]
    Invalid,
    /// Occurs when the token's expiry has passed.
    #[error("the security token has expired")]
    Expired,
}

/// Seals and opens tokens.
#[derive(Clone)]
pub struct TokenKey {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(<redacted>)")
    }
}

/// A freshly minted temporary credential.
#[derive(Debug, Clone)]
pub struct Minted {
    pub access_key_id: String,
    pub access_key_secret: Secret,
    pub security_token: String,
    pub expiration: OffsetDateTime,
}

/// A ChaCha20-Poly1305 key derived from the master key as `HMAC-SHA256(master, label)`; each use
/// (tokens, api tickets) has its own label, so one's ciphertext never opens as the other's.
pub(crate) fn derive_cipher(master: &MasterKey, label: &[u8]) -> ChaCha20Poly1305 {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(master.0.as_ref())
        .expect("HMAC takes any key length");
    mac.update(label);
    let mut derived = Zeroizing::new([0u8; 32]);
    derived.copy_from_slice(&mac.finalize().into_bytes());
    ChaCha20Poly1305::new(Key::from_slice(derived.as_ref()))
}

/// `nonce(12) || AEAD(plain)` under a random nonce.
pub(crate) fn seal_bytes(cipher: &ChaCha20Poly1305, plain: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut nonce);
    let ct = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
        .expect("ChaCha20Poly1305 encryption of a small message cannot fail");
    let mut raw = nonce.to_vec();
    raw.extend_from_slice(&ct);
    raw
}

/// Opens what [`seal_bytes`] made; `None` if it is too short, altered or foreign.
pub(crate) fn open_bytes(
    cipher: &ChaCha20Poly1305,
    raw: &[u8],
    aad: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    if raw.len() < 12 + 16 {
        return None;
    }
    let (nonce, ct) = raw.split_at(12);
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
        .ok()
        .map(Zeroizing::new)
}

impl TokenKey {
    pub fn new(master: &MasterKey) -> TokenKey {
        TokenKey {
            cipher: derive_cipher(master, b"stsgate sts-token v1"),
        }
    }

    /// Mints a temporary credential valid from `now` for `duration_secs`.
    pub fn mint(
        &self,
        role_arn: &str,
        session_name: &str,
        role_policy: Option<String>,
        session_policy: Option<String>,
        duration_secs: i64,
        now: OffsetDateTime,
    ) -> Minted {
        self.mint_for(
            None,
            role_arn,
            session_name,
            role_policy,
            session_policy,
            duration_secs,
            now,
        )
    }

    /// [`TokenKey::mint`] for an api-face caller (its id goes into the claims, for revocation).
    #[allow(clippy::too_many_arguments)]
    pub fn mint_for(
        &self,
        caller: Option<&str>,
        role_arn: &str,
        session_name: &str,
        role_policy: Option<String>,
        session_policy: Option<String>,
        duration_secs: i64,
        now: OffsetDateTime,
    ) -> Minted {
        self.mint_spec(
            MintSpec {
                vendor: Vendor::Aliyun,
                caller,
                role_arn,
                session_name,
                role_policy,
                session_policy,
                duration_secs,
            },
            now,
        )
    }

    /// Mints a temporary credential of `spec.vendor`'s shape: `STS.` + 24 and a 40-character
    /// secret for Alibaba, `AKID` + 32 and a 32-character secret for Tencent.
    pub fn mint_spec(&self, spec: MintSpec<'_>, now: OffsetDateTime) -> Minted {
        let mut rng = rand::thread_rng();
        let (ak, sk, vendor) = match spec.vendor {
            Vendor::Aliyun => (
                format!("STS.{}", random_alnum(&mut rng, 24)),
                random_alnum(&mut rng, 40),
                None,
            ),
            Vendor::Tencent => (
                format!("AKID{}", random_alnum(&mut rng, 32)),
                random_alnum(&mut rng, 32),
                Some("tencent".to_string()),
            ),
        };
        let claims = Claims {
            ak,
            sk,
            iat: now.unix_timestamp(),
            exp: now.unix_timestamp() + spec.duration_secs,
            role_arn: spec.role_arn.to_string(),
            session_name: spec.session_name.to_string(),
            role_policy: spec.role_policy,
            session_policy: spec.session_policy,
            caller: spec.caller.map(str::to_string),
            vendor,
        };
        let token = self.seal(&claims);
        Minted {
            access_key_id: claims.ak.clone(),
            access_key_secret: Secret::new(claims.sk.clone()),
            security_token: token,
            expiration: OffsetDateTime::from_unix_timestamp(claims.exp).unwrap_or(now),
        }
    }

    /// Encrypts claims into a token string.
    pub fn seal(&self, claims: &Claims) -> String {
        let plain = Zeroizing::new(serde_json::to_vec(claims).expect("claims serialize"));
        let raw = seal_bytes(&self.cipher, &plain, AAD);
        match claims.vendor() {
            Vendor::Aliyun => format!(
                "{PREFIX}{}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            ),
            Vendor::Tencent => format!(
                "{TENCENT_PREFIX}{}",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
            ),
        }
    }

    /// Decrypts and checks a token: `Invalid` if it is not ours or was altered, `Expired` if `now`
    /// is at or past its expiry.
    pub fn open(&self, token: &str, now: OffsetDateTime) -> Result<Claims, TokenError> {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let (raw, vendor) = match (
            token.strip_prefix(PREFIX),
            token.strip_prefix(TENCENT_PREFIX),
        ) {
            (Some(b64), _) => (STANDARD.decode(b64.trim()), Vendor::Aliyun),
            (_, Some(b64)) => (URL_SAFE_NO_PAD.decode(b64.trim()), Vendor::Tencent),
            _ => return Err(TokenError::Invalid),
        };
        let raw = raw.map_err(|_| TokenError::Invalid)?;
        let plain = open_bytes(&self.cipher, &raw, AAD).ok_or(TokenError::Invalid)?;
        let claims: Claims = serde_json::from_slice(&plain).map_err(|_| TokenError::Invalid)?;
        if claims.vendor() != vendor {
            return Err(TokenError::Invalid);
        }
        if now.unix_timestamp() >= claims.exp {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(byte: u8) -> TokenKey {
        TokenKey::new(&MasterKey(Zeroizing::new([byte; 32])))
    }

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(secs).unwrap()
    }

    #[test]
    fn round_trip_and_expiry() {
        let k = key(1);
        let m = k.mint(
            "acs:ram::1:role/app",
            "alice",
            None,
            Some("{}".into()),
            900,
            at(1_700_000_000),
        );
        assert!(m.access_key_id.starts_with("STS."));
        assert!(m.security_token.starts_with("CAIS"));
        let c = k.open(&m.security_token, at(1_700_000_899)).unwrap();
        assert_eq!(c.ak, m.access_key_id);
        assert_eq!(c.sk, m.access_key_secret.expose());
        assert_eq!(c.session_policy.as_deref(), Some("{}"));
        assert_eq!(
            k.open(&m.security_token, at(1_700_000_900)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn altered_or_foreign_tokens_are_invalid() {
        let k = key(1);
        let m = k.mint("r", "s", None, None, 900, at(0));
        assert_eq!(
            key(2).open(&m.security_token, at(1)),
            Err(TokenError::Invalid)
        );
        let mut bytes = m.security_token.into_bytes();
        let i = bytes.len() / 2;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(bytes).unwrap();
        assert_eq!(k.open(&altered, at(1)), Err(TokenError::Invalid));
        assert_eq!(k.open("", at(1)), Err(TokenError::Invalid));
        assert_eq!(k.open("CAIS", at(1)), Err(TokenError::Invalid));
    }

    #[test]
    fn tokens_without_a_caller_still_open() {
        let k = key(1);
        let m = k.mint_for(Some("jwt:alice"), "r", "s", None, None, 900, at(0));
        assert_eq!(
            k.open(&m.security_token, at(1)).unwrap().caller.as_deref(),
            Some("jwt:alice")
        );
        // A token sealed before `caller` existed: its JSON has no such key.
        let old = serde_json::json!({"ak": "STS.x", "sk": "y", "iat": 0, "exp": 900,
            "role_arn": "r", "session_name": "s", "role_policy": null, "session_policy": null});
        let raw = seal_bytes(&k.cipher, old.to_string().as_bytes(), AAD);
        let token = format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        );
        let c = k.open(&token, at(1)).unwrap();
        assert_eq!((c.ak.as_str(), c.caller), ("STS.x", None));
    }

    #[test]
    fn tencent_tokens_are_url_safe_and_keep_their_vendor() {
        let k = key(1);
        let spec = MintSpec {
            vendor: Vendor::Tencent,
            caller: Some("jwt:alice"),
            role_arn: "qcs::cam::uin/100000000001:uin/100000000001",
            session_name: "alice",
            role_policy: None,
            session_policy: Some("{}".into()),
            duration_secs: 900,
        };
        let m = k.mint_spec(spec, at(0));
        assert!(m.access_key_id.starts_with("AKID") && m.access_key_id.len() == 36);
        assert_eq!(m.access_key_secret.expose().len(), 32);
        let body = m.security_token.strip_prefix("TCST").unwrap();
        assert!(body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let c = k.open(&m.security_token, at(1)).unwrap();
        assert_eq!(c.vendor(), Vendor::Tencent);
        // The same sealed claims under the other prefix do not open.
        let swapped = format!("CAIS{body}");
        assert_eq!(k.open(&swapped, at(1)), Err(TokenError::Invalid));
        assert_eq!(
            k.mint("r", "s", None, None, 9, at(0)).security_token[..4],
            *"CAIS"
        );
    }

    #[test]
    fn debug_redacts_the_secret() {
        let k = key(1);
        let m = k.mint("r", "s", None, None, 900, at(0));
        let c = k.open(&m.security_token, at(1)).unwrap();
        assert!(!format!("{c:?}").contains(&c.sk));
        assert!(!format!("{m:?}").contains(m.access_key_secret.expose()));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        #[test]
        fn arbitrary_tokens_never_panic(s in ".*") {
            let _ = key(3).open(&s, at(0));
            let _ = key(3).open(&format!("CAIS{s}"), at(0));
            let _ = key(3).open(&format!("TCST{s}"), at(0));
        }
    }
}
