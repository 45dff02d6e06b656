//! Callers of the api face: who is asking, from the `Authorization: Bearer …` header.
//!
//! A bearer credential is one of:
//! - a JWT: HS256 (the data directory's `jwt-hs256.key`, or a secret from env/file), RS256 or
//!   ES256 (public keys inline, from a PEM file, a JWKS file or a JWKS URL; a token's `kid` picks
//!   the key).
//!   The header's `alg` must be one the config allows and selects the key *kind*: an HS256 token
//!   is only ever checked with the HMAC secret, never with a public key ("algorithm confusion"),
//!   and `none` is refused. The signature is checked by `jsonwebtoken`; the time claims (`exp`
//!   required, `nbf`), `iss` and `aud` are checked here with `now` as a parameter.
//! - a static API key `sk_…` from `[[api_key]]` (only its SHA-256 is configured; compared in
//!   constant time).
//! - the operator key `sgop_…` (`OperatorKey` in `DIR/root-credentials.json`): reads
//!   `/v1/audit` only; it is not a caller.
//!
//! A `jwks_url` key set ([`JwksSource`]) is fetched once by [`Verifier::from_config`] (which fails,
//! naming the URL, if that fetch fails), then by a thread of its own: every `jwks_refresh`
//! seconds, and when a token names a `kid` no key has (at most once per [`JWKS_REFETCH_SECS`] of
//! the `now` given to [`Verifier::verify`]). Verification never waits for it: it reads the
//! current set (`RwLock<Arc<KeySet>>`, held only to clone the `Arc`). A failed refresh keeps the
//! last good set. [`Verifier::verify_async`] also awaits a refetch it started, so the first token
//! signed with a rotated key passes.

use super::error::ApiError;
use crate::config::{ApiKeyConfig, JwtConfig, JwtKeyConfig};
use anyhow::{bail, Context as _};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;
use zeroize::Zeroizing;

/// Seconds of clock difference tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: i64 = 60;
/// The longest `Authorization` value looked at.
pub const MAX_HEADER_LEN: usize = 16 * 1024;
/// Static API keys start with this.
pub const API_KEY_PREFIX: &str = "sk_";
pub use crate::datadir::OPERATOR_KEY_PREFIX;
/// Default seconds between refreshes of a `jwks_url`.
pub const JWKS_REFRESH_DEFAULT_SECS: u64 = 600;
pub use crate::config::{check_jwks_url, JWKS_REFRESH_MAX_SECS, JWKS_REFRESH_MIN_SECS};
/// A token naming an unknown `kid` refetches a `jwks_url` at most once per this many seconds.
pub const JWKS_REFETCH_SECS: i64 = 30;
/// A failed refresh is tried again after this many seconds (or `jwks_refresh`, if shorter).
pub const JWKS_RETRY_SECS: u64 = 60;
/// The largest JWKS answer read (1 MiB).
pub const JWKS_MAX_BYTES: usize = 1 << 20;
/// The longest one JWKS fetch may take: connecting, redirects and the body.
pub const JWKS_TIMEOUT: Duration = Duration::from_secs(5);

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Stable identity for caching and the audit log, e.g. `jwt:alice` or `key:ci`.
    pub id: String,
    /// The subject (the configured subject claim; an API key's name).
    pub subject: String,
    /// Every claim of the token (grant templates read them); an API key has `sub` = its name.
    /// Shared: a remembered token's caller is handed out per request without copying them.
    pub claims: std::sync::Arc<Map<String, Value>>,
}

/// A public key for RS256/ES256 tokens.
struct PublicKey {
    alg: Algorithm,
    kid: Option<String>,
    key: DecodingKey,
}

/// A configured static API key: its name and SHA-256.
struct ApiKey {
    name: String,
    sha256: [u8; 32],
}

/// Checks bearer credentials.
pub struct Verifier {
    hs256: Option<DecodingKey>,
    public: Vec<PublicKey>,
    /// `jwks_url` key sets (each refreshed by its own thread, stopped when this is dropped).
    jwks: Vec<JwksHandle>,
    algorithms: Vec<Algorithm>,
    issuer: Option<String>,
    audience: Option<String>,
    subject_claim: String,
    api_keys: Vec<ApiKey>,
    operator: Option<[u8; 32]>,
    /// JWTs already verified, by the SHA-256 of the token: their caller and the
    /// [`Verifier::generation`] of the key sets then (claims still checked against `now` on every
    /// use, so never past `exp`; verified again once a `jwks_url` set changed, so a key the
    /// identity provider dropped stops working). Bounded by [`VERIFIED_MAX`].
    verified: std::sync::Mutex<std::collections::HashMap<[u8; 32], (Caller, u64)>>,
}

/// Why a JWT was refused, and whether no key matched its `alg`/`kid` (so a refetch may help).
struct Refused {
    error: ApiError,
    unknown_key: bool,
}

impl From<ApiError> for Refused {
    fn from(error: ApiError) -> Refused {
        Refused {
            error,
            unknown_key: false,
        }
    }
}

