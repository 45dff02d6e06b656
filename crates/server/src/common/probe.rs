//! The provider probes of `stsgate check`, in one order for every cloud: each grant's policy
//! size, the long-term key's identity, a dry issuance with the narrowest grant, then per grant
//! bucket a signed HEAD with those scoped credentials and CORS preflights from each browser
//! origin. A vendor folder's `check.rs` implements [`Probes`] (its calls, its fixes); [`run`]
//! turns them into [`Check`] lines. No line carries a secret or a token.

use crate::common::check::{
    narrowest, policy_checks, upstream_summary, Check, PolicyRules, Rendered, CHECK_DURATION,
    CHECK_SUBJECT, PREFLIGHT_METHODS, PROBE_KEY,
};
use crate::common::cors_admin::cors_set_command;
use crate::common::provider::UpstreamError;
use crate::common::rest::{CloudError, Preflight};
use crate::common::scope::{Bundle, Grant};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::time::Duration;

/// One provider's probes, as a vendor makes them.
pub trait Probes {
    /// Scoped credentials from the dry issuance.
    type Creds: Clone;
    /// The object store's error.
    type Error: CloudError;

    /// The `[provider.NAME]`.
    fn name(&self) -> &str;
    fn region(&self) -> &str;
    /// The object store's endpoint and the config key that sets it (`oss_endpoint`, …).
    fn storage_endpoint(&self) -> (&str, &'static str);
    fn browser_origins(&self) -> &[String];
    /// How the provider writes a grant's inline policy.
    fn policy_rules(&self) -> PolicyRules<'_>;
    /// The issuing STS action (`AssumeRole`, `GetFederationToken`).
    fn issue_action(&self) -> &'static str;
    /// The issuing call as lines name it (`AssumeRole acs:ram::1:role/app`).
    fn issue_call(&self) -> String;
    /// The identity of the long-term key (GetCallerIdentity), as one line.
    fn identity(&self) -> impl Future<Output = Check>;
    /// A dry issuance with `policy` for [`CHECK_SUBJECT`]: the credentials and what the line
    /// says of them (their expiry; never the secret or the token).
    fn issue(
        &self,
        policy: &str,
    ) -> impl Future<Output = Result<(Self::Creds, String), UpstreamError>>;
    /// Whether the object store can be addressed at all; `Err` is the line that says why.
    fn storage_ready(&self) -> Result<(), Check>;
    /// A HEAD of `bucket`/`key` signed with `creds`: the status, or the error (`NoSuchKey`
    /// and `NoSuchBucket` named as such).
    fn head(
        &self,
        bucket: &str,
        key: &str,
        creds: Self::Creds,
    ) -> impl Future<Output = Result<u16, Self::Error>>;
    /// What to change after the HEAD of `r`'s probe key failed with `e`.
    fn head_fix(&self, e: &Self::Error, r: &Rendered) -> String;
    /// An unsigned preflight; `Err` only when there was no usable answer.
    fn preflight(
        &self,
        bucket: &str,
        key: &str,
        origin: &str,
        method: &str,
    ) -> impl Future<Output = Result<Preflight<Self::Error>, Self::Error>>;
    /// What to change after a preflight to `bucket` failed with `e`.
    fn preflight_fix(&self, e: &Self::Error, bucket: &str) -> String;
}

/// Where a provider's object store is, for the fixes every cloud words alike.
pub struct StoreAt<'a> {
    /// The `[provider.NAME]`.
    pub provider: &'a str,
    pub endpoint: &'a str,
    /// The config key of the endpoint (`oss_endpoint`, `cos_endpoint`).
    pub key: &'static str,
    /// `OSS`, `COS`.
    pub name: &'static str,
    pub timeout: Duration,
}

/// The fix of a failure that reads alike for every store (no usable answer, a clock off by
/// more than the 15 minutes both allow); `None` for the others.
pub fn shared_fix(code: &str, at: &StoreAt) -> Option<String> {
    let StoreAt {
        provider: p,
        endpoint,
        key,
        name,
        ..
    } = at;
    Some(match code {
        "RequestTimeTooSkewed" => format!(
            "this machine's clock is off by more than 15 minutes (local time {}): sync it (NTP)",
            crate::common::dates::rfc1123(time::OffsetDateTime::now_utc())
        ),
        "Timeout" => format!(
            "no answer from {endpoint} within {} s: check {key} in [provider.{p}] and the network",
            at.timeout.as_secs_f64()
        ),
        "Unreachable" => {
            format!("cannot reach {endpoint}: check {key} in [provider.{p}], proxies and firewalls")
        }
        "MalformedResponse" => {
            let a = match name.starts_with(['A', 'E', 'I', 'O', 'U']) {
                true => "an",
                false => "a",
            };
            format!("{endpoint} did not answer as {name} does: is {key} in [provider.{p}] {a} {name} endpoint?")
        }
        _ => return None,
    })
}

