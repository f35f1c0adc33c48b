//! The integration suite, one binary (compiles once). Every contract test runs on SQLite and on PostgreSQL
//! through `on_both_databases!`.

mod helpers;

mod auth;
mod bookings;
mod cli;
mod errors;
mod openapi;
mod practices;
mod professionals;
mod recurrence;
mod rules;
mod schema;
mod searches;
mod slots;