/// Most verified JWTs remembered.
const VERIFIED_MAX: usize = 16_384;

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("algorithms", &self.algorithms)
            .field("public_keys", &self.public.len())
            .field(
                "jwks_urls",
                &self
                    .jwks
                    .iter()
                    .map(|h| h.0.url.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("subject_claim", &self.subject_claim)
            .field("api_keys", &self.api_keys.len())
            .finish_non_exhaustive()
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// A fresh random API key, `sk_` + 40 of `[A-Za-z0-9]`, and its SHA-256 in hex.
pub fn new_api_key() -> (String, String) {
    let key = format!(
        "{API_KEY_PREFIX}{}",
        crate::datadir::random_alnum(&mut rand::thread_rng(), 40)
    );
    let hash = hex::encode(sha256(key.as_bytes()));
    (key, hash)
}

fn parse_alg(s: &str) -> anyhow::Result<Algorithm> {
    match s {
        "HS256" => Ok(Algorithm::HS256),
        "RS256" => Ok(Algorithm::RS256),
        "ES256" => Ok(Algorithm::ES256),
        other => bail!("alg {other:?}: use HS256, RS256 or ES256"),
    }
}

fn read_public_file(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// The signing keys of a JWKS document; `origin` (a path or URL) names it in errors. Only RS256
/// RSA keys and ES256 P-256 keys (of `want`, if given); `use: "enc"` keys are skipped; any other
/// key (a secret `oct` key above all) refuses the whole set.
fn parse_jwks(
    bytes: &[u8],
    want: Option<Algorithm>,
    origin: &str,
) -> anyhow::Result<Vec<PublicKey>> {
    let set: JwkSet = serde_json::from_slice(bytes)
        .with_context(|| format!("{origin} is not a JWKS ({{\"keys\":[…]}})"))?;
    let mut out = Vec::new();
    for (i, jwk) in set.keys.iter().enumerate() {
        if jwk.common.public_key_use == Some(jsonwebtoken::jwk::PublicKeyUse::Encryption) {
            continue;
        }
        let alg = match (&jwk.algorithm, jwk.common.key_algorithm) {
            (AlgorithmParameters::RSA(_), None) => Algorithm::RS256,
            (AlgorithmParameters::EllipticCurve(p), None) if p.curve == EllipticCurve::P256 => {
                Algorithm::ES256
            }
            (AlgorithmParameters::RSA(_), Some(a)) if a.to_string() == "RS256" => Algorithm::RS256,
            (AlgorithmParameters::EllipticCurve(p), Some(a))
                if a.to_string() == "ES256" && p.curve == EllipticCurve::P256 =>
            {
                Algorithm::ES256
            }
            _ => bail!(
                "{origin}: keys[{i}] is not an RS256 RSA key or an ES256 P-256 key (secret `oct` keys are never accepted from a JWKS)"
            ),
        };
        if want.is_some_and(|w| w != alg) {
            continue;
        }
        let key = DecodingKey::from_jwk(jwk).with_context(|| format!("{origin}: keys[{i}]"))?;
        out.push(PublicKey {
            alg,
            kid: jwk.common.key_id.clone(),
            key,
        });
    }
    if out.is_empty() {
        bail!("{origin} holds no usable signing key");
    }
    Ok(out)
}

/// The keys one `[[api.jwt.key]]` entry stands for (not `jwks_url`: see [`JwksSource`]).
fn load_key(c: &JwtKeyConfig) -> anyhow::Result<Vec<PublicKey>> {
    if let Some(path) = &c.jwks_file {
        let text = read_public_file(path)?;
        let want = c.alg.as_deref().map(parse_alg).transpose()?;
        return parse_jwks(&text, want, &path.display().to_string());
    }
    let alg = parse_alg(c.alg.as_deref().unwrap_or_default())?;
    let pem = match (&c.pem, &c.pem_file) {
        (Some(p), _) => p.as_bytes().to_vec(),
        (None, Some(path)) => read_public_file(path)?,
        (None, None) => bail!("give pem, pem_file or jwks_file"),
    };
    if pem.windows(7).any(|w| w == b"PRIVATE") {
        bail!("this is a private key: give the public key (openssl pkey -pubout)");
    }
    let key = match alg {
        Algorithm::RS256 => DecodingKey::from_rsa_pem(&pem),
        Algorithm::ES256 => DecodingKey::from_ec_pem(&pem),
        _ => bail!("HS256 secrets go in api.jwt.hs256_secret_env / hs256_secret_file"),
    }
    .context("not a PEM public key of that kind")?;
    Ok(vec![PublicKey {
        alg,
        kid: c.kid.clone(),
        key,
    }])
}

/// The HS256 secret named by the config (env or file), if any (see [`JwtConfig::hs256_secret`]).
pub fn configured_hs256_secret(c: &JwtConfig) -> anyhow::Result<Option<KeyBytes>> {
    c.hs256_secret()
}

/// The `Bearer` credential of an `Authorization` header value.
pub fn bearer(header: Option<&[u8]>) -> Result<&str, ApiError> {
    let Some(raw) = header else {
        return Err(ApiError::Unauthenticated(
            "no Authorization header: send `Authorization: Bearer <JWT>` (a development token: `stsgate token --data DIR --sub NAME`)".into(),
        ));
    };
    if raw.len() > MAX_HEADER_LEN {
        return Err(ApiError::Unauthenticated(
            "the Authorization header is too long".into(),
        ));
    }
    let text = std::str::from_utf8(raw)
        .map_err(|_| ApiError::Unauthenticated("the Authorization header is not text".into()))?;
    let (scheme, rest) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthenticated(format!(
            "the Authorization scheme must be Bearer, got {:?}",
            scheme.chars().take(20).collect::<String>()
        )));
    }
    let token = rest.trim();
    if token.is_empty() {
        return Err(ApiError::Unauthenticated(
            "the Bearer token is empty".into(),
        ));
    }
    Ok(token)
}

impl Verifier {
    /// HS256 with `hs256_key` only (tests, and the base of [`Verifier::from_config`]).
    pub fn new(hs256_key: &[u8], issuer: Option<String>, audience: Option<String>) -> Verifier {
        Verifier {
            hs256: Some(DecodingKey::from_secret(hs256_key)),
            public: Vec::new(),
            jwks: Vec::new(),
            algorithms: vec![Algorithm::HS256],
            issuer,
            audience,
            subject_claim: "sub".into(),
            api_keys: Vec::new(),
            operator: None,
            verified: Default::default(),
        }
    }

    /// Builds the verifier of `[api.jwt]` and `[[api_key]]`; `default_hs256` is
    /// `DIR/jwt-hs256.key`, used unless the config names another HS256 secret. Each `jwks_url`
    /// is fetched here (blocking this thread up to [`JWKS_TIMEOUT`]; callable inside or outside
    /// a tokio runtime) and an error names the URL; then a thread per URL keeps it fresh.
    pub fn from_config(
        jwt: &JwtConfig,
        api_keys: &[ApiKeyConfig],
        default_hs256: &[u8],
    ) -> anyhow::Result<Verifier> {
        let secret = configured_hs256_secret(jwt)?;
        let mut v = Verifier::new(
            secret.as_deref().map_or(default_hs256, |s| s.as_slice()),
            jwt.issuer.clone(),
            jwt.audience.clone(),
        );
        for (i, k) in jwt.key.iter().enumerate() {
            let at = || format!("api.jwt.key[{i}]");
            if k.jwks_url.is_some() {
                v.jwks.push(JwksHandle::start(k).with_context(at)?);
            } else {
                v.public.extend(load_key(k).with_context(at)?);
            }
        }
        v.algorithms = match &jwt.algorithms {
            Some(list) => list
                .iter()
                .map(|a| parse_alg(a))
                .collect::<anyhow::Result<_>>()?,
            None => {
                // A `jwks_url` set contributes the algorithms it has now (or its `alg`): list
                // them in api.jwt.algorithms if the identity provider may switch.
                let mut algs = vec![Algorithm::HS256];
                let url_algs = v.jwks.iter().flat_map(|h| h.0.algorithms());
                for alg in v.public.iter().map(|k| k.alg).chain(url_algs) {
                    if !algs.contains(&alg) {
                        algs.push(alg);
                    }
                }
                algs
            }
        };
        for alg in &v.algorithms {
            let has = v.public.iter().any(|k| k.alg == *alg)
                || v.jwks.iter().any(|h| h.0.alg.is_none_or(|a| a == *alg));
            if *alg != Algorithm::HS256 && !has {
                bail!("api.jwt.algorithms: {alg:?} is allowed but no [[api.jwt.key]] has it");
            }
        }
        if let Some(c) = &jwt.subject_claim {
            v.subject_claim = c.clone();
        }
        for k in api_keys {
            let mut sha = [0u8; 32];
            hex::decode_to_slice(&k.sha256, &mut sha)
                .with_context(|| format!("api_key {:?}: sha256 is not 64 hex digits", k.name))?;
            v.api_keys.push(ApiKey {
                name: k.name.clone(),
                sha256: sha,
            });
        }
        Ok(v)
    }

    /// Accepts `key` as the operator key.
    pub fn set_operator_key(&mut self, key: &str) {
        self.operator = Some(sha256(key.as_bytes()));
    }

    /// Checks that `token` is the operator key: 401 when it is nobody's, 403 when it is a caller's.
    pub fn operator(&self, token: &str, now: i64) -> Result<(), ApiError> {
        let given = sha256(token.as_bytes());
        if let Some(op) = &self.operator {
            if stsgate_signing::ct_eq(op, &given) {
                return Ok(());
            }
        }
        let caller = self.verify(token, now)?;
        Err(ApiError::OperatorOnly(format!(
            "{} is a caller, not an operator: this route needs the operator key (OperatorKey in DIR/root-credentials.json)",
            caller.id.chars().take(80).collect::<String>()
        )))
    }

    /// Verifies a bearer credential (JWT or API key) at `now` (Unix seconds). A JWT verified
    /// before is not decoded again: its remembered claims are checked against `now`. Never
    /// waits: a token naming a `kid` that no `jwks_url` key has is refused, and starts a refetch
    /// (at most once per [`JWKS_REFETCH_SECS`]) that later tokens benefit from.
    pub fn verify(&self, token: &str, now: i64) -> Result<Caller, ApiError> {
        self.verify_or_refuse(token, now).map_err(|r| r.error)
    }

    /// [`Verifier::verify`], but when the token's `kid` is unknown and a `jwks_url` refetch is
    /// under way (this call may have started it), waits for that fetch (at most
    /// [`JWKS_TIMEOUT`] + 1 s) and verifies once more: the first token signed with a rotated key
    /// passes. The verification itself still holds no lock across an await.
    pub async fn verify_async(&self, token: &str, now: i64) -> Result<Caller, ApiError> {
        let mut fetched: Vec<_> = self.jwks.iter().map(|h| h.0.fetched.subscribe()).collect();
        let refused = match self.verify_or_refuse(token, now) {
            Ok(caller) => return Ok(caller),
            Err(r) if !r.unknown_key => return Err(r.error),
            Err(r) => r,
        };
        let waits: Vec<_> = self
            .jwks
            .iter()
            .zip(fetched.iter_mut())
            .filter(|(h, rx)| h.0.pending.load(SeqCst) || rx.has_changed().unwrap_or(false))
            .map(|(_, rx)| Box::pin(rx.changed()))
            .collect();
        if waits.is_empty() {
            return Err(refused.error);
        }
        let waited = futures::future::select_all(waits);
        let _ = tokio::time::timeout(JWKS_TIMEOUT + Duration::from_secs(1), waited).await;
        self.verify(token, now)
    }

    /// Sum of the `jwks_url` sets' change counters: a cached verification from another
    /// generation is redone.
    fn generation(&self) -> u64 {
        self.jwks
            .iter()
            .fold(0u64, |g, h| g.wrapping_add(h.0.generation.load(SeqCst)))
    }

    fn verify_or_refuse(&self, token: &str, now: i64) -> Result<Caller, Refused> {
        if token.starts_with(API_KEY_PREFIX) || token.starts_with(OPERATOR_KEY_PREFIX) {
            return self.verify_uncached(token, now);
        }
        let digest = sha256(token.as_bytes());
        // Read before the key sets are: an entry is never newer than the keys it was checked with.
        let generation = self.generation();
        let known = {
            let verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
            verified.get(&digest).cloned()
        };
        if let Some((caller, g)) = known {
            if g == generation {
                self.check_claims(&caller.claims, now)?;
                return Ok(caller);
            }
        }
        let caller = self.verify_uncached(token, now)?;
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if verified.len() >= VERIFIED_MAX {
            verified
                .retain(|_, (c, g)| *g == generation && self.check_claims(&c.claims, now).is_ok());
            if verified.len() >= VERIFIED_MAX / 2 {
                verified.clear();
            }
        }
        verified.insert(digest, (caller.clone(), generation));
        Ok(caller)
    }

    fn verify_uncached(&self, token: &str, now: i64) -> Result<Caller, Refused> {
        let unauth = |m: String| ApiError::Unauthenticated(m);
        if token.starts_with(API_KEY_PREFIX) {
            return Ok(self.api_key(token)?);
        }
        if token.starts_with(OPERATOR_KEY_PREFIX) {
            return Err(unauth(
                "this is an operator key: it reads /v1/audit; callers send a JWT or an API key (sk_…)".into(),
            )
            .into());
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            unauth("the Bearer token is not a JWT (header.payload.signature) with alg HS256, RS256 or ES256 (never `none`)".into())
        })?;
        let names = || {
            self.algorithms
                .iter()
                .map(|a| format!("{a:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !self.algorithms.contains(&header.alg) {
            return Err(unauth(format!(
                "the JWT is signed with {:?}; this server accepts {}",
                header.alg,
                names()
            ))
            .into());
        }
        // The `jwks_url` sets as they are now (each lock held only to clone an Arc).
        let url_sets: Vec<Arc<KeySet>> = match header.alg {
            Algorithm::HS256 => Vec::new(),
            _ => self.jwks.iter().map(|h| h.0.current()).collect(),
        };
        // The header's alg picks the key kind: HS256 only ever meets the HMAC secret.
        let keys: Vec<&DecodingKey> = match header.alg {
            Algorithm::HS256 => self.hs256.iter().collect(),
            alg => self
                .public
                .iter()
                .chain(url_sets.iter().flat_map(|s| s.keys.iter()))
                .filter(|k| k.alg == alg)
                .filter(|k| match (&header.kid, &k.kid) {
                    (Some(want), Some(have)) => want == have,
                    _ => true,
                })
                .map(|k| &k.key)
                .collect(),
        };
        if keys.is_empty() {
            let refetching = header.alg != Algorithm::HS256 && self.refetch(header.alg, now);
            let mut message = match &header.kid {
                Some(kid) => format!(
                    "no {:?} key has kid {:?}",
                    header.alg,
                    kid.chars().take(64).collect::<String>()
                ),
                None => format!("no {:?} key is configured", header.alg),
            };
            if refetching {
                message.push_str(" (the JWKS is being fetched again: retry in a moment)");
            }
            return Err(Refused {
                error: unauth(message),
                unknown_key: true,
            });
        }
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let mut result = Err(unauth(
            "the JWT's signature does not match any key this server trusts".into(),
        ));
        for key in keys {
            match jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation) {
                Ok(data) => {
                    result = Ok(data.claims);
                    break;
                }
                Err(e) => {
                    result = Err(match e.kind() {
                        jsonwebtoken::errors::ErrorKind::InvalidSignature => unauth(format!(
                            "the JWT's signature does not match: it was not signed with a key this server trusts for {:?}{}",
                            header.alg,
                            if header.alg == Algorithm::HS256 { " (DIR/jwt-hs256.key or api.jwt.hs256_secret_*)" } else { "" }
                        )),
                        _ => unauth("the JWT could not be decoded".into()),
                    });
                }
            }
        }
        let claims = result?;
        self.check_claims(&claims, now)?;
        let claim = &self.subject_claim;
        let subject = match claims.get(claim) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => {
                return Err(unauth(format!(
                    "the JWT has no `{claim}` (subject) claim, or it is empty"
                ))
                .into())
            }
        };
        Ok(Caller {
            id: format!("jwt:{subject}"),
            subject,
            claims: claims.into(),
        })
    }

    /// Asks every `jwks_url` set that may hold `alg` keys to refetch, each at most once per
    /// [`JWKS_REFETCH_SECS`] of `now`; true if a refetch is under way.
    fn refetch(&self, alg: Algorithm, now: i64) -> bool {
        let mut pending = false;
        for h in self
            .jwks
            .iter()
            .filter(|h| h.0.alg.is_none_or(|a| a == alg))
        {
            // Kicked here, or by another request and not finished yet.
            let kicked = h.0.gate.try_pass(now);
            if kicked {
                h.0.pending.store(true, SeqCst);
                h.0.control.wake.notify_one();
            }
            pending |= kicked || h.0.pending.load(SeqCst);
        }
        pending
    }

    /// A static API key caller; every configured hash is compared (constant time each).
    fn api_key(&self, token: &str) -> Result<Caller, ApiError> {
        let given = sha256(token.as_bytes());
        let mut found = None;
        for k in &self.api_keys {
            if stsgate_signing::ct_eq(&k.sha256, &given) && found.is_none() {
                found = Some(k);
            }
        }
        let Some(k) = found else {
            return Err(ApiError::Unauthenticated(
                "the API key (sk_…) is not one of this server's [[api_key]] entries".into(),
            ));
        };
        let mut claims = Map::new();
        claims.insert("sub".into(), Value::String(k.name.clone()));
        Ok(Caller {
            id: format!("key:{}", k.name),
            subject: k.name.clone(),
            claims: claims.into(),
        })
    }

    fn check_claims(&self, claims: &Map<String, Value>, now: i64) -> Result<(), ApiError> {
        let unauth = |m: String| Err(ApiError::Unauthenticated(m));
        match claims.get("exp").and_then(Value::as_i64) {
            None => return unauth("the JWT has no numeric `exp` (expiry) claim".into()),
            Some(exp) if now > exp.saturating_add(LEEWAY_SECS) => {
                return unauth(format!(
                    "the JWT expired {} s ago: get a fresh token",
                    now.saturating_sub(exp)
                ))
            }
            Some(_) => {}
        }
        match claims.get("nbf") {
            None => {}
            Some(v) => match v.as_i64() {
                Some(nbf) if now + LEEWAY_SECS < nbf => {
                    return unauth(format!(
                        "the JWT is not valid for another {} s (nbf); check the clocks",
                        nbf - now
                    ))
                }
                Some(_) => {}
                None => return unauth("the JWT's `nbf` claim is not a number".into()),
            },
        }
        if let Some(want) = &self.issuer {
            if claims.get("iss").and_then(Value::as_str) != Some(want) {
                return unauth(format!("the JWT's `iss` claim must be {want:?}"));
            }
        }
        if let Some(want) = &self.audience {
            let ok = match claims.get("aud") {
                Some(Value::String(s)) => s == want,
                Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(want)),
                _ => false,
            };
            if !ok {
                return unauth(format!("the JWT's `aud` claim must include {want:?}"));
            }
        }
        Ok(())
    }
}

