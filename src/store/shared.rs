//! The part of the `Store` implementation that is identical on both backends, written once.
//!
//! `impl_store!` expands to the whole `impl Store for …` of a backend: the shared methods below plus the
//! backend's own (connection set-up, migrations, the overlap guard). A backend type must provide the inherent
//! methods `begin_write()` (its flavour of write transaction), `lock_professionals()` and `migrator()`.

use super::StoreError;

/// Maps driver errors to store errors: constraint violations become domain-level conflicts, never a 500.
pub fn map_error(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error {
        let message = db.message().to_ascii_lowercase();
        let constraint = db.constraint().unwrap_or_default().to_ascii_lowercase();
        if db.is_unique_violation() {
            if message.contains("rpps") || constraint.contains("rpps") {
                return StoreError::Conflict("a professional with this RPPS number is already registered".into());
            }
            if message.contains("adeli") || constraint.contains("adeli") {
                return StoreError::Conflict("a professional with this ADELI number is already registered".into());
            }
            return StoreError::Conflict("this record already exists".into());
        }
        if db.is_foreign_key_violation() {
            return StoreError::MissingReference("a referenced record does not exist".into());
        }
        // PostgreSQL: 22021 invalid byte sequence (a NUL in text), 22P05 untranslatable character.
        if matches!(db.code().as_deref(), Some("22021") | Some("22P05")) {
            return StoreError::InvalidValue("text must not contain NUL or untranslatable characters".into());
        }
    }
    StoreError::Database(error)
}

/// An idempotency reservation still unanswered after this long belongs to a request that died (the HTTP
/// timeout is at most a few minutes): the next request with the key takes it over.
pub const ABANDONED_AFTER_SECONDS: i64 = 300;

/// A slot's columns bound in the order of `sql::INSERT_SLOT` (and of each row of SQLite's multi-row insert).
macro_rules! bind_slot_columns {
    ($query:expr, $slot:expr) => {
        $query
            .bind(&$slot.id)
            .bind(&$slot.professional_id)
            .bind(&$slot.practice_id)
            .bind($slot.start)
            .bind($slot.end)
            .bind($slot.modality.as_str())
            .bind($slot.visibility.as_str())
            .bind($slot.status.as_str())
            .bind($slot.created_at)
            .bind($slot.updated_at)
            .bind(&$slot.rule_id)
            .bind($slot.rule_version.map(|v| i32::try_from(v).unwrap_or(i32::MAX)))
    };
}
pub(crate) use bind_slot_columns;

