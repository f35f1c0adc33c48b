//! The national load benchmark (issue 7), run by `cargo bench --bench load` and, at a small scale, by the test
//! suite so that it cannot rot.
//!
//! One run: a database of its own (a temp SQLite file, or the empty database named by `--database-url`); the
//! server of `snp serve`, background jobs included, in this process on 127.0.0.1; the national territory of
//! [`crate::dataset`] entered through the API (the directory, then the slots in batches); then closed-loop HTTP
//! clients at each client count — searches, bookings racing for the same slots, a mixed run — while the raw
//! database does the same work directly over the same rows, for comparison. It ends with the invariant check:
//! no slot booked twice, no acknowledged booking or cancellation lost. Every loop is bounded in count and time;
//! nothing leaves 127.0.0.1.

mod measure;
mod raw;
mod report;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

pub use self::measure::Phase;
use self::measure::{ByKind, Limits, Outcome, drive};
use self::raw::Raw;
pub use self::report::{Check, Invariants, MixedPhase, Report};
use crate::api_keys::{KeyRequest, issue};
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::dataset::{Rng, Territory};
use crate::domain::access::Role;
use crate::domain::geo::BoundingBox;
use crate::domain::time::utc_rfc3339;
use crate::store::Store;

pub const USAGE: &str = "cargo bench --bench load -- [--professionals N] [--days D] [--duration-secs S] \
[--database-url URL] [--json FILE] [--seed N] [--clients 1,16,64] [--publishers N]

  --professionals N   professionals of the national territory (default 60000: ≈ 1.4 M slots over 7 days)
  --days D            days of slots, in each practice's local time (default 7)
  --duration-secs S   how long each measured phase runs, per client count (default 10)
  --database-url URL  an EMPTY database to fill: postgres://… or sqlite://… (default: a temporary SQLite file)
  --json FILE         also write the figures as JSON
  --seed N            the dataset's seed (default 42)
  --clients LIST      the client counts (default 1,16,64)
  --publishers N      concurrent publishing clients (default 4)";

/// How often each client races for the same slot in the booking phases: four regulators on one slot.
const RACERS_PER_SLOT: usize = 4;
/// Places searched from: near practices, as patients are.
const PLACES: usize = 4096;
/// The count bound of every measured loop, per client (time usually ends it first).
const MAX_PER_CLIENT: usize = 1_000_000;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub professionals: usize,
    pub days: i64,
    /// How long each measured phase runs, per client count.
    pub duration: Duration,
    pub database_url: Option<String>,
    pub json: Option<std::path::PathBuf>,
    pub seed: u64,
    pub clients: Vec<usize>,
    pub publishers: usize,
    /// Print each step to stderr as it starts.
    pub progress: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            professionals: 60_000,
            days: 7,
            duration: Duration::from_secs(10),
            database_url: None,
            json: None,
            seed: 42,
            clients: vec![1, 16, 64],
            publishers: 4,
            progress: true,
        }
    }
}

impl Options {
    /// Reads the command line (`--bench`, which cargo adds, is ignored); an error says which argument is wrong.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut options = Options::default();
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            if flag == "--bench" {
                continue;
            }
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--professionals" => options.professionals = number(&flag, &value()?, 3..=1_000_000)?,
                "--days" => options.days = number(&flag, &value()?, 1..=31)?,
                "--duration-secs" => {
                    let seconds: f64 = value()?.parse().map_err(|_| format!("{flag}: a number of seconds"))?;
                    if !(0.1..=3600.0).contains(&seconds) {
                        return Err(format!("{flag}: between 0.1 and 3600 seconds"));
                    }
                    options.duration = Duration::from_secs_f64(seconds);
                }
                "--database-url" => {
                    let url = value()?;
                    if !["sqlite:", "postgres://", "postgresql://"].iter().any(|p| url.starts_with(p)) {
                        return Err(format!("{flag}: postgres://… or sqlite://…, not {url:?}"));
                    }
                    options.database_url = Some(url);
                }
                "--json" => options.json = Some(value()?.into()),
                "--seed" => options.seed = number(&flag, &value()?, 0..=u64::MAX)?,
                "--clients" => {
                    options.clients =
                        value()?.split(',').map(|c| number(&flag, c.trim(), 1..=1024)).collect::<Result<_, _>>()?;
                }
                "--publishers" => options.publishers = number(&flag, &value()?, 1..=64)?,
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(options)
    }
}

fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    flag: &str,
    raw: &str,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, String> {
    let value: T = raw.parse().map_err(|_| format!("{flag}: {raw:?} is not a whole number"))?;
    if !range.contains(&value) {
        return Err(format!("{flag}: between {} and {}", range.start(), range.end()));
    }
    Ok(value)
}

/// The reasons searched and booked, with their share of the traffic. `within_hours` is the catalogue's delay
/// for the reason (`config/motifs.toml`), which the raw query uses too.
struct Reason {
    motif: &'static str,
    profession: &'static str,
    share: f64,
    within_hours: i64,
    infant: bool,
}

const REASONS: &[Reason] = &[
    Reason { motif: "gp_unscheduled", profession: "gp", share: 0.45, within_hours: 48, infant: false },
    Reason { motif: "nursing_care", profession: "nurse", share: 0.20, within_hours: 24, infant: false },
    Reason { motif: "dental_emergency", profession: "dentist", share: 0.15, within_hours: 24, infant: false },
    Reason { motif: "bronchiolitis", profession: "physio", share: 0.10, within_hours: 24, infant: true },
    Reason { motif: "midwife_unscheduled", profession: "midwife", share: 0.10, within_hours: 48, infant: false },
];

fn reason(rng: &mut Rng) -> &'static Reason {
    let mut point = rng.unit();
    REASONS
        .iter()
        .find(|r| {
            point -= r.share;
            point < 0.0
        })
        .unwrap_or(&REASONS[0])
}

/// The HTTP side: one client (its pool keeps a connection per concurrent caller) and the two keys.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: Arc<str>,
    admin: Arc<str>,
    regulator: Arc<str>,
}

impl Api {
    /// POSTs `body` with `key`; the status and, when `parse`, the JSON answer (the body is read either way).
    async fn post(&self, key: &str, path: &str, body: String, parse: bool) -> Result<(u16, Value), String> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| format!("POST {path}: {e}"))?;
        if !parse && status < 300 {
            return Ok((status, Value::Null));
        }
        let value = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(excerpt(&bytes)));
        Ok((status, value))
    }
}

fn excerpt(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned()
}

fn unexpected(what: &str, status: u16, answer: &Value) -> String {
    let text = answer.to_string();
    format!("{what}: HTTP {status} {}", &text[..text.len().min(300)])
}

/// A patient as the regulator types them: nothing here is real.
fn patient(reason: &Reason, now: DateTime<Utc>) -> Value {
    let birth_date = if reason.infant {
        now.date_naive() - chrono::Duration::days(200)
    } else {
        now.date_naive() - chrono::Duration::days(38 * 365)
    };
    json!({"first_name": "Léa", "last_name": "Martin", "birth_date": birth_date.to_string(), "phone": "0612345678"})
}

fn search_body(reason: &Reason, place: (f64, f64), now: DateTime<Utc>) -> String {
    json!({"motif": reason.motif, "patient": {"birth_date": patient(reason, now)["birth_date"]},
           "location": {"lat": place.0, "lon": place.1}})
    .to_string()
}

/// Where the run's database lives, and what to remove afterwards.
struct Scratch {
    url: String,
    dir: Option<std::path::PathBuf>,
}

