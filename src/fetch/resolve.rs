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
//! after resolution, for every redirect hop, so DNS rebinding cannot slip past it. It also
//! times connection set-up for the per-load record: lookups here, and TCP + TLS in a
//! connector wrapped around ureq's own ([`Timed`]); both run on the fetching thread, so the
//! figures go to a thread-local the fetch reads back ([`take_setup`]). Must not touch:
//! connections beyond timing them.

use std::cell::Cell;
use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    ConnectionDetails, Connector, DefaultConnector, NextTimeout, Transport,
};

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
        let started = Instant::now();
        let found = addr.to_socket_addrs();
        add_setup(|s| s.0 = Some(s.0.unwrap_or_default() + started.elapsed()));
        for found in config.ip_family().keep_wanted(found?) {
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

/// An agent with `config`, the default connector (TCP, TLS, proxies), timed, and this
/// resolver.
pub(crate) fn agent(config: Config, block_private: bool) -> ureq::Agent {
    ureq::Agent::with_parts(
        config,
        Timed(DefaultConnector::default()),
        OnThisThread { block_private },
    )
}

thread_local! {
    /// This thread's connection set-up since the last [`take_setup`]: lookups, connects.
    static SETUP: Cell<(Option<Duration>, Option<Duration>)> = const { Cell::new((None, None)) };
}

fn add_setup(f: impl FnOnce(&mut (Option<Duration>, Option<Duration>))) {
    SETUP.with(|cell| {
        let mut setup = cell.get();
        f(&mut setup);
        cell.set(setup);
    });
}

/// The time this thread spent resolving names and connecting (TCP and TLS) since the last
/// call; `None` for what did not happen (a reused connection does neither).
pub(crate) fn take_setup() -> (Option<Duration>, Option<Duration>) {
    SETUP.with(|cell| cell.replace((None, None)))
}

/// ureq's default connector, timed: only new connections go through a connector, so a
/// reused keep-alive connection records nothing.
#[derive(Debug)]
struct Timed(DefaultConnector);

impl Connector<()> for Timed {
    type Out = Box<dyn Transport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let started = Instant::now();
        let connected = self.0.connect(details, chained);
        add_setup(|s| s.1 = Some(s.1.unwrap_or_default() + started.elapsed()));
        connected
    }
}
