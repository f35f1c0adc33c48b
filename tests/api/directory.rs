//! Keeping the directory true: editing practices and professionals, deactivating them (their free slots leave
//! the search at once, nothing new is published or materialised, their bookings stay to be honoured), and
//! reactivating them.

use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::{Value, json};
use snp::availability::refresh;
use snp::domain::access::Role;
use snp::domain::slot::Slot;
use snp::store::StoreError;

use crate::helpers::{TestApp, fresh_rpps, slot, test_now};
use crate::on_both_databases;

on_both_databases!(
    editing_a_practice_changes_only_what_is_sent,
    bad_practice_edits_are_refused_and_change_nothing,
    deactivating_a_professional_takes_them_out_of_search_and_keeps_their_bookings,
    rules_stop_while_deactivated_and_refill_on_reactivation,
    deactivating_a_practice_closes_it_for_everyone_who_works_there,
    editing_a_professional_replaces_skills_and_practices,
    bad_professional_edits_are_refused_and_change_nothing,
    only_admins_and_coordinators_edit_or_deactivate,
    a_deactivation_racing_publishers_leaves_no_free_slot_behind,
);

/// Le Havre, every profession's reason.
async fn found(app: &TestApp, regulator: &str) -> Vec<String> {
    let body = json!({"motif": "gp_unscheduled", "location": {"lat": 49.4944, "lon": 0.1079}, "radius_km": 20});
    let response = app.post("/api/v1/searches", regulator, body).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    let mut ids: Vec<String> =
        response.body["candidates"].as_array().unwrap().iter().map(|c| c["slot_id"].as_str().unwrap().into()).collect();
    ids.sort();
    ids
}

async fn publish_one(app: &TestApp, professional: &str, practice: &str, minutes: i64) -> String {
    let response = app.publish(&app.admin_key, vec![slot(professional, practice, minutes, 15)]).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    response.body["slots"][0]["id"].as_str().unwrap().to_string()
}

async fn patch(app: &TestApp, path: &str, body: Value) -> crate::helpers::TestResponse {
    app.call(Method::PATCH, path, Some(&app.admin_key), Some(body)).await
}

async fn status_of(app: &TestApp, slot_id: &str) -> String {
    app.get(&format!("/api/v1/slots/{slot_id}"), &app.admin_key).await.body["status"].as_str().unwrap().to_string()
}

async fn audited(app: &TestApp, action: &str, target: &str) -> i64 {
    app.count(&format!("SELECT COUNT(*) FROM audit_events WHERE action = '{action}' AND target_id = $1"), target).await
}

async fn editing_a_practice_changes_only_what_is_sent(app: TestApp) {
    let id = app.practice(json!({"phone": "02 35 00 00 00"})).await;
    let path = format!("/api/v1/practices/{id}");
    let before = app.get(&path, &app.admin_key).await.body;
    let edited = patch(&app, &path, json!({"name": "MSP Caucriauville Nord", "phone": null})).await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.text);
    assert_eq!(edited.body["name"], "MSP Caucriauville Nord");
    assert_eq!(edited.body["phone"], Value::Null);
    let read = app.get(&path, &app.admin_key).await.body;
    assert_eq!(read, edited.body);
    for unchanged in
        ["kind", "address", "postal_code", "commune", "departement", "lat", "lon", "timezone", "created_at"]
    {
        assert_eq!(read[unchanged], before[unchanged], "{unchanged}");
    }
    assert_eq!((read["active"].clone(), read["deactivated_at"].clone()), (json!(true), Value::Null));
    // Moving to La Réunion without a zone takes the département's.
    let moved = patch(
        &app,
        &path,
        json!({"departement": "974", "postal_code": "97400", "commune": "Saint-Denis", "lat": -20.8789, "lon": 55.4481}),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    assert_eq!(moved.body["timezone"], "Indian/Reunion");
    assert_eq!(audited(&app, "practice.update", &id).await, 2);
}

