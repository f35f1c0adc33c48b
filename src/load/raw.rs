//! The raw baseline of the load benchmark: the database asked directly, over the same rows, for what a plain
//! implementation would ask it — the booking's own conditional UPDATE, and the naive search query — plus the
//! reads of the set-up and of the final invariant check. A second pool, opened as the store opens its own.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Connection;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::config::DatabaseSettings;
use crate::domain::geo::BoundingBox;

/// What a plain implementation would ask for a search: free slots of the profession in a box around the
/// patient over the delay, earliest first — no eligibility, widening, ranking or explanation.
const NAIVE_SEARCH: &str = "SELECT s.id, s.start_at, pr.lat, pr.lon FROM slots s \
    JOIN professionals p ON p.id = s.professional_id JOIN practices pr ON pr.id = s.practice_id \
    WHERE p.profession = $1 AND s.status = 'free' AND s.start_at >= $2 AND s.start_at < $3 \
      AND pr.lat BETWEEN $4 AND $5 AND pr.lon BETWEEN $6 AND $7 ORDER BY s.start_at LIMIT 20";

/// Free slots of a profession, in random order, for the booking phases.
const FREE_SLOTS_OF: &str = "SELECT s.id FROM slots s JOIN professionals p ON p.id = s.professional_id \
    WHERE p.profession = $1 AND s.status = 'free' AND s.start_at > $2 ORDER BY random() LIMIT $3";

/// Slots with more than one active booking: must be none.
const DOUBLE_BOOKINGS: &str = "SELECT COUNT(*) FROM (SELECT slot_id FROM bookings WHERE status <> 'cancelled' \
    GROUP BY slot_id HAVING COUNT(*) > 1) d";

/// Active bookings whose slot is booked, and cancelled ones: what the acknowledged answers are checked against.
const BOOKING_STATES: &str = "SELECT b.id, CASE WHEN b.status = 'cancelled' THEN 'cancelled' \
    WHEN s.status = 'booked' THEN 'kept' ELSE 'slot not booked' END FROM bookings b JOIN slots s ON s.id = b.slot_id";

/// Booked slots without an active booking (the raw baseline's own updates make some).
const BOOKED_WITHOUT_BOOKING: &str = "SELECT COUNT(*) FROM slots s WHERE s.status = 'booked' AND NOT EXISTS \
    (SELECT 1 FROM bookings b WHERE b.slot_id = s.id AND b.status <> 'cancelled')";

/// How many tables the database holds, and whether snp's migration ledger is one of them.
const SQLITE_TABLES: &str = "SELECT COUNT(*), COUNT(*) FILTER (WHERE name = '_sqlx_migrations') FROM sqlite_master \
    WHERE type = 'table'";
const POSTGRES_TABLES: &str = "SELECT COUNT(*), COUNT(*) FILTER (WHERE table_name = '_sqlx_migrations') \
    FROM information_schema.tables WHERE table_schema = current_schema()";

/// Whether the database at `url` holds tables of something other than snp (tables, but no migration ledger of
/// ours): such a database is refused before anything — migrations included — is written to it. Looked at without
/// changing it: a SQLite file is opened read-only, with none of the store's settings (a missing one holds
/// nothing).
pub async fn holds_something_else(url: &str) -> Result<bool, sqlx::Error> {
    let (tables, ledger): (i64, i64) = if url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(url)?.read_only(true);
        if !options.get_filename().exists() {
            return Ok(false);
        }
        let mut connection = SqliteConnection::connect_with(&options).await?;
        sqlx::query_as(SQLITE_TABLES).fetch_one(&mut connection).await?
    } else {
        let mut connection = PgConnection::connect(url).await?;
        sqlx::query_as(POSTGRES_TABLES).fetch_one(&mut connection).await?
    };
    Ok(tables > 0 && ledger == 0)
}

pub enum Raw {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same statement on whichever pool.
macro_rules! on_pool {
    ($raw:expr, $pool:ident => $body:expr) => {
        match $raw {
            Raw::Sqlite($pool) => $body,
            Raw::Postgres($pool) => $body,
        }
    };
}

impl Raw {
    /// A pool like the store's: the same size, and on SQLite the same journal, durability and busy timeout.
    pub async fn connect(settings: &DatabaseSettings) -> Result<Raw, sqlx::Error> {
        if settings.url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(&settings.url)?
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_millis(settings.busy_timeout_ms));
            Ok(Raw::Sqlite(
                SqlitePoolOptions::new().max_connections(settings.max_connections).connect_with(options).await?,
            ))
        } else {
            Ok(Raw::Postgres(
                PgPoolOptions::new().max_connections(settings.max_connections).connect(&settings.url).await?,
            ))
        }
    }

    /// The booking's conditional UPDATE, as the store runs it, alone in its own transaction: did it win the slot?
    pub async fn book(&self, slot_id: &str, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let won = on_pool!(self, pool => sqlx::query(crate::store::BOOK_FREE_SLOT)
            .bind(slot_id).bind(now).fetch_optional(pool).await?.is_some());
        Ok(won)
    }

    /// The naive search query; how many rows it found.
    pub async fn naive_search(
        &self,
        profession: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        area: BoundingBox,
    ) -> Result<usize, sqlx::Error> {
        let rows = on_pool!(self, pool => sqlx::query(NAIVE_SEARCH)
            .bind(profession).bind(from).bind(to)
            .bind(area.min_lat).bind(area.max_lat).bind(area.min_lon).bind(area.max_lon)
            .fetch_all(pool).await?.len());
        Ok(rows)
    }

    pub async fn free_slots_of(
        &self,
        profession: &str,
        after: DateTime<Utc>,
        count: usize,
    ) -> Result<Vec<String>, sqlx::Error> {
        on_pool!(self, pool => sqlx::query_scalar(FREE_SLOTS_OF)
            .bind(profession).bind(after).bind(count as i64).fetch_all(pool).await)
    }

    pub async fn double_bookings(&self) -> Result<i64, sqlx::Error> {
        on_pool!(self, pool => sqlx::query_scalar(DOUBLE_BOOKINGS).fetch_one(pool).await)
    }

    pub async fn booked_without_booking(&self) -> Result<i64, sqlx::Error> {
        on_pool!(self, pool => sqlx::query_scalar(BOOKED_WITHOUT_BOOKING).fetch_one(pool).await)
    }

    /// Each booking's id and state: `kept`, `cancelled` or `slot not booked`.
    pub async fn booking_states(&self) -> Result<Vec<(String, String)>, sqlx::Error> {
        on_pool!(self, pool => sqlx::query_as(BOOKING_STATES).fetch_all(pool).await)
    }

    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}
