//! The coordinators' and administrators' oversight pages: the audit log with its filters (who saw or did what,
//! when, in which request). Console users are shown by their login; API keys and patients by their kind.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ConsoleUser;
use super::layout;
use super::regulation::CONSOLE_ZONE;
use super::{api_input_query, forbidden_form, response_json, to_value};
use crate::http::{AppState, audit};

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor_id: String,
    #[serde(default)]
    target_type: String,
    #[serde(default)]
    target_id: String,
    #[serde(default)]
    day: String,
    #[serde(default)]
    offset: String,
}

/// What an action means, in French (the code is shown too: it is what the API filters on).
fn action_label(action: &str) -> &str {
    match action {
        "booking.create" => "réservation",
        "booking.view" => "consultation d'un patient",
        "booking.cancel" => "annulation",
        "booking.outcome" => "rendez-vous renseigné",
        "hold.create" => "créneau bloqué",
        "hold.release" => "créneau libéré",
        "slots.publish" => "créneaux publiés",
        "slot.withdraw" => "créneau retiré",
        "login.success" => "connexion",
        "login.failure" => "connexion refusée",
        "logout" => "déconnexion",
        "password.change" => "mot de passe changé",
        "password.failure" => "mot de passe actuel erroné",
        "user.create" => "compte créé",
        "user.role" => "rôle changé",
        "user.disable" => "compte désactivé",
        "user.enable" => "compte réactivé",
        "user.password_reset" => "mot de passe réinitialisé",
        "practice.create" => "lieu créé",
        "practice.update" => "lieu modifié",
        "practice.deactivate" => "lieu désactivé",
        "practice.reactivate" => "lieu réactivé",
        "professional.create" => "professionnel créé",
        "professional.update" => "professionnel modifié",
        "professional.deactivate" => "professionnel désactivé",
        "professional.reactivate" => "professionnel réactivé",
        "retention.erase" => "effacement (conservation)",
        _ => "",
    }
}

const PAGE: i64 = 100;

/// What an event may be about, as the filter offers it.
const TARGET_TYPES: [(&str, &str); 10] = [
    ("booking", "réservation"),
    ("hold", "blocage de créneau"),
    ("slot", "créneau"),
    ("professional", "professionnel"),
    ("practice", "lieu d'exercice"),
    ("rule", "disponibilité récurrente"),
    ("absence", "absence"),
    ("notification", "message"),
    ("user", "compte"),
    ("api_key", "clé d'API"),
];

pub async fn audit(State(state): State<AppState>, me: ConsoleUser, Query(query): Query<AuditQuery>) -> Response {
    if !me.caller.may_read_audit() {
        return me.refuse();
    }
    let offset = query.offset.parse::<i64>().unwrap_or(0).max(0);
    let mut filter = json!({ "limit": PAGE, "offset": offset });
    let filters = [("action", &query.action), ("target_type", &query.target_type), ("target_id", &query.target_id)];
    for (name, value) in filters {
        if !value.trim().is_empty() {
            filter[name] = json!(value.trim());
        }
    }
    // The author by login (what people know) or by id (what the API and API keys give).
    let author = query.actor_id.trim();
    if author.contains('@') {
        match state.store.find_user_by_email(&author.to_lowercase()).await {
            Ok(Some(user)) => filter["actor_id"] = json!(user.id),
            Ok(None) => {
                let message = format!("Aucun compte n'a l'identifiant {author}.");
                return layout::with_status(
                    StatusCode::NOT_FOUND,
                    Some(&me),
                    "Journal d'audit",
                    layout::alert(&message),
                );
            }
            Err(error) => return me.failed(&error.into()),
        }
    } else if !author.is_empty() {
        filter["actor_id"] = json!(author);
    }
    if !query.day.is_empty() {
        match super::regulation::day_bounds(&state, Some(&query.day), CONSOLE_ZONE) {
            Ok((_, from, to)) => {
                filter["from"] = json!(from);
                filter["to"] = json!(to);
            }
            Err(message) => return me.failed(&crate::http::ApiError::invalid("day", message)),
        }
    }
    let listed = match api_input_query(&filter) {
        Ok(params) => audit::list(State(state.clone()), me.caller.clone(), params).await,
        Err(error) => Err(error),
    };
    let events = match listed {
        Ok(axum::Json(list)) => serde_json::to_value(list).unwrap_or_default(),
        Err(error) => return me.failed(&error),
    };
    let events = events["events"].as_array().cloned().unwrap_or_default();
    let logins = user_logins(&state, &events).await;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let fields = html! {
        div.row {
            div { label for="action" { "Action (ex. booking.view)" } input id="action" name="action" value=(query.action); }
            div { label for="actor_id" { "Auteur (email ou identifiant)" } input id="actor_id" name="actor_id" value=(query.actor_id); }
            div { label for="target_type" { "Type de cible" }
                select id="target_type" name="target_type" {
                    option value="" { "toutes" }
                    @for (code, label) in TARGET_TYPES { option value=(code) selected[query.target_type == code] { (label) } }
                } }
            div { label for="target_id" { "Cible (identifiant)" } input id="target_id" name="target_id" value=(query.target_id); }
            div { label for="day" { "Jour" } input id="day" name="day" type="date" value=(query.day); }
        }
        button type="submit" { "Filtrer" }
    };
    let next = format!(
        "/console/audit?{}",
        serde_urlencoded::to_string([
            ("action", query.action.as_str()),
            ("actor_id", query.actor_id.as_str()),
            ("target_type", query.target_type.as_str()),
            ("target_id", query.target_id.as_str()),
            ("day", query.day.as_str()),
            ("offset", &(offset + PAGE).to_string()),
        ])
        .unwrap_or_default()
    );
    let body = html! {
        form method="get" action="/console/audit" { (fields) }
        table {
            thead { tr { th { "Quand" } th { "Auteur" } th { "Action" } th { "Cible" } th { "Précision" } th { "Requête" } } }
            tbody { @for e in &events {
                tr {
                    td { (when(&text(&e["at"]))) }
                    td { (actor(e, &logins)) }
                    td { (action_label(&text(&e["action"]))) br; code { (text(&e["action"])) } }
                    td { (text(&e["target_type"])) br; code { (text(&e["target_id"])) } }
                    td { (text(&e["detail"])) }
                    td { code { (text(&e["request_id"])) } }
                }
            } }
        }
        @if events.is_empty() { p { "Aucun évènement pour ces filtres." } }
        @if events.len() as i64 == PAGE { p { a href=(next) { "Évènements plus anciens →" } } }
    };
    layout::page(&me, "Journal d'audit", body)
}

