//! The sts face: Alibaba STS (`2015-04-01`) `AssumeRole` and `GetCallerIdentity` at `/`.
//!
//! A request reads top to bottom in [`dispatch`]:
//!
//! ```text
//! decode (request::Incoming: query ∪ form body)
//!   → signature fields (auth::parse: RPC V1 params or ACS3 headers)
//!   → timestamp window, key (root or STS token), signature (auth::verify)
//!   → nonce not used within the window (iam::Iam::use_nonce, durable)
//!   → Version, Action → handlers::{assume_role, get_caller_identity}
//!   → render (JSON, or XML with Format=XML; errors as POP error bodies)
//!   → audit row per AssumeRole (api/audit.rs, shared with the api face): `assumed` before the
//!     credentials leave (fail closed: InternalError if it cannot be written), `refused:<Code>`
//!     best effort
//! ```
//!
//! - [`request`] — decoding; [`auth`] — signatures; [`params`] — AssumeRole's parameter rules;
//!   [`handlers`] — the two actions; [`error`] — `StsError` → POP error; [`render`] — JSON/XML.

pub mod auth;
pub mod error;
pub mod handlers;
pub mod params;
pub mod render;
pub mod request;

use crate::common::audit::{AuditLog, Record};
use crate::common::resolve::Keyring;
use crate::iam::Iam;
use auth::Caller;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use axum::Router;
use error::StsError;
use http::StatusCode;
use render::Format;
use request::Incoming;
use std::net::SocketAddr;
use std::sync::Arc;
use time::OffsetDateTime;

/// What the sts face needs: the keys (root, token AEAD) and the roles/nonces database.
#[derive(Debug)]
pub struct StsState {
    pub keys: Keyring,
    pub iam: Iam,
    /// The data directory's audit log (`DIR/audit.sqlite3`, the api face's too): one row per
    /// AssumeRole, so `GET /v1/audit` shows who assumed which role under which session name.
    pub audit: Arc<dyn AuditLog>,
}

impl StsState {
    /// The sts face's state over a data directory: its keys (incl. extra keys),
    /// `DIR/iam.sqlite3` (created with role `app`) and `audit` (the data directory's shared log).
    pub fn open(
        dir: &crate::datadir::DataDir,
        audit: Arc<dyn AuditLog>,
    ) -> anyhow::Result<StsState> {
        // The roles table must exist before the access keys' (both live in iam.sqlite3).
        let iam = Iam::open(&dir.path, &dir.root.id)?;
        Ok(StsState {
            keys: Keyring::open(dir, true)?,
            iam,
            audit,
        })
    }
}

/// The sts face's router: every path and method reaches [`handle`].
pub fn router(state: Arc<StsState>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

/// A POP request id: an uppercase UUID.
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_ascii_uppercase()
}

/// The entry point of every sts-face request.
pub async fn handle(State(state): State<Arc<StsState>>, req: Request) -> Response {
    let request_id = request_id();
    let client_ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, request::MAX_BODY).await {
        Ok(body) => body,
        Err(_) => {
            let err = StsError::invalid("ContentLength", "The request body is too large.");
            return err.into_response(Format::Json, &request_id, "sts.aliyuncs.com");
        }
    };
    let now = OffsetDateTime::now_utc();
    let id = request_id.clone();
    let answer = tokio::task::spawn_blocking(move || match Incoming::new(&parts, body) {
        Ok(req) => dispatch(&state, &req, now, &id, &client_ip),
        Err(err) => err.into_response(Format::Json, &id, "sts.aliyuncs.com"),
    })
    .await;
    answer.unwrap_or_else(|e| {
        tracing::error!(request_id, "sts handler failed: {e}");
        StsError::Internal.into_response(Format::Json, &request_id, "sts.aliyuncs.com")
    })
}

/// What [`answer`] learnt about a request before it succeeded or failed (for its audit row).
#[derive(Debug, Default)]
struct Seen {
    /// The `Action` of the parsed signature fields.
    action: Option<String>,
    /// The access key id that signed, once the signature is verified.
    caller: Option<String>,
    /// Who that key is: `root`, `user/<name>` or `assumed-role/<arn>/<session>`.
    identity: Option<String>,
}

/// A successful answer: the XML root element, the body, and what an AssumeRole issued.
struct Answer {
    root: &'static str,
    body: serde_json::Value,
    assumed: Option<handlers::Assumed>,
}

