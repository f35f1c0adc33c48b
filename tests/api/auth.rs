//! The role matrix: 401 without a valid key, 403 per role, and per-object scoping of professional and
//! publisher keys.

use axum::http::{Method, StatusCode};
use serde_json::json;
use snp::domain::access::Role;

use crate::helpers::{TestApp, practice_body, professional_body, slot};
use crate::on_both_databases;

on_both_databases!(
    every_api_route_requires_a_valid_key,
    directory_writes_are_for_admins_and_coordinators,
    directory_reads_are_scoped_for_professional_and_publisher_keys,
    a_professional_key_touches_only_its_own_slots,
    a_publisher_key_touches_only_its_practices,
    regulators_cannot_publish_or_withdraw,
    only_admins_issue_api_keys_and_bindings_are_checked,
    a_revoked_key_is_refused_at_once_and_listings_never_show_secrets,
    a_key_revoked_by_another_process_is_refused_within_the_cache_time,
);

async fn every_api_route_requires_a_valid_key(app: TestApp) {
    let routes = [
        (Method::GET, "/api/v1/practices"),
        (Method::POST, "/api/v1/practices"),
        (Method::GET, "/api/v1/practices/x"),
        (Method::GET, "/api/v1/professionals"),
        (Method::POST, "/api/v1/professionals"),
        (Method::GET, "/api/v1/professionals/x"),
        (Method::GET, "/api/v1/slots"),
        (Method::POST, "/api/v1/slots"),
        (Method::GET, "/api/v1/slots/x"),
        (Method::DELETE, "/api/v1/slots/x"),
        (Method::POST, "/api/v1/api-keys"),
        (Method::GET, "/api/v1/api-keys"),
        (Method::DELETE, "/api/v1/api-keys/x"),
        (Method::POST, "/api/v1/availability-rules"),
        (Method::GET, "/api/v1/availability-rules"),
        (Method::PUT, "/api/v1/availability-rules/x"),
        (Method::GET, "/api/v1/availability-rules/x/preview"),
        (Method::POST, "/api/v1/absences"),
        (Method::DELETE, "/api/v1/absences/x"),
    ];
    let wrong_secret = format!("snp_{}", "0".repeat(64));
    for (method, path) in routes {
        let none = app.call(method.clone(), path, None, Some(json!({}))).await;
        none.problem(StatusCode::UNAUTHORIZED, "unauthorized");
        assert_eq!(none.headers["www-authenticate"], "Bearer");
        let wrong = app.call(method.clone(), path, Some(&wrong_secret), Some(json!({}))).await;
        wrong.problem(StatusCode::UNAUTHORIZED, "unauthorized");
        let request = axum::http::Request::builder()
            .method(method.clone())
            .uri(path)
            .header("authorization", format!("Basic {}", app.admin_key))
            .body(axum::body::Body::empty())
            .unwrap();
        app.send(request).await.problem(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    // Probes are open.
    assert_eq!(app.call(Method::GET, "/healthz", None, None).await.status, StatusCode::OK);
    let ready = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.body["database"], app.store.backend());
}

async fn directory_writes_are_for_admins_and_coordinators(app: TestApp) {
    let practice = app.practice(json!({})).await;
    let professional = app.professional(&[&practice], json!({})).await;
    let coordinator = app.key(Role::Coordinator, None, &[]).await;
    let created = app.post("/api/v1/practices", &coordinator, practice_body()).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let created = app.post("/api/v1/professionals", &coordinator, professional_body(&[&practice])).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let others = [
        app.key(Role::Regulator, None, &[]).await,
        app.key(Role::Professional, Some(&professional), &[]).await,
        app.key(Role::Publisher, None, &[&practice]).await,
    ];
    for key in &others {
        let response = app.post("/api/v1/practices", key, practice_body()).await;
        response.problem(StatusCode::FORBIDDEN, "forbidden");
        let response = app.post("/api/v1/professionals", key, professional_body(&[&practice])).await;
        response.problem(StatusCode::FORBIDDEN, "forbidden");
        // The role is checked before the body: a forbidden caller learns nothing from validation.
        let response = app.raw(Method::POST, "/api/v1/practices", key, "application/json", "{not json").await;
        response.problem(StatusCode::FORBIDDEN, "forbidden");
    }
    let list = app.get("/api/v1/practices", &app.admin_key).await;
    assert_eq!(list.body["practices"].as_array().unwrap().len(), 2);
}

async fn directory_reads_are_scoped_for_professional_and_publisher_keys(app: TestApp) {
    let mine = app.practice(json!({})).await;
    let other = app.practice(json!({"name": "Cabinet voisin"})).await;
    let me = app.professional(&[&mine], json!({"last_name": "Ardouin"})).await;
    let stranger = app.professional(&[&other], json!({"last_name": "Berthe"})).await;
    let ids = |r: &crate::helpers::TestResponse| -> Vec<String> {
        r.body["professionals"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_string()).collect()
    };
    for key in [app.key(Role::Coordinator, None, &[]).await, app.key(Role::Regulator, None, &[]).await] {
        assert_eq!(app.get(&format!("/api/v1/professionals/{stranger}"), &key).await.status, StatusCode::OK);
        assert_eq!(ids(&app.get("/api/v1/professionals", &key).await), [me.clone(), stranger.clone()]);
    }
    let professional = app.key(Role::Professional, Some(&me), &[]).await;
    let publisher = app.key(Role::Publisher, None, &[&mine]).await;
    for key in [&professional, &publisher] {
        assert_eq!(app.get(&format!("/api/v1/professionals/{me}"), key).await.status, StatusCode::OK);
        let hidden = app.get(&format!("/api/v1/professionals/{stranger}"), key).await;
        hidden.problem(StatusCode::FORBIDDEN, "forbidden");
        assert!(!hidden.text.contains("Berthe"));
        let listed = app.get("/api/v1/professionals", key).await;
        assert_eq!(ids(&listed), [me.as_str()]);
        assert!(!listed.text.contains("Berthe"), "no contact details of professionals out of scope");
        // Everyone may read practices: they are public places.
        assert_eq!(app.get(&format!("/api/v1/practices/{other}"), key).await.status, StatusCode::OK);
    }
    app.get(&format!("/api/v1/professionals?practice_id={other}"), &publisher)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
}

async fn a_professional_key_touches_only_its_own_slots(app: TestApp) {
    let practice = app.practice(json!({})).await;
    let me = app.professional(&[&practice], json!({})).await;
    let colleague = app.professional(&[&practice], json!({})).await;
    let key = app.key(Role::Professional, Some(&me), &[]).await;
    let mine = app.publish(&key, vec![slot(&me, &practice, 60, 15)]).await;
    assert_eq!(mine.status, StatusCode::CREATED, "{}", mine.text);
    let theirs = app.publish(&key, vec![slot(&me, &practice, 120, 15), slot(&colleague, &practice, 60, 15)]).await;
    theirs.problem(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(app.slot_count("").await, 1, "nothing of the forbidden batch was written");
    let colleague_slot = app.publish(&app.admin_key, vec![slot(&colleague, &practice, 60, 15)]).await;
    let colleague_slot = colleague_slot.body["slots"][0]["id"].as_str().unwrap().to_string();
    app.delete(&format!("/api/v1/slots/{colleague_slot}"), &key).await.problem(StatusCode::FORBIDDEN, "forbidden");
    app.get(&format!("/api/v1/slots/{colleague_slot}"), &key).await.problem(StatusCode::FORBIDDEN, "forbidden");
    let listed = app.get("/api/v1/slots", &key).await;
    let owners: Vec<&str> =
        listed.body["slots"].as_array().unwrap().iter().map(|s| s["professional_id"].as_str().unwrap()).collect();
    assert_eq!(owners, [me.as_str()]);
    app.get(&format!("/api/v1/slots?professional_id={colleague}"), &key)
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    let my_slot = mine.body["slots"][0]["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/api/v1/slots/{my_slot}"), &key).await.status, StatusCode::NO_CONTENT);
    let still_free = app.get(&format!("/api/v1/slots/{colleague_slot}"), &app.admin_key).await;
    assert_eq!(still_free.body["status"], "free");
}

