//! `http` and `https` through the loader's one `ureq::Agent`.
//!
//! Owns: the agent (one per loader, so connections are reused and no client is created per
//! request; timeouts are idle timeouts plus one total deadline), the headers every request
//! sends, conditional requests for revalidation, following redirects (only to `http`/`https`,
//! never from `https` down to `http` unless allowed, credentials dropped when the origin
//! changes, userinfo in a `Location` ignored), the fetch's figures for the per-load record
//! (time to the final response's headers, body time, bytes, redirects, the set-up times
//! `resolve.rs` took), and mapping ureq's errors to [`Error`] with
//! the original as the source. Must not touch: the disk cache (it returns the response
//! headers; the pipeline decides what to store) or decoding.

use std::cell::Cell;
use std::io;
use std::time::{Instant, SystemTime};

use url::Url;

use super::resolve::{self, BlockedAddress};
use super::{BodyLimits, FetchError, Fetched, HttpResponse, SchemeFetcher, Target};
use crate::config::Config;
use crate::error::{Cause, Error};
use crate::headers::{Header, HeaderRules};
use crate::metrics::NetworkMetrics;
use crate::stats::Counters;
use crate::url_text;

/// The HTTP(S) fetcher.
pub(super) struct Http {
    agent: ureq::Agent,
    headers: Vec<Header>,
    rules: HeaderRules,
    user_agent: String,
    max_redirects: u32,
    allow_https_downgrade: bool,
    /// Private networks are blocked but a proxy (from the environment) would connect for us
    /// and hide the address: every request is refused.
    proxy_hides_address: bool,
}

impl Http {
    /// The agent every worker shares. `config.timeout` is an idle timeout (connecting,
    /// receiving the headers, and each read must make progress within it);
    /// `config.total_timeout` bounds the whole download, redirects and body included.
    /// Redirects are followed here, not by ureq, so every hop is checked.
    pub(super) fn new(config: &Config) -> Result<Self, Error> {
        let t = Some(config.timeout);
        let agent_config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(config.user_agent.as_str())
            .timeout_connect(t)
            .timeout_send_request(t)
            .timeout_recv_response(t)
            .timeout_per_read(t)
            .timeout_global(config.total_timeout)
            .max_idle_connections_per_host(config.max_workers.max(1))
            .tls_config(super::ureq_tls(&config.tls)?)
            .build();
        let proxy_hides_address = config.block_private_networks && agent_config.proxy().is_some();
        Ok(Http {
            agent: super::agent(agent_config, config.block_private_networks),
            headers: config
                .headers
                .iter()
                .map(|(name, value)| Header::plain(name, value))
                .collect(),
            rules: config.header_rules(),
            user_agent: config.user_agent.clone(),
            max_redirects: config.max_redirects,
            allow_https_downgrade: config.allow_https_downgrade,
            proxy_hides_address,
        })
    }

    /// The request headers a request sends (user agent first, then the configured headers,
    /// then the request's own), without conditional ones.
    pub(super) fn sent_headers(&self, request_headers: &[Header]) -> Vec<Header> {
        let mut sent = vec![Header::plain("user-agent", self.user_agent.as_str())];
        sent.extend(self.headers.iter().chain(request_headers).cloned());
        sent
    }

    /// Where a redirect from `from` to `location` goes, if it may be followed.
    fn redirect_target(&self, raw: &str, from: &Url, location: &str) -> Result<Url, Error> {
        let blocked = |reason: String| Error::Blocked {
            url: url_text::shown(raw),
            reason,
        };
        let mut to = from.join(location).map_err(|e| Error::Network {
            url: url_text::shown(raw),
            message: "the redirect's Location is not a URL".into(),
            source: Some(Cause::new(e)),
        })?;
        // Credentials a server writes into a Location are not the caller's: never sent (and
        // a relative Location never inherits any, since the URL we fetch has none).
        let _ = to.set_username("");
        let _ = to.set_password(None);
        match (from.scheme(), to.scheme()) {
            (_, "https") | ("http", "http") => Ok(to),
            ("https", "http") if self.allow_https_downgrade => Ok(to),
            ("https", "http") => Err(blocked(
                "a redirect from https to plain http (Config::allow_https_downgrade is off)".into(),
            )),
            (_, other) => Err(blocked(format!(
                "a redirect to a {other}: URL (only http and https are followed)"
            ))),
        }
    }
}

/// Whether `a` and `b` have the same scheme, host and port.
fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

impl SchemeFetcher for Http {
    fn fetch(&self, target: &Target<'_>, body: &BodyLimits<'_>) -> Result<Fetched, FetchError> {
        let raw = target.raw;
        if self.proxy_hides_address {
            return Err(Error::Blocked {
                url: url_text::shown(raw),
                reason: "private networks are blocked, and the proxy configured in the \
                         environment (HTTP_PROXY, HTTPS_PROXY or ALL_PROXY) would connect for \
                         us where the address cannot be checked; unset it for this process"
                    .into(),
            }
            .into());
        }
        resolve::take_setup(); // what an earlier fetch on this thread left
        let started = Instant::now();
        let mut figures = NetworkMetrics::default();
        let result = self.exchange(target, body, started, &mut figures);
        // Every path reports what it measured: a fetch that failed before an answer (refused,
        // timed out) has its set-up times so far, one cut off mid-body its bytes so far.
        let setup = resolve::take_setup();
        (figures.dns, figures.connect, figures.tls) = (setup.dns, setup.connect, setup.tls);
        if let Err(FetchError::Failed(_)) = &result {
            figures.failed_after = Some(started.elapsed());
        }
        body.watch().network(figures);
        result
    }

