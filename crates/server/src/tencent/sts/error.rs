//! Every way a tc-sts request fails, rendered as Tencent Cloud API 3.0's error body:
//! `{"Response":{"Error":{"Code","Message"},"RequestId"}}`, always with HTTP 200 (the
//! tencentcloud SDKs raise `ServerNetworkError` on any other status and never read the code).
//!
//! Codes are Tencent's common ones (`AuthFailure.*`, `MissingParameter`, …) and those of the STS
//! SDK's `errorcodes.py`. Where Tencent publishes none, the choice is documented on the variant
//! (and in ARCHITECTURE.md).

use super::render;
use axum::response::Response;
use serde_json::json;

/// Why a token was refused (all are `AuthFailure.TokenFailure`; the message says which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    Expired,
    /// Not sealed by this server's master key, or altered.
    Invalid,
    /// An Alibaba Cloud security token (`CAIS…`), not a Tencent one.
    OtherVendor,
    /// Issued with another SecretId.
    Mismatch,
    /// The operator revoked the credentials (or their caller).
    Revoked,
}

/// What went wrong, by meaning. Each variant knows its Tencent code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcStsError {
    /// A mandatory parameter (or its `X-TC-*` header form) is absent.
    MissingParameter(&'static str),
    /// The body or query is over its wire style's limit (`RequestSizeLimitExceeded`).
    RequestTooLarge(String),
    /// Not GET/POST at `/`, or a body type the signature scheme does not allow.
    UnsupportedProtocol(String),
    /// The `Authorization` header (or the v1 signature fields) is malformed or incomplete.
    InvalidAuthorization(String),
    /// The signature is not ours; the message says what was compared (never the secret).
    SignatureFailure(String),
    /// The timestamp is more than 300 s from the server's clock.
    SignatureExpire { timestamp: i64, now: i64 },
    /// The SecretId is neither the Tencent root key, an extra key, nor sent with a token.
    SecretIdNotFound,
    /// The temporary credentials' token is unusable.
    TokenFailure(TokenProblem),
    /// A legacy-v1 `Nonce` already used by this SecretId within the window. Tencent publishes no
    /// code for a replay: `AuthFailure.InvalidAuthorization`, with a message saying so.
    NonceUsed(String),
    /// `InvalidParameter` or one of its sub-codes (`InvalidParameter.ParamError`, …).
    InvalidParameter { code: &'static str, message: String },
    /// A parameter has the right type but a value out of its domain.
    InvalidParameterValue(String),
    /// `DurationSeconds` outside what the caller may ask for.
    OverTime(String),
    /// The decoded `Policy` is over [`super::params::MAX_POLICY_BYTES`].
    PolicyTooLong(usize),
    /// The `Policy` is not a valid CAM policy; carries the parser's sentence.
    StrategyFormat(String),
    /// GetFederationToken with temporary credentials.
    TempKeyNotAllowed,
    /// The action is not one the face knows.
    InvalidAction(String),
    /// `Version` is not `2018-08-13`.
    NoSuchVersion(String),
    /// The role in `RoleArn` does not exist in this account.
    RoleNotFound(String),
    /// The caller may not assume the role; the message says what to change.
    Unauthorized(String),
    /// Something on our side failed (details are logged, never sent).
    Internal,
}

impl TcStsError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> TcStsError {
        TcStsError::InvalidParameter {
            code,
            message: message.into(),
        }
    }

    /// The `Code` string clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            TcStsError::MissingParameter(_) => "MissingParameter",
            TcStsError::RequestTooLarge(_) => "RequestSizeLimitExceeded",
            TcStsError::UnsupportedProtocol(_) => "UnsupportedProtocol",
            TcStsError::InvalidAuthorization(_) | TcStsError::NonceUsed(_) => {
                "AuthFailure.InvalidAuthorization"
            }
            TcStsError::SignatureFailure(_) => "AuthFailure.SignatureFailure",
            TcStsError::SignatureExpire { .. } => "AuthFailure.SignatureExpire",
            TcStsError::SecretIdNotFound => "AuthFailure.SecretIdNotFound",
            TcStsError::TokenFailure(_) => "AuthFailure.TokenFailure",
            TcStsError::InvalidParameter { code, .. } => code,
            TcStsError::InvalidParameterValue(_) => "InvalidParameterValue",
            TcStsError::OverTime(_) => "InvalidParameter.OverTimeError",
            TcStsError::PolicyTooLong(_) => "InvalidParameter.PolicyTooLong",
            TcStsError::StrategyFormat(_) => "InvalidParameter.StrategyFormatError",
            TcStsError::TempKeyNotAllowed => "FailedOperation.TempKeyNotAllowed",
            TcStsError::InvalidAction(_) => "InvalidAction",
            TcStsError::NoSuchVersion(_) => "NoSuchVersion",
            TcStsError::RoleNotFound(_) => "ResourceNotFound.RoleNotFound",
            TcStsError::Unauthorized(_) => "UnauthorizedOperation",
            TcStsError::Internal => "InternalError",
        }
    }

    /// A sentence a human can act on.
    pub fn message(&self) -> String {
        match self {
            TcStsError::MissingParameter(name) => {
                format!("The request is missing a required parameter `{name}`.")
            }
            TcStsError::RequestTooLarge(why)
            | TcStsError::UnsupportedProtocol(why)
            | TcStsError::InvalidAuthorization(why)
            | TcStsError::InvalidParameterValue(why)
            | TcStsError::OverTime(why)
            | TcStsError::Unauthorized(why) => why.clone(),
            TcStsError::SignatureFailure(why) => format!(
                "The provided credentials could not be validated. Please check your signature is correct. {why}"
            ),
            TcStsError::SignatureExpire { timestamp, now } => format!(
                "Signature expired: the request timestamp {timestamp} is {}s from the server time {now}; it may differ by at most 300s. Check the client's clock.",
                timestamp.abs_diff(*now)
            ),
            TcStsError::SecretIdNotFound => "The SecretId is not found, please ensure that your SecretId is correct. Use TencentSecretId from DIR/root-credentials.json or an extra key (stsgate key list); temporary credentials need their token (X-TC-Token or Token).".into(),
            TcStsError::TokenFailure(problem) => token_message(*problem).into(),
            TcStsError::NonceUsed(nonce) => format!(
                "The Nonce {nonce:?} was already used by this SecretId within the last 300 seconds: the request is a replay. Send a fresh random Nonce with every request."
            ),
            TcStsError::InvalidParameter { message, .. } => message.clone(),
            TcStsError::PolicyTooLong(len) => format!(
                "The Policy is {len} bytes once URL-decoded; it may have at most {} bytes.",
                super::params::MAX_POLICY_BYTES
            ),
            TcStsError::StrategyFormat(why) => format!("The Policy is not a valid CAM policy: {why}"),
            TcStsError::TempKeyNotAllowed => "GetFederationToken only accepts permanent keys (the Tencent root key or an extra key), not temporary credentials.".into(),
            TcStsError::InvalidAction(action) => format!(
                "The requested action `{action}` does not exist. This endpoint serves GetFederationToken, AssumeRole and GetCallerIdentity."
            ),
            TcStsError::NoSuchVersion(version) => format!(
                "The requested version `{version}` of service `sts` does not exist: use 2018-08-13."
            ),
            TcStsError::RoleNotFound(why) => format!("The role does not exist. {why}"),
            TcStsError::Internal => {
                "An internal error occurred; please retry, and send the RequestId if it persists.".into()
            }
        }
    }

    /// The error body, with HTTP 200 and `Content-Type: application/json`.
    pub fn into_response(self, request_id: &str) -> Response {
        let code = self.code();
        tracing::debug!(request_id, code, "tc-sts request refused");
        render::respond(&json!({
            "Error": {"Code": code, "Message": self.message()},
            "RequestId": request_id,
        }))
    }
}

