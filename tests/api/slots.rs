//! Slots: batch publishing (all or nothing), timing rules, overlap refusal including concurrent publishers,
//! listing with filters, withdrawal.

use std::sync::Arc;

use axum::http::StatusCode;
use chrono::{Duration, SecondsFormat};
use serde_json::{Value, json};
use snp::domain::access::Role;

use crate::helpers::{TestApp, slot, test_now};
use crate::on_both_databases;

on_both_databases!(
    publishing_a_batch_returns_201_with_utc_and_local_times,
    every_invalid_slot_rule_is_reported_with_its_index,
    a_batch_with_one_bad_slot_writes_nothing,
    batch_size_is_bounded,
    overlapping_an_existing_slot_is_422_slot_overlap_naming_the_index,
    overlap_inside_one_batch_is_refused,
    a_batch_larger_than_one_statement_is_checked_and_written_whole,
    adjacent_slots_and_other_professionals_do_not_overlap,
    concurrent_overlapping_batches_exactly_one_wins,
    withdrawing_a_free_slot_is_204_then_409_and_frees_its_time,
    listing_slots_filters_by_professional_practice_time_and_status,
    overseas_slots_carry_their_local_zone,
    the_past_is_judged_by_the_injected_clock,
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

async fn publishing_a_batch_returns_201_with_utc_and_local_times(app: TestApp) {
    let s = setup(&app).await;
    let response = app
        .publish(
            &app.admin_key,
            vec![
                json!({"professional_id": s.professional, "practice_id": s.practice,
                   "start": "2026-11-27T18:00:00+01:00", "end": "2026-11-27T18:15:00+01:00",
                   "modality": "in_person", "visibility": "regulation"}),
                json!({"professional_id": s.professional, "practice_id": s.practice,
                   "start": "2026-11-27T17:15:00Z", "end": "2026-11-27T17:30:00Z",
                   "modality": "teleconsultation", "visibility": "public"}),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    let slots = response.body["slots"].as_array().unwrap();
    assert_eq!(slots.len(), 2);
    assert_eq!(slots[0]["start"], "2026-11-27T17:00:00Z");
    assert_eq!(slots[0]["end"], "2026-11-27T17:15:00Z");
    assert_eq!(slots[0]["start_local"], "2026-11-27T18:00:00+01:00");
    assert_eq!(slots[0]["timezone"], "Europe/Paris");
    assert_eq!(slots[0]["duration_minutes"], 15);
    assert_eq!(slots[0]["status"], "free");
    assert_eq!(slots[1]["modality"], "teleconsultation");
    assert_eq!(slots[1]["visibility"], "public");
    let id = slots[0]["id"].as_str().unwrap();
    let read = app.get(&format!("/api/v1/slots/{id}"), &app.admin_key).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body, slots[0]);
}

async fn every_invalid_slot_rule_is_reported_with_its_index(app: TestApp) {
    let s = setup(&app).await;
    let other_practice = app.practice(json!({"name": "Ailleurs"})).await;
    let no_home_visits = app.professional(&[&s.practice], json!({"home_visit_radius_km": null})).await;
    let at = |minutes: i64| (test_now() + Duration::minutes(minutes)).to_rfc3339();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"end": at(60)}), "slots[1].end"),                    // end == start
        (json!({"end": at(50)}), "slots[1].end"),                    // end before start
        (json!({"end": at(64)}), "slots[1].end"),                    // 4 minutes
        (json!({"end": at(60 + 12 * 60 + 1)}), "slots[1].end"),      // 12 h 01
        (json!({"start": at(-6), "end": at(10)}), "slots[1].start"), // in the past beyond the tolerance
        (json!({"start": at(366 * 24 * 60), "end": at(366 * 24 * 60 + 15)}), "slots[1].start"),
        (json!({"start": "2026-11-27T18:00:30+01:00", "end": "2026-11-27T18:15:00+01:00"}), "slots[1].start"),
        (json!({"start": "2026-11-27T18:00:00"}), "slots[1].start"), // no offset
        (json!({"start": "tomorrow"}), "slots[1].start"),
        (json!({"professional_id": "nobody"}), "slots[1].professional_id"),
        (json!({"practice_id": "nowhere"}), "slots[1].practice_id"),
        (json!({"practice_id": other_practice}), "slots[1].practice_id"), // not attached
        (json!({"modality": "by_pigeon"}), "slots[1].modality"),
        (json!({"visibility": "everyone"}), "slots[1].visibility"),
        (json!({"modality": "home_visit", "professional_id": no_home_visits}), "slots[1].modality"),
        (json!({"status": "booked"}), "slots[1].status"),
        (json!({"end": null}), "slots[1].end"),
    ];
    for (override_, field) in cases {
        let mut bad = slot(&s.professional, &s.practice, 60, 15);
        crate::helpers::merge(&mut bad, override_.clone());
        let good = slot(&s.professional, &s.practice, 600, 15);
        let response = app.publish(&app.admin_key, vec![good, bad]).await;
        let fields = response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(fields, [field], "{override_}: {}", response.text);
    }
    // The tolerance and the bounds themselves are accepted.
    let edge = vec![slot(&s.professional, &s.practice, -5, 5), slot(&s.professional, &s.practice, 60, 12 * 60)];
    let response = app.publish(&app.admin_key, edge).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    assert_eq!(app.slot_count("").await, 2);
}

