//! Practices: create, read, list; every validation rule; nothing written on failure.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, merge, practice_body};
use crate::on_both_databases;

on_both_databases!(
    creating_a_practice_returns_201_and_it_can_be_read_back,
    timezone_defaults_to_the_departements_zone,
    listing_practices_filters_by_departement_and_paginates,
    every_invalid_practice_field_is_reported_and_nothing_is_written,
    unknown_practice_is_404,
);

async fn creating_a_practice_returns_201_and_it_can_be_read_back(app: TestApp) {
    let response = app.post("/api/v1/practices", &app.admin_key, practice_body()).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    let id = response.body["id"].as_str().unwrap();
    assert_eq!(response.headers["location"], format!("/api/v1/practices/{id}"));
    let read = app.get(&format!("/api/v1/practices/{id}"), &app.admin_key).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body, response.body);
    assert_eq!(read.body["name"], "MSP de Caucriauville");
    assert_eq!(read.body["kind"], "msp");
    assert_eq!(read.body["departement"], "76");
    assert_eq!(read.body["timezone"], "Europe/Paris");
    assert_eq!(read.body["lat"], 49.5107);
}

async fn timezone_defaults_to_the_departements_zone(app: TestApp) {
    let mut body = practice_body();
    merge(
        &mut body,
        json!({"timezone": null, "departement": "974", "postal_code": "97400", "commune": "Saint-Denis",
                            "lat": -20.8789, "lon": 55.4481, "phone": "0262 12 34 56"}),
    );
    let response = app.post("/api/v1/practices", &app.admin_key, body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    assert_eq!(response.body["timezone"], "Indian/Reunion");
    assert_eq!(response.body["phone"], "+262262123456");
    let corsica = app.practice(json!({"departement": "2a", "postal_code": "20000", "timezone": null})).await;
    let read = app.get(&format!("/api/v1/practices/{corsica}"), &app.admin_key).await;
    assert_eq!(read.body["departement"], "2A");
    assert_eq!(read.body["timezone"], "Europe/Paris");
}

async fn listing_practices_filters_by_departement_and_paginates(app: TestApp) {
    for i in 0..3 {
        app.practice(json!({"name": format!("Cabinet {i}")})).await;
    }
    app.practice(json!({"name": "MSP de Mussy", "departement": "10", "postal_code": "10250"})).await;
    let all = app.get("/api/v1/practices", &app.admin_key).await;
    assert_eq!(all.body["practices"].as_array().unwrap().len(), 4);
    assert_eq!(all.body["next_offset"], Value::Null);
    let aube = app.get("/api/v1/practices?departement=10", &app.admin_key).await;
    let names: Vec<&str> =
        aube.body["practices"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["MSP de Mussy"]);
    let page1 = app.get("/api/v1/practices?limit=2", &app.admin_key).await;
    assert_eq!(page1.body["practices"].as_array().unwrap().len(), 2);
    assert_eq!(page1.body["next_offset"], 2);
    let page2 = app.get("/api/v1/practices?limit=2&offset=2", &app.admin_key).await;
    assert_eq!(page2.body["practices"].as_array().unwrap().len(), 2);
    assert_ne!(page1.body["practices"][0]["id"], page2.body["practices"][0]["id"]);
    let bad = app.get("/api/v1/practices?departement=20", &app.admin_key).await;
    assert_eq!(bad.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["departement"]);
    let bad = app.get("/api/v1/practices?limit=0", &app.admin_key).await;
    assert_eq!(bad.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["limit"]);
    let bad = app.get("/api/v1/practices?departemnt=76", &app.admin_key).await;
    assert_eq!(bad.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["departemnt"]);
}

async fn every_invalid_practice_field_is_reported_and_nothing_is_written(app: TestApp) {
    let cases: Vec<(Value, &str)> = vec![
        (json!({"name": "  "}), "name"),
        (json!({"kind": "hospital"}), "kind"),
        (json!({"address": ""}), "address"),
        (json!({"postal_code": "7661"}), "postal_code"),
        (json!({"postal_code": "76A10"}), "postal_code"),
        (json!({"commune": ""}), "commune"),
        (json!({"departement": "20"}), "departement"),
        (json!({"departement": "96"}), "departement"),
        (json!({"departement": "979"}), "departement"),
        (json!({"lat": 90.5}), "lat"),
        (json!({"lat": -91}), "lat"),
        (json!({"lon": 180.01}), "lon"),
        (json!({"timezone": "Europe/Pariss"}), "timezone"),
        (json!({"timezone": "CET+1"}), "timezone"),
        (json!({"phone": "12"}), "phone"),
        (json!({"lat": "49.5"}), "lat"),
        (json!({"lon": null}), "lon"),
        (json!({"colour": "blue"}), "colour"),
    ];
    for (override_, field) in cases {
        let mut body = practice_body();
        merge(&mut body, override_.clone());
        let response = app.post("/api/v1/practices", &app.admin_key, body).await;
        let fields = response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(fields, [field], "{override_}: {}", response.text);
    }
    // Several bad fields are reported together.
    let mut body = practice_body();
    merge(&mut body, json!({"name": "", "lat": 100, "departement": "00"}));
    let response = app.post("/api/v1/practices", &app.admin_key, body).await;
    let mut fields = response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    fields.sort();
    assert_eq!(fields, ["departement", "lat", "name"]);
    let list = app.get("/api/v1/practices", &app.admin_key).await;
    assert_eq!(list.body["practices"], json!([]), "a failed request wrote nothing");
}

async fn unknown_practice_is_404(app: TestApp) {
    let response = app.get("/api/v1/practices/does-not-exist", &app.admin_key).await;
    response.problem(StatusCode::NOT_FOUND, "not_found");
}
