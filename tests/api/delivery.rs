//! Sending the outbox through a real SMTP server (aiosmtpd, `tests/support/smtp_sink.py`): what the patient and
//! the professional receive, and what happens when the server is away or refuses.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{Value, json};
use snp::config::EmailSettings;
use snp::domain::access::Role;
use snp::notify::worker::{Pass, Worker};

use crate::cli::free_port;
use crate::helpers::{TestApp, slot};
use crate::on_both_databases;

on_both_databases!(
    a_booking_s_emails_arrive_in_french_with_their_calendar_and_nothing_medical,
    an_smtp_outage_delays_a_message_but_never_loses_it,
    a_refusal_or_spent_attempts_mark_the_message_failed,
    a_cancellation_reaches_everyone_and_cancels_the_calendar_event,
    a_confirmation_still_pending_at_a_cancellation_is_withdrawn_not_sent,
);

/// An aiosmtpd server of the test's own, killed when the test ends.
pub struct SmtpSink {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = SmtpSink { child: None, port: free_port(), dir };
        sink.restart();
        sink
    }

    fn restart(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
        let child = Command::new("python3")
            .arg(script)
            .arg(self.dir.path())
            .arg(self.port.to_string())
            .stdout(Stdio::null())
            .spawn()
            .expect("python3 with aiosmtpd (pip install aiosmtpd; .ci/run installs it)");
        self.child = Some(child);
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("the SMTP sink did not start");
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn set_mode(&self, mode: &str) {
        std::fs::write(self.dir.path().join("mode"), mode).unwrap();
    }

    /// The messages received so far, decoded, in order.
    pub fn received(&self) -> Vec<Value> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        paths.iter().map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

impl SmtpSink {
    /// The `[email]` settings of a client of this server.
    pub fn settings(&self) -> EmailSettings {
        EmailSettings {
            smtp_host: "127.0.0.1".into(),
            smtp_port: self.port,
            tls: "none".into(),
            username: String::new(),
            password: String::new(),
            from: "SAS Normandie <no-reply@sas.example.fr>".into(),
            timeout_secs: 5,
        }
    }
}

fn worker(app: &TestApp, sink: &SmtpSink, max_attempts: u32) -> Worker {
    let mut settings = app.settings.clone();
    settings.email = sink.settings();
    settings.notifications.max_attempts = max_attempts;
    Worker::from_settings(app.store.clone(), app.clock.clone(), &settings).unwrap()
}

/// Books tomorrow 10:00 (Paris) for a patient with phone and email; returns the booking id.
pub async fn book(app: &TestApp) -> String {
    book_with(app, 25 * 60, json!({}), json!({})).await
}

/// Books a new GP's slot `minutes_from_now` ahead (15 minutes long) for Léa Martin, with a reason and a note
/// that must never reach a message; `professional` and `patient` override the defaults.
pub async fn book_with(app: &TestApp, minutes_from_now: i64, professional: Value, patient: Value) -> String {
    let practice = app.practice(json!({"name": "Maison de santé du Perrey"})).await;
    let gp = app.professional(&[&practice], professional).await;
    let regulator = app.key(Role::Regulator, None, &[]).await;
    let published = app.publish(&app.admin_key, vec![slot(&gp, &practice, minutes_from_now, 15)]).await;
    let slot_id = published.body["slots"][0]["id"].as_str().unwrap();
    let mut person = json!({"first_name": "Léa", "last_name": "Martin", "birth_date": "1988-03-14",
                            "phone": "06 12 34 56 78", "email": "lea.martin@example.fr"});
    crate::helpers::merge(&mut person, patient);
    let body = json!({"slot_id": slot_id, "motif": "gp_unscheduled", "note": "Douleur thoracique depuis hier",
                      "patient": person});
    let booked = app.post("/api/v1/bookings", &regulator, body).await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.text);
    booked.body["id"].as_str().unwrap().to_string()
}

