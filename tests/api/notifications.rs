//! The outbox: a booking and its cancellation write their messages — to whom, by which channel, when — in the
//! same transaction as the state change; the regulator and the professional read their state. (Sending them is
//! the worker's part.)

use axum::http::StatusCode;
use serde_json::{Value, json};
use snp::domain::access::Role;

use chrono::Duration;
use snp::domain::notification::{Attempt, Kind, RecordedAttempt};

use crate::helpers::{TestApp, slot, test_now};
use crate::on_both_databases;

on_both_databases!(
    a_booking_writes_its_confirmations_and_reminders,
    a_cancellation_withdraws_the_reminders_and_tells_everyone,
    a_refused_booking_writes_no_message,
    notifications_are_read_by_those_who_may_read_the_booking,
    due_messages_are_claimed_once_per_lease_and_each_claim_counts_an_attempt,
    attempts_are_recorded_as_sent_retried_or_failed,
    reminders_of_an_appointment_that_has_started_are_withdrawn_not_sent,
    concurrent_workers_claim_each_message_once,
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

fn recorded(id: &str, attempt: &Attempt, at: chrono::DateTime<chrono::Utc>) -> RecordedAttempt {
    RecordedAttempt { id: id.to_string(), attempt: attempt.clone(), at }
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

    // Email only, a professional without email (told by SMS on their phone), and an appointment in 90
    // minutes: the confirmations, and no reminder (both would come too late).
    let quiet = setup(&app, json!({"email": null})).await;
    let email_only = json!({"first_name": "Paul", "last_name": "Durand", "birth_date": "1990-01-01",
                            "email": "paul.durand@example.fr"});
    let soon = book(&app, &quiet, 90, email_only.clone()).await;
    assert_eq!(
        summary(&notifications(&app, &quiet.regulator, &soon).await),
        [row("confirmation", "patient", "email", "pending"), row("confirmation", "professional", "sms", "pending")]
    );
    // Neither an email nor a phone: the professional cannot be told (the regulator calls the practice).
    let unreachable = setup(&app, json!({"email": null, "phone": null})).await;
    let booked = book(&app, &unreachable, 90, email_only).await;
    assert_eq!(
        summary(&notifications(&app, &unreachable.regulator, &booked).await),
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

async fn due_messages_are_claimed_once_per_lease_and_each_claim_counts_an_attempt(app: TestApp) {
    let s = setup(&app, json!({})).await;
    let booking = book(&app, &s, 25 * 60, patient_with_both()).await;
    let now = test_now();
    let claimed = app.store.claim_due_notifications(now, now + Duration::seconds(60), 10, "claim-a").await.unwrap();
    // The three confirmations are due; the reminders are not.
    assert_eq!(claimed.len(), 3);
    assert!(claimed.iter().all(|m| m.kind == Kind::Confirmation && m.attempts == 1 && m.booking_id == booking));
    // Within the lease, nobody else gets them.
    assert!(
        app.store.claim_due_notifications(now, now + Duration::seconds(60), 10, "claim-x").await.unwrap().is_empty()
    );
    // A worker that died (or stalled) mid-batch: once the lease is over, they are claimed again, attempt 2.
    let later = now + Duration::seconds(61);
    let again = app.store.claim_due_notifications(later, later + Duration::seconds(60), 10, "claim-b").await.unwrap();
    assert_eq!(again.iter().map(|m| &m.id).collect::<Vec<_>>(), claimed.iter().map(|m| &m.id).collect::<Vec<_>>());
    assert!(again.iter().all(|m| m.attempts == 2));
    let shown = notifications(&app, &s.regulator, &booking).await;
    assert_eq!(shown.iter().map(|m| m["attempts"].as_u64().unwrap()).collect::<Vec<_>>(), [2, 2, 2, 0, 0]);
    // The stalled worker wakes up: it can neither renew its lease before sending nor record an outcome.
    let taken = &claimed[0].id;
    assert!(!app.store.renew_claim(taken, "claim-a", later + Duration::seconds(120)).await.unwrap());
    let failed = Attempt::Failed { error: "stale".into() };
    app.store.record_attempts("claim-a", &[recorded(taken, &failed, later)]).await.unwrap();
    assert!(app.store.renew_claim(taken, "claim-b", later + Duration::seconds(120)).await.unwrap());
    let sent = Attempt::Sent { provider_id: Some("250 queued".into()) };
    app.store.record_attempts("claim-b", &[recorded(taken, &sent, later)]).await.unwrap();
    let shown = notifications(&app, &s.regulator, &booking).await;
    assert_eq!(shown.iter().filter(|m| m["status"] == "sent").count(), 1);
    assert_eq!(shown.iter().filter(|m| m["status"] == "failed").count(), 0);
}

async fn attempts_are_recorded_as_sent_retried_or_failed(app: TestApp) {
    let s = setup(&app, json!({})).await;
    let booking = book(&app, &s, 25 * 60, patient_with_both()).await;
    let now = test_now();
    let claimed = app.store.claim_due_notifications(now, now + Duration::seconds(60), 10, "c").await.unwrap();
    let (sms, email, professional) = (&claimed[0], &claimed[1], &claimed[2]);
    let sent = Attempt::Sent { provider_id: Some("job-42".into()) };
    let retry = Attempt::Retry { error: "421 service not available".into(), at: now + Duration::seconds(30) };
    let failed = Attempt::Failed { error: "550 mailbox unavailable".into() };
    // One batch, one transaction.
    let batch =
        [recorded(&sms.id, &sent, now), recorded(&email.id, &retry, now), recorded(&professional.id, &failed, now)];
    app.store.record_attempts("c", &batch).await.unwrap();
    // A late answer for a message no longer pending changes nothing.
    app.store.record_attempts("c", &[recorded(&professional.id, &sent, now)]).await.unwrap();

    let shown = notifications(&app, &s.regulator, &booking).await;
    let by_status = |status: &str| shown.iter().filter(|m| m["status"] == status).cloned().collect::<Vec<_>>();
    let sent = by_status("sent");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["channel"], "sms");
    assert_eq!(sent[0]["sent_at"], "2026-11-24T08:00:00Z");
    let failed = by_status("failed");
    assert_eq!(
        (failed[0]["recipient"].as_str(), failed[0]["last_error"].as_str()),
        (Some("professional"), Some("550 mailbox unavailable"))
    );
    let retried: Vec<_> = by_status("pending").into_iter().filter(|m| m["kind"] == "confirmation").collect();
    assert_eq!(retried[0]["due_at"], "2026-11-24T08:00:30Z");
    assert_eq!(retried[0]["last_error"], "421 service not available");
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE provider_id = $1", "job-42").await, 1);
    // Not due before its time; then claimed again.
    assert!(
        app.store
            .claim_due_notifications(now + Duration::seconds(29), now + Duration::seconds(90), 10, "d")
            .await
            .unwrap()
            .is_empty()
    );
    let due = now + Duration::seconds(30);
    let again = app.store.claim_due_notifications(due, due + Duration::seconds(60), 10, "e").await.unwrap();
    assert_eq!((again.len(), again[0].id.as_str(), again[0].attempts), (1, email.id.as_str(), 2));
}

async fn reminders_of_an_appointment_that_has_started_are_withdrawn_not_sent(app: TestApp) {
    let s = setup(&app, json!({})).await;
    let booking = book(&app, &s, 25 * 60, patient_with_both()).await;
    // The worker was down until a minute after the start: every message is due.
    let late = test_now() + Duration::minutes(25 * 60 + 1);
    let claimed = app.store.claim_due_notifications(late, late + Duration::seconds(60), 10, "f").await.unwrap();
    assert!(claimed.iter().all(|m| m.kind == Kind::Confirmation), "{claimed:?}");
    let shown = notifications(&app, &s.regulator, &booking).await;
    let reminders: Vec<_> = shown.iter().filter(|m| m["kind"] == "reminder").collect();
    assert_eq!(reminders.len(), 2);
    assert!(reminders.iter().all(|m| m["status"] == "withdrawn" && m["last_error"] == "the appointment had started"));
}

async fn concurrent_workers_claim_each_message_once(app: TestApp) {
    let s = setup(&app, json!({})).await;
    for minutes in 0..10 {
        book(&app, &s, 25 * 60 + 30 * minutes, patient_with_both()).await;
    }
    let now = test_now();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let store = app.store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let claimed =
                        store.claim_due_notifications(now, now + Duration::seconds(60), 3, "g").await.unwrap();
                    if claimed.is_empty() {
                        return mine;
                    }
                    mine.extend(claimed.into_iter().map(|m| m.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.unwrap());
    }
    let claimed = all.len();
    all.sort();
    all.dedup();
    assert_eq!((claimed, all.len()), (30, 30), "ten bookings, three confirmations each, each claimed once");
    let attempts = app
        .count("SELECT COUNT(*) FROM outbox WHERE kind = 'confirmation' AND attempts = 1 AND booking_id <> $1", "")
        .await;
    assert_eq!(attempts, 30);
}
