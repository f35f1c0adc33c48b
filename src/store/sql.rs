//! SQL shared by both backends. `$n` placeholders work in SQLite and PostgreSQL alike, `string_agg` exists in
//! both (SQLite ≥ 3.44, bundled), and instants are bound as `DateTime<Utc>` everywhere: sqlx encodes them for
//! SQLite as RFC 3339 text in UTC (`…T17:00:00+00:00`, fraction digits only when non-zero), whose text order is
//! time order for four-digit years — so the API refuses instants outside 1900–9999 before they reach a query.

/// `$1`–`$11` as in [`UPDATE_PRACTICE`] (one binding for both), then the creation instant.
pub const INSERT_PRACTICE: &str = "INSERT INTO practices \
    (id, name, kind, address, postal_code, commune, departement, lat, lon, timezone, phone, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

pub const GET_PRACTICE: &str = "SELECT id, name, kind, address, postal_code, commune, departement, lat, lon, \
    timezone, phone, created_at, deactivated_at FROM practices WHERE id = $1";
pub const LIST_PRACTICES: &str = "SELECT id, name, kind, address, postal_code, commune, departement, lat, lon, \
    timezone, phone, created_at, deactivated_at FROM practices \
    WHERE ($1 IS NULL OR departement = $1) AND ($4 IS NULL OR (deactivated_at IS NULL) = $4) \
    ORDER BY name, id LIMIT $2 OFFSET $3";
pub const UPDATE_PRACTICE: &str = "UPDATE practices SET name = $2, kind = $3, address = $4, postal_code = $5, \
    commune = $6, departement = $7, lat = $8, lon = $9, timezone = $10, phone = $11 WHERE id = $1";

// --- deactivation ------------------------------------------------------------------------------------------
// A deactivated practice or professional keeps its rows (bookings name them); the statements that offer, hold,
// book, publish and materialise slots test `deactivated_at` themselves.

/// Deactivating twice keeps the first instant.
pub const DEACTIVATE_PRACTICE: &str =
    "UPDATE practices SET deactivated_at = COALESCE(deactivated_at, $2) WHERE id = $1 RETURNING id";
pub const REACTIVATE_PRACTICE: &str = "UPDATE practices SET deactivated_at = NULL WHERE id = $1 RETURNING id";
pub const DEACTIVATE_PROFESSIONAL: &str =
    "UPDATE professionals SET deactivated_at = COALESCE(deactivated_at, $2) WHERE id = $1 RETURNING id";
pub const REACTIVATE_PROFESSIONAL: &str = "UPDATE professionals SET deactivated_at = NULL WHERE id = $1 RETURNING id";

/// Future free rule slots of a professional (`$1`) and/or at a practice (`$2`) are removed, so that the rules
/// fill the time again on reactivation…
pub const REMOVE_FUTURE_FREE_RULE_SLOTS_OF: &str = "DELETE FROM slots \
    WHERE ($1 IS NULL OR professional_id = $1) AND ($2 IS NULL OR practice_id = $2) \
    AND rule_id IS NOT NULL AND start_at >= $3 \
    AND (status = 'free' OR (status = 'held' AND hold_expires_at <= $3)) \
    AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.slot_id = slots.id)";
/// …and the other future free slots withdrawn (one-off slots are re-published deliberately).
pub const WITHDRAW_FUTURE_FREE_SLOTS_OF: &str = "UPDATE slots SET status = 'withdrawn', hold_id = NULL, \
    hold_expires_at = NULL, updated_at = $3 \
    WHERE ($1 IS NULL OR professional_id = $1) AND ($2 IS NULL OR practice_id = $2) AND start_at >= $3 \
    AND (status = 'free' OR (status = 'held' AND hold_expires_at <= $3))";
/// Booked slots and live holds still to come: left to be honoured (or cancelled by a person), and reported.
pub const FUTURE_HELD_OR_BOOKED_OF: &str = "SELECT s.id, s.professional_id, s.practice_id, s.start_at, s.end_at, \
    s.modality, s.visibility, s.status, pr.timezone, s.rule_id, s.rule_version, s.created_at, s.updated_at \
    FROM slots s JOIN practices pr ON pr.id = s.practice_id \
    WHERE ($1 IS NULL OR s.professional_id = $1) AND ($2 IS NULL OR s.practice_id = $2) AND s.start_at >= $3 \
      AND (s.status = 'booked' OR (s.status = 'held' AND s.hold_expires_at > $3)) \
    ORDER BY s.start_at, s.id";
/// The professionals working at a practice, in id order (the order their locks are taken in).
pub const PRACTICE_STAFF: &str =
    "SELECT professional_id FROM professional_practices WHERE practice_id = $1 ORDER BY professional_id";
/// A row when a professional (`$1`) may not offer slots at a practice (`$2`): either is deactivated, or the
/// professional no longer works there (checked under the professional's lock, which edits take too).
pub const CANNOT_PUBLISH: &str = "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM professional_practices l \
    JOIN professionals p ON p.id = l.professional_id AND p.deactivated_at IS NULL \
    JOIN practices c ON c.id = l.practice_id AND c.deactivated_at IS NULL \
    WHERE l.professional_id = $1 AND l.practice_id = $2)";
/// An undeleted rule of a professional at a practice (a practice a rule publishes at cannot be left).
pub const RULE_AT_PRACTICE: &str = "SELECT id FROM availability_rules WHERE professional_id = $1 \
    AND practice_id = $2 AND deleted_at IS NULL ORDER BY id LIMIT 1";

/// `$1`–`$13` as in [`UPDATE_PROFESSIONAL`] (one binding for both), then the creation instant.
pub const INSERT_PROFESSIONAL: &str = "INSERT INTO professionals \
    (id, rpps, adeli, first_name, last_name, profession, accepts_new_patients, accepts_overbooking, \
     home_visit_radius_km, email, phone, min_patient_age_months, max_patient_age_months, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
pub const INSERT_PROFESSIONAL_SKILL: &str = "INSERT INTO professional_skills (professional_id, skill) VALUES ($1, $2)";
pub const INSERT_PROFESSIONAL_PRACTICE: &str =
    "INSERT INTO professional_practices (professional_id, practice_id) VALUES ($1, $2)";

pub const GET_PROFESSIONAL: &str = "SELECT p.id, p.rpps, p.adeli, p.first_name, p.last_name, p.profession, \
    (SELECT string_agg(s.skill, ',') FROM professional_skills s WHERE s.professional_id = p.id) AS skills, \
    (SELECT string_agg(l.practice_id, ',') FROM professional_practices l WHERE l.professional_id = p.id) AS practice_ids, \
    p.accepts_new_patients, p.accepts_overbooking, p.home_visit_radius_km, p.min_patient_age_months, \
    p.max_patient_age_months, p.email, p.phone, p.created_at, p.deactivated_at \
    FROM professionals p WHERE p.id = $1";
