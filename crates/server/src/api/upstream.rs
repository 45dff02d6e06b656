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
//! ([`storage_target`]).

use super::callers::Caller;
use super::credentials::Issued;
use super::error::ApiError;
use super::grants::Grant;
use super::ApiState;
use crate::common::audit::Record;
use crate::common::provider::{IssueInput, KeyPair, Provider, Providers, Upstream, Vendor, LOCAL};
use crate::config::Config;
use anyhow::bail;
use std::sync::Arc;
use time::OffsetDateTime;

pub use crate::common::issued::AssumedRoleUser;

/// The remote provider issuing `grant`'s credentials (`None`: the embedded `local` one).
pub fn provider_of(state: &ApiState, grant: &Grant) -> Result<Option<Arc<dyn Upstream>>, ApiError> {
    match state.providers.get(Some(&grant.provider)) {
        Some(Provider::Local) => Ok(None),
        Some(Provider::Remote(p)) => Ok(Some(p.clone())),
        // `serve` refuses to start with such a grant (grants::check_providers).
        None => Err(ApiError::Internal(format!(
            "grant {:?} names the provider {:?}, which is not configured",
            grant.name, grant.provider
        ))),
    }
}

/// The object-store endpoint (`scheme://host[:port]`) and region that `grant`'s URLs, forms and
/// policies use: the provider's, or the embedded face's of the grant's vendor (500 when it is
/// off).
pub fn storage_target<'s>(
    state: &'s ApiState,
    grant: &Grant,
) -> Result<(&'s str, &'s str), ApiError> {
    match state.providers.get(Some(&grant.provider)) {
        Some(Provider::Remote(p)) => Ok((p.storage_endpoint(), p.region())),
        Some(Provider::Local) => Ok((
            super::signer::local_endpoint(state, grant.vendor)?,
            local_region(state, grant.vendor),
        )),
        None => Err(ApiError::Internal(format!(
            "grant {:?} names the provider {:?}, which is not configured",
            grant.name, grant.provider
        ))),
    }
}

/// The region of the embedded face of `vendor`.
pub fn local_region(state: &ApiState, vendor: Vendor) -> &str {
    match vendor {
        Vendor::Aliyun => &state.region,
        Vendor::Tencent => &state.cos_region,
    }
}

/// The long-term key `/auth/custom` signs `grant`'s requests with: the grant's signing key on the
/// embedded store (see [`crate::signing_keys`]), the provider's `custom_signing_*` key on a
/// cloud. `(access key id, secret, what it is for the audit row)`.
pub fn custom_signing_key(
    state: &ApiState,
    grant: &Grant,
) -> Result<(String, crate::secret::Secret, &'static str), ApiError> {
    match state.providers.get(Some(&grant.provider)) {
        Some(Provider::Remote(p)) => match p.custom_signing_key() {
            Some(KeyPair { id, secret }) => Ok((id.clone(), secret.clone(), "custom_signing_key")),
            None => Err(ApiError::NotConfigured(format!(
                "grant {:?} has no key for /auth/custom: the request the SDK sends carries no security token, so it must be signed with a long-term key; the operator sets custom_signing_key_id_env and custom_signing_key_secret_env (or custom_signing_credentials_file) in [provider.{}], a RAM user's key allowed only on bucket {:?} (clients that can send a token use /v1/sign)",
                grant.name, grant.provider, grant.bucket
            ))),
        },
        _ => match state.signing_keys.current(&grant.name) {
            Some(key) => Ok((key.id.clone(), key.secret.clone(), "grant_signing_key")),
            None => Err(ApiError::Internal(format!(
                "grant {:?} has no signing key in signing-keys.sqlite3 (the server makes one when it starts); restart the server",
                grant.name
            ))),
        },
    }
}

