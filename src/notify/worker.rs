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

use super::email::{EmailChannel, SendError};
use super::messages::{self, Context};
use crate::clock::Clock;
use crate::domain::catalogue::Catalogue;
use crate::domain::motif::MotifDef;
use crate::domain::notification::{Attempt, Channel, Notification, Recipient, after_failure};
use crate::store::{Store, StoreError};

/// How long a claimed message is left to its worker before another may take it (longer than any SMTP timeout).
const LEASE: Duration = Duration::seconds(120);
/// Messages claimed per pass.
const BATCH: u32 = 50;

pub struct Worker {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub catalogue: Arc<Catalogue>,
    pub motifs: Arc<BTreeMap<String, MotifDef>>,
    pub email: Option<EmailChannel>,
    pub max_attempts: u32,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
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
        tracing::warn!("SMS channel off: no SMS provider yet (SMS will be marked failed)");
        Ok(Worker {
            store,
            clock,
            catalogue: Arc::new(settings.catalogue()),
            motifs: Arc::new(settings.motifs.clone()),
            email,
            max_attempts: settings.notifications.max_attempts,
        })
    }

    /// Sends every message due now (in batches), and says what became of them.
    pub async fn run_once(&self) -> Result<Pass, StoreError> {
        let mut pass = Pass::default();
        loop {
            let now = self.clock.now();
            let claimed = self.store.claim_due_notifications(now, now + LEASE, BATCH).await?;
            for message in &claimed {
                let attempt = self.deliver(message, now).await;
                let outcome = match &attempt {
                    Attempt::Sent { .. } => {
                        pass.sent += 1;
                        "sent"
                    }
                    Attempt::Retry { .. } => {
                        pass.retried += 1;
                        "retry"
                    }
                    Attempt::Failed { .. } => {
                        pass.failed += 1;
                        "failed"
                    }
                };
                tracing::info!(outbox_id = %message.id, booking_id = %message.booking_id,
                    channel = message.channel.as_str(), attempts = message.attempts, outcome, "notification attempt");
                self.store.record_attempt(&message.id, &attempt, self.clock.now()).await?;
            }
            if claimed.len() < BATCH as usize {
                return Ok(pass);
            }
        }
    }

    async fn deliver(&self, message: &Notification, now: DateTime<Utc>) -> Attempt {
        match self.send(message, now).await {
            Ok(provider_id) => Attempt::Sent { provider_id: Some(provider_id) },
            Err(SendError { message: error, permanent }) => {
                after_failure(error, permanent, message.attempts, self.max_attempts, now, jitter())
            }
        }
    }

    async fn send(&self, m: &Notification, now: DateTime<Utc>) -> Result<String, SendError> {
        let transient = |e: StoreError| SendError { message: format!("database: {e}"), permanent: false };
        let gone = || SendError { message: "the booking no longer exists".into(), permanent: true };
        let booking = self.store.get_booking(&m.booking_id).await.map_err(transient)?.ok_or_else(gone)?;
        let slot = self.store.get_slot(&booking.slot_id).await.map_err(transient)?.ok_or_else(gone)?;
        let professional =
            self.store.get_professional(&slot.professional_id).await.map_err(transient)?.ok_or_else(gone)?;
        let practice = self.store.get_practice(&slot.practice_id).await.map_err(transient)?.ok_or_else(gone)?;
        let professional_name = format!("{} {}", professional.first_name, professional.last_name);
        let practice_address = format!("{}, {} {}", practice.address, practice.postal_code, practice.commune);
        // "Médecin généraliste" reads "médecin généraliste" in a sentence.
        let title = match self.catalogue.professions.get(&professional.profession) {
            Some(def) => lowercase_first(&def.title),
            None => professional.profession.clone(),
        };
        let context = Context {
            booking_id: &booking.id,
            patient_birth_date: booking.patient.birth_date,
            start: slot.start,
            end: slot.end,
            timezone: slot.timezone,
            modality: slot.modality,
            professional_name: &professional_name,
            profession_title: &title,
            practice_name: &practice.name,
            practice_address: &practice_address,
            practice_phone: practice.phone.as_deref(),
            prescription_required: self.motifs.get(&booking.motif).is_some_and(|m| m.prescription_required),
            cancel_url: None,
        };
        match m.channel {
            Channel::Email => {
                let Some(channel) = &self.email else {
                    return Err(SendError { message: "no email server is configured".into(), permanent: true });
                };
                let email = match m.recipient {
                    Recipient::Patient => messages::patient_email(m.kind, &context, now),
                    Recipient::Professional => messages::professional_email(m.kind, &context),
                };
                channel.send(&m.id, &m.address, &email).await
            }
            Channel::Sms => Err(SendError { message: "no SMS provider is configured".into(), permanent: true }),
        }
    }
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_lowercase().chain(chars).collect()).unwrap_or_default()
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
