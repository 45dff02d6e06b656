//! The `stsgate` command line.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use stsgate::config::Config;
use stsgate::iam::{Iam, Role};
use stsgate::{creds, datadir, serve};
use tokio::net::TcpListener;

/// stsgate gives an app's users short-lived, least-privilege access to object storage.
///
/// It runs whole on a laptop: an embedded object store, spoken as Alibaba OSS (the oss face) and
/// as Tencent COS (the cos face), accepts the temporary credentials stsgate issues, so the
/// vendors' own SDKs work against it at once.
#[derive(Parser)]
#[command(name = "stsgate", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the oss, cos, sts, tc-sts and api faces) on a data directory, creating it
    /// on first start.
    ///
    /// The first start creates DIR (mode 0700) with a master key and a root access key, writes the
    /// key to DIR/root-credentials.json (mode 0600) and prints it once. Set
    /// STSGATE_ROOT_ACCESS_KEY_ID and STSGATE_ROOT_ACCESS_KEY_SECRET to choose the root key yourself.
    Serve {
        /// Data directory [default: ./stsgate-data, or `data` from the config]
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Configuration file (TOML; see config.example.toml)
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Address of the oss face [default: 127.0.0.1:8702]; port 0 picks a free port
        #[arg(long, value_name = "ADDR")]
        oss_addr: Option<SocketAddr>,
        /// Address of the cos face (Tencent COS over the same store) [default: 127.0.0.1:8703];
        /// port 0 picks a free port
        #[arg(long, value_name = "ADDR")]
        cos_addr: Option<SocketAddr>,
        /// Address of the sts face (Alibaba STS AssumeRole) [default: 127.0.0.1:8701]; port 0
        /// picks a free port
        #[arg(long, value_name = "ADDR")]
        sts_addr: Option<SocketAddr>,
        /// Address of the tc-sts face (Tencent STS GetFederationToken, AssumeRole)
        /// [default: 127.0.0.1:8704]; port 0 picks a free port
        #[arg(long, value_name = "ADDR")]
        tc_sts_addr: Option<SocketAddr>,
        /// Address of the api face (app users trade a bearer JWT for scoped credentials)
        /// [default: 127.0.0.1:8700]; port 0 picks a free port
        #[arg(long, value_name = "ADDR")]
        api_addr: Option<SocketAddr>,
        /// Serve every face over https ([tls] in the config; without cert_file/key_file a
        /// self-signed CA and certificate are made in DIR/tls/, and the CA file is printed)
        #[arg(long)]
        tls: bool,
    },
    /// Mint a development JWT for the api face, signed with DIR/jwt-hs256.key.
    ///
    /// Example: TOKEN=$(stsgate token --data ./stsgate-data --sub alice)
    ///          curl -H "Authorization: Bearer $TOKEN" 'http://127.0.0.1:8700/v1/credentials?grant=user-folder'
    Token {
        /// Data directory of the server that will accept the token
        #[arg(long, value_name = "DIR", default_value = "./stsgate-data")]
        data: PathBuf,
        /// The subject (`sub` claim): who the user is
        #[arg(long, value_name = "NAME")]
        sub: String,
        /// Extra claim (repeatable), e.g. --claim tenant=acme --claim aud=my-app
        #[arg(long, value_name = "K=V")]
        claim: Vec<String>,
        /// Lifetime, e.g. 900, 15m, 1h, 2d
        #[arg(long, value_name = "DURATION", default_value = "1h")]
        ttl: String,
    },
    /// Roles of the sts face: who may assume them, with what permission, for how long.
    ///
    /// A role is acs:ram::<AccountId>:role/<NAME>. AssumeRole with a trusted access key returns
    /// credentials whose permission is the role's policy intersected with the request's Policy.
    /// The first start creates role `app` (full OSS access, trusted: the root key, 1 hour).
    /// Changes apply to a running server at once.
    Role {
        #[command(subcommand)]
        command: RoleCommand,
    },
    /// Static API keys: callers of the api face that send `Authorization: Bearer sk_…`.
    Apikey {
        #[command(subcommand)]
        command: ApikeyCommand,
    },
    /// Temporary credentials.
    Creds {
        #[command(subcommand)]
        command: CredsCommand,
    },
    /// Buckets of a data directory's store (the server must be stopped: it holds DIR/lock).
    Bucket {
        #[command(subcommand)]
        command: BucketCommand,
    },
    /// Extra long-term access keys: callers of the sts face's AssumeRole once a role trusts
    /// them (stsgate role trust --key AK). Changes apply to a running server at once.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Validate a config file: prints one line per face, grant, API key and JWT setting (exit
    /// 0), or the problem naming the key (exit 1).
    ///
    /// Then probes each [provider.NAME], Alibaba or Tencent: GetCallerIdentity, a dry issuance
    /// (AssumeRole, or Tencent's GetFederationToken without a role_arn; session stsgate-check)
    /// with its narrowest grant, a HEAD on each grant's bucket signed with those credentials,
    /// and the bucket's CORS against browser_origins; one line each, `ok …` or `FAIL … — fix: …`
    /// (`warn`/`skip` lines do not fail). Exit 1 when any check fails.
    Check {
        /// Configuration file (TOML; see config.example.toml)
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Bucket CORS on a provider's OSS or COS (what browsers need to upload straight to the
    /// bucket), signed with the provider's long-term key (RAM user, CAM user).
    ///
    /// Example: stsgate cors set --config stsgate.toml --provider aliyun --bucket app
    ///          --origin https://app.example.com
    ///
    /// Example (Tencent): stsgate cors get --config stsgate.toml --provider tc --bucket
    /// app-1250000000
    Cors {
        #[command(subcommand)]
        command: CorsCommand,
    },
}

