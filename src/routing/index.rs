//! The search index: every bookable slot in memory, grouped by professional × practice × modality, each group's
//! slots sorted by start, and the groups laid on a grid of 0.1° cells per profession. A search then reads the
//! first few eligible slots of each group near the patient — a few hundred entries — instead of asking the
//! database for every slot of the profession within 100 km over two days (tens of thousands of rows).
//!
//! Pure and synchronous: it is fed [`SearchSnapshot`]s and answers queries. Keeping it coherent with the
//! database, across processes, is `routing::live`'s job.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Exclusion, Exclusions, Query, SlotView, cost_band, offered_to_regulation};
use crate::domain::geo::{BoundingBox, Coordinates, distance_km, latitude_gap_km};
use crate::domain::search::{
    BookableSlot, Candidate, OverbookingContact, PracticeCard, ProfessionalCard, SearchSnapshot, SlotId,
};
use crate::domain::slot::{Modality, Visibility};

/// Grid cell size in degrees (≈ 11 km north–south, 7–8 km east–west in mainland France).
const CELL_DEGREES: f64 = 0.1;

type Cell = (i32, i32);

fn cell_of(c: Coordinates) -> Cell {
    ((c.lat / CELL_DEGREES).floor() as i32, (c.lon / CELL_DEGREES).floor() as i32)
}

/// The first and last cells of the box around `center` that holds every point within `km`.
fn box_corners(center: Coordinates, km: f64) -> (Cell, Cell) {
    let b = BoundingBox::around(center.lat, center.lon, km);
    (cell_of(Coordinates { lat: b.min_lat, lon: b.min_lon }), cell_of(Coordinates { lat: b.max_lat, lon: b.max_lon }))
}

/// Every cell that may hold a point within `km` of `center`.
fn cells_around(center: Coordinates, km: f64) -> impl Iterator<Item = Cell> {
    let ((lat0, lon0), (lat1, lon1)) = box_corners(center, km);
    (lat0..=lat1).flat_map(move |lat| (lon0..=lon1).map(move |lon| (lat, lon)))
}

/// Whether a cell is one of [`cells_around`]'s.
fn box_cells(center: Coordinates, km: f64) -> impl Fn(Cell) -> bool {
    let ((lat0, lon0), (lat1, lon1)) = box_corners(center, km);
    move |(lat, lon)| (lat0..=lat1).contains(&lat) && (lon0..=lon1).contains(&lon)
}

/// The cells around `center` ring by ring — its own cell, then the 8 around it, then the 16 around those… —
/// each ring with a distance no point of it can be nearer than, up to the ring whose bound passes `km`. A
/// nearest-first question stops at the first ring whose bound exceeds what it has found, instead of reading
/// every cell within `km` (around Paris, a 100 km box holds a fifth of the country's professionals).
fn rings(center: Coordinates, km: f64) -> impl Iterator<Item = (f64, impl Iterator<Item = Cell>)> {
    // A cell is 0.1° of latitude high and 0.1° × cos(latitude) wide: the narrowest within reach bounds them all.
    const KM_PER_DEGREE: f64 = 6371.0088 * std::f64::consts::PI / 180.0;
    let farthest_latitude = (center.lat.abs() + km / 110.0 + 2.0 * CELL_DEGREES).min(89.0);
    // 0.99: the haversine distance across meridians is a hair below the parallel's arc (under 0.01 % at 3°).
    let cell_km = 0.99 * CELL_DEGREES * KM_PER_DEGREE * farthest_latitude.to_radians().cos();
    let (lat, lon) = cell_of(center);
    (0..)
        .map(move |r: i32| {
            // A point of ring r is more than r − 1 whole cells away in latitude or in longitude.
            let bound = f64::from((r - 1).max(0)) * cell_km;
            let ring = (-r..=r).flat_map(move |i| {
                // The first and last rows whole; the rows between, only their two ends.
                let step = if i == -r || i == r { 1 } else { 2 * r as usize };
                (-r..=r).step_by(step).map(move |j| (lat + i, lon + j))
            });
            (bound, ring)
        })
        .take_while(move |(bound, _)| *bound <= km)
}

/// FxHash for grid cells: two small integers need no protection against chosen collisions, and a search looks up
/// hundreds of cells (SipHash made that a tenth of a search).
#[derive(Default, Clone, Copy)]
struct CellHasher(u64);

impl Hasher for CellHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.add(u64::from(byte));
        }
    }
    fn write_i32(&mut self, value: i32) {
        self.add(u64::from(value as u32));
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl CellHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type CellMap = HashMap<Cell, Vec<usize>, BuildHasherDefault<CellHasher>>;

/// How much of the index a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gather {
    /// What can reach the top of the ranking, for `professionals` distinct professionals in the list: per group
    /// in reach, its first `max_per_professional` eligible slots — and only the groups whose best slot's cost
    /// band is no worse than that of the `professionals`-th professional's best one. Anything else is ranked
    /// below at least that many professionals' slots. (`professionals` ≥ the professionals needed before
    /// widening, so that the widening decision sees the same.)
    Top { professionals: usize },
    /// Every slot of the groups in reach that passes every rule but distance: what counting slots needs.
    Eligible,
    /// Every bookable slot of the groups in the radius's box: what the advice needs to count exclusions.
    All,
}

/// What [`SearchIndex::tally_around`] found.
pub struct Tally<'a> {
    pub(super) excluded: Exclusions,
    pub groups: Vec<GroupTally<'a>>,
}

/// One group's share of a [`Tally`].
pub struct GroupTally<'a> {
    group: &'a Group,
    eligible: usize,
    first_eligible: Option<usize>,
    first_after_delay: Option<usize>,
}

impl<'a> GroupTally<'a> {
    /// What the rules of distance look at: its modality, professional and practice (its first slot's start).
    pub(crate) fn view(&self) -> SlotView<'a> {
        self.group.view(&self.group.slots[0])
    }

    pub fn professional_id(&self) -> &'a str {
        &self.group.professional.id
    }

    /// How many of its slots pass every rule but distance.
    pub fn eligible(&self) -> usize {
        self.eligible
    }

    /// Its slots that pass every rule but distance, as candidates.
    pub fn eligible_candidates(&self, q: &Query) -> Vec<Candidate> {
        let Some(from) = self.first_eligible else { return Vec::new() };
        self.group.eligible_from(q, from, q.latest).map(|(_, s)| self.group.candidate(s)).collect()
    }

    pub fn first_eligible(&self) -> Option<Candidate> {
        self.first_eligible.map(|i| self.group.candidate(&self.group.slots[i]))
    }

    /// Its first slot past the delay that every other rule but distance lets through.
    pub fn first_after_delay(&self) -> Option<Candidate> {
        self.first_after_delay.map(|i| self.group.candidate(&self.group.slots[i]))
    }
}

/// A slot as the index keeps it (its professional and practice are its group's).
#[derive(Debug, Clone)]
struct IndexedSlot {
    id: SlotId,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    visibility: Visibility,
    held_until: Option<DateTime<Utc>>,
}

#[derive(Debug)]
struct Group {
    professional: Arc<ProfessionalCard>,
    practice: Arc<PracticeCard>,
    modality: Modality,
    slots: Vec<IndexedSlot>,
    /// Every slot offered to regulation and none ever held: its eligible slots can be counted from the window's
    /// bounds alone (groups are rebuilt whenever a slot of theirs changes, holds included).
    plain: bool,
}

impl Group {
    fn new(
        professional: Arc<ProfessionalCard>,
        practice: Arc<PracticeCard>,
        modality: Modality,
        slots: Vec<IndexedSlot>,
    ) -> Group {
        let plain = slots.iter().all(|s| s.held_until.is_none() && offered_to_regulation(s.visibility));
        Group { professional, practice, modality, slots, plain }
    }

    fn is_teleconsultation(&self) -> bool {
        self.modality == Modality::Teleconsultation
    }

