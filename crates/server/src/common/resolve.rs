//! Who holds an access key: the one credential resolver every face uses.
//!
//! `(vendor, access key id, security token, now)` → the principal and the secret its signature
//! must use, or a semantic [`AuthError`] each dialect renders in its own shape. Revocations are
//! checked here, once, for every face. Pure apart from the revocation set (an in-memory copy)
//! and the extra-key table: the current time is a parameter.

use crate::common::provider::Vendor;
use crate::datadir::AccessKey;
use crate::keys::AccessKeys;
use crate::revocations::Revocations;
use crate::secret::Secret;
use crate::signing_keys::{SigningKey, SigningKeys};
use crate::token::{Claims, TokenError, TokenKey};
use std::sync::Arc;
use stsgate_signing::ct_eq;
use time::OffsetDateTime;

/// The keys a face knows.
#[derive(Debug, Clone)]
pub struct Keyring {
    /// The Alibaba account id (`acs:ram::<account>:…`).
    pub account_id: String,
    /// The Alibaba root key.
    pub root: AccessKey,
    /// The Tencent root key (`None`: the data directory has no Tencent account yet).
    pub tencent_root: Option<AccessKey>,
    /// Seals and opens security tokens.
    pub tokens: TokenKey,
    /// Extra long-term keys (`stsgate key create`; the sts faces accept them, the object faces
    /// do not: `None`).
    pub access_keys: Option<Arc<AccessKeys>>,
    /// Revoked temporary credentials (`None`: nothing is revoked; unit tests).
    pub revoked: Option<Arc<Revocations>>,
    /// Grant signing keys (`/auth/custom`; the oss face accepts them, held to their policy;
    /// `None`: the sts faces and unit tests).
    pub signing_keys: Option<Arc<SigningKeys>>,
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub enum Principal {
    /// The account's root key: may do everything.
    Root,
    /// An extra long-term access key, by name.
    Key(String),
    /// Temporary credentials; their claims carry the policies.
    Temporary(Box<Claims>),
    /// A grant's signing key (`/auth/custom`), held to its policy.
    Grant(Arc<SigningKey>),
    /// Nobody signed the request.
    Anonymous,
}

/// Why a key was refused, by meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Occurs when the access key id is neither a root key, an extra key, nor sent with a
    /// security token.
    #[error("the access key id is unknown")]
    UnknownAccessKey,
    /// Occurs when a temporary access key id (Alibaba `STS.…`) comes without its token.
    #[error("a temporary access key needs its security token")]
    MissingToken,
    /// Occurs when the token's expiry has passed.
    #[error("the security token has expired")]
    TokenExpired,
    /// Occurs when the token is not ours, was altered, or belongs to the other cloud.
    #[error("the security token is invalid")]
    TokenInvalid,
    /// Occurs when the token was issued with another access key id.
    #[error("the access key id does not match the security token")]
    TokenMismatch,
    /// Occurs when the operator revoked the credentials (or their caller).
    #[error("the credentials were revoked")]
    Revoked,
    /// Occurs when the extra-key table cannot be read.
    #[error("the access keys cannot be read")]
    Unavailable,
}

impl Keyring {
    /// The keys of a data directory as a face sees them: the root keys, the token key, the
    /// revocations, and the extra long-term keys (`extra_keys`: the sts faces) or else the grant
    /// signing keys (the object faces).
    pub fn open(dir: &crate::datadir::DataDir, extra_keys: bool) -> anyhow::Result<Keyring> {
        let (access_keys, signing_keys) = match extra_keys {
            true => (
                Some(Arc::new(AccessKeys::open(&dir.path, &dir.master_key)?)),
                None,
            ),
            false => (None, Some(SigningKeys::open(&dir.path, &dir.master_key)?)),
        };
        Ok(Keyring {
            account_id: dir.account_id.clone(),
            root: dir.root.clone(),
            tencent_root: dir.tencent.as_ref().map(|t| t.root.clone()),
            tokens: TokenKey::new(&dir.master_key),
            access_keys,
            revoked: Some(Revocations::open(&dir.path)?),
            signing_keys,
        })
    }

