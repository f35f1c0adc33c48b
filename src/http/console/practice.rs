//! The professional's pages: the day's agenda (slots free / held / booked, the bookings with their patients,
//! "Honoré" / "Non venu" once the appointment has started), publishing a one-off slot in a few seconds, and the
//! printable day sheet — the paper fallback for when systems are down.
//!
//! Like the regulator's pages, every action goes through the API's handlers with the user as caller: a
//! professional user sees and changes only their own agenda, and each view of a patient is in the audit trail.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, NaiveTime, TimeZone};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::layout::{self, alert, button_post, form_post};
use super::regulation::{DayQuery, bookings_between, day_bounds, day_links};
use super::{ConsoleUser, api_input, api_input_query, forbidden_form};
use crate::domain::practice::Practice;
use crate::domain::professional::Professional;
use crate::domain::time::utc_rfc3339;
use crate::http::extract::Json;
use crate::http::{ApiError, AppState, bookings, slots};

/// The lengths a one-off slot may have (the form offers these; anything else is refused).
const SLOT_MINUTES: [&str; 6] = ["10", "15", "20", "30", "45", "60"];

/// The professional this user acts for (the console's agenda is a professional's own).
pub(super) async fn own_professional(
    state: &AppState,
    me: &ConsoleUser,
) -> Result<(Professional, Vec<Practice>), Response> {
    let Some(id) = me.user.professional_id.as_deref() else { return Err(me.refuse()) };
    let professional = match state.store.get_professional(id).await {
        Ok(Some(professional)) => professional,
        Ok(None) => return Err(me.failed(&ApiError::NotFound(id.into()))),
        Err(error) => return Err(me.failed(&error.into())),
    };
    let mut practices = Vec::new();
    for practice_id in &professional.practice_ids {
        if let Ok(Some(practice)) = state.store.get_practice(practice_id).await {
            practices.push(practice);
        }
    }
    Ok((professional, practices))
}

/// The day's slots and bookings of a professional.
async fn day_of(
    state: &AppState,
    me: &ConsoleUser,
    professional_id: &str,
    from: &str,
    to: &str,
) -> Result<(Vec<Value>, Vec<Value>), ApiError> {
    let query = json!({ "professional_id": professional_id, "from": from, "to": to, "limit": 500 });
    let axum::Json(list) = slots::list(State(state.clone()), me.caller.clone(), api_input_query(&query)?).await?;
    let mut day_slots = serde_json::to_value(list).unwrap_or_default()["slots"].as_array().cloned().unwrap_or_default();
    day_slots.retain(|s| s["status"] != "withdrawn");
    day_slots.sort_by(|a, b| a["start"].as_str().cmp(&b["start"].as_str()));
    let day_bookings = bookings_between(state, me, Some(professional_id), from, to).await?;
    Ok((day_slots, day_bookings))
}

/// A professional's day as the agenda and the sheet show it.
struct Day {
    professional: Professional,
    practices: Vec<Practice>,
    day: NaiveDate,
    slots: Vec<Value>,
    bookings: Vec<Value>,
}

async fn load_day(state: &AppState, me: &ConsoleUser, raw_day: Option<&str>) -> Result<Day, Response> {
    let (professional, practices) = own_professional(state, me).await?;
    // The professional's day is the practice's (an overseas practice's evening is not the next day in Paris).
    let zone = practices.first().map(|p| p.timezone).unwrap_or(super::regulation::CONSOLE_ZONE);
    let (day, from, to) =
        day_bounds(state, raw_day, zone).map_err(|message| me.failed(&ApiError::invalid("day", message)))?;
    let (slots, bookings) = day_of(state, me, &professional.id, &from, &to).await.map_err(|error| me.failed(&error))?;
    Ok(Day { professional, practices, day, slots, bookings })
}

pub async fn agenda(State(state): State<AppState>, me: ConsoleUser, Query(query): Query<DayQuery>) -> Response {
    let Day { practices, day, slots: day_slots, bookings: day_bookings, .. } =
        match load_day(&state, &me, query.day.as_deref()).await {
            Ok(day) => day,
            Err(page) => return page,
        };
    let body = html! {
        (day_links("/console/practice", day))
        h2 { "Rendez-vous" }
        (bookings_table(&state, &me, &day_bookings, true))
        h2 { "Créneaux" }
        (slots_table(&day_slots))
        h2 { "Publier un créneau" }
        (publish_form(&me, &practices, day, &PublishForm::default()))
        p.noprint { a href=(format!("/console/practice/sheet?day={day}")) { "Feuille du jour à imprimer" } }
    };
    layout::page(&me, &format!("Mon agenda — {}", layout::french_day(day)), body)
}

