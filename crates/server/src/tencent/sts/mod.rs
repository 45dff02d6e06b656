//! The tc-sts face: Tencent STS (`2018-08-13`) `GetFederationToken`, `AssumeRole` and
//! `GetCallerIdentity` at `/`.
//!
//! A request reads top to bottom in [`dispatch`]:
//!
//! ```text
//! decode (request::Incoming: query ∪ form body, or JSON body; size limits per wire style)
//!   → signature fields (auth::parse: TC3 Authorization + X-TC-* headers, or v1 parameters)
//!   → timestamp window (±300 s), TC3 scope, key (root, extra, temporary), signature
//!   → v1 Nonce not used with that Timestamp within the window (iam::Iam::use_nonce, durable)
//!   → Version, Region, Action → handlers::{get_federation_token, assume_role, get_caller_identity}
//!   → render (always HTTP 200 `application/json`: `{"Response": …}`)
//!   → audit row per issuance (common/audit.rs, shared with the other faces): `assumed` before
//!     the credentials leave (fail closed: InternalError if it cannot be written),
//!     `refused:<Code>` best effort
//! ```
//!
//! - [`request`] — decoding; [`auth`] — signatures; [`params`] — parameter rules;
//!   [`handlers`] — the actions; [`error`] — `TcStsError` → Tencent error; [`render`] — JSON.

pub mod auth;
pub mod error;
pub mod handlers;
pub mod params;
pub mod render;
pub mod request;

use crate::common::audit::{AuditLog, Record};
use crate::common::resolve::Keyring;
use crate::iam::Iam;
use auth::{Caller, Scheme};
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use axum::Router;
use error::TcStsError;
use request::Incoming;
use std::net::SocketAddr;
use std::sync::Arc;
use time::OffsetDateTime;

/// What the tc-sts face needs: the keys, the roles/nonces database, the audit log and the
/// Tencent account's Uin.
#[derive(Debug)]
pub struct TcStsState {
    pub keys: Keyring,
    pub iam: Iam,
    /// The data directory's audit log (shared with the other faces): one row per issuance.
    pub audit: Arc<dyn AuditLog>,
    /// The Tencent account's Uin (`qcs::cam::uin/<uin>:roleName/<name>`).
    pub uin: String,
}

impl TcStsState {
    /// The tc-sts face's state over a data directory: its keys (the Tencent root key among them,
    /// extra keys too), `DIR/iam.sqlite3` (roles and nonces, shared with the sts face) and
    /// `audit`. The data directory must have its Tencent account (`serve` adds it).
    pub fn open(
        dir: &crate::datadir::DataDir,
        audit: Arc<dyn AuditLog>,
    ) -> anyhow::Result<TcStsState> {
        let Some(tencent) = dir.tencent.as_ref() else {
            anyhow::bail!(
                "{} has no Tencent account: start `stsgate serve --data {}` once to add it",
                dir.path.display(),
                dir.path.display()
            );
        };
        let iam = Iam::open(&dir.path, &dir.root.id)?;
        Ok(TcStsState {
            keys: Keyring::open(dir, true)?,
            iam,
            audit,
            uin: tencent.uin.clone(),
        })
    }
}

/// The tc-sts face's router: every path and method reaches [`handle`].
pub fn router(state: Arc<TcStsState>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

/// A Tencent request id: a lowercase UUID.
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The key under which a v1 nonce is kept in `iam.sqlite3`'s nonce table: the `tc-sts:` prefix
/// keeps it apart from the sts face's (Alibaba key ids have no `:`).
pub fn nonce_key(secret_id: &str) -> String {
    format!("tc-sts:{secret_id}")
}

/// The entry point of every tc-sts request.
pub async fn handle(State(state): State<Arc<TcStsState>>, req: Request) -> Response {
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
            let why = format!(
                "The request body is over {} bytes (TC3 POST limit; a form POST may carry {}).",
                request::MAX_BODY,
                request::MAX_V1_BODY
            );
            return TcStsError::RequestTooLarge(why).into_response(&request_id);
        }
    };
    let now = OffsetDateTime::now_utc();
    let id = request_id.clone();
    let answer = tokio::task::spawn_blocking(move || match Incoming::new(&parts, body) {
        Ok(req) => dispatch(&state, &req, now, &id, &client_ip),
        Err(err) => err.into_response(&id),
    })
    .await;
    answer.unwrap_or_else(|e| {
        tracing::error!(request_id, "tc-sts handler failed: {e}");
        TcStsError::Internal.into_response(&request_id)
    })
}

