//! Holds and bookings: the database guarantee under concurrency, expiry by the injected clock, idempotency,
//! the booking state machine, patient validation, roles.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::{Value, json};
use snp::clock::Clock;
use snp::domain::access::Role;

use crate::helpers::{TestApp, merge, slot};
use crate::on_both_databases;

on_both_databases!(
    a_cancelled_slot_of_a_changed_or_deleted_rule_is_not_freed_at_its_old_time,
    changing_a_rule_while_regulators_book_its_slots_never_double_books,
    a_live_hold_cannot_book_a_slot_that_has_started,
    hold_then_book_confirms_the_slot,
    a_lapsed_hold_frees_the_slot_and_cannot_be_used,
    releasing_a_hold_frees_the_slot,
    a_slot_is_booked_at_most_once_and_only_when_bookable,
    fifty_concurrent_bookings_of_one_slot_yield_exactly_one,
    fifty_concurrent_holds_of_one_slot_yield_exactly_one,
    racers_refused_for_their_own_faults_do_not_keep_a_valid_booking_from_the_slot,
    idempotency_replays_the_first_answer_and_refuses_another_body,
    cancelling_frees_a_future_slot_and_is_refused_twice,
    outcomes_only_after_the_slot_started,
    invalid_bookings_are_refused_and_write_nothing,
    only_regulators_book_and_scoped_keys_see_their_own,
    a_booking_failing_half_way_writes_nothing_and_the_next_one_succeeds,
    bookings_abandoned_by_their_client_at_any_point_are_all_or_nothing,
);

struct Setup {
    practice: String,
    gp: String,
    regulator: String,
}

async fn setup(app: &TestApp) -> Setup {
    let practice = app.practice(json!({})).await;
    let gp = app.professional(&[&practice], json!({})).await;
    let regulator = app.key(Role::Regulator, None, &[]).await;
    Setup { practice, gp, regulator }
}

/// Publishes one GP slot `minutes` from now and returns its id.
async fn gp_slot(app: &TestApp, s: &Setup, minutes: i64) -> String {
    let response = app.publish(&app.admin_key, vec![slot(&s.gp, &s.practice, minutes, 15)]).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    response.body["slots"][0]["id"].as_str().unwrap().to_string()
}

fn patient() -> Value {
    json!({"first_name": "Léa", "last_name": "Martin", "birth_date": "1988-03-14", "phone": "06 12 34 56 78"})
}

fn booking_of(slot_id: &str) -> Value {
    json!({"slot_id": slot_id, "patient": patient(), "motif": "gp_unscheduled", "note": "Douleur depuis hier"})
}

async fn slot_status(app: &TestApp, slot_id: &str) -> String {
    app.get(&format!("/api/v1/slots/{slot_id}"), &app.admin_key).await.body["status"].as_str().unwrap().to_string()
}

async fn hold_then_book_confirms_the_slot(app: TestApp) {
    let s = setup(&app).await;
    let slot_id = gp_slot(&app, &s, 120).await;
    let hold = app.post("/api/v1/holds", &s.regulator, json!({"slot_id": slot_id})).await;
    assert_eq!(hold.status, StatusCode::CREATED, "{}", hold.text);
    assert_eq!(hold.body["expires_at"], "2026-11-24T08:05:00Z");
    assert_eq!(hold.body["expires_at_local"], "2026-11-24T09:05:00+01:00");
    assert_eq!(hold.body["slot"]["status"], "held");
    let again = app.post("/api/v1/holds", &s.regulator, json!({"slot_id": slot_id})).await;
    again.problem(StatusCode::CONFLICT, "slot_unavailable");
    let direct = app.post("/api/v1/bookings", &s.regulator, booking_of(&slot_id)).await;
    direct.problem(StatusCode::CONFLICT, "slot_unavailable");
    let hold_id = hold.body["id"].as_str().unwrap();
    let mut body = booking_of(&slot_id);
    merge(&mut body, json!({"slot_id": null, "hold_id": hold_id, "search_id": "search-1"}));
    let booking = app.post("/api/v1/bookings", &s.regulator, body).await;
    assert_eq!(booking.status, StatusCode::CREATED, "{}", booking.text);
    assert_eq!(booking.body["status"], "confirmed");
    assert_eq!(booking.body["slot"]["status"], "booked");
    assert_eq!(booking.body["patient"]["phone"], "+33612345678");
    assert_eq!(booking.body["professional"]["profession_title"], "Médecin généraliste");
    assert_eq!(booking.body["practice"]["address"], "12 rue Jules Vallès, 76610 Le Havre");
    assert_eq!(booking.body["search_id"], "search-1");
    let id = booking.body["id"].as_str().unwrap();
    let read = app.get(&format!("/api/v1/bookings/{id}"), &s.regulator).await;
    assert_eq!(read.body, booking.body);
    assert_eq!(slot_status(&app, &slot_id).await, "booked");
    // The hold is spent.
    app.delete(&format!("/api/v1/holds/{hold_id}"), &s.regulator).await.problem(StatusCode::CONFLICT, "hold_used");
}