macro_rules! impl_store {
    ($store:ty, $db:ty, $backend:literal, { $($specific:tt)* }) => {
        impl $store {
            /// Why a slot could not be booked, once the conditional UPDATE has said no.
            async fn slot_refusal(&self, slot_id: &str) -> StoreError {
                match <Self as super::Store>::get_slot(self, slot_id).await {
                    Ok(None) => StoreError::NotFound,
                    Ok(Some(_)) => StoreError::SlotUnavailable,
                    Err(error) => error,
                }
            }

            /// A booking whose slot the transaction has just taken: its row, its search's link, its messages and
            /// its audit events.
            async fn write_booking_records(
                tx: &mut sqlx::Transaction<'static, $db>,
                b: &Booking,
                messages: &[Notification],
                audit: &[AuditEvent],
            ) -> Result<(), StoreError> {
                let patient = b.patient.as_ref().ok_or_else(|| StoreError::InvalidValue("a booking needs its patient".into()))?;
                let inserted = Self::bind_booking(sqlx::query(sql::INSERT_BOOKING), b, patient).execute(&mut **tx).await;
                if let Err(error) = inserted {
                    return Err(match StoreError::from(error) {
                        // The partial unique index: another active booking of this slot exists.
                        StoreError::Conflict(_) => StoreError::SlotUnavailable,
                        other => other,
                    });
                }
                if let Some(search_id) = &b.search_id {
                    sqlx::query(sql::LINK_SEARCH_TO_BOOKING)
                        .bind(search_id)
                        .bind(&b.id)
                        .bind(&b.booked_by)
                        .execute(&mut **tx)
                        .await?;
                }
                Self::insert_outbox(tx, messages).await?;
                Self::insert_audit(tx, audit).await?;
                Ok(())
            }

            /// Audit events, inside the transaction of the change they record.
            async fn insert_audit(tx: &mut sqlx::Transaction<'static, $db>, events: &[AuditEvent]) -> Result<(), sqlx::Error> {
                for e in events {
                    sqlx::query(sql::INSERT_AUDIT_EVENT)
                        .bind(&e.id)
                        .bind(e.at)
                        .bind(e.actor_kind.as_str())
                        .bind(&e.actor_id)
                        .bind(e.role.map(|r| r.as_str()))
                        .bind(&e.action)
                        .bind(&e.target_type)
                        .bind(&e.target_id)
                        .bind(&e.request_id)
                        .bind(&e.detail)
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(())
            }

            /// One slot row, inside the caller's publishing transaction.
            async fn insert_slot(tx: &mut sqlx::Transaction<'static, $db>, slot: &Slot) -> Result<(), sqlx::Error> {
                $crate::store::shared::bind_slot_columns!(sqlx::query(sql::INSERT_SLOT), slot).execute(&mut **tx).await?;
                Ok(())
            }

            /// Why a new rule slot cannot be inserted now, if it cannot (inside the caller's write transaction).
            async fn rule_slot_obstacle(
                tx: &mut sqlx::Transaction<'static, $db>,
                slot: &Slot,
            ) -> Result<Option<SkipReason>, StoreError> {
                let overlap: Option<i32> = sqlx::query_scalar(sql::FIND_OVERLAP)
                    .bind(&slot.professional_id)
                    .bind(slot.start)
                    .bind(slot.end)
                    .fetch_optional(&mut **tx)
                    .await?;
                if overlap.is_some() {
                    return Ok(Some(SkipReason::Overlap));
                }
                let absent: Option<i32> = sqlx::query_scalar(sql::FIND_ABSENCE_OVERLAP)
                    .bind(&slot.professional_id)
                    .bind(slot.start)
                    .bind(slot.end)
                    .fetch_optional(&mut **tx)
                    .await?;
                Ok(absent.map(|_| SkipReason::Absence))
            }

            /// Whether a professional may not offer slots at a practice (either is deactivated, or the professional
            /// left it), inside the caller's transaction, after the professional's lock: a deactivation or an
            /// edit commits before or after it.
            async fn cannot_publish(
                tx: &mut sqlx::Transaction<'static, $db>,
                professional_id: &str,
                practice_id: &str,
            ) -> Result<bool, StoreError> {
                let found: Option<i32> = sqlx::query_scalar(sql::CANNOT_PUBLISH)
                    .bind(professional_id)
                    .bind(practice_id)
                    .fetch_optional(&mut **tx)
                    .await?;
                Ok(found.is_some())
            }

            /// Refuses a batch naming a deactivated professional or practice ([`StoreError::Deactivated`]).
            async fn refuse_deactivated(
                tx: &mut sqlx::Transaction<'static, $db>,
                slots: &[Slot],
            ) -> Result<(), StoreError> {
                let mut checked = std::collections::HashSet::new();
                for (index, slot) in slots.iter().enumerate() {
                    if checked.insert((&slot.professional_id, &slot.practice_id))
                        && Self::cannot_publish(tx, &slot.professional_id, &slot.practice_id).await?
                    {
                        return Err(StoreError::Deactivated { index });
                    }
                }
                Ok(())
            }

            /// A rule is written only where its professional may publish (checked under the professional's lock:
            /// an edit or a deactivation that won the lock is seen).
            async fn refuse_rule_target(
                tx: &mut sqlx::Transaction<'static, $db>,
                rule: &AvailabilityRule,
            ) -> Result<(), StoreError> {
                if Self::cannot_publish(tx, &rule.professional_id, &rule.practice_id).await? {
                    return Err(StoreError::Conflict(
                        "the professional no longer works at this practice, or one of them was just deactivated".into(),
                    ));
                }
                Ok(())
            }

            /// Clears the future free slots of a professional and/or at a practice (inside the caller's
            /// transaction): rule slots removed, so that rules fill the time again later; one-off slots
            /// withdrawn; booked slots and live holds left and reported.
            async fn clear_future_slots(
                tx: &mut sqlx::Transaction<'static, $db>,
                professional_id: Option<&str>,
                practice_id: Option<&str>,
                now: DateTime<Utc>,
            ) -> Result<ClearedSlots, StoreError> {
                let removed = sqlx::query(sql::REMOVE_FUTURE_FREE_RULE_SLOTS_OF)
                    .bind(professional_id)
                    .bind(practice_id)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                let withdrawn = sqlx::query(sql::WITHDRAW_FUTURE_FREE_SLOTS_OF)
                    .bind(professional_id)
                    .bind(practice_id)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                let kept: Vec<SlotRow> = sqlx::query_as(sql::FUTURE_HELD_OR_BOOKED_OF)
                    .bind(professional_id)
                    .bind(practice_id)
                    .bind(now)
                    .fetch_all(&mut **tx)
                    .await?;
                Ok(ClearedSlots {
                    rule_slots_removed: removed.rows_affected(),
                    other_slots_withdrawn: withdrawn.rows_affected(),
                    kept: convert(kept)?,
                })
            }

            /// Inserts a rule's slots inside the caller's transaction (which holds the professional's lock): each
            /// is inserted, or skipped because the rule already produced it, or because of an overlap or absence.
            async fn materialize_in_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                slots: &[Slot],
            ) -> Result<Vec<Option<SkipReason>>, StoreError> {
                let mut present = std::collections::HashSet::new();
                let mut rules: Vec<(&Option<String>, DateTime<Utc>)> = Vec::new();
                for slot in slots {
                    match rules.iter_mut().find(|(rule, _)| *rule == &slot.rule_id) {
                        Some((_, earliest)) => *earliest = (*earliest).min(slot.start),
                        None => rules.push((&slot.rule_id, slot.start)),
                    }
                }
                for (rule_id, earliest) in rules {
                    let starts: Vec<DateTime<Utc>> =
                        sqlx::query_scalar(sql::RULE_SLOT_STARTS).bind(rule_id).bind(earliest).fetch_all(&mut **tx).await?;
                    present.extend(starts.into_iter().map(|start| (rule_id.clone(), start)));
                }
                let mut deactivated = std::collections::HashMap::new();
                for slot in slots {
                    let pair = (slot.professional_id.as_str(), slot.practice_id.as_str());
                    if !deactivated.contains_key(&pair) {
                        deactivated.insert(pair, Self::cannot_publish(tx, pair.0, pair.1).await?);
                    }
                }
                let mut outcome = Vec::with_capacity(slots.len());
                for slot in slots {
                    if present.contains(&(slot.rule_id.clone(), slot.start)) {
                        outcome.push(Some(SkipReason::AlreadyPresent));
                        continue;
                    }
                    if deactivated[&(slot.professional_id.as_str(), slot.practice_id.as_str())] {
                        outcome.push(Some(SkipReason::Deactivated));
                        continue;
                    }
                    let obstacle = Self::rule_slot_obstacle(tx, slot).await?;
                    if obstacle.is_none() {
                        Self::insert_slot(tx, slot).await?;
                    }
                    outcome.push(obstacle);
                }
                Ok(outcome)
            }

            /// A booking's columns, in the order of `INSERT_BOOKING`, after what `query` already binds.
            fn bind_booking<'q>(
                query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
                b: &'q Booking,
                patient: &'q crate::domain::booking::Patient,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
                query
                    .bind(&b.id)
                    .bind(&b.slot_id)
                    .bind(&b.hold_id)
                    .bind(b.status.as_str())
                    .bind(&patient.first_name)
                    .bind(&patient.last_name)
                    .bind(patient.birth_date.format("%Y-%m-%d").to_string())
                    .bind(&patient.phone)
                    .bind(&patient.email)
                    .bind(&b.motif)
                    .bind(&b.note)
                    .bind(&b.search_id)
                    .bind(&b.booked_by)
                    .bind(b.created_at)
                    .bind(b.updated_at)
            }

            /// A practice's columns as `$1`–`$11` (creation and change alike).
            fn bind_practice<'q>(
                query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
                p: &'q Practice,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
                query
                    .bind(&p.id)
                    .bind(&p.name)
                    .bind(p.kind.as_str())
                    .bind(&p.address)
                    .bind(&p.postal_code)
                    .bind(&p.commune)
                    .bind(&p.departement)
                    .bind(p.lat)
                    .bind(p.lon)
                    .bind(p.timezone.name())
                    .bind(&p.phone)
            }

            /// A professional's columns as `$1`–`$13` (creation and change alike).
            fn bind_professional<'q>(
                query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
                p: &'q Professional,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
                query
                    .bind(&p.id)
                    .bind(&p.rpps)
                    .bind(&p.adeli)
                    .bind(&p.first_name)
                    .bind(&p.last_name)
                    .bind(&p.profession)
                    .bind(p.accepts_new_patients)
                    .bind(p.accepts_overbooking)
                    .bind(p.home_visit_radius_km)
                    .bind(&p.email)
                    .bind(&p.phone)
                    .bind(p.min_patient_age_months.map(|m| m as i32))
                    .bind(p.max_patient_age_months.map(|m| m as i32))
            }

            fn bind_rule<'q>(
                query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
                rule: &'q AvailabilityRule,
                columns: &'q RuleColumns,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
                query
                    .bind(&rule.id)
                    .bind(&rule.professional_id)
                    .bind(&rule.practice_id)
                    .bind(&columns.weekdays)
                    .bind(&columns.start_time)
                    .bind(&columns.end_time)
                    .bind(columns.slot_minutes)
                    .bind(rule.modality.as_str())
                    .bind(rule.visibility.as_str())
                    .bind(&columns.valid_from)
                    .bind(&columns.valid_until)
                    .bind(rule.public_holidays_str())
                    .bind(&columns.season_from)
                    .bind(&columns.season_to)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn check_ready(&self) -> Result<(), StoreError> {
                let applied: i64 = sqlx::query_scalar(sql::COUNT_APPLIED_MIGRATIONS).fetch_one(&self.pool).await?;
                let expected = self.migrator().iter().count() as i64;
                if applied < expected {
                    return Err(StoreError::Corrupt(format!("{applied} of {expected} migrations applied")));
                }
                Ok(())
            }

            async fn is_empty(&self) -> Result<bool, StoreError> {
                let count: i64 = sqlx::query_scalar(sql::COUNT_PRACTICES).fetch_one(&self.pool).await?;
                Ok(count == 0)
            }

            async fn insert_practice(&self, p: &Practice) -> Result<(), StoreError> {
                Self::bind_practice(sqlx::query(sql::INSERT_PRACTICE), p)
                    .bind(p.created_at)
                    .execute(self.write_pool())
                    .await?;
                Ok(())
            }

            async fn get_practice(&self, id: &str) -> Result<Option<Practice>, StoreError> {
                let row: Option<PracticeRow> = sqlx::query_as(sql::GET_PRACTICE).bind(id).fetch_optional(&self.pool).await?;
                row.map(Practice::try_from).transpose()
            }

            async fn list_practices(&self, f: &PracticeFilter) -> Result<Vec<Practice>, StoreError> {
                let rows: Vec<PracticeRow> = sqlx::query_as(sql::LIST_PRACTICES)
                    .bind(&f.departement)
                    .bind(f.page.limit)
                    .bind(f.page.offset)
                    .bind(f.active)
                    .fetch_all(&self.pool)
                    .await?;
                convert(rows)
            }

            async fn update_practice(&self, p: &Practice) -> Result<(), StoreError> {
                let updated = Self::bind_practice(sqlx::query(sql::UPDATE_PRACTICE), p).execute(self.write_pool()).await?;
                if updated.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn deactivate_practice(&self, id: &str, now: DateTime<Utc>) -> Result<ClearedSlots, StoreError> {
                let mut tx = self.begin_write().await?;
                // The practice's professionals' locks first, as publishers take them: a batch for this practice
                // commits before the slots are cleared, or meets the deactivation when it checks.
                let staff: Vec<String> = sqlx::query_scalar(sql::PRACTICE_STAFF).bind(id).fetch_all(&mut *tx).await?;
                let staff: Vec<&str> = staff.iter().map(String::as_str).collect();
                Self::lock_professionals(&mut tx, &staff).await?;
                let found: Option<String> =
                    sqlx::query_scalar(sql::DEACTIVATE_PRACTICE).bind(id).bind(now).fetch_optional(&mut *tx).await?;
                if found.is_none() {
                    return Err(StoreError::NotFound);
                }
                let cleared = Self::clear_future_slots(&mut tx, None, Some(id), now).await?;
                tx.commit().await?;
                Ok(cleared)
            }

            async fn reactivate_practice(&self, id: &str) -> Result<(), StoreError> {
                let found: Option<String> =
                    sqlx::query_scalar(sql::REACTIVATE_PRACTICE).bind(id).fetch_optional(self.write_pool()).await?;
                found.map(|_| ()).ok_or(StoreError::NotFound)
            }

            async fn insert_professional(&self, p: &Professional) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                Self::bind_professional(sqlx::query(sql::INSERT_PROFESSIONAL), p)
                    .bind(p.created_at)
                    .execute(&mut *tx)
                    .await?;
                for skill in &p.skills {
                    sqlx::query(sql::INSERT_PROFESSIONAL_SKILL).bind(&p.id).bind(skill).execute(&mut *tx).await?;
                }
                for practice_id in &p.practice_ids {
                    sqlx::query(sql::INSERT_PROFESSIONAL_PRACTICE)
                        .bind(&p.id)
                        .bind(practice_id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn get_professional(&self, id: &str) -> Result<Option<Professional>, StoreError> {
                let row: Option<ProfessionalRow> =
                    sqlx::query_as(sql::GET_PROFESSIONAL).bind(id).fetch_optional(&self.pool).await?;
                Ok(row.map(Professional::from))
            }

            async fn list_professionals(&self, f: &ProfessionalFilter) -> Result<Vec<Professional>, StoreError> {
                let rows: Vec<ProfessionalRow> = sqlx::query_as(sql::LIST_PROFESSIONALS)
                    .bind(&f.practice_id)
                    .bind(&f.profession)
                    .bind(&f.skill)
                    .bind(&f.professional_id)
                    .bind(&f.within_practices_of_key)
                    .bind(f.page.limit)
                    .bind(f.page.offset)
                    .bind(f.active)
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.into_iter().map(Professional::from).collect())
            }

            async fn update_professional(&self, p: &Professional, now: DateTime<Utc>) -> Result<ClearedSlots, StoreError> {
                let mut tx = self.begin_write().await?;
                Self::lock_professionals(&mut tx, &[p.id.as_str()]).await?;
                let updated = Self::bind_professional(sqlx::query(sql::UPDATE_PROFESSIONAL), p).execute(&mut *tx).await?;
                if updated.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                sqlx::query(sql::DELETE_PROFESSIONAL_SKILLS).bind(&p.id).execute(&mut *tx).await?;
                for skill in &p.skills {
                    sqlx::query(sql::INSERT_PROFESSIONAL_SKILL).bind(&p.id).bind(skill).execute(&mut *tx).await?;
                }
                let before: Vec<String> =
                    sqlx::query_scalar(sql::PROFESSIONAL_PRACTICE_IDS).bind(&p.id).fetch_all(&mut *tx).await?;
                let mut cleared = ClearedSlots::default();
                for left in before.iter().filter(|id| !p.practice_ids.contains(id)) {
                    let rule: Option<String> =
                        sqlx::query_scalar(sql::RULE_AT_PRACTICE).bind(&p.id).bind(left).fetch_optional(&mut *tx).await?;
                    if let Some(rule) = rule {
                        return Err(StoreError::Conflict(format!(
                            "availability rule {rule} publishes at practice {left}: delete it before leaving the practice"
                        )));
                    }
                    sqlx::query(sql::DELETE_PROFESSIONAL_PRACTICE).bind(&p.id).bind(left).execute(&mut *tx).await?;
                    let at_left = Self::clear_future_slots(&mut tx, Some(&p.id), Some(left), now).await?;
                    cleared.rule_slots_removed += at_left.rule_slots_removed;
                    cleared.other_slots_withdrawn += at_left.other_slots_withdrawn;
                    cleared.kept.extend(at_left.kept);
                }
                for joined in p.practice_ids.iter().filter(|id| !before.contains(id)) {
                    sqlx::query(sql::INSERT_PROFESSIONAL_PRACTICE).bind(&p.id).bind(joined).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(cleared)
            }

            async fn deactivate_professional(&self, id: &str, now: DateTime<Utc>) -> Result<ClearedSlots, StoreError> {
                let mut tx = self.begin_write().await?;
                Self::lock_professionals(&mut tx, &[id]).await?;
                let found: Option<String> =
                    sqlx::query_scalar(sql::DEACTIVATE_PROFESSIONAL).bind(id).bind(now).fetch_optional(&mut *tx).await?;
                if found.is_none() {
                    return Err(StoreError::NotFound);
                }
                let cleared = Self::clear_future_slots(&mut tx, Some(id), None, now).await?;
                tx.commit().await?;
                Ok(cleared)
            }

            async fn reactivate_professional(&self, id: &str) -> Result<(), StoreError> {
                let found: Option<String> =
                    sqlx::query_scalar(sql::REACTIVATE_PROFESSIONAL).bind(id).fetch_optional(self.write_pool()).await?;
                found.map(|_| ()).ok_or(StoreError::NotFound)
            }

            async fn get_slot(&self, id: &str) -> Result<Option<Slot>, StoreError> {
                let row: Option<SlotRow> = sqlx::query_as(sql::GET_SLOT).bind(id).fetch_optional(&self.pool).await?;
                row.map(Slot::try_from).transpose()
            }

            async fn get_slot_in_context(&self, id: &str) -> Result<Option<SlotInContext>, StoreError> {
                let row: Option<SlotInContextRow> =
                    sqlx::query_as(sql::GET_SLOT_IN_CONTEXT).bind(id).fetch_optional(&self.pool).await?;
                row.map(SlotInContext::try_from).transpose()
            }

            async fn list_slots(&self, f: &SlotFilter) -> Result<Vec<Slot>, StoreError> {
                let rows: Vec<SlotRow> = sqlx::query_as(sql::LIST_SLOTS)
                    .bind(&f.professional_id)
                    .bind(&f.practice_id)
                    .bind(&f.within_practices_of_key)
                    .bind(f.from)
                    .bind(f.to)
                    .bind(f.status.map(|s| s.as_str()))
                    .bind(f.page.limit)
                    .bind(f.page.offset)
                    .bind(&f.rule_id)
                    .fetch_all(&self.pool)
                    .await?;
                convert(rows)
            }

            async fn withdraw_slot(&self, id: &str, now: DateTime<Utc>) -> Result<Slot, StoreError> {
                let mut tx = self.begin_write().await?;
                let withdrawn: Option<String> =
                    sqlx::query_scalar(sql::WITHDRAW_SLOT).bind(id).bind(now).fetch_optional(&mut *tx).await?;
                tx.commit().await?;
                let slot = self.get_slot(id).await?.ok_or(StoreError::NotFound)?;
                match withdrawn {
                    Some(_) => Ok(slot),
                    None => Err(StoreError::SlotNotFree { status: slot.status }),
                }
            }

            async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query(sql::INSERT_API_KEY)
                    .bind(&key.id)
                    .bind(&key.name)
                    .bind(key.role.as_str())
                    .bind(&key.professional_id)
                    .bind(&key.key_digest)
                    .bind(key.created_at)
                    .bind(key.revoked_at)
                    .execute(&mut *tx)
                    .await?;
                for practice_id in &key.practice_ids {
                    sqlx::query(sql::INSERT_API_KEY_PRACTICE)
                        .bind(&key.id)
                        .bind(practice_id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn find_api_key(&self, digest: &str) -> Result<Option<ApiKey>, StoreError> {
                let row: Option<ApiKeyRow> = sqlx::query_as(sql::FIND_API_KEY).bind(digest).fetch_optional(&self.pool).await?;
                row.map(ApiKey::try_from).transpose()
            }

            async fn insert_rule(
                &self,
                rule: &AvailabilityRule,
                slots: &[Slot],
            ) -> Result<Vec<Option<SkipReason>>, StoreError> {
                let columns = RuleColumns::of(rule);
                let mut tx = self.begin_write().await?;
                Self::lock_professionals(&mut tx, &[rule.professional_id.as_str()]).await?;
                Self::refuse_rule_target(&mut tx, rule).await?;
                Self::bind_rule(sqlx::query(sql::INSERT_RULE), rule, &columns)
                    .bind(rule.created_at)
                    .bind(rule.updated_at)
                    .execute(&mut *tx)
                    .await?;
                let outcome = Self::materialize_in_tx(&mut tx, slots).await?;
                tx.commit().await?;
                Ok(outcome)
            }

            async fn get_rule(&self, id: &str) -> Result<Option<AvailabilityRule>, StoreError> {
                let row: Option<RuleRow> = sqlx::query_as(sql::GET_RULE).bind(id).fetch_optional(&self.pool).await?;
                row.map(AvailabilityRule::try_from).transpose()
            }

            async fn list_rules(&self, f: &ScopeFilter) -> Result<Vec<AvailabilityRule>, StoreError> {
                let rows: Vec<RuleRow> = sqlx::query_as(sql::LIST_RULES)
                    .bind(&f.professional_id)
                    .bind(&f.within_practices_of_key)
                    .bind(f.page.limit)
                    .bind(f.page.offset)
                    .fetch_all(&self.pool)
                    .await?;
                convert(rows)
            }

            async fn list_active_rule_ids(&self) -> Result<Vec<String>, StoreError> {
                Ok(sqlx::query_scalar(sql::LIST_ACTIVE_RULE_IDS).fetch_all(&self.pool).await?)
            }

            async fn replace_rule(
                &self,
                rule: &AvailabilityRule,
                now: DateTime<Utc>,
                slots: &[Slot],
            ) -> Result<RuleReplaced, StoreError> {
                let columns = RuleColumns::of(rule);
                let mut tx = self.begin_write().await?;
                Self::lock_professionals(&mut tx, &[rule.professional_id.as_str()]).await?;
                Self::refuse_rule_target(&mut tx, rule).await?;
                // The UPDATE's parameters follow INSERT_RULE's order; `updated_at` is the 15th.
                let version: Option<i32> = Self::bind_rule(sqlx::query(sql::UPDATE_RULE), rule, &columns)
                    .bind(rule.updated_at)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|row| sqlx::Row::get(&row, 0));
                let Some(version) = version else { return Err(StoreError::NotFound) };
                // Keep the free future slots the new version produces identically (same ids for whoever holds
                // them from a search); remove the others.
                let wanted: std::collections::HashSet<(DateTime<Utc>, DateTime<Utc>)> =
                    slots.iter().map(|s| (s.start, s.end)).collect();
                let current: Vec<(String, DateTime<Utc>, DateTime<Utc>, String, String, String)> =
                    sqlx::query_as(sql::FUTURE_FREE_RULE_SLOTS).bind(&rule.id).bind(now).fetch_all(&mut *tx).await?;
                let identical = |start, end, modality: &str, visibility: &str, practice_id: &str| {
                    wanted.contains(&(start, end))
                        && modality == rule.modality.as_str()
                        && visibility == rule.visibility.as_str()
                        && practice_id == rule.practice_id
                };
                let mut removed = 0;
                for (id, start, end, modality, visibility, practice_id) in current {
                    if !identical(start, end, &modality, &visibility, &practice_id) {
                        // Both re-check that the slot is still free: a hold or booking may have committed since.
                        let mut changed =
                            sqlx::query(sql::DELETE_SLOT).bind(&id).bind(now).execute(&mut *tx).await?.rows_affected();
                        if changed == 0 {
                            changed = sqlx::query(sql::WITHDRAW_SLOT_BY_ID)
                                .bind(&id)
                                .bind(now)
                                .execute(&mut *tx)
                                .await?
                                .rows_affected();
                        }
                        removed += changed;
                    }
                }
                let outcome = Self::materialize_in_tx(&mut tx, slots).await?;
                sqlx::query(sql::STAMP_RULE_VERSION).bind(&rule.id).bind(version).bind(now).execute(&mut *tx).await?;
                let taken: Vec<(String, DateTime<Utc>, DateTime<Utc>, String, String, String)> =
                    sqlx::query_as(sql::FUTURE_TAKEN_RULE_SLOTS).bind(&rule.id).bind(now).fetch_all(&mut *tx).await?;
                for (id, start, end, modality, visibility, practice_id) in taken {
                    if identical(start, end, &modality, &visibility, &practice_id) {
                        sqlx::query(sql::SET_RULE_VERSION).bind(&id).bind(version).execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
                Ok(RuleReplaced { removed, version: i64::from(version), outcome })
            }

            async fn delete_rule(&self, id: &str, now: DateTime<Utc>) -> Result<u64, StoreError> {
                let mut tx = self.begin_write().await?;
                let professional: Option<String> =
                    sqlx::query_scalar(sql::RULE_PROFESSIONAL).bind(id).fetch_optional(&mut *tx).await?;
                let Some(professional) = professional else { return Err(StoreError::NotFound) };
                // Under the professional's lock, no horizon pass of this rule is half-way through.
                Self::lock_professionals(&mut tx, &[professional.as_str()]).await?;
                let deleted: Option<String> =
                    sqlx::query_scalar(sql::DELETE_RULE).bind(id).bind(now).fetch_optional(&mut *tx).await?;
                if deleted.is_none() {
                    return Err(StoreError::NotFound);
                }
                let removed = sqlx::query(sql::REMOVE_FUTURE_FREE_RULE_SLOTS).bind(id).bind(now).execute(&mut *tx).await?;
                let withdrawn =
                    sqlx::query(sql::WITHDRAW_FUTURE_FREE_RULE_SLOTS).bind(id).bind(now).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(removed.rows_affected() + withdrawn.rows_affected())
            }

            async fn materialize_rule_slots(
                &self,
                rule_id: &str,
                version: i64,
                slots: &[Slot],
            ) -> Result<Vec<Option<SkipReason>>, StoreError> {
                let mut professionals: Vec<&str> = slots.iter().map(|s| s.professional_id.as_str()).collect();
                professionals.sort_unstable();
                professionals.dedup();
                let mut tx = self.begin_write().await?;
                Self::lock_professionals(&mut tx, &professionals).await?;
                // Expanded from an older version (changed or deleted meanwhile): write nothing.
                let current: Option<i32> = sqlx::query_scalar(sql::RULE_IS_CURRENT)
                    .bind(rule_id)
                    .bind(i32::try_from(version).unwrap_or(-1))
                    .fetch_optional(&mut *tx)
                    .await?;
                if current.is_none() {
                    return Err(StoreError::RuleChanged);
                }
                let outcome = Self::materialize_in_tx(&mut tx, slots).await?;
                tx.commit().await?;
                Ok(outcome)
            }

            async fn insert_absence(&self, a: &Absence, now: DateTime<Utc>) -> Result<ClearedSlots, StoreError> {
                let mut tx = self.begin_write().await?;
                Self::lock_professionals(&mut tx, &[a.professional_id.as_str()]).await?;
                sqlx::query(sql::INSERT_ABSENCE)
                    .bind(&a.id)
                    .bind(&a.professional_id)
                    .bind(a.start)
                    .bind(a.end)
                    .bind(&a.reason)
                    .bind(a.created_at)
                    .execute(&mut *tx)
                    .await?;
                // The past is evidence (hours offered): an absence declared late changes only what is to come.
                let from = a.start.max(now);
                let removed = sqlx::query(sql::REMOVE_FREE_RULE_SLOTS_IN_RANGE)
                    .bind(&a.professional_id)
                    .bind(from)
                    .bind(a.end)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let withdrawn = sqlx::query(sql::WITHDRAW_FREE_SLOTS_IN_RANGE)
                    .bind(&a.professional_id)
                    .bind(from)
                    .bind(a.end)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let kept: Vec<SlotRow> = sqlx::query_as(sql::HELD_OR_BOOKED_IN_RANGE)
                    .bind(&a.professional_id)
                    .bind(from)
                    .bind(a.end)
                    .bind(now)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(ClearedSlots {
                    rule_slots_removed: removed.rows_affected(),
                    other_slots_withdrawn: withdrawn.rows_affected(),
                    kept: convert(kept)?,
                })
            }

            async fn get_absence(&self, id: &str) -> Result<Option<Absence>, StoreError> {
                let row: Option<AbsenceRow> = sqlx::query_as(sql::GET_ABSENCE).bind(id).fetch_optional(&self.pool).await?;
                Ok(row.map(Absence::from))
            }

            async fn list_absences(&self, f: &ScopeFilter) -> Result<Vec<Absence>, StoreError> {
                let rows: Vec<AbsenceRow> = sqlx::query_as(sql::LIST_ABSENCES)
                    .bind(&f.professional_id)
                    .bind(&f.within_practices_of_key)
                    .bind(f.page.limit)
                    .bind(f.page.offset)
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.into_iter().map(Absence::from).collect())
            }

            async fn delete_absence(&self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                let deleted: Option<String> =
                    sqlx::query_scalar(sql::DELETE_ABSENCE).bind(id).bind(now).fetch_optional(&mut *tx).await?;
                tx.commit().await?;
                deleted.map(|_| ()).ok_or(StoreError::NotFound)
            }

            async fn create_hold(&self, hold: &Hold, now: DateTime<Utc>) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                let held: Option<String> = sqlx::query_scalar(sql::HOLD_SLOT)
                    .bind(&hold.slot_id)
                    .bind(&hold.id)
                    .bind(hold.expires_at)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                if held.is_none() {
                    drop(tx);
                    return Err(match self.get_slot(&hold.slot_id).await? {
                        None => StoreError::NotFound,
                        Some(_) => StoreError::SlotUnavailable,
                    });
                }
                sqlx::query(sql::INSERT_HOLD)
                    .bind(&hold.id)
                    .bind(&hold.slot_id)
                    .bind(&hold.api_key_id)
                    .bind(hold.created_at)
                    .bind(hold.expires_at)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn get_hold(&self, id: &str) -> Result<Option<Hold>, StoreError> {
                let row: Option<HoldRow> = sqlx::query_as(sql::GET_HOLD).bind(id).fetch_optional(&self.pool).await?;
                Ok(row.map(Hold::from))
            }

            async fn release_hold(&self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                let slot: Option<String> = sqlx::query_scalar(sql::RELEASE_HOLD).bind(id).bind(now).fetch_optional(&mut *tx).await?;
                match slot {
                    Some(slot_id) => {
                        sqlx::query(sql::FREE_HELD_SLOT).bind(&slot_id).bind(id).bind(now).execute(&mut *tx).await?;
                        tx.commit().await?;
                        Ok(())
                    }
                    None => {
                        drop(tx);
                        match self.get_hold(id).await? {
                            None => Err(StoreError::NotFound),
                            Some(hold) if hold.booking_id.is_some() => Err(StoreError::HoldUsed),
                            Some(_) => Ok(()), // already released
                        }
                    }
                }
            }

            async fn create_booking(
                &self,
                b: &Booking,
                now: DateTime<Utc>,
                messages: &[Notification],
                audit: &[AuditEvent],
            ) -> Result<(), StoreError> {
                let Some(hold_id) = &b.hold_id else {
                    return self.book_free_slot(b, now, messages, audit).await;
                };
                let mut tx = self.begin_write().await?;
                // The hold row first, then the slot: the same order as a release, so no deadlock.
                let claimed: Option<String> =
                    sqlx::query_scalar(sql::CLAIM_HOLD).bind(hold_id).bind(&b.id).bind(now).fetch_optional(&mut *tx).await?;
                let Some(slot_id) = claimed else {
                    drop(tx);
                    return Err(match self.get_hold(hold_id).await? {
                        None => StoreError::NotFound,
                        Some(hold) if hold.booking_id.is_some() => StoreError::HoldUsed,
                        Some(_) => StoreError::HoldExpired,
                    });
                };
                let booked: Option<String> =
                    sqlx::query_scalar(sql::BOOK_HELD_SLOT).bind(&slot_id).bind(hold_id).bind(now).fetch_optional(&mut *tx).await?;
                if booked.is_none() {
                    // The slot started meanwhile, or was taken after the hold lapsed.
                    return Err(StoreError::HoldExpired);
                }
                Self::write_booking_records(&mut tx, b, messages, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn get_booking(&self, id: &str) -> Result<Option<Booking>, StoreError> {
                let row: Option<BookingRow> = sqlx::query_as(sql::GET_BOOKING).bind(id).fetch_optional(&self.pool).await?;
                row.map(Booking::try_from).transpose()
            }

            async fn list_bookings(&self, f: &BookingFilter) -> Result<Vec<Booking>, StoreError> {
                let rows: Vec<BookingRow> = sqlx::query_as(sql::LIST_BOOKINGS)
                    .bind(&f.professional_id)
                    .bind(f.from)
                    .bind(f.to)
                    .bind(f.status.map(|s| s.as_str()))
                    .bind(f.page.limit)
                    .bind(f.page.offset)
                    .fetch_all(&self.pool)
                    .await?;
                convert(rows)
            }

            async fn cancel_booking(
                &self,
                c: &Cancellation<'_>,
                now: DateTime<Utc>,
                messages: &[Notification],
            ) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                if let Some(digest) = c.link_digest {
                    let used = sqlx::query(sql::USE_CANCEL_LINK).bind(digest).bind(c.booking_id).bind(now).execute(&mut *tx).await?;
                    if used.rows_affected() == 0 {
                        return Err(StoreError::LinkSpent);
                    }
                }
                let slot: Option<String> = sqlx::query_scalar(sql::CANCEL_BOOKING)
                    .bind(c.booking_id)
                    .bind(now)
                    .bind(c.by)
                    .bind(c.reason)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(slot_id) = slot else {
                    drop(tx);
                    return Err(match self.get_booking(c.booking_id).await? {
                        None => StoreError::NotFound,
                        Some(b) => StoreError::InvalidTransition { status: b.status },
                    });
                };
                sqlx::query(sql::RELEASE_CANCELLED_SLOT).bind(&slot_id).bind(now).execute(&mut *tx).await?;
                sqlx::query(sql::WITHDRAW_REMINDERS).bind(c.booking_id).execute(&mut *tx).await?;
                Self::insert_outbox(&mut tx, messages).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn create_cancel_link(&self, link: &CancelLink) -> Result<(), StoreError> {
                sqlx::query(sql::INSERT_CANCEL_LINK)
                    .bind(&link.token_digest)
                    .bind(&link.booking_id)
                    .bind(link.expires_at)
                    .bind(link.created_at)
                    .execute(self.write_pool())
                    .await?;
                Ok(())
            }

            async fn get_cancel_link(&self, token_digest: &str) -> Result<Option<CancelLink>, StoreError> {
                let row: Option<CancelLinkRow> =
                    sqlx::query_as(sql::GET_CANCEL_LINK).bind(token_digest).fetch_optional(&self.pool).await?;
                Ok(row.map(CancelLink::from))
            }

            async fn claim_due_notifications(
                &self,
                now: DateTime<Utc>,
                lease_until: DateTime<Utc>,
                limit: u32,
                claim_token: &str,
            ) -> Result<Vec<Notification>, StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query(sql::WITHDRAW_LATE_REMINDERS).bind(now).execute(&mut *tx).await?;
                let claim = sql::CLAIM_OUTBOX.replace("{skip_locked}", Self::SKIP_LOCKED);
                let rows: Vec<NotificationRow> = sqlx::query_as(sqlx::AssertSqlSafe(claim))
                    .bind(now)
                    .bind(lease_until)
                    .bind(i64::from(limit))
                    .bind(claim_token)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                let mut claimed: Vec<Notification> = convert(rows)?;
                claimed.sort_by(|a, b| a.due_at.cmp(&b.due_at).then_with(|| a.id.cmp(&b.id)));
                Ok(claimed)
            }

            async fn renew_claim(&self, id: &str, claim_token: &str, lease_until: DateTime<Utc>) -> Result<bool, StoreError> {
                let mut tx = self.begin_write().await?;
                let renewed = sqlx::query(sql::RENEW_CLAIM).bind(id).bind(claim_token).bind(lease_until).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(renewed.rows_affected() == 1)
            }

            async fn record_attempts(&self, claim_token: &str, attempts: &[RecordedAttempt]) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                for RecordedAttempt { id, attempt, at } in attempts {
                    let query = match attempt {
                        Attempt::Sent { provider_id } => sqlx::query(sql::MARK_SENT).bind(id).bind(claim_token).bind(*at).bind(provider_id.clone()),
                        Attempt::Retry { error, at } => sqlx::query(sql::MARK_RETRY).bind(id).bind(claim_token).bind(*at).bind(error.clone()),
                        Attempt::Failed { error } => sqlx::query(sql::MARK_FAILED).bind(id).bind(claim_token).bind(error.clone()),
                        Attempt::Withdrawn { reason } => sqlx::query(sql::MARK_WITHDRAWN).bind(id).bind(claim_token).bind(reason.clone()),
                    };
                    query.execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn outbox_stats(&self, now: DateTime<Utc>) -> Result<OutboxStats, StoreError> {
                let (backlog, oldest_due): (i64, Option<DateTime<Utc>>) =
                    sqlx::query_as(sql::OUTBOX_BACKLOG).bind(now).fetch_one(&self.pool).await?;
                let outcomes = sqlx::query_as(sql::OUTBOX_OUTCOMES).fetch_all(&self.pool).await?;
                Ok(OutboxStats { backlog, oldest_due, outcomes })
            }

            async fn list_notifications(&self, booking_id: &str) -> Result<Vec<Notification>, StoreError> {
                let rows: Vec<NotificationRow> =
                    sqlx::query_as(sql::LIST_OUTBOX).bind(booking_id).fetch_all(&self.pool).await?;
                convert(rows)
            }

            async fn list_failed_notifications(&self, limit: i64) -> Result<Vec<Notification>, StoreError> {
                let rows: Vec<NotificationRow> =
                    sqlx::query_as(sql::LIST_FAILED_OUTBOX).bind(limit).fetch_all(&self.pool).await?;
                convert(rows)
            }

            async fn get_notification(&self, id: &str) -> Result<Option<Notification>, StoreError> {
                let row: Option<NotificationRow> =
                    sqlx::query_as(sql::GET_OUTBOX).bind(id).fetch_optional(&self.pool).await?;
                row.map(Notification::try_from).transpose()
            }

            async fn retry_notification(&self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                let retried: Option<String> =
                    sqlx::query_scalar(sql::RETRY_OUTBOX).bind(id).bind(now).fetch_optional(&mut *tx).await?;
                tx.commit().await?;
                retried.map(|_| ()).ok_or(StoreError::NotFound)
            }

            async fn record_outcome(&self, id: &str, outcome: Outcome, now: DateTime<Utc>) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                let updated: Option<String> = sqlx::query_scalar(sql::RECORD_OUTCOME)
                    .bind(id)
                    .bind(outcome.status().as_str())
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                if updated.is_some() {
                    tx.commit().await?;
                    return Ok(());
                }
                drop(tx);
                match self.get_booking(id).await? {
                    None => Err(StoreError::NotFound),
                    Some(b) if b.status != BookingStatus::Confirmed => Err(StoreError::InvalidTransition { status: b.status }),
                    Some(_) => Err(StoreError::TooEarly),
                }
            }

            async fn reserve_idempotency_key(
                &self,
                api_key_id: &str,
                endpoint: &str,
                key: &str,
                request_hash: &str,
                now: DateTime<Utc>,
            ) -> Result<Idempotency, StoreError> {
                let mut tx = self.begin_write().await?;
                let reserved: Option<String> = sqlx::query_scalar(sql::RESERVE_IDEMPOTENCY_KEY)
                    .bind(api_key_id)
                    .bind(endpoint)
                    .bind(key)
                    .bind(request_hash)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                let taken_over: Option<String> = if reserved.is_some() {
                    None
                } else {
                    sqlx::query_scalar(sql::TAKE_OVER_IDEMPOTENCY_KEY)
                        .bind(api_key_id)
                        .bind(endpoint)
                        .bind(key)
                        .bind(now)
                        .bind(request_hash)
                        .bind(now - chrono::Duration::seconds(ABANDONED_AFTER_SECONDS))
                        .fetch_optional(&mut *tx)
                        .await?
                };
                let state = if reserved.is_some() || taken_over.is_some() {
                    Idempotency::New
                } else {
                    let row: Option<(String, i32, String)> = sqlx::query_as(sql::GET_IDEMPOTENCY_KEY)
                        .bind(api_key_id)
                        .bind(endpoint)
                        .bind(key)
                        .fetch_optional(&mut *tx)
                        .await?;
                    // Forgotten (a server error) between our insert attempt and this read: ask to retry.
                    let Some((request_hash, status, body)) = row else {
                        return Ok(Idempotency::InProgress { request_hash: request_hash.to_string() });
                    };
                    if status == 0 {
                        Idempotency::InProgress { request_hash }
                    } else {
                        Idempotency::Done { request_hash, status: u16::try_from(status).unwrap_or(500), body }
                    }
                };
                tx.commit().await?;
                Ok(state)
            }

            async fn complete_idempotency_key(
                &self,
                api_key_id: &str,
                endpoint: &str,
                key: &str,
                status: u16,
                body: &str,
            ) -> Result<(), StoreError> {
                sqlx::query(sql::COMPLETE_IDEMPOTENCY_KEY)
                    .bind(api_key_id)
                    .bind(endpoint)
                    .bind(key)
                    .bind(i32::from(status))
                    .bind(body)
                    .execute(self.write_pool())
                    .await?;
                Ok(())
            }

            async fn insert_user(&self, u: &User) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query(sql::INSERT_USER)
                    .bind(&u.id)
                    .bind(&u.email)
                    .bind(u.role.as_str())
                    .bind(&u.professional_id)
                    .bind(&u.password_hash)
                    .bind(u.created_at)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(sql::INSERT_USER_PRINCIPAL)
                    .bind(&u.id)
                    .bind(&u.email)
                    .bind(u.role.as_str())
                    .bind(&u.professional_id)
                    .bind(u.created_at)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
                let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql::select_user("email")))
                    .bind(email)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(User::try_from).transpose()
            }

            async fn get_user(&self, id: &str) -> Result<Option<User>, StoreError> {
                let row: Option<UserRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql::select_user("id"))).bind(id).fetch_optional(&self.pool).await?;
                row.map(User::try_from).transpose()
            }

            async fn claim_login_attempt(
                &self,
                user_id: &str,
                now: DateTime<Utc>,
                max_failures: u32,
                lock_until: DateTime<Utc>,
            ) -> Result<Option<u32>, StoreError> {
                let mut tx = self.begin_write().await?;
                let claimed: Option<(i64,)> = sqlx::query_as(sql::CLAIM_LOGIN_ATTEMPT)
                    .bind(user_id)
                    .bind(now)
                    .bind(i64::from(max_failures))
                    .bind(lock_until)
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(claimed.map(|(count,)| u32::try_from(count).unwrap_or(u32::MAX)))
            }

            async fn record_login_success(&self, user_id: &str) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query(sql::RECORD_LOGIN_SUCCESS).bind(user_id).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn set_password(
                &self,
                user_id: &str,
                password_hash: &str,
                keep_session: &str,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                let found: Option<String> = sqlx::query_scalar(sql::SET_PASSWORD)
                    .bind(user_id)
                    .bind(password_hash)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                if found.is_none() {
                    return Err(StoreError::NotFound);
                }
                sqlx::query(sql::END_OTHER_SESSIONS).bind(user_id).bind(keep_session).bind(now).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn list_users(&self) -> Result<Vec<User>, StoreError> {
                let rows: Vec<UserRow> = sqlx::query_as(sql::LIST_USERS).fetch_all(&self.pool).await?;
                convert(rows)
            }

            async fn update_user_access(
                &self,
                id: &str,
                role: Role,
                professional_id: Option<&str>,
            ) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                let found: Option<String> = sqlx::query_scalar(sql::UPDATE_USER_ACCESS)
                    .bind(id)
                    .bind(role.as_str())
                    .bind(professional_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if found.is_none() {
                    return Err(StoreError::NotFound);
                }
                sqlx::query(sql::UPDATE_PRINCIPAL_ACCESS)
                    .bind(id)
                    .bind(role.as_str())
                    .bind(professional_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn set_user_disabled(
                &self,
                id: &str,
                disabled_at: Option<DateTime<Utc>>,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                let found: Option<String> =
                    sqlx::query_scalar(sql::SET_USER_DISABLED).bind(id).bind(disabled_at).fetch_optional(&mut *tx).await?;
                if found.is_none() {
                    return Err(StoreError::NotFound);
                }
                if disabled_at.is_some() {
                    sqlx::query(sql::END_USER_SESSIONS).bind(id).bind(now).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query(sql::INSERT_SESSION)
                    .bind(&s.id_digest)
                    .bind(&s.user_id)
                    .bind(&s.csrf_token)
                    .bind(s.created_at)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn get_session(&self, id_digest: &str) -> Result<Option<Session>, StoreError> {
                let row: Option<SessionRow> =
                    sqlx::query_as(sql::GET_SESSION).bind(id_digest).fetch_optional(&self.pool).await?;
                Ok(row.map(Session::from))
            }

            async fn touch_session(&self, id_digest: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query(sql::TOUCH_SESSION).bind(id_digest).bind(now).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn end_session(&self, id_digest: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query(sql::END_SESSION).bind(id_digest).bind(now).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn append_audit(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
                if events.is_empty() {
                    return Ok(());
                }
                let mut tx = self.begin_write().await?;
                Self::insert_audit(&mut tx, events).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn list_audit(&self, f: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
                let rows: Vec<AuditRow> = sqlx::query_as(sql::LIST_AUDIT_EVENTS)
                    .bind(&f.actor_id)
                    .bind(&f.action)
                    .bind(&f.target_type)
                    .bind(&f.target_id)
                    .bind(f.from)
                    .bind(f.to)
                    .bind(f.limit)
                    .bind(f.offset)
                    .fetch_all(&self.pool)
                    .await?;
                convert(rows)
            }

            async fn erase_patient_data(&self, slots_ended_before: DateTime<Utc>, now: DateTime<Utc>) -> Result<u64, StoreError> {
                let mut tx = self.begin_write().await?;
                let erased = sqlx::query(sql::ERASE_PATIENT_DATA).bind(now).bind(slots_ended_before).execute(&mut *tx).await?;
                sqlx::query(sql::ERASE_OUTBOX_ADDRESSES).bind(now).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(erased.rows_affected())
            }

            async fn purge_cancel_links(&self, expired_before: DateTime<Utc>) -> Result<u64, StoreError> {
                Ok(sqlx::query(sql::PURGE_CANCEL_LINKS).bind(expired_before).execute(self.write_pool()).await?.rows_affected())
            }

            async fn purge_idempotency_keys(&self, older_than: DateTime<Utc>) -> Result<u64, StoreError> {
                Ok(sqlx::query(sql::PURGE_IDEMPOTENCY_KEYS).bind(older_than).execute(self.write_pool()).await?.rows_affected())
            }

            async fn forget_idempotency_key(&self, api_key_id: &str, endpoint: &str, key: &str) -> Result<(), StoreError> {
                sqlx::query(sql::FORGET_IDEMPOTENCY_KEY).bind(api_key_id).bind(endpoint).bind(key).execute(self.write_pool()).await?;
                Ok(())
            }

            async fn load_search_snapshot(
                &self,
                professional_ids: Option<&[String]>,
                slots_from: DateTime<Utc>,
                bookings_from: DateTime<Utc>,
            ) -> Result<SearchSnapshot, StoreError> {
                let ids = professional_ids.map(Self::id_list);
                // Only constants and the backend's fixed `IN` test go into these strings; the ids are bound.
                let sql = |template: &str| {
                    let (one, two) = match ids {
                        Some(_) => (Self::id_list_test(1), Self::id_list_test(2)),
                        None => ("IS NOT NULL".to_string(), "IS NOT NULL".to_string()),
                    };
                    template.replace("{ids1}", &one).replace("{ids2}", &two)
                };
                // One consistent picture of these professionals.
                let mut tx = self.begin_snapshot().await?;
                let professionals_sql = sql(sql::SNAPSHOT_PROFESSIONALS);
                let links_sql = sql(sql::SNAPSHOT_LINKS);
                let practices_sql = sql(sql::SNAPSHOT_PRACTICES);
                // A reload of a few professionals reads their own rows by key; the whole index is read by joins.
                let (slots_sql, bookings_sql) = match ids {
                    Some(_) => (sql(sql::SNAPSHOT_SLOTS_OF), sql(sql::SNAPSHOT_BOOKINGS_OF)),
                    None => (sql::SNAPSHOT_SLOTS.to_string(), sql::SNAPSHOT_BOOKINGS.to_string()),
                };
                let absences_sql = sql(sql::SNAPSHOT_ABSENCES);
                let mut professionals = sqlx::query_as::<_, CardProfessionalRow>(sqlx::AssertSqlSafe(professionals_sql));
                let mut links = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(links_sql));
                let mut practices = sqlx::query_as::<_, CardPracticeRow>(sqlx::AssertSqlSafe(practices_sql));
                let mut slots = sqlx::query_as::<_, BookableSlotRow>(sqlx::AssertSqlSafe(slots_sql)).bind(slots_from);
                let mut absences =
                    sqlx::query_as::<_, (String, DateTime<Utc>, DateTime<Utc>)>(sqlx::AssertSqlSafe(absences_sql)).bind(slots_from);
                let mut bookings = sqlx::query_as::<_, (String, DateTime<Utc>)>(sqlx::AssertSqlSafe(bookings_sql)).bind(bookings_from);
                if let Some(ids) = &ids {
                    professionals = professionals.bind(ids);
                    links = links.bind(ids);
                    practices = practices.bind(ids);
                    slots = slots.bind(ids);
                    absences = absences.bind(ids);
                    bookings = bookings.bind(ids);
                }
                let snapshot = SearchSnapshot {
                    professionals: professionals.fetch_all(&mut *tx).await?.into_iter().map(Into::into).collect(),
                    links: links.fetch_all(&mut *tx).await?,
                    practices: convert(practices.fetch_all(&mut *tx).await?)?,
                    slots: convert(slots.fetch_all(&mut *tx).await?)?,
                    absences: absences.fetch_all(&mut *tx).await?,
                    bookings: bookings.fetch_all(&mut *tx).await?,
                };
                tx.commit().await?;
                Ok(snapshot)
            }

            async fn record_searches(&self, records: &[SearchRecord]) -> Result<(), StoreError> {
                let (_turn, mut tx) = self.begin_statistics().await?;
                Self::insert_searches(&mut tx, records).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn list_api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
                let rows: Vec<ApiKeyRow> = sqlx::query_as(sql::LIST_API_KEYS).fetch_all(&self.pool).await?;
                convert(rows)
            }

            async fn revoke_api_key(&self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
                let mut tx = self.begin_write().await?;
                let revoked: Option<String> =
                    sqlx::query_scalar(sql::REVOKE_API_KEY).bind(id).bind(now).fetch_optional(&mut *tx).await?;
                tx.commit().await?;
                revoked.map(|_| ()).ok_or(StoreError::NotFound)
            }

            $($specific)*
        }
    };
}
pub(crate) use impl_store;
