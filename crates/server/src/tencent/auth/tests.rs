//! The spec's SDK vectors (§4.3, captured from cos-python-sdk-v5 and cos-nodejs-sdk-v5), then
//! the refusals, through one `check()` per concern.

use super::*;
use crate::datadir::{AccessKey, MasterKey};
use crate::secret::Secret;
use crate::tencent::endpoint::targets;
use crate::token::{MintSpec, TokenKey};
use proptest::prelude::*;
use zeroize::Zeroizing;

const VHOST: &str = "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com";

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn keyring() -> Keyring {
    Keyring {
        account_id: "1".into(),
        root: AccessKey {
            id: "LTAIroot".into(),
            secret: Secret::new("alisecret"),
        },
        tencent_root: Some(AccessKey {
            id: "AKIDEXAMPLE".into(),
            secret: Secret::new("SKEXAMPLE"),
        }),
        tokens: TokenKey::new(&MasterKey(Zeroizing::new([3; 32]))),
        access_keys: None,
        revoked: None,
        signing_keys: None,
    }
}

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap()
}

fn auth_header(sign_time: &str, headers: &str, params: &str, signature: &str) -> String {
    format!(
        "q-sign-algorithm=sha1&q-ak=AKIDEXAMPLE&q-sign-time={sign_time}&q-key-time={sign_time}&q-header-list={headers}&q-url-param-list={params}&q-signature={signature}"
    )
}

/// Verifies a captured request's signature with the root secret: the reading that verified, or
/// the error code.
#[track_caller]
fn check_vector(
    method: &str,
    host: &str,
    raw_path: &str,
    headers: &[(&str, &str)],
    query: &[(&str, &str)],
    authorization: &Authorization,
    expected: Result<usize, &str>,
) {
    let headers = {
        let mut h = pairs(headers);
        h.push(("host".into(), host.into()));
        h
    };
    let query = pairs(query);
    let req = Signed {
        method,
        headers: &headers,
        query: &query,
        authority: None,
    };
    let ts = targets(Some(host), raw_path).unwrap();
    let got = verify(&req, &ts, authorization, "SKEXAMPLE").map_err(|e| e.code);
    assert_eq!(got, expected, "{method} {host}{raw_path}");
}

#[test]
fn python_ip_mode_put_signs_the_token_and_the_virtual_host() {
    // §4.3 a: put_object('dir/a b+c.txt', b'hello', ContentType='text/plain'), token signed.
    let a = Authorization::parse(&auth_header(
        "1699999940;1700010000",
        "content-length;content-type;host;x-cos-security-token",
        "",
        "fef664caa41a5b651c6adcc6fd69353430c74f93",
    ))
    .unwrap();
    let headers = [
        ("content-length", "5"),
        ("content-type", "text/plain"),
        ("x-cos-security-token", "TOKENXYZ"),
        ("user-agent", "cos-python-sdk-v5.1.9.44"),
    ];
    check_vector("PUT", VHOST, "/dir/a%20b%2Bc.txt", &headers, &[], &a, Ok(0));
    // The same signature over another key does not verify.
    check_vector(
        "PUT",
        VHOST,
        "/dir/a%20b%2Bc.tx",
        &headers,
        &[],
        &a,
        Err("SignatureDoesNotMatch"),
    );
}

#[test]
fn python_list_signs_all_five_params() {
    // §4.3 b: list_objects(Prefix='dir/', MaxKeys=10).
    let b = Authorization::parse(&auth_header(
        "1699999940;1700010000",
        "host;x-cos-security-token",
        "delimiter;encoding-type;marker;max-keys;prefix",
        "c27701c941e6f3c968ec948db6d897b64136ab65",
    ))
    .unwrap();
    let query = [
        ("prefix", "dir/"),
        ("delimiter", ""),
        ("marker", ""),
        ("max-keys", "10"),
        ("encoding-type", "url"),
    ];
    let headers = [("x-cos-security-token", "TOKENXYZ")];
    check_vector("GET", VHOST, "/", &headers, &query, &b, Ok(0));
}

