//! Credentials URLs for clients that cannot send headers: the OSS Android/iOS SDKs'
//! `OSSAuthCredentialsProvider(url)` fetches credentials with a plain GET (spec §9.a).
//!
//! - `POST /v1/tickets` (an authenticated caller; JSON body `{"grant", "format", "ttl"}`, format
//!   `oss-app-server` by default, ttl 300 s by default, at most 3600 s) →
//!   `{"url": "http://<host>/v1/credentials/t/<ticket>", "path", "expires_at", "format", "grant"}`.
//! - `GET /v1/credentials/t/<ticket>` (no headers) → that format's credentials JSON, from the same
//!   reuse/single-flight cache as `/v1/credentials`; every use is audited (`ticket-used`).
//!
//! A ticket is `sgt_` + base64url(nonce ‖ ChaCha20-Poly1305(JSON)) under
//! `HMAC-SHA256(master key, "stsgate api-ticket v1")` (not the token key: a ticket never opens as
//! a security token nor the reverse). It binds the caller id, the claims the grant's prefix
//! template reads (nothing else of the JWT; never the JWT itself), the grant, the format, and its
//! expiry. It is single-purpose (this route only) and reusable until it expires, because the SDKs
//! come back to the same URL for each refresh; a caller revoked after the ticket was minted is
//! refused (403). An altered or foreign ticket gets 401 in every format's error shape at once (its
//! format is sealed inside); an expired one gets 401 in its own format's shape.

use super::callers::Caller;
use super::credentials::{self, find_grant, Ask, Format};
use super::error::ApiError;
use super::signer::{self, Ctx};
use super::ApiState;
use crate::common::audit::Record;
use crate::common::dates::iso8601;
use crate::datadir::MasterKey;
use crate::token::{derive_cipher, open_bytes, seal_bytes};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chacha20poly1305::ChaCha20Poly1305;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use time::OffsetDateTime;

/// A ticket's lifetime when the body names none (seconds).
pub const DEFAULT_TTL: i64 = 300;
/// The longest ticket lifetime (seconds).
pub const MAX_TTL: i64 = 3600;
/// Tickets start with this.
pub const PREFIX: &str = "sgt_";
/// The path tickets are used at (the ticket follows).
pub const USE_PATH: &str = "/v1/credentials/t/";
/// The longest ticket looked at.
const MAX_LEN: usize = 8 * 1024;
const LABEL: &[u8] = b"stsgate api-ticket v1";
const AAD: &[u8] = b"stsgate-ticket-v1";

/// What a ticket says.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ticket {
    /// Caller id (`jwt:alice`).
    pub caller: String,
    pub subject: String,
    /// Only the claims the grant's prefix template reads.
    pub claims: Map<String, Value>,
    pub grant: String,
    /// A [`Format::name`].
    pub format: String,
    /// Minted at / expires at, Unix seconds.
    pub iat: i64,
    pub exp: i64,
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("caller", &self.caller)
            .field("grant", &self.grant)
            .field("format", &self.format)
            .field("exp", &self.exp)
            .finish_non_exhaustive()
    }
}

/// Why a ticket was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketError {
    /// Not made with this master key, altered, or not a ticket.
    Invalid,
    /// Genuine but past its expiry.
    Expired(Box<Ticket>),
}

/// Seals and opens tickets.
#[derive(Clone)]
pub struct TicketKey {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for TicketKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TicketKey(<redacted>)")
    }
}

impl TicketKey {
    pub fn new(master: &MasterKey) -> TicketKey {
        TicketKey {
            cipher: derive_cipher(master, LABEL),
        }
    }

    pub fn seal(&self, ticket: &Ticket) -> String {
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(ticket).expect("ticket serializes"));
        let raw = seal_bytes(&self.cipher, &plain, AAD);
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
        )
    }

    /// Opens a ticket at `now` (Unix seconds).
    pub fn open(&self, s: &str, now: i64) -> Result<Ticket, TicketError> {
        if s.len() > MAX_LEN {
            return Err(TicketError::Invalid);
        }
        let b64 = s.strip_prefix(PREFIX).ok_or(TicketError::Invalid)?;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(b64)
            .map_err(|_| TicketError::Invalid)?;
        let plain = open_bytes(&self.cipher, &raw, AAD).ok_or(TicketError::Invalid)?;
        let ticket: Ticket = serde_json::from_slice(&plain).map_err(|_| TicketError::Invalid)?;
        if now >= ticket.exp {
            return Err(TicketError::Expired(Box::new(ticket)));
        }
        Ok(ticket)
    }
}

