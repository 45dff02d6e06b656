//! The small signed object-store client of `stsgate check` and `stsgate cors`, whatever the
//! cloud: [`StoreClient`] sends HEAD, `?cors` and preflight requests; a [`Dialect`] says how its
//! cloud signs and what its errors look like (`aliyun/client.rs` for OSS, `tencent/client.rs`
//! for COS). Addressing, bounded answers and transport failures are [`super::rest`]'s, the
//! answers' XML [`super::rest_xml`]'s.

use crate::common::rest::{content_md5, send, Answer, CloudError, Endpoint, Failure};
use crate::common::rest::{Preflight, Prepared, RequestSpec};
use crate::common::rest_xml::parse_cors;
use std::time::Duration;
use stsgate_store::CorsConfig;
use time::OffsetDateTime;

/// The headers of a browser's preflight: `Origin`, `Access-Control-Request-Method` and, when
/// any, `Access-Control-Request-Headers`.
fn preflight_headers(
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

/// How one cloud's object store is signed and answers.
pub trait Dialect: Clone {
    type Error: CloudError;
    /// The header that carries the request id (`x-oss-request-id`, `x-cos-request-id`).
    const REQUEST_ID: &'static str;

    /// Assembles a request at `now`, signed when `signed` and the dialect holds credentials.
    fn prepare(
        &self,
        endpoint: &Endpoint,
        spec: &RequestSpec,
        signed: bool,
        now: OffsetDateTime,
    ) -> Prepared;
    /// The error a non-2xx answer carries.
    fn error(&self, answer: &Answer) -> Self::Error;
    /// A request that got no usable answer, or an answer that made no sense (`answer`).
    fn failure(&self, failure: Failure, answer: Option<&Answer>) -> Self::Error;
    /// Keeps what the client signed in `error`, for the fix of a signature mismatch.
    fn keep_signed(error: &mut Self::Error, signed: Option<String>);
    /// The `<CORSConfiguration>` PutBucketCors sends.
    fn render_cors(config: &CorsConfig) -> String;
}

/// A successful HEAD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectHead {
    pub status: u16,
    pub etag: Option<String>,
    pub request_id: Option<String>,
}

/// The client: one endpoint, one HTTP client, a dialect (and the credentials it signs with).
#[derive(Debug, Clone)]
pub struct StoreClient<D> {
    http: reqwest::Client,
    pub endpoint: Endpoint,
    /// Bounds each request, from connecting to the last body byte (`None`: `http`'s own).
    timeout: Option<Duration>,
    pub dialect: D,
}

impl<D: Dialect> StoreClient<D> {
    pub fn with(
        http: reqwest::Client,
        endpoint: Endpoint,
        timeout: Option<Duration>,
        dialect: D,
    ) -> StoreClient<D> {
        StoreClient {
            http,
            endpoint,
            timeout,
            dialect,
        }
    }

    /// The same client in another dialect (another signer).
    pub fn speaking(&self, dialect: D) -> StoreClient<D> {
        StoreClient {
            dialect,
            ..self.clone()
        }
    }

    fn prepare(&self, spec: &RequestSpec, signed: bool) -> Prepared {
        let now = OffsetDateTime::now_utc();
        self.dialect.prepare(&self.endpoint, spec, signed, now)
    }

    async fn send(&self, prepared: &Prepared, body: Option<String>) -> Result<Answer, D::Error> {
        let failure = |message: String| Failure {
            code: "Unreachable",
            message,
        };
        let method = reqwest::Method::from_bytes(prepared.method.as_bytes()).map_err(|e| {
            self.dialect
                .failure(failure(format!("bad method: {e}")), None)
        })?;
        let mut request = self.http.request(method, &prepared.url);
        if let Some(timeout) = self.timeout {
            request = request.timeout(timeout);
        }
        for (name, value) in &prepared.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        send(request, &prepared.url)
            .await
            .map_err(|f| self.dialect.failure(f, None))
    }