#[test]
fn python_ip_mode_presign_signs_the_host_without_its_port() {
    // §4.3 c: the signed host is 127.0.0.1 while the Host header is 127.0.0.1:8901.
    let c = Authorization::from_query(&pairs(&[
        ("q-sign-algorithm", "sha1"),
        ("q-ak", "AKIDEXAMPLE"),
        ("q-sign-time", "1699999940;1700000300"),
        ("q-key-time", "1699999940;1700000300"),
        ("q-header-list", "host"),
        ("q-url-param-list", ""),
        ("q-signature", "ee7268b8f497f3fffbc9f651c9cdbc8c4788544c"),
    ]))
    .unwrap();
    check_vector("GET", "127.0.0.1:8901", "/dir/a.txt", &[], &[], &c, Ok(0));
}

#[test]
fn node_domain_mode_signs_the_port_and_not_the_token() {
    // §4.3 f: Domain '127.0.0.1:8902', token sent but unsigned, empty Cache-Control sent.
    let f = Authorization::parse(
        "q-sign-algorithm=sha1&q-ak=AKIDEXAMPLE&q-sign-time=1699999999;1700000899&q-key-time=1699999999;1700000899&q-header-list=content-length;host&q-url-param-list=&q-signature=436d4b245bc80b6dcf230eedb7eba8ccd4135f97",
    )
    .unwrap();
    let headers = [
        ("content-length", "5"),
        ("cache-control", ""),
        ("x-cos-security-token", "TOKENXYZ"),
    ];
    check_vector(
        "PUT",
        "127.0.0.1:8902",
        "/dir/a%20b%2Bc.txt",
        &headers,
        &[],
        &f,
        Ok(0),
    );
}

#[test]
fn the_js_bucket_path_form_signs_the_path_without_the_bucket() {
    let headers = pairs(&[("host", "127.0.0.1:8903")]);
    let signed = cos::sign(
        "SKEXAMPLE",
        "AKIDEXAMPLE",
        "1;2",
        "GET",
        "/dir/a.txt",
        &[],
        &headers,
    );
    check_vector(
        "GET",
        "127.0.0.1:8903",
        "/examplebucket-1250000000/dir/a.txt",
        &[],
        &[],
        &signed,
        Ok(0),
    );
    // A client that signed the whole path (real COS path-style) verifies as the second reading.
    let whole = cos::sign(
        "SKEXAMPLE",
        "AKIDEXAMPLE",
        "1;2",
        "GET",
        "/examplebucket-1250000000/dir/a.txt",
        &[],
        &headers,
    );
    check_vector(
        "GET",
        "127.0.0.1:8903",
        "/examplebucket-1250000000/dir/a.txt",
        &[],
        &[],
        &whole,
        Ok(1),
    );
}

/// A request signed now with `secret` (token unsigned, as Node does), authenticated: the
/// principal kind or the error code.
#[track_caller]
fn check_auth(sign_time: &str, ak: &str, secret: &str, token: Option<&str>, expected: &str) {
    let keys = keyring();
    let mut headers = pairs(&[("host", VHOST), ("cache-control", "")]);
    let signed_headers = headers.clone();
    let query = pairs(&[("marker", "unsigned")]);
    let a = cos::sign(secret, ak, sign_time, "GET", "/k", &[], &signed_headers);
    headers.push(("authorization".into(), a.to_string()));
    if let Some(t) = token {
        headers.push(("x-cos-security-token".into(), t.into()));
    }
    let req = Signed {
        method: "GET",
        headers: &headers,
        query: &query,
        authority: None,
    };
    let ts = targets(Some(VHOST), "/k").unwrap();
    let got = match authenticate(&keys, &req, &ts, at(1000)) {
        Ok((Principal::Root, _)) => "root".to_string(),
        Ok((Principal::Temporary(_), _)) => "temporary".to_string(),
        Ok((other, _)) => format!("{other:?}"),
        Err(e) => format!("{} {}", e.status.as_u16(), e.code),
    };
    assert_eq!(got, expected, "{sign_time} {ak} {token:?}");
}

#[test]
fn root_key_windows_and_secrets() {
    check_auth("900;1100", "AKIDEXAMPLE", "SKEXAMPLE", None, "root");
    check_auth("1000;1000", "AKIDEXAMPLE", "SKEXAMPLE", None, "root");
    check_auth(
        "100;999",
        "AKIDEXAMPLE",
        "SKEXAMPLE",
        None,
        "403 AccessDenied",
    );
    check_auth(
        "1001;2000",
        "AKIDEXAMPLE",
        "SKEXAMPLE",
        None,
        "403 AccessDenied",
    );
    check_auth(
        "900;1100",
        "AKIDEXAMPLE",
        "wrong",
        None,
        "403 SignatureDoesNotMatch",
    );
    check_auth(
        "900;1100",
        "AKIDnobody",
        "SKEXAMPLE",
        None,
        "403 InvalidAccessKeyId",
    );
    // The Alibaba root key is not a Tencent key.
    check_auth(
        "900;1100",
        "LTAIroot",
        "alisecret",
        None,
        "403 InvalidAccessKeyId",
    );
}

