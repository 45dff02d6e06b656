//! `POST /v1/sign`: self-signing done right. The caller sends an OSS V1 string-to-sign; stsgate
//! parses it ([`parse`]), checks that method, bucket, key, sub-resources, headers and date fall
//! inside the caller's grant ([`check`]) and signs it with the caller's grant-scoped temporary
//! secret, so the signature is worthless without the scoped security token.
//!
//! ```text
//! bearer → body {grant, string_to_sign} → parse (400) → scoped credentials (cache)
//!   → check (403 naming what is outside) → add the token if absent → sign → audit row → answer
//! ```
//!
//! Parsing and checking are pure (time is a parameter) and never panic (property test).

use super::error::ApiError;
use super::grants::Bundle;
use super::signer::{self, Ctx};
use super::ApiState;
use crate::common::provider::Vendor;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;
use stsgate_signing::oss_v1;

/// Largest string-to-sign accepted.
pub const MAX_LEN: usize = 16 * 1024;
/// Largest allowed distance between the Date line and the server's clock, in seconds.
pub const MAX_SKEW: i64 = 15 * 60;

/// Sub-resources a grant can cover: multipart (write), `response-*` overrides (read) and the
/// presigned form's `security-token`. Everything else (acl, cors, tagging, symlink, …) is refused.
const MULTIPART: &[&str] = &["uploads", "uploadId", "partNumber"];
const RESPONSE: &[&str] = &[
    "response-content-type",
    "response-content-language",
    "response-expires",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
];

/// `x-oss-*` headers that may be signed; others (copy source, ACLs, tagging, symlinks, callbacks,
/// …) change what a request does beyond the grant's actions and are refused.
fn header_allowed(name: &str) -> bool {
    name.starts_with("x-oss-meta-")
        || matches!(
            name,
            "x-oss-date"
                | "x-oss-security-token"
                | "x-oss-storage-class"
                | "x-oss-forbid-overwrite"
                | "x-oss-server-side-encryption"
                | "x-oss-content-type"
        )
}

/// A V1 string-to-sign, split into its parts (kept verbatim so [`Parsed::render`] gives it back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub verb: String,
    pub content_md5: String,
    pub content_type: String,
    /// An RFC 1123 date (header form) or a Unix time (presigned-URL form).
    pub date: String,
    /// The `x-oss-*` header lines, as given.
    pub headers: Vec<(String, String)>,
    /// `None` for `/` (the service).
    pub bucket: Option<String>,
    /// `None` for `/bucket/`.
    pub key: Option<String>,
    /// Sub-resources as given: `k` → `(k, None)`, `k=v` → `(k, Some(v))`.
    pub subs: Vec<(String, Option<String>)>,
}

/// What the caller's grant allows, with the token the signature will need.
#[derive(Debug, Clone, Copy)]
pub struct Allowed<'a> {
    pub bucket: &'a str,
    pub prefix: &'a str,
    pub bundles: &'a [Bundle],
    /// The scoped credentials' security token.
    pub token: &'a str,
    /// The longest presigned lifetime, in seconds (the grant's maximum duration).
    pub max_expires: i64,
    /// The signature is made with a long-term key (`/auth/custom`): no security token narrows
    /// it, so only what the string-to-sign itself pins to the caller's prefix is signed (no
    /// bucket listing: its `prefix` parameter is not part of a V1 string-to-sign).
    pub long_term: bool,
}

/// Shortens untrusted text for messages.
fn show(s: &str) -> String {
    let short: String = s.chars().take(80).collect();
    match short.len() < s.len() {
        true => format!("{short:?}…"),
        false => format!("{short:?}"),
    }
}

