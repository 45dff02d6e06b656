//! Grants as the api face uses them: the vendor-neutral scope (`common::scope`) rendered into
//! the grant's vendor's policy grammar.

pub use crate::common::scope::*;

use crate::common::provider::Vendor;

/// The narrowest session policy for `grant` at `prefix` (already rendered for the caller), in
/// the grammar of the grant's vendor; `region` is the bucket's (CAM names it in resources).
pub fn policy(grant: &Grant, prefix: &str, region: &str) -> String {
    match grant.vendor {
        Vendor::Aliyun => crate::aliyun::policy::render(grant, prefix),
        Vendor::Tencent => {
            let app_id = grant.bucket.rsplit_once('-').map_or("", |(_, id)| id);
            crate::tencent::policy::render(grant, prefix, region, app_id)
        }
    }
}

/// The policy for the longest prefix the template can render (every `${claim}` 128
/// characters): the largest any caller of `grant` gets.
pub fn worst_case_policy(grant: &Grant, region: &str) -> String {
    policy(grant, &grant.worst_case_prefix(), region)
}

/// `GET /v1/grants` (bearer): the grants this server has, each with the prefix it gives the
/// caller (`null` when the caller's claims cannot fill it) — what the console lists and the
/// names `/v1/credentials?grant=` takes. Nothing secret, nothing issued, so not audited.
pub async fn list_handler(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<super::ApiState>>,
    headers: http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let token = match super::callers::bearer(
        headers
            .get(http::header::AUTHORIZATION)
            .map(http::HeaderValue::as_bytes),
    ) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let caller = match state.verifier.verify_async(token, now).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let grants: Vec<serde_json::Value> = state
        .grants
        .iter()
        .map(|g| {
            serde_json::json!({
                "name": g.name,
                "vendor": g.vendor.name(),
                "provider": g.provider,
                "bucket": g.bucket,
                "prefix_template": g.template,
                "prefix": g.prefix(&caller.claims).ok(),
                "actions": g.action_names(),
                "default_duration": g.default_duration,
                "max_duration": g.max_duration,
            })
        })
        .collect();
    super::signer::no_store(
        axum::Json(serde_json::json!({ "caller": caller.id, "grants": grants })).into_response(),
    )
}
