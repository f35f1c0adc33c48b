//! Sending SMS through the OVHcloud protocol (`fake_ovh`: the provider's endpoints, its signature check and
//! switchable failures): what the patient and the professional receive, and what the outbox records.

use chrono::Duration;
use serde_json::{Value, json};
use snp::notify::messages::gsm7_segments;
use snp::notify::worker::{Pass, Worker};

use crate::delivery::{book_with, field, outbox_of};
use crate::fake_ovh::{FakeOvh, Mode};
use crate::helpers::TestApp;
use crate::on_both_databases;

on_both_databases!(
    a_booking_s_sms_is_signed_addressed_in_e164_and_says_nothing_medical,
    provider_failures_are_retried_and_only_a_refused_number_is_given_up,
    a_professional_without_email_is_told_by_sms_and_overseas_numbers_reach_their_zone,
);

pub const PUBLIC_URL: &str = "https://rdv.sas.example.fr";

/// A worker with the SMS channel on (and no email server: emails fail at once, out of these tests' way).
pub fn sms_worker(app: &TestApp, ovh: &FakeOvh) -> Worker {
    let mut settings = app.settings.clone();
    settings.sms = ovh.settings();
    settings.http.public_url = PUBLIC_URL.into();
    Worker::from_settings(app.store.clone(), app.clock.clone(), &settings).unwrap()
}

/// (recipient, status, attempts, last_error) of a booking's SMS confirmations, in due order.
async fn sms_statuses(app: &TestApp, booking: &str) -> Vec<(String, String, u64, String)> {
    outbox_of(app, booking)
        .await
        .iter()
        .filter(|m| m["channel"] == "sms" && m["kind"] == "confirmation")
        .map(|m| (field(m, "recipient"), field(m, "status"), m["attempts"].as_u64().unwrap(), field(m, "last_error")))
        .collect()
}

fn text(job: &Value) -> &str {
    job["message"].as_str().unwrap()
}