/// The checks of one provider, in order: policies, identity, dry issuance, HEAD and CORS per
/// bucket; `config_path` goes into the fix commands.
pub async fn run<P: Probes>(
    p: &P,
    grants: &[Grant],
    config_path: &Path,
    emit: &mut dyn FnMut(Check),
) {
    let name = p.name();
    let action = p.issue_action();
    let (lines, rendered) = policy_checks(name, grants, &p.policy_rules());
    lines.into_iter().for_each(&mut *emit);
    emit(p.identity().await);

    // A dry issuance with the narrowest grant; more only when a bucket's read grant differs.
    let mut issued: BTreeMap<String, Option<P::Creds>> = BTreeMap::new();
    match narrowest(&rendered) {
        Some(r) => {
            let (check, creds) = issue_check(p, r).await;
            emit(check);
            issued.insert(r.grant.name.clone(), creds);
        }
        None if grants.is_empty() => emit(Check::skip(format!(
            "provider {name}: {action} not tried: no [[grant]] has provider = {name:?}"
        ))),
        None => emit(Check::skip(format!(
            "provider {name}: {action} not tried: no grant of provider {name} has a usable policy (see above)"
        ))),
    }
    if let Err(check) = p.storage_ready() {
        emit(check);
        return;
    }
    let mut buckets: Vec<&str> = Vec::new();
    for g in grants {
        if !buckets.contains(&g.bucket.as_str()) {
            buckets.push(&g.bucket);
        }
    }
    for bucket in buckets {
        let mut bucket_missing = false;
        let on_bucket: Vec<&Rendered> = rendered
            .iter()
            .filter(|r| r.grant.bucket == bucket)
            .collect();
        let reader = narrowest(
            on_bucket
                .iter()
                .copied()
                .filter(|r| r.grant.bundles.contains(&Bundle::Read)),
        );
        match reader {
            None => {
                let names: Vec<&str> = grants
                    .iter()
                    .filter(|g| g.bucket == bucket)
                    .map(|g| g.name.as_str())
                    .collect();
                emit(Check::skip(format!(
                    "provider {name}: bucket {bucket}: HEAD not tried: the check needs a grant with the read action on {bucket}, and {} {} none",
                    names.join(", "),
                    if names.len() == 1 { "has" } else { "have" }
                )));
            }
            Some(r) => {
                // One refused issuance is enough: the others would be refused alike.
                let refused = issued.values().any(Option::is_none);
                if !issued.contains_key(&r.grant.name) && !refused {
                    let (check, creds) = issue_check(p, r).await;
                    emit(check);
                    issued.insert(r.grant.name.clone(), creds);
                }
                match issued.get(&r.grant.name).cloned().flatten() {
                    Some(creds) => {
                        let check = head_check(p, r, creds).await;
                        bucket_missing = check.failed() && check.text.contains(" NoSuchBucket");
                        emit(check);
                    }
                    None => emit(Check::skip(format!(
                        "provider {name}: bucket {bucket}: HEAD not tried: it needs dry-run credentials of grant {} ({action} failed above)",
                        r.grant.name
                    ))),
                }
            }
        }
        let key = match narrowest(on_bucket.iter().copied()) {
            Some(r) => format!("{}{PROBE_KEY}", r.prefix),
            None => PROBE_KEY.to_string(),
        };
        for check in cors_checks(p, config_path, bucket, &key, bucket_missing).await {
            emit(check);
        }
    }
}

/// A dry issuance with `r`'s policy, as [`CHECK_SUBJECT`].
async fn issue_check<P: Probes>(p: &P, r: &Rendered) -> (Check, Option<P::Creds>) {
    let what = format!(
        "provider {}: {} as {CHECK_SUBJECT} with grant {} (policy {} bytes, {CHECK_DURATION} s)",
        p.name(),
        p.issue_call(),
        r.grant.name,
        r.policy.len()
    );
    match p.issue(&r.policy).await {
        Ok((creds, shown)) => (Check::ok(format!("{what}: {shown}")), Some(creds)),
        Err(e) => (
            Check::fail(format!("{what}: {}", upstream_summary(&e)), e.hint.clone()),
            None,
        ),
    }
}

