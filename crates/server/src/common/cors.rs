//! CORS rule matching for every object face (OSS spec §7.5; COS uses the same model): rules in
//! order, first match wins. The faces only render the answers (`aliyun/cors.rs`,
//! `tencent/cors.rs`).

use axum::response::Response;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use stsgate_store::{CorsConfig, CorsRule, Store, StoreError};

/// What a preflight (`OPTIONS`) asks: the origin, the method and the headers it wants to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preflight {
    pub origin: String,
    pub method: String,
    /// `Access-Control-Request-Headers`, split and lowercased.
    pub headers: Vec<String>,
}

/// Why a preflight is refused; each face says it in its own shape.
#[derive(Debug)]
pub enum PreflightRefusal {
    /// Occurs when the request has no `Origin` header.
    MissingOrigin,
    /// Occurs when the request has no `Access-Control-Request-Method` header.
    MissingMethod,
    /// Occurs when the request names no bucket, the bucket has no CORS rules, or none matches.
    NotAllowed,
    /// Occurs when the bucket cannot be read (e.g. it does not exist).
    Store(StoreError),
}

impl Preflight {
    /// Reads a preflight's `Origin`, `Access-Control-Request-Method` and
    /// `Access-Control-Request-Headers`.
    pub fn from_headers(headers: &HeaderMap) -> Result<Preflight, PreflightRefusal> {
        let text = |name: &str| {
            headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        let origin = text("origin").ok_or(PreflightRefusal::MissingOrigin)?;
        let method =
            text("access-control-request-method").ok_or(PreflightRefusal::MissingMethod)?;
        let headers = text("access-control-request-headers")
            .map(|v| split_request_headers(&v))
            .unwrap_or_default();
        Ok(Preflight {
            origin,
            method,
            headers,
        })
    }

    /// The headers of the answer when a rule of `config` allows the preflight.
    pub fn answer(&self, config: &CorsConfig) -> Option<CorsHeaders> {
        let rule = find_rule(config, &self.origin, &self.method, &self.headers)?;
        Some(preflight_headers(config, rule, &self.origin, &self.headers))
    }
}

/// Answers an `OPTIONS` preflight to `bucket` from its rules in `store` (unauthenticated): the
/// headers of a 200, or why not. The request's own headers are checked first.
pub fn preflight(
    store: &Store,
    bucket: Option<&str>,
    headers: &HeaderMap,
) -> Result<CorsHeaders, PreflightRefusal> {
    let asked = Preflight::from_headers(headers)?;
    let bucket = bucket.ok_or(PreflightRefusal::NotAllowed)?;
    let config = store
        .get_bucket_cors(bucket)
        .map_err(PreflightRefusal::Store)?
        .ok_or(PreflightRefusal::NotAllowed)?;
    asked.answer(&config).ok_or(PreflightRefusal::NotAllowed)
}

/// Adds the `Access-Control-*` headers of `bucket`'s matching rule to an ordinary answer (also
/// to errors, so a browser can read them); nothing when no rule matches.
pub fn add_actual(
    store: &Store,
    bucket: &str,
    origin: &str,
    method: &Method,
    response: &mut Response,
) {
    let Ok(Some(config)) = store.get_bucket_cors(bucket) else {
        return;
    };
    if let Some(answer) = actual(&config, origin, method.as_str()) {
        answer.apply(response);
    }
}

/// The headers for an ordinary (non-preflight) request from `origin` with `method`, when a rule
/// allows it.
pub fn actual(config: &CorsConfig, origin: &str, method: &str) -> Option<CorsHeaders> {
    let rule = find_rule(config, origin, method, &[])?;
    Some(actual_headers(config, rule, origin))
}

/// The `Access-Control-*` (and `Vary`) headers to add for a matching rule.
///
/// Header names are lowercase (usable with `HeaderName::from_static`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsHeaders {
    pub headers: Vec<(&'static str, String)>,
}

impl CorsHeaders {
    /// Sets the headers on `response` (values that are not header text are skipped).
    pub fn apply(self, response: &mut Response) {
        for (name, value) in self.headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                response.headers_mut().insert(n, v);
            }
        }
    }
}

