//! The small HTTP pieces both object faces share: the parts of a request a signature covers
//! ([`Signed`]), query lookups, and the plain answers (an XML 200, an empty answer, headers set
//! leniently, `Connection: close` after an error that left the body unread).

use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

/// The parts of a request authentication looks at.
pub struct Signed<'a> {
    pub method: &'a str,
    /// Every header as received, (lowercase name, value).
    pub headers: &'a [(String, String)],
    /// The decoded query, in order.
    pub query: &'a [(String, String)],
    /// The absolute-form target's authority, for a request without a Host header.
    pub authority: Option<&'a str>,
}

impl Signed<'_> {
    /// A header's value (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter's decoded value.
    pub fn param(&self, name: &str) -> Option<&str> {
        param(self.query, name)
    }
}

/// How long a slow client may hold a connection (`[timeouts]`), set once at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From a connection's first byte of a request head to its end.
    pub header_read: std::time::Duration,
    /// Between two chunks of a request body.
    pub body_idle: std::time::Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            header_read: std::time::Duration::from_secs(30),
            body_idle: std::time::Duration::from_secs(60),
        }
    }
}

static TIMEOUTS: std::sync::OnceLock<Timeouts> = std::sync::OnceLock::new();

/// Sets the process's timeouts (the first call wins; `serve` calls it before binding).
pub fn set_timeouts(t: Timeouts) {
    let _ = TIMEOUTS.set(t);
}

/// The process's timeouts (the defaults until [`set_timeouts`]).
pub fn timeouts() -> Timeouts {
    TIMEOUTS.get().copied().unwrap_or_default()
}

/// The start of the error a request body gives when it sent nothing for the body-idle timeout
/// (the faces answer it `RequestTimeout`).
pub const BODY_IDLE: &str = "the request body sent nothing for";

/// `body`, failing with [`BODY_IDLE`] when no bytes arrive for the `[timeouts] body_idle` (a
/// request without a body, by its headers, is left as it is).
pub fn idle_limited(body: Body, headers: &HeaderMap) -> Body {
    use futures::StreamExt as _;
    let has_body = headers.contains_key(http::header::TRANSFER_ENCODING)
        || headers
            .get(http::header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    if !has_body {
        return body;
    }
    let idle = timeouts().body_idle;
    let stream = futures::stream::unfold(Some(body.into_data_stream()), move |state| async move {
        let mut data = state?;
        match tokio::time::timeout(idle, data.next()).await {
            Ok(Some(Ok(bytes))) => Some((Ok(bytes), Some(data))),
            Ok(Some(Err(e))) => Some((Err(std::io::Error::other(e)), None)),
            Ok(None) => None,
            Err(_) => Some((
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("{BODY_IDLE} {} s", idle.as_secs()),
                )),
                None,
            )),
        }
    });
    Body::from_stream(stream)
}

/// A query parameter's decoded value; `None` when absent.
pub fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A whole-number query parameter from 0 to `max`: absent or empty gives `default`; a value that
/// is not one comes back as the error, for the dialect to name.
pub fn bounded(
    query: &[(String, String)],
    name: &str,
    default: usize,
    max: usize,
) -> Result<usize, String> {
    match param(query, name).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| v.to_string()),
    }
}

/// A multipart part number: 1 to 10000.
pub fn part_number(text: &str) -> Option<u32> {
    text.parse::<u32>()
        .ok()
        .filter(|n| (1..=10_000).contains(n))
}

/// The request's headers as (lowercase name, value) text, in order (lossy for non-UTF-8).
pub fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (k.as_str().to_string(), value)
        })
        .collect()
}

/// An XML 200 answer.
pub fn xml_response(body: String) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(http::header::CONTENT_TYPE, "application/xml")
        .header(http::header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
        .unwrap_or_default()
}

/// An empty answer with a status.
pub fn empty(status: StatusCode) -> Response {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_LENGTH, 0)
        .body(Body::empty())
        .unwrap_or_default()
}

/// Sets a header, skipping values that are not valid header text.
pub fn set(r: &mut Response, name: HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
}

/// An error may be answered before the request body was read; hyper then closes the
/// connection. Say so (`Connection: close`), or a keep-alive client (oss2, requests) reuses the
/// dead connection and its next request fails with "Remote end closed connection".
pub fn close_after_unread_body(request_had_body: bool, response: &mut Response) {
    let failed = response.status().is_client_error() || response.status().is_server_error();
    if request_had_body && failed {
        response
            .headers_mut()
            .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
}