async fn bad_practice_edits_are_refused_and_change_nothing(app: TestApp) {
    let id = app.practice(json!({})).await;
    let path = format!("/api/v1/practices/{id}");
    let before = app.get(&path, &app.admin_key).await.body;
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"lat": 200}), vec!["lat"]),
        (json!({"name": " ", "postal_code": "123"}), vec!["name", "postal_code"]),
        (json!({"kind": "hospital"}), vec!["kind"]),
        (json!({"timezone": "Mars/Olympus"}), vec!["timezone"]),
        (json!({"nickname": "x"}), vec!["nickname"]),
        (json!({"lat": "north"}), vec!["lat"]),
    ];
    for (body, fields) in cases {
        let response = patch(&app, &path, body.clone()).await;
        assert_eq!(response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), fields, "{body}");
    }
    let malformed = app.raw(Method::PATCH, &path, &app.admin_key, "application/json", "{\"name\": ").await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST, "{}", malformed.text);
    let unknown = patch(&app, "/api/v1/practices/nope", json!({"name": "X"})).await;
    unknown.problem(StatusCode::NOT_FOUND, "not_found");
    for action in ["deactivate", "reactivate"] {
        let response = app.post(&format!("/api/v1/practices/nope/{action}"), &app.admin_key, json!({})).await;
        response.problem(StatusCode::NOT_FOUND, "not_found");
    }
    assert_eq!(app.get(&path, &app.admin_key).await.body, before);
    assert_eq!(audited(&app, "practice.update", &id).await, 0);
}

async fn deactivating_a_professional_takes_them_out_of_search_and_keeps_their_bookings(app: TestApp) {
    let practice = app.practice(json!({})).await;
    let gp = app.professional(&[&practice], json!({})).await;
    let colleague = app.professional(&[&practice], json!({"last_name": "Durand"})).await;
    let regulator = app.key(Role::Regulator, None, &[]).await;
    let free = publish_one(&app, &gp, &practice, 60).await;
    let booked = publish_one(&app, &gp, &practice, 120).await;
    let held = publish_one(&app, &gp, &practice, 180).await;
    let theirs = publish_one(&app, &colleague, &practice, 60).await;
    let patient =
        json!({"first_name": "Léa", "last_name": "Martin", "birth_date": "1988-03-14", "phone": "0612345678"});
    let booking = app
        .post("/api/v1/bookings", &regulator, json!({"slot_id": booked, "patient": patient, "motif": "gp_unscheduled"}))
        .await;
    assert_eq!(booking.status, StatusCode::CREATED, "{}", booking.text);
    let hold = app.post("/api/v1/holds", &regulator, json!({"slot_id": held})).await;
    assert_eq!(hold.status, StatusCode::CREATED, "{}", hold.text);
    assert_eq!(found(&app, &regulator).await.len(), 2);

    let response = app.post(&format!("/api/v1/professionals/{gp}/deactivate"), &app.admin_key, json!({})).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.body["professional"]["active"], false);
    assert_eq!(response.body["professional"]["deactivated_at"], "2026-11-24T08:00:00Z");
    assert_eq!(response.body["slots_freed"], 1);
    let kept: Vec<&str> =
        response.body["bookings_to_handle"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(kept, [booked.as_str(), held.as_str()]);
    assert_eq!(status_of(&app, &free).await, "withdrawn");
    assert_eq!(status_of(&app, &booked).await, "booked");
    // The search offers the colleague only, at once.
    assert_eq!(found(&app, &regulator).await, [theirs.as_str()]);
    // The hold in progress may still become a booking; once it lapses, the slot is not offered or held again.
    app.clock.advance(Duration::minutes(6));
    let again = app.post("/api/v1/holds", &regulator, json!({"slot_id": held})).await;
    again.problem(StatusCode::CONFLICT, "slot_unavailable");
    let direct = app
        .post("/api/v1/bookings", &regulator, json!({"slot_id": held, "patient": patient, "motif": "gp_unscheduled"}))
        .await;
    direct.problem(StatusCode::CONFLICT, "slot_unavailable");
    assert_eq!(found(&app, &regulator).await, [theirs.as_str()]);
    // Nothing new is published for them.
    let refused = app.publish(&app.admin_key, vec![slot(&gp, &practice, 300, 15)]).await;
    assert_eq!(refused.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["slots[0].professional_id"]);
    // The directory says so, and can be filtered.
    let inactive = app.get("/api/v1/professionals?active=false", &app.admin_key).await;
    let ids: Vec<&str> =
        inactive.body["professionals"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [gp.as_str()]);
    let active = app.get("/api/v1/professionals?active=true", &app.admin_key).await;
    assert_eq!(active.body["professionals"].as_array().unwrap().len(), 1);
    // Cancelling a kept booking does not put the slot back on offer.
    let booking_id = booking.body["id"].as_str().unwrap();
    let cancelled = app.post(&format!("/api/v1/bookings/{booking_id}/cancel"), &regulator, json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text);
    assert_eq!(status_of(&app, &booked).await, "withdrawn");
    // Deactivating again keeps the first instant, and withdraws the slot whose hold lapsed meanwhile.
    app.clock.advance(Duration::hours(1));
    let twice = app.post(&format!("/api/v1/professionals/{gp}/deactivate"), &app.admin_key, json!({})).await;
    assert_eq!(twice.body["professional"]["deactivated_at"], "2026-11-24T08:00:00Z");
    assert_eq!(twice.body["slots_freed"], 1);
    assert_eq!(twice.body["bookings_to_handle"], json!([]), "the one booking was cancelled");
    assert_eq!(status_of(&app, &held).await, "withdrawn");

    let back = app.post(&format!("/api/v1/professionals/{gp}/reactivate"), &app.admin_key, json!({})).await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.text);
    assert_eq!((back.body["active"].clone(), back.body["deactivated_at"].clone()), (json!(true), Value::Null));
    let fresh = publish_one(&app, &gp, &practice, 300).await;
    // The colleague's slot has started by now; the withdrawn one stays withdrawn; the new one is offered.
    assert_eq!(found(&app, &regulator).await, [fresh.as_str()]);
    assert_eq!(audited(&app, "professional.deactivate", &gp).await, 2);
    assert_eq!(audited(&app, "professional.reactivate", &gp).await, 1);
    let detail = app
        .count(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'professional.deactivate' AND detail = $1",
            "1 free slots withdrawn, 2 bookings to handle",
        )
        .await;
    assert_eq!(detail, 1);
}

