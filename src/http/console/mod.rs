//! The web console's doors: login (with lock-out after repeated failures), logout, password change, and the
//! session every console page requires. Sessions live in our own table; the cookie carries a 256-bit secret
//! (`HttpOnly`, `SameSite=Strict`, `Secure` and `__Host-` unless `http.public_url` is plain-http localhost)
//! renewed at each login; a session ends when idle, at
//! its absolute limit, at logout, or when its user's password changes elsewhere. Every state-changing form
//! carries a CSRF token: the session's own, or for the login form (no session yet) a token also set in a cookie
//! (double submit).

use axum::Form;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;

pub mod availability;
pub mod directory;
pub mod layout;
pub mod oversight;
pub mod practice;
pub mod regulation;
pub mod users;

use axum::Router;
use axum::routing::{get, post};
use maud::html;

use super::html::Page;
use super::{ApiError, AppState};
use crate::accounts::{self, LoginRefused};
use crate::domain::access::Caller;
use crate::domain::access::Role;
use crate::domain::api_key::digest;
use crate::domain::audit::{ActorKind, AuditEvent};
use crate::domain::user::{Session, User, check_new_password};
use crate::notify::messages::escape_html;

/// Cookie names: behind HTTPS (the default) the `__Host-` prefix makes the browser refuse them unless they are
/// `Secure`, host-only and for the whole site — no sibling domain or plain-http page can plant or shadow them.
const SESSION_COOKIE: (&str, &str) = ("__Host-snp_session", "snp_session");
const LOGIN_COOKIE: (&str, &str) = ("__Host-snp_login", "snp_login");
pub const LOGIN_PATH: &str = "/console/login";

/// The logged-in user of a console request; without a live session, the request is sent to the login page.
pub struct ConsoleUser {
    pub user: User,
    pub session: Session,
    /// The user as the API's handlers know callers: the console's actions run through them (same rules, same
    /// audit trail, with `actor_kind: user`).
    pub caller: Caller,
}

impl ConsoleUser {
    /// The page that says this role may not open a page.
    pub fn refuse(&self) -> Response {
        layout::with_status(
            StatusCode::FORBIDDEN,
            Some(self),
            "Accès refusé",
            html! { (layout::alert("Votre rôle ne donne pas accès à cette page.")) p { a href="/console" { "Accueil" } } },
        )
    }

    /// Whether a posted form carries this session's CSRF token.
    pub fn form_is_ours(&self, csrf: &str) -> bool {
        same_token(csrf, &self.session.csrf_token)
    }

    /// The page for an error met by an action.
    pub fn failed(&self, error: &ApiError) -> Response {
        layout::error_page(self, error)
    }

    /// A console action: the form's CSRF token is checked first (the work, a future, has not started yet), then
    /// the API does the work, then the browser goes `back` — or to the page that says what went wrong.
    pub async fn act<T>(
        &self,
        csrf: &str,
        back: &str,
        work: impl std::future::Future<Output = Result<T, ApiError>>,
    ) -> Response {
        if !self.form_is_ours(csrf) {
            return forbidden_form();
        }
        match work.await {
            Ok(_) => Redirect::to(back).into_response(),
            Err(error) => self.failed(&error),
        }
    }
}

/// A form read as its pairs, for forms whose checkboxes repeat a name (`weekdays`, `skills`): values trimmed.
pub struct FormFields(Vec<(String, String)>);

impl FormFields {
    pub fn parse(body: &str) -> Self {
        FormFields(
            form_urlencoded::parse(body.as_bytes()).map(|(k, v)| (k.into_owned(), v.trim().to_string())).collect(),
        )
    }

