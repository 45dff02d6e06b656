//! A small signed OSS REST client (V1 or V4 header signatures) for `stsgate check` and
//! `stsgate cors`: HEAD an object, GET/PUT/DELETE `?cors`, and unsigned CORS preflights.
//!
//! Addressing follows the api face's presigned URLs: an endpoint whose host is an IP address or
//! `localhost` is path-style (`{endpoint}/{bucket}/{key}`), any other is virtual-hosted
//! (`{scheme}://{bucket}.{host}/{key}`); the signed resource is `/{bucket}/{key}` in both.
//! A request is assembled by the pure [`prepare`] (clock as a parameter, unit-tested against the
//! spec's vectors), then sent with `reqwest`. Answers are read up to [`MAX_BODY_BYTES`]; no
//! answer makes the client panic: whatever comes back is an [`OssError`] or a parsed value.

use crate::common::rest::{self, header, Answer, Failure};
use crate::common::rest_xml::{self, parse_error_xml};
use crate::common::store_client::{Dialect, StoreClient};
use crate::secret::Secret;
use std::time::Duration;
use stsgate_signing::{oss_v1, oss_v4};
use stsgate_store::CorsConfig;
use time::OffsetDateTime;

pub use crate::common::rest::{Endpoint, Prepared, RequestSpec, MAX_BODY_BYTES};
pub use crate::common::rest_xml::parse_cors;

/// Which header signature requests carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureVersion {
    /// `Authorization: OSS <id>:<base64 HMAC-SHA1>` with a `Date` header (spec §3).
    V1,
    /// `OSS4-HMAC-SHA256` with `x-oss-date` and `x-oss-content-sha256: UNSIGNED-PAYLOAD` (spec §5).
    V4,
}

impl SignatureVersion {
    /// `v1` or `v4` (case-insensitive).
    pub fn parse(s: &str) -> Option<SignatureVersion> {
        match s.to_ascii_lowercase().as_str() {
            "v1" => Some(SignatureVersion::V1),
            "v4" => Some(SignatureVersion::V4),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SignatureVersion::V1 => "v1",
            SignatureVersion::V4 => "v4",
        }
    }
}

/// What signs: a long-term key, or temporary credentials with their security token.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret: Secret,
    /// Sent as `x-oss-security-token` (and signed) when present (redacted in `Debug`).
    pub security_token: Option<Secret>,
}

/// `Wed, 28 Dec 2022 10:27:41 GMT`
fn http_date(now: OffsetDateTime) -> String {
    crate::common::dates::rfc1123(now)
}

