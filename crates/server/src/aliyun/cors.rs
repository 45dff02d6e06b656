//! CORS rule matching for the oss face (spec §7.5): rules in order, first match wins.

use stsgate_store::{CorsConfig, CorsRule};

/// The `Access-Control-*` (and `Vary`) headers to add for a matching rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsHeaders {
    pub headers: Vec<(&'static str, String)>,
}

/// The first rule matching `origin` (at most one `*` per pattern, anywhere), `method` (exact,
/// uppercase) and every header in `request_headers` (case-insensitive; `*` in a pattern is a wildcard).
pub fn find_rule<'a>(config: &'a CorsConfig, origin: &str, method: &str, request_headers: &[String]) -> Option<&'a CorsRule> {
    todo!()
}

/// Headers for a matched preflight: Allow-Origin (the request origin), Allow-Methods (rule methods
/// joined with ", "), Allow-Headers (the requested headers, joined with ", ", omitted if none),
/// Expose-Headers (joined with ", ", omitted if none), Max-Age (if set), and `Vary: Origin` when
/// `response_vary`.
pub fn preflight_headers(config: &CorsConfig, rule: &CorsRule, origin: &str, request_headers: &[String]) -> CorsHeaders {
    todo!()
}

/// Headers for an ordinary request with a matching rule: Allow-Origin, Allow-Methods, Expose-Headers,
/// Max-Age, optional Vary.
pub fn actual_headers(config: &CorsConfig, rule: &CorsRule, origin: &str) -> CorsHeaders {
    todo!()
}

/// Splits an `Access-Control-Request-Headers` value (`a, b,c`) into trimmed, lowercase names.
pub fn split_request_headers(value: &str) -> Vec<String> {
    todo!()
}
