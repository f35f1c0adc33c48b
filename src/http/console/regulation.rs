//! The regulator's pages, in the order of a call: the intake form → ranked cards → "Réserver" takes a hold (with
//! its countdown) and asks for the patient → the booking → its confirmation with the messages' statuses (the page
//! refreshes itself while messages are on their way) → the day's bookings, each with its cancel form. When nothing
//! fits, the search's advice is shown with its options.
//!
//! Every action goes through the API's own handlers with the user as caller: same checks, same audit trail.
//! Patient data travels in form bodies only, never in an address (addresses end up in logs and histories).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, Months, NaiveDate, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Digest;

use super::layout::{self, alert, button_post, form_post};
use super::{ConsoleUser, api_input, api_input_query, forbidden_form, response_json, to_value};
use crate::domain::access::Role;
use crate::http::extract::{Json, RawJson};
use crate::http::{ApiError, AppState, bookings, holds, searches};

/// The console reads days on the clock of metropolitan France (overseas practices show their own local times
/// on each card).
pub const CONSOLE_ZONE: chrono_tz::Tz = chrono_tz::Europe::Paris;

/// The intake form's fields (also re-shown, filled, above the results).
#[derive(Debug, Default, Deserialize)]
pub struct SearchForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    motif: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    age: String,
    #[serde(default)]
    age_unit: String,
    #[serde(default)]
    departement: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
    #[serde(default)]
    within_hours: String,
    #[serde(default)]
    modality: String,
}

fn may_regulate(me: &ConsoleUser) -> bool {
    matches!(me.user.role, Role::Regulator | Role::Admin)
}

pub async fn intake(State(state): State<AppState>, me: ConsoleUser) -> Response {
    if !may_regulate(&me) {
        return me.refuse();
    }
    layout::page(&me, "Nouvelle recherche", intake_form(&state, &me, &SearchForm::default()))
}

fn selected(current: &str, value: &str) -> bool {
    current == value
}

fn intake_form(state: &AppState, me: &ConsoleUser, form: &SearchForm) -> Markup {
    let delays = [
        ("", "Délai habituel du motif"),
        ("2", "Dans les 2 heures"),
        ("4", "Dans les 4 heures"),
        ("8", "Dans les 8 heures"),
        ("12", "Dans les 12 heures"),
        ("24", "Dans les 24 heures"),
        ("48", "Dans les 48 heures"),
        ("72", "Dans les 72 heures"),
    ];
    let modalities = [
        ("", "Indifférent"),
        ("in_person", "Au cabinet"),
        ("home_visit", "À domicile"),
        ("teleconsultation", "Téléconsultation"),
    ];
    let fields = html! {
        label for="motif" { "Motif" }
        select id="motif" name="motif" required autofocus {
            option value="" { "— Choisir un motif —" }
            @for (code, motif) in state.motifs.iter() {
                option value=(code) selected[selected(&form.motif, code)] { (motif.label) }
            }
        }
        div.row {
            div {
                label for="birth_date" { "Date de naissance du patient" }
                input id="birth_date" name="birth_date" type="date" value=(form.birth_date);
            }
            div {
                label for="age" { "ou âge" }
                input id="age" name="age" type="number" min="0" max="130" inputmode="numeric" value=(form.age);
            }
            div {
                label for="age_unit" { "Unité" }
                select id="age_unit" name="age_unit" {
                    option value="years" selected[form.age_unit != "months"] { "ans" }
                    option value="months" selected[form.age_unit == "months"] { "mois" }
                }
            }
        }
        div.row {
            div {
                label for="departement" { "Département (ex. 76, 2A, 974)" }
                input id="departement" name="departement" type="text" maxlength="3" value=(form.departement);
            }
            div {
                label for="lat" { "ou latitude" }
                input id="lat" name="lat" type="text" inputmode="decimal" value=(form.lat);
            }
            div {
                label for="lon" { "longitude" }
                input id="lon" name="lon" type="text" inputmode="decimal" value=(form.lon);
            }
        }
        div.row {
            div {
                label for="within_hours" { "Délai" }
                select id="within_hours" name="within_hours" {
                    @for (value, label) in delays {
                        option value=(value) selected[selected(&form.within_hours, value)] { (label) }
                    }
                }
            }
            div {
                label for="modality" { "Modalité" }
                select id="modality" name="modality" {
                    @for (value, label) in modalities {
                        option value=(value) selected[selected(&form.modality, value)] { (label) }
                    }
                }
            }
        }
    };
    form_post("/console/regulation/search", &me.session.csrf_token, fields, "Chercher")
}