impl Scratch {
    fn new(options: &Options) -> Result<Scratch, String> {
        if let Some(url) = &options.database_url {
            return Ok(Scratch { url: url.clone(), dir: None });
        }
        let unique = format!("snp-load-{}-{}", std::process::id(), uuid::Uuid::now_v7().simple());
        let dir = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(Scratch { url: format!("sqlite://{}/load.db", dir.display()), dir: Some(dir) })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Runs the whole benchmark and returns its figures.
pub async fn run(options: &Options) -> Result<Report, String> {
    let say = |step: &str| {
        if options.progress {
            eprintln!("load: {step}");
        }
    };
    let scratch = Scratch::new(options)?;
    let mut settings = Settings::load(None).map_err(|e| format!("settings: {e}"))?;
    settings.database.url = scratch.url.clone();
    if raw::holds_something_else(&settings.database.url).await.map_err(|e| format!("database: {e}"))? {
        return Err("the database holds tables of something else: the load benchmark fills a database of its own \
                    (give an empty one, e.g. `createdb snp_load`); nothing was written"
            .into());
    }
    let store = crate::store::connect(&settings.database).await.map_err(|e| format!("database: {e}"))?;
    store.migrate().await.map_err(|e| format!("migrations: {e}"))?;
    if !store.is_empty().await.map_err(|e| format!("database: {e}"))? {
        return Err("the database is not empty: the load benchmark fills a database of its own (give an empty one, \
                    e.g. `createdb snp_load`)"
            .into());
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now = clock.now();
    let api = Api {
        http: reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("http client: {e}"))?,
        base: String::new().into(),
        admin: issue_key(store.as_ref(), Role::Admin, now).await?.into(),
        regulator: issue_key(store.as_ref(), Role::Regulator, now).await?.into(),
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| format!("listen: {e}"))?;
    let api = Api { base: format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?).into(), ..api };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn({
        let (settings, store, clock) = (settings.clone(), store.clone(), clock.clone());
        async move {
            crate::cli::serve_on(listener, &settings, store, clock, async {
                let _ = stopped.await;
            })
            .await
        }
    });
    let raw = Raw::connect(&settings.database).await.map_err(|e| format!("raw pool: {e}"))?;

    say(&format!("generating {} professionals (seed {})", options.professionals, options.seed));
    let territory = Arc::new(Territory::generate(options.seed, options.professionals, now));
    say("entering the directory through the API");
    let (directory, ids) =
        enter_directory(&api, &territory, options.clients.iter().copied().max().unwrap_or(16).min(16)).await?;
    say("publishing the slots through the batch API");
    let (publish, slots_published) =
        publish_slots(&api, &territory, &ids, options, now, settings.slots.max_batch).await?;
    let index_caught_up_ms = catch_up(&api, now).await?;

    let mut rng = Rng::new(options.seed ^ 0x5EA2C);
    let places: Arc<Vec<(f64, f64)>> = Arc::new(
        (0..PLACES)
            .map(|_| {
                let p = &territory.practices[rng.below(territory.practices.len())];
                (p.lat + (rng.unit() - 0.5) * 0.04, p.lon + (rng.unit() - 0.5) * 0.04)
            })
            .collect(),
    );
    let limits = Limits { duration: options.duration, max_per_client: MAX_PER_CLIENT };
    let raw = Arc::new(raw);

    let mut search = Vec::new();
    let mut raw_search = Vec::new();
    for &clients in &options.clients {
        say(&format!("searching through the API, {clients} clients"));
        search.push(search_phase(&api, &places, options.seed, clients, limits, now).await);
        say(&format!("the naive query on the database, {clients} clients"));
        raw_search.push(raw_search_phase(&raw, &places, options.seed, clients, limits).await);
    }

    // Distinct free GP slots for each booking phase, through the API and raw.
    let per_phase = 25_000.min(slots_published / 10 / (2 * options.clients.len()).max(1)).max(RACERS_PER_SLOT);
    let pool = raw
        .free_slots_of("gp", now + chrono::Duration::hours(1), per_phase * 2 * options.clients.len())
        .await
        .map_err(|e| format!("free slots: {e}"))?;
    // Exactly one equal share per phase (the API's and the raw one at each client count).
    let phases = 2 * options.clients.len();
    let share = pool.len() / phases;
    let mut pools = (0..phases).map(|k| pool[k * share..(k + 1) * share].to_vec());
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let raw_won = Arc::new(AtomicUsize::new(0));
    let mut booking = Vec::new();
    let mut raw_booking = Vec::new();
    for &clients in &options.clients {
        say(&format!("booking hot slots through the API, {clients} clients, {RACERS_PER_SLOT} per slot"));
        let slots = Arc::new(pools.next().unwrap_or_default());
        booking.push(booking_phase(&api, slots, clients, limits, acknowledged.clone(), now).await);
        say(&format!("the conditional UPDATE on the database, {clients} clients, {RACERS_PER_SLOT} per slot"));
        let slots = Arc::new(pools.next().unwrap_or_default());
        raw_booking.push(raw_booking_phase(&raw, slots, clients, limits, raw_won.clone()).await);
    }

    // The raw phases booked thousands of slots behind the server's back, as no deployment does: what the
    // background refresh has not replayed yet is replayed before the mixed run, not inside it.
    let raw_writes_caught_up_ms = catch_up(&api, now).await?;
    let cancelled = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut mixed = Vec::new();
    for &clients in &options.clients {
        say(&format!("mixed run (80 % search, 15 % hold + book, 5 % cancel), {clients} clients"));
        mixed.push(mixed_phase(&api, &places, options.seed, clients, limits, &acknowledged, &cancelled, now).await);
    }

    say("checking the invariants");
    let invariants = check_invariants(&raw, &acknowledged, &cancelled, raw_won.load(Ordering::SeqCst)).await?;
    let peak_rss_mib = measure::peak_rss_mib();
    drop(api);
    let _ = stop.send(());
    match tokio::time::timeout(Duration::from_secs(30), server).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(error))) => return Err(error),
        Ok(Err(error)) => return Err(format!("server task: {error}")),
        Err(_) => return Err("the server did not stop within 30 s".into()),
    }
    raw.close().await;
    let report = Report {
        backend: store.backend().to_string(),
        machine: measure::machine(),
        seed: options.seed,
        practices: territory.practices.len(),
        professionals: territory.professionals.len(),
        days: options.days,
        directory,
        publish,
        slots_published,
        index_caught_up_ms,
        raw_writes_caught_up_ms,
        search,
        raw_search,
        booking,
        raw_booking,
        mixed,
        peak_rss_mib,
        invariants,
    };
    drop(scratch);
    Ok(report)
}

