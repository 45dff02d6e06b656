//! The web console: static ES modules and one stylesheet from `crates/server/console/`, compiled
//! into the binary and served by the api face at `/` and `/console/…` (the vendors' browser SDK
//! bundles of `console/vendor/` at `/console/vendor/…`, checked against `vendor/SHA256SUMS` by a
//! unit test), plus the two routes only the console needs:
//!
//! - `GET /console/config.json` — what the page cannot know by itself: whether "sign in as NAME"
//!   is offered and where the embedded object faces listen (no secret).
//! - `POST /v1/dev/token` `{"sub": "alice"}` — a development JWT (HS256, 1 h), as `stsgate
//!   token` mints. The route exists only when `serve` runs without a config **and** the api
//!   face listens on a loopback address ([`DevSignIn`]); otherwise it is the fallback's 404.
//!
//! Architecture Invariant: every console answer carries [`content_security_policy`] (no inline
//! script or style, connections only to this origin and the embedded object faces, no framing)
//! and `X-Content-Type-Options: nosniff`. The console reads and writes only through the public
//! api routes; it holds a token in `sessionStorage` at most and the operator key in memory only.

use super::callers;
use super::error::ApiError;
use super::signer::{self, Ctx};
use super::ApiState;
use crate::common::provider::LOCAL;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::{Arc, LazyLock};
use stsgate_store::{CorsRule, Store, StoreError};
use time::OffsetDateTime;

/// One file of the console.
struct Asset {
    name: &'static str,
    body: &'static [u8],
    content_type: &'static str,
}

/// Every file of the console, by the name it is served under (`/console/<name>`).
const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        body: include_bytes!("../../console/index.html"),
        content_type: "text/html; charset=utf-8",
    },
    Asset {
        name: "style.css",
        body: include_bytes!("../../console/style.css"),
        content_type: "text/css; charset=utf-8",
    },
    Asset {
        name: "app.js",
        body: include_bytes!("../../console/app.js"),
        content_type: "text/javascript; charset=utf-8",
    },
    Asset {
        name: "api.js",
        body: include_bytes!("../../console/api.js"),
        content_type: "text/javascript; charset=utf-8",
    },
    Asset {
        name: "developer.js",
        body: include_bytes!("../../console/developer.js"),
        content_type: "text/javascript; charset=utf-8",
    },
    Asset {
        name: "upload.js",
        body: include_bytes!("../../console/upload.js"),
        content_type: "text/javascript; charset=utf-8",
    },
    Asset {
        name: "operator.js",
        body: include_bytes!("../../console/operator.js"),
        content_type: "text/javascript; charset=utf-8",
    },
    Asset {
        name: "chart.js",
        body: include_bytes!("../../console/chart.js"),
        content_type: "text/javascript; charset=utf-8",
    },
    Asset {
        name: "sdk.js",
        body: include_bytes!("../../console/sdk.js"),
        content_type: "text/javascript; charset=utf-8",
    },
    // The vendors' browser SDKs: prebuilt bundles of the npm packages pinned by
    // console/vendor/package-lock.json, copied and checked by scripts/vendor-console.sh.
    Asset {
        name: "vendor/aliyun-oss-sdk.min.js",
        body: include_bytes!("../../console/vendor/aliyun-oss-sdk.min.js"),
        content_type: "text/javascript; charset=utf-8",
    },
    Asset {
        name: "vendor/cos-js-sdk-v5.min.js",
        body: include_bytes!("../../console/vendor/cos-js-sdk-v5.min.js"),
        content_type: "text/javascript; charset=utf-8",
    },
    Asset {
        name: "favicon.svg",
        body: include_bytes!("../../console/favicon.svg"),
        content_type: "image/svg+xml",
    },
];

/// Each asset's strong ETag (a hash of its bytes), in the order of [`ASSETS`].
static ETAGS: LazyLock<Vec<HeaderValue>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| {
            let digest = hex::encode(&Sha256::digest(a.body)[..12]);
            HeaderValue::from_str(&format!("\"{digest}\"")).expect("hex is a header value")
        })
        .collect()
});

/// How long the development tokens of `POST /v1/dev/token` live.
pub const DEV_TOKEN_TTL: i64 = 3600;

/// "Sign in as NAME": on only without a config and with the api face on loopback, holding the
/// HS256 key development tokens are signed with (`DIR/jwt-hs256.key`).
pub struct DevSignIn {
    pub key: callers::KeyBytes,
}

impl std::fmt::Debug for DevSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DevSignIn { key: <redacted> }")
    }
}

