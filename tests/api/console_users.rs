//! Admins manage console accounts: create one (password shown once), change a role (effective at once, the
//! principal follows), disable and enable (sessions end at once), reset a password (every session ends, a lock
//! is lifted). Not their own account; not for other roles; every action audited and CSRF-checked.

use axum::http::{Method, StatusCode};
use serde_json::Value;

use crate::console::{Browser, PASSWORD, hidden, location};
use crate::console_pages::{logged_in, main_of, territory};
use crate::helpers::TestApp;
use crate::on_both_databases;

on_both_databases!(an_admin_creates_changes_disables_and_resets_accounts,);

/// The text of the first `<code>` of a page: a password shown once.
fn shown_password(html: &str) -> String {
    let start = html.find("<code>").unwrap_or_else(|| panic!("no password in {}", main_of(html))) + 6;
    html[start..start + html[start..].find("</code>").unwrap()].to_string()
}

async fn user_id(app: &TestApp, email: &str) -> String {
    let users = app.store.list_users().await.unwrap();
    users.into_iter().find(|u| u.email == email).expect("account").id
}

async fn audited(app: &TestApp, action: &str) -> Value {
    let trail = app.get(&format!("/api/v1/audit?action={action}"), &app.admin_key).await;
    trail.body["events"][0].clone()
}

async fn an_admin_creates_changes_disables_and_resets_accounts(app: TestApp) {
    territory(&app).await;
    let mut admin = logged_in(&app, "admin@example.fr").await;
    let page = admin.get(&app, "/console/users").await;
    assert_eq!(page.status, StatusCode::OK, "{}", main_of(&page.text));
    assert!(page.text.contains("kine@example.fr") && page.text.contains("votre compte"), "{}", main_of(&page.text));
    let csrf = hidden(&page.text, "csrf");

    // A new regulator: the password is shown once and works.
    let form =
        [("csrf", csrf.as_str()), ("email", "Nouveau@Example.fr"), ("role", "regulator"), ("professional_id", "")];
    let created = admin.send(&app, Method::POST, "/console/users", &form).await;
    assert_eq!(created.status, StatusCode::OK, "{}", main_of(&created.text));
    let password = shown_password(&created.text);
    let mut newcomer = Browser::default();
    assert_eq!(newcomer.login(&app, "nouveau@example.fr", &password).await.status, StatusCode::SEE_OTHER);
    let event = audited(&app, "user.create").await;
    assert_eq!((event["actor_kind"].as_str(), event["detail"].as_str()), (Some("user"), Some("role regulator")));
    let again = admin.send(&app, Method::POST, "/console/users", &form).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.text.contains("Un compte existe déjà"), "{}", main_of(&again.text));
    let unbound =
        [("csrf", csrf.as_str()), ("email", "pro@example.fr"), ("role", "professional"), ("professional_id", "")];
    let refused = admin.send(&app, Method::POST, "/console/users", &unbound).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", main_of(&refused.text));
    assert!(app.store.find_user_by_email("pro@example.fr").await.unwrap().is_none());

    // A role change takes effect at the next page, and the principal follows.
    let newcomer_id = user_id(&app, "nouveau@example.fr").await;
    let access = [("csrf", csrf.as_str()), ("role", "coordinator"), ("professional_id", "")];
    let changed = admin.send(&app, Method::POST, &format!("/console/users/{newcomer_id}/access"), &access).await;
    assert_eq!(
        (changed.status, location(&changed)),
        (StatusCode::SEE_OTHER, "/console/users"),
        "{}",
        main_of(&changed.text)
    );
    assert_eq!(newcomer.get(&app, "/console/directory").await.status, StatusCode::OK);
    assert_eq!(newcomer.get(&app, "/console/regulation").await.status, StatusCode::FORBIDDEN);
    let principal =
        app.count("SELECT COUNT(*) FROM api_keys WHERE user_id = $1 AND role = 'coordinator'", &newcomer_id).await;
    assert_eq!(principal, 1);
    assert_eq!(audited(&app, "user.role").await["detail"], "role coordinator");

    // Disabling ends the sessions at once; enabling lets the person in again.
    let mut kine = logged_in(&app, "kine@example.fr").await;
    let kine_id = user_id(&app, "kine@example.fr").await;
    let disabled =
        admin.send(&app, Method::POST, &format!("/console/users/{kine_id}/disable"), &[("csrf", &csrf)]).await;
    assert_eq!(disabled.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&kine.get(&app, "/console/practice").await), "/console/login");
    assert_eq!(Browser::default().login(&app, "kine@example.fr", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    let listed = admin.get(&app, "/console/users").await;
    assert!(listed.text.contains("Désactivé"), "{}", main_of(&listed.text));
    admin.send(&app, Method::POST, &format!("/console/users/{kine_id}/enable"), &[("csrf", &csrf)]).await;
    let mut kine = logged_in(&app, "kine@example.fr").await;

    // A reset: a new password shown once, the old one refused, the sessions ended, a lock lifted.
    let lock =
        format!("UPDATE users SET failed_logins = 5, locked_until = '2026-11-24T12:00:00Z' WHERE id = '{kine_id}'");
    let lock_pg = lock.replace("'2026-11-24T12:00:00Z'", "TIMESTAMPTZ '2026-11-24T12:00:00Z'");
    app.execute(&lock, &lock_pg).await;
    let reset = admin.send(&app, Method::POST, &format!("/console/users/{kine_id}/password"), &[("csrf", &csrf)]).await;
    assert_eq!(reset.status, StatusCode::OK, "{}", main_of(&reset.text));
    let fresh = shown_password(&reset.text);
    assert_eq!(location(&kine.get(&app, "/console/practice").await), "/console/login");
    assert_eq!(Browser::default().login(&app, "kine@example.fr", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(Browser::default().login(&app, "kine@example.fr", &fresh).await.status, StatusCode::SEE_OTHER);
    assert_eq!(audited(&app, "user.password_reset").await["target_id"], kine_id.as_str());

    // Not one's own account; not for coordinators; never without the token; unknown ones answered.
    let admin_id = user_id(&app, "admin@example.fr").await;
    let own = admin.send(&app, Method::POST, &format!("/console/users/{admin_id}/disable"), &[("csrf", &csrf)]).await;
    assert_eq!(own.status, StatusCode::CONFLICT);
    assert!(app.store.get_user(&admin_id).await.unwrap().unwrap().disabled_at.is_none());
    let mut coordinator = logged_in(&app, "coordination@example.fr").await;
    assert_eq!(coordinator.get(&app, "/console/users").await.status, StatusCode::FORBIDDEN);
    let token = hidden(&coordinator.get(&app, "/console").await.text, "csrf");
    let attempt =
        coordinator.send(&app, Method::POST, &format!("/console/users/{kine_id}/disable"), &[("csrf", &token)]).await;
    assert_eq!(attempt.status, StatusCode::FORBIDDEN);
    let forged =
        admin.send(&app, Method::POST, &format!("/console/users/{kine_id}/disable"), &[("csrf", "forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(app.store.get_user(&kine_id).await.unwrap().unwrap().disabled_at.is_none());
    let unknown = admin.send(&app, Method::POST, "/console/users/nope/disable", &[("csrf", &csrf)]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let unknown = admin.send(&app, Method::POST, &format!("/console/users/{kine_id}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}
