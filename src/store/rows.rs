//! Row types shared by both backends, and their conversion to domain types.
//!
//! `FromRow` is derived generically, so the same structs decode SQLite and PostgreSQL rows; the queries that
//! produce them alias columns to these names. Values that the schema constrains but Rust parses (enums, zones)
//! turn into [`StoreError::Corrupt`] if they ever fail, rather than panicking.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::StoreError;
use crate::domain::access::Role;
use crate::domain::api_key::ApiKey;
use crate::domain::audit::{ActorKind, AuditEvent};
use crate::domain::availability::{Absence, AvailabilityRule, parse_date, parse_time};
use crate::domain::booking::{Booking, BookingStatus, Hold, Patient};
use crate::domain::cancel_link::CancelLink;
use crate::domain::geo::Coordinates;
use crate::domain::notification::{Channel, Delivery, Kind, Notification, Recipient};
use crate::domain::practice::{Practice, PracticeKind};
use crate::domain::professional::Professional;
use crate::domain::recurrence::{HolidayPolicy, MonthDay, Recurrence, Season, parse_weekday, weekday_name};
use crate::domain::search::{BookableSlot, PracticeCard, ProfessionalCard};
use crate::domain::slot::{Modality, Slot, SlotStatus, Visibility};
use crate::domain::user::{Session, User};

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {value:?}"))
}

fn zone(raw: &str) -> Result<Tz, StoreError> {
    raw.parse().map_err(|_| corrupt("time zone", raw))
}

/// Splits a comma-joined aggregate (`string_agg` / `group_concat`) into sorted values.
fn split_list(joined: Option<String>) -> Vec<String> {
    let mut values: Vec<String> =
        joined.unwrap_or_default().split(',').filter(|s| !s.is_empty()).map(str::to_string).collect();
    values.sort();
    values
}

#[derive(sqlx::FromRow)]
pub struct PracticeRow {
    id: String,
    name: String,
    kind: String,
    address: String,
    postal_code: String,
    commune: String,
    departement: String,
    lat: f64,
    lon: f64,
    timezone: String,
    phone: Option<String>,
    created_at: DateTime<Utc>,
    deactivated_at: Option<DateTime<Utc>>,
}

