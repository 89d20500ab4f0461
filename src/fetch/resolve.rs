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
//! times connection set-up for the per-load record: lookups here, and TCP and TLS apart in
//! ureq's own connectors chained as its default one chains them, with a time stamp between
//! them ([`Timed`], [`TcpDone`]); all run on the fetching thread, so the figures go to a
//! thread-local the fetch reads back ([`take_setup`]). Must not touch:
//! connections beyond timing them.

use std::cell::Cell;
use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    ConnectProxyConnector, ConnectionDetails, Connector, NextTimeout, RustlsConnector,
    TcpConnector, Transport,
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
        add_setup(|s| s.dns = add(s.dns, started.elapsed()));
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

/// An agent with `config`, ureq's connectors (CONNECT proxies, TCP, rustls), timed, and
/// this resolver.
pub(crate) fn agent(config: Config, block_private: bool) -> ureq::Agent {
    let connectors =
        ().chain(ConnectProxyConnector::default())
            .chain(TcpConnector::default())
            .chain(TcpDone)
            .chain(RustlsConnector::default());
    ureq::Agent::with_parts(config, Timed(connectors), OnThisThread { block_private })
}

/// Connection set-up this thread measured since the last [`take_setup`]: `None` for what
/// did not happen (a reused connection does none of it, `http:` has no TLS).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Setup {
    /// Name resolution, summed over lookups.
    pub(crate) dns: Option<Duration>,
    /// TCP connect (through a CONNECT proxy, if one is configured), summed.
    pub(crate) connect: Option<Duration>,
    /// TLS handshake, summed.
    pub(crate) tls: Option<Duration>,
}

thread_local! {
    /// This thread's connection set-up since the last [`take_setup`].
    static SETUP: Cell<Setup> = const { Cell::new(Setup { dns: None, connect: None, tls: None }) };
    /// When the connection being made had its TCP stream (set by [`TcpDone`]).
    static TCP_DONE: Cell<Option<Instant>> = const { Cell::new(None) };
}

fn add(total: Option<Duration>, d: Duration) -> Option<Duration> {
    Some(total.unwrap_or_default() + d)
}

fn add_setup(f: impl FnOnce(&mut Setup)) {
    SETUP.with(|cell| {
        let mut setup = cell.get();
        f(&mut setup);
        cell.set(setup);
    });
}

/// The time this thread spent resolving names, connecting and in TLS handshakes since the
/// last call.
pub(crate) fn take_setup() -> Setup {
    SETUP.with(|cell| cell.replace(Setup::default()))
}

/// ureq's connectors in the order of its `DefaultConnector` (CONNECT proxy, TCP, rustls; the
/// crate enables neither SOCKS nor native-tls, whose links ureq would add, and always
/// configures rustls), with [`TcpDone`] between TCP and TLS, timed as a whole, the transport
/// boxed (as ureq's own `DefaultConnector` boxes it): only new connections go through a
/// connector, so a reused keep-alive connection records nothing.
#[derive(Debug)]
struct Timed<C>(C);

impl<C: Connector<(), Out: Transport>> Connector<()> for Timed<C> {
    type Out = Box<dyn Transport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        TCP_DONE.with(|c| c.set(None));
        let started = Instant::now();
        let connected = self.0.connect(details, chained);
        let ended = Instant::now();
        let tcp_done = TCP_DONE.with(Cell::take);
        add_setup(|s| match tcp_done {
            // A TLS connection's handshake began when its TCP stream was there (an `http:`
            // one's time after that is nothing but the stamp itself).
            Some(at) => {
                s.connect = add(s.connect, at.saturating_duration_since(started));
                if details.needs_tls() {
                    s.tls = add(s.tls, ended.saturating_duration_since(at));
                }
            }
            // TCP failed (refused, timed out): all of it was the connect.
            None => s.connect = add(s.connect, ended.saturating_duration_since(started)),
        });
        Ok(connected?.map(Transport::boxed))
    }
}

/// A link that passes the TCP stream on, noting when it came.
#[derive(Debug)]
struct TcpDone;

impl<In: Transport> Connector<In> for TcpDone {
    type Out = In;

    fn connect(
        &self,
        _details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<In>, ureq::Error> {
        if chained.is_some() {
            TCP_DONE.with(|c| c.set(Some(Instant::now())));
        }
        Ok(chained)
    }
}