pub const UPDATE_PROFESSIONAL: &str = "UPDATE professionals SET rpps = $2, adeli = $3, first_name = $4, \
    last_name = $5, profession = $6, accepts_new_patients = $7, accepts_overbooking = $8, \
    home_visit_radius_km = $9, email = $10, phone = $11, min_patient_age_months = $12, \
    max_patient_age_months = $13 WHERE id = $1";
pub const DELETE_PROFESSIONAL_SKILLS: &str = "DELETE FROM professional_skills WHERE professional_id = $1";
pub const PROFESSIONAL_PRACTICE_IDS: &str =
    "SELECT practice_id FROM professional_practices WHERE professional_id = $1 ORDER BY practice_id";
pub const DELETE_PROFESSIONAL_PRACTICE: &str =
    "DELETE FROM professional_practices WHERE professional_id = $1 AND practice_id = $2";

pub const LIST_PROFESSIONALS: &str = "SELECT p.id, p.rpps, p.adeli, p.first_name, p.last_name, p.profession, \
    (SELECT string_agg(s.skill, ',') FROM professional_skills s WHERE s.professional_id = p.id) AS skills, \
    (SELECT string_agg(l.practice_id, ',') FROM professional_practices l WHERE l.professional_id = p.id) AS practice_ids, \
    p.accepts_new_patients, p.accepts_overbooking, p.home_visit_radius_km, p.min_patient_age_months, \
    p.max_patient_age_months, p.email, p.phone, p.created_at, p.deactivated_at \
    FROM professionals p \
    WHERE ($1 IS NULL OR EXISTS (SELECT 1 FROM professional_practices l WHERE l.professional_id = p.id AND l.practice_id = $1)) \
      AND ($2 IS NULL OR p.profession = $2) \
      AND ($3 IS NULL OR EXISTS (SELECT 1 FROM professional_skills s WHERE s.professional_id = p.id AND s.skill = $3)) \
      AND ($4 IS NULL OR p.id = $4) \
      AND ($5 IS NULL OR EXISTS (SELECT 1 FROM professional_practices l JOIN api_key_practices k \
                                 ON k.practice_id = l.practice_id WHERE l.professional_id = p.id AND k.api_key_id = $5)) \
      AND ($8 IS NULL OR (p.deactivated_at IS NULL) = $8) \
    ORDER BY p.last_name, p.first_name, p.id LIMIT $6 OFFSET $7";

pub const INSERT_SLOT: &str = "INSERT INTO slots (id, professional_id, practice_id, start_at, end_at, modality, \
    visibility, status, created_at, updated_at, rule_id, rule_version) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/// A rule's future held and booked slots: after a change, those the new version produces identically belong to
/// it (so that a later cancellation frees them again).
pub const FUTURE_TAKEN_RULE_SLOTS: &str = "SELECT id, start_at, end_at, modality, visibility, practice_id FROM slots \
    WHERE rule_id = $1 AND start_at >= $2 AND status IN ('held', 'booked')";
pub const SET_RULE_VERSION: &str = "UPDATE slots SET rule_version = $2 WHERE id = $1";

/// After a rule change, its free future slots (kept or new) belong to the new version.
pub const STAMP_RULE_VERSION: &str = "UPDATE slots SET rule_version = $2 WHERE rule_id = $1 AND start_at >= $3 \
    AND status = 'free'";

/// PostgreSQL, a whole batch in one statement from column arrays; the exclusion constraint guards overlaps.
pub const POSTGRES_INSERT_SLOTS_UNNEST: &str = "INSERT INTO slots (id, professional_id, practice_id, start_at, \
    end_at, modality, visibility, status, created_at, updated_at, rule_id, rule_version) \
    SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::text[], \
    $7::text[], $8::text[], $9::timestamptz[], $10::timestamptz[], $11::text[], $12::integer[])";

/// Live slots of one professional overlapping `[$2, $3)`.
pub const FIND_OVERLAP: &str = "SELECT 1 FROM slots WHERE professional_id = $1 AND status <> 'withdrawn' \
    AND start_at < $3 AND end_at > $2 LIMIT 1";

pub const GET_SLOT: &str = "SELECT s.id, s.professional_id, s.practice_id, s.start_at, s.end_at, s.modality, \
    s.visibility, s.status, pr.timezone, s.rule_id, s.rule_version, s.created_at, s.updated_at \
    FROM slots s JOIN practices pr ON pr.id = s.practice_id WHERE s.id = $1";

/// A slot with its professional and its practice, in one round trip (a booking needs all three).
pub const GET_SLOT_IN_CONTEXT: &str = "SELECT s.id, s.professional_id, s.practice_id, s.start_at, s.end_at, \
    s.modality, s.visibility, s.status, pr.timezone, s.rule_id, s.rule_version, s.created_at, s.updated_at, \
    p.rpps, p.adeli, p.first_name, p.last_name, p.profession, \
    (SELECT string_agg(k.skill, ',') FROM professional_skills k WHERE k.professional_id = p.id) AS skills, \
    (SELECT string_agg(l.practice_id, ',') FROM professional_practices l WHERE l.professional_id = p.id) AS practice_ids, \
    p.accepts_new_patients, p.accepts_overbooking, p.home_visit_radius_km, p.min_patient_age_months, \
    p.max_patient_age_months, p.email, p.phone AS professional_phone, p.created_at AS professional_created_at, \
    p.deactivated_at AS professional_deactivated_at, \
    pr.name AS practice_name, pr.kind, pr.address, pr.postal_code, pr.commune, pr.departement, pr.lat, pr.lon, \
    pr.phone AS practice_phone, pr.created_at AS practice_created_at, pr.deactivated_at AS practice_deactivated_at \
    FROM slots s JOIN practices pr ON pr.id = s.practice_id JOIN professionals p ON p.id = s.professional_id \
    WHERE s.id = $1";

/// Filters are optional (`$n IS NULL OR …`); `$3` restricts to the practices an API key is bound to.
pub const LIST_SLOTS: &str = "SELECT s.id, s.professional_id, s.practice_id, s.start_at, s.end_at, s.modality, \
    s.visibility, s.status, pr.timezone, s.rule_id, s.rule_version, s.created_at, s.updated_at \
    FROM slots s JOIN practices pr ON pr.id = s.practice_id \
    WHERE ($1 IS NULL OR s.professional_id = $1) \
      AND ($2 IS NULL OR s.practice_id = $2) \
      AND ($3 IS NULL OR s.practice_id IN (SELECT k.practice_id FROM api_key_practices k WHERE k.api_key_id = $3)) \
      AND ($4 IS NULL OR s.start_at >= $4) \
      AND ($5 IS NULL OR s.start_at < $5) \
      AND ($6 IS NULL OR s.status = $6) \
      AND ($9 IS NULL OR s.rule_id = $9) \
    ORDER BY s.start_at, s.id LIMIT $7 OFFSET $8";

