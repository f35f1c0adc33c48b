//! Search: eligibility rule by rule, ranking on a hand-built territory around Le Havre, widening of the
//! département radius, advice when nothing fits, validation, roles, pseudonymous recording.

use axum::http::StatusCode;
use serde_json::{Value, json};
use snp::domain::access::Role;

use crate::helpers::{TestApp, merge, slot, test_now};
use crate::on_both_databases;

on_both_databases!(
    candidates_are_ranked_by_start_and_distance_and_explained,
    a_slot_breaking_exactly_one_rule_is_excluded,
    the_departement_radius_widens_until_enough_professionals_are_in_reach,
    an_empty_answer_comes_with_advice,
    invalid_searches_are_refused,
    only_regulators_search_and_searches_are_recorded_and_linked,
    fewer_recent_regulated_bookings_win_ties,
    a_professional_s_own_age_bounds_are_respected,
    one_bad_search_record_costs_only_itself,
    a_batch_of_search_records_is_written_whole_with_every_column,
);

/// The patient: Le Havre, town hall.
const PATIENT: (f64, f64) = (49.4944, 0.1079);

async fn practice_at(app: &TestApp, name: &str, lat: f64, lon: f64) -> String {
    app.practice(json!({"name": name, "lat": lat, "lon": lon})).await
}

async fn publish_one(app: &TestApp, professional: &str, practice: &str, minutes: i64, overrides: Value) -> String {
    let mut s = slot(professional, practice, minutes, 15);
    merge(&mut s, overrides);
    let response = app.publish(&app.admin_key, vec![s]).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    response.body["slots"][0]["id"].as_str().unwrap().to_string()
}

fn gp_search() -> Value {
    json!({"motif": "gp_unscheduled", "location": {"lat": PATIENT.0, "lon": PATIENT.1}, "radius_km": 20})
}

async fn search(app: &TestApp, key: &str, body: Value) -> Value {
    let response = app.post("/api/v1/searches", key, body).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response.body
}

fn slot_ids(answer: &Value) -> Vec<String> {
    answer["candidates"].as_array().unwrap().iter().map(|c| c["slot_id"].as_str().unwrap().to_string()).collect()
}

async fn candidates_are_ranked_by_start_and_distance_and_explained(app: TestApp) {
    let regulator = app.key(Role::Regulator, None, &[]).await;
    let sanvic = practice_at(&app, "Cabinet de Sanvic", 49.5012, 0.0951).await; // ≈ 1.2 km
    let caucriauville = practice_at(&app, "MSP de Caucriauville", 49.5107, 0.1632).await; // ≈ 4.4 km
    let gp1 = app.professional(&[&sanvic], json!({"last_name": "Un"})).await;
    let gp2 = app.professional(&[&caucriauville], json!({"last_name": "Deux"})).await;
    let gp3 = app.professional(&[&sanvic], json!({"last_name": "Trois"})).await;
    let later = publish_one(&app, &gp1, &sanvic, 180, json!({})).await;
    let middle = publish_one(&app, &gp2, &caucriauville, 120, json!({})).await;
    let soonest = publish_one(&app, &gp3, &sanvic, 60, json!({})).await;
    let soonest_2 = publish_one(&app, &gp3, &sanvic, 75, json!({})).await;
    let _soonest_3 = publish_one(&app, &gp3, &sanvic, 90, json!({})).await;
    let answer = search(&app, &regulator, gp_search()).await;
    // cost = minutes + 3 × km: gp3 60+3.6, gp3 75+3.6, gp2 120+13.2, gp1 180+3.6; gp3's third slot is cut (2 max).
    assert_eq!(slot_ids(&answer), [soonest.clone(), soonest_2, middle.clone(), later]);
    let first = &answer["candidates"][0];
    assert_eq!(first["professional"]["name"], "Claire Trois");
    assert_eq!(first["professional"]["profession_title"], "Médecin généraliste");
    assert_eq!(first["practice"]["name"], "Cabinet de Sanvic");
    assert_eq!(first["start_local"], "2026-11-24T10:00:00+01:00");
    assert_eq!(first["reasons"][0], "dans 1 h");
    assert_eq!(first["reasons"][1], "à 1,2 km");
    assert_eq!(first["distance_km"], 1.2);
    assert_eq!(answer["widened"], false);
    assert_eq!(answer["radius_km"], 20.0);
    assert_eq!(answer["advice"], Value::Null);
    // The patient's usual GP comes first.
    let mut with_usual = gp_search();
    with_usual["usual_professional_id"] = json!(gp2);
    let answer = search(&app, &regulator, with_usual).await;
    assert_eq!(slot_ids(&answer)[0], middle);
    assert!(answer["candidates"][0]["reasons"].as_array().unwrap().contains(&json!("médecin traitant du patient")));
    // `limit` keeps the best.
    let limit_one = json!({"motif": "gp_unscheduled", "location": {"lat": PATIENT.0, "lon": PATIENT.1}, "radius_km": 20, "limit": 1});
    assert_eq!(slot_ids(&search(&app, &regulator, limit_one).await), [soonest]);
}

