//! The commands that talk to a configured cloud (`[provider.NAME]`): `stsgate cors get|set|delete`
//! (bucket CORS on the provider's object store, signed with its long-term key) and the provider
//! probes of `stsgate check`. Only the dispatch by the provider's vendor lives here; the probes
//! and the CORS calls are each vendor folder's `check.rs` and `cors_admin.rs`, their lines and
//! order `common::probe` and `common::cors_admin`.

use crate::aliyun::client::SignatureVersion;
use crate::aliyun::provider::AliyunProvider;
use crate::common::provider::Vendor;
use crate::common::scope::Grant;
use crate::common::upstream::UpstreamMetrics;
use crate::config::{Config, ProviderConfig};
use crate::tencent::provider::TencentProvider;
use anyhow::bail;
use std::path::Path;

pub use crate::common::check::{Check, Status};
pub use crate::common::cors_admin::{CorsAction, RuleArgs, DEFAULT_MAX_AGE};

/// `[provider.NAME]` of `config` (loaded from `path`), or an error naming those there are.
fn provider_config<'c>(
    config: &'c Config,
    path: &Path,
    name: &str,
) -> anyhow::Result<&'c ProviderConfig> {
    match config.provider.get(name) {
        Some(cfg) => Ok(cfg),
        None => {
            let known: Vec<&str> = config.provider.keys().map(String::as_str).collect();
            bail!(
                "{} has no [provider.{name}] (configured: {})",
                path.display(),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            );
        }
    }
}

/// `stsgate cors get|set|delete --config FILE --provider NAME --bucket B`: the lines to print.
/// `version` is OSS's header signature (COS has one).
pub async fn cors(
    config_path: &Path,
    provider: &str,
    bucket: &str,
    action: CorsAction,
    version: SignatureVersion,
) -> anyhow::Result<Vec<String>> {
    let config = Config::load(config_path)?;
    let cfg = provider_config(&config, config_path, provider)?;
    match config.provider_vendor(provider) {
        Some(Vendor::Tencent) => {
            let p = TencentProvider::from_config(provider, cfg, metrics())?;
            crate::tencent::cors_admin::cors(&p, config_path, bucket, action).await
        }
        _ => {
            let p =
                AliyunProvider::from_config(provider, cfg, config.region.as_deref(), metrics())?;
            crate::aliyun::cors_admin::cors(&p, config_path, bucket, action, version).await
        }
    }
}

/// Probes every `[provider.NAME]` of `config`, reporting each line as it is known; returns the
/// number of failed checks. `config_path` goes into the fix commands. Nothing is printed for a
/// config without providers.
pub async fn probe(config: &Config, config_path: &Path, report: &mut dyn FnMut(&Check)) -> usize {
    let mut failures = 0;
    let mut emit = |c: Check| {
        if c.failed() {
            failures += 1;
        }
        report(&c);
    };
    for (name, cfg) in &config.provider {
        // The config is validated as it loads: its grants are.
        let grants: Vec<Grant> = config
            .grants
            .iter()
            .filter(|g| g.provider == *name)
            .cloned()
            .collect();
        let region = config.region.as_deref();
        match config.provider_vendor(name) {
            Some(Vendor::Tencent) => match TencentProvider::from_config(name, cfg, metrics()) {
                Ok(p) => crate::tencent::check::probe(&p, &grants, config_path, &mut emit).await,
                Err(e) => emit(unusable(name, &e)),
            },
            _ => match AliyunProvider::from_config(name, cfg, region, metrics()) {
                Ok(p) => crate::aliyun::check::probe(&p, &grants, config_path, &mut emit).await,
                Err(e) => emit(unusable(name, &e)),
            },
        }
    }
    failures
}

/// The line of a provider whose table does not build (a missing key, a bad endpoint, …).
fn unusable(name: &str, e: &anyhow::Error) -> Check {
    Check::fail(
        format!("provider {name}: {e:#}"),
        format!("correct [provider.{name}] as the message says"),
    )
}

/// Counters of a provider built for one command (nobody reads them).
fn metrics() -> std::sync::Arc<UpstreamMetrics> {
    Default::default()
}