async fn a_lapsed_hold_frees_the_slot_and_cannot_be_used(app: TestApp) {
    let s = setup(&app).await;
    let slot_id = gp_slot(&app, &s, 120).await;
    let first = app.post("/api/v1/holds", &s.regulator, json!({"slot_id": slot_id})).await;
    let first_id = first.body["id"].as_str().unwrap().to_string();
    app.clock.advance(Duration::minutes(5));
    let colleague = app.key(Role::Regulator, None, &[]).await;
    let second = app.post("/api/v1/holds", &colleague, json!({"slot_id": slot_id})).await;
    assert_eq!(second.status, StatusCode::CREATED, "a lapsed hold no longer counts: {}", second.text);
    let late = app
        .post(
            "/api/v1/bookings",
            &s.regulator,
            json!({"hold_id": first_id, "patient": patient(), "motif": "gp_unscheduled"}),
        )
        .await;
    late.problem(StatusCode::CONFLICT, "hold_expired");
    // The colleague's hold also lapses; the slot can then be booked directly.
    app.clock.advance(Duration::minutes(6));
    let booked = app.post("/api/v1/bookings", &s.regulator, booking_of(&slot_id)).await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.text);
}

async fn releasing_a_hold_frees_the_slot(app: TestApp) {
    let s = setup(&app).await;
    let slot_id = gp_slot(&app, &s, 120).await;
    let hold = app.post("/api/v1/holds", &s.regulator, json!({"slot_id": slot_id})).await;
    let hold_id = hold.body["id"].as_str().unwrap();
    let colleague = app.key(Role::Regulator, None, &[]).await;
    app.delete(&format!("/api/v1/holds/{hold_id}"), &colleague).await.problem(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(app.delete(&format!("/api/v1/holds/{hold_id}"), &s.regulator).await.status, StatusCode::NO_CONTENT);
    assert_eq!(slot_status(&app, &slot_id).await, "free");
    assert_eq!(app.delete(&format!("/api/v1/holds/{hold_id}"), &s.regulator).await.status, StatusCode::NO_CONTENT);
    app.delete("/api/v1/holds/nope", &s.regulator).await.problem(StatusCode::NOT_FOUND, "not_found");
    let used = app
        .post(
            "/api/v1/bookings",
            &s.regulator,
            json!({"hold_id": hold_id, "patient": patient(), "motif": "gp_unscheduled"}),
        )
        .await;
    used.problem(StatusCode::CONFLICT, "hold_expired");
}

async fn a_slot_is_booked_at_most_once_and_only_when_bookable(app: TestApp) {
    let s = setup(&app).await;
    let slot_id = gp_slot(&app, &s, 120).await;
    let booked = app.post("/api/v1/bookings", &s.regulator, booking_of(&slot_id)).await;
    assert_eq!(booked.status, StatusCode::CREATED);
    // The answer is built from what was committed, without reading it back: it is what a read shows.
    let read_back = app.get(&format!("/api/v1/bookings/{}", booked.body["id"].as_str().unwrap()), &s.regulator).await;
    assert_eq!(booked.body, read_back.body);
    assert_eq!(booked.body["slot"]["status"], "booked");
    app.post("/api/v1/bookings", &s.regulator, booking_of(&slot_id))
        .await
        .problem(StatusCode::CONFLICT, "slot_unavailable");
    // Withdrawn, started, in an absence, or reserved to the CPTS: not bookable by a regulator.
    let withdrawn = gp_slot(&app, &s, 180).await;
    app.delete(&format!("/api/v1/slots/{withdrawn}"), &app.admin_key).await;
    app.post("/api/v1/bookings", &s.regulator, booking_of(&withdrawn))
        .await
        .problem(StatusCode::CONFLICT, "slot_unavailable");
    let soon = gp_slot(&app, &s, 10).await;
    app.clock.advance(Duration::minutes(11));
    app.post("/api/v1/bookings", &s.regulator, booking_of(&soon))
        .await
        .problem(StatusCode::CONFLICT, "slot_unavailable");
    let tomorrow = gp_slot(&app, &s, 24 * 60).await;
    let absence = json!({"professional_id": s.gp, "from": "2026-11-25", "to": "2026-11-25"});
    assert_eq!(app.post("/api/v1/absences", &app.admin_key, absence).await.status, StatusCode::CREATED);
    app.post("/api/v1/holds", &s.regulator, json!({"slot_id": tomorrow}))
        .await
        .problem(StatusCode::CONFLICT, "slot_unavailable");
    let mut cpts = slot(&s.gp, &s.practice, 300, 15);
    cpts["visibility"] = json!("cpts");
    let cpts = app.publish(&app.admin_key, vec![cpts]).await.body["slots"][0]["id"].as_str().unwrap().to_string();
    app.post("/api/v1/bookings", &s.regulator, booking_of(&cpts))
        .await
        .problem(StatusCode::CONFLICT, "slot_unavailable");
    app.post("/api/v1/bookings", &s.regulator, booking_of("nope"))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

/// The invariants, checked in the database itself after every concurrency test.
pub async fn assert_booking_invariants(app: &TestApp) {
    let doubly_booked = "SELECT COUNT(*) FROM (SELECT slot_id FROM bookings WHERE status <> 'cancelled' \
        AND slot_id <> $1 GROUP BY slot_id HAVING COUNT(*) > 1) d";
    assert_eq!(app.count(doubly_booked, "").await, 0, "a slot has two active bookings");
    let booked_without_booking = "SELECT COUNT(*) FROM slots s WHERE s.status = 'booked' AND s.id <> $1 \
        AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.slot_id = s.id AND b.status <> 'cancelled')";
    assert_eq!(app.count(booked_without_booking, "").await, 0, "a booked slot without its booking");
    let confirmed_on_free_slot = "SELECT COUNT(*) FROM bookings b JOIN slots s ON s.id = b.slot_id \
        WHERE b.status = 'confirmed' AND s.status <> 'booked' AND b.id <> $1";
    assert_eq!(app.count(confirmed_on_free_slot, "").await, 0, "a confirmed booking on a slot that is not booked");
    let overlapping_live_slots = "SELECT COUNT(*) FROM slots a JOIN slots b ON a.professional_id = b.professional_id \
        AND a.id < b.id AND a.start_at < b.end_at AND b.start_at < a.end_at \
        WHERE a.status <> 'withdrawn' AND b.status <> 'withdrawn' AND a.id <> $1";
    assert_eq!(app.count(overlapping_live_slots, "").await, 0, "two live slots of one professional overlap");
    let held_without_hold = "SELECT COUNT(*) FROM slots s WHERE s.status = 'held' AND s.id <> $1 \
        AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.id = s.hold_id AND h.slot_id = s.id)";
    assert_eq!(app.count(held_without_hold, "").await, 0, "a held slot without its hold");
}

async fn fifty_concurrent_bookings_of_one_slot_yield_exactly_one(app: TestApp) {
    let s = setup(&app).await;
    let slot_id = gp_slot(&app, &s, 120).await;
    let app = Arc::new(app);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (app, key, body) = (app.clone(), s.regulator.clone(), booking_of(&slot_id));
            tokio::spawn(async move { app.post("/api/v1/bookings", &key, body).await })
        })
        .collect();
    let (mut created, mut refused) = (0, 0);
    for task in tasks {
        let response = task.await.unwrap();
        if response.status == StatusCode::CREATED {
            created += 1;
        } else {
            response.problem(StatusCode::CONFLICT, "slot_unavailable");
            refused += 1;
        }
    }
    assert_eq!((created, refused), (1, 49));
    assert_booking_invariants(&app).await;
}

