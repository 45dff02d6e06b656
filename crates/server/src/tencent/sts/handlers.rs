//! The three actions, after the caller is authenticated: `GetFederationToken`, `AssumeRole`
//! and `GetCallerIdentity`.
//!
//! Every credential the face issues carries the `caller` claim `tc-sts:<SecretId>` of the
//! permanent key at the root of its chain (the key that called, or the one its caller's
//! credentials descend from). Role chaining is judged by that key, and
//! `POST /v1/revoke {"caller": "tc-sts:<SecretId>"}` revokes everything issued under it.

use super::auth::{Caller, SignedFields};
use super::error::TcStsError;
use super::params::{self, RoleRef};
use super::request::Incoming;
use super::{internal, render, TcStsState};
use crate::common::provider::Vendor;
use crate::iam::{role_id, Role};
use crate::token::MintSpec;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use stsgate_policy::{Context, Decision, Request};
use time::OffsetDateTime;

/// The prefix of the `caller` claim of every credential the face issues.
pub const ANCHOR_PREFIX: &str = "tc-sts:";

fn required<'a>(req: &'a Incoming, name: &'static str) -> Result<&'a str, TcStsError> {
    req.non_empty(name)
        .ok_or(TcStsError::MissingParameter(name))
}

/// What an issuance gave, for its audit row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// `Name` of GetFederationToken, `RoleSessionName` of AssumeRole.
    pub session_name: String,
    /// AssumeRole's role (`qcs::cam::uin/<uin>:roleName/<name>`).
    pub role_arn: Option<String>,
    /// The temporary SecretId issued.
    pub access_key_id: String,
    /// Unix seconds.
    pub expiration: i64,
}

/// The Uin of a sub-account for an extra key: `100` and 9 digits of SHA-256(uin/key id), stable.
pub fn sub_uin(uin: &str, key_id: &str) -> String {
    let digest = Sha256::digest(format!("{uin}/{key_id}"));
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    format!("100{:09}", u64::from_be_bytes(first) % 1_000_000_000)
}

/// The Uin a permanent key acts as: the account's for the root key, else its sub-account's.
fn principal_uin(state: &TcStsState, key_id: &str) -> String {
    let root = state.keys.tencent_root.as_ref().map(|k| k.id.as_str());
    match root == Some(key_id) {
        true => state.uin.clone(),
        false => sub_uin(&state.uin, key_id),
    }
}

/// The `caller` claim for what `caller` (signing with `secret_id`) gets issued.
fn anchor(caller: &Caller, secret_id: &str) -> Option<String> {
    match caller {
        Caller::Root | Caller::Key(_) => Some(format!("{ANCHOR_PREFIX}{secret_id}")),
        Caller::Temporary(claims) => claims
            .caller
            .clone()
            .filter(|c| c.starts_with(ANCHOR_PREFIX)),
    }
}

fn mint(
    state: &TcStsState,
    anchor: Option<&str>,
    role_arn: &str,
    session_name: &str,
    policy: Option<String>,
    duration_secs: i64,
    now: OffsetDateTime,
) -> crate::token::Minted {
    // A Tencent role's RAM permission policy says nothing about COS: only the request's CAM
    // policy limits the credentials (see ARCHITECTURE.md, FIXME).
    let spec = MintSpec {
        vendor: Vendor::Tencent,
        caller: anchor,
        role_arn,
        session_name,
        role_policy: None,
        session_policy: policy,
        duration_secs,
    };
    state.keys.tokens.mint_spec(spec, now)
}

/// `GetFederationToken`: permanent keys only; `Name` and `Policy` required; 1800 s by default,
/// at most 7200 s for the root key and 129600 s for an extra key (a sub-account).
pub fn get_federation_token(
    state: &TcStsState,
    caller: &Caller,
    fields: &SignedFields,
    req: &Incoming,
    now: OffsetDateTime,
    request_id: &str,
) -> Result<(Value, Issued), TcStsError> {
    let (max, limit) = match caller {
        Caller::Temporary(_) => return Err(TcStsError::TempKeyNotAllowed),
        Caller::Root => (params::FEDERATION_MAX_ROOT, "the root key's maximum"),
        Caller::Key(_) => (params::FEDERATION_MAX_SUB, "a sub-account key's maximum"),
    };
    let name = required(req, "Name")?;
    params::name(name)?;
    let policy = params::policy(required(req, "Policy")?)?;
    let duration = params::duration(
        req.param("DurationSeconds"),
        params::FEDERATION_DEFAULT,
        max,
        limit,
    )?;
    let principal = principal_uin(state, &fields.secret_id);
    let federated = format!("qcs::sts:{}:federated-user/{principal}", state.uin);
    let anchor = anchor(caller, &fields.secret_id);
    let minted = mint(
        state,
        anchor.as_deref(),
        &federated,
        name,
        Some(policy),
        duration,
        now,
    );
    let issued = Issued {
        session_name: name.to_string(),
        role_arn: None,
        access_key_id: minted.access_key_id.clone(),
        expiration: minted.expiration.unix_timestamp(),
    };
    Ok((render::credentials(&minted, request_id), issued))
}