    /// The root key of `vendor`.
    pub fn root_of(&self, vendor: Vendor) -> Option<&AccessKey> {
        match vendor {
            Vendor::Aliyun => Some(&self.root),
            Vendor::Tencent => self.tencent_root.as_ref(),
        }
    }

    /// Finds who holds `ak` and the secret its signatures use. A token (non-empty) always goes
    /// the token's way, even with a root key id (it then mismatches).
    pub fn resolve(
        &self,
        vendor: Vendor,
        ak: &str,
        token: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(Principal, Secret), AuthError> {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return self.long_term(vendor, ak, now);
        };
        let claims = self.tokens.open(token, now).map_err(|e| match e {
            TokenError::Expired => AuthError::TokenExpired,
            TokenError::Invalid => AuthError::TokenInvalid,
        })?;
        if claims.vendor() != vendor {
            return Err(AuthError::TokenInvalid);
        }
        if !ct_eq(claims.ak.as_bytes(), ak.as_bytes()) {
            return Err(AuthError::TokenMismatch);
        }
        if let Some(revoked) = &self.revoked {
            if revoked.is_revoked(&claims.ak, claims.caller.as_deref(), claims.iat) {
                return Err(AuthError::Revoked);
            }
        }
        let secret = Secret::new(claims.sk.clone());
        Ok((Principal::Temporary(Box::new(claims)), secret))
    }