async fn rules_stop_while_deactivated_and_refill_on_reactivation(app: TestApp) {
    let practice = app.practice(json!({})).await;
    let gp = app.professional(&[&practice], json!({})).await;
    let rule = json!({
        "professional_id": gp, "practice_id": practice, "weekdays": ["mon", "tue", "wed", "thu", "fri"],
        "start_time": "12:00", "end_time": "12:30", "slot_minutes": 15, "modality": "in_person",
        "visibility": "regulation", "valid_from": "2026-11-24"
    });
    let created = app.post("/api/v1/availability-rules", &app.admin_key, rule.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(app.slot_count(&format!("professional_id={gp}&status=free")).await, 20);

    let response = app.post(&format!("/api/v1/professionals/{gp}/deactivate"), &app.admin_key, json!({})).await;
    assert_eq!(response.body["slots_freed"], 20, "{}", response.text);
    // Rule slots are removed, not withdrawn: the rule fills the time again on reactivation.
    assert_eq!(app.slot_count(&format!("professional_id={gp}")).await, 0);
    let pass = refresh(app.store.as_ref(), test_now() + Duration::days(1), 14, None).await.unwrap();
    assert_eq!((pass.rules, pass.created), (0, 0), "the horizon job leaves a deactivated professional alone");
    let asked = refresh(app.store.as_ref(), test_now(), 14, Some(&gp)).await.unwrap();
    assert_eq!((asked.created, asked.skipped), (0, 20), "asked for them, it skips every slot");
    let another = app.post("/api/v1/availability-rules", &app.admin_key, rule).await;
    assert_eq!(another.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["professional_id"]);

    let back = app.post(&format!("/api/v1/professionals/{gp}/reactivate"), &app.admin_key, json!({})).await;
    assert_eq!(back.status, StatusCode::OK);
    assert_eq!(app.slot_count(&format!("professional_id={gp}&status=free")).await, 20, "refilled at once");
    let pass = refresh(app.store.as_ref(), test_now(), 14, None).await.unwrap();
    assert_eq!((pass.rules, pass.created), (1, 0));
}

async fn deactivating_a_practice_closes_it_for_everyone_who_works_there(app: TestApp) {
    let closing = app.practice(json!({"name": "Cabinet du Port"})).await;
    let staying = app.practice(json!({"name": "MSP des Docks"})).await;
    let gp = app.professional(&[&closing, &staying], json!({})).await;
    let regulator = app.key(Role::Regulator, None, &[]).await;
    let there = publish_one(&app, &gp, &closing, 60).await;
    let elsewhere = publish_one(&app, &gp, &staying, 120).await;
    assert_eq!(found(&app, &regulator).await.len(), 2);

    let response = app.post(&format!("/api/v1/practices/{closing}/deactivate"), &app.admin_key, json!({})).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.body["practice"]["active"], false);
    assert_eq!(response.body["slots_freed"], 1);
    assert_eq!(response.body["bookings_to_handle"], json!([]));
    assert_eq!(status_of(&app, &there).await, "withdrawn");
    assert_eq!(found(&app, &regulator).await, [elsewhere.as_str()]);
    let refused = app.publish(&app.admin_key, vec![slot(&gp, &closing, 300, 15)]).await;
    assert_eq!(refused.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["slots[0].practice_id"]);
    assert_eq!(app.publish(&app.admin_key, vec![slot(&gp, &staying, 300, 15)]).await.status, StatusCode::CREATED);
    // Nobody new joins a closed practice.
    let body = crate::helpers::professional_body(&[&closing]);
    let joining = app.post("/api/v1/professionals", &app.admin_key, body).await;
    assert_eq!(joining.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["practice_ids[0]"]);
    let listed = app.get("/api/v1/practices?active=false", &app.admin_key).await;
    assert_eq!(listed.body["practices"].as_array().unwrap().len(), 1);
    assert_eq!(listed.body["practices"][0]["name"], "Cabinet du Port");

    let back = app.post(&format!("/api/v1/practices/{closing}/reactivate"), &app.admin_key, json!({})).await;
    assert_eq!(back.body["active"], true, "{}", back.text);
    assert_eq!(app.publish(&app.admin_key, vec![slot(&gp, &closing, 400, 15)]).await.status, StatusCode::CREATED);
    assert_eq!(audited(&app, "practice.deactivate", &closing).await, 1);
    assert_eq!(audited(&app, "practice.reactivate", &closing).await, 1);
}

