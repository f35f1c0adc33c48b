//! The console's page frame and its French: one layout (navigation by role, the logout form, the page's own
//! security headers), the wording of statuses, modalities and dates as people read them, and the mapping of the
//! API's errors to pages. Pages are built with `maud`, which escapes every value it is given.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, FixedOffset, Timelike};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::ConsoleUser;
use crate::domain::access::Role;
use crate::http::ApiError;
use crate::http::html::{STYLE, secure_headers};
use crate::notify::messages::{MONTHS, WEEKDAYS};

/// Wider pages, cards, tables, a navigation bar and a print style (the day sheet is printed).
const CONSOLE_STYLE: &str = "main.console{max-width:64rem}nav{background:#1d3557;padding:.5rem 1.5rem}\
    nav a{color:#fff;margin-right:1.2rem;font-weight:bold}nav form{display:inline}\
    nav button{margin:0;padding:.3rem .8rem;font-size:1rem;background:#fff;color:#1d3557;border-color:#fff}\
    .card{border:2px solid #555;border-radius:.5rem;padding:1rem;margin:1rem 0}\
    .card h2{margin:0 0 .3rem;font-size:1.3rem}.when{font-size:1.3rem;font-weight:bold}\
    .muted{color:#444}.ok{color:#14532d;font-weight:bold}.warn{color:#8b0000;font-weight:bold}\
    table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{border:1px solid #888;padding:.4rem;text-align:left;\
    vertical-align:top}th{background:#eee}select,textarea{font-size:1.1rem;padding:.5rem;width:100%;\
    box-sizing:border-box;border:2px solid #555;border-radius:.3rem}select:focus,textarea:focus,a:focus{outline:3px \
    solid #ffbf47;outline-offset:1px}.row{display:flex;gap:1rem;flex-wrap:wrap}.row>div{flex:1 1 12rem}\
    .inline{display:inline}.inline button{margin-top:.3rem;padding:.4rem .8rem;font-size:1rem}\
    button.secondary{background:#fff;color:#1d3557;border-color:#1d3557}.countdown{font-size:1.4rem}\
    @media print{nav,form,.noprint{display:none}main.console{max-width:none}body{font-size:11pt}}";

/// A console page: the frame around `body`, for the logged-in user.
pub fn page(me: &ConsoleUser, title: &str, body: Markup) -> Response {
    render(StatusCode::OK, Some(me), title, body, None)
}

/// A console page that reloads itself every `seconds` (notification statuses that move while the regulator
/// watches), without any script.
pub fn refreshing(me: &ConsoleUser, title: &str, body: Markup, seconds: u32) -> Response {
    render(StatusCode::OK, Some(me), title, body, Some(seconds))
}

pub fn with_status(status: StatusCode, me: Option<&ConsoleUser>, title: &str, body: Markup) -> Response {
    render(status, me, title, body, None)
}

fn render(status: StatusCode, me: Option<&ConsoleUser>, title: &str, body: Markup, refresh: Option<u32>) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="fr" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                @if let Some(seconds) = refresh { meta http-equiv="refresh" content=(seconds); }
                title { (title) " — console snp" }
                style { (PreEscaped(STYLE)) (PreEscaped(CONSOLE_STYLE)) }
                script src="/console/assets/console.js" defer {}
            }
            body {
                @if let Some(me) = me { (navigation(me)) }
                main.console {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    let mut response = (status, markup.into_string()).into_response();
    secure_headers(response.headers_mut());
    response
}

/// The links of a role, then who is logged in and the logout button.
fn navigation(me: &ConsoleUser) -> Markup {
    let links: &[(&str, &str)] = match me.user.role {
        Role::Regulator => &[("/console/regulation", "Recherche"), ("/console/regulation/bookings", "Réservations")],
        Role::Professional => &[
            ("/console/practice", "Mon agenda"),
            ("/console/practice/availability", "Disponibilités"),
            ("/console/practice/sheet", "Feuille du jour"),
        ],
        Role::Coordinator => &[
            ("/console/directory", "Annuaire"),
            ("/console/audit", "Journal d'audit"),
            ("/console/notifications", "Messages en échec"),
        ],
        Role::Admin => &[
            ("/console/regulation", "Recherche"),
            ("/console/directory", "Annuaire"),
            ("/console/audit", "Journal d'audit"),
            ("/console/notifications", "Messages en échec"),
            ("/console/api-keys", "Clés d'API"),
            ("/console/users", "Comptes"),
        ],
        Role::Publisher => &[],
    };
    html! {
        nav aria-label="Console" {
            a href="/console" { "Accueil" }
            @for (href, label) in links { a href=(href) { (label) } }
            a href="/console/password" { "Mot de passe" }
            (form_post("/console/logout", &me.session.csrf_token, html! {}, "Se déconnecter"))
        }
    }
}

/// A POST form carrying the session's CSRF token.
pub fn form_post(action: &str, csrf: &str, fields: Markup, button: &str) -> Markup {
    html! {
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            (fields)
            button type="submit" { (button) }
        }
    }
}

