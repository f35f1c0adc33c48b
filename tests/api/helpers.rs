//! The test application: a fresh database per test (a temp SQLite file, or a fresh PostgreSQL database created
//! from `SNP_TEST_POSTGRES_URL` and dropped afterwards), the real router driven with `oneshot`, a manual clock.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use chrono::{DateTime, Duration, TimeZone, Utc};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use snp::api_keys::{KeyRequest, issue};
use snp::clock::ManualClock;
use snp::config::Settings;
use snp::domain::access::Role;
use snp::domain::identifiers::with_luhn_check_digit;
use snp::http::{AppState, router};
use snp::store::{self, Store};
use sqlx::Connection;
use tower::ServiceExt;

/// Tuesday 24 November 2026, 09:00 in Paris.
pub fn test_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap()
}

pub struct TestApp {
    pub router: Router,
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
    pub settings: Settings,
    pub admin_key: String,
    /// Search statistics are written behind the answers: [`TestApp::count`] waits for them first.
    pub search_log: snp::http::search_log::SearchLog,
    _database: TestDatabase,
}

/// Keeps the test's database alive, and removes it when the test ends.
pub enum TestDatabase {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime: do the async clean-up on a thread of its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                runtime.block_on(async {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                        let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(drop)).execute(&mut conn).await;
                    }
                });
            })
            .join();
        }
    }
}

/// A fresh database URL for one test, or `None` where PostgreSQL is not configured (never in CI).
pub async fn fresh_postgres_database() -> Option<(String, TestDatabase)> {
    let Ok(admin_url) = std::env::var("SNP_TEST_POSTGRES_URL") else {
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("SNP_TEST_POSTGRES_URL must be set in CI: the PostgreSQL half of the suite may not be skipped");
        }
        eprintln!("SNP_TEST_POSTGRES_URL is not set: PostgreSQL variant skipped (set it to run the suite on both)");
        return None;
    };
    let name = format!("snp_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin_url).await.expect("connect to SNP_TEST_POSTGRES_URL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    conn.close().await.ok();
    let url = replace_database(&admin_url, &name);
    Some((url, TestDatabase::Postgres { admin_url, name }))
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    format!("{base}/{name}{query}")
}

pub fn fresh_sqlite_database() -> (String, TestDatabase) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/nested/snp.db", dir.path().display());
    (url, TestDatabase::Sqlite(dir))
}

pub fn test_settings(database_url: &str) -> Settings {
    let mut settings = Settings::load(None).expect("default settings");
    settings.database.url = database_url.to_string();
    settings.database.max_connections = 5;
    settings.slots.max_batch = 50;
    settings
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        let (url, database) = fresh_sqlite_database();
        TestApp::start(url, database).await
    }

    pub async fn postgres() -> Option<TestApp> {
        let (url, database) = fresh_postgres_database().await?;
        Some(TestApp::start(url, database).await)
    }

    async fn start(url: String, database: TestDatabase) -> TestApp {
        let settings = test_settings(&url);
        let store = store::connect(&settings.database).await.expect("connect");
        store.migrate().await.expect("migrate");
        let clock = Arc::new(ManualClock::new(test_now()));
        let state = AppState::new(store.clone(), clock.clone(), &settings);
        let search_log = state.search_log.clone();
        let router = router(state, &settings);
        let admin_key = issue_key(store.as_ref(), Role::Admin, None, vec![]).await;
        TestApp { router, store, clock, settings, admin_key, search_log, _database: database }
    }

    /// Sends a request through the real router.
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        send_to(&self.router, request).await
    }

    pub async fn call(&self, method: Method, path: &str, key: Option<&str>, body: Option<Value>) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(key) = key {
            builder = builder.header("authorization", format!("Bearer {key}"));
        }
        let request = match body {
            Some(body) => builder.header("content-type", "application/json").body(Body::from(body.to_string())),
            None => builder.body(Body::empty()),
        };
        self.send(request.unwrap()).await
    }

    pub async fn raw(&self, method: Method, path: &str, key: &str, content_type: &str, body: &str) -> TestResponse {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", content_type)
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(request).await
    }

    pub async fn get(&self, path: &str, key: &str) -> TestResponse {
        self.call(Method::GET, path, Some(key), None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> TestResponse {
        self.call(Method::POST, path, Some(key), Some(body)).await
    }

    pub async fn delete(&self, path: &str, key: &str) -> TestResponse {
        self.call(Method::DELETE, path, Some(key), None).await
    }

    pub async fn key(&self, role: Role, professional_id: Option<&str>, practice_ids: &[&str]) -> String {
        issue_key(
            self.store.as_ref(),
            role,
            professional_id.map(str::to_string),
            practice_ids.iter().map(|p| p.to_string()).collect(),
        )
        .await
    }

    /// Creates a practice in Le Havre (or with the fields of `overrides`) and returns its id.
    pub async fn practice(&self, overrides: Value) -> String {
        let mut body = practice_body();
        merge(&mut body, overrides);
        let response = self.post("/api/v1/practices", &self.admin_key, body).await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
        response.body["id"].as_str().unwrap().to_string()
    }

    /// Creates a professional (a GP by default, with a fresh valid RPPS) at the given practices.
    pub async fn professional(&self, practice_ids: &[&str], overrides: Value) -> String {
        let mut body = professional_body(practice_ids);
        merge(&mut body, overrides);
        let response = self.post("/api/v1/professionals", &self.admin_key, body).await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
        response.body["id"].as_str().unwrap().to_string()
    }

    /// Publishes slots and returns the response.
    pub async fn publish(&self, key: &str, slots: Vec<Value>) -> TestResponse {
        self.post("/api/v1/slots", key, json!({ "slots": slots })).await
    }

    /// Counts slots in the database whatever their status, as the admin sees them.
    pub async fn slot_count(&self, query: &str) -> usize {
        let response = self.get(&format!("/api/v1/slots?limit=1000&{query}"), &self.admin_key).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text);
        response.body["slots"].as_array().unwrap().len()
    }
}

