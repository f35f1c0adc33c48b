//! Typed settings: the built-in `config/default.toml`, then an optional file, then `SNP__SECTION__KEY`
//! environment variables. A bad value stops start-up with a message naming the setting; `Debug` never prints
//! the database password.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

use crate::domain::catalogue::Catalogue;
use crate::domain::slot::SlotRules;

/// The defaults, compiled in so a binary copied anywhere still starts.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");
/// The reason catalogue, compiled in the same way (a `--config` file may add or change `[motifs.…]` entries).
pub const MOTIFS_TOML: &str = include_str!("../config/motifs.toml");

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub http: HttpSettings,
    pub log: LogSettings,
    pub slots: SlotSettings,
    pub availability: AvailabilitySettings,
    pub booking: BookingSettings,
    pub notifications: NotificationSettings,
    pub email: EmailSettings,
    pub sms: SmsSettings,
    pub retention: RetentionSettings,
    pub console: ConsoleSettings,
    pub search: SearchSettings,
    pub professions: std::collections::BTreeMap<String, crate::domain::catalogue::ProfessionDef>,
    pub skills: std::collections::BTreeMap<String, crate::domain::catalogue::SkillDef>,
    pub motifs: std::collections::BTreeMap<String, crate::domain::motif::MotifDef>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    pub busy_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub bind: SocketAddr,
    pub max_body_bytes: usize,
    pub request_timeout_secs: u64,
    /// Where patients reach this server (the start of their cancel links); empty: no links in messages.
    pub public_url: String,
    /// Rate limit of the patients' pages, per client address.
    pub public_page_requests_per_minute: u32,
    /// The header a reverse proxy puts the client's address in (`x-forwarded-for`)…
    pub client_address_header: String,
    /// …trusted only from these addresses or blocks (the proxies); empty: the client is the TCP peer.
    pub trusted_proxies: Vec<String>,
    /// How long a key found valid is trusted without asking the database (a revocation elsewhere: this late).
    pub api_key_cache_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Auto,
    Json,
    Pretty,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotSettings {
    pub min_minutes: i64,
    pub max_minutes: i64,
    pub past_tolerance_minutes: i64,
    pub max_days_ahead: i64,
    pub max_batch: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvailabilitySettings {
    pub horizon_days: i64,
    pub refresh_interval_minutes: u64,
    pub max_preview_days: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSettings {
    pub min_lead_minutes: i64,
    pub max_radius_km: f64,
    pub min_professionals_in_reach: usize,
    pub max_per_professional: usize,
    pub default_limit: usize,
    pub max_limit: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookingSettings {
    pub hold_seconds: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationSettings {
    /// Local time (HH:MM) of the patient's reminder the evening before; empty: none.
    pub reminder_evening_before: String,
    /// Reminders this many hours before the start.
    pub reminder_hours_before: Vec<u32>,
    /// Attempts before a message is marked failed.
    pub max_attempts: u32,
    /// How often the worker looks for due messages, in seconds.
    pub worker_interval_secs: u64,
}

/// The SMTP server that carries emails. An empty `smtp_host` turns the email channel off.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    pub smtp_host: String,
    pub smtp_port: u16,
    /// `none` (plain, for a relay on the same host), `starttls` or `tls` (implicit TLS).
    pub tls: String,
    pub username: String,
    pub password: String,
    /// The sender, e.g. `SAS Normandie <no-reply@sas-normandie.fr>`.
    pub from: String,
    pub timeout_secs: u64,
}

impl fmt::Debug for EmailSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailSettings")
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &if self.password.is_empty() { "" } else { "***" })
            .field("from", &self.from)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSettings {
    /// A session ends after this many minutes without a request…
    pub session_idle_minutes: i64,
    /// … and this many hours after login, whatever happens.
    pub session_absolute_hours: i64,
    /// Failed logins in a row that lock an account…
    pub login_max_failures: u32,
    /// … for this many minutes.
    pub lockout_minutes: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Days after a slot ends before its booking's patient data is erased.
    pub patient_data_days: i64,
}

/// The SMS provider. `provider = "none"` turns the SMS channel off.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    /// `none` or `ovh`.
    pub provider: String,
    pub base_url: String,
    pub application_key: String,
    pub application_secret: String,
    pub consumer_key: String,
    pub service_name: String,
    pub sender: String,
    pub timeout_secs: u64,
}

impl fmt::Debug for SmsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |secret: &str| if secret.is_empty() { "" } else { "***" };
        f.debug_struct("SmsSettings")
            .field("provider", &self.provider)
            .field("base_url", &self.base_url)
            .field("application_key", &self.application_key)
            .field("application_secret", &hidden(&self.application_secret))
            .field("consumer_key", &hidden(&self.consumer_key))
            .field("service_name", &self.service_name)
            .field("sender", &self.sender)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {path}: {message}")]
    File { path: String, message: String },
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Settings {
    /// Loads defaults, then `file`, then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_with_env(file, Env::prefixed("SNP__").split("__"))
    }

    fn load_with_env(file: Option<&Path>, env: Env) -> Result<Settings, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML)).merge(Toml::string(MOTIFS_TOML));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::File { path: path.display().to_string(), message: "not found".into() });
            }
            figment = figment.merge(Toml::file(path));
        }
        let settings: Settings = figment.merge(env).extract().map_err(|e| ConfigError::Invalid(describe(e)))?;
        settings.check()?;
        Ok(settings)
    }

    /// Rules serde cannot express.
    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        let url = &self.database.url;
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return invalid(format!(
                "database.url must start with sqlite:, postgres:// or postgresql:// (got {:?})",
                redact_url(url)
            ));
        }
        if self.database.max_connections == 0 {
            return invalid("database.max_connections must be at least 1".into());
        }
        if self.http.max_body_bytes < 1024 {
            return invalid("http.max_body_bytes must be at least 1024".into());
        }
        if !(1..=120).contains(&self.http.request_timeout_secs) {
            return invalid("http.request_timeout_secs must be between 1 and 120".into());
        }
        if self.http.api_key_cache_secs > 300 {
            return invalid("http.api_key_cache_secs must be between 0 and 300".into());
        }
        let public_url = &self.http.public_url;
        // Patients' links cancel appointments: they travel over TLS (plain http only for a local trial).
        let local = ["http://localhost", "http://127.0.0.1"].iter().any(|p| public_url.starts_with(p));
        if !public_url.is_empty()
            && (!(public_url.starts_with("https://") || local)
                || public_url.ends_with('/')
                || public_url.contains(['?', '#', ' '])
                || public_url.chars().count() > 60)
        {
            return invalid(format!(
                "http.public_url must be an https address of at most 60 characters, like https://rdv.example.fr, \
                 without a trailing slash (got {public_url:?})"
            ));
        }
        if !(1..=10_000).contains(&self.http.public_page_requests_per_minute) {
            return invalid("http.public_page_requests_per_minute must be between 1 and 10000".into());
        }
        if self.client_address_header().is_none() && !self.http.client_address_header.is_empty() {
            return invalid(format!(
                "http.client_address_header is not a header name (got {:?})",
                self.http.client_address_header
            ));
        }
        for proxy in &self.http.trusted_proxies {
            crate::http::rate_limit::Network::parse(proxy)
                .map_err(|m| ConfigError::Invalid(format!("http.trusted_proxies: {m}")))?;
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return invalid(format!("log.level {:?} is not a tracing filter (e.g. info, snp=debug)", self.log.level));
        }
        let s = &self.slots;
        if s.min_minutes < 1 || s.max_minutes < s.min_minutes {
            return invalid("slots.min_minutes must be at least 1 and at most slots.max_minutes".into());
        }
        if s.max_minutes > 24 * 60 {
            return invalid("slots.max_minutes must be at most 1440 (a day)".into());
        }
        if !(0..=24 * 60).contains(&s.past_tolerance_minutes) {
            return invalid("slots.past_tolerance_minutes must be between 0 and 1440".into());
        }
        if !(1..=3660).contains(&s.max_days_ahead) {
            return invalid("slots.max_days_ahead must be between 1 and 3660 (ten years)".into());
        }
        if !(1..=10_000).contains(&s.max_batch) {
            return invalid("slots.max_batch must be between 1 and 10000".into());
        }
        let a = &self.availability;
        if !(1..=366).contains(&a.horizon_days) {
            return invalid("availability.horizon_days must be between 1 and 366".into());
        }
        if !(1..=24 * 60).contains(&a.refresh_interval_minutes) {
            return invalid("availability.refresh_interval_minutes must be between 1 and 1440 (at least daily)".into());
        }
        if !(1..=3660).contains(&a.max_preview_days) {
            return invalid("availability.max_preview_days must be between 1 and 3660".into());
        }
        let q = &self.search;
        if !(0..=24 * 60).contains(&q.min_lead_minutes) {
            return invalid("search.min_lead_minutes must be between 0 and 1440".into());
        }
        if !(q.max_radius_km.is_finite() && (1.0..=1000.0).contains(&q.max_radius_km)) {
            return invalid("search.max_radius_km must be between 1 and 1000".into());
        }
        if q.max_per_professional == 0 || q.default_limit == 0 || q.max_limit < q.default_limit || q.max_limit > 500 {
            return invalid("search: max_per_professional ≥ 1, 1 ≤ default_limit ≤ max_limit ≤ 500".into());
        }
        if !(30..=3600).contains(&self.booking.hold_seconds) {
            return invalid("booking.hold_seconds must be between 30 and 3600".into());
        }
        let n = &self.notifications;
        if !n.reminder_evening_before.is_empty()
            && chrono::NaiveTime::parse_from_str(&n.reminder_evening_before, "%H:%M").is_err()
        {
            return invalid("notifications.reminder_evening_before must be HH:MM, or empty for none".into());
        }
        if n.reminder_hours_before.iter().any(|h| !(1..=72).contains(h)) {
            return invalid("notifications.reminder_hours_before: each between 1 and 72".into());
        }
        if !(1..=50).contains(&n.max_attempts) || !(1..=3600).contains(&n.worker_interval_secs) {
            return invalid(
                "notifications: max_attempts between 1 and 50, worker_interval_secs between 1 and 3600".into(),
            );
        }
        let e = &self.email;
        if !["none", "starttls", "tls"].contains(&e.tls.as_str()) {
            return invalid(format!("email.tls must be none, starttls or tls (got {:?})", e.tls));
        }
        if !e.smtp_host.is_empty() && e.from.parse::<lettre::message::Mailbox>().is_err() {
            return invalid(format!(
                "email.from is not an address like \"SAS <no-reply@example.fr>\" (got {:?})",
                e.from
            ));
        }
        if !(1..=300).contains(&e.timeout_secs) {
            return invalid("email.timeout_secs must be between 1 and 300".into());
        }
        if !(1..=3650).contains(&self.retention.patient_data_days) {
            return invalid("retention.patient_data_days must be between 1 and 3650".into());
        }
        let c = &self.console;
        if !(1..=24 * 60).contains(&c.session_idle_minutes) || !(1..=7 * 24).contains(&c.session_absolute_hours) {
            return invalid(
                "console: session_idle_minutes between 1 and 1440, session_absolute_hours between 1 and 168".into(),
            );
        }
        if !(1..=100).contains(&c.login_max_failures) || !(1..=24 * 60).contains(&c.lockout_minutes) {
            return invalid("console: login_max_failures between 1 and 100, lockout_minutes between 1 and 1440".into());
        }
        self.check_sms()?;
        self.catalogue().check().map_err(ConfigError::Invalid)?;
        crate::domain::motif::check_motifs(&self.motifs, &self.catalogue())
            .map_err(|m| ConfigError::Invalid(format!("{m} (config/motifs.toml or the --config file)")))
    }

    fn check_sms(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        let s = &self.sms;
        if !(1..=120).contains(&s.timeout_secs) {
            return invalid("sms.timeout_secs must be between 1 and 120".into());
        }
        match s.provider.as_str() {
            "none" => return Ok(()),
            "ovh" => {}
            other => return invalid(format!("sms.provider must be none or ovh (got {other:?})")),
        }
        if !(s.base_url.starts_with("https://") || s.base_url.starts_with("http://")) {
            return invalid(format!("sms.base_url must be an http(s) address (got {:?})", s.base_url));
        }
        for (name, value) in [
            ("application_key", &s.application_key),
            ("application_secret", &s.application_secret),
            ("consumer_key", &s.consumer_key),
        ] {
            if value.is_empty() {
                return invalid(format!("sms.{name} is required with sms.provider = \"ovh\""));
            }
        }
        let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if s.service_name.is_empty() || !s.service_name.chars().all(safe) {
            return invalid(format!(
                "sms.service_name must be the SMS account, like sms-ab12345-1 (got {:?})",
                s.service_name
            ));
        }
        if !(1..=11).contains(&s.sender.chars().count()) || !s.sender.chars().all(|c| c.is_ascii_alphanumeric()) {
            return invalid(format!("sms.sender must be 1 to 11 letters or digits (got {:?})", s.sender));
        }
        Ok(())
    }

    /// `http.client_address_header` as a header name; `None` when empty (or invalid: `check` refuses it).
    pub fn client_address_header(&self) -> Option<axum::http::HeaderName> {
        axum::http::HeaderName::try_from(self.http.client_address_header.to_ascii_lowercase()).ok()
    }

    /// `http.trusted_proxies`, parsed (`check` refuses any that does not parse).
    pub fn trusted_proxies(&self) -> Vec<crate::http::rate_limit::Network> {
        self.http.trusted_proxies.iter().filter_map(|p| crate::http::rate_limit::Network::parse(p).ok()).collect()
    }

    pub fn session_policy(&self) -> crate::domain::user::SessionPolicy {
        crate::domain::user::SessionPolicy {
            idle: chrono::Duration::minutes(self.console.session_idle_minutes),
            absolute: chrono::Duration::hours(self.console.session_absolute_hours),
        }
    }

    pub fn lockout_policy(&self) -> crate::domain::user::LockoutPolicy {
        crate::domain::user::LockoutPolicy {
            max_failures: self.console.login_max_failures,
            lock_for: chrono::Duration::minutes(self.console.lockout_minutes),
        }
    }

    pub fn catalogue(&self) -> Catalogue {
        Catalogue { professions: self.professions.clone(), skills: self.skills.clone() }
    }

    pub fn reminder_policy(&self) -> crate::domain::notification::ReminderPolicy {
        crate::domain::notification::ReminderPolicy {
            evening_before: chrono::NaiveTime::parse_from_str(&self.notifications.reminder_evening_before, "%H:%M")
                .ok(),
            hours_before: self.notifications.reminder_hours_before.clone(),
        }
    }

    pub fn slot_rules(&self) -> SlotRules {
        SlotRules {
            min_minutes: self.slots.min_minutes,
            max_minutes: self.slots.max_minutes,
            past_tolerance_minutes: self.slots.past_tolerance_minutes,
            max_days_ahead: self.slots.max_days_ahead,
        }
    }
}

