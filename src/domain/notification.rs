//! Who is told what about a booking, by which channel, and when: the outbox rows a confirmation, a cancellation
//! and the reminders produce. Written in the same transaction as the booking's state change, so that no message
//! is ever lost and no booking waits for a mail server. What a message says is rendered when it is sent, from
//! the booking — and never includes the reason, the note, or anything medical.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::booking::Booking;

text_enum!(
    /// How a message travels.
    Channel { Email => "email", Sms => "sms" }
);
text_enum!(
    /// Who reads it.
    Recipient { Patient => "patient", Professional => "professional" }
);
text_enum!(
    /// What it is about.
    Kind { Confirmation => "confirmation", Reminder => "reminder", Cancellation => "cancellation" }
);
text_enum!(
    /// Where a message stands. `withdrawn`: a reminder whose booking was cancelled before it was due.
    Delivery { Pending => "pending", Sent => "sent", Failed => "failed", Withdrawn => "withdrawn" }
);

/// One message of the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: String,
    pub booking_id: String,
    pub channel: Channel,
    pub recipient: Recipient,
    pub kind: Kind,
    /// An email address or an E.164 phone number: personal data, never logged.
    pub address: String,
    /// Not sent before this instant (now for a confirmation; the reminder's time).
    pub due_at: DateTime<Utc>,
    pub status: Delivery,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// When patients are reminded: the evening before at a local time, and some hours before.
#[derive(Debug, Clone, PartialEq)]
pub struct ReminderPolicy {
    pub evening_before: Option<NaiveTime>,
    pub hours_before: Vec<u32>,
}

/// The booked appointment as the messages need it.
pub struct Appointment<'a> {
    pub booking: &'a Booking,
    pub start: DateTime<Utc>,
    pub timezone: Tz,
    /// The professional's email, if they gave one.
    pub professional_email: Option<&'a str>,
    /// The professional's phone (E.164): told by SMS when they gave no email.
    pub professional_phone: Option<&'a str>,
}

/// The messages of a new booking: the patient's confirmation by SMS and/or email (whichever contacts they
/// gave), the professional's by email, and the patient's reminders still to come before the start.
pub fn on_booking(
    a: &Appointment<'_>,
    policy: &ReminderPolicy,
    now: DateTime<Utc>,
    mut new_id: impl FnMut() -> String,
) -> Vec<Notification> {
    let mut out: Vec<Notification> =
        told(a).into_iter().map(|to| message(a, Kind::Confirmation, to, now, now, new_id())).collect();
    // Reminders by SMS when there is a phone (read at once), else by email.
    let (phone, email) = patient_contacts(a);
    let reminded = match (phone, email) {
        (Some(phone), _) => Some((Channel::Sms, Recipient::Patient, phone)),
        (None, Some(email)) => Some((Channel::Email, Recipient::Patient, email)),
        (None, None) => None,
    };
    if let Some(to) = reminded {
        for due_at in reminder_times(a.start, a.timezone, policy, now) {
            out.push(message(a, Kind::Reminder, to, due_at, now, new_id()));
        }
    }
    out
}

/// The messages of a cancellation: the patient and the professional are told, by the same channels as the
/// confirmation. (Reminders still pending are withdrawn by the store in the same transaction.)
pub fn on_cancellation(
    a: &Appointment<'_>,
    now: DateTime<Utc>,
    mut new_id: impl FnMut() -> String,
) -> Vec<Notification> {
    told(a).into_iter().map(|to| message(a, Kind::Cancellation, to, now, now, new_id())).collect()
}

/// Who is told of a confirmation or a cancellation: the patient by SMS and by email (as far as they gave a
/// phone and an email), the professional by email — or by SMS when they gave a phone but no email, since a
/// professional who does not know a patient is coming is the worst outcome of all.
fn told<'a>(a: &'a Appointment<'_>) -> Vec<(Channel, Recipient, &'a str)> {
    let (phone, email) = patient_contacts(a);
    let professional = match (a.professional_email, a.professional_phone) {
        (Some(email), _) => Some((Channel::Email, Recipient::Professional, email)),
        (None, Some(phone)) => Some((Channel::Sms, Recipient::Professional, phone)),
        (None, None) => None,
    };
    [
        phone.map(|phone| (Channel::Sms, Recipient::Patient, phone)),
        email.map(|email| (Channel::Email, Recipient::Patient, email)),
        professional,
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The patient's phone and email (none once their data is erased).
fn patient_contacts<'a>(a: &'a Appointment<'_>) -> (Option<&'a str>, Option<&'a str>) {
    match &a.booking.patient {
        Some(p) => (p.phone.as_deref(), p.email.as_deref()),
        None => (None, None),
    }
}

/// A pending message of the booking.
fn message(
    a: &Appointment<'_>,
    kind: Kind,
    (channel, recipient, address): (Channel, Recipient, &str),
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
    id: String,
) -> Notification {
    Notification {
        id,
        booking_id: a.booking.id.clone(),
        channel,
        recipient,
        kind,
        address: address.to_string(),
        due_at,
        status: Delivery::Pending,
        attempts: 0,
        last_error: None,
        sent_at: None,
        created_at: now,
    }
}

/// What became of one attempt to send a message, as the store records it.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    Sent {
        provider_id: Option<String>,
    },
    /// Try again at this instant.
    Retry {
        error: String,
        at: DateTime<Utc>,
    },
    /// Given up: the error is permanent, or the attempts are spent.
    Failed {
        error: String,
    },
    /// No longer worth sending (the appointment has started).
    Withdrawn {
        reason: String,
    },
}

/// An attempt on one message, as the worker hands it to the store: which message, what became of it, when.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedAttempt {
    pub id: String,
    pub attempt: Attempt,
    pub at: DateTime<Utc>,
}