impl TestApp {
    /// Another server process on the same database: its own connections and its own search index, the same
    /// clock. (In-process, but it shares nothing in memory with `self`.)
    pub async fn second_process(&self) -> Router {
        let store = store::connect(&self.settings.database).await.expect("connect");
        router(AppState::new(store, self.clock.clone(), &self.settings), &self.settings)
    }

    /// Sends a JSON request to another process's router.
    pub async fn call_on(&self, other: &Router, method: Method, path: &str, key: &str, body: Value) -> TestResponse {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        send_to(other, request).await
    }

    /// Puts a slot in a state the API cannot reach yet (held, booked), through a connection of its own.
    pub async fn force_slot_status(&self, slot_id: &str, status: &str) {
        let url = &self.settings.database.url;
        let sql = "UPDATE slots SET status = $1 WHERE id = $2";
        let changed = if url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            sqlx::query(sql).bind(status).bind(slot_id).execute(&pool).await.unwrap().rows_affected()
        } else {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::query(sql).bind(status).bind(slot_id).execute(&pool).await.unwrap().rows_affected()
        };
        assert_eq!(changed, 1);
    }
}

impl TestApp {
    /// Counts rows with a query of the test's own (to check what the API does not show, e.g. statistics).
    pub async fn count(&self, sql: &str, bind: &str) -> i64 {
        self.search_log.flush().await;
        let url = &self.settings.database.url;
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        if url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            sqlx::query_scalar(sql).bind(bind).fetch_one(&pool).await.unwrap()
        } else {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::query_scalar(sql).bind(bind).fetch_one(&pool).await.unwrap()
        }
    }

    /// Runs a statement of the test's own, in the dialect of the test's database.
    pub async fn execute(&self, sqlite: &str, postgres: &str) {
        let url = &self.settings.database.url;
        if url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sqlite.to_string())).execute(&pool).await.unwrap();
        } else {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(postgres.to_string())).execute(&pool).await.unwrap();
        }
    }
}

pub async fn issue_key(
    store: &dyn Store,
    role: Role,
    professional_id: Option<String>,
    practice_ids: Vec<String>,
) -> String {
    let request = KeyRequest { role, name: format!("test {}", role.as_str()), professional_id, practice_ids };
    let issued = issue(store, request, test_now()).await.expect("issue key");
    issued.secret.expose().to_string()
}

/// Sends a request through a router (the test's own, or another process's).
pub async fn send_to(router: &Router, request: Request<Body>) -> TestResponse {
    let response = router.clone().oneshot(request).await.expect("router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    let text = String::from_utf8_lossy(&bytes).to_string();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    TestResponse { status, headers, body, text }
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl TestResponse {
    /// Asserts a problem+json answer with this status and code, and returns the field names it lists.
    pub fn problem(&self, status: StatusCode, code: &str) -> Vec<String> {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.headers["content-type"], "application/problem+json", "{}", self.text);
        assert_eq!(self.body["code"], code, "{}", self.text);
        assert_eq!(self.body["status"], status.as_u16());
        assert!(self.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
        self.body["errors"]
            .as_array()
            .map(|errors| errors.iter().map(|e| e["field"].as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    }
}

pub fn practice_body() -> Value {
    json!({
        "name": "MSP de Caucriauville", "kind": "msp", "address": "12 rue Jules Vallès", "postal_code": "76610",
        "commune": "Le Havre", "departement": "76", "lat": 49.5107, "lon": 0.1632, "timezone": "Europe/Paris"
    })
}

static RPPS_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A valid RPPS number never used before in this test run.
pub fn fresh_rpps() -> String {
    let n = RPPS_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    with_luhn_check_digit(&format!("10{:08}", n + 1))
}

pub fn professional_body(practice_ids: &[&str]) -> Value {
    json!({
        "rpps": fresh_rpps(), "first_name": "Claire", "last_name": "Lefebvre", "profession": "gp",
        "skills": [], "practice_ids": practice_ids, "accepts_new_patients": true, "accepts_overbooking": false,
        "home_visit_radius_km": 10, "email": "claire.lefebvre@example.fr", "phone": "06 12 34 56 78"
    })
}

/// A 15-minute in-person slot starting `minutes_from_now` after the test clock's now.
pub fn slot(professional_id: &str, practice_id: &str, minutes_from_now: i64, length: i64) -> Value {
    let start = test_now() + Duration::minutes(minutes_from_now);
    json!({
        "professional_id": professional_id, "practice_id": practice_id,
        "start": start.to_rfc3339(), "end": (start + Duration::minutes(length)).to_rfc3339(),
        "modality": "in_person", "visibility": "regulation"
    })
}

pub fn merge(base: &mut Value, overrides: Value) {
    if let (Some(base), Value::Object(overrides)) = (base.as_object_mut(), overrides) {
        for (k, v) in overrides {
            if v.is_null() {
                base.remove(&k);
            } else {
                base.insert(k, v);
            }
        }
    }
}

/// Runs each listed test (an `async fn(TestApp)`) on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::TestApp::sqlite().await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::helpers::TestApp::postgres().await {
                        super::$name(app).await;
                    }
                }
            }
        )*
    };
}
