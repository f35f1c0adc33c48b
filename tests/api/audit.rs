//! The audit trail: every change and every view of a patient's details is traced (who, which role, what, which
//! record, which request, when); admins read it with filters; nobody can change or remove it.

use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::{Value, json};
use snp::domain::access::Role;
use snp::domain::api_key::digest;

use crate::helpers::{TestApp, slot};
use crate::on_both_databases;

on_both_databases!(
    every_change_and_every_view_of_a_patient_is_traced,
    admins_filter_the_trail_and_bad_filters_are_refused,
    the_trail_is_append_only_whoever_asks,
);

async fn key_id(app: &TestApp, secret: &str) -> String {
    app.store.find_api_key(&digest(secret)).await.unwrap().unwrap().id
}

async fn trail(app: &TestApp, query: &str) -> Vec<Value> {
    let listed = app.get(&format!("/api/v1/audit{query}"), &app.admin_key).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    listed.body["events"].as_array().unwrap().clone()
}

/// (action, target_type, target_id, actor_id, role) of events, oldest first.
fn summary(events: &[Value]) -> Vec<(String, String, String, String, String)> {
    let s = |e: &Value, k: &str| e[k].as_str().unwrap_or_default().to_string();
    events
        .iter()
        .rev()
        .map(|e| (s(e, "action"), s(e, "target_type"), s(e, "target_id"), s(e, "actor_id"), s(e, "role")))
        .collect()
}

/// A practice, a GP, a slot tomorrow, and the regulator's booking of it.
async fn a_booking(app: &TestApp) -> (String, String, String, String) {
    let practice = app.practice(json!({})).await;
    let gp = app.professional(&[&practice], json!({})).await;
    let published = app.publish(&app.admin_key, vec![slot(&gp, &practice, 25 * 60, 15)]).await;
    let slot_id = published.body["slots"][0]["id"].as_str().unwrap().to_string();
    let regulator = app.key(Role::Regulator, None, &[]).await;
    let body = json!({"slot_id": slot_id, "motif": "gp_unscheduled", "note": "Fièvre depuis trois jours",
        "patient": {"first_name": "Léa", "last_name": "Martin", "birth_date": "1988-03-14", "phone": "0612345678"}});
    let booked = app.post("/api/v1/bookings", &regulator, body).await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.text);
    (practice, gp, regulator, booked.body["id"].as_str().unwrap().to_string())
}

async fn every_change_and_every_view_of_a_patient_is_traced(app: TestApp) {
    let admin = key_id(&app, &app.admin_key).await;
    let (practice, gp, regulator_key, booking) = a_booking(&app).await;
    let regulator = key_id(&app, &regulator_key).await;
    // A view: its request id is the one the trail records.
    let shown = app.get(&format!("/api/v1/bookings/{booking}"), &regulator_key).await;
    let request_id = shown.headers["x-request-id"].to_str().unwrap().to_string();
    let listed = app.get("/api/v1/bookings", &regulator_key).await;
    assert_eq!(listed.body["bookings"].as_array().unwrap().len(), 1);
    let cancelled = app.post(&format!("/api/v1/bookings/{booking}/cancel"), &regulator_key, json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK);
    // Reading the notifications shows no contact detail: not a view of patient data.
    app.get(&format!("/api/v1/bookings/{booking}/notifications"), &regulator_key).await;

    let events = trail(&app, "").await;
    let s = |a: &str, t: &str, id: &str, who: &str, role: &str| {
        (a.to_string(), t.to_string(), id.to_string(), who.to_string(), role.to_string())
    };
    assert_eq!(
        summary(&events),
        [
            s("practice.create", "practice", &practice, &admin, "admin"),
            s("professional.create", "professional", &gp, &admin, "admin"),
            s("slots.publish", "professional", &gp, &admin, "admin"),
            s("booking.create", "booking", &booking, &regulator, "regulator"),
            s("booking.view", "booking", &booking, &regulator, "regulator"),
            s("booking.view", "booking", &booking, &regulator, "regulator"),
            s("booking.cancel", "booking", &booking, &regulator, "regulator"),
        ]
    );
    let publish = &events[4];
    assert_eq!(publish["detail"], "1 slots");
    let view = events.iter().find(|e| e["request_id"] == request_id.as_str()).unwrap();
    assert_eq!(view["action"], "booking.view");
    assert_eq!(view["actor_kind"], "api_key");
    assert_eq!(view["at"], "2026-11-24T08:00:00Z");
    assert_eq!(events[1]["detail"], "list");
    // Pseudonymous: ids, never a name, a phone, a reason or a note.
    let raw = serde_json::to_string(&events).unwrap();
    for secret in ["Martin", "Léa", "0612345678", "+33612345678", "Fièvre", "gp_unscheduled"] {
        assert!(!raw.contains(secret), "{secret} in the trail");
    }
}

