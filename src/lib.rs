//! # snp — an engine for unscheduled care (soins non programmés)
//!
//! A code tour, from the inside out. Dependencies point inwards: `http` → `routing`/`notify` → `store` → `domain`.
//!
//! - [`domain`]: pure types and rules — identifiers (RPPS/ADELI), places, practices, professionals, slots,
//!   roles. No I/O, no clock reads.
//! - [`clock`]: the injected clock (system in production, manual in tests).
//! - [`config`]: typed settings from `config/default.toml`, an optional file and `SNP__…` variables.
//! - [`store`]: the `Store` trait, with SQLite and PostgreSQL implementations; the only place with SQL, and the
//!   place where concurrency guarantees (no overlapping slots) are enforced.
//! - [`routing`]: search and ranking, pure over candidates; the official SAS radius table; the in-memory search
//!   index and the journal replay that keeps it coherent with the database across processes.
//! - [`notify`]: what the messages to patients and professionals say (French SMS and email, the calendar file),
//!   and the outbox worker that sends them (SMTP, the OVHcloud SMS API).
//! - [`http`]: the axum routers of the JSON API, authentication by API key, the one error→response mapping,
//!   the OpenAPI document.
//! - [`availability`]: the rolling horizon — rules materialised into slots, and the background job doing it.
//! - [`api_keys`]: issuing API keys (256 random bits, stored as a digest), for the CLI, the API and the demo.
//! - [`accounts`]: console users (argon2id passwords, lock-out) and their sessions.
//! - [`retention`]: erasing patient data once its retention period is over.
//! - [`dataset`]: a deterministic synthetic national territory for benchmarks.
//! - [`load`]: the national load benchmark (`cargo bench --bench load`), run small by the test suite.
//! - [`demo`]: the demo territory (Le Havre, Châtillonnais) seeded by `snp serve --demo`.
//! - [`cli`]: the `snp` command line (serve, migrate, api-key create).
//! - [`telemetry`]: tracing set-up (JSON logs, or pretty ones in a terminal).

pub mod accounts;
pub mod api_keys;
pub mod availability;
pub mod cli;
pub mod clock;
pub mod config;
pub mod dataset;
pub mod demo;
pub mod domain;
pub mod http;
pub mod load;
pub mod notify;
pub mod retention;
pub mod routing;
pub mod store;
pub mod telemetry;