/// What [`answer`] learnt about a request before it succeeded or failed (for its audit row).
#[derive(Debug, Default)]
struct Seen {
    /// The action of the parsed signature fields.
    action: Option<String>,
    /// The SecretId that signed, once the signature is verified.
    caller: Option<String>,
    /// Who that key is: `root`, `user/<name>` or `<arn>/<session> (<SecretId>)`.
    identity: Option<String>,
}

/// Longest audit `detail` kept.
const MAX_DETAIL: usize = 2048;

/// The actions that issue credentials (audited, success or not).
const ISSUING: [&str; 2] = ["GetFederationToken", "AssumeRole"];

/// Handles one decoded request; `now` is the server's clock, `client_ip` the peer's address
/// (empty when unknown). Every issuance is audited: a success only once its row is written.
pub fn dispatch(
    state: &TcStsState,
    req: &Incoming,
    now: OffsetDateTime,
    request_id: &str,
    client_ip: &str,
) -> Response {
    let mut seen = Seen::default();
    match answer(state, req, now, request_id, client_ip, &mut seen) {
        Ok((body, issued)) => {
            if let Some(issued) = issued {
                let record = issued_record(req, &seen, &issued, now, request_id, client_ip);
                // Fail closed: no credentials leave without their audit row.
                if let Err(e) = state.audit.record(&record) {
                    let err = internal(request_id, format!("writing the audit row: {e:#}"));
                    return err.into_response(request_id);
                }
            }
            render::respond(&body)
        }
        Err(err) => {
            if asked_action(req, &seen).is_some_and(|a| ISSUING.contains(&a)) {
                audit_refusal(state, req, &seen, &err, now, request_id, client_ip);
            }
            err.into_response(request_id)
        }
    }
}

fn issued_record(
    req: &Incoming,
    seen: &Seen,
    issued: &handlers::Issued,
    now: OffsetDateTime,
    request_id: &str,
    client_ip: &str,
) -> Record {
    Record {
        time: now.unix_timestamp(),
        caller: seen.caller.clone().unwrap_or_default(),
        access_key_id: issued.access_key_id.clone(),
        expiration: Some(issued.expiration),
        request_id: request_id.to_string(),
        client_ip: client_ip.to_string(),
        outcome: "assumed".into(),
        detail: cut(&describe(req, seen), MAX_DETAIL).to_string(),
        ..Record::default()
    }
}

/// `Action=… Name=…` or `Action=… RoleSessionName=… RoleArn=…`, then who called.
fn describe(req: &Incoming, seen: &Seen) -> String {
    let param = |name: &str| cut(req.param(name).unwrap_or(""), 128).to_string();
    let action = asked_action(req, seen).unwrap_or("");
    let mut detail = match action {
        "GetFederationToken" => format!("Action={action} Name={}", param("Name")),
        _ => format!(
            "Action={action} RoleSessionName={} RoleArn={}",
            param("RoleSessionName"),
            param("RoleArn")
        ),
    };
    match &seen.identity {
        Some(identity) => detail.push_str(&format!(" Caller={identity}")),
        // Not verified: the SecretId the request claims, for tracing a misconfigured client.
        None => detail.push_str(&format!(
            " SecretId={} (unverified)",
            cut(claimed_key(req).unwrap_or(""), 128)
        )),
    }
    detail
}

/// The action a request asked for, also when its signature fields did not parse.
fn asked_action<'a>(req: &'a Incoming, seen: &'a Seen) -> Option<&'a str> {
    seen.action
        .as_deref()
        .or_else(|| req.header("x-tc-action"))
        .or_else(|| req.param("Action"))
}

/// The SecretId a request claims (v1 `SecretId`, or TC3 `Credential=`).
fn claimed_key(req: &Incoming) -> Option<&str> {
    req.param("SecretId").or_else(|| {
        let auth = req.header("authorization")?;
        let (_, rest) = auth.split_once("Credential=")?;
        rest.split('/').next()
    })
}

/// At most `max` characters of `s`.
fn cut(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Queues a refused issuance's row, best effort (the refusal is answered whatever happens).
fn audit_refusal(
    state: &TcStsState,
    req: &Incoming,
    seen: &Seen,
    err: &TcStsError,
    now: OffsetDateTime,
    request_id: &str,
    client_ip: &str,
) {
    let detail = format!("{}: {}", describe(req, seen), err.message());
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
            tracing::warn!(request_id, "auditing a refused tc-sts issuance: {e:#}");
        }
    }
}

fn identity(caller: &Caller, secret_id: &str) -> String {
    match caller {
        Caller::Root => "root".into(),
        Caller::Key(name) => format!("user/{name}"),
        Caller::Temporary(claims) => {
            format!("{}/{} ({secret_id})", claims.role_arn, claims.session_name)
        }
    }
}

/// A successful answer's body, and what it issued (for the audit row).
type Answer = (serde_json::Value, Option<handlers::Issued>);

