//! COS presigned URLs, POST Object forms and request signatures ("form B" of
//! `cos-js-sdk-v5`'s `getAuthorization`), signed with grant-scoped temporary credentials (the
//! api face's `/v1/presign`, `/v1/post-policy` and `/v1/sign` for Tencent grants).
//!
//! The host is the endpoint's: virtual-hosted (`{scheme}://{bucket}.{host}/{key}`, the host
//! signed with the bucket) for a named host, or the `{Bucket}` path form
//! (`{endpoint}/{bucket}/{key}`, the bucket not in the signed path: as `cos-js-sdk-v5` signs it)
//! when the host is an IP address or `localhost`. [`check_request`] decides, purely, whether a
//! request to sign falls inside a grant.

use crate::common::scope::Bundle;
use serde_json::json;
use stsgate_signing::cos::{self, Authorization};
use stsgate_signing::cos_post;
use stsgate_signing::encode::{pe, v4enc};

/// Temporary credentials that sign.
#[derive(Debug, Clone, Copy)]
pub struct Creds<'a> {
    pub access_key_id: &'a str,
    pub secret: &'a str,
    pub token: &'a str,
}

/// The base URL of `bucket` at `endpoint` (`scheme://host[:port]`) and the host its signatures
/// cover.
pub fn bucket_base(endpoint: &str, bucket: &str) -> (String, String) {
    let endpoint = endpoint.trim_end_matches('/');
    let (scheme, authority) = endpoint.split_once("://").unwrap_or(("http", endpoint));
    let authority = authority.split('/').next().unwrap_or(authority);
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    let path_style = host.is_empty()
        || host.starts_with('[')
        || host.parse::<std::net::IpAddr>().is_ok()
        || host.eq_ignore_ascii_case("localhost");
    match path_style {
        true => (
            format!("{scheme}://{authority}/{bucket}"),
            authority.to_string(),
        ),
        false => (
            format!("{scheme}://{bucket}.{authority}"),
            format!("{bucket}.{authority}"),
        ),
    }
}

/// A presigned URL for `method` on `key`, valid from `now` for `expires` seconds (Unix
/// seconds); a given `content_type` is signed, so the upload must send exactly it. The token
/// rides along as `x-cos-security-token` (unsigned, as the JS SDKs add it).
#[allow(clippy::too_many_arguments)]
pub fn url(
    endpoint: &str,
    bucket: &str,
    key: &str,
    method: &str,
    content_type: Option<&str>,
    creds: Creds<'_>,
    now: i64,
    expires: i64,
) -> String {
    let (base, host) = bucket_base(endpoint, bucket);
    let key_time = format!("{now};{}", now + expires);
    let mut headers = vec![("host".to_string(), host)];
    if let Some(ct) = content_type {
        headers.push(("content-type".to_string(), ct.to_string()));
    }
    let auth = cos::sign(
        creds.secret,
        creds.access_key_id,
        &key_time,
        method,
        &format!("/{key}"),
        &[],
        &headers,
    );
    format!(
        "{base}/{}?{}&x-cos-security-token={}",
        v4enc(key, true),
        auth.to_query(),
        pe(creds.token)
    )
}

/// The policy document (JSON text) of a COS form upload: the bucket, the key prefix, the size
/// range, at most one content type, and the signature's own fields COS requires.
pub fn policy_document(
    expiration: &str,
    bucket: &str,
    key_prefix: &str,
    (min_size, max_size): (u64, u64),
    content_type: Option<&str>,
    access_key_id: &str,
    key_time: &str,
) -> String {
    let mut conditions = vec![
        json!({ "bucket": bucket }),
        json!(["starts-with", "$key", key_prefix]),
        json!(["content-length-range", min_size, max_size]),
        json!({ "q-sign-algorithm": "sha1" }),
        json!({ "q-ak": access_key_id }),
        json!({ "q-sign-time": key_time }),
    ];
    if let Some(ct) = content_type {
        conditions.push(json!(["eq", "$Content-Type", ct]));
    }
    json!({ "expiration": expiration, "conditions": conditions }).to_string()
}

