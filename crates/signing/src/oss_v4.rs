//! OSS signature V4 (`OSS4-HMAC-SHA256`), header form and presigned-URL form.

/// The scope of a V4 signature: `YYYYMMDD/region/product/aliyun_v4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key_id: String,
    /// `YYYYMMDD`
    pub date: String,
    pub region: String,
    /// `oss` (or `oss-cloudbox`)
    pub product: String,
}

impl Credential {
    /// Parses `AK/YYYYMMDD/region/product/aliyun_v4_request`. The access key id may not contain `/`.
    pub fn parse(s: &str) -> Option<Credential> {
        todo!()
    }
    /// `YYYYMMDD/region/product/aliyun_v4_request`
    pub fn scope(&self) -> String {
        todo!()
    }
}

/// A parsed `Authorization: OSS4-HMAC-SHA256 Credential=…,AdditionalHeaders=…,Signature=…` header.
/// Pairs are separated by `,` with optional spaces, in any order; AdditionalHeaders is optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub credential: Credential,
    /// Lowercased names, as listed (`;`-separated in the header).
    pub additional_headers: Vec<String>,
    pub signature: String,
}

impl Authorization {
    /// `None` if the header does not start with `OSS4-HMAC-SHA256 ` or lacks Credential/Signature.
    pub fn parse(header: &str) -> Option<Authorization> {
        todo!()
    }
}

/// The canonical request and the effective AdditionalHeaders list.
///
/// - CanonicalURI: `v4enc("/" + bucket + "/" + key, keep_slash)`, `/bucket/` with no key, `/` with no bucket.
/// - CanonicalQuery: every (decoded) query pair, `v4enc(name)`/`v4enc(value)` (slash encoded),
///   sorted by encoded name then value, `k=v` or `k` when the value is empty, joined by `&`.
///   The caller removes `x-oss-signature` for the URL form.
/// - CanonicalHeaders: headers whose lowercase name starts with `x-oss-`, plus `content-type` and
///   `content-md5` when present, plus the effective additional headers; `name:trim(value)\n`, sorted.
/// - Effective AdditionalHeaders: the lowercased, sorted, deduplicated requested names, dropping
///   names that are `x-oss-*`, `content-type`, `content-md5` or absent from `headers`.
/// - HashedPayload: `hashed_payload` (callers pass `x-oss-content-sha256` or `UNSIGNED-PAYLOAD`).
///
/// Returns (canonical request, effective additional headers).
pub fn canonical_request(
    method: &str,
    bucket: Option<&str>,
    key: Option<&str>,
    query: &[(String, String)],
    headers: &[(String, String)],
    additional_headers: &[String],
    hashed_payload: &str,
) -> (String, Vec<String>) {
    todo!()
}

/// `"OSS4-HMAC-SHA256\n" + x_oss_date + "\n" + scope + "\n" + hex(SHA256(canonical_request))`.
pub fn string_to_sign(x_oss_date: &str, scope: &str, canonical_request: &str) -> String {
    todo!()
}

/// `HMAC(HMAC(HMAC(HMAC("aliyun_v4" + secret, date), region), product), "aliyun_v4_request")`.
pub fn signing_key(secret: &str, date: &str, region: &str, product: &str) -> [u8; 32] {
    todo!()
}

/// Lowercase hex `HMAC-SHA256(signing_key, string_to_sign)`.
pub fn signature(signing_key: &[u8; 32], string_to_sign: &str) -> String {
    todo!()
}