async fn editing_a_professional_replaces_skills_and_practices(app: TestApp) {
    let first = app.practice(json!({"name": "Cabinet A"})).await;
    let second = app.practice(json!({"name": "Cabinet B"})).await;
    let physio = app.professional(&[&first, &second], json!({"profession": "physio", "skills": []})).await;
    let at_second = publish_one(&app, &physio, &second, 60).await;
    let at_first = publish_one(&app, &physio, &first, 120).await;
    let path = format!("/api/v1/professionals/{physio}");
    let response = patch(
        &app,
        &path,
        json!({"skills": ["bronchiolitis"], "practice_ids": [first], "phone": "07 00 00 00 01", "email": null}),
    )
    .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    let professional = &response.body["professional"];
    assert_eq!(professional["skills"], json!(["bronchiolitis"]));
    assert_eq!(professional["practice_ids"], json!([first]));
    assert_eq!(professional["phone"], "+33700000001");
    assert_eq!(professional["email"], Value::Null);
    assert_eq!(professional["last_name"], "Lefebvre", "fields not sent are kept");
    assert_eq!(response.body["slots_freed"], 1, "the slot at the practice left is withdrawn");
    assert_eq!(status_of(&app, &at_second).await, "withdrawn");
    assert_eq!(status_of(&app, &at_first).await, "free");
    assert_eq!(app.get(&path, &app.admin_key).await.body, *professional);
    // Under the professional's lock, the store itself refuses the practice left (a batch checked before the edit).
    let start = test_now() + Duration::minutes(300);
    let late = Slot::free(
        "late".into(),
        &physio,
        &second,
        chrono_tz::Europe::Paris,
        start,
        start + Duration::minutes(15),
        test_now(),
    );
    assert!(matches!(app.store.insert_slots(&[late]).await, Err(StoreError::Deactivated { index: 0 })));
    let with_skill = app.get("/api/v1/professionals?skill=bronchiolitis", &app.admin_key).await;
    assert_eq!(with_skill.body["professionals"].as_array().unwrap().len(), 1);
    assert_eq!(audited(&app, "professional.update", &physio).await, 1);
}

