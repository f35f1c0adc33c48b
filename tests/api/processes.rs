//! Two real `snp serve` processes on one database, booking the same slots at the same time: every slot is
//! booked exactly once, whichever process each request reaches.

use std::process::{Child, Command, Stdio};

use serde_json::json;
use snp::domain::access::Role;

use crate::bookings::assert_booking_invariants;
use crate::cli::{HttpClient, free_port};
use crate::helpers::{TestApp, slot};
use crate::on_both_databases;

on_both_databases!(two_server_processes_never_book_a_slot_twice);

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

fn start_server(database_url: &str) -> (Server, HttpClient) {
    let bind = format!("127.0.0.1:{}", free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_snp"))
        .arg("serve")
        .env("SNP__DATABASE__URL", database_url)
        .env("SNP__HTTP__BIND", &bind)
        .env("SNP__LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start snp serve");
    (Server(child), HttpClient { base: format!("http://{bind}") })
}

async fn two_server_processes_never_book_a_slot_twice(app: TestApp) {
    let practice = app.practice(json!({})).await;
    let gp = app.professional(&[&practice], json!({})).await;
    let regulator = app.key(Role::Regulator, None, &[]).await;
    // Slots must lie in the future of the servers' real clock, not the test clock.
    let offset = (chrono::Utc::now() - crate::helpers::test_now()).num_minutes().max(0);
    app.clock.advance(chrono::Duration::minutes(offset));
    let published =
        app.publish(&app.admin_key, (0..8).map(|i| slot(&gp, &practice, offset + 600 + 30 * i, 15)).collect()).await;
    assert_eq!(published.status, axum::http::StatusCode::CREATED, "{}", published.text);
    let slots: Vec<String> =
        published.body["slots"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect();
    let url = app.settings.database.url.clone();
    let (_first, a) = start_server(&url);
    let (_second, b) = start_server(&url);
    assert!(a.wait_until_ready().await && b.wait_until_ready().await, "both servers answer");
    let clients = std::sync::Arc::new([a, b]);
    let mut tasks = Vec::new();
    for slot_id in &slots {
        for attempt in 0..6 {
            let (clients, key, slot_id) = (clients.clone(), regulator.clone(), slot_id.clone());
            tasks.push(tokio::spawn(async move {
                let body = json!({"slot_id": slot_id, "motif": "gp_unscheduled",
                    "patient": {"first_name": "Léa", "last_name": "Martin", "birth_date": "1988-03-14", "phone": "0612345678"}});
                let (status, text) = clients[attempt % 2].post_json("/api/v1/bookings", &key, &body).await.expect("request");
                (slot_id, status, text)
            }));
        }
    }
    let mut booked = std::collections::HashMap::new();
    for task in tasks {
        let (slot_id, status, text) = task.await.unwrap();
        match status {
            201 => *booked.entry(slot_id).or_insert(0) += 1,
            409 => assert!(text.contains("slot_unavailable"), "{text}"),
            other => panic!("unexpected {other}: {text}"),
        }
    }
    assert_eq!(booked.len(), slots.len(), "every slot was booked");
    assert!(booked.values().all(|n| *n == 1), "a slot was booked twice: {booked:?}");
    assert_booking_invariants(&app).await;
}
