//! Telling patients and professionals: what each message says (`messages`: French SMS and email text, never
//! anything medical) and the calendar file of an email (`ics`, RFC 5545). The outbox rows themselves — who, by
//! which channel, when — are planned by `domain::notification` and stored by `store`; the sending worker and
//! its channels (SMTP, OVHcloud SMS) build on these.

pub mod ics;
pub mod messages;