async fn a_batch_with_one_bad_slot_writes_nothing(app: TestApp) {
    let s = setup(&app).await;
    let mut slots: Vec<Value> = (0..5).map(|i| slot(&s.professional, &s.practice, 60 + i * 15, 15)).collect();
    slots[3]["practice_id"] = json!("nowhere");
    let response = app.publish(&app.admin_key, slots).await;
    assert_eq!(response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["slots[3].practice_id"]);
    assert_eq!(app.slot_count("").await, 0);
}

async fn batch_size_is_bounded(app: TestApp) {
    let s = setup(&app).await;
    let empty = app.publish(&app.admin_key, vec![]).await;
    assert_eq!(empty.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["slots"]);
    let max = app.settings.slots.max_batch as i64;
    let too_many = (0..=max).map(|i| slot(&s.professional, &s.practice, 60 + i * 15, 15)).collect();
    let response = app.publish(&app.admin_key, too_many).await;
    assert_eq!(response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["slots"]);
    let exactly_max = (0..max).map(|i| slot(&s.professional, &s.practice, 60 + i * 15, 15)).collect();
    let response = app.publish(&app.admin_key, exactly_max).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    assert_eq!(app.slot_count("").await, max as usize);
}

async fn overlapping_an_existing_slot_is_422_slot_overlap_naming_the_index(app: TestApp) {
    let s = setup(&app).await;
    let first = app.publish(&app.admin_key, vec![slot(&s.professional, &s.practice, 60, 30)]).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let batch = vec![
        slot(&s.professional, &s.practice, 120, 15),
        slot(&s.professional, &s.practice, 75, 30), // 75–105 overlaps 60–90
    ];
    let response = app.publish(&app.admin_key, batch).await;
    assert_eq!(response.problem(StatusCode::UNPROCESSABLE_ENTITY, "slot_overlap"), ["slots[1]"]);
    assert_eq!(app.slot_count("").await, 1, "the non-overlapping slot of the batch was not written either");
    // Containment is an overlap too.
    let response = app.publish(&app.admin_key, vec![slot(&s.professional, &s.practice, 30, 120)]).await;
    assert_eq!(response.problem(StatusCode::UNPROCESSABLE_ENTITY, "slot_overlap"), ["slots[0]"]);
}

