//! A small signed COS REST client for `stsgate check` and `stsgate cors`: HEAD a bucket or an
//! object, GET/PUT/DELETE `?cors`, and unsigned CORS preflights.
//!
//! Addressing is `common::rest::Endpoint`'s; what is signed follows COS: the host the request
//! goes to (`<bucket-appid>.cos.<region>.myqcloud.com` for a named endpoint; for an IP or
//! `localhost` endpoint the `{Bucket}` path form `http://IP:PORT/<bucket>/<key>`, whose signed
//! host is `IP:PORT` and whose signed path is `/<key>` without the bucket, as stsgate's cos
//! face and cos-js-sdk-v5 have it), the sub-resource, and `content-type`/`content-md5`. A
//! security token rides along unsigned as `x-cos-security-token`. A request is assembled by
//! the pure [`prepare`] (clock as a parameter), then sent with the provider's HTTP client (its
//! `ca_file` roots), each request bounded by the provider's timeout. Answers are read up to
//! `common::rest::MAX_BODY_BYTES`; whatever comes back is a [`CosError`] or a parsed value.

use crate::common::rest::{self, header, Answer, CloudError, Endpoint, Failure};
use crate::common::rest::{Prepared, RequestSpec};
use crate::common::rest_xml;
use crate::common::store_client::{Dialect, StoreClient};
use crate::secret::Secret;
use quick_xml::escape::escape;
use std::time::Duration;
use stsgate_signing::cos;
use stsgate_store::CorsConfig;
use time::OffsetDateTime;

/// How long a request's signature is valid, in seconds.
const SIGN_SECONDS: i64 = 600;

/// What signs: a CAM user's SecretId/SecretKey, or temporary credentials with their token.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub secret_id: String,
    pub secret_key: Secret,
    /// Sent as `x-cos-security-token` when present (redacted in `Debug`).
    pub token: Option<Secret>,
}

/// Assembles (and, with `signer`, signs) a request at `now` (Unix seconds).
pub fn prepare(
    endpoint: &Endpoint,
    signer: Option<&Credentials>,
    spec: &RequestSpec,
    now: i64,
) -> Prepared {
    let url = endpoint.url(spec.bucket, spec.key, spec.sub_resource.unwrap_or(""));
    let mut headers: Vec<(String, String)> = spec
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .collect();
    let Some(credentials) = signer else {
        return Prepared {
            method: spec.method,
            url,
            headers,
            string_to_sign: None,
        };
    };
    let host = match endpoint.path_style {
        true => endpoint.authority.clone(),
        false => format!("{}.{}", spec.bucket, endpoint.authority),
    };
    let mut signed = vec![("host".to_string(), host)];
    signed.extend(
        headers
            .iter()
            .filter(|(n, _)| n == "content-type" || n == "content-md5")
            .cloned(),
    );
    let params: Vec<(String, String)> = spec
        .sub_resource
        .map(|s| vec![(s.to_string(), String::new())])
        .unwrap_or_default();
    let path = format!("/{}", spec.key.unwrap_or(""));
    let key_time = format!("{now};{}", now.saturating_add(SIGN_SECONDS));
    let authorization = cos::sign(
        credentials.secret_key.expose(),
        &credentials.secret_id,
        &key_time,
        spec.method,
        &path,
        &params,
        &signed,
    );
    let http_string = cos::http_string(
        spec.method,
        &path,
        &cos::sorted_pairs(&params),
        &cos::sorted_pairs(&signed),
    );
    if let Some(token) = &credentials.token {
        headers.push(("x-cos-security-token".into(), token.expose().to_string()));
    }
    headers.push(("authorization".into(), authorization.to_string()));
    Prepared {
        method: spec.method,
        url,
        headers,
        string_to_sign: Some(http_string),
    }
}

/// Why a COS call failed: the service's `<Error>` (or, for HEAD, its headers), or a transport
/// failure (`status` 0, `code` `Timeout` / `Unreachable` / `MalformedResponse`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct CosError {
    /// HTTP status (0: no usable answer).
    pub status: u16,
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    pub trace_id: Option<String>,
    /// The `<StringToSign>` COS computed (SignatureDoesNotMatch).
    pub server_string_to_sign: Option<String>,
    /// The HttpString this client signed.
    pub http_string: Option<String>,
}

impl CosError {
    /// A request without a usable answer (`Timeout`, `Unreachable`, `MalformedResponse`).
    pub fn transport(code: &str, message: String) -> CosError {
        CosError {
            status: 0,
            code: code.into(),
            message,
            request_id: None,
            trace_id: None,
            server_string_to_sign: None,
            http_string: None,
        }
    }