/// How long the refresher sleeps after a fetch: `refresh`, or at most [`JWKS_RETRY_SECS`] after
/// a failed one.
fn next_refresh_delay(refresh: Duration, last_ok: bool) -> Duration {
    match last_ok {
        true => refresh,
        false => refresh.min(Duration::from_secs(JWKS_RETRY_SECS)),
    }
}

/// Lets one unknown-`kid` refetch through per [`JWKS_REFETCH_SECS`] of the `now` it is given.
struct RefetchGate {
    /// The `now` of the last refetch let through (`i64::MIN`: none yet).
    last: AtomicI64,
}

impl RefetchGate {
    fn new() -> RefetchGate {
        RefetchGate {
            last: AtomicI64::new(i64::MIN),
        }
    }

    fn try_pass(&self, now: i64) -> bool {
        let last = self.last.load(SeqCst);
        if last != i64::MIN && now.abs_diff(last) < JWKS_REFETCH_SECS.unsigned_abs() {
            return false;
        }
        self.last
            .compare_exchange(last, now, SeqCst, SeqCst)
            .is_ok()
    }
}

/// One fetched JWKS: its keys and the SHA-256 of the document they came from.
struct KeySet {
    keys: Vec<PublicKey>,
    digest: [u8; 32],
}

/// What a [`JwksSource`]'s thread shares with its [`JwksHandle`], without keeping the source
/// alive: wake-ups (refetch, stop) and the stop flag.
struct JwksControl {
    wake: tokio::sync::Notify,
    stop: AtomicBool,
}

