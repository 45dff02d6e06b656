//! The answer shapes Alibaba clients read (and stsgate's own, which shares their field names),
//! rendered from vendor-neutral [`Issued`] credentials:
//!
//! - `stsgate` — the four fields plus `Vendor`, `Bucket`, `Region`, `Endpoint`, `Prefix`,
//!   `Actions` (for credentials of either cloud);
//! - `aliyun-sts` — STS `AssumeRole` JSON (`RequestId`, `AssumedRoleUser`, `Credentials`);
//! - `oss-app-server` — what the OSS Android/iOS SDKs' auth-server credential provider reads
//!   (the four fields and `StatusCode: 200`);
//! - `alibaba-credentials-uri` — what the Alibaba Cloud credentials URI provider reads (the four
//!   fields and `Code: Success`).
//!
//! Each carries `ServerTime`, `StartTime` and `RefreshAfter`.

use crate::common::dates::iso8601;
use crate::common::issued::Issued;

/// The shapes of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Stsgate,
    AliyunSts,
    OssAppServer,
    CredentialsUri,
}

/// The answer body in `shape`, serialised; `account_id` names the embedded role in
/// `AssumedRoleUser` when no upstream said who the credentials act as.
pub fn render(
    issued: &Issued,
    shape: Shape,
    account_id: &str,
    request_id: &str,
    server_time: &str,
) -> Vec<u8> {
    serde_json::to_vec(&answer(issued, shape, account_id, request_id, server_time))
        .unwrap_or_default()
}

/// The four credential fields.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct Four<'a> {
    access_key_id: &'a str,
    access_key_secret: &'a str,
    security_token: &'a str,
    expiration: String,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct RoleUser {
    assumed_role_id: String,
    arn: String,
}

/// Every format's fields (each format leaves out the ones it does not have).
#[derive(serde::Serialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Answer<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    assumed_role_user: Option<RoleUser>,
    #[serde(skip_serializing_if = "Option::is_none")]
    credentials: Option<Four<'a>>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    four: Option<Four<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vendor: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bucket: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prefix: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actions: Option<&'a [&'static str]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    server_time: String,
    start_time: String,
    refresh_after: String,
}

fn answer<'a>(
    issued: &'a Issued,
    shape: Shape,
    account_id: &str,
    request_id: &'a str,
    server_time: &str,
) -> Answer<'a> {
    let m = &issued.minted;
    let four = Four {
        access_key_id: &m.access_key_id,
        access_key_secret: m.access_key_secret.expose(),
        security_token: &m.security_token,
        expiration: iso8601(m.expiration),
    };
    let base = Answer {
        server_time: server_time.to_string(),
        start_time: iso8601(issued.start),
        refresh_after: iso8601(issued.refresh_after()),
        ..Answer::default()
    };
    match shape {
        Shape::Stsgate => Answer {
            four: Some(four),
            vendor: Some(issued.vendor.name()),
            bucket: Some(&issued.bucket),
            region: Some(&issued.region),
            endpoint: Some(issued.endpoint.as_deref()),
            prefix: Some(&issued.prefix),
            actions: Some(&issued.actions),
            ..base
        },
        Shape::AliyunSts => {
            let user = match &issued.assumed_role_user {
                Some(u) => RoleUser {
                    assumed_role_id: u.assumed_role_id.clone(),
                    arn: u.arn.clone(),
                },
                None => {
                    let role_id = crate::iam::role_id(account_id, crate::iam::DEFAULT_ROLE);
                    RoleUser {
                        assumed_role_id: format!("{role_id}:{}", issued.session_name),
                        arn: format!("{}/{}", issued.role_arn, issued.session_name),
                    }
                }
            };
            Answer {
                request_id: Some(request_id),
                assumed_role_user: Some(user),
                credentials: Some(four),
                ..base
            }
        }
        Shape::OssAppServer => Answer {
            four: Some(four),
            status_code: Some(200),
            ..base
        },
        Shape::CredentialsUri => Answer {
            four: Some(four),
            code: Some("Success"),
            ..base
        },
    }
}
