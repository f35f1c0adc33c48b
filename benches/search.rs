//! Search and booking over a synthetic national territory, through the real router and store:
//! `cargo bench --bench search -- [--professionals N] [--days D] [--searches S] [--database-url URL]`.
//!
//! Seeds the dataset of `snp::dataset` (deterministic; every département of the SAS table), then times searches
//! for each reason from random places near practices (p50, p99, max) and bookings of distinct slots, one at a
//! time and from 16 concurrent clients. PostgreSQL when `--database-url postgres://…` names an empty database,
//! a temporary SQLite file otherwise. It measures; it asserts nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use chrono::Utc;
use serde_json::{Value, json};
use snp::api_keys::{KeyRequest, issue};
use snp::clock::SystemClock;
use snp::config::Settings;
use snp::dataset::{Rng, generate};
use snp::domain::access::Role;
use snp::http::{AppState, router};
use tower::ServiceExt;

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned().unwrap_or_else(|| default.to_string())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let professionals: usize = arg(&args, "--professionals", "6000").parse().expect("--professionals N");
    let days: i64 = arg(&args, "--days", "7").parse().expect("--days D");
    let searches: usize = arg(&args, "--searches", "200").parse().expect("--searches S");
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::load(None).unwrap();
    settings.database.url = arg(&args, "--database-url", &format!("sqlite://{}/bench.db", dir.path().display()));
    let store = snp::store::connect(&settings.database).await.unwrap();
    store.migrate().await.unwrap();

    let now = Utc::now();
    let began = Instant::now();
    let data = generate(42, professionals, days, now);
    println!(
        "dataset: {} practices, {} professionals, {} slots (generated in {:.1?})",
        data.practices.len(),
        data.professionals.len(),
        data.slots.len(),
        began.elapsed()
    );
    let began = Instant::now();
    for p in &data.practices {
        store.insert_practice(p).await.unwrap();
    }
    for p in &data.professionals {
        store.insert_professional(p).await.unwrap();
    }
    for batch in data.slots.chunks(5000) {
        store.insert_slots(batch).await.unwrap();
    }
    let seconds = began.elapsed().as_secs_f64();
    println!(
        "seeded through the store in {seconds:.1} s ({:.0} slots/s including the directory)",
        data.slots.len() as f64 / seconds
    );

    let app = router(AppState::new(store.clone(), Arc::new(SystemClock), &settings), &settings);
    let key = |role| {
        let store = store.clone();
        async move {
            issue(
                store.as_ref(),
                KeyRequest { role, name: "bench".into(), professional_id: None, practice_ids: vec![] },
                Utc::now(),
            )
            .await
            .unwrap()
            .secret
            .expose()
            .to_string()
        }
    };
    let regulator = key(Role::Regulator).await;
    let post = |path: &str, body: Value| {
        Request::post(path)
            .header("authorization", format!("Bearer {regulator}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };

    println!();
    println!("{:<22} {:>9} {:>9} {:>9} {:>12}", "search (reason)", "p50", "p99", "max", "candidates");
    let reasons: &[(&str, Value)] = &[
        ("gp_unscheduled", json!({})),
        ("bronchiolitis", json!({"birth_date": "2026-04-10"})),
        ("midwife_unscheduled", json!({})),
        ("nursing_care", json!({})),
        ("dental_emergency", json!({})),
    ];
    let mut rng = Rng::new(7);
    for (motif, patient) in reasons {
        let mut latencies = Vec::with_capacity(searches);
        let mut found = 0usize;
        for _ in 0..searches {
            let practice = &data.practices[rng.below(data.practices.len())];
            let body = json!({"motif": motif, "patient": patient,
                "location": {"lat": practice.lat + 0.02, "lon": practice.lon - 0.02}});
            let started = Instant::now();
            let response = app.clone().oneshot(post("/api/v1/searches", body)).await.unwrap();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
            latencies.push(started.elapsed());
            let answer: Value = serde_json::from_slice(&bytes).unwrap();
            found += answer["candidates"].as_array().map_or(0, Vec::len);
        }
        latencies.sort();
        println!(
            "{:<22} {:>9.2?} {:>9.2?} {:>9.2?} {:>12.1}",
            motif,
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            latencies[latencies.len() - 1],
            found as f64 / searches as f64
        );
    }

    // Bookings of distinct free slots: one client, then 16 at once.
    let patient =
        json!({"first_name": "Léa", "last_name": "Martin", "birth_date": "1988-03-14", "phone": "0612345678"});
    let gp_slots: Vec<String> = data
        .slots
        .iter()
        .filter(|s| data.professionals[s.professional_id[4..].parse::<usize>().unwrap()].profession == "gp")
        .map(|s| s.id.clone())
        .take(1600)
        .collect();
    let (sequential, concurrent) = gp_slots.split_at(gp_slots.len() / 2);
    let started = Instant::now();
    for slot_id in sequential {
        let body = json!({"slot_id": slot_id, "motif": "gp_unscheduled", "patient": patient});
        let response = app.clone().oneshot(post("/api/v1/bookings", body)).await.unwrap();
        assert_eq!(response.status(), 201);
    }
    let rate = sequential.len() as f64 / started.elapsed().as_secs_f64();
    println!();
    println!("bookings, 1 client:   {rate:.0}/s ({} bookings)", sequential.len());
    let started = Instant::now();
    let chunks: Vec<Vec<String>> = concurrent.chunks(concurrent.len().div_ceil(16)).map(<[String]>::to_vec).collect();
    let tasks: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let (app, regulator, patient) = (app.clone(), regulator.clone(), patient.clone());
            tokio::spawn(async move {
                for slot_id in chunk {
                    let body = json!({"slot_id": slot_id, "motif": "gp_unscheduled", "patient": patient});
                    let request = Request::post("/api/v1/bookings")
                        .header("authorization", format!("Bearer {regulator}"))
                        .header("content-type", "application/json")
                        .body(Body::from(body.to_string()))
                        .unwrap();
                    let response = app.clone().oneshot(request).await.unwrap();
                    assert_eq!(response.status(), 201);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let rate = concurrent.len() as f64 / started.elapsed().as_secs_f64();
    println!("bookings, 16 clients: {rate:.0}/s ({} bookings)", concurrent.len());
    println!("backend: {}", store.backend());
}
