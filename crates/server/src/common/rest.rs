//! What the small signed REST clients of `stsgate check` and `stsgate cors` share, whatever the
//! cloud (`aliyun/client.rs` for OSS, `tencent/client.rs` for COS): a bucket's URL (path-style
//! `{endpoint}/{bucket}/{key}` for an IP address or `localhost`, else virtual-hosted
//! `{scheme}://{bucket}.{host}/{key}`; what each cloud signs differs), sending one request and
//! reading its answer up to [`MAX_BODY_BYTES`], naming a transport failure (`Timeout`,
//! `Unreachable`, `MalformedResponse`), reading a preflight, and the answers' XML: a bounded
//! tree, the children of an `<Error>`, and a lenient `<CORSConfiguration>` (OSS and COS write
//! the same one). Nothing here panics on any answer.

use base64::Engine as _;
use quick_xml::events::Event;
use quick_xml::Reader;
use std::net::IpAddr;
use stsgate_signing::encode::v4enc;
use stsgate_store::{CorsConfig, CorsRule};

/// The most bytes of an answer body read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The deepest XML nesting the parsers accept.
const MAX_DEPTH: usize = 8;

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

/// The headers of a browser's preflight: `Origin`, `Access-Control-Request-Method` and, when
/// any, `Access-Control-Request-Headers`.
pub fn preflight_headers(
    origin: &str,
    method: &str,
    request_headers: &[&str],
) -> Vec<(String, String)> {
    let mut headers = vec![
        ("origin".to_string(), origin.to_string()),
        (
            "access-control-request-method".to_string(),
            method.to_string(),
        ),
    ];
    if !request_headers.is_empty() {
        headers.push((
            "access-control-request-headers".to_string(),
            request_headers.join(","),
        ));
    }
    headers
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

/// The base64 `<Error>` document of a header such as OSS's `x-oss-err` (HEAD answers).
pub fn base64_header(headers: &[(String, String)], name: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(header(headers, name).trim())
        .ok()
}

/// An element of a small XML document.
#[derive(Debug, Default, Clone)]
struct Element {
    name: String,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn all<'e>(&'e self, name: &'e str) -> impl Iterator<Item = &'e Element> + 'e {
        self.children.iter().filter(move |c| c.name == name)
    }
    fn first(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// Parses a whole document into a tree (at most [`MAX_DEPTH`] levels); `None` if it is not
/// well-formed XML with one root.
fn parse_tree(body: &[u8]) -> Option<Element> {
    let mut reader = Reader::from_reader(body);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let element = |name: &[u8]| Element {
        name: String::from_utf8_lossy(name).into_owned(),
        ..Element::default()
    };
    loop {
        match reader.read_event().ok()? {
            Event::Start(start) => {
                if root.is_some() || stack.len() >= MAX_DEPTH {
                    return None;
                }
                stack.push(element(start.local_name().as_ref()));
            }
            Event::Empty(start) => {
                let e = element(start.local_name().as_ref());
                match stack.last_mut() {
                    Some(parent) => parent.children.push(e),
                    None if root.is_none() => root = Some(e),
                    None => return None,
                }
            }
            Event::End(_) => {
                let done = stack.pop()?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None if root.is_none() => root = Some(done),
                    None => return None,
                }
            }
            Event::Text(text) => {
                let text = text.unescape().ok()?;
                match stack.last_mut() {
                    Some(open) => open.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return None,
                }
            }
            Event::CData(cdata) => {
                let text = cdata.decode().ok()?;
                stack.last_mut()?.text.push_str(&text);
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return None;
    }
    root
}

/// The child elements of an `<Error>` document as (name, text); `None` if `body` is not one.
pub fn parse_error_xml(body: &[u8]) -> Option<Vec<(String, String)>> {
    let root = parse_tree(body)?;
    if root.name != "Error" {
        return None;
    }
    Some(
        root.children
            .into_iter()
            .map(|c| (c.name, c.text))
            .collect(),
    )
}

/// The trimmed, non-empty text of the child `name` among `fields` (from [`parse_error_xml`]).
pub fn field(fields: Option<&[(String, String)]>, name: &str) -> Option<String> {
    fields?
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Parses a `<CORSConfiguration>` answer (GetBucketCors), leniently: values are trimmed, empty
/// ones dropped, unknown elements (COS's `<ID>`) ignored. Errors say what is wrong.
pub fn parse_cors(body: &[u8]) -> Result<CorsConfig, String> {
    let root = parse_tree(body).ok_or("the answer is not well-formed XML")?;
    if root.name != "CORSConfiguration" {
        return Err(format!(
            "expected <CORSConfiguration>, got <{}>",
            root.name.chars().take(64).collect::<String>()
        ));
    }
    let values = |rule: &Element, name: &str| -> Vec<String> {
        rule.all(name)
            .map(|e| e.text.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    };
    let mut rules = Vec::new();
    for rule in root.all("CORSRule") {
        let max_age_seconds = match rule.first("MaxAgeSeconds") {
            None => None,
            Some(e) if e.text.trim().is_empty() => None,
            Some(e) => Some(e.text.trim().parse::<u64>().map_err(|_| {
                format!(
                    "MaxAgeSeconds {:?} is not a number",
                    e.text.chars().take(32).collect::<String>()
                )
            })?),
        };
        rules.push(CorsRule {
            allowed_origins: values(rule, "AllowedOrigin"),
            allowed_methods: values(rule, "AllowedMethod"),
            allowed_headers: values(rule, "AllowedHeader"),
            expose_headers: values(rule, "ExposeHeader"),
            max_age_seconds,
        });
    }
    let response_vary = root
        .first("ResponseVary")
        .is_some_and(|e| e.text.trim().eq_ignore_ascii_case("true"));
    Ok(CorsConfig {
        rules,
        response_vary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
    fn cors_answers_are_parsed_leniently() {
        let body = b"<?xml version=\"1.0\"?>\n<CORSConfiguration>\n  <CORSRule>\n    <ID>1</ID>\n    <AllowedOrigin> * </AllowedOrigin>\n    <AllowedMethod>GET</AllowedMethod>\n    <AllowedHeader></AllowedHeader>\n    <Unknown><Deep>x</Deep></Unknown>\n  </CORSRule>\n</CORSConfiguration>";
        let parsed = parse_cors(body).unwrap();
        assert_eq!(parsed.rules.len(), 1);
        assert_eq!(parsed.rules[0].allowed_origins, ["*"]);
        assert!(parsed.rules[0].allowed_headers.is_empty());
        assert!(!parsed.response_vary);
        assert!(parse_cors(b"<Error><Code>x</Code></Error>").is_err());
        assert!(parse_cors(b"<CORSConfiguration><CORSRule><MaxAgeSeconds>-1</MaxAgeSeconds></CORSRule></CORSConfiguration>").is_err());
        assert!(parse_cors(b"<CORSConfiguration>").is_err());
        assert!(parse_cors(b"<a/><b/>").is_err());
        assert!(parse_cors(b"").is_err());
    }

    #[test]
    fn error_fields_are_trimmed_and_empty_ones_absent() {
        let fields = parse_error_xml(b"<Error><Code> NoSuchKey </Code><Message/></Error>");
        assert_eq!(
            field(fields.as_deref(), "Code").as_deref(),
            Some("NoSuchKey")
        );
        assert_eq!(field(fields.as_deref(), "Message"), None);
        assert_eq!(field(None, "Code"), None);
        assert_eq!(parse_error_xml(b"<CORSConfiguration/>"), None);
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
        assert_eq!(
            preflight_headers("https://a", "PUT", &["a", "b"])[2],
            (
                "access-control-request-headers".to_string(),
                "a,b".to_string()
            )
        );
        assert_eq!(preflight_headers("https://a", "PUT", &[]).len(), 2);
    }

    proptest! {
        #[test]
        fn parsers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_cors(&body);
            let _ = parse_error_xml(&body);
            let text = String::from_utf8_lossy(&body).into_owned();
            let _ = base64_header(&[("x-oss-err".into(), text)], "x-oss-err");
        }

        #[test]
        fn xmlish_inputs_never_panic(body in "(<[A-Za-z]{1,12}>|</[A-Za-z]{1,12}>|<[A-Za-z]{1,6}/>|[a-z &;<>]{0,6}|<!\\[CDATA\\[x\\]\\]>){0,40}") {
            let _ = parse_cors(body.as_bytes());
            let _ = parse_error_xml(body.as_bytes());
        }

        #[test]
        fn nested_cors_tags_never_panic(depth in 0usize..40) {
            let body = format!("{}{}", "<CORSRule>".repeat(depth), "</CORSRule>".repeat(depth));
            let _ = parse_cors(body.as_bytes());
        }
    }
}
