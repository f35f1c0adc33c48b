//! Search and ranking, pure over candidates: given bookable slots (read from the in-memory [`index`]) and what
//! the regulator asked, decide which are eligible, widen the radius until enough professionals are in reach,
//! rank them, say why each is there, and — when nothing fits — say why and what to try.
//!
//! Ranking, deterministic and documented: cost = minutes until the start + 3 × km (in person and home visit;
//! teleconsultation has no distance), minus 120 for the patient's usual professional and 60 for their usual
//! practice; costs compare in bands of 15, within which the professional with fewer regulated bookings in the
//! last 7 days comes first (fairness), then the lower cost, then the slot id. At most `max_per_professional`
//! slots per professional are listed.

pub mod index;
pub mod live;
pub mod radius;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::domain::booking::age_in_months;
use crate::domain::geo::{Coordinates, distance_km};
pub use crate::domain::search::{Candidate, OverbookingContact};
use crate::domain::search::{PracticeCard, ProfessionalCard};
use crate::domain::slot::{Modality, Visibility};
use index::{Gather, GroupTally, SearchIndex};

/// What the regulator asked, resolved (defaults from the reason and the radius table applied).
#[derive(Debug, Clone)]
pub struct Query {
    pub now: DateTime<Utc>,
    pub professions: Vec<String>,
    pub skills: Vec<String>,
    pub birth_date: Option<NaiveDate>,
    pub min_age_months: Option<u32>,
    pub max_age_months: Option<u32>,
    pub location: Option<Coordinates>,
    pub modality: Option<Modality>,
    pub earliest: DateTime<Utc>,
    pub latest: DateTime<Utc>,
    pub radius_km: f64,
    /// `None`: the radius was given explicitly and is not widened.
    pub widening_step_km: Option<f64>,
    pub max_radius_km: f64,
    pub min_professionals: usize,
    pub usual_professional_id: Option<String>,
    pub usual_practice_id: Option<String>,
    pub prescription_required: bool,
    pub limit: usize,
    pub max_per_professional: usize,
    /// Regulated bookings of each professional over the last 7 days.
    pub recent_bookings: HashMap<String, usize>,
}

/// Why a candidate was left out (the first rule it broke, in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Exclusion {
    Visibility,
    Delay,
    Profession,
    Skills,
    Modality,
    Age,
    Distance,
}

impl Exclusion {
    const ALL: [Exclusion; 7] =
        [Self::Visibility, Self::Delay, Self::Profession, Self::Skills, Self::Modality, Self::Age, Self::Distance];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Visibility => "visibility",
            Self::Delay => "delay",
            Self::Profession => "profession",
            Self::Skills => "skills",
            Self::Modality => "modality",
            Self::Age => "age",
            Self::Distance => "distance",
        }
    }
}

/// How many slots each rule excluded: an array indexed by the rule, since a tally counts thousands of slots
/// around a town where nothing fits.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Exclusions([usize; 7]);

impl Exclusions {
    pub(crate) fn add(&mut self, rule: Exclusion, count: usize) {
        self.0[rule as usize] += count;
    }

    /// The rules that excluded anything, most first (ties in the rules' order).
    fn most_first(self) -> Vec<(Exclusion, usize)> {
        let mut excluded: Vec<(Exclusion, usize)> =
            Exclusion::ALL.into_iter().map(|rule| (rule, self.0[rule as usize])).filter(|(_, n)| *n > 0).collect();
        excluded.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        excluded
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub candidate: Candidate,
    pub distance_km: Option<f64>,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub ranked: Vec<Ranked>,
    pub radius_km: f64,
    pub widened: bool,
    /// How many candidates each rule excluded.
    pub excluded: Vec<(Exclusion, usize)>,
    /// Eligible but beyond the final radius (in person): the nearest one.
    pub nearest_beyond_radius: Option<Ranked>,
    /// Eligible and in reach, but starting after the delay: the earliest one.
    pub first_after_delay: Option<Ranked>,
    /// Professionals in reach who accept an extra patient (surnuméraire), nearest first.
    pub overbooking: Vec<(OverbookingContact, Option<f64>)>,
}

/// What the eligibility rules look at in a slot: a candidate, or a slot of the index before any candidate is
/// built for it.
#[derive(Clone, Copy)]
pub(crate) struct SlotView<'a> {
    pub start: DateTime<Utc>,
    pub visibility: Visibility,
    pub modality: Modality,
    pub professional: &'a ProfessionalCard,
    pub practice: &'a PracticeCard,
}