/// Which provider's bucket `stsgate cors` works on.
#[derive(clap::Args)]
struct CorsTarget {
    /// Configuration file with the [provider.NAME] table
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// The [provider.NAME] whose OSS/COS endpoint, region and key are used
    #[arg(long, value_name = "NAME")]
    provider: String,
    /// Bucket name (Tencent: <name>-<appid>)
    #[arg(long, value_name = "B")]
    bucket: String,
    /// OSS header signature: v1 (HMAC-SHA1, as seed 002's set_oss_cors) or v4 (OSS4-HMAC-SHA256
    /// with the provider's region); Tencent providers sign COS's one way and ignore it
    #[arg(long, value_name = "v1|v4", default_value = "v1", value_parser = ["v1", "v4"])]
    signature: String,
}

#[derive(Subcommand)]
enum CorsCommand {
    /// Print the bucket's CORS rules, one line per rule.
    Get {
        #[command(flatten)]
        target: CorsTarget,
    },
    /// Replace the bucket's CORS rules with one rule built from the flags.
    ///
    /// Defaults fit browser uploads (PUT, multipart, POST forms) and downloads: --method PUT,
    /// POST, GET, HEAD; --header * (SDKs send Authorization, Content-Type, x-oss-*/x-cos-*);
    /// --expose-header ETag (multipart uploads read it) and x-oss-request-id or x-cos-request-id
    /// (error reports); --max-age 600 (browsers cache the preflight for 10 minutes). Without
    /// --origin, the provider's browser_origins are used.
    Set {
        #[command(flatten)]
        target: CorsTarget,
        /// Allowed origin, e.g. https://app.example.com (repeatable; at most one '*' each)
        /// [default: the provider's browser_origins]
        #[arg(long, value_name = "O")]
        origin: Vec<String>,
        /// Allowed method: GET, PUT, DELETE, POST, HEAD (repeatable) [default: PUT POST GET HEAD]
        #[arg(long, value_name = "M")]
        method: Vec<String>,
        /// Allowed request header (repeatable; '*' allows any) [default: *]
        #[arg(long, value_name = "H")]
        header: Vec<String>,
        /// Response header the browser may read (repeatable; no '*') [default: ETag
        /// x-oss-request-id, or ETag x-cos-request-id for Tencent]
        #[arg(long, value_name = "H")]
        expose_header: Vec<String>,
        /// Seconds a browser may cache the preflight answer
        #[arg(long, value_name = "S", default_value_t = stsgate::cloud_admin::DEFAULT_MAX_AGE)]
        max_age: u64,
    },
    /// Delete every CORS rule of the bucket.
    Delete {
        #[command(flatten)]
        target: CorsTarget,
    },
}