/// The conditional update is the guard: only a free slot (or one whose hold lapsed) is withdrawn, whatever
/// happens concurrently.
pub const WITHDRAW_SLOT: &str = "UPDATE slots SET status = 'withdrawn', hold_id = NULL, hold_expires_at = NULL, \
    updated_at = $2 WHERE id = $1 AND (status = 'free' OR (status = 'held' AND hold_expires_at <= $2)) RETURNING id";

pub const INSERT_API_KEY: &str = "INSERT INTO api_keys \
    (id, name, role, professional_id, key_digest, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub const INSERT_API_KEY_PRACTICE: &str = "INSERT INTO api_key_practices (api_key_id, practice_id) VALUES ($1, $2)";
pub const FIND_API_KEY: &str = "SELECT k.id, k.name, k.role, k.professional_id, \
    (SELECT string_agg(p.practice_id, ',') FROM api_key_practices p WHERE p.api_key_id = k.id) AS practice_ids, \
    k.key_digest, k.created_at, k.revoked_at \
    FROM api_keys k WHERE k.key_digest = $1 AND k.revoked_at IS NULL AND k.user_id IS NULL";
pub const LIST_API_KEYS: &str = "SELECT k.id, k.name, k.role, k.professional_id, \
    (SELECT string_agg(p.practice_id, ',') FROM api_key_practices p WHERE p.api_key_id = k.id) AS practice_ids, \
    k.key_digest, k.created_at, k.revoked_at \
    FROM api_keys k WHERE k.user_id IS NULL ORDER BY k.created_at, k.id";
/// Revocation is idempotent: revoking a revoked key keeps its first revocation time.
pub const REVOKE_API_KEY: &str =
    "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 AND user_id IS NULL RETURNING id";

pub const COUNT_PRACTICES: &str = "SELECT COUNT(*) FROM practices";
pub const COUNT_APPLIED_MIGRATIONS: &str = "SELECT COUNT(*) FROM _sqlx_migrations WHERE success";

// --- availability rules -----------------------------------------------------------------------------------

pub const INSERT_RULE: &str = "INSERT INTO availability_rules \
    (id, professional_id, practice_id, weekdays, start_time, end_time, slot_minutes, modality, visibility, \
     valid_from, valid_until, public_holidays, season_from, season_to, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";

pub const UPDATE_RULE: &str = "UPDATE availability_rules SET \
    professional_id = $2, practice_id = $3, weekdays = $4, start_time = $5, end_time = $6, slot_minutes = $7, \
    modality = $8, visibility = $9, valid_from = $10, valid_until = $11, public_holidays = $12, \
    season_from = $13, season_to = $14, updated_at = $15, version = version + 1 \
    WHERE id = $1 AND deleted_at IS NULL RETURNING version";

pub const GET_RULE: &str = "SELECT id, professional_id, practice_id, weekdays, start_time, end_time, slot_minutes, \
    modality, visibility, valid_from, valid_until, public_holidays, season_from, season_to, version, created_at, \
    updated_at FROM availability_rules WHERE id = $1 AND deleted_at IS NULL";

/// `$1` one professional, `$2` the professionals of an API key's practices; both optional.
pub const LIST_RULES: &str = "SELECT r.id, r.professional_id, r.practice_id, r.weekdays, r.start_time, r.end_time, \
    r.slot_minutes, r.modality, r.visibility, r.valid_from, r.valid_until, r.public_holidays, r.season_from, \
    r.season_to, r.version, r.created_at, r.updated_at \
    FROM availability_rules r \
    WHERE r.deleted_at IS NULL \
      AND ($1 IS NULL OR r.professional_id = $1) \
      AND ($2 IS NULL OR r.practice_id IN (SELECT k.practice_id FROM api_key_practices k WHERE k.api_key_id = $2)) \
    ORDER BY r.created_at, r.id LIMIT $3 OFFSET $4";

pub const DELETE_RULE: &str = "UPDATE availability_rules SET deleted_at = $2, version = version + 1 \
    WHERE id = $1 AND deleted_at IS NULL RETURNING id";

pub const RULE_PROFESSIONAL: &str =
    "SELECT professional_id FROM availability_rules WHERE id = $1 AND deleted_at IS NULL";

/// Whether this version of the rule is still the current one (checked under the professional's lock).
pub const RULE_IS_CURRENT: &str =
    "SELECT 1 FROM availability_rules WHERE id = $1 AND version = $2 AND deleted_at IS NULL";

/// A rule's free future slots, so that a change keeps those the new version would produce identically.
pub const FUTURE_FREE_RULE_SLOTS: &str = "SELECT id, start_at, end_at, modality, visibility, practice_id FROM slots \
    WHERE rule_id = $1 AND start_at >= $2 AND (status = 'free' OR (status = 'held' AND hold_expires_at <= $2))";

/// Removes a slot that is still free (re-checked here: a hold or booking may have committed since it was read),
/// or withdraws it when a (cancelled) booking names it.
pub const DELETE_SLOT: &str = "DELETE FROM slots WHERE id = $1 \
    AND (status = 'free' OR (status = 'held' AND hold_expires_at <= $2)) \
    AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.slot_id = slots.id)";
pub const WITHDRAW_SLOT_BY_ID: &str = "UPDATE slots SET status = 'withdrawn', hold_id = NULL, hold_expires_at = NULL, \
    updated_at = $2 WHERE id = $1 AND (status = 'free' OR (status = 'held' AND hold_expires_at <= $2))";

/// A rule's future free slots (a lapsed hold counts as free), removed when the rule changes or goes — unless a
/// (cancelled) booking names them: those are withdrawn instead, keeping the history. Live holds and bookings
/// stay untouched.
pub const REMOVE_FUTURE_FREE_RULE_SLOTS: &str = "DELETE FROM slots WHERE rule_id = $1 AND start_at >= $2 \
    AND (status = 'free' OR (status = 'held' AND hold_expires_at <= $2)) \
    AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.slot_id = slots.id)";
pub const WITHDRAW_FUTURE_FREE_RULE_SLOTS: &str = "UPDATE slots SET status = 'withdrawn', hold_id = NULL, \
    hold_expires_at = NULL, updated_at = $2 WHERE rule_id = $1 AND start_at >= $2 \
    AND (status = 'free' OR (status = 'held' AND hold_expires_at <= $2))";

/// Starts of a rule's slots from `$2` on: read once per materialisation, so that a pass over slots already
/// there costs one query, not one per slot.
pub const RULE_SLOT_STARTS: &str = "SELECT start_at FROM slots WHERE rule_id = $1 AND start_at >= $2";

pub const FIND_ABSENCE_OVERLAP: &str = "SELECT 1 FROM absences WHERE professional_id = $1 AND deleted_at IS NULL \
    AND start_at < $3 AND end_at > $2 LIMIT 1";