async fn a_publisher_key_touches_only_its_practices(app: TestApp) {
    let mine = app.practice(json!({})).await;
    let other = app.practice(json!({"name": "Cabinet voisin"})).await;
    let pro = app.professional(&[&mine, &other], json!({})).await;
    let key = app.key(Role::Publisher, None, &[&mine]).await;
    let ok = app.publish(&key, vec![slot(&pro, &mine, 60, 15)]).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
    // A professional who does not work at the publisher's practice: refused without revealing who it is.
    let outsider = app.professional(&[&other], json!({"last_name": "Inconnu"})).await;
    let refused = app.publish(&key, vec![slot(&outsider, &mine, 60, 15)]).await;
    assert_eq!(refused.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), ["slots[0].practice_id"]);
    assert!(!refused.text.contains("Inconnu"));
    app.publish(&key, vec![slot(&pro, &other, 120, 15)]).await.problem(StatusCode::FORBIDDEN, "forbidden");
    let elsewhere = app.publish(&app.admin_key, vec![slot(&pro, &other, 180, 15)]).await;
    let elsewhere = elsewhere.body["slots"][0]["id"].as_str().unwrap().to_string();
    app.delete(&format!("/api/v1/slots/{elsewhere}"), &key).await.problem(StatusCode::FORBIDDEN, "forbidden");
    app.get(&format!("/api/v1/slots/{elsewhere}"), &key).await.problem(StatusCode::FORBIDDEN, "forbidden");
    let listed = app.get("/api/v1/slots", &key).await;
    let practices: Vec<&str> =
        listed.body["slots"].as_array().unwrap().iter().map(|s| s["practice_id"].as_str().unwrap()).collect();
    assert_eq!(practices, [mine.as_str()]);
    app.get(&format!("/api/v1/slots?practice_id={other}"), &key).await.problem(StatusCode::FORBIDDEN, "forbidden");
    let own = ok.body["slots"][0]["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/api/v1/slots/{own}"), &key).await.status, StatusCode::NO_CONTENT);
}