/// The body of `POST /v1/tickets`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MintBody {
    grant: Option<String>,
    format: Option<String>,
    ttl: Option<i64>,
}

/// `POST /v1/tickets`.
pub async fn mint_handler(State(state): State<Arc<ApiState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let ctx = Ctx::new(&parts);
    let mut record = ctx.record();
    let base = base_url(&parts.headers);
    match mint(&state, &ctx, body, &base, &mut record).await {
        Ok(v) => signer::no_store(axum::Json(v).into_response()),
        Err(e) if !e.audited() => e.into_response(),
        Err(e) => signer::refused(&state, record, e).await,
    }
}

/// `http://<Host>` (or `https` behind a proxy saying so), what the app reached this face at.
fn base_url(headers: &http::HeaderMap) -> String {
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(c))
        })
        .unwrap_or("127.0.0.1:8700");
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
    {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

async fn mint(
    state: &Arc<ApiState>,
    ctx: &Ctx,
    body: Body,
    base: &str,
    record: &mut Record,
) -> Result<Value, ApiError> {
    let caller = signer::authenticate(state, ctx, record).await?;
    state.limits.check_caller(&caller.id)?;
    let bytes = signer::read_body(body).await?;
    let body: MintBody = match bytes.iter().all(u8::is_ascii_whitespace) {
        true => MintBody::default(),
        false => serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::BadRequest(format!(
                "the body is not the expected JSON {{\"grant\", \"format\", \"ttl\"}}: {e}"
            ))
        })?,
    };
    let grant = find_grant(&state.grants, body.grant.as_deref())?;
    record.grant = grant.name.clone();
    record.bucket = grant.bucket.clone();
    let default_format = match grant.vendor {
        crate::common::provider::Vendor::Aliyun => "oss-app-server",
        crate::common::provider::Vendor::Tencent => "tencent-legacy",
    };
    let format = Format::parse(Some(body.format.as_deref().unwrap_or(default_format)))?;
    format.check_grant(grant)?;
    let ttl = body.ttl.unwrap_or(DEFAULT_TTL);
    if !(1..=MAX_TTL).contains(&ttl) {
        return Err(ApiError::BadRequest(format!(
            "ttl {ttl} s is outside 1..={MAX_TTL} seconds"
        )));
    }
    grant
        .admit(&caller.claims, &ctx.client_ip)
        .map_err(ApiError::ConditionNotMet)?;
    record.prefix = grant
        .prefix(&caller.claims)
        .map_err(|e| ApiError::InvalidClaim(e.to_string()))?;
    let now = OffsetDateTime::now_utc();
    let ticket = Ticket {
        claims: template_claims(grant, &caller.claims),
        caller: caller.id,
        subject: caller.subject,
        grant: grant.name.clone(),
        format: format.name().into(),
        iat: now.unix_timestamp(),
        exp: now.unix_timestamp() + ttl,
    };
    let sealed = state.tickets.seal(&ticket);
    let expires = OffsetDateTime::from_unix_timestamp(ticket.exp).unwrap_or(now);
    record.time = now.unix_timestamp();
    record.expiration = Some(ticket.exp);
    record.outcome = "ticket".into();
    record.detail = format!("ticket for format {} until {}", format.name(), ticket.exp);
    write_row(state, record).await?;
    let path = format!("{USE_PATH}{sealed}");
    Ok(json!({
        "url": format!("{base}{path}"),
        "path": path,
        "expires_at": iso8601(expires),
        "grant": grant.name,
        "format": format.name(),
    }))
}