// --- absences ---------------------------------------------------------------------------------------------

pub const INSERT_ABSENCE: &str = "INSERT INTO absences (id, professional_id, start_at, end_at, reason, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6)";

/// During an absence, free rule slots disappear (so that rules can fill the time again once it is lifted)…
pub const REMOVE_FREE_RULE_SLOTS_IN_RANGE: &str = "DELETE FROM slots WHERE professional_id = $1 \
    AND rule_id IS NOT NULL AND start_at < $3 AND end_at > $2 \
    AND (status = 'free' OR (status = 'held' AND hold_expires_at <= $4)) \
    AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.slot_id = slots.id)";

/// …and the other free slots are withdrawn (one-off ones: a professional re-publishes them deliberately).
pub const WITHDRAW_FREE_SLOTS_IN_RANGE: &str = "UPDATE slots SET status = 'withdrawn', hold_id = NULL, \
    hold_expires_at = NULL, updated_at = $4 WHERE professional_id = $1 AND start_at < $3 AND end_at > $2 \
    AND (status = 'free' OR (status = 'held' AND hold_expires_at <= $4))";

/// Booked slots and slots under a live hold in the range: never touched, listed for the professional.
pub const HELD_OR_BOOKED_IN_RANGE: &str = "SELECT s.id, s.professional_id, s.practice_id, s.start_at, s.end_at, \
    s.modality, s.visibility, s.status, pr.timezone, s.rule_id, s.rule_version, s.created_at, s.updated_at \
    FROM slots s JOIN practices pr ON pr.id = s.practice_id \
    WHERE s.professional_id = $1 AND s.start_at < $3 AND s.end_at > $2 \
      AND (s.status = 'booked' OR (s.status = 'held' AND s.hold_expires_at > $4)) \
    ORDER BY s.start_at, s.id";

pub const GET_ABSENCE: &str = "SELECT id, professional_id, start_at, end_at, reason, created_at FROM absences \
    WHERE id = $1 AND deleted_at IS NULL";

pub const LIST_ABSENCES: &str = "SELECT a.id, a.professional_id, a.start_at, a.end_at, a.reason, a.created_at \
    FROM absences a WHERE a.deleted_at IS NULL \
      AND ($1 IS NULL OR a.professional_id = $1) \
      AND ($2 IS NULL OR EXISTS (SELECT 1 FROM professional_practices l JOIN api_key_practices k \
                                 ON k.practice_id = l.practice_id WHERE l.professional_id = a.professional_id \
                                 AND k.api_key_id = $2)) \
    ORDER BY a.start_at, a.id LIMIT $3 OFFSET $4";

pub const DELETE_ABSENCE: &str =
    "UPDATE absences SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL RETURNING id";

/// The rules the horizon job runs: undeleted, of an active professional at an active practice.
pub const LIST_ACTIVE_RULE_IDS: &str = "SELECT r.id FROM availability_rules r \
    JOIN professionals p ON p.id = r.professional_id AND p.deactivated_at IS NULL \
    JOIN practices c ON c.id = r.practice_id AND c.deactivated_at IS NULL \
    WHERE r.deleted_at IS NULL ORDER BY r.id";

// --- holds and bookings -----------------------------------------------------------------------------------

// A slot may be held or booked when it is free (or its hold lapsed), has not started, its professional is not
// absent then, and neither the professional nor the practice is deactivated. The conditional UPDATE on the slot row is the guarantee: concurrent requests serialise on it.

pub const HOLD_SLOT: &str = "UPDATE slots SET status = 'held', hold_id = $2, hold_expires_at = $3, updated_at = $4 \
    WHERE id = $1 AND (status = 'free' OR (status = 'held' AND hold_expires_at <= $4)) AND start_at > $4 \
    AND NOT EXISTS (SELECT 1 FROM absences a WHERE a.professional_id = slots.professional_id \
    AND a.deleted_at IS NULL AND a.start_at < slots.end_at AND a.end_at > slots.start_at) \
    AND NOT EXISTS (SELECT 1 FROM professionals p WHERE p.id = slots.professional_id AND p.deactivated_at IS NOT NULL) \
    AND NOT EXISTS (SELECT 1 FROM practices c WHERE c.id = slots.practice_id AND c.deactivated_at IS NOT NULL) RETURNING id";

pub const INSERT_HOLD: &str =
    "INSERT INTO holds (id, slot_id, api_key_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";

pub const GET_HOLD: &str =
    "SELECT id, slot_id, api_key_id, created_at, expires_at, released_at, booking_id FROM holds WHERE id = $1";

pub const RELEASE_HOLD: &str = "UPDATE holds SET released_at = $2 WHERE id = $1 AND released_at IS NULL \
    AND booking_id IS NULL RETURNING slot_id";

/// A released hold frees its slot — unless the professional or the practice was deactivated meanwhile.
pub const FREE_HELD_SLOT: &str = "UPDATE slots SET hold_id = NULL, hold_expires_at = NULL, updated_at = $3, \
    status = CASE WHEN EXISTS (SELECT 1 FROM professionals p WHERE p.id = slots.professional_id \
    AND p.deactivated_at IS NOT NULL) OR EXISTS (SELECT 1 FROM practices c WHERE c.id = slots.practice_id \
    AND c.deactivated_at IS NOT NULL) THEN 'withdrawn' ELSE 'free' END \
    WHERE id = $1 AND status = 'held' AND hold_id = $2";

/// The booking's conditional UPDATE of a free slot (`$1` slot, `$2` now): shared by [`BOOK_FREE_SLOT`] and
/// [`SQLITE_BOOK_FREE_SLOT_SCRIPT`], so that both take a slot on exactly the same conditions.
macro_rules! book_free_slot_update {
    () => {
        "UPDATE slots SET status = 'booked', hold_id = NULL, hold_expires_at = NULL, \
    updated_at = $2 WHERE id = $1 AND (status = 'free' OR (status = 'held' AND hold_expires_at <= $2)) \
    AND start_at > $2 AND NOT EXISTS (SELECT 1 FROM absences a WHERE a.professional_id = slots.professional_id \
    AND a.deleted_at IS NULL AND a.start_at < slots.end_at AND a.end_at > slots.start_at) \
    AND NOT EXISTS (SELECT 1 FROM professionals p WHERE p.id = slots.professional_id AND p.deactivated_at IS NOT NULL) \
    AND NOT EXISTS (SELECT 1 FROM practices c WHERE c.id = slots.practice_id AND c.deactivated_at IS NOT NULL)"
    };
}
pub const BOOK_FREE_SLOT: &str = concat!(book_free_slot_update!(), " RETURNING id");

pub const BOOK_HELD_SLOT: &str = "UPDATE slots SET status = 'booked', hold_id = NULL, hold_expires_at = NULL, \
    updated_at = $3 WHERE id = $1 AND status = 'held' AND hold_id = $2 AND hold_expires_at > $3 \
    AND start_at > $3 RETURNING id";