async fn bad_professional_edits_are_refused_and_change_nothing(app: TestApp) {
    let first = app.practice(json!({})).await;
    let second = app.practice(json!({})).await;
    let gp = app.professional(&[&first, &second], json!({})).await;
    let taken = fresh_rpps();
    app.professional(&[&first], json!({"rpps": taken})).await;
    let path = format!("/api/v1/professionals/{gp}");
    let rule = json!({
        "professional_id": gp, "practice_id": second, "weekdays": ["mon"], "start_time": "12:00",
        "end_time": "12:30", "slot_minutes": 15, "modality": "in_person", "visibility": "regulation",
        "valid_from": "2026-11-24"
    });
    assert_eq!(app.post("/api/v1/availability-rules", &app.admin_key, rule).await.status, StatusCode::CREATED);
    let before = app.get(&path, &app.admin_key).await.body;
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"profession": "wizard"}), vec!["profession"]),
        (json!({"adeli": "123456789"}), vec!["adeli"]),
        (json!({"skills": ["bronchiolitis"]}), vec!["skills[0]"]),
        (json!({"practice_ids": []}), vec!["practice_ids"]),
        (json!({"practice_ids": [first, "nope"]}), vec!["practice_ids[1]"]),
        (json!({"home_visit_radius_km": 500}), vec!["home_visit_radius_km"]),
        (json!({"first_name": ""}), vec!["first_name"]),
        (json!({"accepts_new_patients": "yes"}), vec!["accepts_new_patients"]),
    ];
    for (body, fields) in cases {
        let response = patch(&app, &path, body.clone()).await;
        assert_eq!(response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), fields, "{body}");
    }
    patch(&app, &path, json!({"rpps": taken})).await.problem(StatusCode::CONFLICT, "conflict");
    let leaving = patch(&app, &path, json!({"practice_ids": [first]})).await;
    leaving.problem(StatusCode::CONFLICT, "conflict");
    assert!(leaving.body["detail"].as_str().unwrap().contains("availability rule"), "{}", leaving.text);
    patch(&app, "/api/v1/professionals/nope", json!({"first_name": "X"}))
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.get(&path, &app.admin_key).await.body, before);
    assert_eq!(audited(&app, "professional.update", &gp).await, 0);
}

async fn only_admins_and_coordinators_edit_or_deactivate(app: TestApp) {
    let practice = app.practice(json!({})).await;
    let gp = app.professional(&[&practice], json!({})).await;
    let coordinator = app.key(Role::Coordinator, None, &[]).await;
    let others = [
        app.key(Role::Regulator, None, &[]).await,
        app.key(Role::Professional, Some(&gp), &[]).await,
        app.key(Role::Publisher, None, &[&practice]).await,
    ];
    let practice_path = format!("/api/v1/practices/{practice}");
    let professional_path = format!("/api/v1/professionals/{gp}");
    for key in &others {
        let edit = app.call(Method::PATCH, &practice_path, Some(key), Some(json!({"name": "X"}))).await;
        edit.problem(StatusCode::FORBIDDEN, "forbidden");
        let edit = app.call(Method::PATCH, &professional_path, Some(key), Some(json!({"first_name": "X"}))).await;
        edit.problem(StatusCode::FORBIDDEN, "forbidden");
        for path in [&practice_path, &professional_path] {
            app.post(&format!("{path}/deactivate"), key, json!({})).await.problem(StatusCode::FORBIDDEN, "forbidden");
        }
    }
    assert_eq!(app.get(&practice_path, &app.admin_key).await.body["active"], true);
    let by_coordinator = app.call(Method::PATCH, &practice_path, Some(&coordinator), Some(json!({"name": "Y"}))).await;
    assert_eq!(by_coordinator.status, StatusCode::OK, "{}", by_coordinator.text);
    let off = app.post(&format!("{professional_path}/deactivate"), &coordinator, json!({})).await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.text);
}

/// Publishers and a deactivation race (on PostgreSQL, truly in parallel): each batch is refused, or commits
/// before the deactivation clears it. Either way no free slot of the closed practice or professional remains.
async fn a_deactivation_racing_publishers_leaves_no_free_slot_behind(app: TestApp) {
    for round in 0..2 {
        let practice = app.practice(json!({})).await;
        let gp = app.professional(&[&practice], json!({})).await;
        let zone = chrono_tz::Europe::Paris;
        let publishers: Vec<_> = (0..8)
            .map(|i| {
                let store = app.store.clone();
                let start = test_now() + Duration::minutes(60 + 20 * i);
                let slot = Slot::free(
                    format!("race-{round}-{i}"),
                    &gp,
                    &practice,
                    zone,
                    start,
                    start + Duration::minutes(15),
                    test_now(),
                );
                tokio::spawn(async move { store.insert_slots(&[slot]).await })
            })
            .collect();
        let store = app.store.clone();
        let (gp_id, practice_id) = (gp.clone(), practice.clone());
        let closing = tokio::spawn(async move {
            if round == 0 {
                store.deactivate_practice(&practice_id, test_now()).await
            } else {
                store.deactivate_professional(&gp_id, test_now()).await
            }
        });
        for publisher in publishers {
            match publisher.await.unwrap() {
                Ok(()) | Err(StoreError::Deactivated { index: 0 }) => {}
                Err(other) => panic!("unexpected: {other}"),
            }
        }
        closing.await.unwrap().unwrap();
        assert_eq!(app.slot_count(&format!("professional_id={gp}&status=free")).await, 0, "round {round}");
    }
}