async fn a_slot_breaking_exactly_one_rule_is_excluded(app: TestApp) {
    let regulator = app.key(Role::Regulator, None, &[]).await;
    let near = practice_at(&app, "Cabinet proche", 49.5012, 0.0951).await;
    let rouen = practice_at(&app, "Cabinet de Rouen", 49.4432, 1.0999).await;
    let physio = app.professional(&[&near, &rouen], json!({"profession": "physio", "skills": ["bronchiolitis"]})).await;
    let plain_physio = app.professional(&[&near], json!({"profession": "physio"})).await;
    let nurse = app.professional(&[&near], json!({"profession": "nurse"})).await;
    let good = publish_one(&app, &physio, &near, 120, json!({})).await;
    let breaking = vec![
        ("visibility", publish_one(&app, &physio, &near, 150, json!({"visibility": "cpts"})).await),
        ("lead time", publish_one(&app, &physio, &near, 10, json!({})).await),
        ("delay", publish_one(&app, &physio, &near, 25 * 60, json!({})).await),
        ("skill", publish_one(&app, &plain_physio, &near, 120, json!({})).await),
        ("profession", publish_one(&app, &nurse, &near, 120, json!({})).await),
        ("modality", publish_one(&app, &physio, &near, 180, json!({"modality": "teleconsultation"})).await),
        ("distance", publish_one(&app, &physio, &rouen, 240, json!({})).await),
    ];
    let withdrawn = publish_one(&app, &physio, &near, 300, json!({})).await;
    app.delete(&format!("/api/v1/slots/{withdrawn}"), &app.admin_key).await;
    let bronchiolitis = json!({"motif": "bronchiolitis", "patient": {"birth_date": "2026-04-10"},
        "location": {"lat": PATIENT.0, "lon": PATIENT.1}, "radius_km": 20});
    let answer = search(&app, &regulator, bronchiolitis.clone()).await;
    assert_eq!(slot_ids(&answer), [good.as_str()], "only the slot breaking no rule");
    assert_eq!(answer["prescription_required"], true);
    assert!(answer["candidates"][0]["reasons"].as_array().unwrap().contains(&json!("ordonnance requise")));
    for (rule, id) in &breaking {
        assert!(!slot_ids(&answer).contains(id), "{rule}");
    }
    // Age: a 5-year-old is outside bronchiolitis' bounds.
    let mut older = bronchiolitis.clone();
    older["patient"]["birth_date"] = json!("2021-06-01");
    assert!(slot_ids(&search(&app, &regulator, older).await).is_empty());
    // Held (live), booked: gone; a lapsed hold counts as free again.
    let hold = app.post("/api/v1/holds", &regulator, json!({"slot_id": good})).await;
    assert_eq!(hold.status, StatusCode::CREATED);
    assert!(slot_ids(&search(&app, &regulator, bronchiolitis.clone()).await).is_empty());
    app.clock.advance(chrono::Duration::minutes(6));
    assert_eq!(slot_ids(&search(&app, &regulator, bronchiolitis.clone()).await), [good.as_str()]);
    // An absence hides the professional's slots.
    let absence = json!({"professional_id": physio, "from": "2026-11-24T00:00:00Z", "to": "2026-11-25T00:00:00Z"});
    assert_eq!(app.post("/api/v1/absences", &app.admin_key, absence).await.status, StatusCode::CREATED);
    assert!(slot_ids(&search(&app, &regulator, bronchiolitis).await).is_empty());
}