    /// `403 AccessDenied: message (RequestId R, TraceId T)`; transport failures without the
    /// status.
    pub fn describe(&self) -> String {
        let ids = [("RequestId", &self.request_id), ("TraceId", &self.trace_id)];
        rest::describe(self.status, &self.code, &self.message, &ids)
    }
}

impl CloudError for CosError {
    fn status(&self) -> u16 {
        self.status
    }
    fn code(&self) -> &str {
        &self.code
    }
    fn describe(&self) -> String {
        CosError::describe(self)
    }
    fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}

/// Builds the error of a non-2xx answer: the `<Error>` body (`Code`, `Message`, `RequestId`,
/// `TraceId`), else `x-cos-error-code` (COS answers HEAD without a body), else `NoSuchResource`
/// for a 404 (as cos-python-sdk-v5 names it) or the status; ids also from `x-cos-request-id`
/// and `x-cos-trace-id`.
pub fn parse_error(status: u16, headers: &[(String, String)], body: &[u8]) -> CosError {
    let fields = rest_xml::parse_error_xml(body);
    let field = |name: &str| rest_xml::field(fields.as_deref(), name);
    let from_header = |name: &str| {
        let v = header(headers, name).trim();
        (!v.is_empty()).then(|| v.chars().take(256).collect::<String>())
    };
    let code = field("Code")
        .or_else(|| from_header("x-cos-error-code"))
        .unwrap_or_else(|| match status {
            404 => "NoSuchResource".to_string(),
            _ => format!("HttpStatus{status}"),
        });
    CosError {
        status,
        code,
        message: field("Message").unwrap_or_default(),
        request_id: field("RequestId").or_else(|| from_header("x-cos-request-id")),
        trace_id: field("TraceId").or_else(|| from_header("x-cos-trace-id")),
        server_string_to_sign: field("StringToSign"),
        http_string: None,
    }
}

/// The `<CORSConfiguration>` PutBucketCors sends: per rule an `<ID>`, then the origins,
/// methods, headers, expose headers and `<MaxAgeSeconds>`, values XML-escaped.
pub fn render_cors(config: &CorsConfig) -> String {
    fn leaf(out: &mut String, name: &str, value: &str) {
        out.push_str(&format!("<{name}>{}</{name}>", escape(value)));
    }
    let mut out = String::from("<CORSConfiguration>");
    for (i, rule) in config.rules.iter().enumerate() {
        out.push_str("<CORSRule>");
        leaf(&mut out, "ID", &format!("stsgate-{}", i + 1));
        let lists = [
            ("AllowedOrigin", &rule.allowed_origins),
            ("AllowedMethod", &rule.allowed_methods),
            ("AllowedHeader", &rule.allowed_headers),
            ("ExposeHeader", &rule.expose_headers),
        ];
        for (name, values) in lists {
            for value in values {
                leaf(&mut out, name, value);
            }
        }
        if let Some(max_age) = rule.max_age_seconds {
            leaf(&mut out, "MaxAgeSeconds", &max_age.to_string());
        }
        out.push_str("</CORSRule>");
    }
    out.push_str("</CORSConfiguration>");
    out
}

/// A preflight's answer.
pub type Preflight = rest::Preflight<CosError>;

/// COS: q-sign with a CAM user's key or temporary credentials.
#[derive(Debug, Clone)]
pub struct Cos {
    signer: Option<Credentials>,
}

impl Dialect for Cos {
    type Error = CosError;
    const REQUEST_ID: &'static str = "x-cos-request-id";

    fn prepare(
        &self,
        endpoint: &Endpoint,
        spec: &RequestSpec,
        signed: bool,
        now: OffsetDateTime,
    ) -> Prepared {
        let signer = self.signer.as_ref().filter(|_| signed);
        prepare(endpoint, signer, spec, now.unix_timestamp())
    }
    fn error(&self, answer: &Answer) -> CosError {
        parse_error(answer.status, &answer.headers, &answer.body)
    }
    fn failure(&self, failure: Failure, answer: Option<&Answer>) -> CosError {
        CosError {
            status: answer.map_or(0, |a| a.status),
            request_id: answer.and_then(|a| a.header(Self::REQUEST_ID)),
            ..CosError::transport(failure.code, failure.message)
        }
    }
    fn keep_signed(error: &mut CosError, signed: Option<String>) {
        error.http_string = signed;
    }
    fn render_cors(config: &CorsConfig) -> String {
        render_cors(config)
    }
}

/// The client: one endpoint, optionally signing.
pub type CosClient = StoreClient<Cos>;

