//! `/api/v1/availability-rules`: recurring availability — create, read, list, replace, delete, preview.
//!
//! Writing a rule materialises its slots over the rolling horizon at once and reports what it created and what
//! it had to skip (overlap with another slot, absence). Replacing or deleting a rule removes its future *free*
//! slots only: held and booked ones are never touched.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::audit::{self, Change};
use super::extract::{Json, Query};
use super::{ApiError, AppState, Lookups, new_id, page};
use crate::availability::{MaterializeReport, horizon_slots, occurrences, report};
use crate::domain::Validator;
use crate::domain::access::{Caller, Scope};
use crate::domain::availability::{AvailabilityRule, RuleInput, SeasonInput, parse_date};
use crate::domain::practice::Practice;
use crate::domain::recurrence::{HolidayPolicy, weekday_name};
use crate::domain::slot::{Modality, Visibility};
use crate::domain::time::{local_rfc3339, utc_rfc3339};
use crate::store::{Page, ScopeFilter, SkipReason, SlotFilter, StoreError};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RuleView {
    id: String,
    professional_id: String,
    practice_id: String,
    weekdays: Vec<&'static str>,
    start_time: String,
    end_time: String,
    slot_minutes: i64,
    modality: Modality,
    visibility: Visibility,
    valid_from: String,
    valid_until: Option<String>,
    public_holidays: HolidayPolicy,
    season: Option<SeasonInput>,
    /// The practice's zone, in which the times are read.
    timezone: String,
    /// Minutes at the end of each window too short for one more slot: they stay unpublished.
    unused_minutes_per_window: i64,
    created_at: String,
    updated_at: String,
}

