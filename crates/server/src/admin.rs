//! The administrative subcommands that work on a data directory or a config file without a
//! running server: `stsgate bucket …`, `stsgate key …`, `stsgate check`.

use crate::config::Config;
use crate::datadir;
use crate::keys::AccessKeys;
use anyhow::{bail, Context as _};
use std::path::Path;
use stsgate_store::{Acl, Store, StoreError};

/// Refuses a directory that is not an stsgate data directory.
fn require_data_dir(data: &Path) -> anyhow::Result<()> {
    if !data.join("master.key").exists() {
        bail!(
            "{} is not an stsgate data directory: start `stsgate serve --data {}` once first",
            data.display(),
            data.display()
        );
    }
    Ok(())
}

/// Opens the store of `data` under the data directory's lock, which a running server holds: the
/// store is then refused (one writer per store).
fn with_store<T>(data: &Path, f: impl FnOnce(&Store) -> anyhow::Result<T>) -> anyhow::Result<T> {
    require_data_dir(data)?;
    let _lock = datadir::lock(data).map_err(|_| {
        anyhow::anyhow!(
            "{} is in use by a running stsgate server; stop the server or use an OSS SDK against the oss face (e.g. oss2.Bucket(auth, endpoint, name).create_bucket())",
            data.display()
        )
    })?;
    let store = Store::open(&data.join("store"))
        .with_context(|| format!("opening the store of {}", data.display()))?;
    f(&store)
}

/// `stsgate bucket create`.
pub fn bucket_create(data: &Path, name: &str, acl: &str) -> anyhow::Result<String> {
    if !stsgate_store::valid_bucket_name(name) {
        bail!("--name {name:?} is not a valid bucket name (3-63 of [a-z0-9-], starting and ending with a letter or digit)");
    }
    let acl = match Acl::parse(acl) {
        Some(a @ (Acl::Private | Acl::PublicRead | Acl::PublicReadWrite)) => a,
        _ => bail!("--acl {acl:?}: use private, public-read or public-read-write"),
    };
    with_store(data, |store| {
        match store.create_bucket(name, acl, "Standard", time::OffsetDateTime::now_utc()) {
            Ok(_) => Ok(format!("created bucket {name} ({})", acl.as_str())),
            Err(StoreError::BucketAlreadyExists) => bail!("bucket {name} exists already"),
            Err(e) => Err(anyhow::anyhow!("creating bucket {name}: {e}")),
        }
    })
}

/// `stsgate bucket sweep`: applies the lifecycle rules at `at` (RFC 3339; now when `None`).
pub fn bucket_sweep(data: &Path, at: Option<&str>) -> anyhow::Result<Vec<String>> {
    let now = match at {
        None => time::OffsetDateTime::now_utc(),
        Some(t) => time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .map_err(|e| {
            anyhow::anyhow!("--at {t:?} is not an RFC 3339 time such as 2030-01-01T00:00:00Z: {e}")
        })?,
    };
    with_store(data, |store| {
        let report = store
            .sweep_lifecycle(now)
            .context("applying lifecycle rules")?;
        let mut out = Vec::new();
        for (bucket, key) in &report.expired {
            out.push(format!("expired {bucket}/{key}"));
        }
        for (bucket, key, class) in &report.transitioned {
            out.push(format!("transitioned {bucket}/{key} to {class}"));
        }
        for (bucket, key, id) in &report.aborted {
            out.push(format!("aborted upload {id} of {bucket}/{key}"));
        }
        out.push(format!(
            "swept: {} expired, {} transitioned, {} uploads aborted",
            report.expired.len(),
            report.transitioned.len(),
            report.aborted.len()
        ));
        Ok(out)
    })
}

/// `stsgate bucket list`: one line per bucket, `NAME ACL CREATED`.
pub fn bucket_list(data: &Path) -> anyhow::Result<Vec<String>> {
    with_store(data, |store| {
        let mut out = Vec::new();
        let mut marker = String::new();
        loop {
            let (page, truncated) = store.list_buckets("", &marker, 1000)?;
            for b in &page {
                let created = b
                    .created
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                out.push(format!("{} {} {created}", b.name, b.acl.as_str()));
            }
            match (truncated, page.last()) {
                (true, Some(last)) => marker = last.name.clone(),
                _ => return Ok(out),
            }
        }
    })
}