/// A small inline POST form (one button in a table row).
pub fn button_post(action: &str, csrf: &str, fields: Markup, button: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            (fields)
            button type="submit" { (button) }
        }
    }
}

pub fn alert(message: &str) -> Markup {
    html! { p.error role="alert" { (message) } }
}

/// The page for an API error met by a console action: what happened, in French, and what to do.
pub fn error_page(me: &ConsoleUser, error: &ApiError) -> Response {
    let (status, message) = french_error(error);
    with_status(status, Some(me), "Action impossible", html! { (alert(&message)) p { a href="/console" { "Retour" } } })
}

/// What an API error means for the person in front of the page.
pub fn french_error(error: &ApiError) -> (StatusCode, String) {
    let (status, problem) = error.problem();
    (status, french_problem(problem.code, &problem.detail, problem.errors.as_deref()))
}

/// What a problem of the API (its stable code, its field errors) means, in French. Also used for an answer
/// replayed from storage, which comes back as a problem document.
pub fn french_problem(code: &str, detail: &str, errors: Option<&[crate::domain::FieldError]>) -> String {
    match code {
        "slot_unavailable" => "Ce créneau vient d'être pris ou n'est plus disponible : relancez la recherche.".into(),
        "hold_expired" => "La réservation temporaire a expiré : relancez la recherche et réservez à nouveau.".into(),
        "hold_used" => "Ce créneau est déjà réservé avec cette réservation temporaire.".into(),
        "invalid_transition" => "Cette réservation a déjà changé d'état (annulée ou renseignée).".into(),
        "too_early" => "Le rendez-vous n'a pas encore commencé : renseignez-le après son heure de début.".into(),
        "idempotency_key_in_progress" => {
            "La même demande est encore en cours : patientez quelques secondes et rechargez la page.".into()
        }
        "slot_overlap" | "validation_failed" => {
            let fields: Vec<String> = errors
                .unwrap_or_default()
                .iter()
                .map(|e| format!("{} : {}", field_label(&e.field), french_message(&e.message)))
                .collect();
            let intro = if code == "slot_overlap" {
                "Ce créneau chevauche un créneau existant."
            } else {
                "Vérifiez le formulaire."
            };
            format!("{intro} {}", fields.join(" ; "))
        }
        "forbidden" => "Votre rôle ne permet pas cette action.".into(),
        "not_found" => "Introuvable : l'élément a peut-être été supprimé.".into(),
        "unavailable" | "internal_error" => {
            "Le service ne peut pas répondre pour l'instant : réessayez dans quelques instants.".into()
        }
        _ => detail.to_string(),
    }
}

