//! Pure types and rules of unscheduled care: identifiers, places, practices, professionals, slots, roles.
//!
//! Nothing here performs I/O, reads a clock or knows about HTTP or SQL: time and randomness are passed in,
//! so every rule can be tested with plain values. Validation collects *all* failing fields at once, because a
//! professional fixing a form wants the whole list, not one error per round-trip.

/// A closed set of values with their text form (API, database): `as_str`, `parse`, `ALL`, `expected`.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize, ::utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == raw)
            }

            /// The accepted values, for error messages.
            pub fn expected() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }
    };
}

pub mod access;
pub mod api_key;
pub mod audit;
pub mod availability;
pub mod booking;
pub mod cancel_link;
pub mod catalogue;
pub mod geo;
pub mod holidays;
pub mod identifiers;
pub mod motif;
pub mod notification;
pub mod phone;
pub mod practice;
pub mod professional;
pub mod recurrence;
pub mod search;
pub mod slot;
pub mod time;
pub mod user;

use serde::{Deserialize, Serialize};

/// One invalid field: `field` is a JSON path as the client sent it (`slots[2].start`), `message` is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// The domain layer's error: a rule was broken by the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("invalid input: {}", summarize(.0))]
    Invalid(Vec<FieldError>),
}

fn summarize(errors: &[FieldError]) -> String {
    errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
}

/// Accumulates field errors while a request is validated, then turns into `Ok` or [`Error::Invalid`].
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
    prefix: String,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// A validator whose field names are prefixed, e.g. `slots[3].` for one item of a batch.
    pub fn with_prefix(prefix: impl Into<String>) -> Self {
        Self { errors: Vec::new(), prefix: prefix.into() }
    }

    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(format!("{}{}", self.prefix, field), message));
    }

    /// Records the error of a `Result`, keeping the value when there is none.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.push(field, message);
                None
            }
        }
    }

    pub fn absorb(&mut self, other: Validator) {
        self.errors.extend(other.errors);
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Whether an error is already recorded for this field (prefix included).
    pub fn has(&self, field: &str) -> bool {
        let full = format!("{}{}", self.prefix, field);
        self.errors.iter().any(|e| e.field == full)
    }

    pub fn finish(self) -> Result<(), Error> {
        if self.errors.is_empty() { Ok(()) } else { Err(Error::Invalid(self.errors)) }
    }
}

/// For the optional fields of a change (`PATCH`): absent stays `None` (keep the value), `null` becomes
/// `Some(None)` (clear it), a value `Some(Some(v))`. Use with `#[serde(default, deserialize_with = "present")]`.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Trims a required text field and bounds its length (in characters).
pub fn required_text(value: &str, max_chars: usize) -> Result<String, String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err("must not be empty".into());
    }
    if trimmed.chars().count() > max_chars {
        return Err(format!("must be at most {max_chars} characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(trimmed.to_string())
}