    /// Its slots from the query's earliest start to `until` that no live hold keeps.
    fn bookable<'a>(&'a self, q: &'a Query, until: DateTime<Utc>) -> impl Iterator<Item = &'a IndexedSlot> + 'a {
        let first = self.slots.partition_point(|s| s.start < q.earliest);
        self.slots[first..].iter().take_while(move |s| s.start < until).filter(|s| s.is_bookable(q.now))
    }

    /// Its slots from the query's earliest start to `until` that no live hold keeps and that pass every rule
    /// but distance, with their index.
    fn eligible<'a>(
        &'a self,
        q: &'a Query,
        until: DateTime<Utc>,
    ) -> impl Iterator<Item = (usize, &'a IndexedSlot)> + 'a {
        self.eligible_from(q, self.slots.partition_point(|s| s.start < q.earliest), until)
    }

    /// The index of its first slot before `until` that no live hold keeps and that passes every rule but
    /// distance: its best, since within a group the cost grows with the start.
    fn first_eligible(&self, q: &Query, until: DateTime<Utc>) -> Option<usize> {
        self.eligible(q, until).next().map(|(i, _)| i)
    }

    /// Its best slot's cost band, itself and the slot's index, at `distance` from the patient — unless its first
    /// slot from the earliest start is already in a band worse than `threshold`: no eligible slot of the group
    /// costs less than that one (the cost grows with the start), so the group cannot make the list, and its rules
    /// are not judged.
    fn best(
        &self,
        q: &Query,
        until: DateTime<Utc>,
        distance: Option<f64>,
        threshold: i64,
    ) -> Option<(i64, &Group, usize)> {
        let from = self.slots.partition_point(|s| s.start < q.earliest);
        if cost_band(q.cost(self.view(self.slots.get(from)?), distance)) > threshold {
            return None;
        }
        let (best, _) = self.eligible_from(q, from, until).next()?;
        Some((cost_band(q.cost(self.view(&self.slots[best]), distance)), self, best))
    }

    /// Its slots from index `from` (at or after the query's earliest start) to `until` that no live hold keeps
    /// and that pass every rule but distance, with their index. The rules common to the group are judged
    /// once (see [`Group::common_rules`]), not once per slot.
    fn eligible_from<'a>(
        &'a self,
        q: &'a Query,
        from: usize,
        until: DateTime<Utc>,
    ) -> impl Iterator<Item = (usize, &'a IndexedSlot)> + 'a {
        let window = &self.slots[from..from + self.slots[from..].partition_point(|s| s.start < until)];
        let common = self.common_rules(q, window);
        let window = if common.is_some() { window } else { &window[..0] };
        let all_pass_common = common == Some(true);
        window
            .iter()
            .enumerate()
            .filter(move |(_, s)| {
                let view = self.view(s);
                s.is_bookable(q.now)
                    && if all_pass_common {
                        q.visibility_or_delay_exclusion(view).is_none()
                    } else {
                        q.slot_exclusion(view).is_none()
                    }
            })
            .map(move |(i, s)| (from + i, s))
    }

    /// How the slots of `window` (in start order) stand with the rules that are not the slot's own: those of
    /// the professional, the practice and the modality, the same for the whole group, and the patient's age,
    /// which only grows with the slot's day. `Some(true)`: every slot passes them (the age passes on the first
    /// and the last day, so on every day between); `Some(false)`: the age must be judged slot by slot; `None`:
    /// none passes (a rule of the group's, or an empty window).
    fn common_rules(&self, q: &Query, window: &[IndexedSlot]) -> Option<bool> {
        if window.is_empty() {
            return None;
        }
        match self.shared_rule(q, window) {
            Some(None) => Some(true),
            Some(Some(_)) => None,
            None => Some(false),
        }
    }

    /// How many slots [`Group::eligible`] yields, counted from the window's bounds when every slot is plain and
    /// passes the group's rules.
    fn eligible_count(&self, q: &Query, until: DateTime<Utc>) -> usize {
        let from = self.slots.partition_point(|s| s.start < q.earliest);
        let until = until.min(q.latest);
        let window = &self.slots[from..from + self.slots[from..].partition_point(|s| s.start < until)];
        if self.plain && self.common_rules(q, window) == Some(true) {
            return window.len();
        }
        self.eligible_from(q, from, until).count()
    }

    /// The rule other than time and distance that every slot of `window` (in start order) breaks, when it is the
    /// same for all: `Some(None)` none is broken, `Some(Some(rule))` all break `rule` (a rule of the group's);
    /// `None` the age must be judged slot by slot — it only grows with the slot's day, so it passes on every day
    /// between two where it passes — or the window is empty.
    fn shared_rule(&self, q: &Query, window: &[IndexedSlot]) -> Option<Option<Exclusion>> {
        let (first, last) = (window.first()?, window.last()?);
        let at_first = q.exclusion_ignoring_time_and_distance(self.view(first));
        let at_last = q.exclusion_ignoring_time_and_distance(self.view(last));
        match (at_first, at_last) {
            (None, None) => Some(None),
            (Some(rule), _) | (_, Some(rule)) if rule != Exclusion::Age => Some(Some(rule)),
            _ => None,
        }
    }

    /// One pass over its bookable slots from the query's earliest start to `until` (past the delay): each slot
    /// that breaks a rule other than distance counted under the first it breaks, as [`super::search`] counts
    /// candidates; its eligible slots counted, and its first eligible slot and first slot after the delay kept.
    fn tally(&self, q: &Query, until: DateTime<Utc>, excluded: &mut Exclusions) -> GroupTally<'_> {
        let from = self.slots.partition_point(|s| s.start < q.earliest);
        let window = &self.slots[from..from + self.slots[from..].partition_point(|s| s.start < until)];
        let delay_ends = window.partition_point(|s| s.start < q.latest);
        // The group's rules, judged once for each side of the delay's end where they cannot vary.
        let (rule_within, rule_after) =
            (self.shared_rule(q, &window[..delay_ends]), self.shared_rule(q, &window[delay_ends..]));
        let mut tally = GroupTally { group: self, eligible: 0, first_eligible: None, first_after_delay: None };
        for (i, slot) in window.iter().enumerate() {
            if !slot.is_bookable(q.now) {
                continue;
            }
            let after_delay = i >= delay_ends;
            let shared = if after_delay { rule_after } else { rule_within };
            let rule = || shared.unwrap_or_else(|| q.exclusion_ignoring_time_and_distance(self.view(slot)));
            if !offered_to_regulation(slot.visibility) {
                excluded.add(Exclusion::Visibility, 1);
            } else if after_delay {
                excluded.add(Exclusion::Delay, 1);
                if tally.first_after_delay.is_none() && rule().is_none() {
                    tally.first_after_delay = Some(from + i);
                }
            } else if let Some(rule) = rule() {
                excluded.add(rule, 1);
            } else {
                tally.eligible += 1;
                tally.first_eligible.get_or_insert(from + i);
            }
        }
        tally
    }

    fn view(&self, slot: &IndexedSlot) -> SlotView<'_> {
        SlotView {
            start: slot.start,
            visibility: slot.visibility,
            modality: self.modality,
            professional: &self.professional,
            practice: &self.practice,
        }
    }

    fn candidate(&self, slot: &IndexedSlot) -> Candidate {
        Candidate {
            slot_id: slot.id.clone(),
            start: slot.start,
            end: slot.end,
            modality: self.modality,
            visibility: slot.visibility,
            professional: self.professional.clone(),
            practice: self.practice.clone(),
        }
    }
}

impl IndexedSlot {
    fn is_bookable(&self, now: DateTime<Utc>) -> bool {
        self.held_until.is_none_or(|until| until <= now)
    }
}

/// One professional as the index knows them.
#[derive(Debug)]
struct Entry {
    card: Arc<ProfessionalCard>,
    practices: Vec<Arc<PracticeCard>>,
    groups: Vec<usize>,
    absences: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    bookings: Vec<DateTime<Utc>>,
}

/// Groups of one profession: in person and home visits by their practice's cell; teleconsultations apart,
/// because they are in reach from anywhere within the widest radius.
#[derive(Debug, Default)]
struct ProfessionGrid {
    near: CellMap,
    teleconsultation: CellMap,
}