/// A booking's messages as `GET /api/v1/bookings/{id}/notifications` shows them (in due order), each with a
/// reader of its text fields.
pub async fn outbox_of(app: &TestApp, booking: &str) -> Vec<Value> {
    let response = app.get(&format!("/api/v1/bookings/{booking}/notifications"), &app.admin_key).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.body.as_array().unwrap().clone()
}

/// A text field of a shown message ("" when null).
pub fn field(message: &Value, name: &str) -> String {
    message[name].as_str().unwrap_or_default().to_string()
}

/// (recipient, channel, status, attempts) of the confirmations, sorted (retries reorder them by due time).
async fn statuses(app: &TestApp, booking: &str) -> Vec<(String, String, String, u64)> {
    let mut confirmations: Vec<_> = outbox_of(app, booking)
        .await
        .iter()
        .filter(|m| m["kind"] == "confirmation")
        .map(|m| (field(m, "recipient"), field(m, "channel"), field(m, "status"), m["attempts"].as_u64().unwrap()))
        .collect();
    confirmations.sort();
    confirmations
}

/// `GET /metrics`, unauthenticated like the probes (counts only).
async fn metrics(app: &TestApp) -> String {
    let response = app.call(axum::http::Method::GET, "/metrics", None, None).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert!(response.headers["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    response.text
}

fn part<'a>(message: &'a Value, content_type: &str) -> &'a Value {
    message["parts"].as_array().unwrap().iter().find(|p| p["content_type"] == content_type).unwrap()
}

async fn a_booking_s_emails_arrive_in_french_with_their_calendar_and_nothing_medical(app: TestApp) {
    let sink = SmtpSink::start();
    let booking = book(&app).await;
    let pass = worker(&app, &sink, 8).run_once().await.unwrap();
    // Two emails sent; the SMS fails at once, no provider being configured yet.
    assert_eq!(pass, Pass { sent: 2, retried: 0, failed: 1 });
    let received = sink.received();
    assert_eq!(received.len(), 2);
    let patient = received.iter().find(|m| m["rcpt_tos"][0] == "lea.martin@example.fr").unwrap();
    assert_eq!(patient["headers"]["Subject"], "Votre rendez-vous du mercredi 25 novembre à 10 h 00");
    assert_eq!(patient["headers"]["From"], "SAS Normandie <no-reply@sas.example.fr>");
    let message_id = patient["headers"]["Message-ID"].as_str().unwrap();
    assert!(message_id.ends_with("@sas.example.fr>"), "{message_id}");
    let outbox_id = &message_id[1..message_id.find('@').unwrap()];
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE id = $1 AND status = 'sent'", outbox_id).await, 1);
    let text = part(patient, "text/plain")["text"].as_str().unwrap();
    assert!(text.contains("Avec : Claire Lefebvre, médecin généraliste"), "{text}");
    assert!(text.contains("À apporter : votre carte Vitale."), "{text}");
    assert!(part(patient, "text/html")["text"].as_str().unwrap().contains("<p>Où : Maison de santé du Perrey"));
    let ics = part(patient, "text/calendar");
    assert_eq!(ics["params"]["method"], "REQUEST");
    let ics = ics["text"].as_str().unwrap();
    assert!(ics.contains(&format!("UID:{booking}@snp")), "{ics}");
    assert!(ics.contains("DTSTART:20261125T090000Z") && ics.contains("DTEND:20261125T091500Z"), "{ics}");
    let professional = received.iter().find(|m| m["rcpt_tos"][0] == "claire.lefebvre@example.fr").unwrap();
    let professional_text = part(professional, "text/plain")["text"].as_str().unwrap();
    assert!(professional_text.contains(&format!("Référence : {booking}")));
    // Nothing medical, anywhere: not the reason, not the note; and the professional's email names no patient.
    for message in &received {
        let raw = message.to_string();
        assert!(!raw.contains("Douleur") && !raw.contains("gp_unscheduled") && !raw.contains("thoracique"));
    }
    assert!(!professional.to_string().contains("Martin"));
    assert_eq!(
        statuses(&app, &booking).await,
        [
            ("patient".into(), "email".into(), "sent".into(), 1),
            ("patient".into(), "sms".into(), "failed".into(), 1),
            ("professional".into(), "email".into(), "sent".into(), 1),
        ]
    );
    let metrics = metrics(&app).await;
    assert!(metrics.contains("\noutbox_pending 0\n"), "{metrics}");
    assert!(metrics.contains("notifications_sent_total{channel=\"email\",result=\"sent\"} 2\n"), "{metrics}");
    assert!(metrics.contains("notifications_sent_total{channel=\"sms\",result=\"failed\"} 1\n"), "{metrics}");
    assert!(metrics.contains("notifications_sent_total{channel=\"email\",result=\"failed\"} 0\n"), "{metrics}");
    // A second pass has nothing left to send.
    assert_eq!(worker(&app, &sink, 8).run_once().await.unwrap(), Pass::default());
    assert_eq!(sink.received().len(), 2);
}

