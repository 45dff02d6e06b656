//! The api face's bearer credentials (`stsgate::api::callers`): the `Authorization: Bearer …`
//! header, then `Verifier::verify` with an HS256 secret. Besides arbitrary strings, the input
//! can be a JWT payload or header that this target signs with the verifier's own secret, or
//! claims built from the input's bytes (any `exp`/`nbf` number, of any JSON type), so the claim
//! checks behind the signature (`exp`, `nbf`, `iss`, `aud`, the subject) are reached too.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use sha2::Sha256;
use stsgate::api::callers::{bearer, Caller, Verifier, LEEWAY_SECS};
use stsgate_fuzz::NOW;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
const PAYLOAD: &str = r#"{"sub":"alice","exp":1700000900,"iss":"https://idp","aud":"stsgate"}"#;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let token = match mode % 4 {
        // The Authorization header as sent.
        0 => match bearer(Some(rest)) {
            Ok(token) => token.to_string(),
            Err(_) => return,
        },
        // A payload of the input's choosing, correctly signed.
        1 => signed(HEADER.as_bytes(), rest),
        // A header of the input's choosing, correctly signed.
        2 => signed(rest, PAYLOAD.as_bytes()),
        // Claims built from the input, correctly signed.
        _ => match claims(&mut Unstructured::new(rest)) {
            Ok(claims) => signed(
                HEADER.as_bytes(),
                &serde_json::to_vec(&claims).expect("claims serialize"),
            ),
            Err(_) => return,
        },
    };
    let plain = Verifier::new(SECRET, None, None);
    let strict = Verifier::new(SECRET, Some("https://idp".into()), Some("stsgate".into()));
    for verifier in [&plain, &strict] {
        let first = verifier.verify(&token, NOW);
        if let Ok(caller) = &first {
            accepted(caller);
        }
        // The second time the verification is remembered: the same answer.
        let second = verifier.verify(&token, NOW);
        assert_eq!(first.is_ok(), second.is_ok());
        if let (Ok(a), Ok(b)) = (&first, &second) {
            assert_eq!(a, b);
        }
    }
});

/// `header.payload.signature`, HS256 with [`SECRET`].
fn signed(header: &[u8], payload: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET).expect("any key length");
    mac.update(input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{input}.{signature}")
}

/// `sub`, `iss`, `aud`, `exp`, `nbf` and `iat`, each absent or of a type and value the input
/// picks.
fn claims(u: &mut Unstructured) -> Result<Map<String, Value>> {
    let mut claims = Map::new();
    for name in ["exp", "nbf", "iat"] {
        let value = match u.arbitrary::<u8>()? % 6 {
            0 => continue,
            1 => Value::from(u.arbitrary::<i64>()?),
            2 => Value::from(u.arbitrary::<u64>()?),
            3 => Value::from(stsgate_fuzz::NOW + i64::from(u.arbitrary::<i16>()?)),
            4 => Value::from(u.arbitrary::<f64>()?),
            _ => Value::String(u.arbitrary()?),
        };
        claims.insert(name.into(), value);
    }
    let pick = |u: &mut Unstructured, usual: &str| -> Result<Option<Value>> {
        Ok(match u.arbitrary::<u8>()? % 4 {
            0 => None,
            1 => Some(Value::from(usual)),
            2 => Some(Value::from(vec![Value::from("other"), Value::from(usual)])),
            _ => Some(Value::String(u.arbitrary()?)),
        })
    };
    for (name, usual) in [("sub", "alice"), ("iss", "https://idp"), ("aud", "stsgate")] {
        if let Some(value) = pick(u, usual)? {
            claims.insert(name.into(), value);
        }
    }
    Ok(claims)
}

/// An accepted caller has a subject and a live `exp`.
fn accepted(caller: &Caller) {
    assert!(!caller.subject.is_empty());
    assert_eq!(caller.id, format!("jwt:{}", caller.subject));
    let exp = caller.claims.get("exp").and_then(serde_json::Value::as_i64);
    assert!(exp.is_some_and(|exp| i128::from(NOW) <= i128::from(exp) + i128::from(LEEWAY_SECS)));
}
