//! `/openapi.json` describes what the server really does: the document is generated from the router, and this
//! test checks the result — the contract's operations are all there, each reaches a handler, and on every
//! documented path the methods that are not documented are refused (405).

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;

/// Every (method, path) the router serves.
const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/api/v1/practices"),
    ("post", "/api/v1/practices"),
    ("get", "/api/v1/practices/{id}"),
    ("patch", "/api/v1/practices/{id}"),
    ("post", "/api/v1/practices/{id}/deactivate"),
    ("post", "/api/v1/practices/{id}/reactivate"),
    ("get", "/api/v1/professionals"),
    ("post", "/api/v1/professionals"),
    ("get", "/api/v1/professionals/{id}"),
    ("patch", "/api/v1/professionals/{id}"),
    ("post", "/api/v1/professionals/{id}/deactivate"),
    ("post", "/api/v1/professionals/{id}/reactivate"),
    ("get", "/api/v1/slots"),
    ("post", "/api/v1/slots"),
    ("get", "/api/v1/slots/{id}"),
    ("delete", "/api/v1/slots/{id}"),
    ("post", "/api/v1/api-keys"),
    ("get", "/api/v1/api-keys"),
    ("get", "/api/v1/audit"),
    ("delete", "/api/v1/api-keys/{id}"),
    ("post", "/api/v1/availability-rules"),
    ("get", "/api/v1/availability-rules"),
    ("get", "/api/v1/availability-rules/{id}"),
    ("put", "/api/v1/availability-rules/{id}"),
    ("delete", "/api/v1/availability-rules/{id}"),
    ("get", "/api/v1/availability-rules/{id}/preview"),
    ("post", "/api/v1/absences"),
    ("get", "/api/v1/absences"),
    ("delete", "/api/v1/absences/{id}"),
    ("get", "/api/v1/motifs"),
    ("post", "/api/v1/holds"),
    ("delete", "/api/v1/holds/{id}"),
    ("post", "/api/v1/bookings"),
    ("get", "/api/v1/bookings"),
    ("get", "/api/v1/bookings/{id}"),
    ("post", "/api/v1/bookings/{id}/cancel"),
    ("post", "/api/v1/bookings/{id}/outcome"),
    ("get", "/api/v1/bookings/{id}/notifications"),
    ("post", "/api/v1/searches"),
    ("get", "/api/v1/notifications"),
    ("post", "/api/v1/notifications/{id}/retry"),
];

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routed_operations() {
    let app = TestApp::sqlite().await;
    let response = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.body["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented = BTreeSet::new();
    for (path, operations) in response.body["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    let routed: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(documented, routed);
    assert!(response.body["components"]["securitySchemes"]["api_key"].is_object());
    for path in routed.iter().map(|(_, p)| p).collect::<BTreeSet<_>>() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if routed.contains(&(method.to_string(), path.clone())) {
                continue;
            }
            let concrete = path.replace("{id}", "unknown-id");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let answer = app.call(method.clone(), &concrete, Some(&app.admin_key), Some(json!({}))).await;
            assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is served but not documented");
        }
    }
    // Each documented operation reaches a handler: never the router's 404 or 405.
    for (method, path) in &routed {
        let path = path.replace("{id}", "unknown-id");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let answer = app.call(method.clone(), &path, Some(&app.admin_key), Some(json!({}))).await;
        assert_ne!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_ne!(answer.body["detail"], "No such resource.", "{method} {path} is not routed");
    }
}
