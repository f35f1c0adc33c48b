//! `POST /api/v1/searches`: the regulator's search — by reason (or profession and skills), patient age, place,
//! delay and modality — answered with ranked, explained candidates, or with advice when nothing fits. Every
//! search is recorded pseudonymously (bands only) for unmet-demand statistics.

use axum::extract::State;
use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::extract::Json;
use super::{ApiError, AppState, new_id};
use crate::domain::Validator;
use crate::domain::access::Caller;
use crate::domain::booking::{age_in_months, check_birth_date};
use crate::domain::geo::{Coordinates, Departement, check_latitude, check_longitude};
use crate::domain::search::{SearchRecord, age_band, delay_band};
use crate::domain::slot::{Modality, Visibility};
use crate::domain::time::{local_rfc3339, utc_rfc3339};
use crate::routing::index::SearchIndex;
use crate::routing::{Outcome, Query, Ranked, explain, french_km, rank};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchPatient {
    /// YYYY-MM-DD; required when the reason has age bounds.
    #[serde(default)]
    birth_date: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationInput {
    #[serde(default)]
    lat: Option<f64>,
    #[serde(default)]
    lon: Option<f64>,
    /// A département code instead of coordinates: its population barycentre is used.
    #[serde(default)]
    departement: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchInput {
    /// A reason of the catalogue; or give `profession` (and `skills`).
    #[serde(default)]
    motif: Option<String>,
    #[serde(default)]
    profession: Option<String>,
    #[serde(default)]
    skills: Vec<String>,
    #[serde(default)]
    patient: Option<SearchPatient>,
    /// Required unless only teleconsultation is asked.
    #[serde(default)]
    location: Option<LocationInput>,
    /// Default: the reason's delay (48 h without a reason).
    #[serde(default)]
    within_hours: Option<u32>,
    #[serde(default)]
    modality: Option<Modality>,
    /// Default: the département's radius from the official SAS table, widened until enough professionals are
    /// in reach. An explicit radius is not widened.
    #[serde(default)]
    radius_km: Option<f64>,
    #[serde(default)]
    limit: Option<usize>,
    /// The patient's usual professional (médecin traitant) or practice: ranked first when available.
    #[serde(default)]
    usual_professional_id: Option<String>,
    #[serde(default)]
    usual_practice_id: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CandidateProfessional {
    id: String,
    name: String,
    profession: String,
    profession_title: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CandidatePractice {
    id: String,
    name: String,
    address: String,
    phone: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CandidateView {
    slot_id: String,
    start: String,
    end: String,
    start_local: String,
    timezone: String,
    modality: Modality,
    visibility: Visibility,
    professional: CandidateProfessional,
    practice: CandidatePractice,
    distance_km: Option<f64>,
    /// Short French phrases to read aloud: "dans 2 h 15", "à 3,2 km", "ordonnance requise".
    reasons: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OverbookingView {
    professional_id: String,
    name: String,
    profession: String,
    practice_name: String,
    phone: Option<String>,
    distance_km: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OtherProfessionView {
    profession: String,
    title: String,
    slots_in_reach: usize,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Advice {
    /// What to tell or try, in French.
    message: String,
    /// The rule that excluded the most slots: delay, distance, age, skills, modality, visibility, profession.
    main_exclusion: Option<String>,
    excluded: std::collections::BTreeMap<String, usize>,
    nearest_beyond_radius: Option<CandidateView>,
    /// The first slot in reach after the delay asked for.
    first_after_delay: Option<CandidateView>,
    other_professions: Vec<OtherProfessionView>,
    /// Professionals in reach who accept an extra patient (surnuméraire), with their practice's phone.
    overbooking: Vec<OverbookingView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SearchAnswer {
    search_id: String,
    radius_km: f64,
    widened: bool,
    within_hours: u32,
    delay_band: &'static str,
    prescription_required: bool,
    candidates: Vec<CandidateView>,
    advice: Option<Advice>,
}

/// The request resolved against the catalogue and the radius table.
struct Resolved {
    query: Query,
    motif: Option<String>,
    within_hours: u32,
    departement: Option<String>,
    age_months: Option<i32>,
}

fn resolve(state: &AppState, input: &SearchInput, now: chrono::DateTime<chrono::Utc>) -> Result<Resolved, ApiError> {
    let mut v = Validator::new();
    let motif = input.motif.as_ref().and_then(|name| {
        let found = state.motifs.get(name);
        if found.is_none() {
            v.push("motif", format!("unknown motif {name:?} (see GET /api/v1/motifs)"));
        }
        found
    });
    let mut professions: Vec<String> = motif.map(|m| m.professions.clone()).unwrap_or_default();
    match (&input.profession, input.motif.is_some()) {
        (Some(p), _) if !state.catalogue.professions.contains_key(p) => {
            v.push("profession", format!("unknown profession {p:?}"))
        }
        (Some(p), true) if motif.is_some() && !professions.contains(p) => {
            v.push("profession", "not one of this reason's professions")
        }
        (Some(p), _) => professions = vec![p.clone()],
        (None, false) => v.push("motif", "give a motif (reason) or a profession"),
        (None, true) => {}
    }
    let mut skills: Vec<String> = motif.map(|m| m.skills.clone()).unwrap_or_default();
    for (i, skill) in input.skills.iter().enumerate() {
        if !state.catalogue.skills.contains_key(skill) {
            v.push(&format!("skills[{i}]"), format!("unknown skill {skill:?}"));
        } else if !skills.contains(skill) {
            skills.push(skill.clone());
        }
    }
    let birth_date = input
        .patient
        .as_ref()
        .and_then(|p| p.birth_date.as_deref())
        .and_then(|raw| v.check("patient.birth_date", check_birth_date(raw, now.date_naive())));
    let (min_age, max_age) = motif.map(|m| (m.min_age_months, m.max_age_months)).unwrap_or((None, None));
    if (min_age.is_some() || max_age.is_some()) && birth_date.is_none() && !v.has("patient.birth_date") {
        v.push("patient.birth_date", "this reason has age bounds: give the patient's birth date");
    }
    let within_hours = input.within_hours.or(motif.map(|m| m.within_hours)).unwrap_or(48);
    if !(1..=720).contains(&within_hours) {
        v.push("within_hours", "must be between 1 and 720");
    }
    let modality = input.modality.or(motif.and_then(|m| m.modality));
    let (location, departement) = resolve_location(state, input.location.as_ref(), &mut v);
    if location.is_none() && modality != Some(Modality::Teleconsultation) && !v.has("location") {
        v.push(
            "location",
            "give the patient's location (lat/lon or département), unless only teleconsultation is asked",
        );
    }
    let max_radius = state.search.max_radius_km;
    if let Some(r) = input.radius_km
        && !(r.is_finite() && r >= 1.0 && r <= max_radius)
    {
        v.push("radius_km", format!("must be between 1 and {max_radius}"));
    }
    let limit = input.limit.unwrap_or(state.search.default_limit);
    if !(1..=state.search.max_limit).contains(&limit) {
        v.push("limit", format!("must be between 1 and {}", state.search.max_limit));
    }
    v.finish()?;
    // The département's default radius is applied once candidates are known (see `apply_departement`).
    let (radius_km, widening_step_km) = match input.radius_km {
        Some(r) => (r, None),
        None => (max_radius, Some(10.0)),
    };
    let age_months = birth_date.map(|b| age_in_months(b, now.date_naive()));
    Ok(Resolved {
        query: Query {
            now,
            professions,
            skills,
            birth_date,
            min_age_months: min_age,
            max_age_months: max_age,
            location,
            modality,
            earliest: now + Duration::minutes(state.search.min_lead_minutes),
            latest: now + Duration::hours(i64::from(within_hours)),
            radius_km,
            widening_step_km,
            max_radius_km: max_radius,
            min_professionals: state.search.min_professionals_in_reach,
            usual_professional_id: input.usual_professional_id.clone(),
            usual_practice_id: input.usual_practice_id.clone(),
            prescription_required: motif.is_some_and(|m| m.prescription_required),
            limit,
            max_per_professional: state.search.max_per_professional,
            recent_bookings: Default::default(),
        },
        motif: input.motif.clone(),
        within_hours,
        departement,
        age_months,
    })
}

/// Settles the patient's département — given, else that of the nearest practice within 30 km where the asked
/// professions have slots (the table has barycentres, not borders), else the nearest barycentre — and, unless the radius was explicit, its default
/// radius and widening step from the official SAS table.
fn apply_departement(state: &AppState, index: &SearchIndex, resolved: &mut Resolved, explicit_radius: bool) {
    let q = &mut resolved.query;
    if resolved.departement.is_none()
        && let Some(location) = q.location
    {
        resolved.departement = index
            .nearest_practice(q, 30.0)
            .map(|p| p.departement.clone())
            .or_else(|| state.radius_table.nearest(location).map(|r| r.departement.clone()));
    }
    if explicit_radius {
        return;
    }
    let row = resolved.departement.as_deref().and_then(|d| state.radius_table.get(d));
    let (radius, step) = row.map(|r| (r.default_radius_km, r.enlargement_km)).unwrap_or((30.0, 10.0));
    q.radius_km = radius.min(q.max_radius_km);
    q.widening_step_km = Some(step);
}

fn resolve_location(
    state: &AppState,
    input: Option<&LocationInput>,
    v: &mut Validator,
) -> (Option<Coordinates>, Option<String>) {
    let Some(input) = input else { return (None, None) };
    match (input.lat, input.lon, &input.departement) {
        (Some(lat), Some(lon), departement) => {
            let lat = v.check("location.lat", check_latitude(lat));
            let lon = v.check("location.lon", check_longitude(lon));
            let departement =
                departement.as_deref().and_then(|d| v.check("location.departement", Departement::parse(d)));
            (lat.zip(lon).map(|(lat, lon)| Coordinates { lat, lon }), departement.map(|d| d.as_str().to_string()))
        }
        (None, None, Some(raw)) => {
            let Some(departement) = v.check("location.departement", Departement::parse(raw)) else {
                return (None, None);
            };
            let barycentre = state.radius_table.get(departement.as_str()).and_then(|r| r.barycentre);
            if barycentre.is_none() {
                v.push("location.departement", "no barycentre is known for this département: give coordinates");
            }
            (barycentre, Some(departement.as_str().to_string()))
        }
        _ => {
            v.push("location", "give lat and lon together, or a département");
            (None, None)
        }
    }
}

fn candidate_view(state: &AppState, r: &Ranked) -> CandidateView {
    let c = &r.candidate;
    CandidateView {
        slot_id: c.slot_id.to_string(),
        start: utc_rfc3339(c.start),
        end: utc_rfc3339(c.end),
        start_local: local_rfc3339(c.start, c.practice.timezone),
        timezone: c.practice.timezone.name().to_string(),
        modality: c.modality,
        visibility: c.visibility,
        professional: CandidateProfessional {
            id: c.professional.id.clone(),
            name: c.professional.name.clone(),
            profession: c.professional.profession.clone(),
            profession_title: state
                .catalogue
                .professions
                .get(&c.professional.profession)
                .map(|d| d.title.clone())
                .unwrap_or_default(),
        },
        practice: CandidatePractice {
            id: c.practice.id.clone(),
            name: c.practice.name.clone(),
            address: c.practice.address.clone(),
            phone: c.practice.phone.clone(),
        },
        distance_km: r.distance_km.map(|km| (km * 10.0).round() / 10.0),
        reasons: r.reasons.clone(),
    }
}

#[utoipa::path(post, path = "/api/v1/searches", tag = "search", request_body = SearchInput, security(("api_key" = [])),
    responses((status = 200, body = SearchAnswer), (status = 403, body = super::error::Problem),
              (status = 422, body = super::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<SearchInput>, ApiError>,
) -> Result<axum::Json<SearchAnswer>, ApiError> {
    if !caller.may_book() {
        return Err(ApiError::Forbidden("Searching for patients is the regulators' work.".into()));
    }
    let Json(input) = body?;
    let now = state.clock.now();
    let mut resolved = resolve(&state, &input, now)?;
    state.search_index.refresh().await?;
    let outcome = {
        // Searching is synchronous work in memory: the read guard is dropped before the next await.
        let index = state.search_index.read();
        apply_departement(&state, &index, &mut resolved, input.radius_km.is_some());
        rank(&index, &mut resolved.query)
    };
    let (resolved, advice) = if outcome.ranked.is_empty() {
        // The answer stays the ranking's (empty); the advice reads everything around to say why — milliseconds
        // where nothing fits within 100 km, against a tenth of one for a search. It runs on a blocking thread so
        // that the searches queued behind it on this worker are not held up that long.
        let state = state.clone();
        let explaining = tokio::task::spawn_blocking(move || {
            let index = state.search_index.read();
            let explained = explain(&index, &mut resolved.query);
            let advice = advice(&state, &index, &resolved, &explained);
            (resolved, Some(advice))
        });
        explaining.await.map_err(|e| ApiError::Internal(format!("the search advice stopped: {e}")))?
    } else {
        (resolved, None)
    };
    let q = &resolved.query;
    let search_id = new_id();
    state.search_log.record(SearchRecord {
        id: search_id.clone(),
        created_at: now,
        api_key_id: caller.key_id.clone(),
        motif: resolved.motif.clone(),
        profession: input.profession.clone().or_else(|| q.professions.first().cloned()),
        age_band: resolved.age_months.map(age_band),
        departement: resolved.departement.clone(),
        delay_band: delay_band(resolved.within_hours),
        modality: q.modality,
        radius_km: outcome.radius_km,
        widened: outcome.widened,
        result_count: outcome.ranked.len(),
    });
    tracing::info!(search_id = %search_id, results = outcome.ranked.len(), widened = outcome.widened, "search");
    Ok(axum::Json(SearchAnswer {
        search_id,
        radius_km: outcome.radius_km,
        widened: outcome.widened,
        within_hours: resolved.within_hours,
        delay_band: delay_band(resolved.within_hours),
        prescription_required: q.prescription_required,
        candidates: outcome.ranked.iter().map(|r| candidate_view(&state, r)).collect(),
        advice,
    }))
}

/// Why nothing fits, and what to try: the main exclusion, the nearest slot beyond the radius, other professions
/// with slots in reach, professionals who accept an extra patient.
fn advice(state: &AppState, index: &SearchIndex, resolved: &Resolved, outcome: &Outcome) -> Advice {
    let q = &resolved.query;
    let mut other_professions = Vec::new();
    for (profession, def) in &state.catalogue.professions {
        if q.professions.contains(profession) {
            continue;
        }
        let alternative = Query {
            professions: vec![profession.clone()],
            skills: Vec::new(),
            widening_step_km: None,
            radius_km: outcome.radius_km,
            ..q.clone()
        };
        let count = index.count_eligible(&alternative, outcome.radius_km, q.latest);
        if count > 0 {
            other_professions.push(OtherProfessionView {
                profession: profession.clone(),
                title: def.title.clone(),
                slots_in_reach: count,
            });
        }
    }
    let main_exclusion = outcome.excluded.first().map(|(rule, _)| rule.as_str().to_string());
    let mut message = match main_exclusion.as_deref() {
        None => "Aucun créneau publié pour cette demande dans ce délai.".to_string(),
        Some("distance") => {
            format!("Aucun créneau à moins de {} ; le plus proche est plus loin.", french_km(outcome.radius_km))
        }
        Some("delay") => "Aucun créneau dans le délai demandé : élargir le délai.".to_string(),
        Some("age") => "Aucun créneau pour l'âge de ce patient.".to_string(),
        Some("skills") => "Aucun professionnel disponible n'a la compétence requise.".to_string(),
        Some("modality") => "Aucun créneau dans cette modalité : essayer une autre modalité.".to_string(),
        Some(_) => "Aucun créneau ne correspond à cette demande.".to_string(),
    };
    if !outcome.overbooking.is_empty() {
        message.push_str(" Des professionnels acceptent un patient en surnombre : les appeler.");
    }
    Advice {
        message,
        main_exclusion,
        excluded: outcome.excluded.iter().map(|(rule, n)| (rule.as_str().to_string(), *n)).collect(),
        nearest_beyond_radius: outcome.nearest_beyond_radius.as_ref().map(|r| candidate_view(state, r)),
        first_after_delay: outcome.first_after_delay.as_ref().map(|r| candidate_view(state, r)),
        other_professions,
        overbooking: outcome
            .overbooking
            .iter()
            .map(|(c, km)| OverbookingView {
                professional_id: c.professional.id.clone(),
                name: c.professional.name.clone(),
                profession: c.professional.profession.clone(),
                practice_name: c.practice.name.clone(),
                phone: c.practice.phone.clone(),
                distance_km: km.map(|km| (km * 10.0).round() / 10.0),
            })
            .collect(),
    }
}