impl TryFrom<PracticeRow> for Practice {
    type Error = StoreError;
    fn try_from(r: PracticeRow) -> Result<Self, StoreError> {
        Ok(Practice {
            kind: PracticeKind::parse(&r.kind).ok_or_else(|| corrupt("practice kind", &r.kind))?,
            timezone: zone(&r.timezone)?,
            id: r.id,
            name: r.name,
            address: r.address,
            postal_code: r.postal_code,
            commune: r.commune,
            departement: r.departement,
            lat: r.lat,
            lon: r.lon,
            phone: r.phone,
            created_at: r.created_at,
            deactivated_at: r.deactivated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct ProfessionalRow {
    id: String,
    rpps: Option<String>,
    adeli: Option<String>,
    first_name: String,
    last_name: String,
    profession: String,
    skills: Option<String>,
    practice_ids: Option<String>,
    accepts_new_patients: bool,
    accepts_overbooking: bool,
    home_visit_radius_km: Option<f64>,
    min_patient_age_months: Option<i32>,
    max_patient_age_months: Option<i32>,
    email: Option<String>,
    phone: Option<String>,
    created_at: DateTime<Utc>,
    deactivated_at: Option<DateTime<Utc>>,
}

impl From<ProfessionalRow> for Professional {
    fn from(r: ProfessionalRow) -> Self {
        Professional {
            id: r.id,
            rpps: r.rpps,
            adeli: r.adeli,
            first_name: r.first_name,
            last_name: r.last_name,
            profession: r.profession,
            skills: split_list(r.skills),
            practice_ids: split_list(r.practice_ids),
            accepts_new_patients: r.accepts_new_patients,
            accepts_overbooking: r.accepts_overbooking,
            home_visit_radius_km: r.home_visit_radius_km,
            min_patient_age_months: r.min_patient_age_months.and_then(|m| u32::try_from(m).ok()),
            max_patient_age_months: r.max_patient_age_months.and_then(|m| u32::try_from(m).ok()),
            email: r.email,
            phone: r.phone,
            created_at: r.created_at,
            deactivated_at: r.deactivated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct SlotRow {
    id: String,
    professional_id: String,
    practice_id: String,
    start_at: DateTime<Utc>,
    end_at: DateTime<Utc>,
    modality: String,
    visibility: String,
    status: String,
    timezone: String,
    rule_id: Option<String>,
    rule_version: Option<i32>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<SlotRow> for Slot {
    type Error = StoreError;
    fn try_from(r: SlotRow) -> Result<Self, StoreError> {
        Ok(Slot {
            modality: Modality::parse(&r.modality).ok_or_else(|| corrupt("modality", &r.modality))?,
            visibility: Visibility::parse(&r.visibility).ok_or_else(|| corrupt("visibility", &r.visibility))?,
            status: SlotStatus::parse(&r.status).ok_or_else(|| corrupt("slot status", &r.status))?,
            timezone: zone(&r.timezone)?,
            id: r.id,
            professional_id: r.professional_id,
            practice_id: r.practice_id,
            start: r.start_at,
            end: r.end_at,
            rule_id: r.rule_id,
            rule_version: r.rule_version.map(i64::from),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// A slot with its professional and practice in one row ([`sql::GET_SLOT_IN_CONTEXT`]): the slot's columns under
/// their own names, the professional's and the practice's under names of their own where they would clash.
///
/// [`sql::GET_SLOT_IN_CONTEXT`]: super::sql::GET_SLOT_IN_CONTEXT
#[derive(sqlx::FromRow)]
pub struct SlotInContextRow {
    #[sqlx(flatten)]
    slot: SlotRow,
    rpps: Option<String>,
    adeli: Option<String>,
    first_name: String,
    last_name: String,
    profession: String,
    skills: Option<String>,
    practice_ids: Option<String>,
    accepts_new_patients: bool,
    accepts_overbooking: bool,
    home_visit_radius_km: Option<f64>,
    min_patient_age_months: Option<i32>,
    max_patient_age_months: Option<i32>,
    email: Option<String>,
    professional_phone: Option<String>,
    professional_created_at: DateTime<Utc>,
    professional_deactivated_at: Option<DateTime<Utc>>,
    practice_name: String,
    kind: String,
    address: String,
    postal_code: String,
    commune: String,
    departement: String,
    lat: f64,
    lon: f64,
    practice_phone: Option<String>,
    practice_created_at: DateTime<Utc>,
    practice_deactivated_at: Option<DateTime<Utc>>,
}

impl TryFrom<SlotInContextRow> for super::SlotInContext {
    type Error = StoreError;
    fn try_from(r: SlotInContextRow) -> Result<Self, StoreError> {
        let professional = ProfessionalRow {
            id: r.slot.professional_id.clone(),
            rpps: r.rpps,
            adeli: r.adeli,
            first_name: r.first_name,
            last_name: r.last_name,
            profession: r.profession,
            skills: r.skills,
            practice_ids: r.practice_ids,
            accepts_new_patients: r.accepts_new_patients,
            accepts_overbooking: r.accepts_overbooking,
            home_visit_radius_km: r.home_visit_radius_km,
            min_patient_age_months: r.min_patient_age_months,
            max_patient_age_months: r.max_patient_age_months,
            email: r.email,
            phone: r.professional_phone,
            created_at: r.professional_created_at,
            deactivated_at: r.professional_deactivated_at,
        };
        let practice = PracticeRow {
            id: r.slot.practice_id.clone(),
            name: r.practice_name,
            kind: r.kind,
            address: r.address,
            postal_code: r.postal_code,
            commune: r.commune,
            departement: r.departement,
            lat: r.lat,
            lon: r.lon,
            timezone: r.slot.timezone.clone(),
            phone: r.practice_phone,
            created_at: r.practice_created_at,
            deactivated_at: r.practice_deactivated_at,
        };
        Ok(super::SlotInContext {
            slot: Slot::try_from(r.slot)?,
            professional: Professional::from(professional),
            practice: Practice::try_from(practice)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct ApiKeyRow {
    id: String,
    name: String,
    role: String,
    professional_id: Option<String>,
    practice_ids: Option<String>,
    key_digest: String,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<ApiKeyRow> for ApiKey {
    type Error = StoreError;
    fn try_from(r: ApiKeyRow) -> Result<Self, StoreError> {
        Ok(ApiKey {
            role: Role::parse(&r.role).ok_or_else(|| corrupt("role", &r.role))?,
            practice_ids: split_list(r.practice_ids),
            id: r.id,
            name: r.name,
            professional_id: r.professional_id,
            key_digest: r.key_digest,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct RuleRow {
    id: String,
    professional_id: String,
    practice_id: String,
    weekdays: String,
    start_time: String,
    end_time: String,
    slot_minutes: i32,
    modality: String,
    visibility: String,
    valid_from: String,
    valid_until: Option<String>,
    public_holidays: String,
    season_from: Option<String>,
    season_to: Option<String>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<RuleRow> for AvailabilityRule {
    type Error = StoreError;
    fn try_from(r: RuleRow) -> Result<Self, StoreError> {
        let weekdays =
            r.weekdays.split(',').map(parse_weekday).collect::<Result<Vec<_>, _>>().map_err(StoreError::Corrupt)?;
        let season = match (r.season_from, r.season_to) {
            (Some(from), Some(to)) => Some(Season {
                from: MonthDay::parse(&from).map_err(StoreError::Corrupt)?,
                to: MonthDay::parse(&to).map_err(StoreError::Corrupt)?,
            }),
            _ => None,
        };
        Ok(AvailabilityRule {
            recurrence: Recurrence {
                weekdays,
                start_time: parse_time(&r.start_time).map_err(StoreError::Corrupt)?,
                end_time: parse_time(&r.end_time).map_err(StoreError::Corrupt)?,
                slot_minutes: i64::from(r.slot_minutes),
                valid_from: parse_date(&r.valid_from).map_err(StoreError::Corrupt)?,
                valid_until: r.valid_until.as_deref().map(parse_date).transpose().map_err(StoreError::Corrupt)?,
                public_holidays: HolidayPolicy::parse(&r.public_holidays)
                    .ok_or_else(|| corrupt("holiday policy", &r.public_holidays))?,
                season,
            },
            modality: Modality::parse(&r.modality).ok_or_else(|| corrupt("modality", &r.modality))?,
            visibility: Visibility::parse(&r.visibility).ok_or_else(|| corrupt("visibility", &r.visibility))?,
            id: r.id,
            professional_id: r.professional_id,
            practice_id: r.practice_id,
            version: i64::from(r.version),
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// The text columns a rule is stored in (the inverse of `RuleRow`'s conversion).
pub struct RuleColumns {
    pub weekdays: String,
    pub start_time: String,
    pub end_time: String,
    pub slot_minutes: i32,
    pub valid_from: String,
    pub valid_until: Option<String>,
    pub season_from: Option<String>,
    pub season_to: Option<String>,
}

impl RuleColumns {
    pub fn of(rule: &AvailabilityRule) -> Self {
        let r = &rule.recurrence;
        RuleColumns {
            weekdays: r.weekdays.iter().map(|d| weekday_name(*d)).collect::<Vec<_>>().join(","),
            start_time: r.start_time.format("%H:%M").to_string(),
            end_time: r.end_time.format("%H:%M").to_string(),
            slot_minutes: i32::try_from(r.slot_minutes).unwrap_or(i32::MAX),
            valid_from: r.valid_from.format("%Y-%m-%d").to_string(),
            valid_until: r.valid_until.map(|d| d.format("%Y-%m-%d").to_string()),
            season_from: r.season.map(|s| s.from.format()),
            season_to: r.season.map(|s| s.to.format()),
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct AbsenceRow {
    id: String,
    professional_id: String,
    start_at: DateTime<Utc>,
    end_at: DateTime<Utc>,
    reason: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<AbsenceRow> for Absence {
    fn from(r: AbsenceRow) -> Self {
        Absence {
            id: r.id,
            professional_id: r.professional_id,
            start: r.start_at,
            end: r.end_at,
            reason: r.reason,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct HoldRow {
    id: String,
    slot_id: String,
    api_key_id: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    released_at: Option<DateTime<Utc>>,
    booking_id: Option<String>,
}

impl From<HoldRow> for Hold {
    fn from(r: HoldRow) -> Self {
        Hold {
            id: r.id,
            slot_id: r.slot_id,
            api_key_id: r.api_key_id,
            created_at: r.created_at,
            expires_at: r.expires_at,
            released_at: r.released_at,
            booking_id: r.booking_id,
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct BookingRow {
    id: String,
    slot_id: String,
    hold_id: Option<String>,
    status: String,
    patient_first_name: String,
    patient_last_name: String,
    patient_birth_date: String,
    patient_phone: Option<String>,
    patient_email: Option<String>,
    motif: String,
    note: Option<String>,
    search_id: Option<String>,
    booked_by: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    cancelled_at: Option<DateTime<Utc>>,
    cancelled_by: Option<String>,
    cancel_reason: Option<String>,
    outcome_at: Option<DateTime<Utc>>,
    patient_erased_at: Option<DateTime<Utc>>,
}

impl TryFrom<BookingRow> for Booking {
    type Error = StoreError;
    fn try_from(r: BookingRow) -> Result<Self, StoreError> {
        Ok(Booking {
            status: BookingStatus::parse(&r.status).ok_or_else(|| corrupt("booking status", &r.status))?,
            patient: match r.patient_erased_at {
                Some(_) => None,
                None => Some(Patient {
                    birth_date: chrono::NaiveDate::parse_from_str(&r.patient_birth_date, "%Y-%m-%d")
                        .map_err(|_| corrupt("birth date", &r.patient_birth_date))?,
                    first_name: r.patient_first_name,
                    last_name: r.patient_last_name,
                    phone: r.patient_phone,
                    email: r.patient_email,
                }),
            },
            patient_erased_at: r.patient_erased_at,
            id: r.id,
            slot_id: r.slot_id,
            hold_id: r.hold_id,
            motif: r.motif,
            note: r.note,
            search_id: r.search_id,
            booked_by: r.booked_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
            cancelled_at: r.cancelled_at,
            cancelled_by: r.cancelled_by,
            cancel_reason: r.cancel_reason,
            outcome_at: r.outcome_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct CardProfessionalRow {
    id: String,
    first_name: String,
    last_name: String,
    profession: String,
    home_visit_radius_km: Option<f64>,
    min_patient_age_months: Option<i32>,
    max_patient_age_months: Option<i32>,
    accepts_overbooking: bool,
    skills: Option<String>,
}

impl From<CardProfessionalRow> for ProfessionalCard {
    fn from(r: CardProfessionalRow) -> Self {
        let mut skills = split_list(r.skills);
        skills.sort();
        ProfessionalCard {
            name: format!("{} {}", r.first_name, r.last_name),
            id: r.id,
            profession: r.profession,
            skills,
            home_visit_radius_km: r.home_visit_radius_km,
            min_patient_age_months: r.min_patient_age_months.and_then(|m| u32::try_from(m).ok()),
            max_patient_age_months: r.max_patient_age_months.and_then(|m| u32::try_from(m).ok()),
            accepts_overbooking: r.accepts_overbooking,
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct CardPracticeRow {
    id: String,
    name: String,
    address: String,
    postal_code: String,
    commune: String,
    phone: Option<String>,
    lat: f64,
    lon: f64,
    departement: String,
    timezone: String,
}

impl TryFrom<CardPracticeRow> for PracticeCard {
    type Error = StoreError;
    fn try_from(r: CardPracticeRow) -> Result<Self, StoreError> {
        Ok(PracticeCard {
            timezone: zone(&r.timezone)?,
            address: format!("{}, {} {}", r.address, r.postal_code, r.commune),
            id: r.id,
            name: r.name,
            phone: r.phone,
            location: Coordinates { lat: r.lat, lon: r.lon },
            departement: r.departement,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct BookableSlotRow {
    id: String,
    professional_id: String,
    practice_id: String,
    start_at: DateTime<Utc>,
    end_at: DateTime<Utc>,
    modality: String,
    visibility: String,
    status: String,
    hold_expires_at: Option<DateTime<Utc>>,
}

impl TryFrom<BookableSlotRow> for BookableSlot {
    type Error = StoreError;
    fn try_from(r: BookableSlotRow) -> Result<Self, StoreError> {
        Ok(BookableSlot {
            modality: Modality::parse(&r.modality).ok_or_else(|| corrupt("modality", &r.modality))?,
            visibility: Visibility::parse(&r.visibility).ok_or_else(|| corrupt("visibility", &r.visibility))?,
            // A held slot without an expiry would be held for ever: treat it so rather than offer it.
            held_until: (r.status == "held").then(|| r.hold_expires_at.unwrap_or(DateTime::<Utc>::MAX_UTC)),
            id: r.id.into(),
            professional_id: r.professional_id,
            practice_id: r.practice_id,
            start: r.start_at,
            end: r.end_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct NotificationRow {
    id: String,
    booking_id: String,
    channel: String,
    recipient: String,
    kind: String,
    address: String,
    due_at: DateTime<Utc>,
    status: String,
    attempts: i32,
    last_error: Option<String>,
    sent_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl TryFrom<NotificationRow> for Notification {
    type Error = StoreError;
    fn try_from(r: NotificationRow) -> Result<Self, StoreError> {
        Ok(Notification {
            channel: Channel::parse(&r.channel).ok_or_else(|| corrupt("channel", &r.channel))?,
            recipient: Recipient::parse(&r.recipient).ok_or_else(|| corrupt("recipient", &r.recipient))?,
            kind: Kind::parse(&r.kind).ok_or_else(|| corrupt("kind", &r.kind))?,
            status: Delivery::parse(&r.status).ok_or_else(|| corrupt("status", &r.status))?,
            attempts: u32::try_from(r.attempts).unwrap_or(0),
            id: r.id,
            booking_id: r.booking_id,
            address: r.address,
            due_at: r.due_at,
            last_error: r.last_error,
            sent_at: r.sent_at,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct CancelLinkRow {
    token_digest: String,
    booking_id: String,
    expires_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
}

impl From<CancelLinkRow> for CancelLink {
    fn from(r: CancelLinkRow) -> Self {
        CancelLink {
            token_digest: r.token_digest,
            booking_id: r.booking_id,
            expires_at: r.expires_at,
            created_at: r.created_at,
            used_at: r.used_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct AuditRow {
    id: String,
    at: DateTime<Utc>,
    actor_kind: String,
    actor_id: Option<String>,
    role: Option<String>,
    action: String,
    target_type: String,
    target_id: Option<String>,
    request_id: Option<String>,
    detail: Option<String>,
}

impl TryFrom<AuditRow> for AuditEvent {
    type Error = StoreError;
    fn try_from(r: AuditRow) -> Result<Self, StoreError> {
        let role = match r.role.as_deref() {
            None => None,
            Some(raw) => Some(Role::parse(raw).ok_or_else(|| corrupt("role", raw))?),
        };
        Ok(AuditEvent {
            actor_kind: ActorKind::parse(&r.actor_kind).ok_or_else(|| corrupt("actor_kind", &r.actor_kind))?,
            role,
            id: r.id,
            at: r.at,
            actor_id: r.actor_id,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            request_id: r.request_id,
            detail: r.detail,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct UserRow {
    id: String,
    email: String,
    role: String,
    professional_id: Option<String>,
    password_hash: String,
    created_at: DateTime<Utc>,
    password_changed_at: DateTime<Utc>,
    disabled_at: Option<DateTime<Utc>>,
    failed_logins: i32,
    locked_until: Option<DateTime<Utc>>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            role: Role::parse(&r.role).ok_or_else(|| corrupt("role", &r.role))?,
            failed_logins: u32::try_from(r.failed_logins).unwrap_or(0),
            id: r.id,
            email: r.email,
            professional_id: r.professional_id,
            password_hash: r.password_hash,
            created_at: r.created_at,
            password_changed_at: r.password_changed_at,
            disabled_at: r.disabled_at,
            locked_until: r.locked_until,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct SessionRow {
    id_digest: String,
    user_id: String,
    csrf_token: String,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
}

impl From<SessionRow> for Session {
    fn from(r: SessionRow) -> Self {
        Session {
            id_digest: r.id_digest,
            user_id: r.user_id,
            csrf_token: r.csrf_token,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            ended_at: r.ended_at,
        }
    }
}

/// Converts rows, stopping at the first unreadable one.
pub fn convert<R, T>(rows: Vec<R>) -> Result<Vec<T>, StoreError>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}
