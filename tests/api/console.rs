//! The console's doors over HTTP: login with its double-submit CSRF token, lock-out after repeated failures,
//! the session cookie and its expiry (idle, absolute, logout), CSRF on every form, password change.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::Duration;
use snp::accounts::{LoginRefused, UserRequest, check_login, create_user_by_system};
use snp::clock::Clock;
use snp::domain::access::Role;

use snp::http::{AppState, router};

use crate::helpers::{TestApp, TestResponse, send_to};
use crate::on_both_databases;

on_both_databases!(
    a_user_logs_in_and_out_with_a_fresh_session_and_csrf_on_every_form,
    repeated_failures_lock_the_account_for_a_while,
    sessions_end_when_idle_at_their_absolute_limit_and_on_password_change,
);

pub const PASSWORD: &str = "cheval agrafe pile";
/// Secure by default (`http.public_url` unset): `__Host-` names.
const SESSION: &str = "__Host-snp_session";

async fn regulator(app: &TestApp, email: &str) {
    let request =
        UserRequest { email: email.into(), role: Role::Regulator, professional_id: None, password: PASSWORD.into() };
    create_user_by_system(app.store.as_ref(), request, app.clock.now()).await.unwrap();
}

/// A browser: keeps the cookies the server sets.
#[derive(Default, Clone)]
pub struct Browser {
    cookies: BTreeMap<String, String>,
}

impl Browser {
    pub async fn send(&mut self, app: &TestApp, method: Method, path: &str, form: &[(&str, &str)]) -> TestResponse {
        let mut request = Request::builder().method(method).uri(path);
        if !self.cookies.is_empty() {
            let header = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            request = request.header("cookie", header);
        }
        let body = if form.is_empty() {
            Body::empty()
        } else {
            request = request.header("content-type", "application/x-www-form-urlencoded");
            Body::from(serde_urlencoded::to_string(form).unwrap())
        };
        let response = app.send(request.body(body).unwrap()).await;
        for set in response.headers.get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let (pair, _) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || set.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.into(), value.into());
            }
        }
        response
    }

    pub async fn get(&mut self, app: &TestApp, path: &str) -> TestResponse {
        self.send(app, Method::GET, path, &[]).await
    }

    pub async fn login(&mut self, app: &TestApp, email: &str, password: &str) -> TestResponse {
        let form = self.get(app, "/console/login").await;
        let csrf = hidden(&form.text, "csrf");
        self.send(app, Method::POST, "/console/login", &[("email", email), ("password", password), ("csrf", &csrf)])
            .await
    }
}

/// The value of a hidden field of a page's form.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in {html}")) + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

pub fn location(response: &TestResponse) -> &str {
    response.headers["location"].to_str().unwrap()
}