/// The console's Content-Security-Policy: scripts, styles and fonts from this origin only (no
/// inline code), connections to this origin and the embedded object faces (uploads and
/// downloads go straight to the store), images from here or `data:`, no framing, no plugins.
pub fn content_security_policy(state: &ApiState) -> String {
    let mut connect = String::from("'self'");
    for origin in [&state.oss_endpoint, &state.cos_endpoint]
        .into_iter()
        .flatten()
    {
        connect.push(' ');
        connect.push_str(origin);
    }
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src {connect}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; \
         object-src 'none'"
    )
}

/// Adds the headers every console answer carries.
fn harden(state: &ApiState, resp: &mut Response) {
    let headers = resp.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(state)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
}

/// `GET /`, `/console`, `/console/`: the page.
pub async fn index(State(state): State<Arc<ApiState>>, headers: HeaderMap) -> Response {
    serve_asset(&state, &headers, "index.html")
}

/// `GET /console/{file}`.
pub async fn asset(
    State(state): State<Arc<ApiState>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve_asset(&state, &headers, &file)
}

/// `GET /console/vendor/{file}`: a vendored SDK bundle.
pub async fn vendor_asset(
    State(state): State<Arc<ApiState>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve_asset(&state, &headers, &format!("vendor/{file}"))
}

