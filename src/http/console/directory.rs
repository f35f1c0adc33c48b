//! The territory's directory for coordinators and admins: practices and professionals listed, and created from
//! the console (through the API's handlers: the same checks — RPPS Luhn key, catalogue, coordinates — and the same
//! audit trail), edited, deactivated and reactivated. A deactivation shows what it did: the free slots withdrawn
//! and the appointments still to come, which a person must honour or cancel.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Value, json};

use super::layout::{self, alert, button_post, form_post};
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
    let (practice_rows, professional_rows) = match listed(state, me).await {
        Ok(lists) => lists,
        Err(error) => return me.failed(&error),
    };
    let practice_name = |id: &Value| {
        practice_rows.iter().find(|p| p["id"] == *id).map(|p| text(&p["name"])).unwrap_or_else(|| text(id))
    };
    let body = html! {
        @if let Some(message) = message { (alert(message)) }
        h2 { "Lieux d'exercice (" (practice_rows.len()) ")" }
        table {
            thead { tr { th { "Nom" } th { "Adresse" } th { "Département" } th { "Téléphone" } th { "État" } th { "Actions" } } }
            tbody { @for p in &practice_rows {
                tr { td { (text(&p["name"])) } td { (text(&p["address"])) ", " (text(&p["postal_code"])) " " (text(&p["commune"])) }
                     td { (text(&p["departement"])) } td { (text(&p["phone"])) }
                     td { (state_label(p)) }
                     td { a href=(format!("/console/directory/practices/{}", text(&p["id"]))) { "Modifier" } " "
                          (switch_button(me, "practices", p)) } }
            } }
        }
        h2 { "Professionnels (" (professional_rows.len()) ")" }
        table {
            thead { tr { th { "Nom" } th { "Profession" } th { "Lieux" } th { "Contact" } th { "État" } th { "Actions" } } }
            tbody { @for p in &professional_rows {
                tr {
                    td { (text(&p["last_name"]).to_uppercase()) " " (text(&p["first_name"])) }
                    td { (super::regulation::profession_title(state, &text(&p["profession"])))
                         @if let Some(skills) = p["skills"].as_array().filter(|s| !s.is_empty()) {
                             br; small { (skills.iter().map(text).collect::<Vec<_>>().join(", ")) } } }
                    td { @if let Some(ids) = p["practice_ids"].as_array() {
                        (ids.iter().map(practice_name).collect::<Vec<_>>().join(" ; ")) } }
                    td { (text(&p["email"])) br; (text(&p["phone"])) }
                    td { (state_label(p)) }
                    td { a href=(format!("/console/directory/professionals/{}", text(&p["id"]))) { "Modifier" } " "
                         (switch_button(me, "professionals", p)) }
                }
            } }
        }
        h2 { "Nouveau lieu d'exercice" }
        (practice_form(me, "/console/directory/practices", None, "Créer le lieu"))
        h2 { "Nouveau professionnel" }
        (professional_form(state, me, &active_only(&practice_rows), None))
    };
    layout::with_status(status, Some(me), "Annuaire du territoire", body)
}