#[derive(Debug, Default)]
pub struct SearchIndex {
    practices: HashMap<String, Arc<PracticeCard>>,
    professionals: HashMap<String, Entry>,
    /// A slab: group ids stay valid while the group lives; freed places are reused.
    groups: Vec<Option<Group>>,
    free_places: Vec<usize>,
    grids: HashMap<String, ProfessionGrid>,
    /// The professionals who accept an extra patient (a few in ten), by the cell of each of their practices:
    /// what the advice reads when nothing fits — those around the patient, not every one of the country.
    overbooking: HashMap<Cell, Vec<String>, BuildHasherDefault<CellHasher>>,
    slot_count: usize,
}

impl SearchIndex {
    /// How many slots and professionals the index holds.
    pub fn size(&self) -> (usize, usize) {
        (self.slot_count, self.professionals.len())
    }

    /// Forgets everything, then loads a snapshot of the whole database.
    pub fn replace_all(&mut self, snapshot: SearchSnapshot) {
        *self = SearchIndex::default();
        self.apply(&[], snapshot);
    }

    /// Replaces what the index knows of the `asked` professionals (and of the snapshot's practices) with the
    /// snapshot: an asked professional absent from it no longer exists.
    pub fn apply(&mut self, asked: &[String], snapshot: SearchSnapshot) {
        for id in asked {
            self.remove_professional(id);
        }
        for practice in snapshot.practices {
            self.upsert_practice(practice);
        }
        let mut entries: HashMap<String, Entry> = snapshot
            .professionals
            .into_iter()
            .map(|card| {
                self.remove_professional(&card.id);
                let entry = Entry {
                    card: Arc::new(card),
                    practices: Vec::new(),
                    groups: Vec::new(),
                    absences: Vec::new(),
                    bookings: Vec::new(),
                };
                (entry.card.id.clone(), entry)
            })
            .collect();
        for (professional, practice) in snapshot.links {
            if let (Some(entry), Some(practice)) = (entries.get_mut(&professional), self.practices.get(&practice)) {
                entry.practices.push(practice.clone());
            }
        }
        for (professional, start, end) in snapshot.absences {
            if let Some(entry) = entries.get_mut(&professional) {
                entry.absences.push((start, end));
            }
        }
        for (professional, at) in snapshot.bookings {
            if let Some(entry) = entries.get_mut(&professional) {
                entry.bookings.push(at);
            }
        }
        let mut groups: HashMap<(String, String, Modality), Vec<IndexedSlot>> = HashMap::new();
        for slot in snapshot.slots {
            let BookableSlot { id, professional_id, practice_id, start, end, modality, visibility, held_until } = slot;
            groups.entry((professional_id, practice_id, modality)).or_default().push(IndexedSlot {
                id: SlotId::new(id),
                start,
                end,
                visibility,
                held_until,
            });
        }
        for ((professional, practice, modality), mut slots) in groups {
            let (Some(entry), Some(practice)) = (entries.get_mut(&professional), self.practices.get(&practice)) else {
                continue;
            };
            slots.sort_by(|a, b| a.start.cmp(&b.start).then_with(|| a.id.cmp(&b.id)));
            let group = Group::new(entry.card.clone(), practice.clone(), modality, slots);
            entry.groups.push(self.add_group(group));
        }
        for entry in entries.values().filter(|e| e.card.accepts_overbooking) {
            for practice in &entry.practices {
                self.overbooking.entry(cell_of(practice.location)).or_default().push(entry.card.id.clone());
            }
        }
        self.professionals.extend(entries);
    }

    fn upsert_practice(&mut self, practice: PracticeCard) {
        if self.practices.get(&practice.id).is_some_and(|known| **known == practice) {
            return;
        }
        // Groups keep the card they were built with until their professional is reloaded — which the journal
        // does for every professional of a changed practice.
        self.practices.insert(practice.id.clone(), Arc::new(practice));
    }

    fn add_group(&mut self, group: Group) -> usize {
        let cell = cell_of(group.practice.location);
        let grid = self.grids.entry(group.professional.profession.clone()).or_default();
        let cells = if group.is_teleconsultation() { &mut grid.teleconsultation } else { &mut grid.near };
        self.slot_count += group.slots.len();
        let place = match self.free_places.pop() {
            Some(place) => {
                self.groups[place] = Some(group);
                place
            }
            None => {
                self.groups.push(Some(group));
                self.groups.len() - 1
            }
        };
        cells.entry(cell).or_default().push(place);
        place
    }

    fn remove_professional(&mut self, id: &str) {
        let Some(entry) = self.professionals.remove(id) else { return };
        // The cards it was filed under: a practice that moved is reloaded with each of its professionals.
        for practice in entry.practices.iter().filter(|_| entry.card.accepts_overbooking) {
            if let Some(ids) = self.overbooking.get_mut(&cell_of(practice.location)) {
                ids.retain(|known| known != id);
            }
        }
        for place in entry.groups {
            let Some(group) = self.groups[place].take() else { continue };
            self.free_places.push(place);
            self.slot_count -= group.slots.len();
            if let Some(grid) = self.grids.get_mut(&group.professional.profession) {
                let cells = if group.is_teleconsultation() { &mut grid.teleconsultation } else { &mut grid.near };
                if let Some(ids) = cells.get_mut(&cell_of(group.practice.location)) {
                    ids.retain(|&p| p != place);
                }
            }
        }
    }

    /// The candidates of `q` starting before `until`, from groups within `radius_km` of the patient
    /// (teleconsultation: within the widest radius; without a location, teleconsultations everywhere).
    pub fn candidates(&self, q: &Query, radius_km: f64, until: DateTime<Utc>, gather: Gather) -> Vec<Candidate> {
        let mut out = Vec::new();
        match gather {
            Gather::All => {
                for place in self.places(q, radius_km) {
                    let group = self.group(place);
                    out.extend(group.bookable(q, until).map(|s| group.candidate(s)));
                }
            }
            Gather::Eligible => {
                for (group, _) in self.groups_in_reach(q, radius_km) {
                    out.extend(group.eligible(q, until).map(|(_, s)| group.candidate(s)));
                }
            }
            Gather::Top { professionals } => out = self.top_candidates(q, radius_km, until, professionals),
        }
        out
    }