/// `YYYYMMDDTHHMMSSZ`
fn v4_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Assembles (and, with `signer`, signs) a request at `now`.
///
/// V1 sends `date` (not `x-oss-date`) and signs `VERB, Content-MD5, Content-Type, Date,
/// x-oss-* headers, /bucket/key?sub`; V4 sends `x-oss-date` and
/// `x-oss-content-sha256: UNSIGNED-PAYLOAD`, no `Date`, and signs the scope
/// `YYYYMMDD/<region>/oss/aliyun_v4_request` without additional headers. A security token is
/// sent (and signed) as `x-oss-security-token`.
pub fn prepare(
    endpoint: &Endpoint,
    region: &str,
    signer: Option<(&Credentials, SignatureVersion)>,
    spec: &RequestSpec,
    now: OffsetDateTime,
) -> Prepared {
    let query_pairs: Vec<(String, String)> = spec
        .sub_resource
        .map(|s| vec![(s.to_string(), String::new())])
        .unwrap_or_default();
    let url = endpoint.url(spec.bucket, spec.key, spec.sub_resource.unwrap_or(""));
    let mut headers: Vec<(String, String)> = spec
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .collect();
    let Some((credentials, version)) = signer else {
        return Prepared {
            method: spec.method,
            url,
            headers,
            string_to_sign: None,
        };
    };
    if let Some(token) = &credentials.security_token {
        headers.push(("x-oss-security-token".into(), token.expose().to_string()));
    }
    let (authorization, string_to_sign) = match version {
        SignatureVersion::V1 => {
            let date = http_date(now);
            headers.push(("date".into(), date.clone()));
            let string_to_sign = oss_v1::string_to_sign(
                spec.method,
                header(&headers, "content-md5"),
                header(&headers, "content-type"),
                &date,
                &oss_v1::canonical_oss_headers(&headers),
                &oss_v1::canonical_resource(Some(spec.bucket), spec.key, &query_pairs),
            );
            let signature = oss_v1::sign(credentials.secret.expose(), &string_to_sign);
            (
                format!("OSS {}:{signature}", credentials.access_key_id),
                string_to_sign,
            )
        }
        SignatureVersion::V4 => {
            let x_oss_date = v4_date(now);
            let day = &x_oss_date[..8];
            headers.push(("x-oss-date".into(), x_oss_date.clone()));
            headers.push(("x-oss-content-sha256".into(), "UNSIGNED-PAYLOAD".into()));
            let (canonical_request, _) = oss_v4::canonical_request(
                spec.method,
                Some(spec.bucket),
                spec.key,
                &query_pairs,
                &headers,
                &[],
                "UNSIGNED-PAYLOAD",
            );
            let scope = format!("{day}/{region}/oss/aliyun_v4_request");
            let string_to_sign = oss_v4::string_to_sign(&x_oss_date, &scope, &canonical_request);
            let key = oss_v4::signing_key(credentials.secret.expose(), day, region, "oss");
            let signature = oss_v4::signature(&key, &string_to_sign);
            (
                format!(
                    "OSS4-HMAC-SHA256 Credential={}/{scope},Signature={signature}",
                    credentials.access_key_id
                ),
                string_to_sign,
            )
        }
    };
    headers.push(("authorization".into(), authorization));
    Prepared {
        method: spec.method,
        url,
        headers,
        string_to_sign: Some(string_to_sign),
    }
}

/// Why an OSS call failed: the service's `<Error>` (or, for HEAD, its headers), or a transport
/// failure (`status` 0, `code` `Timeout` / `Unreachable` / `MalformedResponse`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct OssError {
    /// HTTP status (0: no usable answer).
    pub status: u16,
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    /// OSS's error code (`0026-00000001`), from `<EC>` or `x-oss-ec`.
    pub ec: Option<String>,
    /// The `<StringToSign>` OSS computed (SignatureDoesNotMatch).
    pub server_string_to_sign: Option<String>,
    /// The string-to-sign this client sent.
    pub string_to_sign: Option<String>,
}

impl OssError {
    /// A request without a usable answer (`Timeout`, `Unreachable`, `MalformedResponse`).
    pub fn transport(code: &str, message: String) -> OssError {
        OssError {
            status: 0,
            code: code.into(),
            message,
            request_id: None,
            ec: None,
            server_string_to_sign: None,
            string_to_sign: None,
        }
    }

    /// `403 AccessDenied: message (RequestId R, EC E)`; transport failures without the status.
    pub fn describe(&self) -> String {
        let ids = [("RequestId", &self.request_id), ("EC", &self.ec)];
        rest::describe(self.status, &self.code, &self.message, &ids)
    }
}

impl rest::CloudError for OssError {
    fn status(&self) -> u16 {
        self.status
    }
    fn code(&self) -> &str {
        &self.code
    }
    fn describe(&self) -> String {
        OssError::describe(self)
    }
    fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}

/// ECs of body-less (HEAD) errors whose code is known.
const EC_CODES: &[(&str, &str)] = &[
    ("0026-00000001", "NoSuchKey"),
    ("0015-00000101", "NoSuchBucket"),
    ("0003-00000001", "AccessDenied"),
    ("0002-00000902", "InvalidAccessKeyId"),
    ("0002-00000007", "SecurityTokenExpired"),
    ("0002-00000008", "InvalidSecurityToken"),
];

