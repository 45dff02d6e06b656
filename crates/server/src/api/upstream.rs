//! Grants of a remote provider (`provider = "NAME"`, a `[provider.NAME]` of type `aliyun`):
//! their credentials come from the cloud's STS, not from the embedded faces.
//!
//! ```text
//! credentials::scoped_for: cache slot (caller, grant, prefix), locked: fresh → reuse
//!   → else issue: the grant's policy for the prefix (inline, ≤ MAX_POLICY_BYTES), the grant's
//!      default duration (signing asks: 1.5 × the life they need, within the grant's maximum)
//!      → AssumeRole(role_arn, session_name_for(caller), policy, duration) awaited under the
//!        slot's lock (single-flight: N askers of one slot cost one call; a failure is not
//!        cached, but the askers already waiting on the slot share it)
//!      → audit row `issued` (provider, upstream RequestId, session) → cache → answer
//! ```
//!
//! Presigned URLs, post policies and `/v1/sign` signatures for these grants are still made here,
//! with the caller's cached scoped credentials; only the endpoint and region are the provider's
//! ([`oss_target`]).

use super::audit::Record;
use super::callers::Caller;
use super::credentials::Issued;
use super::error::ApiError;
use super::grants::Grant;
use super::ApiState;
use crate::provider::aliyun::{self, AliyunProvider, AssumeRoleInput, MAX_POLICY_BYTES};
use crate::provider::Provider;
use std::sync::Arc;
use time::OffsetDateTime;

/// The `AssumedRoleUser` of an upstream `AssumeRole` (answered as is in `format=aliyun-sts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumedRoleUser {
    pub arn: String,
    pub assumed_role_id: String,
}

/// The remote provider issuing `grant`'s credentials (`None`: the embedded `local` one).
pub fn provider_of(
    state: &ApiState,
    grant: &Grant,
) -> Result<Option<Arc<AliyunProvider>>, ApiError> {
    match state.providers.get(Some(&grant.provider)) {
        Some(Provider::Local) => Ok(None),
        Some(Provider::Aliyun(p)) => Ok(Some(p.clone())),
        // `serve` refuses to start with such a grant (grants::check_providers).
        None => Err(ApiError::Internal(format!(
            "grant {:?} names the provider {:?}, which is not configured",
            grant.name, grant.provider
        ))),
    }
}

/// The OSS endpoint (`scheme://host[:port]`) and region that `grant`'s URLs and forms use: the
/// provider's `oss_endpoint` and `region`, or the oss face's (500 when it is off).
pub fn oss_target<'s>(state: &'s ApiState, grant: &Grant) -> Result<(&'s str, &'s str), ApiError> {
    match state.providers.get(Some(&grant.provider)) {
        Some(Provider::Aliyun(p)) => Ok((p.oss_endpoint.as_str(), p.region.as_str())),
        Some(Provider::Local) => Ok((super::signer::oss_endpoint(state)?, state.region.as_str())),
        None => Err(ApiError::Internal(format!(
            "grant {:?} names the provider {:?}, which is not configured",
            grant.name, grant.provider
        ))),
    }
}

/// The key `/auth/custom` signs with for `grant` (`None`: the caller's scoped credentials).
pub fn custom_signing_key<'s>(state: &'s ApiState, grant: &Grant) -> Option<&'s aliyun::KeyPair> {
    match state.providers.get(Some(&grant.provider)) {
        Some(Provider::Aliyun(p)) => p.custom_signing_key.as_ref(),
        _ => None,
    }
}

/// Asks `provider` for credentials limited to `grant` at `prefix` for `caller`, and fills in
/// their audit row (which the caller of this function writes before handing them out).
/// Refusals come back as [`ApiError::Upstream`] (audited by the handler, never cached).
pub async fn issue(
    provider: &AliyunProvider,
    caller: &Caller,
    grant: &Grant,
    prefix: String,
    mut record: Record,
    min_life: i64,
) -> Result<(Issued, Record), ApiError> {
    let policy = grant.policy(&prefix);
    if policy.len() > MAX_POLICY_BYTES {
        // Unreachable while claims are at most 128 characters (checked at start), kept as a guard.
        return Err(ApiError::Internal(format!(
            "grant {:?}: the policy rendered for this caller is {} bytes, over STS's limit of {MAX_POLICY_BYTES} bytes; the grant's prefix, actions or source_ips must shrink",
            grant.name,
            policy.len()
        )));
    }
    // Signing asks (`min_life` > 0: a URL or form must live that long) get half as much again,
    // within the grant's maximum, so that the next URLs reuse these credentials instead of
    // costing an upstream call each (a 900 s URL from 900 s credentials would not).
    let duration = grant
        .default_duration
        .max((min_life.saturating_mul(3) / 2).min(grant.max_duration));
    let session_name = aliyun::session_name_for(&caller.id, &caller.subject);
    let start = OffsetDateTime::now_utc();
    let assumed = provider
        .assume_role(&AssumeRoleInput {
            session_name: &session_name,
            policy: Some(&policy),
            duration_seconds: duration,
        })
        .await
        .map_err(|e| {
            tracing::warn!(
                provider = e.provider,
                code = e.code,
                request_id = e.request_id.as_deref().unwrap_or("-"),
                attempts = e.attempts,
                string_to_sign = e.string_to_sign.as_deref().unwrap_or(""),
                grant = grant.name,
                "upstream AssumeRole failed: {}",
                e.hint
            );
            ApiError::from(e)
        })?;
    record.time = start.unix_timestamp();
    record.access_key_id = assumed.minted.access_key_id.clone();
    record.expiration = Some(assumed.minted.expiration.unix_timestamp());
    record.outcome = "issued".into();
    record.detail = format!(
        "provider={} upstream_request_id={} session={session_name}",
        provider.name, assumed.request_id
    );
    let issued = Issued {
        minted: assumed.minted,
        start,
        role_arn: provider.role_arn.clone(),
        session_name,
        bucket: grant.bucket.clone(),
        prefix,
        actions: grant.action_names(),
        endpoint: Some(provider.oss_endpoint.clone()),
        region: provider.region.clone(),
        assumed_role_user: Some(AssumedRoleUser {
            arn: assumed.arn,
            assumed_role_id: assumed.assumed_role_id,
        }),
        rendered: Default::default(),
        token_header: Default::default(),
    };
    Ok((issued, record))
}
