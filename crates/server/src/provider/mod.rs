//! Providers: who issues a grant's credentials.
//!
//! - `local` (always there, the default of every grant): the embedded sts/oss faces; credentials
//!   are minted in-process (`api/credentials.rs::issue`).
//! - `[provider.NAME]` with `type = "aliyun"`: a real Alibaba Cloud account (or anything speaking
//!   its STS/OSS wire, such as a second stsgate). Credentials come from an upstream `AssumeRole`
//!   with the grant's narrowest policy inline ([`aliyun::AliyunProvider::assume_role`]).
//!
//! [`oss_client`] is the small signed OSS REST client `stsgate check` and `stsgate cors` use.

pub mod aliyun;
pub mod oss_client;

use crate::config::Config;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The name of the embedded provider.
pub const LOCAL: &str = "local";

/// One configured provider.
#[derive(Debug, Clone)]
pub enum Provider {
    /// The embedded sts/oss faces.
    Local,
    /// Alibaba Cloud (or its wire, e.g. another stsgate).
    Aliyun(Arc<aliyun::AliyunProvider>),
}

/// Every provider by name; `local` is always present.
#[derive(Debug, Clone)]
pub struct Providers {
    by_name: BTreeMap<String, Provider>,
}

impl Default for Providers {
    fn default() -> Self {
        let mut by_name = BTreeMap::new();
        by_name.insert(LOCAL.to_string(), Provider::Local);
        Providers { by_name }
    }
}

impl Providers {
    /// Builds every `[provider.NAME]` of `config` (secrets read from env/files now, so a
    /// missing key fails at start, naming the provider and the variable or file).
    pub fn from_config(config: &Config) -> anyhow::Result<Providers> {
        let mut providers = Providers::default();
        for (name, cfg) in &config.provider {
            if name == LOCAL {
                anyhow::bail!("[provider.local] is the embedded store and takes no settings; name your provider otherwise");
            }
            let p = aliyun::AliyunProvider::from_config(name, cfg, config.region.as_deref())?;
            providers
                .by_name
                .insert(name.clone(), Provider::Aliyun(Arc::new(p)));
        }
        Ok(providers)
    }

    /// The provider called `name` (`None`: `local`).
    pub fn get(&self, name: Option<&str>) -> Option<&Provider> {
        self.by_name.get(name.unwrap_or(LOCAL))
    }

    /// Every provider, `local` included, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Provider)> {
        self.by_name.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Inserts a provider (tests).
    pub fn insert(&mut self, name: &str, provider: Provider) {
        self.by_name.insert(name.to_string(), provider);
    }
}
