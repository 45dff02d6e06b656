//! `stsgate creds issue`: temporary credentials straight from the data directory, printed as
//! Alibaba STS AssumeRole JSON (`--vendor aliyun`, RAM policy) or as qcloud-cos-sts's
//! `getCredential` JSON (`--vendor tencent`, CAM policy).

use crate::common::provider::Vendor;
use crate::datadir::DataDir;
use crate::token::{MintSpec, Minted, TokenKey};
use anyhow::bail;
use serde_json::json;
use time::OffsetDateTime;

/// The role name credentials issued from the command line carry.
pub const CLI_ROLE: &str = "stsgate-cli";

use crate::common::dates::iso8601 as sts_time;

/// Mints credentials of `vendor` limited by `policy_json` (RAM for Alibaba, CAM for Tencent)
/// for `duration_secs` (1..=43200), in that vendor's JSON.
pub fn issue_for(
    vendor: Vendor,
    dir: &DataDir,
    policy_json: &str,
    duration_secs: i64,
    session_name: &str,
    now: OffsetDateTime,
) -> anyhow::Result<(Minted, serde_json::Value)> {
    match vendor {
        Vendor::Aliyun => issue(dir, policy_json, duration_secs, session_name, now),
        Vendor::Tencent => issue_tencent(dir, policy_json, duration_secs, session_name, now),
    }
}

fn check_args(duration_secs: i64, session_name: &str) -> anyhow::Result<()> {
    if !(1..=43_200).contains(&duration_secs) {
        bail!("--duration must be from 1 to 43200 seconds, got {duration_secs}");
    }
    if !crate::aliyun::sts::params::valid_session_name(session_name) {
        bail!("--session-name must be 2-64 characters of letters, digits, '.', '@', '_' or '-', got {session_name:?}");
    }
    Ok(())
}

/// Tencent credentials limited by the CAM policy `policy_json`, printed as qcloud-cos-sts's
/// `getCredential` answer: `{credentials: {tmpSecretId, tmpSecretKey, sessionToken},
/// startTime, expiredTime, expiration, requestId}`.
pub fn issue_tencent(
    dir: &DataDir,
    policy_json: &str,
    duration_secs: i64,
    session_name: &str,
    now: OffsetDateTime,
) -> anyhow::Result<(Minted, serde_json::Value)> {
    check_args(duration_secs, session_name)?;
    let Some(account) = &dir.tencent else {
        bail!(
            "{} has no Tencent account yet: start `stsgate serve --data {}` once",
            dir.path.display(),
            dir.path.display()
        );
    };
    let policy = stsgate_policy::parse_cam(policy_json)
        .map_err(|e| anyhow::anyhow!("the CAM policy is invalid: {e}"))?;
    let role_arn = format!("qcs::cam::uin/{}:roleName/{CLI_ROLE}", account.uin);
    let minted = TokenKey::new(&dir.master_key).mint_spec(
        MintSpec {
            vendor: Vendor::Tencent,
            caller: None,
            role_arn: &role_arn,
            session_name,
            role_policy: None,
            session_policy: Some(policy.to_json()),
            duration_secs,
        },
        now,
    );
    let answer = json!({
        "credentials": {
            "tmpSecretId": minted.access_key_id,
            "tmpSecretKey": minted.access_key_secret.expose(),
            "sessionToken": minted.security_token,
        },
        "startTime": now.unix_timestamp(),
        "expiredTime": minted.expiration.unix_timestamp(),
        "expiration": sts_time(minted.expiration),
        "requestId": uuid::Uuid::new_v4().to_string(),
    });
    Ok((minted, answer))
}

/// Mints credentials limited by `policy_json` for `duration_secs` (1..=43200).
pub fn issue(
    dir: &DataDir,
    policy_json: &str,
    duration_secs: i64,
    session_name: &str,
    now: OffsetDateTime,
) -> anyhow::Result<(Minted, serde_json::Value)> {
    check_args(duration_secs, session_name)?;
    let policy = stsgate_policy::parse(policy_json)
        .map_err(|e| anyhow::anyhow!("the policy is invalid: {e}"))?;
    let role_arn = format!("acs:ram::{}:role/{CLI_ROLE}", dir.account_id);
    let minted = TokenKey::new(&dir.master_key).mint(
        &role_arn,
        session_name,
        None,
        Some(policy.to_json()),
        duration_secs,
        now,
    );
    let role_id: String = dir.account_id.chars().rev().collect();
    let answer = json!({
        "RequestId": crate::aliyun::oss::request_id(),
        "AssumedRoleUser": {
            "AssumedRoleId": format!("{role_id}:{session_name}"),
            "Arn": format!("{role_arn}/{session_name}"),
        },
        "Credentials": {
            "AccessKeyId": minted.access_key_id,
            "AccessKeySecret": minted.access_key_secret.expose(),
            "SecurityToken": minted.security_token,
            "Expiration": sts_time(minted.expiration),
        },
    });
    Ok((minted, answer))
}
