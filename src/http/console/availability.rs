//! The professional's recurring availability and absences: rules in wall-clock time ("lundi et jeudi, 12:00–13:00,
//! créneaux de 15 min") created, previewed over the next two weeks and deleted; absences declared and lifted.
//! Through the API's handlers, like every console action: the same checks, the same slots, the same audit trail.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Duration;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::layout::{self, alert, button_post, form_post};
use super::regulation::CONSOLE_ZONE;
use super::{ConsoleUser, FormFields, api_input, api_input_query, forbidden_form, response_json, to_value};
use crate::domain::practice::Practice;
use crate::http::extract::Json;
use crate::http::{ApiError, AppState, absences, rules};

const WEEKDAYS: [(&str, &str); 7] = [
    ("mon", "lundi"),
    ("tue", "mardi"),
    ("wed", "mercredi"),
    ("thu", "jeudi"),
    ("fri", "vendredi"),
    ("sat", "samedi"),
    ("sun", "dimanche"),
];

/// The professional this user acts for, and their practices.
async fn own(state: &AppState, me: &ConsoleUser) -> Result<(String, Vec<Practice>), Response> {
    super::practice::own_professional(state, me).await.map(|(professional, practices)| (professional.id, practices))
}

pub async fn page(State(state): State<AppState>, me: ConsoleUser) -> Response {
    match own(&state, &me).await {
        Ok((id, practices)) => availability_page(&state, &me, &id, &practices, None, StatusCode::OK).await,
        Err(page) => page,
    }
}

/// The page again with what the API refused, in French, under the API's own status.
async fn refused(
    state: &AppState,
    me: &ConsoleUser,
    professional_id: &str,
    practices: &[Practice],
    error: &ApiError,
) -> Response {
    let (status, message) = layout::french_error(error);
    availability_page(state, me, professional_id, practices, Some(&message), status).await
}

async fn availability_page(
    state: &AppState,
    me: &ConsoleUser,
    professional_id: &str,
    practices: &[Practice],
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let query = json!({ "professional_id": professional_id, "limit": 200 });
    let listed_rules = match api_input_query(&query) {
        Ok(params) => rules::list(State(state.clone()), me.caller.clone(), params).await.map(|j| to_value(j.0)),
        Err(error) => Err(error),
    };
    let listed_absences = match api_input_query(&query) {
        Ok(params) => absences::list(State(state.clone()), me.caller.clone(), params).await.map(|j| to_value(j.0)),
        Err(error) => Err(error),
    };
    let (rule_list, absence_list) = match (listed_rules, listed_absences) {
        (Ok(r), Ok(a)) => {
            (r["rules"].as_array().cloned().unwrap_or_default(), a["absences"].as_array().cloned().unwrap_or_default())
        }
        (Err(error), _) | (_, Err(error)) => return me.failed(&error),
    };
    let zone = practices.first().map(|p| p.timezone).unwrap_or(CONSOLE_ZONE);
    let practice_name = |id: &str| practices.iter().find(|p| p.id == id).map(|p| p.name.clone()).unwrap_or_default();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let body = html! {
        @if let Some(message) = message { (alert(message)) }
        h2 { "Disponibilités récurrentes" }
        @if rule_list.is_empty() { p { "Aucune règle." } }
        @for rule in &rule_list {
            section.card {
                p { strong { (weekdays_fr(&rule["weekdays"])) } ", " (text(&rule["start_time"])) "–" (text(&rule["end_time"]))
                    ", créneaux de " (rule["slot_minutes"]) " min · " (layout::modality_label(&text(&rule["modality"]))) }
                p { (practice_name(&text(&rule["practice_id"]))) " · à partir du " (text(&rule["valid_from"]))
                    @if let Some(until) = rule["valid_until"].as_str() { " jusqu'au " (until) }
                    @if rule["public_holidays"] == "include" { " · jours fériés compris" } }
                p.noprint {
                    a href=(format!("/console/practice/rules/{}/preview", text(&rule["id"]))) { "Aperçu des 14 prochains jours" } " "
                    (button_post(&format!("/console/practice/rules/{}/delete", text(&rule["id"])), &me.session.csrf_token, html! {}, "Supprimer la règle"))
                }
            }
        }
        h2 { "Nouvelle règle" }
        (rule_form(me, practices, state))
        h2 { "Absences" }
        @if absence_list.is_empty() { p { "Aucune absence déclarée." } }
        @else {
            table {
                thead { tr { th { "Du" } th { "Au" } th { "Note" } th {} } }
                tbody { @for a in &absence_list {
                    tr {
                        td { (local(&text(&a["from"]), zone)) } td { (local(&text(&a["to"]), zone)) } td { (text(&a["reason"])) }
                        td { (button_post(&format!("/console/practice/absences/{}/delete", text(&a["id"])), &me.session.csrf_token, html! {}, "Lever l'absence")) }
                    }
                } }
            }
        }
        h2 { "Déclarer une absence" }
        (absence_form(me))
    };
    layout::with_status(status, Some(me), "Disponibilités et absences", body)
}

