//! Name resolution on the calling thread.
//!
//! Owns: the `ureq` resolver every agent of this crate uses. ureq's default resolver starts a
//! thread per lookup whenever a timeout covers the lookup (as a total deadline does), which
//! would break the rule that no thread is started per request. This one resolves on the
//! worker (or upload) thread itself, bounded by the system resolver's own timeouts
//! (`/etc/resolv.conf` `timeout` x `attempts`, 10 s by default on glibc). Must not touch:
//! connections; it only turns a host name into addresses.

use std::fmt;
use std::net::ToSocketAddrs;

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

/// Resolves with `std::net::ToSocketAddrs` on the calling thread.
pub(crate) struct OnThisThread;

impl fmt::Debug for OnThisThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnThisThread")
    }
}

impl Resolver for OnThisThread {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            return Err(ureq::Error::BadUri(format!("{uri} has no host")));
        };
        let Some(addr) = DefaultResolver::host_and_port(scheme, authority) else {
            return Err(ureq::Error::BadUri(format!("{uri} has no port")));
        };
        let mut result = self.empty();
        for found in config.ip_family().keep_wanted(addr.to_socket_addrs()?) {
            if result.try_push(found).is_err() {
                break;
            }
        }
        if result.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        Ok(result)
    }
}

/// An agent with `config`, the default connector (TCP, TLS, proxies) and this resolver.
pub(crate) fn agent(config: Config) -> ureq::Agent {
    ureq::Agent::with_parts(config, DefaultConnector::default(), OnThisThread)
}
