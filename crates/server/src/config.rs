//! `stsgate.toml`: read → parse (unknown keys refused by name) → validate.

use anyhow::{bail, Context as _};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The whole configuration file. Every key is optional; command-line flags win over it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Data directory (default `./stsgate-data`).
    pub data: Option<PathBuf>,
    /// The region the faces report, e.g. `cn-hangzhou` (the default).
    pub region: Option<String>,
    /// The oss face.
    #[serde(default)]
    pub oss: OssConfig,
    /// The sts face.
    #[serde(default)]
    pub sts: StsConfig,
    /// The api face (the authorization server for app users).
    #[serde(default)]
    pub api: ApiConfig,
    /// `[[grant]]`: what a caller may ask credentials for. None given = the default grant
    /// `user-folder` (see [`crate::api::grants::default_grants`]).
    #[serde(default)]
    pub grant: Vec<GrantConfig>,
}

/// `[api]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Listen address (default `127.0.0.1:8700`; port 0 picks a free port).
    pub addr: Option<SocketAddr>,
    /// `false` turns the api face off.
    pub enabled: Option<bool>,
    /// `[api.jwt]`: how bearer JWTs are checked.
    #[serde(default)]
    pub jwt: JwtConfig,
}

/// `[api.jwt]`. Tokens are HS256, signed with `DIR/jwt-hs256.key` (see `stsgate token`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// Required `iss` claim, if set.
    pub issuer: Option<String>,
    /// Required `aud` claim (one of the token's audiences), if set.
    pub audience: Option<String>,
}

/// `[[grant]]`: one kind of credentials callers may ask for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantConfig {
    /// Name used in `/v1/credentials?grant=NAME`: 1-64 of `[A-Za-z0-9._-]`.
    pub name: String,
    /// The bucket the credentials reach.
    pub bucket: String,
    /// Key prefix template ending in `/`, e.g. `users/${sub}/`; `${CLAIM}` is the caller's claim.
    pub prefix: String,
    /// Bundles: `read`, `write`, `list`, `delete`.
    pub actions: Vec<String>,
    /// Lifetime of issued credentials in seconds (900 to `max_duration`; default 900).
    pub default_duration: Option<i64>,
    /// Longest lifetime in seconds (up to 43200; default 3600).
    pub max_duration: Option<i64>,
}

/// `[sts]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StsConfig {
    /// Listen address (default `127.0.0.1:8701`; port 0 picks a free port).
    pub addr: Option<SocketAddr>,
    /// `false` turns the sts face off.
    pub enabled: Option<bool>,
}

/// `[oss]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OssConfig {
    /// Listen address (default `127.0.0.1:8702`; port 0 picks a free port).
    pub addr: Option<SocketAddr>,
    /// `false` turns the oss face off.
    pub enabled: Option<bool>,
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        Config::parse(&text).with_context(|| format!("in config {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Config> {
        let config: Config = toml::from_str(text)?;
        if let Some(region) = &config.region {
            if region.is_empty()
                || !region
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                bail!("region: \"{region}\" is not a region id such as \"cn-hangzhou\"");
            }
        }
        for (i, grant) in config.grant.iter().enumerate() {
            crate::api::grants::Grant::from_config(grant)
                .with_context(|| format!("grant[{i}] ({:?})", grant.name))?;
        }
        let mut names: Vec<&str> = config.grant.iter().map(|g| g.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            bail!("grant: the name {:?} is used twice", w[0]);
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses() {
        let text = include_str!("../../../config.example.toml");
        let c = Config::parse(text).unwrap();
        assert_eq!(c.region.as_deref(), Some("cn-hangzhou"));
        assert_eq!(c.oss.addr, Some("127.0.0.1:8702".parse().unwrap()));
        assert_eq!(c.sts.addr, Some("127.0.0.1:8701".parse().unwrap()));
        assert_eq!(c.sts.enabled, Some(true));
        assert_eq!(c.api.addr, Some("127.0.0.1:8700".parse().unwrap()));
        assert_eq!(c.grant.len(), 2);
        assert_eq!(c.grant[0].name, "user-folder");
    }

    #[test]
    fn bad_grants_are_named() {
        let err = format!(
            "{:#}",
            Config::parse("[[grant]]\nname = \"g\"\nbucket = \"app\"\nprefix = \"users/${sub}\"\nactions = [\"read\"]\n")
                .unwrap_err()
        );
        assert!(
            err.contains("grant[0]") && err.contains("must end with '/'"),
            "{err}"
        );
        let err = format!(
            "{:#}",
            Config::parse(
                "[[grant]]\nname = \"g\"\nbucket = \"app\"\nprefix = \"u/\"\nactions = [\"fly\"]\n"
            )
            .unwrap_err()
        );
        assert!(err.contains("fly"), "{err}");
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = format!(
            "{:#}",
            Config::parse("[oss]\naddress = \"x\"\n").unwrap_err()
        );
        assert!(err.contains("unknown field `address`"), "{err}");
        let err = format!("{:#}", Config::parse("region = \"CN HZ\"\n").unwrap_err());
        assert!(err.contains("region"), "{err}");
    }
}