    /// Sends a signed request; a non-2xx answer becomes the error it carries.
    async fn call(&self, spec: &RequestSpec<'_>, body: Option<String>) -> Result<Answer, D::Error> {
        let prepared = self.prepare(spec, true);
        let answer = self.send(&prepared, body).await?;
        if answer.ok() {
            return Ok(answer);
        }
        let mut error = self.dialect.error(&answer);
        D::keep_signed(&mut error, prepared.string_to_sign);
        Err(error)
    }

    fn spec<'a>(method: &'static str, bucket: &'a str, key: Option<&'a str>) -> RequestSpec<'a> {
        RequestSpec {
            method,
            bucket,
            key,
            sub_resource: None,
            headers: Vec::new(),
        }
    }

    fn cors_spec<'a>(method: &'static str, bucket: &'a str) -> RequestSpec<'a> {
        RequestSpec {
            sub_resource: Some("cors"),
            ..Self::spec(method, bucket, None)
        }
    }

    async fn head(&self, spec: RequestSpec<'_>) -> Result<ObjectHead, D::Error> {
        let answer = self.call(&spec, None).await?;
        Ok(ObjectHead {
            status: answer.status,
            etag: answer.header("etag"),
            request_id: answer.header(D::REQUEST_ID),
        })
    }

    /// `HEAD /` of the bucket (HeadBucket).
    pub async fn head_bucket(&self, bucket: &str) -> Result<ObjectHead, D::Error> {
        self.head(Self::spec("HEAD", bucket, None)).await
    }

    /// `HEAD /key` (HeadObject).
    pub async fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectHead, D::Error> {
        self.head(Self::spec("HEAD", bucket, Some(key))).await
    }

    /// `GET /?cors`; `Ok(None)` when the bucket has no rules (404 NoSuchCORSConfiguration).
    pub async fn get_bucket_cors(&self, bucket: &str) -> Result<Option<CorsConfig>, D::Error> {
        match self.call(&Self::cors_spec("GET", bucket), None).await {
            Ok(answer) => parse_cors(&answer.body).map(Some).map_err(|why| {
                let failure = Failure {
                    code: "MalformedResponse",
                    message: why,
                };
                self.dialect.failure(failure, Some(&answer))
            }),
            Err(e) if e.code() == "NoSuchCORSConfiguration" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `PUT /?cors` with `config` (replaces every rule) and its Content-MD5; the request id.
    pub async fn put_bucket_cors(
        &self,
        bucket: &str,
        config: &CorsConfig,
    ) -> Result<Option<String>, D::Error> {
        let body = D::render_cors(config);
        let spec = RequestSpec {
            headers: vec![
                ("content-type".into(), "application/xml".into()),
                ("content-md5".into(), content_md5(body.as_bytes())),
            ],
            ..Self::cors_spec("PUT", bucket)
        };
        let answer = self.call(&spec, Some(body)).await?;
        Ok(answer.header(D::REQUEST_ID))
    }

    /// `DELETE /?cors`.
    pub async fn delete_bucket_cors(&self, bucket: &str) -> Result<(), D::Error> {
        let spec = Self::cors_spec("DELETE", bucket);
        self.call(&spec, None).await.map(|_| ())
    }

    /// An unsigned `OPTIONS /key` preflight as a browser sends it. Only transport failures are
    /// `Err`; a refusal is a [`Preflight`] with `allowed: false`.
    pub async fn preflight(
        &self,
        bucket: &str,
        key: &str,
        origin: &str,
        method: &str,
        request_headers: &[&str],
    ) -> Result<Preflight<D::Error>, D::Error> {
        let spec = RequestSpec {
            headers: preflight_headers(origin, method, request_headers),
            ..Self::spec("OPTIONS", bucket, Some(key))
        };
        let answer = self.send(&self.prepare(&spec, false), None).await?;
        Ok(Preflight::read(&answer, origin, |a| self.dialect.error(a)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preflights_announce_the_method_and_any_headers() {
        assert_eq!(
            preflight_headers("https://a", "PUT", &["a", "b"]),
            [
                ("origin".to_string(), "https://a".to_string()),
                ("access-control-request-method".into(), "PUT".into()),
                ("access-control-request-headers".into(), "a,b".into()),
            ]
        );
        assert_eq!(preflight_headers("https://a", "PUT", &[]).len(), 2);
    }
}
