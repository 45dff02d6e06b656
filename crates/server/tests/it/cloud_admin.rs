//! `stsgate cors` and `stsgate check`'s provider probes against X: a second stsgate's sts and oss
//! faces served in-process on 127.0.0.1:0, playing Alibaba Cloud. Y's `[provider.x]` uses X's
//! root-credentials.json as its key file.

use std::path::{Path, PathBuf};
use stsgate::aliyun::client::{Credentials, OssClient, SignatureVersion};
use stsgate::cloud_admin::{self, Check, CorsAction, RuleArgs, Status};
use stsgate::config::Config;
use stsgate::datadir::{self, DataDir};
use stsgate::secret::Secret;
use stsgate::serve;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const ORIGIN: &str = "https://app.example.com";

/// X: the sts and oss faces of a fresh data directory, until dropped.
struct X {
    _tmp: tempfile::TempDir,
    dir: DataDir,
    store: stsgate_store::Store,
    sts: String,
    oss: String,
    stop: CancellationToken,
}

impl Drop for X {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn spawn_x() -> X {
    let tmp = tempfile::tempdir().unwrap();
    let dir = datadir::open(&tmp.path().join("x"), &Default::default())
        .unwrap()
        .dir;
    let stop = CancellationToken::new();
    let oss_state = serve::oss_state(&dir, serve::DEFAULT_REGION).unwrap();
    let store = oss_state.store.clone();
    let oss_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let oss = format!("http://{}", oss_listener.local_addr().unwrap());
    let shutdown = stop.clone().cancelled_owned();
    tokio::spawn(async move { serve::run_oss(oss_listener, oss_state, shutdown).await });
    let sts_state = serve::sts_state(&dir).unwrap();
    let sts_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sts = format!("http://{}", sts_listener.local_addr().unwrap());
    let shutdown = stop.clone().cancelled_owned();
    tokio::spawn(async move { serve::run_sts(sts_listener, sts_state, shutdown).await });
    X {
        _tmp: tmp,
        dir,
        store,
        sts,
        oss,
        stop,
    }
}

impl X {
    fn create_bucket(&self, name: &str) {
        self.store
            .create_bucket(
                name,
                stsgate_store::Acl::Private,
                "Standard",
                time::OffsetDateTime::now_utc(),
            )
            .unwrap();
    }