/// "26/11/2026 00:00" on the practice's clock.
fn local(rfc3339: &str, zone: chrono_tz::Tz) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.with_timezone(&zone).format("%d/%m/%Y %H:%M").to_string())
        .unwrap_or_else(|_| rfc3339.to_string())
}

fn weekdays_fr(days: &Value) -> String {
    let days: Vec<&str> = days.as_array().map(|d| d.iter().filter_map(|d| d.as_str()).collect()).unwrap_or_default();
    WEEKDAYS.iter().filter(|(code, _)| days.contains(code)).map(|(_, fr)| *fr).collect::<Vec<_>>().join(", ")
}

fn rule_form(me: &ConsoleUser, practices: &[Practice], state: &AppState) -> Markup {
    let today = state.clock.now().with_timezone(&CONSOLE_ZONE).date_naive();
    let fields = html! {
        fieldset {
            legend { "Jours" }
            @for (code, fr) in WEEKDAYS {
                label.inline for=(format!("day-{code}")) {
                    input id=(format!("day-{code}")) type="checkbox" name="weekdays" value=(code) style="width:auto"; " " (fr)
                }
            }
        }
        div.row {
            div { label for="rule-start" { "De" } input id="rule-start" name="start_time" type="time" required; }
            div { label for="rule-end" { "À" } input id="rule-end" name="end_time" type="time" required; }
            div { label for="rule-minutes" { "Durée d'un créneau" }
                select id="rule-minutes" name="slot_minutes" {
                    @for m in ["10", "15", "20", "30", "45", "60"] { option value=(m) selected[m == "15"] { (m) " min" } }
                } }
        }
        div.row {
            div { label for="rule-practice" { "Lieu" }
                select id="rule-practice" name="practice_id" { @for p in practices { option value=(p.id) { (p.name) } } } }
            div { label for="rule-modality" { "Modalité" }
                select id="rule-modality" name="modality" {
                    option value="in_person" { "Au cabinet" } option value="home_visit" { "À domicile" }
                    option value="teleconsultation" { "Téléconsultation" }
                } }
        }
        div.row {
            div { label for="rule-from" { "À partir du" } input id="rule-from" name="valid_from" type="date" required value=(today.to_string()); }
            div { label for="rule-until" { "Jusqu'au (facultatif)" } input id="rule-until" name="valid_until" type="date"; }
            div { label for="rule-holidays" { "Jours fériés" }
                select id="rule-holidays" name="public_holidays" {
                    option value="skip" { "Pas de créneaux" } option value="include" { "Créneaux aussi les jours fériés" }
                } }
        }
    };
    form_post("/console/practice/rules", &me.session.csrf_token, fields, "Créer la règle")
}

fn absence_form(me: &ConsoleUser) -> Markup {
    let fields = html! {
        div.row {
            div { label for="absence-from" { "Du (inclus)" } input id="absence-from" name="from" type="date" required; }
            div { label for="absence-to" { "Au (inclus)" } input id="absence-to" name="to" type="date" required; }
        }
        label for="absence-reason" { "Note (pour vous seul)" }
        input id="absence-reason" name="reason" maxlength="200";
    };
    form_post("/console/practice/absences", &me.session.csrf_token, fields, "Déclarer l'absence")
}

