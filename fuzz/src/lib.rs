//! Helpers shared by the fuzz targets in `fuzz_targets/`.

use bytes::Bytes;

/// The instant every target checks against: Tue, 14 Nov 2023 22:13:20 GMT.
pub const NOW: i64 = 1_700_000_000;

/// [`NOW`] as an `OffsetDateTime`.
pub fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(NOW).expect("NOW is a valid time")
}

/// A request written as text, the way the corpus files hold one:
///
/// ```text
/// METHOD request-target [HTTP/1.1]
/// Name: value
/// …
///
/// body
/// ```
///
/// Lines may end in `\r\n`. A header line that is not a valid name and value is skipped (the
/// `http` crate would refuse it before stsgate sees it); an unusable method or target gives `None`.
pub fn request(data: &[u8]) -> Option<(http::request::Parts, Bytes)> {
    let (head, body) = match find(data, b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => match find(data, b"\r\n\r\n") {
            Some(i) => (&data[..i], &data[i + 4..]),
            None => (data, &[][..]),
        },
    };
    let mut lines = head.split(|&b| b == b'\n').map(trim_cr);
    let first = lines.next()?;
    // `METHOD target [HTTP/1.1]`: the version, if any, is not read.
    let mut words = first.splitn(3, |&b| b == b' ');
    let method = http::Method::from_bytes(words.next()?).ok()?;
    let uri = http::Uri::try_from(words.next().unwrap_or(b"/")).ok()?;
    let mut builder = http::Request::builder().method(method).uri(uri);
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = http::HeaderName::from_bytes(&line[..colon]);
        let value = http::HeaderValue::from_bytes(trim_ows(&line[colon + 1..]));
        if let (Ok(name), Ok(value)) = (name, value) {
            builder = builder.header(name, value);
        }
    }
    let (parts, ()) = builder.body(()).ok()?.into_parts();
    Some((parts, Bytes::copy_from_slice(body)))
}

/// `(name lowercase, value)` pairs of a request's headers, as stsgate's handlers see them.
pub fn header_pairs(parts: &http::request::Parts) -> Vec<(String, String)> {
    parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim_ows(mut value: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    value
}

/// Checks a policy that parsed: it renders to JSON that parses back to an equal policy (with
/// `reparse`, the parser of its grammar), and evaluating it against each of `requests` (action,
/// resource) gives the same decision alone, twice over, and after the round trip.
pub fn check_policy(
    policy: &stsgate_policy::Policy,
    reparse: fn(&str) -> Result<stsgate_policy::Policy, stsgate_policy::PolicyError>,
    requests: &[(&str, &str)],
) {
    use stsgate_policy::{evaluate_all, Context, Request};
    let json = policy.to_json();
    let again = reparse(&json).unwrap_or_else(|e| panic!("{json} does not parse back: {e}"));
    assert!(
        again == *policy,
        "{json} parses back to {again:?}, not {policy:?}"
    );
    let contexts = [
        Context {
            source_ip: Some([10, 0, 0, 1].into()),
            current_time: now(),
            secure_transport: true,
            user_agent: Some("aliyun-sdk-python/2.18.0".into()),
            access_key_id: Some("STS.NUxyz".into()),
            prefix: Some("users/alice/".into()),
            delimiter: Some("/".into()),
            existing_object_tags: Some(vec![("status".into(), "ok".into())]),
            request_object_tags: Some(vec![("allow".into(), "yes".into())]),
        },
        Context {
            source_ip: Some(std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)),
            current_time: time::OffsetDateTime::UNIX_EPOCH,
            secure_transport: false,
            user_agent: None,
            access_key_id: None,
            prefix: Some(String::new()),
            delimiter: None,
            existing_object_tags: None,
            request_object_tags: None,
        },
    ];
    for context in &contexts {
        for (action, resource) in requests {
            let request = Request {
                action,
                resource,
                context,
            };
            let decision = policy.evaluate(&request);
            assert_eq!(evaluate_all(&[policy], &request), decision);
            assert_eq!(evaluate_all(&[policy, policy], &request), decision);
            assert_eq!(again.evaluate(&request), decision);
        }
    }
}

/// The Alibaba root key of [`keyring`] (the seeds sign with this id).
pub const ALIYUN_ROOT_ID: &str = "LTAI5tExampleKeyId";
/// The Tencent root key of [`keyring`].
pub const TENCENT_ROOT_ID: &str = "AKIDEXAMPLE";

/// A face's keys, in memory: both root keys and the token key of a fixed master key (the one the
/// `token` target uses), no extra keys, grant signing keys or revocations (those live in SQLite
/// in a data directory).
pub fn keyring() -> stsgate::common::resolve::Keyring {
    use stsgate::datadir::{AccessKey, MasterKey};
    use stsgate::secret::Secret;
    stsgate::common::resolve::Keyring {
        account_id: "1234567890".into(),
        root: AccessKey {
            id: ALIYUN_ROOT_ID.into(),
            secret: Secret::new("aliyun-root-secret"),
        },
        tencent_root: Some(AccessKey {
            id: TENCENT_ROOT_ID.into(),
            secret: Secret::new("tencent-root-secret"),
        }),
        tokens: stsgate::token::TokenKey::new(&MasterKey(zeroize::Zeroizing::new([7u8; 32]))),
        access_keys: None,
        revoked: None,
        signing_keys: None,
    }
}
