//! Availability rules over the API: materialisation over the horizon, idempotence (also with concurrent
//! runners), overlaps, replacing and deleting next to held and booked slots, previews, absences, bad input.

use std::sync::Arc;

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{Value, json};
use snp::availability::refresh;
use snp::domain::access::Role;

use crate::helpers::{TestApp, merge, slot, test_now};
use crate::on_both_databases;

on_both_databases!(
    creating_a_rule_materialises_the_horizon,
    the_horizon_job_is_idempotent_and_rolls_forward,
    concurrent_horizon_runs_never_duplicate_a_slot,
    a_rule_slot_overlapping_an_existing_slot_is_skipped_and_reported,
    replacing_a_rule_swaps_its_free_future_slots_and_keeps_booked_ones,
    deleting_a_rule_removes_its_free_future_slots_only,
    preview_shows_dst_exact_slots_and_which_are_stored,
    every_invalid_rule_field_is_reported_and_nothing_is_written,
    a_remainder_shorter_than_a_slot_is_reported_and_left_unpublished,
    rule_permissions_follow_the_slot_permissions,
    an_absence_frees_its_range_lists_bookings_and_lifting_it_refills,
    invalid_absences_are_refused,
    a_horizon_pass_over_a_stale_rule_version_writes_nothing,
    a_change_that_keeps_the_times_keeps_the_very_same_slots,
    on_call_rota_runs_on_weekends_and_holidays_in_season,
    a_late_absence_leaves_the_past_alone,
);

struct Setup {
    practice: String,
    professional: String,
}

async fn setup(app: &TestApp) -> Setup {
    let practice = app.practice(json!({})).await;
    let professional = app.professional(&[&practice], json!({})).await;
    Setup { practice, professional }
}

/// Weekdays 12:00–12:30, two 15-minute slots, from the test's today (Tuesday 24 November 2026).
fn lunchtime_rule(s: &Setup) -> Value {
    json!({
        "professional_id": s.professional, "practice_id": s.practice,
        "weekdays": ["mon", "tue", "wed", "thu", "fri"], "start_time": "12:00", "end_time": "12:30",
        "slot_minutes": 15, "modality": "in_person", "visibility": "regulation", "valid_from": "2026-11-24"
    })
}

async fn create_rule(app: &TestApp, body: Value) -> Value {
    let response = app.post("/api/v1/availability-rules", &app.admin_key, body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    response.body
}

async fn creating_a_rule_materialises_the_horizon(app: TestApp) {
    let s = setup(&app).await;
    let rule = create_rule(&app, lunchtime_rule(&s)).await;
    // 24 Nov – 7 Dec: ten weekdays, two slots each.
    assert_eq!(rule["materialized"]["created"], 20, "{rule}");
    assert_eq!(rule["materialized"]["skipped"], json!([]));
    assert_eq!(rule["materialized"]["through"], "2026-12-07");
    assert_eq!(rule["weekdays"], json!(["mon", "tue", "wed", "thu", "fri"]));
    assert_eq!(rule["timezone"], "Europe/Paris");
    assert_eq!(rule["public_holidays"], "skip");
    let id = rule["id"].as_str().unwrap();
    let slots = app.get(&format!("/api/v1/slots?professional_id={}&limit=1000", s.professional), &app.admin_key).await;
    let slots = slots.body["slots"].as_array().unwrap();
    assert_eq!(slots.len(), 20);
    assert!(slots.iter().all(|s| s["rule_id"] == id && s["status"] == "free" && s["duration_minutes"] == 15));
    assert_eq!(slots[0]["start_local"], "2026-11-24T12:00:00+01:00");
    assert_eq!(slots[19]["start_local"], "2026-12-07T12:15:00+01:00");
    let read = app.get(&format!("/api/v1/availability-rules/{id}"), &app.admin_key).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body["start_time"], "12:00");
    let listed =
        app.get(&format!("/api/v1/availability-rules?professional_id={}", s.professional), &app.admin_key).await;
    assert_eq!(listed.body["rules"].as_array().unwrap().len(), 1);
}