/// Splits an OSS V1 string-to-sign: `VERB\nContent-MD5\nContent-Type\nDate\n` then `name:value\n`
/// for each `x-oss-*` header, then the canonical resource `/bucket/key?sub&sub=v`.
pub fn parse(s: &str) -> Result<Parsed, String> {
    if s.len() > MAX_LEN {
        return Err(format!("the string-to-sign is longer than {MAX_LEN} bytes"));
    }
    let lines: Vec<&str> = s.split('\n').collect();
    if lines.len() < 5 {
        return Err("an OSS V1 string-to-sign has at least five lines: VERB, Content-MD5, Content-Type, Date, then one line per x-oss-* header and the canonical resource /bucket/key".into());
    }
    let verb = lines[0];
    if !matches!(verb, "GET" | "PUT" | "HEAD" | "DELETE" | "POST") {
        return Err(format!(
            "the verb (first line) {} is not GET, PUT, HEAD, DELETE or POST",
            show(verb)
        ));
    }
    let last = lines.len() - 1;
    let mut headers = Vec::new();
    for line in &lines[4..last] {
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!(
                "the line {} is neither an x-oss-* header (name:value) nor the last line",
                show(line)
            ));
        };
        if !name.starts_with("x-oss-") {
            return Err(format!(
                "the header line {} is not a lowercase x-oss-* header",
                show(line)
            ));
        }
        headers.push((name.to_string(), value.to_string()));
    }
    let resource = lines[last];
    let (path, query) = match resource.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (resource, None),
    };
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!(
            "the canonical resource (last line) {} must start with '/'",
            show(resource)
        ));
    };
    let (bucket, key) = if rest.is_empty() {
        (None, None)
    } else {
        let Some((bucket, key)) = rest.split_once('/') else {
            return Err(format!(
                "the canonical resource {} must be /bucket/ or /bucket/key",
                show(resource)
            ));
        };
        (
            Some(bucket.to_string()),
            (!key.is_empty()).then(|| key.to_string()),
        )
    };
    let mut subs = Vec::new();
    if let Some(query) = query {
        for item in query.split('&') {
            if item.is_empty() {
                return Err(format!(
                    "the canonical resource {} has an empty sub-resource",
                    show(resource)
                ));
            }
            subs.push(match item.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (item.to_string(), None),
            });
        }
    }
    Ok(Parsed {
        verb: verb.to_string(),
        content_md5: lines[1].to_string(),
        content_type: lines[2].to_string(),
        date: lines[3].to_string(),
        headers,
        bucket,
        key,
        subs,
    })
}

impl Parsed {
    /// The string-to-sign again (`parse(s)?.render() == s`).
    pub fn render(&self) -> String {
        // Built in one buffer (the token line alone is ~1 KB; this runs on every `/auth/custom`).
        let mut out = String::with_capacity(
            self.verb.len()
                + self.content_md5.len()
                + self.content_type.len()
                + self.date.len()
                + 8
                + self
                    .headers
                    .iter()
                    .map(|(k, v)| k.len() + v.len() + 2)
                    .sum::<usize>()
                + self.bucket.as_ref().map_or(0, String::len)
                + self.key.as_ref().map_or(0, String::len)
                + self
                    .subs
                    .iter()
                    .map(|(k, v)| k.len() + v.as_ref().map_or(0, |v| v.len() + 1) + 1)
                    .sum::<usize>(),
        );
        for part in [
            &self.verb,
            &self.content_md5,
            &self.content_type,
            &self.date,
        ] {
            out.push_str(part);
            out.push('\n');
        }
        for (k, v) in &self.headers {
            out.push_str(k);
            out.push(':');
            out.push_str(v);
            out.push('\n');
        }
        out.push('/');
        if let Some(b) = &self.bucket {
            out.push_str(b);
            out.push('/');
            if let Some(k) = &self.key {
                out.push_str(k);
            }
        }
        for (i, (k, v)) in self.subs.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(k);
            if let Some(v) = v {
                out.push('=');
                out.push_str(v);
            }
        }
        out
    }

    /// The presigned-URL form: the Date line is a Unix time (`Expires`).
    pub fn expires(&self) -> Option<i64> {
        (!self.date.is_empty() && self.date.bytes().all(|b| b.is_ascii_digit()))
            .then(|| self.date.parse().ok())
            .flatten()
    }

    fn has_sub(&self, name: &str) -> bool {
        self.subs.iter().any(|(k, _)| k == name)
    }

    /// Adds the security token where the oss face will look for it (the `x-oss-security-token`
    /// header, or the `security-token` sub-resource of a presigned URL), in canonical order.
    /// Does nothing if it is already there.
    pub fn add_token(&mut self, token: &str) {
        if self.expires().is_some() {
            if !self.has_sub("security-token") {
                let at = self
                    .subs
                    .iter()
                    .position(|(k, _)| k.as_str() > "security-token")
                    .unwrap_or(self.subs.len());
                self.subs
                    .insert(at, ("security-token".into(), Some(token.into())));
            }
        } else if !self
            .headers
            .iter()
            .any(|(k, _)| k == "x-oss-security-token")
        {
            let at = self
                .headers
                .iter()
                .position(|(k, _)| k.as_str() > "x-oss-security-token")
                .unwrap_or(self.headers.len());
            self.headers
                .insert(at, ("x-oss-security-token".into(), token.into()));
        }
    }
}