async fn the_departement_radius_widens_until_enough_professionals_are_in_reach(app: TestApp) {
    let regulator = app.key(Role::Regulator, None, &[]).await;
    let near = practice_at(&app, "Cabinet proche", 49.5012, 0.0951).await;
    let gp = app.professional(&[&near], json!({})).await;
    publish_one(&app, &gp, &near, 120, json!({})).await;
    // Five GPs about 19 km away (beyond Seine-Maritime's default 10 km, within 10 + 5 + 5 = 20 km).
    for i in 0..5 {
        let far =
            practice_at(&app, &format!("Cabinet lointain {i}"), 49.4944 + 0.17, 0.1079 + 0.001 * f64::from(i)).await;
        let gp = app.professional(&[&far], json!({})).await;
        publish_one(&app, &gp, &far, 120 + i64::from(i), json!({})).await;
    }
    let default_radius = json!({"motif": "gp_unscheduled", "location": {"lat": PATIENT.0, "lon": PATIENT.1}});
    let answer = search(&app, &regulator, default_radius).await;
    assert_eq!(answer["widened"], true);
    assert_eq!(answer["radius_km"], 20.0);
    assert_eq!(answer["candidates"].as_array().unwrap().len(), 6);
    let explicit = search(
        &app,
        &regulator,
        json!({"motif": "gp_unscheduled", "location": {"lat": PATIENT.0, "lon": PATIENT.1}, "radius_km": 10}),
    )
    .await;
    assert_eq!(explicit["widened"], false);
    assert_eq!(explicit["candidates"].as_array().unwrap().len(), 1);
    // A département instead of coordinates: its barycentre and radius.
    let by_departement = search(
        &app,
        &regulator,
        json!({"motif": "gp_unscheduled", "location": {"departement": "76"}, "radius_km": 100}),
    )
    .await;
    assert_eq!(by_departement["candidates"].as_array().unwrap().len(), 6);
}

async fn an_empty_answer_comes_with_advice(app: TestApp) {
    let regulator = app.key(Role::Regulator, None, &[]).await;
    let near = practice_at(&app, "Cabinet proche", 49.5012, 0.0951).await;
    let rouen = practice_at(&app, "Cabinet de Rouen", 49.4432, 1.0999).await;
    let gp = app.professional(&[&near], json!({})).await;
    publish_one(&app, &gp, &near, 120, json!({})).await;
    let far_nurse = app.professional(&[&rouen], json!({"profession": "nurse"})).await;
    let far_slot = publish_one(&app, &far_nurse, &rouen, 120, json!({})).await;
    app.professional(&[&near], json!({"profession": "nurse", "accepts_overbooking": true, "last_name": "Surnombre"}))
        .await;
    let answer = search(
        &app,
        &regulator,
        json!({"motif": "nursing_care", "location": {"lat": PATIENT.0, "lon": PATIENT.1}, "radius_km": 10}),
    )
    .await;
    assert_eq!(answer["candidates"], json!([]));
    let advice = &answer["advice"];
    assert_eq!(advice["main_exclusion"], "distance");
    assert_eq!(advice["excluded"]["distance"], 1);
    assert_eq!(advice["nearest_beyond_radius"]["slot_id"], far_slot.as_str());
    assert!(advice["message"].as_str().unwrap().starts_with("Aucun créneau à moins de 10,0 km"));
    assert_eq!(
        advice["other_professions"],
        json!([{"profession": "gp", "title": "Médecin généraliste", "slots_in_reach": 1}])
    );
    assert_eq!(advice["first_after_delay"], Value::Null);
    let overbooking = advice["overbooking"].as_array().unwrap();
    assert_eq!(overbooking.len(), 1);
    assert_eq!(overbooking[0]["name"], "Claire Surnombre");
    assert_eq!(overbooking[0]["practice_name"], "Cabinet proche");
}