fn answer(
    state: &TcStsState,
    req: &Incoming,
    now: OffsetDateTime,
    request_id: &str,
    client_ip: &str,
    seen: &mut Seen,
) -> Result<Answer, TcStsError> {
    if req.path != "/" || !matches!(req.method.as_str(), "GET" | "POST") {
        return Err(TcStsError::UnsupportedProtocol(format!(
            "{} {} is not served: send GET or POST to / (give the SDK host:port as its endpoint, without a path).",
            req.method, req.path
        )));
    }
    let fields = auth::parse(req)?;
    seen.action = Some(fields.action.clone());
    let caller = auth::verify(&state.keys, req, &fields, now.unix_timestamp())?;
    seen.caller = Some(fields.secret_id.clone());
    seen.identity = Some(identity(&caller, &fields.secret_id));
    if let Scheme::V1 { nonce, .. } = &fields.scheme {
        let expires = fields.timestamp + auth::WINDOW_SECS + 1;
        // Tencent: the Nonce "together with Timestamp" prevents replays (a replay repeats both).
        let used = format!("{nonce}@{}", fields.timestamp);
        let fresh = state
            .iam
            .use_nonce(
                &nonce_key(&fields.secret_id),
                &used,
                expires,
                now.unix_timestamp(),
            )
            .map_err(|e| internal(request_id, e))?;
        if !fresh {
            return Err(TcStsError::NonceUsed(nonce.clone()));
        }
    }
    if fields.version != auth::VERSION {
        return Err(TcStsError::NoSuchVersion(fields.version.clone()));
    }
    if fields.region.as_deref().is_none_or(str::is_empty) {
        return Err(TcStsError::MissingParameter(match fields.scheme {
            Scheme::Tc3 { .. } => "X-TC-Region",
            Scheme::V1 { .. } => "Region",
        }));
    }
    match fields.action.as_str() {
        "GetFederationToken" => {
            let (body, issued) =
                handlers::get_federation_token(state, &caller, &fields, req, now, request_id)?;
            Ok((body, Some(issued)))
        }
        "AssumeRole" => {
            let (body, issued) =
                handlers::assume_role(state, &caller, &fields, req, now, client_ip, request_id)?;
            Ok((body, Some(issued)))
        }
        "GetCallerIdentity" => Ok((
            handlers::get_caller_identity(state, &caller, &fields, request_id),
            None,
        )),
        other => Err(TcStsError::InvalidAction(other.to_string())),
    }
}

