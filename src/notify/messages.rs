//! What the messages say, in French: the patient's confirmation, reminder and cancellation (SMS and email), and
//! the professional's notice of a booking or a cancellation (email).
//!
//! Health data: never the reason, the note, a skill or anything medical. The profession's title is said to the
//! patient (they must know whom they are seeing), never a specialty. The professional's email says when and
//! where, not who: the patient's identity is read in the console or the API, where it is audited, not left in a
//! mailbox.
//!
//! SMS are written in the GSM 7-bit alphabet (letters outside it, like "ê", are folded to their base letter:
//! one character outside it would switch the whole message to UCS-2 and halve its length) and fit in two
//! segments (306 characters); details are dropped, least useful first, when they would not.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;

use std::collections::BTreeMap;

use crate::domain::booking::Booking;
use crate::domain::catalogue::Catalogue;
use crate::domain::motif::MotifDef;
use crate::domain::notification::Kind;
use crate::domain::practice::Practice;
use crate::domain::professional::Professional;
use crate::domain::slot::{Modality, Slot};

/// Everything a message may say about a booking.
pub struct Context<'a> {
    pub booking_id: &'a str,
    /// `None` once the patient's data is erased.
    pub patient_birth_date: Option<NaiveDate>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub timezone: Tz,
    pub modality: Modality,
    pub professional_name: &'a str,
    /// "médecin généraliste", "masseur-kinésithérapeute"…
    pub profession_title: &'a str,
    pub practice_name: &'a str,
    pub practice_address: &'a str,
    pub practice_phone: Option<&'a str>,
    pub prescription_required: bool,
    /// The patient's single-use cancel link, when there is one.
    pub cancel_url: Option<&'a str>,
}

/// What messages (and the patient's page) say about a booking beyond the booking and its slot: who and
/// where, gathered from the store's rows once.
pub struct Details {
    pub professional_name: String,
    pub profession_title: String,
    pub practice_name: String,
    pub practice_address: String,
    pub practice_phone: Option<String>,
    pub prescription_required: bool,
}

impl Details {
    pub fn new(
        booking: &Booking,
        professional: &Professional,
        practice: &Practice,
        catalogue: &Catalogue,
        motifs: &BTreeMap<String, MotifDef>,
    ) -> Details {
        // "Médecin généraliste" reads "médecin généraliste" in a sentence.
        let profession_title = match catalogue.professions.get(&professional.profession) {
            Some(def) => lowercase_first(&def.title),
            None => professional.profession.clone(),
        };
        Details {
            professional_name: format!("{} {}", professional.first_name, professional.last_name),
            profession_title,
            practice_name: practice.name.clone(),
            practice_address: format!("{}, {} {}", practice.address, practice.postal_code, practice.commune),
            practice_phone: practice.phone.clone(),
            prescription_required: motifs.get(&booking.motif).is_some_and(|m| m.prescription_required),
        }
    }

    pub fn context<'a>(&'a self, booking: &'a Booking, slot: &Slot, cancel_url: Option<&'a str>) -> Context<'a> {
        Context {
            booking_id: &booking.id,
            patient_birth_date: booking.patient.as_ref().map(|p| p.birth_date),
            start: slot.start,
            end: slot.end,
            timezone: slot.timezone,
            modality: slot.modality,
            professional_name: &self.professional_name,
            profession_title: &self.profession_title,
            practice_name: &self.practice_name,
            practice_address: &self.practice_address,
            practice_phone: self.practice_phone.as_deref(),
            prescription_required: self.prescription_required,
            cancel_url,
        }
    }
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_lowercase().chain(chars).collect()).unwrap_or_default()
}

/// An email: subject, plain text and HTML bodies, and the calendar file for the patient.
#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub ics: Option<String>,
}

