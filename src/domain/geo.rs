//! Places: coordinates, French département codes and the time zone a département lives in.

use chrono_tz::Tz;

/// A validated WGS 84 position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coordinates {
    pub lat: f64,
    pub lon: f64,
}

pub fn check_latitude(lat: f64) -> Result<f64, String> {
    if lat.is_finite() && (-90.0..=90.0).contains(&lat) {
        Ok(lat)
    } else {
        Err("latitude must be between -90 and 90".into())
    }
}

pub fn check_longitude(lon: f64) -> Result<f64, String> {
    if lon.is_finite() && (-180.0..=180.0).contains(&lon) {
        Ok(lon)
    } else {
        Err("longitude must be between -180 and 180".into())
    }
}

/// Overseas codes and the zone their practices keep by default.
const OVERSEAS: &[(&str, Tz)] = &[
    ("971", Tz::America__Guadeloupe),
    ("972", Tz::America__Martinique),
    ("973", Tz::America__Cayenne),
    ("974", Tz::Indian__Reunion),
    ("975", Tz::America__Miquelon),
    ("976", Tz::Indian__Mayotte),
    ("977", Tz::America__St_Barthelemy),
    ("978", Tz::America__Marigot),
    ("986", Tz::Pacific__Wallis),
    ("987", Tz::Pacific__Tahiti),
    ("988", Tz::Pacific__Noumea),
];

/// A valid département code: `01`–`95` (no `20`), `2A`, `2B`, overseas `971`–`976` and the overseas
/// collectivities that have practices (`977`, `978`, `986`–`988`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Departement(String);

impl Departement {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let code = raw.trim().to_ascii_uppercase();
        let valid = match code.len() {
            2 if code == "2A" || code == "2B" => true,
            2 => {
                code.bytes().all(|b| b.is_ascii_digit())
                    && code.parse::<u8>().is_ok_and(|n| (1..=95).contains(&n) && n != 20)
            }
            3 => OVERSEAS.iter().any(|(c, _)| *c == code),
            _ => false,
        };
        if valid {
            Ok(Self(code))
        } else {
            Err(format!(
                "unknown département code {raw:?}: expected 01–95, 2A, 2B or an overseas code (971–976, 977, 978, 986–988)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The zone a practice of this département keeps unless told otherwise.
    pub fn default_timezone(&self) -> Tz {
        OVERSEAS.iter().find(|(c, _)| *c == self.0).map(|(_, tz)| *tz).unwrap_or(Tz::Europe__Paris)
    }
}

/// Parses an IANA zone name (`Europe/Paris`, `Indian/Reunion`, …).
pub fn parse_timezone(raw: &str) -> Result<Tz, String> {
    raw.trim().parse::<Tz>().map_err(|_| format!("{raw:?} is not an IANA time zone (e.g. Europe/Paris)"))
}

/// A latitude/longitude box that that contains a circle: a cheap prefilter before exact distances.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    pub min_lat: f64,
    pub max_lat: f64,
    pub min_lon: f64,
    pub max_lon: f64,
}

impl BoundingBox {
    /// The box around a point that contains every point within `km` (generous near the poles).
    pub fn around(lat: f64, lon: f64, km: f64) -> BoundingBox {
        let dlat = km / 110.574;
        let dlon = km / (111.320 * lat.to_radians().cos().abs().max(0.01));
        BoundingBox { min_lat: lat - dlat, max_lat: lat + dlat, min_lon: lon - dlon, max_lon: lon + dlon }
    }
}

/// Mean Earth radius, as [`distance_km`] takes it.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle distance in kilometres (haversine, mean Earth radius).
pub fn distance_km(a: Coordinates, b: Coordinates) -> f64 {
    let (lat1, lat2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().asin()
}

/// A lower bound of [`distance_km`] without trigonometry: the arc between the two latitudes (the great circle
/// is no shorter), less a billionth for rounding. What a nearest-first reading compares before computing a
/// distance.
pub fn latitude_gap_km(a: Coordinates, b: Coordinates) -> f64 {
    EARTH_RADIUS_KM * (b.lat - a.lat).to_radians().abs() * (1.0 - 1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latitude_gap_never_exceeds_the_distance() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut unit = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        for _ in 0..100_000 {
            let a = Coordinates { lat: -60.0 + 120.0 * unit(), lon: -180.0 + 360.0 * unit() };
            // Near pairs (the nearest-practice reading) as well as far ones; some on one meridian, where they meet.
            let spread = if unit() < 0.5 { 0.3 } else { 20.0 };
            let mut b = Coordinates { lat: a.lat + spread * (unit() - 0.5), lon: a.lon + spread * (unit() - 0.5) };
            if unit() < 0.2 {
                b.lon = a.lon;
            }
            let (gap, d) = (latitude_gap_km(a, b), distance_km(a, b));
            assert!(gap <= d, "{a:?} {b:?}: {gap} > {d}");
            assert!(gap >= d * 0.999 || b.lon != a.lon, "on one meridian the gap is the distance: {gap} vs {d}");
        }
    }

    #[test]
    fn departement_codes_of_corsica_and_overseas_are_valid_and_20_is_not() {
        for ok in ["01", "76", "2A", "2b", "95", "971", "976", "988"] {
            assert!(Departement::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["00", "20", "96", "2C", "979", "7", "9711", "", "+7", "-1", " 7"] {
            assert!(Departement::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Departement::parse("974").unwrap().default_timezone(), Tz::Indian__Reunion);
        assert_eq!(Departement::parse("2A").unwrap().default_timezone(), Tz::Europe__Paris);
    }

    #[test]
    fn distance_between_le_havre_and_rouen_is_about_77_km() {
        let le_havre = Coordinates { lat: 49.4944, lon: 0.1079 };
        let rouen = Coordinates { lat: 49.4432, lon: 1.0999 };
        let d = distance_km(le_havre, rouen);
        assert!((70.0..80.0).contains(&d), "{d}");
    }
}
