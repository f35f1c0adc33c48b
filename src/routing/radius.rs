//! The official SAS search-radius table (2025): per département, the radius a search starts with, the step it
//! widens by, and the population barycentre. Shipped as `config/sas_search_radius_2025.csv` (from ANS,
//! SAS-moteur-recherche, MIT licence) and compiled in.

use std::collections::HashMap;

use crate::domain::geo::{Coordinates, distance_km};

const TABLE: &str = include_str!("../../config/sas_search_radius_2025.csv");

/// Used where the table has no radius (Mayotte and Guyane have zeros in the source).
const FALLBACK: (f64, f64) = (30.0, 10.0);

/// The source has no barycentre and no area for the overseas départements: their prefecture stands in for the
/// barycentre, and the area is INSEE's (km²).
const OVERSEAS: &[(&str, f64, f64, f64)] = &[
    ("971", 16.2411, -61.5331, 1628.0), // Pointe-à-Pitre area
    ("972", 14.6161, -61.0588, 1128.0), // Fort-de-France
    ("973", 4.9372, -52.3260, 83534.0), // Cayenne
    ("974", -20.8823, 55.4504, 2504.0), // Saint-Denis
    ("976", -12.7806, 45.2279, 374.0),  // Mamoudzou
];

#[derive(Debug, Clone, PartialEq)]
pub struct RadiusRow {
    pub departement: String,
    pub name: String,
    pub default_radius_km: f64,
    pub enlargement_km: f64,
    pub barycentre: Option<Coordinates>,
    /// The département's area in km² (0 when unknown).
    pub area_km2: f64,
}

#[derive(Debug, Clone)]
pub struct RadiusTable {
    rows: HashMap<String, RadiusRow>,
}

/// `1` → `01`, `20A` → `2A`: the table's codes as the rest of snp writes them.
fn normalise(code: &str) -> String {
    match code {
        "20A" => "2A".into(),
        "20B" => "2B".into(),
        c if c.len() == 1 => format!("0{c}"),
        c => c.into(),
    }
}

impl RadiusTable {
    pub fn official() -> RadiusTable {
        Self::parse(TABLE).expect("the shipped radius table parses")
    }

    pub fn parse(csv: &str) -> Result<RadiusTable, String> {
        let mut rows = HashMap::new();
        for (n, line) in csv.lines().enumerate().skip(1).filter(|(_, l)| !l.trim().is_empty()) {
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            if f.len() != 10 {
                return Err(format!("line {}: expected 10 fields", n + 1));
            }
            let number =
                |i: usize| f[i].parse::<f64>().map_err(|_| format!("line {}: field {} is not a number", n + 1, i + 1));
            let (area, lat, lon, radius, step) = (number(4)?, number(6)?, number(7)?, number(8)?, number(9)?);
            let departement = normalise(f[0]);
            let overseas = OVERSEAS.iter().find(|(code, ..)| *code == departement);
            let (default_radius_km, enlargement_km) = if radius > 0.0 { (radius, step.max(1.0)) } else { FALLBACK };
            let barycentre = (lat != 0.0 || lon != 0.0)
                .then_some(Coordinates { lat, lon })
                .or_else(|| overseas.map(|(_, lat, lon, _)| Coordinates { lat: *lat, lon: *lon }));
            let area_km2 = if area > 0.0 { area } else { overseas.map_or(0.0, |(.., area)| *area) };
            rows.insert(
                departement.clone(),
                RadiusRow {
                    departement,
                    name: f[1].to_string(),
                    default_radius_km,
                    enlargement_km,
                    barycentre,
                    area_km2,
                },
            );
        }
        Ok(RadiusTable { rows })
    }

    pub fn rows(&self) -> impl Iterator<Item = &RadiusRow> {
        self.rows.values()
    }

    pub fn get(&self, departement: &str) -> Option<&RadiusRow> {
        self.rows.get(departement)
    }

    /// The département whose barycentre is nearest to a point (the table has no borders; good enough to pick a
    /// radius and to record statistics by département).
    pub fn nearest(&self, point: Coordinates) -> Option<&RadiusRow> {
        self.rows
            .values()
            .filter_map(|row| row.barycentre.map(|b| (row, distance_km(point, b))))
            .min_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.departement.cmp(&b.0.departement)))
            .map(|(row, _)| row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_official_table_covers_every_departement() {
        let table = RadiusTable::official();
        assert_eq!(table.rows.len(), 101);
        let paris = table.get("75").unwrap();
        assert_eq!(paris.default_radius_km, 5.0);
        let lozere = table.get("48").unwrap();
        assert_eq!((lozere.default_radius_km, lozere.enlargement_km), (50.0, 25.0));
        assert!(table.get("2A").is_some() && table.get("01").is_some());
        let mayotte = table.get("976").unwrap();
        assert_eq!((mayotte.default_radius_km, mayotte.enlargement_km), FALLBACK);
        assert_eq!((lozere.area_km2, mayotte.area_km2), (5175.0, 374.0));
        assert!(table.rows().all(|row| row.area_km2 > 0.0 && row.barycentre.is_some()));
        let rouen = Coordinates { lat: 49.4432, lon: 1.0999 };
        assert_eq!(table.nearest(rouen).unwrap().departement, "76");
        let saint_pierre_reunion = Coordinates { lat: -21.3393, lon: 55.4781 };
        assert_eq!(table.nearest(saint_pierre_reunion).unwrap().departement, "974");
    }
}
