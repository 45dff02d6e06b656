//! OSS signature V1: `Authorization: OSS <AccessKeyId>:<Signature>` and V1 presigned URLs.
//!
//! `Signature = base64(HMAC-SHA1(secret, StringToSign))`,
//! `StringToSign = VERB \n Content-MD5 \n Content-Type \n Date \n CanonicalizedOSSHeaders CanonicalizedResource`.
//! For presigned URLs the Date field holds the `Expires` value.

use crate::header::grouped;
use crate::mac::{base64, hmac_sha1};

/// Sub-resource query parameter names that take part in the canonical resource (the union of
/// what oss2, alibabacloud-oss-v2 and the iOS SDK sign).
pub const SUB_RESOURCES: &[&str] = &[
    // oss2
    "acl",
    "uploads",
    "location",
    "cors",
    "logging",
    "website",
    "referer",
    "lifecycle",
    "delete",
    "append",
    "tagging",
    "objectMeta",
    "uploadId",
    "partNumber",
    "security-token",
    "position",
    "restore",
    "qos",
    "stat",
    "bucketInfo",
    "group",
    "link",
    "live",
    "comp",
    "status",
    "vod",
    "startTime",
    "endTime",
    "x-oss-process",
    "symlink",
    "callback",
    "callback-var",
    "encryption",
    "versions",
    "versioning",
    "versionId",
    "policy",
    "requestPayment",
    "x-oss-traffic-limit",
    "qosInfo",
    "asyncFetch",
    "x-oss-request-payer",
    "sequential",
    "inventory",
    "inventoryId",
    "continuation-token",
    "worm",
    "wormId",
    "wormExtend",
    "replication",
    "replicationLocation",
    "replicationProgress",
    "transferAcceleration",
    "cname",
    "metaQuery",
    "x-oss-ac-source-ip",
    "x-oss-ac-subnet-mask",
    "x-oss-ac-vpc-id",
    "x-oss-ac-forward-allow",
    "resourceGroup",
    "style",
    "styleName",
    "x-oss-async-process",
    "regionList",
    "x-oss-write-get-object-response",
    "bucketArchiveDirectRead",
    "httpsConfig",
    "redundancyTransition",
    "x-oss-target-redundancy-type",
    "x-oss-redundancy-transition-taskid",
    "accessPoint",
    "accessPointPolicy",
    "publicAccessBlock",
    "x-oss-access-point-name",
    "requesterQosInfo",
    "qosRequester",
    "resourcePoolInfo",
    "resourcePool",
    "resourcePoolBuckets",
    "response-content-type",
    "response-content-language",
    "response-expires",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "objectInfo",
    // alibabacloud-oss-v2 (its `response-*` are the six above)
    "cloudboxes",
    // The iOS list adds nothing beyond the two above.
];

/// True when `name` is a sub-resource (see [`SUB_RESOURCES`]). Names are case-sensitive.
pub fn is_sub_resource(name: &str) -> bool {
    SUB_RESOURCES.contains(&name)
}

/// `/` (no bucket) | `/<bucket>/` (no key) | `/<bucket>/<key>` (raw, undecoded-again key), then
/// `?` + sorted sub-resources as `k` (empty value) or `k=v` (decoded value) joined by `&`.
/// `query` is the decoded query (see [`crate::encode::decode_query`]); non-sub-resources are ignored.
pub fn canonical_resource(
    bucket: Option<&str>,
    key: Option<&str>,
    query: &[(String, String)],
) -> String {
    let mut resource = match (bucket, key) {
        (None, _) => "/".to_string(),
        (Some(bucket), None) => format!("/{bucket}/"),
        (Some(bucket), Some(key)) => format!("/{bucket}/{key}"),
    };
    let mut subs: Vec<&(String, String)> = query
        .iter()
        .filter(|(name, _)| is_sub_resource(name))
        .collect();
    if subs.is_empty() {
        return resource;
    }
    subs.sort();
    let parts: Vec<String> = subs
        .iter()
        .map(|(name, value)| match value.is_empty() {
            true => name.clone(),
            false => format!("{name}={value}"),
        })
        .collect();
    resource.push('?');
    resource.push_str(&parts.join("&"));
    resource
}

/// Every header whose lowercase name starts with `x-oss-`: lowercased name, trimmed value,
/// sorted by name, each `name:value\n`; repeated names joined with `,`. Empty if none.
/// `headers` holds all request headers as (name, value) in any case.
pub fn canonical_oss_headers(headers: &[(String, String)]) -> String {
    grouped(headers, |name| name.starts_with("x-oss-"))
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect()
}

/// Assembles the V1 string-to-sign from its parts.
pub fn string_to_sign(
    verb: &str,
    content_md5: &str,
    content_type: &str,
    date: &str,
    canonical_oss_headers: &str,
    canonical_resource: &str,
) -> String {
    // One allocation of the exact size (every V1 request and `/auth/custom` call builds one).
    [
        verb,
        "\n",
        content_md5,
        "\n",
        content_type,
        "\n",
        date,
        "\n",
        canonical_oss_headers,
        canonical_resource,
    ]
    .concat()
}

