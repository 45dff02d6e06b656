//! `GET /metrics` (Prometheus text format) and what feeds it. Each server instance has its own
//! recorder (`metrics::with_local_recorder`, no global one), so several servers in one process
//! (tests) count separately.
//!
//! - `stsgate_api_issuances_total{grant,format}` — credentials answered by `/v1/credentials`
//!   (fresh or reused) and by the seed route `/auth/sts` (`format="aliyun-sts"`);
//! - `stsgate_api_cache_hits_total{grant}` — credentials (for an answer or for signing) taken from
//!   the reuse cache instead of minted;
//! - `stsgate_api_refusals_total{reason}` — every error answer, by its JSON `code`;
//! - `stsgate_api_rate_limited_total{scope="ip|caller"}` — 429s by which limit refused;
//! - `stsgate_api_request_duration_seconds{route,status}` — histogram by matched route (the
//!   route template, or `unmatched`, so labels stay few).
//!
//! Nothing secret is exported: no caller ids, keys, prefixes or IPs.

use super::credentials::Format;
use super::ApiState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use std::collections::HashMap;
use std::sync::Arc;

pub const ISSUANCES: &str = "stsgate_api_issuances_total";
pub const REFUSALS: &str = "stsgate_api_refusals_total";
pub const CACHE_HITS: &str = "stsgate_api_cache_hits_total";
pub const RATE_LIMITED: &str = "stsgate_api_rate_limited_total";
pub const DURATION: &str = "stsgate_api_request_duration_seconds";

/// Histogram buckets of [`DURATION`], in seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Set on an error response by `ApiError::render`: its code, and for a 429 which limit refused.
#[derive(Debug, Clone, Copy)]
pub struct Refused {
    pub code: &'static str,
    pub rate_limit_scope: Option<&'static str>,
}

/// Counters by (name, label value), then by grant.
type CountersByLabel = HashMap<(&'static str, &'static str), HashMap<String, metrics::Counter>>;

/// One server's metrics.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// Registered handles by label values: the hot path looks one up instead of building a
    /// labelled key (allocations, hashing, the registry's locks) per request.
    durations: std::sync::Mutex<HashMap<u16, HashMap<Box<str>, metrics::Histogram>>>,
    counters: std::sync::Mutex<CountersByLabel>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(DURATION.into()), BUCKETS)
            .expect("non-empty buckets")
            .build_recorder();
        let handle = recorder.handle();
        Metrics {
            recorder,
            handle,
            durations: Default::default(),
            counters: Default::default(),
        }
    }
}

impl Metrics {
    fn with<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&self.recorder, f)
    }

    /// The counter `name{grant, <label>=value}`, registered once per label values.
    fn grant_counter(
        &self,
        name: &'static str,
        grant: &str,
        label: &'static str,
        value: &'static str,
    ) {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let by_grant = counters.entry((name, value)).or_default();
        if let Some(c) = by_grant.get(grant) {
            c.increment(1);
            return;
        }
        let counter = self.with(|| match label {
            "" => metrics::counter!(name, "grant" => grant.to_string()),
            _ => metrics::counter!(name, "grant" => grant.to_string(), label => value),
        });
        counter.increment(1);
        by_grant.insert(grant.to_string(), counter);
    }

    pub fn issuance(&self, grant: &str, format: &'static str) {
        self.grant_counter(ISSUANCES, grant, "format", format);
    }

    pub fn cache_hit(&self, grant: &str) {
        self.grant_counter(CACHE_HITS, grant, "", "");
    }

    pub fn refused(&self, r: Refused) {
        self.with(|| {
            metrics::counter!(REFUSALS, "reason" => r.code).increment(1);
            if let Some(scope) = r.rate_limit_scope {
                metrics::counter!(RATE_LIMITED, "scope" => scope).increment(1);
            }
        });
    }

    /// Records one request's duration under its route template (`None`: `unmatched`).
    pub fn request(&self, route: Option<&str>, status: u16, seconds: f64) {
        let route = route.unwrap_or("unmatched");
        let mut durations = self.durations.lock().unwrap_or_else(|e| e.into_inner());
        let by_route = durations.entry(status).or_default();
        if let Some(h) = by_route.get(route) {
            h.record(seconds);
            return;
        }
        let histogram = self.with(|| {
            metrics::histogram!(DURATION, "route" => route.to_string(), "status" => status.to_string())
        });
        histogram.record(seconds);
        by_route.insert(route.into(), histogram);
    }

    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Drains histogram samples into their buckets (run periodically so memory stays bounded
    /// between scrapes).
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }
}

/// The `format` label of an issuance.
pub fn format_label(format: Format) -> &'static str {
    format.name()
}

/// `GET /metrics`.
pub async fn handler(State(state): State<Arc<ApiState>>) -> Response {
    let mut text = state.metrics.render();
    // The providers count their upstream calls in a recorder of their own (their calls are
    // async, outside this one's scope).
    text.push_str(&state.providers.metrics.render());
    (
        [(
            http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_count_separately() {
        let (a, b) = (Metrics::default(), Metrics::default());
        a.issuance("user-folder", "stsgate");
        a.issuance("user-folder", "stsgate");
        a.refused(Refused {
            code: "RateLimited",
            rate_limit_scope: Some("caller"),
        });
        a.request(Some("/v1/credentials"), 200, 0.003);
        let text = a.render();
        assert!(
            text.contains(r#"stsgate_api_issuances_total{grant="user-folder",format="stsgate"} 2"#),
            "{text}"
        );
        assert!(text.contains(r#"stsgate_api_rate_limited_total{scope="caller"} 1"#));
        assert!(text.contains(r#"stsgate_api_refusals_total{reason="RateLimited"} 1"#));
        assert!(text.contains("stsgate_api_request_duration_seconds_bucket{route=\"/v1/credentials\",status=\"200\",le=\"0.005\"} 1"), "{text}");
        assert!(!b.render().contains("issuances"));
    }
}
