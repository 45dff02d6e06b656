//! Response bodies: `{"Response": …}` JSON, always HTTP 200 with `Content-Type:
//! application/json` exactly (spec §1.4: the tencentcloud Python SDK only looks for
//! `Response.Error` when the type is exactly that, without a charset).

use crate::common::dates::iso8601;
use crate::token::Minted;
use axum::body::Body;
use axum::response::Response;
use http::StatusCode;
use serde_json::{json, Value};

/// The one content type every answer carries.
pub const CONTENT_TYPE: &str = "application/json";

/// `{"Response": body}` with status 200.
pub fn respond(body: &Value) -> Response {
    let text = json!({ "Response": body }).to_string();
    Response::builder()
        .status(StatusCode::OK)
        .header(http::header::CONTENT_TYPE, CONTENT_TYPE)
        .body(Body::from(text))
        .unwrap_or_default()
}

/// The body of GetFederationToken and AssumeRole (identical, spec §2):
/// `Credentials{Token,TmpSecretId,TmpSecretKey}`, `ExpiredTime` (unix seconds), `Expiration`
/// (`YYYY-MM-DDThh:mm:ssZ`, the same instant) and `RequestId`.
pub fn credentials(minted: &Minted, request_id: &str) -> Value {
    json!({
        "Credentials": {
            "Token": minted.security_token,
            "TmpSecretId": minted.access_key_id,
            "TmpSecretKey": minted.access_key_secret.expose(),
        },
        "ExpiredTime": minted.expiration.unix_timestamp(),
        "Expiration": iso8601(minted.expiration),
        "RequestId": request_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use time::OffsetDateTime;

    fn check(resp: Response, expected: &str) {
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], CONTENT_TYPE);
        let bytes =
            futures::executor::block_on(axum::body::to_bytes(resp.into_body(), 1 << 16)).unwrap();
        assert_eq!(String::from_utf8_lossy(&bytes), expected);
    }

    #[test]
    fn credentials_shape() {
        let minted = Minted {
            access_key_id: "AKIDtmp".into(),
            access_key_secret: Secret::new("sk"),
            security_token: "TCSTtok".into(),
            expiration: OffsetDateTime::from_unix_timestamp(1_700_001_800).unwrap(),
        };
        check(
            respond(&credentials(&minted, "r-1")),
            r#"{"Response":{"Credentials":{"TmpSecretId":"AKIDtmp","TmpSecretKey":"sk","Token":"TCSTtok"},"Expiration":"2023-11-14T22:43:20Z","ExpiredTime":1700001800,"RequestId":"r-1"}}"#,
        );
    }
}
