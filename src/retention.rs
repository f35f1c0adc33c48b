//! Retention of patient data: a booking's names, birth date, phone, email, note and cancellation reason — and the
//! addresses its messages went to — are erased `retention.patient_data_days` after its slot ended, by `snp
//! purge` and by a job inside `snp serve`. What stays is pseudonymous: the booking's ids and times, the search
//! statistics, the audit trail.

use chrono::{DateTime, Duration, Utc};

use crate::store::{Store, StoreError};

/// Erases what the retention period no longer allows keeping; returns how many bookings were erased.
pub async fn erase_expired(store: &dyn Store, now: DateTime<Utc>, patient_data_days: i64) -> Result<u64, StoreError> {
    let erased = store.erase_patient_data(now - Duration::days(patient_data_days), now).await?;
    if erased > 0 {
        tracing::info!(bookings = erased, patient_data_days, "patient data erased (retention)");
    }
    Ok(erased)
}
