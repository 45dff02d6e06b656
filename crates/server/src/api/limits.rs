//! Rate limits of the api face (`[api.rate_limit]`), with `governor`'s keyed GCRA limiters:
//!
//! - **per client IP** (an IPv6 client by its /64): every request but `/healthz`, checked by
//!   [`ip_middleware`] before anything else, so a flood of bad tokens is limited too. The IP is the
//!   TCP peer (`ConnectInfo`); `X-Forwarded-For` is not trusted. A request without `ConnectInfo`
//!   (in-process tests) is not IP-limited.
//! - **per caller** (the authenticated caller id): checked right after authentication by every route
//!   that issues or signs ([`Limits::check_caller`] from `credentials::scoped`).
//!
//! Over a limit: 429 `RateLimited` with `Retry-After` (seconds, rounded up, at least 1), counted in
//! `stsgate_api_rate_limited_total{scope}`. The audit log gets a **sample**: the first refusal of a
//! key, then at most one per key per [`AUDIT_SAMPLE_SECS`] — a flood is visible in the audit log
//! without filling the disk; the metric counts every one.
//!
//! Memory stays bounded: a background task (started by `serve::run_api`) calls
//! [`Limits::retain_recent`] every [`PRUNE_SECS`], dropping keys whose bucket is full again.

use super::error::ApiError;
use super::ApiState;
use crate::common::audit::Record;
use crate::config::{RateConfig, RateLimitConfig, DEFAULT_PER_CALLER, DEFAULT_PER_IP};
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// At most one audited rate-limit refusal per key per this many seconds.
pub const AUDIT_SAMPLE_SECS: u64 = 60;
/// How often idle keys are dropped.
pub const PRUNE_SECS: u64 = 60;

/// Which limit refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Ip,
    Caller,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ip => "ip",
            Scope::Caller => "caller",
        }
    }
}

/// A refusal: how long to wait, and whether this one should be audited (sampled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub scope: Scope,
    pub retry_after: u64,
    pub audit: bool,
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> ApiError {
        ApiError::RateLimited {
            scope: r.scope.as_str(),
            retry_after: r.retry_after,
            audit: r.audit,
        }
    }
}

/// One keyed limit plus its audit sampler.
#[derive(Debug)]
struct Keyed<K: std::hash::Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    sampler: DefaultKeyedRateLimiter<K>,
}

impl<K: std::hash::Hash + Eq + Clone> Keyed<K> {
    fn new(quota: Quota) -> Keyed<K> {
        let sample =
            Quota::with_period(Duration::from_secs(AUDIT_SAMPLE_SECS)).expect("non-zero period");
        Keyed {
            limiter: RateLimiter::keyed(quota),
            sampler: RateLimiter::keyed(sample),
        }
    }

    fn check(&self, key: &K, scope: Scope) -> Result<(), Refusal> {
        match self.limiter.check_key(key) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(Refusal {
                    scope,
                    retry_after: retry_after_secs(wait),
                    audit: self.sampler.check_key(key).is_ok(),
                })
            }
        }
    }

    fn retain_recent(&self) {
        self.limiter.retain_recent();
        self.sampler.retain_recent();
        self.limiter.shrink_to_fit();
        self.sampler.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.limiter.len()
    }
}

/// The api face's rate limits (`None`: that limit is off).
#[derive(Debug)]
pub struct Limits {
    per_ip: Option<Keyed<IpAddr>>,
    per_caller: Option<Keyed<String>>,
}

impl Default for Limits {
    /// The defaults: 100/s burst 200 per IP, 20/s burst 40 per caller.
    fn default() -> Limits {
        Limits::from_config(&RateLimitConfig::default())
    }
}

impl Limits {
    /// No limits at all.
    pub fn off() -> Limits {
        Limits {
            per_ip: None,
            per_caller: None,
        }
    }

    pub fn from_config(config: &RateLimitConfig) -> Limits {
        if config.enabled == Some(false) {
            return Limits::off();
        }
        Limits {
            per_ip: quota(config.per_ip.unwrap_or(DEFAULT_PER_IP)).map(Keyed::new),
            per_caller: quota(config.per_caller.unwrap_or(DEFAULT_PER_CALLER)).map(Keyed::new),
        }
    }

    /// Counts one request from `ip`.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Refusal> {
        match &self.per_ip {
            Some(k) => k.check(&ip_key(ip), Scope::Ip),
            None => Ok(()),
        }
    }

    /// Counts one request of the authenticated caller `caller_id`.
    pub fn check_caller(&self, caller_id: &str) -> Result<(), Refusal> {
        match &self.per_caller {
            Some(k) => k.check(&caller_id.to_string(), Scope::Caller),
            None => Ok(()),
        }
    }

    /// Drops the state of keys that are back to a full bucket (memory stays bounded by the number
    /// of keys active within a refill period).
    pub fn retain_recent(&self) {
        if let Some(k) = &self.per_ip {
            k.retain_recent();
        }
        if let Some(k) = &self.per_caller {
            k.retain_recent();
        }
    }

    /// Keys held: (IPs, callers).
    pub fn len(&self) -> (usize, usize) {
        (
            self.per_ip.as_ref().map_or(0, Keyed::len),
            self.per_caller.as_ref().map_or(0, Keyed::len),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0)
    }
}

