//! Callers of the api face: who is asking, from the `Authorization: Bearer …` header.
//!
//! A bearer credential is one of:
//! - a JWT: HS256 (the data directory's `jwt-hs256.key`, or a secret from env/file), RS256 or
//!   ES256 (public keys inline, from a PEM file or a JWKS file; a token's `kid` picks the key).
//!   The header's `alg` must be one the config allows and selects the key *kind*: an HS256 token
//!   is only ever checked with the HMAC secret, never with a public key ("algorithm confusion"),
//!   and `none` is refused. The signature is checked by `jsonwebtoken`; the time claims (`exp`
//!   required, `nbf`), `iss` and `aud` are checked here with `now` as a parameter.
//! - a static API key `sk_…` from `[[api_key]]` (only its SHA-256 is configured; compared in
//!   constant time).
//! - the operator key `sgop_…` (`OperatorKey` in `DIR/root-credentials.json`): reads
//!   `/v1/audit` only; it is not a caller.

use super::error::ApiError;
use crate::config::{ApiKeyConfig, JwtConfig, JwtKeyConfig};
use anyhow::{bail, Context as _};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Seconds of clock difference tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: i64 = 60;
/// The longest `Authorization` value looked at.
pub const MAX_HEADER_LEN: usize = 16 * 1024;
/// Static API keys start with this.
pub const API_KEY_PREFIX: &str = "sk_";
/// Operator keys start with this.
pub const OPERATOR_KEY_PREFIX: &str = "sgop_";

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Stable identity for caching and the audit log, e.g. `jwt:alice` or `key:ci`.
    pub id: String,
    /// The subject (the configured subject claim; an API key's name).
    pub subject: String,
    /// Every claim of the token (grant templates read them); an API key has `sub` = its name.
    pub claims: Map<String, Value>,
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
    algorithms: Vec<Algorithm>,
    issuer: Option<String>,
    audience: Option<String>,
    subject_claim: String,
    api_keys: Vec<ApiKey>,
    operator: Option<[u8; 32]>,
    /// JWTs already verified, by the SHA-256 of the token: their caller (claims still checked
    /// against `now` on every use, so never past `exp`). Bounded by [`VERIFIED_MAX`].
    verified: std::sync::Mutex<std::collections::HashMap<[u8; 32], Caller>>,
}

/// Most verified JWTs remembered.
const VERIFIED_MAX: usize = 16_384;

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("algorithms", &self.algorithms)
            .field("public_keys", &self.public.len())
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

/// The keys one `[[api.jwt.key]]` entry stands for.
fn load_key(c: &JwtKeyConfig) -> anyhow::Result<Vec<PublicKey>> {
    if let Some(path) = &c.jwks_file {
        let text = read_public_file(path)?;
        let set: JwkSet = serde_json::from_slice(&text)
            .with_context(|| format!("{} is not a JWKS ({{\"keys\":[…]}})", path.display()))?;
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
                (AlgorithmParameters::RSA(_), Some(a)) if a.to_string() == "RS256" => {
                    Algorithm::RS256
                }
                (AlgorithmParameters::EllipticCurve(p), Some(a))
                    if a.to_string() == "ES256" && p.curve == EllipticCurve::P256 =>
                {
                    Algorithm::ES256
                }
                _ => bail!(
                    "{}: keys[{i}] is not an RS256 RSA key or an ES256 P-256 key (secret `oct` keys are never accepted from a JWKS)",
                    path.display()
                ),
            };
            if let Some(want) = &c.alg {
                if parse_alg(want)? != alg {
                    continue;
                }
            }
            let key = DecodingKey::from_jwk(jwk)
                .with_context(|| format!("{}: keys[{i}]", path.display()))?;
            out.push(PublicKey {
                alg,
                kid: jwk.common.key_id.clone(),
                key,
            });
        }
        if out.is_empty() {
            bail!("{} holds no usable signing key", path.display());
        }
        return Ok(out);
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

