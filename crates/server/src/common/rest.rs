//! The plumbing of the small signed object-store client of `stsgate check` and `stsgate cors`
//! ([`super::store_client`]), whatever the cloud: a bucket's URL (path-style `{endpoint}/{bucket}/{key}` for an IP
//! address or `localhost`, else virtual-hosted `{scheme}://{bucket}.{host}/{key}`; what each
//! cloud signs differs), answers read up to [`MAX_BODY_BYTES`], transport failures named
//! (`Timeout`, `Unreachable`, `MalformedResponse`), preflights read. The answers' XML is
//! [`super::rest_xml`]. Nothing here panics on any answer.

use base64::Engine as _;
use std::net::IpAddr;
use stsgate_signing::encode::v4enc;

/// The most bytes of an answer body read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A parsed object-store endpoint (OSS, COS): both address a bucket alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `http` or `https`.
    pub scheme: String,
    /// Host and port as written (`127.0.0.1:8702`, `oss-cn-hangzhou.aliyuncs.com`).
    pub authority: String,
    /// True when the host is an IP address or `localhost`.
    pub path_style: bool,
}

impl Endpoint {
    /// Parses `scheme://host[:port]` (a trailing `/` is allowed; any other path is refused);
    /// errors name the config `key`.
    pub fn parse(endpoint: &str, key: &str) -> Result<Endpoint, String> {
        let url = reqwest::Url::parse(endpoint.trim())
            .map_err(|e| format!("{key} {endpoint:?} is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "{key} {endpoint:?}: the scheme must be http or https"
            ));
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() {
            return Err(format!(
                "{key} {endpoint:?}: give only scheme://host[:port], without a path"
            ));
        }
        let host_str = match url.host_str() {
            Some(host) if !host.is_empty() => host,
            _ => return Err(format!("{key} {endpoint:?} has no host")),
        };
        let bare = host_str.trim_start_matches('[').trim_end_matches(']');
        let path_style = bare.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok();
        let authority = match url.port() {
            Some(port) => format!("{host_str}:{port}"),
            None => host_str.to_string(),
        };
        Ok(Endpoint {
            scheme: url.scheme().to_string(),
            authority,
            path_style,
        })
    }

    /// The URL of `bucket`/`key` (`key` encoded as in V4's canonical URI, `/` kept), with the
    /// raw `query` (no `?`) appended when non-empty.
    pub fn url(&self, bucket: &str, key: Option<&str>, query: &str) -> String {
        let key = key.map(|k| v4enc(k, true)).unwrap_or_default();
        let mut url = match self.path_style {
            true => format!("{}://{}/{bucket}/{key}", self.scheme, self.authority),
            false => format!("{}://{bucket}.{}/{key}", self.scheme, self.authority),
        };
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        url
    }
}

/// One request to assemble.
#[derive(Debug, Clone)]
pub struct RequestSpec<'a> {
    pub method: &'static str,
    pub bucket: &'a str,
    pub key: Option<&'a str>,
    /// A sub-resource without value, e.g. `cors` (signed).
    pub sub_resource: Option<&'a str>,
    /// Extra headers (names in any case).
    pub headers: Vec<(String, String)>,
}

/// A request ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub method: &'static str,
    pub url: String,
    /// Every header set by the client (lowercase names), `authorization` last when signed.
    pub headers: Vec<(String, String)>,
    /// What the signature covers, as text (kept for `SignatureDoesNotMatch` answers): OSS's
    /// string-to-sign, COS's HttpString (its string-to-sign holds only that text's SHA-1).
    /// `None` when unsigned.
    pub string_to_sign: Option<String>,
}

/// An answer, its body read up to [`MAX_BODY_BYTES`].
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// Every header, names lowercase, values lossily decoded.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    /// The non-empty value of header `name`.
    pub fn header(&self, name: &str) -> Option<String> {
        let v = header(&self.headers, name);
        (!v.is_empty()).then(|| v.to_string())
    }

    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The value of header `name` (any case), `""` when absent.
pub fn header<'h>(headers: &'h [(String, String)], name: &str) -> &'h str {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map_or("", |(_, v)| v.as_str())
}

/// A request that got no usable answer: `code` is `Timeout`, `Unreachable` or
/// `MalformedResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: &'static str,
    pub message: String,
}