#[derive(Subcommand)]
enum BucketCommand {
    /// Create a bucket.
    Create {
        /// Data directory
        #[arg(long, value_name = "DIR", default_value = "./stsgate-data")]
        data: PathBuf,
        /// Bucket name: 3-63 of [a-z0-9-]
        #[arg(long, value_name = "NAME")]
        name: String,
        /// private, public-read or public-read-write
        #[arg(long, value_name = "ACL", default_value = "private")]
        acl: String,
    },
    /// List buckets: NAME ACL CREATED, one a line.
    List {
        /// Data directory
        #[arg(long, value_name = "DIR", default_value = "./stsgate-data")]
        data: PathBuf,
    },
    /// Delete an empty bucket.
    Delete {
        /// Data directory
        #[arg(long, value_name = "DIR", default_value = "./stsgate-data")]
        data: PathBuf,
        /// Bucket name
        #[arg(long, value_name = "NAME")]
        name: String,
    },
    /// Apply every bucket's lifecycle rules now, or as of --at (a running server does it
    /// hourly): prints one line per object expired or moved and per upload aborted.
    Sweep {
        /// Data directory
        #[arg(long, value_name = "DIR", default_value = "./stsgate-data")]
        data: PathBuf,
        /// The time to apply the rules at (RFC 3339, e.g. 2030-01-01T00:00:00Z); default now
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Create an access key; prints its AccessKeyId and AccessKeySecret (the secret only now).
    Create {
        /// Data directory
        #[arg(long, value_name = "DIR", default_value = "./stsgate-data")]
        data: PathBuf,
        /// Key name: 1-64 of [A-Za-z0-9._@-]
        #[arg(long, value_name = "NAME")]
        name: String,
    },
    /// List access keys: ACCESS_KEY_ID NAME CREATED, one a line (never a secret).
    List {
        /// Data directory
        #[arg(long, value_name = "DIR", default_value = "./stsgate-data")]
        data: PathBuf,
    },
    /// Delete an access key (by name or AccessKeyId); credentials it obtained stay valid until
    /// they expire.
    Delete {
        /// Data directory
        #[arg(long, value_name = "DIR", default_value = "./stsgate-data")]
        data: PathBuf,
        /// Key name or AccessKeyId
        #[arg(long, value_name = "NAME")]
        name: String,
    },
    /// List the grant signing keys `/auth/custom` signs with on the embedded store (one current
    /// key per grant, made when the server starts; never a secret).
    Signing {
        /// Data directory
        #[arg(long, value_name = "DIR", default_value = "./stsgate-data")]
        data: PathBuf,
    },
    /// Give a grant a new signing key for `/auth/custom`; the old one keeps verifying what it
    /// signed for --grace seconds (0: it stops at once, e.g. after a leak). A running server
    /// follows within a second.
    Rotate {
        /// Data directory
        #[arg(long, value_name = "DIR", default_value = "./stsgate-data")]
        data: PathBuf,
        /// Grant name
        #[arg(long, value_name = "NAME")]
        grant: String,
        /// Seconds the old key still verifies (the longest a signature lives: 900 s of Date
        /// skew, or a presigned Expires within the grant's max_duration)
        #[arg(long, value_name = "SECONDS", default_value_t = 3600, value_parser = clap::value_parser!(i64).range(0..=43_200))]
        grace: i64,
    },
}

#[derive(Subcommand)]
enum ApikeyCommand {
    /// Print a fresh random API key (once) and the `[[api_key]]` config lines with its SHA-256.
    ///
    /// Only the hash goes in the config; give the key to the caller and keep no other copy.
    New {
        /// The caller's name (its subject, `${sub}` in grant prefixes): 1-64 of [A-Za-z0-9._@-]
        #[arg(long, value_name = "NAME")]
        name: String,
    },
}

#[derive(Subcommand)]
enum CredsCommand {
    /// Issue temporary credentials limited by a policy; prints Alibaba STS AssumeRole JSON, or
    /// with --vendor tencent qcloud-cos-sts's getCredential JSON (for the cos face).
    ///
    /// Example: stsgate creds issue --data ./stsgate-data --policy alice.json --duration 900
    ///          stsgate creds issue --vendor tencent --policy alice-cam.json
    Issue {
        /// Data directory of the server that will accept the credentials
        #[arg(long, value_name = "DIR", default_value = "./stsgate-data")]
        data: PathBuf,
        /// Whose credentials: aliyun (RAM policy, oss face) or tencent (CAM policy, cos face)
        #[arg(long, value_name = "VENDOR", default_value = "aliyun", value_parser = ["aliyun", "tencent"])]
        vendor: String,
        /// Policy JSON file that limits the credentials (RAM for aliyun, CAM for tencent)
        #[arg(long, value_name = "FILE")]
        policy: PathBuf,
        /// Lifetime in seconds (1 to 43200)
        #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
        duration: i64,
        /// RoleSessionName recorded in the credentials (2-64 of [A-Za-z0-9.@_-])
        #[arg(long, value_name = "NAME", default_value = "stsgate-cli")]
        session_name: String,
    },
}

#[derive(Subcommand)]
enum RoleCommand {
    /// Create a role.
    ///
    /// Example: stsgate role create --data ./stsgate-data --name uploader --policy uploader.json
    ///          --max-duration 7200 --trust LTAI...
    Create {
        /// Data directory of the server
        #[arg(long, value_name = "DIR", default_value = "./stsgate-data")]
        data: PathBuf,
        /// Role name: 1-64 of [A-Za-z0-9.-] (case-insensitive)
        #[arg(long, value_name = "NAME")]
        name: String,
        /// RAM policy JSON file: the most the role's sessions may do [default: full OSS access]
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// Longest session in seconds (3600 to 43200)
        #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
        max_duration: i64,
        /// Access key id allowed to assume the role (repeatable) [default: the root key]
        #[arg(long, value_name = "AK")]
        trust: Vec<String>,
    },
    /// Allow more access key ids to assume an existing role.
    Trust {
        /// Data directory of the server
        #[arg(long, value_name = "DIR", default_value = "./stsgate-data")]
        data: PathBuf,
        /// Role name
        #[arg(long, value_name = "NAME")]
        name: String,
        /// Access key id to trust (repeatable)
        #[arg(long, value_name = "AK", required = true)]
        key: Vec<String>,
    },
    /// List roles as JSON lines: Arn, Name, MaxSessionDuration, Trusted, Policy.
    List {
        /// Data directory of the server
        #[arg(long, value_name = "DIR", default_value = "./stsgate-data")]
        data: PathBuf,
    },
    /// Delete a role (credentials already issued stay valid until they expire).
    Delete {
        /// Data directory of the server
        #[arg(long, value_name = "DIR", default_value = "./stsgate-data")]
        data: PathBuf,
        /// Role name
        #[arg(long, value_name = "NAME")]
        name: String,
    },
}

/// The blocking pool's size: store calls (fsyncs above all) wait there. More threads than
/// this do not make a disk faster (the group commit and the kernel's journal batch the flushes
/// of the ones there are), but each costs a stack and an allocator heap: 256 concurrent small
/// uploads grew the process to 272 threads and 244 MiB before this bound.
const BLOCKING_THREADS: usize = 64;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STSGATE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve {
            data,
            config,
            oss_addr,
            cos_addr,
            sts_addr,
            tc_sts_addr,
            api_addr,
            tls,
        } => {
            let quick_start = config.is_none();
            let config_path = config.clone();
            let mut config = match config {
                Some(path) => Config::load(&path)?,
                None => Config::default(),
            };
            if tls {
                config.tls.enabled = Some(true);
            }
            let data = data
                .or(config.data.clone())
                .unwrap_or_else(|| PathBuf::from("./stsgate-data"));
            let addr = oss_addr
                .or(config.oss.addr)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8702)));
            let cos_addr = cos_addr
                .or(config.cos.addr)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8703)));
            let sts_addr = sts_addr
                .or(config.sts.addr)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8701)));
            let tc_sts_addr = tc_sts_addr
                .or(config.tc_sts.addr)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8704)));
            let api_addr = api_addr
                .or(config.api.addr)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8700)));
            let region = config
                .region
                .clone()
                .unwrap_or_else(|| serve::DEFAULT_REGION.to_string());
            let cos_region = config
                .cos
                .region
                .clone()
                .unwrap_or_else(|| stsgate::tencent::cos::DEFAULT_REGION.to_string());
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .max_blocking_threads(BLOCKING_THREADS)
                .build()?
                .block_on(run_serve(Faces {
                    data,
                    region,
                    cos_region,
                    oss: (config.oss.enabled != Some(false)).then_some(addr),
                    cos: (config.cos.enabled != Some(false)).then_some(cos_addr),
                    sts: (config.sts.enabled != Some(false)).then_some(sts_addr),
                    tc_sts: (config.tc_sts.enabled != Some(false)).then_some(tc_sts_addr),
                    api: (config.api.enabled != Some(false)).then_some(api_addr),
                    quick_start,
                    config,
                    config_path,
                }))
        }
        Command::Creds {
            command:
                CredsCommand::Issue {
                    data,
                    vendor,
                    policy,
                    duration,
                    session_name,
                },
        } => {
            if !data.join("master.key").exists() {
                anyhow::bail!("{} is not an stsgate data directory: start `stsgate serve --data {}` once first", data.display(), data.display());
            }
            let opened = datadir::open(&data, &datadir::EnvKeys::from_env()?)?;
            let text = std::fs::read_to_string(&policy)
                .with_context(|| format!("reading policy {}", policy.display()))?;
            let vendor = stsgate::common::provider::Vendor::parse(&vendor)
                .context("--vendor: use aliyun or tencent")?;
            let (_, answer) = creds::issue_for(
                vendor,
                &opened.dir,
                &text,
                duration,
                &session_name,
                time::OffsetDateTime::now_utc(),
            )?;
            println!("{}", serde_json::to_string_pretty(&answer)?);
            Ok(())
        }
        Command::Role { command } => role(command),
        Command::Bucket { command } => {
            use stsgate::admin;
            match command {
                BucketCommand::Sweep { data, at } => {
                    for line in admin::bucket_sweep(&data, at.as_deref())? {
                        println!("{line}");
                    }
                }
                BucketCommand::Create { data, name, acl } => {
                    println!("{}", admin::bucket_create(&data, &name, &acl)?)
                }
                BucketCommand::List { data } => {
                    for line in admin::bucket_list(&data)? {
                        println!("{line}");
                    }
                }
                BucketCommand::Delete { data, name } => {
                    println!("{}", admin::bucket_delete(&data, &name)?)
                }
            }
            Ok(())
        }
        Command::Key { command } => {
            use stsgate::admin;
            match command {
                KeyCommand::Create { data, name } => {
                    let (id, secret) = admin::key_create(&data, &name)?;
                    println!(
                        "{}",
                        serde_json::json!({"AccessKeyId": id, "AccessKeySecret": secret, "Name": name})
                    );
                    eprintln!("the secret is shown once; let a role trust the key: stsgate role trust --data {} --name app --key {id}", data.display());
                }
                KeyCommand::List { data } => {
                    for line in admin::key_list(&data)? {
                        println!("{line}");
                    }
                }
                KeyCommand::Delete { data, name } => {
                    println!("{}", admin::key_delete(&data, &name)?)
                }
                KeyCommand::Signing { data } => {
                    for line in admin::signing_key_list(&data)? {
                        println!("{line}");
                    }
                }
                KeyCommand::Rotate { data, grant, grace } => {
                    println!("{}", admin::signing_key_rotate(&data, &grant, grace)?)
                }
            }
            Ok(())
        }
        Command::Check { config } => {
            for line in stsgate::admin::check(&config)? {
                println!("{line}");
            }
            let loaded = Config::load(&config)?;
            let failures = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(stsgate::cloud_admin::probe(&loaded, &config, &mut |c| {
                    println!("{c}")
                }));
            if failures > 0 {
                anyhow::bail!("{}: {failures} check(s) failed", config.display());
            }
            println!("{}: ok", config.display());
            Ok(())
        }
        Command::Cors { command } => {
            use stsgate::cloud_admin::{CorsAction, RuleArgs};
            let (target, action) = match command {
                CorsCommand::Get { target } => (target, CorsAction::Get),
                CorsCommand::Delete { target } => (target, CorsAction::Delete),
                CorsCommand::Set {
                    target,
                    origin,
                    method,
                    header,
                    expose_header,
                    max_age,
                } => (
                    target,
                    CorsAction::Set(RuleArgs {
                        origins: origin,
                        methods: method,
                        headers: header,
                        expose_headers: expose_header,
                        max_age: Some(max_age),
                    }),
                ),
            };
            let version = stsgate::aliyun::client::SignatureVersion::parse(&target.signature)
                .context("--signature: use v1 or v4")?;
            let lines = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(stsgate::cloud_admin::cors(
                    &target.config,
                    &target.provider,
                    &target.bucket,
                    action,
                    version,
                ))?;
            for line in lines {
                println!("{line}");
            }
            Ok(())
        }
        Command::Apikey {
            command: ApikeyCommand::New { name },
        } => {
            let snippet = format!(
                "[[api_key]]\nname = {name:?}\nsha256 = \"{}\"\n",
                "0".repeat(64)
            );
            Config::parse(&snippet).context("--name")?;
            let (key, hash) = stsgate::api::callers::new_api_key();
            println!("API key (shown once; give it to the caller): {key}");
            println!("add to the config file:\n");
            println!("[[api_key]]\nname = {name:?}\nsha256 = \"{hash}\"");
            Ok(())
        }
        Command::Token {
            data,
            sub,
            claim,
            ttl,
        } => {
            if !data.join("master.key").exists() {
                anyhow::bail!("{} is not an stsgate data directory: start `stsgate serve --data {}` once first", data.display(), data.display());
            }
            let ttl = stsgate::api::callers::parse_duration(&ttl)
                .map_err(|e| anyhow::anyhow!("--ttl: {e}"))?;
            let mut extra = Vec::new();
            for c in claim {
                let Some((k, v)) = c.split_once('=') else {
                    anyhow::bail!("--claim {c:?}: write it as KEY=VALUE");
                };
                if ["sub", "exp", "iat"].contains(&k) {
                    anyhow::bail!("--claim {k}: set by stsgate token itself (use --sub / --ttl)");
                }
                extra.push((k.to_string(), v.to_string()));
            }
            let key = datadir::jwt_hs256_key(&data)?;
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let claims = stsgate::api::callers::dev_claims(&sub, &extra, now, ttl);
            println!("{}", stsgate::api::callers::mint_hs256(&key, &claims)?);
            Ok(())
        }
    }
}

