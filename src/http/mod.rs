//! The HTTP face of the engine: axum routers for the JSON API under `/api/v1`, health probes, the OpenAPI
//! document; authentication by API key; request ids and tracing on every request.
//!
//! Handlers stay thin: parse (extractors) → ask the caller's permissions (`domain::access`) → validate
//! (`domain`) → read/write (`store`) → render (`views`). Errors of every layer become an [`error::ApiError`],
//! the one place that decides status codes.

pub mod absences;
pub mod api_keys;
pub mod audit;
mod bookings;
pub mod cancel_links;
pub mod console;
pub mod error;
pub mod extract;
mod health;
mod holds;
pub mod html;
mod idempotency;
mod motifs;
pub mod notifications;
mod openapi;
pub mod practices;
pub mod professionals;
pub mod rate_limit;
pub mod rules;
pub mod search_log;
mod searches;
mod slots;
pub mod turns;
pub mod views;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::get;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::access::Caller;
use crate::domain::catalogue::Catalogue;
use crate::domain::practice::Practice;
use crate::domain::professional::Professional;
use crate::domain::slot::SlotRules;
use crate::store::{Store, StoreError};
use error::ApiError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub catalogue: Arc<Catalogue>,
    pub slot_rules: SlotRules,
    pub max_batch: usize,
    pub horizon_days: i64,
    pub max_preview_days: i64,
    pub motifs: Arc<std::collections::BTreeMap<String, crate::domain::motif::MotifDef>>,
    pub hold_seconds: i64,
    pub reminders: crate::domain::notification::ReminderPolicy,
    pub search: crate::config::SearchSettings,
    pub radius_table: Arc<crate::routing::radius::RadiusTable>,
    /// Every bookable slot in memory, kept coherent with the database (and other processes) by its journal.
    pub search_index: Arc<crate::routing::live::LiveIndex>,
    /// The API keys recently found valid: authentication without a database round trip.
    pub api_keys: Arc<crate::api_keys::KeyCache>,
    /// Search statistics, written in batches behind the answers.
    pub search_log: search_log::SearchLog,
    /// Holds and direct bookings of one slot, one at a time in this process.
    pub slot_turns: Arc<turns::SlotTurns>,
    /// The request budget of the unauthenticated pages (`/r/…`, the console's login).
    pub public_page_limit: Arc<rate_limit::RateLimiter>,
    pub sessions: crate::domain::user::SessionPolicy,
    pub lockout: crate::domain::user::LockoutPolicy,
    /// Cookies carry `Secure` (and the `__Host-` prefix) unless `http.public_url` says the server is reached
    /// over plain http on localhost: secure by default, even when the address is not configured.
    pub secure_cookies: bool,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, settings: &Settings) -> Self {
        AppState {
            store: store.clone(),
            clock: clock.clone(),
            catalogue: Arc::new(settings.catalogue()),
            slot_rules: settings.slot_rules(),
            max_batch: settings.slots.max_batch,
            horizon_days: settings.availability.horizon_days,
            max_preview_days: settings.availability.max_preview_days,
            motifs: Arc::new(settings.motifs.clone()),
            hold_seconds: settings.booking.hold_seconds,
            reminders: settings.reminder_policy(),
            search: settings.search.clone(),
            radius_table: Arc::new(crate::routing::radius::RadiusTable::official()),
            search_index: Arc::new(crate::routing::live::LiveIndex::new(store.clone(), clock.clone())),
            api_keys: Arc::new(crate::api_keys::KeyCache::new(chrono::Duration::seconds(
                settings.http.api_key_cache_secs as i64,
            ))),
            search_log: search_log::SearchLog::start(store.clone()),
            slot_turns: Arc::default(),
            public_page_limit: Arc::new(rate_limit::RateLimiter::new(
                settings.http.public_page_requests_per_minute,
                settings.client_address_header(),
                settings.trusted_proxies(),
            )),
            sessions: settings.session_policy(),
            lockout: settings.lockout_policy(),
            secure_cookies: !settings.http.public_url.starts_with("http://"),
        }
    }
}

/// The whole application, ready to serve.
pub fn router(state: AppState, settings: &Settings) -> Router {
    // The OpenAPI document is generated from the very router that serves: nothing routed is undocumented.
    let (api, document) = api_routes().split_for_parts();
    let document = Arc::new(document);

    let request_span = |request: &Request<_>| {
        let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
        // The path only (query strings may one day carry personal data), and a cancel link's token masked.
        let path = request.uri().path();
        let path = if path.starts_with("/r/") { "/r/…" } else { path };
        tracing::info_span!("request", method = %request.method(), path = %path, request_id = %request_id)
    };
    // The patients' pages: HTML, outside the documented JSON API, with a request budget per client.
    let patient_pages = Router::new()
        .route("/r/{token}", get(cancel_links::show).post(cancel_links::cancel))
        .route_layer(middleware::from_fn_with_state(state.clone(), rate_limit::limit_public_pages));
    // The console: HTML pages behind a login.
    let console = console::routes(&state);

    api.route("/openapi.json", get(move || openapi::document(document.clone())))
        .merge(patient_pages)
        .merge(console)
        .fallback(|| async { ApiError::NotFound("No such resource.".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(settings.http.max_body_bytes))
        .layer(middleware::from_fn(refuse_nul_in_uri))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(CatchPanicLayer::custom(|_panic| {
                    ApiError::Internal("a handler panicked".into()).into_response()
                }))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Duration::from_secs(settings.http.request_timeout_secs),
                )),
        )
        // Outermost: a client's request id must be fit to keep before it reaches the logs and the audit trail.
        .layer(middleware::from_fn(drop_unfit_request_id))
        .with_state(state)
}

