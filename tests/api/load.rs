//! The national load benchmark (`cargo bench --bench load`) run at a small scale on both databases, so that it
//! cannot rot: the whole pipeline — directory and slots through the API, searches, racing bookings, the mixed
//! run, the raw baseline — must run without a failed request, and the invariant check must pass.

use std::time::Duration;

use chrono::Utc;
use snp::dataset::Territory;
use snp::load::{Options, Report, run};

use crate::helpers::fresh_postgres_database;

fn small(database_url: Option<String>) -> Options {
    Options {
        professionals: 150,
        days: 3,
        duration: Duration::from_millis(400),
        database_url,
        clients: vec![1, 4],
        publishers: 2,
        progress: false,
        ..Options::default()
    }
}

fn assert_sound(report: &Report, options: &Options) {
    assert_eq!((report.practices, report.professionals), (50, 150));
    assert_eq!(report.directory.done, 200, "every practice and professional created through the API");
    let territory = Territory::generate(options.seed, options.professionals, Utc::now());
    let expected: usize = (0..150).map(|i| territory.slots_of(i, options.days, Utc::now()).len()).sum();
    // A slot of the first minutes may pass between generation here and in the run: a handful at most.
    assert!(
        report.slots_published.abs_diff(expected) <= 10,
        "{} published, {expected} generated",
        report.slots_published
    );
    assert_eq!(report.errors(), 0, "no request failed: {}", report.text());
    for phases in [&report.search, &report.raw_search, &report.booking, &report.raw_booking] {
        assert_eq!(phases.iter().map(|p| p.clients).collect::<Vec<_>>(), vec![1, 4]);
        // Every timed operation is counted once, as done, refused or failed (timings themselves are for the
        // benchmark, and their arithmetic is unit-tested in `load::measure`).
        assert!(phases.iter().all(|p| p.done > 0 && p.requests == p.done + p.refused + p.errors), "{}", report.text());
    }
    // Four racers per slot: each slot is won once, the others are refused with a 409.
    for booking in report.booking.iter().chain(&report.raw_booking) {
        assert!(booking.refused >= booking.done, "{booking:?}");
    }
    let mixed_kinds: Vec<&str> = report.mixed[1].by_kind.keys().map(String::as_str).collect();
    assert!(mixed_kinds.contains(&"search") && mixed_kinds.contains(&"hold"), "{mixed_kinds:?}");
    let invariants = &report.invariants;
    assert!(invariants.hold(), "{invariants:?}");
    assert!(invariants.acknowledged_bookings >= report.booking.iter().map(|p| p.done).sum::<usize>());
    let budget = report.budget();
    assert_eq!(budget.len(), 6, "{budget:?}");
    assert!(budget.last().unwrap().met, "the invariants line");
    let json = report.json();
    assert_eq!(json["budget"].as_array().unwrap().len(), 6);
    assert_eq!(json["slots_published"].as_u64(), Some(report.slots_published as u64));
    assert!(report.text().contains("budget:"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_benchmark_runs_small_on_sqlite() {
    let options = small(None);
    let report = run(&options).await.expect("the run completes");
    assert_eq!(report.backend, "sqlite");
    assert_sound(&report, &options);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_benchmark_runs_small_on_postgres() {
    let Some((url, _database)) = fresh_postgres_database().await else { return };
    let options = small(Some(url));
    let report = run(&options).await.expect("the run completes");
    assert_eq!(report.backend, "postgres");
    assert_sound(&report, &options);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_benchmark_refuses_a_database_already_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/used.db", dir.path().display());
    let mut settings = snp::config::Settings::load(None).unwrap();
    settings.database.url = url.clone();
    let store = snp::store::connect(&settings.database).await.unwrap();
    store.migrate().await.unwrap();
    let territory = Territory::generate(1, 3, Utc::now());
    store.insert_practice(&territory.practices[0]).await.unwrap();
    let error = run(&small(Some(url))).await.expect_err("a used database is refused");
    assert!(error.contains("not empty"), "{error}");
    assert!(store.get_practice(&territory.practices[0].id).await.unwrap().is_some());
    assert!(store.list_api_keys().await.unwrap().is_empty(), "nothing written: not even the run's keys");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_benchmark_leaves_a_database_of_something_else_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/other.db?mode=rwc", dir.path().display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("CREATE TABLE invoices (id INTEGER PRIMARY KEY)").execute(&pool).await.unwrap();
    let error = run(&small(Some(url))).await.expect_err("another application's database is refused");
    assert!(error.contains("something else") && error.contains("nothing was written"), "{error}");
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'").fetch_all(&pool).await.unwrap();
    assert_eq!(tables, ["invoices"], "not even migrated");
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&pool).await.unwrap();
    assert_eq!(journal, "delete", "not even switched to WAL");
}
