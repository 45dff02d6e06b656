//! The Tencent Cloud dialect: the cos face (COS XML API), the tc-sts face (STS `2018-08-13`),
//! their wire shapes, CAM policy rendering, formats, presigning and the provider client. Mirrors
//! `aliyun/` file for file.
//!
//! - [`endpoint`] — addressing (virtual host, absolute form, `/{Bucket}/key`) and the closed
//!   `Op` enum with each operation's CAM action.
//! - [`auth`] — COS q-sign verification (header and presigned forms), token resolution.
//! - [`error`] — semantic errors rendered as COS `<Error>` XML.
//! - [`cos`] — the cos face: the router and the operation handlers.
//! - [`sts`] — the tc-sts face: STS `2018-08-13` `GetFederationToken`, `AssumeRole` and
//!   `GetCallerIdentity` (TC3-HMAC-SHA256 and the legacy v1 signature).
//! - [`xml`], [`cors`] — wire bodies and the CORS answers.
//! - [`policy`] — a grant's scope as CAM; [`formats`] — the Tencent answer shapes;
//!   [`presign`] — COS URLs, forms and signatures; [`provider`] — `type = "tencent"`.

pub mod auth;
pub mod check;
pub mod client;
pub mod cors;
pub mod cors_admin;
pub mod cos;
pub mod endpoint;
pub mod error;
pub mod formats;
pub mod policy;
pub mod presign;
pub mod provider;
pub mod sts;
pub mod xml;
