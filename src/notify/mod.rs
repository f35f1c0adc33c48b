//! Telling patients and professionals: what each message says (`messages`: French SMS and email text, never
//! anything medical) and the calendar file of an email (`ics`, RFC 5545). The outbox rows themselves — who, by
//! which channel, when — are planned by `domain::notification` and stored by `store`; the `worker` claims due
//! rows and sends them through their channel (`email` over SMTP, `sms` over the OVHcloud API).

pub mod email;
pub mod ics;
pub mod messages;
pub mod sms;
pub mod worker;

/// Why a channel could not send a message; `permanent` failures are not retried.
#[derive(Debug, Clone, PartialEq)]
pub struct SendError {
    pub message: String,
    pub permanent: bool,
}