async fn a_booking_s_sms_is_signed_addressed_in_e164_and_says_nothing_medical(app: TestApp) {
    let ovh = FakeOvh::start().await;
    let booking = book_with(&app, 25 * 60, json!({}), json!({})).await;
    // The SMS goes (the fake checked its signature, made with the provider's clock, two hours ahead of ours);
    // the two emails fail, no email server being configured here.
    assert_eq!(sms_worker(&app, &ovh).run_once().await.unwrap(), Pass { sent: 1, retried: 0, failed: 2 });
    assert!(ovh.refusals().is_empty(), "{:?}", ovh.refusals());
    let jobs = ovh.jobs();
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(job["receivers"], json!(["+33612345678"]));
    assert_eq!(job["sender"], "SAS76");
    assert_eq!(job["noStopClause"], true);
    assert_eq!(job["coding"], "7bit");
    // Valid until the appointment starts (tomorrow, 25 h from now): never delivered late.
    assert_eq!(job["validityPeriod"], 25 * 60);
    let sms = text(job);
    assert!(sms.starts_with("RDV confirmé mer. 25/11 à 10h00 avec Claire Lefebvre, médecin généraliste"), "{sms}");
    let link = sms.split("Annuler : ").nth(1).unwrap();
    assert!(link.starts_with(&format!("{PUBLIC_URL}/r/")) && link.len() == PUBLIC_URL.len() + 3 + 32, "{sms}");
    assert!(gsm7_segments(sms) <= 2, "{sms}");
    for secret in ["Douleur", "thoracique", "gp_unscheduled", "Martin", "Léa"] {
        assert!(!sms.contains(secret), "{secret} in {sms}");
    }
    // Recorded as sent, with the provider's job id; the link's digest (not the link) is stored.
    assert_eq!(sms_statuses(&app, &booking).await, [("patient".into(), "sent".into(), 1, String::new())]);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox WHERE provider_id = $1 AND status = 'sent'", "ovh:246810").await,
        1
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM cancel_links WHERE booking_id = $1", &booking).await, 1);
    let token = &link[link.len() - 32..];
    let digest = snp::domain::api_key::digest(token);
    assert_eq!(app.count("SELECT COUNT(*) FROM cancel_links WHERE token_digest = $1", &digest).await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM cancel_links WHERE token_digest = $1", token).await, 0);
    // Nothing left to send.
    let worker = sms_worker(&app, &ovh);
    assert_eq!(worker.run_once().await.unwrap(), Pass::default());
    assert_eq!(ovh.jobs().len(), 1);

    // The clocks drift apart by ten minutes: refused once as "out of time", the offset is relearnt and the SMS
    // goes at the same attempt.
    book_with(&app, 26 * 60, json!({"email": null, "phone": null}), json!({"email": null})).await;
    assert_eq!(worker.run_once().await.unwrap(), Pass { sent: 1, retried: 0, failed: 0 });
    ovh.move_clock(600);
    book_with(&app, 27 * 60, json!({"email": null, "phone": null}), json!({"email": null})).await;
    assert_eq!(worker.run_once().await.unwrap(), Pass { sent: 1, retried: 0, failed: 0 });
    assert_eq!(ovh.refusals(), ["Query out of time"]);
    assert_eq!(ovh.jobs().len(), 3);
}

async fn provider_failures_are_retried_and_only_a_refused_number_is_given_up(app: TestApp) {
    let ovh = FakeOvh::start().await;
    let booking = book_with(&app, 25 * 60, json!({"email": null}), json!({"email": null})).await;
    let worker = sms_worker(&app, &ovh);
    // The provider fails (502), then hangs (the request times out after sms.timeout_secs): retried each time.
    ovh.set_mode(Mode::Fail(502, "Bad gateway"));
    assert_eq!(worker.run_once().await.unwrap(), Pass { sent: 0, retried: 2, failed: 0 });
    let failed = sms_statuses(&app, &booking).await;
    assert_eq!((failed[0].1.as_str(), failed[0].2), ("pending", 1));
    assert!(failed[0].3.contains("502") && failed[0].3.contains("Bad gateway"), "{failed:?}");
    ovh.set_mode(Mode::Hang);
    app.clock.advance(Duration::minutes(5));
    assert_eq!(worker.run_once().await.unwrap(), Pass { sent: 0, retried: 2, failed: 0 });
    assert!(sms_statuses(&app, &booking).await[0].3.contains("timed out"));
    // Keys refused (an operator is fixing them): retried too, and nothing reached the provider unsigned.
    let mut wrong = app.settings.clone();
    wrong.sms = ovh.settings();
    wrong.sms.application_secret = "not-the-secret".into();
    let misconfigured = Worker::from_settings(app.store.clone(), app.clock.clone(), &wrong).unwrap();
    ovh.set_mode(Mode::Ok);
    let before = ovh.jobs().len();
    app.clock.advance(Duration::minutes(10));
    assert_eq!(misconfigured.run_once().await.unwrap(), Pass { sent: 0, retried: 2, failed: 0 });
    assert_eq!(ovh.jobs().len(), before);
    assert!(ovh.refusals().contains(&"Invalid signature".to_string()));
    // Back to normal: both SMS (the patient's, and the professional's who has no email) are delivered.
    app.clock.advance(Duration::minutes(10));
    assert_eq!(worker.run_once().await.unwrap(), Pass { sent: 2, retried: 0, failed: 0 });
    let delivered = sms_statuses(&app, &booking).await;
    assert!(delivered.iter().all(|(_, status, attempts, _)| status == "sent" && *attempts == 4), "{delivered:?}");

    // A number the provider refuses is not asked again.
    let refused = book_with(
        &app,
        26 * 60,
        json!({"email": null, "phone": null}),
        json!({"phone": "06 99 99 99 99", "email": null}),
    )
    .await;
    ovh.set_mode(Mode::Fail(400, "Invalid receivers: +33699999999"));
    assert_eq!(worker.run_once().await.unwrap(), Pass { sent: 0, retried: 0, failed: 1 });
    let given_up = sms_statuses(&app, &refused).await;
    assert_eq!((given_up[0].1.as_str(), given_up[0].2), ("failed", 1), "{given_up:?}");
}

async fn a_professional_without_email_is_told_by_sms_and_overseas_numbers_reach_their_zone(app: TestApp) {
    let ovh = FakeOvh::start().await;
    let booking = book_with(
        &app,
        25 * 60,
        json!({"email": null, "phone": "06 98 76 54 32"}),
        json!({"phone": "0690 12 34 56", "email": null}),
    )
    .await;
    assert_eq!(sms_worker(&app, &ovh).run_once().await.unwrap(), Pass { sent: 2, retried: 0, failed: 0 });
    let jobs = ovh.jobs();
    let to = |number: &str| jobs.iter().find(|j| j["receivers"][0] == number).unwrap();
    // The Guadeloupe mobile, in E.164 with its own country code.
    assert!(text(to("+590690123456")).starts_with("RDV confirmé"));
    let professional = text(to("+33698765432"));
    assert!(
        professional.starts_with("SAS : nouveau RDV mer. 25/11 à 10h00 (Maison de santé du Perrey)"),
        "{professional}"
    );
    assert!(professional.ends_with(&format!("Réf. {booking}")), "{professional}");
    assert!(!professional.contains("Martin") && !professional.contains("Douleur") && !professional.contains("/r/"));
    // Its cancellation reaches the professional the same way.
    let cancelled = app.post(&format!("/api/v1/bookings/{booking}/cancel"), &app.admin_key, json!({})).await;
    assert_eq!(cancelled.status, axum::http::StatusCode::OK, "{}", cancelled.text);
    assert_eq!(sms_worker(&app, &ovh).run_once().await.unwrap(), Pass { sent: 2, retried: 0, failed: 0 });
    let jobs = ovh.jobs();
    let cancellation = jobs.iter().rev().find(|j| j["receivers"][0] == "+33698765432").unwrap();
    assert!(text(cancellation).contains("est annulé"), "{cancellation}");
    assert_eq!(cancellation["validityPeriod"], 2880);
}
