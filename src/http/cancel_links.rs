//! The patient's cancel link: `GET /r/{token}` shows the appointment and an "Annuler le rendez-vous" button;
//! `POST /r/{token}` cancels it (the slot is free again, the professional is told, the patient gets the
//! cancellation notice). Plain French HTML that works without JavaScript, on any phone.
//!
//! A GET never changes anything (mail scanners and link previews follow links); the button posts. A link
//! used, expired (the appointment has started) or unknown says so kindly, with what to do instead. The page
//! shows when, with whom and where — what the message already said — never the patient's identity: whoever
//! holds the link learns nothing more. Every answer carries `Referrer-Policy: no-referrer` (the token must not
//! leak to another site), `Cache-Control: no-store` and a strict Content-Security-Policy; the path (which
//! holds the token) is masked in the logs.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::bookings::appointment;
use super::html::Page;
use crate::domain::audit::{ActorKind, AuditEvent};
use crate::domain::booking::{Booking, BookingStatus};
use crate::domain::cancel_link::{CancelLink, token_digest};
use crate::domain::notification;
use crate::domain::slot::Slot;
use crate::notify::messages::{Details, escape_html, long_when, place};
use crate::store::{Cancellation, StoreError};

/// Who a link's cancellation is recorded as.
pub const CANCELLED_BY_PATIENT: &str = "patient";

const OTHER_APPOINTMENT: &str = "<p>Pour un autre rendez-vous, appelez le 15 ou le 116 117.</p>";

/// A link's booking, ready to be shown.
struct Found {
    link: CancelLink,
    booking: Booking,
    slot: Slot,
    details: Details,
}

pub async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Page {
    match find(&state, &token).await {
        Ok(found) => match spent(&state, &found) {
            Some(page) => page,
            None => Page {
                status: StatusCode::OK,
                title: "Votre rendez-vous",
                body: format!(
                    "{}\n<p>Vous ne pourrez pas venir ? Annulez-le : le créneau servira à un autre patient.</p>\n\
                     <form method=\"post\">\n<button type=\"submit\">Annuler le rendez-vous</button>\n</form>",
                    appointment_list(&found)
                ),
            },
        },
        Err(page) => page,
    }
}

pub async fn cancel(State(state): State<AppState>, Path(token): Path<String>, headers: HeaderMap) -> Page {
    let found = match find(&state, &token).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    if let Some(page) = spent(&state, &found) {
        return page;
    }
    let now = state.clock.now();
    let professional = match state.store.get_professional(&found.slot.professional_id).await {
        Ok(professional) => professional,
        Err(error) => return unavailable(&error),
    };
    let messages = notification::on_cancellation(
        &appointment(&found.booking, &found.slot, professional.as_ref()),
        now,
        super::new_id,
    );
    let cancellation = Cancellation {
        booking_id: &found.booking.id,
        by: CANCELLED_BY_PATIENT,
        reason: None,
        link_digest: Some(&found.link.token_digest),
    };
    match state.store.cancel_booking(&cancellation, now, &messages).await {
        Ok(()) => {
            tracing::info!(booking_id = %found.booking.id, "booking cancelled through the patient's link");
            let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string);
            let event = AuditEvent {
                id: super::new_id(),
                at: now,
                actor_kind: ActorKind::Patient,
                actor_id: None,
                role: None,
                action: "booking.cancel".into(),
                target_type: "booking".into(),
                target_id: Some(found.booking.id.clone()),
                request_id,
                detail: Some("cancel link".into()),
            };
            super::audit::append(&state, vec![event]).await;
            Page {
                status: StatusCode::OK,
                title: "Votre rendez-vous est annulé",
                body: format!(
                    "{}\n<p>Le cabinet est prévenu. Merci d'avoir libéré ce créneau.</p>\n{OTHER_APPOINTMENT}",
                    appointment_list(&found)
                ),
            }
        }
        // Cancelled meanwhile (by another click, the regulator, the professional), or it just started.
        Err(StoreError::LinkSpent | StoreError::InvalidTransition { .. }) => match find(&state, &token).await {
            Ok(found) => spent(&state, &found).unwrap_or_else(|| unavailable(&StoreError::LinkSpent)),
            Err(page) => page,
        },
        Err(error) => unavailable(&error),
    }
}