/// The form fields of a POST Object upload with `document` (from [`policy_document`], made
/// with the same `key_time`).
pub fn post_fields(
    document: &str,
    key_prefix: &str,
    creds: Creds<'_>,
    key_time: &str,
) -> serde_json::Value {
    use base64::Engine as _;
    let policy = base64::engine::general_purpose::STANDARD.encode(document.as_bytes());
    json!({
        "key": format!("{key_prefix}${{filename}}"),
        "policy": policy,
        "q-sign-algorithm": "sha1",
        "q-ak": creds.access_key_id,
        "q-key-time": key_time,
        "q-signature": cos_post::signature(creds.secret, key_time, document),
        "x-cos-security-token": creds.token,
        "success_action_status": "201",
    })
}

/// A request the caller wants signed, as `getAuthorization` receives it.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The object key without the leading `/` (`""`: the bucket).
    pub key: &'a str,
    pub query: &'a [(String, String)],
    pub headers: &'a [(String, String)],
}

/// What the caller's grant allows.
#[derive(Debug, Clone, Copy)]
pub struct Allowed<'a> {
    pub prefix: &'a str,
    pub bundles: &'a [Bundle],
    /// The scoped credentials' security token (a signed `x-cos-security-token` must be it).
    pub token: &'a str,
}

/// Query parameters a grant can cover: multipart, `response-*` overrides on GET, listing
/// parameters on the bucket.
const MULTIPART: &[&str] = &["uploads", "uploadid", "partnumber"];
const LISTING: &[&str] = &[
    "prefix",
    "delimiter",
    "marker",
    "max-keys",
    "encoding-type",
    "key-marker",
    "upload-id-marker",
    "max-uploads",
];

/// Whether a header may be signed: any standard header (content, caching, ranges, conditions,
/// host, user agent, …), and of the `x-cos-*` ones only those that do not change what a request
/// does beyond the grant's actions (metadata, storage class, the token); copy sources, ACLs,
/// grants, tagging and the like are refused.
fn header_allowed(name: &str) -> bool {
    if !name.starts_with("x-cos-") && !name.starts_with("x-ci-") {
        return true;
    }
    name.starts_with("x-cos-meta-")
        || matches!(
            name,
            "x-cos-security-token"
                | "x-cos-storage-class"
                | "x-cos-forbid-overwrite"
                | "x-cos-content-sha1"
                | "x-cos-traffic-limit"
        )
}

/// The bundle `req` needs, or why it is outside every grant.
fn needed(req: &Request<'_>) -> Result<Bundle, String> {
    let method = req.method.to_ascii_uppercase();
    let has = |name: &str| req.query.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    for (name, _) in req.query {
        let lower = name.to_ascii_lowercase();
        let ok = MULTIPART.contains(&lower.as_str())
            || (lower.starts_with("response-") && method == "GET")
            || (req.key.is_empty() && LISTING.contains(&lower.as_str()))
            || lower == "x-cos-security-token";
        if !ok {
            return Err(format!(
                "the query parameter {name:?} is outside the grant (signable: uploads, uploadId, partNumber, response-* on GET, listing parameters on the bucket)"
            ));
        }
    }
    let (uploads, upload_id, part) = (has("uploads"), has("uploadId"), has("partNumber"));
    if req.key.is_empty() {
        return match (method.as_str(), uploads) {
            ("GET", false) => Ok(Bundle::List),
            ("GET", true) => Ok(Bundle::Write),
            _ => Err(format!(
                "{method} on the bucket is outside the grant: only objects under the prefix (and listing) can be signed"
            )),
        };
    }
    Ok(match (method.as_str(), uploads, upload_id, part) {
        ("GET" | "HEAD", false, false, false) => Bundle::Read,
        ("PUT" | "POST", false, false, false) => Bundle::Write,
        ("PUT", false, true, true) | ("POST", true, false, false) => Bundle::Write,
        ("POST" | "GET" | "DELETE", false, true, false) => Bundle::Write,
        ("DELETE", false, false, false) => Bundle::Delete,
        _ => {
            return Err(format!(
                "{method} with these parameters is not an operation a grant allows"
            ))
        }
    })
}

