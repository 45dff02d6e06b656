//! The provider probes of `stsgate check`, in one order for every cloud: each grant's policy
//! size, the long-term key's identity, a dry issuance with the narrowest grant, then per grant
//! bucket a signed HEAD with those scoped credentials and CORS preflights from each browser
//! origin. A vendor folder's `check.rs` implements [`Probes`] (its calls, its fixes); [`run`]
//! turns them into [`Check`] lines. No line carries a secret or a token.

use crate::common::check::{narrowest, policy_checks, upstream_summary, Check, PolicyRules};
use crate::common::check::{Rendered, Site, CHECK_DURATION, CHECK_SUBJECT};
use crate::common::check::{PREFLIGHT_METHODS, PROBE_KEY};
use crate::common::cors_admin::cors_set_command;
use crate::common::provider::UpstreamError;
use crate::common::rest::CloudError;
use crate::common::scope::{Bundle, Grant};
use crate::common::store_client::{Dialect, StoreClient};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;

/// One provider's probes, as a vendor makes them.
pub trait Probes {
    /// How the object store is signed and answers.
    type Dialect: Dialect;
    /// Scoped credentials from the dry issuance.
    type Creds: Clone;

    /// The provider and its object store.
    fn site(&self) -> Site<'_>;
    /// How the provider writes a grant's inline policy.
    fn policy_rules(&self) -> PolicyRules<'_>;
    /// The issuing STS action (`AssumeRole`, `GetFederationToken`).
    fn issue_action(&self) -> &'static str;
    /// The issuing call as lines name it (`AssumeRole acs:ram::1:role/app`).
    fn issue_call(&self) -> String;
    /// The identity of the long-term key (GetCallerIdentity), as one line.
    fn identity(&self) -> impl Future<Output = Check>;
    /// The identity of the provider's `/auth/custom` signing key, when it has one (a main
    /// account key fails: signatures made with it could do anything in the account).
    fn custom_signing_identity(&self) -> impl Future<Output = Option<Check>> {
        async { None }
    }
    /// A dry issuance with `policy` for [`CHECK_SUBJECT`]: the credentials and what the line
    /// says of them (their expiry; never the secret or the token).
    fn issue(
        &self,
        policy: &str,
    ) -> impl Future<Output = Result<(Self::Creds, String), UpstreamError>>;
    /// The unsigned client of the object store, or why there is none.
    fn client(&self) -> Result<&StoreClient<Self::Dialect>, String>;
    /// A HEAD of `bucket`/`key` signed with `creds`: the status, or the error (`NoSuchKey`
    /// and `NoSuchBucket` named as such).
    fn head(
        &self,
        client: &StoreClient<Self::Dialect>,
        bucket: &str,
        key: &str,
        creds: Self::Creds,
    ) -> impl Future<Output = Result<u16, StoreError<Self>>>;
    /// What to change after the HEAD of `r`'s probe key failed with `e`.
    fn head_fix(&self, e: &StoreError<Self>, r: &Rendered) -> String;
    /// The request headers a browser's preflight announces (what the vendor's JS SDK sends).
    fn preflight_headers(&self) -> &'static [&'static str];
    /// What to change after a preflight to `bucket` failed with `e`.
    fn preflight_fix(&self, e: &StoreError<Self>, bucket: &str) -> String;
}

/// The object store's error of a provider's probes.
pub type StoreError<P> = <<P as Probes>::Dialect as Dialect>::Error;

/// The checks of one provider, in order: policies, identity, dry issuance, HEAD and CORS per
/// bucket; `config_path` goes into the fix commands.
pub async fn run<P: Probes>(
    p: &P,
    grants: &[Grant],
    config_path: &Path,
    emit: &mut dyn FnMut(Check),
) {
    let name = p.site().provider;
    let action = p.issue_action();
    let (lines, rendered) = policy_checks(name, grants, &p.policy_rules());
    lines.into_iter().for_each(&mut *emit);
    emit(p.identity().await);
    if let Some(check) = p.custom_signing_identity().await {
        emit(check);
    }

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
    let client = match p.client() {
        Ok(client) => client,
        Err(e) => {
            let key = p.site().endpoint_key;
            emit(Check::fail(
                format!("provider {name}: {e}"),
                format!("set {key} in [provider.{name}] to scheme://host[:port]"),
            ));
            return;
        }
    };
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
                        let check = head_check(p, client, r, creds).await;
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
        let cors = cors_checks(p, client, config_path, bucket, &key, bucket_missing).await;
        for check in cors {
            emit(check);
        }
    }
}

/// A dry issuance with `r`'s policy, as [`CHECK_SUBJECT`].
async fn issue_check<P: Probes>(p: &P, r: &Rendered) -> (Check, Option<P::Creds>) {
    let what = format!(
        "provider {}: {} as {CHECK_SUBJECT} with grant {} (policy {} bytes, {CHECK_DURATION} s)",
        p.site().provider,
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
async fn head_check<P: Probes>(
    p: &P,
    client: &StoreClient<P::Dialect>,
    r: &Rendered,
    creds: P::Creds,
) -> Check {
    let site = p.site();
    let name = site.provider;
    let bucket = &r.grant.bucket;
    let key = format!("{}{PROBE_KEY}", r.prefix);
    let what = format!(
        "provider {name}: bucket {bucket}: HEAD {key} with grant {}'s credentials",
        r.grant.name
    );
    let e = match p.head(client, bucket, &key, creds).await {
        Ok(status) => {
            return Check::ok(format!(
                "{what}: {status} (bucket reachable, credentials accepted)"
            ))
        }
        Err(e) => e,
    };
    let (region, endpoint, endpoint_key) = (site.region, site.endpoint, site.endpoint_key);
    match e.code() {
        "NoSuchKey" => Check::ok(format!(
            "{what}: 404 NoSuchKey (bucket reachable, credentials accepted)"
        )),
        "NoSuchBucket" => Check::fail(
            format!(
                "{what}: 404 NoSuchBucket: bucket does not exist in region {region} ({endpoint}){}",
                e.request_id()
                    .map_or(String::new(), |id| format!(" (RequestId {id})"))
            ),
            format!(
                "create bucket {bucket} in region {region}, or correct bucket in [[grant]] {}, or region / {endpoint_key} in [provider.{name}]",
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
    client: &StoreClient<P::Dialect>,
    config_path: &Path,
    bucket: &str,
    key: &str,
    bucket_missing: bool,
) -> Vec<Check> {
    let site = p.site();
    let (name, origins) = (site.provider, site.browser_origins);
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
            let headers = p.preflight_headers();
            let answer = match client.preflight(bucket, key, origin, method, headers).await {
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
