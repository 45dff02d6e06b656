//! stsgate server: the only crate that knows HTTP, wire shapes and status codes.
//!
//! - [`datadir`] — the data directory (master key, account, root key) created at first start.
//! - [`token`] — self-contained, AEAD-sealed security tokens of temporary credentials.
//! - [`common`] — the vendor-neutral core below every face (audit, the credential resolver,
//!   grant scopes, the provider seam).
//! - [`aliyun`] — the Alibaba Cloud dialect (the oss and sts faces).
//! - [`tencent`] — the Tencent Cloud dialect (the cos and tc-sts faces).
//! - [`api`] — the api face: callers trade a bearer JWT for credentials limited to a grant.
//! - [`revocations`] — revoked temporary credentials (`DIR/revocations.sqlite3`).
//! - [`provider`] — real clouds behind stsgate (`[provider.NAME]`, today Alibaba Cloud).
//! - [`iam`] — roles and signature nonces of the sts face (SQLite).
//! - [`config`] — `stsgate.toml`.
//! - [`serve`] — binds the faces and runs them until shutdown.
//! - [`secret`] — the redacting, zeroizing secret string.
//! - [`tls`] — https for every face (a configured certificate, or a self-signed one).

pub mod admin;
pub mod aliyun;
pub mod api;
pub mod cloud_admin;
pub mod common;
pub mod config;
pub mod creds;
pub mod datadir;
pub mod iam;
pub mod keys;
pub mod revocations;
pub mod secret;
pub mod serve;
pub mod signing_keys;
pub mod tencent;
pub mod tls;
pub mod token;