    /// [`Gather::Top`]: each group's best (first eligible) slot and its cost band, then the first slots of the
    /// groups whose band is no worse than the `professionals`-th professional's best. Groups in person and home
    /// visits are read ring by ring from the patient, and the reading stops at the first ring whose lowest
    /// possible cost band (see [`Query::lowest_cost_at`]) is worse than that of the `professionals`-th
    /// professional found so far: more groups can only lower that band, so nothing further out can make the
    /// list. Around a city the list is settled within a few kilometres, instead of reading every group of the
    /// profession within the radius.
    fn top_candidates<'a>(
        &'a self,
        q: &'a Query,
        radius_km: f64,
        until: DateTime<Utc>,
        professionals: usize,
    ) -> Vec<Candidate> {
        let mut bests: Vec<(i64, &Group, usize)> = Vec::new();
        let mut threshold = ProfessionalBand::new(professionals);
        for group in self.teleconsultation_places(q).map(|place| self.group(place)) {
            if let Some(distance) = reachable(group, q, radius_km)
                && let Some(best) = group.best(q, until, distance, threshold.threshold())
            {
                threshold.add(best.1.professional.id.as_str(), best.0);
                bests.push(best);
            }
        }
        if let Some(patient) = q.location {
            let grids: Vec<&ProfessionGrid> = q.professions.iter().filter_map(|p| self.grids.get(p)).collect();
            let inside = box_cells(patient, radius_km);
            for (bound, cells) in rings(patient, radius_km) {
                if cost_band(q.lowest_cost_at(bound)) > threshold.threshold() {
                    break;
                }
                // The rings are square in the narrowest cells' kilometres; the box around the radius is smaller.
                let mut cells = cells.filter(|&cell| inside(cell)).peekable();
                if cells.peek().is_none() {
                    break; // this ring lies wholly outside the box, and every further one too
                }
                for place in cells.flat_map(|cell| grids.iter().filter_map(move |grid| grid.near.get(&cell))).flatten()
                {
                    let group = self.group(*place);
                    if let Some(distance) = reachable(group, q, radius_km)
                        && let Some(best) = group.best(q, until, distance, threshold.threshold())
                    {
                        threshold.add(best.1.professional.id.as_str(), best.0);
                        bests.push(best);
                    }
                }
            }
        }
        let threshold = threshold.threshold();
        bests
            .into_iter()
            .filter(|(band, _, _)| *band <= threshold)
            .flat_map(|(_, group, from)| {
                group.eligible_from(q, from, until).take(q.max_per_professional).map(|(_, s)| group.candidate(s))
            })
            .collect()
    }

    /// What [`super::explain`] reads: one pass over the bookable slots of every group of [`Gather::All`] — within
    /// `radius_km`'s box, up to `until` — tallied group by group instead of turned into a candidate each: how
    /// many slots each rule (distance aside) excludes, and each group's eligible slots, first eligible slot and
    /// first slot after the delay. Groups with neither are left out.
    pub fn tally_around(&self, q: &Query, radius_km: f64, until: DateTime<Utc>) -> Tally<'_> {
        let mut excluded = Exclusions::default();
        let groups = self
            .places(q, radius_km)
            .map(|place| self.group(place).tally(q, until, &mut excluded))
            .filter(|g| g.eligible > 0 || g.first_after_delay.is_some())
            .collect();
        Tally { excluded, groups }
    }

    /// How many slots [`Gather::Eligible`] gathers — every eligible slot in reach — without gathering them: what
    /// the advice counts for each other profession (around a city, thousands of slots).
    pub fn count_eligible(&self, q: &Query, radius_km: f64, until: DateTime<Utc>) -> usize {
        self.groups_in_reach(q, radius_km).map(|(group, _)| group.eligible_count(q, until)).sum()
    }

    /// For the `q.min_professionals` professionals nearest in reach at `radius_km` with an eligible slot, the
    /// smallest radius that reaches one of theirs (0 for teleconsultation), in increasing order: what the
    /// widening counts. The grid is read ring by ring from the patient and no further than those need.
    pub fn nearest_reach(&self, q: &Query, radius_km: f64) -> Vec<f64> {
        let mut nearest: HashMap<&str, f64> = HashMap::new();
        let grids: Vec<&ProfessionGrid> = q.professions.iter().filter_map(|p| self.grids.get(p)).collect();
        match q.location {
            None => {
                for place in grids.iter().flat_map(|grid| grid.teleconsultation.values()).flatten() {
                    consider_reach(&mut nearest, q, self.group(*place), None);
                }
            }
            Some(patient) => {
                for cell in cells_around(patient, q.max_radius_km) {
                    for place in grids.iter().filter_map(|grid| grid.teleconsultation.get(&cell)).flatten() {
                        let group = self.group(*place);
                        if let Some(distance) = group_reach(group, q, radius_km) {
                            consider_reach(&mut nearest, q, group, distance);
                        }
                    }
                }
                let mut rings = rings(patient, radius_km).peekable();
                while let Some((_, cells)) = rings.next() {
                    for cell in cells {
                        for place in grids.iter().filter_map(|grid| grid.near.get(&cell)).flatten() {
                            let group = self.group(*place);
                            if let Some(distance) = group_reach(group, q, radius_km) {
                                consider_reach(&mut nearest, q, group, distance);
                            }
                        }
                    }
                    // Whatever lies beyond needs at least the next ring's bound: enough are nearer, stop.
                    let beyond = rings.peek().map_or(f64::INFINITY, |(bound, _)| *bound);
                    if nearest.values().filter(|&&needed| needed <= beyond).count() >= q.min_professionals {
                        break;
                    }
                }
            }
        }
        let mut needed: Vec<f64> = nearest.into_values().collect();
        needed.sort_by(f64::total_cmp);
        needed.truncate(q.min_professionals);
        needed
    }

    fn group(&self, place: usize) -> &Group {
        self.groups[place].as_ref().expect("the grid names live groups only")
    }

    /// The groups of the query's professions whose practice's cell is near enough (teleconsultations: within
    /// the widest radius; without a location, all of them).
    fn places<'a>(&'a self, q: &'a Query, radius_km: f64) -> impl Iterator<Item = usize> + 'a {
        let near = q.location.into_iter().flat_map(move |patient| {
            let grids = q.professions.iter().filter_map(|p| self.grids.get(p));
            grids.flat_map(move |grid| cells_around(patient, radius_km).filter_map(|cell| grid.near.get(&cell)))
        });
        near.flatten().copied().chain(self.teleconsultation_places(q))
    }

    /// The teleconsultation groups of the query's professions whose practice's cell lies within the widest
    /// radius (without a location, all of them).
    fn teleconsultation_places<'a>(&'a self, q: &'a Query) -> impl Iterator<Item = usize> + 'a {
        q.professions.iter().filter_map(|p| self.grids.get(p)).flat_map(move |grid| {
            let cells: Vec<&Vec<usize>> = match q.location {
                Some(patient) => {
                    cells_around(patient, q.max_radius_km).filter_map(|cell| grid.teleconsultation.get(&cell)).collect()
                }
                None => grid.teleconsultation.values().collect(),
            };
            cells.into_iter().flatten().copied()
        })
    }

    /// The groups in reach at `radius_km` whose professional has the skills asked, with the distance that
    /// counts for the ranking (none for teleconsultation).
    fn groups_in_reach<'a>(
        &'a self,
        q: &'a Query,
        radius_km: f64,
    ) -> impl Iterator<Item = (&'a Group, Option<f64>)> + 'a {
        self.places(q, radius_km).filter_map(move |place| {
            let group = self.group(place);
            reachable(group, q, radius_km).map(|distance| (group, distance))
        })
    }

    /// Regulated bookings of each of these professionals since `since` (the fairness tie-break).
    pub fn recent_bookings<'a>(
        &self,
        professionals: impl Iterator<Item = &'a str>,
        since: DateTime<Utc>,
    ) -> HashMap<String, usize> {
        professionals
            .filter_map(|id| self.professionals.get(id))
            .map(|e| (e.card.id.clone(), e.bookings.iter().filter(|&&at| at >= since).count()))
            .collect()
    }

    /// Professionals of these professions who accept an extra patient and are not absent `now`, at each of
    /// their practices within `km` of the patient's box.
    pub fn overbooking_contacts(
        &self,
        professions: &[String],
        patient: Coordinates,
        km: f64,
        now: DateTime<Utc>,
    ) -> Vec<OverbookingContact> {
        let b = BoundingBox::around(patient.lat, patient.lon, km);
        let inside =
            |c: Coordinates| (b.min_lat..=b.max_lat).contains(&c.lat) && (b.min_lon..=b.max_lon).contains(&c.lon);
        // Each professional once, though filed under the cell of each of their practices.
        let mut ids: Vec<&String> =
            cells_around(patient, km).filter_map(|cell| self.overbooking.get(&cell)).flatten().collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .filter_map(|id| self.professionals.get(id))
            .filter(|e| professions.contains(&e.card.profession))
            .filter(|e| !e.absences.iter().any(|&(start, end)| start <= now && now < end))
            .flat_map(|e| {
                e.practices
                    .iter()
                    .filter(|p| inside(p.location))
                    .map(|p| OverbookingContact { professional: e.card.clone(), practice: p.clone() })
            })
            .collect()
    }

    /// The practice nearest to the patient, within `km`, where a professional of the asked professions has
    /// slots (the département is inferred from it).
    pub fn nearest_practice(&self, q: &Query, km: f64) -> Option<Arc<PracticeCard>> {
        let location = q.location?;
        let grids: Vec<&ProfessionGrid> = q.professions.iter().filter_map(|p| self.grids.get(p)).collect();
        let mut best: Option<(f64, &Arc<PracticeCard>)> = None;
        for (bound, cells) in rings(location, km) {
            if best.is_some_and(|(nearest, _)| nearest < bound) {
                break; // every practice further out is further than this one
            }
            for cell in cells {
                let places = grids.iter().flat_map(|grid| [grid.near.get(&cell), grid.teleconsultation.get(&cell)]);
                for &place in places.flatten().flatten() {
                    let practice = &self.group(place).practice;
                    // Most groups of the first rings are further than the nearest found by their latitude alone.
                    if best.is_some_and(|(nearest, _)| latitude_gap_km(location, practice.location) > nearest) {
                        continue;
                    }
                    let d = distance_km(location, practice.location);
                    let nearer = best.is_none_or(|(nearest, known)| (d, &practice.id) < (nearest, &known.id));
                    if d <= km && nearer {
                        best = Some((d, practice));
                    }
                }
            }
        }
        best.map(|(_, p)| p.clone())
    }
}