async fn fifty_concurrent_holds_of_one_slot_yield_exactly_one(app: TestApp) {
    let s = setup(&app).await;
    let slot_id = gp_slot(&app, &s, 120).await;
    let app = Arc::new(app);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (app, key, slot_id) = (app.clone(), s.regulator.clone(), slot_id.clone());
            tokio::spawn(async move { app.post("/api/v1/holds", &key, json!({"slot_id": slot_id})).await })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        let response = task.await.unwrap();
        if response.status == StatusCode::CREATED {
            created += 1;
        } else {
            response.problem(StatusCode::CONFLICT, "slot_unavailable");
        }
    }
    assert_eq!(created, 1);
    assert_eq!(slot_status(&app, &slot_id).await, "held");
    assert_booking_invariants(&app).await;
}

/// Racers of one slot take turns in the process; one that fails (here: a reason the GP does not see) must not
/// count as having taken the slot, whatever the order they are served in.
async fn racers_refused_for_their_own_faults_do_not_keep_a_valid_booking_from_the_slot(app: TestApp) {
    let s = setup(&app).await;
    let app = Arc::new(app);
    // When a valid racer happens to be served first, every other one is refused as taken (409) and no failing
    // racer was served ahead of a valid one: race again on another slot until one was.
    for attempt in 0..5 {
        let slot_id = gp_slot(&app, &s, 120 + 30 * attempt).await;
        let tasks: Vec<_> = (0..30)
            .map(|i| {
                let mut body = booking_of(&slot_id);
                if i % 10 != 9 {
                    merge(&mut body, json!({"motif": "midwife_unscheduled"}));
                }
                let (app, key) = (app.clone(), s.regulator.clone());
                tokio::spawn(async move { app.post("/api/v1/bookings", &key, body).await })
            })
            .collect();
        let (mut created, mut refused, mut invalid) = (0, 0, 0);
        for task in tasks {
            let response = task.await.unwrap();
            match response.status {
                StatusCode::CREATED => created += 1,
                StatusCode::CONFLICT => {
                    response.problem(StatusCode::CONFLICT, "slot_unavailable");
                    refused += 1;
                }
                _ => {
                    response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
                    invalid += 1;
                }
            }
        }
        // The 27 with the wrong reason are refused as such (422) or, once the slot is booked, as taken (409).
        assert_eq!(created, 1, "one of the three valid racers books the slot");
        assert_eq!(created + refused + invalid, 30);
        assert!(refused >= 2, "the two other valid racers are refused: {invalid} invalid, {refused} refused");
        assert_eq!(slot_status(&app, &slot_id).await, "booked");
        assert_booking_invariants(&app).await;
        if invalid >= 1 {
            return;
        }
    }
    panic!("in five races no racer with the wrong reason was served before the slot was booked");
}

