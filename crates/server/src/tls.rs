//! TLS for every face (rustls, HTTP/1.1): a configured certificate chain and key (PEM), or for
//! local use a self-signed CA and server certificate made at the first TLS start in `DIR/tls/`:
//!
//! - `DIR/tls/ca.pem` — the CA certificate clients trust (`NODE_EXTRA_CA_CERTS`,
//!   `REQUESTS_CA_BUNDLE`, a Java truststore); `serve` prints its path;
//! - `DIR/tls/cert.pem`, `DIR/tls/key.pem` (0600) — the server certificate (names: `localhost`,
//!   `127.0.0.1`, `::1` and `[tls] names`) and its key. The CA's key is not kept: nothing else
//!   is ever signed with it.
//!
//! The Node and Java `qcloud-cos-sts` SDKs hardcode `https://`, and mobile credential URLs want
//! it too.

use crate::config::TlsConfig;
use crate::datadir::{check_private, write_private};
use anyhow::{bail, Context as _};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What the faces serve TLS with, and where its CA is (self-signed only).
#[derive(Debug, Clone)]
pub struct Tls {
    pub config: Arc<rustls::ServerConfig>,
    /// The self-signed CA's certificate, for clients to trust (`None`: a configured chain).
    pub ca_file: Option<PathBuf>,
}

/// The names every self-signed certificate covers.
const LOCAL_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The TLS of a server on `data_dir` with `cfg` (`None` when TLS is off).
pub fn load(data_dir: &Path, cfg: &TlsConfig) -> anyhow::Result<Option<Tls>> {
    if cfg.enabled != Some(true) {
        return Ok(None);
    }
    let (cert, key, ca_file) = match (&cfg.cert_file, &cfg.key_file) {
        (Some(cert), Some(key)) => (cert.clone(), key.clone(), None),
        (None, None) => {
            let dir = data_dir.join("tls");
            let names = names(&cfg.names);
            ensure_self_signed(&dir, &names)?;
            (
                dir.join("cert.pem"),
                dir.join("key.pem"),
                Some(dir.join("ca.pem")),
            )
        }
        _ => {
            bail!("[tls] give both cert_file and key_file, or neither (a self-signed certificate)")
        }
    };
    check_private(&key).context("[tls] key_file")?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
        .with_context(|| format!("reading {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} is not a PEM certificate chain", cert.display()))?;
    if certs.is_empty() {
        bail!("{} holds no certificate", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(&key)
        .with_context(|| format!("{} is not a PEM private key", key.display()))?;
    Ok(Some(Tls {
        config: server_config(certs, key)?,
        ca_file,
    }))
}

/// A rustls server configuration (ring, TLS 1.2 and 1.3, HTTP/1.1).
pub fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the certificate and the key do not belong together")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn names(extra: &Option<Vec<String>>) -> Vec<String> {
    let mut names: Vec<String> = LOCAL_NAMES.iter().map(|n| n.to_string()).collect();
    for n in extra.iter().flatten() {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    names
}

/// Makes the CA and the server certificate in `dir` unless they exist for the same `names`.
fn ensure_self_signed(dir: &Path, names: &[String]) -> anyhow::Result<()> {
    let names_file = dir.join("names");
    let wanted = names.join("\n");
    let have = std::fs::read_to_string(&names_file).unwrap_or_default();
    if have == wanted && dir.join("key.pem").exists() && dir.join("ca.pem").exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let (ca, cert, key) = self_signed(names)?;
    write_private(&dir.join("key.pem"), key.as_bytes())?;
    write_private(&dir.join("cert.pem"), cert.as_bytes())?;
    write_private(&dir.join("ca.pem"), ca.as_bytes())?;
    write_private(&names_file, wanted.as_bytes())?;
    Ok(())
}

/// A fresh CA (10 years) and a server certificate for `names` (IP addresses as IP SANs, 2
/// years) signed by it: `(ca.pem, cert.pem with the chain, key.pem)`.
pub fn self_signed(names: &[String]) -> anyhow::Result<(String, String, String)> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let now = time::OffsetDateTime::now_utc();
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "stsgate local CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.not_before = now - time::Duration::days(1);
    ca.not_after = now + time::Duration::days(3650);
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    let mut leaf = CertificateParams::new(names.to_vec())?;
    leaf.distinguished_name.push(DnType::CommonName, "stsgate");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.not_before = now - time::Duration::days(1);
    leaf.not_after = now + time::Duration::days(730);
    let leaf_key = KeyPair::generate()?;
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key)?;
    let chain = format!("{}{}", leaf_cert.pem(), ca_cert.pem());
    Ok((ca_cert.pem(), chain, leaf_key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on() -> TlsConfig {
        TlsConfig {
            enabled: Some(true),
            ..TlsConfig::default()
        }
    }

    #[test]
    fn off_by_default_and_self_signed_once() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(load(tmp.path(), &TlsConfig::default()).unwrap().is_none());
        let tls = load(tmp.path(), &on()).unwrap().unwrap();
        let ca = tls.ca_file.clone().unwrap();
        let first = std::fs::read_to_string(&ca).unwrap();
        assert!(first.starts_with("-----BEGIN CERTIFICATE-----"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(tmp.path().join("tls/key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        load(tmp.path(), &on()).unwrap().unwrap();
        assert_eq!(
            std::fs::read_to_string(&ca).unwrap(),
            first,
            "kept across starts"
        );
        let more = TlsConfig {
            names: Some(vec!["stsgate.test".into()]),
            ..on()
        };
        load(tmp.path(), &more).unwrap().unwrap();
        assert_ne!(
            std::fs::read_to_string(&ca).unwrap(),
            first,
            "new names, new CA"
        );
    }

    #[test]
    fn half_a_configured_pair_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let half = TlsConfig {
            cert_file: Some(tmp.path().join("c.pem")),
            ..on()
        };
        let err = format!("{:#}", load(tmp.path(), &half).unwrap_err());
        assert!(err.contains("both cert_file and key_file"), "{err}");
    }
}
