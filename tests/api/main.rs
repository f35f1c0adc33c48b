//! The integration suite, one binary (compiles once). Every contract test runs on SQLite and on PostgreSQL
//! through `on_both_databases!`.

mod helpers;

mod audit;
mod auth;
pub mod bookings;
mod browser;
mod cancel_links;
pub mod cli;
mod console;
mod console_directory;
pub mod console_pages;
mod console_users;
mod delivery;
mod directory;
mod errors;
mod fake_ovh;
mod load;
mod notifications;
mod openapi;
mod practices;
mod processes;
mod professionals;
mod recurrence;
mod reminders;
mod retention;
mod rules;
mod schema;
mod search_index;
mod searches;
mod slots;
mod sms;
mod state_machine;
