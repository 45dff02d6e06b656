//! Every way an sts-face request fails, rendered as Alibaba's POP error body (spec §2.3):
//! `{"RequestId","HostId","Code","Message","Recommend"}` in JSON, or `<Error>` with the same
//! children when the request asked for `Format=XML`.

use super::render::{self, Format};
use axum::response::Response;
use http::StatusCode;
use serde_json::json;

/// What went wrong, by meaning. Each variant knows its Alibaba code, status and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StsError {
    /// A mandatory parameter (or its header form) is absent.
    MissingParameter(&'static str),
    /// The signature differs from ours; carries our string-to-sign, which clients compare.
    SignatureMismatch { string_to_sign: String },
    /// The signature fields are malformed or incomplete.
    IncompleteSignature(String),
    /// The access key id is neither the root key nor a temporary `STS.` key.
    AccessKeyNotFound,
    /// `Timestamp` / `x-acs-date` is outside ±15 minutes of the server's clock.
    TimestampExpired,
    /// `Timestamp` / `x-acs-date` is not `YYYY-MM-DDThh:mm:ssZ`.
    TimestampFormat,
    /// The nonce was used within the timestamp window.
    NonceUsed,
    /// A temporary `STS.` key came without its security token.
    MissingSecurityToken,
    /// The security token is not one of ours, or was altered.
    SecurityTokenMalformed,
    /// The security token has expired.
    SecurityTokenExpired,
    /// The operator revoked the credentials (or their caller): answered as an expired token
    /// (what the SDKs and apps handle by fetching new credentials), the message says revoked.
    SecurityTokenRevoked,
    /// The security token belongs to another access key id.
    SecurityTokenMismatch,
    /// `InvalidParameter.<field>`.
    InvalidParameter {
        field: &'static str,
        message: String,
    },
    /// The action is not one the sts face knows.
    InvalidAction(String),
    /// `Version` is not `2015-04-01`.
    InvalidVersion,
    /// The caller may not assume the role; the message says what to change.
    NoPermission(String),
    /// The role in `RoleArn` does not exist.
    RoleNotFound,
    /// Something on our side failed (details are logged, never sent).
    Internal,
}