/// Counts a group in reach for [`SearchIndex::nearest_reach`]: its professional's smallest radius so far.
fn consider_reach<'a>(nearest: &mut HashMap<&'a str, f64>, q: &Query, group: &'a Group, distance: Option<f64>) {
    if q.skills.iter().all(|s| group.professional.skills.contains(s)) && group.first_eligible(q, q.latest).is_some() {
        let needed = distance.unwrap_or(0.0);
        let best = nearest.entry(group.professional.id.as_str()).or_insert(needed);
        *best = best.min(needed);
    }
}

/// `Some(distance that counts)` when the group's professional has the skills asked and the group is in reach
/// at `radius_km`.
fn reachable(group: &Group, q: &Query, radius_km: f64) -> Option<Option<f64>> {
    if !q.skills.iter().all(|s| group.professional.skills.contains(s)) {
        return None;
    }
    group_reach(group, q, radius_km)
}

/// The `k` best bands of distinct professionals among groups' best slots, kept as groups are read: the band of
/// the `k`-th professional is the threshold of [`Gather::Top`]. A group no better than the threshold changes
/// nothing and costs one comparison — most groups, since the reading goes outward and costs grow with distance;
/// the others scan the `k` entries (the list's length: 10 by default).
struct ProfessionalBand<'a> {
    k: usize,
    best: Vec<(&'a str, i64)>,
    threshold: i64,
}

impl<'a> ProfessionalBand<'a> {
    fn new(k: usize) -> Self {
        ProfessionalBand { k: k.max(1), best: Vec::with_capacity(k.max(1)), threshold: i64::MAX }
    }

    fn add(&mut self, professional: &'a str, band: i64) {
        if band >= self.threshold {
            return; // full, and no better than the worst kept: neither a newcomer nor an improvement
        }
        if let Some(known) = self.best.iter_mut().find(|(id, _)| *id == professional) {
            known.1 = known.1.min(band);
        } else if self.best.len() < self.k {
            self.best.push((professional, band));
        } else if let Some(worst) = self.best.iter_mut().max_by_key(|(_, band)| *band) {
            // The professional it replaces has k others at least as good: it can no longer be among the k best.
            *worst = (professional, band);
        }
        if self.best.len() == self.k {
            self.threshold = self.best.iter().map(|(_, band)| *band).max().unwrap_or(i64::MAX);
        }
    }

    /// The `k`-th professional's band (`i64::MAX` while fewer are known).
    fn threshold(&self) -> i64 {
        self.threshold
    }
}

