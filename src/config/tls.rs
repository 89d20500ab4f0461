//! Which HTTPS roots the loader and the uploader trust, as plain data.
//!
//! Owns: [`TlsConfig`] and [`TlsRoots`]. Must not touch: building the TLS client (that is
//! `fetch/tls.rs`); this only describes it.

use std::path::Path;

use crate::Error;

/// Where HTTPS certificates are trusted from ([`Config::tls`](crate::Config::tls),
/// [`UploadConfig::tls`](crate::UploadConfig::tls)).
///
/// ```no_run
/// // A service whose images live behind a company CA, on top of the usual public roots:
/// let tls = webimage::TlsConfig::default().with_pem_file("/etc/my-company/ca.pem")?;
/// let config = webimage::Config { tls, ..Default::default() };
/// # drop(config);
/// # Ok::<(), webimage::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// The base set of trusted roots. Default [`TlsRoots::Bundled`].
    pub roots: TlsRoots,
    /// Root certificates (PEM, one or several per entry) trusted in addition to
    /// [`roots`](Self::roots): a private or self-signed CA. A certificate used directly as a
    /// server's own (not issued by a CA) is refused by TLS verification: issue the server a
    /// certificate from that CA instead. Checked by `ImageLoader::new`.
    pub extra_roots_pem: Vec<Vec<u8>>,
}

/// The base set of roots a [`TlsConfig`] trusts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsRoots {
    /// Mozilla's root certificates, built into the program: the same everywhere, whatever the
    /// machine trusts. The default.
    #[default]
    Bundled,
    /// The operating system's trust store, as browsers use it (Windows and macOS through their
    /// own verifiers; on Linux the distribution's CA bundle, or `SSL_CERT_FILE` /
    /// `SSL_CERT_DIR` when set). Picks up company CAs installed on the machine.
    Platform,
}

impl TlsConfig {
    /// This configuration, also trusting the root certificates in the PEM file at `path`.
    pub fn with_pem_file(mut self, path: impl AsRef<Path>) -> Result<TlsConfig, Error> {
        let path = path.as_ref();
        let pem = std::fs::read(path).map_err(|e| {
            Error::Config(format!(
                "cannot read the certificate file {}: {e}",
                path.display()
            ))
        })?;
        self.extra_roots_pem.push(pem);
        Ok(self)
    }
}