/// A `jwks_url` key set, kept fresh by a thread of its own.
struct JwksSource {
    url: reqwest::Url,
    /// Only keys of this algorithm (`alg` of the `[[api.jwt.key]]` entry).
    alg: Option<Algorithm>,
    /// The last good set; read by verification only to clone the `Arc`.
    current: RwLock<Arc<KeySet>>,
    /// Bumped each time `current` is replaced (after the replacement).
    generation: AtomicU64,
    gate: RefetchGate,
    /// A refetch was asked for and has not finished.
    pending: AtomicBool,
    /// Fetches finished (good or not), for [`Verifier::verify_async`] to wait on.
    fetched: tokio::sync::watch::Sender<u64>,
    control: Arc<JwksControl>,
}

impl JwksSource {
    fn current(&self) -> Arc<KeySet> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The algorithms the set serves now (or its `alg`).
    fn algorithms(&self) -> Vec<Algorithm> {
        match self.alg {
            Some(alg) => vec![alg],
            None => self.current().keys.iter().map(|k| k.alg).collect(),
        }
    }

    /// Makes `body` the current set unless it is the same document; an unusable document
    /// changes nothing. True if the set changed.
    fn install(&self, body: &[u8]) -> anyhow::Result<bool> {
        let digest = sha256(body);
        if self.current().digest == digest {
            return Ok(false);
        }
        let keys = parse_jwks(body, self.alg, self.url.as_str())?;
        let kids: Vec<String> = keys
            .iter()
            .map(|k| format!("{:?}:{}", k.alg, k.kid.as_deref().unwrap_or("-")))
            .collect();
        *self.current.write().unwrap_or_else(|e| e.into_inner()) =
            Arc::new(KeySet { keys, digest });
        self.generation.fetch_add(1, SeqCst);
        tracing::info!(url = %self.url, "JWKS key set loaded: {}", kids.join(", "));
        Ok(true)
    }

    /// One fetch; a failure leaves the current set as it is.
    async fn refresh(&self, client: &reqwest::Client) -> anyhow::Result<bool> {
        let result = match fetch_jwks(client, &self.url).await {
            Ok(body) => self.install(&body),
            Err(e) => Err(e),
        };
        self.pending.store(false, SeqCst);
        self.fetched.send_modify(|n| *n = n.wrapping_add(1));
        result.with_context(|| format!("fetching the JWKS {}", self.url))
    }
}

/// GETs a JWKS: 2xx, at most [`JWKS_MAX_BYTES`] (a declared longer `Content-Length` is refused
/// before any byte is read), within the client's [`JWKS_TIMEOUT`].
async fn fetch_jwks(client: &reqwest::Client, url: &reqwest::Url) -> anyhow::Result<Vec<u8>> {
    let too_big = || anyhow::anyhow!("the answer is over {JWKS_MAX_BYTES} bytes (1 MiB)");
    let mut response = client
        .get(url.clone())
        .header(
            http::header::ACCEPT,
            "application/jwk-set+json, application/json",
        )
        .send()
        .await
        .map_err(reqwest::Error::without_url)?;
    let status = response.status();
    if !status.is_success() {
        bail!("the answer is HTTP {status}, not 2xx");
    }
    if response
        .content_length()
        .is_some_and(|n| n > JWKS_MAX_BYTES as u64)
    {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(reqwest::Error::without_url)?
    {
        if body.len() + chunk.len() > JWKS_MAX_BYTES {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The HTTP client of one `jwks_url`: [`JWKS_TIMEOUT`], redirects (at most 5) only to URLs
/// [`check_jwks_url`] accepts, no proxy for a loopback URL.
fn jwks_client(url: &reqwest::Url) -> anyhow::Result<reqwest::Client> {
    let redirects = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() > 5 {
            attempt.error("more than 5 redirects")
        } else if check_jwks_url(attempt.url().as_str()).is_err() {
            attempt.error("a redirect to a URL that is neither https nor loopback http")
        } else {
            attempt.follow()
        }
    });
    let mut builder = reqwest::Client::builder()
        .timeout(JWKS_TIMEOUT)
        .connect_timeout(JWKS_TIMEOUT)
        .redirect(redirects)
        .user_agent(concat!("stsgate/", env!("CARGO_PKG_VERSION")));
    if crate::common::upstream::is_loopback(url.as_str()) {
        builder = builder.no_proxy();
    }
    builder.build().context("building the HTTP client")
}

/// Owns a [`JwksSource`]; dropping it stops the source's thread.
struct JwksHandle(Arc<JwksSource>);

impl Drop for JwksHandle {
    fn drop(&mut self) {
        self.0.control.stop.store(true, SeqCst);
        self.0.control.wake.notify_one();
    }
}

impl JwksHandle {
    /// Fetches `c.jwks_url` (the error names the URL) and starts the thread that refreshes it.
    fn start(c: &JwtKeyConfig) -> anyhow::Result<JwksHandle> {
        let url = check_jwks_url(c.jwks_url.as_deref().unwrap_or_default())?;
        let alg = c.alg.as_deref().map(parse_alg).transpose()?;
        let refresh = Duration::from_secs(
            c.jwks_refresh
                .unwrap_or(JWKS_REFRESH_DEFAULT_SECS)
                .clamp(JWKS_REFRESH_MIN_SECS, JWKS_REFRESH_MAX_SECS),
        );
        let client = jwks_client(&url)?;
        let control = Arc::new(JwksControl {
            wake: tokio::sync::Notify::new(),
            stop: AtomicBool::new(false),
        });
        let source = Arc::new(JwksSource {
            url,
            alg,
            current: RwLock::new(Arc::new(KeySet {
                keys: Vec::new(),
                digest: [0; 32],
            })),
            generation: AtomicU64::new(0),
            gate: RefetchGate::new(),
            pending: AtomicBool::new(false),
            fetched: tokio::sync::watch::Sender::new(0),
            control: control.clone(),
        });
        let (started, first) = std::sync::mpsc::channel();
        let weak = Arc::downgrade(&source);
        std::thread::Builder::new()
            .name("stsgate-jwks".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(refresh_loop(weak, control, client, refresh, started)),
                    Err(e) => {
                        let _ = started.send(Err(anyhow::Error::from(e)));
                    }
                }
            })
            .context("starting the JWKS refresh thread")?;
        first
            .recv()
            .context("the JWKS refresh thread ended")?
            .context("the server does not start without its JWKS")?;
        Ok(JwksHandle(source))
    }
}

