//! The parts of a tc-sts request the handlers read: method, path, the raw query (TC3 signs it
//! as sent), headers, and the parameters from the query and the body — a form body (legacy v1)
//! or a JSON body (TC3 POST), flattened the way Tencent's v1 flattens them (`Tags.0.Key`), so
//! every wire style is read through [`Incoming::param`].

use super::error::TcStsError;
use bytes::Bytes;
use serde_json::Value;
use stsgate_signing::encode::{decode_path, decode_query};

/// Largest body read at all: a TC3 POST (spec §1.1: 10 MB).
pub const MAX_BODY: usize = 10 * 1024 * 1024;
/// Largest legacy-v1 (form) POST body: 1 MB.
pub const MAX_V1_BODY: usize = 1024 * 1024;
/// Longest GET request target (path and query): 32 KB.
pub const MAX_GET: usize = 32 * 1024;

/// What the body carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body bytes (whatever the Content-Type said).
    Empty,
    /// `application/x-www-form-urlencoded`: the legacy v1 signature's POST.
    Form,
    /// `application/json`: the TC3 POST.
    Json,
}

/// One request, decoded.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub method: String,
    /// Percent-decoded path.
    pub path: String,
    /// The query string exactly as sent (TC3's canonical query).
    pub raw_query: String,
    /// Header names lowercase.
    pub headers: Vec<(String, String)>,
    /// Query parameters (form-decoded), then body parameters (form-decoded, or flattened JSON).
    pub params: Vec<(String, String)>,
    pub body_kind: BodyKind,
    pub body: Bytes,
}

impl Incoming {
    /// Decodes a request whose body was read (at most [`MAX_BODY`]); refuses targets and bodies
    /// over their wire style's limit and bodies of another type.
    pub fn new(parts: &http::request::Parts, body: Bytes) -> Result<Incoming, TcStsError> {
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let raw_query = parts.uri.query().unwrap_or("").to_string();
        let raw_path = parts.uri.path();
        if parts.method == http::Method::GET && raw_path.len() + raw_query.len() > MAX_GET {
            return Err(TcStsError::RequestTooLarge(format!(
                "A GET request may carry at most {MAX_GET} bytes of path and query; send large parameters in a POST body."
            )));
        }
        let (body_kind, body_params) = parse_body(header(&headers, "content-type"), &body)?;
        let mut params = decode_query(&raw_query);
        params.extend(body_params);
        Ok(Incoming {
            method: parts.method.as_str().to_string(),
            path: decode_path(raw_path).unwrap_or_else(|| raw_path.to_string()),
            raw_query,
            headers,
            params,
            body_kind,
            body,
        })
    }