/// The bundle a request needs, from its verb, key and sub-resources.
fn needed(p: &Parsed) -> Result<Bundle, String> {
    for (name, _) in &p.subs {
        let ok = name == "security-token"
            || MULTIPART.contains(&name.as_str())
            || (RESPONSE.contains(&name.as_str()) && p.verb == "GET")
            || (name == "objectMeta" && matches!(p.verb.as_str(), "GET" | "HEAD"))
            || (name == "acl" && p.key.is_some() && matches!(p.verb.as_str(), "GET" | "PUT"));
        if !ok {
            return Err(format!(
                "the sub-resource {} is outside the grant (signable: uploads, uploadId, partNumber, response-* on GET, objectMeta on HEAD, acl on an object with the grant's acl action)",
                show(name)
            ));
        }
    }
    let (uploads, upload_id, part) = (
        p.has_sub("uploads"),
        p.has_sub("uploadId"),
        p.has_sub("partNumber"),
    );
    let multipart = uploads || upload_id || part;
    if p.key.is_none() {
        return match (p.verb.as_str(), multipart) {
            ("GET", false) if p.bucket.is_some() => Ok(Bundle::List),
            _ => Err(format!(
                "{} on {} is outside the grant: only objects under the prefix (and listing the bucket) can be signed",
                p.verb,
                match &p.bucket {
                    Some(b) => format!("the bucket {}", show(b)),
                    None => "the service".into(),
                }
            )),
        };
    }
    if p.has_sub("objectMeta") && !multipart {
        return Ok(Bundle::Read); // GetObjectMeta
    }
    if p.has_sub("acl") {
        return match multipart || p.subs.len() > 1 {
            false => Ok(Bundle::Acl), // GetObjectAcl, PutObjectAcl
            true => Err("acl cannot be combined with other sub-resources".into()),
        };
    }
    Ok(match (p.verb.as_str(), uploads, upload_id, part) {
        ("GET" | "HEAD", false, false, false) => Bundle::Read,
        ("PUT", false, false, false) => Bundle::Write,
        ("PUT", false, true, true) => Bundle::Write, // UploadPart
        ("POST", true, false, false) => Bundle::Write, // InitiateMultipartUpload
        ("POST", false, true, false) => Bundle::Write, // CompleteMultipartUpload
        ("GET", false, true, false) => Bundle::Write, // ListParts
        ("DELETE", false, true, false) => Bundle::Write, // AbortMultipartUpload
        ("DELETE", false, false, false) => Bundle::Delete,
        _ => {
            let subs: Vec<&str> = p.subs.iter().map(|(k, _)| k.as_str()).collect();
            return Err(format!(
                "{} with the sub-resources [{}] is not an operation a grant allows",
                p.verb,
                subs.join(", ")
            ));
        }
    })
}

pub use crate::common::scope::check_key;

