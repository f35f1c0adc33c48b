//! Console accounts, shared by `snp user create`, the demo and the console: passwords hashed with argon2id (on a
//! blocking thread: a hash costs tens of milliseconds by design), logins checked against the lock-out policy,
//! and sessions opened with a 256-bit secret whose digest alone is stored.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use crate::domain::access::Role;
use crate::domain::api_key::digest;
use crate::domain::audit::AuditEvent;
use crate::domain::user::{LockoutPolicy, Session, User, check_new_password, check_user_role, normalize_email};
use crate::domain::{Error, Validator};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Invalid(#[from] Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the system's random source failed: {0}")]
    Entropy(String),
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// 256 random bits, URL-safe (cookies, CSRF tokens, generated passwords).
pub fn random_token() -> Result<String, AccountError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AccountError::Entropy(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A password to hand over once (`snp user create` without `--password-stdin`): 20 URL-safe characters.
pub fn generated_password() -> Result<String, AccountError> {
    Ok(random_token()?[..20].to_string())
}

/// The argon2id PHC string of a password (default parameters: 19 MiB, 2 passes).
pub async fn hash_password(password: &str) -> Result<String, AccountError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AccountError::Entropy(e.to_string()))?;
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&salt).map_err(|e| AccountError::Hashing(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| AccountError::Hashing(e.to_string()))
    })
    .await
    .map_err(|e| AccountError::Hashing(e.to_string()))?
}

/// Whether a password matches a stored hash (constant-time, inside argon2).
pub async fn verify_password(password: &str, hash: &str) -> bool {
    let (password, hash) = (password.to_string(), hash.to_string());
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// What to create.
pub struct UserRequest {
    pub email: String,
    pub role: Role,
    pub professional_id: Option<String>,
    pub password: String,
}

/// Creates an account (the caller records who did it: the system for `snp user create` and the demo, the admin
/// in the console).
pub async fn create_user(store: &dyn Store, request: UserRequest, now: DateTime<Utc>) -> Result<User, AccountError> {
    let mut v = Validator::new();
    let email = v.check("email", normalize_email(&request.email));
    check_access(store, &mut v, request.role, request.professional_id.as_deref()).await?;
    if let Some(email) = &email
        && let Err(message) = check_new_password(&request.password, email)
    {
        v.push("password", message);
    }
    v.finish()?;
    let user = User {
        id: uuid::Uuid::now_v7().to_string(),
        email: email.expect("checked"),
        role: request.role,
        professional_id: request.professional_id,
        password_hash: hash_password(&request.password).await?,
        created_at: now,
        password_changed_at: now,
        disabled_at: None,
        failed_logins: 0,
        locked_until: None,
    };
    store.insert_user(&user).await?;
    Ok(user)
}

/// [`create_user`] done by the system (`snp user create`, the demo's seed), recorded as such.
pub async fn create_user_by_system(
    store: &dyn Store,
    request: UserRequest,
    now: DateTime<Utc>,
) -> Result<User, AccountError> {
    let user = create_user(store, request, now).await?;
    let detail = format!("role {}", user.role.as_str());
    store.append_audit(&[AuditEvent::by_system(now, "user.create", "user", Some(&user.id), detail)]).await?;
    Ok(user)
}

/// A role a person may hold, bound to an existing professional when it is `professional`.
async fn check_access(
    store: &dyn Store,
    v: &mut Validator,
    role: Role,
    professional_id: Option<&str>,
) -> Result<(), AccountError> {
    if let Err(message) = check_user_role(role, professional_id) {
        v.push("role", message);
    }
    if let Some(id) = professional_id
        && store.get_professional(id).await?.is_none()
    {
        v.push("professional_id", format!("no professional with id {id:?}"));
    }
    Ok(())
}

/// Gives a user another role (the principal its holds and bookings name follows, in the same transaction).
pub async fn change_access(
    store: &dyn Store,
    user_id: &str,
    role: Role,
    professional_id: Option<&str>,
) -> Result<(), AccountError> {
    let mut v = Validator::new();
    check_access(store, &mut v, role, professional_id).await?;
    v.finish()?;
    store.update_user_access(user_id, role, professional_id).await?;
    Ok(())
}

/// Replaces a user's password with a generated one, returned to be handed over once; every session of the user
/// ends and a lock-out is lifted.
pub async fn reset_password(store: &dyn Store, user_id: &str, now: DateTime<Utc>) -> Result<String, AccountError> {
    let password = generated_password()?;
    store.set_password(user_id, &hash_password(&password).await?, "", now).await?;
    Ok(password)
}

/// Why a login failed. The person is told the same either way (which logins exist is nobody's business);
/// the distinction is for the audit trail and the tests.
#[derive(Debug, PartialEq)]
pub enum LoginRefused {
    /// Unknown login, wrong password, or a disabled account.
    Credentials,
    /// Too many failures in a row: the account is locked for a while, whatever the password.
    Locked,
}

/// Checks a login: the attempt is counted first (so a burst of parallel guesses cannot pass the lock), and a
/// right password clears the count.
pub async fn check_login(
    store: &dyn Store,
    email: &str,
    password: &str,
    policy: &LockoutPolicy,
    now: DateTime<Utc>,
) -> Result<Result<User, LoginRefused>, AccountError> {
    let Some(user) = store.find_user_by_email(&email.trim().to_lowercase()).await? else {
        // The same work as a real check, so that timing does not tell which logins exist.
        verify_password(password, dummy_hash().await?).await;
        return Ok(Err(LoginRefused::Credentials));
    };
    check_password(store, &user, password, policy, now).await.map(|checked| checked.map(|()| user))
}

/// Checks a known user's password under the lock-out policy (the login, and the current password asked by a
/// password change: a stolen session must not become an unlimited guessing oracle).
pub async fn check_password(
    store: &dyn Store,
    user: &User,
    password: &str,
    policy: &LockoutPolicy,
    now: DateTime<Utc>,
) -> Result<Result<(), LoginRefused>, AccountError> {
    let Some(attempts) = store.claim_login_attempt(&user.id, now, policy.max_failures, now + policy.lock_for).await?
    else {
        // As long as any other refusal: a quick answer would tell that this login exists and is locked.
        verify_password(password, dummy_hash().await?).await;
        return Ok(Err(LoginRefused::Locked));
    };
    if !verify_password(password, &user.password_hash).await || user.disabled_at.is_some() {
        // The failure that used the last attempt leaves the account locked.
        return Ok(Err(if attempts >= policy.max_failures { LoginRefused::Locked } else { LoginRefused::Credentials }));
    }
    store.record_login_success(&user.id).await?;
    Ok(Ok(()))
}

/// A hash of a password nobody has, checked when the login is unknown or locked.
static DUMMY_HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

async fn dummy_hash() -> Result<&'static String, AccountError> {
    DUMMY_HASH.get_or_try_init(|| hash_password("not anybody's password")).await
}

/// A new session for a user: the cookie's secret (returned once) and the stored session.
pub async fn open_session(store: &dyn Store, user: &User, now: DateTime<Utc>) -> Result<String, AccountError> {
    let secret = random_token()?;
    let session = Session {
        id_digest: digest(&secret),
        user_id: user.id.clone(),
        csrf_token: random_token()?,
        created_at: now,
        last_seen_at: now,
        ended_at: None,
    };
    store.insert_session(&session).await?;
    Ok(secret)
}
