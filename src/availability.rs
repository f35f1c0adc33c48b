//! The rolling horizon: availability rules become ordinary slots for the next N days, when a rule is created or
//! changed, when an absence is lifted, and by a background job of `snp serve`.
//!
//! Safe with several server processes on one PostgreSQL: every materialisation runs in one transaction that
//! locks the professional first, skips slots the rule already produced (one slot per rule and start is also a
//! unique index), and skips — and reports — slots that would overlap another live slot or an absence.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::clock::Clock;
use crate::domain::availability::AvailabilityRule;
use crate::domain::practice::Practice;
use crate::domain::recurrence::{HolidayCalendar, Occurrence};
use crate::domain::slot::Slot;
use crate::store::{Page, ScopeFilter, SkipReason, Store, StoreError};

/// What one materialisation did.
#[derive(Debug, Clone, Default)]
pub struct MaterializeReport {
    pub created: usize,
    pub already_present: usize,
    /// Slots not created because of an overlap or an absence, with the reason.
    pub skipped: Vec<(Slot, SkipReason)>,
    /// Last local date covered.
    pub through: Option<NaiveDate>,
}

/// The occurrences of a rule whose window opens on local dates `from..=to`.
pub fn occurrences(rule: &AvailabilityRule, practice: &Practice, from: NaiveDate, to: NaiveDate) -> Vec<Occurrence> {
    let mut holidays = HolidayCalendar::new(&practice.departement);
    rule.recurrence.expand(practice.timezone, &mut holidays, from, to)
}

/// The slots a rule should have from now to the end of the horizon (`horizon_days` local days, today
/// included), and the last local date covered.
pub fn horizon_slots(
    rule: &AvailabilityRule,
    practice: &Practice,
    now: DateTime<Utc>,
    horizon_days: i64,
) -> (Vec<Slot>, NaiveDate) {
    let today = now.with_timezone(&practice.timezone).date_naive();
    let through = today + Duration::days(horizon_days - 1);
    // From yesterday: a window opened last night may still run into today.
    let slots = occurrences(rule, practice, today - Duration::days(1), through)
        .into_iter()
        .filter(|o| o.start > now)
        .map(|o| {
            let id = uuid::Uuid::now_v7().to_string();
            Slot {
                modality: rule.modality,
                visibility: rule.visibility,
                rule_id: Some(rule.id.clone()),
                rule_version: Some(rule.version),
                ..Slot::free(id, &rule.professional_id, &rule.practice_id, practice.timezone, o.start, o.end, now)
            }
        })
        .collect();
    (slots, through)
}

/// Sums up what the store did with each slot.
pub fn report(slots: Vec<Slot>, outcome: Vec<Option<SkipReason>>, through: NaiveDate) -> MaterializeReport {
    let mut report = MaterializeReport { through: Some(through), ..MaterializeReport::default() };
    for (slot, result) in slots.into_iter().zip(outcome) {
        match result {
            None => report.created += 1,
            Some(SkipReason::AlreadyPresent) => report.already_present += 1,
            Some(reason) => report.skipped.push((slot, reason)),
        }
    }
    report
}

/// Materialises the current version of a rule over the horizon; [`StoreError::RuleChanged`] when the rule
/// changed or went since it was read (then nothing was written).
pub async fn materialize(
    store: &dyn Store,
    rule: &AvailabilityRule,
    practice: &Practice,
    now: DateTime<Utc>,
    horizon_days: i64,
) -> Result<MaterializeReport, StoreError> {
    let (slots, through) = horizon_slots(rule, practice, now, horizon_days);
    let outcome = if slots.is_empty() {
        Vec::new()
    } else {
        store.materialize_rule_slots(&rule.id, rule.version, &slots).await?
    };
    Ok(report(slots, outcome, through))
}

/// Totals of one pass of the horizon job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshSummary {
    pub rules: usize,
    pub created: usize,
    pub skipped: usize,
    /// Rules that could not be materialised this pass (logged; the next pass tries again).
    pub failed: usize,
}

/// Materialises every active rule (of one professional, or all).
pub async fn refresh(
    store: &dyn Store,
    now: DateTime<Utc>,
    horizon_days: i64,
    professional_id: Option<&str>,
) -> Result<RefreshSummary, StoreError> {
    let ids = match professional_id {
        None => store.list_active_rule_ids().await?,
        Some(pid) => {
            let filter = ScopeFilter {
                professional_id: Some(pid.to_string()),
                within_practices_of_key: None,
                page: Page { limit: i64::from(u16::MAX), offset: 0 },
            };
            store.list_rules(&filter).await?.into_iter().map(|r| r.id).collect()
        }
    };
    let mut summary = RefreshSummary::default();
    for id in ids {
        // One rule failing (an unreadable row, a lost connection) must not starve the others.
        match refresh_rule(store, &id, now, horizon_days).await {
            Ok(Some(report)) => {
                summary.rules += 1;
                summary.created += report.created;
                summary.skipped += report.skipped.len();
            }
            Ok(None) => {}
            Err(error) => {
                summary.failed += 1;
                tracing::error!(rule_id = %id, %error, "rule not materialised this pass");
            }
        }
    }
    Ok(summary)
}

/// One rule's pass; `None` when the rule was deleted or changed meanwhile (its new version materialises itself).
async fn refresh_rule(
    store: &dyn Store,
    id: &str,
    now: DateTime<Utc>,
    horizon_days: i64,
) -> Result<Option<MaterializeReport>, StoreError> {
    let Some(rule) = store.get_rule(id).await? else { return Ok(None) };
    let Some(practice) = store.get_practice(&rule.practice_id).await? else { return Ok(None) };
    match materialize(store, &rule, &practice, now, horizon_days).await {
        Ok(report) => Ok(Some(report)),
        Err(StoreError::RuleChanged) => Ok(None),
        Err(other) => Err(other),
    }
}

/// The background job of `snp serve`: a pass at start, then one every `interval`. Errors are logged and the
/// next pass tries again; several processes may run it at once.
pub fn spawn_horizon_job(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    horizon_days: i64,
    patient_data_days: i64,
    interval: StdDuration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            // Stored idempotent answers hold patient data: a day is long enough for any retry.
            if let Err(error) = store.purge_idempotency_keys(clock.now() - Duration::hours(24)).await {
                tracing::error!(%error, "purging idempotency keys failed");
            }
            if let Err(error) = crate::retention::erase_expired(
                store.as_ref(),
                clock.now(),
                patient_data_days,
                crate::retention::Trigger::Job,
            )
            .await
            {
                tracing::error!(%error, "erasing expired patient data failed");
            }
            // A link past its appointment's start cancels nothing; a week on, its "expired" page is no longer
            // worth keeping the row for (an unknown link gets the "not valid" page instead).
            if let Err(error) = store.purge_cancel_links(clock.now() - Duration::days(7)).await {
                tracing::error!(%error, "purging cancel links failed");
            }
            // Every process replays the journal within seconds; an hour of it is plenty.
            if let Err(error) = store.prune_search_journal().await {
                tracing::error!(%error, "pruning the search journal failed");
            }
            match refresh(store.as_ref(), clock.now(), horizon_days, None).await {
                Ok(s) => tracing::info!(
                    rules = s.rules,
                    created = s.created,
                    skipped = s.skipped,
                    failed = s.failed,
                    "horizon refreshed"
                ),
                Err(error) => tracing::error!(%error, "horizon refresh failed; retrying at the next pass"),
            }
        }
    })
}
