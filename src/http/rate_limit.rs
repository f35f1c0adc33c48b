//! A per-client request budget for the unauthenticated pages (the patients' cancel links, the console's login): a fixed window of
//! one minute on the engine's clock, counted by client address (IPv4 address, IPv6 /64), read from a reverse
//! proxy's header only when the request comes from a trusted proxy. In memory: each server process keeps its own
//! counts, which bounds guessing per process — enough when tokens carry 192 random bits; the limit is there
//! to keep scanners and loops from loading the database, not to make guessing possible.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use super::AppState;

/// Distinct clients remembered in one window; beyond, new clients share one budget (a flood of addresses
/// must not grow memory without bound).
const MAX_CLIENTS: usize = 100_000;

pub struct RateLimiter {
    per_minute: u32,
    /// Where a reverse proxy puts the client's address (e.g. `x-forwarded-for`)…
    address_header: Option<HeaderName>,
    /// …read only when the request comes from one of these (anyone else could write any address there).
    trusted_proxies: Vec<Network>,
    window: Mutex<Window>,
}

#[derive(Default)]
struct Window {
    minute: i64,
    counts: HashMap<String, u32>,
}

/// An address block, `192.0.2.0/24` or `2001:db8::/32` (a bare address is a block of one).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Network {
    address: IpAddr,
    prefix: u32,
}

impl Network {
    pub fn parse(text: &str) -> Result<Network, String> {
        let invalid = || format!("{text:?} is not an address or a block like 10.0.0.0/8");
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix.parse::<u32>().map_err(|_| invalid())?)),
            None => (text.trim(), None),
        };
        let address: IpAddr = address.parse().map_err(|_| invalid())?;
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        if prefix > bits {
            return Err(invalid());
        }
        Ok(Network { address, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                same_prefix(u32::from(net).into(), u32::from(ip).into(), 32, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => same_prefix(u128::from(net), u128::from(ip), 128, self.prefix),
            _ => false,
        }
    }
}

fn same_prefix(a: u128, b: u128, bits: u32, prefix: u32) -> bool {
    prefix == 0 || (a ^ b) >> (bits - prefix) == 0
}

impl RateLimiter {
    pub fn new(per_minute: u32, address_header: Option<HeaderName>, trusted_proxies: Vec<Network>) -> RateLimiter {
        RateLimiter { per_minute, address_header, trusted_proxies, window: Mutex::new(Window::default()) }
    }

    /// Counts one request of `client`; `false` when its budget for this minute is spent.
    pub fn allow(&self, client: &str, now: DateTime<Utc>) -> bool {
        let minute = now.timestamp().div_euclid(60);
        let mut window = self.window.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if window.minute != minute {
            window.minute = minute;
            window.counts.clear();
        }
        let key = if window.counts.len() >= MAX_CLIENTS && !window.counts.contains_key(client) {
            "(overflow)"
        } else {
            client
        };
        let count = window.counts.entry(key.to_string()).or_insert(0);
        *count += 1;
        *count <= self.per_minute
    }

    /// Whom a request's budget is counted against: the TCP peer — or, when the peer is a trusted proxy, the
    /// nearest address in the proxy's header that is not itself a trusted proxy (proxies append what they see,
    /// so the entries on the left are the client's to write, and may be forged).
    fn client_of(&self, request: &Request) -> String {
        let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() else {
            return "(unknown)".to_string();
        };
        let mut client = peer.ip();
        let trusted = |ip: IpAddr| self.trusted_proxies.iter().any(|network| network.contains(ip));
        if trusted(client)
            && let Some(header) = &self.address_header
        {
            let forwarded = request.headers().get_all(header).iter().filter_map(|v| v.to_str().ok());
            let hops: Vec<IpAddr> = forwarded
                .flat_map(|v| v.split(',').map(str::trim).map(str::to_string).collect::<Vec<_>>())
                .filter_map(|a| a.parse().ok())
                .collect();
            for hop in hops.into_iter().rev() {
                client = hop;
                if !trusted(hop) {
                    break;
                }
            }
        }
        budget_key(client)
    }
}

/// One budget per IPv4 address, and per /64 for IPv6 (a single subscriber usually holds a whole /64).
fn budget_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => format!("{}/64", std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
    }
}

/// The middleware: answers 429 (with the page's own body) once a client's budget is spent.
pub async fn limit_public_pages(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limiter = &state.public_page_limit;
    let client = limiter.client_of(&request);
    if limiter.allow(&client, state.clock.now()) {
        next.run(request).await
    } else {
        tracing::warn!("public pages: a client exceeded its requests per minute");
        super::cancel_links::too_many_requests().into_response()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn each_client_has_its_budget_per_minute() {
        let limiter = RateLimiter::new(2, None, vec![]);
        let t = Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 10).unwrap();
        assert!(limiter.allow("a", t) && limiter.allow("a", t));
        assert!(!limiter.allow("a", t + chrono::Duration::seconds(49)));
        assert!(limiter.allow("b", t), "another client is not affected");
        assert!(limiter.allow("a", t + chrono::Duration::seconds(50)), "a new minute, a new budget");
    }

    #[test]
    fn networks_contain_their_addresses_and_ipv6_clients_are_counted_by_64() {
        let private = Network::parse("10.0.0.0/8").unwrap();
        assert!(private.contains("10.200.3.4".parse().unwrap()) && !private.contains("11.0.0.1".parse().unwrap()));
        let one = Network::parse("192.0.2.7").unwrap();
        assert!(one.contains("192.0.2.7".parse().unwrap()) && !one.contains("192.0.2.8".parse().unwrap()));
        let v6 = Network::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::1".parse().unwrap()) && !v6.contains("10.0.0.1".parse().unwrap()));
        assert!(Network::parse("0.0.0.0/0").unwrap().contains("203.0.113.1".parse().unwrap()));
        assert!(Network::parse("10.0.0.0/33").is_err() && Network::parse("proxy").is_err());
        assert_eq!(budget_key("2001:db8:1:2:3:4:5:6".parse().unwrap()), "2001:db8:1:2::/64");
        assert_eq!(budget_key("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.1");
    }
}
