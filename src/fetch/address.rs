//! Which network addresses a loader with `Config::block_private_networks` refuses to dial.
//!
//! Owns: the classification of one IP address, and nothing else. Must not touch: name
//! resolution or connections (`resolve.rs` applies this to every address a host name resolves
//! to, before ureq dials any of them).
//!
//! Refused, each with the reason given in the error:
//!
//! | range | what |
//! | --- | --- |
//! | `0.0.0.0/8`, `::/128` | "this host" / unspecified (Linux dials the local host for `0.0.0.0`) |
//! | `127.0.0.0/8`, `::1/128` | loopback |
//! | `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16` | private (RFC 1918) |
//! | `fc00::/7` | unique local (private IPv6) |
//! | `100.64.0.0/10` | carrier-grade NAT (shared address space, RFC 6598) |
//! | `169.254.0.0/16`, `fe80::/10`, `fec0::/10` | link-local (cloud metadata services live here), site-local |
//! | `192.0.0.0/24`, `192.0.2.0/24`, `198.18.0.0/15`, `198.51.100.0/24`, `203.0.113.0/24`, `2001:db8::/32` | IETF protocol assignments, documentation, benchmarking |
//! | `224.0.0.0/4`, `ff00::/8`, `255.255.255.255` | multicast, broadcast |
//! | `240.0.0.0/4`, `100::/64` | reserved, discard-only |
//! | `::ffff:0:0/96`, `::/96` | IPv4 in IPv6 (mapped, compatible): judged by the IPv4 address inside |
//! | `64:ff9b::/96` | NAT64: judged by the IPv4 address inside |
//! | `64:ff9b:1::/48` | local-use NAT64 |
//! | `2002::/16` | 6to4: judged by the IPv4 address inside |
//! | `2001::/32` | Teredo (carries an obfuscated IPv4 address): refused outright |
//! | `192.88.99.0/24` | 6to4 relay anycast |

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why `ip` may not be dialed, or `None` if it is a public address.
pub(crate) fn blocked(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => blocked_v4(v4),
        IpAddr::V6(v6) => blocked_v6(v6),
    }
}

fn blocked_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let reason = match (a, b, c) {
        (0, _, _) => "an unspecified (this-host) address",
        (127, _, _) => "a loopback address",
        (10, _, _) | (192, 168, _) => "a private address",
        (172, 16..=31, _) => "a private address",
        (100, 64..=127, _) => "a carrier-grade NAT address",
        (169, 254, _) => "a link-local address",
        (192, 0, 0) | (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => {
            "a reserved or documentation address"
        }
        (198, 18..=19, _) => "a benchmarking address",
        (192, 88, 99) => "a 6to4 relay address",
        (224..=239, _, _) => "a multicast address",
        (240..=255, _, _) => "a reserved or broadcast address",
        _ => return None,
    };
    Some(reason)
}

fn blocked_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_unspecified() {
        return Some("an unspecified (this-host) address");
    }
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d): the IPv4 address decides.
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        return blocked_v4(embedded_v4(s[6], s[7]));
    }
    // NAT64 well-known prefix 64:ff9b::/96.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return blocked_v4(embedded_v4(s[6], s[7]));
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
        return Some("a local-use NAT64 address");
    }
    // 6to4: 2002:AABB:CCDD::/48 carries a.b.c.d.
    if s[0] == 0x2002 {
        return blocked_v4(embedded_v4(s[1], s[2]));
    }
    if s[0] == 0x2001 && s[1] == 0 {
        return Some("a Teredo address (it tunnels to an IPv4 address)");
    }
    if s[0] & 0xfe00 == 0xfc00 {
        return Some("a unique local (private) address");
    }
    if s[0] & 0xffc0 == 0xfe80 || s[0] & 0xffc0 == 0xfec0 {
        return Some("a link-local or site-local address");
    }
    if s[0] & 0xff00 == 0xff00 {
        return Some("a multicast address");
    }
    if s[0] == 0x2001 && s[1] == 0xdb8 {
        return Some("a documentation address");
    }
    if s[..4] == [0x100, 0, 0, 0] {
        return Some("a discard-only address");
    }
    None
}

fn embedded_v4(high: u16, low: u16) -> Ipv4Addr {
    let [a, b] = high.to_be_bytes();
    let [c, d] = low.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_blocked(s: &str) -> bool {
        blocked(s.parse().unwrap()).is_some()
    }

    #[test]
    fn refuses_local_private_and_special_addresses() {
        for addr in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.255.255.254",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "169.254.169.254",
            "192.0.2.1",
            "198.18.0.1",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "100::1",
        ] {
            assert!(is_blocked(addr), "{addr} must be refused");
        }
    }

    #[test]
    fn allows_public_addresses() {
        for addr in [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.216.34",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001:81c::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(!is_blocked(addr), "{addr} must be allowed");
        }
    }
}