async fn idempotency_replays_the_first_answer_and_refuses_another_body(app: TestApp) {
    let s = setup(&app).await;
    let slot_id = gp_slot(&app, &s, 120).await;
    let send = |key: &'static str, body: Value| {
        let request = axum::http::Request::builder()
            .method(Method::POST)
            .uri("/api/v1/bookings")
            .header("authorization", format!("Bearer {}", s.regulator))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        app.send(request)
    };
    let first = send("booking-7f3a", booking_of(&slot_id)).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let replay = send("booking-7f3a", booking_of(&slot_id)).await;
    assert_eq!(replay.status, StatusCode::CREATED, "the same key and body replay the answer, not a 409");
    assert_eq!(replay.body, first.body);
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    // The replay shows the patient again: that view is in the audit trail.
    let id = first.body["id"].as_str().unwrap();
    let views = app.get(&format!("/api/v1/audit?action=booking.view&target_id={id}"), &app.admin_key).await;
    assert_eq!(views.body["events"].as_array().unwrap().len(), 1, "{}", views.body);
    assert_eq!(views.body["events"][0]["detail"], "replay");
    let mut other = booking_of(&slot_id);
    other["note"] = json!("autre chose");
    let reused = send("booking-7f3a", other).await;
    reused.problem(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    // A new server process (same database) still replays.
    let state = snp::http::AppState::new(app.store.clone(), app.clock.clone(), &app.settings);
    let restarted = snp::http::router(state, &app.settings);
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1/bookings")
        .header("authorization", format!("Bearer {}", s.regulator))
        .header("content-type", "application/json")
        .header("idempotency-key", "booking-7f3a")
        .body(axum::body::Body::from(booking_of(&slot_id).to_string()))
        .unwrap();
    let response = tower::ServiceExt::oneshot(restarted, request).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    // A refused request is replayed as refused; a key is per caller; a malformed key is refused.
    let taken = send("second-try", booking_of(&slot_id)).await;
    taken.problem(StatusCode::CONFLICT, "slot_unavailable");
    let taken_again = send("second-try", booking_of(&slot_id)).await;
    taken_again.problem(StatusCode::CONFLICT, "slot_unavailable");
    let long_key: &'static str = Box::leak("k".repeat(256).into_boxed_str());
    send(long_key, booking_of(&slot_id)).await.problem(StatusCode::BAD_REQUEST, "bad_request");
    let bookings = app.get("/api/v1/bookings", &app.admin_key).await;
    assert_eq!(bookings.body["bookings"].as_array().unwrap().len(), 1, "booked once");
    // A request that died after reserving its key (panic, dropped connection): the key is "in progress" for a
    // while, then taken over by the next request with it.
    let other_slot = gp_slot(&app, &s, 240).await;
    let regulator_key = app.store.find_api_key(&snp::domain::api_key::digest(&s.regulator)).await.unwrap().unwrap();
    let body = booking_of(&other_slot);
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(body.to_string().as_bytes()))
    };
    let now = app.clock.now();
    let reserved = app
        .store
        .reserve_idempotency_key(&regulator_key.id, "POST /api/v1/bookings", "died", &hash, now)
        .await
        .unwrap();
    assert_eq!(reserved, snp::store::Idempotency::New);
    send("died", body.clone()).await.problem(StatusCode::CONFLICT, "idempotency_key_in_progress");
    app.clock.advance(Duration::minutes(6));
    let taken_over = send("died", body).await;
    assert_eq!(taken_over.status, StatusCode::CREATED, "{}", taken_over.text);
}