/// Builds the error of a non-2xx answer: the `<Error>` body, else the base64 `<Error>` of
/// `x-oss-err` (HEAD), else `x-oss-ec` / `x-oss-request-id` and the status.
pub fn parse_error(status: u16, headers: &[(String, String)], body: &[u8]) -> OssError {
    let fields = parse_error_xml(body).or_else(|| {
        rest_xml::base64_header(headers, "x-oss-err").and_then(|x| parse_error_xml(&x))
    });
    let field = |name: &str| rest_xml::field(fields.as_deref(), name);
    let non_empty = |v: &str| (!v.trim().is_empty()).then(|| v.trim().to_string());
    let ec = field("EC").or_else(|| non_empty(header(headers, "x-oss-ec")));
    let code = field("Code")
        .or_else(|| {
            let ec = ec.as_deref()?;
            EC_CODES
                .iter()
                .find(|(e, _)| *e == ec)
                .map(|(_, c)| c.to_string())
        })
        .unwrap_or_else(|| format!("HttpStatus{status}"));
    OssError {
        status,
        code,
        message: field("Message").unwrap_or_default(),
        request_id: field("RequestId").or_else(|| non_empty(header(headers, "x-oss-request-id"))),
        ec,
        server_string_to_sign: field("StringToSign"),
        string_to_sign: None,
    }
}

/// The `<CORSConfiguration>` PutBucketCors sends: exactly what the oss face renders for
/// GetBucketCors (`aliyun::xml::cors`).
pub fn render_cors(config: &CorsConfig) -> String {
    crate::aliyun::xml::cors(config)
}

/// A preflight's answer.
pub type Preflight = rest::Preflight<OssError>;

/// OSS: V1 or V4 header signatures for one region.
#[derive(Debug, Clone)]
pub struct Oss {
    pub region: String,
    signer: Option<(Credentials, SignatureVersion)>,
}

impl Dialect for Oss {
    type Error = OssError;
    const REQUEST_ID: &'static str = "x-oss-request-id";

    fn prepare(
        &self,
        endpoint: &Endpoint,
        spec: &RequestSpec,
        signed: bool,
        now: OffsetDateTime,
    ) -> Prepared {
        let signer = self
            .signer
            .as_ref()
            .filter(|_| signed)
            .map(|(c, v)| (c, *v));
        prepare(endpoint, &self.region, signer, spec, now)
    }
    fn error(&self, answer: &Answer) -> OssError {
        parse_error(answer.status, &answer.headers, &answer.body)
    }
    fn failure(&self, failure: Failure, answer: Option<&Answer>) -> OssError {
        OssError {
            status: answer.map_or(0, |a| a.status),
            request_id: answer.and_then(|a| a.header(Self::REQUEST_ID)),
            ..OssError::transport(failure.code, failure.message)
        }
    }
    fn keep_signed(error: &mut OssError, signed: Option<String>) {
        error.string_to_sign = signed;
    }
    fn render_cors(config: &CorsConfig) -> String {
        render_cors(config)
    }
}

/// The client: one endpoint and region, optionally signing.
pub type OssClient = StoreClient<Oss>;

