//! Alibaba POP/OpenAPI signatures used by STS: RPC V1 (HMAC-SHA1) and ACS3-HMAC-SHA256.

/// RPC V1 string-to-sign: `METHOD&%2F&pe(join("&", sorted(pe(k)=pe(v))))` over every
/// parameter except `Signature` (empty values kept as `k=`).
pub fn rpc_string_to_sign(method: &str, params: &[(String, String)]) -> String {
    todo!()
}

/// `base64(HMAC-SHA1(secret + "&", string_to_sign))`.
pub fn rpc_sign(secret: &str, string_to_sign: &str) -> String {
    todo!()
}

/// ACS3 canonical request (see module docs of the spec §1.2). `headers` are all request
/// headers; only `signed_headers` (lowercase) are canonicalized, in sorted order.
pub fn acs3_canonical_request(
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
    signed_headers: &[String],
    hashed_payload: &str,
) -> String {
    todo!()
}

/// `"ACS3-HMAC-SHA256\n" + hex(SHA256(canonical_request))`.
pub fn acs3_string_to_sign(canonical_request: &str) -> String {
    todo!()
}

/// Lowercase hex `HMAC-SHA256(secret, string_to_sign)`.
pub fn acs3_sign(secret: &str, string_to_sign: &str) -> String {
    todo!()
}

/// Parses `ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=a;b,Signature=hex`.
/// Returns (access key id, signed header names lowercase, signature).
pub fn acs3_parse_authorization(header: &str) -> Option<(String, Vec<String>, String)> {
    todo!()
}