/// Logs an internal failure (never sent to the client) and gives `InternalError`.
pub fn internal(request_id: &str, e: impl std::fmt::Display) -> TcStsError {
    tracing::error!(request_id, "tc-sts internal error: {e}");
    TcStsError::Internal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::audit::{Filter, SqliteAudit};
    use serde_json::Value;
    use stsgate_signing::encode::pe;
    use stsgate_signing::tc_v1::{self, SignatureMethod};

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
        id: String,
        secret: String,
        state: Arc<TcStsState>,
    }

    fn face(audit: impl FnOnce(&crate::datadir::DataDir) -> Arc<dyn AuditLog>) -> Face {
        let tmp = tempfile::tempdir().unwrap();
        let dir = crate::datadir::open(&tmp.path().join("data"), &Default::default())
            .unwrap()
            .dir;
        let log = audit(&dir);
        let state = Arc::new(TcStsState::open(&dir, log).unwrap());
        let root = &dir.tencent.as_ref().unwrap().root;
        Face {
            id: root.id.clone(),
            secret: root.secret.expose().to_string(),
            _tmp: tmp,
            state,
        }
    }

    /// A legacy-v1 form POST signed over `sts.tencentcloudapi.com` at `at` with `nonce`.
    fn v1(
        face: &Face,
        secret: &str,
        action: &str,
        extra: &[(&str, &str)],
        at: i64,
        nonce: &str,
    ) -> Incoming {
        let mut params: Vec<(String, String)> = [
            ("Action", action),
            ("Version", "2018-08-13"),
            ("Region", "ap-guangzhou"),
            ("SecretId", face.id.as_str()),
            ("Timestamp", &at.to_string()),
            ("Nonce", nonce),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let sts = tc_v1::string_to_sign("POST", "sts.tencentcloudapi.com", &params);
        params.push((
            "Signature".into(),
            tc_v1::sign(secret, SignatureMethod::HmacSha1, &sts),
        ));
        let body: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{}={}", pe(k), pe(v)))
            .collect();
        let (parts, ()) = http::Request::builder()
            .method("POST")
            .uri("/")
            .header("host", "127.0.0.1:8704")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(())
            .unwrap()
            .into_parts();
        Incoming::new(&parts, body.join("&").into()).unwrap()
    }

    fn json(resp: Response) -> Value {
        assert_eq!(resp.status(), http::StatusCode::OK);
        let bytes =
            futures::executor::block_on(axum::body::to_bytes(resp.into_body(), 1 << 20)).unwrap();
        serde_json::from_slice::<Value>(&bytes).unwrap()["Response"].clone()
    }

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(secs).unwrap()
    }

    const NOW: i64 = 1_700_000_000;
    const POLICY: &str = r#"{"version":"2.0","statement":[{"effect":"allow","action":"name/cos:GetObject","resource":"*"}]}"#;

    fn arn(face: &Face) -> String {
        format!("qcs::cam::uin/{}:roleName/app", face.state.uin)
    }

    #[test]
    fn every_issuance_is_audited_with_its_name() {
        let mut sqlite = None;
        let face = face(|dir| {
            let log: Arc<dyn AuditLog> = Arc::new(SqliteAudit::open(&dir.path).unwrap());
            sqlite = Some(log.clone());
            log
        });
        let log = sqlite.unwrap();
        let (secret, arn) = (face.secret.clone(), arn(&face));
        let policy = pe(POLICY);
        let gft = [("Name", "cos-sts-python"), ("Policy", policy.as_str())];
        let req = v1(&face, &secret, "GetFederationToken", &gft, NOW, "1");
        let ok = json(dispatch(&face.state, &req, at(NOW), "rid-1", "10.0.0.7"));
        let issued = ok["Credentials"]["TmpSecretId"]
            .as_str()
            .unwrap()
            .to_string();
        let role = [("RoleArn", arn.as_str()), ("RoleSessionName", "alice")];
        let req = v1(&face, &secret, "AssumeRole", &role, NOW, "2");
        assert!(json(dispatch(&face.state, &req, at(NOW), "rid-2", ""))
            .get("Error")
            .is_none());
        let req = v1(&face, "wrong", "AssumeRole", &role, NOW, "3");
        let err = json(dispatch(&face.state, &req, at(NOW), "rid-3", ""));
        assert_eq!(err["Error"]["Code"], "AuthFailure.SignatureFailure");
        let req = v1(&face, &secret, "GetCallerIdentity", &[], NOW, "4");
        assert_eq!(
            json(dispatch(&face.state, &req, at(NOW), "rid-4", ""))["Type"],
            "CAMUser"
        );

        let rows: Vec<Record> = log
            .query(&Filter {
                limit: 10,
                ..Filter::default()
            })
            .unwrap()
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        assert_eq!(rows.len(), 3, "GetCallerIdentity is not audited: {rows:?}");
        let (fed, assumed, refused) = (&rows[0], &rows[1], &rows[2]);
        assert_eq!(fed.outcome, "assumed");
        assert_eq!(
            (fed.caller.as_str(), fed.access_key_id.as_str()),
            (face.id.as_str(), issued.as_str())
        );
        assert_eq!(
            (fed.request_id.as_str(), fed.client_ip.as_str()),
            ("rid-1", "10.0.0.7")
        );
        assert_eq!(fed.expiration, Some(NOW + 1800));
        assert_eq!(
            fed.detail,
            "Action=GetFederationToken Name=cos-sts-python Caller=root"
        );
        assert_eq!(
            assumed.expiration,
            Some(NOW + 3600),
            "role app's maximum session"
        );
        assert!(
            assumed
                .detail
                .contains(&format!("RoleSessionName=alice RoleArn={arn}")),
            "{}",
            assumed.detail
        );
        assert_eq!(refused.outcome, "refused:AuthFailure.SignatureFailure");
        assert_eq!(refused.caller, "", "an unverified key is no caller");
        assert!(
            refused
                .detail
                .contains(&format!("SecretId={} (unverified)", face.id)),
            "{}",
            refused.detail
        );
        assert!(!refused.detail.contains(&secret));
    }

    #[test]
    fn issuance_fails_closed_when_its_audit_row_cannot_be_written() {
        let face = face(|_| Arc::new(Broken));
        let policy = pe(POLICY);
        let gft = [("Name", "alice"), ("Policy", policy.as_str())];
        let req = v1(&face, &face.secret, "GetFederationToken", &gft, NOW, "1");
        let body = json(dispatch(&face.state, &req, at(NOW), "rid", ""));
        assert_eq!(body["Error"]["Code"], "InternalError");
        assert!(!body.to_string().contains("TCST"), "{body}");
        let req = v1(&face, "wrong", "GetFederationToken", &gft, NOW, "2");
        let body = json(dispatch(&face.state, &req, at(NOW), "rid", ""));
        assert_eq!(body["Error"]["Code"], "AuthFailure.SignatureFailure");
    }
}
