//! The outbox worker — inside `snp serve`, or alone as `snp worker`: claims due messages for a lease, renders
//! them, sends them through their channel, and records what happened (sent with the provider's answer, retried
//! later with backoff, or failed). Several workers on one database never send a message twice in normal
//! operation (the claim), and a booking never waits for any of this.
//!
//! Logs name outbox and booking ids only: a provider's error may quote an address, so it goes to the outbox
//! row (where the regulator already sees the patient's contacts), never to the log.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use super::SendError;
use super::email::EmailChannel;
use super::messages::{self, Details};
use super::sms::{DEFAULT_VALIDITY_MINUTES, SmsChannel};
use crate::clock::Clock;
use crate::domain::booking::{Booking, BookingStatus};
use crate::domain::cancel_link::{CancelLink, LinkToken, TOKEN_BYTES};
use crate::domain::catalogue::Catalogue;
use crate::domain::motif::MotifDef;
use crate::domain::notification::{Attempt, Channel, Kind, Notification, Recipient, RecordedAttempt, after_failure};
use crate::domain::practice::Practice;
use crate::domain::professional::Professional;
use crate::domain::slot::Slot;
use crate::store::{Store, StoreError};

/// The shortest lease: how long a claimed message is left to its worker before another may take it over.
const MIN_LEASE: Duration = Duration::seconds(120);
/// One send is at worst this many channel timeouts: several exchanges (SMTP: connect, EHLO, STARTTLS, MAIL,
/// RCPT, DATA; SMS: the provider's time, then the job), each bounded by the timeout. A lease outlasts one send;
/// a message whose claim has less than that left is renewed before it is sent.
const TIMEOUTS_PER_SEND: i64 = 8;
/// Outcomes are written together, one transaction per batch (not one per message, each a commit the bookings
/// queue behind) — but once the oldest has waited this long, before the next send: a crash re-sends at most what
/// went out since (a message sent and not recorded goes again once its lease ends).
const RECORD_AT_LEAST_EVERY: StdDuration = StdDuration::from_secs(1);
/// The messages of one booking follow each other in a batch: what they are about is read once for them all,
/// if the next comes this soon (a slow channel means reading again, in case the booking changed meanwhile).
const SUBJECT_REUSED_WITHIN: StdDuration = StdDuration::from_secs(1);
/// Messages claimed at a time (a pass claims until none is left).
const BATCH: u32 = 50;

pub struct Worker {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub catalogue: Arc<Catalogue>,
    pub motifs: Arc<BTreeMap<String, MotifDef>>,
    pub email: Option<EmailChannel>,
    pub sms: Option<SmsChannel>,
    /// Where patients reach the server (`http.public_url`); `None`: messages carry no cancel link.
    pub public_url: Option<String>,
    pub max_attempts: u32,
    /// Messages claimed at a time.
    pub batch: u32,
    /// How long a claim keeps a message from other workers.
    pub lease: Duration,
    /// How long one send may take at worst: a claim with less than this left is renewed before the send.
    pub send_budget: Duration,
}

/// Why a claimed message was not sent.
enum Undelivered {
    /// The channel (or the data it needs) failed.
    Error(SendError),
    /// The appointment has started: the message is no longer worth sending.
    Started,
    /// The booking was cancelled: only its cancellation notices still go.
    Cancelled,
}

impl From<SendError> for Undelivered {
    fn from(error: SendError) -> Self {
        Undelivered::Error(error)
    }
}

/// What a message is about, as read from the database.
struct Subject {
    booking: Booking,
    slot: Slot,
    professional: Professional,
    practice: Practice,
    read_at: std::time::Instant,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

impl Pass {
    /// Counts an attempt; names its outcome for the log.
    fn count(&mut self, attempt: &Attempt) -> &'static str {
        match attempt {
            Attempt::Sent { .. } => {
                self.sent += 1;
                "sent"
            }
            Attempt::Retry { .. } => {
                self.retried += 1;
                "retry"
            }
            Attempt::Failed { .. } => {
                self.failed += 1;
                "failed"
            }
            Attempt::Withdrawn { .. } => "withdrawn",
        }
    }
}

impl Worker {
    /// A worker as configured; says at start-up which channels are off.
    pub fn from_settings(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: &crate::config::Settings,
    ) -> Result<Worker, String> {
        let email = EmailChannel::from_settings(&settings.email)?;
        if email.is_none() {
            tracing::warn!("email channel off: email.smtp_host is empty (emails will be marked failed)");
        }
        let sms = SmsChannel::from_settings(&settings.sms)?;
        if sms.is_none() {
            tracing::warn!("SMS channel off: sms.provider is \"none\" (SMS will be marked failed)");
        }
        let public_url = Some(settings.http.public_url.clone()).filter(|url| !url.is_empty());
        if public_url.is_none() {
            tracing::warn!("http.public_url is empty: patients' messages will carry no cancel link");
        }
        let send_budget =
            Duration::seconds(TIMEOUTS_PER_SEND * settings.email.timeout_secs.max(settings.sms.timeout_secs) as i64);
        Ok(Worker {
            store,
            clock,
            catalogue: Arc::new(settings.catalogue()),
            motifs: Arc::new(settings.motifs.clone()),
            email,
            sms,
            public_url,
            max_attempts: settings.notifications.max_attempts,
            batch: BATCH,
            lease: MIN_LEASE.max(send_budget),
            send_budget,
        })
    }