/// One search, timed: it replays whatever the index has not replayed yet (the background refresh replays every
/// 5 s; a pass it is running is waited for).
async fn catch_up(api: &Api, now: DateTime<Utc>) -> Result<f64, String> {
    let began = Instant::now();
    let answer =
        api.post(&api.regulator, "/api/v1/searches", search_body(&REASONS[0], (48.85, 2.35), now), false).await?;
    if answer.0 != 200 {
        return Err(unexpected("catching-up search", answer.0, &answer.1));
    }
    Ok(began.elapsed().as_secs_f64() * 1000.0)
}

async fn issue_key(store: &dyn Store, role: Role, now: DateTime<Utc>) -> Result<String, String> {
    let request = KeyRequest { role, name: "load benchmark".into(), professional_id: None, practice_ids: vec![] };
    let key = issue(store, request, now).await.map_err(|e| format!("api key: {e}"))?;
    Ok(key.secret.expose().to_string())
}

/// The server's ids of the territory's practices and professionals, by index.
struct Ids {
    practices: Vec<String>,
    professionals: Vec<String>,
}

/// Creates every practice, then every professional, through the API, `clients` at a time.
async fn enter_directory(api: &Api, territory: &Arc<Territory>, clients: usize) -> Result<(Phase, Ids), String> {
    let practices = create_all(api, clients, territory.practices.len(), "/api/v1/practices", {
        let territory = territory.clone();
        move |i| {
            let p = &territory.practices[i];
            json!({"name": p.name, "kind": p.kind, "address": p.address, "postal_code": p.postal_code,
                   "commune": p.commune, "departement": p.departement, "lat": p.lat, "lon": p.lon,
                   "timezone": p.timezone.name()})
        }
    })
    .await?;
    let practice_ids = Arc::new(practices.1);
    let professionals = create_all(api, clients, territory.professionals.len(), "/api/v1/professionals", {
        let (territory, practice_ids) = (territory.clone(), practice_ids.clone());
        move |i| {
            let p = &territory.professionals[i];
            json!({"rpps": p.rpps, "first_name": p.first_name, "last_name": p.last_name,
                   "profession": p.profession, "skills": p.skills,
                   "practice_ids": [practice_ids[i % practice_ids.len()]],
                   "accepts_overbooking": p.accepts_overbooking, "home_visit_radius_km": p.home_visit_radius_km})
        }
    })
    .await?;
    let mut phase = professionals.0;
    phase.requests += practices.0.requests;
    phase.done += practices.0.done;
    phase.seconds += practices.0.seconds;
    phase.per_second = phase.requests as f64 / phase.seconds;
    phase.done_per_second = phase.done as f64 / phase.seconds;
    let practices = Arc::try_unwrap(practice_ids).unwrap_or_else(|shared| (*shared).clone());
    Ok((phase, Ids { practices, professionals: professionals.1 }))
}

