//! The client's address, for rate limits: the socket's peer, or what a trusted reverse proxy
//! says in `X-Forwarded-For` or `Forwarded` (RFC 7239).
//!
//! A forwarding header is read only when the peer is one of the configured proxies
//! ([`ProxyTrust`]), and only the one header configured (a proxy that writes `X-Forwarded-For`
//! passes a client's own `Forwarded` through untouched, so reading both would let any client
//! choose its address). The header's hops are walked from the right, the nearest first: each
//! hop that is itself a trusted proxy is passed over, and the first one that is not is the
//! client. Behind one proxy that is the last hop; behind a chain it is the hop the outermost
//! trusted proxy added. Whatever the client wrote further left is never looked at, so it can
//! neither choose an address nor make the header fail to parse.
//!
//! Each hop read is parsed strictly: an IP address (IPv6 in brackets when a port follows, and
//! in `Forwarded` quoted as RFC 7239 requires), with an optional port; a hop that cannot be
//! read is a [`ClientError::Malformed`] (the service answers 400). A hop that says `unknown`,
//! or names an obfuscated node (`_hidden`), or an element of `Forwarded` without `for=`, means
//! the proxy could not tell: the client is then taken to be the proxy that said so, so such
//! clients share its allowance rather than escape the limit.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`, what a dual-stack socket reports) are
//! taken as the IPv4 address they carry, and [`limit_key`] groups an IPv6 client by its /64,
//! the block one host usually has to itself.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Which forwarding header the proxy writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx's `$proxy_add_x_forwarded_for`,
    /// Caddy's default).
    XForwardedFor,
    /// `Forwarded: for=client, for="[2001:db8::1]:4711"` (RFC 7239).
    Forwarded,
}

impl ProxyHeader {
    /// The header's name, lower-case as HTTP/2 writes it.
    pub fn name(self) -> &'static str {
        match self {
            ProxyHeader::XForwardedFor => "x-forwarded-for",
            ProxyHeader::Forwarded => "forwarded",
        }
    }
}

/// A block of addresses: `192.0.2.0/24`, `2001:db8::/32`, or one address (`127.0.0.1`, `::1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a proxy address or block was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// Not an IP address, optionally followed by `/` and a prefix length in decimal digits.
    #[error("`{0}` is not an IP address or a block such as 10.0.0.0/8")]
    Syntax(String),
    /// The prefix length is longer than the address.
    #[error("`{0}`: the prefix length is longer than the address")]
    Prefix(String),
    /// Bits are set after the prefix (`10.0.0.1/8`): probably not the block meant.
    #[error("`{0}`: the address has bits set after the prefix (write the block's first address)")]
    HostBits(String),
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Cidr, CidrError> {
        let syntax = || CidrError::Syntax(text.to_string());
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network = IpAddr::from_str(address).map_err(|_| syntax())?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) if (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) => p
                .parse::<u8>()
                .map_err(|_| CidrError::Prefix(text.to_string()))?,
            Some(_) => return Err(syntax()),
        };
        if prefix > bits {
            return Err(CidrError::Prefix(text.to_string()));
        }
        let cidr = Cidr { network, prefix };
        if masked(network, prefix) != network {
            return Err(CidrError::HostBits(text.to_string()));
        }
        Ok(cidr)
    }
}

impl Cidr {
    /// Whether `ip` is in the block (an IPv4 address is never in an IPv6 block, nor the other
    /// way round; give IPv4-mapped addresses as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                masked(ip, self.prefix) == self.network
            }
            _ => false,
        }
    }
}

/// `ip` with every bit after the first `prefix` cleared.
fn masked(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

/// The key to rate-limit a client by: its IPv4 address, or its IPv6 address's /64.
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => masked(IpAddr::V6(v6), 64),
        v4 => v4,
    }
}

/// Why the client's address could not be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// A trusted proxy's forwarding header has a hop that cannot be read.
    #[error("the forwarding header from the proxy cannot be read")]
    Malformed,
}

/// Which peers are reverse proxies whose forwarding header is believed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyTrust {
    header: ProxyHeader,
    proxies: Vec<Cidr>,
}

impl Default for ProxyTrust {
    fn default() -> ProxyTrust {
        ProxyTrust::none()
    }
}