/// French weekday and month names (also the console's).
pub const WEEKDAYS: [&str; 7] = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"];
pub const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// The zone spelled out for a patient outside mainland France; nothing for Paris.
pub fn zone_label(zone: Tz) -> Option<&'static str> {
    Some(match zone.name() {
        "Europe/Paris" => return None,
        "Indian/Reunion" => "heure de La Réunion",
        "Indian/Mayotte" => "heure de Mayotte",
        "America/Guadeloupe" => "heure de la Guadeloupe",
        "America/Martinique" => "heure de la Martinique",
        "America/Cayenne" => "heure de la Guyane",
        "America/Miquelon" => "heure de Saint-Pierre-et-Miquelon",
        "America/St_Barthelemy" => "heure de Saint-Barthélemy",
        "America/Marigot" => "heure de Saint-Martin",
        "Pacific/Noumea" => "heure de la Nouvelle-Calédonie",
        "Pacific/Tahiti" => "heure de Tahiti",
        "Pacific/Wallis" => "heure de Wallis-et-Futuna",
        _ => "heure locale",
    })
}

/// "mercredi 25 novembre à 10 h 00 (heure de La Réunion)".
pub fn long_when(start: DateTime<Utc>, zone: Tz) -> String {
    let local = start.with_timezone(&zone);
    let mut when = format!(
        "{} {} {} à {} h {:02}",
        WEEKDAYS[local.weekday().num_days_from_monday() as usize],
        local.day(),
        MONTHS[local.month0() as usize],
        local.hour(),
        local.minute()
    );
    if let Some(label) = zone_label(zone) {
        when.push_str(&format!(" ({label})"));
    }
    when
}

/// "mer. 25/11 à 10h00" (+ the zone), for SMS.
fn short_when(start: DateTime<Utc>, zone: Tz) -> String {
    let local = start.with_timezone(&zone);
    let day = &WEEKDAYS[local.weekday().num_days_from_monday() as usize][..3];
    let mut when = format!("{day}. {:02}/{:02} à {}h{:02}", local.day(), local.month(), local.hour(), local.minute());
    if let Some(label) = zone_label(zone) {
        when.push_str(&format!(" ({label})"));
    }
    when
}