/// SQLite writes a batch in statements of 100, 10 and 1 slots: an overlap is named wherever it falls, and a
/// clean batch is written whole, every field of every slot as given. (Through the store: the API's batches are
/// capped lower in the tests, and rules write larger ones.)
async fn a_batch_larger_than_one_statement_is_checked_and_written_whole(app: TestApp) {
    use snp::domain::slot::{Modality, Slot, Visibility};
    use snp::store::StoreError;
    let s = setup(&app).await;
    let batch = |professional: &str| -> Vec<Slot> {
        (0..234)
            .map(|i| {
                let start = test_now() + Duration::minutes(60 + 15 * i);
                let slot = Slot::free(
                    format!("{professional}-{i}"),
                    professional,
                    &s.practice,
                    chrono_tz::Europe::Paris,
                    start,
                    start + Duration::minutes(15),
                    test_now(),
                );
                match i % 3 {
                    0 => Slot { modality: Modality::Teleconsultation, visibility: Visibility::Public, ..slot },
                    _ => slot,
                }
            })
            .collect()
    };
    // A stored slot under the batch's 232nd, then one under its 151st: the first overlap is named each time.
    for (stored_under, named) in [(231, 231), (150, 150)] {
        let stored =
            app.publish(&app.admin_key, vec![slot(&s.professional, &s.practice, 60 + 15 * stored_under + 5, 5)]).await;
        assert_eq!(stored.status, StatusCode::CREATED, "{}", stored.text);
        match app.store.insert_slots(&batch(&s.professional)).await {
            Err(StoreError::SlotOverlap { index }) => assert_eq!(index, named),
            other => panic!("expected an overlap at {named}, got {other:?}"),
        }
    }
    assert_eq!(app.slot_count("").await, 2, "nothing of the refused batches was written");
    // The same batch for a colleague is written whole.
    let colleague = app.professional(&[&s.practice], json!({})).await;
    app.store.insert_slots(&batch(&colleague)).await.unwrap();
    let listed = app.get(&format!("/api/v1/slots?limit=1000&professional_id={colleague}"), &app.admin_key).await;
    let mut listed = listed.body["slots"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 234);
    listed.sort_by_key(|slot| slot["id"].as_str().unwrap()[colleague.len() + 1..].parse::<usize>().unwrap());
    for (i, slot) in listed.iter().enumerate() {
        let start = test_now() + Duration::minutes(60 + 15 * i as i64);
        let end = start + Duration::minutes(15);
        let (modality, visibility) =
            if i % 3 == 0 { ("teleconsultation", "public") } else { ("in_person", "regulation") };
        let utc = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        assert_eq!(
            (&slot["id"], &slot["start"], &slot["end"], &slot["modality"], &slot["visibility"], &slot["status"]),
            (
                &json!(format!("{colleague}-{i}")),
                &json!(utc(start)),
                &json!(utc(end)),
                &json!(modality),
                &json!(visibility),
                &json!("free")
            ),
            "slot {i}"
        );
        assert_eq!(slot["practice_id"], json!(s.practice), "slot {i}");
    }
}

async fn overlap_inside_one_batch_is_refused(app: TestApp) {
    let s = setup(&app).await;
    let batch = vec![slot(&s.professional, &s.practice, 60, 30), slot(&s.professional, &s.practice, 80, 30)];
    let response = app.publish(&app.admin_key, batch).await;
    assert_eq!(response.problem(StatusCode::UNPROCESSABLE_ENTITY, "slot_overlap"), ["slots[1]"]);
    assert_eq!(app.slot_count("").await, 0);
}

async fn adjacent_slots_and_other_professionals_do_not_overlap(app: TestApp) {
    let s = setup(&app).await;
    let colleague = app.professional(&[&s.practice], json!({})).await;
    let batch = vec![
        slot(&s.professional, &s.practice, 60, 15),
        slot(&s.professional, &s.practice, 75, 15),
        slot(&colleague, &s.practice, 60, 15),
    ];
    let response = app.publish(&app.admin_key, batch).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    assert_eq!(app.slot_count("").await, 3);
}

async fn concurrent_overlapping_batches_exactly_one_wins(app: TestApp) {
    let s = setup(&app).await;
    let app = Arc::new(app);
    // Eight publishers race with batches that all overlap each other, each in a different order.
    let mut tasks = Vec::new();
    for publisher in 0..8i64 {
        let app = app.clone();
        let (professional, practice) = (s.professional.clone(), s.practice.clone());
        tasks.push(tokio::spawn(async move {
            let slots = (0..10).map(|i| slot(&professional, &practice, 60 + ((i + publisher) % 10) * 20, 20)).collect();
            app.publish(&app.admin_key, slots).await
        }));
    }
    let mut created = 0;
    for task in tasks {
        let response = task.await.unwrap();
        match response.status {
            StatusCode::CREATED => created += 1,
            _ => {
                response.problem(StatusCode::UNPROCESSABLE_ENTITY, "slot_overlap");
            }
        }
    }
    assert_eq!(created, 1, "exactly one concurrent batch may win");
    assert_eq!(app.slot_count("").await, 10);
}