fn serve_asset(state: &ApiState, headers: &HeaderMap, name: &str) -> Response {
    let Some(i) = ASSETS.iter().position(|a| a.name == name) else {
        let mut resp = ApiError::NotFound(format!(
            "no console file named {:?}",
            name.chars().take(64).collect::<String>()
        ))
        .into_response();
        harden(state, &mut resp);
        return resp;
    };
    let (asset, etag) = (&ASSETS[i], &ETAGS[i]);
    // Revalidated on every use (cheap: a 304), so a new binary's console is never mixed with
    // an old one's cached modules.
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    let mut resp = match fresh {
        true => StatusCode::NOT_MODIFIED.into_response(),
        false => asset.body.into_response(),
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    h.insert(header::ETAG, etag.clone());
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    harden(state, &mut resp);
    resp
}

/// `GET /console/config.json`.
pub async fn config(State(state): State<Arc<ApiState>>) -> Response {
    let grants: Vec<_> = state.grants.iter().map(|g| g.name.as_str()).collect();
    let mut resp = axum::Json(json!({
        "dev_sign_in": state.dev_sign_in.is_some(),
        "oss_endpoint": state.oss_endpoint,
        "cos_endpoint": state.cos_endpoint,
        "grants": grants,
    }))
    .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    harden(&state, &mut resp);
    resp
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DevTokenBody {
    sub: String,
}

/// `POST /v1/dev/token` (see the module docs): audited as `dev-token`.
pub async fn dev_token_handler(State(state): State<Arc<ApiState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let ctx = Ctx::new(&parts);
    let mut record = ctx.record();
    let Some(dev) = &state.dev_sign_in else {
        return ApiError::NotFound("no such route: see /v1/credentials?grant=NAME".into())
            .into_response();
    };
    let sub = match signer::json_body::<DevTokenBody>(body)
        .await
        .and_then(|b| check_sub(&b.sub).map(|()| b.sub))
    {
        Ok(sub) => sub,
        Err(e) => return signer::refused(&state, record, e).await,
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let claims = callers::dev_claims(&sub, &[], now, DEV_TOKEN_TTL);
    let token = match callers::mint_hs256(&dev.key, &claims) {
        Ok(t) => t,
        Err(e) => {
            let err = ApiError::Internal(format!("minting a development token: {e:#}"));
            return signer::refused(&state, record, err).await;
        }
    };
    record.time = now;
    record.caller = format!("jwt:{sub}");
    record.outcome = "dev-token".into();
    record.detail = format!("development token for {sub} (console sign-in, {DEV_TOKEN_TTL} s)");
    if crate::common::audit::write(&state.audit, record)
        .await
        .is_err()
    {
        return ApiError::AuditUnavailable.into_response();
    }
    signer::no_store(
        axum::Json(json!({
            "token": token,
            "sub": sub,
            "expires_in": DEV_TOKEN_TTL,
            "request_id": ctx.request_id,
        }))
        .into_response(),
    )
}

/// A development subject: 1-64 of `[A-Za-z0-9._@-]`, not `..` (what grant prefixes accept).
fn check_sub(sub: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&sub.len())
        && !sub.contains("..")
        && sub
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'));
    match ok {
        true => Ok(()),
        false => Err(ApiError::BadRequest(
            "sub must be 1-64 of A-Z a-z 0-9 . _ @ - (and not \"..\")".into(),
        )),
    }
}

/// Adds a CORS rule to `bucket` for those of `origins` no rule names yet (GET, PUT, POST,
/// DELETE, HEAD; any header; `ETag` and the request ids exposed), keeping its other rules.
pub fn allow_console(store: &Store, bucket: &str, origins: &[String]) -> Result<(), ApiError> {
    if origins.is_empty() {
        return Ok(());
    }
    let failed = |e: StoreError| ApiError::Internal(format!("bucket {bucket}'s CORS: {e}"));
    let mut cors = store
        .get_bucket_cors(bucket)
        .map_err(failed)?
        .unwrap_or_default();
    let named = |o: &String| {
        cors.rules
            .iter()
            .any(|r| r.allowed_origins.iter().any(|a| a == o || a == "*"))
    };
    let missing: Vec<String> = origins.iter().filter(|o| !named(o)).cloned().collect();
    if missing.is_empty() {
        return Ok(());
    }
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    cors.rules.push(CorsRule {
        allowed_origins: missing,
        allowed_methods: words(&["GET", "PUT", "POST", "DELETE", "HEAD"]),
        allowed_headers: words(&["*"]),
        expose_headers: words(&["ETag", "x-oss-request-id", "x-cos-request-id"]),
        max_age_seconds: Some(600),
    });
    store.set_bucket_cors(bucket, Some(&cors)).map_err(failed)
}

/// At start without a config: every grant bucket that already exists in the embedded store lets
/// the console in (the ones created later get the rule from [`ApiState::ensure_bucket`]).
pub fn allow_console_in_grant_buckets(state: &ApiState) -> Result<(), ApiError> {
    let Some(store) = &state.store else {
        return Ok(());
    };
    for grant in state.grants.iter().filter(|g| g.provider == LOCAL) {
        match store.get_bucket(&grant.bucket) {
            Ok(_) => allow_console(store, &grant.bucket, &state.console_origins)?,
            Err(StoreError::NoSuchBucket) => {}
            Err(e) => {
                return Err(ApiError::Internal(format!(
                    "reading bucket {}: {e}",
                    grant.bucket
                )))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_type_and_no_inline_code() {
        for a in ASSETS {
            assert!(!a.body.is_empty(), "{}", a.name);
            let text = String::from_utf8_lossy(a.body);
            if a.name.ends_with(".html") {
                // The CSP refuses inline code: the page must not rely on any.
                assert!(!text.contains("<style"), "{}: inline <style>", a.name);
                assert!(!text.contains(" style="), "{}: inline style=", a.name);
                assert!(
                    !has_inline_handler(&text),
                    "{}: inline on…= handler",
                    a.name
                );
                for script in text.split("<script").skip(1) {
                    assert!(script.contains("src="), "{}: inline <script>", a.name);
                }
            }
            // The vendored SDK bundles are not ours to keep free of localStorage (cos-js-sdk-v5
            // can cache upload ids there; the console turns that off): they are checked
            // against their recorded hashes instead (vendored_bundles_match_their_hashes).
            if a.name.ends_with(".js") && !a.name.starts_with("vendor/") {
                assert!(!text.contains("localStorage"), "{}: localStorage", a.name);
                assert!(!text.contains("innerHTML"), "{}: innerHTML", a.name);
            }
        }
    }

    #[test]
    fn vendored_bundles_match_their_hashes() {
        let sums = include_str!("../../console/vendor/SHA256SUMS");
        let vendored: Vec<_> = ASSETS
            .iter()
            .filter(|a| a.name.starts_with("vendor/"))
            .collect();
        assert_eq!(vendored.len(), sums.lines().count(), "one hash per bundle");
        for a in vendored {
            let file = &a.name["vendor/".len()..];
            let line = sums
                .lines()
                .find(|l| l.ends_with(&format!("  {file}")))
                .unwrap_or_else(|| panic!("{file}: no hash in vendor/SHA256SUMS"));
            assert_eq!(
                &line[..64],
                hex::encode(Sha256::digest(a.body)),
                "{file} differs from its recorded hash: run scripts/vendor-console.sh"
            );
        }
    }

    /// Whether `html` has an attribute such as ` onclick=`.
    fn has_inline_handler(html: &str) -> bool {
        html.match_indices(" on").any(|(i, _)| {
            let rest = &html[i + 3..];
            let name_len = rest.chars().take_while(char::is_ascii_lowercase).count();
            name_len > 0 && rest[name_len..].starts_with('=')
        })
    }

    #[test]
    fn the_page_has_no_id_twice() {
        let page = ASSETS.iter().find(|a| a.name == "index.html").unwrap();
        let text = String::from_utf8_lossy(page.body);
        let mut seen = std::collections::HashSet::new();
        for part in text.split(" id=\"").skip(1) {
            let id = part.split('"').next().unwrap();
            assert!(seen.insert(id), "id {id:?} is used twice in index.html");
        }
        assert!(seen.len() > 20, "{}", seen.len());
    }

    #[test]
    fn subjects() {
        for ok in ["alice", "bob.smith", "a@b-c_d"] {
            assert!(check_sub(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a/b", "a..b", "a b", &"x".repeat(65), "é"] {
            assert!(check_sub(bad).is_err(), "{bad}");
        }
    }
}
