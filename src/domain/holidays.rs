//! French public holidays, chosen by département: the national list (fixed dates and the Easter-based Easter
//! Monday, Ascension and Whit Monday), the Alsace-Moselle extras (Good Friday, 26 December in 57, 67, 68) and
//! the abolition-of-slavery day of each overseas département and collectivity that has one.

use chrono::{Datelike, Duration, NaiveDate};

/// Easter Sunday of a Gregorian year (the anonymous Gregorian algorithm, Meeus/Jones/Butcher).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("Easter is a valid date")
}

/// Abolition-of-slavery day (month, day) by département or collectivity code.
const ABOLITION_DAYS: &[(&str, u32, u32)] = &[
    ("971", 5, 27),  // Guadeloupe
    ("972", 5, 22),  // Martinique
    ("973", 6, 10),  // Guyane
    ("974", 12, 20), // La Réunion
    ("976", 4, 27),  // Mayotte
    ("977", 10, 9),  // Saint-Barthélemy
    ("978", 5, 28),  // Saint-Martin
];

const ALSACE_MOSELLE: &[&str] = &["57", "67", "68"];

/// The public holidays of one year for a département, sorted, each with its French name.
pub fn public_holidays(year: i32, departement: &str) -> Vec<(NaiveDate, &'static str)> {
    let date = |month, day| NaiveDate::from_ymd_opt(year, month, day).expect("fixed holiday date");
    let easter = easter_sunday(year);
    let mut days = vec![
        (date(1, 1), "Jour de l'an"),
        (easter + Duration::days(1), "Lundi de Pâques"),
        (date(5, 1), "Fête du Travail"),
        (date(5, 8), "Victoire 1945"),
        (easter + Duration::days(39), "Ascension"),
        (easter + Duration::days(50), "Lundi de Pentecôte"),
        (date(7, 14), "Fête nationale"),
        (date(8, 15), "Assomption"),
        (date(11, 1), "Toussaint"),
        (date(11, 11), "Armistice 1918"),
        (date(12, 25), "Noël"),
    ];
    if ALSACE_MOSELLE.contains(&departement) {
        days.push((easter - Duration::days(2), "Vendredi saint"));
        days.push((date(12, 26), "Saint-Étienne"));
    }
    if let Some((_, month, day)) = ABOLITION_DAYS.iter().find(|(code, _, _)| *code == departement) {
        days.push((date(*month, *day), "Abolition de l'esclavage"));
    }
    days.sort();
    days
}

/// Whether `day` is a public holiday in the département.
pub fn is_public_holiday(day: NaiveDate, departement: &str) -> bool {
    public_holidays(day.year(), departement).iter().any(|(d, _)| *d == day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn easter_matches_the_published_dates_2025_to_2035() {
        let known = [
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2028, 4, 16),
            (2029, 4, 1),
            (2030, 4, 21),
            (2031, 4, 13),
            (2032, 3, 28),
            (2033, 4, 17),
            (2034, 4, 9),
            (2035, 3, 25),
        ];
        for (y, m, day) in known {
            assert_eq!(easter_sunday(y), d(y, m, day), "{y}");
        }
    }

    #[test]
    fn movable_feasts_follow_easter() {
        // Ascension 2026: Thursday 14 May; Whit Monday 2026: 25 May; Easter Monday 2027: 29 March.
        assert!(is_public_holiday(d(2026, 5, 14), "76"));
        assert!(is_public_holiday(d(2026, 5, 25), "76"));
        assert!(is_public_holiday(d(2027, 3, 29), "76"));
        assert!(is_public_holiday(d(2030, 5, 30), "21"), "Ascension 2030");
        assert!(is_public_holiday(d(2035, 5, 14), "10"), "Whit Monday 2035");
        assert!(!is_public_holiday(d(2026, 4, 5), "76"), "Easter Sunday is a Sunday, not a listed holiday");
        assert_eq!(public_holidays(2028, "76").len(), 11);
    }

    #[test]
    fn alsace_moselle_adds_good_friday_and_saint_stephen() {
        for dep in ["57", "67", "68"] {
            assert!(is_public_holiday(d(2026, 4, 3), dep), "Good Friday 2026 in {dep}");
            assert!(is_public_holiday(d(2031, 4, 11), dep), "Good Friday 2031 in {dep}");
            assert!(is_public_holiday(d(2027, 12, 26), dep));
            assert_eq!(public_holidays(2027, dep).len(), 13);
        }
        assert!(!is_public_holiday(d(2026, 4, 3), "76"));
        assert!(!is_public_holiday(d(2027, 12, 26), "75"));
    }

    #[test]
    fn overseas_departements_have_their_abolition_day() {
        assert!(is_public_holiday(d(2026, 5, 27), "971"));
        assert!(is_public_holiday(d(2026, 5, 22), "972"));
        assert!(is_public_holiday(d(2026, 6, 10), "973"));
        assert!(is_public_holiday(d(2026, 12, 20), "974"));
        assert!(is_public_holiday(d(2026, 4, 27), "976"));
        assert!(!is_public_holiday(d(2026, 12, 20), "971"));
        assert!(!is_public_holiday(d(2026, 5, 27), "76"));
        assert_eq!(public_holidays(2029, "974").len(), 12);
    }
}
