//! Operator routes and the `duration` parameter of `/v1/credentials`.
//!
//! - `GET /v1/audit?caller=&grant=&outcome=&since=&until=&limit=&cursor=` — the audit log,
//!   oldest first, for the operator key only (`OperatorKey` in `DIR/root-credentials.json`);
//!   a caller's valid credential gets 403, anything else 401. `outcome` is `issued`, `refused`,
//!   an exact `refused:<Code>` or any other exact outcome (`signed`, `presigned`, `assumed` — the
//!   sts face's AssumeRole rows, whose detail names the RoleSessionName); `since` (inclusive) and `until` (exclusive) are Unix seconds;
//!   `limit` is 1-1000 (default 100); `next_cursor` (when not null) fetches the next page.
//! - [`asked_duration`]: `/v1/credentials?duration=SECONDS` (900 to the grant's maximum).

use super::callers;
use super::credentials::{find_grant, Ask};
use super::error::ApiError;
use super::ApiState;
use crate::common::audit::{Filter, Record, MAX_PAGE};
use axum::extract::{Query, Request, State};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use time::OffsetDateTime;

/// `GET /v1/status[?probe=true]` (operator key): the grants and providers in effect and the
/// lines of `stsgate check` for the config the server runs with — the offline ones always, the
/// providers' live probes (their STS, bucket and CORS, seconds each) only with `probe=true`.
pub async fn status_handler(State(state): State<Arc<ApiState>>, req: Request) -> Response {
    let authorization = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .map(|v| v.as_bytes().to_vec());
    let uri = req.uri().clone();
    drop(req);
    let result = async {
        let token = callers::bearer(authorization.as_deref())?;
        state
            .verifier
            .operator(token, OffsetDateTime::now_utc().unix_timestamp())?;
        let query: HashMap<String, String> = Query::try_from_uri(&uri)
            .map(|Query(q)| q)
            .map_err(|_| ApiError::BadRequest("the query string cannot be parsed".into()))?;
        let probe = query.get("probe").is_some_and(|v| v == "true" || v == "1");
        Ok::<Value, ApiError>(status(&state, probe).await)
    }
    .await;
    match result {
        Ok(body) => {
            let mut resp = axum::Json(body).into_response();
            resp.headers_mut().insert(
                http::header::CACHE_CONTROL,
                http::HeaderValue::from_static("no-store"),
            );
            resp
        }
        Err(e) => e.into_response(),
    }
}

