//! The patient's cancel link (`/r/{token}` in their confirmation and reminders): a random token bound to one
//! booking, valid until the appointment starts, good for one cancellation.
//!
//! Only the token's SHA-256 digest is stored (192 random bits cannot be guessed from it, as for API keys): a
//! copy of the database cancels nothing. The raw token is never stored either — the worker draws a fresh one
//! for each message it sends, stores its digest, and puts the token in that message only. A booking thus has
//! as many links as messages sent; any of them cancels it once.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use super::api_key::digest;

/// Random bytes in a token: 192 bits, 32 characters in a URL (an SMS has no room to spare).
pub const TOKEN_BYTES: usize = 24;

/// A token as it travels in a message, to be shown once.
pub struct LinkToken(String);

impl LinkToken {
    /// Builds the token from random bytes supplied by the caller (the domain does not read entropy).
    pub fn from_random_bytes(bytes: [u8; TOKEN_BYTES]) -> Self {
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The link a patient follows, under the server's public address.
    pub fn url(&self, public_url: &str) -> String {
        format!("{public_url}/r/{}", self.0)
    }
}

/// The stored form of a presented token, or `None` for anything that cannot be one (so that a malformed
/// token is not even looked up).
pub fn token_digest(presented: &str) -> Option<String> {
    let plausible =
        presented.len() == 32 && presented.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    plausible.then(|| digest(presented))
}

#[derive(Debug, Clone, PartialEq)]
pub struct CancelLink {
    pub token_digest: String,
    pub booking_id: String,
    /// The appointment's start: a link cancels nothing after it.
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

impl CancelLink {
    pub fn new(token: &LinkToken, booking_id: &str, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> CancelLink {
        CancelLink {
            token_digest: digest(token.expose()),
            booking_id: booking_id.to_string(),
            expires_at,
            created_at: now,
            used_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_32_url_safe_characters_and_only_its_digest_is_kept() {
        let token = LinkToken::from_random_bytes([0xfb; TOKEN_BYTES]);
        assert_eq!(token.expose(), "-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7");
        assert_eq!(token.url("https://rdv.example.fr"), "https://rdv.example.fr/r/-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7");
        let now = chrono::Utc::now();
        let link = CancelLink::new(&token, "b-1", now, now);
        assert_eq!(token_digest(token.expose()), Some(link.token_digest.clone()));
        assert_ne!(link.token_digest, token.expose());
        assert_eq!(link.token_digest.len(), 64);
        assert_eq!(token_digest("short"), None);
        assert_eq!(token_digest("-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v/"), None);
    }
}
