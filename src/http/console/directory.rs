//! The territory's directory for coordinators and admins: practices and professionals listed, and created from
//! the console (through the API's handlers: the same checks — RPPS Luhn key, catalogue, coordinates — and the same
//! audit trail). Editing and deactivating are not built yet (see the README).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Value, json};

use super::layout::{self, alert, form_post};
use super::{ConsoleUser, FormFields, api_input, api_input_query, forbidden_form, to_value};
use crate::http::extract::Json;
use crate::http::{ApiError, AppState, practices, professionals};

pub async fn page(State(state): State<AppState>, me: ConsoleUser) -> Response {
    if !me.caller.may_manage_directory() {
        return me.refuse();
    }
    directory_page(&state, &me, None, StatusCode::OK).await
}

async fn directory_page(state: &AppState, me: &ConsoleUser, message: Option<&str>, status: StatusCode) -> Response {
    let listed = async {
        let all = json!({ "limit": 200 });
        let axum::Json(practice_list) =
            practices::list(State(state.clone()), me.caller.clone(), api_input_query(&all)?).await?;
        let axum::Json(professional_list) =
            professionals::list(State(state.clone()), me.caller.clone(), api_input_query(&all)?).await?;
        Ok::<_, ApiError>((to_value(practice_list), to_value(professional_list)))
    };
    let (practice_list, professional_list) = match listed.await {
        Ok(lists) => lists,
        Err(error) => return me.failed(&error),
    };
    let practice_rows = practice_list["practices"].as_array().cloned().unwrap_or_default();
    let professional_rows = professional_list["professionals"].as_array().cloned().unwrap_or_default();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let practice_name = |id: &Value| {
        practice_rows.iter().find(|p| p["id"] == *id).map(|p| text(&p["name"])).unwrap_or_else(|| text(id))
    };
    let body = html! {
        @if let Some(message) = message { (alert(message)) }
        h2 { "Lieux d'exercice (" (practice_rows.len()) ")" }
        table {
            thead { tr { th { "Nom" } th { "Adresse" } th { "Département" } th { "Téléphone" } } }
            tbody { @for p in &practice_rows {
                tr { td { (text(&p["name"])) } td { (text(&p["address"])) ", " (text(&p["postal_code"])) " " (text(&p["commune"])) }
                     td { (text(&p["departement"])) } td { (text(&p["phone"])) } }
            } }
        }
        h2 { "Professionnels (" (professional_rows.len()) ")" }
        table {
            thead { tr { th { "Nom" } th { "Profession" } th { "Lieux" } th { "Contact" } } }
            tbody { @for p in &professional_rows {
                tr {
                    td { (text(&p["last_name"]).to_uppercase()) " " (text(&p["first_name"])) }
                    td { (super::regulation::profession_title(state, &text(&p["profession"])))
                         @if let Some(skills) = p["skills"].as_array().filter(|s| !s.is_empty()) {
                             br; small { (skills.iter().map(&text).collect::<Vec<_>>().join(", ")) } } }
                    td { @if let Some(ids) = p["practice_ids"].as_array() {
                        (ids.iter().map(practice_name).collect::<Vec<_>>().join(" ; ")) } }
                    td { (text(&p["email"])) br; (text(&p["phone"])) }
                }
            } }
        }
        h2 { "Nouveau lieu d'exercice" }
        (practice_form(me))
        h2 { "Nouveau professionnel" }
        (professional_form(state, me, &practice_rows))
    };
    layout::with_status(status, Some(me), "Annuaire du territoire", body)
}

fn practice_form(me: &ConsoleUser) -> Markup {
    let kinds = [
        ("cabinet", "Cabinet"),
        ("msp", "Maison de santé (MSP)"),
        ("esp", "Équipe de soins primaires"),
        ("centre_de_sante", "Centre de santé"),
    ];
    let fields = html! {
        div.row {
            div { label for="practice-name" { "Nom" } input id="practice-name" name="name" required maxlength="200"; }
            div { label for="practice-kind" { "Type" }
                select id="practice-kind" name="kind" { @for (value, label) in kinds { option value=(value) { (label) } } } }
        }
        label for="practice-address" { "Adresse" } input id="practice-address" name="address" required maxlength="200";
        div.row {
            div { label for="practice-postal" { "Code postal" } input id="practice-postal" name="postal_code" required maxlength="5"; }
            div { label for="practice-commune" { "Commune" } input id="practice-commune" name="commune" required; }
            div { label for="practice-dept" { "Département" } input id="practice-dept" name="departement" required maxlength="3"; }
        }
        div.row {
            div { label for="practice-lat" { "Latitude" } input id="practice-lat" name="lat" required inputmode="decimal"; }
            div { label for="practice-lon" { "Longitude" } input id="practice-lon" name="lon" required inputmode="decimal"; }
            div { label for="practice-phone" { "Téléphone" } input id="practice-phone" name="phone" type="tel"; }
        }
    };
    form_post("/console/directory/practices", &me.session.csrf_token, fields, "Créer le lieu")
}