async fn withdrawing_a_free_slot_is_204_then_409_and_frees_its_time(app: TestApp) {
    let s = setup(&app).await;
    let published = app.publish(&app.admin_key, vec![slot(&s.professional, &s.practice, 60, 30)]).await;
    let id = published.body["slots"][0]["id"].as_str().unwrap().to_string();
    let response = app.delete(&format!("/api/v1/slots/{id}"), &app.admin_key).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT, "{}", response.text);
    let read = app.get(&format!("/api/v1/slots/{id}"), &app.admin_key).await;
    assert_eq!(read.body["status"], "withdrawn");
    let again = app.delete(&format!("/api/v1/slots/{id}"), &app.admin_key).await;
    again.problem(StatusCode::CONFLICT, "conflict");
    let unknown = app.delete("/api/v1/slots/nothing", &app.admin_key).await;
    unknown.problem(StatusCode::NOT_FOUND, "not_found");
    // The withdrawn slot no longer blocks its time.
    let republished = app.publish(&app.admin_key, vec![slot(&s.professional, &s.practice, 60, 30)]).await;
    assert_eq!(republished.status, StatusCode::CREATED, "{}", republished.text);
}

async fn listing_slots_filters_by_professional_practice_time_and_status(app: TestApp) {
    let s = setup(&app).await;
    let second_practice = app.practice(json!({"name": "Cabinet de Sanvic"})).await;
    let colleague = app.professional(&[&s.practice, &second_practice], json!({})).await;
    let batch = vec![
        slot(&s.professional, &s.practice, 60, 15),
        slot(&s.professional, &s.practice, 24 * 60, 15),
        slot(&colleague, &second_practice, 90, 15),
        slot(&colleague, &s.practice, 48 * 60, 15),
    ];
    let published = app.publish(&app.admin_key, batch).await;
    assert_eq!(published.status, StatusCode::CREATED);
    let withdrawn = published.body["slots"][1]["id"].as_str().unwrap();
    app.delete(&format!("/api/v1/slots/{withdrawn}"), &app.admin_key).await;

    let all = app.get("/api/v1/slots", &app.admin_key).await;
    let starts: Vec<&str> =
        all.body["slots"].as_array().unwrap().iter().map(|s| s["start"].as_str().unwrap()).collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted, "ordered by start");
    assert_eq!(app.slot_count(&format!("professional_id={}", s.professional)).await, 2);
    assert_eq!(app.slot_count(&format!("practice_id={second_practice}")).await, 1);
    assert_eq!(app.slot_count("status=free").await, 3);
    assert_eq!(app.slot_count("status=withdrawn").await, 1);
    let from = (test_now() + Duration::minutes(61)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let to = (test_now() + Duration::hours(25)).to_rfc3339_opts(SecondsFormat::Secs, true);
    assert_eq!(app.slot_count(&format!("from={from}&to={to}")).await, 2);
    // An offset with an unencoded '+' (which arrives as a space) is understood.
    assert_eq!(app.slot_count("from=2026-11-24T10:00:00+01:00&to=2026-11-24T10:30:00+01:00").await, 1);
    for (query, field) in [
        ("from=yesterday", "from"),
        ("to=2026-11-24", "to"),
        ("status=lost", "status"),
        (&*format!("from={to}&to={from}"), "to"),
        ("limit=1001", "limit"),
        ("offset=-1", "offset"),
        ("profesional_id=x", "profesional_id"),
    ] {
        let response = app.get(&format!("/api/v1/slots?{query}"), &app.admin_key).await;
        assert_eq!(response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), [field], "{query}");
    }
    // Pagination.
    let page = app.get("/api/v1/slots?limit=3", &app.admin_key).await;
    assert_eq!(page.body["next_offset"], 3);
    let rest = app.get("/api/v1/slots?limit=3&offset=3", &app.admin_key).await;
    assert_eq!(rest.body["slots"].as_array().unwrap().len(), 1);
    assert_eq!(rest.body["next_offset"], Value::Null);
    let regulator = app.key(Role::Regulator, None, &[]).await;
    let seen = app.get("/api/v1/slots", &regulator).await;
    assert_eq!(seen.body["slots"].as_array().unwrap().len(), 4);
}

