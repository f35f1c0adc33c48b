//! The console's pages over HTTP, each role in turn: the regulator's call from intake to confirmation and
//! cancellation, the professional's agenda (publish, outcome, day sheet), the coordinator's audit log; which role
//! opens which page; CSRF on each action; `no-store` and an audit event on every page that shows a patient.

use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::json;
use snp::accounts::{UserRequest, create_user_by_system};
use snp::clock::Clock;
use snp::domain::access::Role;

use crate::console::{Browser, PASSWORD, hidden, location};
use crate::helpers::{TestApp, slot};
use crate::on_both_databases;

on_both_databases!(
    a_regulator_books_a_bronchiolitis_slot_for_a_seven_month_old_and_cancels_it,
    a_physiotherapist_publishes_sees_the_patient_and_records_the_outcome,
    each_role_opens_its_own_pages_only_and_every_action_needs_the_csrf_token,
    the_coordinator_reads_the_audit_log_with_filters,
    failed_messages_are_sent_again_and_admins_manage_api_keys,
    a_professional_manages_recurring_rules_and_absences,
    the_coordinator_adds_a_practice_and_a_professional_to_the_directory,
);

/// A physiotherapist trained for bronchiolitis at a practice of Le Havre (76), with two free slots this morning
/// (10:00 and 11:00 in Paris), and one console user per role.
pub struct Territory {
    pub practice: String,
    pub physio: String,
}

pub async fn territory(app: &TestApp) -> Territory {
    let practice = app.practice(json!({})).await;
    let physio = app
        .professional(
            &[&practice],
            json!({"profession": "physio", "skills": ["bronchiolitis"], "first_name": "Hugo", "last_name": "Marchand",
                   "email": "hugo.marchand@example.fr"}),
        )
        .await;
    let published =
        app.publish(&app.admin_key, vec![slot(&physio, &practice, 60, 30), slot(&physio, &practice, 120, 30)]);
    assert_eq!(published.await.status, StatusCode::CREATED);
    for (role, email, professional_id) in [
        (Role::Regulator, "regulation@example.fr", None),
        (Role::Professional, "kine@example.fr", Some(physio.clone())),
        (Role::Coordinator, "coordination@example.fr", None),
        (Role::Admin, "admin@example.fr", None),
    ] {
        let request = UserRequest { email: email.into(), role, professional_id, password: PASSWORD.into() };
        create_user_by_system(app.store.as_ref(), request, app.clock.now()).await.unwrap();
    }
    Territory { practice, physio }
}

/// The page's own content (without the style and navigation), for failure messages.
pub fn main_of(html: &str) -> &str {
    let start = html.find("<main").unwrap_or(0);
    let end = html.find("</main>").map(|e| e + 7).unwrap_or(html.len());
    &html[start..end]
}

pub async fn logged_in(app: &TestApp, email: &str) -> Browser {
    let mut browser = Browser::default();
    let done = browser.login(app, email, PASSWORD).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", main_of(&done.text));
    browser
}