/// The patient's birth date for the search: given, or estimated from an age (the middle of that month or year of
/// age, so the reason's age limits apply as they would to the real date). `true` when it is an estimate: an
/// estimate serves the search only, never the booking.
fn birth_date_of(form: &SearchForm, today: NaiveDate) -> Result<Option<(String, bool)>, String> {
    if !form.birth_date.trim().is_empty() {
        return Ok(Some((form.birth_date.trim().to_string(), false)));
    }
    let age = form.age.trim();
    if age.is_empty() {
        return Ok(None);
    }
    let n: u32 = age.parse().map_err(|_| "L'âge est un nombre entier (en mois ou en années).".to_string())?;
    let (months, half) = if form.age_unit == "months" { (n, 15) } else { (n.saturating_mul(12), 182) };
    if months > 130 * 12 {
        return Err("Cet âge n'est pas plausible.".into());
    }
    today
        .checked_sub_months(Months::new(months))
        .map(|d| Some(((d - Duration::days(half)).to_string(), true)))
        .ok_or_else(|| "Cet âge n'est pas plausible.".to_string())
}

/// "7 mois", "3 ans": the age as the regulator typed it.
fn age_hint(form: &SearchForm) -> String {
    match (form.age.trim(), form.age_unit.as_str()) {
        ("", _) => String::new(),
        (n, "months") => format!("{n} mois"),
        ("1", _) => "1 an".into(),
        (n, _) => format!("{n} ans"),
    }
}

/// The search request, as the API takes it.
fn search_input(form: &SearchForm, birth_date: Option<String>) -> Value {
    let mut input = json!({ "motif": form.motif.trim() });
    if let Some(birth_date) = birth_date {
        input["patient"] = json!({ "birth_date": birth_date });
    }
    let (lat, lon) = (form.lat.trim().replace(',', "."), form.lon.trim().replace(',', "."));
    if !lat.is_empty() || !lon.is_empty() {
        input["location"] = json!({ "lat": lat.parse::<f64>().ok(), "lon": lon.parse::<f64>().ok() });
    } else if !form.departement.trim().is_empty() {
        input["location"] = json!({ "departement": form.departement.trim().to_uppercase() });
    }
    if let Ok(hours) = form.within_hours.parse::<u32>() {
        input["within_hours"] = json!(hours);
    }
    if !form.modality.is_empty() {
        input["modality"] = json!(form.modality);
    }
    input
}

pub async fn search(State(state): State<AppState>, me: ConsoleUser, Form(form): Form<SearchForm>) -> Response {
    if !may_regulate(&me) {
        return me.refuse();
    }
    if !me.form_is_ours(&form.csrf) {
        return forbidden_form();
    }
    let today = state.clock.now().with_timezone(&CONSOLE_ZONE).date_naive();
    let again = |message: &str| {
        let body = html! { (alert(message)) (intake_form(&state, &me, &form)) };
        layout::with_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY, Some(&me), "Nouvelle recherche", body)
    };
    if form.motif.trim().is_empty() {
        return again("Choisissez un motif.");
    }
    let birth_date = match birth_date_of(&form, today) {
        Ok(birth_date) => birth_date,
        Err(message) => return again(&message),
    };
    let input = search_input(&form, birth_date.as_ref().map(|(date, _)| date.clone()));
    let answer = match api_input(input) {
        Ok(input) => searches::create(State(state.clone()), me.caller.clone(), Ok(Json(input))).await,
        Err(error) => Err(error),
    };
    let answer = match answer {
        Ok(axum::Json(answer)) => to_value(answer),
        Err(error) => return again(&layout::french_error(&error).1),
    };
    let context = HoldContext {
        search_id: answer["search_id"].as_str().unwrap_or_default().to_string(),
        motif: form.motif.trim().to_string(),
        birth_date: birth_date.filter(|(_, estimated)| !estimated).map(|(date, _)| date).unwrap_or_default(),
        age_hint: age_hint(&form),
    };
    let body = html! {
        (intake_form(&state, &me, &form))
        (results(&me, &answer, &context))
    };
    layout::page(&me, "Résultats", body)
}

