//! Instants and the local wall-clock people read: conversions only, no clock reads.

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use chrono_tz::Tz;

/// RFC 3339 in UTC with a `Z`, as every response gives instants.
pub fn utc_rfc3339(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// RFC 3339 with the zone's offset at that instant (`2026-11-27T18:00:00+01:00`).
pub fn local_rfc3339(instant: DateTime<Utc>, zone: Tz) -> String {
    instant.with_timezone(&zone).to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// Whether an instant falls on a whole minute: slots are "correct to the minute", never to the second.
pub fn is_whole_minute(instant: DateTime<Utc>) -> bool {
    instant.second() == 0 && instant.nanosecond() == 0
}
