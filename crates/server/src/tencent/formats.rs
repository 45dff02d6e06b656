//! The answer shapes Tencent clients read, rendered from vendor-neutral [`Issued`] credentials:
//!
//! - `tencent` — what the `qcloud-cos-sts` SDKs' `getCredential` returns, and what
//!   `cos-js-sdk-v5`/`cos-nodejs-sdk-v5` apps map into `getAuthorization`'s callback:
//!   `{credentials:{tmpSecretId,tmpSecretKey,sessionToken}, startTime, expiredTime, expiration,
//!   requestId}`;
//! - `tencent-legacy` — seed 004's `GET /sign` answer, also what the COS Android SDK's default
//!   (`VERSION_2`) parser reads: `{code:0, message:"", codeDesc:"Success", data:{credentials,
//!   expiredTime, startTime}}`;
//! - `tencent-v3` — Tencent STS's own JSON (the Android SDK's `VERSION_3` parser):
//!   `{Response:{Credentials:{Token,TmpSecretId,TmpSecretKey}, ExpiredTime, Expiration,
//!   RequestId}}`.
//!
//! Times: `startTime`/`expiredTime` are Unix seconds (10 digits, as `getAuthorization` demands),
//! `expiration` ISO 8601 UTC.

use crate::common::dates::iso8601;
use crate::common::issued::Issued;
use serde_json::json;

/// The shapes of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Tencent,
    Legacy,
    V3,
}

/// The answer body in `shape`, serialised.
pub fn render(issued: &Issued, shape: Shape, request_id: &str) -> Vec<u8> {
    let m = &issued.minted;
    let expired = m.expiration.unix_timestamp();
    let start = issued.start.unix_timestamp();
    let lower = json!({
        "sessionToken": m.security_token,
        "tmpSecretId": m.access_key_id,
        "tmpSecretKey": m.access_key_secret.expose(),
    });
    let body = match shape {
        Shape::Tencent => json!({
            "credentials": lower,
            "startTime": start,
            "expiredTime": expired,
            "expiration": iso8601(m.expiration),
            "requestId": request_id,
        }),
        Shape::Legacy => json!({
            "code": 0,
            "message": "",
            "codeDesc": "Success",
            "data": {
                "credentials": lower,
                "startTime": start,
                "expiredTime": expired,
            },
        }),
        Shape::V3 => json!({
            "Response": {
                "Credentials": {
                    "Token": m.security_token,
                    "TmpSecretId": m.access_key_id,
                    "TmpSecretKey": m.access_key_secret.expose(),
                },
                "ExpiredTime": expired,
                "Expiration": iso8601(m.expiration),
                "RequestId": request_id,
            },
        }),
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The error fields of `shape` for a refusal with `code` and `message`, merged into the api
/// face's `{"error":{…}}` body: `tencent` carries `Code`/`Message`/`RequestId` (what
/// `qcloud-cos-sts` hands its callers), `tencent-legacy` a non-zero `code` with `codeDesc`
/// (the Android SDK treats `code > 0` as an error), `tencent-v3` `Response.Error`.
pub fn error_fields(
    shape: Shape,
    status: u16,
    code: &str,
    message: &str,
    request_id: &str,
) -> serde_json::Value {
    match shape {
        Shape::Tencent => json!({"Code": code, "Message": message, "RequestId": request_id}),
        Shape::Legacy => json!({"code": status, "codeDesc": code, "message": message}),
        Shape::V3 => json!({
            "Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id},
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::provider::Vendor;
    use crate::datadir::MasterKey;
    use crate::token::{MintSpec, TokenKey};
    use serde_json::Value;
    use time::OffsetDateTime;

    fn issued() -> Issued {
        let start = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let key = TokenKey::new(&MasterKey(zeroize::Zeroizing::new([3; 32])));
        let minted = key.mint_spec(
            MintSpec {
                vendor: Vendor::Tencent,
                caller: None,
                role_arn: "r",
                session_name: "s",
                role_policy: None,
                session_policy: None,
                duration_secs: 1800,
            },
            start,
        );
        Issued {
            vendor: Vendor::Tencent,
            minted,
            start,
            role_arn: "r".into(),
            session_name: "s".into(),
            bucket: "app-1250000000".into(),
            prefix: "users/a/".into(),
            actions: vec!["read"],
            endpoint: None,
            region: "ap-guangzhou".into(),
            assumed_role_user: None,
            rendered: Default::default(),
        }
    }

    fn check(i: &Issued, shape: Shape, pointer: &str, expected: Value) {
        let v: Value = serde_json::from_slice(&render(i, shape, "req-1")).unwrap();
        assert_eq!(
            v.pointer(pointer),
            Some(&expected),
            "{shape:?} {pointer}: {v}"
        );
    }

    #[test]
    fn shapes_carry_what_each_sdk_reads() {
        let i = issued();
        let id = Value::from(i.minted.access_key_id.clone());
        check(&i, Shape::Tencent, "/credentials/tmpSecretId", id.clone());
        check(&i, Shape::Tencent, "/startTime", 1_700_000_000.into());
        check(&i, Shape::Tencent, "/expiredTime", 1_700_001_800.into());
        check(
            &i,
            Shape::Tencent,
            "/expiration",
            "2023-11-14T22:43:20Z".into(),
        );
        check(&i, Shape::Tencent, "/requestId", "req-1".into());
        check(&i, Shape::Legacy, "/code", 0.into());
        check(&i, Shape::Legacy, "/codeDesc", "Success".into());
        check(
            &i,
            Shape::Legacy,
            "/data/credentials/tmpSecretId",
            id.clone(),
        );
        check(&i, Shape::Legacy, "/data/expiredTime", 1_700_001_800.into());
        check(&i, Shape::V3, "/Response/Credentials/TmpSecretId", id);
        check(&i, Shape::V3, "/Response/ExpiredTime", 1_700_001_800.into());
        check(&i, Shape::V3, "/Response/RequestId", "req-1".into());
        let token = Value::from(i.minted.security_token.clone());
        check(&i, Shape::V3, "/Response/Credentials/Token", token.clone());
        check(&i, Shape::Tencent, "/credentials/sessionToken", token);
    }

    #[test]
    fn errors_in_each_shape() {
        let e = error_fields(Shape::Legacy, 403, "OutsideGrant", "no", "r");
        assert_eq!(e["code"], 403);
        assert_eq!(e["codeDesc"], "OutsideGrant");
        let e = error_fields(Shape::V3, 403, "OutsideGrant", "no", "r");
        assert_eq!(e["Response"]["Error"]["Code"], "OutsideGrant");
        assert_eq!(e["Response"]["RequestId"], "r");
        let e = error_fields(Shape::Tencent, 403, "OutsideGrant", "no", "r");
        assert_eq!(e["Code"], "OutsideGrant");
    }
}
