//! A stand-in for the OVHcloud SMS API on 127.0.0.1 (the real one cannot be reached from here), speaking its
//! protocol: `GET /1.0/auth/time`, and `POST /1.0/sms/{service}/jobs` checked as OVHcloud checks it — the
//! application key, the consumer key, the timestamp against its own clock (set two hours ahead of ours, so a
//! client that signs with its own clock is refused) and the `$1$` SHA-1 signature over the full URL and body.
//! Well-signed jobs are recorded; failures are switchable (an HTTP error, or a hang).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use snp::config::SmsSettings;

pub const APPLICATION_KEY: &str = "7kbG7Bk7S9Nt7ZSV";
pub const APPLICATION_SECRET: &str = "EXEMPLEZEXEMPLEZEXEMPLEZEXEMPLEZ";
pub const CONSUMER_KEY: &str = "MtSwSrPpNjqfVSmJhLbPyr2i45lSwPU1";
pub const SERVICE: &str = "sms-ab12345-1";
/// The provider's clock runs this far ahead of ours (until a test moves it).
const CLOCK_AHEAD_SECS: i64 = 7200;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    Ok,
    /// Answer with this status and message (after checking the signature).
    Fail(u16, &'static str),
    /// Never answer.
    Hang,
}

struct Shared {
    mode: Mutex<Mode>,
    jobs: Mutex<Vec<Value>>,
    refusals: Mutex<Vec<String>>,
    next_id: AtomicI64,
    clock_ahead_secs: AtomicI64,
}

impl Shared {
    fn now(&self) -> i64 {
        chrono::Utc::now().timestamp() + self.clock_ahead_secs.load(Ordering::SeqCst)
    }
}

pub struct FakeOvh {
    pub base_url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeOvh {
    pub async fn start() -> FakeOvh {
        let shared = Arc::new(Shared {
            mode: Mutex::new(Mode::Ok),
            jobs: Mutex::new(Vec::new()),
            refusals: Mutex::new(Vec::new()),
            next_id: AtomicI64::new(246_810),
            clock_ahead_secs: AtomicI64::new(CLOCK_AHEAD_SECS),
        });
        let app = Router::new()
            .route("/1.0/auth/time", get(|State(shared): State<Arc<Shared>>| async move { axum::Json(shared.now()) }))
            .route("/1.0/sms/{service}/jobs", post(create_job))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeOvh { base_url, shared, server }
    }

    /// Moves the provider's clock (as if ours had jumped): clients must relearn the offset.
    pub fn move_clock(&self, by_secs: i64) {
        self.shared.clock_ahead_secs.fetch_add(by_secs, Ordering::SeqCst);
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    /// The well-signed jobs received so far (whatever was answered).
    pub fn jobs(&self) -> Vec<Value> {
        self.shared.jobs.lock().unwrap().clone()
    }

    /// Why requests were refused (bad keys, drift, signature).
    pub fn refusals(&self) -> Vec<String> {
        self.shared.refusals.lock().unwrap().clone()
    }

    /// The `[sms]` settings of a client of this server.
    pub fn settings(&self) -> SmsSettings {
        SmsSettings {
            provider: "ovh".into(),
            base_url: self.base_url.clone(),
            application_key: APPLICATION_KEY.into(),
            application_secret: APPLICATION_SECRET.into(),
            consumer_key: CONSUMER_KEY.into(),
            service_name: SERVICE.into(),
            sender: "SAS76".into(),
            timeout_secs: 1,
        }
    }
}

impl Drop for FakeOvh {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn refuse(shared: &Shared, status: StatusCode, message: &str) -> Response {
    shared.refusals.lock().unwrap().push(message.to_string());
    (status, axum::Json(json!({"errorCode": "INVALID_REQUEST", "httpCode": status.to_string(), "message": message})))
        .into_response()
}

async fn create_job(
    State(shared): State<Arc<Shared>>,
    Path(service): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mode = *shared.mode.lock().unwrap();
    if mode == Mode::Hang {
        // Never answers (the connection is dropped with the server).
        std::future::pending::<()>().await;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    if header("x-ovh-application") != APPLICATION_KEY {
        return refuse(&shared, StatusCode::FORBIDDEN, "Invalid application key");
    }
    if header("x-ovh-consumer") != CONSUMER_KEY {
        return refuse(&shared, StatusCode::FORBIDDEN, "This credential does not exist");
    }
    let Ok(timestamp) = header("x-ovh-timestamp").parse::<i64>() else {
        return refuse(&shared, StatusCode::BAD_REQUEST, "Invalid timestamp");
    };
    if (timestamp - shared.now()).abs() > 30 {
        return refuse(&shared, StatusCode::BAD_REQUEST, "Query out of time");
    }
    let url = format!("http://{}{}", header("host"), uri.path());
    let body = String::from_utf8(body.to_vec()).unwrap();
    let signed = format!("{APPLICATION_SECRET}+{CONSUMER_KEY}+POST+{url}+{body}+{timestamp}");
    let expected = format!("$1${}", hex::encode(Sha1::digest(signed.as_bytes())));
    if header("x-ovh-signature") != expected {
        return refuse(&shared, StatusCode::BAD_REQUEST, "Invalid signature");
    }
    if service != SERVICE {
        return refuse(&shared, StatusCode::NOT_FOUND, "This service does not exist");
    }
    if !header("content-type").starts_with("application/json") {
        return refuse(&shared, StatusCode::BAD_REQUEST, "Invalid content type");
    }
    let job: Value = serde_json::from_str(&body).unwrap();
    shared.jobs.lock().unwrap().push(job.clone());
    if let Mode::Fail(status, message) = mode {
        return refuse(&shared, StatusCode::from_u16(status).unwrap(), message);
    }
    let receivers: Vec<&str> = job["receivers"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    let e164 = |r: &&str| {
        r.strip_prefix('+').is_some_and(|d| (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
    };
    let (valid, invalid): (Vec<&str>, Vec<&str>) = receivers.into_iter().partition(e164);
    let ids: Vec<i64> = valid.iter().map(|_| shared.next_id.fetch_add(1, Ordering::SeqCst)).collect();
    axum::Json(json!({"totalCreditsRemoved": ids.len(), "invalidReceivers": invalid, "validReceivers": valid,
                      "ids": ids, "tag": null}))
    .into_response()
}