/// Checks that everything `p` would authorize falls inside the grant at `now` (Unix seconds).
/// Errors name what is outside.
pub fn check(p: &Parsed, a: &Allowed, now: i64) -> Result<(), String> {
    match &p.bucket {
        Some(b) if b == a.bucket => {}
        Some(b) => {
            return Err(format!(
                "the bucket {} is outside the grant (its bucket is {:?})",
                show(b),
                a.bucket
            ))
        }
        None => {}
    }
    let bundle = needed(p)?;
    if !a.bundles.contains(&bundle) {
        let have: Vec<&str> = a.bundles.iter().map(|b| b.name()).collect();
        return Err(format!(
            "{} needs the {} action, and the grant allows only [{}]",
            p.verb,
            bundle.name(),
            have.join(", ")
        ));
    }
    if let Some(key) = &p.key {
        check_key(key, a.prefix)?;
    }
    if a.long_term {
        if bundle == Bundle::List {
            return Err(format!(
                "listing the bucket {} is outside what /auth/custom signs: a V1 string-to-sign does not cover the listing's prefix parameter, so the signature would list every caller's objects; list with temporary credentials (/v1/credentials) or with /v1/sign, which adds the security token that holds the listing to your prefix",
                show(p.bucket.as_deref().unwrap_or(""))
            ));
        }
        let token = p.headers.iter().any(|(k, _)| k == "x-oss-security-token")
            || p.has_sub("security-token");
        if token {
            return Err("a security token has no place in an /auth/custom string-to-sign: it is signed with a long-term key and the request is sent without a token (/v1/sign signs with temporary credentials)".into());
        }
    }
    for (name, value) in &p.headers {
        if name == "x-oss-object-acl" && a.bundles.contains(&Bundle::Acl) {
            continue;
        }
        if !header_allowed(name) {
            return Err(format!(
                "the header {} is outside the grant (signable: x-oss-meta-*, x-oss-date, x-oss-security-token, x-oss-storage-class, x-oss-forbid-overwrite, x-oss-server-side-encryption)",
                show(name)
            ));
        }
        if name == "x-oss-security-token" && value != a.token {
            return Err("x-oss-security-token is not the token of your current scoped credentials (leave it out and stsgate adds it)".into());
        }
    }
    for (name, value) in &p.subs {
        if name == "security-token" && value.as_deref() != Some(a.token) {
            return Err("security-token is not the token of your current scoped credentials (leave it out and stsgate adds it)".into());
        }
    }
    match p.expires() {
        Some(expires) => {
            if expires <= now {
                return Err(format!("Expires {expires} is in the past"));
            }
            if expires - now > a.max_expires {
                return Err(format!(
                    "Expires {expires} is {} s from now, beyond the grant's maximum of {} s",
                    expires - now,
                    a.max_expires
                ));
            }
        }
        None => {
            let when = httpdate::parse_http_date(&p.date)
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .and_then(|d| i64::try_from(d.as_secs()).ok())
                .ok_or_else(|| {
                    format!(
                        "the Date line {} is neither an RFC 1123 date (\"Wed, 28 Dec 2022 10:27:41 GMT\") nor a Unix time (presigned Expires)",
                        show(&p.date)
                    )
                })?;
            if (when - now).abs() > MAX_SKEW {
                return Err(format!(
                    "the Date {} is {} s away from the server's time; at most {MAX_SKEW} s is allowed",
                    show(&p.date),
                    (when - now).abs()
                ));
            }
        }
    }
    Ok(())
}

/// The key a signature is made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignWith {
    /// The caller's grant-scoped temporary credentials (the token is added to what is signed).
    Scoped,
    /// `/auth/custom`: a long-term key (the grant's signing key on the embedded store, the
    /// provider's `custom_signing_*` key on a cloud; see [`super::upstream::custom_signing_key`]):
    /// no token is added nor returned, and only what the string-to-sign pins is signed.
    CustomKey,
}

impl SignWith {
    /// The route that signs this way (for the audit row).
    fn route(self) -> &'static str {
        match self {
            SignWith::Scoped => "/v1/sign",
            SignWith::CustomKey => "/auth/custom",
        }
    }
}

