//! Every error speaks problem+json: malformed JSON, wrong media type, oversized bodies, unknown routes and
//! methods; and every response carries a request id.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both_databases;

on_both_databases!(
    malformed_json_is_400_in_our_format_and_writes_nothing,
    a_body_that_is_not_json_is_415,
    an_oversized_body_is_413,
    unknown_routes_and_methods_answer_problem_json,
    responses_carry_a_request_id,
    nul_characters_and_out_of_range_numbers_are_refused_identically_on_both_databases,
);

async fn malformed_json_is_400_in_our_format_and_writes_nothing(app: TestApp) {
    for body in ["{", "{\"name\": }", "[1, 2", "", "{\"name\": \"x\"} trailing"] {
        for path in ["/api/v1/practices", "/api/v1/professionals", "/api/v1/slots", "/api/v1/api-keys"] {
            let response = app.raw(Method::POST, path, &app.admin_key, "application/json", body).await;
            response.problem(StatusCode::BAD_REQUEST, "malformed_json");
        }
    }
    // A JSON value of the wrong shape is a validation failure, not a syntax error.
    let response = app.raw(Method::POST, "/api/v1/practices", &app.admin_key, "application/json", "[]").await;
    assert_eq!(response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["body"]);
    let response = app.raw(Method::POST, "/api/v1/practices", &app.admin_key, "application/json", "{}").await;
    assert_eq!(response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["name"]);
    let list = app.get("/api/v1/practices", &app.admin_key).await;
    assert_eq!(list.body["practices"], json!([]));
}

async fn a_body_that_is_not_json_is_415(app: TestApp) {
    let response = app.raw(Method::POST, "/api/v1/practices", &app.admin_key, "text/plain", "{}").await;
    response.problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let response = app.raw(Method::POST, "/api/v1/slots", &app.admin_key, "application/json; charset=utf-8", "{").await;
    response.problem(StatusCode::BAD_REQUEST, "malformed_json");
}

async fn an_oversized_body_is_413(app: TestApp) {
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(app.settings.http.max_body_bytes + 1));
    let response = app.raw(Method::POST, "/api/v1/practices", &app.admin_key, "application/json", &huge).await;
    response.problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

async fn unknown_routes_and_methods_answer_problem_json(app: TestApp) {
    app.get("/api/v1/nothing-here", &app.admin_key).await.problem(StatusCode::NOT_FOUND, "not_found");
    let response = app.call(Method::PUT, "/api/v1/practices", Some(&app.admin_key), Some(json!({}))).await;
    response.problem(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

async fn responses_carry_a_request_id(app: TestApp) {
    let response = app.get("/api/v1/practices", &app.admin_key).await;
    let id = response.headers["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let request = axum::http::Request::builder()
        .uri("/healthz")
        .header("x-request-id", "regulation-desk-42")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.headers["x-request-id"], "regulation-desk-42", "a caller's id is kept for correlation");
    // Free text (it would reach the logs and the audit trail, which is never erased) is replaced by a UUID.
    for unfit in ["Léa Martin, née le 14/03/1988".to_string(), "a".repeat(65), "id with spaces".to_string()] {
        let request = axum::http::Request::builder()
            .uri("/healthz")
            .header("x-request-id", axum::http::HeaderValue::from_bytes(unfit.as_bytes()).unwrap())
            .body(axum::body::Body::empty())
            .unwrap();
        let replaced = app.send(request).await.headers["x-request-id"].to_str().unwrap().to_string();
        assert!(replaced.len() == 36 && uuid::Uuid::parse_str(&replaced).is_ok(), "{unfit}: {replaced}");
    }
}

async fn nul_characters_and_out_of_range_numbers_are_refused_identically_on_both_databases(app: TestApp) {
    let mut body = crate::helpers::practice_body();
    body["name"] = json!("MSP\u{0}X");
    let response = app.post("/api/v1/practices", &app.admin_key, body).await;
    assert_eq!(response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["name"]);
    let mut body = crate::helpers::practice_body();
    body["phone"] = json!("06\u{0}12");
    let response = app.post("/api/v1/practices", &app.admin_key, body).await;
    assert_eq!(response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["phone"]);
    let response = app.post("/api/v1/slots", &app.admin_key, json!({"slots": [{"professional_id": "a\u{0}b"}]})).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", response.text);
    for path in ["/api/v1/practices/a%00b", "/api/v1/slots?professional_id=a%00b", "/api/v1/professionals/%00"] {
        app.get(path, &app.admin_key).await.problem(StatusCode::BAD_REQUEST, "bad_request");
    }
    // Instants beyond four-digit years, and offsets at the edge of i64.
    let far = app.get("/api/v1/slots?to=9999-12-31T23:30:00-01:00", &app.admin_key).await;
    assert_eq!(far.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["to"]);
    let response = app.get("/api/v1/practices?offset=9223372036854775807", &app.admin_key).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    let response = app.get("/api/v1/practices?offset=9223372036854775808", &app.admin_key).await;
    assert_eq!(response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["offset"]);
    assert_eq!(app.get("/api/v1/practices", &app.admin_key).await.body["practices"], json!([]));
}

#[tokio::test]
async fn the_motif_catalogue_is_served_to_every_role() {
    let app = TestApp::sqlite().await;
    let regulator = app.key(snp::domain::access::Role::Regulator, None, &[]).await;
    let response = app.get("/api/v1/motifs", &regulator).await;
    assert_eq!(response.status, StatusCode::OK);
    let motifs = response.body["motifs"].as_array().unwrap();
    let names: Vec<&str> = motifs.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["bronchiolitis", "dental_emergency", "gp_unscheduled", "ivg", "midwife_unscheduled", "nursing_care"]
    );
    let bronchiolitis = &motifs[0];
    assert_eq!(bronchiolitis["professions"], json!([{"name": "physio", "title": "Masseur-kinésithérapeute"}]));
    assert_eq!(bronchiolitis["skills"], json!(["bronchiolitis"]));
    assert_eq!(
        (bronchiolitis["min_age_months"].as_u64(), bronchiolitis["max_age_months"].as_u64()),
        (Some(1), Some(36))
    );
    assert_eq!(bronchiolitis["within_hours"], 24);
    assert_eq!(bronchiolitis["prescription_required"], true);
    assert_eq!(motifs[3]["professions"].as_array().unwrap().len(), 2, "ivg: midwife or gp");
    app.call(axum::http::Method::GET, "/api/v1/motifs", None, None)
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
}