impl Candidate {
    pub(crate) fn view(&self) -> SlotView<'_> {
        SlotView {
            start: self.start,
            visibility: self.visibility,
            modality: self.modality,
            professional: &self.professional,
            practice: &self.practice,
        }
    }
}

impl Query {
    /// The first rule a candidate breaks, ignoring distance.
    fn exclusion_except_distance(&self, c: &Candidate) -> Option<Exclusion> {
        self.slot_exclusion(c.view())
    }

    /// The first rule a slot breaks, ignoring distance.
    pub(crate) fn slot_exclusion(&self, c: SlotView<'_>) -> Option<Exclusion> {
        self.visibility_or_delay_exclusion(c).or_else(|| self.exclusion_ignoring_time_and_distance(c))
    }

    /// The rules of the slot itself: who may see it, and when it starts.
    pub(crate) fn visibility_or_delay_exclusion(&self, c: SlotView<'_>) -> Option<Exclusion> {
        if !offered_to_regulation(c.visibility) {
            return Some(Exclusion::Visibility);
        }
        if c.start < self.earliest || c.start >= self.latest {
            return Some(Exclusion::Delay);
        }
        None
    }

    /// The rules of the professional, the practice and the modality — the same for every slot of an index
    /// group — and the patient's age on the slot's day.
    pub(crate) fn exclusion_ignoring_time_and_distance(&self, c: SlotView<'_>) -> Option<Exclusion> {
        if !self.professions.contains(&c.professional.profession) {
            return Some(Exclusion::Profession);
        }
        if !self.skills.iter().all(|s| c.professional.skills.contains(s)) {
            return Some(Exclusion::Skills);
        }
        if self.modality.is_some_and(|m| m != c.modality)
            || (self.location.is_none() && c.modality != Modality::Teleconsultation)
        {
            return Some(Exclusion::Modality);
        }
        let bounded = self.min_age_months.is_some()
            || self.max_age_months.is_some()
            || c.professional.min_patient_age_months.is_some()
            || c.professional.max_patient_age_months.is_some();
        // The day in the practice's zone is a time-zone lookup: only worth it when there is a bound to judge.
        if let Some(birth) = self.birth_date
            && bounded
        {
            let day = c.start.with_timezone(&c.practice.timezone).date_naive();
            let age = age_in_months(birth, day);
            let outside = |min: Option<u32>, max: Option<u32>| {
                min.is_some_and(|min| age < min as i32) || max.is_some_and(|max| age >= max as i32)
            };
            // The reason's bounds and the professional's own.
            if outside(self.min_age_months, self.max_age_months)
                || outside(c.professional.min_patient_age_months, c.professional.max_patient_age_months)
            {
                return Some(Exclusion::Age);
            }
        }
        None
    }

    /// The ranking cost of a slot: minutes until it starts + 3 × km, minus the usual professional's or
    /// practice's bonus.
    pub(crate) fn cost(&self, c: SlotView<'_>, distance: Option<f64>) -> f64 {
        let minutes = (c.start - self.now).num_minutes() as f64;
        let mut cost = minutes + COST_PER_KM * distance.unwrap_or(0.0);
        if self.usual_professional_id.as_deref() == Some(c.professional.id.as_str()) {
            cost -= USUAL_PROFESSIONAL_BONUS;
        } else if self.usual_practice_id.as_deref() == Some(c.practice.id.as_str()) {
            cost -= USUAL_PRACTICE_BONUS;
        }
        cost
    }

    /// The least cost a bookable slot at `km` km or more from the patient can have: none starts before the
    /// earliest start, and the largest bonus this query can give is taken off. The index stops reading
    /// further out once this is worse than enough professionals' best.
    pub(crate) fn lowest_cost_at(&self, km: f64) -> f64 {
        let bonus = if self.usual_professional_id.is_some() {
            USUAL_PROFESSIONAL_BONUS
        } else if self.usual_practice_id.is_some() {
            USUAL_PRACTICE_BONUS
        } else {
            0.0
        };
        (self.earliest - self.now).num_minutes() as f64 + COST_PER_KM * km - bonus
    }