/// The answer to a request over the per-IP limit (checked by [`super::front`] before anything
/// else), after its sampled audit row.
pub async fn refuse_ip(state: Arc<ApiState>, ip: IpAddr, refusal: Refusal) -> Response {
    let err = ApiError::from(refusal);
    if refusal.audit {
        let record = Record {
            request_id: super::signer::request_id(),
            client_ip: ip.to_string(),
            ..Record::default()
        };
        audit_sampled(&state, record, &err).await;
    }
    err.into_response()
}

/// Writes the sampled audit row of a rate-limit refusal (best effort).
pub async fn audit_sampled(state: &ApiState, mut record: Record, err: &ApiError) {
    record.time = time::OffsetDateTime::now_utc().unix_timestamp();
    record.outcome = format!("refused:{}", err.code());
    record.detail = format!(
        "{err} (sampled: further refusals of this key within {AUDIT_SAMPLE_SECS} s are counted in stsgate_api_rate_limited_total, not audited)"
    );
    let audit = state.audit.clone();
    if !matches!(
        tokio::task::spawn_blocking(move || audit.record(&record)).await,
        Ok(Ok(()))
    ) {
        tracing::error!("audit log write of a rate-limit refusal failed");
    }
}

/// The quota of `rate`, or `None` when `per_second` is 0 (off).
pub fn quota(rate: RateConfig) -> Option<Quota> {
    let per_second = NonZeroU32::new(rate.per_second)?;
    let burst = rate
        .burst
        .and_then(NonZeroU32::new)
        .unwrap_or_else(|| per_second.saturating_mul(NonZeroU32::MIN.saturating_add(1)));
    Some(Quota::per_second(per_second).allow_burst(burst))
}

/// The key of a client IP: IPv4 as is (IPv4-mapped IPv6 too), IPv6 by its /64.
pub fn ip_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut seg = v6.segments();
                seg[4..].fill(0);
                IpAddr::V6(seg.into())
            }
        },
    }
}

/// `Retry-After` seconds: rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn limits(toml: &str) -> Limits {
        Limits::from_config(&Config::parse(toml).unwrap().api.rate_limit)
    }

    #[test]
    fn config_shapes() {
        let c = Config::parse(
            "[api.rate_limit]\nper_ip = { per_second = 5, burst = 7 }\nper_caller = { per_second = 2 }\n",
        )
        .unwrap();
        let rl = &c.api.rate_limit;
        assert_eq!(
            rl.per_ip,
            Some(RateConfig {
                per_second: 5,
                burst: Some(7)
            })
        );
        assert_eq!(quota(rl.per_caller.unwrap()).unwrap().burst_size().get(), 4);
        assert_eq!(quota(rl.per_ip.unwrap()).unwrap().burst_size().get(), 7);
        assert!(quota(RateConfig {
            per_second: 0,
            burst: None
        })
        .is_none());
        let bad = |t: &str, want: &str| {
            let e = format!("{:#}", Config::parse(t).unwrap_err());
            assert!(e.contains(want), "{e} lacks {want}");
        };
        bad("[api.rate_limit]\nper_ip = \"5/s\"\n", "per_ip");
        bad(
            "[api.rate_limit]\nper_ip = { per_second = 5, brust = 1 }\n",
            "unknown field `brust`",
        );
        bad(
            "[api.rate_limit]\nper_caller = { per_second = 5, burst = 0 }\n",
            "per_caller.burst",
        );
        bad("[api]\nmetrics = \"yes\"\n", "metrics");
    }

    #[test]
    fn defaults_and_off() {
        let d = Limits::default();
        for _ in 0..DEFAULT_PER_CALLER.burst.unwrap() {
            d.check_caller("jwt:a").unwrap();
        }
        assert!(d.check_caller("jwt:a").is_err());
        let off = limits("[api.rate_limit]\nenabled = false\n");
        for _ in 0..1000 {
            off.check_caller("jwt:a").unwrap();
            off.check_ip("10.0.0.1".parse().unwrap()).unwrap();
        }
        assert!(off.is_empty());
        let ip_off = limits("[api.rate_limit]\nper_ip = { per_second = 0 }\n");
        for _ in 0..1000 {
            ip_off.check_ip("10.0.0.1".parse().unwrap()).unwrap();
        }
    }

    #[test]
    fn keyed_by_caller_and_ip() {
        let l = limits(
            "[api.rate_limit]\nper_ip = { per_second = 1, burst = 2 }\nper_caller = { per_second = 1, burst = 3 }\n",
        );
        for _ in 0..3 {
            l.check_caller("jwt:alice").unwrap();
        }
        let r = l.check_caller("jwt:alice").unwrap_err();
        assert_eq!(r.scope, Scope::Caller);
        assert_eq!(r.retry_after, 1);
        assert!(r.audit, "the first refusal is audited");
        assert!(
            !l.check_caller("jwt:alice").unwrap_err().audit,
            "then sampled"
        );
        l.check_caller("jwt:bob").unwrap();
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        l.check_ip(a).unwrap();
        l.check_ip(b).unwrap();
        assert_eq!(l.check_ip(a).unwrap_err().scope, Scope::Ip, "same /64");
        l.check_ip("2001:db8:1:3::1".parse().unwrap()).unwrap();
        l.check_ip("10.0.0.1".parse().unwrap()).unwrap();
        assert_eq!(l.len(), (3, 2));
    }

    #[test]
    fn ip_keys_and_retry_after() {
        assert_eq!(
            ip_key("::ffff:10.1.2.3".parse().unwrap()),
            "10.1.2.3".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            ip_key("2001:db8::1:2:3:4".parse().unwrap()),
            "2001:db8::".parse::<IpAddr>().unwrap()
        );
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(10)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
    }
}
