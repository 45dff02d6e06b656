//! `GET|POST /v1/credentials?grant=NAME&format=F`: temporary credentials for the caller's grant.
//!
//! ```text
//! bearer JWT (callers::Verifier) → grant (?grant=) → prefix (template ∘ claims, 400 if unsafe)
//!   → cache slot (caller, grant, prefix), locked: fresh → reuse
//!   → else: role `app` policy (iam) → mint (token::TokenKey) → audit row (fail closed) → store
//!   → render in the asked format
//! ```
//!
//! Credentials are reused until one third of their lifetime is left; concurrent askers for the
//! same slot wait on the slot's lock, so they share one issuance.

use super::callers::{self, Caller};
use super::error::ApiError;
use super::grants::Grant;
use super::ApiState;
use crate::common::audit::Record;
use crate::common::dates::iso8601;
use crate::common::provider::Vendor;
use crate::token::MintSpec;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use time::OffsetDateTime;

/// The answer shapes `?format=` picks (see `aliyun/formats.rs` and `tencent/formats.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// stsgate's own (the default): credentials plus vendor, bucket, region, endpoint, prefix,
    /// actions; for grants of either cloud.
    Stsgate,
    /// Alibaba STS AssumeRole JSON.
    AliyunSts,
    /// The OSS mobile SDKs' app-server JSON (spec §9.a).
    OssAppServer,
    /// The Alibaba Cloud credentials URI provider's JSON (spec §9.b).
    CredentialsUri,
    /// The `qcloud-cos-sts` SDKs' `getCredential` result.
    Tencent,
    /// Seed 004's `/sign` JSON (the COS Android SDK's default parser).
    TencentLegacy,
    /// Tencent STS's `Response` JSON.
    TencentV3,
}

impl Format {
    const ALL: [Format; crate::common::issued::FORMATS] = [
        Format::Stsgate,
        Format::AliyunSts,
        Format::OssAppServer,
        Format::CredentialsUri,
        Format::Tencent,
        Format::TencentLegacy,
        Format::TencentV3,
    ];

    /// The name `?format=` takes.
    pub fn name(self) -> &'static str {
        match self {
            Format::Stsgate => "stsgate",
            Format::AliyunSts => "aliyun-sts",
            Format::OssAppServer => "oss-app-server",
            Format::CredentialsUri => "alibaba-credentials-uri",
            Format::Tencent => "tencent",
            Format::TencentLegacy => "tencent-legacy",
            Format::TencentV3 => "tencent-v3",
        }
    }

    pub fn parse(s: Option<&str>) -> Result<Format, ApiError> {
        let s = s.unwrap_or("stsgate");
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                ApiError::BadRequest(format!(
                    "format {:?} is unknown; use {}",
                    s.chars().take(40).collect::<String>(),
                    names.join(", ")
                ))
            })
    }

    /// The cloud whose clients read this shape (`None`: either).
    pub fn vendor(self) -> Option<Vendor> {
        match self {
            Format::Stsgate => None,
            Format::AliyunSts | Format::OssAppServer | Format::CredentialsUri => {
                Some(Vendor::Aliyun)
            }
            Format::Tencent | Format::TencentLegacy | Format::TencentV3 => Some(Vendor::Tencent),
        }
    }

    /// Refuses a shape of the other cloud for `grant` (400, before anything is issued).
    pub fn check_grant(self, grant: &Grant) -> Result<(), ApiError> {
        match self.vendor() {
            Some(v) if v != grant.vendor => Err(ApiError::BadRequest(format!(
                "format {} is for {} grants, and grant {:?} is a {} one; use format=stsgate or one of the {} formats",
                self.name(),
                v.name(),
                grant.name,
                grant.vendor.name(),
                grant.vendor.name()
            ))),
            _ => Ok(()),
        }
    }

    fn index(self) -> usize {
        Format::ALL.iter().position(|f| *f == self).unwrap_or(0)
    }
}

pub use crate::common::issued::{Issued, Template, REQUEST_ID_MARK, SERVER_TIME_MARK};

type Slot = Arc<tokio::sync::Mutex<SlotState>>;

/// What one (caller, grant, prefix) slot holds.
#[derive(Debug, Default)]
struct SlotState {
    issued: Option<Arc<Issued>>,
    /// The last upstream failure: askers that were already waiting on the slot when it happened
    /// get it too, instead of each calling a failing cloud once more in turn.
    failed: Option<(std::time::Instant, ApiError)>,
}

/// One caller's slots: (grant, prefix, slot).
type CallerSlots = Vec<(String, String, Slot)>;

/// Issued credentials per (caller, grant, prefix): a map by caller (looked up by `&str`, no
/// key is built per request) of its few (grant, prefix) slots.
#[derive(Debug, Default)]
pub struct Cache {
    slots: std::sync::Mutex<HashMap<String, CallerSlots>>,
}

