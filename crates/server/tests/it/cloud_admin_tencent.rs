//! `stsgate check` and `stsgate cors` for a `type = "tencent"` provider, against a fake Tencent
//! STS (GetCallerIdentity, GetFederationToken, AssumeRole) and a fake COS (HEAD, `?cors`,
//! preflights) on 127.0.0.1:0. The fake COS checks every q-sign signature as COS does for the
//! `{Bucket}` path form (the host `127.0.0.1:PORT` signed, the path without the bucket), the
//! security token of temporary credentials and PUT's Content-MD5.

use crate::cloud_admin::{find, probe};
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use stsgate::aliyun::client::SignatureVersion;
use stsgate::cloud_admin::{self, Check, CorsAction, RuleArgs, Status};
use stsgate::config::Config;
use stsgate_signing::cos::{self, Authorization};

const SECRET_ID: &str = "AKIDcheckuser0000000000000000000001";
const SECRET_KEY: &str = "checkusersecret0000000000000000001";
const ORIGIN: &str = "https://app.example.com";
const ROLE: &str = "qcs::cam::uin/100000000001:roleName/app";

/// The fake cloud's state, shared by its STS and its COS.
#[derive(Default)]
struct Cloud {
    /// The code STS refuses every call with.
    refuse_all: Mutex<Option<&'static str>>,
    /// The code STS refuses issuance with.
    refuse_issue: Mutex<Option<&'static str>>,
    /// GetCallerIdentity answers for the main account's key.
    root: AtomicBool,
    /// Temporary SecretId → (SecretKey, token).
    temporary: Mutex<HashMap<String, (String, String)>>,
    /// (session name, decoded policy) of each issuance.
    issued: Mutex<Vec<(String, String)>>,
    buckets: Mutex<Vec<String>>,
    /// Each bucket's CORS body as PUT.
    cors: Mutex<HashMap<String, Vec<u8>>>,
    /// HEAD with temporary credentials is refused (403 AccessDenied).
    deny_temporary: AtomicBool,
    /// HEAD errors carry `x-cos-error-code` (stsgate's cos face does; COS may not).
    head_codes: AtomicBool,
    requests: AtomicUsize,
}

impl Cloud {
    fn request_id(&self) -> String {
        format!("req-{}", self.requests.fetch_add(1, Ordering::SeqCst) + 1)
    }
}

async fn sts(State(cloud): State<Arc<Cloud>>, headers: HeaderMap, body: Bytes) -> Response {
    let action = headers
        .get("x-tc-action")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let rid = cloud.request_id();
    let refused = match action {
        "GetCallerIdentity" => *cloud.refuse_all.lock().unwrap(),
        _ => cloud
            .refuse_all
            .lock()
            .unwrap()
            .or(*cloud.refuse_issue.lock().unwrap()),
    };
    let answer = if let Some(code) = refused {
        json!({"Response": {"Error": {"Code": code, "Message": "refused by the fake (uin/100000000001)"}, "RequestId": rid}})
    } else if action == "GetCallerIdentity" {
        let user = match cloud.root.load(Ordering::SeqCst) {
            true => "100000000001",
            false => "100000000002",
        };
        json!({"Response": {"Arn": format!("qcs::cam::uin/100000000001:uin/{user}"), "AccountId": "100000000001",
            "UserId": user, "PrincipalId": user, "Type": "CAMUser", "RequestId": rid}})
    } else {
        let asked: Value = serde_json::from_slice(&body).unwrap();
        let name = asked["Name"].as_str().or(asked["RoleSessionName"].as_str());
        let policy = percent_encoding::percent_decode_str(asked["Policy"].as_str().unwrap())
            .decode_utf8_lossy()
            .into_owned();
        cloud
            .issued
            .lock()
            .unwrap()
            .push((name.unwrap().to_string(), policy));
        let n = cloud.requests.load(Ordering::SeqCst);
        let (id, secret, token) = (
            format!("AKIDtmp{n}"),
            format!("tmpsecret{n}"),
            format!("TCSTtoken{n}"),
        );
        cloud
            .temporary
            .lock()
            .unwrap()
            .insert(id.clone(), (secret.clone(), token.clone()));
        let expires = time::OffsetDateTime::now_utc().unix_timestamp() + 900;
        json!({"Response": {"Credentials": {"Token": token, "TmpSecretId": id, "TmpSecretKey": secret},
            "ExpiredTime": expires, "Expiration": "x", "RequestId": rid}})
    };
    (
        [(http::header::CONTENT_TYPE, "application/json")],
        answer.to_string(),
    )
        .into_response()
}

