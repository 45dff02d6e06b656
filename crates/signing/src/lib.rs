//! Pure signature maths for the clouds' request-signing dialects (Alibaba, Tencent).
//!
//! No I/O and no clock: every function that depends on time takes it as a parameter.
//! One module per scheme; each exposes its intermediate steps (canonical request,
//! string-to-sign, signature) so tests can check them one by one against vendor vectors.
//!
//! - [`encode`]: the percent-encodings the schemes share, and lenient query/path decoding.
//! - [`oss_v1`]: OSS header signature `OSS ak:sig` and the V1 presigned URL.
//! - [`oss_v4`]: OSS `OSS4-HMAC-SHA256`, header and URL forms.
//! - [`post`]: PostObject policy documents (parse, check) and their V1/V4 signatures.
//! - [`pop`]: Alibaba POP/OpenAPI signatures used by STS (RPC HMAC-SHA1, ACS3-HMAC-SHA256).
//! - [`tc3`]: Tencent Cloud API 3.0 `TC3-HMAC-SHA256` (STS and other `*.tencentcloudapi.com`).
//! - [`tc_v1`]: the legacy Tencent Cloud API v1 form signature (HmacSHA1/HmacSHA256) that the
//!   qcloud-cos-sts SDKs use.
//! - [`cos`]: Tencent COS request signature (q-sign), header and presigned-URL forms, verify and sign.
//! - [`cos_post`]: COS POST Object form signature and policy rules, on the [`post`] grammar.
//! - [`ct_eq`]: the one constant-time comparison every verifier uses.

pub mod cos;
pub mod cos_post;
pub mod encode;
pub mod oss_v1;
pub mod oss_v4;
pub mod pop;
pub mod post;
pub mod tc3;
pub mod tc_v1;

mod header;
mod mac;

/// Compares two signatures in constant time (for equal lengths). Every signature check in
/// stsgate goes through this function.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
