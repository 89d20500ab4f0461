//! Why an upload attempt failed, and what that means: retry now, journal for a later run, or
//! give up.
//!
//! Owns: the rule for which failures are transient (5xx, 408, 429, timeouts, network errors:
//! retried with backoff and journaled) and which are permanent (an unreadable source, any other
//! 4xx or a 3xx, an invalid URL or request, bytes that cannot be recompressed, a TLS failure:
//! neither). Must not touch: the journal or the network; it only classifies.

use super::UploadResponse;
use super::item::ItemSpec;
use crate::error::{Cause, Error};

/// Why one attempt did not succeed.
pub(super) enum Failure {
    /// Stopped by a cancel or shutdown.
    Stopped,
    /// Failed; `retry` says whether another attempt now may succeed, `permanent` whether any
    /// later one could (a permanent failure is not journaled unless the config asks).
    Failed {
        error: Error,
        response: Option<UploadResponse>,
        retry: bool,
        permanent: bool,
    },
}

impl Failure {
    /// A failure no later attempt can fix: not retried, not journaled by default.
    pub(super) fn permanent(error: Error, response: Option<UploadResponse>) -> Failure {
        Failure::Failed {
            error,
            response,
            retry: false,
            permanent: true,
        }
    }

    /// A failed send, by what the HTTP client reported.
    pub(super) fn of_send(target: &str, e: ureq::Error) -> Failure {
        let tls = is_tls(target, &e);
        let error = crate::fetch::map_error(target, e);
        // `Error::Tls` is what rustls's own errors map to; `is_tls` also catches a handshake
        // that failed before rustls could say why (a server that does not speak TLS).
        let transient = !tls && matches!(error, Error::Network { .. } | Error::Timeout { .. });
        Failure::Failed {
            error,
            response: None,
            retry: transient,
            permanent: !transient,
        }
    }

    /// A non-2xx answer. A 3xx is permanent too: redirects are not followed, and the same
    /// request is redirected again.
    pub(super) fn of_status(target: &str, answer: UploadResponse) -> Failure {
        let status = answer.status;
        let transient = status >= 500 || status == 408 || status == 429;
        Failure::Failed {
            error: Error::Http {
                url: crate::url_text::shown(target),
                status,
            },
            retry: transient,
            permanent: !transient,
            response: Some(answer),
        }
    }
}

/// The source cannot be read (missing, unreadable, too large to recompress): permanent.
pub(super) fn io_failure(spec: &ItemSpec, e: std::io::Error) -> Failure {
    let error = Error::Io {
        url: spec.source.describe(),
        message: e.to_string(),
        source: Some(Cause::new(e)),
    };
    Failure::permanent(error, None)
}

/// Whether a failed send is a TLS failure (an untrusted certificate, a server that does not
/// speak TLS): the same request fails the same way, so it is neither retried nor journaled.
/// ureq reports handshake errors from rustls as an `Io` error of kind `InvalidData` (the only
/// `InvalidData` a send of an `https` request gives), and configuration errors as `Tls`.
fn is_tls(target: &str, e: &ureq::Error) -> bool {
    match e {
        ureq::Error::Tls(_) | ureq::Error::Pem(_) | ureq::Error::Rustls(_) => true,
        ureq::Error::Io(io) => {
            io.kind() == std::io::ErrorKind::InvalidData
                && target
                    .get(..8)
                    .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        }
        _ => false,
    }
}

/// The target must be an absolute `http` or `https` URL: anything else fails at once, before
/// the source is read, as a permanent [`Error::InvalidUrl`].
pub(super) fn check_target(spec: &ItemSpec) -> Result<(), Failure> {
    let reason = match url::Url::parse(&spec.target) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => return Ok(()),
        Ok(url) => format!("uploads go to http or https URLs, not {}:", url.scheme()),
        Err(e) => e.to_string(),
    };
    let error = Error::InvalidUrl {
        url: crate::url_text::shown(&spec.target),
        reason,
        source: None,
    };
    Err(Failure::permanent(error, None))
}

/// The item's total deadline passed: a timeout, not retried now (but journaled: a later run
/// may well succeed).
pub(super) fn out_of_time(spec: &ItemSpec) -> Failure {
    Failure::Failed {
        error: Error::Timeout {
            url: crate::url_text::shown(&spec.target),
            source: None,
        },
        response: None,
        retry: false,
        permanent: false,
    }
}