    fn cached_on_disk(&self) -> bool {
        true
    }
}

impl Http {
    /// The requests of one fetch (redirects followed) and the final body, filling `figures`
    /// as it goes (all but the set-up times, which [`SchemeFetcher::fetch`] adds).
    fn exchange(
        &self,
        target: &Target<'_>,
        body: &BodyLimits<'_>,
        started: Instant,
        figures: &mut NetworkMetrics,
    ) -> Result<Fetched, FetchError> {
        let raw = target.raw;
        let mut sent = self.sent_headers(target.headers);
        let mut url = target.url.clone();
        let mut hops = 0;
        let response = loop {
            let mut request = self.agent.get(url.as_str());
            // The agent sends the user agent itself.
            for header in sent.iter().skip(1) {
                request = request.header(&header.name, &header.value);
            }
            for (name, value) in target.conditional {
                request = request.header(name, value);
            }
            Counters::bump(&body.counters().network_requests);
            figures.requests += 1;
            let response = request.call().map_err(|e| map_error(raw, e))?;
            let status = response.status().as_u16();
            figures.status = Some(status);
            let location = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok());
            let (true, Some(location)) = (matches!(status, 301 | 302 | 303 | 307 | 308), location)
            else {
                break response;
            };
            if hops == self.max_redirects {
                return Err(Error::Network {
                    url: url_text::shown(raw),
                    message: "too many redirects".into(),
                    source: None,
                }
                .into());
            }
            hops += 1;
            figures.redirects = hops;
            let next = self.redirect_target(raw, &url, location)?;
            if !same_origin(&url, &next) {
                // Credentials were meant for the origin the caller named, not for wherever
                // it sends us: every header the rules call one (named, marked, unlisted, the
                // userinfo's Basic header) goes.
                sent.retain(|h| !self.rules.is_credential(h));
            }
            // Dropping the response closes its connection rather than reading a body nobody
            // wants.
            drop(response);
            url = next;
        };
        figures.first_byte = started.elapsed();
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
                url: url_text::shown(raw),
                status: meta.status,
            }
            .into());
        }
        let declared = response.body().content_length();
        // Dropping the reader early (limit, cancel) closes the connection instead of draining it.
        let received = Cell::new(0);
        let reader = Counted {
            inner: response.into_body().into_reader(),
            bytes: &received,
        };
        let reading = Instant::now();
        let read = body.read(reader, declared, |e| map_io(raw, e));
        figures.body = reading.elapsed();
        figures.bytes = match &read {
            Ok(bytes) => bytes.len() as u64, // after a cut: the bytes kept
            Err(_) => received.get(),
        };
        Ok(Fetched::Body(read?, Some(meta)))
    }
}

/// A body reader that counts what it read (a failed read keeps the count so far).
struct Counted<'a, R> {
    inner: R,
    bytes: &'a Cell<u64>,
}

impl<R: io::Read> io::Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.set(self.bytes.get() + n as u64);
        Ok(n)
    }
}

/// The public error for a ureq error while talking to `raw`.
pub(crate) fn map_error(raw: &str, e: ureq::Error) -> Error {
    if let Some(tls) = super::tls_error(raw, &e) {
        return tls;
    }
    let url = url_text::shown(raw);
    match e {
        ureq::Error::Timeout(_) => Error::Timeout {
            url,
            source: Some(Cause::new(e)),
        },
        ureq::Error::StatusCode(status) => Error::Http { url, status },
        ureq::Error::BadUri(ref reason) => Error::InvalidUrl {
            url,
            reason: reason.clone(),
            source: Some(Cause::new(e)),
        },
        ureq::Error::Http(ref inner) => Error::InvalidRequest {
            url,
            reason: inner.to_string(),
        },
        ureq::Error::Io(e) => map_io(raw, e),
        ureq::Error::Other(inner) if inner.is::<BlockedAddress>() => Error::Blocked {
            url,
            reason: inner.to_string(),
        },
        ureq::Error::TooManyRedirects => Error::Network {
            url,
            message: "too many redirects".into(),
            source: Some(Cause::new(e)),
        },
        other => Error::Network {
            url,
            message: other.to_string(),
            source: Some(Cause::new(other)),
        },
    }
}

fn map_io(raw: &str, e: io::Error) -> Error {
    if matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    ) {
        return Error::Timeout {
            url: url_text::shown(raw),
            source: Some(Cause::new(e)),
        };
    }
    if let Some(tls) = super::tls::io_error(raw, &e) {
        return tls;
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
            url: url_text::shown(raw),
            message: "connection failed".into(),
            source: None,
        };
    }
    Error::Network {
        url: url_text::shown(raw),
        message: e.to_string(),
        source: Some(Cause::new(e)),
    }
}