    /// A key without a token: the root key, or an extra key.
    fn long_term(
        &self,
        vendor: Vendor,
        ak: &str,
        now: OffsetDateTime,
    ) -> Result<(Principal, Secret), AuthError> {
        if let Some(root) = self.root_of(vendor) {
            if ct_eq(ak.as_bytes(), root.id.as_bytes()) {
                return Ok((Principal::Root, root.secret.clone()));
            }
        }
        if vendor == Vendor::Aliyun && ak.starts_with("STS.") {
            return Err(AuthError::MissingToken);
        }
        if let (Vendor::Aliyun, Some(keys)) = (vendor, &self.signing_keys) {
            if let Some(key) = keys.resolve(ak, now.unix_timestamp()) {
                let secret = key.secret.clone();
                return Ok((Principal::Grant(key), secret));
            }
        }
        let Some(extra) = &self.access_keys else {
            return Err(AuthError::UnknownAccessKey);
        };
        match extra.resolve(ak) {
            Ok(Some((name, secret))) => Ok((Principal::Key(name), Secret::new(secret.as_str()))),
            Ok(None) => Err(AuthError::UnknownAccessKey),
            Err(e) => {
                tracing::error!("resolving access key {ak}: {e:#}");
                Err(AuthError::Unavailable)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datadir::MasterKey;
    use crate::token::MintSpec;
    use zeroize::Zeroizing;

    fn keyring() -> Keyring {
        Keyring {
            account_id: "1".into(),
            root: AccessKey {
                id: "LTAIroot".into(),
                secret: Secret::new("rootsecret"),
            },
            tencent_root: Some(AccessKey {
                id: "AKIDroot".into(),
                secret: Secret::new("tcsecret"),
            }),
            tokens: TokenKey::new(&MasterKey(Zeroizing::new([7; 32]))),
            access_keys: None,
            revoked: None,
            signing_keys: None,
        }
    }

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(secs).unwrap()
    }

    fn check(
        keys: &Keyring,
        vendor: Vendor,
        ak: &str,
        token: Option<&str>,
        expected: Result<&str, AuthError>,
    ) {
        let got = keys
            .resolve(vendor, ak, token, at(10))
            .map(|(p, s)| match p {
                Principal::Root => format!("root:{}", s.expose()),
                Principal::Key(name) => format!("key:{name}"),
                Principal::Temporary(c) => format!("temporary:{}", c.ak),
                Principal::Grant(k) => format!("grant:{}", k.grant),
                Principal::Anonymous => "anonymous".into(),
            });
        assert_eq!(
            got.as_deref().map_err(|e| *e),
            expected,
            "{vendor:?} {ak} {token:?}"
        );
    }

    #[test]
    fn root_keys_belong_to_their_vendor() {
        let k = keyring();
        check(&k, Vendor::Aliyun, "LTAIroot", None, Ok("root:rootsecret"));
        check(&k, Vendor::Tencent, "AKIDroot", None, Ok("root:tcsecret"));
        check(
            &k,
            Vendor::Tencent,
            "LTAIroot",
            None,
            Err(AuthError::UnknownAccessKey),
        );
        check(
            &k,
            Vendor::Aliyun,
            "AKIDroot",
            None,
            Err(AuthError::UnknownAccessKey),
        );
        check(
            &k,
            Vendor::Aliyun,
            "STS.x",
            None,
            Err(AuthError::MissingToken),
        );
        check(
            &k,
            Vendor::Aliyun,
            "STS.x",
            Some(""),
            Err(AuthError::MissingToken),
        );
    }

    #[test]
    fn tokens_open_only_for_their_vendor_and_key() {
        let k = keyring();
        let mint = |vendor| {
            k.tokens.mint_spec(
                MintSpec {
                    vendor,
                    caller: Some("jwt:alice"),
                    role_arn: "r",
                    session_name: "s",
                    role_policy: None,
                    session_policy: None,
                    duration_secs: 5,
                },
                at(0),
            )
        };
        let (ali, tc) = (mint(Vendor::Aliyun), mint(Vendor::Tencent));
        let ok = format!("temporary:{}", ali.access_key_id);
        check(
            &k,
            Vendor::Aliyun,
            &ali.access_key_id,
            Some(&ali.security_token),
            Err(AuthError::TokenExpired),
        );
        let fresh = |vendor, m: &crate::token::Minted| {
            k.resolve(vendor, &m.access_key_id, Some(&m.security_token), at(1))
                .map(|(p, _)| matches!(p, Principal::Temporary(_)))
        };
        assert_eq!(fresh(Vendor::Aliyun, &ali), Ok(true), "{ok}");
        assert_eq!(fresh(Vendor::Tencent, &tc), Ok(true));
        assert_eq!(fresh(Vendor::Tencent, &ali), Err(AuthError::TokenInvalid));
        assert_eq!(fresh(Vendor::Aliyun, &tc), Err(AuthError::TokenInvalid));
        let other = k.resolve(
            Vendor::Aliyun,
            "STS.other",
            Some(&ali.security_token),
            at(1),
        );
        assert_eq!(other.err(), Some(AuthError::TokenMismatch));
        let root = k.resolve(Vendor::Aliyun, "LTAIroot", Some(&ali.security_token), at(1));
        assert_eq!(root.err(), Some(AuthError::TokenMismatch));
        let garbage = k.resolve(Vendor::Aliyun, "STS.x", Some("CAISnope"), at(1));
        assert_eq!(garbage.err(), Some(AuthError::TokenInvalid));
    }

    #[test]
    fn revoked_credentials_are_refused_on_every_face() {
        let tmp = tempfile::tempdir().unwrap();
        let revoked = Revocations::open(tmp.path()).unwrap();
        let mut k = keyring();
        k.revoked = Some(revoked.clone());
        let m = k.tokens.mint_spec(
            MintSpec {
                vendor: Vendor::Tencent,
                caller: Some("jwt:bob"),
                role_arn: "r",
                session_name: "s",
                role_policy: None,
                session_policy: None,
                duration_secs: 3600,
            },
            OffsetDateTime::now_utc(),
        );
        let now = OffsetDateTime::now_utc();
        assert!(k
            .resolve(
                Vendor::Tencent,
                &m.access_key_id,
                Some(&m.security_token),
                now
            )
            .is_ok());
        revoked
            .revoke(
                &crate::revocations::Target::Caller("jwt:bob".into()),
                "req-1",
            )
            .unwrap();
        let err = k
            .resolve(
                Vendor::Tencent,
                &m.access_key_id,
                Some(&m.security_token),
                now,
            )
            .err();
        assert_eq!(err, Some(AuthError::Revoked));
    }
}
