//! The address a request comes from, for sign-in limiting and the audit
//! log's `ip`.
//!
//! `X-Forwarded-For` is whatever the client wrote, plus what each proxy
//! appended; only the hops added by proxies we run can be believed. So the
//! header is read only when the connection itself comes from a configured
//! trusted proxy, and then from the right: the first address that is not a
//! trusted proxy is the client. Without a configured proxy the header is
//! ignored, and a guesser cannot give every attempt a fresh address.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// An address or a block of them, as `--trusted-proxy` takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressBlock {
    network: IpAddr,
    prefix: u8,
}

impl AddressBlock {
    /// `10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`.
    pub fn parse(s: &str) -> Result<AddressBlock, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let network: IpAddr =
            addr.parse().map_err(|_| format!("'{s}' is not an IP address or a block such as 10.0.0.0/8"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("'{s}': the prefix length must be 0 to {max}"))?,
        };
        Ok(AddressBlock { network, prefix })
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        let (a, n, bits) = match (canonical(addr), self.network) {
            (IpAddr::V4(a), IpAddr::V4(n)) => (u128::from(u32::from(a)), u128::from(u32::from(n)), 32),
            (IpAddr::V6(a), IpAddr::V6(n)) => (u128::from(a), u128::from(n), 128),
            _ => return false,
        };
        let shift = bits - u32::from(self.prefix);
        // A shift by the full width (prefix 0) means every address matches.
        a.checked_shr(shift).unwrap_or(0) == n.checked_shr(shift).unwrap_or(0)
    }
}

/// The proxies allowed to say who the client is.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<AddressBlock>);

impl TrustedProxies {
    /// A comma-separated list, e.g. `127.0.0.1,10.0.0.0/8`; empty for none.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        list.split(',')
            .filter(|p| !p.trim().is_empty())
            .map(AddressBlock::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, addr: IpAddr) -> bool {
        self.0.iter().any(|b| b.contains(addr))
    }

    /// The client's address for a connection from `peer` with `headers`.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        // Every X-Forwarded-For line, in order, as one list.
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect::<Vec<_>>();
        for hop in hops.iter().rev() {
            // Something unreadable was not written by a proxy of ours: the
            // last address a trusted hop vouched for is as far as we know.
            let Some(addr) = parse_hop(hop) else { break };
            client = addr;
            if !self.trusts(addr) {
                break;
            }
        }
        client
    }
}

/// One hop: an address, maybe with a port (`203.0.113.7:5123`,
/// `[2001:db8::1]:443`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(addr) = hop.parse::<IpAddr>() {
        return Some(canonical(addr));
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']').and_then(|(a, _)| a.parse().ok()).map(canonical);
    }
    hop.rsplit_once(':').and_then(|(a, _)| a.parse::<std::net::Ipv4Addr>().ok()).map(IpAddr::V4)
}

/// IPv4 written as IPv6 (`::ffff:10.0.0.1`, as dual-stack sockets report
/// it) is the IPv4 address.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(addr),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn forwarded(values: &[&'static str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn blocks_parse_and_match() {
        let b = AddressBlock::parse("10.0.0.0/8").unwrap();
        assert!(b.contains(ip("10.200.3.4")) && !b.contains(ip("11.0.0.1")));
        assert!(b.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped IPv6 is IPv4");
        assert!(AddressBlock::parse("0.0.0.0/0").unwrap().contains(ip("203.0.113.9")));
        assert!(AddressBlock::parse("fd00::/8").unwrap().contains(ip("fd12::1")));
        assert!(AddressBlock::parse("127.0.0.1").unwrap().contains(ip("127.0.0.1")));
        assert!(!AddressBlock::parse("127.0.0.1").unwrap().contains(ip("127.0.0.2")));
        for bad in ["", "10.0.0.0/33", "::/129", "10.0.0.0/x", "proxy.local", "10.0.0.0/-1"] {
            assert!(AddressBlock::parse(bad).is_err(), "{bad}");
        }
        assert!(TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").is_ok());
        assert!(TrustedProxies::parse("127.0.0.1,nope").is_err());
    }

    #[test]
    fn without_a_trusted_proxy_the_header_is_ignored() {
        let none = TrustedProxies::default();
        let h = forwarded(&["198.51.100.1"]);
        assert_eq!(none.client_address(ip("203.0.113.7"), &h), ip("203.0.113.7"));
        // A trusted proxy elsewhere does not make this peer one.
        let some = TrustedProxies::parse("10.0.0.1").unwrap();
        assert_eq!(some.client_address(ip("203.0.113.7"), &h), ip("203.0.113.7"));
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let p = TrustedProxies::parse("10.0.0.0/8,127.0.0.1").unwrap();
        // The client claims to be 1.2.3.4; the edge proxy saw 198.51.100.7.
        let h = forwarded(&["1.2.3.4, 198.51.100.7", "10.0.0.2"]);
        assert_eq!(p.client_address(ip("127.0.0.1"), &h), ip("198.51.100.7"));
        assert_eq!(p.client_address(ip("::ffff:127.0.0.1"), &h), ip("198.51.100.7"));
        let ports = forwarded(&["[2001:db8::1]:443, 198.51.100.8:5123"]);
        assert_eq!(p.client_address(ip("10.0.0.3"), &ports), ip("198.51.100.8"));
        // No header: the proxy itself.
        assert_eq!(p.client_address(ip("10.0.0.3"), &HeaderMap::new()), ip("10.0.0.3"));
        // Junk stops the walk at the last address a trusted hop gave.
        let junk = forwarded(&["198.51.100.9, garbage, 10.0.0.5"]);
        assert_eq!(p.client_address(ip("10.0.0.3"), &junk), ip("10.0.0.5"));
    }
}