/// figment's messages name the key and its source; keep them, with the key spelt as in the files
/// (`http.bind`, whether it came from `SNP__HTTP__BIND` or a file) and without the profile prefix.
fn describe(error: figment::Error) -> String {
    error.into_iter().map(|e| lowercase_key(&e.to_string().replace("\"default.", "\""))).collect::<Vec<_>>().join("; ")
}

fn lowercase_key(message: &str) -> String {
    const MARKER: &str = "key \"";
    let Some(start) = message.find(MARKER).map(|i| i + MARKER.len()) else { return message.to_string() };
    let Some(len) = message[start..].find('"') else { return message.to_string() };
    let key = message[start..start + len].to_ascii_lowercase();
    format!("{}{}{}", &message[..start], key.trim_start_matches("default."), &message[start + len..])
}

/// Hides the password of a database URL, in the authority (`user:pass@`) or as a `password=` parameter.
pub fn redact_url(url: &str) -> String {
    let redacted = redact_authority(url);
    match redacted.split_once('?') {
        Some((base, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => p.to_string(),
                })
                .collect();
            format!("{base}?{}", params.join("&"))
        }
        None => redacted,
    }
}

fn redact_authority(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}://{user}:***@{}", &url[..scheme_end], &url[at + 1..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("busy_timeout_ms", &self.busy_timeout_ms)
            .finish()
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("database", &self.database)
            .field("http", &self.http)
            .field("log", &self.log)
            .field("slots", &self.slots)
            .field("availability", &self.availability)
            .field("booking", &self.booking)
            .field("notifications", &self.notifications)
            .field("email", &self.email)
            .field("sms", &self.sms)
            .field("retention", &self.retention)
            .field("console", &self.console)
            .field("search", &self.search)
            .field("professions", &self.professions.keys().collect::<Vec<_>>())
            .field("skills", &self.skills.keys().collect::<Vec<_>>())
            .field("motifs", &self.motifs.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_and_debug_hides_the_password() {
        let mut settings = Settings::load_with_env(None, Env::prefixed("SNP_TEST_NOTHING__")).unwrap();
        assert_eq!(settings.http.bind.to_string(), "127.0.0.1:8080");
        settings.database.url = "postgres://snp:hunter2@db/snp".into();
        settings.email.password = "smtp-secret".into();
        settings.sms.application_secret = "ovh-secret".into();
        settings.sms.consumer_key = "ovh-consumer".into();
        let debug = format!("{settings:?}");
        assert!(!debug.contains("smtp-secret"), "{debug}");
        assert!(!debug.contains("ovh-secret") && !debug.contains("ovh-consumer"), "{debug}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("postgres://snp:***@db/snp"));
        assert_eq!(
            redact_url("postgres://db/snp?user=a&password=hunter2&sslmode=require"),
            "postgres://db/snp?user=a&password=***&sslmode=require"
        );
    }

    #[test]
    fn bad_email_and_notification_settings_are_named() {
        let mut settings = Settings::load_with_env(None, Env::prefixed("SNP_TEST_NOTHING__")).unwrap();
        settings.email.tls = "ssl".into();
        assert!(settings.check().unwrap_err().to_string().contains("email.tls"));
        settings.email.tls = "tls".into();
        settings.email.smtp_host = "smtp.example.fr".into();
        settings.email.from = "not an address".into();
        assert!(settings.check().unwrap_err().to_string().contains("email.from"));
        settings.email.from = "SAS <no-reply@example.fr>".into();
        settings.check().unwrap();
        settings.notifications.reminder_evening_before = "7pm".into();
        assert!(settings.check().unwrap_err().to_string().contains("reminder_evening_before"));
        settings.notifications.reminder_evening_before = String::new();
        settings.notifications.max_attempts = 0;
        assert!(settings.check().unwrap_err().to_string().contains("max_attempts"));
    }

    #[test]
    fn sms_and_public_url_settings_are_checked() {
        let mut settings = Settings::load_with_env(None, Env::prefixed("SNP_TEST_NOTHING__")).unwrap();
        settings.sms.provider = "twilio".into();
        assert!(settings.check().unwrap_err().to_string().contains("sms.provider"));
        settings.sms.provider = "ovh".into();
        assert!(settings.check().unwrap_err().to_string().contains("sms.application_key"));
        settings.sms.application_key = "ak".into();
        settings.sms.application_secret = "as".into();
        settings.sms.consumer_key = "ck".into();
        settings.sms.service_name = "sms-ab12345-1".into();
        settings.sms.sender = "SAS Normandie".into();
        assert!(settings.check().unwrap_err().to_string().contains("sms.sender"));
        settings.sms.sender = "SAS76".into();
        settings.sms.service_name = "sms/../me".into();
        assert!(settings.check().unwrap_err().to_string().contains("sms.service_name"));
        settings.sms.service_name = "sms-ab12345-1".into();
        settings.check().unwrap();
        settings.http.public_url = "https://rdv.example.fr/".into();
        assert!(settings.check().unwrap_err().to_string().contains("http.public_url"));
        settings.http.public_url = "rdv.example.fr".into();
        assert!(settings.check().unwrap_err().to_string().contains("http.public_url"));
        settings.http.public_url = "http://rdv.example.fr".into();
        assert!(settings.check().unwrap_err().to_string().contains("http.public_url"));
        settings.http.public_url = "http://127.0.0.1:8080".into();
        settings.check().unwrap();
        assert_eq!(settings.http.api_key_cache_secs, 2);
        settings.http.api_key_cache_secs = 301;
        assert!(settings.check().unwrap_err().to_string().contains("http.api_key_cache_secs"));
        settings.http.api_key_cache_secs = 0;
        settings.check().unwrap();
        settings.http.trusted_proxies = vec!["10.0.0.0/8".into(), "proxy.local".into()];
        assert!(settings.check().unwrap_err().to_string().contains("http.trusted_proxies"));
        settings.http.trusted_proxies = vec!["10.0.0.0/8".into(), "::1".into()];
        settings.http.public_url = "https://rdv.example.fr".into();
        settings.check().unwrap();
    }
}