/// What to bring: the carte Vitale always; the prescription when the reason requires one; a child's health booklet.
fn what_to_bring(c: &Context<'_>) -> Vec<&'static str> {
    let mut bring = vec!["votre carte Vitale"];
    if c.prescription_required {
        bring.push("votre ordonnance");
    }
    let day = c.start.with_timezone(&c.timezone).date_naive();
    if c.patient_birth_date.and_then(|born| day.years_since(born)).is_some_and(|years| years < 18) {
        bring.push("le carnet de santé de l'enfant");
    }
    bring
}

/// Where: the practice and its address, or the modality.
pub fn place(c: &Context<'_>) -> String {
    match c.modality {
        Modality::HomeVisit => "à domicile".to_string(),
        Modality::Teleconsultation => "en téléconsultation".to_string(),
        Modality::InPerson => format!("{}, {}", c.practice_name, c.practice_address),
    }
}

/// The SMS for a patient, in GSM 7-bit, at most two segments.
pub fn patient_sms(kind: Kind, c: &Context<'_>) -> String {
    let when = short_when(c.start, c.timezone);
    let with = format!("{}, {}", c.professional_name, c.profession_title);
    let cancel = c.cancel_url.map(|url| format!(" Annuler : {url}")).unwrap_or_default();
    // From the fullest to the shortest: the first that fits two segments is sent.
    let candidates: Vec<String> = match kind {
        Kind::Confirmation => vec![
            format!("RDV confirmé {when} avec {with}, {}. Apportez {}.{cancel}", place(c), what_to_bring(c).join(", ")),
            format!("RDV confirmé {when} avec {with}, {}.{cancel}", place(c)),
            format!("RDV confirmé {when} avec {}, {}.{cancel}", c.professional_name, c.practice_name),
        ],
        Kind::Reminder => vec![
            format!("Rappel : RDV {when} avec {with}, {}.{cancel}", place(c)),
            format!("Rappel : RDV {when} avec {}, {}.{cancel}", c.professional_name, c.practice_name),
        ],
        Kind::Cancellation => vec![
            format!(
                "Votre RDV du {when} avec {} est annulé. Pour un autre rendez-vous, appelez le 15 ou le 116 117.",
                c.professional_name
            ),
            format!("Votre RDV du {when} est annulé. Pour un autre rendez-vous, appelez le 15 ou le 116 117."),
        ],
    };
    let mut texts = candidates.into_iter().map(|t| to_gsm7(&t));
    let shortest = texts.next_back();
    texts.find(|t| gsm7_segments(t) <= 2).or(shortest).unwrap_or_default()
}

/// The patient's email for a confirmation, a reminder or a cancellation, with its calendar file.
pub fn patient_email(kind: Kind, c: &Context<'_>, now: DateTime<Utc>) -> Email {
    let when = long_when(c.start, c.timezone);
    let (subject, lead) = match kind {
        Kind::Confirmation => (format!("Votre rendez-vous du {when}"), "Votre rendez-vous est confirmé."),
        Kind::Reminder => (format!("Rappel : votre rendez-vous du {when}"), "Nous vous rappelons votre rendez-vous."),
        Kind::Cancellation => (format!("Rendez-vous annulé : {when}"), "Votre rendez-vous est annulé."),
    };
    let mut lines = vec![
        "Bonjour,".to_string(),
        String::new(),
        lead.to_string(),
        String::new(),
        format!("Quand : {when}"),
        format!("Avec : {}, {}", c.professional_name, c.profession_title),
        format!("Où : {}", place(c)),
    ];
    if let Some(phone) = c.practice_phone {
        lines.push(format!("Téléphone du cabinet : {phone}"));
    }
    match kind {
        Kind::Cancellation => {
            lines.push(String::new());
            lines.push("Pour un autre rendez-vous, appelez le 15 ou le 116 117.".to_string());
        }
        _ => {
            lines.push(format!("À apporter : {}.", what_to_bring(c).join(", ")));
            if let Some(url) = c.cancel_url {
                lines.push(String::new());
                lines.push(format!("Vous ne pourrez pas venir ? Annulez pour libérer le créneau : {url}"));
            }
        }
    }
    let text = lines.join("\n") + "\n";
    let cancelled = kind == Kind::Cancellation;
    let ics = super::ics::calendar(
        &super::ics::Event {
            booking_id: c.booking_id,
            start: c.start,
            end: c.end,
            summary: &format!("Rendez-vous avec {}", c.professional_name),
            location: &place(c),
            cancelled,
            sequence: u32::from(cancelled),
        },
        now,
    );
    Email { subject, html: html_of(&text), text, ics: Some(ics) }
}

/// The professional's email: when and where a booking was made or cancelled — not who (see the module).
pub fn professional_email(kind: Kind, c: &Context<'_>) -> Email {
    let when = long_when(c.start, c.timezone);
    let (subject, lead) = match kind {
        Kind::Cancellation => {
            (format!("Rendez-vous annulé : {when}"), "Un rendez-vous pris par la régulation est annulé.")
        }
        _ => (format!("Nouveau rendez-vous : {when}"), "Un rendez-vous a été pris par la régulation (SAS)."),
    };
    let text = [
        "Bonjour,".to_string(),
        String::new(),
        lead.to_string(),
        String::new(),
        format!("Quand : {when}"),
        format!("Où : {}", place(c)),
        format!("Référence : {}", c.booking_id),
        String::new(),
        "Le patient et ses coordonnées sont dans vos rendez-vous snp.".to_string(),
    ]
    .join("\n")
        + "\n";
    Email { subject, html: html_of(&text), text, ics: None }
}

/// The professional's SMS, for one who gave no email: when and where, not who (as the email).
pub fn professional_sms(kind: Kind, c: &Context<'_>) -> String {
    let when = short_when(c.start, c.timezone);
    let text = match kind {
        Kind::Cancellation => format!("SAS : le RDV du {when} ({}) est annulé. Réf. {}", place_short(c), c.booking_id),
        _ => format!(
            "SAS : nouveau RDV {when} ({}). Patient et coordonnées dans vos rendez-vous snp. Réf. {}",
            place_short(c),
            c.booking_id
        ),
    };
    to_gsm7(&text)
}

/// Where, in a few words: the practice's name, or the modality.
fn place_short(c: &Context<'_>) -> String {
    match c.modality {
        Modality::HomeVisit => "à domicile".to_string(),
        Modality::Teleconsultation => "téléconsultation".to_string(),
        Modality::InPerson => c.practice_name.to_string(),
    }
}

/// Text made safe inside HTML elements and double-quoted attributes (the only quoting used).
pub fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The HTML body: the same lines, escaped, links made clickable.
fn html_of(text: &str) -> String {
    let body: Vec<String> = text
        .lines()
        .map(|line| {
            let escaped = escape_html(line);
            match escaped.find("https://") {
                Some(at) => {
                    let url = &escaped[at..];
                    format!("<p>{}<a href=\"{url}\">{url}</a></p>", &escaped[..at])
                }
                None if escaped.is_empty() => String::new(),
                None => format!("<p>{escaped}</p>"),
            }
        })
        .filter(|l| !l.is_empty())
        .collect();
    format!(
        "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"></head><body>\n{}\n</body></html>\n",
        body.join("\n")
    )
}

/// The GSM 03.38 basic alphabet (what one SMS segment carries at 7 bits per character).
const GSM7: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// Characters of the extension table: two septets each.
const GSM7_EXTENSION: &str = "^{}\\[~]|€";

/// Folds a text into the GSM 7-bit alphabet: accented letters outside it lose their accent, typographic
/// punctuation becomes plain, anything else unknown becomes "?".
pub fn to_gsm7(text: &str) -> String {
    text.chars()
        .flat_map(|c| -> Vec<char> {
            if GSM7.contains(c) || GSM7_EXTENSION.contains(c) {
                return vec![c];
            }
            let folded: &str = match c {
                'à' | 'â' | 'á' | 'ã' => "a",
                'À' | 'Â' | 'Á' | 'Ã' => "A",
                'ê' | 'ë' => "e",
                'È' | 'Ê' | 'Ë' => "E",
                'î' | 'ï' | 'í' => "i",
                'Î' | 'Ï' | 'Í' | 'Ì' => "I",
                'ô' | 'ó' | 'õ' => "o",
                'Ô' | 'Ó' | 'Ò' | 'Õ' => "O",
                'û' | 'ú' => "u",
                'Û' | 'Ú' | 'Ù' => "U",
                'ç' => "c",
                'œ' => "oe",
                'Œ' => "OE",
                'ÿ' => "y",
                '’' | '‘' | '´' => "'",
                '«' | '»' | '“' | '”' => "\"",
                '–' | '—' | '‑' => "-",
                '\u{a0}' | '\u{202f}' => " ",
                '…' => "...",
                _ => "?",
            };
            folded.chars().collect()
        })
        .collect()
}

/// How many segments a GSM 7-bit text takes: 160 septets alone, 153 per part when split.
pub fn gsm7_segments(text: &str) -> usize {
    let septets: usize = text.chars().map(|c| if GSM7_EXTENSION.contains(c) { 2 } else { 1 }).sum();
    if septets <= 160 { 1 } else { septets.div_ceil(153) }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn context<'a>(zone: Tz, start: DateTime<Utc>, cancel_url: Option<&'a str>) -> Context<'a> {
        Context {
            booking_id: "b-1",
            patient_birth_date: NaiveDate::from_ymd_opt(1988, 3, 14),
            start,
            end: start + chrono::Duration::minutes(15),
            timezone: zone,
            modality: Modality::InPerson,
            professional_name: "Claire Lefebvre",
            profession_title: "médecin généraliste",
            practice_name: "Maison de santé du Perrey",
            practice_address: "12 rue de l'Église, 76600 Le Havre",
            practice_phone: Some("+33235000000"),
            prescription_required: false,
            cancel_url,
        }
    }

    fn wednesday_10_paris() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()
    }

    #[test]
    fn the_patient_sms_says_when_where_with_whom_and_what_to_bring_in_two_segments_of_gsm7() {
        let url = "https://snp.example.fr/r/Zk3kR9q2b7YtXnP0aLmC4sVwE8uH1jGd";
        let sms = patient_sms(Kind::Confirmation, &context(chrono_tz::Europe::Paris, wednesday_10_paris(), Some(url)));
        assert_eq!(
            sms,
            format!(
                "RDV confirmé mer. 25/11 à 10h00 avec Claire Lefebvre, médecin généraliste, Maison de santé du \
                 Perrey, 12 rue de l'Église, 76600 Le Havre. Apportez votre carte Vitale. Annuler : {url}"
            )
        );
        assert!(sms.chars().all(|c| GSM7.contains(c) || GSM7_EXTENSION.contains(c)));
        assert!(gsm7_segments(&sms) <= 2);
    }

    #[test]
    fn a_long_sms_drops_details_rather_than_spill_into_a_third_segment() {
        let long_address = "Centre de santé intercommunal des Hauts-de-Seine Nord, bâtiment C, 3e étage, \
                            127 boulevard du Général-de-Gaulle prolongé, 92230 Gennevilliers";
        let url = "https://snp.example.fr/r/Zk3kR9q2b7YtXnP0aLmC4sVwE8uH1jGd";
        let mut c = context(chrono_tz::Indian::Reunion, wednesday_10_paris(), Some(url));
        c.practice_address = long_address;
        c.prescription_required = true;
        let sms = patient_sms(Kind::Confirmation, &c);
        assert!(gsm7_segments(&sms) <= 2, "{} septets: {sms}", sms.chars().count());
        assert!(sms.contains("(heure de La Réunion)") && sms.contains(url), "{sms}");
        // What went first: the address and the things to bring; who and where remain.
        assert!(sms.contains("Claire Lefebvre, Maison de santé du Perrey") && !sms.contains("Gennevilliers"), "{sms}");
    }

    #[test]
    fn the_professional_s_sms_says_when_and_where_but_not_who() {
        let c = context(chrono_tz::Europe::Paris, wednesday_10_paris(), None);
        let sms = professional_sms(Kind::Confirmation, &c);
        assert_eq!(
            sms,
            "SAS : nouveau RDV mer. 25/11 à 10h00 (Maison de santé du Perrey). Patient et coordonnées dans vos \
             rendez-vous snp. Réf. b-1"
        );
        let cancelled = professional_sms(Kind::Cancellation, &c);
        assert_eq!(cancelled, "SAS : le RDV du mer. 25/11 à 10h00 (Maison de santé du Perrey) est annulé. Réf. b-1");
        assert!(gsm7_segments(&sms) <= 2);
    }

    #[test]
    fn emails_carry_no_reason_and_the_professional_s_no_patient() {
        let url = "https://snp.example.fr/r/token";
        let mut c = context(chrono_tz::Europe::Paris, wednesday_10_paris(), Some(url));
        c.patient_birth_date = NaiveDate::from_ymd_opt(2026, 4, 10); // 7 months old
        c.prescription_required = true;
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap();
        let email = patient_email(Kind::Confirmation, &c, now);
        assert_eq!(email.subject, "Votre rendez-vous du mercredi 25 novembre à 10 h 00");
        assert!(
            email.text.contains("À apporter : votre carte Vitale, votre ordonnance, le carnet de santé de l'enfant.")
        );
        assert!(email.html.contains(&format!("<a href=\"{url}\">{url}</a>")));
        assert!(email.html.contains("l'Église") && email.html.starts_with("<!DOCTYPE html>"));
        assert!(email.ics.as_ref().unwrap().contains("STATUS:CONFIRMED"));
        let cancelled = patient_email(Kind::Cancellation, &c, now);
        assert!(cancelled.ics.unwrap().contains("SEQUENCE:1\r\n"));
        assert!(!cancelled.text.contains(url));
        let professional = professional_email(Kind::Confirmation, &c);
        assert_eq!(professional.subject, "Nouveau rendez-vous : mercredi 25 novembre à 10 h 00");
        assert!(professional.text.contains("Référence : b-1") && professional.ics.is_none());
        // Overseas, the zone is spelled out.
        assert_eq!(
            long_when(Utc.with_ymd_and_hms(2026, 11, 25, 6, 0, 0).unwrap(), chrono_tz::Indian::Reunion),
            "mercredi 25 novembre à 10 h 00 (heure de La Réunion)"
        );
    }

    #[test]
    fn gsm7_folds_french_letters_outside_the_alphabet_and_counts_segments() {
        assert_eq!(
            to_gsm7("Fête à l’hôpital — ça œuvre «ici», Église"),
            "Fete à l'hopital - ca oeuvre \"ici\", Église"
        );
        assert_eq!(gsm7_segments(&"a".repeat(160)), 1);
        assert_eq!(gsm7_segments(&"a".repeat(161)), 2);
        assert_eq!(gsm7_segments(&"a".repeat(306)), 2);
        assert_eq!(gsm7_segments(&"€".repeat(80)), 1);
        assert_eq!(gsm7_segments(&"a".repeat(307)), 3);
    }
}
