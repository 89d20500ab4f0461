//! HTTP(S) downloads through the loader's one `ureq::Agent`.

use std::io;

use std::time::SystemTime;

use super::{BodyLimits, FetchError, Fetched, Fetcher, HttpResponse, Target};
use crate::Error;
use crate::config::Config;
use crate::stats::Counters;

/// The agent every worker shares. Timeouts are idle timeouts: connecting, receiving the
/// headers, and each read must make progress within `config.timeout`.
pub(super) fn agent(config: &Config) -> ureq::Agent {
    let t = Some(config.timeout);
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(config.max_redirects)
        .max_redirects_will_error(true)
        .user_agent(config.user_agent.as_str())
        .timeout_connect(t)
        .timeout_send_request(t)
        .timeout_recv_response(t)
        .timeout_per_read(t)
        .max_idle_connections_per_host(config.max_workers.max(1))
        .build()
        .into()
}

pub(super) fn get(
    fetcher: &Fetcher,
    target: &Target<'_>,
    body: BodyLimits<'_>,
) -> Result<Fetched, FetchError> {
    let raw = target.raw;
    let sent = fetcher.sent_headers(target.headers);
    let mut request = fetcher.agent.get(target.url.as_str());
    for (name, value) in sent.iter().skip(1).chain(target.conditional) {
        request = request.header(name, value);
    }
    Counters::bump(&body.counters.network_requests);
    let response = request.call().map_err(|e| map_error(raw, e))?;
    let meta = HttpResponse {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        received_at: SystemTime::now(),
        sent,
    };
    if meta.status == 304 && !target.conditional.is_empty() {
        return Ok(Fetched::NotModified(meta));
    }
    if !(200..300).contains(&meta.status) {
        return Err(Error::Http {
            url: raw.to_string(),
            status: meta.status,
        }
        .into());
    }
    let declared = response.body().content_length();
    // Dropping the reader early (limit, cancel) closes the connection instead of draining it.
    let reader = response.into_body().into_reader();
    let bytes = body.read(reader, declared, |e| map_io(raw, e))?;
    Ok(Fetched::Body(bytes, Some(meta)))
}

/// The public error for a ureq error while talking to `raw`.
pub(crate) fn map_error(raw: &str, e: ureq::Error) -> Error {
    let url = raw.to_string();
    match e {
        ureq::Error::Timeout(_) => Error::Timeout { url },
        ureq::Error::StatusCode(status) => Error::Http { url, status },
        ureq::Error::BadUri(reason) => Error::InvalidUrl { url, reason },
        ureq::Error::Http(e) => Error::InvalidRequest {
            url,
            reason: e.to_string(),
        },
        ureq::Error::Io(e) => map_io(raw, e),
        ureq::Error::TooManyRedirects => Error::Network {
            url,
            message: "too many redirects".into(),
        },
        other => Error::Network {
            url,
            message: other.to_string(),
        },
    }
}

fn map_io(raw: &str, e: io::Error) -> Error {
    if matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    ) {
        return Error::Timeout {
            url: raw.to_string(),
        };
    }
    // The body reader wraps ureq's own errors (a timeout among them) in an io::Error.
    if e.get_ref().is_some_and(|inner| inner.is::<ureq::Error>()) {
        let inner = e
            .into_inner()
            .and_then(|b| b.downcast::<ureq::Error>().ok());
        if let Some(inner) = inner {
            return map_error(raw, *inner);
        }
        return Error::Network {
            url: raw.to_string(),
            message: "connection failed".into(),
        };
    }
    Error::Network {
        url: raw.to_string(),
        message: e.to_string(),
    }
}