/// A COS error: XML, or for HEAD no body (the code in `x-cos-error-code` when the fake says so).
fn cos_error(cloud: &Cloud, head: bool, status: StatusCode, code: &str, message: &str) -> Response {
    let rid = cloud.request_id();
    let mut r = Response::builder()
        .status(status)
        .header("x-cos-request-id", &rid)
        .header("x-cos-trace-id", "trace-1");
    if head {
        if cloud.head_codes.load(Ordering::SeqCst) {
            r = r.header("x-cos-error-code", code);
        }
        return r.body(axum::body::Body::empty()).unwrap();
    }
    let xml = format!("<?xml version='1.0' encoding='utf-8' ?><Error><Code>{code}</Code><Message>{message}</Message><Resource>fake</Resource><RequestId>{rid}</RequestId><TraceId>trace-1</TraceId></Error>");
    r.body(xml.into()).unwrap()
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

async fn cos_face(
    State(cloud): State<Arc<Cloud>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let head = method == Method::HEAD;
    let path = uri.path().trim_start_matches('/');
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    let key = percent_encoding::percent_decode_str(key)
        .decode_utf8_lossy()
        .into_owned();
    let exists = cloud.buckets.lock().unwrap().iter().any(|b| b == bucket);
    let fail = |status, code: &str, message: &str| cos_error(&cloud, head, status, code, message);
    if method == Method::OPTIONS {
        return preflight(&cloud, bucket, exists, &headers);
    }
    // Authentication as COS does it: the key, the token, the signature.
    let Some(auth) = header(&headers, "authorization").and_then(|a| Authorization::parse(&a).ok())
    else {
        return fail(StatusCode::FORBIDDEN, "AccessDenied", "no authorization");
    };
    let temporary = auth.access_key_id != SECRET_ID;
    let secret = match temporary {
        false => SECRET_KEY.to_string(),
        true => match cloud.temporary.lock().unwrap().get(&auth.access_key_id) {
            Some((secret, token))
                if header(&headers, "x-cos-security-token").as_ref() == Some(token) =>
            {
                secret.clone()
            }
            Some(_) => return fail(StatusCode::BAD_REQUEST, "InvalidToken", "bad token"),
            None => return fail(StatusCode::FORBIDDEN, "InvalidAccessKeyId", "unknown key"),
        },
    };
    let query = uri.query().unwrap_or("");
    let param = |name: &str| (name == query).then(String::new);
    let signed = |name: &str| header(&headers, name);
    let http = auth.http_string(method.as_str(), &format!("/{key}"), param, signed);
    if !http.is_some_and(|h| cos::verify(&secret, &auth, &h)) {
        return fail(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The Signature you specified is invalid.",
        );
    }
    if !exists {
        return fail(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            "The specified bucket does not exist.",
        );
    }
    let rid = cloud.request_id();
    let ok = |status: StatusCode, body: Vec<u8>| {
        Response::builder()
            .status(status)
            .header("x-cos-request-id", &rid)
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    let mut cors = cloud.cors.lock().unwrap();
    match (method.as_str(), query) {
        ("HEAD", "") if key.is_empty() => ok(StatusCode::OK, Vec::new()),
        ("HEAD", "") if temporary && cloud.deny_temporary.load(Ordering::SeqCst) => {
            fail(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied.")
        }
        ("HEAD", "") => fail(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        ),
        ("GET", "cors") => match cors.get(bucket) {
            Some(body) => ok(StatusCode::OK, body.clone()),
            None => fail(
                StatusCode::NOT_FOUND,
                "NoSuchCORSConfiguration",
                "The CORS configuration does not exist.",
            ),
        },
        ("PUT", "cors") => {
            if header(&headers, "content-md5") != Some(stsgate::common::rest::content_md5(&body)) {
                return fail(
                    StatusCode::BAD_REQUEST,
                    "InvalidDigest",
                    "Content-MD5 mismatch",
                );
            }
            cors.insert(bucket.to_string(), body.to_vec());
            ok(StatusCode::OK, Vec::new())
        }
        ("DELETE", "cors") => {
            cors.remove(bucket);
            ok(StatusCode::NO_CONTENT, Vec::new())
        }
        _ => fail(StatusCode::BAD_REQUEST, "InvalidRequest", "not faked"),
    }
}

/// A preflight answered from the bucket's rules (403 AccessForbidden when none matches).
fn preflight(cloud: &Cloud, bucket: &str, exists: bool, headers: &HeaderMap) -> Response {
    if !exists {
        return cos_error(
            cloud,
            false,
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            "The specified bucket does not exist.",
        );
    }
    let origin = header(headers, "origin").unwrap_or_default();
    let method = header(headers, "access-control-request-method").unwrap_or_default();
    let body = cloud
        .cors
        .lock()
        .unwrap()
        .get(bucket)
        .cloned()
        .unwrap_or_default();
    let rules = stsgate::common::rest_xml::parse_cors(&body)
        .unwrap_or_default()
        .rules;
    let rule = rules.iter().find(|r| {
        r.allowed_origins.iter().any(|o| *o == origin || o == "*")
            && r.allowed_methods.contains(&method)
    });
    let Some(rule) = rule else {
        return cos_error(
            cloud,
            false,
            StatusCode::FORBIDDEN,
            "AccessForbidden",
            "CORSResponse: this CORS request is not allowed.",
        );
    };
    Response::builder()
        .header("access-control-allow-origin", origin)
        .header(
            "access-control-allow-methods",
            rule.allowed_methods.join(","),
        )
        .header(
            "access-control-expose-headers",
            rule.expose_headers.join(","),
        )
        .body(axum::body::Body::empty())
        .unwrap()
}

/// The fake cloud, Y's config dir, and a config pointed at it.
struct Fake {
    cloud: Arc<Cloud>,
    sts: String,
    cos: String,
    tmp: tempfile::TempDir,
}

async fn spawn() -> Fake {
    let cloud = Arc::new(Cloud::default());
    let serve = |app: axum::Router| async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    };
    let sts = serve(
        axum::Router::new()
            .route("/", axum::routing::post(sts))
            .with_state(cloud.clone()),
    )
    .await;
    let cos = serve(
        axum::Router::new()
            .fallback(cos_face)
            .with_state(cloud.clone()),
    )
    .await;
    cloud.buckets.lock().unwrap().push("app-1250000000".into());
    Fake {
        cloud,
        sts,
        cos,
        tmp: tempfile::tempdir().unwrap(),
    }
}

const GRANTS: &str = "[[grant]]\nname = \"folder\"\nprovider = \"tc\"\nbucket = \"app-1250000000\"\nprefix = \"users/${sub}/\"\nactions = [\"read\", \"write\", \"list\", \"delete\"]\n\n[[grant]]\nname = \"reader\"\nprovider = \"tc\"\nbucket = \"app-1250000000\"\nprefix = \"public/\"\nactions = [\"read\"]\n";

impl Fake {
    /// Y's config: `[provider.tc]` pointed at the fake (`extra` added to the table), `grants`.
    fn config(&self, extra: &str, grants: &str) -> PathBuf {
        self.config_at(&self.cos, SECRET_KEY, extra, grants)
    }

    /// The config with another COS endpoint or SecretKey.
    fn config_at(&self, cos: &str, secret_key: &str, extra: &str, grants: &str) -> PathBuf {
        let creds = self.tmp.path().join("tc.json");
        let key = json!({"SecretId": SECRET_ID, "SecretKey": secret_key});
        std::fs::write(&creds, key.to_string()).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
        let path = self.tmp.path().join("y.toml");
        let text = format!(
            "[api]\nenabled = false\n\n[provider.tc]\ntype = \"tencent\"\nregion = \"ap-guangzhou\"\ncredentials_file = {creds:?}\nsts_endpoint = \"{}\"\ncos_endpoint = \"{cos}\"\ntimeout = 3\nretries = 0\nbrowser_origins = [\"{ORIGIN}\"]\n{extra}\n\n{grants}",
            self.sts
        );
        std::fs::write(&path, text).unwrap();
        path
    }
}

async fn cors(path: &Path, bucket: &str, action: CorsAction) -> anyhow::Result<Vec<String>> {
    cloud_admin::cors(path, "tc", bucket, action, SignatureVersion::V1).await
}

#[tokio::test]
async fn check_probes_identity_federation_token_head_and_cors() {
    let fake = spawn().await;
    let grants = format!("{GRANTS}\n[[grant]]\nname = \"gone\"\nprovider = \"tc\"\nbucket = \"gone-1250000000\"\nprefix = \"u/${{sub}}/\"\nactions = [\"read\"]\n");
    let path = fake.config("", &grants);
    let (lines, failures) = probe(&path).await;
    let text: Vec<String> = lines.iter().map(|c| c.to_string()).collect();
    for secret in [SECRET_ID, SECRET_KEY, "AKIDtmp", "tmpsecret", "TCSTtoken"] {
        assert!(
            !text.iter().any(|l| l.contains(secret)),
            "{secret} in {text:#?}"
        );
    }
    assert!(
        text[0].starts_with("ok grant folder (provider tc): policy "),
        "{text:#?}"
    );
    assert_eq!(
        find(&lines, "GetCallerIdentity").to_string(),
        "ok provider tc: GetCallerIdentity: CAMUser qcs::cam::uin/100000000001:uin/100000000002 (account 100000000001)"
    );
    // The narrowest grant (reader: one bundle) is the dry run's, with its CAM policy.
    let issued = find(&lines, "GetFederationToken");
    assert_eq!(issued.status, Status::Ok, "{text:#?}");
    assert!(
        issued.text.starts_with(
            "provider tc: GetFederationToken as stsgate-check with grant reader (policy "
        ),
        "{issued}"
    );
    assert!(
        issued
            .text
            .contains(" bytes, 900 s): credentials issued, expires "),
        "{issued}"
    );
    let config = Config::load(&path).unwrap();
    let reader = config.grants.iter().find(|g| g.name == "reader").unwrap();
    let policy = stsgate::tencent::policy::render(reader, "public/", "ap-guangzhou", "1250000000");
    assert_eq!(
        fake.cloud.issued.lock().unwrap()[0],
        ("stsgate-check".to_string(), policy)
    );
    // A bare 404 (no x-cos-error-code): HEAD of the bucket says the key is what is missing.
    assert_eq!(
        find(&lines, "bucket app-1250000000: HEAD").to_string(),
        "ok provider tc: bucket app-1250000000: HEAD public/stsgate-check-probe with grant reader's credentials: 404 NoSuchKey (bucket reachable, credentials accepted)"
    );
    let gone = find(&lines, "bucket gone-1250000000: HEAD").to_string();
    assert!(gone.starts_with(&format!("FAIL provider tc: bucket gone-1250000000: HEAD u/stsgate-check/stsgate-check-probe with grant gone's credentials: 404 NoSuchBucket: bucket does not exist in region ap-guangzhou ({}) (RequestId req-", fake.cos)), "{gone}");
    assert!(gone.ends_with(" — fix: create bucket gone-1250000000 in region ap-guangzhou, or correct bucket in [[grant]] gone, or region / cos_endpoint in [provider.tc]"), "{gone}");
    assert_eq!(
        find(&lines, "bucket gone-1250000000: CORS").to_string(),
        "skip provider tc: bucket gone-1250000000: CORS not checked: the bucket does not exist (see above)"
    );
    assert_eq!(
        find(&lines, "bucket app-1250000000: CORS").to_string(),
        format!("FAIL provider tc: bucket app-1250000000: CORS refuses origin {ORIGIN} for PUT, POST (preflight: 403 AccessForbidden) — fix: stsgate cors set --config {} --provider tc --bucket app-1250000000 --origin {ORIGIN}", path.display())
    );
    assert_eq!(failures, 2, "{text:#?}");

    // After the fix, the bucket's CORS passes; then PUT only fails POST; no ETag warns.
    let set = |methods: &[&str], expose: &[&str]| {
        CorsAction::Set(RuleArgs {
            methods: methods.iter().map(|m| m.to_string()).collect(),
            expose_headers: expose.iter().map(|h| h.to_string()).collect(),
            ..RuleArgs::default()
        })
    };
    let bucket_cors = |lines: Vec<Check>| find(&lines, "bucket app-1250000000: CORS").to_string();
    cors(&path, "app-1250000000", set(&[], &[])).await.unwrap();
    assert_eq!(
        bucket_cors(probe(&path).await.0),
        format!("ok provider tc: bucket app-1250000000: CORS allows origin {ORIGIN} for PUT, POST")
    );
    cors(&path, "app-1250000000", set(&["PUT"], &[]))
        .await
        .unwrap();
    assert!(bucket_cors(probe(&path).await.0).starts_with(&format!("FAIL provider tc: bucket app-1250000000: CORS refuses origin {ORIGIN} for POST (preflight: 403 AccessForbidden) — fix: stsgate cors set ")));
    cors(&path, "app-1250000000", set(&[], &["x-cos-request-id"]))
        .await
        .unwrap();
    assert!(bucket_cors(probe(&path).await.0).starts_with(&format!("warn provider tc: bucket app-1250000000: CORS allows origin {ORIGIN} for PUT, POST but does not expose ETag")));
}

#[tokio::test]
async fn check_names_the_fix_for_refusals() {
    let fake = spawn().await;
    // A wrong SecretKey: STS refuses both calls; HEAD has no credentials to try.
    *fake.cloud.refuse_all.lock().unwrap() = Some("AuthFailure.SignatureFailure");
    let path = fake.config("", GRANTS);
    let (lines, failures) = probe(&path).await;
    let id = find(&lines, "GetCallerIdentity").to_string();
    assert!(id.starts_with(&format!("FAIL provider tc: GetCallerIdentity at {}: AuthFailure.SignatureFailure: refused by the fake (…) (RequestId req-1) — fix: the SecretKey does not belong to the SecretId configured in [provider.tc]", fake.sts)), "{id}");
    assert!(find(&lines, "GetFederationToken as").failed());
    assert_eq!(
        find(&lines, "bucket app-1250000000: HEAD").to_string(),
        "skip provider tc: bucket app-1250000000: HEAD not tried: it needs dry-run credentials of grant reader (GetFederationToken failed above)"
    );
    assert_eq!(failures, 3, "{lines:#?}");

    // The CAM user may not call GetFederationToken.
    *fake.cloud.refuse_all.lock().unwrap() = None;
    *fake.cloud.refuse_issue.lock().unwrap() = Some("UnauthorizedOperation");
    let (lines, _) = probe(&path).await;
    let issued = find(&lines, "GetFederationToken as").to_string();
    assert!(
        issued.contains(": UnauthorizedOperation: refused by the fake (…) (RequestId "),
        "{issued}"
    );
    assert!(issued.ends_with(" — fix: the CAM user of [provider.tc] may not call GetFederationToken: grant it sts:GetFederationToken (policy QcloudSTSFullAccess or a custom one)"), "{issued}");

    // Federation tokens refused by COS: the CAM user itself needs cos:HeadObject.
    *fake.cloud.refuse_issue.lock().unwrap() = None;
    fake.cloud.deny_temporary.store(true, Ordering::SeqCst);
    let (lines, _) = probe(&path).await;
    let head = find(&lines, "bucket app-1250000000: HEAD").to_string();
    assert!(head.starts_with("FAIL provider tc: bucket app-1250000000: HEAD public/stsgate-check-probe with grant reader's credentials: 403 HttpStatus403 (RequestId req-"), "{head}");
    assert!(head.contains(" — fix: the CAM user of [provider.tc] must itself be allowed cos:HeadObject on qcs::cos:ap-guangzhou:uid/1250000000:app-1250000000/public/*: federation tokens get only"), "{head}");

    // A main account key and a role: a warning, AssumeRole, and the role's policies to fix.
    fake.cloud.root.store(true, Ordering::SeqCst);
    fake.cloud.head_codes.store(true, Ordering::SeqCst);
    let path = fake.config(&format!("role_arn = \"{ROLE}\""), GRANTS);
    let (lines, _) = probe(&path).await;
    let id = find(&lines, "GetCallerIdentity");
    assert_eq!(id.status, Status::Warn);
    assert!(id.to_string().starts_with("warn provider tc: GetCallerIdentity: qcs::cam::uin/100000000001:uin/100000000001 (main account key) — fix: a main account key may do anything in the account: create a CAM user, allow it only sts:AssumeRole on qcs::cam::uin/100000000001:roleName/app"), "{id}");
    let issued = find(&lines, "AssumeRole ");
    assert!(
        issued.to_string().starts_with(&format!(
            "ok provider tc: AssumeRole {ROLE} as stsgate-check with grant reader"
        )),
        "{issued}"
    );
    let head = find(&lines, "bucket app-1250000000: HEAD").to_string();
    assert!(head.contains("403 AccessDenied (RequestId req-"), "{head}");
    assert!(head.contains(&format!(" — fix: the role {ROLE}'s own policies must allow cos:HeadObject on qcs::cos:ap-guangzhou:uid/1250000000:app-1250000000/public/*")), "{head}");

    // COS unreachable: HEAD and the preflights say where to look.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let path = fake.config_at(&format!("http://{dead}"), SECRET_KEY, "", GRANTS);
    let (lines, _) = probe(&path).await;
    let fix = format!(
        "cannot reach http://{dead}: check cos_endpoint in [provider.tc], proxies and firewalls"
    );
    let head = find(&lines, "bucket app-1250000000: HEAD").to_string();
    assert!(
        head.contains(": Unreachable: ") && head.ends_with(&fix),
        "{head}"
    );
    let preflight = find(&lines, "bucket app-1250000000: CORS").to_string();
    assert!(preflight.starts_with(&format!("FAIL provider tc: bucket app-1250000000: CORS preflight from origin {ORIGIN}: Unreachable: ")), "{preflight}");
    assert!(preflight.ends_with(&fix), "{preflight}");
}

#[tokio::test]
async fn cors_get_set_delete_on_cos() {
    let fake = spawn().await;
    let path = fake.config("", GRANTS);
    let none = format!("bucket app-1250000000 has no CORS rules (NoSuchCORSConfiguration): browsers cannot use it directly; add a rule: stsgate cors set --config {} --provider tc --bucket app-1250000000 --origin {ORIGIN}", path.display());
    assert_eq!(
        cors(&path, "app-1250000000", CorsAction::Get)
            .await
            .unwrap(),
        std::slice::from_ref(&none)
    );
    let lines = cors(
        &path,
        "app-1250000000",
        CorsAction::Set(RuleArgs::default()),
    )
    .await
    .unwrap();
    let rule = format!("rule 1: origins {ORIGIN}; methods PUT,POST,GET,HEAD; headers *; expose ETag,x-cos-request-id; max-age 600");
    assert!(
        lines[0].starts_with(&format!(
            "set the CORS rules of bucket app-1250000000 (provider tc, {}, RequestId req-",
            fake.cos
        )),
        "{lines:?}"
    );
    assert_eq!(lines[1], rule);
    let stored = fake.cloud.cors.lock().unwrap()["app-1250000000"].clone();
    assert!(String::from_utf8(stored)
        .unwrap()
        .starts_with("<CORSConfiguration><CORSRule><ID>stsgate-1</ID>"));
    assert_eq!(
        cors(&path, "app-1250000000", CorsAction::Get)
            .await
            .unwrap(),
        [rule]
    );
    assert_eq!(
        cors(&path, "app-1250000000", CorsAction::Delete)
            .await
            .unwrap(),
        [format!(
            "deleted the CORS rules of bucket app-1250000000 (provider tc, {})",
            fake.cos
        )]
    );
    assert_eq!(
        cors(&path, "app-1250000000", CorsAction::Get)
            .await
            .unwrap(),
        [none]
    );

    let err = |r: anyhow::Result<Vec<String>>| format!("{:#}", r.unwrap_err());
    let missing = err(cors(&path, "nope-1250000000", CorsAction::Get).await);
    assert!(missing.starts_with(&format!("GetBucketCors on bucket nope-1250000000 (provider tc, {}) failed: 404 NoSuchBucket: The specified bucket does not exist. (RequestId req-", fake.cos)), "{missing}");
    assert!(missing.contains(", TraceId trace-1) — fix: bucket nope-1250000000 does not exist in region ap-guangzhou"), "{missing}");
    assert!(err(cors(&path, "app", CorsAction::Get).await).contains("is not a COS bucket name"));
    let star = RuleArgs {
        expose_headers: vec!["*".into()],
        ..RuleArgs::default()
    };
    assert!(
        err(cors(&path, "app-1250000000", CorsAction::Set(star)).await)
            .contains("COS allows no '*' there")
    );

    // A wrong SecretKey: COS says so, and the fix shows what was signed (never the secret).
    let wrong = fake.config_at(&fake.cos, "wrong-secret", "", GRANTS);
    let mismatch = err(cors(&wrong, "app-1250000000", CorsAction::Delete).await);
    assert!(
        mismatch.starts_with("DeleteBucketCors on bucket app-1250000000"),
        "{mismatch}"
    );
    assert!(mismatch.contains("403 SignatureDoesNotMatch"), "{mismatch}");
    let host = fake.cos.trim_start_matches("http://").replace(':', "%3A");
    assert!(
        mismatch.ends_with(&format!(
            "HttpString signed: \"delete\\n/\\ncors=\\nhost={host}\\n\""
        )),
        "{mismatch}"
    );
    assert!(!mismatch.contains("wrong-secret") && !mismatch.contains(SECRET_ID));
}
