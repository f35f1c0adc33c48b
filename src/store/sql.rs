//! SQL shared by both backends. `$n` placeholders work in SQLite and PostgreSQL alike, `string_agg` exists in
//! both (SQLite ≥ 3.44, bundled), and instants are bound as `DateTime<Utc>` everywhere: sqlx encodes them for
//! SQLite as RFC 3339 text in UTC (`…T17:00:00+00:00`, fraction digits only when non-zero), whose text order is
//! time order for four-digit years — so the API refuses instants outside 1900–9999 before they reach a query.

pub const INSERT_PRACTICE: &str = "INSERT INTO practices \
    (id, name, kind, address, postal_code, commune, departement, lat, lon, timezone, phone, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

pub const GET_PRACTICE: &str = "SELECT id, name, kind, address, postal_code, commune, departement, lat, lon, \
    timezone, phone, created_at FROM practices WHERE id = $1";
pub const LIST_PRACTICES: &str = "SELECT id, name, kind, address, postal_code, commune, departement, lat, lon, \
    timezone, phone, created_at FROM practices \
    WHERE ($1 IS NULL OR departement = $1) ORDER BY name, id LIMIT $2 OFFSET $3";

pub const INSERT_PROFESSIONAL: &str = "INSERT INTO professionals \
    (id, rpps, adeli, first_name, last_name, profession, accepts_new_patients, accepts_overbooking, \
     home_visit_radius_km, email, phone, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
pub const INSERT_PROFESSIONAL_SKILL: &str = "INSERT INTO professional_skills (professional_id, skill) VALUES ($1, $2)";
pub const INSERT_PROFESSIONAL_PRACTICE: &str =
    "INSERT INTO professional_practices (professional_id, practice_id) VALUES ($1, $2)";

pub const GET_PROFESSIONAL: &str = "SELECT p.id, p.rpps, p.adeli, p.first_name, p.last_name, p.profession, \
    (SELECT string_agg(s.skill, ',') FROM professional_skills s WHERE s.professional_id = p.id) AS skills, \
    (SELECT string_agg(l.practice_id, ',') FROM professional_practices l WHERE l.professional_id = p.id) AS practice_ids, \
    p.accepts_new_patients, p.accepts_overbooking, p.home_visit_radius_km, p.email, p.phone, p.created_at \
    FROM professionals p WHERE p.id = $1";

pub const LIST_PROFESSIONALS: &str = "SELECT p.id, p.rpps, p.adeli, p.first_name, p.last_name, p.profession, \
    (SELECT string_agg(s.skill, ',') FROM professional_skills s WHERE s.professional_id = p.id) AS skills, \
    (SELECT string_agg(l.practice_id, ',') FROM professional_practices l WHERE l.professional_id = p.id) AS practice_ids, \
    p.accepts_new_patients, p.accepts_overbooking, p.home_visit_radius_km, p.email, p.phone, p.created_at \
    FROM professionals p \
    WHERE ($1 IS NULL OR EXISTS (SELECT 1 FROM professional_practices l WHERE l.professional_id = p.id AND l.practice_id = $1)) \
      AND ($2 IS NULL OR p.profession = $2) \
      AND ($3 IS NULL OR EXISTS (SELECT 1 FROM professional_skills s WHERE s.professional_id = p.id AND s.skill = $3)) \
      AND ($4 IS NULL OR p.id = $4) \
      AND ($5 IS NULL OR EXISTS (SELECT 1 FROM professional_practices l JOIN api_key_practices k \
                                 ON k.practice_id = l.practice_id WHERE l.professional_id = p.id AND k.api_key_id = $5)) \
    ORDER BY p.last_name, p.first_name, p.id LIMIT $6 OFFSET $7";

pub const INSERT_SLOT: &str = "INSERT INTO slots \
    (id, professional_id, practice_id, start_at, end_at, modality, visibility, status, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

pub const GET_SLOT: &str = "SELECT s.id, s.professional_id, s.practice_id, s.start_at, s.end_at, s.modality, \
    s.visibility, s.status, pr.timezone, s.created_at, s.updated_at \
    FROM slots s JOIN practices pr ON pr.id = s.practice_id WHERE s.id = $1";

/// Filters are optional (`$n IS NULL OR …`); `$3` restricts to the practices an API key is bound to.
pub const LIST_SLOTS: &str = "SELECT s.id, s.professional_id, s.practice_id, s.start_at, s.end_at, s.modality, \
    s.visibility, s.status, pr.timezone, s.created_at, s.updated_at \
    FROM slots s JOIN practices pr ON pr.id = s.practice_id \
    WHERE ($1 IS NULL OR s.professional_id = $1) \
      AND ($2 IS NULL OR s.practice_id = $2) \
      AND ($3 IS NULL OR s.practice_id IN (SELECT k.practice_id FROM api_key_practices k WHERE k.api_key_id = $3)) \
      AND ($4 IS NULL OR s.start_at >= $4) \
      AND ($5 IS NULL OR s.start_at < $5) \
      AND ($6 IS NULL OR s.status = $6) \
    ORDER BY s.start_at, s.id LIMIT $7 OFFSET $8";

/// The conditional update is the guard: only a free slot is withdrawn, whatever happens concurrently.
pub const WITHDRAW_SLOT: &str =
    "UPDATE slots SET status = 'withdrawn', updated_at = $2 WHERE id = $1 AND status = 'free' RETURNING id";

pub const INSERT_API_KEY: &str = "INSERT INTO api_keys \
    (id, name, role, professional_id, key_digest, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub const INSERT_API_KEY_PRACTICE: &str = "INSERT INTO api_key_practices (api_key_id, practice_id) VALUES ($1, $2)";
pub const FIND_API_KEY: &str = "SELECT k.id, k.name, k.role, k.professional_id, \
    (SELECT string_agg(p.practice_id, ',') FROM api_key_practices p WHERE p.api_key_id = k.id) AS practice_ids, \
    k.key_digest, k.created_at, k.revoked_at \
    FROM api_keys k WHERE k.key_digest = $1 AND k.revoked_at IS NULL";
pub const LIST_API_KEYS: &str = "SELECT k.id, k.name, k.role, k.professional_id, \
    (SELECT string_agg(p.practice_id, ',') FROM api_key_practices p WHERE p.api_key_id = k.id) AS practice_ids, \
    k.key_digest, k.created_at, k.revoked_at \
    FROM api_keys k ORDER BY k.created_at, k.id";
/// Revocation is idempotent: revoking a revoked key keeps its first revocation time.
pub const REVOKE_API_KEY: &str = "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING id";

pub const COUNT_PRACTICES: &str = "SELECT COUNT(*) FROM practices";
pub const COUNT_APPLIED_MIGRATIONS: &str = "SELECT COUNT(*) FROM _sqlx_migrations WHERE success";