/// Longest audit `detail` kept (a refusal's message may carry a long string-to-sign).
const MAX_DETAIL: usize = 2048;

/// Handles one decoded request; `now` is the server's clock, `client_ip` the peer's address
/// (empty when unknown). Every AssumeRole is audited: a success only once its row is written.
pub fn dispatch(
    state: &StsState,
    req: &Incoming,
    now: OffsetDateTime,
    request_id: &str,
    client_ip: &str,
) -> Response {
    let default = match auth::is_acs3(req) {
        true => Format::Json,
        false => Format::Xml,
    };
    let format = Format::from_param(req.param("Format"), default);
    let mut seen = Seen::default();
    match answer(state, req, now, request_id, &mut seen) {
        Ok(Answer {
            root,
            body,
            assumed,
        }) => {
            if let Some(assumed) = assumed {
                let record = Record {
                    time: now.unix_timestamp(),
                    caller: seen.caller.clone().unwrap_or_default(),
                    access_key_id: assumed.access_key_id.clone(),
                    expiration: Some(assumed.expiration),
                    request_id: request_id.to_string(),
                    client_ip: client_ip.to_string(),
                    outcome: "assumed".into(),
                    detail: format!(
                        "RoleSessionName={} RoleArn={} Caller={}",
                        assumed.session_name,
                        assumed.role_arn,
                        seen.identity.as_deref().unwrap_or("")
                    ),
                    ..Record::default()
                };
                // Fail closed, as the api face: no credentials leave without their audit row.
                if let Err(e) = state.audit.record(&record) {
                    let err =
                        internal(request_id, format!("writing AssumeRole's audit row: {e:#}"));
                    return err.into_response(format, request_id, &req.host_id());
                }
            }
            render::respond(StatusCode::OK, format, root, &body, request_id)
        }
        Err(err) => {
            if asked_action(req, &seen) == Some("AssumeRole") {
                audit_refusal(state, req, &seen, &err, now, request_id, client_ip);
            }
            err.into_response(format, request_id, &req.host_id())
        }
    }
}

/// The action a request asked for, also when its signature fields did not parse.
fn asked_action<'a>(req: &'a Incoming, seen: &'a Seen) -> Option<&'a str> {
    seen.action
        .as_deref()
        .or_else(|| req.param("Action"))
        .or_else(|| req.header("x-acs-action"))
}

/// The access key id a request claims (RPC `AccessKeyId`, or ACS3 `Credential=`).
fn claimed_key(req: &Incoming) -> Option<&str> {
    req.param("AccessKeyId").or_else(|| {
        let auth = req.header("authorization")?;
        let (_, rest) = auth.split_once("Credential=")?;
        Some(rest.split(',').next().unwrap_or("").trim())
    })
}