fn token_message(problem: TokenProblem) -> &'static str {
    match problem {
        TokenProblem::Expired => "The token has expired: get new temporary credentials.",
        TokenProblem::Invalid => {
            "The token is invalid: it was altered, cut, or not issued by this server."
        }
        TokenProblem::OtherVendor => {
            "The token is an Alibaba Cloud security token; this endpoint accepts Tencent tokens (TCST…) only."
        }
        TokenProblem::Mismatch => "The token belongs to another SecretId than the one that signed.",
        TokenProblem::Revoked => "The token's credentials have been revoked: get new ones.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(err: TcStsError, code: &str, message_has: &str) {
        assert_eq!(err.code(), code);
        let message = err.message();
        assert!(message.contains(message_has), "{message}");
    }

    #[test]
    fn codes_and_messages() {
        check(
            TcStsError::MissingParameter("Name"),
            "MissingParameter",
            "`Name`",
        );
        check(
            TcStsError::SignatureExpire {
                timestamp: 1000,
                now: 1400,
            },
            "AuthFailure.SignatureExpire",
            "400s",
        );
        check(
            TcStsError::NonceUsed("123".into()),
            "AuthFailure.InvalidAuthorization",
            "replay",
        );
        for (problem, word) in [
            (TokenProblem::Expired, "expired"),
            (TokenProblem::Invalid, "altered"),
            (TokenProblem::OtherVendor, "Alibaba"),
            (TokenProblem::Mismatch, "another SecretId"),
            (TokenProblem::Revoked, "revoked"),
        ] {
            check(
                TcStsError::TokenFailure(problem),
                "AuthFailure.TokenFailure",
                word,
            );
        }
        check(
            TcStsError::invalid("InvalidParameter.ParamError", "Name x"),
            "InvalidParameter.ParamError",
            "Name x",
        );
        check(
            TcStsError::PolicyTooLong(3000),
            "InvalidParameter.PolicyTooLong",
            "2048",
        );
        check(
            TcStsError::TempKeyNotAllowed,
            "FailedOperation.TempKeyNotAllowed",
            "permanent",
        );
        check(TcStsError::Internal, "InternalError", "RequestId");
        check(
            TcStsError::SignatureExpire {
                timestamp: i64::MIN,
                now: i64::MAX,
            },
            "AuthFailure.SignatureExpire",
            "18446744073709551615s",
        );
    }

    #[test]
    fn errors_are_http_200_json() {
        let resp = TcStsError::SecretIdNotFound.into_response("rid");
        assert_eq!(resp.status(), http::StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "application/json");
        let bytes =
            futures::executor::block_on(axum::body::to_bytes(resp.into_body(), 1 << 16)).unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            body["Response"]["Error"]["Code"],
            "AuthFailure.SecretIdNotFound"
        );
        assert_eq!(body["Response"]["RequestId"], "rid");
        assert!(body["Response"]["Error"]["Message"].is_string());
    }
}
