//! The load benchmark's figures: what was measured, each figure against the raw database's, the budget of
//! issue 7 checked line by line, as text for a terminal and as JSON for a file.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::measure::Phase;

#[derive(Debug, Clone, Serialize)]
pub struct MixedPhase {
    pub all: Phase,
    /// `search`, `hold`, `book`, `cancel`.
    pub by_kind: BTreeMap<String, Phase>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Invariants {
    pub acknowledged_bookings: usize,
    pub acknowledged_cancellations: usize,
    /// Slots with more than one active booking.
    pub double_bookings: i64,
    /// Bookings answered 201 that are not kept (and were not cancelled here).
    pub lost_bookings: usize,
    /// Cancellations answered 200 that did not hold.
    pub lost_cancellations: usize,
    /// Slots marked booked without an active booking, beyond the raw baseline's own updates.
    pub slots_booked_without_booking: i64,
}

impl Invariants {
    pub fn hold(&self) -> bool {
        self.double_bookings == 0
            && self.lost_bookings == 0
            && self.lost_cancellations == 0
            && self.slots_booked_without_booking == 0
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub backend: String,
    pub machine: String,
    pub seed: u64,
    pub practices: usize,
    pub professionals: usize,
    pub days: i64,
    /// Practices and professionals created through the API.
    pub directory: Phase,
    /// Batches of slots published through the API.
    pub publish: Phase,
    pub slots_published: usize,
    /// The first search after publishing: the index replays everything published.
    pub index_caught_up_ms: f64,
    /// The first search after the raw booking phases: the index replays what of their direct writes the
    /// background refresh has not replayed yet.
    pub raw_writes_caught_up_ms: f64,
    pub search: Vec<Phase>,
    pub raw_search: Vec<Phase>,
    pub booking: Vec<Phase>,
    pub raw_booking: Vec<Phase>,
    pub mixed: Vec<MixedPhase>,
    pub peak_rss_mib: Option<f64>,
    pub invariants: Invariants,
}

/// One line of the budget.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub what: String,
    pub measured: String,
    pub met: bool,
}

/// The budget's thresholds (issue 7).
const SEARCH_P99_MS: f64 = 5.0;
const BUDGET_CLIENTS: usize = 16;
const BOOKING_SHARE_OF_RAW: f64 = 0.5;
const PUBLISH_SLOTS_PER_SECOND: f64 = 20_000.0;
const RSS_MIB: f64 = 512.0;

fn at(phases: &[Phase], clients: usize) -> Option<&Phase> {
    phases.iter().find(|p| p.clients == clients)
}

impl Report {
    pub fn slots_per_second(&self) -> f64 {
        self.slots_published as f64 / self.publish.seconds
    }

    /// The budget, line by line, at 16 clients (or the nearest count run).
    pub fn budget(&self) -> Vec<Check> {
        let clients =
            self.search.iter().map(|p| p.clients).min_by_key(|c| c.abs_diff(BUDGET_CLIENTS)).unwrap_or(BUDGET_CLIENTS);
        let mut checks = Vec::new();
        if let (Some(search), Some(raw)) = (at(&self.search, clients), at(&self.raw_search, clients)) {
            checks.push(Check {
                what: format!("search p99 ≤ {SEARCH_P99_MS} ms at {clients} clients over HTTP"),
                measured: format!("{:.2} ms", search.p99_ms),
                met: search.p99_ms <= SEARCH_P99_MS,
            });
            checks.push(Check {
                what: format!("search faster than the raw naive query at {clients} clients (p99)"),
                measured: format!("{:.2} ms vs {:.2} ms", search.p99_ms, raw.p99_ms),
                met: search.p99_ms < raw.p99_ms,
            });
        }
        if let (Some(booking), Some(raw)) = (at(&self.booking, clients), at(&self.raw_booking, clients)) {
            let share = booking.done_per_second / raw.done_per_second.max(1e-9);
            checks.push(Check {
                what: format!("bookings ≥ 50 % of the raw conditional UPDATE at {clients} clients"),
                measured: format!(
                    "{:.0}/s vs {:.0}/s ({:.0} %)",
                    booking.done_per_second,
                    raw.done_per_second,
                    share * 100.0
                ),
                // A phase that had no slots to race for proves nothing either way.
                met: booking.done > 0 && raw.done > 0 && share >= BOOKING_SHARE_OF_RAW,
            });
        }
        checks.push(Check {
            what: format!("publish ≥ {PUBLISH_SLOTS_PER_SECOND:.0} slots/s"),
            measured: format!("{:.0} slots/s", self.slots_per_second()),
            met: self.slots_per_second() >= PUBLISH_SLOTS_PER_SECOND,
        });
        checks.push(Check {
            what: format!("peak RSS ≤ {RSS_MIB:.0} MiB (server, clients and generator together)"),
            measured: self.peak_rss_mib.map_or("unknown".into(), |m| format!("{m:.0} MiB")),
            met: self.peak_rss_mib.is_some_and(|m| m <= RSS_MIB),
        });
        let i = &self.invariants;
        checks.push(Check {
            what: "zero double bookings, zero lost acknowledged bookings or cancellations".into(),
            measured: format!(
                "{} double, {} lost bookings, {} lost cancellations, {} booked slots without booking \
                 ({} bookings and {} cancellations acknowledged)",
                i.double_bookings,
                i.lost_bookings,
                i.lost_cancellations,
                i.slots_booked_without_booking,
                i.acknowledged_bookings,
                i.acknowledged_cancellations
            ),
            met: i.hold(),
        });
        checks
    }

