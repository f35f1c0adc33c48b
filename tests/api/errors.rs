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
}