async fn cancelling_frees_a_future_slot_and_is_refused_twice(app: TestApp) {
    let s = setup(&app).await;
    let slot_id = gp_slot(&app, &s, 120).await;
    let booking = app.post("/api/v1/bookings", &s.regulator, booking_of(&slot_id)).await;
    let id = booking.body["id"].as_str().unwrap();
    let coordinator = app.key(Role::Coordinator, None, &[]).await;
    app.post(&format!("/api/v1/bookings/{id}/cancel"), &coordinator, json!({}))
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    let cancelled = app
        .post(
            &format!("/api/v1/bookings/{id}/cancel"),
            &s.regulator,
            json!({"reason": "Le patient a trouvé un autre rendez-vous"}),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(cancelled.body["cancelled_at"], "2026-11-24T08:00:00Z");
    assert_eq!(slot_status(&app, &slot_id).await, "free");
    app.post(&format!("/api/v1/bookings/{id}/cancel"), &s.regulator, json!({}))
        .await
        .problem(StatusCode::CONFLICT, "invalid_transition");
    // Free again: bookable again, by the professional's own cancellation this time.
    let rebooked = app.post("/api/v1/bookings", &s.regulator, booking_of(&slot_id)).await;
    assert_eq!(rebooked.status, StatusCode::CREATED, "{}", rebooked.text);
    let own = app.key(Role::Professional, Some(&s.gp), &[]).await;
    let other_gp = app.professional(&[&s.practice], json!({})).await;
    let other = app.key(Role::Professional, Some(&other_gp), &[]).await;
    let rebooked_id = rebooked.body["id"].as_str().unwrap();
    app.post(&format!("/api/v1/bookings/{rebooked_id}/cancel"), &other, json!({}))
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(
        app.post(&format!("/api/v1/bookings/{rebooked_id}/cancel"), &own, json!({})).await.status,
        StatusCode::OK
    );
    app.post("/api/v1/bookings/nope/cancel", &s.regulator, json!({})).await.problem(StatusCode::NOT_FOUND, "not_found");
}

async fn outcomes_only_after_the_slot_started(app: TestApp) {
    let s = setup(&app).await;
    let slot_id = gp_slot(&app, &s, 60).await;
    let booking = app.post("/api/v1/bookings", &s.regulator, booking_of(&slot_id)).await;
    let id = booking.body["id"].as_str().unwrap();
    let own = app.key(Role::Professional, Some(&s.gp), &[]).await;
    let path = format!("/api/v1/bookings/{id}/outcome");
    app.post(&path, &own, json!({"outcome": "attended"})).await.problem(StatusCode::CONFLICT, "too_early");
    app.post(&path, &s.regulator, json!({"outcome": "attended"})).await.problem(StatusCode::FORBIDDEN, "forbidden");
    app.post(&path, &own, json!({"outcome": "late"}))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    app.clock.advance(Duration::minutes(61));
    let attended = app.post(&path, &own, json!({"outcome": "no_show"})).await;
    assert_eq!(attended.status, StatusCode::OK, "{}", attended.text);
    assert_eq!(attended.body["status"], "no_show");
    app.post(&path, &own, json!({"outcome": "attended"})).await.problem(StatusCode::CONFLICT, "invalid_transition");
    app.post(&format!("/api/v1/bookings/{id}/cancel"), &own, json!({}))
        .await
        .problem(StatusCode::CONFLICT, "invalid_transition");
}

async fn invalid_bookings_are_refused_and_write_nothing(app: TestApp) {
    let s = setup(&app).await;
    let slot_id = gp_slot(&app, &s, 120).await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"patient": {"first_name": "Léa", "last_name": "Martin", "birth_date": "1988-03-14"}}), "patient.phone"),
        (
            json!({"patient": {"first_name": "Léa", "last_name": "Martin", "birth_date": "2027-01-01", "phone": "0612345678"}}),
            "patient.birth_date",
        ),
        (
            json!({"patient": {"first_name": "Léa", "last_name": "Martin", "birth_date": "14/03/1988", "phone": "0612345678"}}),
            "patient.birth_date",
        ),
        (
            json!({"patient": {"first_name": "Léa", "last_name": "Martin", "birth_date": "1988-03-14", "phone": "12"}}),
            "patient.phone",
        ),
        (
            json!({"patient": {"first_name": "Léa", "last_name": "Martin", "birth_date": "1988-03-14", "email": "lea@"}}),
            "patient.email",
        ),
        (
            json!({"patient": {"first_name": "Lé\u{7}a", "last_name": "Martin", "birth_date": "1988-03-14", "phone": "0612345678"}}),
            "patient.first_name",
        ),
        (
            json!({"patient": {"first_name": "Léa", "last_name": "", "birth_date": "1988-03-14", "phone": "0612345678"}}),
            "patient.last_name",
        ),
        (json!({"motif": "haircut"}), "motif"),
        (json!({"motif": "bronchiolitis"}), "motif"),
        (json!({"hold_id": "some-hold"}), "slot_id"),
        (json!({"slot_id": null}), "slot_id"),
        (json!({"note": "x".repeat(1001)}), "note"),
        (json!({"patient": null}), "patient"),
        (
            json!({"patient": {"first_name": "Léa", "last_name": "Martin", "birth_date": "1988-03-14", "phone": "0612345678", "nir": "1"}}),
            "patient.nir",
        ),
    ];
    for (override_, field) in cases {
        let mut body = booking_of(&slot_id);
        merge(&mut body, override_.clone());
        let response = app.post("/api/v1/bookings", &s.regulator, body).await;
        let fields = response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert!(fields.contains(&field.to_string()), "{override_}: {}", response.text);
    }
    // Age bounds of the reason: bronchiolitis is for infants of 1 month to 3 years.
    let physio = app.professional(&[&s.practice], json!({"profession": "physio", "skills": ["bronchiolitis"]})).await;
    let physio_slot = app.publish(&app.admin_key, vec![slot(&physio, &s.practice, 120, 30)]).await;
    let physio_slot = physio_slot.body["slots"][0]["id"].as_str().unwrap().to_string();
    let mut adult = booking_of(&physio_slot);
    merge(&mut adult, json!({"motif": "bronchiolitis"}));
    let response = app.post("/api/v1/bookings", &s.regulator, adult).await;
    assert_eq!(response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["patient.birth_date"]);
    let mut infant = booking_of(&physio_slot);
    merge(
        &mut infant,
        json!({"motif": "bronchiolitis", "patient": {"first_name": "Jules", "last_name": "Martin", "birth_date": "2026-04-10", "email": "parent@example.fr"}}),
    );
    assert_eq!(app.post("/api/v1/bookings", &s.regulator, infant).await.status, StatusCode::CREATED);
    let bookings = app.get("/api/v1/bookings", &app.admin_key).await;
    assert_eq!(bookings.body["bookings"].as_array().unwrap().len(), 1, "only the valid booking was written");
    assert_eq!(slot_status(&app, &slot_id).await, "free");
}