impl Cache {
    fn slot(&self, caller: &str, grant: &str, prefix: &str) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        // FIXME: bound the map (evict expired slots) once callers are many.
        if let Some(mine) = slots.get(caller) {
            if let Some((_, _, slot)) = mine.iter().find(|(g, p, _)| g == grant && p == prefix) {
                return slot.clone();
            }
        }
        let slot = Slot::default();
        slots.entry(caller.to_string()).or_default().push((
            grant.to_string(),
            prefix.to_string(),
            slot.clone(),
        ));
        slot
    }

    /// Forgets every cached credential of `caller` (revocation); returns how many slots.
    pub fn drop_caller(&self, caller: &str) -> usize {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.remove(caller).map_or(0, |mine| mine.len())
    }

    /// Forgets the cached credential whose access key id is `ak` (revocation). A slot being
    /// filled right now holds no credential yet, so it is left alone.
    pub fn drop_access_key(&self, ak: &str) -> usize {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let mut dropped = 0;
        for mine in slots.values_mut() {
            mine.retain(|(_, _, slot)| {
                let keep = match slot.try_lock() {
                    Ok(held) => held
                        .issued
                        .as_ref()
                        .is_none_or(|i| i.minted.access_key_id != ak),
                    Err(_) => true,
                };
                dropped += usize::from(!keep);
                keep
            });
        }
        slots.retain(|_, mine| !mine.is_empty());
        dropped
    }
}

/// A RoleSessionName for a caller: `[\w.@-]{2,64}`, other characters become `-`.
pub fn session_name(subject: &str) -> String {
    let mut name: String = subject
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() || "_.@-".contains(c) {
            true => c,
            false => '-',
        })
        .take(64)
        .collect();
    while name.len() < 2 {
        name.push('-');
    }
    name
}

/// What the handler knows about the request.
#[derive(Debug, Clone)]
pub struct Ask {
    pub authorization: Option<Vec<u8>>,
    pub grant: Option<String>,
    pub request_id: String,
    pub client_ip: String,
}

/// Authenticates, picks the grant and returns credentials (reused or new). Refusals are audited
/// by the caller of this function.
pub async fn credentials(
    state: &Arc<ApiState>,
    ask: &Ask,
    record: &mut Record,
) -> Result<Arc<Issued>, ApiError> {
    scoped(state, ask, record, 0).await
}

/// As [`credentials`], for signing on the caller's behalf (`/v1/presign`, `/v1/sign`, …): the
/// cached credentials are reused only if they also live `min_life` more seconds; new ones then
/// live at least that long (capped at the grant's and role `app`'s maximum).
pub async fn scoped(
    state: &Arc<ApiState>,
    ask: &Ask,
    record: &mut Record,
    min_life: i64,
) -> Result<Arc<Issued>, ApiError> {
    let now = OffsetDateTime::now_utc();
    let token = callers::bearer(ask.authorization.as_deref())?;
    let caller = state
        .verifier
        .verify_async(token, now.unix_timestamp())
        .await?;
    scoped_for(state, caller, ask, record, min_life, min_life).await
}

