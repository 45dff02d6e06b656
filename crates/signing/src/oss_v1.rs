//! OSS signature V1: `Authorization: OSS <AccessKeyId>:<Signature>` and V1 presigned URLs.
//!
//! `Signature = base64(HMAC-SHA1(secret, StringToSign))`,
//! `StringToSign = VERB \n Content-MD5 \n Content-Type \n Date \n CanonicalizedOSSHeaders CanonicalizedResource`.
//! For presigned URLs the Date field holds the `Expires` value.

/// Sub-resource query parameter names that take part in the canonical resource (the union of
/// what oss2, alibabacloud-oss-v2 and the iOS SDK sign).
pub const SUB_RESOURCES: &[&str] = &[];

/// True when `name` is a sub-resource (see [`SUB_RESOURCES`]).
pub fn is_sub_resource(name: &str) -> bool {
    todo!()
}

/// `/` (no bucket) | `/<bucket>/` (no key) | `/<bucket>/<key>` (raw, undecoded-again key), then
/// `?` + sorted sub-resources as `k` (empty value) or `k=v` (decoded value) joined by `&`.
/// `query` is the decoded query (see [`crate::encode::decode_query`]); non-sub-resources are ignored.
pub fn canonical_resource(bucket: Option<&str>, key: Option<&str>, query: &[(String, String)]) -> String {
    todo!()
}

/// Every header whose lowercase name starts with `x-oss-`: lowercased name, trimmed value,
/// sorted by name, each `name:value\n`; repeated names joined with `,`. Empty if none.
/// `headers` holds all request headers as (name, value) in any case.
pub fn canonical_oss_headers(headers: &[(String, String)]) -> String {
    todo!()
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
    todo!()
}

/// `base64(HMAC-SHA1(secret, string_to_sign))`.
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    todo!()
}

/// Parses `OSS <AccessKeyId>:<Signature>` (leading/trailing spaces tolerated).
/// Returns (access key id, signature). `None` when the header is not of that form.
pub fn parse_authorization(header: &str) -> Option<(String, String)> {
    todo!()
}
