//! The API server's certificate authority and serving certificate.
//!
//! On first start a CA and a server certificate are generated into the data directory; later
//! starts reuse them, so a kubeconfig written once keeps working. The server certificate is
//! re-issued by the same CA when the set of names it must cover changes (another listen host).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use ferrule_datadir::{create_private_dir, write_private};

/// Errors while creating or loading the API server's certificates.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A certificate or key file could not be read or written; check the data directory's
    /// permissions.
    #[error("certificate file {path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Certificate generation or key parsing failed; delete the `pki` directory to start over.
    #[error("certificate generation: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// A stored PEM file is not valid; delete the `pki` directory to start over.
    #[error("invalid PEM in {path}: {message}")]
    Pem {
        /// The file involved.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// rustls refused the certificate and key.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
}

/// The material the server needs to serve HTTPS and clients need to trust it.
#[derive(Debug, Clone)]
pub struct Pki {
    /// The CA certificate in PEM form (what goes into a kubeconfig).
    pub ca_pem: String,
    /// The serving certificate chain, DER.
    pub server_chain: Vec<CertificateDer<'static>>,
    /// The serving key in PEM form.
    server_key_pem: String,
}

const CA_CERT: &str = "ca.crt";
const CA_KEY: &str = "ca.key";
const SERVER_CERT: &str = "server.crt";
const SERVER_KEY: &str = "server.key";
const SERVER_SANS: &str = "server.sans";

/// The names a serving certificate for `listen_host` must cover: loopback names plus the
/// listen host itself (unless it is the unspecified address).
pub fn subject_alt_names(listen_host: IpAddr) -> Vec<String> {
    let mut names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
    if !listen_host.is_unspecified() {
        let host = listen_host.to_string();
        if !names.contains(&host) {
            names.push(host);
        }
    }
    names
}

fn ca_params() -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "ferrule-ca");
    dn.push(DnType::OrganizationName, "Ferrule");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2124, 1, 1);
    Ok(params)
}

fn server_params(sans: &[String]) -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(sans.to_vec())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "ferrule-apiserver");
    params.distinguished_name = dn;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2124, 1, 1);
    Ok(params)
}

fn read(path: &Path) -> Result<Option<String>, PkiError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(PkiError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Loads the CA and serving certificate from `dir`, creating whatever is missing.
pub fn load_or_create(dir: &Path, sans: &[String]) -> Result<Pki, PkiError> {
    create_private_dir(dir).map_err(io_err(dir))?;
    let ca_cert_path = dir.join(CA_CERT);
    let ca_key_path = dir.join(CA_KEY);
    let (ca_pem, ca_key) = match (read(&ca_cert_path)?, read(&ca_key_path)?) {
        (Some(cert), Some(key)) => (cert, KeyPair::from_pem(&key)?),
        _ => {
            let key = KeyPair::generate()?;
            let cert = ca_params()?.self_signed(&key)?;
            write_private(&ca_key_path, key.serialize_pem().as_bytes())
                .map_err(io_err(&ca_key_path))?;
            write_private(&ca_cert_path, cert.pem().as_bytes()).map_err(io_err(&ca_cert_path))?;
            // A new CA invalidates any serving certificate signed by an older one.
            let _ = std::fs::remove_file(dir.join(SERVER_SANS));
            (cert.pem(), key)
        }
    };

    let server_cert_path = dir.join(SERVER_CERT);
    let server_key_path = dir.join(SERVER_KEY);
    let sans_path = dir.join(SERVER_SANS);
    let wanted_sans = sans.join("\n");
    let existing = (
        read(&server_cert_path)?,
        read(&server_key_path)?,
        read(&sans_path)?,
    );
    let (server_pem, server_key_pem) = match existing {
        (Some(cert), Some(key), Some(stored)) if stored == wanted_sans => (cert, key),
        _ => {
            let issuer = Issuer::new(ca_params()?, ca_key);
            let key = KeyPair::generate()?;
            let cert = server_params(sans)?.signed_by(&key, &issuer)?;
            write_private(&server_key_path, key.serialize_pem().as_bytes())
                .map_err(io_err(&server_key_path))?;
            write_private(&server_cert_path, cert.pem().as_bytes())
                .map_err(io_err(&server_cert_path))?;
            write_private(&sans_path, wanted_sans.as_bytes()).map_err(io_err(&sans_path))?;
            (cert.pem(), key.serialize_pem())
        }
    };

    let mut server_chain = Vec::new();
    for cert in [&server_pem, &ca_pem] {
        let der = CertificateDer::from_pem_slice(cert.as_bytes()).map_err(|e| PkiError::Pem {
            path: server_cert_path.clone(),
            message: e.to_string(),
        })?;
        server_chain.push(der);
    }
    // Validate the key now rather than at the first handshake.
    PrivateKeyDer::from_pem_slice(server_key_pem.as_bytes()).map_err(|e| PkiError::Pem {
        path: server_key_path.clone(),
        message: e.to_string(),
    })?;
    Ok(Pki {
        ca_pem,
        server_chain,
        server_key_pem,
    })
}

impl Pki {
    /// A rustls server configuration serving this certificate with HTTP/2 and HTTP/1.1.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, PkiError> {
        let key = PrivateKeyDer::from_pem_slice(self.server_key_pem.as_bytes()).map_err(|e| {
            PkiError::Pem {
                path: PathBuf::from(SERVER_KEY),
                message: e.to_string(),
            }
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.server_chain.clone(), key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sans_cover_loopback_and_listen_host() {
        let sans = subject_alt_names("10.1.2.3".parse().unwrap());
        assert_eq!(sans, vec!["127.0.0.1", "localhost", "10.1.2.3"]);
        let sans = subject_alt_names("0.0.0.0".parse().unwrap());
        assert_eq!(sans, vec!["127.0.0.1", "localhost"]);
    }

    #[test]
    fn certificates_are_kept_across_loads_and_reissued_for_new_names() {
        let dir = tempfile::tempdir().unwrap();
        let sans = subject_alt_names("127.0.0.1".parse().unwrap());
        let first = load_or_create(dir.path(), &sans).unwrap();
        let second = load_or_create(dir.path(), &sans).unwrap();
        assert_eq!(first.ca_pem, second.ca_pem);
        assert_eq!(first.server_chain, second.server_chain);
        first.server_config().unwrap();

        let other = subject_alt_names("127.0.0.2".parse().unwrap());
        let third = load_or_create(dir.path(), &other).unwrap();
        assert_eq!(
            first.ca_pem, third.ca_pem,
            "the CA survives a new serving cert"
        );
        assert_ne!(first.server_chain[0], third.server_chain[0]);
    }
}