    /// The first value of a field ("" when absent).
    pub fn one(&self, name: &str) -> String {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    /// Every value of a field, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }
}

/// The console's routes (the login and password pages carry the per-client budget of public pages).
pub fn routes(state: &AppState) -> Router<AppState> {
    let limited = || axum::middleware::from_fn_with_state(state.clone(), super::rate_limit::limit_public_pages);
    Router::new()
        .route(LOGIN_PATH, get(show_login).post(login).route_layer(limited()))
        .route("/console", get(home))
        .route("/console/assets/console.js", get(layout::script))
        .route("/console/logout", post(logout))
        .route("/console/password", get(show_password).post(change_password).route_layer(limited()))
        .route("/console/regulation", get(regulation::intake))
        .route("/console/regulation/search", post(regulation::search))
        .route("/console/regulation/hold", post(regulation::hold))
        .route("/console/regulation/holds/{id}/release", post(regulation::release))
        .route("/console/regulation/book", post(regulation::book))
        .route("/console/regulation/bookings", get(regulation::day))
        .route("/console/regulation/bookings/{id}", get(regulation::confirmation))
        .route("/console/regulation/bookings/{id}/cancel", post(regulation::cancel))
        .route("/console/practice", get(practice::agenda))
        .route("/console/practice/sheet", get(practice::sheet))
        .route("/console/practice/slots", post(practice::publish))
        .route("/console/practice/bookings/{id}/outcome", post(practice::outcome))
        .route("/console/practice/availability", get(availability::page))
        .route("/console/practice/rules", post(availability::create_rule))
        .route("/console/practice/rules/{id}/preview", get(availability::preview))
        .route("/console/practice/rules/{id}/delete", post(availability::delete_rule))
        .route("/console/practice/absences", post(availability::create_absence))
        .route("/console/practice/absences/{id}/delete", post(availability::delete_absence))
        .route("/console/audit", get(oversight::audit))
        .route("/console/directory", get(directory::page))
        .route("/console/directory/practices", post(directory::create_practice))
        .route("/console/directory/professionals", post(directory::create_professional))
        .route("/console/directory/practices/{id}", get(directory::edit_practice).post(directory::update_practice))
        .route(
            "/console/directory/professionals/{id}",
            get(directory::edit_professional).post(directory::update_professional),
        )
        .route("/console/directory/{kind}/{id}/{action}", post(directory::switch))
        .route("/console/notifications", get(oversight::notifications))
        .route("/console/notifications/{id}/retry", post(oversight::retry))
        .route("/console/api-keys", get(oversight::api_keys).post(oversight::create_api_key))
        .route("/console/api-keys/{id}/revoke", post(oversight::revoke_api_key))
        .route("/console/users", get(users::page).post(users::create))
        .route("/console/users/{id}/{action}", post(users::change))
}

impl FromRequestParts<AppState> for ConsoleUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_login = || Redirect::to(LOGIN_PATH).into_response();
        let Some(secret) = cookie(&parts.headers, cookie_name(state, SESSION_COOKIE)) else { return Err(to_login()) };
        let now = state.clock.now();
        let found = state.store.get_session(&digest(&secret)).await.map_err(|e| unavailable(&e.to_string()))?;
        let Some(session) = found.filter(|s| s.alive(now, &state.sessions)) else { return Err(to_login()) };
        let user = state.store.get_user(&session.user_id).await.map_err(|e| unavailable(&e.to_string()))?;
        let Some(user) = user.filter(|u| u.disabled_at.is_none()) else { return Err(to_login()) };
        state.store.touch_session(&session.id_digest, now).await.map_err(|e| unavailable(&e.to_string()))?;
        let caller = Caller {
            key_id: user.id.clone(),
            actor_kind: ActorKind::User,
            role: user.role,
            professional_id: user.professional_id.clone(),
            practice_ids: Vec::new(),
            request_id: parts.headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string),
        };
        Ok(ConsoleUser { user, session, caller })
    }
}

/// A cookie's value from the request's `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

fn cookie_name(state: &AppState, (secure, plain): (&'static str, &'static str)) -> &'static str {
    if state.secure_cookies { secure } else { plain }
}

fn set_cookie(state: &AppState, name: (&'static str, &'static str), value: &str, max_age: Option<i64>) -> HeaderValue {
    let name = cookie_name(state, name);
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(seconds) = max_age {
        cookie.push_str(&format!("; Max-Age={seconds}"));
    }
    if state.secure_cookies {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).expect("cookie values are URL-safe")
}

/// Whether a form's CSRF token is the expected one, in time independent of where they differ.
pub fn same_token(given: &str, expected: &str) -> bool {
    !expected.is_empty()
        && given.len() == expected.len()
        && given.bytes().zip(expected.bytes()).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
}

fn unavailable(error: &str) -> Response {
    tracing::error!(%error, "console: the store failed");
    Page {
        status: StatusCode::SERVICE_UNAVAILABLE,
        title: "Service momentanément indisponible",
        body: "<p>Réessayez dans quelques instants.</p>".into(),
    }
    .into_response()
}

fn forbidden_form() -> Response {
    Page {
        status: StatusCode::FORBIDDEN,
        title: "Formulaire expiré",
        body: format!("<p>Ce formulaire a expiré. <a href=\"{LOGIN_PATH}\">Recommencez</a>.</p>"),
    }
    .into_response()
}

/// What the console says a role is.
pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Admin => "administration",
        Role::Coordinator => "coordination",
        Role::Regulator => "régulation",
        Role::Professional => "professionnel de santé",
        Role::Publisher => "logiciel d'agenda",
    }
}