async fn the_horizon_job_is_idempotent_and_rolls_forward(app: TestApp) {
    let s = setup(&app).await;
    create_rule(&app, lunchtime_rule(&s)).await;
    let again = refresh(app.store.as_ref(), test_now(), 14, None).await.unwrap();
    assert_eq!((again.rules, again.created, again.skipped), (1, 0, 0), "re-running changes nothing");
    assert_eq!(app.slot_count("").await, 20);
    // A day later the horizon reaches Tuesday 8 December.
    let tomorrow = test_now() + Duration::days(1);
    let next = refresh(app.store.as_ref(), tomorrow, 14, None).await.unwrap();
    assert_eq!(next.created, 2);
    assert_eq!(app.slot_count("").await, 22);
}

async fn concurrent_horizon_runs_never_duplicate_a_slot(app: TestApp) {
    let s = setup(&app).await;
    let rule = create_rule(&app, lunchtime_rule(&s)).await;
    let id = rule["id"].as_str().unwrap().to_string();
    // Remove everything the creation made, then let four "server processes" race to rebuild it.
    app.delete(&format!("/api/v1/availability-rules/{id}"), &app.admin_key).await;
    let revived = create_rule(&app, lunchtime_rule(&s)).await;
    assert_eq!(revived["materialized"]["created"], 20);
    let later = test_now() + Duration::days(7);
    let store = app.store.clone();
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { refresh(store.as_ref(), later, 14, None).await.unwrap() })
        })
        .collect();
    let mut created = 0;
    for run in runs {
        created += run.await.unwrap().created;
    }
    assert_eq!(created, 10, "the five new weekdays, created once in all");
    let all = app.get("/api/v1/slots?status=free&limit=1000", &app.admin_key).await;
    let mut starts: Vec<&str> =
        all.body["slots"].as_array().unwrap().iter().map(|s| s["start"].as_str().unwrap()).collect();
    let total = starts.len();
    starts.dedup();
    assert_eq!(starts.len(), total, "no duplicate slot");
    assert_eq!(total, 30);
}

async fn a_rule_slot_overlapping_an_existing_slot_is_skipped_and_reported(app: TestApp) {
    let s = setup(&app).await;
    // Wednesday 25 November 12:10–12:40 Paris (11:10Z) overlaps both rule slots of that day.
    let one_off = slot(&s.professional, &s.practice, 27 * 60 + 10, 30);
    assert_eq!(app.publish(&app.admin_key, vec![one_off]).await.status, StatusCode::CREATED);
    let rule = create_rule(&app, lunchtime_rule(&s)).await;
    assert_eq!(rule["materialized"]["created"], 18);
    let skipped = rule["materialized"]["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 2);
    assert_eq!(skipped[0]["reason"], "overlap");
    assert_eq!(skipped[0]["start_local"], "2026-11-25T12:00:00+01:00");
    assert_eq!(app.slot_count("").await, 19);
}

async fn replacing_a_rule_swaps_its_free_future_slots_and_keeps_booked_ones(app: TestApp) {
    let s = setup(&app).await;
    let rule = create_rule(&app, lunchtime_rule(&s)).await;
    let id = rule["id"].as_str().unwrap();
    let listed = app.get("/api/v1/slots?limit=1000", &app.admin_key).await;
    let listed = listed.body["slots"].as_array().unwrap();
    let (booked, held) = (listed[2]["id"].as_str().unwrap(), listed[5]["id"].as_str().unwrap());
    app.force_slot_status(booked, "booked").await;
    app.force_slot_status(held, "held").await;
    // Move the window to 12:10–12:40: the booked and held slots stay; new ones overlapping them are skipped.
    let mut changed = lunchtime_rule(&s);
    merge(&mut changed, json!({"start_time": "12:10", "end_time": "12:40", "visibility": "public"}));
    let response = app
        .call(axum::http::Method::PUT, &format!("/api/v1/availability-rules/{id}"), Some(&app.admin_key), Some(changed))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.body["materialized"]["removed"], 18);
    // The booked 12:00–12:15 slot blocks one new slot of its day, the held 12:15–12:30 slot both of its day.
    assert_eq!(response.body["materialized"]["created"], 17);
    assert_eq!(response.body["materialized"]["skipped"].as_array().unwrap().len(), 3);
    assert_eq!(response.body["start_time"], "12:10");
    assert_eq!(app.get(&format!("/api/v1/slots/{booked}"), &app.admin_key).await.body["status"], "booked");
    assert_eq!(app.get(&format!("/api/v1/slots/{held}"), &app.admin_key).await.body["status"], "held");
    let free = app.get("/api/v1/slots?status=free&limit=1000", &app.admin_key).await;
    assert!(
        free.body["slots"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["visibility"] == "public" && s["start_local"].as_str().unwrap()[11..16] != *"12:00")
    );
    // A rule stays with its professional.
    let other = app.professional(&[&s.practice], json!({})).await;
    let mut moved = lunchtime_rule(&s);
    merge(&mut moved, json!({"professional_id": other}));
    let response = app
        .call(axum::http::Method::PUT, &format!("/api/v1/availability-rules/{id}"), Some(&app.admin_key), Some(moved))
        .await;
    assert_eq!(response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["professional_id"]);
}