/// What a card's "Réserver" carries to the next step: the birth date only if it was typed (an age only gives the
/// hint shown beside the date to ask for).
struct HoldContext {
    search_id: String,
    motif: String,
    birth_date: String,
    age_hint: String,
}

fn results(me: &ConsoleUser, answer: &Value, context: &HoldContext) -> Markup {
    let candidates = answer["candidates"].as_array().cloned().unwrap_or_default();
    html! {
        h2 { (candidates.len()) " créneau(x) dans un rayon de " (km(&answer["radius_km"])) " km"
            @if answer["widened"] == true { " (rayon élargi)" } }
        @if answer["prescription_required"] == true {
            p.warn { "Ce motif demande une ordonnance : rappelez-la au patient." }
        }
        @for (rank, candidate) in candidates.iter().enumerate() {
            (card(me, rank + 1, candidate, context))
        }
        @if let Some(advice) = answer.get("advice").filter(|a| !a.is_null()) {
            (advice_block(me, advice, context))
        }
    }
}

fn km(value: &Value) -> String {
    value.as_f64().map(|km| format!("{km:.1}").replace('.', ",")).unwrap_or_else(|| "—".into())
}

fn card(me: &ConsoleUser, rank: usize, c: &Value, context: &HoldContext) -> Markup {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let fields = html! {
        input type="hidden" name="slot_id" value=(text(&c["slot_id"]));
        input type="hidden" name="search_id" value=(context.search_id);
        input type="hidden" name="motif" value=(context.motif);
        input type="hidden" name="birth_date" value=(context.birth_date);
        input type="hidden" name="age_hint" value=(context.age_hint);
    };
    html! {
        section.card aria-labelledby=(format!("c{rank}")) {
            h2 id=(format!("c{rank}")) {
                (rank) ". " span.when { (layout::local_when(&text(&c["start_local"]))) }
            }
            p {
                strong { (text(&c["professional"]["name"])) } " — " (text(&c["professional"]["profession_title"]))
                " · " (layout::modality_label(c["modality"].as_str().unwrap_or_default()))
            }
            p { (text(&c["practice"]["name"])) ", " (text(&c["practice"]["address"]))
                @if let Some(phone) = c["practice"]["phone"].as_str() { " · " (phone) } }
            @if let Some(reasons) = c["reasons"].as_array() {
                ul { @for reason in reasons { li { (reason.as_str().unwrap_or_default()) } } }
            }
            (form_post("/console/regulation/hold", &me.session.csrf_token, fields, "Réserver"))
        }
    }
}

