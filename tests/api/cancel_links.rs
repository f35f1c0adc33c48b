//! The patient's cancel link, followed from the SMS that carried it: the page, the cancellation it makes once,
//! and the kind answers of a used, expired or wrong link.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use chrono::Duration;
use serde_json::json;
use snp::http::{AppState, router};

use crate::delivery::{book_with, outbox_of};
use crate::fake_ovh::FakeOvh;
use crate::helpers::{TestApp, TestResponse, send_to};
use crate::on_both_databases;
use crate::sms::{PUBLIC_URL, sms_worker};

on_both_databases!(
    the_link_shows_the_appointment_and_cancels_it_once_telling_the_professional,
    a_link_expires_when_the_appointment_starts_and_a_wrong_one_finds_nothing,
    the_patient_pages_are_rate_limited_per_client,
);

/// Books, lets the worker send the patient's SMS, and returns the booking and the link's path (`/r/…`).
async fn book_and_follow_the_sms(app: &TestApp, ovh: &FakeOvh, minutes_from_now: i64) -> (String, String) {
    let booking = book_with(app, minutes_from_now, json!({}), json!({})).await;
    let before = ovh.jobs().len();
    sms_worker(app, ovh).run_once().await.unwrap();
    let jobs = ovh.jobs();
    assert_eq!(jobs.len(), before + 1);
    let sms = jobs.last().unwrap()["message"].as_str().unwrap().to_string();
    let url = sms.split("Annuler : ").nth(1).unwrap();
    (booking, url.strip_prefix(PUBLIC_URL).unwrap().to_string())
}

