//! A proptest state machine: random sequences of hold, release, book (from a slot or a hold), cancel, outcome
//! and clock advances, run against the real API and compared, step by step, with a model of what must happen.
//! After each sequence the invariants are checked in the database.

use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use serde_json::json;
use snp::domain::access::Role;

use crate::bookings::assert_booking_invariants;
use crate::helpers::{TestApp, slot, test_now};

#[derive(Debug, Clone)]
enum Op {
    Hold { slot: usize, caller: usize },
    Release { hold: usize, caller: usize },
    BookSlot { slot: usize, caller: usize },
    BookHold { hold: usize, caller: usize },
    Cancel { booking: usize },
    Outcome { booking: usize, attended: bool },
    Advance { minutes: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize, 0..2usize).prop_map(|(slot, caller)| Op::Hold { slot, caller }),
        (0..4usize, 0..2usize).prop_map(|(hold, caller)| Op::Release { hold, caller }),
        (0..3usize, 0..2usize).prop_map(|(slot, caller)| Op::BookSlot { slot, caller }),
        (0..4usize, 0..2usize).prop_map(|(hold, caller)| Op::BookHold { hold, caller }),
        (0..3usize).prop_map(|booking| Op::Cancel { booking }),
        (0..3usize, any::<bool>()).prop_map(|(booking, attended)| Op::Outcome { booking, attended }),
        (1..40i64).prop_map(|minutes| Op::Advance { minutes }),
    ]
}

#[derive(Debug, Clone, PartialEq)]
enum SlotState {
    Free,
    Held { hold: usize, expires: DateTime<Utc> },
    Booked,
    Withdrawn,
}

#[derive(Debug)]
struct HoldModel {
    id: String,
    slot: usize,
    caller: usize,
    expires: DateTime<Utc>,
    released: bool,
    used: bool,
}

#[derive(Debug)]
struct BookingModel {
    id: String,
    slot: usize,
    status: &'static str,
}

struct Model {
    now: DateTime<Utc>,
    starts: Vec<DateTime<Utc>>,
    slots: Vec<SlotState>,
    holds: Vec<HoldModel>,
    bookings: Vec<BookingModel>,
}

impl Model {
    fn bookable(&self, slot: usize) -> bool {
        let free = match &self.slots[slot] {
            SlotState::Free => true,
            SlotState::Held { expires, .. } => *expires <= self.now,
            _ => false,
        };
        free && self.starts[slot] > self.now
    }
}