/// Opens the roles database of an existing data directory.
fn open_iam(data: &std::path::Path) -> anyhow::Result<(datadir::DataDir, Iam)> {
    if !data.join("master.key").exists() {
        anyhow::bail!(
            "{} is not an stsgate data directory: start `stsgate serve --data {}` once first",
            data.display(),
            data.display()
        );
    }
    let dir = datadir::open(data, &datadir::EnvKeys::from_env()?)?.dir;
    let iam = Iam::open(&dir.path, &dir.root.id)?;
    Ok((dir, iam))
}

fn role(command: RoleCommand) -> anyhow::Result<()> {
    match command {
        RoleCommand::Create {
            data,
            name,
            policy,
            max_duration,
            trust,
        } => {
            let (dir, iam) = open_iam(&data)?;
            let policy = match policy {
                Some(path) => std::fs::read_to_string(&path)
                    .with_context(|| format!("reading policy {}", path.display()))?,
                None => stsgate::iam::DEFAULT_ROLE_POLICY.to_string(),
            };
            let trusted = match trust.is_empty() {
                true => vec![dir.root.id.clone()],
                false => trust,
            };
            let role = Role {
                name,
                policy,
                trusted,
                max_session: max_duration,
            };
            iam.create(&role)?;
            println!("created role {}", role.arn(&dir.account_id));
        }
        RoleCommand::Trust { data, name, key } => {
            let (_, iam) = open_iam(&data)?;
            if !iam.trust(&name, &key)? {
                anyhow::bail!(
                    "no role named {name:?} (see: stsgate role list --data {})",
                    data.display()
                );
            }
        }
        RoleCommand::List { data } => {
            let (dir, iam) = open_iam(&data)?;
            for role in iam.list()? {
                let line = serde_json::json!({
                    "Arn": role.arn(&dir.account_id),
                    "Name": role.name,
                    "MaxSessionDuration": role.max_session,
                    "Trusted": role.trusted,
                    "Policy": role.policy,
                });
                println!("{line}");
            }
        }
        RoleCommand::Delete { data, name } => {
            let (_, iam) = open_iam(&data)?;
            if !iam.delete(&name)? {
                anyhow::bail!(
                    "no role named {name:?} (see: stsgate role list --data {})",
                    data.display()
                );
            }
        }
    }
    Ok(())
}