/// `base64(HMAC-SHA1(secret, string_to_sign))`.
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    base64(&hmac_sha1(secret.as_bytes(), string_to_sign.as_bytes()))
}

/// Parses `OSS <AccessKeyId>:<Signature>` (leading/trailing spaces tolerated).
/// Returns (access key id, signature). `None` when the header is not of that form.
pub fn parse_authorization(header: &str) -> Option<(String, String)> {
    let rest = header.trim().strip_prefix("OSS ")?;
    let (access_key_id, signature) = rest.trim_start().split_once(':')?;
    let (access_key_id, signature) = (access_key_id.trim(), signature.trim());
    if access_key_id.is_empty() || signature.is_empty() {
        return None;
    }
    Some((access_key_id.to_string(), signature.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::decode_query;
    use proptest::prelude::*;

    fn check(bucket: Option<&str>, key: Option<&str>, raw_query: &str, expected: &str) {
        let query = decode_query(raw_query);
        assert_eq!(
            canonical_resource(bucket, key, &query),
            expected,
            "query {raw_query:?}"
        );
    }

    #[test]
    fn canonical_resource_cases() {
        check(None, None, "", "/");
        check(Some("b"), None, "", "/b/");
        check(Some("b"), Some("dir/a b+c.txt"), "", "/b/dir/a b+c.txt");
        check(Some("b"), None, "uploads=", "/b/?uploads");
        check(
            Some("b"),
            None,
            "continuation-token=",
            "/b/?continuation-token",
        );
        check(
            Some("b"),
            None,
            "acl&resourceGroup",
            "/b/?acl&resourceGroup",
        );
        check(
            Some("b"),
            None,
            "resourceGroup&acl",
            "/b/?acl&resourceGroup",
        );
        check(
            Some("b"),
            None,
            "list-type=2&prefix=&delimiter=%2F&continuation-token=tok&max-keys=10&encoding-type=url",
            "/b/?continuation-token=tok",
        );
        check(
            Some("b"),
            Some("big.bin"),
            "uploadId=UPID&partNumber=1",
            "/b/big.bin?partNumber=1&uploadId=UPID",
        );
        check(Some("b"), None, "delete=&encoding-type=url", "/b/?delete");
        check(
            Some("b"),
            Some("k"),
            "security-token=a%2Bb",
            "/b/k?security-token=a+b",
        );
        check(Some("b"), Some("k"), "ACL", "/b/k");
    }

    #[test]
    fn canonical_oss_headers_cases() {
        let headers = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(canonical_oss_headers(&headers(&[("Date", "x")])), "");
        assert_eq!(
            canonical_oss_headers(&headers(&[
                ("X-OSS-Meta-B", " 2 "),
                ("x-oss-meta-a", "1"),
                ("x-oss-meta-b", "3"),
                ("Content-Type", "t"),
            ])),
            "x-oss-meta-a:1\nx-oss-meta-b:2,3\n"
        );
    }

    #[test]
    fn parse_authorization_cases() {
        let ok = |ak: &str, sig: &str| Some((ak.to_string(), sig.to_string()));
        assert_eq!(parse_authorization("OSS ak:sig="), ok("ak", "sig="));
        assert_eq!(parse_authorization("  OSS ak:sig=  "), ok("ak", "sig="));
        assert_eq!(parse_authorization("OSS ak:"), None);
        assert_eq!(parse_authorization("OSS :sig"), None);
        assert_eq!(parse_authorization("OSS aksig"), None);
        assert_eq!(parse_authorization("OSS4-HMAC-SHA256 Credential=x"), None);
        assert_eq!(parse_authorization("oss ak:sig"), None);
    }

    #[test]
    fn sub_resources_include_every_list() {
        for name in [
            "acl",
            "uploads",
            "response-content-type",
            "cloudboxes",
            "x-oss-process",
            "symlink",
            "security-token",
            "continuation-token",
            "objectInfo",
        ] {
            assert!(is_sub_resource(name), "{name}");
        }
        for name in [
            "prefix",
            "marker",
            "max-keys",
            "delimiter",
            "list-type",
            "encoding-type",
        ] {
            assert!(!is_sub_resource(name), "{name}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn parse_authorization_never_panics(s in any::<String>()) {
            let _ = parse_authorization(&s);
        }

        #[test]
        fn parse_authorization_round_trips(ak in "[A-Za-z0-9.]{1,30}", sig in "[A-Za-z0-9+/=]{1,40}") {
            let header = format!("OSS {ak}:{sig}");
            prop_assert_eq!(parse_authorization(&header), Some((ak, sig)));
        }

        #[test]
        fn canonical_resource_never_panics(key in any::<String>(), raw in any::<String>()) {
            let _ = canonical_resource(Some("b"), Some(&key), &decode_query(&raw));
        }
    }
}
