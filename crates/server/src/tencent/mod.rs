//! The Tencent Cloud dialect.
//!
//! - [`sts`] — the tc-sts face: STS `2018-08-13` `GetFederationToken`, `AssumeRole` and
//!   `GetCallerIdentity` (TC3-HMAC-SHA256 and the legacy v1 signature).

pub mod sts;