/// The first rule matching `origin` (at most one `*` per pattern, anywhere), `method` (exact,
/// uppercase) and every header in `request_headers` (case-insensitive; `*` in a pattern is a wildcard).
///
/// Origins are compared case-sensitively (browsers send them lowercase, as rules are usually written).
pub fn find_rule<'a>(
    config: &'a CorsConfig,
    origin: &str,
    method: &str,
    request_headers: &[String],
) -> Option<&'a CorsRule> {
    config
        .rules
        .iter()
        .find(|rule| rule_matches(rule, origin, method, request_headers))
}

fn rule_matches(rule: &CorsRule, origin: &str, method: &str, request_headers: &[String]) -> bool {
    rule.allowed_origins
        .iter()
        .any(|pattern| wildcard_match(pattern, origin))
        && rule.allowed_methods.iter().any(|allowed| allowed == method)
        && request_headers
            .iter()
            .all(|header| header_allowed(rule, header))
}

fn header_allowed(rule: &CorsRule, header: &str) -> bool {
    let header = header.to_ascii_lowercase();
    rule.allowed_headers
        .iter()
        .any(|pattern| wildcard_match(&pattern.to_ascii_lowercase(), &header))
}

/// Whether `text` matches `pattern`, where each `*` stands for any run of characters (possibly none).
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut pieces = pattern.split('*');
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let mut middle: Vec<&str> = pieces.collect();
    let Some(last) = middle.pop() else {
        // No `*` at all: the pattern had to be the whole text.
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// Headers for a matched preflight: Allow-Origin (the request origin), Allow-Methods (rule methods
/// joined with ", "), Allow-Headers (the requested headers, joined with ", ", omitted if none),
/// Expose-Headers (joined with ", ", omitted if none), Max-Age (if set), and `Vary: Origin` when
/// `response_vary`.
pub fn preflight_headers(
    config: &CorsConfig,
    rule: &CorsRule,
    origin: &str,
    request_headers: &[String],
) -> CorsHeaders {
    let mut headers = vec![
        ("access-control-allow-origin", origin.to_owned()),
        (
            "access-control-allow-methods",
            rule.allowed_methods.join(", "),
        ),
    ];
    if !request_headers.is_empty() {
        headers.push(("access-control-allow-headers", request_headers.join(", ")));
    }
    push_common(&mut headers, config, rule);
    CorsHeaders { headers }
}

/// Headers for an ordinary request with a matching rule: Allow-Origin, Allow-Methods, Expose-Headers,
/// Max-Age, optional Vary.
pub fn actual_headers(config: &CorsConfig, rule: &CorsRule, origin: &str) -> CorsHeaders {
    let mut headers = vec![
        ("access-control-allow-origin", origin.to_owned()),
        (
            "access-control-allow-methods",
            rule.allowed_methods.join(", "),
        ),
    ];
    push_common(&mut headers, config, rule);
    CorsHeaders { headers }
}

/// Expose-Headers (if any), Max-Age (if set) and `Vary: Origin` (if configured).
fn push_common(headers: &mut Vec<(&'static str, String)>, config: &CorsConfig, rule: &CorsRule) {
    if !rule.expose_headers.is_empty() {
        headers.push((
            "access-control-expose-headers",
            rule.expose_headers.join(", "),
        ));
    }
    if let Some(max_age) = rule.max_age_seconds {
        headers.push(("access-control-max-age", max_age.to_string()));
    }
    if config.response_vary {
        headers.push(("vary", "Origin".to_owned()));
    }
}

/// Splits an `Access-Control-Request-Headers` value (`a, b,c`) into trimmed, lowercase names.
/// Empty names (`a,,b`, trailing commas) are dropped.
pub fn split_request_headers(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

#[cfg(test)]
mod tests;
