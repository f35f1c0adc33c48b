//! Console accounts and their sessions: who may log in (a user has one role of the contract; a professional
//! user acts for one professional), what a password must be, when repeated failures lock an account, and when a
//! session ends (idle, or absolute). Hashing and randomness happen outside the domain (`crate::accounts`).

use chrono::{DateTime, Duration, Utc};

use super::access::Role;
use super::professional::check_email;

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    /// Lower-cased: the login.
    pub email: String,
    pub role: Role,
    /// Set for the `professional` role.
    pub professional_id: Option<String>,
    /// An argon2id PHC string.
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub password_changed_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Consecutive failed logins since the last success.
    pub failed_logins: u32,
    pub locked_until: Option<DateTime<Utc>>,
}

/// The login, as stored: trimmed and lower-cased.
pub fn normalize_email(raw: &str) -> Result<String, String> {
    check_email(raw).map(|email| email.to_lowercase())
}

/// Roles a person logs in with (`publisher` is for agenda software, with an API key).
pub fn check_user_role(role: Role, professional_id: Option<&str>) -> Result<(), String> {
    match (role, professional_id) {
        (Role::Publisher, _) => Err("publisher is a role for agenda software (an API key), not for a person".into()),
        (Role::Professional, None) => Err("a professional user acts for one professional: give --professional".into()),
        (Role::Professional, Some(_)) => Ok(()),
        (_, Some(_)) => Err("only a professional user is bound to a professional".into()),
        (_, None) => Ok(()),
    }
}

pub const MIN_PASSWORD_CHARS: usize = 12;

/// A new password: long enough to resist guessing (length matters more than character classes), not absurdly
/// long (argon2 is run on it), not the login itself.
pub fn check_new_password(password: &str, email: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_CHARS {
        return Err(format!("a password has at least {MIN_PASSWORD_CHARS} characters"));
    }
    if length > 200 {
        return Err("a password has at most 200 characters".into());
    }
    if password.trim().eq_ignore_ascii_case(email) {
        return Err("the password must not be the login".into());
    }
    Ok(())
}

/// Repeated failures lock an account for a while (not for ever: a locked-out regulator at 19:00 on a Friday
/// must be able to retry without an administrator). The store applies it atomically
/// ([`crate::store::Store::claim_login_attempt`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub lock_for: Duration,
}

/// When sessions end: after `idle` without a request, and `absolute` after login whatever happens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub absolute: Duration,
}

/// A console session (the cookie carries its 256-bit secret; the store keeps the digest).
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id_digest: String,
    pub user_id: String,
    /// The token every state-changing form of this session carries.
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl Session {
    /// Whether the session still admits requests at `now`.
    pub fn alive(&self, now: DateTime<Utc>, policy: &SessionPolicy) -> bool {
        self.ended_at.is_none() && now < self.last_seen_at + policy.idle && now < self.created_at + policy.absolute
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn roles_passwords_and_session_expiry() {
        assert!(check_user_role(Role::Publisher, None).is_err());
        assert!(check_user_role(Role::Professional, None).is_err());
        assert!(check_user_role(Role::Regulator, Some("p")).is_err());
        assert!(check_user_role(Role::Professional, Some("p")).is_ok() && check_user_role(Role::Admin, None).is_ok());
        assert_eq!(normalize_email("  Claire.Lefebvre@Example.FR ").unwrap(), "claire.lefebvre@example.fr");
        assert!(normalize_email("claire").is_err());
        assert!(check_new_password("court", "a@b.fr").is_err());
        assert!(check_new_password("a@exemple.fr", "a@exemple.fr").is_err());
        assert!(check_new_password("cheval agrafe pile", "a@b.fr").is_ok());

        let now = Utc.with_ymd_and_hms(2026, 11, 27, 18, 0, 0).unwrap();

        let policy = SessionPolicy { idle: Duration::minutes(30), absolute: Duration::hours(12) };
        let mut session = Session {
            id_digest: "d".into(),
            user_id: "u".into(),
            csrf_token: "t".into(),
            created_at: now,
            last_seen_at: now,
            ended_at: None,
        };
        assert!(session.alive(now + Duration::minutes(29), &policy));
        assert!(!session.alive(now + Duration::minutes(30), &policy), "idle");
        session.last_seen_at = now + Duration::hours(11) + Duration::minutes(50);
        assert!(session.alive(now + Duration::hours(11) + Duration::minutes(59), &policy));
        assert!(!session.alive(now + Duration::hours(12), &policy), "absolute");
        session.ended_at = Some(now);
        assert!(!session.alive(now, &policy), "logged out");
    }
}