/// The French name of a form field the API names (`slots[0].start` → "horaire", `skills[1]` → "compétences").
fn field_label(field: &str) -> String {
    let last = field.rsplit('.').next().unwrap_or(field);
    let last = last.split('[').next().unwrap_or(last);
    let label = match last {
        "first_name" => "prénom",
        "last_name" => "nom",
        "name" => "nom",
        "birth_date" => "date de naissance",
        "phone" => "téléphone",
        "email" => "email",
        "note" => "note",
        "motif" => "motif",
        "departement" => "département",
        "lat" | "lon" => "coordonnées",
        "location" => "lieu",
        "within_hours" => "délai",
        "modality" => "modalité",
        "start" | "end" => "horaire",
        "reason" => "motif",
        "kind" => "type",
        "address" => "adresse",
        "postal_code" => "code postal",
        "commune" => "commune",
        "timezone" => "fuseau horaire",
        "rpps" => "RPPS",
        "adeli" => "ADELI",
        "profession" => "profession",
        "skills" => "compétences",
        "practice_ids" | "practice_id" => "lieu d'exercice",
        "professional_id" => "professionnel",
        "home_visit_radius_km" => "rayon des visites à domicile",
        "weekdays" => "jours",
        "start_time" => "heure de début",
        "end_time" => "heure de fin",
        "slot_minutes" => "durée des créneaux",
        "valid_from" => "à partir du",
        "valid_until" => "jusqu'au",
        "from" => "du",
        "to" => "au",
        "password" | "new_password" => "mot de passe",
        other => other,
    };
    label.to_string()
}

/// A field message of the API (English, stable for clients) as the console's users read it. Messages not known
/// here are shown as they are rather than hidden.
fn french_message(message: &str) -> String {
    let known = match message {
        "must not be empty" => "à renseigner",
        "must not contain control characters" => "contient des caractères non imprimables",
        "a postal code has exactly 5 digits" => "5 chiffres exactement",
        "latitude must be between -90 and 90" => "latitude entre -90 et 90",
        "longitude must be between -180 and 180" => "longitude entre -180 et 180",
        "an RPPS number has exactly 11 digits" => "11 chiffres exactement",
        "an ADELI number has exactly 9 digits" => "9 chiffres exactement",
        "this RPPS number's check digit is wrong (Luhn): check for a typing error" => {
            "la clé du numéro est fausse : vérifiez la saisie"
        }
        "give either an RPPS or an ADELI number, not both" => "un numéro RPPS ou ADELI, pas les deux",
        "an RPPS number (or, for some professions, an ADELI number) is required" => "numéro RPPS (ou ADELI) requis",
        "a professional works in at least one practice" => "cochez au moins un lieu d'exercice",
        "this practice is deactivated" => "ce lieu est désactivé",
        "this professional is deactivated" => "ce professionnel est désactivé",
        "this professional does not work at this practice" => "ce professionnel n'exerce pas dans ce lieu",
        "this professional has no home-visit radius (home_visit_radius_km)" => {
            "ce professionnel ne fait pas de visites à domicile"
        }
        "its professional or practice has just been deactivated, or the professional left the practice" => {
            "le professionnel ou le lieu vient d'être désactivé, ou le professionnel a quitté ce lieu"
        }
        "must be between 1 and 100 km" => "entre 1 et 100 km",
        "is in the past" => "est déjà passé",
        "is in the future" => "est dans le futur",
        "must be after start" | "must be after from" => "doit être après le début",
        "must not be before from" | "must not be before valid_from" => "ne peut pas précéder le début",
        "must fall on a whole minute" => "à la minute près",
        "the absence is entirely in the past" => "l'absence est entièrement passée",
        "an absence lasts at most a year" => "une absence dure un an au plus",
        "name at least one weekday" => "cochez au moins un jour",
        "must differ from start_time (a window lasts less than a day)" => "doit différer de l'heure de début",
        "is in the past: the rule would never yield a slot" => "date passée : aucun créneau ne serait créé",
        "give at least a phone number or an email address, so the patient is told" => {
            "un téléphone ou un email, pour prévenir le patient"
        }
        "this reason has age bounds: give the patient's birth date" => "ce motif exige la date de naissance",
        "the patient's age is outside this reason's bounds" => "l'âge du patient ne correspond pas à ce motif",
        "this professional does not see patients of this age" => {
            "ce professionnel ne reçoit pas les patients de cet âge"
        }
        "no barycentre is known for this département: give coordinates" => {
            "département inconnu : indiquez des coordonnées"
        }
        "give lat and lon together, or a département" => "latitude et longitude ensemble, ou un département",
        "the password must not be the login" => "le mot de passe ne peut pas être l'identifiant",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    if let Some(max) = message.strip_prefix("must be at most ").and_then(|rest| rest.strip_suffix(" characters")) {
        return format!("{max} caractères au plus");
    }
    if message.starts_with("unknown field") {
        return "champ inconnu".into();
    }
    if message.starts_with("invalid type")
        || message.starts_with("invalid value")
        || message.starts_with("unknown variant")
    {
        return "valeur invalide".into();
    }
    if message.starts_with("no practice with id") {
        return "lieu introuvable".into();
    }
    if message.starts_with("no professional with id") || message == "no such professional" {
        return "professionnel introuvable".into();
    }
    if message.starts_with("unknown profession") {
        return "profession inconnue".into();
    }
    if message.starts_with("skill ") || message.starts_with("unknown skill") {
        return "compétence inconnue ou réservée à une autre profession".into();
    }
    message.to_string()
}

/// "mardi 24 novembre à 14:30" from a local RFC 3339 instant (the practice's wall clock).
pub fn local_when(rfc3339: &str) -> String {
    match DateTime::<FixedOffset>::parse_from_rfc3339(rfc3339) {
        Ok(t) => format!("{} à {:02}:{:02}", french_day(t.date_naive()), t.hour(), t.minute()),
        Err(_) => rfc3339.to_string(),
    }
}

/// "14:30" from a local RFC 3339 instant.
pub fn local_time(rfc3339: &str) -> String {
    DateTime::<FixedOffset>::parse_from_rfc3339(rfc3339)
        .map(|t| format!("{:02}:{:02}", t.hour(), t.minute()))
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// "mardi 24 novembre" (no year: the console shows days around today).
pub fn french_day(day: chrono::NaiveDate) -> String {
    format!(
        "{} {} {}",
        WEEKDAYS[day.weekday().num_days_from_monday() as usize],
        day.day(),
        MONTHS[day.month0() as usize]
    )
}

pub fn modality_label(raw: &str) -> &'static str {
    match raw {
        "in_person" => "au cabinet",
        "home_visit" => "à domicile",
        "teleconsultation" => "téléconsultation",
        _ => "autre",
    }
}

pub fn slot_status_label(raw: &str) -> &'static str {
    match raw {
        "free" => "libre",
        "held" => "en cours de réservation",
        "booked" => "réservé",
        "withdrawn" => "retiré",
        _ => "inconnu",
    }
}

