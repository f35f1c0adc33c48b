//! The calendar file attached to a patient's emails (RFC 5545): one event per booking, with a stable UID so that
//! the cancellation (same UID, higher SEQUENCE, STATUS:CANCELLED) replaces the confirmation in the patient's
//! calendar. Times in UTC; lines end with CRLF and fold at 75 octets.

use chrono::{DateTime, Utc};

/// What the event says.
pub struct Event<'a> {
    pub booking_id: &'a str,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub summary: &'a str,
    pub location: &'a str,
    pub cancelled: bool,
    /// 0 for the confirmation; the cancellation has 1.
    pub sequence: u32,
}

/// The `.ics` text (`text/calendar; method=REQUEST` or `CANCEL`).
pub fn calendar(event: &Event<'_>, now: DateTime<Utc>) -> String {
    let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let method = if event.cancelled { "CANCEL" } else { "REQUEST" };
    let status = if event.cancelled { "CANCELLED" } else { "CONFIRMED" };
    let lines = [
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        "PRODID:-//snp//soins non programmes//FR".to_string(),
        format!("METHOD:{method}"),
        "BEGIN:VEVENT".to_string(),
        format!("UID:{}@snp", event.booking_id),
        format!("DTSTAMP:{}", stamp(now)),
        format!("SEQUENCE:{}", event.sequence),
        format!("DTSTART:{}", stamp(event.start)),
        format!("DTEND:{}", stamp(event.end)),
        format!("SUMMARY:{}", escape(event.summary)),
        format!("LOCATION:{}", escape(event.location)),
        format!("STATUS:{status}"),
        "END:VEVENT".to_string(),
        "END:VCALENDAR".to_string(),
    ];
    lines.iter().map(|line| fold(line)).collect::<Vec<_>>().join("")
}

/// TEXT values: backslash, semicolon, comma and line breaks are escaped.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace(';', "\\;").replace(',', "\\,").replace('\n', "\\n").replace('\r', "")
}

/// A content line, folded every 75 octets (never inside a UTF-8 character), ending with CRLF.
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_cancellation_replaces_the_confirmation_and_long_lines_fold() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap();
        let start = Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap();
        let location = "Maison de santé pluriprofessionnelle du Perrey, 12 rue de l'Église; 76600 Le Havre";
        let event = |cancelled, sequence| Event {
            booking_id: "b-1",
            start,
            end: start + chrono::Duration::minutes(15),
            summary: "Rendez-vous avec Claire Lefebvre",
            location,
            cancelled,
            sequence,
        };
        let confirmed = calendar(&event(false, 0), now);
        assert!(confirmed.contains("UID:b-1@snp\r\n"));
        assert!(confirmed.contains("DTSTAMP:20261124T080000Z\r\n"));
        assert!(confirmed.contains("DTSTART:20261125T090000Z\r\nDTEND:20261125T091500Z\r\n"));
        assert!(confirmed.contains("METHOD:REQUEST\r\n") && confirmed.contains("STATUS:CONFIRMED\r\n"));
        assert!(confirmed.lines().all(|l| l.len() <= 76), "folded: {confirmed}");
        let unfolded = confirmed.replace("\r\n ", "");
        assert!(unfolded.contains(
            "LOCATION:Maison de santé pluriprofessionnelle du Perrey\\, 12 rue de l'Église\\; 76600 Le Havre\r\n"
        ));
        let cancelled = calendar(&event(true, 1), now);
        assert!(cancelled.contains("UID:b-1@snp\r\n") && cancelled.contains("SEQUENCE:1\r\n"));
        assert!(cancelled.contains("METHOD:CANCEL\r\n") && cancelled.contains("STATUS:CANCELLED\r\n"));
    }
}