fn advice_block(me: &ConsoleUser, advice: &Value, context: &HoldContext) -> Markup {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let options: Vec<(&str, &Value)> = [
        ("Le plus proche au-delà du rayon", &advice["nearest_beyond_radius"]),
        ("Le premier après le délai demandé", &advice["first_after_delay"]),
    ]
    .into_iter()
    .filter(|(_, c)| !c.is_null())
    .collect();
    html! {
        section.card role="status" {
            h2 { "Aucun créneau ne correspond" }
            p { (text(&advice["message"])) }
            @for (i, (title, candidate)) in options.iter().enumerate() {
                h3 { (title) }
                (card(me, i + 1, candidate, context))
            }
            @if let Some(others) = advice["other_professions"].as_array().filter(|o| !o.is_empty()) {
                h3 { "Autres professions avec des créneaux" }
                ul { @for other in others { li { (text(&other["title"])) " : " (other["slots_in_reach"]) " créneau(x)" } } }
            }
            @if let Some(extra) = advice["overbooking"].as_array().filter(|o| !o.is_empty()) {
                h3 { "Acceptent un patient en plus (surnuméraire) — appeler le cabinet" }
                ul { @for p in extra {
                    li { (text(&p["name"])) ", " (text(&p["practice_name"]))
                        @if let Some(phone) = p["phone"].as_str() { " · " (phone) } }
                } }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct HoldForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    slot_id: String,
    #[serde(default)]
    search_id: String,
    #[serde(default)]
    motif: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    age_hint: String,
}

/// "Réserver": the slot is held for the regulator while they take the patient's details. A double click holds
/// once: the search and the slot name the request.
pub async fn hold(State(state): State<AppState>, me: ConsoleUser, Form(form): Form<HoldForm>) -> Response {
    if !may_regulate(&me) {
        return me.refuse();
    }
    if !me.form_is_ours(&form.csrf) {
        return forbidden_form();
    }
    let body = json!({ "slot_id": form.slot_id }).to_string();
    let mut headers = HeaderMap::new();
    let key = format!("console-hold-{}-{}", form.search_id, form.slot_id);
    if let Ok(key) = key.parse().map_err(|_| ()).and_then(|k| if key.len() <= 255 { Ok(k) } else { Err(()) }) {
        headers.insert(crate::http::idempotency::HEADER, key);
    }
    let response = settled(|| {
        holds::create(State(state.clone()), me.caller.clone(), headers.clone(), Ok(RawJson(body.clone().into())))
    })
    .await;
    let hold = match response {
        Ok(response) => response_json(response).await,
        Err(error) => return me.failed(&error),
    };
    let patient = PatientForm {
        hold_id: hold["id"].as_str().unwrap_or_default().to_string(),
        search_id: form.search_id,
        motif: form.motif,
        birth_date: form.birth_date,
        age_hint: form.age_hint,
        ..PatientForm::default()
    };
    patient_page(&state, &me, &hold, &patient, None).await
}

#[derive(Debug, Default, Deserialize)]
pub struct PatientForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    hold_id: String,
    #[serde(default)]
    search_id: String,
    #[serde(default)]
    motif: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    age_hint: String,
}

/// The held slot, its countdown, and the patient form.
async fn patient_page(
    state: &AppState,
    me: &ConsoleUser,
    hold: &Value,
    form: &PatientForm,
    error: Option<&str>,
) -> Response {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let slot = &hold["slot"];
    let professional = state.store.get_professional(&text(&slot["professional_id"])).await.ok().flatten();
    let practice = state.store.get_practice(&text(&slot["practice_id"])).await.ok().flatten();
    let expires = chrono::DateTime::parse_from_rfc3339(&text(&hold["expires_at"])).map(|t| t.with_timezone(&Utc));
    let seconds_left = expires.map(|t| (t - state.clock.now()).num_seconds().max(0)).unwrap_or(0);
    let motif_label = state.motifs.get(&form.motif).map(|m| m.label.clone()).unwrap_or_default();
    let fields = html! {
        input type="hidden" name="hold_id" value=(form.hold_id);
        input type="hidden" name="search_id" value=(form.search_id);
        input type="hidden" name="motif" value=(form.motif);
        input type="hidden" name="age_hint" value=(form.age_hint);
        div.row {
            div { label for="first_name" { "Prénom" }
                input id="first_name" name="first_name" required autofocus autocomplete="off" value=(form.first_name); }
            div { label for="last_name" { "Nom" }
                input id="last_name" name="last_name" required autocomplete="off" value=(form.last_name); }
        }
        label for="birth_date" { "Date de naissance"
            @if !form.age_hint.is_empty() && form.birth_date.is_empty() { " (âge indiqué : " (form.age_hint) " — demandez la date exacte)" } }
        input id="birth_date" name="birth_date" type="date" required value=(form.birth_date);
        div.row {
            div { label for="phone" { "Téléphone portable (pour le SMS)" }
                input id="phone" name="phone" type="tel" autocomplete="off" value=(form.phone); }
            div { label for="email" { "Email" }
                input id="email" name="email" type="email" autocomplete="off" value=(form.email); }
        }
        label for="note" { "Note pour le professionnel (facultatif)" }
        textarea id="note" name="note" rows="3" maxlength="1000" { (form.note) }
    };
    let body = html! {
        @if let Some(error) = error { (alert(error)) }
        section.card {
            p.when { (layout::local_when(&text(&slot["start_local"]))) }
            @if let Some(p) = &professional { p { strong { (p.first_name) " " (p.last_name) } " — " (profession_title(state, &p.profession)) } }
            @if let Some(p) = &practice { p { (p.name) ", " (p.address) ", " (p.postal_code) " " (p.commune) } }
            p { "Motif : " (motif_label) }
            p.countdown { "Créneau bloqué pour vous : "
                strong data-countdown-seconds=(seconds_left) { (seconds_left / 60) " min" }
                " (jusqu'à " (layout::local_time(&text(&hold["expires_at_local"]))) ")" }
        }
        (form_post("/console/regulation/book", &me.session.csrf_token, fields, "Confirmer le rendez-vous"))
        (button_post(&format!("/console/regulation/holds/{}/release", form.hold_id), &me.session.csrf_token, html! {}, "Libérer le créneau"))
    };
    layout::page(me, "Réservation", body)
}

/// Runs an idempotent request of the console again while the same request, sent a moment before (a double
/// click), is still being processed, so the second click gets the first one's answer instead of an error.
async fn settled<F, Fut>(mut request: F) -> Result<Response, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Response, ApiError>>,
{
    for _ in 0..40 {
        match request().await {
            Err(ApiError::State { code: "idempotency_key_in_progress", .. }) => {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            other => return other,
        }
    }
    request().await
}

pub fn profession_title(state: &AppState, profession: &str) -> String {
    state.catalogue.professions.get(profession).map(|d| d.title.clone()).unwrap_or_else(|| profession.to_string())
}

pub async fn release(
    State(state): State<AppState>,
    me: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<super::CsrfForm>,
) -> Response {
    if !may_regulate(&me) {
        return me.refuse();
    }
    me.act(&form.csrf, "/console/regulation", holds::release(State(state), me.caller.clone(), Path(id))).await
}

/// "Confirmer": the booking, made once even if the button is pressed twice (the hold names the request).
pub async fn book(State(state): State<AppState>, me: ConsoleUser, Form(form): Form<PatientForm>) -> Response {
    if !may_regulate(&me) {
        return me.refuse();
    }
    if !me.form_is_ours(&form.csrf) {
        return forbidden_form();
    }
    let optional = |v: &str| if v.trim().is_empty() { Value::Null } else { json!(v.trim()) };
    let body = json!({
        "hold_id": form.hold_id,
        "motif": form.motif,
        "search_id": optional(&form.search_id),
        "note": optional(&form.note),
        "patient": {
            "first_name": form.first_name.trim(),
            "last_name": form.last_name.trim(),
            "birth_date": form.birth_date.trim(),
            "phone": optional(&form.phone),
            "email": optional(&form.email),
        },
    });
    // The same form sent twice (a double click, a reload) replays the first answer; a corrected form is a new
    // request.
    let body = body.to_string();
    let fingerprint = hex::encode(&sha2::Sha256::digest(body.as_bytes())[..8]);
    let mut headers = HeaderMap::new();
    if let Ok(key) = format!("console-{}-{fingerprint}", form.hold_id).parse() {
        headers.insert(crate::http::idempotency::HEADER, key);
    }
    let response = settled(|| {
        bookings::create(State(state.clone()), me.caller.clone(), headers.clone(), Ok(RawJson(body.clone().into())))
    })
    .await;
    match response {
        Ok(response) if response.status().is_success() => {
            let booking = response_json(response).await;
            Redirect::to(&format!("/console/regulation/bookings/{}", booking["id"].as_str().unwrap_or_default()))
                .into_response()
        }
        Ok(response) => {
            // A stored refusal replayed: say it as it was said the first time.
            let status = response.status();
            let problem = response_json(response).await;
            let errors: Option<Vec<crate::domain::FieldError>> = serde_json::from_value(problem["errors"].clone()).ok();
            let message = layout::french_problem(
                problem["code"].as_str().unwrap_or_default(),
                problem["detail"].as_str().unwrap_or_default(),
                errors.as_deref(),
            );
            layout::with_status(status, Some(&me), "Action impossible", html! { (alert(&message)) })
        }
        Err(error @ ApiError::Validation(_)) => {
            // The hold stands: the form comes back, filled, with what to fix.
            let hold = state.store.get_hold(&form.hold_id).await.ok().flatten();
            let Some(hold) = hold else { return me.failed(&error) };
            let slot = state.store.get_slot(&hold.slot_id).await.ok().flatten();
            let Some(slot) = slot else { return me.failed(&error) };
            let hold_value = json!({
                "expires_at": crate::domain::time::utc_rfc3339(hold.expires_at),
                "expires_at_local": crate::domain::time::local_rfc3339(hold.expires_at, slot.timezone),
                "slot": to_value(crate::http::views::SlotView::from(&slot)),
            });
            let message = layout::french_error(&error).1;
            let mut response = patient_page(&state, &me, &hold_value, &form, Some(&message)).await;
            *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            response
        }
        Err(error) => me.failed(&error),
    }
}

/// A booking as the regulator confirms it to the patient: details, and where each message stands.
pub async fn confirmation(State(state): State<AppState>, me: ConsoleUser, Path(id): Path<String>) -> Response {
    if !may_regulate(&me) {
        return me.refuse();
    }
    let booking = match bookings::get_one(State(state.clone()), me.caller.clone(), Path(id.clone())).await {
        Ok(axum::Json(view)) => to_value(view),
        Err(error) => return me.failed(&error),
    };
    let messages = match bookings::notifications(State(state.clone()), me.caller.clone(), Path(id.clone())).await {
        Ok(axum::Json(list)) => to_value(list),
        Err(error) => return me.failed(&error),
    };
    let messages = messages.as_array().cloned().unwrap_or_default();
    // While the confirmations are on their way, for the first minutes only: each reload is a view of the patient
    // in the audit trail, and an outage may last hours (the failed-messages page follows those).
    let booked_at = chrono::DateTime::parse_from_rfc3339(booking["created_at"].as_str().unwrap_or_default());
    let recent = booked_at.is_ok_and(|t| state.clock.now() - t.with_timezone(&Utc) < Duration::minutes(2));
    let moving = recent && messages.iter().any(|m| m["status"] == "pending" && m["kind"] == "confirmation");
    let body = html! {
        @if booking["status"] == "confirmed" { p.ok role="status" { "Rendez-vous confirmé." } }
        @else { p.warn role="status" { "Rendez-vous " (layout::booking_status_label(booking["status"].as_str().unwrap_or_default())) "." } }
        (booking_summary(&state, &booking))
        h2 { "Messages" }
        (messages_table(&messages))
        @if moving { p.muted { "Cette page se met à jour toute seule pendant l'envoi." } }
        p { a href="/console/regulation" { "Nouvelle recherche" } " · " a href="/console/regulation/bookings" { "Réservations du jour" } }
    };
    if moving { layout::refreshing(&me, "Confirmation", body, 5) } else { layout::page(&me, "Confirmation", body) }
}

/// When, who, where, for whom.
pub fn booking_summary(state: &AppState, booking: &Value) -> Markup {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let patient = &booking["patient"];
    html! {
        dl {
            dt { "Quand" } dd.when { (layout::local_when(&text(&booking["slot"]["start_local"]))) }
            dt { "Professionnel" } dd { (text(&booking["professional"]["name"])) " — "
                (profession_title(state, booking["professional"]["profession"].as_str().unwrap_or_default())) }
            dt { "Lieu" } dd { (text(&booking["practice"]["name"])) ", " (text(&booking["practice"]["address"])) " · "
                (layout::modality_label(booking["slot"]["modality"].as_str().unwrap_or_default())) }
            dt { "Patient" }
            @if patient.is_null() { dd.muted { "Données effacées (durée de conservation écoulée)" } }
            @else { dd { (text(&patient["first_name"])) " " (text(&patient["last_name"])) ", né(e) le " (text(&patient["birth_date"])) } }
            dt { "Motif" } dd { (state.motifs.get(booking["motif"].as_str().unwrap_or_default()).map(|m| m.label.clone()).unwrap_or_default()) }
        }
    }
}

fn messages_table(messages: &[Value]) -> Markup {
    let channel = |v: &Value| if v == "sms" { "SMS" } else { "Email" };
    let recipient = |v: &Value| if v == "patient" { "Patient" } else { "Professionnel" };
    let kind = |v: &Value| match v.as_str() {
        Some("confirmation") => "confirmation",
        Some("reminder") => "rappel",
        Some("cancellation") => "annulation",
        _ => "",
    };
    html! {
        @if messages.is_empty() { p.muted { "Aucun message : ni email ni portable." } }
        @else {
            table {
                thead { tr { th { "Destinataire" } th { "Canal" } th { "Message" } th { "État" } } }
                tbody { @for m in messages {
                    tr { td { (recipient(&m["recipient"])) } td { (channel(&m["channel"])) } td { (kind(&m["kind"])) }
                        td { (layout::delivery_label(m["status"].as_str().unwrap_or_default())) } }
                } }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct DayQuery {
    pub day: Option<String>,
}

/// The bounds (UTC) of a day on a zone's clock (the console's, or a practice's), from `?day=YYYY-MM-DD` (default
/// today there).
pub fn day_bounds(
    state: &AppState,
    raw: Option<&str>,
    zone: chrono_tz::Tz,
) -> Result<(NaiveDate, String, String), String> {
    let today = state.clock.now().with_timezone(&zone).date_naive();
    let day = match raw.filter(|d| !d.is_empty()) {
        None => today,
        Some(raw) => {
            NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| "Date invalide (AAAA-MM-JJ).".to_string())?
        }
    };
    let start = crate::domain::time::local_day_start(day, zone);
    let end = crate::domain::time::local_day_start(day.succ_opt().unwrap_or(day), zone);
    Ok((day, crate::domain::time::utc_rfc3339(start), crate::domain::time::utc_rfc3339(end)))
}

/// Links to the previous and next days.
pub fn day_links(path: &str, day: NaiveDate) -> Markup {
    let (before, after) = (day.pred_opt().unwrap_or(day), day.succ_opt().unwrap_or(day));
    html! {
        p.noprint { a href=(format!("{path}?day={before}")) { "← " (layout::french_day(before)) } " · "
          a href=(format!("{path}?day={after}")) { (layout::french_day(after)) " →" } }
    }
}

/// The day's bookings (all professionals), each with a cancel form while it is to come.
pub async fn day(State(state): State<AppState>, me: ConsoleUser, Query(query): Query<DayQuery>) -> Response {
    if !may_regulate(&me) {
        return me.refuse();
    }
    let (day, from, to) = match day_bounds(&state, query.day.as_deref(), CONSOLE_ZONE) {
        Ok(bounds) => bounds,
        Err(message) => return me.failed(&ApiError::invalid("day", message)),
    };
    let list = bookings_between(&state, &me, None, &from, &to).await;
    let list = match list {
        Ok(list) => list,
        Err(error) => return me.failed(&error),
    };
    let now = crate::domain::time::utc_rfc3339(state.clock.now());
    let body = html! {
        (day_links("/console/regulation/bookings", day))
        @if list.is_empty() { p { "Aucune réservation ce jour." } }
        @for booking in &list {
            section.card {
                (booking_summary(&state, booking))
                p { "État : " (layout::booking_status_label(booking["status"].as_str().unwrap_or_default())) " · "
                    a href=(format!("/console/regulation/bookings/{}", booking["id"].as_str().unwrap_or_default())) { "Messages" } }
                @if booking["status"] == "confirmed" && booking["slot"]["start"].as_str().unwrap_or_default() > now.as_str() {
                    (form_post(
                        &format!("/console/regulation/bookings/{}/cancel", booking["id"].as_str().unwrap_or_default()),
                        &me.session.csrf_token,
                        html! { label for=(format!("reason-{}", booking["id"].as_str().unwrap_or_default())) { "Motif d'annulation (facultatif)" }
                                input id=(format!("reason-{}", booking["id"].as_str().unwrap_or_default())) name="reason" maxlength="500"; },
                        "Annuler ce rendez-vous",
                    ))
                }
            }
        }
    };
    layout::page(&me, &format!("Réservations du {}", layout::french_day(day)), body)
}

/// Bookings whose slot starts in [from, to), every page of them, through the API's list (which records each
/// view of a patient): a busy day is never cut short without a word.
pub async fn bookings_between(
    state: &AppState,
    me: &ConsoleUser,
    professional_id: Option<&str>,
    from: &str,
    to: &str,
) -> Result<Vec<Value>, ApiError> {
    let mut all = Vec::new();
    let mut offset = Some(0);
    while let Some(at) = offset {
        let mut query = json!({ "from": from, "to": to, "limit": BOOKINGS_PAGE, "offset": at });
        if let Some(id) = professional_id {
            query["professional_id"] = json!(id);
        }
        let params = api_input_query(&query)?;
        let axum::Json(list) = bookings::list(State(state.clone()), me.caller.clone(), params).await?;
        let list = to_value(list);
        all.extend(list["bookings"].as_array().cloned().unwrap_or_default());
        offset = list["next_offset"].as_i64();
    }
    all.sort_by(|a, b| a["slot"]["start"].as_str().cmp(&b["slot"]["start"].as_str()));
    Ok(all)
}

/// Bookings read per call to the API while a day is listed.
const BOOKINGS_PAGE: i64 = 500;

#[derive(Debug, Deserialize)]
pub struct CancelForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

pub async fn cancel(
    State(state): State<AppState>,
    me: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<CancelForm>,
) -> Response {
    if !may_regulate(&me) {
        return me.refuse();
    }
    let reason = form.reason.trim();
    let back = format!("/console/regulation/bookings/{id}");
    let cancelled = async {
        let input = api_input(json!({ "reason": if reason.is_empty() { Value::Null } else { json!(reason) } }))?;
        bookings::cancel(State(state.clone()), me.caller.clone(), Path(id), Ok(Json(input))).await
    };
    me.act(&form.csrf, &back, cancelled).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_age_becomes_a_birth_date_in_the_middle_of_that_age() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let form = |age: &str, unit: &str| SearchForm { age: age.into(), age_unit: unit.into(), ..Default::default() };
        let estimate = |date: &str| Some((date.to_string(), true));
        assert_eq!(birth_date_of(&form("7", "months"), today).unwrap(), estimate("2026-04-09"));
        assert_eq!(birth_date_of(&form("2", "years"), today).unwrap(), estimate("2024-05-26"));
        assert_eq!(birth_date_of(&form("", ""), today).unwrap(), None);
        assert!(birth_date_of(&form("sept", "months"), today).is_err());
        assert!(birth_date_of(&form("4000000000", "years"), today).is_err(), "no overflow");
        assert!(birth_date_of(&form("131", "years"), today).is_err());
        let given = SearchForm { birth_date: "2026-04-01".into(), age: "3".into(), ..Default::default() };
        assert_eq!(birth_date_of(&given, today).unwrap(), Some(("2026-04-01".into(), false)), "the date wins");
        assert_eq!(age_hint(&form("7", "months")), "7 mois");
        assert_eq!(age_hint(&form("1", "years")), "1 an");
    }
}