    /// Y's config: `[provider.x]` pointed at X, `grants` appended verbatim.
    fn y_config(&self, dir: &Path, grants: &str) -> PathBuf {
        let path = dir.join("y.toml");
        let text = format!(
            "[api]\nenabled = false\n\n[provider.x]\nrole_arn = \"acs:ram::{}:role/app\"\ncredentials_file = {:?}\nsts_endpoint = \"{}\"\noss_endpoint = \"{}\"\ntimeout = 3\nretries = 0\nbrowser_origins = [\"{ORIGIN}\"]\n\n{grants}",
            self.dir.account_id,
            self.dir.path.join("root-credentials.json"),
            self.sts,
            self.oss
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    fn root_client(&self, version: SignatureVersion) -> OssClient {
        OssClient::new(&self.oss, "cn-hangzhou", std::time::Duration::from_secs(3))
            .unwrap()
            .signed(
                Credentials {
                    access_key_id: self.dir.root.id.clone(),
                    secret: Secret::new(self.dir.root.secret.expose()),
                    security_token: None,
                },
                version,
            )
    }
}

const GRANTS: &str = "[[grant]]\nname = \"folder\"\nprovider = \"x\"\nbucket = \"app\"\nprefix = \"users/${sub}/\"\nactions = [\"read\", \"write\", \"list\", \"delete\"]\n\n[[grant]]\nname = \"reader\"\nprovider = \"x\"\nbucket = \"app\"\nprefix = \"public/\"\nactions = [\"read\"]\n";

pub async fn probe(path: &Path) -> (Vec<Check>, usize) {
    let config = Config::load(path).unwrap();
    let mut lines = Vec::new();
    let failures = cloud_admin::probe(&config, path, &mut |c| lines.push(c.clone())).await;
    (lines, failures)
}

pub fn find<'c>(lines: &'c [Check], needle: &str) -> &'c Check {
    lines
        .iter()
        .find(|c| c.text.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in {lines:#?}"))
}

#[tokio::test]
async fn the_client_speaks_x_oss_face_in_both_versions() {
    let x = spawn_x().await;
    x.create_bucket("app");
    for version in [SignatureVersion::V1, SignatureVersion::V4] {
        let client = x.root_client(version);
        assert_eq!(client.get_bucket_cors("app").await.unwrap(), None);
        let config = stsgate_store::CorsConfig {
            rules: vec![stsgate_store::CorsRule {
                allowed_origins: vec![ORIGIN.into()],
                allowed_methods: vec!["PUT".into(), "POST".into()],
                allowed_headers: vec!["*".into()],
                expose_headers: vec!["ETag".into()],
                max_age_seconds: Some(60),
            }],
            response_vary: false,
        };
        client.put_bucket_cors("app", &config).await.unwrap();
        assert_eq!(client.get_bucket_cors("app").await.unwrap(), Some(config));
        let allowed = client
            .preflight("app", "users/a.txt", ORIGIN, "PUT", &["content-type"])
            .await
            .unwrap();
        assert!(allowed.allowed, "{allowed:?}");
        let refused = client
            .preflight("app", "users/a.txt", "https://evil.example", "PUT", &[])
            .await
            .unwrap();
        assert!(!refused.allowed);
        assert_eq!(refused.error.unwrap().code, "AccessForbidden");
        client.delete_bucket_cors("app").await.unwrap();
        assert_eq!(client.get_bucket_cors("app").await.unwrap(), None);
        let head = client.head_object("app", "missing").await.unwrap_err();
        assert_eq!((head.status, head.code.as_str()), (404, "NoSuchKey"));
        assert!(head.request_id.is_some());
        let head = client.head_object("nope", "k").await.unwrap_err();
        assert_eq!(head.code, "NoSuchBucket");
        let e = client.get_bucket_cors("nope").await.unwrap_err();
        assert_eq!(e.code, "NoSuchBucket");
    }
    // A wrong secret: SignatureDoesNotMatch, with both strings-to-sign kept.
    let wrong = OssClient::new(&x.oss, "cn-hangzhou", std::time::Duration::from_secs(3))
        .unwrap()
        .signed(
            Credentials {
                access_key_id: x.dir.root.id.clone(),
                secret: Secret::new("wrong"),
                security_token: None,
            },
            SignatureVersion::V1,
        );
    let e = wrong.get_bucket_cors("app").await.unwrap_err();
    assert_eq!(e.code, "SignatureDoesNotMatch");
    assert_eq!(e.string_to_sign, e.server_string_to_sign);
}

#[tokio::test]
async fn cors_get_set_delete() {
    let x = spawn_x().await;
    x.create_bucket("app");
    let tmp = tempfile::tempdir().unwrap();
    let path = x.y_config(tmp.path(), GRANTS);
    let run = |action: CorsAction, bucket: &'static str, version| {
        let path = path.clone();
        async move { cloud_admin::cors(&path, "x", bucket, action, version).await }
    };
    let lines = run(CorsAction::Get, "app", SignatureVersion::V1)
        .await
        .unwrap();
    assert_eq!(
        lines,
        [format!(
            "bucket app has no CORS rules (NoSuchCORSConfiguration): browsers cannot use it directly; add a rule: stsgate cors set --config {} --provider x --bucket app --origin {ORIGIN}",
            path.display()
        )]
    );
    let lines = run(
        CorsAction::Set(RuleArgs::default()),
        "app",
        SignatureVersion::V4,
    )
    .await
    .unwrap();
    assert!(
        lines[0].starts_with(&format!(
            "set the CORS rules of bucket app (provider x, {}, signature v4, RequestId ",
            x.oss
        )),
        "{lines:?}"
    );
    let rule = format!("rule 1: origins {ORIGIN}; methods PUT,POST,GET,HEAD; headers *; expose ETag,x-oss-request-id; max-age 600");
    assert_eq!(lines[1], rule);
    let lines = run(CorsAction::Get, "app", SignatureVersion::V1)
        .await
        .unwrap();
    assert_eq!(lines, [rule]);
    let lines = run(CorsAction::Delete, "app", SignatureVersion::V1)
        .await
        .unwrap();
    assert_eq!(
        lines,
        [format!(
            "deleted the CORS rules of bucket app (provider x, {}, signature v1)",
            x.oss
        )]
    );
    let err = format!(
        "{:#}",
        run(CorsAction::Get, "nope", SignatureVersion::V1)
            .await
            .unwrap_err()
    );
    assert!(
        err.starts_with(&format!(
            "GetBucketCors on bucket nope (provider x, {}, signature v1) failed: 404 NoSuchBucket: The specified bucket does not exist. (RequestId ",
            x.oss
        )),
        "{err}"
    );
    assert!(
        err.contains("— fix: bucket nope does not exist in region cn-hangzhou"),
        "{err}"
    );
    let err = format!(
        "{:#}",
        cloud_admin::cors(&path, "y", "app", CorsAction::Get, SignatureVersion::V1)
            .await
            .unwrap_err()
    );
    assert!(err.contains("has no [provider.y] (configured: x)"), "{err}");
}

#[tokio::test]
async fn check_probes_identity_assume_role_head_and_cors() {
    let x = spawn_x().await;
    x.create_bucket("app");
    let tmp = tempfile::tempdir().unwrap();
    let grants = format!(
        "{GRANTS}\n[[grant]]\nname = \"gone\"\nprovider = \"x\"\nbucket = \"missing-bucket\"\nprefix = \"u/${{sub}}/\"\nactions = [\"read\"]\n\n[[grant]]\nname = \"writer\"\nprovider = \"x\"\nbucket = \"write-only\"\nprefix = \"w/\"\nactions = [\"write\"]\n"
    );
    let path = x.y_config(tmp.path(), &grants);
    let (lines, failures) = probe(&path).await;
    let text: Vec<String> = lines.iter().map(|c| c.to_string()).collect();
    // X's root key is its main account's key: a warning, not a failure (X lets it assume).
    let id = find(&lines, "GetCallerIdentity");
    assert_eq!(id.status, Status::Warn, "{text:#?}");
    assert_eq!(
        id.to_string().split(" — fix: ").next().unwrap(),
        format!(
            "warn provider x: GetCallerIdentity: Account acs:ram::{}:root (main account key)",
            x.dir.account_id
        )
    );
    // The narrowest grant (reader: one bundle) is the dry run's.
    let assumed = find(&lines, "AssumeRole");
    assert_eq!(assumed.status, Status::Ok, "{text:#?}");
    assert!(assumed.text.starts_with(&format!(
        "provider x: AssumeRole acs:ram::{}:role/app as stsgate-check with grant reader (policy ",
        x.dir.account_id
    )));
    let head = find(&lines, "bucket app: HEAD");
    assert_eq!(
        head.to_string(),
        "ok provider x: bucket app: HEAD public/stsgate-check-probe with grant reader's credentials: 404 NoSuchKey (bucket reachable, credentials accepted)"
    );
    let gone = find(&lines, "bucket missing-bucket: HEAD");
    assert_eq!(gone.status, Status::Fail);
    assert!(gone.to_string().starts_with(&format!("FAIL provider x: bucket missing-bucket: HEAD u/stsgate-check/stsgate-check-probe with grant gone's credentials: 404 NoSuchBucket: bucket does not exist in region cn-hangzhou ({}) (RequestId ", x.oss)), "{gone}");
    assert!(gone.to_string().ends_with(" — fix: create bucket missing-bucket in region cn-hangzhou, or correct bucket in [[grant]] gone, or region / oss_endpoint in [provider.x]"), "{gone}");
    assert_eq!(
        find(&lines, "bucket missing-bucket: CORS").to_string(),
        "skip provider x: bucket missing-bucket: CORS not checked: the bucket does not exist (see above)"
    );
    // write-only has no read grant: HEAD skipped, so the preflight names the missing bucket.
    let wo_cors = find(&lines, "bucket write-only: CORS");
    assert_eq!(wo_cors.status, Status::Fail);
    assert!(wo_cors.to_string().starts_with(&format!("FAIL provider x: bucket write-only: CORS preflight from origin {ORIGIN}: 404 NoSuchBucket")), "{wo_cors}");
    let wo = find(&lines, "bucket write-only: HEAD");
    assert_eq!(wo.to_string(), "skip provider x: bucket write-only: HEAD not tried: the check needs a grant with the read action on write-only, and writer has none");
    // No CORS on app yet: refused, with the command that fixes it.
    let cors = find(&lines, "bucket app: CORS");
    assert_eq!(
        cors.to_string(),
        format!(
            "FAIL provider x: bucket app: CORS refuses origin {ORIGIN} for PUT, POST (preflight: 403 AccessForbidden) — fix: stsgate cors set --config {} --provider x --bucket app --origin {ORIGIN}",
            path.display()
        )
    );
    assert_eq!(failures, lines.iter().filter(|c| c.failed()).count());
    assert!(failures >= 2, "{text:#?}");

    // After the fix, app's CORS passes.
    cloud_admin::cors(
        &path,
        "x",
        "app",
        CorsAction::Set(RuleArgs::default()),
        SignatureVersion::V1,
    )
    .await
    .unwrap();
    let (lines, _) = probe(&path).await;
    assert_eq!(
        find(&lines, "bucket app: CORS").to_string(),
        format!("ok provider x: bucket app: CORS allows origin {ORIGIN} for PUT, POST")
    );
    // Only PUT allowed, no ETag exposed.
    cloud_admin::cors(
        &path,
        "x",
        "app",
        CorsAction::Set(RuleArgs {
            methods: vec!["PUT".into()],
            expose_headers: vec!["x-oss-request-id".into()],
            ..RuleArgs::default()
        }),
        SignatureVersion::V4,
    )
    .await
    .unwrap();
    let (lines, _) = probe(&path).await;
    let cors = find(&lines, "bucket app: CORS");
    assert!(
        cors.to_string()
            .starts_with(&format!("FAIL provider x: bucket app: CORS refuses origin {ORIGIN} for POST (preflight: 403 AccessForbidden) — fix: ")),
        "{cors}"
    );
}

#[tokio::test]
async fn check_reports_a_wrong_key_and_an_oversized_policy() {
    let x = spawn_x().await;
    let tmp = tempfile::tempdir().unwrap();
    let creds = tmp.path().join("wrong.json");
    std::fs::write(
        &creds,
        format!(
            "{{\"AccessKeyId\": \"{}\", \"AccessKeySecret\": \"wrong\"}}",
            x.dir.root.id
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let long = "p".repeat(1200);
    let path = x.y_config(
        tmp.path(),
        &format!("[[grant]]\nname = \"huge\"\nprovider = \"x\"\nbucket = \"app\"\nprefix = \"{long}/${{sub}}/\"\nactions = [\"read\", \"list\"]\n"),
    );
    let text = std::fs::read_to_string(&path).unwrap().replace(
        &format!("{:?}", x.dir.path.join("root-credentials.json")),
        &format!("{creds:?}"),
    );
    std::fs::write(&path, text).unwrap();
    let (lines, failures) = probe(&path).await;
    let huge = find(&lines, "grant huge");
    assert_eq!(huge.status, Status::Fail);
    assert!(
        huge.to_string()
            .contains("over STS's limit of 2048 bytes — fix: narrow grant huge"),
        "{huge}"
    );
    let id = find(&lines, "GetCallerIdentity");
    assert_eq!(id.status, Status::Fail, "{lines:#?}");
    assert!(id.text.contains("SignatureDoesNotMatch"), "{id}");
    assert_eq!(
        find(&lines, "AssumeRole").to_string(),
        "skip provider x: AssumeRole not tried: no grant of provider x has a usable policy (see above)"
    );
    assert!(failures >= 2);
}
