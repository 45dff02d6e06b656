//! Callers of the api face: who is asking, from the `Authorization: Bearer …` header.
//!
//! Today a caller is a JWT signed HS256 with the data directory's `jwt-hs256.key`. The signature is
//! checked by `jsonwebtoken`; the time claims (`exp` required, `nbf`), `iss` and `aud` are checked
//! here with `now` as a parameter, so expiry is unit-tested. RS256/ES256 keys, JWKS and API keys
//! slot in as more [`Verifier`] kinds that yield the same [`Caller`].

use super::error::ApiError;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

/// Seconds of clock difference tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: i64 = 60;
/// The longest `Authorization` value looked at.
pub const MAX_HEADER_LEN: usize = 16 * 1024;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Stable identity for caching and the audit log, e.g. `jwt:alice`.
    pub id: String,
    /// The subject (`sub`).
    pub subject: String,
    /// Every claim of the token (grant templates read them).
    pub claims: Map<String, Value>,
}

/// Checks bearer tokens.
pub struct Verifier {
    hs256: DecodingKey,
    issuer: Option<String>,
    audience: Option<String>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
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
    pub fn new(hs256_key: &[u8], issuer: Option<String>, audience: Option<String>) -> Verifier {
        Verifier {
            hs256: DecodingKey::from_secret(hs256_key),
            issuer,
            audience,
        }
    }

    /// Verifies a bearer JWT at `now` (Unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<Caller, ApiError> {
        let unauth = |m: String| ApiError::Unauthenticated(m);
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            unauth("the Bearer token is not a JWT (header.payload.signature)".into())
        })?;
        if header.alg != Algorithm::HS256 {
            return Err(unauth(format!(
                "the JWT is signed with {:?}; this server accepts HS256 only",
                header.alg
            )));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &self.hs256, &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => unauth(
                    "the JWT's signature does not match: it was not signed with this server's key (DIR/jwt-hs256.key)".into(),
                ),
                _ => unauth("the JWT could not be decoded".into()),
            })?;
        let claims = data.claims;
        self.check_claims(&claims, now)?;
        let subject = match claims.get("sub") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err(unauth("the JWT has no `sub` (subject) claim".into())),
        };
        Ok(Caller {
            id: format!("jwt:{subject}"),
            subject,
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
            let _ = parse_duration(&s);
        }
    }
}