/// Checks that `req` falls inside the grant: its method and parameters need a bundle the grant
/// has, its key (or listed prefix) lies under the caller's prefix, its headers are signable.
pub fn check_request(req: &Request<'_>, a: &Allowed<'_>) -> Result<(), String> {
    let bundle = needed(req)?;
    if !a.bundles.contains(&bundle) {
        let have: Vec<&str> = a.bundles.iter().map(|b| b.name()).collect();
        return Err(format!(
            "{} needs the {} action, and the grant allows only [{}]",
            req.method,
            bundle.name(),
            have.join(", ")
        ));
    }
    if req.key.is_empty() {
        let prefix = req
            .query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("prefix"))
            .map_or("", |(_, v)| v.as_str());
        if !prefix.starts_with(a.prefix) {
            return Err(format!(
                "listing needs prefix= under your prefix {:?}",
                a.prefix
            ));
        }
    } else {
        crate::common::scope::check_key(req.key, a.prefix)?;
    }
    for (name, value) in req.headers {
        let lower = name.to_ascii_lowercase();
        if !header_allowed(&lower) {
            return Err(format!(
                "the header {name:?} is outside the grant (of the x-cos-* headers only x-cos-meta-*, x-cos-storage-class, x-cos-forbid-overwrite, x-cos-content-sha1, x-cos-traffic-limit and x-cos-security-token can be signed)"
            ));
        }
        if lower == "x-cos-security-token" && value != a.token {
            return Err("x-cos-security-token is not the token of your current scoped credentials (leave it out: send it unsigned)".into());
        }
    }
    Ok(())
}

