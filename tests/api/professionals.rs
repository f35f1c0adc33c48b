//! Professionals: create, read, list with filters; identifiers, catalogue and practice checks; duplicates.

use axum::http::StatusCode;
use serde_json::{Value, json};
use snp::domain::identifiers::with_luhn_check_digit;

use crate::helpers::{TestApp, fresh_rpps, merge, professional_body};
use crate::on_both_databases;

on_both_databases!(
    creating_a_professional_returns_201_and_it_can_be_read_back,
    every_invalid_professional_field_is_reported_and_nothing_is_written,
    adeli_is_accepted_only_where_the_profession_allows_it,
    registering_the_same_rpps_twice_is_409,
    listing_professionals_filters_by_practice_profession_and_skill,
);

async fn creating_a_professional_returns_201_and_it_can_be_read_back(app: TestApp) {
    let a = app.practice(json!({})).await;
    let b = app.practice(json!({"name": "Cabinet de Sanvic", "kind": "cabinet"})).await;
    let mut body = professional_body(&[&a, &b]);
    merge(
        &mut body,
        json!({"profession": "physio", "skills": ["paediatrics", "bronchiolitis", "bronchiolitis"],
                            "accepts_overbooking": true, "rpps": fresh_rpps()}),
    );
    let response = app.post("/api/v1/professionals", &app.admin_key, body.clone()).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    let id = response.body["id"].as_str().unwrap();
    let read = app.get(&format!("/api/v1/professionals/{id}"), &app.admin_key).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body, response.body);
    assert_eq!(read.body["rpps"], body["rpps"]);
    assert_eq!(read.body["profession"], "physio");
    assert_eq!(read.body["profession_title"], "Masseur-kinésithérapeute");
    assert_eq!(read.body["skills"], json!(["bronchiolitis", "paediatrics"]));
    let mut practices: Vec<&str> = vec![&a, &b];
    practices.sort();
    assert_eq!(read.body["practice_ids"], json!(practices));
    assert_eq!(read.body["accepts_overbooking"], true);
    assert_eq!(read.body["accepts_new_patients"], true);
    assert_eq!(read.body["home_visit_radius_km"], 10.0);
    assert_eq!(read.body["phone"], "+33612345678");
    let missing = app.get("/api/v1/professionals/nobody", &app.admin_key).await;
    missing.problem(StatusCode::NOT_FOUND, "not_found");
}

async fn every_invalid_professional_field_is_reported_and_nothing_is_written(app: TestApp) {
    let practice = app.practice(json!({})).await;
    let valid = fresh_rpps();
    let wrong_check_digit = format!("{}{}", &valid[..10], (valid[10..].parse::<u8>().unwrap() + 1) % 10);
    let cases: Vec<(Value, &str)> = vec![
        (json!({"rpps": wrong_check_digit}), "rpps"),
        (json!({"rpps": "1234567890"}), "rpps"),
        (json!({"rpps": "1234567890A"}), "rpps"),
        (json!({"rpps": null}), "rpps"),
        (json!({"adeli": "123456789"}), "adeli"),
        (json!({"first_name": ""}), "first_name"),
        (json!({"last_name": " "}), "last_name"),
        (json!({"profession": "surgeon"}), "profession"),
        (json!({"skills": ["juggling"]}), "skills[0]"),
        (json!({"skills": ["ivg", "bronchiolitis"]}), "skills[1]"),
        (json!({"practice_ids": []}), "practice_ids"),
        (json!({"practice_ids": [practice.clone(), "nowhere"]}), "practice_ids[1]"),
        (json!({"home_visit_radius_km": 0}), "home_visit_radius_km"),
        (json!({"home_visit_radius_km": 101}), "home_visit_radius_km"),
        (json!({"email": "claire@"}), "email"),
        (json!({"phone": "06 12"}), "phone"),
        (json!({"accepts_overbooking": "yes"}), "accepts_overbooking"),
        (json!({"skills": "bronchiolitis"}), "skills"),
        (json!({"first_name": null}), "first_name"),
        (json!({"rpps_number": "1"}), "rpps_number"),
        (json!({"max_patient_age_months": 0}), "max_patient_age_months"),
        (json!({"min_patient_age_months": 36, "max_patient_age_months": 36}), "max_patient_age_months"),
        (json!({"min_patient_age_months": 1501}), "min_patient_age_months"),
        (json!({"min_patient_age_months": -1}), "min_patient_age_months"),
    ];
    for (override_, field) in cases {
        let mut body = professional_body(&[&practice]);
        merge(&mut body, override_.clone());
        let response = app.post("/api/v1/professionals", &app.admin_key, body).await;
        let fields = response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(fields, [field], "{override_}: {}", response.text);
    }
    let list = app.get("/api/v1/professionals", &app.admin_key).await;
    assert_eq!(list.body["professionals"], json!([]), "a failed request wrote nothing");
}