/// POSTs `count` bodies to `path`, `clients` at a time; the created ids, by index. Any failure stops the run:
/// everything after needs the whole directory.
async fn create_all(
    api: &Api,
    clients: usize,
    count: usize,
    path: &'static str,
    body: impl Fn(usize) -> Value + Send + Sync + 'static,
) -> Result<(Phase, Vec<String>), String> {
    let next = Arc::new(AtomicUsize::new(0));
    let ids = Arc::new(Mutex::new(vec![String::new(); count]));
    let body = Arc::new(body);
    let limits = Limits { duration: Duration::from_secs(24 * 3600), max_per_client: count };
    let (samples, elapsed) = drive(clients, limits, {
        let (api, ids) = (api.clone(), ids.clone());
        move |_, _| {
            let (api, ids, next, body) = (api.clone(), ids.clone(), next.clone(), body.clone());
            async move {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok(Outcome::Exhausted);
                }
                let (status, answer) = api.post(&api.admin, path, body(i).to_string(), true).await?;
                let id =
                    answer["id"].as_str().filter(|_| status == 201).ok_or_else(|| unexpected(path, status, &answer))?;
                ids.lock().unwrap_or_else(|p| p.into_inner())[i] = id.to_string();
                Ok(Outcome::Done)
            }
        }
    })
    .await;
    let phase = samples.phase(clients, elapsed);
    if phase.errors > 0 {
        return Err(format!("{path}: {} failed, e.g. {:?}", phase.errors, phase.first_errors));
    }
    let ids = std::mem::take(&mut *ids.lock().unwrap_or_else(|p| p.into_inner()));
    Ok((phase, ids))
}

/// Publishes every professional's slots through `POST /api/v1/slots` in batches of up to `max_batch`, from
/// `options.publishers` clients; the batches are generated while earlier ones are sent, never all held.
async fn publish_slots(
    api: &Api,
    territory: &Arc<Territory>,
    ids: &Ids,
    options: &Options,
    now: DateTime<Utc>,
    max_batch: usize,
) -> Result<(Phase, usize), String> {
    let (batches, receiver) = tokio::sync::mpsc::channel::<(String, usize)>(options.publishers * 2);
    let producer = tokio::spawn({
        let territory = territory.clone();
        let (practices, professionals) = (ids.practices.clone(), ids.professionals.clone());
        let days = options.days;
        async move {
            let mut body = Vec::new();
            for i in 0..territory.professionals.len() {
                let slots = territory.slots_of(i, days, now);
                if body.len() + slots.len() > max_batch && !body.is_empty() {
                    let count = body.len();
                    let batch = json!({"slots": std::mem::take(&mut body)}).to_string();
                    if batches.send((batch, count)).await.is_err() {
                        return;
                    }
                }
                let (professional, practice) = (&professionals[i], &practices[i % practices.len()]);
                body.extend(slots.iter().map(|s| {
                    json!({"professional_id": professional, "practice_id": practice, "start": utc_rfc3339(s.start),
                           "end": utc_rfc3339(s.end), "modality": s.modality, "visibility": s.visibility})
                }));
            }
            if !body.is_empty() {
                let count = body.len();
                let _ = batches.send((json!({"slots": body}).to_string(), count)).await;
            }
        }
    });
    let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
    let published = Arc::new(AtomicUsize::new(0));
    let limits = Limits { duration: Duration::from_secs(24 * 3600), max_per_client: usize::MAX };
    let (samples, elapsed) = drive(options.publishers, limits, {
        let (api, published) = (api.clone(), published.clone());
        move |_, _| {
            let (api, receiver, published) = (api.clone(), receiver.clone(), published.clone());
            async move {
                let Some((batch, count)) = receiver.lock().await.recv().await else { return Ok(Outcome::Exhausted) };
                let (status, answer) = api.post(&api.admin, "/api/v1/slots", batch, false).await?;
                if status != 201 {
                    return Err(unexpected("publish", status, &answer));
                }
                published.fetch_add(count, Ordering::Relaxed);
                Ok(Outcome::Done)
            }
        }
    })
    .await;
    producer.await.map_err(|e| format!("batch producer: {e}"))?;
    let phase = samples.phase(options.publishers, elapsed);
    if phase.errors > 0 {
        return Err(format!("publishing: {} batches failed, e.g. {:?}", phase.errors, phase.first_errors));
    }
    Ok((phase, published.load(Ordering::SeqCst)))
}