/// "24/11/2026 09:15:02" on the console's clock.
fn when(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.with_timezone(&CONSOLE_ZONE).format("%d/%m/%Y %H:%M:%S").to_string())
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// The logins of the users the events name.
async fn user_logins(state: &AppState, events: &[Value]) -> HashMap<String, String> {
    let mut logins = HashMap::new();
    for event in events.iter().filter(|e| e["actor_kind"] == "user") {
        let Some(id) = event["actor_id"].as_str() else { continue };
        if logins.contains_key(id) {
            continue;
        }
        if let Ok(Some(user)) = state.store.get_user(id).await {
            logins.insert(id.to_string(), user.email);
        }
    }
    logins
}

fn actor(event: &Value, logins: &HashMap<String, String>) -> maud::Markup {
    let id = event["actor_id"].as_str().unwrap_or_default();
    let role = event["role"].as_str().map(|r| format!(" ({r})")).unwrap_or_default();
    html! {
        @match event["actor_kind"].as_str().unwrap_or_default() {
            "user" => { (logins.get(id).map(String::as_str).unwrap_or("compte inconnu")) (role) }
            "api_key" => { "clé d'API " code { (id) } (role) }
            "patient" => { "le patient (lien d'annulation)" }
            _ => { "le système" }
        }
    }
}

/// Failed messages (coordinators, admins), each with its "Renvoyer" button. The provider's error is shown by its
/// first word only (a code): the rest may quote an address.
pub async fn notifications(State(state): State<AppState>, me: ConsoleUser) -> Response {
    if !me.caller.may_oversee_delivery() {
        return me.refuse();
    }
    let listed = match api_input_query(&json!({ "status": "failed", "limit": 200 })) {
        Ok(params) => crate::http::notifications::list(State(state.clone()), me.caller.clone(), params).await,
        Err(error) => Err(error),
    };
    let failed = match listed {
        Ok(axum::Json(list)) => to_value(list).as_array().cloned().unwrap_or_default(),
        Err(error) => return me.failed(&error),
    };
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let body = html! {
        @if failed.is_empty() { p.ok { "Aucun message en échec." } }
        @else {
            table {
                thead { tr { th { "Prévu" } th { "Message" } th { "Essais" } th { "Erreur" } th { "Réservation" } th {} } }
                tbody { @for m in &failed {
                    tr {
                        td { (when(&text(&m["due_at"]))) }
                        td { (text(&m["kind"])) " · " (text(&m["channel"])) " · " (text(&m["recipient"])) }
                        td { (m["attempts"]) }
                        td { code { (text(&m["last_error"]).split_whitespace().next().unwrap_or_default()) } }
                        td { code { (text(&m["booking_id"])) } }
                        td { (layout::button_post(&format!("/console/notifications/{}/retry", text(&m["id"])),
                            &me.session.csrf_token, html! {}, "Renvoyer")) }
                    }
                } }
            }
        }
    };
    layout::page(&me, "Messages en échec", body)
}

