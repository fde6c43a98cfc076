//! TLS trust shared by the connectors that open TLS connections themselves (PostgreSQL, LDAP):
//! the CA certificates a target names (a file path or the PEM text itself, e.g. from a
//! secret), or the system's trusted roots.

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// The roots to verify a server with: `pem_or_path` (the value of `parameter`), or the
/// system's trusted roots when it is `None`. The error names the parameter.
pub fn root_store(pem_or_path: Option<&str>, parameter: &str) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    match pem_or_path {
        Some(pem) => {
            let certificates: Vec<CertificateDer<'static>> = if pem.contains("-----BEGIN") {
                CertificateDer::pem_slice_iter(pem.as_bytes()).collect::<Result<_, _>>()
            } else {
                CertificateDer::pem_file_iter(pem)
                    .and_then(|certificates| certificates.collect::<Result<_, _>>())
            }
            .map_err(|e| format!("{parameter}: {e}"))?;
            for certificate in certificates {
                roots
                    .add(certificate)
                    .map_err(|e| format!("{parameter}: {e}"))?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            for certificate in native.certs {
                // A malformed system certificate is not a reason to refuse the others.
                let _ = roots.add(certificate);
            }
        }
    }
    if roots.is_empty() {
        return Err(format!("no trusted CA certificate found: set {parameter}"));
    }
    Ok(roots)
}