/// The place and reason of search `n` of `client`: the same for every phase and for the raw baseline.
fn draw(seed: u64, client: usize, n: usize, places: &[(f64, f64)]) -> ((f64, f64), &'static Reason, Rng) {
    let mut rng = Rng::new(seed ^ ((client as u64) << 40) ^ (n as u64).wrapping_mul(0x9E37_79B9));
    let place = places[rng.below(places.len())];
    (place, reason(&mut rng), rng)
}

async fn search_phase(
    api: &Api,
    places: &Arc<Vec<(f64, f64)>>,
    seed: u64,
    clients: usize,
    limits: Limits,
    now: DateTime<Utc>,
) -> Phase {
    let (samples, elapsed) = drive(clients, limits, {
        let (api, places) = (api.clone(), places.clone());
        move |client, n| {
            let (api, places) = (api.clone(), places.clone());
            async move {
                let (place, reason, _) = draw(seed, client, n, &places);
                let (status, answer) =
                    api.post(&api.regulator, "/api/v1/searches", search_body(reason, place, now), false).await?;
                if status == 200 { Ok(Outcome::Done) } else { Err(unexpected("search", status, &answer)) }
            }
        }
    })
    .await;
    samples.phase(clients, elapsed)
}

/// The naive query for the same places and reasons, in a 30 km box (about the radius a search ends with).
async fn raw_search_phase(
    raw: &Arc<Raw>,
    places: &Arc<Vec<(f64, f64)>>,
    seed: u64,
    clients: usize,
    limits: Limits,
) -> Phase {
    let (samples, elapsed) = drive(clients, limits, {
        let (raw, places) = (raw.clone(), places.clone());
        move |client, n| {
            let (raw, places) = (raw.clone(), places.clone());
            async move {
                let ((lat, lon), reason, _) = draw(seed, client, n, &places);
                let now = Utc::now();
                let (from, to) =
                    (now + chrono::Duration::minutes(15), now + chrono::Duration::hours(reason.within_hours));
                raw.naive_search(reason.profession, from, to, BoundingBox::around(lat, lon, 30.0))
                    .await
                    .map(|_| Outcome::Done)
                    .map_err(|e| format!("naive search: {e}"))
            }
        }
    })
    .await;
    samples.phase(clients, elapsed)
}

/// Bookings straight from search results (no hold), [`RACERS_PER_SLOT`] attempts per slot: one wins, the
/// others get a 409.
async fn booking_phase(
    api: &Api,
    slots: Arc<Vec<String>>,
    clients: usize,
    limits: Limits,
    acknowledged: Arc<Mutex<Vec<String>>>,
    now: DateTime<Utc>,
) -> Phase {
    let next = Arc::new(AtomicUsize::new(0));
    let (samples, elapsed) = drive(clients, limits, {
        let api = api.clone();
        move |_, _| {
            let (api, slots, next, acknowledged) = (api.clone(), slots.clone(), next.clone(), acknowledged.clone());
            async move {
                let Some(slot_id) = slots.get(next.fetch_add(1, Ordering::Relaxed) / RACERS_PER_SLOT) else {
                    return Ok(Outcome::Exhausted);
                };
                let body = json!({"slot_id": slot_id, "motif": "gp_unscheduled", "patient": patient(&REASONS[0], now)});
                let (status, answer) = api.post(&api.regulator, "/api/v1/bookings", body.to_string(), true).await?;
                match (status, answer["id"].as_str()) {
                    (201, Some(id)) => {
                        acknowledged.lock().unwrap_or_else(|p| p.into_inner()).push(id.to_string());
                        Ok(Outcome::Done)
                    }
                    (409, _) => Ok(Outcome::Refused),
                    _ => Err(unexpected("booking", status, &answer)),
                }
            }
        }
    })
    .await;
    samples.phase(clients, elapsed)
}