fn professional_form(state: &AppState, me: &ConsoleUser, practice_rows: &[Value]) -> Markup {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let fields = html! {
        div.row {
            div { label for="pro-first" { "Prénom" } input id="pro-first" name="first_name" required; }
            div { label for="pro-last" { "Nom" } input id="pro-last" name="last_name" required; }
        }
        div.row {
            div { label for="pro-profession" { "Profession" }
                select id="pro-profession" name="profession" {
                    @for (code, def) in &state.catalogue.professions { option value=(code) { (def.title) } } } }
            div { label for="pro-rpps" { "RPPS (11 chiffres)" } input id="pro-rpps" name="rpps" inputmode="numeric" maxlength="11"; }
            div { label for="pro-adeli" { "ou ADELI" } input id="pro-adeli" name="adeli" maxlength="9"; }
        }
        fieldset { legend { "Compétences" }
            @for (code, def) in &state.catalogue.skills {
                label for=(format!("skill-{code}")) {
                    input id=(format!("skill-{code}")) type="checkbox" name="skills" value=(code) style="width:auto"; " " (def.label) }
            } }
        fieldset { legend { "Lieux d'exercice" }
            @for p in practice_rows {
                label for=(format!("at-{}", text(&p["id"]))) {
                    input id=(format!("at-{}", text(&p["id"]))) type="checkbox" name="practice_ids" value=(text(&p["id"])) style="width:auto";
                    " " (text(&p["name"])) }
            } }
        div.row {
            div { label for="pro-email" { "Email" } input id="pro-email" name="email" type="email"; }
            div { label for="pro-phone" { "Téléphone portable" } input id="pro-phone" name="phone" type="tel"; }
        }
        label for="pro-new" { input id="pro-new" type="checkbox" name="accepts_new_patients" value="true" checked style="width:auto";
            " Accepte de nouveaux patients" }
        label for="pro-extra" { input id="pro-extra" type="checkbox" name="accepts_overbooking" value="true" style="width:auto";
            " Accepte un patient en plus (surnuméraire)" }
    };
    form_post("/console/directory/professionals", &me.session.csrf_token, fields, "Créer le professionnel")
}

fn optional(value: String) -> Value {
    if value.is_empty() { Value::Null } else { json!(value) }
}

/// A number as typed by a French keyboard ("49,51") or not; anything else is left for the API to refuse.
fn decimal(raw: &str) -> Value {
    raw.replace(',', ".").parse::<f64>().map(Value::from).unwrap_or_else(|_| json!(raw))
}

pub async fn create_practice(State(state): State<AppState>, me: ConsoleUser, body: String) -> Response {
    let fields = FormFields::parse(&body);
    let field = |name: &str| fields.one(name);
    if !me.form_is_ours(&field("csrf")) {
        return forbidden_form();
    }
    if !me.caller.may_manage_directory() {
        return me.refuse();
    }
    let input = json!({
        "name": field("name"), "kind": field("kind"), "address": field("address"),
        "postal_code": field("postal_code"), "commune": field("commune"),
        "departement": field("departement").to_uppercase(),
        "lat": decimal(&field("lat")), "lon": decimal(&field("lon")),
        "phone": optional(field("phone")),
    });
    let created = match api_input(input) {
        Ok(input) => practices::create(State(state.clone()), me.caller.clone(), Ok(Json(input)))
            .await
            .map(IntoResponse::into_response),
        Err(error) => Err(error),
    };
    done(&state, &me, created).await
}

pub async fn create_professional(State(state): State<AppState>, me: ConsoleUser, body: String) -> Response {
    let fields = FormFields::parse(&body);
    let field = |name: &str| fields.one(name);
    if !me.form_is_ours(&field("csrf")) {
        return forbidden_form();
    }
    if !me.caller.may_manage_directory() {
        return me.refuse();
    }
    let input = json!({
        "first_name": field("first_name"), "last_name": field("last_name"),
        "profession": field("profession"),
        "rpps": optional(field("rpps")), "adeli": optional(field("adeli")),
        "skills": fields.all("skills"), "practice_ids": fields.all("practice_ids"),
        "accepts_new_patients": field("accepts_new_patients") == "true",
        "accepts_overbooking": field("accepts_overbooking") == "true",
        "email": optional(field("email")), "phone": optional(field("phone")),
    });
    let created = match api_input(input) {
        Ok(input) => professionals::create(State(state.clone()), me.caller.clone(), Ok(Json(input)))
            .await
            .map(IntoResponse::into_response),
        Err(error) => Err(error),
    };
    done(&state, &me, created).await
}

/// Back to the directory; a refusal shows the directory again with what to fix.
async fn done(state: &AppState, me: &ConsoleUser, created: Result<Response, ApiError>) -> Response {
    match created {
        Ok(_) => Redirect::to("/console/directory").into_response(),
        Err(error) => {
            let (status, message) = layout::french_error(&error);
            directory_page(state, me, Some(&message), status).await
        }
    }
}
