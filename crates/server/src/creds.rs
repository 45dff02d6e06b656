//! `stsgate creds issue`: temporary credentials straight from the data directory, printed as
//! Alibaba STS AssumeRole JSON (used by tests until the sts face exists).

use crate::datadir::DataDir;
use crate::token::{Minted, TokenKey};
use anyhow::bail;
use serde_json::json;
use time::OffsetDateTime;

/// The role name credentials issued from the command line carry.
pub const CLI_ROLE: &str = "stsgate-cli";

use crate::common::dates::iso8601 as sts_time;

/// Mints credentials limited by `policy_json` for `duration_secs` (1..=43200).
pub fn issue(
    dir: &DataDir,
    policy_json: &str,
    duration_secs: i64,
    session_name: &str,
    now: OffsetDateTime,
) -> anyhow::Result<(Minted, serde_json::Value)> {
    if !(1..=43_200).contains(&duration_secs) {
        bail!("--duration must be from 1 to 43200 seconds, got {duration_secs}");
    }
    if !crate::aliyun::sts::params::valid_session_name(session_name) {
        bail!("--session-name must be 2-64 characters of letters, digits, '.', '@', '_' or '-', got {session_name:?}");
    }
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