/// The booking's conditional UPDATE alone, racing the same way.
async fn raw_booking_phase(
    raw: &Arc<Raw>,
    slots: Arc<Vec<String>>,
    clients: usize,
    limits: Limits,
    won: Arc<AtomicUsize>,
) -> Phase {
    let next = Arc::new(AtomicUsize::new(0));
    let (samples, elapsed) = drive(clients, limits, {
        let raw = raw.clone();
        move |_, _| {
            let (raw, slots, next, won) = (raw.clone(), slots.clone(), next.clone(), won.clone());
            async move {
                let Some(slot_id) = slots.get(next.fetch_add(1, Ordering::Relaxed) / RACERS_PER_SLOT) else {
                    return Ok(Outcome::Exhausted);
                };
                match raw.book(slot_id, Utc::now()).await {
                    Ok(true) => {
                        won.fetch_add(1, Ordering::Relaxed);
                        Ok(Outcome::Done)
                    }
                    Ok(false) => Ok(Outcome::Refused),
                    Err(e) => Err(format!("conditional update: {e}")),
                }
            }
        }
    })
    .await;
    samples.phase(clients, elapsed)
}

/// 80 % searches, 15 % search + hold + book of one of the first candidates, 5 % cancellations of bookings made
/// here; each kind of request is timed on its own as well.
#[allow(clippy::too_many_arguments)]
async fn mixed_phase(
    api: &Api,
    places: &Arc<Vec<(f64, f64)>>,
    seed: u64,
    clients: usize,
    limits: Limits,
    acknowledged: &Arc<Mutex<Vec<String>>>,
    cancelled: &Arc<Mutex<Vec<String>>>,
    now: DateTime<Utc>,
) -> MixedPhase {
    let kinds = ByKind::default();
    let booked_here = Arc::new(Mutex::new(Vec::<String>::new()));
    let (samples, elapsed) = drive(clients, limits, {
        let (api, places, kinds) = (api.clone(), places.clone(), kinds.clone());
        let (acknowledged, cancelled) = (acknowledged.clone(), cancelled.clone());
        move |client, n| {
            let (api, places, kinds) = (api.clone(), places.clone(), kinds.clone());
            let (acknowledged, cancelled, booked_here) = (acknowledged.clone(), cancelled.clone(), booked_here.clone());
            async move {
                let (place, reason, mut rng) = draw(seed ^ 0x313, client, n, &places);
                let roll = rng.unit();
                let to_cancel =
                    if roll >= 0.95 { booked_here.lock().unwrap_or_else(|p| p.into_inner()).pop() } else { None };
                if let Some(booking_id) = to_cancel {
                    let path = format!("/api/v1/bookings/{booking_id}/cancel");
                    let (outcome, ()) = kinds
                        .time("cancel", async {
                            let (status, answer) = api
                                .post(&api.regulator, &path, json!({"reason": "essai de charge"}).to_string(), false)
                                .await?;
                            if status != 200 {
                                return Err(unexpected("cancel", status, &answer));
                            }
                            cancelled.lock().unwrap_or_else(|p| p.into_inner()).push(booking_id.clone());
                            Ok((Outcome::Done, ()))
                        })
                        .await?;
                    return Ok(outcome);
                }
                let book = (0.80..0.95).contains(&roll);
                let (_, answer) = kinds
                    .time("search", async {
                        let (status, answer) =
                            api.post(&api.regulator, "/api/v1/searches", search_body(reason, place, now), book).await?;
                        if status != 200 {
                            return Err(unexpected("search", status, &answer));
                        }
                        Ok((Outcome::Done, answer))
                    })
                    .await?;
                if !book {
                    return Ok(Outcome::Done);
                }
                let candidates = answer["candidates"].as_array().cloned().unwrap_or_default();
                if candidates.is_empty() {
                    return Ok(Outcome::Done);
                }
                let chosen = &candidates[rng.below(candidates.len().min(3))];
                let (outcome, hold_id) = kinds
                    .time("hold", async {
                        let body = json!({"slot_id": chosen["slot_id"]}).to_string();
                        let (status, answer) = api.post(&api.regulator, "/api/v1/holds", body, true).await?;
                        match (status, answer["id"].as_str()) {
                            (201, Some(id)) => Ok((Outcome::Done, id.to_string())),
                            (409, _) => Ok((Outcome::Refused, String::new())),
                            _ => Err(unexpected("hold", status, &answer)),
                        }
                    })
                    .await?;
                if !matches!(outcome, Outcome::Done) {
                    return Ok(outcome);
                }
                kinds
                    .time("book", async {
                        let body = json!({"hold_id": hold_id, "motif": reason.motif, "patient": patient(reason, now),
                                          "search_id": answer["search_id"]});
                        let (status, answer) =
                            api.post(&api.regulator, "/api/v1/bookings", body.to_string(), true).await?;
                        let id = answer["id"]
                            .as_str()
                            .filter(|_| status == 201)
                            .ok_or_else(|| unexpected("book", status, &answer))?;
                        acknowledged.lock().unwrap_or_else(|p| p.into_inner()).push(id.to_string());
                        booked_here.lock().unwrap_or_else(|p| p.into_inner()).push(id.to_string());
                        Ok((Outcome::Done, ()))
                    })
                    .await
                    .map(|(outcome, ())| outcome)
            }
        }
    })
    .await;
    MixedPhase { all: samples.phase(clients, elapsed), by_kind: kinds.phases(clients, elapsed) }
}