fn slots_table(day_slots: &[Value]) -> Markup {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    html! {
        @if day_slots.is_empty() { p { "Aucun créneau ce jour." } }
        @else {
            table {
                thead { tr { th { "Heure" } th { "Durée" } th { "Modalité" } th { "État" } } }
                tbody { @for s in day_slots {
                    tr {
                        td { (layout::local_time(&text(&s["start_local"]))) "–" (layout::local_time(&text(&s["end_local"]))) }
                        td { (s["duration_minutes"]) " min" }
                        td { (layout::modality_label(s["modality"].as_str().unwrap_or_default())) }
                        td { (layout::slot_status_label(s["status"].as_str().unwrap_or_default())) }
                    }
                } }
            }
        }
    }
}

/// The day's bookings with their patients; with `actions`, the outcome buttons of those that have started.
fn bookings_table(state: &AppState, me: &ConsoleUser, day_bookings: &[Value], actions: bool) -> Markup {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let now = utc_rfc3339(state.clock.now());
    html! {
        @if day_bookings.is_empty() { p { "Aucun rendez-vous ce jour." } }
        @else {
            table {
                thead { tr { th { "Heure" } th { "Patient" } th { "Contact" } th { "Motif et note" } th { "État" } } }
                tbody { @for b in day_bookings {
                    @let patient = &b["patient"];
                    tr {
                        td { (layout::local_time(&text(&b["slot"]["start_local"]))) br;
                            (layout::modality_label(b["slot"]["modality"].as_str().unwrap_or_default())) }
                        @if patient.is_null() { td.muted colspan="2" { "Données effacées" } }
                        @else {
                            td { strong { (text(&patient["last_name"]).to_uppercase()) } " " (text(&patient["first_name"])) br;
                                 "né(e) le " (text(&patient["birth_date"])) }
                            td { (text(&patient["phone"])) br; (text(&patient["email"])) }
                        }
                        td { (state.motifs.get(b["motif"].as_str().unwrap_or_default()).map(|m| m.label.clone()).unwrap_or_default())
                             @if let Some(note) = b["note"].as_str() { br; em { (note) } } }
                        td {
                            (layout::booking_status_label(b["status"].as_str().unwrap_or_default()))
                            @if actions && b["status"] == "confirmed" && b["slot"]["start"].as_str().unwrap_or_default() <= now.as_str() {
                                @let action = format!("/console/practice/bookings/{}/outcome", text(&b["id"]));
                                br;
                                (button_post(&action, &me.session.csrf_token, html! { input type="hidden" name="outcome" value="attended"; }, "Honoré"))
                                " "
                                (button_post(&action, &me.session.csrf_token, html! { input type="hidden" name="outcome" value="no_show"; }, "Non venu"))
                            }
                        }
                    }
                } }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PublishForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    day: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    practice_id: String,
    #[serde(default)]
    modality: String,
}

fn publish_form(me: &ConsoleUser, practices: &[Practice], day: NaiveDate, form: &PublishForm) -> Markup {
    let day = if form.day.is_empty() { day.to_string() } else { form.day.clone() };
    let minutes = if form.minutes.is_empty() { "15" } else { form.minutes.as_str() };
    let fields = html! {
        div.row {
            div { label for="slot-day" { "Jour" } input id="slot-day" name="day" type="date" required value=(day); }
            div { label for="slot-start" { "Heure de début" } input id="slot-start" name="start" type="time" required value=(form.start); }
            div { label for="slot-minutes" { "Durée" }
                select id="slot-minutes" name="minutes" {
                    @for m in SLOT_MINUTES { option value=(m) selected[m == minutes] { (m) " min" } }
                } }
        }
        div.row {
            div { label for="slot-practice" { "Lieu" }
                select id="slot-practice" name="practice_id" {
                    @for p in practices { option value=(p.id) selected[p.id == form.practice_id] { (p.name) } }
                } }
            div { label for="slot-modality" { "Modalité" }
                select id="slot-modality" name="modality" {
                    @for (value, label) in [("in_person", "Au cabinet"), ("home_visit", "À domicile"), ("teleconsultation", "Téléconsultation")] {
                        option value=(value) selected[value == form.modality] { (label) }
                    }
                } }
        }
    };
    form_post("/console/practice/slots", &me.session.csrf_token, fields, "Publier le créneau")
}

/// "Publier": one slot, in the practice's wall-clock time, offered to regulation.
pub async fn publish(State(state): State<AppState>, me: ConsoleUser, Form(form): Form<PublishForm>) -> Response {
    let (professional, practices) = match own_professional(&state, &me).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    if !me.form_is_ours(&form.csrf) {
        return forbidden_form();
    }
    let day = NaiveDate::parse_from_str(&form.day, "%Y-%m-%d").ok();
    let again = |message: &str| {
        let body = html! {
            (alert(message))
            (publish_form(&me, &practices, day.unwrap_or_default(), &form))
            p { a href="/console/practice" { "Retour à l'agenda" } }
        };
        layout::with_status(StatusCode::UNPROCESSABLE_ENTITY, Some(&me), "Publier un créneau", body)
    };
    let Some(practice) = practices.iter().find(|p| p.id == form.practice_id) else {
        return again("Choisissez un de vos lieux d'exercice.");
    };
    let minutes = form.minutes.parse::<i64>().ok().filter(|m| SLOT_MINUTES.contains(&m.to_string().as_str()));
    let (Some(day), Ok(start), Some(minutes)) = (day, NaiveTime::parse_from_str(&form.start, "%H:%M"), minutes) else {
        return again("Indiquez le jour, l'heure de début (HH:MM) et la durée.");
    };
    // A wall-clock time that the change of hour skips or repeats is refused rather than guessed.
    let Some(start) = practice.timezone.from_local_datetime(&day.and_time(start)).single() else {
        return again(
            "Cette heure n'existe pas ou existe deux fois ce jour-là (changement d'heure) : choisissez-en une autre.",
        );
    };
    let end = start + chrono::Duration::minutes(minutes);
    let request = json!({ "slots": [{
        "professional_id": professional.id,
        "practice_id": practice.id,
        "start": start.to_rfc3339(),
        "end": end.to_rfc3339(),
        "modality": form.modality,
        "visibility": "regulation",
    }] });
    let published = match api_input(request) {
        Ok(input) => slots::publish(State(state.clone()), me.caller.clone(), Ok(Json(input))).await.map(|_| ()),
        Err(error) => Err(error),
    };
    match published {
        Ok(()) => Redirect::to(&format!("/console/practice?day={day}")).into_response(),
        Err(error) => again(&layout::french_error(&error).1),
    }
}

#[derive(Debug, Deserialize)]
pub struct OutcomeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    outcome: String,
}

/// "Honoré" / "Non venu".
pub async fn outcome(
    State(state): State<AppState>,
    me: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<OutcomeForm>,
) -> Response {
    if !me.form_is_ours(&form.csrf) {
        return forbidden_form();
    }
    let input = api_input(json!({ "outcome": form.outcome }));
    let recorded = match input {
        Ok(input) => bookings::outcome(State(state.clone()), me.caller.clone(), Path(id), Ok(Json(input))).await,
        Err(error) => Err(error),
    };
    match recorded {
        Ok(axum::Json(view)) => {
            let view = serde_json::to_value(view).unwrap_or_default();
            let day = view["slot"]["start_local"].as_str().and_then(|s| s.get(..10)).unwrap_or_default().to_string();
            Redirect::to(&format!("/console/practice?day={day}")).into_response()
        }
        Err(error) => me.failed(&error),
    }
}

/// The day on paper: every appointment with its patient and contact, and the free slots, for when the screen
/// is not there.
pub async fn sheet(State(state): State<AppState>, me: ConsoleUser, Query(query): Query<DayQuery>) -> Response {
    let Day { professional, day, slots: day_slots, bookings: day_bookings, .. } =
        match load_day(&state, &me, query.day.as_deref()).await {
            Ok(day) => day,
            Err(page) => return page,
        };
    let free: Vec<Value> = day_slots.into_iter().filter(|s| s["status"] == "free").collect();
    let printed = state.clock.now().with_timezone(&super::regulation::CONSOLE_ZONE).format("%d/%m/%Y %H:%M");
    let body = html! {
        p { strong { (professional.first_name) " " (professional.last_name) } " — feuille imprimée le " (printed.to_string()) }
        (day_links("/console/practice/sheet", day))
        h2 { "Rendez-vous" }
        (bookings_table(&state, &me, &day_bookings, false))
        h2 { "Créneaux encore libres" }
        (slots_table(&free))
    };
    layout::page(&me, &format!("Feuille du {}", layout::french_day(day)), body)
}