    /// Sends every message due now (in batches), and says what became of them.
    pub async fn run_once(&self) -> Result<Pass, StoreError> {
        let mut pass = Pass::default();
        loop {
            let claimed_at = self.clock.now();
            let claim = uuid::Uuid::now_v7().to_string();
            let claimed =
                self.store.claim_due_notifications(claimed_at, claimed_at + self.lease, self.batch, &claim).await?;
            let mut pending = Vec::new();
            let sent = self.send_claimed(&claimed, claimed_at, &claim, &mut pending, &mut pass).await;
            // What went out is recorded even when the batch stopped on an error: unrecorded, it would go out again
            // once its lease ends.
            let recorded = if pending.is_empty() { Ok(()) } else { self.store.record_attempts(&claim, &pending).await };
            sent?;
            recorded?;
            if claimed.len() < self.batch as usize {
                return Ok(pass);
            }
        }
    }

    /// Sends a claimed batch. Outcomes wait in `pending`, and are written before a send once the oldest has
    /// waited [`RECORD_AT_LEAST_EVERY`] or the claim runs short — so that none waits past its lease (another
    /// worker would then take the message over and send it again).
    async fn send_claimed(
        &self,
        claimed: &[Notification],
        claimed_at: DateTime<Utc>,
        claim: &str,
        pending: &mut Vec<RecordedAttempt>,
        pass: &mut Pass,
    ) -> Result<(), StoreError> {
        let mut oldest_pending = std::time::Instant::now();
        let mut subject = None;
        for message in claimed {
            // Each message on the clock of its own turn: a batch may take a while to send.
            let now = self.clock.now();
            let short = claim_runs_short(claimed_at + self.lease, now, self.send_budget);
            if !pending.is_empty() && (short || oldest_pending.elapsed() >= RECORD_AT_LEAST_EVERY) {
                self.store.record_attempts(claim, pending).await?;
                pending.clear();
            }
            if short && !self.store.renew_claim(&message.id, claim, now + self.lease).await? {
                tracing::warn!(outbox_id = %message.id, "claim lapsed and taken over by another worker: skipped");
                continue;
            }
            let attempt = self.deliver(message, now, &mut subject).await;
            // Counted outside the log macro, which skips its fields when the level is off.
            let outcome = pass.count(&attempt);
            tracing::info!(outbox_id = %message.id, booking_id = %message.booking_id,
                channel = message.channel.as_str(), attempts = message.attempts, outcome, "notification attempt");
            if pending.is_empty() {
                oldest_pending = std::time::Instant::now();
            }
            pending.push(RecordedAttempt { id: message.id.clone(), attempt, at: self.clock.now() });
        }
        Ok(())
    }

    async fn deliver(&self, message: &Notification, now: DateTime<Utc>, subject: &mut Option<Subject>) -> Attempt {
        match self.send(message, now, subject).await {
            Ok(provider_id) => Attempt::Sent { provider_id: Some(provider_id) },
            Err(Undelivered::Started) => Attempt::Withdrawn { reason: "the appointment had started".into() },
            Err(Undelivered::Cancelled) => Attempt::Withdrawn { reason: "the booking was cancelled".into() },
            Err(Undelivered::Error(SendError { message: error, permanent })) => {
                after_failure(error, permanent, message.attempts, self.max_attempts, now, jitter())
            }
        }
    }

    /// Reads what a message is about — unless the previous message was about the same booking, just now.
    async fn read_subject(&self, booking_id: &str, memo: &mut Option<Subject>) -> Result<(), SendError> {
        let fresh =
            memo.as_ref().is_some_and(|s| s.booking.id == booking_id && s.read_at.elapsed() < SUBJECT_REUSED_WITHIN);
        if fresh {
            return Ok(());
        }
        *memo = None;
        let transient = |e: StoreError| SendError { message: format!("database: {e}"), permanent: false };
        let gone = || SendError { message: "the booking no longer exists".into(), permanent: true };
        let read_at = std::time::Instant::now();
        let booking = self.store.get_booking(booking_id).await.map_err(transient)?.ok_or_else(gone)?;
        let slot = self.store.get_slot(&booking.slot_id).await.map_err(transient)?.ok_or_else(gone)?;
        let professional =
            self.store.get_professional(&slot.professional_id).await.map_err(transient)?.ok_or_else(gone)?;
        let practice = self.store.get_practice(&slot.practice_id).await.map_err(transient)?.ok_or_else(gone)?;
        *memo = Some(Subject { booking, slot, professional, practice, read_at });
        Ok(())
    }

