//! The two actions, after the caller is authenticated: `AssumeRole` and `GetCallerIdentity`.

use super::auth::{Caller, SignedFields};
use super::error::StsError;
use super::request::Incoming;
use super::{internal, params, StsState};
use crate::common::dates::iso8601;
use crate::iam::role_id;
use serde_json::{json, Value};
use time::OffsetDateTime;

fn required<'a>(req: &'a Incoming, name: &'static str) -> Result<&'a str, StsError> {
    req.param(name)
        .filter(|v| !v.is_empty())
        .ok_or(StsError::MissingParameter(name))
}

/// What an `AssumeRole` issued, for its audit row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assumed {
    pub role_arn: String,
    pub session_name: String,
    /// The temporary `STS.` access key id issued.
    pub access_key_id: String,
    /// Unix seconds.
    pub expiration: i64,
}

/// `AssumeRole`: checks the parameters (§2.1), the role and its trust list, then mints
/// credentials whose permission is the role's policy ∩ the session `Policy`.
pub fn assume_role(
    state: &StsState,
    caller: &Caller,
    fields: &SignedFields,
    req: &Incoming,
    now: OffsetDateTime,
    request_id: &str,
) -> Result<(Value, Assumed), StsError> {
    let (account, name) = params::role_arn(required(req, "RoleArn")?)?;
    let session = required(req, "RoleSessionName")?;
    params::session_name(session)?;
    if let Some(id) = req.param("ExternalId").filter(|v| !v.is_empty()) {
        params::external_id(id)?;
    }
    let source_identity = req.param("SourceIdentity").filter(|v| !v.is_empty());
    if let Some(identity) = source_identity {
        params::source_identity(identity)?;
    }
    let session_policy = match req.param("Policy").filter(|v| !v.is_empty()) {
        Some(text) => Some(params::policy(text)?),
        None => None,
    };
    let role = match account == state.keys.account_id {
        true => state.iam.get(&name).map_err(|e| internal(request_id, e))?,
        false => None,
    };
    let role = role.ok_or(StsError::RoleNotFound)?;
    let role_arn = role.arn(&account);
    match caller {
        Caller::Root | Caller::Key(_) if role.trusted.contains(&fields.access_key_id) => {}
        Caller::Root | Caller::Key(_) => {
            return Err(StsError::NoPermission(format!(
                "Access key {} is not trusted by role {role_arn}. To allow it, run: stsgate role trust --data <DIR> --name {} --key {}",
                fields.access_key_id, role.name, fields.access_key_id
            )))
        }
        Caller::Temporary(_) => {
            return Err(StsError::NoPermission(format!(
                "Temporary credentials (STS.*) cannot assume role {role_arn} on stsgate: call AssumeRole with a long-term access key the role trusts (see: stsgate role list)."
            )))
        }
    }
    let duration = params::duration(req.param("DurationSeconds"), role.max_session)?;
    let minted = state.keys.tokens.mint(
        &role_arn,
        session,
        Some(role.policy.clone()),
        session_policy,
        duration,
        now,
    );
    let mut body = json!({
        "RequestId": request_id,
        "AssumedRoleUser": {
            "AssumedRoleId": format!("{}:{session}", role.id(&account)),
            "Arn": format!("{role_arn}/{session}"),
        },
        "Credentials": {
            "AccessKeyId": minted.access_key_id,
            "AccessKeySecret": minted.access_key_secret.expose(),
            "SecurityToken": minted.security_token,
            "Expiration": iso8601(minted.expiration),
        },
    });
    if let Some(identity) = source_identity {
        body["SourceIdentity"] = json!(identity);
    }
    let assumed = Assumed {
        role_arn,
        session_name: session.to_string(),
        access_key_id: minted.access_key_id.clone(),
        expiration: minted.expiration.unix_timestamp(),
    };
    Ok((body, assumed))
}

/// `GetCallerIdentity` (§2.4). The root key answers as the account itself (`Account`, ARN
/// `acs:ram::<acct>:root`); temporary credentials as `AssumedRoleUser`.
pub fn get_caller_identity(state: &StsState, caller: &Caller, request_id: &str) -> Value {
    let account = &state.keys.account_id;
    match caller {
        Caller::Root => json!({
            "RequestId": request_id,
            "IdentityType": "Account",
            "AccountId": account,
            "UserId": account,
            "PrincipalId": account,
            "Arn": format!("acs:ram::{account}:root"),
        }),
        Caller::Key(name) => json!({
            "RequestId": request_id,
            "IdentityType": "RAMUser",
            "AccountId": account,
            "UserId": name,
            "PrincipalId": name,
            "Arn": format!("acs:ram::{account}:user/{name}"),
        }),
        Caller::Temporary(claims) => {
            let role = claims
                .role_arn
                .rsplit_once(":role/")
                .map(|(_, name)| name)
                .unwrap_or(&claims.role_arn);
            let id = role_id(account, role);
            json!({
                "RequestId": request_id,
                "IdentityType": "AssumedRoleUser",
                "AccountId": account,
                "RoleId": id,
                "PrincipalId": format!("{id}:{}", claims.session_name),
                "Arn": format!("acs:ram::{account}:assumed-role/{role}/{}", claims.session_name),
            })
        }
    }
}