/// Claims a live hold for a booking; taken first, like a release, so both lock the hold before the slot.
pub const CLAIM_HOLD: &str = "UPDATE holds SET booking_id = $2 WHERE id = $1 AND booking_id IS NULL \
    AND released_at IS NULL AND expires_at > $3 RETURNING slot_id";

pub const INSERT_BOOKING: &str = "INSERT INTO bookings (id, slot_id, hold_id, status, patient_first_name, \
    patient_last_name, patient_birth_date, patient_phone, patient_email, motif, note, search_id, booked_by, \
    created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";

pub const GET_BOOKING: &str = "SELECT b.id, b.slot_id, b.hold_id, b.status, b.patient_first_name, \
    b.patient_last_name, b.patient_birth_date, b.patient_phone, b.patient_email, b.motif, b.note, b.search_id, \
    b.booked_by, b.created_at, b.updated_at, b.cancelled_at, b.cancelled_by, b.cancel_reason, b.outcome_at, \
    b.patient_erased_at FROM bookings b WHERE b.id = $1";

pub const LIST_BOOKINGS: &str = "SELECT b.id, b.slot_id, b.hold_id, b.status, b.patient_first_name, \
    b.patient_last_name, b.patient_birth_date, b.patient_phone, b.patient_email, b.motif, b.note, b.search_id, \
    b.booked_by, b.created_at, b.updated_at, b.cancelled_at, b.cancelled_by, b.cancel_reason, b.outcome_at, \
    b.patient_erased_at FROM bookings b JOIN slots s ON s.id = b.slot_id \
    WHERE ($1 IS NULL OR s.professional_id = $1) \
      AND ($2 IS NULL OR s.start_at >= $2) \
      AND ($3 IS NULL OR s.start_at < $3) \
      AND ($4 IS NULL OR b.status = $4) \
    ORDER BY s.start_at, b.id LIMIT $5 OFFSET $6";

pub const CANCEL_BOOKING: &str = "UPDATE bookings SET status = 'cancelled', cancelled_at = $2, updated_at = $2, \
    cancelled_by = $3, cancel_reason = $4 WHERE id = $1 AND status = 'confirmed' RETURNING slot_id";

/// A patient's link cancels its booking once, and only before the appointment starts.
pub const USE_CANCEL_LINK: &str = "UPDATE cancel_links SET used_at = $3 WHERE token_digest = $1 \
    AND booking_id = $2 AND used_at IS NULL AND expires_at > $3";
pub const INSERT_CANCEL_LINK: &str =
    "INSERT INTO cancel_links (token_digest, booking_id, expires_at, created_at) VALUES ($1, $2, $3, $4)";
pub const GET_CANCEL_LINK: &str =
    "SELECT token_digest, booking_id, expires_at, created_at, used_at FROM cancel_links WHERE token_digest = $1";

/// After a cancellation a future slot is free again (searchable, bookable) — unless its professional is absent
/// then; a past one is withdrawn.
pub const RELEASE_CANCELLED_SLOT: &str = "UPDATE slots SET updated_at = $2, status = CASE WHEN start_at > $2 \
    AND NOT EXISTS (SELECT 1 FROM absences a WHERE a.professional_id = slots.professional_id \
    AND a.deleted_at IS NULL AND a.start_at < slots.end_at AND a.end_at > slots.start_at) \
    AND (rule_id IS NULL OR EXISTS (SELECT 1 FROM availability_rules r WHERE r.id = slots.rule_id \
         AND r.deleted_at IS NULL AND r.version = slots.rule_version)) \
    AND NOT EXISTS (SELECT 1 FROM professionals p WHERE p.id = slots.professional_id AND p.deactivated_at IS NOT NULL) \
    AND NOT EXISTS (SELECT 1 FROM practices c WHERE c.id = slots.practice_id AND c.deactivated_at IS NOT NULL) \
    THEN 'free' ELSE 'withdrawn' END WHERE id = $1 AND status = 'booked'";

pub const RECORD_OUTCOME: &str = "UPDATE bookings SET status = $2, outcome_at = $3, updated_at = $3 \
    WHERE id = $1 AND status = 'confirmed' \
    AND EXISTS (SELECT 1 FROM slots s WHERE s.id = bookings.slot_id AND s.start_at <= $3) RETURNING id";

// --- idempotency ------------------------------------------------------------------------------------------

pub const RESERVE_IDEMPOTENCY_KEY: &str = "INSERT INTO idempotency_keys (api_key_id, endpoint, idempotency_key, \
    request_hash, status_code, response_body, created_at) VALUES ($1, $2, $3, $4, 0, '', $5) \
    ON CONFLICT DO NOTHING RETURNING api_key_id";
/// A reservation whose request died (panic, dropped connection) without answering is taken over once it is older
/// than any request may run.
pub const TAKE_OVER_IDEMPOTENCY_KEY: &str = "UPDATE idempotency_keys SET created_at = $4, request_hash = $5 \
    WHERE api_key_id = $1 AND endpoint = $2 AND idempotency_key = $3 AND status_code = 0 AND created_at < $6 \
    RETURNING api_key_id";
pub const GET_IDEMPOTENCY_KEY: &str = "SELECT request_hash, status_code, response_body FROM idempotency_keys \
    WHERE api_key_id = $1 AND endpoint = $2 AND idempotency_key = $3";
pub const COMPLETE_IDEMPOTENCY_KEY: &str = "UPDATE idempotency_keys SET status_code = $4, response_body = $5 \
    WHERE api_key_id = $1 AND endpoint = $2 AND idempotency_key = $3";
/// Stored answers contain patient data: they are kept one day, long enough for any retry.
pub const PURGE_CANCEL_LINKS: &str = "DELETE FROM cancel_links WHERE expires_at < $1";
pub const PURGE_IDEMPOTENCY_KEYS: &str = "DELETE FROM idempotency_keys WHERE created_at < $1";
pub const FORGET_IDEMPOTENCY_KEY: &str =
    "DELETE FROM idempotency_keys WHERE api_key_id = $1 AND endpoint = $2 AND idempotency_key = $3";

// --- outbox -----------------------------------------------------------------------------------------------