impl RuleView {
    fn new(rule: &AvailabilityRule, practice: &Practice) -> Self {
        let r = &rule.recurrence;
        RuleView {
            id: rule.id.clone(),
            professional_id: rule.professional_id.clone(),
            practice_id: rule.practice_id.clone(),
            weekdays: r.weekdays.iter().map(|d| weekday_name(*d)).collect(),
            start_time: r.start_time.format("%H:%M").to_string(),
            end_time: r.end_time.format("%H:%M").to_string(),
            slot_minutes: r.slot_minutes,
            modality: rule.modality,
            visibility: rule.visibility,
            valid_from: r.valid_from.to_string(),
            valid_until: r.valid_until.map(|d| d.to_string()),
            public_holidays: r.public_holidays,
            season: r.season.map(|s| SeasonInput { from: s.from.format(), to: s.to.format() }),
            timezone: practice.timezone.name().to_string(),
            unused_minutes_per_window: rule.unused_minutes_per_window(),
            created_at: utc_rfc3339(rule.created_at),
            updated_at: utc_rfc3339(rule.updated_at),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SkippedSlotView {
    start: String,
    end: String,
    start_local: String,
    /// `overlap` (another slot of the professional) or `absence`.
    reason: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MaterializedView {
    created: usize,
    already_present: usize,
    /// Future free slots of the previous version of the rule that were removed (replace only).
    removed: u64,
    skipped: Vec<SkippedSlotView>,
    /// Last local date the horizon covers.
    through: Option<String>,
}

impl MaterializedView {
    fn new(report: MaterializeReport, removed: u64) -> Self {
        MaterializedView {
            created: report.created,
            already_present: report.already_present,
            removed,
            skipped: report
                .skipped
                .iter()
                .map(|(slot, reason)| SkippedSlotView {
                    start: utc_rfc3339(slot.start),
                    end: utc_rfc3339(slot.end),
                    start_local: local_rfc3339(slot.start, slot.timezone),
                    reason: match reason {
                        SkipReason::Overlap => "overlap",
                        SkipReason::Absence => "absence",
                        SkipReason::AlreadyPresent => "already_present",
                        SkipReason::Deactivated => "deactivated",
                    },
                })
                .collect(),
            through: report.through.map(|d| d.to_string()),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RuleWritten {
    #[serde(flatten)]
    rule: RuleView,
    materialized: MaterializedView,
}

/// Permission, existence and attachment checks shared by create and replace; returns the practice.
async fn check_rule_targets(state: &AppState, caller: &Caller, input: &RuleInput) -> Result<Practice, ApiError> {
    if !caller.may_write_slot(&input.professional_id, &input.practice_id) {
        return Err(ApiError::Forbidden(
            "This key may not manage rules for this professional at this practice.".into(),
        ));
    }
    let mut v = Validator::new();
    let professional = state.store.get_professional(&input.professional_id).await?;
    let practice = state.store.get_practice(&input.practice_id).await?;
    match (&professional, &practice) {
        (None, _) => v.push("professional_id", format!("no professional with id {:?}", input.professional_id)),
        (_, None) => v.push("practice_id", format!("no practice with id {:?}", input.practice_id)),
        (Some(pro), Some(prac)) => {
            for (field, message) in pro.publishing_obstacles(prac, input.modality) {
                v.push(field, message);
            }
        }
    }
    v.finish()?;
    Ok(practice.expect("checked above"))
}

#[utoipa::path(post, path = "/api/v1/availability-rules", tag = "availability", request_body = RuleInput,
    security(("api_key" = [])),
    responses((status = 201, body = RuleWritten), (status = 403, body = super::error::Problem),
              (status = 422, body = super::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<RuleInput>, ApiError>,
) -> Result<impl IntoResponse, ApiError> {
    if !caller.may_publish_slots() {
        return Err(ApiError::Forbidden("Regulators do not manage availability rules.".into()));
    }
    let Json(input) = body?;
    let now = state.clock.now();
    // Field rules and target checks are reported together.
    let rule = AvailabilityRule::create(new_id(), input.clone(), &state.slot_rules, now);
    let practice = check_rule_targets(&state, &caller, &input).await;
    let (rule, practice) = merge_errors(rule, practice)?;
    // The rule and its first slots in one transaction: nothing is half-written.
    let (slots, through) = horizon_slots(&rule, &practice, now, state.horizon_days);
    let outcome = state.store.insert_rule(&rule, &slots).await?;
    let report = report(slots, outcome, through);
    tracing::info!(rule_id = %rule.id, created = report.created, skipped = report.skipped.len(), "rule created");
    audit::changed(
        &state,
        &caller,
        Change { action: "rule.create", target_type: "rule", target_ids: &[&rule.id], detail: None },
    )
    .await;
    let location = format!("/api/v1/availability-rules/{}", rule.id);
    let body = RuleWritten { rule: RuleView::new(&rule, &practice), materialized: MaterializedView::new(report, 0) };
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], axum::Json(body)))
}

/// Combines the field validation of a rule with the checks against the store into one 422 (or the 403).
fn merge_errors(
    rule: Result<AvailabilityRule, crate::domain::Error>,
    practice: Result<Practice, ApiError>,
) -> Result<(AvailabilityRule, Practice), ApiError> {
    match (rule, practice) {
        (Ok(rule), Ok(practice)) => Ok((rule, practice)),
        (_, Err(ApiError::Forbidden(m))) => Err(ApiError::Forbidden(m)),
        (Err(crate::domain::Error::Invalid(mut a)), Err(ApiError::Validation(b))) => {
            a.extend(b);
            Err(ApiError::Validation(a))
        }
        (Err(e), _) => Err(e.into()),
        (_, Err(e)) => Err(e),
    }
}

/// Loads a rule the caller may see, with its practice.
async fn visible_rule(state: &AppState, caller: &Caller, id: &str) -> Result<(AvailabilityRule, Practice), ApiError> {
    let rule = state.store.get_rule(id).await?.ok_or_else(|| not_found(id))?;
    let practice = state.store.get_practice(&rule.practice_id).await?.ok_or_else(|| not_found(id))?;
    let visible = match caller.scope() {
        Scope::All => true,
        Scope::Professional(own) => own == rule.professional_id,
        Scope::Practices(mine) => mine.contains(&rule.practice_id),
    };
    if !visible {
        return Err(ApiError::Forbidden("This key may not see this rule.".into()));
    }
    Ok((rule, practice))
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("No availability rule with id {id:?}."))
}

#[utoipa::path(get, path = "/api/v1/availability-rules/{id}", tag = "availability", security(("api_key" = [])),
    params(("id" = String, Path, description = "Rule id")),
    responses((status = 200, body = RuleView), (status = 403, body = super::error::Problem),
              (status = 404, body = super::error::Problem)))]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<RuleView>, ApiError> {
    let (rule, practice) = visible_rule(&state, &caller, &id).await?;
    Ok(axum::Json(RuleView::new(&rule, &practice)))
}

#[utoipa::path(put, path = "/api/v1/availability-rules/{id}", tag = "availability", request_body = RuleInput,
    security(("api_key" = [])), params(("id" = String, Path, description = "Rule id")),
    responses((status = 200, body = RuleWritten), (status = 403, body = super::error::Problem),
              (status = 404, body = super::error::Problem), (status = 422, body = super::error::Problem)))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<RuleInput>, ApiError>,
) -> Result<axum::Json<RuleWritten>, ApiError> {
    let (current, _) = visible_rule(&state, &caller, &id).await?;
    if !caller.may_write_slot(&current.professional_id, &current.practice_id) {
        return Err(ApiError::Forbidden("This key may not change this rule.".into()));
    }
    let Json(input) = body?;
    if input.professional_id != current.professional_id {
        return Err(ApiError::invalid(
            "professional_id",
            "a rule stays with its professional: delete it and create one for the other professional",
        ));
    }
    let now = state.clock.now();
    let rule = AvailabilityRule::create(id.clone(), input.clone(), &state.slot_rules, now);
    let practice = check_rule_targets(&state, &caller, &input).await;
    let (mut rule, practice) = merge_errors(rule, practice)?;
    rule.created_at = current.created_at;
    let (slots, through) = horizon_slots(&rule, &practice, now, state.horizon_days);
    let replaced = state.store.replace_rule(&rule, now, &slots).await.map_err(|e| match e {
        StoreError::NotFound => not_found(&id),
        other => other.into(),
    })?;
    rule.version = replaced.version;
    let removed = replaced.removed;
    let report = report(slots, replaced.outcome, through);
    tracing::info!(rule_id = %rule.id, removed, created = report.created, "rule replaced");
    audit::changed(
        &state,
        &caller,
        Change { action: "rule.replace", target_type: "rule", target_ids: &[&rule.id], detail: None },
    )
    .await;
    Ok(axum::Json(RuleWritten {
        rule: RuleView::new(&rule, &practice),
        materialized: MaterializedView::new(report, removed),
    }))
}