/// The claims a prefix template reads (`${name}`), and nothing else.
fn template_claims(
    grant: &super::grants::Grant,
    claims: &Map<String, Value>,
) -> Map<String, Value> {
    claims
        .iter()
        .filter(|(k, _)| {
            grant.template.contains(&format!("${{{k}}}"))
                || grant.required_claims.iter().any(|(c, _)| c == *k)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Writes an audit row; nothing is answered without it (503).
async fn write_row(state: &ApiState, record: &Record) -> Result<(), ApiError> {
    let (audit, row) = (state.audit.clone(), record.clone());
    match tokio::task::spawn_blocking(move || audit.record(&row)).await {
        Ok(Ok(())) => Ok(()),
        _ => {
            tracing::error!(request_id = record.request_id, "audit log write failed");
            Err(ApiError::AuditUnavailable)
        }
    }
}

/// `GET /v1/credentials/t/<ticket>`.
pub async fn use_handler(State(state): State<Arc<ApiState>>, req: Request) -> Response {
    let (parts, _body) = req.into_parts();
    let ctx = Ctx::new(&parts);
    let mut record = ctx.record();
    record.detail = "ticket".into();
    let raw = parts.uri.path().strip_prefix(USE_PATH).unwrap_or_default();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let ticket = match state.tickets.open(raw, now) {
        Ok(t) => t,
        Err(TicketError::Invalid) => {
            let err = ApiError::Unauthenticated(
                "the ticket is not valid (altered, truncated or not from this server): mint a new one with POST /v1/tickets".into(),
            );
            audit_refusal(&state, &mut record, &err).await;
            return every_shape(&err);
        }
        Err(TicketError::Expired(t)) => {
            record.caller = t.caller.clone();
            record.grant = t.grant.clone();
            let err = ApiError::Unauthenticated(format!(
                "the ticket expired at {}: the app mints a new one with POST /v1/tickets",
                OffsetDateTime::from_unix_timestamp(t.exp)
                    .map(iso8601)
                    .unwrap_or_default()
            ));
            audit_refusal(&state, &mut record, &err).await;
            return err.render(Format::parse(Some(&t.format)).unwrap_or(Format::OssAppServer));
        }
    };
    let format = Format::parse(Some(&ticket.format)).unwrap_or(Format::OssAppServer);
    record.caller = ticket.caller.clone();
    record.grant = ticket.grant.clone();
    match use_ticket(&state, &ctx, ticket, &mut record).await {
        Ok(issued) => {
            state.metrics.issuance(&record.grant, format.name());
            let body = credentials::render(&state, &issued, format, &ctx.request_id);
            signer::no_store(axum::Json(body).into_response())
        }
        Err(e) if !e.audited() => e.render(format),
        Err(e) => {
            audit_refusal(&state, &mut record, &e).await;
            e.render(format)
        }
    }
}

async fn use_ticket(
    state: &Arc<ApiState>,
    ctx: &Ctx,
    ticket: Ticket,
    record: &mut Record,
) -> Result<Arc<credentials::Issued>, ApiError> {
    if state.revocations.caller_revoked(&ticket.caller, ticket.iat) {
        return Err(ApiError::Revoked(format!(
            "the credentials of {} were revoked after this ticket was minted: sign in again and mint a new ticket",
            ticket.caller.chars().take(80).collect::<String>()
        )));
    }
    let caller = Caller {
        id: ticket.caller,
        subject: ticket.subject,
        claims: ticket.claims.into(),
    };
    let ask = Ask {
        authorization: None,
        grant: Some(ticket.grant),
        request_id: ctx.request_id.clone(),
        client_ip: ctx.client_ip.clone(),
    };
    let issued = credentials::scoped_for(state, caller, &ask, record, 0, 0).await?;
    signer::audit_ok(
        state,
        record,
        &issued,
        "ticket-used",
        format!("ticket valid until {}", ticket.exp),
    )
    .await?;
    Ok(issued)
}

/// Audits a refusal, best effort.
async fn audit_refusal(state: &ApiState, record: &mut Record, err: &ApiError) {
    record.time = OffsetDateTime::now_utc().unix_timestamp();
    record.outcome = format!("refused:{}", err.code());
    record.detail = err.to_string();
    let (audit, row) = (state.audit.clone(), record.clone());
    let written = tokio::task::spawn_blocking(move || audit.record(&row)).await;
    if !matches!(written, Ok(Ok(()))) {
        tracing::error!(
            request_id = record.request_id,
            "audit log write of a refusal failed"
        );
    }
}

/// An error whose format is unknown (the ticket did not open): every format's fields at once.
fn every_shape(err: &ApiError) -> Response {
    let status = err.status();
    let message = err.to_string();
    let body = json!({
        "error": {"code": err.code(), "message": message},
        "StatusCode": status.as_u16(),
        "ErrorCode": err.code(),
        "ErrorMessage": message,
        "Code": err.code(),
        "Message": message,
    });
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(byte: u8) -> TicketKey {
        TicketKey::new(&MasterKey(zeroize::Zeroizing::new([byte; 32])))
    }

    fn ticket(exp: i64) -> Ticket {
        Ticket {
            caller: "jwt:alice".into(),
            subject: "alice".into(),
            claims: [("sub".to_string(), Value::from("alice"))]
                .into_iter()
                .collect(),
            grant: "user-folder".into(),
            format: "oss-app-server".into(),
            iat: 0,
            exp,
        }
    }

    #[test]
    fn round_trip_expiry_and_tampering() {
        let k = key(1);
        let s = k.seal(&ticket(100));
        assert!(s.starts_with(PREFIX));
        assert!(s[PREFIX.len()..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(k.open(&s, 99), Ok(ticket(100)));
        assert_eq!(
            k.open(&s, 100),
            Err(TicketError::Expired(Box::new(ticket(100))))
        );
        assert_eq!(key(2).open(&s, 0), Err(TicketError::Invalid));
        let mut bytes = s.clone().into_bytes();
        let i = bytes.len() / 2;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            k.open(&String::from_utf8(bytes).unwrap(), 0),
            Err(TicketError::Invalid)
        );
        assert_eq!(k.open(&s[..s.len() - 1], 0), Err(TicketError::Invalid));
    }

    #[test]
    fn tickets_and_security_tokens_do_not_open_as_each_other() {
        let master = MasterKey(zeroize::Zeroizing::new([7; 32]));
        let tickets = TicketKey::new(&master);
        let tokens = crate::token::TokenKey::new(&master);
        let t = tickets.seal(&ticket(100));
        let as_token = format!("CAIS{}", &t[PREFIX.len()..]);
        assert!(tokens.open(&as_token, OffsetDateTime::UNIX_EPOCH).is_err());
        let m = tokens.mint("r", "s", None, None, 900, OffsetDateTime::UNIX_EPOCH);
        let b64 = base64::engine::general_purpose::STANDARD
            .decode(&m.security_token[4..])
            .unwrap();
        let as_ticket = format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b64)
        );
        assert_eq!(tickets.open(&as_ticket, 0), Err(TicketError::Invalid));
    }

    #[test]
    fn only_template_claims_are_kept() {
        let claims: Map<String, Value> = serde_json::from_str(
            r#"{"sub":"alice","tenant":"t1","exp":99,"email":"a@example.com"}"#,
        )
        .unwrap();
        let mut c = crate::api::grants::default_grants()[0].clone();
        c.prefix = "tenants/${tenant}/users/${sub}/".into();
        let grant = crate::api::grants::Grant::from_config(&c).unwrap();
        let kept = template_claims(&grant, &claims);
        assert_eq!(kept.len(), 2);
        assert!(kept.contains_key("sub") && kept.contains_key("tenant"));
        c.required_claims = Some(
            [(
                "email".to_string(),
                crate::config::ClaimValues::One("x".into()),
            )]
            .into(),
        );
        let grant = crate::api::grants::Grant::from_config(&c).unwrap();
        assert_eq!(template_claims(&grant, &claims).len(), 3);
    }

    #[test]
    fn base_url_follows_host_and_refuses_junk() {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::HOST, "api.example.com:8700".parse().unwrap());
        assert_eq!(base_url(&h), "http://api.example.com:8700");
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        assert_eq!(base_url(&h), "https://api.example.com:8700");
        h.insert(http::header::HOST, "evil/path?x".parse().unwrap());
        assert_eq!(base_url(&h), "https://127.0.0.1:8700");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
        #[test]
        fn arbitrary_tickets_never_panic_and_never_verify(s in ".*", b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let k = key(3);
            prop_assert_eq!(k.open(&s, 0), Err(TicketError::Invalid));
            prop_assert_eq!(k.open(&format!("{PREFIX}{s}"), 0), Err(TicketError::Invalid));
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&b);
            prop_assert_eq!(k.open(&format!("{PREFIX}{b64}"), 0), Err(TicketError::Invalid));
        }
    }
}
