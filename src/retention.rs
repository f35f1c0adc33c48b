//! Retention of patient data: a booking's names, birth date, phone, email, note and cancellation reason — and the
//! addresses its messages went to — are erased `retention.patient_data_days` after its slot ended, by `snp
//! purge` and by a job inside `snp serve`. What stays is pseudonymous: the booking's ids and times, the search
//! statistics, the audit trail.

use chrono::{DateTime, Duration, Utc};

use crate::domain::audit::AuditEvent;
use crate::store::{Store, StoreError};

/// Who asked for the erasure: the audit trail records every run of `snp purge`, and the job's runs that erased
/// something (an hourly "nothing to do" would only bury the events that matter).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    Command,
    Job,
}

/// Erases what the retention period no longer allows keeping; returns how many bookings were erased.
pub async fn erase_expired(
    store: &dyn Store,
    now: DateTime<Utc>,
    patient_data_days: i64,
    trigger: Trigger,
) -> Result<u64, StoreError> {
    let erased = store.erase_patient_data(now - Duration::days(patient_data_days), now).await?;
    if erased > 0 {
        tracing::info!(bookings = erased, patient_data_days, "patient data erased (retention)");
    }
    if erased > 0 || trigger == Trigger::Command {
        let detail = format!("{erased} bookings, slots ended more than {patient_data_days} days ago");
        store.append_audit(&[AuditEvent::by_system(now, "retention.erase", "booking", None, detail)]).await?;
    }
    Ok(erased)
}