async fn deleting_a_rule_removes_its_free_future_slots_only(app: TestApp) {
    let s = setup(&app).await;
    let rule = create_rule(&app, lunchtime_rule(&s)).await;
    let id = rule["id"].as_str().unwrap();
    let listed = app.get("/api/v1/slots?limit=1000", &app.admin_key).await;
    let booked = listed.body["slots"][3]["id"].as_str().unwrap().to_string();
    app.force_slot_status(&booked, "booked").await;
    let response = app.delete(&format!("/api/v1/availability-rules/{id}"), &app.admin_key).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT, "{}", response.text);
    assert_eq!(app.slot_count("").await, 1, "only the booked slot remains");
    assert_eq!(app.get(&format!("/api/v1/slots/{booked}"), &app.admin_key).await.body["rule_id"], id);
    app.get(&format!("/api/v1/availability-rules/{id}"), &app.admin_key)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    app.delete(&format!("/api/v1/availability-rules/{id}"), &app.admin_key)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
    let later = refresh(app.store.as_ref(), test_now() + Duration::days(3), 14, None).await.unwrap();
    assert_eq!(later.rules, 0, "a deleted rule yields nothing any more");
}

async fn preview_shows_dst_exact_slots_and_which_are_stored(app: TestApp) {
    let s = setup(&app).await;
    let mut night = lunchtime_rule(&s);
    merge(
        &mut night,
        json!({"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start_time": "01:30",
                             "end_time": "03:30", "slot_minutes": 30, "public_holidays": "include"}),
    );
    let rule = create_rule(&app, night).await;
    let id = rule["id"].as_str().unwrap();
    let spring = app
        .get(&format!("/api/v1/availability-rules/{id}/preview?from=2027-03-27&to=2027-03-28"), &app.admin_key)
        .await;
    assert_eq!(spring.status, StatusCode::OK, "{}", spring.text);
    let locals: Vec<&str> =
        spring.body["slots"].as_array().unwrap().iter().map(|s| s["start_local"].as_str().unwrap()).collect();
    assert_eq!(
        locals,
        [
            "2027-03-27T01:30:00+01:00",
            "2027-03-27T02:00:00+01:00",
            "2027-03-27T02:30:00+01:00",
            "2027-03-27T03:00:00+01:00",
            "2027-03-28T01:30:00+01:00",
            "2027-03-28T03:00:00+02:00",
        ]
    );
    assert!(spring.body["slots"].as_array().unwrap().iter().all(|s| s["stored"] == false), "beyond the horizon");
    let autumn = app
        .get(&format!("/api/v1/availability-rules/{id}/preview?from=2027-10-31&to=2027-10-31"), &app.admin_key)
        .await;
    assert_eq!(autumn.body["count"], 6);
    let soon = app
        .get(&format!("/api/v1/availability-rules/{id}/preview?from=2026-11-25&to=2026-11-25"), &app.admin_key)
        .await;
    assert_eq!(soon.body["count"], 4);
    assert!(soon.body["slots"].as_array().unwrap().iter().all(|s| s["stored"] == true), "{}", soon.text);
    for (query, field) in [
        ("from=2026-11-25&to=2027-11-26", "to"),
        ("from=2026-11-25&to=2026-11-24", "to"),
        ("from=2026-02-30&to=2026-03-01", "from"),
        ("from=2026-11-25", "to"),
    ] {
        let response = app.get(&format!("/api/v1/availability-rules/{id}/preview?{query}"), &app.admin_key).await;
        assert_eq!(response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), [field], "{query}");
    }
    app.get("/api/v1/availability-rules/nope/preview?from=2026-11-25&to=2026-11-25", &app.admin_key)
        .await
        .problem(StatusCode::NOT_FOUND, "not_found");
}