/// The link's booking with its slot, professional and practice; a page when there is none to show.
async fn find(state: &AppState, token: &str) -> Result<Found, Page> {
    let unknown = || Page {
        status: StatusCode::NOT_FOUND,
        title: "Lien non valable",
        body: "<p>Ce lien ne correspond à aucun rendez-vous. Vérifiez qu'il est complet (copiez-le en entier \
               depuis votre message), ou appelez le cabinet.</p>"
            .into(),
    };
    let Some(digest) = token_digest(token) else { return Err(unknown()) };
    let store = &state.store;
    let link = store.get_cancel_link(&digest).await.map_err(|e| unavailable(&e))?.ok_or_else(unknown)?;
    let booking = store.get_booking(&link.booking_id).await.map_err(|e| unavailable(&e))?.ok_or_else(unknown)?;
    let slot = store.get_slot(&booking.slot_id).await.map_err(|e| unavailable(&e))?.ok_or_else(unknown)?;
    let professional =
        store.get_professional(&slot.professional_id).await.map_err(|e| unavailable(&e))?.ok_or_else(unknown)?;
    let practice = store.get_practice(&slot.practice_id).await.map_err(|e| unavailable(&e))?.ok_or_else(unknown)?;
    let details = Details::new(&booking, &professional, &practice, &state.catalogue, &state.motifs);
    Ok(Found { link, booking, slot, details })
}

/// The page of a link that can no longer cancel: the booking is cancelled already, or its time has come.
fn spent(state: &AppState, found: &Found) -> Option<Page> {
    let when = escape_html(&long_when(found.slot.start, found.slot.timezone));
    if found.booking.status == BookingStatus::Cancelled {
        return Some(Page {
            status: StatusCode::GONE,
            title: "Rendez-vous déjà annulé",
            body: format!(
                "<p>Le rendez-vous du {when} est déjà annulé : vous n'avez rien d'autre à faire.</p>\n{OTHER_APPOINTMENT}"
            ),
        });
    }
    let now = state.clock.now();
    if found.booking.status != BookingStatus::Confirmed || now >= found.link.expires_at || found.link.used_at.is_some()
    {
        let call = match &found.details.practice_phone {
            Some(phone) => format!(" Pour toute question, appelez le cabinet au {}.", escape_html(phone)),
            None => String::new(),
        };
        return Some(Page {
            status: StatusCode::GONE,
            title: "Lien expiré",
            body: format!(
                "<p>Ce lien n'est plus valable : le rendez-vous du {when} a commencé ou est passé, et ne peut plus \
                 être annulé en ligne.{call}</p>"
            ),
        });
    }
    None
}

/// When, with whom, where.
fn appointment_list(found: &Found) -> String {
    let context = found.details.context(&found.booking, &found.slot, None);
    let mut rows = vec![
        ("Quand", long_when(found.slot.start, found.slot.timezone)),
        ("Avec", format!("{}, {}", context.professional_name, context.profession_title)),
        ("Où", place(&context)),
    ];
    if let Some(phone) = context.practice_phone {
        rows.push(("Téléphone du cabinet", phone.to_string()));
    }
    let items: Vec<String> =
        rows.iter().map(|(term, value)| format!("<dt>{term}</dt><dd>{}</dd>", escape_html(value))).collect();
    format!("<dl>\n{}\n</dl>", items.join("\n"))
}

/// The database could not answer: say so, and what to do meanwhile. (The error goes to the log, ids only.)
fn unavailable(error: &StoreError) -> Page {
    tracing::error!(%error, "patient page: the store failed");
    Page {
        status: StatusCode::SERVICE_UNAVAILABLE,
        title: "Service momentanément indisponible",
        body: "<p>Nous ne pouvons pas afficher votre rendez-vous pour l'instant. Réessayez dans quelques minutes, \
               ou appelez le cabinet.</p>"
            .into(),
    }
}

/// The answer once a client has spent its requests for the minute.
pub fn too_many_requests() -> Response {
    let mut response = Page {
        status: StatusCode::TOO_MANY_REQUESTS,
        title: "Trop de demandes",
        body: "<p>Trop de demandes depuis votre connexion. Réessayez dans une minute.</p>".into(),
    }
    .into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    response
}