/// SQLite: outbox rows from a JSON array of outbox objects bound as the given parameter.
macro_rules! sqlite_outbox_from_json {
    ($param:literal) => {
        concat!(
            "INSERT INTO outbox (id, booking_id, channel, recipient, kind, address, due_at, status, attempts, \
             created_at) SELECT value->>'id', value->>'booking_id', value->>'channel', value->>'recipient', \
             value->>'kind', value->>'address', value->>'due_at', value->>'status', value->>'attempts', \
             value->>'created_at' FROM json_each(",
            $param,
            ")"
        )
    };
}
/// SQLite: audit events from a JSON array bound as the given parameter.
macro_rules! sqlite_audit_from_json {
    ($param:literal) => {
        concat!(
            "INSERT INTO audit_events (id, at, actor_kind, actor_id, role, action, target_type, target_id, \
             request_id, detail) SELECT value->>'id', value->>'at', value->>'actor_kind', value->>'actor_id', \
             value->>'role', value->>'action', value->>'target_type', value->>'target_id', value->>'request_id', \
             value->>'detail' FROM json_each(",
            $param,
            ")"
        )
    };
}
/// SQLite, a booking's messages in one statement: `$1` is a JSON array of outbox objects.
pub const SQLITE_INSERT_OUTBOX_JSON: &str = concat!(sqlite_outbox_from_json!("$1"), " ORDER BY key");
/// SQLite, a direct booking in one round trip to the connection: its own transaction; the slot's conditional
/// UPDATE; then — only if that took the slot (`changes()`) — the booking (`$3`–`$17`, the columns of
/// [`INSERT_BOOKING`] in order), its search's link, its messages (`$18`) and its audit events (`$19`), both JSON
/// arrays. Answers 1 when the booking was written, 0 when the slot was not bookable (nothing written).
pub const SQLITE_BOOK_FREE_SLOT_SCRIPT: &str = concat!(
    "BEGIN IMMEDIATE; ",
    book_free_slot_update!(),
    "; INSERT INTO bookings (id, slot_id, hold_id, status, patient_first_name, patient_last_name, \
     patient_birth_date, patient_phone, patient_email, motif, note, search_id, booked_by, created_at, updated_at) \
     SELECT $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17 WHERE changes() = 1; ",
    "UPDATE searches SET booking_id = $3 WHERE id = $14 AND booking_id IS NULL AND api_key_id = $15 \
     AND EXISTS (SELECT 1 FROM bookings WHERE id = $3); ",
    sqlite_outbox_from_json!("$18"),
    " WHERE EXISTS (SELECT 1 FROM bookings WHERE id = $3) ORDER BY key; ",
    sqlite_audit_from_json!("$19"),
    " WHERE EXISTS (SELECT 1 FROM bookings WHERE id = $3) ORDER BY key; ",
    "SELECT COUNT(*) FROM bookings WHERE id = $3; ",
    "COMMIT"
);
/// PostgreSQL, a booking's messages in one statement, from column arrays.
pub const POSTGRES_INSERT_OUTBOX_UNNEST: &str = "INSERT INTO outbox (id, booking_id, channel, recipient, kind, \
    address, due_at, status, attempts, created_at) \
    SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
    $7::timestamptz[], $8::text[], $9::integer[], $10::timestamptz[])";
/// A cancelled booking's reminders still to come are not sent.
pub const WITHDRAW_REMINDERS: &str =
    "UPDATE outbox SET status = 'withdrawn' WHERE booking_id = $1 AND kind = 'reminder' AND status = 'pending'";
/// Due reminders of appointments that have started are never sent.
pub const WITHDRAW_LATE_REMINDERS: &str = "UPDATE outbox SET status = 'withdrawn', \
    last_error = 'the appointment had started', claimed_until = NULL \
    WHERE status = 'pending' AND kind = 'reminder' AND due_at <= $1 AND EXISTS (SELECT 1 FROM bookings b \
    JOIN slots s ON s.id = b.slot_id WHERE b.id = outbox.booking_id AND s.start_at <= $1)";
/// Claims due messages for a lease, counting the attempt. `{skip_locked}`: PostgreSQL's `FOR UPDATE SKIP
/// LOCKED` (concurrent workers take disjoint rows); nothing on SQLite, where `BEGIN IMMEDIATE` serialises.
pub const CLAIM_OUTBOX: &str = "UPDATE outbox SET claimed_until = $2, claim_token = $4, attempts = attempts + 1 \
    WHERE id IN \
    (SELECT o.id FROM outbox o WHERE o.status = 'pending' AND o.due_at <= $1 \
       AND (o.claimed_until IS NULL OR o.claimed_until <= $1) ORDER BY o.due_at, o.id LIMIT $3 {skip_locked}) \
    RETURNING id, booking_id, channel, recipient, kind, address, due_at, status, attempts, last_error, sent_at, \
    created_at";
/// Extends a worker's lease on one message before it is sent — unless another worker has claimed it since.
pub const RENEW_CLAIM: &str =
    "UPDATE outbox SET claimed_until = $3 WHERE id = $1 AND claim_token = $2 AND status = 'pending'";
/// Outcomes are recorded only by the worker whose claim the message still is (`$2`: its claim token).
pub const MARK_SENT: &str = "UPDATE outbox SET status = 'sent', sent_at = $3, provider_id = $4, last_error = NULL, \
    claimed_until = NULL WHERE id = $1 AND claim_token = $2 AND status = 'pending'";
pub const MARK_RETRY: &str = "UPDATE outbox SET due_at = $3, last_error = $4, claimed_until = NULL \
    WHERE id = $1 AND claim_token = $2 AND status = 'pending'";
pub const MARK_FAILED: &str = "UPDATE outbox SET status = 'failed', last_error = $3, claimed_until = NULL \
    WHERE id = $1 AND claim_token = $2 AND status = 'pending'";
pub const MARK_WITHDRAWN: &str = "UPDATE outbox SET status = 'withdrawn', last_error = $3, claimed_until = NULL \
    WHERE id = $1 AND claim_token = $2 AND status = 'pending'";
/// For the metrics: messages due and not sent, and since when the oldest has waited.
pub const OUTBOX_BACKLOG: &str = "SELECT COUNT(*), MIN(due_at) FROM outbox WHERE status = 'pending' AND due_at <= $1";
/// For the metrics: messages sent or given up, by channel.
pub const OUTBOX_OUTCOMES: &str = "SELECT channel, status, COUNT(*) FROM outbox \
    WHERE status IN ('sent', 'failed') GROUP BY channel, status ORDER BY channel, status";
/// Messages that gave up, newest first: what coordinators look at and may send again.
pub const LIST_FAILED_OUTBOX: &str = "SELECT id, booking_id, channel, recipient, kind, address, due_at, status, \
    attempts, last_error, sent_at, created_at FROM outbox WHERE status = 'failed' ORDER BY due_at DESC, id LIMIT $1";
pub const GET_OUTBOX: &str = "SELECT id, booking_id, channel, recipient, kind, address, due_at, status, attempts, \
    last_error, sent_at, created_at FROM outbox WHERE id = $1";
/// A failed message goes back to the worker with a fresh count of attempts — unless its address was erased, or it
/// is a confirmation or reminder of a booking that is no longer confirmed.
pub const RETRY_OUTBOX: &str = "UPDATE outbox SET status = 'pending', attempts = 0, due_at = $2, claimed_until = NULL, \
    claim_token = NULL WHERE id = $1 AND status = 'failed' AND address <> '' \
    AND (kind = 'cancellation' OR booking_id IN (SELECT id FROM bookings WHERE status = 'confirmed')) RETURNING id";