async fn only_regulators_book_and_scoped_keys_see_their_own(app: TestApp) {
    let s = setup(&app).await;
    let slot_id = gp_slot(&app, &s, 120).await;
    let professional = app.key(Role::Professional, Some(&s.gp), &[]).await;
    let publisher = app.key(Role::Publisher, None, &[&s.practice]).await;
    let coordinator = app.key(Role::Coordinator, None, &[]).await;
    for key in [&professional, &publisher, &coordinator] {
        app.post("/api/v1/holds", key, json!({"slot_id": slot_id})).await.problem(StatusCode::FORBIDDEN, "forbidden");
        app.post("/api/v1/bookings", key, booking_of(&slot_id)).await.problem(StatusCode::FORBIDDEN, "forbidden");
    }
    let booking = app.post("/api/v1/bookings", &s.regulator, booking_of(&slot_id)).await;
    let id = booking.body["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/api/v1/bookings/{id}"), &professional).await.status, StatusCode::OK);
    assert_eq!(app.get(&format!("/api/v1/bookings/{id}"), &coordinator).await.status, StatusCode::OK);
    app.get(&format!("/api/v1/bookings/{id}"), &publisher).await.problem(StatusCode::FORBIDDEN, "forbidden");
    app.get("/api/v1/bookings", &publisher).await.problem(StatusCode::FORBIDDEN, "forbidden");
    let other_gp = app.professional(&[&s.practice], json!({})).await;
    let other = app.key(Role::Professional, Some(&other_gp), &[]).await;
    app.get(&format!("/api/v1/bookings/{id}"), &other).await.problem(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(app.get("/api/v1/bookings", &other).await.body["bookings"], json!([]));
    assert_eq!(app.get("/api/v1/bookings", &professional).await.body["bookings"].as_array().unwrap().len(), 1);
    app.get(&format!("/api/v1/bookings?professional_id={}", s.gp), &other)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    app.get("/api/v1/bookings?status=lost", &s.regulator)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

async fn rule_of(app: &TestApp, s: &Setup, start: &str, end: &str) -> String {
    let body = json!({"professional_id": s.gp, "practice_id": s.practice, "weekdays": ["mon", "tue", "wed", "thu", "fri"],
        "start_time": start, "end_time": end, "slot_minutes": 15, "modality": "in_person", "visibility": "regulation",
        "valid_from": "2026-11-24"});
    let response = app.post("/api/v1/availability-rules", &app.admin_key, body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    response.body["id"].as_str().unwrap().to_string()
}

async fn a_cancelled_slot_of_a_changed_or_deleted_rule_is_not_freed_at_its_old_time(app: TestApp) {
    let s = setup(&app).await;
    let rule = rule_of(&app, &s, "12:00", "12:30").await;
    let first = app.get("/api/v1/slots?status=free&limit=2", &app.admin_key).await.body["slots"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let booking = app.post("/api/v1/bookings", &s.regulator, booking_of(&first)).await;
    let booking = booking.body["id"].as_str().unwrap().to_string();
    // The professional moves the rule to the evening; then the lunchtime patient cancels.
    let evening = json!({"professional_id": s.gp, "practice_id": s.practice, "weekdays": ["mon", "tue", "wed", "thu", "fri"],
        "start_time": "18:00", "end_time": "18:30", "slot_minutes": 15, "modality": "in_person", "visibility": "regulation",
        "valid_from": "2026-11-24"});
    let changed =
        app.call(Method::PUT, &format!("/api/v1/availability-rules/{rule}"), Some(&app.admin_key), Some(evening)).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(
        app.post(&format!("/api/v1/bookings/{booking}/cancel"), &s.regulator, json!({})).await.status,
        StatusCode::OK
    );
    assert_eq!(slot_status(&app, &first).await, "withdrawn", "the old lunchtime slot must not come back");
    // A booked slot that a change keeps identical is freed normally when cancelled.
    let kept_booked = app.get("/api/v1/slots?status=free&limit=1", &app.admin_key).await.body["slots"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let booking = app.post("/api/v1/bookings", &s.regulator, booking_of(&kept_booked)).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let public = json!({"professional_id": s.gp, "practice_id": s.practice, "weekdays": ["mon", "tue", "wed", "thu", "fri"],
        "start_time": "18:00", "end_time": "18:30", "slot_minutes": 15, "modality": "in_person", "visibility": "regulation",
        "valid_from": "2026-11-24", "valid_until": "2027-12-31"});
    let changed =
        app.call(Method::PUT, &format!("/api/v1/availability-rules/{rule}"), Some(&app.admin_key), Some(public)).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(
        app.post(&format!("/api/v1/bookings/{booking}/cancel"), &s.regulator, json!({})).await.status,
        StatusCode::OK
    );
    assert_eq!(slot_status(&app, &kept_booked).await, "free");
    // A free slot kept identical by a change is freed normally.
    let kept = app.get("/api/v1/slots?status=free&limit=1", &app.admin_key).await.body["slots"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let booking =
        app.post("/api/v1/bookings", &s.regulator, booking_of(&kept)).await.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.post(&format!("/api/v1/bookings/{booking}/cancel"), &s.regulator, json!({})).await.status,
        StatusCode::OK
    );
    assert_eq!(slot_status(&app, &kept).await, "free");
    // After a deletion, a cancelled slot is withdrawn.
    let booking =
        app.post("/api/v1/bookings", &s.regulator, booking_of(&kept)).await.body["id"].as_str().unwrap().to_string();
    app.delete(&format!("/api/v1/availability-rules/{rule}"), &app.admin_key).await;
    assert_eq!(
        app.post(&format!("/api/v1/bookings/{booking}/cancel"), &s.regulator, json!({})).await.status,
        StatusCode::OK
    );
    assert_eq!(slot_status(&app, &kept).await, "withdrawn");
    assert_booking_invariants(&app).await;
}

async fn changing_a_rule_while_regulators_book_its_slots_never_double_books(app: TestApp) {
    let s = setup(&app).await;
    let rule = rule_of(&app, &s, "12:00", "13:00").await;
    let slots: Vec<String> = app.get("/api/v1/slots?status=free&limit=1000", &app.admin_key).await.body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    let app = Arc::new(app);
    let mut tasks = Vec::new();
    for slot_id in slots {
        let (app, key) = (app.clone(), s.regulator.clone());
        tasks.push(tokio::spawn(async move {
            app.post("/api/v1/bookings", &key, booking_of(&slot_id)).await;
        }));
    }
    // Meanwhile the professional shifts the window back and forth.
    for (start, end) in [("12:10", "13:10"), ("11:50", "12:50"), ("12:05", "13:05"), ("12:00", "13:00")] {
        let (app, practice, gp, rule) = (app.clone(), s.practice.clone(), s.gp.clone(), rule.clone());
        tasks.push(tokio::spawn(async move {
            let body = json!({"professional_id": gp, "practice_id": practice, "weekdays": ["mon", "tue", "wed", "thu", "fri"],
                "start_time": start, "end_time": end, "slot_minutes": 15, "modality": "in_person",
                "visibility": "regulation", "valid_from": "2026-11-24"});
            let r = app.call(Method::PUT, &format!("/api/v1/availability-rules/{rule}"), Some(&app.admin_key), Some(body)).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_booking_invariants(&app).await;
}

async fn a_live_hold_cannot_book_a_slot_that_has_started(app: TestApp) {
    let s = setup(&app).await;
    let slot_id = gp_slot(&app, &s, 3).await;
    let hold = app.post("/api/v1/holds", &s.regulator, json!({"slot_id": slot_id})).await;
    assert_eq!(hold.status, StatusCode::CREATED, "{}", hold.text);
    app.clock.advance(Duration::minutes(4));
    let body = json!({"hold_id": hold.body["id"], "patient": patient(), "motif": "gp_unscheduled"});
    app.post("/api/v1/bookings", &s.regulator, body).await.problem(StatusCode::CONFLICT, "hold_expired");
    assert_booking_invariants(&app).await;
}

/// A booking is written at once (on SQLite, as one script on the process's writer connection): a statement that
/// fails after the slot was taken must undo it all, and leave the writer usable.
async fn a_booking_failing_half_way_writes_nothing_and_the_next_one_succeeds(app: TestApp) {
    let s = setup(&app).await;
    let slot_id = gp_slot(&app, &s, 120).await;
    assert_eq!(app.post("/api/v1/bookings", &s.regulator, booking_of(&slot_id)).await.status, StatusCode::CREATED);
    // Damage: the slot looks free again, its booking still active. Taking the slot now succeeds, and writing
    // the booking then breaks the one-active-booking-per-slot index.
    let freed = app.count("UPDATE slots SET status = 'free' WHERE id = $1 RETURNING CAST(1 AS BIGINT)", &slot_id).await;
    assert_eq!(freed, 1);
    let messages_before = app.count("SELECT COUNT(*) FROM outbox WHERE $1 = $1", "").await;
    app.post("/api/v1/bookings", &s.regulator, booking_of(&slot_id))
        .await
        .problem(StatusCode::CONFLICT, "slot_unavailable");
    assert_eq!(slot_status(&app, &slot_id).await, "free", "the slot's UPDATE was rolled back");
    assert_eq!(app.count("SELECT COUNT(*) FROM bookings WHERE slot_id = $1", &slot_id).await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE $1 = $1", "").await, messages_before);
    let created = "SELECT COUNT(*) FROM audit_events WHERE action = 'booking.create' AND $1 = $1";
    assert_eq!(app.count(created, "").await, 1);
    // The writer goes on.
    let other = gp_slot(&app, &s, 180).await;
    assert_eq!(app.post("/api/v1/bookings", &s.regulator, booking_of(&other)).await.status, StatusCode::CREATED);
    assert_eq!(slot_status(&app, &other).await, "booked");
}

/// A client that goes away mid-request drops the handler wherever it is: the booking must then be written whole
/// or not at all, and the writer left usable for the next request.
async fn bookings_abandoned_by_their_client_at_any_point_are_all_or_nothing(app: TestApp) {
    let s = setup(&app).await;
    for i in 0..20u64 {
        let slot_id = gp_slot(&app, &s, 120 + 30 * i as i64).await;
        let request = app.post("/api/v1/bookings", &s.regulator, booking_of(&slot_id));
        let _ = tokio::time::timeout(std::time::Duration::from_micros(100 * i), request).await;
    }
    // Whatever was already under way finishes on its own, whole: the invariants hold at any moment.
    assert_booking_invariants(&app).await;
    let other = gp_slot(&app, &s, 24 * 60).await;
    assert_eq!(app.post("/api/v1/bookings", &s.regulator, booking_of(&other)).await.status, StatusCode::CREATED);
}