fn audit_event(
    state: &AppState,
    user: Option<&User>,
    action: &str,
    headers: &HeaderMap,
    detail: Option<&str>,
) -> AuditEvent {
    AuditEvent {
        id: super::new_id(),
        at: state.clock.now(),
        actor_kind: ActorKind::User,
        actor_id: user.map(|u| u.id.clone()),
        role: user.map(|u| u.role),
        action: action.into(),
        target_type: "user".into(),
        target_id: user.map(|u| u.id.clone()),
        request_id: headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string),
        detail: detail.map(str::to_string),
    }
}

fn login_page(status: StatusCode, message: Option<&str>, email: &str, csrf: &str) -> Page {
    let message =
        message.map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>\n", escape_html(m))).unwrap_or_default();
    Page {
        status,
        title: "Connexion",
        body: format!(
            "{message}<form method=\"post\" action=\"{LOGIN_PATH}\">\n\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
             <label for=\"email\">Adresse email</label>\n\
             <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required autofocus value=\"{}\">\n\
             <label for=\"password\">Mot de passe</label>\n\
             <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\n\
             <button type=\"submit\">Se connecter</button>\n</form>",
            escape_html(email)
        ),
    }
}

/// The login form, with a fresh double-submit token.
fn login_form(state: &AppState, status: StatusCode, message: Option<&str>, email: &str) -> Response {
    let Ok(token) = accounts::random_token() else { return unavailable("random source") };
    let mut response = login_page(status, message, email, &token).into_response();
    response.headers_mut().append(header::SET_COOKIE, set_cookie(state, LOGIN_COOKIE, &token, Some(3600)));
    response
}

pub async fn show_login(State(state): State<AppState>) -> Response {
    login_form(&state, StatusCode::OK, None, "")
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

pub async fn login(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<LoginForm>) -> Response {
    let expected = cookie(&headers, cookie_name(&state, LOGIN_COOKIE)).unwrap_or_default();
    if !same_token(&form.csrf, &expected) {
        return forbidden_form();
    }
    let now = state.clock.now();
    let checked = accounts::check_login(state.store.as_ref(), &form.email, &form.password, &state.lockout, now).await;
    let user = match checked {
        Err(error) => return unavailable(&error.to_string()),
        Ok(Err(refused)) => {
            let known = state.store.find_user_by_email(&form.email.trim().to_lowercase()).await.ok().flatten();
            let detail = (refused == LoginRefused::Locked).then_some("locked");
            let event = audit_event(&state, known.as_ref(), "login.failure", &headers, detail);
            super::audit::append(&state, vec![event]).await;
            // One answer whatever the reason: a lock shown only for real accounts would tell which logins exist.
            let message = format!(
                "Adresse email ou mot de passe incorrect. Après {} essais manqués de suite, le compte est verrouillé \
                 {} minutes.",
                state.lockout.max_failures,
                state.lockout.lock_for.num_minutes()
            );
            return login_form(&state, StatusCode::UNAUTHORIZED, Some(&message), &form.email);
        }
        Ok(Ok(user)) => user,
    };
    let secret = match accounts::open_session(state.store.as_ref(), &user, now).await {
        Ok(secret) => secret,
        Err(error) => return unavailable(&error.to_string()),
    };
    super::audit::append(&state, vec![audit_event(&state, Some(&user), "login.success", &headers, None)]).await;
    let mut response = Redirect::to("/console").into_response();
    let cookies = response.headers_mut();
    cookies.append(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, &secret, None));
    cookies.append(header::SET_COOKIE, set_cookie(&state, LOGIN_COOKIE, "", Some(0)));
    response
}

/// A form of the session, with its CSRF token.
fn session_form(action: &str, csrf: &str, fields: &str, button: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{action}\">\n<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         {fields}<button type=\"submit\">{button}</button>\n</form>"
    )
}

pub async fn home(me: ConsoleUser) -> Response {
    let (what, href, label) = match me.user.role {
        Role::Regulator => {
            ("Chercher un créneau pour un patient et le réserver.", "/console/regulation", "Nouvelle recherche")
        }
        Role::Professional => {
            ("Vos créneaux, vos rendez-vous et la feuille du jour.", "/console/practice", "Mon agenda")
        }
        Role::Coordinator | Role::Admin => {
            ("Les lieux et les professionnels du territoire.", "/console/directory", "Annuaire du territoire")
        }
        Role::Publisher => ("", "/console", ""),
    };
    let body = html! {
        p { "Connecté : " (me.user.email) " (" (role_label(me.user.role)) ")." }
        p { (what) }
        p { a href=(href) { (label) } }
    };
    layout::page(&me, "Console snp", body)
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    me: ConsoleUser,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !same_token(&form.csrf, &me.session.csrf_token) {
        return forbidden_form();
    }
    if let Err(error) = state.store.end_session(&me.session.id_digest, state.clock.now()).await {
        return unavailable(&error.to_string());
    }
    super::audit::append(&state, vec![audit_event(&state, Some(&me.user), "logout", &headers, None)]).await;
    logged_out(&state)
}