async fn admins_filter_the_trail_and_bad_filters_are_refused(app: TestApp) {
    let (_, _, regulator_key, booking) = a_booking(&app).await;
    let regulator = key_id(&app, &regulator_key).await;
    app.clock.advance(Duration::hours(1));
    app.get(&format!("/api/v1/bookings/{booking}"), &regulator_key).await;

    let of_booking = trail(&app, &format!("?target_type=booking&target_id={booking}")).await;
    let actions: Vec<&str> = of_booking.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["booking.view", "booking.create"], "newest first");
    let by_regulator = trail(&app, &format!("?actor_id={regulator}&action=booking.view")).await;
    assert_eq!(by_regulator.len(), 1);
    let later = trail(&app, "?from=2026-11-24T08:30:00Z").await;
    assert_eq!(summary(&later).iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), ["booking.view"]);
    let earlier = trail(&app, "?to=2026-11-24T08:30:00Z&limit=2").await;
    assert_eq!(earlier.len(), 2);
    let page = app.get("/api/v1/audit?to=2026-11-24T08:30:00Z&limit=2", &app.admin_key).await;
    assert_eq!(page.body["next_offset"], 2);

    // Admins and coordinators only; bad filters are named.
    for role in [Role::Regulator, Role::Professional, Role::Publisher] {
        let professional = app.professional(&[&app.practice(json!({})).await], json!({})).await;
        let practice = app.practice(json!({})).await;
        let key = match role {
            Role::Professional => app.key(role, Some(&professional), &[]).await,
            Role::Publisher => app.key(role, None, &[&practice]).await,
            _ => app.key(role, None, &[]).await,
        };
        assert_eq!(app.get("/api/v1/audit", &key).await.status, StatusCode::FORBIDDEN, "{role:?}");
    }
    let coordinator = app.key(Role::Coordinator, None, &[]).await;
    assert_eq!(app.get("/api/v1/audit", &coordinator).await.status, StatusCode::OK);
    assert_eq!(app.call(Method::GET, "/api/v1/audit", None, None).await.status, StatusCode::UNAUTHORIZED);
    for (query, field) in [("?from=yesterday", "from"), ("?limit=0", "limit"), ("?who=me", "who")] {
        let refused = app.get(&format!("/api/v1/audit{query}"), &app.admin_key).await;
        assert_eq!(refused.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), [field], "{query}");
    }
}

async fn the_trail_is_append_only_whoever_asks(app: TestApp) {
    a_booking(&app).await;
    let url = &app.settings.database.url;
    let attempts = [
        "UPDATE audit_events SET actor_id = 'someone else'",
        "DELETE FROM audit_events",
        if url.starts_with("sqlite:") { "DELETE FROM audit_events WHERE 1 = 1" } else { "TRUNCATE audit_events" },
    ];
    for statement in attempts {
        let error = if url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            sqlx::raw_sql(statement).execute(&pool).await.unwrap_err()
        } else {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::raw_sql(statement).execute(&pool).await.unwrap_err()
        };
        assert!(error.to_string().contains("the audit trail is append-only"), "{statement}: {error}");
    }
    assert_eq!(trail(&app, "").await.len(), 4);
}
