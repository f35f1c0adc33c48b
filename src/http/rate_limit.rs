//! A per-client request budget for the unauthenticated pages (the patients' cancel links): a fixed window of
//! one minute on the engine's clock, counted by client address. In memory: each server process keeps its own
//! counts, which bounds guessing per process — enough when tokens carry 192 random bits; the limit is there
//! to keep scanners and loops from loading the database, not to make guessing possible.

use std::collections::HashMap;
use std::net::SocketAddr;
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
    /// Where the client's address is read when a reverse proxy stands in front (e.g. `x-forwarded-for`).
    address_header: Option<HeaderName>,
    window: Mutex<Window>,
}

#[derive(Default)]
struct Window {
    minute: i64,
    counts: HashMap<String, u32>,
}

impl RateLimiter {
    pub fn new(per_minute: u32, address_header: Option<HeaderName>) -> RateLimiter {
        RateLimiter { per_minute, address_header, window: Mutex::new(Window::default()) }
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

    /// The client's address: the proxy's header when one is configured (its last entry: the address the proxy
    /// itself saw), else the TCP peer.
    fn client_of(&self, request: &Request) -> String {
        if let Some(header) = &self.address_header
            && let Some(value) = request.headers().get(header).and_then(|v| v.to_str().ok())
            && let Some(last) = value.rsplit(',').map(str::trim).find(|a| !a.is_empty())
        {
            return last.to_string();
        }
        match request.extensions().get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(peer)) => peer.ip().to_string(),
            None => "(unknown)".to_string(),
        }
    }
}

/// The middleware: answers 429 (with the page's own body) once a client's budget is spent.
pub async fn limit_patient_pages(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limiter = &state.patient_page_limit;
    let client = limiter.client_of(&request);
    if limiter.allow(&client, state.clock.now()) {
        next.run(request).await
    } else {
        tracing::warn!("patient pages: a client exceeded its requests per minute");
        super::cancel_links::too_many_requests().into_response()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn each_client_has_its_budget_per_minute() {
        let limiter = RateLimiter::new(2, None);
        let t = Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 10).unwrap();
        assert!(limiter.allow("a", t) && limiter.allow("a", t));
        assert!(!limiter.allow("a", t + chrono::Duration::seconds(49)));
        assert!(limiter.allow("b", t), "another client is not affected");
        assert!(limiter.allow("a", t + chrono::Duration::seconds(50)), "a new minute, a new budget");
    }
}