#[utoipa::path(delete, path = "/api/v1/availability-rules/{id}", tag = "availability", security(("api_key" = [])),
    params(("id" = String, Path, description = "Rule id")),
    responses((status = 204, description = "Deleted; its future free slots are gone, held and booked ones stay"),
              (status = 403, body = super::error::Problem), (status = 404, body = super::error::Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (rule, _) = visible_rule(&state, &caller, &id).await?;
    if !caller.may_write_slot(&rule.professional_id, &rule.practice_id) {
        return Err(ApiError::Forbidden("This key may not delete this rule.".into()));
    }
    let removed = state.store.delete_rule(&id, state.clock.now()).await.map_err(|e| match e {
        StoreError::NotFound => not_found(&id),
        other => other.into(),
    })?;
    tracing::info!(rule_id = %id, removed, "rule deleted");
    audit::changed(
        &state,
        &caller,
        Change { action: "rule.delete", target_type: "rule", target_ids: &[&id], detail: None },
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    professional_id: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RuleList {
    rules: Vec<RuleView>,
    #[serde(flatten)]
    page: super::views::PageInfo,
}

#[utoipa::path(get, path = "/api/v1/availability-rules", tag = "availability", security(("api_key" = [])),
    params(ListParams),
    responses((status = 200, body = RuleList), (status = 403, body = super::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<RuleList>, ApiError> {
    let page = page(params.limit, params.offset)?;
    let filter = scoped_filter(&caller, params.professional_id, page.clone())?;
    let rules = state.store.list_rules(&filter).await?;
    let mut views = Vec::with_capacity(rules.len());
    let mut lookups = Lookups::default();
    for rule in &rules {
        if let Some(practice) = lookups.practice(&state, &rule.practice_id).await? {
            views.push(RuleView::new(rule, &practice));
        }
    }
    Ok(axum::Json(RuleList { page: super::views::PageInfo::after(page.limit, page.offset, rules.len()), rules: views }))
}

/// Narrows a list to what the caller may see: a professional key its own, a publisher key its practices'.
pub fn scoped_filter(caller: &Caller, professional_id: Option<String>, page: Page) -> Result<ScopeFilter, ApiError> {
    match caller.scope() {
        Scope::All => Ok(ScopeFilter { professional_id, within_practices_of_key: None, page }),
        Scope::Professional(own) => {
            if professional_id.as_ref().is_some_and(|asked| *asked != own) {
                return Err(ApiError::Forbidden("A professional key sees its own records only.".into()));
            }
            Ok(ScopeFilter { professional_id: Some(own), within_practices_of_key: None, page })
        }
        Scope::Practices(_) => {
            Ok(ScopeFilter { professional_id, within_practices_of_key: Some(caller.key_id.clone()), page })
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PreviewParams {
    /// First local date, YYYY-MM-DD.
    from: String,
    /// Last local date (inclusive), YYYY-MM-DD.
    to: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PreviewSlot {
    start: String,
    end: String,
    start_local: String,
    end_local: String,
    /// Whether this slot exists as a live (free, held or booked) slot of the rule. Within the horizon, `false`
    /// means it was skipped (overlap with another slot, absence) or withdrawn.
    stored: bool,
    /// The stored slot's status (`withdrawn` included), if one exists.
    status: Option<crate::domain::slot::SlotStatus>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Preview {
    rule_id: String,
    timezone: String,
    from: String,
    to: String,
    count: usize,
    slots: Vec<PreviewSlot>,
}

#[utoipa::path(get, path = "/api/v1/availability-rules/{id}/preview", tag = "availability", security(("api_key" = [])),
    params(("id" = String, Path, description = "Rule id"), PreviewParams),
    responses((status = 200, body = Preview), (status = 403, body = super::error::Problem),
              (status = 404, body = super::error::Problem), (status = 422, body = super::error::Problem)))]
pub async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(params): Query<PreviewParams>,
) -> Result<axum::Json<Preview>, ApiError> {
    let (rule, practice) = visible_rule(&state, &caller, &id).await?;
    let mut v = Validator::new();
    let from = v.check("from", parse_date(&params.from));
    let to = v.check("to", parse_date(&params.to));
    if let (Some(from), Some(to)) = (from, to) {
        if to < from {
            v.push("to", "must not be before from");
        } else if (to - from).num_days() + 1 > state.max_preview_days {
            v.push("to", format!("a preview covers at most {} days", state.max_preview_days));
        }
    }
    v.finish()?;
    let (from, to) = (from.expect("checked"), to.expect("checked"));
    let occurrences = occurrences(&rule, &practice, from, to);
    let stored: std::collections::HashMap<_, _> = match (occurrences.first(), occurrences.last()) {
        (Some(first), Some(last)) => {
            let filter = SlotFilter {
                rule_id: Some(rule.id.clone()),
                from: Some(first.start),
                to: Some(last.start + Duration::seconds(1)),
                page: Page { limit: occurrences.len() as i64, offset: 0 },
                ..SlotFilter::default()
            };
            state.store.list_slots(&filter).await?.into_iter().map(|s| (s.start, s.status)).collect()
        }
        _ => Default::default(),
    };
    let zone = practice.timezone;
    let slots: Vec<PreviewSlot> = occurrences
        .iter()
        .map(|o| PreviewSlot {
            start: utc_rfc3339(o.start),
            end: utc_rfc3339(o.end),
            start_local: local_rfc3339(o.start, zone),
            end_local: local_rfc3339(o.end, zone),
            stored: stored.get(&o.start).is_some_and(|s| *s != crate::domain::slot::SlotStatus::Withdrawn),
            status: stored.get(&o.start).copied(),
        })
        .collect();
    Ok(axum::Json(Preview {
        rule_id: rule.id,
        timezone: zone.name().to_string(),
        from: from.to_string(),
        to: to.to_string(),
        count: slots.len(),
        slots,
    }))
}