async fn an_smtp_outage_delays_a_message_but_never_loses_it(app: TestApp) {
    let mut sink = SmtpSink::start();
    sink.stop(); // the mail server is down when the booking is made: the booking does not care
    let booking = book(&app).await;
    // The backlog as Prometheus sees it: three due messages, waiting since the booking.
    app.clock.advance(Duration::seconds(10));
    let waiting = metrics(&app).await;
    assert!(
        waiting.contains("\noutbox_pending 3\n") && waiting.contains("\noutbox_oldest_age_seconds 10\n"),
        "{waiting}"
    );
    let worker = worker(&app, &sink, 8);
    assert_eq!(worker.run_once().await.unwrap(), Pass { sent: 0, retried: 2, failed: 1 });
    // Up again, but busy: 421 on DATA is transient too.
    sink.restart();
    sink.set_mode("transient");
    assert_eq!(worker.run_once().await.unwrap(), Pass::default(), "not due again before its backoff");
    app.clock.advance(Duration::seconds(40));
    assert_eq!(worker.run_once().await.unwrap(), Pass { sent: 0, retried: 2, failed: 0 });
    assert!(sink.received().is_empty());
    let email = outbox_of(&app, &booking).await.into_iter().find(|m| m["channel"] == "email").unwrap();
    assert!(email["last_error"].as_str().unwrap().contains("421"), "{email}");
    // Recovered: delivered at the next due time, each attempt counted.
    sink.set_mode("ok");
    app.clock.advance(Duration::seconds(90));
    assert_eq!(worker.run_once().await.unwrap(), Pass { sent: 2, retried: 0, failed: 0 });
    assert_eq!(sink.received().len(), 2);
    assert_eq!(
        statuses(&app, &booking).await,
        [
            ("patient".into(), "email".into(), "sent".into(), 3),
            ("patient".into(), "sms".into(), "failed".into(), 1),
            ("professional".into(), "email".into(), "sent".into(), 3),
        ]
    );
}

async fn a_refusal_or_spent_attempts_mark_the_message_failed(app: TestApp) {
    let sink = SmtpSink::start();
    sink.set_mode("permanent");
    let booking = book(&app).await;
    assert_eq!(worker(&app, &sink, 8).run_once().await.unwrap(), Pass { sent: 0, retried: 0, failed: 3 });
    let failed = statuses(&app, &booking).await;
    assert!(failed.iter().all(|(_, _, status, attempts)| status == "failed" && *attempts == 1), "{failed:?}");

    // Transient failures, but only two attempts allowed: failed after the second.
    let second = book(&app).await;
    sink.set_mode("transient");
    let worker = worker(&app, &sink, 2);
    assert_eq!(worker.run_once().await.unwrap(), Pass { sent: 0, retried: 2, failed: 1 });
    app.clock.advance(Duration::seconds(60));
    assert_eq!(worker.run_once().await.unwrap(), Pass { sent: 0, retried: 0, failed: 2 });
    let spent = statuses(&app, &second).await;
    assert!(spent.iter().all(|(_, _, status, _)| status == "failed"), "{spent:?}");
}