pub const LIST_OUTBOX: &str = "SELECT id, booking_id, channel, recipient, kind, address, due_at, status, attempts, \
    last_error, sent_at, created_at FROM outbox WHERE booking_id = $1 ORDER BY due_at, created_at, id";

// --- search -----------------------------------------------------------------------------------------------

/// The search index's snapshot queries (practices: those professionals work at — also on a full load, so that
/// every process knows the same ones). `{idsN}` becomes the backend's "in this JSON list of ids" test, bound as
/// `$N` (`IS NOT NULL` for a full load, which binds nothing there).
pub const SNAPSHOT_PROFESSIONALS: &str = "SELECT p.id, p.first_name, p.last_name, p.profession, \
    p.home_visit_radius_km, p.min_patient_age_months, p.max_patient_age_months, p.accepts_overbooking, \
    (SELECT string_agg(k.skill, ',') FROM professional_skills k WHERE k.professional_id = p.id) AS skills \
    FROM professionals p WHERE p.deactivated_at IS NULL AND p.id {ids1}";
/// Links to deactivated practices are left out: a search never offers them.
pub const SNAPSHOT_LINKS: &str = "SELECT l.professional_id, l.practice_id FROM professional_practices l \
    JOIN practices c ON c.id = l.practice_id AND c.deactivated_at IS NULL WHERE l.professional_id {ids1}";
pub const SNAPSHOT_PRACTICES: &str = "SELECT id, name, address, postal_code, commune, phone, lat, lon, \
    departement, timezone FROM practices WHERE id IN \
    (SELECT practice_id FROM professional_practices WHERE professional_id {ids1})";
/// The columns of a snapshot's slots.
macro_rules! snapshot_slot_columns {
    () => {
        "SELECT s.id, s.professional_id, s.practice_id, s.start_at, s.end_at, s.modality, s.visibility, s.status, \
         s.hold_expires_at FROM slots s "
    };
}
/// Leaves out the slots inside one of their professional's absences.
macro_rules! outside_absences {
    () => {
        " AND NOT EXISTS (SELECT 1 FROM absences a WHERE a.professional_id = s.professional_id \
         AND a.deleted_at IS NULL AND a.start_at < s.end_at AND a.end_at > s.start_at)"
    };
}
/// Free and held slots, except those inside an absence or of a deactivated professional or practice (a search
/// never offers them; a held one may come free again when its hold lapses). For the whole index: joins.
pub const SNAPSHOT_SLOTS: &str = concat!(
    snapshot_slot_columns!(),
    "JOIN professionals p ON p.id = s.professional_id AND p.deactivated_at IS NULL \
     JOIN practices c ON c.id = s.practice_id AND c.deactivated_at IS NULL \
     WHERE s.status IN ('free', 'held') AND s.start_at >= $1",
    outside_absences!()
);
/// The same for the professionals in `{ids2}`, as a reload after a change needs them: each slot's professional
/// and practice are looked up by their key. Written as joins, PostgreSQL's planner read every professional and
/// every practice of the country to reload twenty professionals (a merge join down the professionals' key, a
/// sequential scan of the practices): 32 ms a reload at national scale, against 2 ms by key.
pub const SNAPSHOT_SLOTS_OF: &str = concat!(
    snapshot_slot_columns!(),
    "WHERE s.status IN ('free', 'held') AND s.start_at >= $1 AND s.professional_id {ids2} \
     AND (SELECT p.deactivated_at IS NULL FROM professionals p WHERE p.id = s.professional_id) \
     AND (SELECT c.deactivated_at IS NULL FROM practices c WHERE c.id = s.practice_id)",
    outside_absences!()
);
pub const SNAPSHOT_ABSENCES: &str = "SELECT professional_id, start_at, end_at FROM absences \
    WHERE deleted_at IS NULL AND end_at > $1 AND professional_id {ids2}";
/// Regulated bookings since `$1` (the fairness tie-break), for the whole index.
pub const SNAPSHOT_BOOKINGS: &str = "SELECT s.professional_id, b.created_at FROM bookings b \
    JOIN slots s ON s.id = b.slot_id WHERE b.created_at >= $1 AND b.status <> 'cancelled'";
/// The same for the professionals in `{ids2}`: read from their slots, each slot's active booking looked up by its
/// key (a join read every booking of the last week). A slot booked since `$1` starts after `$1`: nothing is
/// booked once it has started.
pub const SNAPSHOT_BOOKINGS_OF: &str = "SELECT professional_id, created_at FROM (SELECT s.professional_id, \
    (SELECT b.created_at FROM bookings b WHERE b.slot_id = s.id AND b.status <> 'cancelled') AS created_at \
    FROM slots s WHERE s.professional_id {ids2} AND s.start_at >= $1) booked WHERE created_at >= $1";

/// The rows of SQLite's multi-row statements, largest first: a batch is written with as few statements as these
/// allow, and only these few sizes stay prepared on the writer connection. (A batch as one JSON array read by
/// `json_each` parsed each row's object again for every field it read: ≈ 9 µs a row of twelve fields.)
pub const SQLITE_ROWS_PER_STATEMENT: [usize; 3] = [100, 10, 1];

/// `head`, then `rows` groups of `columns` placeholders, then `tail`: built once for each size up to the
/// largest of [`SQLITE_ROWS_PER_STATEMENT`], in `built`.
fn sqlite_rows_statement(
    built: &'static std::sync::OnceLock<Vec<String>>,
    head: &str,
    columns: usize,
    tail: &str,
    rows: usize,
) -> &'static str {
    let statements = built.get_or_init(|| {
        let row = format!("({})", vec!["?"; columns].join(", "));
        (0..=SQLITE_ROWS_PER_STATEMENT[0])
            .map(|n| format!("{head} {} {tail}", vec![row.as_str(); n].join(", ")))
            .collect()
    });
    &statements[rows]
}

/// SQLite, `rows` search records in one statement, twelve values bound per row.
pub fn sqlite_insert_searches(rows: usize) -> &'static str {
    static BUILT: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let head = "INSERT INTO searches (id, created_at, api_key_id, motif, profession, age_band, departement, \
                delay_band, modality, radius_km, widened, result_count) VALUES";
    sqlite_rows_statement(&BUILT, head, 12, "", rows)
}

/// SQLite, `rows` slots in one statement, twelve values bound per row.
pub fn sqlite_insert_slots(rows: usize) -> &'static str {
    static BUILT: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let head = "INSERT INTO slots (id, professional_id, practice_id, start_at, end_at, modality, visibility, status, \
                created_at, updated_at, rule_id, rule_version) VALUES";
    sqlite_rows_statement(&BUILT, head, 12, "", rows)
}