/// At most `max` characters of `s`.
fn cut(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Queues a refused AssumeRole's row, best effort (the refusal is answered whatever happens).
fn audit_refusal(
    state: &StsState,
    req: &Incoming,
    seen: &Seen,
    err: &StsError,
    now: OffsetDateTime,
    request_id: &str,
    client_ip: &str,
) {
    let param = |name: &str| cut(req.param(name).unwrap_or(""), 128).to_string();
    let mut detail = format!(
        "RoleSessionName={} RoleArn={}",
        param("RoleSessionName"),
        param("RoleArn")
    );
    match &seen.identity {
        Some(identity) => detail.push_str(&format!(" Caller={identity}")),
        // Not verified: the key id the request claims, for tracing a misconfigured client.
        None => detail.push_str(&format!(
            " AccessKeyId={} (unverified)",
            cut(claimed_key(req).unwrap_or(""), 128)
        )),
    }
    detail.push_str(": ");
    detail.push_str(&err.message());
    let record = Record {
        time: now.unix_timestamp(),
        caller: seen.caller.clone().unwrap_or_default(),
        request_id: request_id.to_string(),
        client_ip: client_ip.to_string(),
        outcome: format!("refused:{}", err.code()),
        detail: cut(&detail, MAX_DETAIL).to_string(),
        ..Record::default()
    };
    // Queued, not waited for: a read of the log after this answer still sees it (one writer).
    if let Err(record) = state.audit.enqueue(record) {
        if let Err(e) = state.audit.record(&record) {
            tracing::warn!(request_id, "auditing a refused AssumeRole: {e:#}");
        }
    }
}

fn identity(caller: &Caller, access_key_id: &str) -> String {
    match caller {
        Caller::Root => "root".into(),
        Caller::Key(name) => format!("user/{name}"),
        Caller::Temporary(claims) => format!(
            "assumed-role/{}/{} ({access_key_id})",
            claims.role_arn, claims.session_name
        ),
    }
}

fn answer(
    state: &StsState,
    req: &Incoming,
    now: OffsetDateTime,
    request_id: &str,
    seen: &mut Seen,
) -> Result<Answer, StsError> {
    if req.path != "/" || !matches!(req.method.as_str(), "GET" | "POST") {
        return Err(StsError::InvalidAction(format!(
            "{} {}",
            req.method, req.path
        )));
    }
    let fields = auth::parse(req)?;
    seen.action = Some(fields.action.clone());
    let caller = auth::verify(&state.keys, req, &fields, now)?;
    seen.caller = Some(fields.access_key_id.clone());
    seen.identity = Some(identity(&caller, &fields.access_key_id));
    let expires = fields.timestamp.unix_timestamp() + auth::WINDOW_SECS + 1;
    let fresh = state
        .iam
        .use_nonce(
            &fields.access_key_id,
            &fields.nonce,
            expires,
            now.unix_timestamp(),
        )
        .map_err(|e| internal(request_id, e))?;
    if !fresh {
        return Err(StsError::NonceUsed);
    }
    if fields.version != auth::VERSION {
        return Err(StsError::InvalidVersion);
    }
    match fields.action.as_str() {
        "AssumeRole" => {
            let (body, assumed) =
                handlers::assume_role(state, &caller, &fields, req, now, request_id)?;
            Ok(Answer {
                root: "AssumeRoleResponse",
                body,
                assumed: Some(assumed),
            })
        }
        "GetCallerIdentity" => Ok(Answer {
            root: "GetCallerIdentityResponse",
            body: handlers::get_caller_identity(state, &caller, request_id),
            assumed: None,
        }),
        other => Err(StsError::InvalidAction(other.to_string())),
    }
}

/// Logs an internal failure (never sent to the client) and gives `InternalError`.
pub fn internal(request_id: &str, e: impl std::fmt::Display) -> StsError {
    tracing::error!(request_id, "sts internal error: {e}");
    StsError::Internal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::audit::{Filter, SqliteAudit};
    use crate::common::dates::iso8601;
    use stsgate_signing::encode::pe;
    use stsgate_signing::pop;

    /// An audit log whose every write fails.
    #[derive(Debug)]
    struct Broken;

    impl AuditLog for Broken {
        fn record(&self, _: &Record) -> anyhow::Result<()> {
            anyhow::bail!("disk full")
        }
    }

    struct Face {
        _tmp: tempfile::TempDir,
        dir: crate::datadir::DataDir,
        state: Arc<StsState>,
    }

    fn face(audit: impl FnOnce(&crate::datadir::DataDir) -> Arc<dyn AuditLog>) -> Face {
        let tmp = tempfile::tempdir().unwrap();
        let dir = crate::datadir::open(&tmp.path().join("data"), &Default::default())
            .unwrap()
            .dir;
        let log = audit(&dir);
        let state = Arc::new(StsState::open(&dir, log).unwrap());
        Face {
            _tmp: tmp,
            dir,
            state,
        }
    }

    /// A decoded RPC V1 AssumeRole (form body) signed with `secret`.
    fn assume_role(face: &Face, secret: &str, role_arn: &str, session: &str) -> Incoming {
        let mut params: Vec<(String, String)> = [
            ("AccessKeyId", face.dir.root.id.as_str()),
            ("Action", "AssumeRole"),
            ("DurationSeconds", "900"),
            ("Format", "JSON"),
            ("RoleArn", role_arn),
            ("RoleSessionName", session),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", &uuid::Uuid::new_v4().to_string()),
            ("SignatureVersion", "1.0"),
            ("Timestamp", &iso8601(OffsetDateTime::now_utc())),
            ("Version", "2015-04-01"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let signature = pop::rpc_sign(secret, &pop::rpc_string_to_sign("POST", &params));
        params.push(("Signature".into(), signature));
        let body: String = params
            .iter()
            .map(|(k, v)| format!("{}={}", pe(k), pe(v)))
            .collect::<Vec<_>>()
            .join("&");
        let (parts, ()) = http::Request::builder()
            .method("POST")
            .uri("/")
            .header("host", "127.0.0.1:8701")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(())
            .unwrap()
            .into_parts();
        Incoming::new(&parts, body.into()).unwrap()
    }

    fn json(resp: Response) -> (StatusCode, serde_json::Value) {
        let status = resp.status();
        let bytes =
            futures::executor::block_on(axum::body::to_bytes(resp.into_body(), 1 << 20)).unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    fn app_arn(face: &Face) -> String {
        format!("acs:ram::{}:role/app", face.dir.account_id)
    }

    #[test]
    fn every_assume_role_is_audited_with_its_session_name() {
        let mut sqlite = None;
        let face = face(|dir| {
            let log: Arc<dyn AuditLog> = Arc::new(SqliteAudit::open(&dir.path).unwrap());
            sqlite = Some(log.clone());
            log
        });
        let log = sqlite.unwrap();
        let secret = face.dir.root.secret.expose().to_string();
        let arn = app_arn(&face);
        let now = OffsetDateTime::now_utc();

        let req = assume_role(&face, &secret, &arn, "alice-1234");
        let (status, body) = json(dispatch(&face.state, &req, now, "RID-1", "10.0.0.7"));
        assert_eq!(status, StatusCode::OK, "{body}");
        let issued = body["Credentials"]["AccessKeyId"].as_str().unwrap();

        let wrong_role = format!("acs:ram::{}:role/nope", face.dir.account_id);
        let req = assume_role(&face, &secret, &wrong_role, "bob");
        let (status, _) = json(dispatch(&face.state, &req, now, "RID-2", "10.0.0.8"));
        assert_eq!(status, StatusCode::NOT_FOUND);
        let req = assume_role(&face, "not-the-secret", &arn, "carol");
        let (status, _) = json(dispatch(&face.state, &req, now, "RID-3", ""));
        assert_eq!(status, StatusCode::BAD_REQUEST);

        let rows: Vec<Record> = log
            .query(&Filter {
                limit: 10,
                ..Filter::default()
            })
            .unwrap()
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        assert_eq!(rows.len(), 3, "{rows:?}");
        let ok = &rows[0];
        assert_eq!(ok.outcome, "assumed");
        assert_eq!(ok.caller, face.dir.root.id);
        assert_eq!(ok.access_key_id, issued);
        assert!(ok.access_key_id.starts_with("STS."));
        assert_eq!(ok.request_id, "RID-1");
        assert_eq!(ok.client_ip, "10.0.0.7");
        assert_eq!(ok.time, now.unix_timestamp());
        assert_eq!(ok.expiration, Some(now.unix_timestamp() + 900));
        assert!(
            ok.detail
                .contains(&format!("RoleSessionName=alice-1234 RoleArn={arn}")),
            "{}",
            ok.detail
        );
        assert!(ok.detail.contains("Caller=root"), "{}", ok.detail);

        let role = &rows[1];
        assert_eq!(role.outcome, "refused:EntityNotExist.Role");
        assert_eq!(role.caller, face.dir.root.id);
        assert_eq!(role.access_key_id, "");
        assert!(
            role.detail.contains("RoleSessionName=bob"),
            "{}",
            role.detail
        );
        assert!(role.detail.contains(&wrong_role), "{}", role.detail);

        let sig = &rows[2];
        assert_eq!(sig.outcome, "refused:SignatureDoesNotMatch");
        assert_eq!(sig.caller, "", "an unverified key is no caller");
        assert!(
            sig.detail
                .contains(&format!("AccessKeyId={} (unverified)", face.dir.root.id)),
            "{}",
            sig.detail
        );
        assert!(!sig.detail.contains(&secret));
    }

    #[test]
    fn assume_role_fails_closed_when_its_audit_row_cannot_be_written() {
        let face = face(|_| Arc::new(Broken));
        let secret = face.dir.root.secret.expose().to_string();
        let req = assume_role(&face, &secret, &app_arn(&face), "alice");
        let now = OffsetDateTime::now_utc();
        let (status, body) = json(dispatch(&face.state, &req, now, "RID", "127.0.0.1"));
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["Code"], "InternalError");
        assert!(body.get("Credentials").is_none(), "{body}");
        assert!(!body.to_string().contains("STS."), "{body}");
        // A refusal is still answered as itself when its row cannot be written.
        let req = assume_role(&face, "wrong", &app_arn(&face), "alice");
        let (status, body) = json(dispatch(&face.state, &req, now, "RID", "127.0.0.1"));
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["Code"], "SignatureDoesNotMatch");
    }
}