impl OssClient {
    /// An unsigned client for `endpoint` (`scheme://host[:port]`); `timeout` bounds each request
    /// from connecting to the last body byte.
    pub fn new(endpoint: &str, region: &str, timeout: Duration) -> Result<OssClient, String> {
        let endpoint = Endpoint::parse(endpoint, "oss_endpoint")?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("building the HTTP client: {e}"))?;
        let oss = Oss {
            region: region.to_string(),
            signer: None,
        };
        Ok(StoreClient::with(http, endpoint, None, oss))
    }

    /// The same client, signing with `credentials` in `version`.
    pub fn signed(&self, credentials: Credentials, version: SignatureVersion) -> OssClient {
        self.speaking(Oss {
            signer: Some((credentials, version)),
            ..self.dialect.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use proptest::prelude::*;

    fn at(rfc3339: &str) -> OffsetDateTime {
        OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).unwrap()
    }

    fn creds(id: &str, secret: &str, token: Option<&str>) -> Credentials {
        Credentials {
            access_key_id: id.into(),
            secret: Secret::new(secret),
            security_token: token.map(Secret::new),
        }
    }

    fn endpoint(s: &str) -> Endpoint {
        Endpoint::parse(s, "oss_endpoint").unwrap()
    }

    fn names(p: &Prepared) -> Vec<&str> {
        p.headers.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn addressing_is_path_style_for_ips_and_localhost_only() {
        let check = |e: &str, url: &str| {
            assert_eq!(
                endpoint(e).url("app", Some("users/a b+c.txt"), ""),
                url,
                "{e}"
            );
        };
        check(
            "http://127.0.0.1:8702",
            "http://127.0.0.1:8702/app/users/a%20b%2Bc.txt",
        );
        check(
            "http://localhost:9000/",
            "http://localhost:9000/app/users/a%20b%2Bc.txt",
        );
        check(
            "http://[::1]:9000",
            "http://[::1]:9000/app/users/a%20b%2Bc.txt",
        );
        check(
            "https://oss-cn-hangzhou.aliyuncs.com",
            "https://app.oss-cn-hangzhou.aliyuncs.com/users/a%20b%2Bc.txt",
        );
        assert_eq!(
            endpoint("http://127.0.0.1:1").url("app", None, "cors"),
            "http://127.0.0.1:1/app/?cors"
        );
        assert_eq!(
            endpoint("https://oss-cn-hangzhou.aliyuncs.com").url("app", None, "cors"),
            "https://app.oss-cn-hangzhou.aliyuncs.com/?cors"
        );
        for bad in ["ftp://x", "http://h/path", "not a url", "http://h/?q=1"] {
            assert!(Endpoint::parse(bad, "oss_endpoint").is_err(), "{bad}");
        }
    }

    /// V-OSS1-3 (spec §3): an STS PUT signed V1 with `date` and a signed `x-oss-security-token`.
    #[test]
    fn v1_reproduces_the_sts_vector() {
        let spec = RequestSpec {
            method: "PUT",
            bucket: "my-bucket",
            key: Some("k.txt"),
            sub_resource: None,
            headers: vec![("Content-Type".into(), "text/plain".into())],
        };
        let c = creds(
            "STS.NTestTempAk",
            "TempSecret456",
            Some("CAIStestToken+/=="),
        );
        let p = prepare(
            &endpoint("http://127.0.0.1:9000"),
            "cn-hangzhou",
            Some((&c, SignatureVersion::V1)),
            &spec,
            at("2026-11-25T07:33:07Z"),
        );
        assert_eq!(p.url, "http://127.0.0.1:9000/my-bucket/k.txt");
        assert_eq!(
            p.string_to_sign.as_deref(),
            Some("PUT\n\ntext/plain\nWed, 25 Nov 2026 07:33:07 GMT\nx-oss-security-token:CAIStestToken+/==\n/my-bucket/k.txt")
        );
        assert_eq!(
            p.headers,
            vec![
                ("content-type".to_string(), "text/plain".to_string()),
                ("x-oss-security-token".into(), "CAIStestToken+/==".into()),
                ("date".into(), "Wed, 25 Nov 2026 07:33:07 GMT".into()),
                (
                    "authorization".into(),
                    "OSS STS.NTestTempAk:v78wVi86/6OgnjDUiB2W5nl12b8=".into()
                ),
            ]
        );
    }

    /// V-OSS4-5 (spec §5): oss2's header-signed PUT; the client sends x-oss-date and
    /// UNSIGNED-PAYLOAD, no Date, and signs no additional headers.
    #[test]
    fn v4_reproduces_the_oss2_vector() {
        let spec = RequestSpec {
            method: "PUT",
            bucket: "my-bucket",
            key: Some("dir/a.txt"),
            sub_resource: None,
            headers: vec![
                ("Content-Type".into(), "text/plain".into()),
                ("x-oss-meta-a".into(), "1".into()),
            ],
        };
        let c = creds("LTAI5tTestAccessKeyId", "TestSecretKey123", None);
        let p = prepare(
            &endpoint("http://oss-cn-hangzhou.aliyuncs.com"),
            "cn-hangzhou",
            Some((&c, SignatureVersion::V4)),
            &spec,
            at("2024-01-01T00:00:00Z"),
        );
        assert_eq!(
            p.url,
            "http://my-bucket.oss-cn-hangzhou.aliyuncs.com/dir/a.txt"
        );
        assert_eq!(
            names(&p),
            [
                "content-type",
                "x-oss-meta-a",
                "x-oss-date",
                "x-oss-content-sha256",
                "authorization"
            ]
        );
        assert_eq!(
            p.string_to_sign.as_deref(),
            Some("OSS4-HMAC-SHA256\n20240101T000000Z\n20240101/cn-hangzhou/oss/aliyun_v4_request\n91ecb8919d839b401c89e93f20dde0b4b5ba1f9e8408142f0b9898f6a461a0a4")
        );
        assert_eq!(
            p.headers.last().unwrap().1,
            "OSS4-HMAC-SHA256 Credential=LTAI5tTestAccessKeyId/20240101/cn-hangzhou/oss/aliyun_v4_request,Signature=39caf40c94e2f2542df6929ed1167682e2c44d92361b919c2c33633ffeb9c1b4"
        );
    }

    /// `?cors` is a sub-resource: V1 signs `/bucket/?cors`, V4 the canonical query `cors`.
    #[test]
    fn cors_sub_resource_is_signed() {
        let spec = RequestSpec {
            method: "GET",
            bucket: "app",
            key: None,
            sub_resource: Some("cors"),
            headers: Vec::new(),
        };
        let c = creds("ak", "sk", None);
        let e = endpoint("http://127.0.0.1:8702");
        let now = at("2022-12-28T10:27:41Z");
        let v1 = prepare(
            &e,
            "cn-hangzhou",
            Some((&c, SignatureVersion::V1)),
            &spec,
            now,
        );
        let sts = "GET\n\n\nWed, 28 Dec 2022 10:27:41 GMT\n/app/?cors";
        assert_eq!(v1.string_to_sign.as_deref(), Some(sts));
        assert_eq!(v1.url, "http://127.0.0.1:8702/app/?cors");
        assert_eq!(names(&v1), ["date", "authorization"]);
        assert_eq!(
            v1.headers[1].1,
            format!("OSS ak:{}", oss_v1::sign("sk", sts))
        );
        let v4 = prepare(
            &e,
            "cn-beijing",
            Some((&c, SignatureVersion::V4)),
            &spec,
            now,
        );
        let canonical = "GET\n/app/\ncors\nx-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:20221228T102741Z\n\n\nUNSIGNED-PAYLOAD";
        let scope = "20221228/cn-beijing/oss/aliyun_v4_request";
        let sts4 = oss_v4::string_to_sign("20221228T102741Z", scope, canonical);
        assert_eq!(v4.string_to_sign.as_deref(), Some(sts4.as_str()));
        let sig = oss_v4::signature(
            &oss_v4::signing_key("sk", "20221228", "cn-beijing", "oss"),
            &sts4,
        );
        assert_eq!(
            v4.headers.last().unwrap().1,
            format!("OSS4-HMAC-SHA256 Credential=ak/{scope},Signature={sig}")
        );
        // Virtual-hosted: same signature, bucket in the host.
        let vh = prepare(
            &endpoint("https://oss-cn-beijing.aliyuncs.com"),
            "cn-beijing",
            Some((&c, SignatureVersion::V4)),
            &spec,
            now,
        );
        assert_eq!(vh.url, "https://app.oss-cn-beijing.aliyuncs.com/?cors");
        assert_eq!(vh.headers, v4.headers);
    }

    #[test]
    fn unsigned_requests_carry_only_their_headers() {
        let spec = RequestSpec {
            method: "OPTIONS",
            bucket: "app",
            key: Some("k"),
            sub_resource: None,
            headers: vec![("Origin".into(), "https://a.example".into())],
        };
        let p = prepare(
            &endpoint("http://127.0.0.1:1"),
            "cn-hangzhou",
            None,
            &spec,
            at("2024-01-01T00:00:00Z"),
        );
        assert_eq!(
            p.headers,
            vec![("origin".into(), "https://a.example".into())]
        );
        assert_eq!(p.string_to_sign, None);
    }

    #[test]
    fn cors_xml_round_trips_through_both_parsers() {
        let config = CorsConfig {
            response_vary: true,
            ..crate::common::rest_xml::tests::two_rules("x-oss-request-id")
        };
        let xml = render_cors(&config);
        assert!(
            xml.contains("<AllowedOrigin>http://*.a&amp;b.com</AllowedOrigin>"),
            "{xml}"
        );
        assert_eq!(parse_cors(xml.as_bytes()), Ok(config.clone()));
        assert_eq!(crate::aliyun::xml::parse_cors(xml.as_bytes()), Ok(config));
    }

    #[test]
    fn errors_come_from_the_body_the_x_oss_err_header_or_the_status() {
        let xml = crate::aliyun::xml::error(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match",
            "RID1",
            "host",
            &[("StringToSign", "GET\n\n\nx\n/app/".to_string())],
            "0002-00000040",
        );
        let e = parse_error(403, &[], xml.as_bytes());
        assert_eq!(e.code, "SignatureDoesNotMatch");
        assert_eq!(e.request_id.as_deref(), Some("RID1"));
        assert_eq!(e.ec.as_deref(), Some("0002-00000040"));
        assert_eq!(
            e.server_string_to_sign.as_deref(),
            Some("GET\n\n\nx\n/app/")
        );
        assert_eq!(
            e.describe(),
            "403 SignatureDoesNotMatch: The request signature we calculated does not match (RequestId RID1, EC 0002-00000040)"
        );
        // HEAD: no body; the XML base64-encoded in x-oss-err.
        let b64 = base64::engine::general_purpose::STANDARD.encode(crate::aliyun::xml::error(
            "NoSuchBucket",
            "The specified bucket does not exist.",
            "RID2",
            "h",
            &[],
            "0015-00000101",
        ));
        let e = parse_error(404, &[("x-oss-err".into(), b64)], b"");
        assert_eq!(
            (e.code.as_str(), e.request_id.as_deref()),
            ("NoSuchBucket", Some("RID2"))
        );
        // HEAD without x-oss-err: the EC header names the code.
        let headers = [
            ("x-oss-ec".to_string(), "0026-00000001".to_string()),
            ("x-oss-request-id".to_string(), "RID3".to_string()),
        ];
        let e = parse_error(404, &headers, b"");
        assert_eq!(e.code, "NoSuchKey");
        assert_eq!(e.request_id.as_deref(), Some("RID3"));
        assert_eq!(
            e.describe(),
            "404 NoSuchKey (RequestId RID3, EC 0026-00000001)"
        );
        // Nothing at all: the status.
        let e = parse_error(502, &[], b"<html>bad gateway</html>");
        assert_eq!(e.code, "HttpStatus502");
        assert_eq!(e.describe(), "502 HttpStatus502");
    }

    #[test]
    fn signature_versions_parse() {
        assert_eq!(SignatureVersion::parse("V4"), Some(SignatureVersion::V4));
        assert_eq!(SignatureVersion::parse("v1"), Some(SignatureVersion::V1));
        assert_eq!(SignatureVersion::parse("v2"), None);
    }

    #[tokio::test]
    async fn transport_failures_are_errors_not_panics() {
        // A port nobody listens on: bind, note the port, drop the listener.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = OssClient::new(
            &format!("http://127.0.0.1:{port}"),
            "cn-hangzhou",
            Duration::from_secs(2),
        )
        .unwrap();
        let e = client.get_bucket_cors("app").await.unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (0, "Unreachable"), "{e:?}");
        let e = client
            .preflight("app", "k", "https://a", "PUT", &[])
            .await
            .unwrap_err();
        assert_eq!(e.code, "Unreachable");
    }

    #[tokio::test]
    async fn stalled_answers_time_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hold = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(socket);
        });
        let client = OssClient::new(
            &format!("http://{addr}"),
            "cn-hangzhou",
            Duration::from_millis(300),
        )
        .unwrap();
        let e = client.head_object("app", "k").await.unwrap_err();
        assert_eq!(e.code, "Timeout", "{e:?}");
        hold.abort();
    }

    proptest! {
        #[test]
        fn errors_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let header = String::from_utf8_lossy(&body).into_owned();
            let _ = parse_error(400, &[("x-oss-err".into(), header)], &body);
        }
    }
}