pub async fn create_rule(State(state): State<AppState>, me: ConsoleUser, body: String) -> Response {
    let (professional_id, practices) = match own(&state, &me).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    // `weekdays` comes once per ticked box.
    let fields = FormFields::parse(&body);
    let field = |name: &str| fields.one(name);
    if !me.form_is_ours(&field("csrf")) {
        return forbidden_form();
    }
    let weekdays = fields.all("weekdays");
    let until = field("valid_until");
    let input = json!({
        "professional_id": professional_id,
        "practice_id": field("practice_id"),
        "weekdays": weekdays,
        "start_time": field("start_time"),
        "end_time": field("end_time"),
        "slot_minutes": field("slot_minutes").parse::<i64>().unwrap_or(0),
        "modality": field("modality"),
        "visibility": "regulation",
        "valid_from": field("valid_from"),
        "valid_until": if until.is_empty() { Value::Null } else { json!(until) },
        "public_holidays": field("public_holidays"),
    });
    let created = match api_input(input) {
        Ok(input) => rules::create(State(state.clone()), me.caller.clone(), Ok(Json(input)))
            .await
            .map(IntoResponse::into_response),
        Err(error) => Err(error),
    };
    match created {
        Ok(response) => {
            let written = response_json(response).await;
            Redirect::to(&format!("/console/practice/rules/{}/preview", written["id"].as_str().unwrap_or_default()))
                .into_response()
        }
        Err(error) => refused(&state, &me, &professional_id, &practices, &error).await,
    }
}

/// The next 14 days of a rule, slot by slot, with what became of each.
pub async fn preview(State(state): State<AppState>, me: ConsoleUser, Path(id): Path<String>) -> Response {
    if me.user.professional_id.is_none() {
        return me.refuse();
    }
    let today = state.clock.now().with_timezone(&CONSOLE_ZONE).date_naive();
    let range = json!({ "from": today.to_string(), "to": (today + Duration::days(13)).to_string() });
    let previewed = match api_input_query(&range) {
        Ok(params) => rules::preview(State(state.clone()), me.caller.clone(), Path(id), params).await,
        Err(error) => Err(error),
    };
    let preview = match previewed {
        Ok(axum::Json(preview)) => to_value(preview),
        Err(error) => return me.failed(&error),
    };
    let slots = preview["slots"].as_array().cloned().unwrap_or_default();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let body = html! {
        p { (preview["count"]) " créneau(x) du " (text(&preview["from"])) " au " (text(&preview["to"])) "." }
        table {
            thead { tr { th { "Créneau" } th { "État" } } }
            tbody { @for s in &slots {
                tr { td { (layout::local_when(&text(&s["start_local"]))) "–" (layout::local_time(&text(&s["end_local"]))) }
                     td { @if let Some(status) = s["status"].as_str() { (layout::slot_status_label(status)) }
                          @else { "non publié (chevauchement ou absence)" } } }
            } }
        }
        p { a href="/console/practice/availability" { "Retour aux disponibilités" } }
    };
    layout::page(&me, "Aperçu de la règle", body)
}

pub async fn delete_rule(
    State(state): State<AppState>,
    me: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<super::CsrfForm>,
) -> Response {
    if me.user.professional_id.is_none() {
        return me.refuse();
    }
    me.act(&form.csrf, "/console/practice/availability", rules::delete(State(state), me.caller.clone(), Path(id))).await
}

#[derive(Debug, Deserialize)]
pub struct AbsenceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    reason: String,
}

pub async fn create_absence(State(state): State<AppState>, me: ConsoleUser, Form(form): Form<AbsenceForm>) -> Response {
    let (professional_id, practices) = match own(&state, &me).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    if !me.form_is_ours(&form.csrf) {
        return forbidden_form();
    }
    let reason = form.reason.trim();
    let input = json!({
        "professional_id": professional_id,
        "from": form.from.trim(),
        "to": form.to.trim(),
        "reason": if reason.is_empty() { Value::Null } else { json!(reason) },
    });
    let created = match api_input(input) {
        Ok(input) => absences::create(State(state.clone()), me.caller.clone(), Ok(Json(input)))
            .await
            .map(IntoResponse::into_response),
        Err(error) => Err(error),
    };
    match created {
        Ok(response) => {
            let created = response_json(response).await;
            let to_handle = created["bookings_to_handle"].as_array().map(Vec::len).unwrap_or(0);
            let message = (to_handle > 0).then(|| {
                format!(
                    "Absence enregistrée. {to_handle} rendez-vous déjà pris pendant cette absence restent à gérer : \
                     prévenez les patients ou la régulation."
                )
            });
            match message {
                Some(message) => {
                    availability_page(&state, &me, &professional_id, &practices, Some(&message), StatusCode::OK).await
                }
                None => Redirect::to("/console/practice/availability").into_response(),
            }
        }
        Err(error) => refused(&state, &me, &professional_id, &practices, &error).await,
    }
}

pub async fn delete_absence(
    State(state): State<AppState>,
    me: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<super::CsrfForm>,
) -> Response {
    if me.user.professional_id.is_none() {
        return me.refuse();
    }
    let lifted = absences::delete(State(state), me.caller.clone(), Path(id));
    me.act(&form.csrf, "/console/practice/availability", lifted).await
}