/// Every documented route, with its handlers: `routes!` takes the path and method from each handler's
/// `#[utoipa::path]`, so the document and the router cannot drift apart.
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
        .routes(routes!(practices::create, practices::list))
        .routes(routes!(practices::get_one, practices::update))
        .routes(routes!(practices::deactivate))
        .routes(routes!(practices::reactivate))
        .routes(routes!(professionals::create, professionals::list))
        .routes(routes!(professionals::get_one, professionals::update))
        .routes(routes!(professionals::deactivate))
        .routes(routes!(professionals::reactivate))
        .routes(routes!(slots::publish, slots::list))
        .routes(routes!(slots::get_one, slots::withdraw))
        .routes(routes!(api_keys::create, api_keys::list))
        .routes(routes!(api_keys::revoke))
        .routes(routes!(rules::create, rules::list))
        .routes(routes!(rules::get_one, rules::replace, rules::delete))
        .routes(routes!(rules::preview))
        .routes(routes!(absences::create, absences::list))
        .routes(routes!(absences::delete))
        .routes(routes!(motifs::list))
        .routes(routes!(searches::create))
        .routes(routes!(holds::create))
        .routes(routes!(holds::release))
        .routes(routes!(bookings::create, bookings::list))
        .routes(routes!(bookings::get_one))
        .routes(routes!(bookings::cancel))
        .routes(routes!(bookings::outcome))
        .routes(routes!(bookings::notifications))
        .routes(routes!(audit::list))
        .routes(routes!(notifications::list))
        .routes(routes!(notifications::retry))
}

/// A `%00` in the path or query would reach the database as a NUL character, which PostgreSQL refuses:
/// answer 400 here, identically on both backends.
async fn refuse_nul_in_uri(request: axum::extract::Request, next: middleware::Next) -> axum::response::Response {
    let uri = request.uri();
    let has_nul = |part: &str| part.to_ascii_lowercase().contains("%00");
    if has_nul(uri.path()) || uri.query().is_some_and(has_nul) {
        return ApiError::BadRequest("The address contains a NUL character (%00).".into()).into_response();
    }
    next.run(request).await
}

/// An incoming `x-request-id` is kept only when it is a short token (a UUID, a proxy's id); anything else —
/// long, free text, possibly personal — is dropped so that a fresh UUID replaces it. Request ids are written to
/// the audit trail, which can never be erased.
async fn drop_unfit_request_id(
    mut request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let fit = |v: &axum::http::HeaderValue| {
        let bytes = v.as_bytes();
        (1..=64).contains(&bytes.len()) && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
    };
    if request.headers().get("x-request-id").is_some_and(|v| !fit(v)) {
        request.headers_mut().remove("x-request-id");
    }
    next.run(request).await
}

/// Admins and coordinators manage the directory (practices, professionals); `what` names the resource refused.
pub fn directory_manager(caller: &Caller, what: &str) -> Result<(), ApiError> {
    if caller.may_manage_directory() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!("Only admins and coordinators manage {what}.")))
    }
}

/// The store's "not found", in the words of the resource asked for; other errors as usual.
pub fn found_or(error: StoreError, missing: impl FnOnce() -> ApiError) -> ApiError {
    match error {
        StoreError::NotFound => missing(),
        other => other.into(),
    }
}

/// Professionals and practices read at most once per request (a batch, a list), however many rows name them.
#[derive(Default)]
pub struct Lookups {
    professionals: HashMap<String, Option<Professional>>,
    practices: HashMap<String, Option<Practice>>,
}

impl Lookups {
    pub async fn professional(&mut self, state: &AppState, id: &str) -> Result<Option<Professional>, ApiError> {
        if !self.professionals.contains_key(id) {
            let found = state.store.get_professional(id).await?;
            self.professionals.insert(id.to_string(), found);
        }
        Ok(self.professionals[id].clone())
    }

    /// Records a professional read elsewhere in the request.
    pub fn know_professional(&mut self, id: &str, professional: Option<Professional>) {
        self.professionals.insert(id.to_string(), professional);
    }

    pub async fn practice(&mut self, state: &AppState, id: &str) -> Result<Option<Practice>, ApiError> {
        if !self.practices.contains_key(id) {
            let found = state.store.get_practice(id).await?;
            self.practices.insert(id.to_string(), found);
        }
        Ok(self.practices[id].clone())
    }

    /// Records a practice read elsewhere in the request.
    pub fn know_practice(&mut self, id: &str, practice: Option<Practice>) {
        self.practices.insert(id.to_string(), practice);
    }
}

/// A new opaque id (UUID v7: time-ordered, so indexes stay compact).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Default and maximum page sizes of list endpoints.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

/// Checks `limit` and `offset` query parameters.
fn page(limit: Option<i64>, offset: Option<i64>) -> Result<crate::store::Page, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    let offset = offset.unwrap_or(0);
    let mut errors = Vec::new();
    if !(1..=MAX_LIMIT).contains(&limit) {
        errors.push(crate::domain::FieldError::new("limit", format!("must be between 1 and {MAX_LIMIT}")));
    }
    if offset < 0 {
        errors.push(crate::domain::FieldError::new("offset", "must not be negative"));
    }
    if errors.is_empty() { Ok(crate::store::Page { limit, offset }) } else { Err(ApiError::Validation(errors)) }
}