/// A signed HEAD of `<prefix>stsgate-check-probe` with the dry-run credentials.
async fn head_check<P: Probes>(p: &P, r: &Rendered, creds: P::Creds) -> Check {
    let name = p.name();
    let bucket = &r.grant.bucket;
    let key = format!("{}{PROBE_KEY}", r.prefix);
    let what = format!(
        "provider {name}: bucket {bucket}: HEAD {key} with grant {}'s credentials",
        r.grant.name
    );
    let e = match p.head(bucket, &key, creds).await {
        Ok(status) => {
            return Check::ok(format!(
                "{what}: {status} (bucket reachable, credentials accepted)"
            ))
        }
        Err(e) => e,
    };
    let (endpoint, endpoint_key) = p.storage_endpoint();
    match e.code() {
        "NoSuchKey" => Check::ok(format!(
            "{what}: 404 NoSuchKey (bucket reachable, credentials accepted)"
        )),
        "NoSuchBucket" => Check::fail(
            format!(
                "{what}: 404 NoSuchBucket: bucket does not exist in region {} ({endpoint}){}",
                p.region(),
                e.request_id()
                    .map_or(String::new(), |id| format!(" (RequestId {id})"))
            ),
            format!(
                "create bucket {bucket} in region {}, or correct bucket in [[grant]] {}, or region / {endpoint_key} in [provider.{name}]",
                p.region(),
                r.grant.name
            ),
        ),
        _ => Check::fail(format!("{what}: {}", e.describe()), p.head_fix(&e, r)),
    }
}

/// What the preflights from one origin found.
struct Found<E> {
    refused: Vec<&'static str>,
    why: Vec<String>,
    unexposed: bool,
    broken: Option<E>,
}

/// Preflights (PUT, POST) from every browser origin: one line per origin.
async fn cors_checks<P: Probes>(
    p: &P,
    config_path: &Path,
    bucket: &str,
    key: &str,
    bucket_missing: bool,
) -> Vec<Check> {
    let name = p.name();
    let origins = p.browser_origins();
    if origins.is_empty() {
        return vec![Check::skip(format!(
            "provider {name}: bucket {bucket}: CORS not checked: browser_origins is empty in [provider.{name}]"
        ))];
    }
    let fix = cors_set_command(config_path, name, bucket, origins);
    let what = format!("provider {name}: bucket {bucket}: CORS");
    let methods = PREFLIGHT_METHODS.join(", ");
    let mut out = Vec::new();
    for origin in origins {
        let mut found = Found {
            refused: Vec::new(),
            why: Vec::new(),
            unexposed: false,
            broken: None,
        };
        for method in PREFLIGHT_METHODS {
            let answer = match p.preflight(bucket, key, origin, method).await {
                Ok(answer) => answer,
                Err(e) => {
                    found.broken = Some(e);
                    break;
                }
            };
            match answer.error {
                None if answer.allowed => found.unexposed |= !answer.exposes_etag(),
                Some(e) if e.code() == "NoSuchBucket" => {
                    if bucket_missing {
                        return vec![Check::skip(format!(
                            "{what} not checked: the bucket does not exist (see above)"
                        ))];
                    }
                    return vec![Check::fail(
                        format!("{what} preflight from origin {origin}: {}", e.describe()),
                        p.preflight_fix(&e, bucket),
                    )];
                }
                error => {
                    found.refused.push(method);
                    let reason = match &error {
                        Some(e) => format!("{} {}", e.status(), e.code()),
                        None => format!(
                            "{} without Access-Control-Allow-Origin: {origin}",
                            answer.status
                        ),
                    };
                    if !found.why.contains(&reason) {
                        found.why.push(reason);
                    }
                }
            }
        }
        out.push(if let Some(e) = found.broken {
            Check::fail(
                format!("{what} preflight from origin {origin}: {}", e.describe()),
                p.preflight_fix(&e, bucket),
            )
        } else if !found.refused.is_empty() {
            Check::fail(
                format!(
                    "{what} refuses origin {origin} for {} (preflight: {})",
                    found.refused.join(", "),
                    found.why.join("; ")
                ),
                fix.clone(),
            )
        } else if found.unexposed {
            Check::warn(
                format!("{what} allows origin {origin} for {methods} but does not expose ETag (browser multipart uploads read it)"),
                fix.clone(),
            )
        } else {
            Check::ok(format!("{what} allows origin {origin} for {methods}"))
        });
    }
    out
}
