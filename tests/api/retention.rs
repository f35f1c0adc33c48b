//! Retention: a booking's patient data is erased `retention.patient_data_days` after its slot ended, with the
//! addresses of its messages; the booking itself, its statistics and its audit trail stay, pseudonymous.

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::json;
use snp::clock::Clock;
use snp::retention::{Trigger, erase_expired};

use crate::delivery::{book_with, outbox_of};
use crate::helpers::{TestApp, test_now};
use crate::on_both_databases;

on_both_databases!(patient_data_is_erased_after_the_retention_period_and_nothing_else,);

async fn patient_data_is_erased_after_the_retention_period_and_nothing_else(app: TestApp) {
    // A: tomorrow 10:00–10:15, then cancelled with a reason; B: in 100 days.
    let a = book_with(&app, 25 * 60, json!({}), json!({})).await;
    let cancelled = app
        .post(&format!("/api/v1/bookings/{a}/cancel"), &app.admin_key, json!({"reason": "Patiente hospitalisée"}))
        .await;
    assert_eq!(cancelled.status, StatusCode::OK);
    let b = book_with(&app, 100 * 24 * 60, json!({}), json!({"first_name": "Paul"})).await;
    let events_before = app.count("SELECT COUNT(*) FROM audit_events WHERE target_id = $1", &a).await;
    // A provider's error may quote the address.
    let quote =
        format!("UPDATE outbox SET last_error = '550 <lea.martin@example.fr> unknown' WHERE booking_id = '{a}'");
    app.execute(&quote, &quote).await;

    // 90 days after A's end, less a minute: nothing yet.
    let a_end = test_now() + Duration::minutes(25 * 60 + 15);
    assert_eq!(
        erase_expired(app.store.as_ref(), a_end + Duration::days(90) - Duration::minutes(1), 90, Trigger::Job)
            .await
            .unwrap(),
        0
    );
    app.clock.set(a_end + Duration::days(90) + Duration::minutes(1));
    assert_eq!(erase_expired(app.store.as_ref(), app.clock.now(), 90, Trigger::Job).await.unwrap(), 1);
    assert_eq!(erase_expired(app.store.as_ref(), app.clock.now(), 90, Trigger::Command).await.unwrap(), 0, "done once");
    // The trail records the job's run that erased something, and every run of the command.
    let runs = app.get("/api/v1/audit?action=retention.erase", &app.admin_key).await;
    let runs: Vec<(&str, &str)> = runs.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["actor_kind"].as_str().unwrap(), e["detail"].as_str().unwrap()))
        .collect();
    assert_eq!(
        runs,
        [
            ("system", "0 bookings, slots ended more than 90 days ago"),
            ("system", "1 bookings, slots ended more than 90 days ago")
        ]
    );

    let erased = app.get(&format!("/api/v1/bookings/{a}"), &app.admin_key).await;
    assert_eq!(erased.status, StatusCode::OK, "{}", erased.text);
    assert!(erased.body["patient"].is_null(), "{}", erased.body);
    assert_eq!(erased.body["patient_erased_at"], "2027-02-23T09:16:00Z");
    assert!(erased.body["note"].is_null() && erased.body["cancel_reason"].is_null());
    // What stays: the booking's state, times and ids.
    assert_eq!(
        (erased.body["status"].as_str(), erased.body["slot"]["start"].as_str()),
        (Some("cancelled"), Some("2026-11-25T09:00:00Z"))
    );
    for secret in ["Martin", "Léa", "1988-03-14", "+33612345678", "lea.martin", "Douleur", "hospitalisée"] {
        assert!(!erased.text.contains(secret), "{secret} left in {}", erased.text);
    }
    // The messages' addresses are gone; their history stays.
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE booking_id = $1 AND address <> ''", &a).await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE booking_id = $1 AND last_error IS NOT NULL", &a).await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE booking_id = $1 AND status = 'pending'", &a).await, 0);
    assert_eq!(outbox_of(&app, &a).await.len(), 8, "3 confirmations, 2 withdrawn reminders, 3 cancellations stay");
    // The audit trail is intact (and gains this view).
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_events WHERE target_id = $1", &a).await, events_before + 1);
    // B, whose slot is still to come, is untouched — in lists too.
    let kept = app.get(&format!("/api/v1/bookings/{b}"), &app.admin_key).await;
    assert_eq!(kept.body["patient"]["first_name"], "Paul");
    assert!(kept.body["patient_erased_at"].is_null());
    assert!(app.count("SELECT COUNT(*) FROM outbox WHERE booking_id = $1 AND address <> ''", &b).await > 0);
    let listed = app.get("/api/v1/bookings", &app.admin_key).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.body["bookings"].as_array().unwrap().len(), 2);
}