/// What a browser sends: no key, and for the button an empty urlencoded form.
async fn browse(app: &TestApp, method: Method, path: &str) -> TestResponse {
    let mut request = Request::builder().method(method.clone()).uri(path);
    if method == Method::POST {
        request = request.header("content-type", "application/x-www-form-urlencoded");
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

async fn booking_status(app: &TestApp, booking: &str) -> String {
    let shown = app.get(&format!("/api/v1/bookings/{booking}"), &app.admin_key).await;
    shown.body["status"].as_str().unwrap().to_string()
}

fn assert_private_page(page: &TestResponse) {
    let header = |name: &str| page.headers[name].to_str().unwrap().to_string();
    assert_eq!(header("content-type"), "text/html; charset=utf-8");
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert_eq!(header("cache-control"), "no-store");
    assert!(header("content-security-policy").contains("default-src 'none'"));
    assert!(page.text.starts_with("<!DOCTYPE html>") && page.text.contains("<html lang=\"fr\">"));
    // Whoever holds the link learns no more than the message said: not the patient, not the reason.
    for secret in ["Martin", "Léa", "Douleur", "thoracique", "06 12", "+336"] {
        assert!(!page.text.contains(secret), "{secret} on the page: {}", page.text);
    }
}

async fn the_link_shows_the_appointment_and_cancels_it_once_telling_the_professional(app: TestApp) {
    let ovh = FakeOvh::start().await;
    let (booking, path) = book_and_follow_the_sms(&app, &ovh, 25 * 60).await;

    // The page: when, with whom, where, and the button (a form: no JavaScript needed).
    let page = browse(&app, Method::GET, &path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert_private_page(&page);
    assert!(page.text.contains("<dt>Quand</dt><dd>mercredi 25 novembre à 10 h 00</dd>"), "{}", page.text);
    assert!(page.text.contains("<dd>Claire Lefebvre, médecin généraliste</dd>"));
    assert!(page.text.contains("Maison de santé du Perrey, 12 rue Jules Vallès, 76610 Le Havre"));
    assert!(page.text.contains("<form method=\"post\">") && page.text.contains("Annuler le rendez-vous</button>"));
    // Looking changes nothing (link previews and mail scanners follow links).
    browse(&app, Method::GET, &path).await;
    assert_eq!(booking_status(&app, &booking).await, "confirmed");

    // The button cancels: the slot is free again, the reminders are withdrawn, the professional is told.
    let done = browse(&app, Method::POST, &path).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_private_page(&done);
    assert!(
        done.text.contains("<h1>Votre rendez-vous est annulé</h1>") && done.text.contains("Le cabinet est prévenu")
    );
    let shown = app.get(&format!("/api/v1/bookings/{booking}"), &app.admin_key).await;
    assert_eq!(shown.body["status"], "cancelled");
    assert_eq!(shown.body["cancelled_by"], "patient");
    let trail = app.get(&format!("/api/v1/audit?target_id={booking}&action=booking.cancel"), &app.admin_key).await;
    let event = &trail.body["events"][0];
    assert_eq!((event["actor_kind"].as_str(), event["actor_id"].as_str()), (Some("patient"), None), "{event}");
    assert_eq!(event["detail"], "cancel link");
    let slot = app.get(&format!("/api/v1/slots/{}", shown.body["slot"]["id"].as_str().unwrap()), &app.admin_key).await;
    assert_eq!(slot.body["status"], "free");
    let messages = outbox_of(&app, &booking).await;
    let of = |kind: &str, status: &str| messages.iter().filter(|m| m["kind"] == kind && m["status"] == status).count();
    assert_eq!(of("reminder", "withdrawn"), 2);
    assert!(messages.iter().any(|m| m["kind"] == "cancellation" && m["recipient"] == "professional"), "{messages:?}");
    let patient_told = messages.iter().find(|m| m["kind"] == "cancellation" && m["recipient"] == "patient");
    assert_eq!(patient_told.unwrap()["channel"], "sms");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM cancel_links WHERE booking_id = $1 AND used_at IS NOT NULL", &booking).await,
        1
    );

    // Once only: a second click, or the page again, says it is done already — and changes nothing.
    for method in [Method::POST, Method::GET] {
        let again = browse(&app, method, &path).await;
        assert_eq!(again.status, StatusCode::GONE, "{}", again.text);
        assert!(again.text.contains("est déjà annulé : vous n'avez rien d'autre à faire"), "{}", again.text);
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox WHERE booking_id = $1 AND kind = 'cancellation'", &booking).await,
        3
    );
}

async fn a_link_expires_when_the_appointment_starts_and_a_wrong_one_finds_nothing(app: TestApp) {
    let ovh = FakeOvh::start().await;
    let (booking, path) = book_and_follow_the_sms(&app, &ovh, 3 * 60).await;
    // Wrong links: a well-formed token that was never issued, a truncated one, one with a character changed.
    let unknown_token = "A".repeat(32);
    let truncated = &path[..path.len() - 1];
    let mut altered = path.clone();
    let last = altered.pop().unwrap();
    altered.push(if last == 'x' { 'y' } else { 'x' });
    for wrong in [format!("/r/{unknown_token}"), truncated.to_string(), altered, "/r/%27%3Cscript%3E".to_string()] {
        for method in [Method::GET, Method::POST] {
            let page = browse(&app, method, &wrong).await;
            assert_eq!(page.status, StatusCode::NOT_FOUND, "{wrong}: {}", page.text);
            assert_private_page(&page);
            assert!(page.text.contains("Ce lien ne correspond à aucun rendez-vous"), "{}", page.text);
        }
    }
    assert_eq!(booking_status(&app, &booking).await, "confirmed");

    // The appointment starts: the link can no longer cancel it, and says whom to call.
    app.clock.advance(Duration::minutes(3 * 60));
    for method in [Method::GET, Method::POST] {
        let page = browse(&app, method, &path).await;
        assert_eq!(page.status, StatusCode::GONE, "{}", page.text);
        assert!(page.text.contains("<h1>Lien expiré</h1>") && page.text.contains("a commencé ou est passé"));
    }
    assert_eq!(booking_status(&app, &booking).await, "confirmed");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM cancel_links WHERE booking_id = $1 AND used_at IS NOT NULL", &booking).await,
        0
    );

    // A booking the regulator cancelled: its link says so.
    let (other, other_path) = book_and_follow_the_sms(&app, &ovh, 5 * 60).await;
    let cancelled = app.post(&format!("/api/v1/bookings/{other}/cancel"), &app.admin_key, json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK);
    let page = browse(&app, Method::POST, &other_path).await;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(page.text.contains("est déjà annulé"));
}

/// A request as it arrives over TCP from `peer`, with a proxy header when given.
fn from_peer(path: &str, peer: &str, forwarded_for: Option<&str>) -> Request<Body> {
    let mut request = Request::builder().uri(path);
    if let Some(forwarded) = forwarded_for {
        request = request.header("x-forwarded-for", forwarded);
    }
    let mut request = request.body(Body::empty()).unwrap();
    let peer: std::net::IpAddr = peer.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(std::net::SocketAddr::new(peer, 50_000)));
    request
}