    async fn send(
        &self,
        m: &Notification,
        now: DateTime<Utc>,
        memo: &mut Option<Subject>,
    ) -> Result<String, Undelivered> {
        self.read_subject(&m.booking_id, memo).await?;
        let Subject { booking, slot, professional, practice, .. } = memo.as_ref().expect("just read");
        let details = Details::new(booking, professional, practice, &self.catalogue, &self.motifs);
        // A confirmation or a reminder arriving after the start would only confuse. (The claim withdraws due
        // reminders too, but a batch, or a slow provider, may reach this message later than that.)
        if m.kind != Kind::Cancellation && m.recipient == Recipient::Patient && slot.start <= now {
            return Err(Undelivered::Started);
        }
        // A confirmation or reminder of a cancelled booking (still pending at the cancellation, or sent again by a
        // coordinator) would tell the patient to come to an appointment that no longer exists.
        if m.kind != Kind::Cancellation && booking.status == BookingStatus::Cancelled {
            return Err(Undelivered::Cancelled);
        }
        let cancel_url = self.cancel_url(m, booking, slot, now).await?;
        let context = details.context(booking, slot, cancel_url.as_deref());
        match m.channel {
            Channel::Email => {
                let Some(channel) = &self.email else {
                    return Err(SendError { message: "no email server is configured".into(), permanent: true }.into());
                };
                let email = match m.recipient {
                    Recipient::Patient => messages::patient_email(m.kind, &context, now),
                    Recipient::Professional => messages::professional_email(m.kind, &context),
                };
                Ok(channel.send(&m.id, &m.address, &email).await?)
            }
            Channel::Sms => {
                let Some(channel) = &self.sms else {
                    return Err(SendError { message: "no SMS provider is configured".into(), permanent: true }.into());
                };
                let text = match m.recipient {
                    Recipient::Patient => messages::patient_sms(m.kind, &context),
                    Recipient::Professional => messages::professional_sms(m.kind, &context),
                };
                // Worthless once the appointment has started: the operator may drop it then.
                let validity = match m.kind {
                    Kind::Cancellation => DEFAULT_VALIDITY_MINUTES,
                    _ => (slot.start - now).num_minutes().max(1),
                };
                Ok(channel.send(&m.address, &text, validity).await?)
            }
        }
    }

    /// A fresh cancel link for the patient's confirmation or reminder of a booking still to come: its digest
    /// is stored before the message leaves, so that every link a patient receives works.
    async fn cancel_url(
        &self,
        m: &Notification,
        booking: &Booking,
        slot: &Slot,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, SendError> {
        let Some(public_url) = &self.public_url else { return Ok(None) };
        let channel_on = match m.channel {
            Channel::Email => self.email.is_some(),
            Channel::Sms => self.sms.is_some(),
        };
        let wanted = channel_on && m.recipient == Recipient::Patient && m.kind != Kind::Cancellation;
        if !wanted || booking.status != BookingStatus::Confirmed || slot.start <= now {
            return Ok(None);
        }
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes)
            .map_err(|e| SendError { message: format!("random source: {e}"), permanent: false })?;
        let token = LinkToken::from_random_bytes(bytes);
        self.store
            .create_cancel_link(&CancelLink::new(&token, &booking.id, slot.start, now))
            .await
            .map_err(|e| SendError { message: format!("database: {e}"), permanent: false })?;
        Ok(Some(token.url(public_url)))
    }
}

/// Whether a claim lasting until `claimed_until` might end during a send starting `now` (and so must be renewed
/// first). A quick batch renews nothing; a slow one renews each message once its claim runs short.
fn claim_runs_short(claimed_until: DateTime<Utc>, now: DateTime<Utc>, send_budget: Duration) -> bool {
    claimed_until - now < send_budget
}

/// A number in [0, 1) for the backoff's jitter.
fn jitter() -> f64 {
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

/// The worker's loop: a pass every `interval`. Errors are logged; the next pass tries again.
pub fn spawn(worker: Arc<Worker>, interval: StdDuration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match worker.run_once().await {
                Ok(pass) if pass == Pass::default() => {}
                Ok(pass) => {
                    tracing::info!(sent = pass.sent, retried = pass.retried, failed = pass.failed, "outbox pass")
                }
                Err(error) => tracing::error!(%error, "outbox pass failed; retrying at the next one"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_renewed_only_once_it_cannot_outlast_a_send() {
        let claimed_at = DateTime::parse_from_rfc3339("2026-11-24T08:00:00Z").unwrap().to_utc();
        let (lease, budget) = (Duration::seconds(120), Duration::seconds(80));
        let until = claimed_at + lease;
        assert!(!claim_runs_short(until, claimed_at, budget));
        assert!(!claim_runs_short(until, claimed_at + Duration::seconds(40), budget));
        assert!(claim_runs_short(until, claimed_at + Duration::seconds(41), budget));
        assert!(claim_runs_short(until, claimed_at + Duration::seconds(200), budget));
        // Long timeouts: the lease is one send's budget, and every message is renewed (as before batching).
        assert!(claim_runs_short(claimed_at + budget, claimed_at + Duration::seconds(1), budget));
    }
}