/// After a failed attempt (the `attempts`-th): retry later with exponential backoff — 30 s, 1 min, 2 min, …
/// capped at an hour — spread by `jitter` in [0, 1) (±20 %) so that a provider coming back is not hit by every
/// worker at once; or give up when the error is permanent or `max_attempts` are spent.
pub fn after_failure(
    error: String,
    permanent: bool,
    attempts: u32,
    max_attempts: u32,
    now: DateTime<Utc>,
    jitter: f64,
) -> Attempt {
    if permanent || attempts >= max_attempts {
        return Attempt::Failed { error };
    }
    let base = (30.0 * 2f64.powi(attempts.saturating_sub(1).min(20) as i32)).min(3600.0);
    let spread = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    Attempt::Retry { error, at: now + Duration::milliseconds((base * spread * 1000.0) as i64) }
}

/// The reminders' times still to come and before the start, earliest first, without duplicates. The evening
/// before is read on the practice's wall clock (a time that does not exist that evening moves past the gap).
pub fn reminder_times(
    start: DateTime<Utc>,
    zone: Tz,
    policy: &ReminderPolicy,
    now: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let mut times: Vec<DateTime<Utc>> =
        policy.hours_before.iter().map(|h| start - Duration::hours(i64::from(*h))).collect();
    if let Some(at) = policy.evening_before {
        let eve = start.with_timezone(&zone).date_naive() - Duration::days(1);
        let local = eve.and_time(at);
        let instant = zone
            .from_local_datetime(&local)
            .earliest()
            .or_else(|| zone.from_local_datetime(&(local + Duration::hours(1))).earliest());
        times.extend(instant.map(|t| t.with_timezone(&Utc)));
    }
    times.retain(|t| *t > now && *t < start);
    times.sort();
    times.dedup();
    times
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ReminderPolicy {
        ReminderPolicy { evening_before: NaiveTime::from_hms_opt(19, 0, 0), hours_before: vec![2] }
    }

    #[test]
    fn failures_back_off_exponentially_with_jitter_and_give_up() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap();
        let retry_at = |attempts, jitter| match after_failure("421".into(), false, attempts, 8, now, jitter) {
            Attempt::Retry { at, .. } => (at - now).num_seconds(),
            other => panic!("{other:?}"),
        };
        assert_eq!(retry_at(1, 0.5), 30);
        assert_eq!(retry_at(2, 0.5), 60);
        assert_eq!(retry_at(3, 0.0), 96); // 120 s − 20 %
        assert_eq!(retry_at(3, 1.0), 144); // 120 s + 20 %
        assert_eq!(retry_at(7, 0.5), 1920);
        assert!(matches!(after_failure("421".into(), false, 8, 8, now, 0.5), Attempt::Failed { .. }));
        assert!(matches!(after_failure("550".into(), true, 1, 8, now, 0.5), Attempt::Failed { .. }));
        // The cap: never more than an hour (+20 %) between attempts.
        let capped = match after_failure("421".into(), false, 19, 30, now, 1.0) {
            Attempt::Retry { at, .. } => (at - now).num_seconds(),
            other => panic!("{other:?}"),
        };
        assert_eq!(capped, 4320);
    }

    #[test]
    fn reminders_come_the_evening_before_and_two_hours_before_but_never_late() {
        let zone = chrono_tz::Europe::Paris;
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap();
        // Wednesday 10:00 in Paris (09:00 UTC): Tuesday 19:00 Paris (18:00 UTC) and Wednesday 08:00 UTC.
        let start = Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap();
        assert_eq!(
            reminder_times(start, zone, &policy(), now),
            [
                Utc.with_ymd_and_hms(2026, 11, 24, 18, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2026, 11, 25, 7, 0, 0).unwrap()
            ]
        );
        // Booked at 08:00 for 09:30 the same day: both reminders would be past or too late.
        assert!(reminder_times(now + Duration::minutes(90), zone, &policy(), now).is_empty());
    }

    #[test]
    fn the_evening_before_is_on_the_practice_s_wall_clock_also_overseas_and_on_dst_days() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        let evening = ReminderPolicy { evening_before: NaiveTime::from_hms_opt(19, 0, 0), hours_before: vec![] };
        // Réunion (UTC+4): an appointment on 10 March at 09:00 local → 9 March 19:00 local = 15:00 UTC.
        let reunion = chrono_tz::Indian::Reunion;
        let start = reunion.with_ymd_and_hms(2026, 3, 10, 9, 0, 0).unwrap().with_timezone(&Utc);
        assert_eq!(
            reminder_times(start, reunion, &evening, now),
            [Utc.with_ymd_and_hms(2026, 3, 9, 15, 0, 0).unwrap()]
        );
        // Paris, the evening before the spring change (Sunday 29 March): Saturday 19:00 is still UTC+1.
        let paris = chrono_tz::Europe::Paris;
        let start = paris.with_ymd_and_hms(2026, 3, 29, 10, 0, 0).unwrap().with_timezone(&Utc);
        assert_eq!(reminder_times(start, paris, &evening, now), [Utc.with_ymd_and_hms(2026, 3, 28, 18, 0, 0).unwrap()]);
        // A wall time that does not exist that evening (02:30 on 29 March) moves past the gap.
        let small_hours = ReminderPolicy { evening_before: NaiveTime::from_hms_opt(2, 30, 0), hours_before: vec![] };
        let start = paris.with_ymd_and_hms(2026, 3, 30, 10, 0, 0).unwrap().with_timezone(&Utc);
        assert_eq!(
            reminder_times(start, paris, &small_hours, now),
            [Utc.with_ymd_and_hms(2026, 3, 29, 1, 30, 0).unwrap()]
        );
    }
}
