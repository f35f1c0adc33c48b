//! The integration suite, one binary (compiles once). Every contract test runs on SQLite and on PostgreSQL
//! through `on_both_databases!`.

mod helpers;

mod auth;
pub mod bookings;
pub mod cli;
mod delivery;
mod errors;
mod notifications;
mod openapi;
mod practices;
mod processes;
mod professionals;
mod recurrence;
mod rules;
mod schema;
mod search_index;
mod searches;
mod slots;
mod state_machine;
