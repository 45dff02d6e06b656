//! The Tencent Cloud dialect: the cos face (COS XML API) and its helpers.
//!
//! - [`endpoint`] — addressing (virtual host, absolute form, `/{Bucket}/key`) and the closed
//!   `Op` enum with each operation's CAM action.
//! - [`auth`] — COS q-sign verification (header and presigned forms), token resolution.
//! - [`error`] — semantic errors rendered as COS `<Error>` XML.
//! - [`cos`] — the router and the operation handlers.
//! - [`xml`], [`cors`] — wire bodies and the CORS answers.

pub mod auth;
pub mod cors;
pub mod cos;
pub mod endpoint;
pub mod error;
pub mod xml;
