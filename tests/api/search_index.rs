//! The in-memory search index stays coherent with the database: a search sees every change committed before it
//! began — made by this process, by another process on the same database, or by plain SQL — including, on
//! PostgreSQL, a change committed while an older transaction was still open.

use axum::Router;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use snp::domain::access::Role;
use snp::store::JournalCursor;

use crate::helpers::{TestApp, slot};
use crate::on_both_databases;

on_both_databases!(
    a_search_sees_what_another_process_or_plain_sql_changed_just_before,
    the_journal_is_pruned_only_behind_a_mark_over_an_hour_old,
    concurrent_searches_share_a_pass_and_one_dropped_midway_holds_up_none,
    the_journal_is_read_in_cursor_order_page_after_page,
);

/// Le Havre.
fn search_body() -> Value {
    json!({"motif": "gp_unscheduled", "location": {"lat": 49.4944, "lon": 0.1079}, "radius_km": 20})
}

async fn found(app: &TestApp, process: &Router, regulator: &str) -> Vec<String> {
    let response = app.call_on(process, Method::POST, "/api/v1/searches", regulator, search_body()).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    let mut ids: Vec<String> = response.body["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["slot_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

async fn publish(app: &TestApp, process: &Router, gp: &str, practice: &str, minutes: i64) -> String {
    let body = json!({"slots": [slot(gp, practice, minutes, 15)]});
    let response = app.call_on(process, Method::POST, "/api/v1/slots", &app.admin_key, body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    response.body["slots"][0]["id"].as_str().unwrap().to_string()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

async fn a_search_sees_what_another_process_or_plain_sql_changed_just_before(app: TestApp) {
    let regulator = app.key(Role::Regulator, None, &[]).await;
    let practice = app.practice(json!({"lat": 49.5012, "lon": 0.0951})).await;
    let gp = app.professional(&[&practice], json!({})).await;
    let other = app.second_process().await;
    let first = publish(&app, &app.router, &gp, &practice, 60).await;
    // Both processes load their index.
    assert_eq!(found(&app, &app.router, &regulator).await, vec![first.clone()]);
    assert_eq!(found(&app, &other, &regulator).await, vec![first.clone()]);

    // Published elsewhere: seen here.
    let second = publish(&app, &other, &gp, &practice, 120).await;
    assert_eq!(found(&app, &app.router, &regulator).await, sorted(vec![first.clone(), second.clone()]));

    // Booked elsewhere: gone here; cancelled elsewhere: back here.
    let booking = json!({"slot_id": first, "motif": "gp_unscheduled",
        "patient": {"first_name": "Léa", "last_name": "Martin", "birth_date": "1988-03-14", "phone": "0612345678"}});
    let booked = app.call_on(&other, Method::POST, "/api/v1/bookings", &regulator, booking).await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.text);
    assert_eq!(found(&app, &app.router, &regulator).await, vec![second.clone()]);
    let cancel = format!("/api/v1/bookings/{}/cancel", booked.body["id"].as_str().unwrap());
    let cancelled = app.call_on(&other, Method::POST, &cancel, &regulator, json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text);
    assert_eq!(found(&app, &app.router, &regulator).await, sorted(vec![first.clone(), second.clone()]));

    // Held elsewhere: gone until the hold lapses by the clock, with no write at all.
    let held = app.call_on(&other, Method::POST, "/api/v1/holds", &regulator, json!({"slot_id": second})).await;
    assert_eq!(held.status, StatusCode::CREATED, "{}", held.text);
    assert_eq!(found(&app, &app.router, &regulator).await, vec![first.clone()]);
    app.clock.advance(chrono::Duration::minutes(6));
    assert_eq!(found(&app, &app.router, &regulator).await, sorted(vec![first.clone(), second.clone()]));

    // Changed by plain SQL, outside any snp process: the database's triggers journal it too.
    app.force_slot_status(&second, "withdrawn").await;
    assert_eq!(found(&app, &app.router, &regulator).await, vec![first.clone()]);

    // An absence declared elsewhere hides the slots it covers.
    let absence = json!({"professional_id": gp, "from": "2026-11-24", "to": "2026-11-24"});
    let declared = app.call_on(&other, Method::POST, "/api/v1/absences", &app.admin_key, absence).await;
    assert_eq!(declared.status, StatusCode::CREATED, "{}", declared.text);
    assert!(found(&app, &app.router, &regulator).await.is_empty());
}

/// PostgreSQL hands out journal sequence numbers before commit: a transaction that journals first but commits
/// last must still be seen, and a younger one committed meanwhile must be seen at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_change_committed_behind_an_older_open_transaction_is_not_missed() {
    let Some(app) = TestApp::postgres().await else { return };
    let regulator = app.key(Role::Regulator, None, &[]).await;
    let practice = app.practice(json!({"lat": 49.5012, "lon": 0.0951})).await;
    let gp = app.professional(&[&practice], json!({})).await;
    let gp2 = app.professional(&[&practice], json!({})).await;
    let old = publish(&app, &app.router, &gp, &practice, 60).await;
    assert_eq!(found(&app, &app.router, &regulator).await, vec![old.clone()]);

    // An older transaction withdraws `old` by plain SQL and stays open…
    let pool = sqlx::PgPool::connect(&app.settings.database.url).await.unwrap();
    let mut older = pool.begin().await.unwrap();
    sqlx::query("UPDATE slots SET status = 'withdrawn' WHERE id = $1").bind(&old).execute(&mut *older).await.unwrap();
    // …while a younger one publishes and commits: seen at once, although the older one is still open.
    let young = publish(&app, &app.router, &gp2, &practice, 90).await;
    assert_eq!(found(&app, &app.router, &regulator).await, sorted(vec![old.clone(), young.clone()]));
    // The older one commits last: its change is not skipped.
    older.commit().await.unwrap();
    assert_eq!(found(&app, &app.router, &regulator).await, vec![young.clone()]);
    // And nothing is replayed wrongly afterwards.
    let later = publish(&app, &app.router, &gp, &practice, 150).await;
    assert_eq!(found(&app, &app.router, &regulator).await, sorted(vec![young, later]));
}

async fn the_journal_is_pruned_only_behind_a_mark_over_an_hour_old(app: TestApp) {
    let regulator = app.key(Role::Regulator, None, &[]).await;
    let practice = app.practice(json!({"lat": 49.5012, "lon": 0.0951})).await;
    let gp = app.professional(&[&practice], json!({})).await;
    let first = publish(&app, &app.router, &gp, &practice, 60).await;
    let journal = || app.count("SELECT COUNT(*) FROM search_journal WHERE professional_id <> $1", "");
    let before = journal().await;
    assert!(before > 0);
    // No mark an hour old yet: nothing goes, however old the rows (this pass only marks).
    assert_eq!(app.store.prune_search_journal().await.unwrap(), 0);
    assert_eq!(journal().await, before);
    // A mark taken two hours ago where the journal ended then (on PostgreSQL, a transaction id younger than all
    // written so far, so that concurrent tests cannot move it), and a change since.
    app.execute(
        "INSERT INTO search_journal_marks (taken_at, seq) \
         SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-2 hours'), MAX(seq) FROM search_journal",
        "INSERT INTO search_journal_marks (taken_at, horizon) \
         VALUES (clock_timestamp() - interval '2 hours', pg_current_xact_id())",
    )
    .await;
    let second = publish(&app, &app.router, &gp, &practice, 120).await;
    let after_second = journal().await;
    assert_eq!(app.store.prune_search_journal().await.unwrap() as i64, before);
    assert_eq!(journal().await, after_second - before, "only what the mark had seen goes");
    // Searching (a fresh process: a full load, then replay) is unaffected.
    let other = app.second_process().await;
    assert_eq!(found(&app, &other, &regulator).await, sorted(vec![first, second]));
}

/// Pages of the journal follow one another in cursor order, none skipped: on PostgreSQL transaction ids are
/// compared as numbers (sorted as text, 10 and 11 came before 9, and the next page started after 11).
async fn the_journal_is_read_in_cursor_order_page_after_page(app: TestApp) {
    app.execute(
        "INSERT INTO search_journal (professional_id) VALUES ('j9'), ('j10'), ('j11')",
        "INSERT INTO search_journal (txid, professional_id) VALUES ('9', 'j9'), ('10', 'j10'), ('11', 'j11')",
    )
    .await;
    let postgres = app.settings.database.url.starts_with("postgres");
    let first_seq = app.count("SELECT MIN(seq) FROM search_journal WHERE professional_id = $1", "j9").await;
    // Just before the first of them: on PostgreSQL, every entry of transaction 8.
    let mut cursor =
        if postgres { JournalCursor { txid: 8, seq: i64::MAX } } else { JournalCursor { txid: 0, seq: first_seq - 1 } };
    let mut read = Vec::new();
    for _ in 0..100 {
        let page = app.store.read_search_journal(cursor, 2).await.unwrap();
        let Some(last) = page.last() else { break };
        assert!(page.windows(2).all(|w| w[0].cursor < w[1].cursor), "a page in cursor order: {page:?}");
        assert!(last.cursor > cursor);
        cursor = last.cursor;
        read.extend(page.into_iter().filter(|e| e.professional_id.starts_with('j')).map(|e| {
            assert!(e.settled, "transactions 9 to 11 are long over");
            e.professional_id
        }));
    }
    assert_eq!(read, ["j9", "j10", "j11"]);
}

/// Searches that need a pass share one, and go on together when it ends; a search dropped while it runs the pass
/// (its client gone) gives the turn back and tells the searches waiting on it, who then see every change made
/// before they began. Judged by what the drop does at once, not by how long anything takes.
async fn concurrent_searches_share_a_pass_and_one_dropped_midway_holds_up_none(app: TestApp) {
    let practice = app.practice(json!({"lat": 49.5012, "lon": 0.0951})).await;
    let gp = app.professional(&[&practice], json!({})).await;
    let index = std::sync::Arc::new(snp::routing::live::LiveIndex::new(app.store.clone(), app.clock.clone()));
    index.refresh().await.unwrap();
    let mut published = 0;
    let mut dropped_midway = 0;
    // A pass polled once is usually still waiting on the database, and is dropped there; a fast one (SQLite
    // answers from another thread, sometimes before the first poll ends) is simply done: then try again.
    while dropped_midway < 3 && published < 60 {
        publish(&app, &app.router, &gp, &practice, 60 + 30 * published as i64).await;
        published += 1;
        let mut pass = Box::pin(index.refresh());
        if poll_with(pass.as_mut(), &Woken::new()).is_ready() {
            continue;
        }
        assert!(index.pass_running());
        // A second search arrives while the pass runs: it waits on it, and does not start one of its own.
        let told = Woken::new();
        let mut waiting = Box::pin(index.refresh());
        assert!(poll_with(waiting.as_mut(), &told).is_pending());
        assert!(!told.was_woken());
        drop(pass);
        dropped_midway += 1;
        assert!(!index.pass_running(), "after {published}: the dropped pass kept the turn");
        assert!(told.was_woken(), "after {published}: the search waiting on the dropped pass was not told");
        // It runs the next pass itself, and twelve more searches go on too.
        waiting.await.unwrap();
        let mut more = tokio::task::JoinSet::new();
        for _ in 0..12 {
            let index = index.clone();
            more.spawn(async move { index.refresh().await });
        }
        let all = more.join_all().await;
        assert!(all.iter().all(Result::is_ok), "{all:?}");
        assert_eq!(index.read().size().0, published, "every change made before they began is seen");
    }
    assert_eq!(dropped_midway, 3, "no pass could be dropped midway in {published} tries");
}

/// A waker that remembers being woken: whether a waiting search was told to look again.
struct Woken(std::sync::atomic::AtomicBool);

impl Woken {
    fn new() -> std::sync::Arc<Woken> {
        std::sync::Arc::new(Woken(std::sync::atomic::AtomicBool::new(false)))
    }

    fn was_woken(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl std::task::Wake for Woken {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Polls a future once with this waker.
fn poll_with<F: std::future::Future>(
    future: std::pin::Pin<&mut F>,
    woken: &std::sync::Arc<Woken>,
) -> std::task::Poll<F::Output> {
    let waker = std::task::Waker::from(woken.clone());
    future.poll(&mut std::task::Context::from_waker(&waker))
}