/// Runs one sequence; returns a description of the first divergence, if any.
async fn run(ops: Vec<Op>, app: TestApp) -> Result<(), String> {
    let practice = app.practice(json!({})).await;
    let gp = app.professional(&[&practice], json!({})).await;
    let callers = [app.key(Role::Regulator, None, &[]).await, app.key(Role::Regulator, None, &[]).await];
    let published = app.publish(&app.admin_key, (0..3).map(|i| slot(&gp, &practice, 30 + 30 * i, 15)).collect()).await;
    let slot_ids: Vec<String> =
        published.body["slots"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect();
    let mut m = Model {
        now: test_now(),
        starts: (0..3).map(|i| test_now() + Duration::minutes(30 + 30 * i)).collect(),
        slots: vec![SlotState::Free; 3],
        holds: Vec::new(),
        bookings: Vec::new(),
    };
    let patient =
        json!({"first_name": "Léa", "last_name": "Martin", "birth_date": "1988-03-14", "phone": "0612345678"});
    for (step, op) in ops.into_iter().enumerate() {
        let check = |got: StatusCode, code: &serde_json::Value, want: StatusCode, want_code: Option<&str>| {
            if got != want || want_code.is_some_and(|c| code != c) {
                Err(format!("step {step} {op:?}: got {got} {code}, model expects {want} {want_code:?}"))
            } else {
                Ok(())
            }
        };
        match op.clone() {
            Op::Advance { minutes } => {
                app.clock.advance(Duration::minutes(minutes));
                m.now += Duration::minutes(minutes);
            }
            Op::Hold { slot, caller } => {
                let r = app.post("/api/v1/holds", &callers[caller], json!({"slot_id": slot_ids[slot]})).await;
                if m.bookable(slot) {
                    check(r.status, &r.body["code"], StatusCode::CREATED, None)?;
                    let expires = m.now + Duration::minutes(5);
                    m.holds.push(HoldModel {
                        id: r.body["id"].as_str().unwrap().into(),
                        slot,
                        caller,
                        expires,
                        released: false,
                        used: false,
                    });
                    m.slots[slot] = SlotState::Held { hold: m.holds.len() - 1, expires };
                } else {
                    check(r.status, &r.body["code"], StatusCode::CONFLICT, Some("slot_unavailable"))?;
                }
            }
            Op::Release { hold, caller } => {
                let Some(h) = m.holds.get(hold) else { continue };
                let r = app.delete(&format!("/api/v1/holds/{}", h.id), &callers[caller]).await;
                if h.caller != caller {
                    check(r.status, &r.body["code"], StatusCode::FORBIDDEN, Some("forbidden"))?;
                } else if h.used {
                    check(r.status, &r.body["code"], StatusCode::CONFLICT, Some("hold_used"))?;
                } else {
                    check(r.status, &r.body["code"], StatusCode::NO_CONTENT, None)?;
                    if !h.released && m.slots[h.slot] == (SlotState::Held { hold, expires: h.expires }) {
                        m.slots[h.slot] = SlotState::Free;
                    }
                    m.holds[hold].released = true;
                }
            }
            Op::BookSlot { slot, caller } => {
                let body = json!({"slot_id": slot_ids[slot], "patient": patient, "motif": "gp_unscheduled"});
                let r = app.post("/api/v1/bookings", &callers[caller], body).await;
                if m.bookable(slot) {
                    check(r.status, &r.body["code"], StatusCode::CREATED, None)?;
                    m.bookings.push(BookingModel {
                        id: r.body["id"].as_str().unwrap().into(),
                        slot,
                        status: "confirmed",
                    });
                    m.slots[slot] = SlotState::Booked;
                } else {
                    check(r.status, &r.body["code"], StatusCode::CONFLICT, Some("slot_unavailable"))?;
                }
            }
            Op::BookHold { hold, caller } => {
                let Some(h) = m.holds.get(hold) else { continue };
                let body = json!({"hold_id": h.id, "patient": patient, "motif": "gp_unscheduled"});
                let r = app.post("/api/v1/bookings", &callers[caller], body).await;
                if h.caller != caller {
                    check(r.status, &r.body["code"], StatusCode::FORBIDDEN, Some("forbidden"))?;
                } else if h.used {
                    check(r.status, &r.body["code"], StatusCode::CONFLICT, Some("hold_used"))?;
                } else if h.released
                    || h.expires <= m.now
                    || m.slots[h.slot] != (SlotState::Held { hold, expires: h.expires })
                {
                    check(r.status, &r.body["code"], StatusCode::CONFLICT, Some("hold_expired"))?;
                } else {
                    check(r.status, &r.body["code"], StatusCode::CREATED, None)?;
                    let slot = h.slot;
                    m.holds[hold].used = true;
                    m.bookings.push(BookingModel {
                        id: r.body["id"].as_str().unwrap().into(),
                        slot,
                        status: "confirmed",
                    });
                    m.slots[slot] = SlotState::Booked;
                }
            }
            Op::Cancel { booking } => {
                let Some(b) = m.bookings.get(booking) else { continue };
                let r = app.post(&format!("/api/v1/bookings/{}/cancel", b.id), &app.admin_key, json!({})).await;
                if b.status == "confirmed" {
                    check(r.status, &r.body["code"], StatusCode::OK, None)?;
                    let slot = b.slot;
                    m.bookings[booking].status = "cancelled";
                    m.slots[slot] = if m.starts[slot] > m.now { SlotState::Free } else { SlotState::Withdrawn };
                } else {
                    check(r.status, &r.body["code"], StatusCode::CONFLICT, Some("invalid_transition"))?;
                }
            }
            Op::Outcome { booking, attended } => {
                let Some(b) = m.bookings.get(booking) else { continue };
                let outcome = if attended { "attended" } else { "no_show" };
                let r = app
                    .post(&format!("/api/v1/bookings/{}/outcome", b.id), &app.admin_key, json!({"outcome": outcome}))
                    .await;
                if b.status != "confirmed" {
                    check(r.status, &r.body["code"], StatusCode::CONFLICT, Some("invalid_transition"))?;
                } else if m.starts[b.slot] > m.now {
                    check(r.status, &r.body["code"], StatusCode::CONFLICT, Some("too_early"))?;
                } else {
                    check(r.status, &r.body["code"], StatusCode::OK, None)?;
                    m.bookings[booking].status = outcome;
                }
            }
        }
    }
    // The API's view of each slot agrees with the model's.
    for (i, id) in slot_ids.iter().enumerate() {
        let status = app.get(&format!("/api/v1/slots/{id}"), &app.admin_key).await.body["status"].clone();
        let want = match &m.slots[i] {
            SlotState::Free => "free",
            SlotState::Held { .. } => "held",
            SlotState::Booked => "booked",
            SlotState::Withdrawn => "withdrawn",
        };
        if status != want {
            return Err(format!("slot {i}: API says {status}, model says {want}"));
        }
    }
    assert_booking_invariants(&app).await;
    Ok(())
}

fn run_on(ops: Vec<Op>, postgres: bool) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async move {
        let app = if postgres {
            match TestApp::postgres().await {
                Some(app) => app,
                None => return Ok(()),
            }
        } else {
            TestApp::sqlite().await
        };
        run(ops, app).await.map_err(TestCaseError::fail)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 64, ..ProptestConfig::default() })]

    #[test]
    fn booking_state_machine_matches_its_model_on_sqlite(ops in prop::collection::vec(op(), 1..30)) {
        run_on(ops, false)?;
    }

    #[test]
    fn booking_state_machine_matches_its_model_on_postgres(ops in prop::collection::vec(op(), 1..30)) {
        run_on(ops, true)?;
    }
}