#[test]
fn temporary_credentials_and_their_token_errors() {
    let keys = keyring();
    let mint = |vendor, secs| {
        keys.tokens.mint_spec(
            MintSpec {
                vendor,
                caller: None,
                role_arn: "qcs::cam::uin/1:roleName/r",
                session_name: "s",
                role_policy: None,
                session_policy: None,
                duration_secs: secs,
            },
            at(500),
        )
    };
    let live = mint(Vendor::Tencent, 3600);
    let (ak, sk) = (live.access_key_id.as_str(), live.access_key_secret.expose());
    let token = live.security_token.as_str();
    check_auth("900;1100", ak, sk, Some(token), "temporary");
    check_auth(
        "900;1100",
        ak,
        "wrong",
        Some(token),
        "403 SignatureDoesNotMatch",
    );
    check_auth("900;1100", ak, sk, None, "403 InvalidAccessKeyId");
    let mut tampered = token.to_string();
    tampered.replace_range(10..11, if &token[10..11] == "A" { "B" } else { "A" });
    check_auth(
        "900;1100",
        ak,
        sk,
        Some(&tampered),
        "403 InvalidAccessKeyId",
    );
    let other = mint(Vendor::Tencent, 3600);
    check_auth(
        "900;1100",
        ak,
        sk,
        Some(&other.security_token),
        "403 InvalidAccessKeyId",
    );
    let expired = mint(Vendor::Tencent, 100);
    check_auth(
        "900;1100",
        &expired.access_key_id,
        expired.access_key_secret.expose(),
        Some(&expired.security_token),
        "403 AccessDenied",
    );
    let alibaba = mint(Vendor::Aliyun, 3600);
    check_auth(
        "900;1100",
        &alibaba.access_key_id,
        alibaba.access_key_secret.expose(),
        Some(&alibaba.security_token),
        "403 InvalidAccessKeyId",
    );
}

#[test]
fn anonymous_and_malformed_authorizations() {
    let keys = keyring();
    let ts = targets(Some(VHOST), "/k").unwrap();
    let run = |headers: &[(&str, &str)], query: &[(&str, &str)]| {
        let (headers, query) = (pairs(headers), pairs(query));
        let req = Signed {
            method: "GET",
            headers: &headers,
            query: &query,
            authority: None,
        };
        authenticate(&keys, &req, &ts, at(1000))
            .map(|(p, _)| format!("{p:?}"))
            .map_err(|e| e.code)
    };
    assert_eq!(run(&[("host", VHOST)], &[]), Ok("Anonymous".into()));
    assert_eq!(run(&[("authorization", "")], &[]), Ok("Anonymous".into()));
    assert_eq!(
        run(&[("authorization", "OSS a:b")], &[]),
        Err("AccessDenied")
    );
    assert_eq!(run(&[], &[("q-signature", "x")]), Err("AccessDenied"));
    assert_eq!(
        run(
            &[(
                "authorization",
                "q-sign-algorithm=md5&q-ak=a&q-sign-time=1;2&q-key-time=1;2&q-signature=x"
            )],
            &[]
        ),
        Err("AccessDenied")
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    /// Whatever the Authorization header and query, authentication answers without panicking.
    #[test]
    fn arbitrary_authorizations_never_panic(
        header in "(q-[a-z-]{2,16}=[A-Za-z0-9;%]{0,12}&){0,8}|.{0,80}",
        query in "(q-[a-z-]{2,16}=[A-Za-z0-9;%]{0,12}&){0,6}",
        host in ".{0,30}",
    ) {
        let keys = keyring();
        let headers = pairs(&[("authorization", &header), ("host", &host)]);
        let query = stsgate_signing::encode::decode_query(&query);
        let req = Signed { method: "GET", headers: &headers, query: &query, authority: None };
        if let Ok(ts) = targets(Some(&host), "/k") {
            let _ = authenticate(&keys, &req, &ts, at(1000));
        }
    }
}