/// Parses, checks and signs for an authenticated caller: `(Authorization value, scoped
/// credentials, signed string-to-sign)`. Refusals are audited by the handler; the issuance row
/// is written here (fail closed).
pub async fn sign_for(
    state: &Arc<ApiState>,
    ctx: &Ctx,
    caller: super::callers::Caller,
    grant: Option<String>,
    string_to_sign: &str,
    record: &mut crate::common::audit::Record,
    with: SignWith,
) -> Result<Signed, ApiError> {
    let route = with.route();
    let mut parsed = parse(string_to_sign).map_err(ApiError::BadRequest)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let min_life = parsed.expires().map_or(0, |e| e.saturating_sub(now).max(0));
    let scoped = signer::scoped(state, ctx, caller, grant, min_life, record).await?;
    let issued = &scoped.issued;
    let allowed = Allowed {
        bucket: &issued.bucket,
        prefix: &issued.prefix,
        bundles: &scoped.grant.bundles,
        token: &issued.minted.security_token,
        max_expires: scoped.grant.max_duration,
        long_term: with == SignWith::CustomKey,
    };
    check(&parsed, &allowed, now).map_err(ApiError::OutsideGrant)?;
    let custom = match with {
        SignWith::CustomKey => Some(super::upstream::custom_signing_key(state, scoped.grant)?),
        SignWith::Scoped => None,
    };
    let (key_id, secret, token) = match &custom {
        Some((id, secret, _)) => (id.as_str(), secret.expose(), ""),
        None => {
            parsed.add_token(&issued.minted.security_token);
            (
                issued.minted.access_key_id.as_str(),
                issued.minted.access_key_secret.expose(),
                issued.minted.security_token.as_str(),
            )
        }
    };
    let signed = parsed.render();
    let signature = oss_v1::sign(secret, &signed);
    // `<route> <VERB> /<bucket>/<key>` (concatenated: this runs on every `/auth/custom`).
    let mut what = [
        route,
        " ",
        &parsed.verb,
        " /",
        parsed.bucket.as_deref().unwrap_or(""),
        "/",
        parsed.key.as_deref().unwrap_or(""),
    ]
    .concat();
    if let Some((_, _, kind)) = &custom {
        what.push_str(" signed_with=");
        what.push_str(kind);
        what.push(':');
        what.push_str(key_id);
    }
    signer::audit_ok(state, record, issued, "signed", what).await?;
    Ok(Signed {
        authorization: ["OSS ", key_id, ":", &signature].concat(),
        access_key_id: key_id.to_string(),
        security_token: token.to_string(),
        signature,
        string_to_sign: signed,
    })
}

/// A signature made for the caller.
#[derive(Debug, Clone)]
pub struct Signed {
    pub authorization: String,
    pub access_key_id: String,
    pub security_token: String,
    pub signature: String,
    pub string_to_sign: String,
}

/// The body of `/v1/sign`: `{grant, string_to_sign}` for an Alibaba grant; `{grant, method,
/// key, query, headers}` (what `cos-js-sdk-v5`'s `getAuthorization` receives) for a Tencent one.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    grant: Option<String>,
    string_to_sign: Option<String>,
    method: Option<String>,
    key: Option<String>,
    #[serde(default)]
    query: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    headers: serde_json::Map<String, serde_json::Value>,
}

/// A JSON object of scalars as (name, text) pairs (400 for anything else).
fn text_pairs(
    what: &str,
    map: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<(String, String)>, ApiError> {
    map.iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k.clone(), s.clone())),
            serde_json::Value::Number(n) => Ok((k.clone(), n.to_string())),
            serde_json::Value::Bool(b) => Ok((k.clone(), b.to_string())),
            _ => Err(ApiError::BadRequest(format!(
                "{what}.{k} must be a string or a number"
            ))),
        })
        .collect()
}

