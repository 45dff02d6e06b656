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