/// `stsgate bucket delete` (an empty bucket only).
pub fn bucket_delete(data: &Path, name: &str) -> anyhow::Result<String> {
    with_store(data, |store| match store.delete_bucket(name) {
        Ok(()) => Ok(format!("deleted bucket {name}")),
        Err(StoreError::NoSuchBucket) => bail!("no bucket named {name:?}"),
        Err(StoreError::BucketNotEmpty) => {
            bail!("bucket {name} is not empty: delete its objects and multipart uploads first")
        }
        Err(e) => Err(anyhow::anyhow!("deleting bucket {name}: {e}")),
    })
}

fn access_keys(data: &Path) -> anyhow::Result<AccessKeys> {
    require_data_dir(data)?;
    let opened = datadir::open(data, &datadir::EnvKeys::from_env()?)?;
    crate::iam::Iam::open(&opened.dir.path, &opened.dir.root.id)?;
    AccessKeys::open(&opened.dir.path, &opened.dir.master_key)
}

/// `stsgate key create`: the new key's id and secret (shown once).
pub fn key_create(data: &Path, name: &str) -> anyhow::Result<(String, String)> {
    let keys = access_keys(data)?;
    let (id, secret) = keys.create(name, time::OffsetDateTime::now_utc().unix_timestamp())?;
    Ok((id, secret.to_string()))
}

/// `stsgate key list`: one line per key, `ACCESS_KEY_ID NAME CREATED` (never the secret).
pub fn key_list(data: &Path) -> anyhow::Result<Vec<String>> {
    Ok(access_keys(data)?
        .list()?
        .into_iter()
        .map(|k| format!("{} {} {}", k.id, k.name, rfc3339(k.created)))
        .collect())
}

fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// `stsgate key signing`: one line per grant signing key, `ACCESS_KEY_ID grant=NAME CREATED
/// current|verifies-until=TIME` (never the secret).
pub fn signing_key_list(data: &Path) -> anyhow::Result<Vec<String>> {
    require_data_dir(data)?;
    let opened = datadir::open(data, &datadir::EnvKeys::from_env()?)?;
    let keys = crate::signing_keys::SigningKeys::open(&opened.dir.path, &opened.dir.master_key)?;
    Ok(keys
        .list()?
        .into_iter()
        .map(|k| {
            let state = match k.retired {
                None => "current".to_string(),
                Some(until) => format!("verifies-until={}", rfc3339(until)),
            };
            format!("{} grant={} {} {state}", k.id, k.grant, rfc3339(k.created))
        })
        .collect())
}

/// `stsgate key rotate --grant NAME [--grace SECONDS]`: a new current signing key for the grant;
/// the old one verifies for `grace` more seconds (a running server follows within a second).
pub fn signing_key_rotate(data: &Path, grant: &str, grace: i64) -> anyhow::Result<String> {
    require_data_dir(data)?;
    let opened = datadir::open(data, &datadir::EnvKeys::from_env()?)?;
    let keys = crate::signing_keys::SigningKeys::open(&opened.dir.path, &opened.dir.master_key)?;
    let (new, old) = crate::signing_keys::rotate_now(&keys, grant, grace)?;
    Ok(match grace {
        0 => format!("grant {grant}: /auth/custom now signs with {new}; {old} no longer verifies"),
        _ => format!(
            "grant {grant}: /auth/custom now signs with {new}; {old} verifies what it signed for {grace} s more"
        ),
    })
}

/// `stsgate key delete --name NAME|AK`.
pub fn key_delete(data: &Path, name: &str) -> anyhow::Result<String> {
    match access_keys(data)?.delete(name)? {
        Some(id) => Ok(format!(
            "deleted access key {id} (roles that trust it keep its id in their list; it no longer signs anything)"
        )),
        None => bail!("no access key named {name:?}"),
    }
}

