//! Name resolution on the calling thread, and the address check of
//! `Config::block_private_networks`.
//!
//! Owns: the `ureq` resolver every agent of this crate uses. ureq's default resolver starts a
//! thread per lookup whenever a timeout covers the lookup (as a total deadline does), which
//! would break the rule that no thread is started per request. This one resolves on the
//! worker (or upload) thread itself, bounded by the system resolver's own timeouts
//! (`/etc/resolv.conf` `timeout` x `attempts`, 10 s by default on glibc). When private
//! networks are blocked, every address the host resolves to is checked (`address.rs`) and
//! only then handed to ureq, which dials exactly those: the check is on the address dialed,
//! after resolution, for every redirect hop, so DNS rebinding cannot slip past it. Must not
//! touch: connections.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use super::address;

/// A host whose addresses the network policy refuses (carried through ureq as
/// `ureq::Error::Other`, and turned into `Error::Blocked`).
#[derive(Debug)]
pub(crate) struct BlockedAddress {
    pub(crate) host: String,
    pub(crate) addr: SocketAddr,
    pub(crate) reason: &'static str,
}

impl fmt::Display for BlockedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} resolves to {}, {}; private networks are blocked",
            self.host,
            self.addr.ip(),
            self.reason
        )
    }
}

impl std::error::Error for BlockedAddress {}

/// Resolves with `std::net::ToSocketAddrs` on the calling thread.
pub(crate) struct OnThisThread {
    /// Refuse hosts that resolve to private, loopback, link-local and other special addresses.
    pub(crate) block_private: bool,
}

impl fmt::Debug for OnThisThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnThisThread")
            .field("block_private", &self.block_private)
            .finish()
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
            // One refused address refuses the host: a name that resolves to a public and a
            // private address is someone steering us.
            if self.block_private
                && let Some(reason) = address::blocked(found.ip())
            {
                let blocked = BlockedAddress {
                    host: authority.host().to_string(),
                    addr: found,
                    reason,
                };
                return Err(ureq::Error::Other(Box::new(blocked)));
            }
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
pub(crate) fn agent(config: Config, block_private: bool) -> ureq::Agent {
    ureq::Agent::with_parts(
        config,
        DefaultConnector::default(),
        OnThisThread { block_private },
    )
}