/// The refresher: the first fetch (reported on `started`), then one every `refresh` (sooner
/// after a failure) or when woken for an unknown `kid`, until the handle is dropped.
async fn refresh_loop(
    source: Weak<JwksSource>,
    control: Arc<JwksControl>,
    client: reqwest::Client,
    refresh: Duration,
    started: std::sync::mpsc::Sender<anyhow::Result<()>>,
) {
    let Some(first) = source.upgrade() else {
        return;
    };
    let result = first.refresh(&client).await.map(drop);
    drop(first);
    let ok = result.is_ok();
    let _ = started.send(result);
    if !ok {
        return;
    }
    let mut last_ok = true;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(next_refresh_delay(refresh, last_ok)) => {}
            _ = control.wake.notified() => {}
        }
        if control.stop.load(SeqCst) {
            return;
        }
        let Some(source) = source.upgrade() else {
            return;
        };
        last_ok = match source.refresh(&client).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(
                    url = %source.url,
                    "JWKS refresh failed; the last good key set stays in use: {e:#}"
                );
                false
            }
        };
    }
}

/// Mints an HS256 JWT (`stsgate token`, tests).
pub fn mint_hs256(key: &[u8], claims: &Map<String, Value>) -> anyhow::Result<String> {
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(key),
    )?)
}

/// Development token claims: `sub`, `iat`, `exp` = `now + ttl`, plus extra `K=V` claims.
pub fn dev_claims(
    sub: &str,
    extra: &[(String, String)],
    now: i64,
    ttl_secs: i64,
) -> Map<String, Value> {
    let mut claims = Map::new();
    for (k, v) in extra {
        claims.insert(k.clone(), Value::String(v.clone()));
    }
    claims.insert("sub".into(), Value::String(sub.into()));
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), (now + ttl_secs).into());
    claims
}

/// Parses a duration such as `3600`, `900s`, `15m`, `1h`, `2d` into seconds (1 s to 366 days).
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 900s, 15m, 1h or 2d"))?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{s:?}: the unit must be s, m, h or d")),
    };
    match n.checked_mul(unit) {
        Some(secs) if (1..=366 * 86_400).contains(&secs) => Ok(secs),
        _ => Err(format!("{s:?} must be from 1 s to 366 days")),
    }
}