    /// Distance that matters for this candidate, and the smallest search radius that puts it in reach (`None`:
    /// no radius does — a home visit beyond the professional's own radius, or no location for a slot in person).
    fn reach_from(&self, c: SlotView<'_>) -> (Option<f64>, Option<f64>) {
        let Some(patient) = self.location else {
            return (None, (c.modality == Modality::Teleconsultation).then_some(0.0));
        };
        let km = distance_km(patient, c.practice.location);
        match c.modality {
            Modality::Teleconsultation => (None, (km <= self.max_radius_km).then_some(0.0)),
            Modality::HomeVisit => {
                (Some(km), c.professional.home_visit_radius_km.is_some_and(|r| km <= r).then_some(km))
            }
            Modality::InPerson => (Some(km), Some(km)),
        }
    }

    /// Distance that matters for this candidate, and whether it is within `radius`.
    fn reach(&self, c: SlotView<'_>, radius: f64) -> (Option<f64>, bool) {
        let Some(patient) = self.location else { return (None, c.modality == Modality::Teleconsultation) };
        let km = distance_km(patient, c.practice.location);
        match c.modality {
            // No distance in the cost; offered from the territory of the widest search only.
            Modality::Teleconsultation => (None, km <= self.max_radius_km),
            // The professional travels: the patient must be within their own radius (and the search's).
            Modality::HomeVisit => {
                (Some(km), c.professional.home_visit_radius_km.is_some_and(|r| km <= r) && km <= radius)
            }
            Modality::InPerson => (Some(km), km <= radius),
        }
    }
}

/// What a kilometre costs in the ranking, in minutes of waiting.
const COST_PER_KM: f64 = 3.0;
/// Taken off the cost of the patient's usual professional's slots, and of their usual practice's.
const USUAL_PROFESSIONAL_BONUS: f64 = 120.0;
const USUAL_PRACTICE_BONUS: f64 = 60.0;

/// Width of the cost bands inside which the fairness tie-break decides (≈ 15 minutes, or 5 km).
const COST_BAND: f64 = 15.0;

/// What a candidate is ranked by, in order: cost band, regulated bookings of the last 7 days, cost (the slot id
/// breaks what remains).
type RankKey = (i64, usize, f64);

/// Costs within the same band count as equal, so that the fairness tie-break actually applies.
pub(crate) fn cost_band(cost: f64) -> i64 {
    (cost / COST_BAND).floor() as i64
}

/// The radius the search settles on: the asked one, widened step by step (only a default radius widens) until
/// `min_professionals` are in reach, given each professional's smallest radius that reaches them.
pub(crate) fn widened_radius(q: &Query, nearest_reach: &[f64]) -> f64 {
    let mut radius = q.radius_km;
    if let Some(step) = q.widening_step_km {
        let in_reach = |radius: f64| nearest_reach.iter().filter(|&&needed| needed <= radius).count();
        while in_reach(radius) < q.min_professionals && radius < q.max_radius_km {
            radius = (radius + step).min(q.max_radius_km);
        }
    }
    radius
}

/// Runs the search over the candidates (and the professionals who accept an extra patient).
pub fn search(candidates: &[Candidate], contacts: &[OverbookingContact], q: &Query) -> Outcome {
    let mut excluded = Exclusions::default();
    let eligible: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| match q.exclusion_except_distance(c) {
            Some(rule) => {
                excluded.add(rule, 1);
                false
            }
            None => true,
        })
        .collect();
    // Each candidate's distance, and the smallest radius that puts it in reach (`None`: none does), once.
    let reach: Vec<(Option<f64>, Option<f64>)> = eligible.iter().map(|c| q.reach_from(c.view())).collect();
    // Widen step by step until enough professionals are in reach (only a default radius widens).
    let needed = eligible.iter().zip(&reach).map(|(c, (_, needed))| (c.professional.id.as_str(), *needed));
    let radius = widened_radius(q, &smallest_reach_per_professional(needed));
    let mut within = Vec::new();
    let mut beyond = Beyond(None);
    for (c, (distance, needed)) in eligible.iter().zip(reach) {
        if needed.is_some_and(|needed| needed <= radius) {
            within.push((*c, distance));
        } else {
            excluded.add(Exclusion::Distance, 1);
            beyond.consider(c.modality, distance, *c);
        }
    }
    let first_after_delay = candidates
        .iter()
        .filter(|c| q.first_after_delay_rules(c.view()) && q.reach(c.view(), radius).1)
        .min_by(|a, b| a.start.cmp(&b.start).then_with(|| a.slot_id.cmp(&b.slot_id)));
    conclude(q, Settled { radius, excluded, within, beyond: beyond.0, first_after_delay }, contacts)
}

