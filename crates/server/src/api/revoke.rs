//! `POST /v1/revoke` (operator key only): body `{"caller": "jwt:alice"}` revokes every credential
//! issued to that caller so far (the caller id as in the audit log), `{"access_key_id": "STS.…"}` (or a Tencent `AKID…`)
//! revokes one temporary credential. The row goes to `DIR/revocations.sqlite3` (every node sharing
//! the data directory refuses the credentials within a second: see [`crate::revocations`]), this
//! node's cached credentials for it are dropped, and an audit row (`revoked`) is written — after
//! the revocation, which is never held back by a failing audit log (`"audited": false` then).

use super::callers;
use super::error::ApiError;
use super::signer::{self, Ctx};
use super::ApiState;
use crate::common::dates::iso8601;
use crate::revocations::Target;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use time::OffsetDateTime;

/// The longest caller id or access key id accepted.
const MAX_ID: usize = 256;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    caller: Option<String>,
    access_key_id: Option<String>,
}

/// `POST /v1/revoke`.
pub async fn handler(State(state): State<Arc<ApiState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let ctx = Ctx::new(&parts);
    let mut record = ctx.record();
    let result = async {
        let token = callers::bearer(ctx.authorization.as_ref().map(http::HeaderValue::as_bytes))?;
        state
            .verifier
            .operator(token, OffsetDateTime::now_utc().unix_timestamp())?;
        record.caller = "operator".into();
        let body: Body = signer::json_body(body).await?;
        target(body)
    }
    .await;
    let target = match result {
        Ok(t) => t,
        Err(e) if !e.audited() => return e.into_response(),
        Err(e) => return signer::refused(&state, record, e).await,
    };
    match revoke(&state, &ctx, &target, &mut record).await {
        Ok(v) => signer::no_store(axum::Json(v).into_response()),
        Err(e) => signer::refused(&state, record, e).await,
    }
}

fn target(body: Body) -> Result<Target, ApiError> {
    let check = |name: &str, v: &str| -> Result<(), ApiError> {
        if v.is_empty() || v.len() > MAX_ID || v.chars().any(char::is_control) {
            return Err(ApiError::BadRequest(format!(
                "{name} must be 1-{MAX_ID} characters without control characters"
            )));
        }
        Ok(())
    };
    match (body.caller, body.access_key_id) {
        (Some(c), None) => {
            check("caller", &c)?;
            Ok(Target::Caller(c))
        }
        (None, Some(k)) => {
            check("access_key_id", &k)?;
            // Alibaba temporary ids start `STS.`, Tencent ones `AKID` (a revocation only ever
            // applies to credentials that come with a security token).
            if !k.starts_with("STS.") && !k.starts_with("AKID") {
                return Err(ApiError::BadRequest(format!(
                    "access_key_id {:?} is not a temporary credential (STS.… or AKID…); only temporary credentials are revoked",
                    k.chars().take(40).collect::<String>()
                )));
            }
            Ok(Target::AccessKeyId(k))
        }
        _ => Err(ApiError::BadRequest(
            "give exactly one of {\"caller\": \"jwt:alice\"} (the caller id as in /v1/audit) or {\"access_key_id\": \"STS.…\" or \"AKID…\"}".into(),
        )),
    }
}

async fn revoke(
    state: &Arc<ApiState>,
    ctx: &Ctx,
    target: &Target,
    record: &mut crate::common::audit::Record,
) -> Result<Value, ApiError> {
    let (revocations, t, request_id) = (
        state.revocations.clone(),
        target.clone(),
        ctx.request_id.clone(),
    );
    let at = tokio::task::spawn_blocking(move || revocations.revoke(&t, &request_id))
        .await
        .map_err(|e| ApiError::Internal(format!("recording the revocation: {e}")))?
        .map_err(|e| ApiError::Internal(format!("recording the revocation: {e:#}")))?;
    let (dropped, what) = match target {
        Target::Caller(c) => (state.cache.drop_caller(c), json!({ "caller": c })),
        Target::AccessKeyId(k) => {
            record.access_key_id = k.clone();
            (
                state.cache.drop_access_key(k),
                json!({ "access_key_id": k }),
            )
        }
    };
    record.time = at;
    record.outcome = "revoked".into();
    record.detail = match target {
        Target::Caller(c) => format!("revoked every credential of caller {c} issued until {at}"),
        Target::AccessKeyId(k) => format!("revoked access key id {k}"),
    };
    let (audit, row) = (state.audit.clone(), record.clone());
    let audited = matches!(
        tokio::task::spawn_blocking(move || audit.record(&row)).await,
        Ok(Ok(()))
    );
    if !audited {
        tracing::error!(
            request_id = ctx.request_id,
            "audit log write of a revocation failed (the revocation stands)"
        );
    }
    tracing::info!(request_id = ctx.request_id, "{}", record.detail);
    Ok(json!({
        "revoked": what,
        "revoked_at": iso8601(OffsetDateTime::from_unix_timestamp(at).unwrap_or(OffsetDateTime::UNIX_EPOCH)),
        "cached_dropped": dropped,
        "audited": audited,
        "request_id": ctx.request_id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_target() {
        let b = |c: Option<&str>, k: Option<&str>| Body {
            caller: c.map(Into::into),
            access_key_id: k.map(Into::into),
        };
        assert_eq!(
            target(b(Some("jwt:alice"), None)),
            Ok(Target::Caller("jwt:alice".into()))
        );
        assert_eq!(
            target(b(None, Some("STS.abc"))),
            Ok(Target::AccessKeyId("STS.abc".into()))
        );
        assert!(target(b(None, None)).is_err());
        assert!(target(b(Some("a"), Some("STS.b"))).is_err());
        assert!(target(b(None, Some("LTAIroot"))).is_err());
        assert_eq!(
            target(b(None, Some("AKIDtmp"))),
            Ok(Target::AccessKeyId("AKIDtmp".into()))
        );
        assert!(target(b(Some(""), None)).is_err());
        assert!(target(b(Some("a\nb"), None)).is_err());
    }
}
