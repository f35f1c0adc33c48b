//! The coordinator keeps the directory true from the console: edits a practice and a professional (forms filled
//! with what is on record), deactivates a professional and sees what it did, reactivates; each action checks
//! the CSRF token and the role.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::console::{hidden, location};
use crate::console_pages::{logged_in, main_of, territory};
use crate::helpers::{TestApp, slot};
use crate::on_both_databases;

on_both_databases!(the_coordinator_edits_deactivates_and_reactivates_from_the_directory,);

async fn the_coordinator_edits_deactivates_and_reactivates_from_the_directory(app: TestApp) {
    let t = territory(&app).await;
    let mut coordinator = logged_in(&app, "coordination@example.fr").await;
    let directory = coordinator.get(&app, "/console/directory").await;
    assert!(
        directory.text.contains(&format!("/console/directory/practices/{}", t.practice)),
        "{}",
        main_of(&directory.text)
    );

    // The practice's form shows what is on record; a change is saved and audited as the user.
    let practice_path = format!("/console/directory/practices/{}", t.practice);
    let page = coordinator.get(&app, &practice_path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", main_of(&page.text));
    assert!(page.text.contains("value=\"MSP de Caucriauville\"") && page.text.contains("value=\"49.5107\""));
    let csrf = hidden(&page.text, "csrf");
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("name", "MSP de Caucriauville"),
        ("kind", "msp"),
        ("address", "14 rue Jules Vallès"),
        ("postal_code", "76610"),
        ("commune", "Le Havre"),
        ("departement", "76"),
        ("lat", "49,5107"),
        ("lon", "0,1632"),
        ("phone", "02 35 11 22 33"),
    ];
    let saved = coordinator.send(&app, Method::POST, &practice_path, &form).await;
    assert_eq!(
        (saved.status, location(&saved)),
        (StatusCode::SEE_OTHER, "/console/directory"),
        "{}",
        main_of(&saved.text)
    );
    let read = app.get(&format!("/api/v1/practices/{}", t.practice), &app.admin_key).await.body;
    assert_eq!((read["address"].as_str(), read["phone"].as_str()), (Some("14 rue Jules Vallès"), Some("+33235112233")));
    let trail = app.get("/api/v1/audit?action=practice.update", &app.admin_key).await;
    assert_eq!(trail.body["events"][0]["actor_kind"], "user");
    // A wrong value: the form again, with the problem in French, and nothing changed.
    form[4] = ("postal_code", "7661");
    let refused = coordinator.send(&app, Method::POST, &practice_path, &form).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text.contains("code postal : 5 chiffres exactement"), "{}", main_of(&refused.text));
    assert!(refused.text.contains("value=\"7661\""), "the form keeps what was typed: {}", main_of(&refused.text));
    let read = app.get(&format!("/api/v1/practices/{}", t.practice), &app.admin_key).await.body;
    assert_eq!(read["postal_code"], "76610");
    // A forged token changes nothing.
    form[0] = ("csrf", "forged");
    assert_eq!(coordinator.send(&app, Method::POST, &practice_path, &form).await.status, StatusCode::FORBIDDEN);

    // The physiotherapist, whose booked appointment must be kept and shown.
    let booked = app.publish(&app.admin_key, vec![slot(&t.physio, &t.practice, 240, 30)]).await;
    let booked = booked.body["slots"][0]["id"].as_str().unwrap().to_string();
    let patient =
        json!({"first_name": "Léa", "last_name": "Martin", "birth_date": "2026-04-20", "phone": "0612345678"});
    let booking = app
        .post(
            "/api/v1/bookings",
            &app.admin_key,
            json!({"slot_id": booked, "patient": patient, "motif": "bronchiolitis"}),
        )
        .await;
    assert_eq!(booking.status, StatusCode::CREATED, "{}", booking.text);
    let professional_path = format!("/console/directory/professionals/{}", t.physio);
    let page = coordinator.get(&app, &professional_path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", main_of(&page.text));
    assert!(page.text.contains("value=\"Marchand\"") && page.text.contains("checked"), "{}", main_of(&page.text));
    let switched = coordinator
        .send(&app, Method::POST, &format!("{professional_path}/deactivate"), &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(switched.status, StatusCode::OK, "{}", main_of(&switched.text));
    assert!(switched.text.contains("2 créneau(x) libre(s)"), "{}", main_of(&switched.text));
    assert!(switched.text.contains("1 rendez-vous"), "{}", main_of(&switched.text));
    let read = app.get(&format!("/api/v1/professionals/{}", t.physio), &app.admin_key).await.body;
    assert_eq!(read["active"], false);
    let directory = coordinator.get(&app, "/console/directory").await;
    assert!(
        directory.text.contains("Désactivé") && directory.text.contains("Réactiver"),
        "{}",
        main_of(&directory.text)
    );
    let back = coordinator
        .send(&app, Method::POST, &format!("{professional_path}/reactivate"), &[("csrf", csrf.as_str())])
        .await;
    assert_eq!((back.status, location(&back)), (StatusCode::SEE_OTHER, "/console/directory"));
    let read = app.get(&format!("/api/v1/professionals/{}", t.physio), &app.admin_key).await.body;
    assert_eq!(read["active"], true);

    // Not for regulators or professionals; no action without the token; unknown actions and ids answered.
    for login in ["regulation@example.fr", "kine@example.fr"] {
        let mut other = logged_in(&app, login).await;
        assert_eq!(other.get(&app, &practice_path).await.status, StatusCode::FORBIDDEN);
        let page = other.get(&app, "/console").await;
        let token = hidden(&page.text, "csrf");
        let attempt = other
            .send(&app, Method::POST, &format!("{professional_path}/deactivate"), &[("csrf", token.as_str())])
            .await;
        assert_eq!(attempt.status, StatusCode::FORBIDDEN);
    }
    let forged =
        coordinator.send(&app, Method::POST, &format!("{professional_path}/deactivate"), &[("csrf", "forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let unknown =
        coordinator.send(&app, Method::POST, &format!("{professional_path}/delete"), &[("csrf", csrf.as_str())]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(coordinator.get(&app, "/console/directory/practices/nope").await.status, StatusCode::NOT_FOUND);
    let read = app.get(&format!("/api/v1/professionals/{}", t.physio), &app.admin_key).await.body;
    assert_eq!(read["active"], true);
}