async fn invalid_searches_are_refused(app: TestApp) {
    let regulator = app.key(Role::Regulator, None, &[]).await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"location": {"lat": 49.5, "lon": 0.1}}), "motif"),
        (json!({"motif": "haircut", "location": {"lat": 49.5, "lon": 0.1}}), "motif"),
        (json!({"profession": "wizard", "location": {"lat": 49.5, "lon": 0.1}}), "profession"),
        (json!({"motif": "bronchiolitis", "location": {"lat": 49.5, "lon": 0.1}}), "patient.birth_date"),
        (
            json!({"motif": "bronchiolitis", "patient": {"birth_date": "2027-01-01"}, "location": {"lat": 49.5, "lon": 0.1}}),
            "patient.birth_date",
        ),
        (json!({"motif": "gp_unscheduled"}), "location"),
        (json!({"motif": "gp_unscheduled", "location": {"lat": 95, "lon": 0.1}}), "location.lat"),
        (json!({"motif": "gp_unscheduled", "location": {"lat": 49.5}}), "location"),
        (json!({"motif": "gp_unscheduled", "location": {"departement": "20"}}), "location.departement"),
        (json!({"motif": "gp_unscheduled", "location": {"lat": 49.5, "lon": 0.1}, "within_hours": 0}), "within_hours"),
        (json!({"motif": "gp_unscheduled", "location": {"lat": 49.5, "lon": 0.1}, "radius_km": 500}), "radius_km"),
        (json!({"motif": "gp_unscheduled", "location": {"lat": 49.5, "lon": 0.1}, "limit": 0}), "limit"),
        (
            json!({"motif": "gp_unscheduled", "location": {"lat": 49.5, "lon": 0.1}, "skills": ["juggling"]}),
            "skills[0]",
        ),
        (
            json!({"motif": "gp_unscheduled", "location": {"lat": 49.5, "lon": 0.1}, "modality": "by_pigeon"}),
            "modality",
        ),
        (json!({"motif": "gp_unscheduled", "location": {"lat": 49.5, "lon": 0.1}, "colour": "blue"}), "colour"),
    ];
    for (body, field) in cases {
        let response = app.post("/api/v1/searches", &regulator, body.clone()).await;
        let fields = response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert!(fields.contains(&field.to_string()), "{body}: {}", response.text);
    }
    // Teleconsultation needs no location.
    let tele = app
        .post("/api/v1/searches", &regulator, json!({"motif": "gp_unscheduled", "modality": "teleconsultation"}))
        .await;
    assert_eq!(tele.status, StatusCode::OK, "{}", tele.text);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM searches WHERE api_key_id <> $1", "").await,
        1,
        "refused searches are not recorded"
    );
}

async fn only_regulators_search_and_searches_are_recorded_and_linked(app: TestApp) {
    let practice = practice_at(&app, "Cabinet proche", 49.5012, 0.0951).await;
    let gp = app.professional(&[&practice], json!({})).await;
    let slot_id = publish_one(&app, &gp, &practice, 120, json!({})).await;
    for key in [
        app.key(Role::Professional, Some(&gp), &[]).await,
        app.key(Role::Publisher, None, &[&practice]).await,
        app.key(Role::Coordinator, None, &[]).await,
    ] {
        app.post("/api/v1/searches", &key, gp_search()).await.problem(StatusCode::FORBIDDEN, "forbidden");
    }
    let regulator = app.key(Role::Regulator, None, &[]).await;
    let mut infant_search = gp_search();
    infant_search["patient"] = json!({"birth_date": "2025-01-15"});
    let answer = search(&app, &regulator, infant_search).await;
    let search_id = answer["search_id"].as_str().unwrap();
    assert_eq!(app.count("SELECT COUNT(*) FROM searches WHERE id = $1 AND age_band = '1-3y' AND departement = '76' AND delay_band = '24-48h' AND result_count = 1 AND booking_id IS NULL", search_id).await, 1);
    // Every column as written by the batch statement, instants as every other instant is stored.
    let radius = answer["radius_km"].as_f64().unwrap();
    let stored = format!(
        "SELECT COUNT(*) FROM searches WHERE id = $1 AND created_at = '2026-11-24T08:00:00+00:00' AND NOT widened \
         AND radius_km = {radius} AND profession = 'gp' AND modality IS NULL AND api_key_id <> ''"
    );
    assert_eq!(app.count(&stored, search_id).await, 1, "{stored}");
    let booking = json!({"slot_id": slot_id, "search_id": search_id, "motif": "gp_unscheduled",
        "patient": {"first_name": "Jules", "last_name": "Martin", "birth_date": "2025-01-15", "phone": "0612345678"}});
    let booked = app.post("/api/v1/bookings", &regulator, booking).await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.text);
    let booking_id = booked.body["id"].as_str().unwrap();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM searches WHERE booking_id = $1", booking_id).await,
        1,
        "the search is linked to its booking"
    );
    // Another caller cannot link (and so skew the statistics of) someone else's search.
    let other = app.key(Role::Regulator, None, &[]).await;
    let second = search(&app, &other, gp_search()).await;
    let slot2 = publish_one(&app, &gp, &practice, 150, json!({})).await;
    let booking = json!({"slot_id": slot2, "search_id": second["search_id"], "motif": "gp_unscheduled",
        "patient": {"first_name": "Jules", "last_name": "Martin", "birth_date": "2025-01-15", "phone": "0612345678"}});
    let booked = app.post("/api/v1/bookings", &regulator, booking).await;
    assert_eq!(booked.status, StatusCode::CREATED);
    let second_id = second["search_id"].as_str().unwrap();
    assert_eq!(app.count("SELECT COUNT(*) FROM searches WHERE id = $1 AND booking_id IS NULL", second_id).await, 1);
}

