//! Publishing throughput through the real router and store: `cargo bench --bench publish [-- --batches N]`.
//!
//! Publishes N batches of 100 slots (one professional each, so no overlap) on a temp SQLite database — or on
//! PostgreSQL when `SNP_BENCH_POSTGRES_URL` names an empty database — and prints slots/s and the p50/p99 of a
//! batch. A baseline for the national-scale load benchmark (issue 7), not a test: it asserts nothing.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{Duration, Utc};
use serde_json::json;
use snp::api_keys::{KeyRequest, issue};
use snp::clock::SystemClock;
use snp::config::Settings;
use snp::domain::access::Role;
use snp::domain::identifiers::with_luhn_check_digit;
use snp::http::{AppState, router};
use tower::ServiceExt;

const SLOTS_PER_BATCH: i64 = 100;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let batches: usize =
        args.iter().position(|a| a == "--batches").and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::load(None).unwrap();
    settings.database.url = std::env::var("SNP_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/bench.db", dir.path().display()));
    let store = snp::store::connect(&settings.database).await.unwrap();
    store.migrate().await.unwrap();
    let app = router(AppState::new(store.clone(), Arc::new(SystemClock), &settings), &settings);
    let admin = issue(
        store.as_ref(),
        KeyRequest { role: Role::Admin, name: "bench".into(), professional_id: None, practice_ids: vec![] },
        Utc::now(),
    )
    .await
    .unwrap()
    .secret
    .expose()
    .to_string();
    let post = |path: &str, body: serde_json::Value| {
        Request::post(path)
            .header("authorization", format!("Bearer {admin}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let practice = app
        .clone()
        .oneshot(post(
            "/api/v1/practices",
            json!({"name": "Bench", "kind": "msp", "address": "1 rue", "postal_code": "76600",
            "commune": "Le Havre", "departement": "76", "lat": 49.49, "lon": 0.11}),
        ))
        .await
        .unwrap();
    let practice: serde_json::Value =
        serde_json::from_slice(&axum::body::to_bytes(practice.into_body(), usize::MAX).await.unwrap()).unwrap();
    let practice = practice["id"].as_str().unwrap().to_string();
    let start_of_day = Utc::now() + Duration::hours(1);
    let mut latencies = Vec::with_capacity(batches);
    let total = Instant::now();
    for b in 0..batches {
        let professional = app
            .clone()
            .oneshot(post(
                "/api/v1/professionals",
                json!({"rpps": with_luhn_check_digit(&format!("10{:08}", b)),
                "first_name": "A", "last_name": "B", "profession": "gp", "practice_ids": [practice]}),
            ))
            .await
            .unwrap();
        let professional: serde_json::Value =
            serde_json::from_slice(&axum::body::to_bytes(professional.into_body(), usize::MAX).await.unwrap()).unwrap();
        let professional = professional["id"].as_str().unwrap();
        let slots: Vec<_> = (0..SLOTS_PER_BATCH)
            .map(|i| {
                let start = (start_of_day + Duration::minutes(15 * i)).format("%Y-%m-%dT%H:%M:00Z").to_string();
                let end = (start_of_day + Duration::minutes(15 * i + 15)).format("%Y-%m-%dT%H:%M:00Z").to_string();
                json!({"professional_id": professional, "practice_id": practice, "start": start, "end": end,
                       "modality": "in_person", "visibility": "regulation"})
            })
            .collect();
        let began = Instant::now();
        let response = app.clone().oneshot(post("/api/v1/slots", json!({"slots": slots}))).await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        latencies.push(began.elapsed());
    }
    let elapsed: std::time::Duration = latencies.iter().sum();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!("backend: {}", store.backend());
    println!("published {} slots in {} batches of {SLOTS_PER_BATCH}", batches as i64 * SLOTS_PER_BATCH, batches);
    println!(
        "throughput: {:.0} slots/s (publish requests only; whole run {:.2?})",
        (batches as i64 * SLOTS_PER_BATCH) as f64 / elapsed.as_secs_f64(),
        total.elapsed()
    );
    println!("batch latency: p50 {:.2?}, p99 {:.2?}, max {:.2?}", pct(0.50), pct(0.99), latencies[latencies.len() - 1]);
}