/// `AssumeRole`: a role of this account (by name or id); the root key may assume any, an extra
/// key those that trust it, temporary credentials (role chaining) as their root key may, and
/// only if their own session policy allows `sts:AssumeRole` on the role. Chained credentials
/// never outlive their caller's.
pub fn assume_role(
    state: &TcStsState,
    caller: &Caller,
    fields: &SignedFields,
    req: &Incoming,
    now: OffsetDateTime,
    client_ip: &str,
    request_id: &str,
) -> Result<(Value, Issued), TcStsError> {
    let (uin, role_ref) = params::role_arn(required(req, "RoleArn")?)?;
    let session = required(req, "RoleSessionName")?;
    params::session_name(session)?;
    if let Some(id) = req.non_empty("ExternalId") {
        params::external_id(id)?;
    }
    let session_policy = req.non_empty("Policy").map(params::policy).transpose()?;
    let role = find_role(state, &uin, &role_ref, request_id)?;
    let role_arn = format!("qcs::cam::uin/{uin}:roleName/{}", role.name);
    may_assume(state, caller, fields, &role, &role_arn, now, client_ip)?;
    let max = params::ASSUME_MAX.min(role.max_session);
    let limit = format!("role {}'s maximum session duration", role.name);
    let mut duration = params::duration(
        req.param("DurationSeconds"),
        params::ASSUME_DEFAULT,
        max,
        &limit,
    )?;
    if let Caller::Temporary(claims) = caller {
        duration = duration.min(claims.exp - now.unix_timestamp()).max(1);
    }
    let anchor = anchor(caller, &fields.secret_id);
    let minted = mint(
        state,
        anchor.as_deref(),
        &role_arn,
        session,
        session_policy,
        duration,
        now,
    );
    let issued = Issued {
        session_name: session.to_string(),
        role_arn: Some(role_arn),
        access_key_id: minted.access_key_id.clone(),
        expiration: minted.expiration.unix_timestamp(),
    };
    Ok((render::credentials(&minted, request_id), issued))
}

fn find_role(
    state: &TcStsState,
    uin: &str,
    role_ref: &RoleRef,
    request_id: &str,
) -> Result<Role, TcStsError> {
    if uin != state.uin {
        return Err(TcStsError::RoleNotFound(format!(
            "RoleArn names account {uin}; this server's Tencent account is {}.",
            state.uin
        )));
    }
    let found = match role_ref {
        RoleRef::Name(name) => state.iam.get(name),
        RoleRef::Id(id) => state
            .iam
            .list()
            .map(|roles| roles.into_iter().find(|r| role_id(uin, &r.name) == *id)),
    };
    found.map_err(|e| internal(request_id, e))?.ok_or_else(|| {
        TcStsError::RoleNotFound("See the roles with: stsgate role list --data <DIR>.".into())
    })
}

#[allow(clippy::too_many_arguments)]
fn may_assume(
    state: &TcStsState,
    caller: &Caller,
    fields: &SignedFields,
    role: &Role,
    role_arn: &str,
    now: OffsetDateTime,
    client_ip: &str,
) -> Result<(), TcStsError> {
    let untrusted = |key: &str| {
        TcStsError::Unauthorized(format!(
            "Key {key} is not trusted by role {role_arn}. To allow it, run: stsgate role trust --data <DIR> --name {} --key {key}",
            role.name
        ))
    };
    let claims = match caller {
        Caller::Root => return Ok(()),
        Caller::Key(_) if role.trusted.contains(&fields.secret_id) => return Ok(()),
        Caller::Key(_) => return Err(untrusted(&fields.secret_id)),
        Caller::Temporary(claims) => claims,
    };
    let Some(root_key) = anchor(caller, &fields.secret_id) else {
        return Err(TcStsError::Unauthorized(
            "These temporary credentials were not issued by GetFederationToken or AssumeRole of this endpoint, so they cannot assume roles.".into(),
        ));
    };
    let root_key = root_key.trim_start_matches(ANCHOR_PREFIX);
    let is_root = state.keys.tencent_root.as_ref().map(|k| k.id.as_str()) == Some(root_key);
    if !is_root && !role.trusted.iter().any(|k| k == root_key) {
        return Err(untrusted(root_key));
    }
    let Some(policy) = &claims.session_policy else {
        return Ok(());
    };
    let allowed = stsgate_policy::parse_cam(policy).is_ok_and(|p| {
        let context = Context {
            source_ip: client_ip.parse().ok(),
            current_time: now,
            secure_transport: false,
            user_agent: None,
            access_key_id: Some(fields.secret_id.clone()),
            prefix: None,
            delimiter: None,
            existing_object_tags: None,
            request_object_tags: None,
        };
        let request = Request {
            action: "sts:AssumeRole",
            resource: role_arn,
            context: &context,
        };
        p.evaluate(&request) == Decision::Allow
    });
    match allowed {
        true => Ok(()),
        false => Err(TcStsError::Unauthorized(format!(
            "The caller's policy does not allow sts:AssumeRole on {role_arn}: issue its credentials with a statement {{\"effect\":\"allow\",\"action\":\"name/sts:AssumeRole\",\"resource\":\"{role_arn}\"}}."
        ))),
    }
}