    /// Errors seen by any client in any measured phase.
    pub fn errors(&self) -> usize {
        let phases = self.search.iter().chain(&self.raw_search).chain(&self.booking).chain(&self.raw_booking);
        phases.map(|p| p.errors).sum::<usize>() + self.mixed.iter().map(|m| m.all.errors).sum::<usize>()
    }

    pub fn json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).expect("plain data");
        value["slots_per_second"] = self.slots_per_second().into();
        value["budget"] = serde_json::to_value(self.budget()).expect("plain data");
        value
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "snp load benchmark — {} on {}", self.backend, self.machine);
        let _ = writeln!(
            out,
            "territory: {} practices, {} professionals, {} slots over {} days (seed {})",
            self.practices, self.professionals, self.slots_published, self.days, self.seed
        );
        let _ = writeln!(
            out,
            "directory through the API: {} requests in {:.1} s ({:.0}/s)",
            self.directory.requests, self.directory.seconds, self.directory.per_second
        );
        let _ = writeln!(
            out,
            "publish through the batch API: {:.0} slots/s ({} batches from {} clients, batch p50 {:.0} ms, p99 {:.0} ms); \
             first search after it {:.0} ms",
            self.slots_per_second(),
            self.publish.requests,
            self.publish.clients,
            self.publish.p50_ms,
            self.publish.p99_ms,
            self.index_caught_up_ms
        );
        let header = format!(
            "{:<30} {:>7} {:>9} {:>9} {:>9} {:>10} {:>10}",
            "", "clients", "p50 ms", "p99 ms", "max ms", "per s", "vs raw"
        );
        let _ = writeln!(out, "\n{header}");
        for (search, raw) in self.search.iter().zip(&self.raw_search) {
            row(
                &mut out,
                "search (HTTP)",
                search,
                search.per_second,
                &format!("{:.1}×", raw.p99_ms / search.p99_ms.max(1e-9)),
            );
            row(&mut out, "  naive query (raw)", raw, raw.per_second, "");
        }
        for (booking, raw) in self.booking.iter().zip(&self.raw_booking) {
            let share = booking.done_per_second / raw.done_per_second.max(1e-9);
            row(
                &mut out,
                "booking, 4 racers/slot (HTTP)",
                booking,
                booking.done_per_second,
                &format!("{:.0} %", share * 100.0),
            );
            row(&mut out, "  conditional UPDATE (raw)", raw, raw.done_per_second, "");
        }
        for mixed in &self.mixed {
            row(&mut out, "mixed 80/15/5 (HTTP)", &mixed.all, mixed.all.per_second, "");
            for (kind, phase) in &mixed.by_kind {
                row(&mut out, &format!("  {kind}"), phase, phase.per_second, "");
            }
        }
        let _ = writeln!(
            out,
            "\n'vs raw': search = raw p99 / HTTP p99 (above 1: faster than the naive query); \
             booking = bookings/s as a share of the raw UPDATE's wins/s. Booking 'per s' counts slots won. \
             Before the mixed run, a search let the index replay what was left of the raw UPDATE's bookings: {:.0} ms.",
            self.raw_writes_caught_up_ms
        );
        let _ = writeln!(out, "peak RSS: {}", self.peak_rss_mib.map_or("unknown".into(), |m| format!("{m:.0} MiB")));
        let _ = writeln!(out, "\nbudget:");
        for check in self.budget() {
            let _ =
                writeln!(out, "  [{}] {} — {}", if check.met { "met" } else { "MISSED" }, check.what, check.measured);
        }
        let errors = self.errors();
        if errors > 0 {
            let _ = writeln!(out, "\n{errors} requests failed; first: {:?}", self.first_errors());
        }
        out
    }

    fn first_errors(&self) -> Vec<&str> {
        let phases = self.search.iter().chain(&self.raw_search).chain(&self.booking).chain(&self.raw_booking);
        phases
            .chain(self.mixed.iter().map(|m| &m.all))
            .flat_map(|p| p.first_errors.iter().map(String::as_str))
            .take(5)
            .collect()
    }
}

fn row(out: &mut String, name: &str, phase: &Phase, per_second: f64, ratio: &str) {
    let _ = writeln!(
        out,
        "{name:<30} {:>7} {:>9.2} {:>9.2} {:>9.2} {:>10.0} {:>10}",
        phase.clients, phase.p50_ms, phase.p99_ms, phase.max_ms, per_second, ratio
    );
}
