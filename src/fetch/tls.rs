//! Which certificates HTTPS trusts, and what a failed handshake means.
//!
//! Owns: turning a [`TlsConfig`] into ureq's TLS settings (the bundled Mozilla roots, the
//! platform verifier, or either plus extra root certificates), and turning rustls's
//! certificate errors into [`Error::Tls`] with a message a person can act on. Must not touch:
//! connections or requests.

use std::io;

use ureq::tls::{Certificate, PemItem, RootCerts};

use crate::config::{TlsConfig, TlsRoots};
use crate::error::{Cause, Error};
use crate::url_text;

/// ureq's TLS settings for `config`; an unusable PEM is a configuration error.
pub(crate) fn ureq_tls(config: &TlsConfig) -> Result<ureq::tls::TlsConfig, Error> {
    let mut extra = Vec::new();
    for (i, pem) in config.extra_roots_pem.iter().enumerate() {
        let before = extra.len();
        for item in ureq::tls::parse_pem(pem) {
            match item {
                Ok(PemItem::Certificate(cert)) => extra.push(cert),
                Ok(_) => {}
                Err(e) => {
                    return Err(Error::Config(format!(
                        "tls.extra_roots_pem[{i}] is not valid PEM: {e}"
                    )));
                }
            }
        }
        if extra.len() == before {
            return Err(Error::Config(format!(
                "tls.extra_roots_pem[{i}] holds no certificate"
            )));
        }
    }
    let roots = match (config.roots, extra.is_empty()) {
        (TlsRoots::Bundled, true) => RootCerts::WebPki,
        (TlsRoots::Platform, true) => RootCerts::PlatformVerifier,
        (TlsRoots::Bundled, false) => {
            let bundled = webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .map(|der| Certificate::from_der(der).to_owned());
            RootCerts::from(bundled.chain(extra))
        }
        (TlsRoots::Platform, false) => {
            let native = rustls_native_certs::load_native_certs();
            let system: Vec<Certificate<'static>> = native
                .certs
                .iter()
                .map(|der| Certificate::from_der(der).to_owned())
                .collect();
            if system.is_empty() {
                return Err(Error::Config(format!(
                    "tls: the platform's trust store could not be read ({} errors)",
                    native.errors.len()
                )));
            }
            RootCerts::from(system.into_iter().chain(extra))
        }
    };
    Ok(ureq::tls::TlsConfig::builder().root_certs(roots).build())
}

/// `Error::Tls` for an I/O error that carries a rustls error.
pub(crate) fn io_error(raw: &str, e: &io::Error) -> Option<Error> {
    let rustls = rustls_in(e)?;
    Some(Error::Tls {
        url: url_text::shown(raw),
        message: advice(&rustls),
        source: Some(Cause::new(rustls)),
    })
}

/// `Error::Tls` for a rustls error, if `e` is one (directly or inside an I/O error).
pub(crate) fn tls_error(raw: &str, e: &ureq::Error) -> Option<Error> {
    let rustls = match e {
        ureq::Error::Rustls(r) => r.clone(),
        ureq::Error::Io(io) => return io_error(raw, io),
        ureq::Error::Tls(m) => {
            return Some(Error::Tls {
                url: url_text::shown(raw),
                message: (*m).to_string(),
                source: None,
            });
        }
        _ => return None,
    };
    Some(Error::Tls {
        url: url_text::shown(raw),
        message: advice(&rustls),
        source: Some(Cause::new(rustls)),
    })
}

/// The rustls error inside an I/O error, if there is one.
fn rustls_in(io: &io::Error) -> Option<rustls::Error> {
    io.get_ref()?.downcast_ref::<rustls::Error>().cloned()
}

/// What went wrong, and what to do about it.
fn advice(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    let what = match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => {
                "the server's certificate is not issued by a trusted root \
                 certificate; if it comes from a private CA, trust that CA \
                 (Config::tls.extra_roots_pem, or TlsRoots::Platform if the machine trusts it)"
            }
            C::Expired | C::ExpiredContext { .. } => "the server's certificate has expired",
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "the server's certificate is not valid yet (is this machine's clock right?)"
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "the server's certificate is not valid for this host name"
            }
            C::Revoked => "the server's certificate has been revoked",
            C::BadSignature => "the server's certificate has a bad signature",
            C::Other(other) if other.to_string().contains("CaUsedAsEndEntity") => {
                "the server presents a CA certificate as its own (a self-signed certificate \
                 used directly); issue the server a certificate from that CA and trust the CA"
            }
            _ => "the server's certificate was refused",
        },
        _ => "the TLS handshake failed",
    };
    match e {
        // rustls shows these as a debug string; the advice says it all, and the error
        // itself is the source.
        rustls::Error::InvalidCertificate(rustls::CertificateError::Other(_)) => what.to_string(),
        _ => format!("{what} ({e})"),
    }
}