async fn every_invalid_rule_field_is_reported_and_nothing_is_written(app: TestApp) {
    let s = setup(&app).await;
    let other_practice = app.practice(json!({"name": "Ailleurs"})).await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"weekdays": ["mon", "funday"]}), "weekdays[1]"),
        (json!({"weekdays": []}), "weekdays"),
        (json!({"end_time": "12:00"}), "end_time"),
        (json!({"start_time": "25:00"}), "start_time"),
        (json!({"start_time": "9:00"}), "start_time"),
        (json!({"slot_minutes": 45}), "slot_minutes"),
        (json!({"slot_minutes": 3}), "slot_minutes"),
        (json!({"slot_minutes": "15"}), "slot_minutes"),
        (json!({"valid_from": "2026-13-01"}), "valid_from"),
        (json!({"valid_until": "2026-11-01"}), "valid_until"),
        (json!({"season": {"from": "02-30", "to": "03-31"}}), "season.from"),
        (json!({"season": {"from": "11-01", "to": "3-31"}}), "season.to"),
        (json!({"public_holidays": "sometimes"}), "public_holidays"),
        (json!({"modality": "by_pigeon"}), "modality"),
        (json!({"visibility": null}), "visibility"),
        (json!({"professional_id": "nobody"}), "professional_id"),
        (json!({"practice_id": other_practice}), "practice_id"),
        (json!({"colour": "blue"}), "colour"),
        (json!({"valid_from": "2026-01-01", "valid_until": "2026-06-30"}), "valid_until"),
        (json!({"valid_until": "2027-02-28", "season": {"from": "06-01", "to": "08-31"}}), "season"),
        (json!({"season": {"from": "+1-01", "to": "03-31"}}), "season.from"),
        (json!({"start_time": "+9:00"}), "start_time"),
    ];
    for (override_, field) in cases {
        let mut body = lunchtime_rule(&s);
        merge(&mut body, override_.clone());
        let response = app.post("/api/v1/availability-rules", &app.admin_key, body).await;
        let fields = response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(fields, [field], "{override_}: {}", response.text);
    }
    assert_eq!(app.get("/api/v1/availability-rules", &app.admin_key).await.body["rules"], json!([]));
    assert_eq!(app.slot_count("").await, 0);
}

async fn a_remainder_shorter_than_a_slot_is_reported_and_left_unpublished(app: TestApp) {
    let s = setup(&app).await;
    let mut body = lunchtime_rule(&s);
    merge(&mut body, json!({"end_time": "12:40", "weekdays": ["wed"]}));
    let rule = create_rule(&app, body).await;
    assert_eq!(rule["unused_minutes_per_window"], 10);
    assert_eq!(rule["materialized"]["created"], 4, "two Wednesdays, two slots each; 12:30–12:40 stays unpublished");
}