async fn overseas_slots_carry_their_local_zone(app: TestApp) {
    let practice = app
        .practice(json!({"name": "Cabinet de Saint-Pierre", "departement": "974", "postal_code": "97410",
                         "commune": "Saint-Pierre", "lat": -21.3393, "lon": 55.4781, "timezone": null}))
        .await;
    let professional = app.professional(&[&practice], json!({"profession": "midwife"})).await;
    let response = app
        .publish(
            &app.admin_key,
            vec![json!({"professional_id": professional, "practice_id": practice,
            "start": "2026-11-27T18:00:00+04:00", "end": "2026-11-27T18:30:00+04:00",
            "modality": "in_person", "visibility": "regulation"})],
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    let slot = &response.body["slots"][0];
    assert_eq!(slot["start"], "2026-11-27T14:00:00Z");
    assert_eq!(slot["start_local"], "2026-11-27T18:00:00+04:00");
    assert_eq!(slot["timezone"], "Indian/Reunion");
}

async fn the_past_is_judged_by_the_injected_clock(app: TestApp) {
    let s = setup(&app).await;
    app.clock.advance(Duration::hours(2));
    let response = app.publish(&app.admin_key, vec![slot(&s.professional, &s.practice, 60, 15)]).await;
    assert_eq!(response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["slots[0].start"]);
    let response = app.publish(&app.admin_key, vec![slot(&s.professional, &s.practice, 120, 15)]).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    assert_eq!(response.body["slots"][0]["created_at"], "2026-11-24T10:00:00Z");
}

/// On PostgreSQL the database itself refuses two live overlapping slots of one professional, whoever writes them —
/// plain SQL included: the exclusion constraint is keyed on the professional's number, which a trigger writes on
/// every slot and a foreign key keeps in agreement with the professional's id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refuses_overlapping_slots_written_by_plain_sql() {
    let Some(app) = TestApp::postgres().await else { return };
    let s = setup(&app).await;
    let other = app.professional(&[&s.practice], json!({})).await;
    let published = app.publish(&app.admin_key, vec![slot(&s.professional, &s.practice, 60, 30)]).await;
    assert_eq!(published.status, StatusCode::CREATED, "{}", published.text);
    let pool = sqlx::PgPool::connect(&app.settings.database.url).await.unwrap();
    let insert = |id: &'static str, professional: String, minutes: i64| {
        let (pool, practice) = (pool.clone(), s.practice.clone());
        async move {
            let start = test_now() + Duration::minutes(minutes);
            sqlx::query(
                "INSERT INTO slots (id, professional_id, practice_id, start_at, end_at, modality, visibility, \
                 status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'in_person', 'regulation', 'free', $6, $6)",
            )
            .bind(id)
            .bind(professional)
            .bind(practice)
            .bind(start)
            .bind(start + Duration::minutes(30))
            .bind(test_now())
            .execute(&pool)
            .await
            .map(|_| ())
            .map_err(|error| error.into_database_error().and_then(|db| db.code().map(|c| c.to_string())))
        }
    };
    let sql_error = |code: &str| Err(Some(code.to_string()));

    // Overlapping the published slot: refused by the database (23P01 exclusion_violation).
    assert_eq!(insert("overlapping", s.professional.clone(), 75).await, sql_error("23P01"));
    // The same time for another professional, and the next half hour for the first: accepted.
    assert_eq!(insert("other-professional", other.clone(), 60).await, Ok(()));
    assert_eq!(insert("adjacent", s.professional.clone(), 90).await, Ok(()));
    let numbers_agree = "SELECT COUNT(*) FROM slots s JOIN professionals p ON p.id = s.professional_id \
                         AND p.number = s.professional_number WHERE s.professional_id <> $1";
    assert_eq!(app.count(numbers_agree, "").await, 3, "every slot carries its professional's number");

    // A number set by hand is put right; moving a slot onto an overlapping professional is refused.
    let wrong_number = "UPDATE slots SET professional_number = professional_number + 1000 WHERE id = 'adjacent'";
    sqlx::query(wrong_number).execute(&pool).await.unwrap();
    assert_eq!(app.count(numbers_agree, "").await, 3, "the trigger rewrote the number from the id");
    let moved = sqlx::query("UPDATE slots SET professional_id = $1 WHERE id = 'other-professional'")
        .bind(&s.professional)
        .execute(&pool)
        .await
        .unwrap_err();
    assert_eq!(moved.into_database_error().and_then(|db| db.code().map(|c| c.to_string())).as_deref(), Some("23P01"));
    // An unknown professional is a foreign key violation, as before the number existed.
    assert_eq!(insert("unknown", "nobody".to_string(), 300).await, sql_error("23503"));
    assert_eq!(app.slot_count("").await, 3, "nothing refused was written");
}