impl ProxyTrust {
    /// No proxy: the client is always the socket's peer, and no header is read.
    pub fn none() -> ProxyTrust {
        ProxyTrust {
            header: ProxyHeader::XForwardedFor,
            proxies: Vec::new(),
        }
    }

    /// Trust `header` from peers in `proxies` (addresses or blocks, as [`Cidr`] reads them).
    pub fn new<S: AsRef<str>>(header: ProxyHeader, proxies: &[S]) -> Result<ProxyTrust, CidrError> {
        let proxies = proxies
            .iter()
            .map(|p| p.as_ref().parse())
            .collect::<Result<Vec<Cidr>, _>>()?;
        Ok(ProxyTrust { header, proxies })
    }

    /// The header to read; `None` when no proxy is trusted.
    pub fn header(&self) -> Option<ProxyHeader> {
        (!self.proxies.is_empty()).then_some(self.header)
    }

    /// Whether `ip` is a trusted proxy.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.proxies.iter().any(|p| p.contains(ip))
    }

    /// The client's address, from the socket's `peer` and every value of the configured header
    /// in the order received (`values` may be empty; several lines are one list).
    pub fn client<'a, I>(&self, peer: IpAddr, values: I) -> Result<IpAddr, ClientError>
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        let mut current = peer.to_canonical();
        if !self.trusts(current) {
            return Ok(current);
        }
        let mut hops = Vec::new();
        for value in values {
            let text = std::str::from_utf8(value).map_err(|_| ClientError::Malformed)?;
            if !text
                .bytes()
                .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
            {
                return Err(ClientError::Malformed);
            }
            split_outside_quotes(text, ',', &mut hops);
        }
        for hop in hops.iter().rev() {
            let hop = match self.header {
                ProxyHeader::XForwardedFor => x_forwarded_for_hop(hop),
                ProxyHeader::Forwarded => forwarded_hop(hop),
            }
            .ok_or(ClientError::Malformed)?;
            match hop {
                Hop::Unknown => return Ok(current),
                Hop::Ip(ip) if self.trusts(ip) => current = ip.to_canonical(),
                Hop::Ip(ip) => return Ok(ip.to_canonical()),
            }
        }
        Ok(current)
    }
}

/// One hop of a forwarding header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hop {
    /// An address.
    Ip(IpAddr),
    /// `unknown`, an obfuscated node, or no `for=`.
    Unknown,
}

/// Splits `text` at `separator`s outside double-quoted strings (a backslash escapes the next
/// character inside one), pushing each piece.
fn split_outside_quotes<'a>(text: &'a str, separator: char, out: &mut Vec<&'a str>) {
    let (mut quoted, mut escaped, mut start) = (false, false, 0);
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == separator && !quoted {
            out.push(&text[start..i]);
            start = i + 1;
        }
    }
    out.push(&text[start..]);
}

fn trim_ows(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

/// A hop of `X-Forwarded-For`: `192.0.2.1`, `192.0.2.1:80`, `2001:db8::1`, `[2001:db8::1]`,
/// `[2001:db8::1]:80`, or `unknown`.
fn x_forwarded_for_hop(text: &str) -> Option<Hop> {
    let text = trim_ows(text);
    if text.eq_ignore_ascii_case("unknown") {
        return Some(Hop::Unknown);
    }
    if let Ok(ip) = IpAddr::from_str(text) {
        return Some(Hop::Ip(ip));
    }
    node_with_port(text, port_digits).map(Hop::Ip)
}

/// `[v6]`, `[v6]:port` or `v4:port`, the port checked by `port_ok`.
fn node_with_port(text: &str, port_ok: fn(&str) -> bool) -> Option<IpAddr> {
    if let Some(rest) = text.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        let ip = Ipv6Addr::from_str(v6).ok()?;
        return match after {
            "" => Some(IpAddr::V6(ip)),
            _ => after
                .strip_prefix(':')
                .filter(|p| port_ok(p))
                .map(|_| IpAddr::V6(ip)),
        };
    }
    let (v4, port) = text.split_once(':')?;
    let ip = Ipv4Addr::from_str(v4).ok()?;
    port_ok(port).then_some(IpAddr::V4(ip))
}

