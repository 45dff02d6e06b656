//! The vendor-neutral core below every face. Nothing here imports a face (`aliyun/`,
//! `tencent/`, `api/`); the faces and the vendor folders build on it.
//!
//! - [`audit`] — every issuance and refusal in `DIR/audit.sqlite3` (one writer thread).
//! - [`provider`] — the provider seam ([`provider::Upstream`]), the registry and the
//!   vendor-neutral [`provider::UpstreamError`]; [`upstream`] — what every remote provider
//!   shares (keys from env/files, bounded attempts, retries, classification, counters).
//! - [`resolve`] — the one credential resolver: access key + token + now → principal, with
//!   revocations checked for every face.
//! - [`scope`] — grants: a caller's vendor-neutral scope (bucket, prefix template, action
//!   bundles, conditions), validated once from the config.
//! - [`issued`] — credentials handed out (what every format renders) and their answer cache.
//! - [`dates`] — the date forms of the wire shapes, through `time`/`httpdate`.
//! - [`rest`] — what the small signed object-store clients share (addressing, bounded answers,
//!   error and CORS XML).

pub mod audit;
pub mod dates;
pub mod issued;
pub mod provider;
pub mod resolve;
pub mod rest;
pub mod scope;
pub mod upstream;
