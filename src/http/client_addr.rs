//! The client's address behind reverse proxies. Rate limits count per this address, so it must be one that the
//! client cannot choose: forwarding headers are read from the right, past the proxies the deployment trusts, and
//! whatever a client wrote to the left of that is ignored.

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use actix_web::http::header::{FORWARDED, HeaderName};

use crate::config::TrustedProxies;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The client's address: the TCP peer, or behind trusted proxies the first address, counted from the right of
/// `X-Forwarded-For` (or `Forwarded`), that no trusted proxy appended.
pub fn client_ip(req: &HttpRequest, trusted: &TrustedProxies) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip());
    if matches!(trusted, TrustedProxies::None) {
        return peer;
    }
    let peer = peer?;
    let mut chain = forwarded_chain(req);
    chain.push(Some(peer));
    Some(pick_client(&chain, trusted).unwrap_or(peer))
}

/// The addresses each hop reported, oldest first; `None` for an entry that is not an address (`unknown`, an
/// obfuscated identifier or garbage). `Forwarded` wins over `X-Forwarded-For` when both are sent.
fn forwarded_chain(req: &HttpRequest) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<&str> = req
        .headers()
        .get_all(FORWARDED)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, value)| parse_node(value))
            })
            .collect();
    }
    req.headers()
        .get_all(X_FORWARDED_FOR)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(parse_node)
        .collect()
}

/// One hop's address: `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1`, `"[2001:db8::1]:4711"`.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            text.strip_prefix('[')
                .and_then(|rest| rest.split_once(']'))
                .and_then(|(ip, _)| ip.parse().ok())
        })
}

/// Walks `chain` (the TCP peer last) from the right past the trusted proxies. An entry that a trusted proxy
/// wrote but that is not an address answers `None`: the caller then falls back to the peer.
fn pick_client(chain: &[Option<IpAddr>], trusted: &TrustedProxies) -> Option<IpAddr> {
    match trusted {
        TrustedProxies::None => chain.last().copied().flatten(),
        TrustedProxies::Hops(hops) => {
            // The peer is the nearest proxy; each trusted proxy appended the address it received from.
            let index = chain.len().saturating_sub(1).saturating_sub(*hops as usize);
            chain[index]
        }
        TrustedProxies::Addresses(proxies) => {
            let mut client = None;
            for entry in chain.iter().rev() {
                client = *entry;
                match entry {
                    Some(ip) if proxies.contains(ip) => continue,
                    _ => break,
                }
            }
            client
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(list: &[&str]) -> Vec<Option<IpAddr>> {
        list.iter().map(|s| parse_node(s)).collect()
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn hops_count_from_the_right() {
        // The client wrote 6.6.6.6; proxy 1 (peer 10.0.0.2) appended the real client 203.0.113.7.
        let chain = ips(&["6.6.6.6", "203.0.113.7", "10.0.0.2"]);
        assert_eq!(pick_client(&chain, &TrustedProxies::Hops(1)), ip("203.0.113.7"));
        // Two proxies: the outer one (10.0.0.1) appended the client, the inner one appended the outer one.
        let chain = ips(&["6.6.6.6", "203.0.113.7", "10.0.0.1", "10.0.0.2"]);
        assert_eq!(pick_client(&chain, &TrustedProxies::Hops(2)), ip("203.0.113.7"));
        // A chain shorter than the proxies configured: the leftmost entry, which a trusted proxy wrote.
        assert_eq!(
            pick_client(&ips(&["203.0.113.7", "10.0.0.2"]), &TrustedProxies::Hops(3)),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn trusted_addresses_are_skipped_from_the_right() {
        let proxies = TrustedProxies::Addresses(vec!["10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()]);
        let chain = ips(&["6.6.6.6", "203.0.113.7", "10.0.0.1", "10.0.0.2"]);
        assert_eq!(pick_client(&chain, &proxies), ip("203.0.113.7"));
        // A peer that is no trusted proxy is the client, whatever it forwards.
        assert_eq!(pick_client(&ips(&["6.6.6.6", "192.0.2.9"]), &proxies), ip("192.0.2.9"));
        // Garbage written by the client stops nothing to its right.
        assert_eq!(pick_client(&ips(&["nonsense", "10.0.0.2"]), &proxies), None);
    }

    #[test]
    fn parses_every_node_form() {
        for (text, want) in [
            ("203.0.113.7", "203.0.113.7"),
            (" 203.0.113.7:4711", "203.0.113.7"),
            ("2001:db8::1", "2001:db8::1"),
            ("\"[2001:db8::1]:4711\"", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
        ] {
            assert_eq!(parse_node(text), ip(want), "{text}");
        }
        assert_eq!(parse_node("unknown"), None);
        assert_eq!(parse_node("_hidden"), None);
    }
}