pub async fn retry(
    State(state): State<AppState>,
    me: ConsoleUser,
    axum::extract::Path(id): axum::extract::Path<String>,
    axum::Form(form): axum::Form<super::CsrfForm>,
) -> Response {
    let sent_again = crate::http::notifications::retry(State(state), me.caller.clone(), axum::extract::Path(id));
    me.act(&form.csrf, "/console/notifications", sent_again).await
}

/// API keys (admins): who may call the API, created here (the key is shown once) and revoked here.
pub async fn api_keys(State(state): State<AppState>, me: ConsoleUser) -> Response {
    if !me.caller.may_manage_api_keys() {
        return me.refuse();
    }
    api_keys_page(&state, &me, None).await
}

async fn api_keys_page(state: &AppState, me: &ConsoleUser, issued: Option<&Value>) -> Response {
    let keys = match crate::http::api_keys::list(State(state.clone()), me.caller.clone()).await {
        Ok(axum::Json(list)) => to_value(list)["api_keys"].as_array().cloned().unwrap_or_default(),
        Err(error) => return me.failed(&error),
    };
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let roles = [
        ("regulator", "régulation (logiciel du SAS)"),
        ("publisher", "logiciel d'agenda (publie pour ses cabinets)"),
        ("professional", "un professionnel"),
        ("coordinator", "coordination"),
        ("admin", "administration"),
    ];
    let fields = html! {
        div.row {
            div { label for="key-name" { "Nom (qui l'utilise)" } input id="key-name" name="name" required maxlength="100"; }
            div { label for="key-role" { "Rôle" }
                select id="key-role" name="role" { @for (value, label) in roles { option value=(value) { (label) } } } }
        }
        div.row {
            div { label for="key-professional" { "Professionnel (rôle professionnel)" } input id="key-professional" name="professional_id"; }
            div { label for="key-practices" { "Cabinets, séparés par des virgules (logiciel d'agenda)" } input id="key-practices" name="practice_ids"; }
        }
    };
    let body = html! {
        @if let Some(issued) = issued {
            section.card role="status" {
                p.ok { "Clé créée. Elle n'est affichée qu'une fois : transmettez-la maintenant, par un canal sûr." }
                p { code { (text(&issued["key"])) } }
            }
        }
        table {
            thead { tr { th { "Nom" } th { "Rôle" } th { "Créée" } th { "État" } th {} } }
            tbody { @for k in &keys {
                tr {
                    td { (text(&k["name"])) br; code { (text(&k["id"])) } }
                    td { (text(&k["role"])) }
                    td { (when(&text(&k["created_at"]))) }
                    @if k["revoked_at"].is_null() {
                        td { "active" }
                        td { (layout::button_post(&format!("/console/api-keys/{}/revoke", text(&k["id"])), &me.session.csrf_token, html! {}, "Révoquer")) }
                    } @else {
                        td { "révoquée le " (when(&text(&k["revoked_at"]))) } td {}
                    }
                }
            } }
        }
        h2 { "Nouvelle clé" }
        (layout::form_post("/console/api-keys", &me.session.csrf_token, fields, "Créer la clé"))
    };
    layout::page(me, "Clés d'API", body)
}

#[derive(Debug, Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    professional_id: String,
    #[serde(default)]
    practice_ids: String,
}

pub async fn create_api_key(
    State(state): State<AppState>,
    me: ConsoleUser,
    axum::Form(form): axum::Form<KeyForm>,
) -> Response {
    if !me.form_is_ours(&form.csrf) {
        return forbidden_form();
    }
    let practices: Vec<&str> = form.practice_ids.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
    let mut input = json!({ "name": form.name.trim(), "role": form.role, "practice_ids": practices });
    if !form.professional_id.trim().is_empty() {
        input["professional_id"] = json!(form.professional_id.trim());
    }
    let created = match super::api_input(input) {
        Ok(input) => crate::http::api_keys::create(
            State(state.clone()),
            me.caller.clone(),
            Ok(crate::http::extract::Json(input)),
        )
        .await
        .map(IntoResponse::into_response),
        Err(error) => Err(error),
    };
    match created {
        Ok(response) => {
            let issued = response_json(response).await;
            api_keys_page(&state, &me, Some(&issued)).await
        }
        Err(error) => me.failed(&error),
    }
}

pub async fn revoke_api_key(
    State(state): State<AppState>,
    me: ConsoleUser,
    axum::extract::Path(id): axum::extract::Path<String>,
    axum::Form(form): axum::Form<super::CsrfForm>,
) -> Response {
    let revoked = crate::http::api_keys::revoke(State(state), me.caller.clone(), axum::extract::Path(id));
    me.act(&form.csrf, "/console/api-keys", revoked).await
}
