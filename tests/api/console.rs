//! The console's doors over HTTP: login with its double-submit CSRF token, lock-out after repeated failures,
//! the session cookie and its expiry (idle, absolute, logout), CSRF on every form, password change.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::Duration;
use snp::accounts::{UserRequest, create_user};
use snp::clock::Clock;
use snp::domain::access::Role;

use crate::helpers::{TestApp, TestResponse};
use crate::on_both_databases;

on_both_databases!(
    a_user_logs_in_and_out_with_a_fresh_session_and_csrf_on_every_form,
    repeated_failures_lock_the_account_for_a_while,
    sessions_end_when_idle_at_their_absolute_limit_and_on_password_change,
);

const PASSWORD: &str = "cheval agrafe pile";

async fn regulator(app: &TestApp, email: &str) {
    let request =
        UserRequest { email: email.into(), role: Role::Regulator, professional_id: None, password: PASSWORD.into() };
    create_user(app.store.as_ref(), request, app.clock.now()).await.unwrap();
}

/// A browser: keeps the cookies the server sets.
#[derive(Default, Clone)]
struct Browser {
    cookies: BTreeMap<String, String>,
}

impl Browser {
    async fn send(&mut self, app: &TestApp, method: Method, path: &str, form: &[(&str, &str)]) -> TestResponse {
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

    async fn get(&mut self, app: &TestApp, path: &str) -> TestResponse {
        self.send(app, Method::GET, path, &[]).await
    }

    async fn login(&mut self, app: &TestApp, email: &str, password: &str) -> TestResponse {
        let form = self.get(app, "/console/login").await;
        let csrf = hidden(&form.text, "csrf");
        self.send(app, Method::POST, "/console/login", &[("email", email), ("password", password), ("csrf", &csrf)])
            .await
    }
}

/// The value of a hidden field of a page's form.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in {html}")) + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

fn location(response: &TestResponse) -> &str {
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
        .find(|c| c.starts_with("snp_session="))
        .unwrap()
        .to_string();
    assert!(
        session_cookie.contains("HttpOnly")
            && session_cookie.contains("SameSite=Strict")
            && session_cookie.contains("Path=/")
    );
    assert!(!session_cookie.contains("Secure"), "plain http in tests: no Secure flag");
    let first_session = browser.cookies["snp_session"].clone();
    assert_eq!(first_session.len(), 43, "256 bits");
    let home = browser.get(&app, "/console").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.text.contains("Connecté : regulation.sas76@example.fr (régulation)."), "{}", home.text);
    // Only the digest is stored.
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE id_digest = $1", &first_session).await, 0);

    // Logging in again renews the session id.
    let mut second = Browser::default();
    second.login(&app, "regulation.sas76@example.fr", PASSWORD).await;
    assert_ne!(second.cookies["snp_session"], first_session);

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
    assert!(!browser.cookies.contains_key("snp_session"));
    assert_eq!(stale.clone().get(&app, "/console").await.status, StatusCode::SEE_OTHER, "a replayed cookie is dead");
    assert_eq!(second.get(&app, "/console").await.status, StatusCode::OK, "other sessions live on");

    // Traced: logins and logout, by user id.
    let trail = app.get("/api/v1/audit?target_type=user", &app.admin_key).await;
    let actions: Vec<&str> =
        trail.body["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["logout", "login.success", "login.success"]);
    assert_eq!(trail.body["events"][0]["actor_kind"], "user");
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
    // The fifth failure locks the account: even the right password is refused until the lock ends.
    let locked = browser.login(&app, "sas@example.fr", "wrong again").await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.text.contains("ce compte est verrouillé. Réessayez dans 15 minutes."), "{}", locked.text);
    let still = browser.login(&app, "sas@example.fr", PASSWORD).await;
    assert_eq!(still.status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(Duration::minutes(14));
    assert!(browser.login(&app, "sas@example.fr", PASSWORD).await.text.contains("Réessayez dans 1 minute."));
    app.clock.advance(Duration::minutes(1));
    let back = browser.login(&app, "sas@example.fr", PASSWORD).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.text);
    // A success clears the count: one more failure does not lock again.
    assert_eq!(Browser::default().login(&app, "sas@example.fr", "oops").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(Browser::default().login(&app, "sas@example.fr", PASSWORD).await.status, StatusCode::SEE_OTHER);
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