async fn a_cancellation_reaches_everyone_and_cancels_the_calendar_event(app: TestApp) {
    let sink = SmtpSink::start();
    let booking = book(&app).await;
    let worker = worker(&app, &sink, 8);
    worker.run_once().await.unwrap();
    let cancelled = app.post(&format!("/api/v1/bookings/{booking}/cancel"), &app.admin_key, json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text);
    assert_eq!(worker.run_once().await.unwrap(), Pass { sent: 2, retried: 0, failed: 1 });
    let received = sink.received();
    assert_eq!(received.len(), 4);
    let to = |address: &str, subject_start: &str| {
        received
            .iter()
            .find(|m| {
                m["rcpt_tos"][0] == address && m["headers"]["Subject"].as_str().unwrap().starts_with(subject_start)
            })
            .unwrap_or_else(|| panic!("no {subject_start:?} to {address}"))
            .clone()
    };
    let confirmation = to("lea.martin@example.fr", "Votre rendez-vous");
    let cancellation = to("lea.martin@example.fr", "Rendez-vous annulé");
    assert_eq!(cancellation["headers"]["Subject"], "Rendez-vous annulé : mercredi 25 novembre à 10 h 00");
    let text = part(&cancellation, "text/plain")["text"].as_str().unwrap();
    assert!(text.contains("Votre rendez-vous est annulé.") && text.contains("appelez le 15 ou le 116 117"), "{text}");
    // The calendar event is the same one (same UID), cancelled: a higher SEQUENCE, STATUS:CANCELLED, METHOD:CANCEL.
    let first = part(&confirmation, "text/calendar")["text"].as_str().unwrap().to_string();
    let ics = part(&cancellation, "text/calendar");
    assert_eq!(ics["params"]["method"], "CANCEL");
    let ics = ics["text"].as_str().unwrap();
    let uid = format!("UID:{booking}@snp");
    assert!(first.contains(&uid) && ics.contains(&uid), "{ics}");
    assert!(first.contains("SEQUENCE:0") && ics.contains("SEQUENCE:1"), "{first}\n{ics}");
    assert!(ics.contains("STATUS:CANCELLED") && ics.contains("METHOD:CANCEL"), "{ics}");
    let professional = to("claire.lefebvre@example.fr", "Rendez-vous annulé");
    let professional_text = part(&professional, "text/plain")["text"].as_str().unwrap();
    assert!(professional_text.contains(&format!("Référence : {booking}")));
    assert!(!professional.to_string().contains("Martin") && !professional.to_string().contains("Douleur"));
}

async fn a_confirmation_still_pending_at_a_cancellation_is_withdrawn_not_sent(app: TestApp) {
    let sink = SmtpSink::start();
    let booking = book(&app).await;
    // Cancelled before the worker's first pass: the confirmations must not go after the fact.
    let cancelled = app.post(&format!("/api/v1/bookings/{booking}/cancel"), &app.admin_key, json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text);
    worker(&app, &sink, 8).run_once().await.unwrap();
    let subjects: Vec<String> =
        sink.received().iter().map(|m| m["headers"]["Subject"].as_str().unwrap().to_string()).collect();
    assert!(!subjects.is_empty() && subjects.iter().all(|s| s.starts_with("Rendez-vous annulé")), "{subjects:?}");
    let confirmations: Vec<(String, String)> = outbox_of(&app, &booking)
        .await
        .iter()
        .filter(|m| m["kind"] == "confirmation")
        .map(|m| (field(m, "status"), field(m, "last_error")))
        .collect();
    assert!(!confirmations.is_empty());
    for (status, reason) in confirmations {
        assert_eq!((status.as_str(), reason.as_str()), ("withdrawn", "the booking was cancelled"));
    }
}