/// The COS signature of a request inside a Tencent grant: `{authorization, security_token}`
/// (`getAuthorization`'s form B), valid from now until the scoped credentials' expiry, at
/// most [`COS_SIGNATURE_SECS`].
async fn cos_sign_for(
    state: &Arc<ApiState>,
    ctx: &Ctx,
    caller: super::callers::Caller,
    body: Body,
    record: &mut crate::common::audit::Record,
) -> Result<serde_json::Value, ApiError> {
    use crate::tencent::presign::{self as cos, Allowed, Creds};
    let method = body.method.clone().ok_or_else(|| {
        ApiError::BadRequest(
            "give the request to sign: {\"method\", \"key\", \"query\", \"headers\"}".into(),
        )
    })?;
    let key = body
        .key
        .as_deref()
        .unwrap_or("")
        .trim_start_matches('/')
        .to_string();
    let (query, headers) = (
        text_pairs("query", &body.query)?,
        text_pairs("headers", &body.headers)?,
    );
    let scoped = signer::scoped(
        state,
        ctx,
        caller,
        body.grant.clone(),
        COS_SIGNATURE_SECS,
        record,
    )
    .await?;
    let issued = &scoped.issued;
    let req = cos::Request {
        method: &method,
        key: &key,
        query: &query,
        headers: &headers,
    };
    let allowed = Allowed {
        prefix: &issued.prefix,
        bundles: &scoped.grant.bundles,
        token: &issued.minted.security_token,
    };
    cos::check_request(&req, &allowed).map_err(ApiError::OutsideGrant)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let end = issued
        .minted
        .expiration
        .unix_timestamp()
        .min(now + COS_SIGNATURE_SECS);
    let key_time = format!("{now};{end}");
    let creds = Creds {
        access_key_id: &issued.minted.access_key_id,
        secret: issued.minted.access_key_secret.expose(),
        token: &issued.minted.security_token,
    };
    let auth = cos::authorization(creds, &key_time, &req);
    let what = format!(
        "/v1/sign cos {} /{}/{key} until {end}",
        method.to_ascii_uppercase(),
        issued.bucket
    );
    signer::audit_ok(state, record, issued, "signed", what).await?;
    Ok(json!({
        "authorization": auth.to_string(),
        "security_token": issued.minted.security_token,
        "access_key_id": issued.minted.access_key_id,
        "start_time": now,
        "expired_time": end,
    }))
}

/// The longest a COS signature from `/v1/sign` lives, in seconds.
pub const COS_SIGNATURE_SECS: i64 = 900;