async fn a_regulator_books_a_bronchiolitis_slot_for_a_seven_month_old_and_cancels_it(app: TestApp) {
    let t = territory(&app).await;
    let mut regulator = logged_in(&app, "regulation@example.fr").await;
    let intake = regulator.get(&app, "/console/regulation").await;
    assert_eq!(intake.status, StatusCode::OK);
    assert!(
        intake.text.contains("Bronchiolite du nourrisson — kinésithérapie respiratoire"),
        "{}",
        main_of(&intake.text)
    );
    let csrf = hidden(&intake.text, "csrf");

    // The search: a 7-month-old in the 76; the cards read in French, on the practice's clock.
    let search = [
        ("csrf", csrf.as_str()),
        ("motif", "bronchiolitis"),
        ("age", "7"),
        ("age_unit", "months"),
        ("departement", "76"),
        ("within_hours", ""),
        ("modality", ""),
    ];
    let results = regulator.send(&app, Method::POST, "/console/regulation/search", &search).await;
    assert_eq!(results.status, StatusCode::OK, "{}", main_of(&results.text));
    for expected in [
        "2 créneau(x)",
        "mardi 24 novembre à 10:00",
        "Hugo Marchand",
        "Masseur-kinésithérapeute",
        "MSP de Caucriauville, 12 rue Jules Vallès",
        "dans 1 h",
        "ordonnance",
    ] {
        assert!(results.text.contains(expected), "{expected} missing in {}", main_of(&results.text));
    }
    assert_eq!(results.headers["cache-control"], "no-store");
    assert_eq!(hidden(&results.text, "birth_date"), "", "an age is searched with an estimate, never carried as a date");
    // A search without a reason comes back with what to fix, the form filled.
    let mut no_motif = search;
    no_motif[1].1 = "";
    let refused = regulator.send(&app, Method::POST, "/console/regulation/search", &no_motif).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text.contains("Choisissez un motif.") && refused.text.contains("value=\"76\""));

    // "Réserver" on the first card: the slot is held, with its countdown, and the patient form opens.
    let hold_form = [
        ("csrf", csrf.clone()),
        ("slot_id", hidden(&results.text, "slot_id")),
        ("search_id", hidden(&results.text, "search_id")),
        ("motif", hidden(&results.text, "motif")),
        ("birth_date", hidden(&results.text, "birth_date")),
        ("age_hint", hidden(&results.text, "age_hint")),
    ];
    let pairs: Vec<(&str, &str)> = hold_form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let held = regulator.send(&app, Method::POST, "/console/regulation/hold", &pairs).await;
    assert_eq!(held.status, StatusCode::OK, "{}", main_of(&held.text));
    assert!(held.text.contains("data-countdown-seconds=\"300\""), "{}", main_of(&held.text));
    assert!(held.text.contains("jusqu'à 09:05"), "{}", main_of(&held.text));
    assert!(held.text.contains("âge indiqué : 7 mois — demandez la date exacte"), "{}", main_of(&held.text));
    let hold_id = hidden(&held.text, "hold_id");
    // A double click on "Réserver" holds once: the same hold comes back.
    let again = regulator.send(&app, Method::POST, "/console/regulation/hold", &pairs).await;
    assert_eq!((again.status, hidden(&again.text, "hold_id")), (StatusCode::OK, hold_id.clone()));
    let slot_id = hidden(&results.text, "slot_id");
    assert_eq!(app.count("SELECT COUNT(*) FROM slots WHERE id = $1 AND status = 'held'", &slot_id).await, 1);

    // The patient form: a missing name comes back filled, with the hold still there.
    let patient = |first: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("hold_id", hold_id.clone()),
            ("search_id", hidden(&results.text, "search_id")),
            ("motif", "bronchiolitis".to_string()),
            ("first_name", first.to_string()),
            ("last_name", "Durand".to_string()),
            ("birth_date", "2026-04-09".to_string()),
            ("phone", "06 11 22 33 44".to_string()),
            ("email", "parent.durand@example.fr".to_string()),
            ("note", "Parent : Julie Durand".to_string()),
        ]
    };
    let form = patient("");
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let again = regulator.send(&app, Method::POST, "/console/regulation/book", &pairs).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", main_of(&again.text));
    assert!(again.text.contains("prénom") && again.text.contains("value=\"Durand\""), "{}", main_of(&again.text));
    let form = patient("Léo");
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let booked = regulator.send(&app, Method::POST, "/console/regulation/book", &pairs).await;
    assert_eq!(booked.status, StatusCode::SEE_OTHER, "{}", main_of(&booked.text));
    let confirmation_path = location(&booked).to_string();
    let booking_id = confirmation_path.rsplit('/').next().unwrap().to_string();
    // Pressed twice: the same booking, not a second one nor an error.
    let twice = regulator.send(&app, Method::POST, "/console/regulation/book", &pairs).await;
    assert_eq!((twice.status, location(&twice)), (StatusCode::SEE_OTHER, confirmation_path.as_str()));
    assert_eq!(app.count("SELECT COUNT(*) FROM bookings WHERE slot_id = $1", &slot_id).await, 1);

    // The confirmation: the patient, the messages on their way (the page refreshes itself), no caching.
    let confirmation = regulator.get(&app, &confirmation_path).await;
    assert_eq!(confirmation.status, StatusCode::OK);
    for expected in ["Rendez-vous confirmé.", "Léo Durand", "né(e) le 2026-04-09", "en attente d'envoi", "SMS"] {
        assert!(confirmation.text.contains(expected), "{expected} missing in {}", main_of(&confirmation.text));
    }
    assert!(confirmation.text.contains("http-equiv=\"refresh\""));
    assert_eq!(confirmation.headers["cache-control"], "no-store");
    // Traced as the user, not as a key: the booking and each view of the patient.
    let trail = app.get(&format!("/api/v1/audit?target_id={booking_id}"), &app.admin_key).await;
    let actions: Vec<(&str, &str)> = trail.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor_kind"].as_str().unwrap()))
        .collect();
    assert!(actions.contains(&("booking.create", "user")), "{actions:?}");
    assert!(actions.contains(&("booking.view", "user")), "{actions:?}");

    // The day's bookings, and a cancellation from there.
    let day = regulator.get(&app, "/console/regulation/bookings").await;
    assert!(
        day.text.contains("Réservations du mardi 24 novembre") && day.text.contains("Léo Durand"),
        "{}",
        main_of(&day.text)
    );
    let cancel = format!("/console/regulation/bookings/{booking_id}/cancel");
    let forged = regulator.send(&app, Method::POST, &cancel, &[("csrf", "forged"), ("reason", "")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let cancelled =
        regulator.send(&app, Method::POST, &cancel, &[("csrf", &csrf), ("reason", "Parent rappelle")]).await;
    assert_eq!(cancelled.status, StatusCode::SEE_OTHER, "{}", main_of(&cancelled.text));
    let after = regulator.get(&app, &confirmation_path).await;
    assert!(after.text.contains("Rendez-vous annulé."), "{}", main_of(&after.text));
    assert_eq!(app.count("SELECT COUNT(*) FROM slots WHERE id = $1 AND status = 'free'", &slot_id).await, 1);
    let again = regulator.send(&app, Method::POST, &cancel, &[("csrf", &csrf), ("reason", "")]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.text.contains("a déjà changé d'état"), "{}", main_of(&again.text));

    // A slot held by mistake is given back at once ("Libérer le créneau"), not after the hold's five minutes.
    let results = regulator.send(&app, Method::POST, "/console/regulation/search", &search).await;
    let form = [
        ("csrf", csrf.as_str()),
        ("slot_id", &hidden(&results.text, "slot_id")),
        ("search_id", &hidden(&results.text, "search_id")),
        ("motif", "bronchiolitis"),
    ];
    let held = regulator.send(&app, Method::POST, "/console/regulation/hold", &form).await;
    let release = format!("/console/regulation/holds/{}/release", hidden(&held.text, "hold_id"));
    let freed_slot = hidden(&results.text, "slot_id");
    assert_eq!(regulator.send(&app, Method::POST, &release, &[("csrf", "forged")]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("SELECT COUNT(*) FROM slots WHERE id = $1 AND status = 'held'", &freed_slot).await, 1);
    let released = regulator.send(&app, Method::POST, &release, &[("csrf", &csrf)]).await;
    assert_eq!((released.status, location(&released)), (StatusCode::SEE_OTHER, "/console/regulation"));
    assert_eq!(app.count("SELECT COUNT(*) FROM slots WHERE id = $1 AND status = 'free'", &freed_slot).await, 1);
    let unknown =
        regulator.send(&app, Method::POST, "/console/regulation/holds/nope/release", &[("csrf", &csrf)]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // Nothing in reach: the advice, with its options.
    let far = [
        ("csrf", csrf.as_str()),
        ("motif", "bronchiolitis"),
        ("age", "7"),
        ("age_unit", "months"),
        ("departement", "13"),
        ("within_hours", "2"),
        ("modality", ""),
    ];
    let nothing = regulator.send(&app, Method::POST, "/console/regulation/search", &far).await;
    assert_eq!(nothing.status, StatusCode::OK, "{}", main_of(&nothing.text));
    assert!(nothing.text.contains("Aucun créneau ne correspond"), "{}", main_of(&nothing.text));
    let _ = t.practice;
}

async fn a_physiotherapist_publishes_sees_the_patient_and_records_the_outcome(app: TestApp) {
    let t = territory(&app).await;
    // A booking by the API (another regulation software) for 10:00.
    let slots = app.get(&format!("/api/v1/slots?professional_id={}", t.physio), &app.admin_key).await;
    let first = slots.body["slots"][0]["id"].as_str().unwrap().to_string();
    let regulator_key = app.key(Role::Regulator, None, &[]).await;
    let booking = app
        .post(
            "/api/v1/bookings",
            &regulator_key,
            json!({"slot_id": first, "motif": "bronchiolitis", "patient": {"first_name": "Léo", "last_name": "Durand",
                   "birth_date": "2026-04-09", "phone": "+33611223344"}, "note": "Toux depuis 3 jours"}),
        )
        .await;
    assert_eq!(booking.status, StatusCode::CREATED, "{}", main_of(&booking.text));
    let booking_id = booking.body["id"].as_str().unwrap().to_string();

    let mut physio = logged_in(&app, "kine@example.fr").await;
    let agenda = physio.get(&app, "/console/practice").await;
    assert_eq!(agenda.status, StatusCode::OK, "{}", main_of(&agenda.text));
    for expected in [
        "Mon agenda — mardi 24 novembre",
        "DURAND",
        "Léo",
        "+33611223344",
        "Toux depuis 3 jours",
        "10:00–10:30",
        "réservé",
        "libre",
    ] {
        assert!(
            agenda.text.to_uppercase().contains(&expected.to_uppercase()),
            "{expected} missing in {}",
            main_of(&agenda.text)
        );
    }
    assert_eq!(agenda.headers["cache-control"], "no-store");
    assert!(!agenda.text.contains(">Honoré<"), "no outcome before the appointment");
    let csrf = hidden(&agenda.text, "csrf");
    let outcome = format!("/console/practice/bookings/{booking_id}/outcome");
    let early = physio.send(&app, Method::POST, &outcome, &[("csrf", &csrf), ("outcome", "attended")]).await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert!(early.text.contains("pas encore commencé"), "{}", main_of(&early.text));

    // At 10:20 the buttons are there; "Honoré" records it.
    app.clock.advance(Duration::minutes(80));
    let agenda = physio.get(&app, "/console/practice").await;
    assert!(agenda.text.contains(">Honoré<") && agenda.text.contains(">Non venu<"), "{}", main_of(&agenda.text));
    let done = physio.send(&app, Method::POST, &outcome, &[("csrf", &csrf), ("outcome", "attended")]).await;
    assert_eq!((done.status, location(&done)), (StatusCode::SEE_OTHER, "/console/practice?day=2026-11-24"));
    assert_eq!(app.count("SELECT COUNT(*) FROM bookings WHERE id = $1 AND status = 'attended'", &booking_id).await, 1);
    let bad = physio.send(&app, Method::POST, &outcome, &[("csrf", &csrf), ("outcome", "maybe")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Publishing a slot in seconds: tomorrow 18:00, 20 minutes, on the practice's clock.
    let publish = |day: &'static str, start: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("day", day.to_string()),
            ("start", start.to_string()),
            ("minutes", "20".to_string()),
            ("practice_id", t.practice.clone()),
            ("modality", "in_person".to_string()),
        ]
    };
    let form = publish("2026-11-25", "18:00");
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let published = physio.send(&app, Method::POST, "/console/practice/slots", &pairs).await;
    assert_eq!((published.status, location(&published)), (StatusCode::SEE_OTHER, "/console/practice?day=2026-11-25"));
    let tomorrow = physio.get(&app, "/console/practice?day=2026-11-25").await;
    assert!(tomorrow.text.contains("18:00–18:20"), "{}", main_of(&tomorrow.text));
    let stored =
        app.get(&format!("/api/v1/slots?professional_id={}&from=2026-11-25T00:00:00Z", t.physio), &app.admin_key).await;
    assert_eq!(stored.body["slots"][0]["start"], "2026-11-25T17:00:00Z");
    // The same slot again overlaps: refused, the form kept; an hour the clocks skip is refused too.
    let overlap = physio.send(&app, Method::POST, "/console/practice/slots", &pairs).await;
    assert_eq!(overlap.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        overlap.text.contains("chevauche") && overlap.text.contains("value=\"18:00\""),
        "{}",
        main_of(&overlap.text)
    );
    let form = publish("2027-03-28", "02:30");
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let gap = physio.send(&app, Method::POST, "/console/practice/slots", &pairs).await;
    assert_eq!(gap.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(gap.text.contains("changement d'heure"), "{}", main_of(&gap.text));

    // The printable day sheet: the appointment with its patient, and the free slots.
    let sheet = physio.get(&app, "/console/practice/sheet?day=2026-11-24").await;
    assert!(
        sheet.text.contains("Feuille du mardi 24 novembre") && sheet.text.contains("DURAND"),
        "{}",
        main_of(&sheet.text)
    );
    assert!(sheet.text.contains("11:00–11:30") && sheet.text.contains("@media print"));
    // Each view of the patient is traced.
    let views = app.get(&format!("/api/v1/audit?action=booking.view&target_id={booking_id}"), &app.admin_key).await;
    assert!(views.body["events"].as_array().unwrap().len() >= 3, "{}", views.body);
}

async fn each_role_opens_its_own_pages_only_and_every_action_needs_the_csrf_token(app: TestApp) {
    territory(&app).await;
    let pages = [
        "/console/regulation",
        "/console/regulation/bookings",
        "/console/practice",
        "/console/practice/sheet",
        "/console/audit",
    ];
    // (login, what each page answers in the order above)
    let matrix: [(&str, [StatusCode; 5]); 4] = [
        (
            "regulation@example.fr",
            [StatusCode::OK, StatusCode::OK, StatusCode::FORBIDDEN, StatusCode::FORBIDDEN, StatusCode::FORBIDDEN],
        ),
        (
            "kine@example.fr",
            [StatusCode::FORBIDDEN, StatusCode::FORBIDDEN, StatusCode::OK, StatusCode::OK, StatusCode::FORBIDDEN],
        ),
        (
            "coordination@example.fr",
            [
                StatusCode::FORBIDDEN,
                StatusCode::FORBIDDEN,
                StatusCode::FORBIDDEN,
                StatusCode::FORBIDDEN,
                StatusCode::OK,
            ],
        ),
        (
            "admin@example.fr",
            [StatusCode::OK, StatusCode::OK, StatusCode::FORBIDDEN, StatusCode::FORBIDDEN, StatusCode::OK],
        ),
    ];
    for (login, expected) in matrix {
        let mut browser = logged_in(&app, login).await;
        for (page, status) in pages.iter().zip(expected) {
            let response = browser.get(&app, page).await;
            assert_eq!(response.status, status, "{login} {page}: {}", response.text);
        }
    }
    // Nobody logged in: every page sends to the login.
    for page in pages {
        let response = Browser::default().get(&app, page).await;
        assert_eq!((response.status, location(&response)), (StatusCode::SEE_OTHER, "/console/login"), "{page}");
    }
    // Each action refuses a forged token, whoever posts it.
    let mut regulator = logged_in(&app, "regulation@example.fr").await;
    let mut physio = logged_in(&app, "kine@example.fr").await;
    for (regulator_action, action) in [
        (true, "/console/regulation/search"),
        (true, "/console/regulation/hold"),
        (true, "/console/regulation/book"),
        (false, "/console/practice/slots"),
        (false, "/console/practice/bookings/x/outcome"),
    ] {
        let browser = if regulator_action { &mut regulator } else { &mut physio };
        let response = browser.send(&app, Method::POST, action, &[("csrf", "forged")]).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{action}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM holds WHERE slot_id <> $1", "").await, 0, "nothing was held");
    // The regulator's actions are refused to a professional even with a valid token.
    let csrf = hidden(&physio.get(&app, "/console/practice").await.text, "csrf");
    let refused = physio
        .send(&app, Method::POST, "/console/regulation/search", &[("csrf", &csrf), ("motif", "bronchiolitis")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

async fn the_coordinator_reads_the_audit_log_with_filters(app: TestApp) {
    territory(&app).await;
    let mut coordinator = logged_in(&app, "coordination@example.fr").await;
    let log = coordinator.get(&app, "/console/audit").await;
    assert_eq!(log.status, StatusCode::OK, "{}", main_of(&log.text));
    for expected in
        ["coordination@example.fr (coordinator)", "connexion", "login.success", "créneaux publiés", "le système"]
    {
        assert!(log.text.contains(expected), "{expected} missing in {}", main_of(&log.text));
    }
    let filtered = coordinator.get(&app, "/console/audit?action=user.create&actor_id=&target_id=&day=2026-11-24").await;
    assert_eq!(filtered.text.matches("<code>user.create</code>").count(), 4, "{}", main_of(&filtered.text));
    assert!(!filtered.text.contains("<code>login.success</code>"));
    let other_day = coordinator.get(&app, "/console/audit?action=&actor_id=&target_id=&day=2026-11-23").await;
    assert!(other_day.text.contains("Aucun évènement pour ces filtres."));
    let bad = coordinator.get(&app, "/console/audit?day=hier").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    // By login, and by target type: the coordinator's own logins only, then the professionals' events only.
    let mine = coordinator.get(&app, "/console/audit?actor_id=Coordination%40example.fr").await;
    assert!(mine.text.contains("<code>login.success</code>"), "{}", main_of(&mine.text));
    assert!(!mine.text.contains("<code>slots.publish</code>") && !mine.text.contains("le système"));
    let unknown = coordinator.get(&app, "/console/audit?actor_id=personne%40example.fr").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let about = coordinator.get(&app, "/console/audit?target_type=professional").await;
    assert!(about.text.contains("<code>slots.publish</code>"), "{}", main_of(&about.text));
    assert!(!about.text.contains("<code>login.success</code>") && !about.text.contains("<code>user.create</code>"));
    // The API answers coordinators too.
    let coordinator_key = app.key(Role::Coordinator, None, &[]).await;
    assert_eq!(app.get("/api/v1/audit", &coordinator_key).await.status, StatusCode::OK);
}

async fn failed_messages_are_sent_again_and_admins_manage_api_keys(app: TestApp) {
    let t = territory(&app).await;
    let slots = app.get(&format!("/api/v1/slots?professional_id={}", t.physio), &app.admin_key).await;
    let regulator_key = app.key(Role::Regulator, None, &[]).await;
    let booking = app
        .post(
            "/api/v1/bookings",
            &regulator_key,
            json!({"slot_id": slots.body["slots"][0]["id"], "motif": "bronchiolitis", "patient": {"first_name": "Léo",
                   "last_name": "Durand", "birth_date": "2026-04-09", "email": "parent.durand@example.fr"}}),
        )
        .await;
    let booking_id = booking.body["id"].as_str().unwrap().to_string();
    let give_up = format!(
        "UPDATE outbox SET status = 'failed', attempts = 8, last_error = '550 <parent.durand@example.fr> unknown' \
         WHERE booking_id = '{booking_id}' AND recipient = 'patient' AND channel = 'email' AND kind = 'confirmation'"
    );
    app.execute(&give_up, &give_up).await;

    // The API: coordinators and admins list them; others may not; only `failed` is a list across bookings.
    let coordinator_key = app.key(Role::Coordinator, None, &[]).await;
    let listed = app.get("/api/v1/notifications?status=failed", &coordinator_key).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert_eq!(listed.body[0]["booking_id"], booking_id.as_str());
    assert_eq!(listed.body[0]["last_error"], "550", "the code only: the rest quotes the address");
    let message_id = listed.body[0]["id"].as_str().unwrap().to_string();
    assert_eq!(app.get("/api/v1/notifications", &regulator_key).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/v1/notifications?status=sent", &coordinator_key).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let unknown = app.post("/api/v1/notifications/nope/retry", &coordinator_key, json!({})).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // The console: the error's code, not the address; "Renvoyer" puts it back in the queue, once.
    let mut coordinator = logged_in(&app, "coordination@example.fr").await;
    let page = coordinator.get(&app, "/console/notifications").await;
    assert!(page.text.contains("<code>550</code>") && !page.text.contains("parent.durand"), "{}", main_of(&page.text));
    let csrf = hidden(&page.text, "csrf");
    let retry = format!("/console/notifications/{message_id}/retry");
    assert_eq!(coordinator.send(&app, Method::POST, &retry, &[("csrf", "forged")]).await.status, StatusCode::FORBIDDEN);
    let sent_again = coordinator.send(&app, Method::POST, &retry, &[("csrf", &csrf)]).await;
    assert_eq!((sent_again.status, location(&sent_again)), (StatusCode::SEE_OTHER, "/console/notifications"));
    let pending = "SELECT COUNT(*) FROM outbox WHERE id = $1 AND status = 'pending' AND attempts = 0";
    assert_eq!(app.count(pending, &message_id).await, 1);
    let twice = coordinator.send(&app, Method::POST, &retry, &[("csrf", &csrf)]).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    let trail =
        app.get(&format!("/api/v1/audit?action=notification.retry&target_id={message_id}"), &app.admin_key).await;
    assert_eq!(trail.body["events"][0]["actor_kind"], "user");
    // A message whose address retention erased cannot go again.
    let erased = format!("UPDATE outbox SET status = 'failed', address = '' WHERE id = '{message_id}'");
    app.execute(&erased, &erased).await;
    let refused = app.post(&format!("/api/v1/notifications/{message_id}/retry"), &coordinator_key, json!({})).await;
    refused.problem(StatusCode::CONFLICT, "invalid_transition");
    // Nor a confirmation of a booking cancelled since: the patient would be told to come.
    let restored = format!("UPDATE outbox SET address = 'parent.durand@example.fr' WHERE id = '{message_id}'");
    app.execute(&restored, &restored).await;
    let cancelled = app.post(&format!("/api/v1/bookings/{booking_id}/cancel"), &regulator_key, json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK);
    let refused = app.post(&format!("/api/v1/notifications/{message_id}/retry"), &coordinator_key, json!({})).await;
    refused.problem(StatusCode::CONFLICT, "invalid_transition");

    // API keys: admins only; a key created here is shown once and works; revoked here, it is refused.
    assert_eq!(coordinator.get(&app, "/console/api-keys").await.status, StatusCode::FORBIDDEN);
    let mut admin = logged_in(&app, "admin@example.fr").await;
    let keys = admin.get(&app, "/console/api-keys").await;
    assert_eq!(keys.status, StatusCode::OK);
    let csrf = hidden(&keys.text, "csrf");
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Logiciel du SAS 76"),
        ("role", "regulator"),
        ("professional_id", ""),
        ("practice_ids", ""),
    ];
    let created = admin.send(&app, Method::POST, "/console/api-keys", &form).await;
    assert_eq!(created.status, StatusCode::OK, "{}", main_of(&created.text));
    let start = created.text.find("<code>snp_").expect("the key is shown") + 6;
    let key = &created.text[start..start + created.text[start..].find('<').unwrap()];
    assert_eq!(app.post("/api/v1/searches", key, json!({"motif": "bronchiolitis", "patient": {"birth_date": "2026-04-09"}, "location": {"departement": "76"}})).await.status, StatusCode::OK);
    let again = admin.get(&app, "/console/api-keys").await;
    assert!(again.text.contains("Logiciel du SAS 76") && !again.text.contains(key), "shown once");
    let key_id = app.get("/api/v1/api-keys", &app.admin_key).await.body["api_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "Logiciel du SAS 76")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bad =
        admin.send(&app, Method::POST, "/console/api-keys", &[("csrf", &csrf), ("name", ""), ("role", "nobody")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let revoked =
        admin.send(&app, Method::POST, &format!("/console/api-keys/{key_id}/revoke"), &[("csrf", &csrf)]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get("/api/v1/motifs", key).await.status, StatusCode::UNAUTHORIZED);
}

async fn a_professional_manages_recurring_rules_and_absences(app: TestApp) {
    let t = territory(&app).await;
    let mut physio = logged_in(&app, "kine@example.fr").await;
    let page = physio.get(&app, "/console/practice/availability").await;
    assert_eq!(page.status, StatusCode::OK, "{}", main_of(&page.text));
    assert!(page.text.contains("Aucune règle.") && page.text.contains("Aucune absence déclarée."));
    let csrf = hidden(&page.text, "csrf");
    let rule = |weekdays: &[&'static str]| {
        let mut form = vec![("csrf", csrf.clone())];
        form.extend(weekdays.iter().map(|d| ("weekdays", d.to_string())));
        form.extend([
            ("start_time", "12:00".to_string()),
            ("end_time", "13:00".to_string()),
            ("slot_minutes", "15".to_string()),
            ("practice_id", t.practice.clone()),
            ("modality", "in_person".to_string()),
            ("valid_from", "2026-11-24".to_string()),
            ("valid_until", String::new()),
            ("public_holidays", "skip".to_string()),
        ]);
        form
    };
    // Without a day: refused, with what to fix, and nothing created.
    let form = rule(&[]);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = physio.send(&app, Method::POST, "/console/practice/rules", &pairs).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", main_of(&refused.text));
    assert!(refused.text.contains("Vérifiez le formulaire."), "{}", main_of(&refused.text));
    assert_eq!(app.count("SELECT COUNT(*) FROM availability_rules WHERE professional_id = $1", &t.physio).await, 0);
    // Mondays and Thursdays 12:00–13:00: created, then previewed.
    let form = rule(&["mon", "thu"]);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let created = physio.send(&app, Method::POST, "/console/practice/rules", &pairs).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", main_of(&created.text));
    let preview = physio.get(&app, location(&created)).await;
    assert!(preview.text.contains("jeudi 26 novembre à 12:00–12:15"), "{}", main_of(&preview.text));
    assert!(preview.text.contains("16 créneau(x)") && preview.text.contains("libre"), "{}", main_of(&preview.text));
    let page = physio.get(&app, "/console/practice/availability").await;
    assert!(page.text.contains("lundi, jeudi</strong>, 12:00–13:00, créneaux de 15 min"), "{}", main_of(&page.text));

    // An absence on Thursday takes its four slots away; lifting it brings them back.
    let thursday_free = "SELECT COUNT(*) FROM slots WHERE professional_id = $1 AND status = 'free' \
        AND start_at >= '2026-11-26' AND start_at < '2026-11-27'";
    let free_before = app.count(thursday_free, &t.physio).await;
    let absence = [("csrf", csrf.as_str()), ("from", "2026-11-26"), ("to", "2026-11-26"), ("reason", "Formation")];
    let declared = physio.send(&app, Method::POST, "/console/practice/absences", &absence).await;
    assert_eq!(declared.status, StatusCode::SEE_OTHER, "{}", main_of(&declared.text));
    assert_eq!(app.count(thursday_free, &t.physio).await, free_before - 4);
    let page = physio.get(&app, "/console/practice/availability").await;
    assert!(page.text.contains("26/11/2026 00:00") && page.text.contains("Formation"), "{}", main_of(&page.text));
    let backwards = [("csrf", csrf.as_str()), ("from", "2026-11-27"), ("to", "2026-11-26"), ("reason", "")];
    let refused = physio.send(&app, Method::POST, "/console/practice/absences", &backwards).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let absence_id = app.get(&format!("/api/v1/absences?professional_id={}", t.physio), &app.admin_key).await.body
        ["absences"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let lifted = physio
        .send(&app, Method::POST, &format!("/console/practice/absences/{absence_id}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(lifted.status, StatusCode::SEE_OTHER);
    assert_eq!(app.count(thursday_free, &t.physio).await, free_before);

    // Deleting the rule removes its future free slots.
    let rule_id = location(&created).split('/').nth(4).unwrap().to_string();
    let deleted =
        physio.send(&app, Method::POST, &format!("/console/practice/rules/{rule_id}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT COUNT(*) FROM slots WHERE rule_id = $1 AND status = 'free'", &rule_id).await, 0);
    // Not a regulator's page.
    let mut regulator = logged_in(&app, "regulation@example.fr").await;
    assert_eq!(regulator.get(&app, "/console/practice/availability").await.status, StatusCode::FORBIDDEN);
}

async fn the_coordinator_adds_a_practice_and_a_professional_to_the_directory(app: TestApp) {
    territory(&app).await;
    let mut coordinator = logged_in(&app, "coordination@example.fr").await;
    let page = coordinator.get(&app, "/console/directory").await;
    assert_eq!(page.status, StatusCode::OK, "{}", main_of(&page.text));
    assert!(
        page.text.contains("MSP de Caucriauville") && page.text.contains("MARCHAND Hugo"),
        "{}",
        main_of(&page.text)
    );
    let csrf = hidden(&page.text, "csrf");
    let practice = [
        ("csrf", csrf.as_str()),
        ("name", "Cabinet de Fécamp"),
        ("kind", "cabinet"),
        ("address", "3 rue Alexandre Legros"),
        ("postal_code", "76400"),
        ("commune", "Fécamp"),
        ("departement", "76"),
        ("lat", "49,7578"),
        ("lon", "0,3747"),
        ("phone", "02 35 28 00 00"),
    ];
    let created = coordinator.send(&app, Method::POST, "/console/directory/practices", &practice).await;
    assert_eq!((created.status, location(&created)), (StatusCode::SEE_OTHER, "/console/directory"));
    let fecamp = app.get("/api/v1/practices?departement=76", &app.admin_key).await.body["practices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Cabinet de Fécamp")
        .expect("created")["id"]
        .as_str()
        .unwrap()
        .to_string();
    // A professional with a wrong RPPS key: refused, named, nothing created.
    let professional = |rpps: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("first_name", "Camille".to_string()),
            ("last_name", "Petit".to_string()),
            ("profession", "midwife".to_string()),
            ("rpps", rpps.to_string()),
            ("adeli", String::new()),
            ("practice_ids", fecamp.clone()),
            ("email", "camille.petit@example.fr".to_string()),
            ("phone", "06 22 33 44 55".to_string()),
            ("accepts_new_patients", "true".to_string()),
        ]
    };
    let form = professional("10000000001");
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = coordinator.send(&app, Method::POST, "/console/directory/professionals", &pairs).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", main_of(&refused.text));
    assert!(refused.text.contains("rpps"), "{}", main_of(&refused.text));
    let form = professional(&crate::helpers::fresh_rpps());
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let created = coordinator.send(&app, Method::POST, "/console/directory/professionals", &pairs).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", main_of(&created.text));
    let page = coordinator.get(&app, "/console/directory").await;
    assert!(page.text.contains("PETIT Camille") && page.text.contains("Sage-femme"), "{}", main_of(&page.text));
    let trail = app.get("/api/v1/audit?action=professional.create", &app.admin_key).await;
    assert_eq!(trail.body["events"][0]["actor_kind"], "user");
    // Not for regulators; forged forms refused.
    let mut regulator = logged_in(&app, "regulation@example.fr").await;
    assert_eq!(regulator.get(&app, "/console/directory").await.status, StatusCode::FORBIDDEN);
    let forged = coordinator.send(&app, Method::POST, "/console/directory/practices", &[("csrf", "forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}