async fn adeli_is_accepted_only_where_the_profession_allows_it(app: TestApp) {
    let practice = app.practice(json!({})).await;
    let mut nurse = professional_body(&[&practice]);
    merge(&mut nurse, json!({"rpps": null, "adeli": "76 1234567", "profession": "nurse"}));
    let response = app.post("/api/v1/professionals", &app.admin_key, nurse).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    assert_eq!(response.body["adeli"], "761234567");
    assert_eq!(response.body["rpps"], Value::Null);
    let mut gp = professional_body(&[&practice]);
    merge(&mut gp, json!({"rpps": null, "adeli": "761234568"}));
    let response = app.post("/api/v1/professionals", &app.admin_key, gp).await;
    assert_eq!(response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["adeli"]);
    let mut both = professional_body(&[&practice]);
    merge(&mut both, json!({"adeli": "761234569", "profession": "nurse"}));
    let response = app.post("/api/v1/professionals", &app.admin_key, both).await;
    assert_eq!(response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["adeli"]);
}

async fn registering_the_same_rpps_twice_is_409(app: TestApp) {
    let practice = app.practice(json!({})).await;
    let rpps = with_luhn_check_digit("1099999999");
    let mut body = professional_body(&[&practice]);
    merge(&mut body, json!({"rpps": rpps}));
    let first = app.post("/api/v1/professionals", &app.admin_key, body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    merge(&mut body, json!({"first_name": "Homonyme"}));
    let second = app.post("/api/v1/professionals", &app.admin_key, body).await;
    second.problem(StatusCode::CONFLICT, "conflict");
    assert!(second.body["detail"].as_str().unwrap().contains("RPPS"));
    let list = app.get("/api/v1/professionals", &app.admin_key).await;
    assert_eq!(list.body["professionals"].as_array().unwrap().len(), 1);
}

async fn listing_professionals_filters_by_practice_profession_and_skill(app: TestApp) {
    let havre = app.practice(json!({})).await;
    let mussy = app.practice(json!({"name": "MSP de Mussy", "departement": "10", "postal_code": "10250"})).await;
    let gp = app.professional(&[&havre], json!({"last_name": "Ardouin"})).await;
    let physio = app
        .professional(
            &[&havre, &mussy],
            json!({"profession": "physio", "skills": ["bronchiolitis"], "last_name": "Berthe"}),
        )
        .await;
    let midwife = app.professional(&[&mussy], json!({"profession": "midwife", "last_name": "Cordier"})).await;
    let ids = |r: &crate::helpers::TestResponse| -> Vec<String> {
        r.body["professionals"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_string()).collect()
    };
    let all = app.get("/api/v1/professionals", &app.admin_key).await;
    assert_eq!(ids(&all), [gp.clone(), physio.clone(), midwife.clone()], "ordered by last name");
    let at_mussy = app.get(&format!("/api/v1/professionals?practice_id={mussy}"), &app.admin_key).await;
    assert_eq!(ids(&at_mussy), [physio.clone(), midwife.clone()]);
    let physios = app.get("/api/v1/professionals?profession=physio", &app.admin_key).await;
    assert_eq!(ids(&physios), [physio.as_str()]);
    let bronchiolitis = app.get("/api/v1/professionals?skill=bronchiolitis", &app.admin_key).await;
    assert_eq!(ids(&bronchiolitis), [physio.as_str()]);
    let bad = app.get("/api/v1/professionals?profession=wizard", &app.admin_key).await;
    assert_eq!(bad.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["profession"]);
    let bad = app.get("/api/v1/professionals?skill=juggling", &app.admin_key).await;
    assert_eq!(bad.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["skill"]);
}