/// What `stsgate check` and `stsgate cors` read of a cloud's error answer.
pub trait CloudError {
    /// HTTP status (0: no usable answer).
    fn status(&self) -> u16;
    /// The cloud's code (`NoSuchBucket`, …) or a transport failure's.
    fn code(&self) -> &str;
    /// `403 AccessDenied: message (RequestId …)`, for one line.
    fn describe(&self) -> String;
    fn request_id(&self) -> Option<&str>;
}

/// `403 AccessDenied: message (RequestId R, …)`, the ids that are known in their order; a
/// transport failure (status 0) without the status.
pub fn describe(status: u16, code: &str, message: &str, ids: &[(&str, &Option<String>)]) -> String {
    let mut out = match status {
        0 => code.to_string(),
        status => format!("{status} {code}"),
    };
    if !message.is_empty() {
        out.push_str(": ");
        out.push_str(message);
    }
    let ids: Vec<String> = ids
        .iter()
        .filter_map(|(name, id)| id.as_ref().map(|id| format!("{name} {id}")))
        .collect();
    if !ids.is_empty() {
        out.push_str(&format!(" ({})", ids.join(", ")));
    }
    out
}

/// Sends `request` and reads its answer; `url` names it in messages.
pub async fn send(request: reqwest::RequestBuilder, url: &str) -> Result<Answer, Failure> {
    let mut response = request.send().await.map_err(|e| transport_failure(&e))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport_failure(&e))? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(Failure {
                code: "MalformedResponse",
                message: format!("the answer of {url} is larger than {MAX_BODY_BYTES} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// Names a `reqwest` failure, its sources joined with `: `.
pub fn transport_failure(e: &reqwest::Error) -> Failure {
    let code = if e.is_timeout() {
        "Timeout"
    } else if e.is_connect() || e.is_request() {
        "Unreachable"
    } else {
        "MalformedResponse"
    };
    Failure {
        code,
        message: crate::common::upstream::error_chain(e),
    }
}

/// `base64(MD5(body))`.
pub fn content_md5(body: &[u8]) -> String {
    use md5::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body))
}

/// A preflight's answer; `E` is the cloud's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preflight<E> {
    pub status: u16,
    /// `Access-Control-Allow-Origin` is the origin (or `*`) and the status is 2xx.
    pub allowed: bool,
    pub allow_origin: Option<String>,
    pub allow_methods: Option<String>,
    pub allow_headers: Option<String>,
    pub expose_headers: Option<String>,
    pub max_age: Option<String>,
    /// The error of a refused preflight (403 AccessForbidden, …).
    pub error: Option<E>,
}

impl<E> Preflight<E> {
    /// Reads the answer to a preflight from `origin`; `error` parses a refusal.
    pub fn read(answer: &Answer, origin: &str, error: impl FnOnce(&Answer) -> E) -> Preflight<E> {
        let allow_origin = answer.header("access-control-allow-origin");
        Preflight {
            status: answer.status,
            allowed: answer.ok()
                && allow_origin
                    .as_deref()
                    .is_some_and(|o| o == origin || o == "*"),
            allow_methods: answer.header("access-control-allow-methods"),
            allow_headers: answer.header("access-control-allow-headers"),
            expose_headers: answer.header("access-control-expose-headers"),
            max_age: answer.header("access-control-max-age"),
            allow_origin,
            error: (!answer.ok()).then(|| error(answer)),
        }
    }

    /// Whether `Access-Control-Expose-Headers` names `ETag` (browser multipart uploads read it).
    pub fn exposes_etag(&self) -> bool {
        self.expose_headers
            .as_deref()
            .unwrap_or("")
            .split(',')
            .any(|h| h.trim().eq_ignore_ascii_case("etag"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, headers: &[(&str, &str)]) -> Answer {
        Answer {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: Vec::new(),
        }
    }

    #[test]
    fn preflights_are_allowed_only_for_the_origin_and_2xx() {
        let check = |a: Answer, allowed: bool, etag: bool| {
            let p = Preflight::read(&a, "https://a", |a| a.status);
            assert_eq!((p.allowed, p.exposes_etag()), (allowed, etag), "{a:?}");
            assert_eq!(p.error.is_some(), !a.ok());
        };
        let origin = ("access-control-allow-origin", "https://a");
        let expose = ("access-control-expose-headers", "x-cos-request-id, ETag");
        check(answer(200, &[origin, expose]), true, true);
        check(
            answer(200, &[("access-control-allow-origin", "*")]),
            true,
            false,
        );
        check(
            answer(200, &[("access-control-allow-origin", "https://b")]),
            false,
            false,
        );
        check(answer(200, &[]), false, false);
        check(answer(403, &[origin]), false, false);
    }
}
