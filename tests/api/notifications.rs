//! The outbox: a booking and its cancellation write their messages — to whom, by which channel, when — in the
//! same transaction as the state change; the regulator and the professional read their state. (Sending them is
//! the worker's part.)

use axum::http::StatusCode;
use serde_json::{Value, json};
use snp::domain::access::Role;

use crate::helpers::{TestApp, slot, test_now};
use crate::on_both_databases;

on_both_databases!(
    a_booking_writes_its_confirmations_and_reminders,
    a_cancellation_withdraws_the_reminders_and_tells_everyone,
    a_refused_booking_writes_no_message,
    notifications_are_read_by_those_who_may_read_the_booking,
);

struct Setup {
    practice: String,
    gp: String,
    regulator: String,
}

async fn setup(app: &TestApp, professional: Value) -> Setup {
    let practice = app.practice(json!({})).await;
    let gp = app.professional(&[&practice], professional).await;
    let regulator = app.key(Role::Regulator, None, &[]).await;
    Setup { practice, gp, regulator }
}

async fn book(app: &TestApp, s: &Setup, minutes: i64, patient: Value) -> String {
    let published = app.publish(&app.admin_key, vec![slot(&s.gp, &s.practice, minutes, 15)]).await;
    assert_eq!(published.status, StatusCode::CREATED, "{}", published.text);
    let slot_id = published.body["slots"][0]["id"].as_str().unwrap();
    let body = json!({"slot_id": slot_id, "motif": "gp_unscheduled", "note": "Douleur thoracique", "patient": patient});
    let booked = app.post("/api/v1/bookings", &s.regulator, body).await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.text);
    booked.body["id"].as_str().unwrap().to_string()
}

fn patient_with_both() -> Value {
    json!({"first_name": "Léa", "last_name": "Martin", "birth_date": "1988-03-14",
           "phone": "06 12 34 56 78", "email": "lea.martin@example.fr"})
}

async fn notifications(app: &TestApp, key: &str, booking: &str) -> Vec<Value> {
    let response = app.get(&format!("/api/v1/bookings/{booking}/notifications"), key).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.body.as_array().unwrap().clone()
}

/// (kind, recipient, channel, status) of each message, in order.
fn summary(messages: &[Value]) -> Vec<(String, String, String, String)> {
    messages
        .iter()
        .map(|m| {
            let field = |name: &str| m[name].as_str().unwrap().to_string();
            (field("kind"), field("recipient"), field("channel"), field("status"))
        })
        .collect()
}

fn row(kind: &str, recipient: &str, channel: &str, status: &str) -> (String, String, String, String) {
    (kind.into(), recipient.into(), channel.into(), status.into())
}

/// A patient with phone and email, a professional with email: three confirmations, pending.
fn confirmations() -> Vec<(String, String, String, String)> {
    vec![
        row("confirmation", "patient", "sms", "pending"),
        row("confirmation", "patient", "email", "pending"),
        row("confirmation", "professional", "email", "pending"),
    ]
}

async fn a_booking_writes_its_confirmations_and_reminders(app: TestApp) {
    let s = setup(&app, json!({})).await;
    // Tomorrow (Wednesday 25 November) 10:00 in Paris: the test clock reads Tuesday 09:00.
    let booking = book(&app, &s, 25 * 60, patient_with_both()).await;
    let messages = notifications(&app, &s.regulator, &booking).await;
    assert_eq!(summary(&messages), [confirmations(), vec![row("reminder", "patient", "sms", "pending"); 2]].concat());
    let due: Vec<&str> = messages.iter().map(|m| m["due_at"].as_str().unwrap()).collect();
    // Confirmations at once; reminders Tuesday 19:00 Paris and two hours before the start.
    assert_eq!(
        due,
        [
            "2026-11-24T08:00:00Z",
            "2026-11-24T08:00:00Z",
            "2026-11-24T08:00:00Z",
            "2026-11-24T18:00:00Z",
            "2026-11-25T07:00:00Z"
        ]
    );
    assert!(messages.iter().all(|m| m["attempts"] == 0 && m["last_error"].is_null() && m["sent_at"].is_null()));
    // What is stored: addresses and kinds, never the reason or the note.
    let stored = app.count("SELECT COUNT(*) FROM outbox WHERE booking_id = $1", &booking).await;
    assert_eq!(stored, 5);
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE address = $1", "+33612345678").await, 3);

    // Email only, a professional without email, and an appointment in 90 minutes: one confirmation, and no
    // reminder (both would come too late).
    let quiet = setup(&app, json!({"email": null})).await;
    let email_only = json!({"first_name": "Paul", "last_name": "Durand", "birth_date": "1990-01-01",
                            "email": "paul.durand@example.fr"});
    let soon = book(&app, &quiet, 90, email_only).await;
    assert_eq!(
        summary(&notifications(&app, &quiet.regulator, &soon).await),
        [row("confirmation", "patient", "email", "pending")]
    );
}

