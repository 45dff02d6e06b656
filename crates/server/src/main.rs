//! The `stsgate` command line.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use stsgate::config::Config;
use stsgate::{creds, datadir, serve};
use tokio::net::TcpListener;

/// stsgate gives an app's users short-lived, least-privilege access to object storage.
///
/// It runs whole on a laptop: an embedded OSS-compatible object store (the oss face) accepts the
/// temporary credentials stsgate issues, so the vendors' own SDKs work against it at once.
#[derive(Parser)]
#[command(name = "stsgate", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the oss face) on a data directory, creating it on first start.
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
    },
    /// Temporary credentials.
    Creds {
        #[command(subcommand)]
        command: CredsCommand,
    },
}

#[derive(Subcommand)]
enum CredsCommand {
    /// Issue temporary credentials limited by a RAM policy; prints Alibaba STS AssumeRole JSON.
    ///
    /// Example: stsgate creds issue --data ./stsgate-data --policy alice.json --duration 900
    Issue {
        /// Data directory of the server that will accept the credentials
        #[arg(long, value_name = "DIR", default_value = "./stsgate-data")]
        data: PathBuf,
        /// RAM policy JSON file that limits the credentials
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
        } => {
            let config = match config {
                Some(path) => Config::load(&path)?,
                None => Config::default(),
            };
            let data = data
                .or(config.data.clone())
                .unwrap_or_else(|| PathBuf::from("./stsgate-data"));
            let addr = oss_addr
                .or(config.oss.addr)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8702)));
            let region = config
                .region
                .clone()
                .unwrap_or_else(|| serve::DEFAULT_REGION.to_string());
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(run_serve(
                    data,
                    addr,
                    region,
                    config.oss.enabled != Some(false),
                ))
        }
        Command::Creds {
            command:
                CredsCommand::Issue {
                    data,
                    policy,
                    duration,
                    session_name,
                },
        } => {
            if !data.join("master.key").exists() {
                anyhow::bail!("{} is not an stsgate data directory: start `stsgate serve --data {}` once first", data.display(), data.display());
            }
            let opened = datadir::open(&data, datadir::env_root_key()?)?;
            let text = std::fs::read_to_string(&policy)
                .with_context(|| format!("reading policy {}", policy.display()))?;
            let (_, answer) = creds::issue(
                &opened.dir,
                &text,
                duration,
                &session_name,
                time::OffsetDateTime::now_utc(),
            )?;
            println!("{}", serde_json::to_string_pretty(&answer)?);
            Ok(())
        }
    }
}

async fn run_serve(
    data: PathBuf,
    addr: SocketAddr,
    region: String,
    oss_enabled: bool,
) -> anyhow::Result<()> {
    let opened = datadir::open(&data, datadir::env_root_key()?)?;
    let dir = opened.dir;
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
    if !oss_enabled {
        anyhow::bail!("every face is turned off in the config: nothing to serve");
    }
    let state = serve::oss_state(&dir, &region)?;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the oss face to {addr}"))?;
    let local = listener.local_addr()?;
    writeln!(out, "oss listening on http://{local}")?;
    writeln!(
        out,
        "next: point an OSS SDK at it, e.g. python: oss2.Bucket(oss2.Auth(AK, SECRET), 'http://{local}', 'my-bucket').create_bucket()\n      or issue scoped credentials: stsgate creds issue --data {} --policy policy.json",
        dir.path.display()
    )?;
    out.flush()?;
    drop(out);
    serve::run_oss(listener, state, shutdown_signal()).await?;
    Ok(())
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