impl CosClient {
    /// An unsigned client of `endpoint` (`scheme://host[:port]`) over `http` (the provider's
    /// client); `timeout` bounds each request from connecting to the last body byte.
    pub fn new(
        http: reqwest::Client,
        endpoint: &str,
        timeout: Duration,
    ) -> Result<CosClient, String> {
        let endpoint = Endpoint::parse(endpoint, "cos_endpoint")?;
        Ok(StoreClient::with(
            http,
            endpoint,
            Some(timeout),
            Cos { signer: None },
        ))
    }

    /// The same client, signing with `credentials`.
    pub fn signed(&self, credentials: Credentials) -> CosClient {
        self.speaking(Cos {
            signer: Some(credentials),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use stsgate_signing::cos::Authorization;
    use stsgate_store::CorsRule;

    fn creds(token: Option<&str>) -> Credentials {
        Credentials {
            secret_id: "AKIDexample".into(),
            secret_key: Secret::new("secretkey"),
            token: token.map(Secret::new),
        }
    }

    fn endpoint(s: &str) -> Endpoint {
        Endpoint::parse(s, "cos_endpoint").unwrap()
    }

    fn cors_put() -> RequestSpec<'static> {
        RequestSpec {
            method: "PUT",
            bucket: "app-1250000000",
            key: None,
            sub_resource: Some("cors"),
            headers: vec![
                ("Content-Type".into(), "application/xml".into()),
                ("Content-MD5".into(), "1B2M2Y8AsgTpgAmY7PhCfg==".into()),
            ],
        }
    }

    /// Checks `p`'s signature as a COS server would: the listed params and headers taken from
    /// the request, the host from where it was sent.
    fn verify(p: &Prepared, host: &str, path: &str, params: &[(&str, &str)]) -> Authorization {
        let (_, auth) = p.headers.last().unwrap();
        let auth = Authorization::parse(auth).unwrap();
        let param = |name: &str| {
            let found = params.iter().find(|(n, _)| *n == name);
            found.map(|(_, v)| v.to_string())
        };
        let header = |name: &str| match name {
            "host" => Some(host.to_string()),
            _ => Some(rest::header(&p.headers, name).to_string()).filter(|v| !v.is_empty()),
        };
        let http = auth.http_string(p.method, path, param, header).unwrap();
        assert_eq!(Some(&http), p.string_to_sign.as_ref());
        assert!(cos::verify("secretkey", &auth, &http), "{http:?}");
        auth
    }

    #[test]
    fn ip_endpoints_use_the_bucket_path_form_with_the_bucket_unsigned() {
        let p = prepare(
            &endpoint("http://127.0.0.1:8703"),
            Some(&creds(Some("TCSTtoken"))),
            &cors_put(),
            1_700_000_000,
        );
        assert_eq!(p.url, "http://127.0.0.1:8703/app-1250000000/?cors");
        assert_eq!(
            p.string_to_sign.as_deref(),
            Some("put\n/\ncors=\ncontent-md5=1B2M2Y8AsgTpgAmY7PhCfg%3D%3D&content-type=application%2Fxml&host=127.0.0.1%3A8703\n")
        );
        let auth = verify(&p, "127.0.0.1:8703", "/", &[("cors", "")]);
        assert_eq!(auth.header_list, ["content-md5", "content-type", "host"]);
        assert_eq!(auth.url_param_list, ["cors"]);
        assert_eq!(auth.key_time, "1700000000;1700000600");
        // The token rides along, unsigned; the HttpString never holds it.
        assert_eq!(
            rest::header(&p.headers, "x-cos-security-token"),
            "TCSTtoken"
        );
        assert!(!p.string_to_sign.unwrap().contains("TCST"));
        let head = RequestSpec {
            method: "HEAD",
            bucket: "app-1250000000",
            key: Some("users/a b.txt"),
            sub_resource: None,
            headers: Vec::new(),
        };
        let p = prepare(
            &endpoint("http://localhost:9000/"),
            Some(&creds(None)),
            &head,
            0,
        );
        assert_eq!(
            p.url,
            "http://localhost:9000/app-1250000000/users/a%20b.txt"
        );
        verify(&p, "localhost:9000", "/users/a b.txt", &[]);
        assert_eq!(
            p.string_to_sign.as_deref(),
            Some("head\n/users/a b.txt\n\nhost=localhost%3A9000\n")
        );
        assert_eq!(rest::header(&p.headers, "x-cos-security-token"), "");
    }

    #[test]
    fn named_endpoints_are_virtual_hosted_and_sign_that_host() {
        let p = prepare(
            &endpoint("https://cos.ap-guangzhou.myqcloud.com"),
            Some(&creds(None)),
            &cors_put(),
            1_700_000_000,
        );
        assert_eq!(
            p.url,
            "https://app-1250000000.cos.ap-guangzhou.myqcloud.com/?cors"
        );
        let host = "app-1250000000.cos.ap-guangzhou.myqcloud.com";
        verify(&p, host, "/", &[("cors", "")]);
        assert!(p
            .string_to_sign
            .unwrap()
            .ends_with("&host=app-1250000000.cos.ap-guangzhou.myqcloud.com\n"));
        let unsigned = prepare(
            &endpoint("https://cos.ap-guangzhou.myqcloud.com"),
            None,
            &RequestSpec {
                headers: vec![("Origin".into(), "https://a.example".into())],
                ..cors_put()
            },
            0,
        );
        assert_eq!(
            unsigned.headers,
            vec![("origin".to_string(), "https://a.example".to_string())]
        );
        assert_eq!(unsigned.string_to_sign, None);
    }

    #[test]
    fn errors_come_from_the_body_the_error_code_header_or_the_status() {
        let body = b"<?xml version='1.0' encoding='utf-8' ?><Error><Code>AccessDenied</Code><Message>Access Denied.</Message><Resource>app-1250000000.cos.ap-guangzhou.myqcloud.com/k</Resource><RequestId>NjU=</RequestId><TraceId>OGVm</TraceId></Error>";
        let e = parse_error(403, &[], body);
        assert_eq!(
            e.describe(),
            "403 AccessDenied: Access Denied. (RequestId NjU=, TraceId OGVm)"
        );
        // HEAD: no body; the code in x-cos-error-code, the ids in headers.
        let headers = [
            ("x-cos-error-code".to_string(), "NoSuchBucket".to_string()),
            ("x-cos-request-id".to_string(), "R2".to_string()),
        ];
        let e = parse_error(404, &headers, b"");
        assert_eq!(e.describe(), "404 NoSuchBucket (RequestId R2)");
        assert_eq!(parse_error(404, &[], b"").code, "NoSuchResource");
        assert_eq!(parse_error(403, &[], b"").code, "HttpStatus403");
        let e = parse_error(502, &[], b"<html>bad gateway</html>");
        assert_eq!(e.describe(), "502 HttpStatus502");
        assert_eq!(
            CosError::transport("Timeout", String::new()).describe(),
            "Timeout"
        );
    }

    #[test]
    fn cors_xml_round_trips_with_ids_and_escapes() {
        let config = crate::common::rest_xml::tests::two_rules("x-cos-request-id");
        let xml = render_cors(&config);
        assert!(xml.starts_with("<CORSConfiguration><CORSRule><ID>stsgate-1</ID><AllowedOrigin>https://app.example.com</AllowedOrigin><AllowedOrigin>http://*.a&amp;b.com</AllowedOrigin>"), "{xml}");
        assert!(xml.contains("<ExposeHeader>x-cos-request-id</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule><CORSRule><ID>stsgate-2</ID>"), "{xml}");
        assert_eq!(rest_xml::parse_cors(xml.as_bytes()), Ok(config));
    }

    /// The provider's HTTP client has no overall timeout: each request carries the provider's.
    #[tokio::test]
    async fn each_request_is_bounded_by_the_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let hold = tokio::spawn(async move {
            let held = listener.accept().await;
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(held);
        });
        let timeout = Duration::from_millis(300);
        let client = CosClient::new(reqwest::Client::new(), &endpoint, timeout).unwrap();
        let e = client.signed(creds(None)).head_bucket("app-1").await;
        assert_eq!(e.unwrap_err().code, "Timeout");
        hold.abort();
        let bad = CosClient::new(reqwest::Client::new(), "ftp://x", timeout);
        assert!(bad.unwrap_err().starts_with("cos_endpoint \"ftp://x\""));
    }

    proptest! {
        #[test]
        fn errors_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512), status in 0u16..1000) {
            let text = String::from_utf8_lossy(&body).into_owned();
            let headers = [("x-cos-error-code".to_string(), text.clone()), ("x-cos-request-id".to_string(), text)];
            let e = parse_error(status, &headers, &body);
            prop_assert!(!e.code.is_empty());
            let _ = e.describe();
        }

        #[test]
        fn rendered_rules_parse_back(
            values in proptest::collection::vec("[!-~]([ -~]{0,10}[!-~])?", 1..6),
            max_age in proptest::option::of(0u64..100_000),
        ) {
            let rule = CorsRule {
                allowed_origins: values.clone(),
                allowed_methods: vec!["PUT".into()],
                allowed_headers: values.clone(),
                expose_headers: values,
                max_age_seconds: max_age,
            };
            let config = CorsConfig { rules: vec![rule], response_vary: false };
            prop_assert_eq!(rest_xml::parse_cors(render_cors(&config).as_bytes()), Ok(config));
        }
    }
}
