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
//! - [`xml`] — the XML writer and reader, and the S3-family bodies OSS and COS share.
//! - [`tagging`] — object tags: the tagging header, the `<Tagging>` body, the limits.
//! - [`dates`] — the date forms of the wire shapes, through `time`/`httpdate`.
//! - [`cors`] — CORS rule matching and the `Access-Control-*` header sets of every object face.
//! - [`form`] — browser form uploads: the fields before the file part, bounded, then the file.
//! - [`header_case`] — exact-case response header names (`ETag`) for case-sensitive clients.
//! - [`http`] — the request parts a signature covers and the plain answers both object faces
//!   build.
//! - [`objects`] — what every object face does with bodies and reads (streaming into the store,
//!   small bodies, Content-MD5, ranges, conditional requests), failing with a neutral
//!   `ObjectError` each dialect renders.
//! - [`store_client`] — the small signed object-store client of `stsgate check`/`cors` (each
//!   vendor folder's `client.rs` is its dialect); [`rest`] — its plumbing (addressing, bounded
//!   answers, transport failures); [`rest_xml`] — the XML of its answers (`<Error>`,
//!   `<CORSConfiguration>`), read without trusting it.
//! - [`check`], [`probe`], [`cors_admin`] — `stsgate check`'s provider lines and their order,
//!   and `stsgate cors`, whatever the cloud (each vendor folder's `check.rs`/`cors_admin.rs`
//!   supplies the calls and the fixes).

pub mod audit;
pub mod check;
pub mod cors;
pub mod cors_admin;
pub mod dates;
pub mod form;
pub mod header_case;
pub mod http;
pub mod issued;
pub mod objects;
pub mod probe;
pub mod provider;
pub mod resolve;
pub mod rest;
pub mod rest_xml;
pub mod scope;
pub mod store_client;
pub mod tagging;
pub mod upstream;
pub mod xml;