/// As [`scoped`], for a caller already authenticated (a ticket's).
/// `min_life`: cached credentials are reused only if they live that many more seconds;
/// `mint_life` (≥ `min_life`): new ones live at least that long (within the grant's maximum).
pub async fn scoped_for(
    state: &Arc<ApiState>,
    caller: Caller,
    ask: &Ask,
    record: &mut Record,
    min_life: i64,
    mint_life: i64,
) -> Result<Arc<Issued>, ApiError> {
    let now = OffsetDateTime::now_utc();
    record.caller = caller.id.clone();
    state.limits.check_caller(&caller.id)?;
    let grant = find_grant(&state.grants, ask.grant.as_deref())?;
    record.grant = grant.name.clone();
    record.bucket = grant.bucket.clone();
    grant
        .admit(&caller.claims, &ask.client_ip)
        .map_err(ApiError::ConditionNotMet)?;
    let prefix = grant
        .prefix(&caller.claims)
        .map_err(|e| ApiError::InvalidClaim(e.to_string()))?;
    record.prefix = prefix.clone();
    let slot = state.cache.slot(&caller.id, &grant.name, &prefix);
    let arrived = std::time::Instant::now();
    let mut held = slot.lock().await;
    let lives = |i: &&Arc<Issued>| i.minted.expiration - now >= time::Duration::seconds(min_life);
    // Revoked on another node: this node's cache was not told, the shared list was.
    let live = |i: &&Arc<Issued>| {
        !state.revocations.is_revoked(
            &i.minted.access_key_id,
            Some(&caller.id),
            i.start.unix_timestamp(),
        )
    };
    if let Some(issued) = held
        .issued
        .as_ref()
        .filter(|i| i.fresh(now) && lives(i) && live(i))
    {
        state.metrics.cache_hit(&grant.name);
        return Ok(issued.clone());
    }
    let mut rec = record.clone();
    // A remote provider's AssumeRole is awaited here, under the slot's lock (single-flight).
    let (issued, rec) = match super::upstream::provider_of(state, grant)? {
        Some(provider) => {
            if let Some((_, err)) = held.failed.as_ref().filter(|(at, _)| *at >= arrived) {
                return Err(err.clone());
            }
            match super::upstream::issue(provider.as_ref(), &caller, grant, prefix, rec, mint_life)
                .await
            {
                Ok(done) => done,
                Err(e) => {
                    held.failed = Some((std::time::Instant::now(), e.clone()));
                    return Err(e);
                }
            }
        }
        // Minting is CPU only once the bucket is known to exist (role `app` is cached and
        // re-read at most once a second): no hop to the blocking pool then.
        None if state.bucket_known(&grant.bucket) => {
            let issued = issue(state, &caller, grant, prefix, ask, &mut rec, mint_life)?;
            (issued, rec)
        }
        None => {
            let (state2, grant, ask2) = (state.clone(), grant.clone(), ask.clone());
            tokio::task::spawn_blocking(move || {
                let issued = issue(&state2, &caller, &grant, prefix, &ask2, &mut rec, mint_life)?;
                Ok::<_, ApiError>((issued, rec))
            })
            .await
            .map_err(|e| ApiError::Internal(format!("issuing failed: {e}")))??
        }
    };
    // Fail closed: nothing is handed out (nor cached) unless its row is committed.
    if let Err(e) = crate::common::audit::write(&state.audit, rec).await {
        tracing::error!(request_id = ask.request_id, "audit log write failed: {e:#}");
        return Err(ApiError::AuditUnavailable);
    }
    state.issued.fetch_add(1, Ordering::Relaxed);
    let issued = Arc::new(issued);
    held.issued = Some(issued.clone());
    held.failed = None;
    Ok(issued)
}

pub fn find_grant<'g>(grants: &'g [Grant], name: Option<&str>) -> Result<&'g Grant, ApiError> {
    let names = || {
        grants
            .iter()
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return Err(ApiError::BadRequest(format!(
            "give the grant: /v1/credentials?grant=NAME (this server has: {})",
            names()
        )));
    };
    grants.iter().find(|g| g.name == name).ok_or_else(|| {
        ApiError::NoSuchGrant(format!(
            "no grant named {:?} (this server has: {})",
            name.chars().take(64).collect::<String>(),
            names()
        ))
    })
}

/// Mints new credentials and fills in their audit row (which the caller writes before handing
/// them out).
fn issue(
    state: &ApiState,
    caller: &Caller,
    grant: &Grant,
    prefix: String,
    ask: &Ask,
    record: &mut Record,
    min_life: i64,
) -> Result<Issued, ApiError> {
    let role = state
        .iam
        .get_cached(crate::iam::DEFAULT_ROLE)
        .map_err(|e| ApiError::Internal(format!("reading role app: {e}")))?
        .ok_or_else(|| {
            ApiError::Internal(
                "role `app` does not exist, and the api face issues through it; recreate it with `stsgate role create --name app`".into(),
            )
        })?;
    state.ensure_bucket(&grant.bucket)?;
    let now = OffsetDateTime::now_utc();
    let duration = grant
        .default_duration
        .max(min_life.min(grant.max_duration))
        .min(role.max_session);
    let session_name = session_name(&caller.subject);
    let region = super::upstream::local_region(state, grant.vendor);
    let session_policy = super::grants::policy(grant, &prefix, region);
    // Role `app` holds the RAM policy of Alibaba credentials; a Tencent role's RAM policy does
    // not apply to COS, so Tencent credentials carry the grant's CAM policy alone.
    let (role_arn, role_policy) = match grant.vendor {
        Vendor::Aliyun => (role.arn(&state.account_id), Some(role.policy.clone())),
        Vendor::Tencent => {
            let uin = state.tencent.as_ref().map_or("", |t| t.uin.as_str());
            let arn = format!("qcs::cam::uin/{uin}:roleName/{}", crate::iam::DEFAULT_ROLE);
            (arn, None)
        }
    };
    let minted = state.tokens.mint_spec(
        MintSpec {
            vendor: grant.vendor,
            caller: Some(&caller.id),
            role_arn: &role_arn,
            session_name: &session_name,
            role_policy,
            session_policy: Some(session_policy),
            duration_secs: duration,
        },
        now,
    );
    record.time = now.unix_timestamp();
    record.access_key_id = minted.access_key_id.clone();
    record.expiration = Some(minted.expiration.unix_timestamp());
    record.request_id = ask.request_id.clone();
    record.client_ip = ask.client_ip.clone();
    record.outcome = "issued".into();
    let endpoint = super::signer::local_endpoint(state, grant.vendor)
        .ok()
        .map(str::to_string);
    Ok(Issued {
        vendor: grant.vendor,
        minted,
        start: now,
        role_arn,
        session_name,
        bucket: grant.bucket.clone(),
        prefix,
        actions: grant.action_names(),
        endpoint,
        region: region.to_string(),
        assumed_role_user: None,
        rendered: Default::default(),
    })
}

