//! Measuring for the load benchmark: closed-loop clients bounded in count and in time, latency percentiles,
//! and the process's memory as the kernel counts it.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

/// What one operation came to.
pub enum Outcome {
    /// It did what was asked (a search answered, a slot booked).
    Done,
    /// It lost a race the system is meant to arbitrate: a 409 for a slot someone else took.
    Refused,
    /// Nothing was left to do (the slots of the phase are used up): this client stops, nothing is timed.
    Exhausted,
}

/// How long and how much each client may run: every loop of the benchmark is bounded by both.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub duration: Duration,
    pub max_per_client: usize,
}

/// What the clients of a phase saw.
#[derive(Default)]
pub struct Samples {
    latencies: Vec<Duration>,
    done: usize,
    refused: usize,
    errors: usize,
    first_errors: Vec<String>,
}

impl Samples {
    pub fn record(&mut self, latency: Duration, outcome: &Result<Outcome, String>) {
        match outcome {
            Ok(Outcome::Exhausted) => return,
            Ok(Outcome::Done) => self.done += 1,
            Ok(Outcome::Refused) => self.refused += 1,
            Err(error) => {
                self.errors += 1;
                if self.first_errors.len() < 5 {
                    self.first_errors.push(error.clone());
                }
            }
        }
        self.latencies.push(latency);
    }

    fn absorb(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        self.done += other.done;
        self.refused += other.refused;
        self.errors += other.errors;
        self.first_errors.extend(other.first_errors);
        self.first_errors.truncate(5);
    }

    /// The figures of a phase that ran `clients` clients for `elapsed`.
    pub fn phase(mut self, clients: usize, elapsed: Duration) -> Phase {
        self.latencies.sort_unstable();
        let seconds = elapsed.as_secs_f64().max(1e-9);
        let requests = self.latencies.len();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let at = |p: f64| {
            // Nearest rank: the smallest sample with at least p of them at or below it.
            let rank = ((requests as f64 * p).ceil() as usize).saturating_sub(1);
            self.latencies.get(rank.min(requests.saturating_sub(1))).copied().map_or(0.0, ms)
        };
        Phase {
            clients,
            requests,
            done: self.done,
            refused: self.refused,
            errors: self.errors,
            first_errors: self.first_errors,
            seconds,
            per_second: requests as f64 / seconds,
            done_per_second: self.done as f64 / seconds,
            p50_ms: at(0.50),
            p99_ms: at(0.99),
            max_ms: self.latencies.last().copied().map_or(0.0, ms),
        }
    }
}

/// The figures of one phase at one number of clients.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub clients: usize,
    /// Operations timed (done, refused or failed).
    pub requests: usize,
    pub done: usize,
    pub refused: usize,
    pub errors: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub first_errors: Vec<String>,
    pub seconds: f64,
    pub per_second: f64,
    pub done_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Runs `clients` closed-loop clients, each calling `op(client, n)` for n = 0, 1, … until the time or the
/// count of `limits` is reached or `op` reports [`Outcome::Exhausted`]. Returns what they saw, and the time
/// from the first call to the last answer.
pub async fn drive<F, Fut>(clients: usize, limits: Limits, op: F) -> (Samples, Duration)
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Outcome, String>> + Send + 'static,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut samples = Samples::default();
                for n in 0..limits.max_per_client {
                    if started.elapsed() >= limits.duration {
                        break;
                    }
                    let began = Instant::now();
                    let outcome = op(client, n).await;
                    if matches!(outcome, Ok(Outcome::Exhausted)) {
                        break;
                    }
                    samples.record(began.elapsed(), &outcome);
                }
                samples
            })
        })
        .collect();
    let mut all = Samples::default();
    for task in tasks {
        match task.await {
            Ok(samples) => all.absorb(samples),
            Err(panic) => all.record(Duration::ZERO, &Err(format!("client task failed: {panic}"))),
        }
    }
    (all, started.elapsed())
}

/// Samples by kind of request, for runs that mix several (the mixed run times its searches, holds, bookings
/// and cancellations separately).
#[derive(Default, Clone)]
pub struct ByKind(Arc<Mutex<BTreeMap<&'static str, Samples>>>);

impl ByKind {
    /// Times `request` as one of `kind`, and passes its outcome on.
    pub async fn time<T>(
        &self,
        kind: &'static str,
        request: impl Future<Output = Result<(Outcome, T), String>>,
    ) -> Result<(Outcome, T), String> {
        let began = Instant::now();
        let answer = request.await;
        let outcome = match &answer {
            Ok((Outcome::Done, _)) => Ok(Outcome::Done),
            Ok((Outcome::Refused, _)) => Ok(Outcome::Refused),
            Ok((Outcome::Exhausted, _)) => Ok(Outcome::Exhausted),
            Err(error) => Err(error.clone()),
        };
        self.0.lock().unwrap_or_else(|p| p.into_inner()).entry(kind).or_default().record(began.elapsed(), &outcome);
        answer
    }

    pub fn phases(&self, clients: usize, elapsed: Duration) -> BTreeMap<String, Phase> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
            .into_iter()
            .map(|(kind, samples)| (kind.to_string(), samples.phase(clients, elapsed)))
            .collect()
    }
}

/// The process's peak resident memory in MiB (`VmHWM`), where the kernel tells it (Linux).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// What the machine is, for the record next to the figures.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(str::trim)
                .map(String::from)
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|kib| kib.parse::<f64>().ok())
        })
        .map_or(String::new(), |kib| format!(", {:.0} GiB", kib / 1024.0 / 1024.0));
    format!("{cores} cores ({cpu}){memory}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phase_counts_each_outcome_and_takes_nearest_rank_percentiles() {
        let mut samples = Samples::default();
        // 1 ms … 200 ms: 150 done, 40 refused, 10 failed; an exhausted client's call is not an operation.
        for i in 1..=200u64 {
            let outcome = match i % 20 {
                0 => Err(format!("error {i}")),
                1..=4 => Ok(Outcome::Refused),
                _ => Ok(Outcome::Done),
            };
            samples.record(Duration::from_millis(i), &outcome);
        }
        samples.record(Duration::from_secs(9), &Ok(Outcome::Exhausted));
        let phase = samples.phase(16, Duration::from_secs(4));
        assert_eq!((phase.clients, phase.requests, phase.done, phase.refused, phase.errors), (16, 200, 150, 40, 10));
        assert_eq!(phase.first_errors, ["error 20", "error 40", "error 60", "error 80", "error 100"]);
        assert_eq!((phase.per_second, phase.done_per_second), (50.0, 37.5));
        // Nearest rank over 200 samples: p50 is the 100th, p99 the 198th.
        assert_eq!((phase.p50_ms, phase.p99_ms, phase.max_ms), (100.0, 198.0, 200.0));
        let single = {
            let mut one = Samples::default();
            one.record(Duration::from_millis(7), &Ok(Outcome::Done));
            one.phase(1, Duration::from_secs(1))
        };
        assert_eq!((single.p50_ms, single.p99_ms, single.max_ms), (7.0, 7.0, 7.0));
        let empty = Samples::default().phase(1, Duration::from_secs(1));
        assert_eq!((empty.requests, empty.p50_ms, empty.p99_ms), (0, 0.0, 0.0));
    }
}
