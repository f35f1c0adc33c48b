//! The outbox over time, through the worker, the real SMTP server and the OVHcloud stand-in: reminders at
//! their hour on a moved clock — never after the start, never for a cancelled booking — and several workers on
//! one database sending each message once.

use std::sync::Arc;

use axum::http::StatusCode;
use chrono::{Duration, TimeZone, Utc};
use serde_json::json;
use snp::notify::worker::{Pass, Worker};
use snp::store;

use crate::delivery::{SmtpSink, book_with, field, outbox_of};
use crate::fake_ovh::{FakeOvh, Mode};
use crate::helpers::TestApp;
use crate::on_both_databases;
use crate::sms::PUBLIC_URL;

on_both_databases!(
    reminders_go_out_at_their_hour_and_never_after_the_start_or_a_cancellation,
    two_workers_on_one_database_send_each_message_once,
);

/// A worker with both channels on, on a store of its own (as in another process).
async fn full_worker(app: &TestApp, sink: &SmtpSink, ovh: &FakeOvh) -> Worker {
    let mut settings = app.settings.clone();
    settings.email = sink.settings();
    settings.sms = ovh.settings();
    settings.http.public_url = PUBLIC_URL.into();
    let store = store::connect(&settings.database).await.unwrap();
    Worker::from_settings(store, app.clock.clone(), &settings).unwrap()
}

/// (channel, status, last_error) of a booking's reminders, in due order.
async fn reminders(app: &TestApp, booking: &str) -> Vec<(String, String, String)> {
    outbox_of(app, booking)
        .await
        .iter()
        .filter(|m| m["kind"] == "reminder")
        .map(|m| (field(m, "channel"), field(m, "status"), field(m, "last_error")))
        .collect()
}

