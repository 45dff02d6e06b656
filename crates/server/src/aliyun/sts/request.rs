//! The parts of an sts-face request the handlers read: method, path, headers, and the
//! parameters from the query string and a form body (POP RPC sends either or both).

use super::error::StsError;
use bytes::Bytes;
use stsgate_signing::encode::{decode_path, decode_query};

/// Largest request body accepted (form parameters; a session policy is at most 2 KiB).
pub const MAX_BODY: usize = 64 * 1024;

/// One request, decoded.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub method: String,
    /// Percent-decoded path.
    pub path: String,
    /// Header names lowercase.
    pub headers: Vec<(String, String)>,
    /// URL query parameters, decoded (`+` is a space).
    pub query: Vec<(String, String)>,
    /// `application/x-www-form-urlencoded` body parameters, decoded.
    pub form: Vec<(String, String)>,
    pub body: Bytes,
}

impl Incoming {
    /// Decodes method, path, headers, query and (form) body.
    pub fn new(parts: &http::request::Parts, body: Bytes) -> Result<Incoming, StsError> {
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
        let content_type = header(&headers, "content-type");
        let form = parse_form(content_type, &body)?;
        Ok(Incoming {
            method: parts.method.as_str().to_string(),
            path: decode_path(parts.uri.path()).unwrap_or_else(|| parts.uri.path().to_string()),
            query: decode_query(parts.uri.query().unwrap_or("")),
            form,
            headers,
            body,
        })
    }

    /// The first value of a header (name lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// A parameter from the query, else from the form body.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .chain(self.form.iter())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every parameter: query then form.
    pub fn params(&self) -> Vec<(String, String)> {
        self.query.iter().chain(self.form.iter()).cloned().collect()
    }

    /// The `HostId` of error bodies: the `Host` the client used.
    pub fn host_id(&self) -> String {
        self.header("host")
            .unwrap_or("sts.aliyuncs.com")
            .to_string()
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The parameters of a request body: a form body is decoded like a query string; a JSON body
/// carries none the sts face reads; an empty body has none whatever its type. Any other
/// non-empty body is `InvalidParameter.ContentType`, as STS answers.
pub fn parse_form(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Vec<(String, String)>, StsError> {
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let mime = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/x-www-form-urlencoded" => Ok(decode_query(&String::from_utf8_lossy(body))),
        "application/json" => Ok(Vec::new()),
        _ => Err(StsError::invalid(
            "ContentType",
            "The request body must be application/x-www-form-urlencoded or application/json.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn incoming(uri: &str, content_type: Option<&str>, body: &str) -> Result<Incoming, StsError> {
        let mut builder = http::Request::builder().method("POST").uri(uri);
        if let Some(ct) = content_type {
            builder = builder.header("Content-Type", ct);
        }
        let (parts, ()) = builder.body(()).unwrap().into_parts();
        Incoming::new(&parts, Bytes::from(body.to_string()))
    }

    #[test]
    fn params_come_from_query_then_form() {
        let req = incoming(
            "/?Action=AssumeRole&SignatureType=&Policy=a+b%2B",
            Some("application/x-www-form-urlencoded; charset=utf-8"),
            "RoleArn=acs%3Aram&Action=Other",
        )
        .unwrap();
        assert_eq!(req.param("Action"), Some("AssumeRole"));
        assert_eq!(req.param("SignatureType"), Some(""));
        assert_eq!(req.param("Policy"), Some("a b+"));
        assert_eq!(req.param("RoleArn"), Some("acs:ram"));
        assert_eq!(req.params().len(), 5);
        assert_eq!(req.path, "/");
    }

    #[test]
    fn body_types() {
        assert!(incoming("/", Some("application/json"), "{}")
            .unwrap()
            .form
            .is_empty());
        assert!(incoming("/", Some("text/plain"), "")
            .unwrap()
            .form
            .is_empty());
        assert_eq!(
            incoming("/", Some("text/plain"), "x").unwrap_err().code(),
            "InvalidParameter.ContentType"
        );
        assert_eq!(
            incoming("/", None, "x").unwrap_err().code(),
            "InvalidParameter.ContentType"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn form_parsing_never_panics(ct in any::<Option<String>>(), body in any::<Vec<u8>>()) {
            let _ = parse_form(ct.as_deref(), &body);
        }

        #[test]
        fn form_bodies_decode_like_queries(body in "[A-Za-z0-9%+=&._~-]{0,80}") {
            let form = parse_form(Some("application/x-www-form-urlencoded"), body.as_bytes()).unwrap();
            prop_assert_eq!(form, decode_query(&body));
        }
    }
}