/// The HS256 secret named by the config (env or file), if any.
pub fn configured_hs256_secret(c: &JwtConfig) -> anyhow::Result<Option<KeyBytes>> {
    let bytes = if let Some(var) = &c.hs256_secret_env {
        let v = std::env::var(var)
            .with_context(|| format!("api.jwt.hs256_secret_env: {var} is not set"))?;
        Zeroizing::new(v.into_bytes())
    } else if let Some(path) = &c.hs256_secret_file {
        crate::datadir::check_private(path)?;
        let v = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let mut v = Zeroizing::new(v);
        while v.last().is_some_and(|b| b.is_ascii_whitespace()) {
            v.pop();
        }
        v
    } else {
        return Ok(None);
    };
    if bytes.len() < 32 {
        bail!("the HS256 secret must be at least 32 bytes");
    }
    Ok(Some(bytes))
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
    /// `DIR/jwt-hs256.key`, used unless the config names another HS256 secret.
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
            v.public
                .extend(load_key(k).with_context(|| format!("api.jwt.key[{i}]"))?);
        }
        v.algorithms = match &jwt.algorithms {
            Some(list) => list
                .iter()
                .map(|a| parse_alg(a))
                .collect::<anyhow::Result<_>>()?,
            None => {
                let mut algs = vec![Algorithm::HS256];
                for k in &v.public {
                    if !algs.contains(&k.alg) {
                        algs.push(k.alg);
                    }
                }
                algs
            }
        };
        for alg in &v.algorithms {
            if *alg != Algorithm::HS256 && !v.public.iter().any(|k| k.alg == *alg) {
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
    /// before is not decoded again: its remembered claims are checked against `now`.
    pub fn verify(&self, token: &str, now: i64) -> Result<Caller, ApiError> {
        if token.starts_with(API_KEY_PREFIX) || token.starts_with(OPERATOR_KEY_PREFIX) {
            return self.verify_uncached(token, now);
        }
        let digest = sha256(token.as_bytes());
        let known = {
            let verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
            verified.get(&digest).cloned()
        };
        if let Some(caller) = known {
            self.check_claims(&caller.claims, now)?;
            return Ok(caller);
        }
        let caller = self.verify_uncached(token, now)?;
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if verified.len() >= VERIFIED_MAX {
            verified.retain(|_, c| self.check_claims(&c.claims, now).is_ok());
            if verified.len() >= VERIFIED_MAX / 2 {
                verified.clear();
            }
        }
        verified.insert(digest, caller.clone());
        Ok(caller)
    }

    fn verify_uncached(&self, token: &str, now: i64) -> Result<Caller, ApiError> {
        let unauth = |m: String| ApiError::Unauthenticated(m);
        if token.starts_with(API_KEY_PREFIX) {
            return self.api_key(token);
        }
        if token.starts_with(OPERATOR_KEY_PREFIX) {
            return Err(unauth(
                "this is an operator key: it reads /v1/audit; callers send a JWT or an API key (sk_…)".into(),
            ));
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
            )));
        }
        // The header's alg picks the key kind: HS256 only ever meets the HMAC secret.
        let keys: Vec<&DecodingKey> = match header.alg {
            Algorithm::HS256 => self.hs256.iter().collect(),
            alg => self
                .public
                .iter()
                .filter(|k| k.alg == alg)
                .filter(|k| match (&header.kid, &k.kid) {
                    (Some(want), Some(have)) => want == have,
                    _ => true,
                })
                .map(|k| &k.key)
                .collect(),
        };
        if keys.is_empty() {
            return Err(unauth(match &header.kid {
                Some(kid) => format!(
                    "no {:?} key has kid {:?}",
                    header.alg,
                    kid.chars().take(64).collect::<String>()
                ),
                None => format!("no {:?} key is configured", header.alg),
            }));
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
                )))
            }
        };
        Ok(Caller {
            id: format!("jwt:{subject}"),
            subject,
            claims,
        })
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
            claims,
        })
    }

    fn check_claims(&self, claims: &Map<String, Value>, now: i64) -> Result<(), ApiError> {
        let unauth = |m: String| Err(ApiError::Unauthenticated(m));
        match claims.get("exp").and_then(Value::as_i64) {
            None => return unauth("the JWT has no numeric `exp` (expiry) claim".into()),
            Some(exp) if now > exp + LEEWAY_SECS => {
                return unauth(format!(
                    "the JWT expired {} s ago: get a fresh token",
                    now - exp
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