/// Back to the login page, without the session cookie.
fn logged_out(state: &AppState) -> Response {
    let mut response = Redirect::to(LOGIN_PATH).into_response();
    response.headers_mut().append(header::SET_COOKIE, set_cookie(state, SESSION_COOKIE, "", Some(0)));
    response
}

fn password_page(status: StatusCode, message: Option<&str>, csrf: &str) -> Page {
    let message =
        message.map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>\n", escape_html(m))).unwrap_or_default();
    let fields = "<label for=\"current\">Mot de passe actuel</label>\n\
        <input id=\"current\" name=\"current\" type=\"password\" autocomplete=\"current-password\" required>\n\
        <label for=\"new\">Nouveau mot de passe (12 caractères au moins)</label>\n\
        <input id=\"new\" name=\"new\" type=\"password\" autocomplete=\"new-password\" minlength=\"12\" required>\n\
        <label for=\"confirm\">Nouveau mot de passe, encore</label>\n\
        <input id=\"confirm\" name=\"confirm\" type=\"password\" autocomplete=\"new-password\" required>\n";
    Page {
        status,
        title: "Changer de mot de passe",
        body: format!("{message}{}", session_form("/console/password", csrf, fields, "Changer le mot de passe")),
    }
}

pub async fn show_password(me: ConsoleUser) -> Page {
    password_page(StatusCode::OK, None, &me.session.csrf_token)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    me: ConsoleUser,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    if !same_token(&form.csrf, &me.session.csrf_token) {
        return forbidden_form();
    }
    let refuse = |message: &str| password_page(StatusCode::UNPROCESSABLE_ENTITY, Some(message), &me.session.csrf_token);
    let now = state.clock.now();
    // The current password counts against the lock-out like a login: a stolen session cannot guess it freely.
    match accounts::check_password(state.store.as_ref(), &me.user, &form.current, &state.lockout, now).await {
        Err(error) => return unavailable(&error.to_string()),
        Ok(Err(refused)) => {
            let detail = (refused == LoginRefused::Locked).then_some("locked");
            let event = audit_event(&state, Some(&me.user), "password.failure", &headers, detail);
            super::audit::append(&state, vec![event]).await;
            if refused == LoginRefused::Locked {
                // Too many wrong passwords: this session ends too.
                if let Err(error) = state.store.end_session(&me.session.id_digest, now).await {
                    return unavailable(&error.to_string());
                }
                return logged_out(&state);
            }
            return refuse("Le mot de passe actuel est incorrect.").into_response();
        }
        Ok(Ok(())) => {}
    }
    if form.new != form.confirm {
        return refuse("Les deux nouveaux mots de passe diffèrent.").into_response();
    }
    if check_new_password(&form.new, &me.user.email).is_err() {
        return refuse("Le nouveau mot de passe doit compter 12 caractères au moins, et ne pas être l'adresse email.")
            .into_response();
    }
    let hash = match accounts::hash_password(&form.new).await {
        Ok(hash) => hash,
        Err(error) => return unavailable(&error.to_string()),
    };
    if let Err(error) = state.store.set_password(&me.user.id, &hash, &me.session.id_digest, now).await {
        return unavailable(&error.to_string());
    }
    super::audit::append(&state, vec![audit_event(&state, Some(&me.user), "password.change", &headers, None)]).await;
    Page {
        status: StatusCode::OK,
        title: "Mot de passe modifié",
        body: "<p>Votre mot de passe est modifié. Vos autres sessions sont fermées.</p>\n\
               <p><a href=\"/console\">Retour à la console</a></p>"
            .into(),
    }
    .into_response()
}

// --- Calling the API's handlers ------------------------------------------------------------------------------
// The console's actions are the API's: its handlers are called with the user as caller, their inputs built as
// JSON (so the API's own parsing and checks apply) and their answers read as JSON (the public contract).

/// Reads a JSON value into an API input type; a value the API would refuse is a validation error.
pub fn api_input<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|e| ApiError::invalid("form", e.to_string()))
}

pub fn to_value<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// The JSON body of an API handler's response.
pub async fn response_json(response: Response) -> Value {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or_default()
}

/// A query-string type of the API built from JSON (through its own query parser, so the same checks apply).
pub fn api_input_query<T: serde::de::DeserializeOwned>(
    query: &Value,
) -> Result<crate::http::extract::Query<T>, ApiError> {
    let pairs: Vec<(String, String)> = query
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let encoded = serde_urlencoded::to_string(pairs).map_err(|e| ApiError::Internal(e.to_string()))?;
    serde_urlencoded::from_str(&encoded)
        .map(crate::http::extract::Query)
        .map_err(|e| ApiError::invalid("query", e.to_string()))
}