    /// The first value of a header (name lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The first parameter named `name` (query first, then body).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter, absent when empty.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.param(name).filter(|v| !v.is_empty())
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The parameters of a body: a form body is decoded like a query string (at most
/// [`MAX_V1_BODY`]), a JSON body must be an object and is flattened; an empty body has none
/// whatever its type. Any other non-empty body is `UnsupportedProtocol`.
pub fn parse_body(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<(BodyKind, Vec<(String, String)>), TcStsError> {
    if body.is_empty() {
        return Ok((BodyKind::Empty, Vec::new()));
    }
    let mime = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/x-www-form-urlencoded" if body.len() > MAX_V1_BODY => {
            Err(TcStsError::RequestTooLarge(format!(
                "A form POST (legacy signature) may carry at most {MAX_V1_BODY} bytes; this one has {}.",
                body.len()
            )))
        }
        "application/x-www-form-urlencoded" => Ok((
            BodyKind::Form,
            decode_query(&String::from_utf8_lossy(body)),
        )),
        "application/json" => Ok((BodyKind::Json, parse_json(body)?)),
        _ => Err(TcStsError::UnsupportedProtocol(format!(
            "The request body must be application/json (TC3-HMAC-SHA256) or application/x-www-form-urlencoded (the legacy HmacSHA1/HmacSHA256 signature), not {mime:?}."
        ))),
    }
}

/// A JSON object body as flat parameters: strings as they are, numbers and booleans as their
/// JSON text, arrays as `Name.0`, `Name.1`, objects as `Name.Key`; `null` is absent.
pub fn parse_json(body: &[u8]) -> Result<Vec<(String, String)>, TcStsError> {
    let not_object = |why: String| {
        TcStsError::invalid(
            "InvalidParameter",
            format!("The request body must be a JSON object of parameters: {why}"),
        )
    };
    let value: Value = serde_json::from_slice(body).map_err(|e| not_object(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(not_object("it is not an object.".into()));
    };
    let mut out = Vec::with_capacity(map.len());
    for (name, value) in &map {
        flatten(name, value, &mut out);
    }
    Ok(out)
}

fn flatten(name: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Null => {}
        Value::String(s) => out.push((name.to_string(), s.clone())),
        Value::Number(_) | Value::Bool(_) => out.push((name.to_string(), value.to_string())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                flatten(&format!("{name}.{i}"), item, out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                flatten(&format!("{name}.{key}"), item, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn incoming(
        method: &str,
        uri: &str,
        content_type: Option<&str>,
        body: &str,
    ) -> Result<Incoming, TcStsError> {
        let mut builder = http::Request::builder().method(method).uri(uri);
        if let Some(ct) = content_type {
            builder = builder.header("Content-Type", ct);
        }
        let (parts, ()) = builder.body(()).unwrap().into_parts();
        Incoming::new(&parts, Bytes::from(body.to_string()))
    }

    fn check(body: Result<Incoming, TcStsError>, expected: Result<&[(&str, &str)], &str>) {
        let got = body.map(|req| req.params).map_err(|e| e.code().to_string());
        let expected = expected
            .map(|pairs| {
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<Vec<_>>()
            })
            .map_err(str::to_string);
        assert_eq!(got, expected);
    }

    #[test]
    fn params_from_query_form_and_json() {
        check(
            incoming(
                "POST",
                "/?A=1&P=%257B",
                Some("application/x-www-form-urlencoded"),
                "Name=cos-sts-python&Policy=%257B%2522a%2522",
            ),
            Ok(&[
                ("A", "1"),
                ("P", "%7B"),
                ("Name", "cos-sts-python"),
                ("Policy", "%7B%22a%22"),
            ]),
        );
        check(
            incoming(
                "POST",
                "/",
                Some("application/json"),
                r#"{"RoleArn":"qcs::cam::uin/1:roleName/a","DurationSeconds":900,"Tags":[{"Key":"k","Value":"v"}],"X":null,"B":true}"#,
            ),
            Ok(&[
                ("B", "true"),
                ("DurationSeconds", "900"),
                ("RoleArn", "qcs::cam::uin/1:roleName/a"),
                ("Tags.0.Key", "k"),
                ("Tags.0.Value", "v"),
            ]),
        );
        check(incoming("POST", "/", Some("text/plain"), ""), Ok(&[]));
        check(
            incoming("POST", "/", Some("application/json"), "[1]"),
            Err("InvalidParameter"),
        );
        check(
            incoming("POST", "/", Some("application/json"), "{"),
            Err("InvalidParameter"),
        );
        check(
            incoming("POST", "/", Some("text/plain"), "x"),
            Err("UnsupportedProtocol"),
        );
        check(incoming("POST", "/", None, "x"), Err("UnsupportedProtocol"));
    }

    #[test]
    fn size_limits() {
        let long = format!("/?A={}", "a".repeat(MAX_GET));
        check(
            incoming("GET", &long, None, ""),
            Err("RequestSizeLimitExceeded"),
        );
        assert!(incoming("POST", &long, None, "").is_ok(), "the GET limit");
        let form = format!("A={}", "a".repeat(MAX_V1_BODY));
        check(
            incoming(
                "POST",
                "/",
                Some("application/x-www-form-urlencoded"),
                &form,
            ),
            Err("RequestSizeLimitExceeded"),
        );
        let json = format!(r#"{{"A":"{}"}}"#, "a".repeat(MAX_V1_BODY));
        assert!(incoming("POST", "/", Some("application/json"), &json).is_ok());
    }

    #[test]
    fn the_raw_query_is_kept_as_sent() {
        let req = incoming("GET", "/?b=%2F&a=1", None, "").unwrap();
        assert_eq!(req.raw_query, "b=%2F&a=1");
        assert_eq!(req.param("b"), Some("/"));
        assert_eq!(req.non_empty("c"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn body_parsing_never_panics(ct in any::<Option<String>>(), body in any::<Vec<u8>>()) {
            let _ = parse_body(ct.as_deref(), &body);
            let _ = parse_json(&body);
        }

        #[test]
        fn json_like_bodies_never_panic(body in r#"[\[\]{}":,0-9a-z. -]{0,80}"#) {
            let _ = parse_json(body.as_bytes());
        }

        #[test]
        fn string_fields_round_trip(name in "[A-Za-z]{1,12}", value in any::<String>()) {
            let body = serde_json::json!({ name.clone(): value.clone() }).to_string();
            prop_assert_eq!(parse_json(body.as_bytes()).unwrap(), vec![(name, value)]);
        }
    }
}