/// Every practice and professional, as the API lists them (the console's directory stays under 500 of each:
/// a territory's CPTS; the API pages further).
async fn listed(state: &AppState, me: &ConsoleUser) -> Result<(Vec<Value>, Vec<Value>), ApiError> {
    let all = json!({ "limit": 500 });
    let axum::Json(practice_list) =
        practices::list(State(state.clone()), me.caller.clone(), api_input_query(&all)?).await?;
    let axum::Json(professional_list) =
        professionals::list(State(state.clone()), me.caller.clone(), api_input_query(&all)?).await?;
    let rows = |v: Value, key: &str| v[key].as_array().cloned().unwrap_or_default();
    Ok((rows(to_value(practice_list), "practices"), rows(to_value(professional_list), "professionals")))
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn active_only(rows: &[Value]) -> Vec<Value> {
    rows.iter().filter(|r| r["active"] == true).cloned().collect()
}

fn state_label(row: &Value) -> Markup {
    match row["deactivated_at"].as_str() {
        None => html! { "Actif" },
        Some(at) => html! { span.warn { "Désactivé" } br; small { "depuis le " (layout::local_when(&paris(at))) } },
    }
}

/// An instant of the directory (UTC) on the console's clock.
fn paris(utc: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(utc)
        .map(|t| t.with_timezone(&super::regulation::CONSOLE_ZONE).to_rfc3339())
        .unwrap_or_else(|_| utc.to_string())
}

/// "Désactiver" or "Réactiver", as the row stands.
fn switch_button(me: &ConsoleUser, kind: &str, row: &Value) -> Markup {
    let id = text(&row["id"]);
    if row["active"] == true {
        button_post(
            &format!("/console/directory/{kind}/{id}/deactivate"),
            &me.session.csrf_token,
            html! {},
            "Désactiver",
        )
    } else {
        button_post(
            &format!("/console/directory/{kind}/{id}/reactivate"),
            &me.session.csrf_token,
            html! {},
            "Réactiver",
        )
    }
}

/// The practice form, blank for a new practice or filled with `current` to edit it.
fn practice_form(me: &ConsoleUser, action: &str, current: Option<&Value>, button: &str) -> Markup {
    let kinds = [
        ("cabinet", "Cabinet"),
        ("msp", "Maison de santé (MSP)"),
        ("esp", "Équipe de soins primaires"),
        ("centre_de_sante", "Centre de santé"),
    ];
    let value = |key: &str| current.map(|c| shown(&c[key])).unwrap_or_default();
    let fields = html! {
        div.row {
            div { label for="practice-name" { "Nom" } input id="practice-name" name="name" required maxlength="200" value=(value("name")); }
            div { label for="practice-kind" { "Type" }
                select id="practice-kind" name="kind" { @for (code, label) in kinds {
                    option value=(code) selected[value("kind") == code] { (label) } } } }
        }
        label for="practice-address" { "Adresse" } input id="practice-address" name="address" required maxlength="300" value=(value("address"));
        div.row {
            div { label for="practice-postal" { "Code postal" } input id="practice-postal" name="postal_code" required maxlength="5" value=(value("postal_code")); }
            div { label for="practice-commune" { "Commune" } input id="practice-commune" name="commune" required maxlength="100" value=(value("commune")); }
            div { label for="practice-dept" { "Département" } input id="practice-dept" name="departement" required maxlength="3" value=(value("departement")); }
        }
        div.row {
            div { label for="practice-lat" { "Latitude" } input id="practice-lat" name="lat" required inputmode="decimal" value=(value("lat")); }
            div { label for="practice-lon" { "Longitude" } input id="practice-lon" name="lon" required inputmode="decimal" value=(value("lon")); }
            div { label for="practice-phone" { "Téléphone" } input id="practice-phone" name="phone" type="tel" value=(value("phone")); }
        }
    };
    form_post(action, &me.session.csrf_token, fields, button)
}

/// A JSON value as a form shows it: text as is, numbers written out, nothing for null.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The professional form, blank or filled with `current`; the practices offered are `practice_rows`.
fn professional_form(state: &AppState, me: &ConsoleUser, practice_rows: &[Value], current: Option<&Value>) -> Markup {
    let value = |key: &str| current.map(|c| shown(&c[key])).unwrap_or_default();
    let listed =
        |key: &str, code: &str| current.is_some_and(|c| c[key].as_array().is_some_and(|a| a.iter().any(|v| v == code)));
    let flag = |key: &str, default: bool| current.map_or(default, |c| c[key] == true);
    let fields = html! {
        div.row {
            div { label for="pro-first" { "Prénom" } input id="pro-first" name="first_name" required maxlength="100" value=(value("first_name")); }
            div { label for="pro-last" { "Nom" } input id="pro-last" name="last_name" required maxlength="100" value=(value("last_name")); }
        }
        div.row {
            div { label for="pro-profession" { "Profession" }
                select id="pro-profession" name="profession" {
                    @for (code, def) in &state.catalogue.professions {
                        option value=(code) selected[value("profession") == *code] { (def.title) } } } }
            div { label for="pro-rpps" { "RPPS (11 chiffres)" } input id="pro-rpps" name="rpps" inputmode="numeric" maxlength="11" value=(value("rpps")); }
            div { label for="pro-adeli" { "ou ADELI" } input id="pro-adeli" name="adeli" maxlength="9" value=(value("adeli")); }
        }
        fieldset { legend { "Compétences" }
            @for (code, def) in &state.catalogue.skills {
                label for=(format!("skill-{code}")) {
                    input id=(format!("skill-{code}")) type="checkbox" name="skills" value=(code) checked[listed("skills", code)] style="width:auto";
                    " " (def.label) }
            } }
        fieldset { legend { "Lieux d'exercice" }
            @for p in practice_rows {
                @let id = text(&p["id"]);
                label for=(format!("at-{id}")) {
                    input id=(format!("at-{id}")) type="checkbox" name="practice_ids" value=(id) checked[listed("practice_ids", &id)] style="width:auto";
                    " " (text(&p["name"])) }
            } }
        div.row {
            div { label for="pro-email" { "Email" } input id="pro-email" name="email" type="email" value=(value("email")); }
            div { label for="pro-phone" { "Téléphone portable" } input id="pro-phone" name="phone" type="tel" value=(value("phone")); }
        }
        label for="pro-new" { input id="pro-new" type="checkbox" name="accepts_new_patients" value="true" checked[flag("accepts_new_patients", true)] style="width:auto";
            " Accepte de nouveaux patients" }
        label for="pro-extra" { input id="pro-extra" type="checkbox" name="accepts_overbooking" value="true" checked[flag("accepts_overbooking", false)] style="width:auto";
            " Accepte un patient en plus (surnuméraire)" }
    };
    match current {
        None => form_post("/console/directory/professionals", &me.session.csrf_token, fields, "Créer le professionnel"),
        Some(c) => form_post(
            &format!("/console/directory/professionals/{}", text(&c["id"])),
            &me.session.csrf_token,
            fields,
            "Enregistrer",
        ),
    }
}

fn optional(value: String) -> Value {
    if value.is_empty() { Value::Null } else { json!(value) }
}

/// A number as typed by a French keyboard ("49,51") or not; anything else is left for the API to refuse.
fn decimal(raw: &str) -> Value {
    raw.replace(',', ".").parse::<f64>().map(Value::from).unwrap_or_else(|_| json!(raw))
}

/// The practice form as the API's body (creation and change alike: every field is on the form).
fn practice_body(fields: &FormFields) -> Value {
    let field = |name: &str| fields.one(name);
    json!({
        "name": field("name"), "kind": field("kind"), "address": field("address"),
        "postal_code": field("postal_code"), "commune": field("commune"),
        "departement": field("departement").to_uppercase(),
        "lat": decimal(&field("lat")), "lon": decimal(&field("lon")),
        "phone": optional(field("phone")),
    })
}

/// The professional form as the API's body.
fn professional_body(fields: &FormFields) -> Value {
    let field = |name: &str| fields.one(name);
    json!({
        "first_name": field("first_name"), "last_name": field("last_name"),
        "profession": field("profession"),
        "rpps": optional(field("rpps")), "adeli": optional(field("adeli")),
        "skills": fields.all("skills"), "practice_ids": fields.all("practice_ids"),
        "accepts_new_patients": field("accepts_new_patients") == "true",
        "accepts_overbooking": field("accepts_overbooking") == "true",
        "email": optional(field("email")), "phone": optional(field("phone")),
    })
}

/// A directory form's fields, once its token and the user's role are checked.
fn directory_form(me: &ConsoleUser, body: &str) -> Result<FormFields, Box<Response>> {
    let fields = FormFields::parse(body);
    if !me.form_is_ours(&fields.one("csrf")) {
        return Err(Box::new(forbidden_form()));
    }
    if !me.caller.may_manage_directory() {
        return Err(Box::new(me.refuse()));
    }
    Ok(fields)
}

pub async fn create_practice(State(state): State<AppState>, me: ConsoleUser, body: String) -> Response {
    let fields = match directory_form(&me, &body) {
        Ok(fields) => fields,
        Err(refused) => return *refused,
    };
    let created = async {
        let input = api_input(practice_body(&fields))?;
        practices::create(State(state.clone()), me.caller.clone(), Ok(Json(input)))
            .await
            .map(IntoResponse::into_response)
    };
    done(&state, &me, created.await).await
}

pub async fn create_professional(State(state): State<AppState>, me: ConsoleUser, body: String) -> Response {
    let fields = match directory_form(&me, &body) {
        Ok(fields) => fields,
        Err(refused) => return *refused,
    };
    let created = async {
        let input = api_input(professional_body(&fields))?;
        professionals::create(State(state.clone()), me.caller.clone(), Ok(Json(input)))
            .await
            .map(IntoResponse::into_response)
    };
    done(&state, &me, created.await).await
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

pub async fn edit_practice(State(state): State<AppState>, me: ConsoleUser, Path(id): Path<String>) -> Response {
    if !me.caller.may_manage_directory() {
        return me.refuse();
    }
    practice_page(&state, &me, &id, None).await
}

/// A form sent back with what was wrong: the message, its status, and the values as typed (to correct them).
struct Refusal {
    status: StatusCode,
    message: String,
    typed: Value,
}

impl Refusal {
    fn new(error: &ApiError, typed: Value) -> Self {
        let (status, message) = layout::french_error(error);
        Refusal { status, message, typed }
    }
}

/// `typed` over `stored`: the form shows what the person typed where they typed it.
fn as_typed(stored: &Value, refusal: Option<&Refusal>) -> Value {
    let mut shown = stored.clone();
    if let (Some(fields), Some(refusal)) = (shown.as_object_mut(), refusal)
        && let Some(typed) = refusal.typed.as_object()
    {
        fields.extend(typed.clone());
    }
    shown
}

async fn practice_page(state: &AppState, me: &ConsoleUser, id: &str, refusal: Option<Refusal>) -> Response {
    let practice = match practices::get_one(State(state.clone()), me.caller.clone(), Path(id.to_string())).await {
        Ok(axum::Json(view)) => to_value(view),
        Err(error) => return me.failed(&error),
    };
    let status = refusal.as_ref().map_or(StatusCode::OK, |r| r.status);
    let message = refusal.as_ref().map(|r| r.message.as_str());
    let shown = as_typed(&practice, refusal.as_ref());
    let body = html! {
        @if let Some(message) = message { (alert(message)) }
        p { "État : " (state_label(&practice)) }
        (practice_form(me, &format!("/console/directory/practices/{id}"), Some(&shown), "Enregistrer"))
        h2 { "Fermer ou rouvrir le lieu" }
        p.muted { "Un lieu désactivé n'apparaît plus dans les recherches ; ses créneaux libres à venir sont retirés et plus aucun créneau n'y est publié. Les rendez-vous déjà pris restent à honorer." }
        (switch_button(me, "practices", &practice))
        p { a href="/console/directory" { "Retour à l'annuaire" } }
    };
    layout::with_status(status, Some(me), &format!("Lieu : {}", text(&practice["name"])), body)
}

pub async fn update_practice(
    State(state): State<AppState>,
    me: ConsoleUser,
    Path(id): Path<String>,
    body: String,
) -> Response {
    let fields = match directory_form(&me, &body) {
        Ok(fields) => fields,
        Err(refused) => return *refused,
    };
    let typed = practice_body(&fields);
    let updated = async {
        let patch = api_input(typed.clone())?;
        practices::update(State(state.clone()), me.caller.clone(), Path(id.clone()), Ok(Json(patch))).await
    };
    match updated.await {
        Ok(_) => Redirect::to("/console/directory").into_response(),
        Err(error) => practice_page(&state, &me, &id, Some(Refusal::new(&error, typed))).await,
    }
}

pub async fn edit_professional(State(state): State<AppState>, me: ConsoleUser, Path(id): Path<String>) -> Response {
    if !me.caller.may_manage_directory() {
        return me.refuse();
    }
    professional_page(&state, &me, &id, None).await
}

async fn professional_page(state: &AppState, me: &ConsoleUser, id: &str, refusal: Option<Refusal>) -> Response {
    let read = async {
        let axum::Json(view) =
            professionals::get_one(State(state.clone()), me.caller.clone(), Path(id.to_string())).await?;
        let (practice_rows, _) = listed(state, me).await?;
        Ok::<_, ApiError>((to_value(view), practice_rows))
    };
    let (professional, practice_rows) = match read.await {
        Ok(found) => found,
        Err(error) => return me.failed(&error),
    };
    // The practices offered: the active ones, and those the professional works at already.
    let offered: Vec<Value> = practice_rows
        .into_iter()
        .filter(|p| {
            p["active"] == true || professional["practice_ids"].as_array().is_some_and(|ids| ids.contains(&p["id"]))
        })
        .collect();
    let name = format!("{} {}", text(&professional["first_name"]), text(&professional["last_name"]));
    let status = refusal.as_ref().map_or(StatusCode::OK, |r| r.status);
    let message = refusal.as_ref().map(|r| r.message.as_str());
    let shown = as_typed(&professional, refusal.as_ref());
    let body = html! {
        @if let Some(message) = message { (alert(message)) }
        p { "État : " (state_label(&professional)) }
        p.muted { "Décocher un lieu retire les créneaux libres à venir qui y sont publiés." }
        (professional_form(state, me, &offered, Some(&shown)))
        h2 { "Désactiver ou réactiver" }
        p.muted { "Un professionnel désactivé n'apparaît plus dans les recherches ; ses créneaux libres à venir sont retirés, ses disponibilités récurrentes suspendues. Ses rendez-vous déjà pris restent à honorer." }
        (switch_button(me, "professionals", &professional))
        p { a href="/console/directory" { "Retour à l'annuaire" } }
    };
    layout::with_status(status, Some(me), &format!("Professionnel : {name}"), body)
}

pub async fn update_professional(
    State(state): State<AppState>,
    me: ConsoleUser,
    Path(id): Path<String>,
    body: String,
) -> Response {
    let fields = match directory_form(&me, &body) {
        Ok(fields) => fields,
        Err(refused) => return *refused,
    };
    let typed = professional_body(&fields);
    let updated = async {
        let patch = api_input(typed.clone())?;
        let axum::Json(changed) =
            professionals::update(State(state.clone()), me.caller.clone(), Path(id.clone()), Ok(Json(patch))).await?;
        Ok::<_, ApiError>(to_value(changed))
    };
    match updated.await {
        Ok(changed) if changed["slots_freed"] == 0 && changed["bookings_to_handle"] == json!([]) => {
            Redirect::to("/console/directory").into_response()
        }
        Ok(changed) => cleared_page(&me, "Fiche enregistrée", &changed),
        Err(error) => professional_page(&state, &me, &id, Some(Refusal::new(&error, typed))).await,
    }
}

/// Deactivates or reactivates a practice (`kind` = `practices`) or a professional (`professionals`).
pub async fn switch(
    State(state): State<AppState>,
    me: ConsoleUser,
    Path((kind, id, action)): Path<(String, String, String)>,
    body: String,
) -> Response {
    if let Err(refused) = directory_form(&me, &body) {
        return *refused;
    }
    let (caller, path) = (me.caller.clone(), Path(id));
    let state_ = State(state.clone());
    let done = match (kind.as_str(), action.as_str()) {
        ("practices", "deactivate") => practices::deactivate(state_, caller, path).await.map(|j| Some(to_value(j.0))),
        ("practices", "reactivate") => practices::reactivate(state_, caller, path).await.map(|_| None),
        ("professionals", "deactivate") => {
            professionals::deactivate(state_, caller, path).await.map(|j| Some(to_value(j.0)))
        }
        ("professionals", "reactivate") => professionals::reactivate(state_, caller, path).await.map(|_| None),
        _ => Err(ApiError::NotFound("No such directory action.".into())),
    };
    match done {
        Ok(None) => Redirect::to("/console/directory").into_response(),
        Ok(Some(deactivated)) => cleared_page(&me, "Désactivation faite", &deactivated),
        Err(error) => me.failed(&error),
    }
}

/// What a deactivation (or leaving a practice) did: the free slots withdrawn, and the appointments still to come,
/// which a person must honour or cancel — shown, never silently dropped.
fn cleared_page(me: &ConsoleUser, title: &str, result: &Value) -> Response {
    let kept = result["bookings_to_handle"].as_array().cloned().unwrap_or_default();
    let body = html! {
        p.ok { (result["slots_freed"].as_u64().unwrap_or(0)) " créneau(x) libre(s) à venir retiré(s) de la recherche." }
        @if kept.is_empty() {
            p { "Aucun rendez-vous à venir n'est concerné." }
        } @else {
            p.warn { (kept.len()) " rendez-vous ou réservation(s) en cours restent à honorer — ou à annuler en prévenant le patient :" }
            table {
                thead { tr { th { "Quand" } th { "État" } } }
                tbody { @for slot in &kept {
                    tr { td { (layout::local_when(&text(&slot["start_local"]))) }
                         td { (layout::slot_status_label(&text(&slot["status"]))) } }
                } }
            }
        }
        p { a href="/console/directory" { "Retour à l'annuaire" } }
    };
    layout::page(me, title, body)
}