/// Every acknowledged booking is kept (its slot booked) unless this run cancelled it; every acknowledged
/// cancellation holds; no slot has two active bookings; no slot is booked without a booking (beyond the raw
/// baseline's own updates).
async fn check_invariants(
    raw: &Raw,
    acknowledged: &Mutex<Vec<String>>,
    cancelled: &Mutex<Vec<String>>,
    raw_won: usize,
) -> Result<Invariants, String> {
    let failed = |e: sqlx::Error| format!("invariant check: {e}");
    let acknowledged = acknowledged.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let cancelled: HashSet<String> = cancelled.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect();
    let states: HashMap<String, String> = raw.booking_states().await.map_err(failed)?.into_iter().collect();
    let lost_bookings = acknowledged
        .iter()
        .filter(|id| !cancelled.contains(*id) && states.get(*id).map(String::as_str) != Some("kept"))
        .count();
    let lost_cancellations =
        cancelled.iter().filter(|id| states.get(*id).map(String::as_str) != Some("cancelled")).count();
    let booked_without_booking = raw.booked_without_booking().await.map_err(failed)?;
    Ok(Invariants {
        acknowledged_bookings: acknowledged.len(),
        acknowledged_cancellations: cancelled.len(),
        double_bookings: raw.double_bookings().await.map_err(failed)?,
        lost_bookings,
        lost_cancellations,
        slots_booked_without_booking: booked_without_booking - raw_won as i64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn the_command_line_is_read_and_bad_arguments_are_named() {
        let options = parse(&[
            "--bench",
            "--professionals",
            "600",
            "--days",
            "2",
            "--duration-secs",
            "0.5",
            "--database-url",
            "postgres://u@127.0.0.1/x",
            "--json",
            "out.json",
            "--clients",
            "1, 8",
        ])
        .unwrap();
        assert_eq!((options.professionals, options.days, options.clients.clone()), (600, 2, vec![1, 8]));
        assert_eq!(options.duration, Duration::from_millis(500));
        assert_eq!(options.json.as_deref(), Some(std::path::Path::new("out.json")));
        assert_eq!(parse(&[]).unwrap().professionals, 60_000);
        for (args, message) in [
            (&["--professionals", "many"][..], "not a whole number"),
            (&["--professionals", "2"], "between 3 and"),
            (&["--days"], "needs a value"),
            (&["--duration-secs", "0"], "between 0.1 and 3600"),
            (&["--database-url", "mysql://x"], "postgres://"),
            (&["--clients", "1,0"], "between 1 and 1024"),
            (&["--verbose"], "unknown argument"),
        ] {
            let error = parse(args).unwrap_err();
            assert!(error.contains(message), "{args:?}: {error}");
        }
    }
}
