//! Telling patients and professionals: what each message says (`messages`: French SMS and email text, never
//! anything medical) and the calendar file of an email (`ics`, RFC 5545). The outbox rows themselves — who, by
//! which channel, when — are planned by `domain::notification` and stored by `store`; the `worker` claims due
//! rows and sends them through their channel (`email` over SMTP; SMS comes next).

pub mod email;
pub mod ics;
pub mod messages;
pub mod worker;
