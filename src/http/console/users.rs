//! Console accounts, for admins: list them, create one (its password generated and shown once), change a role
//! (the account's principal follows), disable or enable, and reset a password (every session ends, a lock-out is
//! lifted, the new one is shown once). An admin does not demote or disable their own account: a territory must
//! never be left without anyone able to manage it. Each action is in the audit trail, by the admin who did it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Value, json};

use super::layout::{self, alert, button_post, form_post};
use super::{ConsoleUser, FormFields, api_input_query, forbidden_form, role_label, to_value};
use crate::accounts::{self, UserRequest};
use crate::domain::access::Role;
use crate::domain::user::User;
use crate::http::audit::{self, Change};
use crate::http::{ApiError, AppState, professionals};

/// The roles a person logs in with (`publisher` is for agenda software).
const PERSON_ROLES: [Role; 4] = [Role::Regulator, Role::Professional, Role::Coordinator, Role::Admin];

pub async fn page(State(state): State<AppState>, me: ConsoleUser) -> Response {
    if me.user.role != Role::Admin {
        return me.refuse();
    }
    users_page(&state, &me, None, StatusCode::OK).await
}

/// What to show above the list: a refusal, or a password to hand over once.
enum Notice {
    Refused(String),
    Password { email: String, password: String },
}