/// `GetCallerIdentity`, in the shapes of Tencent's examples: a permanent key is a `CAMUser`
/// (`qcs::cam:<uin>:uin/<uin>`; an extra key as a sub-account), AssumeRole credentials a
/// `CAMRole` (`qcs::sts:<uin>:assumed-role/<roleId>`, UserId `<roleId>:<session>`),
/// GetFederationToken credentials a `CAMUser` (`qcs::sts:<uin>:federated-user/<uin>`, UserId
/// `<uin>:<Name>`).
pub fn get_caller_identity(
    state: &TcStsState,
    caller: &Caller,
    fields: &SignedFields,
    request_id: &str,
) -> Value {
    let uin = &state.uin;
    let (kind, arn, user_id, principal) = match caller {
        Caller::Root | Caller::Key(_) => {
            let me = principal_uin(state, &fields.secret_id);
            (
                "CAMUser",
                format!("qcs::cam:{uin}:uin/{me}"),
                me.clone(),
                me,
            )
        }
        Caller::Temporary(claims) => {
            let principal = claims
                .caller
                .as_deref()
                .and_then(|c| c.strip_prefix(ANCHOR_PREFIX))
                .map_or_else(|| uin.clone(), |key| principal_uin(state, key));
            match claims.role_arn.contains(":federated-user/") {
                true => (
                    "CAMUser",
                    claims.role_arn.clone(),
                    format!("{principal}:{}", claims.session_name),
                    principal,
                ),
                false => {
                    let role = claims
                        .role_arn
                        .rsplit_once(":roleName/")
                        .map_or(claims.role_arn.as_str(), |(_, name)| name);
                    let id = role_id(uin, role);
                    (
                        "CAMRole",
                        format!("qcs::sts:{uin}:assumed-role/{id}"),
                        format!("{id}:{}", claims.session_name),
                        principal,
                    )
                }
            }
        }
    };
    json!({
        "Arn": arn,
        "AccountId": uin,
        "UserId": user_id,
        "PrincipalId": principal,
        "Type": kind,
        "RequestId": request_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_uins_are_stable_12_digit_numbers() {
        let a = sub_uin("100000000001", "LTAIkey");
        assert_eq!(a.len(), 12);
        assert!(a.starts_with("100") && a.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(a, sub_uin("100000000001", "LTAIkey"));
        assert_ne!(a, sub_uin("100000000001", "LTAIother"));
    }

    #[test]
    fn a_cam_policy_can_grant_assume_role_on_a_role_arn() {
        let check = |policy: &str, arn: &str, expected: Decision| {
            let p = stsgate_policy::parse_cam(policy).unwrap();
            let context = Context {
                source_ip: None,
                current_time: OffsetDateTime::UNIX_EPOCH,
                secure_transport: false,
                user_agent: None,
                access_key_id: None,
                prefix: None,
                delimiter: None,
                existing_object_tags: None,
                request_object_tags: None,
            };
            let request = Request {
                action: "sts:AssumeRole",
                resource: arn,
                context: &context,
            };
            assert_eq!(p.evaluate(&request), expected, "{policy} {arn}");
        };
        let arn = "qcs::cam::uin/100000000001:roleName/app";
        let grant = |resource: &str| {
            format!(
                r#"{{"version":"2.0","statement":[{{"effect":"allow","action":"name/sts:AssumeRole","resource":"{resource}"}}]}}"#
            )
        };
        check(&grant("*"), arn, Decision::Allow);
        check(&grant(arn), arn, Decision::Allow);
        check(
            &grant("qcs::cam::uin/100000000001:roleName/other"),
            arn,
            Decision::ImplicitDeny,
        );
        let cos_only = r#"{"version":"2.0","statement":[{"effect":"allow","action":"name/cos:*","resource":"*"}]}"#;
        check(cos_only, arn, Decision::ImplicitDeny);
    }
}