/// `Some(distance that counts)` when the group is in reach at `radius_km`, as the ranking decides it.
fn group_reach(group: &Group, q: &Query, radius_km: f64) -> Option<Option<f64>> {
    let Some(patient) = q.location else { return group.is_teleconsultation().then_some(None) };
    let km = distance_km(patient, group.practice.location);
    let reached = match group.modality {
        Modality::Teleconsultation => return (km <= q.max_radius_km).then_some(None),
        Modality::InPerson => km <= radius_km,
        Modality::HomeVisit => km <= radius_km && group.professional.home_visit_radius_km.is_some_and(|r| km <= r),
    };
    reached.then_some(Some(km))
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap()
    }

    fn practice(id: &str, lat: f64, lon: f64) -> PracticeCard {
        PracticeCard {
            id: id.into(),
            name: id.into(),
            address: "1 rue de Paris, 76600 Le Havre".into(),
            phone: None,
            location: Coordinates { lat, lon },
            departement: "76".into(),
            timezone: chrono_tz::Europe::Paris,
        }
    }

    fn gp(id: &str) -> ProfessionalCard {
        ProfessionalCard {
            id: id.into(),
            name: format!("Dr {id}"),
            profession: "gp".into(),
            skills: Vec::new(),
            home_visit_radius_km: None,
            min_patient_age_months: None,
            max_patient_age_months: None,
            accepts_overbooking: false,
        }
    }

    fn slot(id: &str, professional: &str, practice: &str, minutes: i64) -> BookableSlot {
        BookableSlot {
            id: id.into(),
            professional_id: professional.into(),
            practice_id: practice.into(),
            start: now() + Duration::minutes(minutes),
            end: now() + Duration::minutes(minutes + 15),
            modality: Modality::InPerson,
            visibility: Visibility::Regulation,
            held_until: None,
        }
    }

    fn snapshot(professionals: &[&str], slots: Vec<BookableSlot>) -> SearchSnapshot {
        SearchSnapshot {
            professionals: professionals.iter().map(|id| gp(id)).collect(),
            practices: vec![practice("near", 49.50, 0.10), practice("far", 49.90, 0.10)],
            links: professionals
                .iter()
                .flat_map(|id| [(id.to_string(), "near".into()), (id.to_string(), "far".into())])
                .collect(),
            slots,
            absences: Vec::new(),
            bookings: Vec::new(),
        }
    }

    fn query() -> Query {
        Query {
            now: now(),
            professions: vec!["gp".into()],
            skills: Vec::new(),
            birth_date: None,
            min_age_months: None,
            max_age_months: None,
            location: Some(Coordinates { lat: 49.49, lon: 0.11 }),
            modality: None,
            earliest: now() + Duration::minutes(15),
            latest: now() + Duration::hours(48),
            radius_km: 20.0,
            widening_step_km: None,
            max_radius_km: 100.0,
            min_professionals: 5,
            usual_professional_id: None,
            usual_practice_id: None,
            prescription_required: false,
            limit: 10,
            max_per_professional: 2,
            recent_bookings: HashMap::new(),
        }
    }

    fn ids(candidates: &[Candidate]) -> Vec<String> {
        candidates.iter().map(|c| c.slot_id.to_string()).collect()
    }

    #[test]
    fn best_gathering_keeps_the_first_eligible_slots_of_each_group_in_reach() {
        let mut index = SearchIndex::default();
        let mut held = slot("held", "a", "near", 30);
        held.held_until = Some(now() + Duration::minutes(5));
        index.replace_all(snapshot(
            &["a"],
            vec![
                slot("too-soon", "a", "near", 5),
                held,
                slot("third", "a", "near", 90),
                slot("first", "a", "near", 45),
                slot("second", "a", "near", 60),
                slot("beyond-delay", "a", "near", 49 * 60),
                slot("far-away", "a", "far", 50), // ≈ 45 km: out of the 20 km radius
            ],
        ));
        assert_eq!(index.size(), (7, 1));
        let q = query();
        let best = index.candidates(&q, q.radius_km, q.latest, Gather::Top { professionals: 5 });
        assert_eq!(ids(&best), ["first", "second"]);
        // A lapsed hold is bookable again, without any reload.
        let later = Query { now: now() + Duration::minutes(6), ..query() };
        let best = index.candidates(&later, later.radius_km, later.latest, Gather::Top { professionals: 5 });
        assert_eq!(ids(&best), ["held", "first"]);
        // Gathering everything keeps what the advice counts: ineligible and distant slots too.
        let everything = index.candidates(&q, 105.0, q.latest + Duration::hours(24), Gather::All);
        let mut all = ids(&everything);
        all.sort();
        assert_eq!(all, ["beyond-delay", "far-away", "first", "second", "third"]);
    }

    #[test]
    fn reloading_a_professional_replaces_what_was_known_and_a_vanished_one_is_forgotten() {
        let mut index = SearchIndex::default();
        index.replace_all(snapshot(&["a", "b"], vec![slot("a1", "a", "near", 30), slot("b1", "b", "near", 40)]));
        let q = query();
        let best = |index: &SearchIndex| {
            let mut found = ids(&index.candidates(&q, q.radius_km, q.latest, Gather::Top { professionals: 5 }));
            found.sort();
            found
        };
        assert_eq!(best(&index), ["a1", "b1"]);
        // `a` booked a1 and published a2.
        index.apply(&["a".to_string()], snapshot(&["a"], vec![slot("a2", "a", "near", 50)]));
        assert_eq!(best(&index), ["a2", "b1"]);
        // `b` is gone from the database.
        index.apply(&["b".to_string()], SearchSnapshot::default());
        assert_eq!(best(&index), ["a2"]);
        assert_eq!(index.size(), (1, 1));
        assert_eq!(index.nearest_practice(&q, 30.0).unwrap().id, "near");
        assert!(index.nearest_practice(&Query { professions: vec!["midwife".into()], ..query() }, 30.0).is_none());
    }

    #[test]
    fn the_overbooking_contacts_follow_each_professionals_latest_card() {
        let contacts = |index: &SearchIndex| {
            let mut found: Vec<String> = index
                .overbooking_contacts(&["gp".into()], Coordinates { lat: 49.49, lon: 0.11 }, 100.0, now())
                .into_iter()
                .map(|c| format!("{}@{}", c.professional.id, c.practice.id))
                .collect();
            found.sort();
            found
        };
        let mut willing = snapshot(&["a", "b", "c"], Vec::new());
        willing.professionals.iter_mut().filter(|p| p.id != "c").for_each(|p| p.accepts_overbooking = true);
        let mut index = SearchIndex::default();
        index.replace_all(willing);
        // With no slot at all, a professional who accepts an extra patient is still proposed, at each practice.
        assert_eq!(contacts(&index), ["a@far", "a@near", "b@far", "b@near"]);
        // `a` no longer accepts; `b` is gone; `c` now accepts.
        index.apply(&["a".to_string(), "b".to_string()], snapshot(&["a"], Vec::new()));
        let mut c = snapshot(&["c"], Vec::new());
        c.professionals[0].accepts_overbooking = true;
        index.apply(&["c".to_string()], c);
        assert_eq!(contacts(&index), ["c@far", "c@near"]);
        // A practice beyond the box is not read; once it moves near (its professionals reloaded with it), it is.
        let mut moved = snapshot(&["c"], Vec::new());
        moved.professionals[0].accepts_overbooking = true;
        moved.practices[1] = practice("far", 52.0, 3.0);
        index.apply(&["c".to_string()], moved);
        assert_eq!(contacts(&index), ["c@near"]);
        let mut back = snapshot(&["c"], Vec::new());
        back.professionals[0].accepts_overbooking = true;
        back.practices[1] = practice("far", 49.6, 0.2);
        index.apply(&["c".to_string()], back);
        assert_eq!(contacts(&index), ["c@far", "c@near"]);
        index.apply(&["c".to_string()], SearchSnapshot::default());
        assert!(contacts(&index).is_empty());
        assert!(index.overbooking.values().all(Vec::is_empty), "nothing left filed: {:?}", index.overbooking);
    }

    #[test]
    fn the_threshold_is_the_kth_best_band_of_distinct_professionals() {
        let mut rng = crate::dataset::Rng::new(5);
        let ids: Vec<String> = (0..12).map(|p| format!("p{p}")).collect();
        for _ in 0..2_000 {
            let k = 1 + rng.below(6);
            let mut kept = ProfessionalBand::new(k);
            let mut best: HashMap<&str, i64> = HashMap::new();
            for _ in 0..rng.below(30) {
                let (id, band) = (ids[rng.below(ids.len())].as_str(), rng.below(20) as i64 - 5);
                kept.add(id, band);
                let known = best.entry(id).or_insert(band);
                *known = (*known).min(band);
                let mut bands: Vec<i64> = best.values().copied().collect();
                bands.sort_unstable();
                assert_eq!(kept.threshold(), bands.get(k - 1).copied().unwrap_or(i64::MAX), "k = {k}, {best:?}");
            }
        }
    }

    /// The ring by ring reading stops once the list is settled nearby, but the patient's usual professional (or
    /// practice) far out still ranks first: their bonus is taken off the bound before stopping.
    #[test]
    fn a_usual_professional_or_practice_far_out_is_still_found_when_the_list_fills_nearby() {
        // 20 professionals 1.3 km away with a slot in `near_minutes`, and the usual one 40 km east in 20 minutes.
        let territory = |near_minutes: i64| {
            let mut snapshot = SearchSnapshot {
                practices: vec![practice("near", 49.50, 0.10), practice("far", 49.49, 0.66)],
                ..SearchSnapshot::default()
            };
            for p in 0..20 {
                let id = format!("near{p}");
                snapshot.professionals.push(gp(&id));
                snapshot.links.push((id.clone(), "near".into()));
                snapshot.slots.push(slot(&format!("{id}-slot"), &id, "near", near_minutes));
            }
            snapshot.professionals.push(gp("usual"));
            snapshot.links.push(("usual".into(), "far".into()));
            snapshot.slots.push(slot("usual-slot", "usual", "far", 20));
            let mut index = SearchIndex::default();
            index.replace_all(snapshot);
            index
        };
        let base = Query { radius_km: 60.0, limit: 5, max_per_professional: 1, ..query() };
        let far_km = distance_km(base.location.unwrap(), Coordinates { lat: 49.49, lon: 0.66 });
        assert!((39.0..41.0).contains(&far_km), "the usual practice lies {far_km} km out");
        // The far slot costs 20 + 3 × 40 = 140: less 120 (20) for the usual professional, first against near
        // slots of 20 + 3 × 1.3 ≈ 24 (the same band); less 60 (80) for the usual practice, first against near
        // slots of 80 + 3 × 1.3 ≈ 84 (the same band too).
        let by_professional = Query { usual_professional_id: Some("usual".into()), ..base.clone() };
        let by_practice = Query { usual_practice_id: Some("far".into()), ..base.clone() };
        for (near_minutes, q) in [(20, by_professional), (80, by_practice)] {
            let index = territory(near_minutes);
            let ranked = super::super::rank(&index, &mut q.clone()).ranked;
            let position = ranked.iter().position(|r| r.candidate.slot_id.to_string() == "usual-slot");
            assert_eq!(position, Some(0), "{:?}", ids_of(&ranked));
            // Without a bonus the list is the nearby professionals'.
            let ranked = super::super::rank(&index, &mut base.clone()).ranked;
            assert!(ranked.iter().all(|r| r.candidate.professional.id.starts_with("near")), "{:?}", ids_of(&ranked));
        }
    }

    /// The engine's pruned reading must rank exactly as reading every eligible slot would: random territories,
    /// usual professionals, fairness counts, small and large lists, explicit and widening radii.
    #[test]
    fn the_top_gathering_ranks_exactly_like_reading_every_eligible_slot() {
        let mut rng = crate::dataset::Rng::new(11);
        for round in 0..300 {
            // One round in three is a city: up to 120 professionals with a slot within the half hour, so that the
            // ring by ring reading stops before the radius.
            let city = round % 3 == 0;
            let professionals = 1 + rng.below(if city { 120 } else { 40 });
            let mut snapshot = SearchSnapshot::default();
            for p in 0..professionals {
                let id = format!("p{p}");
                let practice = format!("c{}", rng.below(15));
                snapshot.practices.push(practice_card(&practice, &mut rng));
                let home_visit_radius_km = (rng.below(3) == 0).then(|| 5.0 + rng.below(30) as f64);
                snapshot.professionals.push(ProfessionalCard { home_visit_radius_km, ..gp(&id) });
                snapshot.links.push((id.clone(), practice.clone()));
                let mut minutes = rng.below(if city { 5 } else { 120 }) as i64;
                for s in 0..rng.below(8) {
                    minutes += 15 + 15 * rng.below(if city { 2 } else { 12 }) as i64;
                    let modality = match rng.below(6) {
                        0 => Modality::Teleconsultation,
                        1 => Modality::HomeVisit,
                        _ => Modality::InPerson,
                    };
                    snapshot
                        .slots
                        .push(BookableSlot { modality, ..slot(&format!("{id}-{s}"), &id, &practice, minutes) });
                }
                let recent = rng.below(3);
                snapshot.bookings.extend((0..recent).map(|_| (id.clone(), now())));
            }
            let mut index = SearchIndex::default();
            snapshot.practices.sort_by(|a, b| a.id.cmp(&b.id));
            snapshot.practices.dedup_by(|a, b| a.id == b.id);
            index.replace_all(snapshot);
            let mut q = Query {
                limit: 1 + rng.below(12),
                radius_km: 5.0 + rng.below(if city { 60 } else { 30 }) as f64,
                usual_professional_id: (rng.below(3) == 0).then(|| format!("p{}", rng.below(professionals))),
                usual_practice_id: (rng.below(3) == 0).then(|| format!("c{}", rng.below(15))),
                ..query()
            };
            q.min_professionals = 1 + rng.below(6);
            q.widening_step_km = (round % 2 == 0).then_some(5.0 + rng.below(10) as f64);
            // What the engine answers…
            let fast = super::super::rank(&index, &mut q.clone());
            // …and the ranking over every eligible slot within the widest radius.
            let mut exact_query = q.clone();
            let every = index.candidates(&q, q.max_radius_km, q.latest, Gather::Eligible);
            exact_query.recent_bookings =
                index.recent_bookings(every.iter().map(|c| c.professional.id.as_str()), now());
            let exact = super::super::search(&every, &[], &exact_query);
            assert_eq!(
                (ids_of(&fast.ranked), fast.radius_km, fast.widened),
                (ids_of(&exact.ranked), exact.radius_km, exact.widened),
                "round {round}"
            );
        }
    }

    /// The advice's tally must come to exactly what the search over every bookable slot around says: random
    /// territories with slots of every visibility and modality, holds, ages crossing bounds in three zones,
    /// home-visit radii, slots past the delay, practices beyond the radius, patients with and without a place.
    /// The count of eligible slots (read from a window's bounds when a group is plain) is checked on the same
    /// territories against gathering them.
    #[test]
    fn the_advice_tally_comes_to_what_searching_every_slot_around_says() {
        let mut rng = crate::dataset::Rng::new(47);
        let zones = [chrono_tz::Europe::Paris, chrono_tz::Pacific::Noumea, chrono_tz::America::Miquelon];
        let bounds = [None, Some(3), Some(36), Some(192)];
        let mut shown = [0usize; 3];
        for round in 0..400 {
            let mut snapshot = SearchSnapshot::default();
            let professionals = 1 + rng.below(30);
            for p in 0..professionals {
                let id = format!("p{p}");
                let practice = format!("c{}", rng.below(15));
                let mut place = practice_card(&practice, &mut rng);
                place.timezone = zones[practice[1..].parse::<usize>().unwrap() % zones.len()];
                snapshot.practices.push(place);
                let mut card = gp(&id);
                card.home_visit_radius_km = (rng.below(3) == 0).then(|| 5.0 + rng.below(30) as f64);
                card.min_patient_age_months = bounds[rng.below(2)];
                card.max_patient_age_months = bounds[rng.below(4)];
                card.accepts_overbooking = rng.below(4) == 0;
                if rng.below(2) == 0 {
                    card.skills.push("bronchiolitis".into());
                }
                snapshot.professionals.push(card);
                snapshot.links.push((id.clone(), practice.clone()));
                let plain = rng.below(2) == 0;
                for s in 0..rng.below(25) {
                    let mut slot = slot(&format!("{id}-{s}"), &id, &practice, rng.below(4 * 24 * 60) as i64 - 60);
                    slot.modality = [Modality::InPerson, Modality::HomeVisit, Modality::Teleconsultation][rng.below(3)];
                    if !plain {
                        slot.visibility = [Visibility::Public, Visibility::Regulation, Visibility::Cpts][rng.below(3)];
                        slot.held_until =
                            (rng.below(5) == 0).then(|| now() + Duration::minutes(rng.below(20) as i64 - 10));
                    }
                    snapshot.slots.push(slot);
                }
            }
            snapshot.practices.sort_by(|a, b| a.id.cmp(&b.id));
            snapshot.practices.dedup_by(|a, b| a.id == b.id);
            let mut index = SearchIndex::default();
            index.replace_all(snapshot);
            let turns = [3, 36, 192][rng.below(3)];
            let birth = (now() - Duration::days(rng.below(5) as i64 - 1)).date_naive() - chrono::Months::new(turns);
            let mut q = Query {
                skills: if rng.below(3) == 0 { vec!["bronchiolitis".into()] } else { vec![] },
                birth_date: (rng.below(4) != 0).then_some(birth),
                min_age_months: bounds[rng.below(2)],
                max_age_months: bounds[rng.below(4)],
                modality: [None, None, Some(Modality::InPerson), Some(Modality::Teleconsultation)][rng.below(4)],
                location: (rng.below(8) != 0).then_some(Coordinates { lat: 49.49, lon: 0.11 }),
                latest: now() + Duration::hours(1 + rng.below(48) as i64),
                radius_km: 3.0 + rng.below(30) as f64,
                widening_step_km: (round % 2 == 0).then_some(5.0 + rng.below(10) as f64),
                min_professionals: 1 + rng.below(6),
                usual_professional_id: (rng.below(3) == 0).then(|| format!("p{}", rng.below(professionals))),
                ..query()
            };
            q.max_radius_km = [40.0, 100.0][rng.below(2)];
            let fast = super::super::explain(&index, &mut q.clone());
            // The search over every bookable slot around, as one candidate each.
            let around_km = if q.location.is_some() { q.max_radius_km.max(100.0) + 5.0 } else { q.max_radius_km };
            let every = index.candidates(&q, around_km, q.latest + Duration::hours(24), Gather::All);
            let contacts = q
                .location
                .map(|patient| index.overbooking_contacts(&q.professions, patient, around_km, q.now))
                .unwrap_or_default();
            let mut exact_query = q.clone();
            exact_query.recent_bookings =
                index.recent_bookings(every.iter().map(|c| c.professional.id.as_str()), now() - Duration::days(7));
            let exact = super::super::search(&every, &contacts, &exact_query);
            assert_eq!(fast, exact, "round {round}");
            shown[0] += usize::from(!exact.ranked.is_empty());
            shown[1] += usize::from(exact.nearest_beyond_radius.is_some());
            shown[2] += usize::from(exact.first_after_delay.is_some());

            let radius = q.radius_km;
            let gathered = index.candidates(&q, radius, q.latest, Gather::Eligible).len();
            assert_eq!(index.count_eligible(&q, radius, q.latest), gathered, "round {round}");
        }
        // Every part of the outcome was exercised, not only empty answers.
        assert!(shown.iter().all(|&n| n >= 40), "{shown:?}");
    }

    #[test]
    fn the_first_slot_after_the_delay_is_one_the_regulation_may_take() {
        let mut index = SearchIndex::default();
        let mut reserved = slot("cpts-reserved", "a", "near", 60 * 30);
        reserved.visibility = Visibility::Cpts;
        index.replace_all(snapshot(&["a"], vec![reserved.clone(), slot("offered", "a", "near", 60 * 31)]));
        let mut q = Query { latest: now() + Duration::hours(24), ..query() };
        let outcome = super::super::explain(&index, &mut q);
        assert!(outcome.ranked.is_empty());
        let first = outcome.first_after_delay.map(|r| r.candidate.slot_id.to_string());
        assert_eq!(first.as_deref(), Some("offered"));
        // Once the offered one is gone, a reserved slot is not proposed instead.
        index.replace_all(snapshot(&["a"], vec![reserved]));
        assert_eq!(super::super::explain(&index, &mut q).first_after_delay, None);
    }

    #[test]
    fn every_point_lies_in_a_ring_no_farther_than_it_and_the_rings_cover_the_distance() {
        // Each cell once: 1, 8, 16, 24… cells per ring.
        let cells: Vec<Vec<Cell>> =
            rings(Coordinates { lat: 48.85, lon: 2.35 }, 40.0).map(|(_, ring)| ring.collect()).collect();
        assert_eq!(cells.iter().map(Vec::len).collect::<Vec<_>>()[..4], [1, 8, 16, 24]);
        assert_eq!(
            cells.iter().flatten().collect::<std::collections::HashSet<_>>().len(),
            cells.iter().map(Vec::len).sum::<usize>()
        );
        let mut rng = crate::dataset::Rng::new(7);
        // Mainland, Réunion, Saint-Pierre-et-Miquelon, Nouméa: from the tropics to 47° north, both hemispheres.
        for (lat, lon) in [(48.85, 2.35), (51.0, 2.3), (-21.1, 55.5), (46.8, -56.2), (-22.3, 166.4)] {
            for _ in 0..2_000 {
                let center = Coordinates { lat: lat + rng.unit() - 0.5, lon: lon + rng.unit() - 0.5 };
                let km = 1.0 + rng.unit() * 99.0;
                let point = Coordinates {
                    lat: center.lat + (rng.unit() - 0.5) * 2.0,
                    lon: center.lon + (rng.unit() - 0.5) * 3.0,
                };
                let d = distance_km(center, point);
                let found = rings(center, km)
                    .find_map(|(bound, mut cells)| cells.any(|c| c == cell_of(point)).then_some(bound));
                match found {
                    Some(bound) => assert!(bound <= d, "{center:?} → {point:?}: bound {bound} > {d} km"),
                    None => assert!(d > km, "{center:?} → {point:?}: {d} km ≤ {km} km yet in no ring"),
                }
            }
        }
    }

    #[test]
    fn a_groups_eligible_slots_are_those_each_slot_s_own_check_keeps() {
        // Ages that cross a bound within the window (a baby turning 3 months or 3 years, a child turning 16 in
        // the practice's own zone), slots of every visibility and modality, some held, professionals with and
        // without skills and age bounds: the group-wide judgement must keep exactly what checking every slot
        // keeps.
        let mut rng = crate::dataset::Rng::new(31);
        let zones = [chrono_tz::Europe::Paris, chrono_tz::Pacific::Noumea, chrono_tz::America::Miquelon];
        let bounds = [None, Some(3), Some(36), Some(192)];
        for round in 0..400 {
            let mut snapshot = SearchSnapshot::default();
            for p in 0..1 + rng.below(6) {
                let (id, practice_id) = (format!("p{p}"), format!("c{p}"));
                let mut card = gp(&id);
                card.min_patient_age_months = bounds[rng.below(2)];
                card.max_patient_age_months = bounds[rng.below(4)];
                if rng.below(2) == 0 {
                    card.skills.push("bronchiolitis".into());
                }
                let mut place = practice(&practice_id, 49.5, 0.1);
                place.timezone = zones[rng.below(zones.len())];
                snapshot.practices.push(place);
                snapshot.professionals.push(card);
                snapshot.links.push((id.clone(), practice_id.clone()));
                for s in 0..rng.below(30) {
                    let mut slot = slot(&format!("{id}-{s}"), &id, &practice_id, rng.below(4 * 24 * 60) as i64);
                    slot.modality = [Modality::InPerson, Modality::HomeVisit, Modality::Teleconsultation][rng.below(3)];
                    slot.visibility = [Visibility::Public, Visibility::Regulation, Visibility::Cpts][rng.below(3)];
                    slot.held_until = (rng.below(5) == 0).then(|| now() + Duration::minutes(rng.below(20) as i64));
                    snapshot.slots.push(slot);
                }
            }
            let mut index = SearchIndex::default();
            index.replace_all(snapshot);
            // Born so that a bound is crossed somewhere in the next four days, or not at all.
            let turns = [3, 36, 192][rng.below(3)];
            let birth = (now() - Duration::days(rng.below(5) as i64 - 1)).date_naive() - chrono::Months::new(turns);
            let q = Query {
                skills: if rng.below(3) == 0 { vec!["bronchiolitis".into()] } else { vec![] },
                birth_date: (rng.below(5) != 0).then_some(birth),
                min_age_months: bounds[rng.below(2)],
                max_age_months: bounds[rng.below(4)],
                modality: [None, Some(Modality::InPerson), Some(Modality::Teleconsultation)][rng.below(3)],
                latest: now() + Duration::hours(24 + rng.below(72) as i64),
                ..query()
            };
            let until = q.latest - Duration::hours(rng.below(12) as i64);
            for group in index.groups.iter().flatten() {
                let each: Vec<String> = group
                    .bookable(&q, until)
                    .filter(|s| q.slot_exclusion(group.view(s)).is_none())
                    .map(|s| s.id.to_string())
                    .collect();
                let judged: Vec<String> = group.eligible(&q, until).map(|(_, s)| s.id.to_string()).collect();
                assert_eq!(judged, each, "round {round}");
                let first = group.first_eligible(&q, until).map(|i| group.slots[i].id.to_string());
                assert_eq!(first.as_ref(), each.first(), "round {round}");
            }
        }
    }

    #[test]
    fn nearest_first_answers_equal_reading_every_cell() {
        let mut rng = crate::dataset::Rng::new(23);
        for round in 0..200 {
            let mut snapshot = SearchSnapshot::default();
            let practices = 1 + rng.below(150);
            for c in 0..practices {
                let id = format!("c{c}");
                // Spread over ≈ 200 km, some pairs at the same place (equal distances: the id decides).
                let (lat, lon) =
                    if rng.below(8) == 0 { (49.0, 1.0) } else { (48.2 + rng.unit() * 1.8, 0.0 + rng.unit() * 2.6) };
                snapshot.practices.push(practice(&id, lat, lon));
            }
            for p in 0..1 + rng.below(150) {
                let id = format!("p{p}");
                let practice = format!("c{}", rng.below(practices));
                let mut card = gp(&id);
                if rng.below(3) == 0 {
                    card.skills.push("ivg".into());
                }
                card.home_visit_radius_km = (rng.below(2) == 0).then(|| 5.0 + rng.unit() * 30.0);
                snapshot.professionals.push(card);
                snapshot.links.push((id.clone(), practice.clone()));
                for s in 0..rng.below(4) {
                    // Most within the 48 h asked; a few teleconsultations (in reach at any distance).
                    let mut slot = slot(&format!("{id}-{s}"), &id, &practice, 30 + 30 * rng.below(110) as i64);
                    slot.modality = match rng.below(60) {
                        0 => Modality::Teleconsultation,
                        1..20 => Modality::HomeVisit,
                        _ => Modality::InPerson,
                    };
                    snapshot.slots.push(slot);
                }
            }
            let mut index = SearchIndex::default();
            index.replace_all(snapshot);
            let q = Query {
                location: Some(Coordinates { lat: 48.9 + rng.unit() * 1.0, lon: 0.4 + rng.unit() * 1.4 }),
                skills: if rng.below(3) == 0 { vec!["ivg".into()] } else { vec![] },
                min_professionals: 1 + rng.below(7),
                ..query()
            };
            let km = 3.0 + rng.unit() * 60.0;
            let patient = q.location.unwrap();

            let every_practice = index
                .places(&q, km)
                .map(|place| &index.group(place).practice)
                .map(|p| (distance_km(patient, p.location), p.id.clone()))
                .filter(|(d, _)| *d <= km)
                .min_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
            assert_eq!(
                index.nearest_practice(&q, km).map(|p| p.id.clone()),
                every_practice.map(|(_, id)| id),
                "round {round}"
            );

            let mut every_reach: HashMap<&str, f64> = HashMap::new();
            for (group, distance) in index.groups_in_reach(&q, km) {
                consider_reach(&mut every_reach, &q, group, distance);
            }
            let mut every_reach: Vec<f64> = every_reach.into_values().collect();
            every_reach.sort_by(f64::total_cmp);
            every_reach.truncate(q.min_professionals);
            assert_eq!(index.nearest_reach(&q, km), every_reach, "round {round}");

            // The advice's count of other professions' slots: every eligible slot in reach, as a search counts.
            let every = Query { radius_km: km, limit: usize::MAX, max_per_professional: usize::MAX, ..q.clone() };
            let gathered = index.candidates(&every, km, every.latest, Gather::Eligible);
            let counted = super::super::search(&gathered, &[], &every).ranked.len();
            assert_eq!(index.count_eligible(&every, km, every.latest), counted, "round {round}");
        }
    }

    fn practice_card(id: &str, rng: &mut crate::dataset::Rng) -> PracticeCard {
        // Deterministic per id, so that a practice met twice is the same one.
        let n: f64 = id[1..].parse().unwrap();
        let _ = rng;
        // Spread over ≈ 80 km north–south, so that some searches must widen.
        practice(id, 49.40 + n * 0.05, 0.02 + (n * 7.0 % 15.0) * 0.012)
    }

    fn ids_of(ranked: &[super::super::Ranked]) -> Vec<String> {
        ranked.iter().map(|r| r.candidate.slot_id.to_string()).collect()
    }
}