/// What `serve` runs: each face's address, or `None` when the config turns it off.
struct Faces {
    data: PathBuf,
    region: String,
    cos_region: String,
    oss: Option<SocketAddr>,
    cos: Option<SocketAddr>,
    sts: Option<SocketAddr>,
    tc_sts: Option<SocketAddr>,
    api: Option<SocketAddr>,
    /// No config file was given: print a quick start.
    quick_start: bool,
    config: Config,
    config_path: Option<PathBuf>,
}

/// At a data directory's first start, creates bucket `app` if a grant names it (the default
/// grant `user-folder` does), so the quick start's bucket exists before anyone asks for it.
fn create_app_bucket(store: &stsgate_store::Store, config: &Config) -> anyhow::Result<()> {
    // A provider grant's bucket lives in the cloud, not in this store.
    let local = |g: &&stsgate::common::scope::Grant| g.provider == stsgate::common::provider::LOCAL;
    if !config
        .grants
        .iter()
        .filter(local)
        .any(|g| g.bucket == APP_BUCKET)
    {
        return Ok(());
    }
    match store.create_bucket(
        APP_BUCKET,
        stsgate_store::Acl::Private,
        "Standard",
        time::OffsetDateTime::now_utc(),
    ) {
        Ok(_) | Err(stsgate_store::StoreError::BucketAlreadyExists) => Ok(()),
        Err(e) => Err(anyhow::anyhow!("creating bucket {APP_BUCKET}: {e}")),
    }
}