async fn fewer_recent_regulated_bookings_win_ties(app: TestApp) {
    let regulator = app.key(Role::Regulator, None, &[]).await;
    let practice = practice_at(&app, "MSP", 49.5012, 0.0951).await;
    let busy = app.professional(&[&practice], json!({"last_name": "Occupé"})).await;
    let idle = app.professional(&[&practice], json!({"last_name": "Disponible"})).await;
    // The busy GP had a regulated booking this week.
    let taken = publish_one(&app, &busy, &practice, 300, json!({})).await;
    let booking = json!({"slot_id": taken, "motif": "gp_unscheduled",
        "patient": {"first_name": "Léa", "last_name": "Martin", "birth_date": "1988-03-14", "phone": "0612345678"}});
    assert_eq!(app.post("/api/v1/bookings", &regulator, booking).await.status, StatusCode::CREATED);
    // Same start, same practice: the tie goes to the idle GP, whatever the slot ids.
    let busy_slot = publish_one(&app, &busy, &practice, 120, json!({})).await;
    let idle_slot = publish_one(&app, &idle, &practice, 120, json!({})).await;
    let answer = search(&app, &regulator, gp_search()).await;
    assert_eq!(slot_ids(&answer), [idle_slot, busy_slot.clone()]);
    // Within the same 15-point cost band too (120.6 and 123.6): three minutes earlier does not beat fairness.
    app.delete(&format!("/api/v1/slots/{busy_slot}"), &app.admin_key).await;
    publish_one(&app, &busy, &practice, 117, json!({})).await;
    let answer = search(&app, &regulator, gp_search()).await;
    assert_eq!(answer["candidates"][0]["professional"]["name"], "Claire Disponible", "{answer}");
}

async fn a_professional_s_own_age_bounds_are_respected(app: TestApp) {
    let regulator = app.key(Role::Regulator, None, &[]).await;
    let practice = practice_at(&app, "MSP", 49.5012, 0.0951).await;
    // A GP who sees children only (under 18), and one who sees everyone.
    let paediatric =
        app.professional(&[&practice], json!({"max_patient_age_months": 216, "last_name": "Enfants"})).await;
    let general = app.professional(&[&practice], json!({"last_name": "Tous"})).await;
    let child_only = publish_one(&app, &paediatric, &practice, 60, json!({})).await;
    let anyone = publish_one(&app, &general, &practice, 120, json!({})).await;
    let mut adult = gp_search();
    adult["patient"] = json!({"birth_date": "1988-03-14"});
    assert_eq!(slot_ids(&search(&app, &regulator, adult).await), [anyone.as_str()]);
    let mut child = gp_search();
    child["patient"] = json!({"birth_date": "2019-06-01"});
    assert_eq!(slot_ids(&search(&app, &regulator, child).await), [child_only.clone(), anyone]);
    let booking = json!({"slot_id": child_only, "motif": "gp_unscheduled",
        "patient": {"first_name": "Léa", "last_name": "Martin", "birth_date": "1988-03-14", "phone": "0612345678"}});
    let refused = app.post("/api/v1/bookings", &regulator, booking).await;
    assert_eq!(refused.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["patient.birth_date"]);
}

