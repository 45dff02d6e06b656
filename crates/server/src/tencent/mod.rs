//! The Tencent Cloud dialect: the cos face (COS XML API), the tc-sts face (STS `2018-08-13`),
//! their wire shapes, CAM policy rendering, formats, presigning and the provider client. Mirrors
//! `aliyun/` file for file.
//!
//! - [`sts`] — the tc-sts face: STS `2018-08-13` `GetFederationToken`, `AssumeRole` and
//!   `GetCallerIdentity` (TC3-HMAC-SHA256 and the legacy v1 signature).
//! - [`policy`] — a grant's scope as CAM; [`formats`] — the Tencent answer shapes;
//!   [`presign`] — COS URLs, forms and signatures; [`provider`] — `type = "tencent"`.

pub mod formats;
pub mod policy;
pub mod presign;
pub mod provider;
pub mod sts;