async fn status(state: &ApiState, probe: bool) -> Value {
    use crate::common::check::{Check, Status};
    let line = |c: &Check| {
        let status = match c.status {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Skip => "skip",
            Status::Fail => "fail",
        };
        json!({"status": status, "text": c.text, "fix": c.fix})
    };
    let grants: Vec<Value> = state
        .grants
        .iter()
        .map(|g| {
            json!({
                "name": g.name, "provider": g.provider, "vendor": g.vendor.name(),
                "bucket": g.bucket, "prefix": g.template, "actions": g.action_names(),
                "default_duration": g.default_duration, "max_duration": g.max_duration,
                "source_ips": g.source_ips.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let providers: Vec<Value> = state
        .providers
        .iter()
        .map(|(name, p)| match p {
            crate::common::provider::Provider::Local => {
                json!({"name": name, "kind": "embedded"})
            }
            crate::common::provider::Provider::Remote(u) => json!({
                "name": name, "kind": u.vendor().name(), "region": u.region(),
                "endpoint": u.storage_endpoint(),
            }),
        })
        .collect();
    let mut checks = Vec::new();
    match &state.config_path {
        None => checks.push(line(&Check::ok(
            "no config: the default grants on the embedded store (stsgate check needs a config)",
        ))),
        Some(path) => match crate::admin::check(path) {
            Err(e) => checks.push(line(&Check::fail(
                format!("config {}: {e:#}", path.display()),
                "correct the config file as the message says (the server keeps running with the one it started with)",
            ))),
            Ok(lines) => {
                for text in lines {
                    checks.push(match text.strip_prefix("warn ") {
                        Some(rest) => {
                            let (what, fix) = rest.split_once(" — fix: ").unwrap_or((rest, ""));
                            line(&Check::warn(what, fix))
                        }
                        None => json!({"status": "info", "text": text, "fix": null}),
                    });
                }
                if probe {
                    // The probes run as the CLI runs them, on a runtime of their own.
                    let path = path.clone();
                    let found = tokio::task::spawn_blocking(move || {
                        let config = crate::config::Config::load(&path).ok()?;
                        let runtime = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .ok()?;
                        let mut found = Vec::new();
                        runtime.block_on(crate::cloud_admin::probe(&config, &path, &mut |c| {
                            found.push(c.clone())
                        }));
                        Some(found)
                    })
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                    checks.extend(found.iter().map(line));
                }
            }
        },
    }
    json!({
        "grants": grants, "providers": providers, "checks": checks,
        "probed": probe && state.config_path.is_some(),
    })
}

/// Default page size of `GET /v1/audit`.
pub const DEFAULT_PAGE: usize = 100;

/// `GET /v1/audit`.
pub async fn audit_handler(State(state): State<Arc<ApiState>>, req: Request) -> Response {
    let authorization = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .map(|v| v.as_bytes().to_vec());
    match audit(&state, authorization.as_deref(), req.uri()).await {
        Ok(body) => {
            let mut resp = axum::Json(body).into_response();
            resp.headers_mut().insert(
                http::header::CACHE_CONTROL,
                http::HeaderValue::from_static("no-store"),
            );
            resp
        }
        Err(e) => e.into_response(),
    }
}

async fn audit(
    state: &Arc<ApiState>,
    authorization: Option<&[u8]>,
    uri: &http::Uri,
) -> Result<Value, ApiError> {
    let token = callers::bearer(authorization)?;
    state
        .verifier
        .operator(token, OffsetDateTime::now_utc().unix_timestamp())?;
    let query: HashMap<String, String> = Query::try_from_uri(uri)
        .map(|Query(q)| q)
        .map_err(|_| ApiError::BadRequest("the query string cannot be parsed".into()))?;
    let filter = filter(&query)?;
    let audit = state.audit.clone();
    let probe = Filter {
        limit: filter.limit + 1,
        ..filter.clone()
    };
    let mut rows = tokio::task::spawn_blocking(move || audit.query(&probe))
        .await
        .map_err(|e| ApiError::Internal(format!("reading the audit log: {e}")))?
        .map_err(|e| ApiError::Internal(format!("reading the audit log: {e:#}")))?;
    let more = rows.len() > filter.limit;
    rows.truncate(filter.limit);
    let next = match more {
        true => rows.last().map(|(id, _)| id.to_string()),
        false => None,
    };
    let records: Vec<Value> = rows.iter().map(|(id, r)| render(*id, r)).collect();
    Ok(json!({ "records": records, "next_cursor": next }))
}

fn filter(q: &HashMap<String, String>) -> Result<Filter, ApiError> {
    const KNOWN: [&str; 7] = [
        "caller", "grant", "outcome", "since", "until", "limit", "cursor",
    ];
    if let Some(k) = q.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(ApiError::BadRequest(format!(
            "unknown parameter {:?}; use {}",
            k.chars().take(40).collect::<String>(),
            KNOWN.join(", ")
        )));
    }
    let int = |name: &str| -> Result<Option<i64>, ApiError> {
        q.get(name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    ApiError::BadRequest(format!(
                        "{name} must be an integer (Unix seconds or a cursor)"
                    ))
                })
            })
            .transpose()
    };
    let limit = match int("limit")? {
        None => DEFAULT_PAGE,
        Some(n) if (1..=MAX_PAGE as i64).contains(&n) => n as usize,
        Some(n) => {
            return Err(ApiError::BadRequest(format!(
                "limit {n} is outside 1..={MAX_PAGE}"
            )))
        }
    };
    Ok(Filter {
        caller: q.get("caller").cloned(),
        grant: q.get("grant").cloned(),
        outcome: q.get("outcome").cloned(),
        since: int("since")?,
        until: int("until")?,
        after: int("cursor")?.unwrap_or(0).max(0),
        limit,
    })
}

fn render(id: i64, r: &Record) -> Value {
    json!({
        "id": id,
        "time": r.time,
        "caller": r.caller,
        "grant": r.grant,
        "bucket": r.bucket,
        "prefix": r.prefix,
        "access_key_id": r.access_key_id,
        "expiration": r.expiration,
        "request_id": r.request_id,
        "client_ip": r.client_ip,
        "outcome": r.outcome,
        "detail": r.detail,
    })
}

/// The `duration` a `/v1/credentials` request asks for, as the least lifetime its credentials
/// must have (0 when not asked). It must be 900 to the grant's `max_duration`; otherwise 400,
/// after authenticating the caller so the refusal's audit row names them.
pub fn asked_duration(
    state: &ApiState,
    ask: &Ask,
    raw: Option<&str>,
    record: &mut Record,
) -> Result<i64, ApiError> {
    let Some(raw) = raw else { return Ok(0) };
    let token = callers::bearer(ask.authorization.as_deref())?;
    let caller = state
        .verifier
        .verify(token, OffsetDateTime::now_utc().unix_timestamp())?;
    record.caller = caller.id;
    let grant = find_grant(&state.grants, ask.grant.as_deref())?;
    let Ok(secs) = raw.parse::<i64>() else {
        return Err(ApiError::BadRequest(format!(
            "duration {:?} must be a number of seconds, 900 to {} for grant {}",
            raw.chars().take(40).collect::<String>(),
            grant.max_duration,
            grant.name
        )));
    };
    if secs > grant.max_duration {
        return Err(ApiError::BadRequest(format!(
            "duration {secs} s is longer than grant {}'s max_duration of {} s",
            grant.name, grant.max_duration
        )));
    }
    if secs < 900 {
        return Err(ApiError::BadRequest(format!(
            "duration {secs} s is shorter than the minimum of 900 s"
        )));
    }
    Ok(secs)
}
