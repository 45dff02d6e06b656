//! Integration tests of the oss, cos and sts faces: error paths through `oneshot`, and the real server on
//! `127.0.0.1:0`. Wire compatibility itself is proven by the real SDKs in `conformance/`.

mod api;
mod api_callers;
mod api_conditions;
mod api_limits;
mod api_revoke;
mod api_sign;
mod api_tencent;
mod api_tencent_upstream;
mod api_tickets;
mod api_upstream;
mod cloud_admin;
mod cloud_admin_tencent;
mod common;
mod console;
mod cos;
mod cos_ops;
mod errors;
mod server;
mod sts;
mod sts_keys;
mod tc_sts;
mod tc_sts_roles;
mod tidy;
mod tls;