/// A zeroizing copy of a key's bytes.
pub type KeyBytes = Zeroizing<Vec<u8>>;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: i64 = 1_700_000_000;

    fn token(claims: Map<String, Value>) -> String {
        mint_hs256(KEY, &claims).unwrap()
    }

    fn check(verifier: &Verifier, tok: &str, want: Result<&str, &str>) {
        match (verifier.verify(tok, NOW), want) {
            (Ok(c), Ok(sub)) => assert_eq!(c.subject, sub),
            (Err(ApiError::Unauthenticated(m)), Err(part)) => {
                assert!(m.contains(part), "{m:?} lacks {part:?}")
            }
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }

    /// Found by fuzz/fuzz_targets/jwt.rs: an `exp` at either end of i64 overflowed the expiry
    /// arithmetic (a panic with overflow checks; without, a far-future `exp` read as expired).
    #[test]
    fn exp_at_the_ends_of_i64_does_not_overflow() {
        let v = Verifier::new(KEY, None, None);
        let mut c = dev_claims("alice", &[], NOW, 60);
        c.insert("exp".into(), i64::MAX.into());
        check(&v, &token(c), Ok("alice"));
        let mut c = dev_claims("alice", &[], NOW, 60);
        c.insert("exp".into(), i64::MIN.into());
        check(&v, &token(c), Err("expired"));
    }

    #[test]
    fn verifies_signature_time_and_audience() {
        let v = Verifier::new(KEY, None, None);
        check(&v, &token(dev_claims("alice", &[], NOW, 3600)), Ok("alice"));
        check(
            &v,
            &token(dev_claims("alice", &[], NOW - 7200, 3600)),
            Err("expired"),
        );
        // Inside the leeway.
        check(
            &v,
            &token(dev_claims("alice", &[], NOW - 3630, 3600)),
            Ok("alice"),
        );
        let mut c = dev_claims("alice", &[], NOW, 3600);
        c.insert("nbf".into(), (NOW + 600).into());
        check(&v, &token(c), Err("not valid for another"));
        let mut c = dev_claims("alice", &[], NOW, 3600);
        c.remove("exp");
        check(&v, &token(c), Err("no numeric `exp`"));
        let foreign = mint_hs256(
            b"another key entirely, 32 bytes!!",
            &dev_claims("alice", &[], NOW, 60),
        )
        .unwrap();
        check(&v, &foreign, Err("signature does not match"));
        check(&v, "not.a.jwt", Err("not a JWT"));
        let mut c = dev_claims("x", &[], NOW, 60);
        c.remove("sub");
        check(&v, &token(c), Err("no `sub`"));

        let v = Verifier::new(KEY, Some("https://issuer/".into()), Some("app".into()));
        let extra = [
            ("iss".to_string(), "https://issuer/".to_string()),
            ("aud".to_string(), "app".to_string()),
        ];
        check(&v, &token(dev_claims("bob", &extra, NOW, 60)), Ok("bob"));
        check(
            &v,
            &token(dev_claims("bob", &extra[..1], NOW, 60)),
            Err("`aud`"),
        );
        check(
            &v,
            &token(dev_claims("bob", &extra[1..], NOW, 60)),
            Err("`iss`"),
        );
    }

    const RSA_PRIV: &str = include_str!("testdata/rsa-private.pem");
    const RSA_PUB: &str = include_str!("testdata/rsa-public.pem");
    const EC_PRIV: &str = include_str!("testdata/ec-private.pem");
    const EC_PUB: &str = include_str!("testdata/ec-public.pem");

    fn sign(
        alg: Algorithm,
        kid: Option<&str>,
        key: &EncodingKey,
        claims: &Map<String, Value>,
    ) -> String {
        let mut h = Header::new(alg);
        h.kid = kid.map(str::to_string);
        jsonwebtoken::encode(&h, claims, key).unwrap()
    }

    fn pem_key(alg: &str, pem: &str, kid: Option<&str>) -> JwtKeyConfig {
        JwtKeyConfig {
            alg: Some(alg.into()),
            kid: kid.map(str::to_string),
            pem: Some(pem.into()),
            ..JwtKeyConfig::default()
        }
    }

    #[test]
    fn rs256_and_es256_from_pem() {
        let jwt = JwtConfig {
            key: vec![
                pem_key("RS256", RSA_PUB, None),
                pem_key("ES256", EC_PUB, None),
            ],
            ..JwtConfig::default()
        };
        let v = Verifier::from_config(&jwt, &[], KEY).unwrap();
        let claims = dev_claims("carol", &[], NOW, 60);
        let rsa = EncodingKey::from_rsa_pem(RSA_PRIV.as_bytes()).unwrap();
        let ec = EncodingKey::from_ec_pem(EC_PRIV.as_bytes()).unwrap();
        check(
            &v,
            &sign(Algorithm::RS256, None, &rsa, &claims),
            Ok("carol"),
        );
        check(&v, &sign(Algorithm::ES256, None, &ec, &claims), Ok("carol"));
        check(&v, &token(claims.clone()), Ok("carol"));
        // Another RSA key: refused.
        let other = EncodingKey::from_secret(b"x");
        check(
            &v,
            &sign(Algorithm::HS256, None, &other, &claims),
            Err("signature does not match"),
        );
        // Only the algorithms allowed.
        let only_es = JwtConfig {
            algorithms: Some(vec!["ES256".into()]),
            ..jwt.clone()
        };
        let v = Verifier::from_config(&only_es, &[], KEY).unwrap();
        check(
            &v,
            &sign(Algorithm::RS256, None, &rsa, &claims),
            Err("accepts ES256"),
        );
        check(&v, &token(claims.clone()), Err("accepts ES256"));
        check(&v, &sign(Algorithm::ES256, None, &ec, &claims), Ok("carol"));
        // A private key is refused as configuration.
        let bad = JwtConfig {
            key: vec![pem_key("RS256", RSA_PRIV, None)],
            ..JwtConfig::default()
        };
        let err = format!("{:#}", Verifier::from_config(&bad, &[], KEY).unwrap_err());
        assert!(err.contains("private key"), "{err}");
    }

    #[test]
    fn algorithm_confusion_and_none_are_refused() {
        let jwt = JwtConfig {
            key: vec![pem_key("RS256", RSA_PUB, None)],
            ..JwtConfig::default()
        };
        let claims = dev_claims("mallory", &[], NOW, 60);
        // The classic attack: HS256 with the RSA *public* key as the HMAC secret.
        let confused = sign(
            Algorithm::HS256,
            None,
            &EncodingKey::from_secret(RSA_PUB.as_bytes()),
            &claims,
        );
        let v = Verifier::from_config(&jwt, &[], KEY).unwrap();
        check(&v, &confused, Err("signature does not match"));
        let only_rs = JwtConfig {
            algorithms: Some(vec!["RS256".into()]),
            ..jwt.clone()
        };
        let v = Verifier::from_config(&only_rs, &[], KEY).unwrap();
        check(&v, &confused, Err("accepts RS256"));
        // ES256 signature presented as RS256 (and vice versa) never verifies.
        let ec = EncodingKey::from_ec_pem(EC_PRIV.as_bytes()).unwrap();
        let es = sign(Algorithm::ES256, None, &ec, &claims);
        check(&v, &es, Err("accepts RS256"));
        // alg: none, with and without a signature.
        use base64::Engine as _;
        let b64 =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let none_header = b64(&serde_json::json!({"alg": "none", "typ": "JWT"}));
        let body = b64(&Value::Object(claims.clone()));
        for t in [
            format!("{none_header}.{body}."),
            format!("{none_header}.{body}.AAAA"),
        ] {
            check(&v, &t, Err("never `none`"));
            check(&Verifier::new(KEY, None, None), &t, Err("never `none`"));
        }
    }

    #[test]
    fn jwks_keys_are_picked_by_kid() {
        let tmp = tempfile::tempdir().unwrap();
        let rsa = EncodingKey::from_rsa_pem(RSA_PRIV.as_bytes()).unwrap();
        let ec = EncodingKey::from_ec_pem(EC_PRIV.as_bytes()).unwrap();
        let mut j1 = jsonwebtoken::jwk::Jwk::from_encoding_key(&rsa, Algorithm::RS256).unwrap();
        j1.common.key_id = Some("r1".into());
        let mut j2 = jsonwebtoken::jwk::Jwk::from_encoding_key(&ec, Algorithm::ES256).unwrap();
        j2.common.key_id = Some("e1".into());
        let set = serde_json::json!({ "keys": [j1, j2] });
        assert!(!set.to_string().contains("\"d\""), "public parts only");
        let path = tmp.path().join("jwks.json");
        std::fs::write(&path, set.to_string()).unwrap();
        let jwt = JwtConfig {
            key: vec![JwtKeyConfig {
                jwks_file: Some(path),
                ..JwtKeyConfig::default()
            }],
            subject_claim: Some("email".into()),
            ..JwtConfig::default()
        };
        let v = Verifier::from_config(&jwt, &[], KEY).unwrap();
        let mut claims = dev_claims("ignored", &[], NOW, 60);
        claims.insert("email".into(), "dave@example.com".into());
        let check = |t: &str, want: Result<&str, &str>| check(&v, t, want);
        check(
            &sign(Algorithm::RS256, Some("r1"), &rsa, &claims),
            Ok("dave@example.com"),
        );
        check(
            &sign(Algorithm::ES256, Some("e1"), &ec, &claims),
            Ok("dave@example.com"),
        );
        check(
            &sign(Algorithm::RS256, None, &rsa, &claims),
            Ok("dave@example.com"),
        );
        check(
            &sign(Algorithm::RS256, Some("e1"), &rsa, &claims),
            Err("no RS256 key has kid"),
        );
        check(
            &sign(Algorithm::RS256, Some("zz"), &rsa, &claims),
            Err("no RS256 key has kid"),
        );
        claims.remove("email");
        check(
            &sign(Algorithm::RS256, Some("r1"), &rsa, &claims),
            Err("no `email`"),
        );
        // A secret (oct) key in a JWKS is refused.
        let oct = serde_json::json!({"keys": [{"kty": "oct", "k": "c2VjcmV0", "alg": "HS256"}]});
        let p2 = tmp.path().join("oct.json");
        std::fs::write(&p2, oct.to_string()).unwrap();
        let bad = JwtConfig {
            key: vec![JwtKeyConfig {
                jwks_file: Some(p2),
                ..JwtKeyConfig::default()
            }],
            ..JwtConfig::default()
        };
        assert!(Verifier::from_config(&bad, &[], KEY).is_err());
    }

    /// What the test JWKS server answers: status, body, streamed (no Content-Length) or not.
    struct Served {
        status: u16,
        body: Vec<u8>,
        streamed: bool,
    }

    /// A tiny axum server on 127.0.0.1:0 (its own thread and runtime) serving `/jwks`.
    struct JwksServer {
        url: String,
        served: Arc<std::sync::Mutex<Served>>,
        hits: Arc<std::sync::atomic::AtomicUsize>,
        _stop: tokio::sync::oneshot::Sender<()>,
    }

    impl JwksServer {
        fn start(body: Vec<u8>) -> JwksServer {
            let served = Arc::new(std::sync::Mutex::new(Served {
                status: 200,
                body,
                streamed: false,
            }));
            let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.set_nonblocking(true).unwrap();
            let url = format!("http://{}/jwks", listener.local_addr().unwrap());
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let (s, h) = (served.clone(), hits.clone());
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let app = axum::Router::new().route(
                        "/jwks",
                        axum::routing::get(move || {
                            let (s, h) = (s.clone(), h.clone());
                            async move {
                                h.fetch_add(1, SeqCst);
                                let served = s.lock().unwrap();
                                let status =
                                    axum::http::StatusCode::from_u16(served.status).unwrap();
                                let body = match served.streamed {
                                    false => axum::body::Body::from(served.body.clone()),
                                    true => {
                                        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = served
                                            .body
                                            .chunks(64 * 1024)
                                            .map(|c| Ok(c.to_vec()))
                                            .collect();
                                        axum::body::Body::from_stream(futures::stream::iter(chunks))
                                    }
                                };
                                (status, body)
                            }
                        }),
                    );
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    axum::serve(listener, app)
                        .with_graceful_shutdown(async move {
                            let _ = stopped.await;
                        })
                        .await
                        .unwrap();
                });
            });
            JwksServer {
                url,
                served,
                hits,
                _stop: stop,
            }
        }

        fn serve(&self, status: u16, body: Vec<u8>, streamed: bool) {
            *self.served.lock().unwrap() = Served {
                status,
                body,
                streamed,
            };
        }

        fn hits(&self) -> usize {
            self.hits.load(SeqCst)
        }

        /// Waits (up to 5 s) until the server was asked `n` times, and a moment more for the
        /// answer to be installed.
        fn wait_hits(&self, n: usize) {
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while self.hits() < n {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{} hits, want {n}",
                    self.hits()
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// A JWKS of the public halves of `keys` (alg, kid, private key PEM).
    fn jwks_of(keys: &[(Algorithm, &str, &EncodingKey)]) -> Vec<u8> {
        let keys: Vec<_> = keys
            .iter()
            .map(|(alg, kid, key)| {
                let mut j = jsonwebtoken::jwk::Jwk::from_encoding_key(key, *alg).unwrap();
                j.common.key_id = Some(kid.to_string());
                j
            })
            .collect();
        let text = serde_json::json!({ "keys": keys }).to_string();
        assert!(!text.contains("\"d\""), "public parts only");
        text.into_bytes()
    }

    fn url_config(url: &str, algorithms: Option<Vec<String>>) -> JwtConfig {
        JwtConfig {
            key: vec![JwtKeyConfig {
                jwks_url: Some(url.into()),
                ..JwtKeyConfig::default()
            }],
            algorithms,
            ..JwtConfig::default()
        }
    }

    /// Polls `verify` until it passes (the refresher installs what it fetched just after the
    /// server answered).
    fn eventually_ok(v: &Verifier, tok: &str, now: i64) -> Caller {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            match v.verify(tok, now) {
                Ok(c) => return c,
                Err(e) if std::time::Instant::now() > deadline => panic!("still refused: {e:?}"),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    #[test]
    fn jwks_url_is_fetched_at_start_and_refetched_for_an_unknown_kid() {
        let rsa = EncodingKey::from_rsa_pem(RSA_PRIV.as_bytes()).unwrap();
        let ec = EncodingKey::from_ec_pem(EC_PRIV.as_bytes()).unwrap();
        let server = JwksServer::start(jwks_of(&[(Algorithm::RS256, "r1", &rsa)]));
        let all = ["HS256", "RS256", "ES256"].map(String::from).to_vec();
        let v = Verifier::from_config(&url_config(&server.url, Some(all)), &[], KEY).unwrap();
        assert_eq!(server.hits(), 1, "fetched once at start");
        assert!(format!("{v:?}").contains(&server.url));
        let claims = dev_claims("frank", &[], NOW, 600);
        let old = sign(Algorithm::RS256, Some("r1"), &rsa, &claims);
        check(&v, &old, Ok("frank"));
        // HS256 still only meets the HMAC secret, even with a URL key set.
        let confused = sign(
            Algorithm::HS256,
            Some("r1"),
            &EncodingKey::from_secret(RSA_PUB.as_bytes()),
            &claims,
        );
        check(&v, &confused, Err("signature does not match"));

        // The identity provider rotates: r1 is gone, e2 (another key, another algorithm) is in.
        server.serve(200, jwks_of(&[(Algorithm::ES256, "e2", &ec)]), false);
        let new = sign(Algorithm::ES256, Some("e2"), &ec, &claims);
        check(&v, &new, Err("being fetched again"));
        server.wait_hits(2);
        assert_eq!(eventually_ok(&v, &new, NOW).subject, "frank");
        // The old token was cached, but the set changed: checked again, and refused.
        check(&v, &old, Err("no RS256 key has kid \"r1\""));
        assert_eq!(server.hits(), 2, "refetches are rate limited");

        // At most one refetch per 30 s of `now`, whatever the kids.
        let unknown = |kid: &str| sign(Algorithm::ES256, Some(kid), &ec, &claims);
        check(&v, &unknown("x1"), Err("no ES256 key has kid"));
        let t = |secs: i64| NOW + secs;
        assert!(v.verify(&unknown("x2"), t(10)).is_err());
        assert!(v.verify(&unknown("x3"), t(29)).is_err());
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(server.hits(), 2);
        assert!(v.verify(&unknown("x4"), t(30)).is_err());
        server.wait_hits(3);
        assert!(v.verify(&unknown("x5"), t(40)).is_err());
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(server.hits(), 3);

        // verify_async waits for the refetch it starts: the first token with a new kid passes.
        server.serve(200, jwks_of(&[(Algorithm::RS256, "r3", &rsa)]), false);
        let rotated = sign(Algorithm::RS256, Some("r3"), &rsa, &claims);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let caller = rt.block_on(v.verify_async(&rotated, t(100))).unwrap();
        assert_eq!(caller.subject, "frank");
        assert_eq!(server.hits(), 4);
        // ...but a refusal for another reason does not wait nor fetch.
        let expired = sign(
            Algorithm::RS256,
            Some("r3"),
            &rsa,
            &dev_claims("frank", &[], NOW - 7200, 60),
        );
        let err = rt.block_on(v.verify_async(&expired, t(200))).unwrap_err();
        assert!(format!("{err:?}").contains("expired"), "{err:?}");
        assert_eq!(server.hits(), 4);
    }

    #[test]
    fn a_failed_jwks_refresh_keeps_the_last_good_keys() {
        let rsa = EncodingKey::from_rsa_pem(RSA_PRIV.as_bytes()).unwrap();
        let good = jwks_of(&[(Algorithm::RS256, "r1", &rsa)]);
        let server = JwksServer::start(good.clone());
        let v = Verifier::from_config(&url_config(&server.url, None), &[], KEY).unwrap();
        let claims = dev_claims("grace", &[], NOW, 600);
        let tok = sign(Algorithm::RS256, Some("r1"), &rsa, &claims);
        check(&v, &tok, Ok("grace"));
        let oct = br#"{"keys":[{"kty":"oct","k":"c2VjcmV0","alg":"HS256","kid":"h1"}]}"#;
        let mut padded = good.clone();
        padded.resize(JWKS_MAX_BYTES + 1, b' ');
        let failures: [(u16, &[u8], bool); 6] = [
            (500, b"oops", false),
            (200, b"not json", false),
            (200, br#"{"keys":[]}"#, false),
            (200, oct, false),
            (200, &padded, false),
            (200, &padded, true),
        ];
        for (i, (status, body, streamed)) in failures.into_iter().enumerate() {
            server.serve(status, body.to_vec(), streamed);
            let now = NOW + 100 * (i as i64 + 1);
            let unknown = sign(Algorithm::RS256, Some("zz"), &rsa, &claims);
            assert!(v.verify(&unknown, now).is_err());
            server.wait_hits(i + 2);
            // Give the refresher the time to (not) install it, then the old key still works.
            std::thread::sleep(Duration::from_millis(100));
            let fresh = sign(
                Algorithm::RS256,
                Some("r1"),
                &rsa,
                &dev_claims(&format!("g{i}"), &[], NOW, 600),
            );
            check(&v, &fresh, Ok(&format!("g{i}")));
            assert_eq!(v.generation(), 1, "case {i}: the set never changed");
        }
        // Exactly 1 MiB is fine.
        let mut exact = jwks_of(&[(Algorithm::RS256, "r9", &rsa)]);
        exact.resize(JWKS_MAX_BYTES, b' ');
        server.serve(200, exact, true);
        let r9 = sign(
            Algorithm::RS256,
            Some("r9"),
            &rsa,
            &dev_claims("grace", &[], NOW, 20_000),
        );
        assert!(v.verify(&r9, NOW + 10_000).is_err());
        assert_eq!(eventually_ok(&v, &r9, NOW + 10_000).subject, "grace");
    }

    #[test]
    fn jwks_url_first_fetch_failure_stops_the_start() {
        let rsa = EncodingKey::from_rsa_pem(RSA_PRIV.as_bytes()).unwrap();
        let server = JwksServer::start(b"{}".to_vec());
        let start = |url: &str| {
            format!(
                "{:#}",
                Verifier::from_config(&url_config(url, None), &[], KEY).unwrap_err()
            )
        };
        let mut big = jwks_of(&[(Algorithm::RS256, "r1", &rsa)]);
        big.resize(JWKS_MAX_BYTES + 1, b' ');
        let oct = br#"{"keys":[{"kty":"oct","k":"c2VjcmV0","alg":"HS256"}]}"#;
        for (status, body, streamed, want) in [
            (503, b"down".to_vec(), false, "HTTP 503"),
            (200, b"{}".to_vec(), false, "not a JWKS"),
            (200, oct.to_vec(), false, "oct"),
            (200, big.clone(), false, "1 MiB"),
            (200, big, true, "1 MiB"),
        ] {
            server.serve(status, body, streamed);
            let err = start(&server.url);
            assert!(
                err.contains(&server.url) && err.contains(want),
                "{err} lacks {want}"
            );
            assert!(err.contains("api.jwt.key[0]"), "{err}");
        }
        // Nobody listening.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let url = format!("http://127.0.0.1:{port}/jwks");
        let err = start(&url);
        assert!(err.contains(&url), "{err}");
        // Not https, not loopback: refused before any fetch.
        let err = start("http://idp.example.com/jwks");
        assert!(err.contains("use https"), "{err}");
    }

    #[test]
    fn jwks_url_rules_and_refetch_gate() {
        for ok in [
            "https://auth.example.com/.well-known/jwks.json",
            "http://127.0.0.1:8080/jwks",
            "http://127.9.8.7/jwks",
            "http://[::1]:9/jwks",
            "http://localhost/jwks",
            "http://LOCALHOST:1/jwks",
        ] {
            check_jwks_url(ok).unwrap_or_else(|e| panic!("{ok}: {e:#}"));
        }
        for (bad, want) in [
            ("http://auth.example.com/jwks", "use https"),
            ("http://10.0.0.1/jwks", "use https"),
            ("http://[::ffff:127.0.0.1]/jwks", "use https"),
            ("http://localhost.evil.com/jwks", "use https"),
            ("ftp://127.0.0.1/jwks", "scheme"),
            ("file:///etc/jwks.json", "scheme"),
            ("https://user:pw@auth.example.com/jwks", "user or password"),
            ("not a url", "not a URL"),
        ] {
            let err = format!("{:#}", check_jwks_url(bad).unwrap_err());
            assert!(err.contains(want), "{bad}: {err} lacks {want}");
            assert!(!err.contains("pw@"), "{err}");
        }
        let ten_min = Duration::from_secs(600);
        assert_eq!(next_refresh_delay(ten_min, true), ten_min);
        assert_eq!(next_refresh_delay(ten_min, false), Duration::from_secs(60));
        let short = Duration::from_secs(30);
        assert_eq!(next_refresh_delay(short, false), short);

        let gate = RefetchGate::new();
        assert!(gate.try_pass(NOW));
        assert!(!gate.try_pass(NOW));
        assert!(!gate.try_pass(NOW + 29));
        assert!(!gate.try_pass(NOW - 29));
        assert!(gate.try_pass(NOW + 30));
        assert!(!gate.try_pass(NOW + 59));
        assert!(gate.try_pass(NOW + 1_000));
    }

    #[test]
    fn hs256_secret_from_env_or_private_file() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("secret");
        std::fs::write(&path, "s".repeat(40) + "\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let jwt = JwtConfig {
            hs256_secret_file: Some(path.clone()),
            ..JwtConfig::default()
        };
        let err = format!("{:#}", Verifier::from_config(&jwt, &[], KEY).unwrap_err());
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let v = Verifier::from_config(&jwt, &[], KEY).unwrap();
        let claims = dev_claims("erin", &[], NOW, 60);
        let secret = "s".repeat(40);
        check(
            &v,
            &mint_hs256(secret.as_bytes(), &claims).unwrap(),
            Ok("erin"),
        );
        check(&v, &token(claims), Err("signature does not match"));
        let env = JwtConfig {
            hs256_secret_env: Some("STSGATE_TEST_UNSET_SECRET_VAR".into()),
            ..JwtConfig::default()
        };
        assert!(Verifier::from_config(&env, &[], KEY).is_err());
    }

    #[test]
    fn api_keys_and_the_operator_key() {
        let (key, hash) = new_api_key();
        assert!(key.starts_with("sk_") && hash.len() == 64);
        let keys = [ApiKeyConfig {
            name: "ci".into(),
            sha256: hash,
        }];
        let mut v = Verifier::from_config(&JwtConfig::default(), &keys, KEY).unwrap();
        v.set_operator_key("sgop_operator");
        let c = v.verify(&key, NOW).unwrap();
        assert_eq!((c.id.as_str(), c.subject.as_str()), ("key:ci", "ci"));
        assert_eq!(c.claims["sub"], "ci");
        check(&v, "sk_wrong", Err("not one of this server's"));
        check(&v, "sgop_operator", Err("operator key"));
        assert_eq!(v.operator("sgop_operator", NOW), Ok(()));
        assert!(matches!(
            v.operator(&key, NOW),
            Err(ApiError::OperatorOnly(_))
        ));
        assert!(matches!(
            v.operator("sgop_nope", NOW),
            Err(ApiError::Unauthenticated(_))
        ));
    }

    #[test]
    fn bearer_header() {
        assert_eq!(bearer(Some(b"Bearer abc")).unwrap(), "abc");
        assert_eq!(bearer(Some(b"bearer  abc ")).unwrap(), "abc");
        for bad in [&b"Basic abc"[..], b"Bearer", b"Bearer ", b"\xff\xfe"] {
            assert!(bearer(Some(bad)).is_err(), "{bad:?}");
        }
        let ApiError::Unauthenticated(m) = bearer(None).unwrap_err() else {
            panic!()
        };
        assert!(m.contains("stsgate token"), "{m}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h"), Ok(3600));
        assert_eq!(parse_duration("900"), Ok(900));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("2d"), Ok(172_800));
        for bad in ["", "0", "h", "1y", "-5m", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        #[test]
        fn arbitrary_headers_and_tokens_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..200), s in ".{0,200}") {
            let _ = bearer(Some(&raw));
            let v = Verifier::new(KEY, Some("i".into()), Some("a".into()));
            let _ = v.verify(&s, NOW);
            let _ = v.verify(&format!("eyJhbGciOiJIUzI1NiJ9.{s}"), NOW);
            let _ = v.verify(&format!("sk_{s}"), NOW);
            let _ = v.operator(&s, NOW);
            let _ = parse_duration(&s);
        }
    }
}