impl StsError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> StsError {
        StsError::InvalidParameter {
            field,
            message: message.into(),
        }
    }

    /// The `Code` string clients match on.
    pub fn code(&self) -> String {
        match self {
            StsError::MissingParameter(_) => "MissingParameter".into(),
            StsError::SignatureMismatch { .. } => "SignatureDoesNotMatch".into(),
            StsError::IncompleteSignature(_) => "IncompleteSignature".into(),
            StsError::AccessKeyNotFound => "InvalidAccessKeyId.NotFound".into(),
            StsError::TimestampExpired => "InvalidTimeStamp.Expired".into(),
            StsError::TimestampFormat => "InvalidTimeStamp.Format".into(),
            StsError::NonceUsed => "SignatureNonceUsed".into(),
            StsError::MissingSecurityToken => "MissingSecurityToken".into(),
            StsError::SecurityTokenMalformed => "InvalidSecurityToken.Malformed".into(),
            StsError::SecurityTokenExpired | StsError::SecurityTokenRevoked => {
                "InvalidSecurityToken.Expired".into()
            }
            StsError::SecurityTokenMismatch => "InvalidSecurityToken.MismatchWithAccessKey".into(),
            StsError::InvalidParameter { field, .. } => format!("InvalidParameter.{field}"),
            StsError::InvalidAction(_) => "InvalidAction.NotFound".into(),
            StsError::InvalidVersion => "InvalidVersion".into(),
            StsError::NoPermission(_) => "NoPermission".into(),
            StsError::RoleNotFound => "EntityNotExist.Role".into(),
            StsError::Internal => "InternalError".into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            StsError::AccessKeyNotFound | StsError::InvalidAction(_) | StsError::RoleNotFound => {
                StatusCode::NOT_FOUND
            }
            StsError::NoPermission(_) => StatusCode::FORBIDDEN,
            StsError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    pub fn message(&self) -> String {
        match self {
            StsError::MissingParameter(name) => format!(
                "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
            ),
            // aliyun-python-sdk-core does `Message.split(':')[1]`: keep exactly one ':' before
            // the string-to-sign (RPC strings-to-sign have their colons percent-encoded).
            StsError::SignatureMismatch { string_to_sign } => format!(
                "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
            ),
            StsError::IncompleteSignature(why) => format!(
                "The request signature does not conform to Aliyun standards. {why}"
            ),
            StsError::AccessKeyNotFound => "Specified access key is not found.".into(),
            StsError::TimestampExpired => {
                "Specified time stamp or date value is expired.".into()
            }
            StsError::TimestampFormat => {
                "Specified time stamp or date value is not well formatted.".into()
            }
            StsError::NonceUsed => "Specified signature nonce was used already.".into(),
            StsError::MissingSecurityToken => {
                "The security token is required for a temporary access key (STS.*).".into()
            }
            StsError::SecurityTokenMalformed => "The security token you provided is malformed.".into(),
            StsError::SecurityTokenExpired => "The security token you provided has expired.".into(),
            StsError::SecurityTokenRevoked => {
                "The security token you provided has been revoked by the operator: get new credentials.".into()
            }
            StsError::SecurityTokenMismatch => {
                "The security token you provided does not match the access key id.".into()
            }
            StsError::InvalidParameter { message, .. } => message.clone(),
            StsError::InvalidAction(action) => format!(
                "Specified api \"{action}\" is not found, please check your url and method. This endpoint serves AssumeRole and GetCallerIdentity."
            ),
            StsError::InvalidVersion => {
                "Specified parameter Version is not valid: use 2015-04-01.".into()
            }
            StsError::NoPermission(detail) => format!(
                "You are not authorized to do this action. You should be authorized by RAM. {detail}"
            ),
            StsError::RoleNotFound => "The specified Role not exists .".into(),
            StsError::Internal => {
                "STS Server Internal Error happened, please send the RequestId to us.".into()
            }
        }
    }

    /// The POP error response.
    pub fn into_response(self, format: Format, request_id: &str, host_id: &str) -> Response {
        let code = self.code();
        tracing::debug!(request_id, code, "sts request refused");
        let body = json!({
            "RequestId": request_id,
            "HostId": host_id,
            "Code": code,
            "Message": self.message(),
            "Recommend": format!(
                "https://api.aliyun.com/troubleshoot?q={code}&product=Sts&requestId={request_id}"
            ),
        });
        render::respond(self.status(), format, "Error", &body, request_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(err: StsError, code: &str, status: u16) {
        assert_eq!(err.code(), code);
        assert_eq!(err.status().as_u16(), status);
        assert!(!err.message().is_empty());
    }

    #[test]
    fn codes_and_statuses() {
        check(
            StsError::MissingParameter("RoleArn"),
            "MissingParameter",
            400,
        );
        check(
            StsError::AccessKeyNotFound,
            "InvalidAccessKeyId.NotFound",
            404,
        );
        check(StsError::TimestampExpired, "InvalidTimeStamp.Expired", 400);
        check(StsError::NonceUsed, "SignatureNonceUsed", 400);
        check(
            StsError::invalid("RoleArn", "x"),
            "InvalidParameter.RoleArn",
            400,
        );
        check(
            StsError::InvalidAction("X".into()),
            "InvalidAction.NotFound",
            404,
        );
        check(StsError::InvalidVersion, "InvalidVersion", 400);
        check(StsError::NoPermission("x".into()), "NoPermission", 403);
        check(StsError::RoleNotFound, "EntityNotExist.Role", 404);
        check(StsError::Internal, "InternalError", 500);
    }

    #[test]
    fn signature_mismatch_message_splits_on_the_first_colon() {
        let sts = "POST&%2F&AccessKeyId%3Dk".to_string();
        let message = StsError::SignatureMismatch {
            string_to_sign: sts.clone(),
        }
        .message();
        assert_eq!(message.split(':').nth(1), Some(sts.as_str()));
    }
}
