//! OSS presigned URLs (V1, V4) and PostObject forms, signed with grant-scoped temporary
//! credentials (the api face's `/v1/presign` and `/v1/post-policy` for Alibaba grants).
//!
//! The host is the endpoint's: path style (`{endpoint}/{bucket}/{key}`) when its host is an IP
//! address or `localhost`, else virtual-hosted (`{scheme}://{bucket}.{host}/{key}`); see
//! [`bucket_url`]. Either way the canonical resource is `/{bucket}/{key}`.

use serde_json::json;
use stsgate_signing::encode::{pe, v4enc};
use stsgate_signing::{oss_v1, oss_v4, post};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// `YYYYMMDDTHHMMSSZ`
pub fn v4_date(t: OffsetDateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Builds the query string from (name, value) pairs, values percent-encoded.
fn query(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", pe(k), pe(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The URL of `bucket` at `endpoint` (`scheme://host[:port]`): path style `{endpoint}/{bucket}`
/// when the host is an IP address or `localhost` (no per-bucket DNS name there), else
/// virtual-hosted `{scheme}://{bucket}.{host[:port]}` (as Alibaba OSS endpoints are used).
pub fn bucket_url(endpoint: &str, bucket: &str) -> String {
    let endpoint = endpoint.trim_end_matches('/');
    let Some((scheme, rest)) = endpoint.split_once("://") else {
        return format!("{endpoint}/{bucket}");
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    let path_style = host.is_empty()
        || host.starts_with('[')
        || host.parse::<std::net::IpAddr>().is_ok()
        || host.eq_ignore_ascii_case("localhost");
    match path_style {
        true => format!("{endpoint}/{bucket}"),
        false => format!("{scheme}://{bucket}.{authority}{path}"),
    }
}

/// The inputs of a presigned URL.
#[derive(Debug, Clone)]
pub struct UrlParts<'a> {
    pub endpoint: &'a str,
    pub method: &'a str,
    pub bucket: &'a str,
    pub key: &'a str,
    pub content_type: Option<&'a str>,
    pub access_key_id: &'a str,
    pub secret: &'a str,
    pub token: &'a str,
    pub region: &'a str,
    pub now: OffsetDateTime,
    /// Seconds from `now`.
    pub expires: i64,
}

/// A V1 presigned URL (`OSSAccessKeyId`, `Expires`, `Signature`, `security-token`).
pub fn v1_url(p: &UrlParts) -> String {
    let expires = (p.now.unix_timestamp() + p.expires).to_string();
    let resource = oss_v1::canonical_resource(
        Some(p.bucket),
        Some(p.key),
        &[("security-token".to_string(), p.token.to_string())],
    );
    let sts = oss_v1::string_to_sign(
        p.method,
        "",
        p.content_type.unwrap_or(""),
        &expires,
        "",
        &resource,
    );
    let signature = oss_v1::sign(p.secret, &sts);
    format!(
        "{}/{}?{}",
        bucket_url(p.endpoint, p.bucket),
        v4enc(p.key, true),
        query(&[
            ("OSSAccessKeyId", p.access_key_id.to_string()),
            ("Expires", expires),
            ("Signature", signature),
            ("security-token", p.token.to_string()),
        ])
    )
}

/// A V4 presigned URL (`x-oss-signature-version`, `x-oss-credential`, `x-oss-date`,
/// `x-oss-expires`, `x-oss-security-token`, `x-oss-signature`); unsigned payload.
pub fn v4_url(p: &UrlParts) -> String {
    let date = v4_date(p.now);
    let credential = oss_v4::Credential {
        access_key_id: p.access_key_id.to_string(),
        date: date[..8].to_string(),
        region: p.region.to_string(),
        product: "oss".into(),
    };
    let mut pairs: Vec<(&str, String)> = vec![
        ("x-oss-signature-version", "OSS4-HMAC-SHA256".into()),
        (
            "x-oss-credential",
            format!("{}/{}", p.access_key_id, credential.scope()),
        ),
        ("x-oss-date", date.clone()),
        ("x-oss-expires", p.expires.to_string()),
        ("x-oss-security-token", p.token.to_string()),
    ];
    let decoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let headers: Vec<(String, String)> = p
        .content_type
        .map(|ct| vec![("content-type".to_string(), ct.to_string())])
        .unwrap_or_default();
    let (canonical, _) = oss_v4::canonical_request(
        p.method,
        Some(p.bucket),
        Some(p.key),
        &decoded,
        &headers,
        &[],
        "UNSIGNED-PAYLOAD",
    );
    let sts = oss_v4::string_to_sign(&date, &credential.scope(), &canonical);
    let key = oss_v4::signing_key(p.secret, &credential.date, p.region, "oss");
    pairs.push(("x-oss-signature", oss_v4::signature(&key, &sts)));
    format!(
        "{}/{}?{}",
        bucket_url(p.endpoint, p.bucket),
        v4enc(p.key, true),
        query(&pairs)
    )
}

/// The policy document (JSON text) pinning bucket, key prefix, size and content types.
pub fn policy_document(
    expiration: OffsetDateTime,
    bucket: &str,
    key_prefix: &str,
    min_size: u64,
    max_size: u64,
    content_types: Option<&[String]>,
) -> String {
    let expiration = expiration
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default();
    let mut conditions = vec![
        json!({ "bucket": bucket }),
        json!(["starts-with", "$key", key_prefix]),
        json!(["content-length-range", min_size, max_size]),
    ];
    if let Some(types) = content_types {
        conditions.push(json!(["in", "$content-type", types]));
    }
    json!({ "expiration": expiration, "conditions": conditions }).to_string()
}

/// The form fields of a PostObject upload under `key_prefix` with `document` (the policy JSON),
/// V1-signed with the temporary credentials.
pub fn post_fields(
    document: &str,
    key_prefix: &str,
    access_key_id: &str,
    secret: &str,
    token: &str,
) -> serde_json::Value {
    use base64::Engine as _;
    let policy = base64::engine::general_purpose::STANDARD.encode(document.as_bytes());
    let signature = post::v1_signature(secret, &policy);
    json!({
        "key": format!("{key_prefix}${{filename}}"),
        "policy": policy,
        "OSSAccessKeyId": access_key_id,
        "Signature": signature,
        "x-oss-security-token": token,
        "success_action_status": "201",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_dates() {
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        assert_eq!(v4_date(t), "20231114T221320Z");
    }

    #[test]
    fn urls_encode_keys_and_carry_the_token() {
        let p = UrlParts {
            endpoint: "http://127.0.0.1:1",
            method: "PUT",
            bucket: "app",
            key: "users/alice/a b+c.txt",
            content_type: Some("text/plain"),
            access_key_id: "STS.x",
            secret: "s",
            token: "CAIS+/=",
            region: "cn-hangzhou",
            now: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
            expires: 60,
        };
        let v1 = v1_url(&p);
        assert!(v1.starts_with("http://127.0.0.1:1/app/users/alice/a%20b%2Bc.txt?OSSAccessKeyId=STS.x&Expires=1700000060&Signature="), "{v1}");
        assert!(v1.ends_with("&security-token=CAIS%2B%2F%3D"), "{v1}");
        let v4 = v4_url(&p);
        assert!(
            v4.contains(
                "x-oss-credential=STS.x%2F20231114%2Fcn-hangzhou%2Foss%2Faliyun_v4_request"
            ),
            "{v4}"
        );
        assert!(v4.contains("&x-oss-expires=60&"), "{v4}");
    }

    #[test]
    fn bucket_urls_are_path_style_for_ips_and_localhost_else_virtual_hosted() {
        for (endpoint, url) in [
            ("http://127.0.0.1:8702", "http://127.0.0.1:8702/app"),
            ("http://127.0.0.1:8702/", "http://127.0.0.1:8702/app"),
            ("http://[::1]:8702", "http://[::1]:8702/app"),
            ("http://localhost:8702", "http://localhost:8702/app"),
            ("https://10.0.0.1", "https://10.0.0.1/app"),
            (
                "https://oss-cn-hangzhou.aliyuncs.com",
                "https://app.oss-cn-hangzhou.aliyuncs.com",
            ),
            (
                "http://oss.example.com:8080",
                "http://app.oss.example.com:8080",
            ),
        ] {
            assert_eq!(bucket_url(endpoint, "app"), url, "{endpoint}");
        }
        let p = UrlParts {
            endpoint: "https://oss-cn-beijing.aliyuncs.com",
            method: "GET",
            bucket: "app",
            key: "users/alice/a b.txt",
            content_type: None,
            access_key_id: "STS.x",
            secret: "s",
            token: "CAIS",
            region: "cn-beijing",
            now: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
            expires: 60,
        };
        let v1 = v1_url(&p);
        assert!(
            v1.starts_with("https://app.oss-cn-beijing.aliyuncs.com/users/alice/a%20b.txt?"),
            "{v1}"
        );
        // The canonical resource is /bucket/key whatever the host.
        let sts = oss_v1::string_to_sign(
            "GET",
            "",
            "",
            "1700000060",
            "",
            "/app/users/alice/a b.txt?security-token=CAIS",
        );
        assert!(
            v1.contains(&format!("Signature={}", pe(&oss_v1::sign("s", &sts)))),
            "{v1}"
        );
        assert!(v4_url(&p).starts_with("https://app.oss-cn-beijing.aliyuncs.com/users/alice/"));
    }

    #[test]
    fn policy_pins_bucket_prefix_size_and_types() {
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let doc = policy_document(t, "app", "users/alice/", 0, 10, Some(&["image/png".into()]));
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(doc.as_bytes());
        let parsed = post::PostPolicy::parse_base64(&b64).unwrap();
        assert_eq!(parsed.content_length_range(), Some((0, 10)));
        let fields = |key: &str, ct: &str| {
            vec![
                ("bucket".to_string(), "app".to_string()),
                ("key".to_string(), key.to_string()),
                ("content-type".to_string(), ct.to_string()),
            ]
        };
        assert!(parsed
            .check_fields(&fields("users/alice/a", "image/png"), t)
            .is_ok());
        assert!(parsed
            .check_fields(&fields("users/bob/a", "image/png"), t)
            .is_err());
        assert!(parsed
            .check_fields(&fields("users/alice/a", "text/html"), t)
            .is_err());
        assert!(parsed
            .check_fields(
                &fields("users/alice/a", "image/png"),
                t + time::Duration::seconds(1)
            )
            .is_err());
    }
}