/// `stsgate check --config FILE`: parses and validates the config, and reads the secrets it
/// names; returns one summary line per face, grant, API key and JWT setting.
pub fn check(path: &Path) -> anyhow::Result<Vec<String>> {
    let config = Config::load(path)?;
    config
        .api
        .jwt
        .hs256_secret()
        .with_context(|| format!("in config {}: api.jwt", path.display()))?;
    let mut out = Vec::new();
    let face =
        |name: &str, enabled: Option<bool>, addr: Option<std::net::SocketAddr>, default: &str| {
            match enabled {
                Some(false) => format!("face {name}: off"),
                _ => format!(
                    "face {name}: {}",
                    addr.map_or_else(|| format!("{default} (default)"), |a| a.to_string())
                ),
            }
        };
    out.push(face(
        "oss",
        config.oss.enabled,
        config.oss.addr,
        "127.0.0.1:8702",
    ));
    out.push(face(
        "sts",
        config.sts.enabled,
        config.sts.addr,
        "127.0.0.1:8701",
    ));
    out.push(face(
        "tc-sts",
        config.tc_sts.enabled,
        config.tc_sts.addr,
        "127.0.0.1:8704",
    ));
    out.push(face(
        "api",
        config.api.enabled,
        config.api.addr,
        "127.0.0.1:8700",
    ));
    let default = match config.grant.is_empty() {
        true => " (default)",
        false => "",
    };
    for grant in &config.grants {
        let mut line = format!(
            "grant {}{default}: bucket {}, prefix {}, actions {}, duration {}s (max {}s)",
            grant.name,
            grant.bucket,
            grant.template,
            grant.action_names().join(","),
            grant.default_duration,
            grant.max_duration
        );
        for (claim, values) in &grant.required_claims {
            line.push_str(&format!(", requires {claim} in {values:?}"));
        }
        if !grant.source_ips.is_empty() {
            let ips: Vec<String> = grant.source_ips.iter().map(|c| c.to_string()).collect();
            line.push_str(&format!(", source IPs {}", ips.join(",")));
        }
        line.push_str(&format!(", provider {}", grant.provider));
        if grant.vendor != crate::common::provider::Vendor::Aliyun {
            line.push_str(&format!(", vendor {}", grant.vendor.name()));
        }
        out.push(line);
    }
    if config.api.enabled != Some(false) {
        out.push(match &config.api.console_origin {
            Some(origin) => format!(
                "console: {origin} (api.console_origin): the embedded grant buckets get its CORS rule at start; cloud buckets are checked below with the browser_origins"
            ),
            None => "warn console: api.console_origin is not set, so no bucket's CORS is checked or set for the console's uploads — fix: set [api] console_origin to the origin browsers load the console from (e.g. \"https://stsgate.example.com\")".into(),
        });
    }
    for k in &config.api_key {
        out.push(format!("api_key {}: sha256 {}…", k.name, &k.sha256[..8]));
    }
    let jwt = &config.api.jwt;
    let hs = match (&jwt.hs256_secret_env, &jwt.hs256_secret_file) {
        (Some(var), _) => format!("HS256 secret from ${var}"),
        (_, Some(f)) => format!("HS256 secret from {}", f.display()),
        _ => "HS256 secret DIR/jwt-hs256.key".into(),
    };
    out.push(format!(
        "jwt: {hs}, {} public key(s), issuer {}, audience {}",
        jwt.key.len(),
        jwt.issuer.as_deref().unwrap_or("(any)"),
        jwt.audience.as_deref().unwrap_or("(any)")
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_need_the_lock_and_a_data_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("d");
        assert!(format!("{:#}", bucket_list(&data).unwrap_err())
            .contains("not an stsgate data directory"));
        datadir::open(&data, &Default::default()).unwrap();
        assert!(bucket_create(&data, "Bad_Name", "private").is_err());
        assert!(format!(
            "{:#}",
            bucket_create(&data, "ok-bucket", "world").unwrap_err()
        )
        .contains("--acl"));
        assert_eq!(
            bucket_create(&data, "ok-bucket", "public-read").unwrap(),
            "created bucket ok-bucket (public-read)"
        );
        assert!(format!(
            "{:#}",
            bucket_create(&data, "ok-bucket", "private").unwrap_err()
        )
        .contains("exists already"));
        let list = bucket_list(&data).unwrap();
        assert_eq!(list.len(), 1);
        assert!(list[0].starts_with("ok-bucket public-read "), "{list:?}");
        {
            let _server = datadir::lock(&data).unwrap();
            let err = format!(
                "{:#}",
                bucket_create(&data, "other", "private").unwrap_err()
            );
            assert!(
                err.contains("stop the server or use an OSS SDK against the oss face"),
                "{err}"
            );
            assert!(bucket_list(&data).is_err());
        }
        bucket_delete(&data, "ok-bucket").unwrap();
        assert!(
            format!("{:#}", bucket_delete(&data, "ok-bucket").unwrap_err()).contains("no bucket")
        );
        assert!(bucket_list(&data).unwrap().is_empty());
    }

    #[test]
    fn keys_are_created_listed_and_deleted() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("d");
        datadir::open(&data, &Default::default()).unwrap();
        let (id, secret) = key_create(&data, "ci").unwrap();
        let list = key_list(&data).unwrap();
        assert_eq!(list.len(), 1);
        assert!(list[0].starts_with(&format!("{id} ci ")) && !list[0].contains(&secret));
        assert!(key_delete(&data, "nope").is_err());
        key_delete(&data, "ci").unwrap();
        assert!(key_list(&data).unwrap().is_empty());
    }

    #[test]
    fn check_summarizes_or_names_the_key() {
        let tmp = tempfile::tempdir().unwrap();
        let good = tmp.path().join("good.toml");
        std::fs::write(
            &good,
            "[sts]\nenabled = false\n[[grant]]\nname = \"g\"\nbucket = \"app\"\nprefix = \"u/${sub}/\"\nactions = [\"read\"]\nsource_ips = [\"10.0.0.0/8\"]\n",
        )
        .unwrap();
        let lines = check(&good).unwrap();
        assert!(lines.contains(&"face sts: off".to_string()), "{lines:?}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("grant g: bucket app") && l.contains("10.0.0.0/8")),
            "{lines:?}"
        );
        let example = check(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../config.example.toml"
        )))
        .unwrap();
        assert!(
            example.iter().any(|l| l.starts_with("grant user-folder")),
            "{example:?}"
        );
        let bad = tmp.path().join("bad.toml");
        std::fs::write(&bad, "[api]\nadress = \"x\"\n").unwrap();
        let err = format!("{:#}", check(&bad).unwrap_err());
        assert!(err.contains("adress"), "{err}");
        std::fs::write(
            &bad,
            "[api.jwt]\nhs256_secret_env = \"STSGATE_TEST_CHECK_UNSET\"\n",
        )
        .unwrap();
        let err = format!("{:#}", check(&bad).unwrap_err());
        assert!(err.contains("hs256_secret_env"), "{err}");
    }

    #[test]
    fn check_names_a_grant_and_its_unknown_provider() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("p.toml");
        let grant = "[[grant]]\nname = \"g\"\nbucket = \"app\"\nprefix = \"u/${sub}/\"\nactions = [\"read\"]\n";
        std::fs::write(&path, format!("{grant}provider = \"nope\"\n")).unwrap();
        let err = format!("{:#}", check(&path).unwrap_err());
        assert!(
            err.contains("grant[0] (\"g\"): provider \"nope\" is not configured: add a [provider.nope] table or use one of: local"),
            "{err}"
        );
        std::fs::write(&path, format!("{grant}provider = \"local\"\n")).unwrap();
        let lines = check(&path).unwrap();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("grant g: bucket app") && l.ends_with(", provider local")),
            "{lines:?}"
        );
    }
}