async fn a_cancellation_withdraws_the_reminders_and_tells_everyone(app: TestApp) {
    let s = setup(&app, json!({})).await;
    let booking = book(&app, &s, 25 * 60, patient_with_both()).await;
    app.clock.advance(chrono::Duration::hours(1));
    let cancelled = app.post(&format!("/api/v1/bookings/{booking}/cancel"), &s.regulator, json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text);
    let messages = notifications(&app, &s.regulator, &booking).await;
    assert_eq!(
        summary(&messages),
        [
            confirmations(),
            vec![
                row("cancellation", "patient", "sms", "pending"),
                row("cancellation", "patient", "email", "pending"),
                row("cancellation", "professional", "email", "pending"),
            ],
            vec![row("reminder", "patient", "sms", "withdrawn"); 2],
        ]
        .concat()
    );
    let cancellation_due = (test_now() + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(messages[3]["due_at"], cancellation_due.as_str());
    // Cancelling again is refused and writes nothing more.
    let again = app.post(&format!("/api/v1/bookings/{booking}/cancel"), &s.regulator, json!({})).await;
    again.problem(StatusCode::CONFLICT, "invalid_transition");
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE booking_id = $1", &booking).await, 8);
}

async fn a_refused_booking_writes_no_message(app: TestApp) {
    let s = setup(&app, json!({})).await;
    let booking = book(&app, &s, 25 * 60, patient_with_both()).await;
    let slot_id = app.get(&format!("/api/v1/bookings/{booking}"), &s.regulator).await.body["slot"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = app.count("SELECT COUNT(*) FROM outbox WHERE booking_id <> $1", "").await;
    let body = json!({"slot_id": slot_id, "motif": "gp_unscheduled", "patient": patient_with_both()});
    app.post("/api/v1/bookings", &s.regulator, body).await.problem(StatusCode::CONFLICT, "slot_unavailable");
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE booking_id <> $1", "").await, before);
}

async fn notifications_are_read_by_those_who_may_read_the_booking(app: TestApp) {
    let s = setup(&app, json!({})).await;
    let booking = book(&app, &s, 25 * 60, patient_with_both()).await;
    let own = app.key(Role::Professional, Some(&s.gp), &[]).await;
    assert_eq!(notifications(&app, &own, &booking).await.len(), 5);
    let other_gp = app.professional(&[&s.practice], json!({})).await;
    let other = app.key(Role::Professional, Some(&other_gp), &[]).await;
    let path = format!("/api/v1/bookings/{booking}/notifications");
    app.get(&path, &other).await.problem(StatusCode::FORBIDDEN, "forbidden");
    let publisher = app.key(Role::Publisher, None, &[&s.practice]).await;
    app.get(&path, &publisher).await.problem(StatusCode::FORBIDDEN, "forbidden");
    app.get("/api/v1/bookings/nope/notifications", &s.regulator).await.problem(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.call(axum::http::Method::GET, &path, None, None).await.status, StatusCode::UNAUTHORIZED);
    // The address is not shown: the booking's own view is where contact details are read (and audited).
    let messages = notifications(&app, &s.regulator, &booking).await;
    assert!(messages.iter().all(|m| m.get("address").is_none()));
}