async fn rule_permissions_follow_the_slot_permissions(app: TestApp) {
    let s = setup(&app).await;
    let colleague = app.professional(&[&s.practice], json!({})).await;
    let regulator = app.key(Role::Regulator, None, &[]).await;
    app.post("/api/v1/availability-rules", &regulator, lunchtime_rule(&s))
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    let own = app.key(Role::Professional, Some(&s.professional), &[]).await;
    let created = app.post("/api/v1/availability-rules", &own, lunchtime_rule(&s)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().unwrap();
    let colleague_key = app.key(Role::Professional, Some(&colleague), &[]).await;
    app.post("/api/v1/availability-rules", &colleague_key, lunchtime_rule(&s))
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    app.get(&format!("/api/v1/availability-rules/{id}"), &colleague_key)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    app.delete(&format!("/api/v1/availability-rules/{id}"), &colleague_key)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(app.get("/api/v1/availability-rules", &colleague_key).await.body["rules"], json!([]));
    let put = |key: String| {
        let body = lunchtime_rule(&s);
        let path = format!("/api/v1/availability-rules/{id}");
        let app = &app;
        async move { app.call(axum::http::Method::PUT, &path, Some(&key), Some(body)).await }
    };
    put(colleague_key.clone()).await.problem(StatusCode::FORBIDDEN, "forbidden");
    let elsewhere = app.practice(json!({"name": "Autre cabinet"})).await;
    let foreign_publisher = app.key(Role::Publisher, None, &[&elsewhere]).await;
    put(foreign_publisher.clone()).await.problem(StatusCode::FORBIDDEN, "forbidden");
    app.get(&format!("/api/v1/availability-rules/{id}/preview?from=2026-11-25&to=2026-11-26"), &foreign_publisher)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    let publisher = app.key(Role::Publisher, None, &[&s.practice]).await;
    assert_eq!(app.get(&format!("/api/v1/availability-rules/{id}"), &publisher).await.status, StatusCode::OK);
    assert_eq!(
        app.delete(&format!("/api/v1/availability-rules/{id}"), &publisher).await.status,
        StatusCode::NO_CONTENT
    );
}

async fn an_absence_frees_its_range_lists_bookings_and_lifting_it_refills(app: TestApp) {
    let s = setup(&app).await;
    create_rule(&app, lunchtime_rule(&s)).await;
    // A one-off evening slot on Thursday 26 November, and one rule slot of that day booked.
    let one_off = app.publish(&app.admin_key, vec![slot(&s.professional, &s.practice, 2 * 24 * 60 + 9 * 60, 15)]).await;
    let one_off = one_off.body["slots"][0]["id"].as_str().unwrap().to_string();
    let thursday =
        app.get("/api/v1/slots?from=2026-11-26T00:00:00%2B01:00&to=2026-11-27T00:00:00%2B01:00", &app.admin_key).await;
    let booked = thursday.body["slots"][0]["id"].as_str().unwrap().to_string();
    app.force_slot_status(&booked, "booked").await;
    let before = app.slot_count("status=free").await;
    let professional = app.key(Role::Professional, Some(&s.professional), &[]).await;
    let response = app
        .post(
            "/api/v1/absences",
            &professional,
            json!({"professional_id": s.professional, "from": "2026-11-26", "to": "2026-11-27", "reason": "Formation"}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    assert_eq!(response.body["from"], "2026-11-25T23:00:00Z");
    assert_eq!(response.body["to"], "2026-11-27T23:00:00Z");
    assert_eq!(response.body["slots_freed"], 4, "three rule slots and the one-off slot");
    let to_handle = response.body["bookings_to_handle"].as_array().unwrap();
    assert_eq!(to_handle.len(), 1);
    assert_eq!(to_handle[0]["id"], booked.as_str());
    assert_eq!(app.slot_count("status=free").await, before - 4);
    assert_eq!(app.get(&format!("/api/v1/slots/{one_off}"), &app.admin_key).await.body["status"], "withdrawn");
    assert_eq!(app.get(&format!("/api/v1/slots/{booked}"), &app.admin_key).await.body["status"], "booked");
    // The horizon job does not refill an absence.
    let pass = refresh(app.store.as_ref(), test_now(), 14, None).await.unwrap();
    assert_eq!((pass.created, pass.skipped), (0, 3));
    let absence = response.body["id"].as_str().unwrap();
    let listed = app.get("/api/v1/absences", &professional).await;
    assert_eq!(listed.body["absences"][0]["reason"], "Formation");
    assert_eq!(app.delete(&format!("/api/v1/absences/{absence}"), &professional).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.slot_count("status=free").await,
        before - 1,
        "rules refill; the withdrawn one-off slot stays withdrawn"
    );
    app.delete(&format!("/api/v1/absences/{absence}"), &professional).await.problem(StatusCode::NOT_FOUND, "not_found");
}

async fn invalid_absences_are_refused(app: TestApp) {
    let s = setup(&app).await;
    let colleague = app.professional(&[&s.practice], json!({})).await;
    let base = json!({"professional_id": s.professional, "from": "2026-11-26", "to": "2026-11-27"});
    for (override_, field) in [
        (json!({"to": "2026-11-25"}), "to"),
        (json!({"from": "26/11/2026"}), "from"),
        (json!({"from": "2026-11-01", "to": "2026-11-02"}), "to"),
        (json!({"to": "2028-01-01"}), "to"),
        (json!({"reason": "x".repeat(201)}), "reason"),
        (json!({"professional_id": "nobody"}), "professional_id"),
        (json!({"to": null}), "to"),
    ] {
        let mut body = base.clone();
        merge(&mut body, override_.clone());
        let response = app.post("/api/v1/absences", &app.admin_key, body).await;
        assert_eq!(response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), [field], "{override_}");
    }
    let colleague_key = app.key(Role::Professional, Some(&colleague), &[]).await;
    app.post("/api/v1/absences", &colleague_key, base.clone()).await.problem(StatusCode::FORBIDDEN, "forbidden");
    let regulator = app.key(Role::Regulator, None, &[]).await;
    app.post("/api/v1/absences", &regulator, base.clone()).await.problem(StatusCode::FORBIDDEN, "forbidden");
    // Agenda software may not declare absences: one acts on every practice of the professional.
    let publisher = app.key(Role::Publisher, None, &[&s.practice]).await;
    app.post("/api/v1/absences", &publisher, base).await.problem(StatusCode::FORBIDDEN, "forbidden");
    app.get("/api/v1/absences", &publisher).await.problem(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(app.get("/api/v1/absences", &app.admin_key).await.body["absences"], json!([]));
}

async fn a_horizon_pass_over_a_stale_rule_version_writes_nothing(app: TestApp) {
    let s = setup(&app).await;
    let rule = create_rule(&app, lunchtime_rule(&s)).await;
    let id = rule["id"].as_str().unwrap();
    let put = |body: Value| {
        let path = format!("/api/v1/availability-rules/{id}");
        let app = &app;
        async move { app.call(axum::http::Method::PUT, &path, Some(&app.admin_key), Some(body)).await }
    };
    // A horizon pass reads the rule…
    let stale = app.store.get_rule(id).await.unwrap().unwrap();
    let practice = app.store.get_practice(&s.practice).await.unwrap().unwrap();
    // …then the professional moves it to the evening…
    let mut evening = lunchtime_rule(&s);
    merge(&mut evening, json!({"start_time": "18:00", "end_time": "18:30"}));
    let response = put(evening).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    // …and the pass, going on with the version it read a day later, must not bring the lunchtime slots back.
    let later = test_now() + Duration::days(1);
    let outcome = snp::availability::materialize(app.store.as_ref(), &stale, &practice, later, 14).await;
    assert!(matches!(outcome, Err(snp::store::StoreError::RuleChanged)), "{outcome:?}");
    let slots = app.get("/api/v1/slots?limit=1000", &app.admin_key).await;
    let hours: Vec<&str> =
        slots.body["slots"].as_array().unwrap().iter().map(|s| &s["start_local"].as_str().unwrap()[11..13]).collect();
    assert!(!hours.is_empty() && hours.iter().all(|h| *h == "18"), "{hours:?}");
    // Same after a deletion.
    let current = app.store.get_rule(id).await.unwrap().unwrap();
    app.delete(&format!("/api/v1/availability-rules/{id}"), &app.admin_key).await;
    let outcome = snp::availability::materialize(app.store.as_ref(), &current, &practice, later, 14).await;
    assert!(matches!(outcome, Err(snp::store::StoreError::RuleChanged)));
    assert_eq!(app.slot_count("status=free").await, 0);
}

async fn a_change_that_keeps_the_times_keeps_the_very_same_slots(app: TestApp) {
    let s = setup(&app).await;
    let rule = create_rule(&app, lunchtime_rule(&s)).await;
    let id = rule["id"].as_str().unwrap();
    // A regulator may be holding one of these ids from a search: a cosmetic change must not replace them.
    let before = app.get("/api/v1/slots?status=free&limit=1000", &app.admin_key).await.body["slots"].clone();
    let mut longer = lunchtime_rule(&s);
    merge(&mut longer, json!({"valid_until": "2027-06-30"}));
    let response = app
        .call(axum::http::Method::PUT, &format!("/api/v1/availability-rules/{id}"), Some(&app.admin_key), Some(longer))
        .await;
    assert_eq!(response.body["materialized"]["removed"], 0, "{}", response.text);
    assert_eq!(response.body["materialized"]["created"], 0);
    let after = app.get("/api/v1/slots?status=free&limit=1000", &app.admin_key).await.body["slots"].clone();
    assert_eq!(before, after);
}

async fn on_call_rota_runs_on_weekends_and_holidays_in_season(app: TestApp) {
    // Sunday 20 December 2026, 07:00 in Strasbourg: the horizon reaches Saturday 2 January 2027.
    app.clock.set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 20, 6, 0, 0).unwrap());
    let practice = app.practice(json!({"departement": "67", "postal_code": "67000", "commune": "Strasbourg"})).await;
    let physio = app.professional(&[&practice], json!({"profession": "physio", "skills": ["bronchiolitis"]})).await;
    let rota = json!({
        "professional_id": physio, "practice_id": practice, "weekdays": ["sat", "sun"], "start_time": "08:00",
        "end_time": "10:00", "slot_minutes": 60, "modality": "in_person", "visibility": "regulation",
        "valid_from": "2026-11-01", "public_holidays": "include", "season": {"from": "11-01", "to": "03-31"}
    });
    let rule = create_rule(&app, rota).await;
    let days: std::collections::BTreeSet<String> =
        app.get("/api/v1/slots?limit=1000", &app.admin_key).await.body["slots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["start_local"].as_str().unwrap()[..10].to_string())
            .collect();
    // Sun 20, Fri 25 (Noël), Sat 26 (Saint-Étienne in Alsace, and a Saturday), Sun 27, Fri 1 (Jour de l'an), Sat 2.
    let expected = ["2026-12-20", "2026-12-25", "2026-12-26", "2026-12-27", "2027-01-01", "2027-01-02"];
    assert_eq!(days.into_iter().collect::<Vec<_>>(), expected);
    assert_eq!(rule["materialized"]["created"], 12);
    // `only`: the holidays among the weekdays.
    let nurse = app.professional(&[&practice], json!({"profession": "nurse"})).await;
    let holidays_only = json!({
        "professional_id": nurse, "practice_id": practice, "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start_time": "09:00", "end_time": "10:00", "slot_minutes": 30, "modality": "in_person",
        "visibility": "regulation", "valid_from": "2026-11-01", "public_holidays": "only"
    });
    let rule = create_rule(&app, holidays_only).await;
    assert_eq!(rule["materialized"]["created"], 6, "25 and 26 December, 1 January: two slots each");
    // Out of season, nothing; without the season, Mondays 21 and 28 December.
    let mut summer = json!({
        "professional_id": nurse, "practice_id": practice, "weekdays": ["mon"], "start_time": "18:00",
        "end_time": "19:00", "slot_minutes": 30, "modality": "in_person", "visibility": "regulation",
        "valid_from": "2026-11-01", "season": {"from": "06-01", "to": "08-31"}
    });
    let rule = create_rule(&app, summer.clone()).await;
    assert_eq!(rule["materialized"]["created"], 0, "out of season");
    merge(&mut summer, json!({"season": null}));
    let rule = create_rule(&app, summer).await;
    assert_eq!(rule["materialized"]["created"], 4);
}

async fn a_late_absence_leaves_the_past_alone(app: TestApp) {
    let s = setup(&app).await;
    create_rule(&app, lunchtime_rule(&s)).await;
    // Two days later, an absence declared from the start of the week: past slots are evidence, not touched.
    app.clock.set(test_now() + Duration::days(2));
    let body = json!({"professional_id": s.professional, "from": "2026-11-23", "to": "2026-11-27"});
    let response = app.post("/api/v1/absences", &app.admin_key, body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    let past = app.get("/api/v1/slots?to=2026-11-26T08:00:00Z&limit=1000", &app.admin_key).await;
    let past = past.body["slots"].as_array().unwrap();
    assert_eq!(past.len(), 4, "Tuesday and Wednesday lunchtimes stay as they were");
    assert!(past.iter().all(|s| s["status"] == "free"));
    assert_eq!(response.body["slots_freed"], 4, "Thursday and Friday");
}