/// The answer body in `format` for a request `request_id` at `server_time` (the marks of a
/// [`Template`] when it is rendered once for every request).
fn answer(
    state: &ApiState,
    issued: &Issued,
    format: Format,
    request_id: &str,
    server_time: &str,
) -> Vec<u8> {
    use crate::aliyun::formats::{self as ali, Shape as A};
    use crate::tencent::formats::{self as tc, Shape as T};
    let aliyun = |shape| ali::render(issued, shape, &state.account_id, request_id, server_time);
    match format {
        Format::Stsgate => aliyun(A::Stsgate),
        Format::AliyunSts => aliyun(A::AliyunSts),
        Format::OssAppServer => aliyun(A::OssAppServer),
        Format::CredentialsUri => aliyun(A::CredentialsUri),
        Format::Tencent => tc::render(issued, T::Tencent, request_id),
        Format::TencentLegacy => tc::render(issued, T::Legacy, request_id),
        Format::TencentV3 => tc::render(issued, T::V3, request_id),
    }
}

/// The answer body in `format`.
pub fn render(state: &ApiState, issued: &Issued, format: Format, request_id: &str) -> Value {
    let now = iso8601(OffsetDateTime::now_utc());
    serde_json::from_slice(&answer(state, issued, format, request_id, &now)).unwrap_or(Value::Null)
}

/// The answer body in `format`, serialised (the `/v1/credentials` hot path).
pub fn render_bytes(
    state: &ApiState,
    issued: &Issued,
    format: Format,
    request_id: &str,
) -> Vec<u8> {
    let template = issued.rendered[format.index()].get_or_init(|| {
        Template::new(answer(
            state,
            issued,
            format,
            REQUEST_ID_MARK,
            SERVER_TIME_MARK,
        ))
    });
    template.fill(request_id, &iso8601(OffsetDateTime::now_utc()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_are_sts_safe() {
        assert_eq!(session_name("alice"), "alice");
        assert_eq!(session_name("a"), "a-");
        assert_eq!(session_name("a b/c"), "a-b-c");
        assert_eq!(session_name(&"x".repeat(100)).len(), 64);
        assert!(crate::aliyun::sts::params::valid_session_name(
            &session_name("é")
        ));
    }

    #[test]
    fn formats() {
        assert_eq!(Format::parse(None), Ok(Format::Stsgate));
        assert_eq!(
            Format::parse(Some("oss-app-server")),
            Ok(Format::OssAppServer)
        );
        assert!(Format::parse(Some("xml")).is_err());
        for f in [
            Format::Stsgate,
            Format::AliyunSts,
            Format::OssAppServer,
            Format::CredentialsUri,
        ] {
            assert_eq!(Format::parse(Some(f.name())), Ok(f));
        }
    }

    #[test]
    fn templates_fill_the_request_id_and_the_time() {
        let t = Template::new(
            serde_json::to_vec(&serde_json::json!({"RequestId": REQUEST_ID_MARK, "A": "x\"y", "ServerTime": SERVER_TIME_MARK}))
                .unwrap(),
        );
        let filled = t.fill("rid-1", "2026-01-01T00:00:00Z");
        let v: Value = serde_json::from_slice(&filled).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"RequestId": "rid-1", "A": "x\"y", "ServerTime": "2026-01-01T00:00:00Z"})
        );
        // Without holes the text comes back as it was.
        assert_eq!(Template::new(b"{}".to_vec()).fill("r", "t"), b"{}");
    }

    #[test]
    fn freshness_is_two_thirds_of_the_lifetime() {
        let start = OffsetDateTime::from_unix_timestamp(1_000_000).unwrap();
        let key = crate::token::TokenKey::new(&crate::datadir::MasterKey(zeroize::Zeroizing::new(
            [1; 32],
        )));
        let issued = Issued {
            vendor: Vendor::Aliyun,
            minted: key.mint("r", "s", None, None, 900, start),
            start,
            role_arn: "r".into(),
            session_name: "s".into(),
            bucket: "b".into(),
            prefix: "p/".into(),
            actions: vec![],
            endpoint: None,
            region: "cn-hangzhou".into(),
            assumed_role_user: None,
            rendered: Default::default(),
        };
        assert!(issued.fresh(start + time::Duration::seconds(599)));
        assert!(!issued.fresh(start + time::Duration::seconds(600)));
    }
}