/// Asks `provider` for credentials limited to `grant` at `prefix` for `caller`, and fills in
/// their audit row (which the caller of this function writes before handing them out).
/// Refusals come back as [`ApiError::Upstream`] (audited by the handler, never cached).
pub async fn issue(
    provider: &dyn Upstream,
    caller: &Caller,
    grant: &Grant,
    prefix: String,
    mut record: Record,
    min_life: i64,
) -> Result<(Issued, Record), ApiError> {
    let policy = super::grants::policy(grant, &prefix, provider.region());
    if policy.len() > provider.max_policy_bytes() {
        // Unreachable while claims are at most 128 characters (checked at start), kept as a guard.
        return Err(ApiError::Internal(format!(
            "grant {:?}: the policy rendered for this caller is {} bytes, over STS's limit of {} bytes; the grant's prefix, actions or source_ips must shrink",
            grant.name,
            policy.len(),
            provider.max_policy_bytes()
        )));
    }
    // At least `min_life` (signing asks pass half as much again as the URL's life: see
    // `signer::scoped`), within the grant's maximum.
    let duration = grant.default_duration.max(min_life.min(grant.max_duration));
    let session_name = provider.session_name(&caller.id, &caller.subject);
    let start = OffsetDateTime::now_utc();
    let assumed = provider
        .issue(IssueInput {
            session_name: &session_name,
            policy: &policy,
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
        provider.name(),
        assumed.request_id
    );
    let issued = Issued {
        vendor: provider.vendor(),
        minted: assumed.minted,
        start,
        role_arn: provider.role_arn().to_string(),
        session_name,
        bucket: grant.bucket.clone(),
        prefix,
        actions: grant.action_names(),
        endpoint: Some(provider.storage_endpoint().to_string()),
        region: provider.region().to_string(),
        assumed_role_user: Some(AssumedRoleUser {
            arn: assumed.arn,
            assumed_role_id: assumed.assumed_role_id,
        }),
        rendered: Default::default(),
    };
    Ok((issued, record))
}

/// Builds every `[provider.NAME]` of `config` (secrets read from env/files now, so a missing key
/// fails at start, naming the provider and the variable or file). Their upstream counters share
/// one recorder.
pub fn providers(config: &Config) -> anyhow::Result<Providers> {
    let mut providers = Providers::default();
    for (name, cfg) in &config.provider {
        if name == LOCAL {
            bail!("[provider.local] is the embedded store and takes no settings; name your provider otherwise");
        }
        let metrics = providers.metrics.clone();
        let remote: Arc<dyn Upstream> = match config.provider_vendor(name) {
            Some(Vendor::Tencent) => Arc::new(
                crate::tencent::provider::TencentProvider::from_config(name, cfg, metrics)?,
            ),
            _ => Arc::new(crate::aliyun::provider::AliyunProvider::from_config(
                name,
                cfg,
                config.region.as_deref(),
                metrics,
            )?),
        };
        providers.insert(name, Provider::Remote(remote));
    }
    Ok(providers)
}

/// Checks each grant's `provider` against the configured providers (an unknown name fails,
/// naming the grant and the provider) and, for a remote provider, that the inline policy STS
/// is sent fits its limit for any caller ([`super::grants::worst_case_policy`] at most
/// [`Upstream::max_policy_bytes`]). Run at start (`serve`).
pub fn check_providers(grants: &[Grant], providers: &Providers) -> anyhow::Result<()> {
    for g in grants {
        match providers.get(Some(&g.provider)) {
            None => {
                let known: Vec<&str> = providers.iter().map(|(name, _)| name).collect();
                bail!(
                    "grant {:?}: provider {:?} is not configured (configured: {}); add a [provider.{}] table or fix the grant's provider",
                    g.name,
                    g.provider,
                    known.join(", "),
                    g.provider
                );
            }
            Some(Provider::Local) => {}
            Some(Provider::Remote(p)) => {
                let size = super::grants::worst_case_policy(g, p.region()).len();
                let max = p.max_policy_bytes();
                if size > max {
                    bail!(
                        "grant {:?}: its inline policy for provider {:?} is {size} bytes when each claim of the prefix {:?} is 128 characters long, over STS's limit of {max} bytes; use fewer claims in the prefix, a shorter prefix or fewer source_ips",
                        g.name,
                        g.provider,
                        g.template
                    );
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::grants::{default_grants, Grant};

    fn user_folder() -> Grant {
        Grant::from_config(&default_grants()[0]).unwrap()
    }

    #[test]
    fn provider_defaults_to_local_and_unknown_ones_fail_the_check() {
        let g = user_folder();
        assert_eq!(g.provider, "local");
        let providers = Providers::default();
        assert!(check_providers(std::slice::from_ref(&g), &providers).is_ok());
        let mut c = default_grants().remove(0);
        c.provider = Some("cloud".into());
        let g = Grant::from_config(&c).unwrap();
        assert_eq!(g.provider, "cloud");
        let err = check_providers(&[g], &providers).unwrap_err().to_string();
        assert!(err.contains("\"user-folder\""), "{err}");
        assert!(err.contains("\"cloud\""), "{err}");
        assert!(err.contains("[provider.cloud]"), "{err}");
    }
}