fn port_digits(port: &str) -> bool {
    (1..=5).contains(&port.len())
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok()
}

/// An RFC 7239 port: digits, or an obfuscated identifier.
fn forwarded_port(port: &str) -> bool {
    port_digits(port) || obfuscated(port)
}

/// `_` followed by letters, digits, `.`, `_` or `-` (RFC 7239 section 6.3).
fn obfuscated(text: &str) -> bool {
    text.len() > 1
        && text.starts_with('_')
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// A character of an HTTP token (RFC 9110).
fn tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A hop of `Forwarded`: `;`-separated `name=value` pairs, of which `for` is read.
fn forwarded_hop(element: &str) -> Option<Hop> {
    // Spaces may surround a list's elements, not the pairs inside one.
    let mut pairs = Vec::new();
    split_outside_quotes(trim_ows(element), ';', &mut pairs);
    let mut node = None;
    for pair in pairs {
        if pair.is_empty() {
            continue;
        }
        let (name, value) = pair.split_once('=')?;
        if name.is_empty() || !name.bytes().all(tchar) {
            return None;
        }
        let value = forwarded_value(value)?;
        if name.eq_ignore_ascii_case("for") {
            if node.is_some() {
                return None;
            }
            node = Some(value);
        }
    }
    let Some(node) = node else {
        return Some(Hop::Unknown);
    };
    if node.eq_ignore_ascii_case("unknown") || obfuscated(&node) {
        return Some(Hop::Unknown);
    }
    if let Ok(ip) = Ipv4Addr::from_str(&node) {
        return Some(Hop::Ip(IpAddr::V4(ip)));
    }
    // An IPv6 address is written in brackets, with or without a port.
    if node.starts_with('[') || node.contains(':') {
        return node_with_port(&node, forwarded_port).map(Hop::Ip);
    }
    None
}

/// A token, or a quoted string with its escapes undone.
fn forwarded_value(value: &str) -> Option<String> {
    match value.strip_prefix('"') {
        Some(rest) => {
            let inner = rest.strip_suffix('"')?;
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => out.push(chars.next()?),
                    '"' => return None,
                    c => out.push(c),
                }
            }
            Some(out)
        }
        None if !value.is_empty() && value.bytes().all(tchar) => Some(value.to_string()),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn xff() -> ProxyTrust {
        ProxyTrust::new(
            ProxyHeader::XForwardedFor,
            &["127.0.0.1", "10.0.0.0/8", "::1"],
        )
        .unwrap()
    }

    fn fwd() -> ProxyTrust {
        ProxyTrust::new(
            ProxyHeader::Forwarded,
            &["127.0.0.1", "10.0.0.0/8", "fd00::/8"],
        )
        .unwrap()
    }

    fn client(trust: &ProxyTrust, peer: &str, values: &[&str]) -> Result<IpAddr, ClientError> {
        trust.client(ip(peer), values.iter().map(|v| v.as_bytes()))
    }

    #[test]
    fn without_a_trusted_proxy_the_peer_is_the_client() {
        let none = ProxyTrust::none();
        assert_eq!(none.header(), None);
        assert_eq!(
            client(&none, "198.51.100.7", &["203.0.113.9"]),
            Ok(ip("198.51.100.7"))
        );
        // An untrusted peer's header is not even parsed.
        assert_eq!(
            client(&xff(), "198.51.100.7", &["1.2.3.4", "garbage"]),
            Ok(ip("198.51.100.7"))
        );
        assert_eq!(
            client(&none, "::ffff:198.51.100.7", &[]),
            Ok(ip("198.51.100.7"))
        );
    }

    #[test]
    fn behind_one_proxy_the_last_hop_is_the_client() {
        let t = xff();
        assert_eq!(
            client(&t, "127.0.0.1", &["203.0.113.9"]),
            Ok(ip("203.0.113.9"))
        );
        // Whatever the client wrote itself is on the left, and ignored.
        assert_eq!(
            client(&t, "127.0.0.1", &["6.6.6.6, not an address, 203.0.113.9"]),
            Ok(ip("203.0.113.9"))
        );
        assert_eq!(
            client(&t, "127.0.0.1", &["1.1.1.1", "203.0.113.9"]),
            Ok(ip("203.0.113.9"))
        );
        // No header from the proxy: the proxy itself.
        assert_eq!(client(&t, "127.0.0.1", &[]), Ok(ip("127.0.0.1")));
        // A dual-stack socket's mapped address is the proxy.
        assert_eq!(
            client(&t, "::ffff:127.0.0.1", &["203.0.113.9"]),
            Ok(ip("203.0.113.9"))
        );
    }

    #[test]
    fn through_a_chain_of_trusted_proxies() {
        let t = xff();
        assert_eq!(
            client(
                &t,
                "127.0.0.1",
                &["6.6.6.6, 203.0.113.9, 10.1.2.3, 10.0.0.1"]
            ),
            Ok(ip("203.0.113.9"))
        );
        // Every hop trusted: the leftmost.
        assert_eq!(
            client(&t, "127.0.0.1", &["10.1.2.3, 10.0.0.1"]),
            Ok(ip("10.1.2.3"))
        );
        // A client claiming to be a trusted proxy only gets as far as the untrusted hop.
        assert_eq!(
            client(&t, "127.0.0.1", &["10.9.9.9, 203.0.113.9"]),
            Ok(ip("203.0.113.9"))
        );
    }

    #[test]
    fn x_forwarded_for_hops_with_ports_and_ipv6() {
        let t = xff();
        for (value, expected) in [
            ("203.0.113.9:4711", "203.0.113.9"),
            ("2001:db8::17", "2001:db8::17"),
            ("[2001:db8::17]", "2001:db8::17"),
            ("[2001:db8::17]:4711", "2001:db8::17"),
            ("\t 203.0.113.9 ", "203.0.113.9"),
            ("::ffff:203.0.113.9", "203.0.113.9"),
        ] {
            assert_eq!(client(&t, "::1", &[value]), Ok(ip(expected)), "{value}");
        }
        assert_eq!(client(&t, "::1", &["unknown"]), Ok(ip("::1")));
    }

    #[test]
    fn malformed_hops_read_are_refused() {
        let t = xff();
        for bad in [
            "",
            "203.0.113.9,",
            "203.0.113.9, ,",
            "203.0.113.256",
            "203.0.113.9:",
            "203.0.113.9:99999",
            "203.0.113.9:+80",
            "2001:db8::17:4711x",
            "[2001:db8::17",
            "[203.0.113.9]",
            "[2001:db8::17]x",
            "example.com",
            "203.0.113.9 10.0.0.1",
            "0x7f.1",
            "203.0.113.9\u{0}",
            "2001:db8::17%eth0",
        ] {
            assert_eq!(
                client(&t, "127.0.0.1", &[bad]),
                Err(ClientError::Malformed),
                "{bad:?}"
            );
        }
        assert_eq!(
            t.client(ip("127.0.0.1"), [&b"203.0.113.9\xff"[..]]),
            Err(ClientError::Malformed)
        );
        assert_eq!(
            client(&t, "127.0.0.1", &["203.0.113.9\r\n"]),
            Err(ClientError::Malformed)
        );
    }

    #[test]
    fn forwarded_is_read_as_rfc_7239_writes_it() {
        let t = fwd();
        for (value, expected) in [
            ("for=203.0.113.9", "203.0.113.9"),
            ("For=203.0.113.9;proto=https;by=10.0.0.1", "203.0.113.9"),
            ("for=\"203.0.113.9:4711\"", "203.0.113.9"),
            ("for=\"[2001:db8:cafe::17]\"", "2001:db8:cafe::17"),
            ("for=\"[2001:db8:cafe::17]:4711\"", "2001:db8:cafe::17"),
            ("for=\"[2001:db8:cafe::17]:_port\"", "2001:db8:cafe::17"),
            ("for=6.6.6.6, for=203.0.113.9", "203.0.113.9"),
            (
                "for=6.6.6.6;host=\"a,b\", for=203.0.113.9;proto=http",
                "203.0.113.9",
            ),
            ("for=203.0.113.9, for=10.0.0.7", "203.0.113.9"),
            (
                "for=203.0.113.9 ,\tfor=10.0.0.7;;proto=https ",
                "203.0.113.9",
            ),
            ("for=\"\\2\\03.0.113.9\"", "203.0.113.9"),
        ] {
            assert_eq!(
                client(&t, "127.0.0.1", &[value]),
                Ok(ip(expected)),
                "{value}"
            );
        }
        // A proxy that could not tell: the proxy that said so.
        for value in [
            "for=unknown",
            "for=_hidden",
            "proto=https",
            "for=203.0.113.9, for=unknown",
        ] {
            assert_eq!(
                client(&t, "10.0.0.2", &[value]),
                Ok(ip("10.0.0.2")),
                "{value}"
            );
        }
        assert_eq!(
            client(
                &t,
                "127.0.0.1",
                &["for=203.0.113.9, for=10.0.0.7;by=x, for=_hidden"]
            ),
            Ok(ip("127.0.0.1"))
        );
        assert_eq!(
            client(
                &t,
                "127.0.0.1",
                &["for=203.0.113.9, for=unknown, for=10.0.0.7"]
            ),
            Ok(ip("10.0.0.7"))
        );
    }

    #[test]
    fn malformed_forwarded_is_refused() {
        let t = fwd();
        for bad in [
            "for=[2001:db8::17]",
            "for=203.0.113.9:80",
            "for=\"203.0.113.9",
            "for=\"203.0.113\"9\"",
            "for=",
            "for=203.0.113.9;for=1.2.3.4",
            "=203.0.113.9",
            "f r=1.2.3.4",
            "for=\"[2001:db8::17]:\"",
            "for=\"_\"",
            "for=203.0.113.9 ;proto=http",
            "for= 203.0.113.9",
            "for=example.com",
            "for=\"[203.0.113.9]\"",
        ] {
            assert_eq!(
                client(&t, "127.0.0.1", &[bad]),
                Err(ClientError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn only_the_configured_header_is_read() {
        // A Forwarded value handed to an X-Forwarded-For reader is malformed, and the other
        // way round: the service passes only the configured header's values.
        assert_eq!(
            client(&xff(), "127.0.0.1", &["for=203.0.113.9"]),
            Err(ClientError::Malformed)
        );
        assert_eq!(
            client(&fwd(), "127.0.0.1", &["203.0.113.9"]),
            Err(ClientError::Malformed)
        );
        assert_eq!(
            xff().header().map(ProxyHeader::name),
            Some("x-forwarded-for")
        );
        assert_eq!(fwd().header().map(ProxyHeader::name), Some("forwarded"));
    }

    #[test]
    fn blocks_are_parsed_strictly() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains(ip("10.255.0.1")) && !c.contains(ip("11.0.0.1")));
        assert!(!c.contains(ip("::ffff:10.0.0.1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")) && !all.contains(ip("::1")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
        let one: Cidr = "::1".parse().unwrap();
        assert!(one.contains(ip("::1")) && !one.contains(ip("::2")));
        for bad in [
            "",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/ 8",
            " 10.0.0.0/8",
            "10.0.0.0/8/8",
            "10/8",
            "[::1]",
            "::1/0128",
            "10.0.0.0/-1",
            "localhost",
        ] {
            assert!(
                matches!(bad.parse::<Cidr>(), Err(CidrError::Syntax(_))),
                "{bad:?}"
            );
        }
        for bad in ["10.0.0.0/33", "::/129", "10.0.0.0/255"] {
            assert!(
                matches!(bad.parse::<Cidr>(), Err(CidrError::Prefix(_))),
                "{bad:?}"
            );
        }
        for bad in ["10.0.0.1/8", "2001:db8::1/32"] {
            assert!(
                matches!(bad.parse::<Cidr>(), Err(CidrError::HostBits(_))),
                "{bad:?}"
            );
        }
        assert!(ProxyTrust::new(ProxyHeader::Forwarded, &["10.0.0.0/8", "nope"]).is_err());
    }

    #[test]
    fn limit_keys_group_ipv6_by_64() {
        assert_eq!(limit_key(ip("203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(limit_key(ip("::ffff:203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(limit_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            limit_key(ip("2001:db8:1:2:bbbb::9")),
            limit_key(ip("2001:db8:1:2::1"))
        );
        assert_ne!(
            limit_key(ip("2001:db8:1:3::1")),
            limit_key(ip("2001:db8:1:2::1"))
        );
    }
}
