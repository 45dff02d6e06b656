//! The Alibaba Cloud dialect: the oss face (OSS REST), the sts face (STS) and their helpers.
//!
//! - [`endpoint`] — addressing and the closed `Op` enum with each operation's RAM action.
//! - [`auth`] — OSS V1/V4 signature verification (header and presigned forms).
//! - [`error`] — semantic errors rendered as OSS `<Error>` XML.
//! - [`oss`] — the router and the operation handlers.
//! - [`sts`] — the sts face: `AssumeRole` and `GetCallerIdentity` (POP RPC V1 and ACS3).
//! - [`xml`], [`cors`] — wire bodies and the CORS answers (rule matching is `common/cors.rs`).
//! - [`client`] — a small signed OSS client; [`check`] and [`cors_admin`] — `stsgate check`'s
//!   probes of an Alibaba provider and `stsgate cors` on its buckets.

pub mod auth;
pub mod check;
pub mod client;
pub mod cors;
pub mod cors_admin;
pub mod endpoint;
pub mod error;
pub mod formats;
pub mod oss;
pub mod policy;
pub mod presign;
pub mod provider;
pub mod sts;
pub mod xml;