async fn users_page(state: &AppState, me: &ConsoleUser, notice: Option<Notice>, status: StatusCode) -> Response {
    let read = async {
        let users = state.store.list_users().await?;
        let query = api_input_query(&json!({ "limit": 1000 }))?;
        let axum::Json(list) = professionals::list(State(state.clone()), me.caller.clone(), query).await?;
        Ok::<_, ApiError>((users, to_value(list)["professionals"].as_array().cloned().unwrap_or_default()))
    };
    let (users, professional_rows) = match read.await {
        Ok(found) => found,
        Err(error) => return me.failed(&error),
    };
    let now = state.clock.now();
    let professional_name = |id: &str| {
        professional_rows
            .iter()
            .find(|p| p["id"] == id)
            .map(|p| format!("{} {}", text(&p["first_name"]), text(&p["last_name"])))
            .unwrap_or_else(|| id.to_string())
    };
    let body = html! {
        @match &notice {
            Some(Notice::Refused(message)) => (alert(message)),
            Some(Notice::Password { email, password }) => section.card role="status" {
                p.ok { "Mot de passe de " (email) ", affiché une seule fois : transmettez-le de vive voix ou par un canal sûr. "
                        "Il pourra le changer après sa connexion." }
                p { code { (password) } }
            },
            None => {},
        }
        table {
            thead { tr { th { "Identifiant" } th { "Rôle" } th { "État" } th { "Actions" } } }
            tbody { @for user in &users {
                tr {
                    td { (user.email) }
                    td { (role_label(user.role))
                         @if let Some(id) = &user.professional_id { br; small { (professional_name(id)) } } }
                    td { (account_state(user, now)) }
                    td { @if user.id == me.user.id { small { "votre compte" } } @else { (actions(me, user, &professional_rows)) } }
                }
            } }
        }
        h2 { "Nouveau compte" }
        (create_form(me, &professional_rows))
    };
    layout::with_status(status, Some(me), "Comptes de la console", body)
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn account_state(user: &User, now: chrono::DateTime<chrono::Utc>) -> Markup {
    if user.disabled_at.is_some() {
        return html! { span.warn { "Désactivé" } };
    }
    match user.locked_until.filter(|until| *until > now) {
        Some(until) => {
            let local = until.with_timezone(&super::regulation::CONSOLE_ZONE).to_rfc3339();
            html! { span.warn { "Verrouillé" } br; small { "jusqu'à " (layout::local_time(&local)) } }
        }
        None => html! { "Actif" },
    }
}

fn role_select(id: &str, selected: Option<Role>) -> Markup {
    html! {
        select id=(id) name="role" {
            @for role in PERSON_ROLES { option value=(role.as_str()) selected[selected == Some(role)] { (role_label(role)) } }
        }
    }
}

fn professional_select(id: &str, professional_rows: &[Value], selected: Option<&str>) -> Markup {
    html! {
        select id=(id) name="professional_id" {
            option value="" { "— aucun (sauf rôle professionnel de santé) —" }
            @for p in professional_rows {
                @let pid = text(&p["id"]);
                option value=(pid) selected[selected == Some(pid.as_str())] {
                    (text(&p["last_name"]).to_uppercase()) " " (text(&p["first_name"])) }
            }
        }
    }
}

fn actions(me: &ConsoleUser, user: &User, professional_rows: &[Value]) -> Markup {
    let csrf = &me.session.csrf_token;
    let base = format!("/console/users/{}", user.id);
    let access = html! {
        label for=(format!("role-{}", user.id)) { "Rôle" }
        (role_select(&format!("role-{}", user.id), Some(user.role)))
        label for=(format!("pro-{}", user.id)) { "Professionnel" }
        (professional_select(&format!("pro-{}", user.id), professional_rows, user.professional_id.as_deref()))
    };
    html! {
        details { summary { "Changer le rôle" } (form_post(&format!("{base}/access"), csrf, access, "Changer le rôle")) }
        @if user.disabled_at.is_some() {
            (button_post(&format!("{base}/enable"), csrf, html! {}, "Réactiver"))
        } @else {
            (button_post(&format!("{base}/disable"), csrf, html! {}, "Désactiver"))
        }
        " " (button_post(&format!("{base}/password"), csrf, html! {}, "Nouveau mot de passe"))
    }
}

fn create_form(me: &ConsoleUser, professional_rows: &[Value]) -> Markup {
    let fields = html! {
        div.row {
            div { label for="user-email" { "Identifiant (email)" } input id="user-email" name="email" type="email" required maxlength="254"; }
            div { label for="user-role" { "Rôle" } (role_select("user-role", None)) }
        }
        label for="user-professional" { "Professionnel (rôle professionnel de santé)" }
        (professional_select("user-professional", professional_rows, None))
    };
    form_post("/console/users", &me.session.csrf_token, fields, "Créer le compte")
}

/// An admin's form: the token and the role checked, then its fields.
fn admin_form(me: &ConsoleUser, body: &str) -> Result<FormFields, Box<Response>> {
    let fields = FormFields::parse(body);
    if !me.form_is_ours(&fields.one("csrf")) {
        return Err(Box::new(forbidden_form()));
    }
    if me.user.role != Role::Admin {
        return Err(Box::new(me.refuse()));
    }
    Ok(fields)
}

fn chosen_access(fields: &FormFields) -> Result<(Role, Option<String>), ApiError> {
    let role = Role::parse(&fields.one("role"))
        .filter(|role| PERSON_ROLES.contains(role))
        .ok_or_else(|| ApiError::invalid("role", "not a role a person logs in with"))?;
    let professional_id = Some(fields.one("professional_id")).filter(|id| !id.is_empty());
    Ok((role, professional_id))
}

pub async fn create(State(state): State<AppState>, me: ConsoleUser, body: String) -> Response {
    let fields = match admin_form(&me, &body) {
        Ok(fields) => fields,
        Err(refused) => return *refused,
    };
    let created = async {
        let (role, professional_id) = chosen_access(&fields)?;
        let password = accounts::generated_password().map_err(ApiError::from)?;
        let request = UserRequest { email: fields.one("email"), role, professional_id, password: password.clone() };
        let user = accounts::create_user(state.store.as_ref(), request, state.clock.now()).await?;
        let detail = Some(format!("role {}", user.role.as_str()));
        let change = Change { action: "user.create", target_type: "user", target_ids: &[&user.id], detail };
        audit::changed(&state, &me.caller, change).await;
        Ok::<_, ApiError>(Notice::Password { email: user.email, password })
    };
    match created.await {
        Err(ApiError::Conflict(_)) => {
            let message = "Un compte existe déjà avec cet identifiant.".to_string();
            users_page(&state, &me, Some(Notice::Refused(message)), StatusCode::CONFLICT).await
        }
        outcome => shown(&state, &me, outcome).await,
    }
}

/// The list again, with the password to hand over or what went wrong.
async fn shown(state: &AppState, me: &ConsoleUser, outcome: Result<Notice, ApiError>) -> Response {
    match outcome {
        Ok(notice) => users_page(state, me, Some(notice), StatusCode::OK).await,
        Err(error) => {
            let (status, message) = layout::french_error(&error);
            users_page(state, me, Some(Notice::Refused(message)), status).await
        }
    }
}

/// Changes an account: `access` (role), `disable`, `enable` or `password` (reset).
pub async fn change(
    State(state): State<AppState>,
    me: ConsoleUser,
    Path((id, action)): Path<(String, String)>,
    body: String,
) -> Response {
    let fields = match admin_form(&me, &body) {
        Ok(fields) => fields,
        Err(refused) => return *refused,
    };
    if id == me.user.id {
        let refusal = "Vous ne pouvez pas modifier votre propre compte ici (mot de passe : page « Mot de passe »).";
        return users_page(&state, &me, Some(Notice::Refused(refusal.into())), StatusCode::CONFLICT).await;
    }
    let user = match state.store.get_user(&id).await {
        Ok(Some(user)) => user,
        Ok(None) => return me.failed(&ApiError::NotFound("No such account.".into())),
        Err(error) => return me.failed(&error.into()),
    };
    let (store, now) = (state.store.as_ref(), state.clock.now());
    let done = async {
        let (audited, detail, notice) = match action.as_str() {
            "access" => {
                let (role, professional_id) = chosen_access(&fields)?;
                accounts::change_access(store, &id, role, professional_id.as_deref()).await?;
                ("user.role", Some(format!("role {}", role.as_str())), None)
            }
            "disable" => {
                store.set_user_disabled(&id, Some(now), now).await?;
                ("user.disable", None, None)
            }
            "enable" => {
                store.set_user_disabled(&id, None, now).await?;
                ("user.enable", None, None)
            }
            "password" => {
                let password = accounts::reset_password(store, &id, now).await?;
                ("user.password_reset", None, Some(Notice::Password { email: user.email.clone(), password }))
            }
            _ => return Err(ApiError::NotFound("No such account action.".into())),
        };
        let change = Change { action: audited, target_type: "user", target_ids: &[&id], detail };
        audit::changed(&state, &me.caller, change).await;
        Ok::<_, ApiError>(notice)
    };
    match done.await {
        Ok(None) => Redirect::to("/console/users").into_response(),
        Ok(Some(notice)) => users_page(&state, &me, Some(notice), StatusCode::OK).await,
        Err(error) => shown(&state, &me, Err(error)).await,
    }
}