async fn reminders_go_out_at_their_hour_and_never_after_the_start_or_a_cancellation(app: TestApp) {
    let sink = SmtpSink::start();
    let ovh = FakeOvh::start().await;
    let worker = full_worker(&app, &sink, &ovh).await;
    // Tuesday 09:00 in Paris: A is tomorrow at 10:00, B at 10:30; each has two reminders by SMS to come.
    let a = book_with(&app, 25 * 60, json!({}), json!({"phone": "06 11 11 11 11"})).await;
    let b = book_with(&app, 25 * 60 + 30, json!({}), json!({"phone": "06 22 22 22 22"})).await;
    assert_eq!(worker.run_once().await.unwrap(), Pass { sent: 6, retried: 0, failed: 0 });
    // B is cancelled at 10:00: its reminders are withdrawn, its cancellation goes out.
    app.clock.advance(Duration::hours(1));
    let cancelled = app.post(&format!("/api/v1/bookings/{b}/cancel"), &app.admin_key, json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK);
    assert_eq!(worker.run_once().await.unwrap(), Pass { sent: 3, retried: 0, failed: 0 });
    let sms_to = |number: &str| ovh.jobs().into_iter().filter(|j| j["receivers"][0] == number).collect::<Vec<_>>();

    // Nothing before the evening reminder's hour: 19:00 in Paris, 18:00 UTC.
    app.clock.set(Utc.with_ymd_and_hms(2026, 11, 24, 17, 59, 0).unwrap());
    assert_eq!(worker.run_once().await.unwrap(), Pass::default());
    app.clock.set(Utc.with_ymd_and_hms(2026, 11, 24, 18, 0, 0).unwrap());
    assert_eq!(worker.run_once().await.unwrap(), Pass { sent: 1, retried: 0, failed: 0 });
    let evening = sms_to("+33611111111").pop().unwrap();
    let text = evening["message"].as_str().unwrap();
    assert!(text.starts_with("Rappel : RDV mer. 25/11 à 10h00 avec Claire Lefebvre, médecin généraliste"), "{text}");
    assert_eq!(evening["validityPeriod"], 15 * 60, "valid until the start, 15 h later");
    // Its cancel link works (a fresh one, distinct from the confirmation's).
    let path = text.split("Annuler : ").nth(1).unwrap().strip_prefix(PUBLIC_URL).unwrap().to_string();
    let page = app.call(axum::http::Method::GET, &path, None, None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert_eq!(app.count("SELECT COUNT(*) FROM cancel_links WHERE booking_id = $1", &a).await, 3);
    assert_eq!(
        reminders(&app, &a).await,
        [("sms".into(), "sent".into(), String::new()), ("sms".into(), "pending".into(), String::new())]
    );

    // Wednesday 08:00 UTC, two hours before: the provider is down, and stays down until after the start.
    ovh.set_mode(Mode::Fail(503, "Service unavailable"));
    app.clock.set(Utc.with_ymd_and_hms(2026, 11, 25, 7, 0, 0).unwrap());
    assert_eq!(worker.run_once().await.unwrap(), Pass { sent: 0, retried: 1, failed: 0 });
    app.clock.set(Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap());
    ovh.set_mode(Mode::Ok);
    let jobs_before = ovh.jobs().len();
    // The start has come: the reminder is withdrawn, never sent late.
    assert_eq!(worker.run_once().await.unwrap(), Pass::default());
    assert_eq!(ovh.jobs().len(), jobs_before);
    assert_eq!(
        reminders(&app, &a).await,
        [
            ("sms".into(), "sent".into(), String::new()),
            ("sms".into(), "withdrawn".into(), "the appointment had started".into())
        ]
    );
    // B's patient heard of the cancellation, never of a reminder.
    let to_b = sms_to("+33622222222");
    assert_eq!(to_b.len(), 2);
    assert!(to_b[0]["message"].as_str().unwrap().starts_with("RDV confirmé"));
    assert!(to_b[1]["message"].as_str().unwrap().contains("est annulé"));
    assert!(reminders(&app, &b).await.iter().all(|(_, status, _)| status == "withdrawn"));
    // Emails: two confirmations and two professional notices for A and B, the patient's and the
    // professional's cancellation for B — no reminder by email (the patient gave a phone).
    assert_eq!(sink.received().len(), 6);
}

async fn two_workers_on_one_database_send_each_message_once(app: TestApp) {
    let sink = SmtpSink::start();
    let ovh = FakeOvh::start().await;
    let mut bookings = Vec::new();
    for i in 0..8 {
        let patient = json!({"phone": format!("06 12 34 56 {:02}", 10 + i), "email": format!("patient{i}@example.fr")});
        bookings.push(book_with(&app, 25 * 60 + 20 * i, json!({}), patient).await);
    }
    // Two workers, each with its own connections (as two processes), claiming three messages at a time.
    let mut first = full_worker(&app, &sink, &ovh).await;
    let mut second = full_worker(&app, &sink, &ovh).await;
    first.batch = 3;
    second.batch = 3;
    let (first, second) = (Arc::new(first), Arc::new(second));
    let (one, two) = tokio::join!(
        tokio::spawn({
            let w = first.clone();
            async move { w.run_once().await.unwrap() }
        }),
        tokio::spawn({
            let w = second.clone();
            async move { w.run_once().await.unwrap() }
        }),
    );
    let (one, two) = (one.unwrap(), two.unwrap());
    assert_eq!(one.sent + two.sent, 24, "{one:?} {two:?}");
    assert_eq!(one.retried + two.retried + one.failed + two.failed, 0);
    // Each message reached its server once: 16 emails with distinct Message-IDs, 8 SMS to 8 numbers.
    let emails = sink.received();
    let mut ids: Vec<String> =
        emails.iter().map(|m| m["headers"]["Message-ID"].as_str().unwrap().to_string()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((emails.len(), ids.len()), (16, 16));
    let mut numbers: Vec<String> = ovh.jobs().iter().map(|j| j["receivers"][0].as_str().unwrap().to_string()).collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!((ovh.jobs().len(), numbers.len()), (8, 8));
    // And each was claimed once: one attempt apiece.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND attempts = 1 AND kind = $1", "confirmation")
            .await,
        24
    );
    assert_eq!(first.run_once().await.unwrap(), Pass::default());
}