async fn the_patient_pages_are_rate_limited_per_client(app: TestApp) {
    let path = format!("/r/{}", "B".repeat(32));
    // No trusted proxy: a client is its TCP address, whatever it writes in X-Forwarded-For.
    for i in 0..app.settings.http.public_page_requests_per_minute {
        let forged = format!("198.51.100.{i}");
        let page = app.send(from_peer(&path, "203.0.113.5", Some(&forged))).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
    }
    let limited = app.send(from_peer(&path, "203.0.113.5", Some("198.51.100.200"))).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers["retry-after"], "60");
    assert_eq!(limited.headers["referrer-policy"], "no-referrer");
    assert!(limited.text.contains("Réessayez dans une minute"));
    // Another client is not affected, nor is the API; the next minute brings a new budget.
    assert_eq!(app.send(from_peer(&path, "203.0.113.6", None)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/v1/motifs", &app.admin_key).await.status, StatusCode::OK);
    app.clock.advance(Duration::seconds(60));
    assert_eq!(app.send(from_peer(&path, "203.0.113.5", None)).await.status, StatusCode::NOT_FOUND);

    // Behind trusted reverse proxies, a client is the nearest forwarded address that is not a proxy.
    let mut settings = app.settings.clone();
    settings.http.trusted_proxies = vec!["10.0.0.0/8".into()];
    settings.http.public_page_requests_per_minute = 2;
    let behind_proxy = router(AppState::new(app.store.clone(), app.clock.clone(), &settings), &settings);
    let status = |peer: &'static str, forwarded: &'static str| {
        let router = behind_proxy.clone();
        let path = path.clone();
        async move { send_to(&router, from_peer(&path, peer, Some(forwarded))).await.status }
    };
    // The client forges the left of the header; the proxies append what they saw (198.51.100.7, then 10.1.1.1).
    assert_eq!(status("10.2.2.2", "1.1.1.1, 198.51.100.7, 10.1.1.1").await, StatusCode::NOT_FOUND);
    assert_eq!(status("10.2.2.2", "2.2.2.2, 198.51.100.7, 10.1.1.1").await, StatusCode::NOT_FOUND);
    assert_eq!(status("10.2.2.2", "3.3.3.3, 198.51.100.7, 10.1.1.1").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(status("10.2.2.2", "198.51.100.8, 10.1.1.1").await, StatusCode::NOT_FOUND, "another patient");
    // A request that does not come through a proxy cannot borrow another client's address.
    assert_eq!(status("192.0.2.1", "198.51.100.9").await, StatusCode::NOT_FOUND);
    assert_eq!(status("192.0.2.1", "198.51.100.10").await, StatusCode::NOT_FOUND);
    assert_eq!(status("192.0.2.1", "198.51.100.11").await, StatusCode::TOO_MANY_REQUESTS);
}