/// SQLite: the first of `rows` live slots — (its index in the batch, professional, start, end) bound per row —
/// that overlaps a live slot already stored.
pub fn sqlite_first_overlap(rows: usize) -> &'static str {
    static BUILT: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let head = "WITH batch(k, professional_id, start_at, end_at) AS (VALUES";
    let tail = ") SELECT b.k FROM batch b WHERE EXISTS (SELECT 1 FROM slots s \
                WHERE s.professional_id = b.professional_id AND s.status <> 'withdrawn' \
                AND s.start_at < b.end_at AND s.end_at > b.start_at) ORDER BY b.k LIMIT 1";
    sqlite_rows_statement(&BUILT, head, 4, tail, rows)
}

/// PostgreSQL, a batch of search records in one statement, from column arrays.
pub const POSTGRES_INSERT_SEARCHES_UNNEST: &str = "INSERT INTO searches (id, created_at, api_key_id, motif, \
    profession, age_band, departement, delay_band, modality, radius_km, widened, result_count) \
    SELECT * FROM UNNEST($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], \
    $7::text[], $8::text[], $9::text[], $10::double precision[], $11::boolean[], $12::integer[])";

/// A search is linked by the caller who made it (others cannot skew the statistics).
pub const LINK_SEARCH_TO_BOOKING: &str =
    "UPDATE searches SET booking_id = $2 WHERE id = $1 AND booking_id IS NULL AND api_key_id = $3";

pub const INSERT_AUDIT_EVENT: &str = "INSERT INTO audit_events (id, at, actor_kind, actor_id, role, action, \
    target_type, target_id, request_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
pub const LIST_AUDIT_EVENTS: &str = "SELECT id, at, actor_kind, actor_id, role, action, target_type, target_id, \
    request_id, detail FROM audit_events \
    WHERE ($1 IS NULL OR actor_id = $1) AND ($2 IS NULL OR action = $2) AND ($3 IS NULL OR target_type = $3) \
      AND ($4 IS NULL OR target_id = $4) AND ($5 IS NULL OR at >= $5) AND ($6 IS NULL OR at < $6) \
    ORDER BY at DESC, id DESC LIMIT $7 OFFSET $8";

/// Retention: the patient data of bookings whose slot ended before `$2` is erased (the row, its ids and times
/// stay for statistics and the audit trail).
pub const ERASE_PATIENT_DATA: &str = "UPDATE bookings SET patient_first_name = '', patient_last_name = '', \
    patient_birth_date = '', patient_phone = NULL, patient_email = NULL, note = NULL, cancel_reason = NULL, \
    patient_erased_at = $1, updated_at = $1 \
    WHERE patient_erased_at IS NULL AND slot_id IN (SELECT id FROM slots WHERE end_at < $2)";
/// … and the addresses their messages were sent to, with the provider errors that may quote them; a message
/// still pending has no one left to go to.
pub const ERASE_OUTBOX_ADDRESSES: &str = "UPDATE outbox SET address = '', last_error = NULL, claimed_until = NULL, \
    status = CASE WHEN status = 'pending' THEN 'withdrawn' ELSE status END \
    WHERE booking_id IN (SELECT id FROM bookings WHERE patient_erased_at = $1)";

const USER_COLUMNS: &str = "id, email, role, professional_id, password_hash, created_at, password_changed_at, \
    disabled_at, failed_logins, locked_until";
pub const INSERT_USER: &str = "INSERT INTO users (id, email, role, professional_id, password_hash, created_at, \
    password_changed_at) VALUES ($1, $2, $3, $4, $5, $6, $6)";
/// A user's principal (see migration 0015): the row its holds and bookings name; it authenticates nothing.
pub const INSERT_USER_PRINCIPAL: &str = "INSERT INTO api_keys (id, name, role, professional_id, key_digest, \
    created_at, user_id) VALUES ($1, 'console ' || $2, $3, $4, 'user:' || $1, $5, $1)";
pub fn select_user(by: &str) -> String {
    format!("SELECT {USER_COLUMNS} FROM users WHERE {by} = $1")
}
/// A login attempt, counted before the password is checked so that parallel guesses cannot pass a lock together:
/// refused (no row) while the account is locked (`$2` is now); a lock found expired starts the count again; the
/// attempt that reaches `$3` sets the lock until `$4` (a right password then lifts it, through the success).
pub const CLAIM_LOGIN_ATTEMPT: &str = "UPDATE users SET \
    failed_logins = CASE WHEN locked_until IS NOT NULL THEN 1 ELSE failed_logins + 1 END, \
    locked_until = CASE WHEN (CASE WHEN locked_until IS NOT NULL THEN 1 ELSE failed_logins + 1 END) >= $3 \
        THEN $4 ELSE NULL END \
    WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2) RETURNING CAST(failed_logins AS BIGINT)";
pub const RECORD_LOGIN_SUCCESS: &str = "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1";
/// A new password also lifts a lock-out (the user proved the old one, or an admin reset it).
pub const SET_PASSWORD: &str = "UPDATE users SET password_hash = $2, password_changed_at = $3, failed_logins = 0, \
    locked_until = NULL WHERE id = $1 RETURNING id";
pub const LIST_USERS: &str = "SELECT id, email, role, professional_id, password_hash, created_at, \
    password_changed_at, disabled_at, failed_logins, locked_until FROM users ORDER BY email, id";
pub const UPDATE_USER_ACCESS: &str = "UPDATE users SET role = $2, professional_id = $3 WHERE id = $1 RETURNING id";
/// The user's principal follows: its holds and bookings are checked against the same role.
pub const UPDATE_PRINCIPAL_ACCESS: &str = "UPDATE api_keys SET role = $2, professional_id = $3 WHERE user_id = $1";
pub const SET_USER_DISABLED: &str = "UPDATE users SET disabled_at = $2 WHERE id = $1 RETURNING id";
pub const END_USER_SESSIONS: &str = "UPDATE sessions SET ended_at = $2 WHERE user_id = $1 AND ended_at IS NULL";
pub const INSERT_SESSION: &str = "INSERT INTO sessions (id_digest, user_id, csrf_token, created_at, last_seen_at) \
    VALUES ($1, $2, $3, $4, $4)";
pub const GET_SESSION: &str =
    "SELECT id_digest, user_id, csrf_token, created_at, last_seen_at, ended_at FROM sessions WHERE id_digest = $1";
pub const TOUCH_SESSION: &str = "UPDATE sessions SET last_seen_at = $2 WHERE id_digest = $1 AND ended_at IS NULL";
pub const END_SESSION: &str = "UPDATE sessions SET ended_at = $2 WHERE id_digest = $1 AND ended_at IS NULL";
/// A password change ends the user's other sessions.
pub const END_OTHER_SESSIONS: &str =
    "UPDATE sessions SET ended_at = $3 WHERE user_id = $1 AND id_digest <> $2 AND ended_at IS NULL";