/// The bucket of the default grant.
const APP_BUCKET: &str = "app";

/// The origins the console is served from: the api face's address and, on loopback,
/// `localhost` with its port.
fn console_origins(scheme: &str, api: SocketAddr) -> Vec<String> {
    let mut origins = vec![format!("{scheme}://{api}")];
    if api.ip().is_loopback() {
        origins.push(format!("{scheme}://localhost:{}", api.port()));
    }
    origins
}

async fn run_serve(faces: Faces) -> anyhow::Result<()> {
    // One server per data directory: a second one would sweep the first one's uploads.
    let _lock = datadir::lock(&faces.data)?;
    let env = datadir::EnvKeys::from_env()?;
    let opened = datadir::open(&faces.data, &env)?;
    let mut dir = opened.dir;
    let upgraded = datadir::ensure_operator_key(&mut dir)?;
    let tencent_added = datadir::ensure_tencent_account(&mut dir, &env)?;
    let mut out = std::io::stdout().lock();
    if opened.created {
        writeln!(
            out,
            "created data directory {} (account {})",
            dir.path.display(),
            dir.account_id
        )?;
        writeln!(
            out,
            "root access key (shown once; also in {}):",
            dir.path.join("root-credentials.json").display()
        )?;
        writeln!(out, "  AccessKeyId:     {}", dir.root.id)?;
        writeln!(out, "  AccessKeySecret: {}", dir.root.secret.expose())?;
    }
    if let (true, Some(tc)) = (opened.created || tencent_added, &dir.tencent) {
        writeln!(
            out,
            "tencent root key (AppId {}, Uin {}; shown once; also in {}):",
            tc.app_id,
            tc.uin,
            dir.path.join("root-credentials.json").display()
        )?;
        writeln!(out, "  SecretId:  {}", tc.root.id)?;
        writeln!(out, "  SecretKey: {}", tc.root.secret.expose())?;
    }
    if opened.created || upgraded {
        writeln!(
            out,
            "operator key (reads GET /v1/audit; also in {} as OperatorKey): {}",
            dir.path.join("root-credentials.json").display(),
            dir.operator_key.as_ref().map_or("", |k| k.expose())
        )?;
    }
    if faces.oss.is_none()
        && faces.cos.is_none()
        && faces.sts.is_none()
        && faces.tc_sts.is_none()
        && faces.api.is_none()
    {
        anyhow::bail!("every face is turned off in the config: nothing to serve");
    }
    let tls = stsgate::tls::load(&dir.path, &faces.config.tls)?;
    stsgate::common::http::set_timeouts(faces.config.timeouts.resolve()?);
    let scheme = match &tls {
        Some(_) => "https",
        None => "http",
    };
    if let Some(ca) = tls.as_ref().and_then(|t| t.ca_file.as_ref()) {
        writeln!(
            out,
            "tls: self-signed; trust its CA {} (e.g. NODE_EXTRA_CA_CERTS={} or REQUESTS_CA_BUNDLE={})",
            ca.display(),
            ca.display(),
            ca.display()
        )?;
    }
    let shutdown = tokio_util::sync::CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();
    // Bind every face before touching the store, so a busy port fails before any start-up work.
    let oss_listener = match faces.oss {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding the oss face to {addr}"))?,
        ),
        None => None,
    };
    let cos_listener = match faces.cos {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding the cos face to {addr}"))?,
        ),
        None => None,
    };
    let sts_listener = match faces.sts {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding the sts face to {addr}"))?,
        ),
        None => None,
    };
    let tc_sts_listener = match faces.tc_sts {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding the tc-sts face to {addr}"))?,
        ),
        None => None,
    };
    let api_listener = match faces.api {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding the api face to {addr}"))?,
        ),
        None => None,
    };
    let mut store = None;
    let mut oss_endpoint = None;
    let mut cos_endpoint = None;
    if let Some(listener) = oss_listener {
        let state = serve::oss_state(&dir, &faces.region)?;
        if opened.created {
            create_app_bucket(&state.store, &faces.config)?;
        }
        store = Some(state.store.clone());
        let local = listener.local_addr()?;
        oss_endpoint = Some(format!("{scheme}://{local}"));
        writeln!(out, "oss listening on {scheme}://{local}")?;
        writeln!(
            out,
            "next: point an OSS SDK at it, e.g. python: oss2.Bucket(oss2.Auth(AK, SECRET), '{scheme}://{local}', 'my-bucket').create_bucket()\n      or issue scoped credentials: stsgate creds issue --data {} --policy policy.json",
            dir.path.display()
        )?;
        out.flush()?;
        let stop = shutdown.clone().cancelled_owned();
        let (app, tls) = (stsgate::aliyun::oss::router(state), tls.clone());
        tasks.spawn(async move { serve::serve_app(listener, app, tls, stop).await });
    }
    if let Some(listener) = cos_listener {
        // The same store as the oss face (serve::store opens it once per process).
        let state = serve::cos_state(&dir, &faces.cos_region)?;
        if store.is_none() {
            store = Some(state.store.clone());
        }
        let local = listener.local_addr()?;
        cos_endpoint = Some(format!("{scheme}://{local}"));
        writeln!(out, "cos listening on {scheme}://{local}")?;
        writeln!(
            out,
            "      point a COS SDK at it with AppId {} (buckets are <name>-{}), e.g. python: CosS3Client(CosConfig(Region='{}', SecretId=ID, SecretKey=KEY, Scheme='{scheme}', IP='{}', Port={}, ServiceDomain='{local}'))",
            state.app_id,
            state.app_id,
            state.region,
            local.ip(),
            local.port(),
        )?;
        out.flush()?;
        let stop = shutdown.clone().cancelled_owned();
        let (app, tls) = (stsgate::tencent::cos::router(state), tls.clone());
        tasks.spawn(async move { serve::serve_app(listener, app, tls, stop).await });
    }
    if let Some(listener) = sts_listener {
        let state = serve::sts_state(&dir)?;
        let local = listener.local_addr()?;
        writeln!(out, "sts listening on {scheme}://{local}")?;
        writeln!(
            out,
            "      AssumeRole there with the root key and RoleArn acs:ram::{}:role/app (see: stsgate role --help)",
            dir.account_id
        )?;
        out.flush()?;
        let stop = shutdown.clone().cancelled_owned();
        let (app, tls) = (stsgate::aliyun::sts::router(state), tls.clone());
        tasks.spawn(async move { serve::serve_app(listener, app, tls, stop).await });
    }
    if let Some(listener) = tc_sts_listener {
        let state = serve::tc_sts_state(&dir)?;
        let local = listener.local_addr()?;
        writeln!(out, "tc-sts listening on {scheme}://{local}")?;
        writeln!(
            out,
            "      GetFederationToken/AssumeRole there with the Tencent SecretId (TencentSecretId in {}) and RoleArn qcs::cam::uin/{}:roleName/app, e.g. python: HttpProfile(protocol='http', endpoint='{local}')",
            dir.path.join("root-credentials.json").display(),
            state.uin
        )?;
        out.flush()?;
        let stop = shutdown.clone().cancelled_owned();
        let (app, tls) = (stsgate::tencent::sts::router(state), tls.clone());
        tasks.spawn(async move { serve::serve_app(listener, app, tls, stop).await });
    }
    if let Some(listener) = api_listener {
        let addr = listener.local_addr()?;
        let local = serve::Local {
            store,
            oss_endpoint: oss_endpoint.clone(),
            cos_endpoint: cos_endpoint.clone(),
            cos_region: Some(faces.cos_region.clone()),
            // Anyone who reaches the api face could sign in as anyone: loopback only.
            dev_sign_in: faces.quick_start && addr.ip().is_loopback(),
            console_origins: match faces.quick_start {
                true => console_origins(scheme, addr),
                false => faces.config.api.console_origin.iter().cloned().collect(),
            },
            config_path: faces.config_path.clone(),
        };
        let state = serve::api_state(&dir, &faces.config, local)?;
        stsgate::api::console::allow_console_in_grant_buckets(&state)?;
        let local = addr;
        writeln!(out, "api listening on {scheme}://{local}")?;
        writeln!(
            out,
            "console at {scheme}://{local}/ ({})",
            match state.dev_sign_in.is_some() {
                true => "sign in as any name, or paste a token or the operator key",
                false => "paste a token or the operator key",
            }
        )?;
        if faces.quick_start {
            let grant = &state.grants[0];
            write_quick_start(&mut out, &dir, &format!("{scheme}://{local}"), grant)?;
        }
        out.flush()?;
        let stop = shutdown.clone().cancelled_owned();
        let tls = tls.clone();
        tasks.spawn(async move { serve::run_api_tls(listener, state, tls, stop).await });
    }
    drop(out);
    let signal = shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        signal.cancel();
    });
    while let Some(done) = tasks.join_next().await {
        // One face failing stops the others too.
        shutdown.cancel();
        done??;
    }
    Ok(())
}

/// The quick start printed when `serve` runs without a config file.
fn write_quick_start(
    out: &mut impl Write,
    dir: &datadir::DataDir,
    api: &str,
    grant: &stsgate::api::grants::Grant,
) -> std::io::Result<()> {
    let data = dir.path.display();
    writeln!(
        out,
        "quick start (grant {:?}: bucket {}, prefix {}, {}):
  TOKEN=$(stsgate token --data {data} --sub alice)
  curl -s -H \"Authorization: Bearer $TOKEN\" '{api}/v1/credentials?grant={}'
  # then upload with the returned AccessKeyId/AccessKeySecret/SecurityToken, e.g. python:
  #   c = requests.get('{api}/v1/credentials?grant={}', headers={{'Authorization': 'Bearer ' + TOKEN}}).json()
  #   b = oss2.Bucket(oss2.StsAuth(c['AccessKeyId'], c['AccessKeySecret'], c['SecurityToken']), c['Endpoint'], c['Bucket'])
  #   b.put_object(c['Prefix'] + 'hello.txt', b'hello')",
        grant.name,
        grant.bucket,
        grant.template,
        grant.action_names().join("+"),
        grant.name,
        grant.name,
    )
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