async fn a_user_logs_in_and_out_with_a_fresh_session_and_csrf_on_every_form(app: TestApp) {
    regulator(&app, "Regulation.SAS76@Example.fr").await;
    let mut browser = Browser::default();
    // Not logged in: the console sends to the login page.
    let home = browser.get(&app, "/console").await;
    assert_eq!((home.status, location(&home)), (StatusCode::SEE_OTHER, "/console/login"));
    let form = browser.get(&app, "/console/login").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.text.contains("<label for=\"email\">Adresse email</label>")
            && form.text.contains("autocomplete=\"current-password\"")
    );
    let login_cookie = form.headers["set-cookie"].to_str().unwrap();
    assert!(login_cookie.contains("HttpOnly") && login_cookie.contains("SameSite=Strict"), "{login_cookie}");
    assert_eq!(form.headers["cache-control"], "no-store");

    // A login form posted without its token (another site, an old page) is refused.
    let forged = Browser::default()
        .send(
            &app,
            Method::POST,
            "/console/login",
            &[("email", "regulation.sas76@example.fr"), ("password", PASSWORD), ("csrf", "x")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // Logged in (the login is case-insensitive): a session cookie, then the console.
    let done = browser.login(&app, "regulation.sas76@example.fr", PASSWORD).await;
    assert_eq!((done.status, location(&done)), (StatusCode::SEE_OTHER, "/console"), "{}", done.text);
    let session_cookie = done
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("__Host-snp_session="))
        .unwrap()
        .to_string();
    assert!(
        session_cookie.contains("HttpOnly")
            && session_cookie.contains("SameSite=Strict")
            && session_cookie.contains("Path=/")
    );
    assert!(session_cookie.contains("; Secure"), "secure unless the public address is plain-http localhost");
    let first_session = browser.cookies[SESSION].clone();
    assert_eq!(first_session.len(), 43, "256 bits");
    let home = browser.get(&app, "/console").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.text.contains("Connecté : regulation.sas76@example.fr (régulation)."), "{}", home.text);
    // Only the digest is stored.
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE id_digest = $1", &first_session).await, 0);

    // Logging in again renews the session id.
    let mut second = Browser::default();
    second.login(&app, "regulation.sas76@example.fr", PASSWORD).await;
    assert_ne!(second.cookies[SESSION], first_session);

    // Logout needs the session's CSRF token; then the cookie no longer opens anything.
    let csrf = hidden(&home.text, "csrf");
    assert_eq!(
        browser.send(&app, Method::POST, "/console/logout", &[("csrf", "forged")]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(browser.get(&app, "/console").await.status, StatusCode::OK, "still logged in");
    let stale = browser.clone();
    let out = browser.send(&app, Method::POST, "/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!((out.status, location(&out)), (StatusCode::SEE_OTHER, "/console/login"));
    assert!(!browser.cookies.contains_key(SESSION));
    assert_eq!(stale.clone().get(&app, "/console").await.status, StatusCode::SEE_OTHER, "a replayed cookie is dead");
    assert_eq!(second.get(&app, "/console").await.status, StatusCode::OK, "other sessions live on");

    // Traced: logins and logout, by user id.
    let trail = app.get("/api/v1/audit?target_type=user", &app.admin_key).await;
    let actions: Vec<&str> =
        trail.body["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["logout", "login.success", "login.success", "user.create"]);
    assert_eq!(trail.body["events"][0]["actor_kind"], "user");

    // Served at a plain-http localhost address (a demo on a laptop): plain names, no Secure flag.
    let mut local = app.settings.clone();
    local.http.public_url = "http://localhost:8080".into();
    let local_router = router(AppState::new(app.store.clone(), app.clock.clone(), &local), &local);
    let form = send_to(&local_router, Request::get("/console/login").body(Body::empty()).unwrap()).await;
    let cookie = form.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("snp_login=") && !cookie.contains("Secure"), "{cookie}");
}

async fn repeated_failures_lock_the_account_for_a_while(app: TestApp) {
    regulator(&app, "sas@example.fr").await;
    let mut browser = Browser::default();
    // An unknown login and a wrong password get the same answer.
    let unknown = browser.login(&app, "nobody@example.fr", PASSWORD).await;
    let wrong = browser.login(&app, "sas@example.fr", "not the password").await;
    for refused in [&unknown, &wrong] {
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(refused.text.contains("Adresse email ou mot de passe incorrect."));
    }
    assert!(wrong.text.contains("value=\"sas@example.fr\""), "the login is kept in the form");
    for _ in 0..3 {
        assert_eq!(browser.login(&app, "sas@example.fr", "still wrong").await.status, StatusCode::UNAUTHORIZED);
    }
    // The fifth failure locks the account — with the same answer as for a login that does not exist (a lock
    // shown only to real accounts would tell which ones exist): even the right password is refused.
    let locked = browser.login(&app, "sas@example.fr", "wrong again").await;
    let unknown_again = browser.login(&app, "nobody@example.fr", "wrong again").await;
    let still = browser.login(&app, "sas@example.fr", PASSWORD).await;
    for refused in [&locked, &unknown_again, &still] {
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(
            refused.text.contains("Après 5 essais manqués de suite, le compte est verrouillé 15 minutes."),
            "{}",
            refused.text
        );
    }
    app.clock.advance(Duration::minutes(14));
    assert_eq!(browser.login(&app, "sas@example.fr", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    app.clock.advance(Duration::minutes(1));
    let back = browser.login(&app, "sas@example.fr", PASSWORD).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.text);
    // A success clears the count: one more failure does not lock again.
    assert_eq!(Browser::default().login(&app, "sas@example.fr", "oops").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(Browser::default().login(&app, "sas@example.fr", PASSWORD).await.status, StatusCode::SEE_OTHER);
    // Nor does a typo just after a lock ended: the count starts again.
    for _ in 0..5 {
        browser.login(&app, "sas@example.fr", "wrong").await;
    }
    app.clock.advance(Duration::minutes(15));
    assert_eq!(browser.login(&app, "sas@example.fr", "typo").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(browser.login(&app, "sas@example.fr", PASSWORD).await.status, StatusCode::SEE_OTHER);
    let trail = app.get("/api/v1/audit?action=login.failure&limit=100", &app.admin_key).await;
    let details = trail.body["events"].as_array().unwrap().iter().filter(|e| e["detail"] == "locked").count();
    assert_eq!(details, 4, "failures that lock or meet a lock are told apart in the trail: {}", trail.body);

    // Parallel guesses cannot pass the lock together: each attempt is counted before its password is checked.
    regulator(&app, "burst@example.fr").await;
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..12 {
        let store = app.store.clone();
        let lockout = app.settings.lockout_policy();
        let now = app.clock.now();
        guesses.spawn(async move {
            check_login(store.as_ref(), "burst@example.fr", &format!("guess {i}"), &lockout, now).await.unwrap()
        });
    }
    let outcomes = guesses.join_all().await;
    let checked = outcomes.iter().filter(|o| **o == Err(LoginRefused::Credentials)).count();
    assert_eq!(checked, 4, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == Err(LoginRefused::Locked)).count(), 8, "the fifth locked");
    let counted =
        app.count("SELECT CAST(failed_logins AS BIGINT) FROM users WHERE email = $1", "burst@example.fr").await;
    assert_eq!(counted, 5, "five passwords checked, not twelve");

    // The current password asked by a password change counts too; the fifth failure also ends the session.
    regulator(&app, "stolen@example.fr").await;
    let mut thief = Browser::default();
    thief.login(&app, "stolen@example.fr", PASSWORD).await;
    let csrf = hidden(&thief.get(&app, "/console/password").await.text, "csrf");
    let guess = [
        ("csrf", csrf.as_str()),
        ("current", "guess"),
        ("new", "cheval agrafe pile 2"),
        ("confirm", "cheval agrafe pile 2"),
    ];
    for _ in 0..4 {
        let refused = thief.send(&app, Method::POST, "/console/password", &guess).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let ended = thief.send(&app, Method::POST, "/console/password", &guess).await;
    assert_eq!((ended.status, location(&ended)), (StatusCode::SEE_OTHER, "/console/login"));
    assert_eq!(thief.get(&app, "/console").await.status, StatusCode::SEE_OTHER, "the session is over");
    assert_eq!(Browser::default().login(&app, "stolen@example.fr", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
}

async fn sessions_end_when_idle_at_their_absolute_limit_and_on_password_change(app: TestApp) {
    regulator(&app, "sas@example.fr").await;
    let mut browser = Browser::default();
    browser.login(&app, "sas@example.fr", PASSWORD).await;
    // Each request keeps the session alive for two idle hours…
    for _ in 0..5 {
        app.clock.advance(Duration::minutes(119));
        assert_eq!(browser.get(&app, "/console").await.status, StatusCode::OK);
    }
    // … but never past twelve hours after login.
    app.clock.advance(Duration::minutes(119));
    assert_eq!(browser.get(&app, "/console").await.status, StatusCode::OK);
    app.clock.advance(Duration::minutes(110));
    assert_eq!(browser.get(&app, "/console").await.status, StatusCode::SEE_OTHER, "absolute limit");
    // Idle.
    browser.login(&app, "sas@example.fr", PASSWORD).await;
    app.clock.advance(Duration::minutes(120));
    assert_eq!(browser.get(&app, "/console").await.status, StatusCode::SEE_OTHER, "idle");

    // A password change keeps this session and closes the others.
    browser.login(&app, "sas@example.fr", PASSWORD).await;
    let mut other = Browser::default();
    other.login(&app, "sas@example.fr", PASSWORD).await;
    let page = browser.get(&app, "/console/password").await;
    let csrf = hidden(&page.text, "csrf");
    let change = |current: &'static str, new: &'static str, confirm: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("current", current.to_string()),
            ("new", new.to_string()),
            ("confirm", confirm.to_string()),
        ]
    };
    for (form, message) in [
        (
            change("wrong", "un nouveau mot de passe", "un nouveau mot de passe"),
            "Le mot de passe actuel est incorrect.",
        ),
        (change(PASSWORD, "un nouveau mot de passe", "un autre"), "Les deux nouveaux mots de passe diffèrent."),
        (change(PASSWORD, "court", "court"), "12 caractères au moins"),
    ] {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let refused = browser.send(&app, Method::POST, "/console/password", &pairs).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.text.contains(message), "{}", refused.text);
    }
    let form = change(PASSWORD, "un nouveau mot de passe", "un nouveau mot de passe");
    let mut pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    pairs[0].1 = "forged";
    assert_eq!(browser.send(&app, Method::POST, "/console/password", &pairs).await.status, StatusCode::FORBIDDEN);
    pairs[0].1 = &csrf;
    let changed = browser.send(&app, Method::POST, "/console/password", &pairs).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert!(changed.text.contains("Vos autres sessions sont fermées."));
    assert_eq!(browser.get(&app, "/console").await.status, StatusCode::OK);
    assert_eq!(other.get(&app, "/console").await.status, StatusCode::SEE_OTHER);
    assert_eq!(Browser::default().login(&app, "sas@example.fr", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        Browser::default().login(&app, "sas@example.fr", "un nouveau mot de passe").await.status,
        StatusCode::SEE_OTHER
    );
}