/// Statistics are written in batches: a record the database refuses (here, a second one with the same id) is
/// lost alone, not with the whole batch.
async fn one_bad_search_record_costs_only_itself(app: TestApp) {
    let digest = snp::domain::api_key::digest(&app.admin_key);
    let key = app.store.find_api_key(&digest).await.unwrap().unwrap();
    let record = |id: &str| snp::domain::search::SearchRecord {
        id: id.to_string(),
        created_at: test_now(),
        api_key_id: key.id.clone(),
        motif: Some("gp_unscheduled".into()),
        profession: None,
        age_band: None,
        departement: Some("76".into()),
        delay_band: "24-48h",
        modality: None,
        radius_km: 10.0,
        widened: false,
        result_count: 0,
    };
    let log = snp::http::search_log::SearchLog::start(app.store.clone());
    for id in ["first", "first", "second", "third"] {
        log.record(record(id));
    }
    log.flush().await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM searches WHERE id IN ('first', 'second', 'third') AND $1 = $1", "").await,
        3
    );
}

/// A batch larger than one statement holds (SQLite writes 100, 10 and 1 rows a statement) is written whole, every
/// column of every record as recorded — absent values included.
async fn a_batch_of_search_records_is_written_whole_with_every_column(app: TestApp) {
    let digest = snp::domain::api_key::digest(&app.admin_key);
    let key = app.store.find_api_key(&digest).await.unwrap().unwrap();
    let modalities =
        [None, Some(snp::domain::slot::Modality::InPerson), Some(snp::domain::slot::Modality::Teleconsultation)];
    let records: Vec<snp::domain::search::SearchRecord> = (0..234)
        .map(|i| snp::domain::search::SearchRecord {
            id: format!("batch-{i}"),
            created_at: test_now() + chrono::Duration::seconds(i as i64),
            api_key_id: key.id.clone(),
            motif: (i % 3 != 0).then(|| "gp_unscheduled".to_string()),
            profession: (i % 4 == 0).then(|| "nurse".to_string()),
            age_band: [None, Some("1-3y"), Some("adult")][i % 3],
            departement: (i % 5 != 0).then(|| format!("{:02}", 1 + i % 95)),
            delay_band: ["0-4h", "24-48h"][i % 2],
            modality: modalities[i % 3],
            radius_km: 5.0 + i as f64 / 4.0,
            widened: i % 2 == 1,
            result_count: i % 11,
        })
        .collect();
    app.store.record_searches(&records).await.unwrap();
    let postgres = app.store.backend() == "postgres";
    let text = |value: Option<&str>| value.map_or("NULL".to_string(), |v| format!("'{v}'"));
    let same = if postgres { "IS NOT DISTINCT FROM" } else { "IS" };
    let each: Vec<String> = records
        .iter()
        .map(|r| {
            let created_at = r.created_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false);
            let created_at = if postgres { format!("'{created_at}'::timestamptz") } else { format!("'{created_at}'") };
            format!(
                "(id = '{}' AND created_at = {created_at} AND api_key_id = '{}' AND motif {same} {} AND profession {same} {} \
                 AND age_band {same} {} AND departement {same} {} AND delay_band = '{}' AND modality {same} {} \
                 AND radius_km = {} AND widened = {} AND result_count = {} AND booking_id IS NULL)",
                r.id,
                r.api_key_id,
                text(r.motif.as_deref()),
                text(r.profession.as_deref()),
                text(r.age_band),
                text(r.departement.as_deref()),
                r.delay_band,
                text(r.modality.map(|m| m.as_str())),
                r.radius_km,
                if postgres { r.widened.to_string() } else { i64::from(r.widened).to_string() },
                r.result_count,
            )
        })
        .collect();
    let sql = format!("SELECT COUNT(*) FROM searches WHERE $1 = $1 AND ({})", each.join(" OR "));
    assert_eq!(app.count(&sql, "").await, 234);
    assert_eq!(app.count("SELECT COUNT(*) FROM searches WHERE id LIKE 'batch-%' AND $1 = $1", "").await, 234);
}