/// Each professional's smallest radius that reaches one of their eligible slots: what the widening counts.
fn smallest_reach_per_professional<'a>(needed: impl Iterator<Item = (&'a str, Option<f64>)>) -> Vec<f64> {
    let mut nearest: HashMap<&str, f64> = HashMap::new();
    for (professional, needed) in needed {
        if let Some(needed) = needed {
            let best = nearest.entry(professional).or_insert(needed);
            *best = best.min(needed);
        }
    }
    nearest.into_values().collect()
}

/// The nearest eligible slot in person beyond the radius (the first met, among equally near ones): only an
/// in-person slot becomes reachable with a wider radius (a home visit is bounded by the professional's own
/// travel radius).
struct Beyond<T>(Option<(f64, T)>);

impl<T> Beyond<T> {
    fn consider(&mut self, modality: Modality, distance: Option<f64>, slot: T) {
        if let Some(km) = distance
            && modality == Modality::InPerson
            && self.0.as_ref().is_none_or(|(best, _)| km < *best)
        {
            self.0 = Some((km, slot));
        }
    }
}

/// What a search has settled before ranking: the radius, what each rule excluded, the eligible candidates in
/// reach (with their distance), the nearest beyond the radius, and the first slot after the delay.
struct Settled<'a> {
    radius: f64,
    excluded: Exclusions,
    within: Vec<(&'a Candidate, Option<f64>)>,
    beyond: Option<(f64, &'a Candidate)>,
    first_after_delay: Option<&'a Candidate>,
}

impl Query {
    /// Whether a slot counts as the first after the delay: every rule but the delay and the distance — it must
    /// be offered to regulation, or the regulator could not take it.
    fn first_after_delay_rules(&self, c: SlotView<'_>) -> bool {
        c.start >= self.latest
            && offered_to_regulation(c.visibility)
            && self.exclusion_ignoring_time_and_distance(c).is_none()
    }
}

/// Whether the regulation may see and take a slot of this visibility (a CPTS-reserved slot is the CPTS's).
pub(crate) fn offered_to_regulation(visibility: Visibility) -> bool {
    matches!(visibility, Visibility::Public | Visibility::Regulation)
}

/// Ranks what is in reach and puts the outcome together.
fn conclude(q: &Query, settled: Settled<'_>, contacts: &[OverbookingContact]) -> Outcome {
    let Settled { radius, excluded, within, beyond, first_after_delay } = settled;
    let ranked_at = |c: &Candidate, distance: Option<f64>| Ranked {
        candidate: c.clone(),
        distance_km: distance,
        reasons: reasons(c, distance, q),
    };
    Outcome {
        ranked: ranked_list(q, within),
        radius_km: radius,
        widened: radius > q.radius_km,
        excluded: excluded.most_first(),
        first_after_delay: first_after_delay.map(|c| ranked_at(c, q.reach(c.view(), radius).0)),
        nearest_beyond_radius: beyond.map(|(km, c)| ranked_at(c, Some(km))),
        overbooking: overbooking_in_reach(q, contacts, radius),
    }
}

/// The list, best first: costs within the same 15-point band count as equal, so that the fairness tie-break
/// actually applies; at most `max_per_professional` slots per professional, `limit` in all.
fn ranked_list(q: &Query, within: Vec<(&Candidate, Option<f64>)>) -> Vec<Ranked> {
    // The keys are computed once per candidate, not once per comparison.
    let mut keyed: Vec<(RankKey, &Candidate, Option<f64>)> = within
        .into_iter()
        .map(|(c, distance)| {
            let cost = q.cost(c.view(), distance);
            let recent = q.recent_bookings.get(&c.professional.id).copied().unwrap_or(0);
            ((cost_band(cost), recent, cost), c, distance)
        })
        .collect();
    keyed.sort_unstable_by(|(ka, a, _), (kb, b, _)| {
        ka.0.cmp(&kb.0).then(ka.1.cmp(&kb.1)).then(ka.2.total_cmp(&kb.2)).then_with(|| a.slot_id.cmp(&b.slot_id))
    });
    let mut per_professional: HashMap<&str, usize> = HashMap::new();
    let mut ranked = Vec::new();
    for (_, c, distance) in keyed {
        let listed = per_professional.entry(c.professional.id.as_str()).or_default();
        if *listed >= q.max_per_professional {
            continue;
        }
        *listed += 1;
        ranked.push(Ranked { candidate: c.clone(), distance_km: distance, reasons: reasons(c, distance, q) });
        if ranked.len() >= q.limit {
            break;
        }
    }
    ranked
}

/// Surnuméraire: professionals of the profession, at a practice in reach, who accept an extra patient — each
/// once, at their nearest practice. Without a location there is no "in reach": none are proposed.
fn overbooking_in_reach(
    q: &Query,
    contacts: &[OverbookingContact],
    radius: f64,
) -> Vec<(OverbookingContact, Option<f64>)> {
    let Some(location) = q.location else { return Vec::new() };
    let mut overbooking: Vec<(OverbookingContact, Option<f64>)> = contacts
        .iter()
        .filter(|c| q.professions.contains(&c.professional.profession))
        .map(|c| (c.clone(), Some(distance_km(location, c.practice.location))))
        .filter(|(_, km)| km.is_some_and(|km| km <= radius))
        .collect();
    overbooking.sort_by(|a, b| {
        a.1.unwrap_or(0.0).total_cmp(&b.1.unwrap_or(0.0)).then_with(|| a.0.professional.id.cmp(&b.0.professional.id))
    });
    let mut seen = HashSet::new();
    overbooking.retain(|(c, _)| seen.insert(c.professional.id.clone()));
    overbooking
}

/// The ranked answer, reading only the slots that can make the list: within the asked (or département's)
/// radius; when that radius must widen, within the widened radius, settled first from every professional's
/// nearest eligible slot.
pub fn rank(index: &SearchIndex, q: &mut Query) -> Outcome {
    // Enough professionals for the list, and for the widening decision to see as many as there are.
    let top = Gather::Top { professionals: q.limit.max(q.min_professionals) };
    let candidates = index.candidates(q, q.radius_km, q.latest, top);
    let outcome = rank_among(index, q, &candidates, &[]);
    if !outcome.widened {
        return outcome;
    }
    // Too few in reach: settle the widened radius from every professional's nearest eligible slot, then rank
    // as if that radius had been asked (pruning at the widest radius would count professionals left outside).
    let radius = widened_radius(q, &index.nearest_reach(q, q.max_radius_km));
    let mut settled = Query { radius_km: radius, widening_step_km: None, ..q.clone() };
    let candidates = index.candidates(&settled, radius, q.latest, top);
    let outcome = rank_among(index, &mut settled, &candidates, &[]);
    Outcome { widened: radius > q.radius_km, ..outcome }
}

/// The same search over every bookable slot around — up to a day after the delay, within the widest box —
/// with the professionals who accept an extra patient: what the advice needs when nothing fits. Around a town
/// where nothing fits, that is thousands of slots of which the advice shows two: the index tallies them group by
/// group (see [`SearchIndex::tally_around`]) and only the slots shown become candidates. The answer is that of
/// [`search`] over every such slot (property-tested).
pub fn explain(index: &SearchIndex, q: &mut Query) -> Outcome {
    let until = q.latest + Duration::hours(24);
    let (around_km, contacts) = match q.location {
        None => (q.max_radius_km, Vec::new()),
        Some(location) => {
            // Home visits reach up to the professionals' own radius (≤ 100 km): a box a little wider than both.
            let around_km = q.max_radius_km.max(100.0) + 5.0;
            (around_km, index.overbooking_contacts(&q.professions, location, around_km, q.now))
        }
    };
    let tally = index.tally_around(q, around_km, until);
    let groups: Vec<(&GroupTally, Option<f64>, Option<f64>)> = tally
        .groups
        .iter()
        .map(|g| {
            let (distance, needed) = q.reach_from(g.view());
            (g, distance, needed)
        })
        .collect();
    let needed =
        groups.iter().filter(|(g, _, _)| g.eligible() > 0).map(|(g, _, needed)| (g.professional_id(), *needed));
    let radius = widened_radius(q, &smallest_reach_per_professional(needed));
    // Only the slots the outcome shows become candidates: those in reach (none, when the advice is asked for
    // because nothing fits), the nearest beyond the radius, and the first after the delay.
    let mut excluded = tally.excluded;
    let mut in_reach: Vec<(Candidate, Option<f64>)> = Vec::new();
    let mut beyond = Beyond(None);
    for (g, distance, needed) in groups.iter().filter(|(g, _, _)| g.eligible() > 0) {
        if needed.is_some_and(|needed| needed <= radius) {
            in_reach.extend(g.eligible_candidates(q).into_iter().map(|c| (c, *distance)));
        } else {
            excluded.add(Exclusion::Distance, g.eligible());
            beyond.consider(g.view().modality, *distance, g);
        }
    }
    let beyond = beyond.0.and_then(|(km, g)| Some((km, g.first_eligible()?)));
    let first_after_delay = groups
        .iter()
        .filter(|(g, _, _)| q.reach(g.view(), radius).1)
        .filter_map(|(g, _, _)| g.first_after_delay())
        .min_by(|a, b| a.start.cmp(&b.start).then_with(|| a.slot_id.cmp(&b.slot_id)));
    q.recent_bookings =
        index.recent_bookings(in_reach.iter().map(|(c, _)| c.professional.id.as_str()), q.now - Duration::days(7));
    let settled = Settled {
        radius,
        excluded,
        within: in_reach.iter().map(|(c, distance)| (c, *distance)).collect(),
        beyond: beyond.as_ref().map(|(km, c)| (*km, c)),
        first_after_delay: first_after_delay.as_ref(),
    };
    conclude(q, settled, &contacts)
}

fn rank_among(
    index: &SearchIndex,
    q: &mut Query,
    candidates: &[Candidate],
    contacts: &[OverbookingContact],
) -> Outcome {
    let professionals = candidates.iter().map(|c| c.professional.id.as_str());
    q.recent_bookings = index.recent_bookings(professionals, q.now - Duration::days(7));
    search(candidates, contacts, q)
}

/// Short French phrases a regulator reads aloud.
fn reasons(c: &Candidate, distance: Option<f64>, q: &Query) -> Vec<String> {
    let mut reasons = vec![format!("dans {}", french_delay(c.start - q.now))];
    match (c.modality, distance) {
        (Modality::Teleconsultation, _) => reasons.push("téléconsultation".into()),
        (Modality::HomeVisit, Some(km)) => reasons.push(format!("visite à domicile, à {}", french_km(km))),
        (_, Some(km)) => reasons.push(format!("à {}", french_km(km))),
        _ => {}
    }
    if q.usual_professional_id.as_deref() == Some(c.professional.id.as_str()) {
        reasons.push("médecin traitant du patient".into());
    } else if q.usual_practice_id.as_deref() == Some(c.practice.id.as_str()) {
        reasons.push("cabinet habituel du patient".into());
    }
    if q.prescription_required {
        reasons.push("ordonnance requise".into());
    }
    reasons
}

/// "2 h 15", "45 min", "1 j 3 h".
pub fn french_delay(delay: chrono::Duration) -> String {
    let minutes = delay.num_minutes().max(0);
    let (days, hours, mins) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    match (days, hours, mins) {
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m:02}"),
        (d, h, _) => format!("{d} j {h} h"),
    }
}

/// "3,2 km" (French decimal comma).
pub fn french_km(km: f64) -> String {
    format!("{:.1} km", km).replace('.', ",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_and_distances_read_in_french() {
        assert_eq!(french_delay(chrono::Duration::minutes(135)), "2 h 15");
        assert_eq!(french_delay(chrono::Duration::minutes(45)), "45 min");
        assert_eq!(french_delay(chrono::Duration::minutes(120)), "2 h");
        assert_eq!(french_delay(chrono::Duration::minutes(1500)), "1 j 1 h");
        assert_eq!(french_km(3.24), "3,2 km");
    }
}