/// `POST /v1/sign` with `{"grant", "string_to_sign"}` (Alibaba grants) or `{"grant", "method",
/// "key", "query", "headers"}` (Tencent grants).
pub async fn handler(State(state): State<Arc<ApiState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let ctx = Ctx::new(&parts);
    let mut record = ctx.record();
    let result = async {
        // Authenticate before looking at the content.
        let caller = signer::authenticate(&state, &ctx, &mut record).await?;
        let body: Body = signer::json_body(body).await?;
        record.grant = body.grant.clone().unwrap_or_default();
        let vendor = super::credentials::find_grant(&state.grants, body.grant.as_deref())
            .map_or(Vendor::Aliyun, |g| g.vendor);
        if vendor == Vendor::Tencent {
            return cos_sign_for(&state, &ctx, caller, body, &mut record).await;
        }
        let Some(string_to_sign) = body.string_to_sign.as_deref() else {
            return Err(ApiError::BadRequest(
                "give the OSS V1 string to sign: {\"grant\", \"string_to_sign\"}".into(),
            ));
        };
        let s = sign_for(
            &state,
            &ctx,
            caller,
            body.grant.clone(),
            string_to_sign,
            &mut record,
            SignWith::Scoped,
        )
        .await?;
        Ok(json!({
            "authorization": s.authorization,
            "access_key_id": s.access_key_id,
            "security_token": s.security_token,
            "signature": s.signature,
            "string_to_sign": s.string_to_sign,
        }))
    }
    .await;
    match result {
        Ok(v) => signer::no_store(axum::Json(v).into_response()),
        Err(e) => signer::refused(&state, record, e).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_700_000_000; // Tue, 14 Nov 2023 22:13:20 GMT
    const DATE: &str = "Tue, 14 Nov 2023 22:13:20 GMT";
    const ALL: &[Bundle] = &[Bundle::Read, Bundle::Write, Bundle::List, Bundle::Delete];

    fn allowed(bundles: &'static [Bundle]) -> Allowed<'static> {
        Allowed {
            bucket: "app",
            prefix: "users/alice/",
            bundles,
            token: "CAIStok",
            max_expires: 3600,
            long_term: false,
        }
    }

    fn run(s: &str, bundles: &'static [Bundle]) -> Result<(), String> {
        check(&parse(s)?, &allowed(bundles), NOW)
    }

    #[test]
    fn parse_splits_and_renders_back() {
        let s = format!("PUT\nmd5==\ntext/plain\n{DATE}\nx-oss-meta-a:1\nx-oss-security-token:CAIStok\n/app/users/alice/a b?partNumber=1&uploadId=x");
        let p = parse(&s).unwrap();
        assert_eq!(p.verb, "PUT");
        assert_eq!(p.content_type, "text/plain");
        assert_eq!(p.headers.len(), 2);
        assert_eq!(p.bucket.as_deref(), Some("app"));
        assert_eq!(p.key.as_deref(), Some("users/alice/a b"));
        assert_eq!(
            p.subs,
            vec![
                ("partNumber".into(), Some("1".into())),
                ("uploadId".into(), Some("x".into()))
            ]
        );
        assert_eq!(p.render(), s);
        assert!(parse("GET\n\n\n/app/x").is_err());
        assert!(parse("FOO\n\n\nd\n/app/x").is_err());
        assert!(parse("GET\n\n\nd\nX-Oss-Meta:1\n/app/x").is_err());
        assert!(parse("GET\n\n\nd\napp/x").is_err());
        assert!(parse("GET\n\n\nd\n/app").is_err());
        assert!(parse("GET\n\n\nd\n/app/x?a&&b").is_err());
        assert_eq!(parse("GET\n\n\nd\n/").unwrap().bucket, None);
        assert_eq!(parse("GET\n\n\nd\n/app/").unwrap().key, None);
    }

    #[test]
    fn table() {
        let in_grant = [
            format!("GET\n\n\n{DATE}\n/app/users/alice/a.txt"),
            format!("HEAD\n\n\n{DATE}\nx-oss-security-token:CAIStok\n/app/users/alice/a.txt"),
            format!("PUT\n\ntext/plain\n{DATE}\nx-oss-meta-k:v\n/app/users/alice/a.txt"),
            format!("POST\n\n\n{DATE}\n/app/users/alice/big?uploads"),
            format!("PUT\n\n\n{DATE}\n/app/users/alice/big?partNumber=1&uploadId=u"),
            format!("POST\n\n\n{DATE}\n/app/users/alice/big?uploadId=u"),
            format!("DELETE\n\n\n{DATE}\n/app/users/alice/big?uploadId=u"),
            format!("GET\n\n\n{DATE}\n/app/users/alice/big?uploadId=u"),
            format!("DELETE\n\n\n{DATE}\n/app/users/alice/a.txt"),
            format!("GET\n\n\n{DATE}\n/app/users/alice/a?response-content-type=x"),
            format!("GET\n\n\n{DATE}\n/app/"),
            format!("GET\n\n\n{}\n/app/users/alice/a", NOW + 600),
            format!(
                "GET\n\n\n{}\n/app/users/alice/a?security-token=CAIStok",
                NOW + 60
            ),
            "GET\n\n\nTue, 14 Nov 2023 22:28:00 GMT\n/app/users/alice/a".to_string(),
        ];
        for s in &in_grant {
            assert_eq!(run(s, ALL), Ok(()), "{s:?}");
        }
        let outside = [
            (
                format!("GET\n\n\n{DATE}\n/app/users/bob/a"),
                "outside your prefix",
            ),
            (
                format!("GET\n\n\n{DATE}\n/app/users/alicex/a"),
                "outside your prefix",
            ),
            (
                format!("GET\n\n\n{DATE}\n/app/users/alice"),
                "outside your prefix",
            ),
            (format!("GET\n\n\n{DATE}\n/other/users/alice/a"), "bucket"),
            (
                format!("GET\n\n\n{DATE}\n/app/users/alice/a?acl"),
                "needs the acl action",
            ),
            (
                format!("PUT\n\n\n{DATE}\n/app/users/alice/a?acl"),
                "needs the acl action",
            ),
            (
                format!("PUT\n\n\n{DATE}\nx-oss-object-acl:public-read\n/app/users/alice/a"),
                "x-oss-object-acl",
            ),
            (format!("PUT\n\n\n{DATE}\n/app/?acl"), "\"acl\""),
            (format!("GET\n\n\n{DATE}\n/app/?cors"), "\"cors\""),
            (
                format!("PUT\n\n\n{DATE}\n/app/users/alice/a?response-expires=1"),
                "response-expires",
            ),
            (format!("GET\n\n\n{DATE}\n/app/?uploads"), "only objects"),
            (format!("PUT\n\n\n{DATE}\n/app/"), "only objects"),
            (format!("GET\n\n\n{DATE}\n/"), "the service"),
            (
                format!("GET\n\n\n{DATE}\n/app/users/alice/../bob/a"),
                "\"..\"",
            ),
            (
                format!("PUT\n\n\n{DATE}\nx-oss-copy-source:/app/users/bob/a\n/app/users/alice/a"),
                "x-oss-copy-source",
            ),
            (
                format!("PUT\n\n\n{DATE}\nx-oss-object-acl:public-read\n/app/users/alice/a"),
                "x-oss-object-acl",
            ),
            (
                format!("GET\n\n\n{DATE}\nx-oss-security-token:other\n/app/users/alice/a"),
                "current scoped",
            ),
            (
                format!("GET\n\n\n{}\n/app/users/alice/a?security-token=x", NOW + 60),
                "current scoped",
            ),
            (
                "GET\n\n\nTue, 14 Nov 2023 21:13:20 GMT\n/app/users/alice/a".into(),
                "away from",
            ),
            ("GET\n\n\nyesterday\n/app/users/alice/a".into(), "RFC 1123"),
            (
                format!("GET\n\n\n{}\n/app/users/alice/a", NOW - 1),
                "in the past",
            ),
            (
                format!("GET\n\n\n{}\n/app/users/alice/a", NOW + 3601),
                "maximum",
            ),
            (
                format!("POST\n\n\n{DATE}\n/app/users/alice/a?partNumber=1"),
                "not an operation",
            ),
        ];
        for (s, why) in &outside {
            let err = run(s, ALL).unwrap_err();
            assert!(err.contains(why), "{s:?}: {err}");
        }
        // Actions outside the grant's bundles.
        const READ: &[Bundle] = &[Bundle::Read];
        let err = run(&format!("PUT\n\n\n{DATE}\n/app/users/alice/a"), READ).unwrap_err();
        assert!(err.contains("write"), "{err}");
        let err = run(&format!("DELETE\n\n\n{DATE}\n/app/users/alice/a"), READ).unwrap_err();
        assert!(err.contains("delete"), "{err}");
        let err = run(&format!("GET\n\n\n{DATE}\n/app/"), READ).unwrap_err();
        assert!(err.contains("list"), "{err}");
    }

    #[test]
    fn add_token_keeps_canonical_order() {
        let mut p = parse(&format!(
            "PUT\n\n\n{DATE}\nx-oss-date:{DATE}\nx-oss-storage-class:IA\n/app/users/alice/a"
        ))
        .unwrap();
        p.add_token("T");
        assert_eq!(
            p.render(),
            format!("PUT\n\n\n{DATE}\nx-oss-date:{DATE}\nx-oss-security-token:T\nx-oss-storage-class:IA\n/app/users/alice/a")
        );
        let mut p = parse("GET\n\n\n1700000060\n/app/users/alice/a?response-expires=1").unwrap();
        p.add_token("T");
        assert_eq!(
            p.render(),
            "GET\n\n\n1700000060\n/app/users/alice/a?response-expires=1&security-token=T"
        );
        // Matches the oss face's own canonical resource for the same query.
        let query = vec![
            ("security-token".to_string(), "T".to_string()),
            ("response-expires".to_string(), "1".to_string()),
        ];
        assert!(p.render().ends_with(&oss_v1::canonical_resource(
            Some("app"),
            Some("users/alice/a"),
            &query
        )));
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(s in "\\PC*", t in "(GET|PUT|POST)\n[a-z=]*\n[ -~]*\n[ -~0-9]*\n(x-oss-[a-z-]*:[ -~]*\n)*/[ -~]*") {
            for s in [&s, &t] {
                if let Ok(mut p) = parse(s) {
                    prop_assert_eq!(&p.render(), s);
                    let _ = check(&p, &allowed(ALL), NOW);
                    p.add_token("tok");
                    let _ = parse(&p.render());
                }
            }
        }
    }
}