/// The `Authorization` value for `req` at `path` (`/key`), valid for `key_time`
/// (`start;end`), headers and parameters sorted as the SDKs sign them.
pub fn authorization(creds: Creds<'_>, key_time: &str, req: &Request<'_>) -> Authorization {
    let lower = |pairs: &[(String, String)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect()
    };
    // As the JS SDKs sign: headers with an empty value are left out of the signature.
    let headers: Vec<(String, String)> = lower(req.headers)
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    cos::sign(
        creds.secret,
        creds.access_key_id,
        key_time,
        &req.method.to_ascii_lowercase(),
        &format!("/{}", req.key),
        &lower(req.query),
        &headers,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CREDS: Creds<'static> = Creds {
        access_key_id: "AKIDtmp",
        secret: "secret",
        token: "TCSTtok-_",
    };

    #[test]
    fn bases_are_path_style_for_ips_else_virtual_hosted() {
        for (endpoint, base, host) in [
            (
                "http://127.0.0.1:8703",
                "http://127.0.0.1:8703/app-1",
                "127.0.0.1:8703",
            ),
            (
                "http://localhost:8703/",
                "http://localhost:8703/app-1",
                "localhost:8703",
            ),
            (
                "https://cos.ap-guangzhou.myqcloud.com",
                "https://app-1.cos.ap-guangzhou.myqcloud.com",
                "app-1.cos.ap-guangzhou.myqcloud.com",
            ),
        ] {
            assert_eq!(
                bucket_base(endpoint, "app-1"),
                (base.into(), host.into()),
                "{endpoint}"
            );
        }
    }

    #[test]
    fn urls_sign_the_host_and_the_bucketless_path() {
        let u = url(
            "http://127.0.0.1:8703",
            "app-1",
            "users/a/x y.txt",
            "get",
            None,
            CREDS,
            1_700_000_000,
            60,
        );
        assert!(u.starts_with("http://127.0.0.1:8703/app-1/users/a/x%20y.txt?q-sign-algorithm=sha1&q-ak=AKIDtmp&q-sign-time=1700000000%3B1700000060"), "{u}");
        assert!(u.ends_with("&x-cos-security-token=TCSTtok-_"), "{u}");
        let query: Vec<(String, String)> =
            stsgate_signing::encode::decode_query(u.split_once('?').unwrap().1);
        let auth = Authorization::from_query(&query).unwrap();
        assert_eq!(auth.header_list, ["host"]);
        let host = cos::sorted_pairs(&[("host".into(), "127.0.0.1:8703".into())]);
        let http = cos::http_string("get", "/users/a/x y.txt", &[], &host);
        assert!(cos::verify("secret", &auth, &http));
    }

    #[test]
    fn forms_sign_the_policy_text() {
        let doc = policy_document(
            "2030-01-01T00:00:00Z",
            "app-1",
            "users/a/",
            (0, 10),
            Some("image/png"),
            "AKIDtmp",
            "1;2",
        );
        let f = post_fields(&doc, "users/a/", CREDS, "1;2");
        let (text, policy) = cos_post::parse_policy(f["policy"].as_str().unwrap()).unwrap();
        assert_eq!(text, doc);
        assert!(cos_post::verify(
            "secret",
            "1;2",
            &text,
            f["q-signature"].as_str().unwrap()
        ));
        assert_eq!(policy.content_length_range(), Some((0, 10)));
        assert_eq!(f["key"], "users/a/${filename}");
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn check(
        method: &str,
        key: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        bundles: &[Bundle],
    ) -> Result<(), String> {
        let (query, headers) = (pairs(query), pairs(headers));
        let req = Request {
            method,
            key,
            query: &query,
            headers: &headers,
        };
        check_request(
            &req,
            &Allowed {
                prefix: "users/alice/",
                bundles,
                token: "T",
            },
        )
    }

    #[test]
    fn requests_are_checked_against_the_grant() {
        let all = [Bundle::Read, Bundle::Write, Bundle::List, Bundle::Delete];
        assert!(check(
            "PUT",
            "users/alice/a",
            &[],
            &[("Content-Length", "2"), ("Host", "h")],
            &all
        )
        .is_ok());
        assert!(check(
            "get",
            "users/alice/a",
            &[("response-content-type", "x")],
            &[],
            &all
        )
        .is_ok());
        assert!(check(
            "PUT",
            "users/alice/a",
            &[("partNumber", "1"), ("uploadId", "u")],
            &[],
            &all
        )
        .is_ok());
        assert!(check("GET", "", &[("prefix", "users/alice/d")], &[], &all).is_ok());
        let refused = [
            check("PUT", "users/alicex/a", &[], &[], &all),
            check("PUT", "users/alice/../bob/a", &[], &[], &all),
            check("GET", "", &[("prefix", "users/")], &[], &all),
            check("PUT", "users/alice/a", &[("acl", "")], &[], &all),
            check(
                "PUT",
                "users/alice/a",
                &[],
                &[("x-cos-copy-source", "b/k")],
                &all,
            ),
            check(
                "PUT",
                "users/alice/a",
                &[],
                &[("x-cos-security-token", "other")],
                &all,
            ),
            check("PUT", "users/alice/a", &[], &[], &[Bundle::Read]),
            check("DELETE", "", &[], &[], &all),
        ];
        for (i, r) in refused.iter().enumerate() {
            assert!(r.is_err(), "case {i}");
        }
    }

    #[test]
    fn authorizations_verify_as_the_cos_face_rebuilds_them() {
        let (query, headers) = (
            pairs(&[("partNumber", "1")]),
            pairs(&[("Host", "h"), ("Content-Length", "2")]),
        );
        let req = Request {
            method: "PUT",
            key: "users/alice/a",
            query: &query,
            headers: &headers,
        };
        let auth = authorization(CREDS, "1;2", &req);
        assert_eq!(auth.header_list, ["content-length", "host"]);
        assert_eq!(auth.url_param_list, ["partnumber"]);
        let params = cos::sorted_pairs(&pairs(&[("partnumber", "1")]));
        let heads = cos::sorted_pairs(&pairs(&[("content-length", "2"), ("host", "h")]));
        let http = cos::http_string("put", "/users/alice/a", &params, &heads);
        assert!(cos::verify("secret", &auth, &http));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        #[test]
        fn arbitrary_requests_never_panic(method in "[A-Za-z]{0,8}", key in ".{0,40}", q in proptest::collection::vec((".{0,12}", ".{0,12}"), 0..4), h in proptest::collection::vec((".{0,12}", ".{0,12}"), 0..4)) {
            let req = Request { method: &method, key: &key, query: &q, headers: &h };
            let all = [Bundle::Read, Bundle::Write, Bundle::List, Bundle::Delete];
            if check_request(&req, &Allowed { prefix: "users/alice/", bundles: &all, token: "T" }).is_ok() && !key.is_empty() {
                prop_assert!(key.starts_with("users/alice/"));
            }
            let _ = authorization(CREDS, "1;2", &req);
        }
    }
}