pub fn booking_status_label(raw: &str) -> &'static str {
    match raw {
        "confirmed" => "confirmé",
        "cancelled" => "annulé",
        "attended" => "honoré",
        "no_show" => "non venu",
        _ => "inconnu",
    }
}

pub fn delivery_label(raw: &str) -> &'static str {
    match raw {
        "pending" => "en attente d'envoi",
        "sent" => "envoyé",
        "failed" => "échec",
        "withdrawn" => "retiré (sans objet)",
        _ => "inconnu",
    }
}

/// A script for what HTML alone cannot do: the hold's countdown. Pages work without it (the expiry time is
/// written in the page); it is served from the binary, never a CDN.
pub const SCRIPT: &str = include_str!("console.js");

pub async fn script() -> Response {
    let mut response = SCRIPT.into_response();
    let headers = response.headers_mut();
    secure_headers(headers);
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_in_french_on_the_practice_clock() {
        assert_eq!(local_when("2026-11-24T14:30:00+01:00"), "mardi 24 novembre à 14:30");
        assert_eq!(local_time("2026-03-29T03:05:00+02:00"), "03:05");
        assert_eq!(french_day(chrono::NaiveDate::from_ymd_opt(2027, 8, 15).unwrap()), "dimanche 15 août");
    }
}