async fn regulators_cannot_publish_or_withdraw(app: TestApp) {
    let practice = app.practice(json!({})).await;
    let pro = app.professional(&[&practice], json!({})).await;
    let regulator = app.key(Role::Regulator, None, &[]).await;
    app.publish(&regulator, vec![slot(&pro, &practice, 60, 15)]).await.problem(StatusCode::FORBIDDEN, "forbidden");
    let published = app.publish(&app.admin_key, vec![slot(&pro, &practice, 60, 15)]).await;
    let id = published.body["slots"][0]["id"].as_str().unwrap();
    app.delete(&format!("/api/v1/slots/{id}"), &regulator).await.problem(StatusCode::FORBIDDEN, "forbidden");
    let coordinator = app.key(Role::Coordinator, None, &[]).await;
    assert_eq!(app.delete(&format!("/api/v1/slots/{id}"), &coordinator).await.status, StatusCode::NO_CONTENT);
}

async fn only_admins_issue_api_keys_and_bindings_are_checked(app: TestApp) {
    let practice = app.practice(json!({})).await;
    let pro = app.professional(&[&practice], json!({})).await;
    let response = app
        .post(
            "/api/v1/api-keys",
            &app.admin_key,
            json!({"role": "publisher", "name": "Agenda MSP", "practice_ids": [practice]}),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    let secret = response.body["key"].as_str().unwrap();
    assert!(secret.starts_with("snp_") && secret.len() == 4 + 64, "256 bits in hex");
    let published = app.publish(secret, vec![slot(&pro, &practice, 60, 15)]).await;
    assert_eq!(published.status, StatusCode::CREATED, "the new key works at once");
    let coordinator = app.key(Role::Coordinator, None, &[]).await;
    app.post("/api/v1/api-keys", &coordinator, json!({"role": "admin", "name": "x"}))
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    for (body, field) in [
        (json!({"role": "professional", "name": "Dr X"}), "role"),
        (json!({"role": "professional", "name": "Dr X", "professional_id": "nobody"}), "professional_id"),
        (json!({"role": "publisher", "name": "Agenda"}), "role"),
        (json!({"role": "publisher", "name": "Agenda", "practice_ids": ["nowhere"]}), "practice_ids[0]"),
        (json!({"role": "regulator", "name": "SAS", "professional_id": pro}), "role"),
        (json!({"role": "regulator", "name": " "}), "name"),
        (json!({"role": "wizard", "name": "x"}), "role"),
    ] {
        let response = app.post("/api/v1/api-keys", &app.admin_key, body.clone()).await;
        assert_eq!(response.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), [field], "{body}");
    }
}

async fn a_revoked_key_is_refused_at_once_and_listings_never_show_secrets(app: TestApp) {
    let created =
        app.post("/api/v1/api-keys", &app.admin_key, json!({"role": "regulator", "name": "SAS 76 poste 3"})).await;
    let (id, secret) = (created.body["id"].as_str().unwrap(), created.body["key"].as_str().unwrap());
    assert_eq!(app.get("/api/v1/practices", secret).await.status, StatusCode::OK);
    app.get("/api/v1/api-keys", secret).await.problem(StatusCode::FORBIDDEN, "forbidden");
    app.delete(&format!("/api/v1/api-keys/{id}"), secret).await.problem(StatusCode::FORBIDDEN, "forbidden");
    let listed = app.get("/api/v1/api-keys", &app.admin_key).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert!(!listed.text.contains(secret), "a listing never shows a secret");
    assert!(!listed.text.contains(&snp::domain::api_key::digest(secret)), "nor its digest");
    let entry = listed.body["api_keys"].as_array().unwrap().iter().find(|k| k["id"] == id).unwrap().clone();
    assert_eq!(entry["role"], "regulator");
    assert_eq!(entry["revoked_at"], serde_json::Value::Null);
    assert_eq!(app.delete(&format!("/api/v1/api-keys/{id}"), &app.admin_key).await.status, StatusCode::NO_CONTENT);
    app.get("/api/v1/practices", secret).await.problem(StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(app.delete(&format!("/api/v1/api-keys/{id}"), &app.admin_key).await.status, StatusCode::NO_CONTENT);
    app.delete("/api/v1/api-keys/unknown", &app.admin_key).await.problem(StatusCode::NOT_FOUND, "not_found");
    let listed = app.get("/api/v1/api-keys", &app.admin_key).await;
    let entry = listed.body["api_keys"].as_array().unwrap().iter().find(|k| k["id"] == id).unwrap().clone();
    assert_eq!(entry["revoked_at"], "2026-11-24T08:00:00Z");
}

/// The key cache as another process's revocation meets it, through the server and by the injected clock: trusted
/// for the configured time after it was last read valid, then asked again; a clock set back makes a reading
/// stale; a new key is never refused from memory; a zero time asks on every request.
async fn a_key_revoked_by_another_process_is_refused_within_the_cache_time(app: TestApp) {
    use chrono::Duration;
    use snp::api_keys::{KeyCache, KeyRequest, issue};
    use snp::clock::Clock;
    assert_eq!(app.settings.http.api_key_cache_secs, 2);
    let created = app.post("/api/v1/api-keys", &app.admin_key, json!({"role": "regulator", "name": "SAS 27"})).await;
    let (id, secret) = (created.body["id"].as_str().unwrap(), created.body["key"].as_str().unwrap());
    assert_eq!(app.get("/api/v1/practices", secret).await.status, StatusCode::OK, "a new key works at once");
    app.store.revoke_api_key(id, app.clock.now()).await.unwrap(); // as another process, or `snp api-key revoke`
    app.clock.advance(Duration::milliseconds(1_900));
    assert_eq!(app.get("/api/v1/practices", secret).await.status, StatusCode::OK, "trusted within the cache time");
    app.clock.advance(Duration::milliseconds(100));
    app.get("/api/v1/practices", secret).await.problem(StatusCode::UNAUTHORIZED, "unauthorized");
    app.clock.advance(Duration::milliseconds(-1_000));
    app.get("/api/v1/practices", secret).await.problem(StatusCode::UNAUTHORIZED, "unauthorized");

    // The cache alone: a clock set back, and no cache at all.
    let request =
        KeyRequest { role: Role::Regulator, name: "SAS 27 bis".into(), professional_id: None, practice_ids: vec![] };
    let store = app.store.as_ref();
    let (cache, zero) = (KeyCache::new(Duration::seconds(2)), KeyCache::new(Duration::zero()));
    let t0 = app.clock.now();
    let issued = issue(store, request, t0).await.unwrap();
    let digest = issued.secret.digest();
    assert!(cache.find(store, &digest, t0).await.unwrap().is_some());
    assert!(zero.find(store, &digest, t0).await.unwrap().is_some());
    store.revoke_api_key(&issued.key.id, t0).await.unwrap();
    assert!(zero.find(store, &digest, t0).await.unwrap().is_none(), "no cache: refused at once");
    assert!(cache.find(store, &digest, t0 + Duration::seconds(1)).await.unwrap().is_some(), "trusted meanwhile");
    assert!(cache.find(store, &digest, t0 - Duration::seconds(1)).await.unwrap().is_none(), "clock set back: asked");
    assert!(cache.find(store, &digest, t0).await.unwrap().is_none(), "and never trusted again");
}
