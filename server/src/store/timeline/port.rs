//! [`AuditStore`] on PostgreSQL, beside the queries it runs: pages and the
//! live tail through `page` and `since`, and what surrounds the timeline
//! (counts, people, record types, a record's neighbours) written here.

use app::api::{AuditStore, StoreError};
use app::model::{ChainStatus, RELATED_MAX, RELATED_WINDOW_SECS};
use async_trait::async_trait;

use super::page::{scan_floor, split_actors};
use super::*;
use crate::store::PgAuditStore;

#[async_trait]
impl AuditStore for PgAuditStore {
    async fn list_events(
        &self,
        org_id: Uuid,
        query: &EventQuery,
        after: Option<Cursor>,
        limit: usize,
    ) -> Result<TimelinePage, StoreError> {
        list_events_within(&self.pool, org_id, query, after, limit, PAGE_BUDGET_BYTES)
            .await
            .map_err(store_error)
    }

    async fn events_since(
        &self,
        org_id: Uuid,
        query: &EventQuery,
        after_seq: i64,
        limit: usize,
    ) -> Result<(Vec<AuditEvent>, i64), StoreError> {
        events_since_within(&self.pool, org_id, query, after_seq, limit, SINCE_BUDGET_BYTES)
            .await
            .map_err(store_error)
    }

    /// How many events match, counting at most `cap + 1` rows: the answer is
    /// exact below the cap and "more" above it, so a count never reads millions
    /// of rows. A statement timeout bounds the rare filter that is slow to
    /// satisfy even that.
    async fn count_events(
        &self,
        org_id: Uuid,
        query: &EventQuery,
        cap: u64,
    ) -> Result<EventCount, StoreError> {
        let pool = &self.pool;
        let read = async {
            let mut tx = crate::store::tenant::begin_read(pool, org_id, true, COUNT_TIMEOUT).await?;
            // A short term is counted over the same bounded stretch a first page
            // tests (see `scan_floor`); past it, the count can only say "at least".
            let floor = scan_floor(&mut tx, org_id, query, None).await?;
            let mut sql = QueryBuilder::<Postgres>::new("SELECT count(*) FROM (SELECT 1 FROM ");
            // Per actor on the actor index, as for a page (see `list_events_within`).
            let (actors, query) = split_actors(query);
            let query = &query;
            if let Some(actors) = &actors {
                sql.push("unnest(");
                push_actor_ids(&mut sql, org_id, actors);
                sql.push(
                    ") AS wanted(actor_id) CROSS JOIN LATERAL (SELECT 1 FROM audit_events WHERE org_id = ",
                )
                .push_bind(org_id)
                .push(" AND audit_events.actor_id = wanted.actor_id");
            } else {
                sql.push("audit_events WHERE org_id = ").push_bind(org_id);
            }
            push_conditions(&mut sql, org_id, query);
            if let Some(floor) = floor {
                sql.push(" AND (occurred_at, id) >= (")
                    .push_bind(floor.occurred_at)
                    .push(", ")
                    .push_bind(floor.id)
                    .push(")");
            }
            sql.push(" LIMIT ").push_bind(cap as i64 + 1);
            if actors.is_some() {
                sql.push(") per_actor LIMIT ").push_bind(cap as i64 + 1);
            }
            sql.push(") matched");
            let n: i64 = sql.build_query_scalar().fetch_one(&mut *tx).await?;
            tx.commit().await?;
            let n = n.max(0) as u64;
            Ok::<_, sqlx::Error>(EventCount { count: n.min(cap), capped: n > cap || floor.is_some() })
        };
        read.await.map_err(store_error)
    }

    /// The changes to event `id`'s record just before and after it, among the
    /// events `within` admits.
    async fn record_neighbors(
        &self,
        org_id: Uuid,
        id: Uuid,
        within: &EventQuery,
    ) -> Result<RecordNeighbors, StoreError> {
        let pool = &self.pool;
        let read = async {
            let mut tx = crate::store::tenant::begin_read(pool, org_id, false, READ_TIMEOUT).await?;
            let mut origin = QueryBuilder::<Postgres>::new(
                "SELECT entity_type, entity_id, occurred_at, id, request_id, session_id FROM audit_events \
                  WHERE org_id = ",
            );
            origin.push_bind(org_id).push(" AND id = ").push_bind(id);
            push_conditions(&mut origin, org_id, within);
            type Origin = (String, String, DateTime<Utc>, Uuid, Option<String>, Option<String>);
            let found: Option<Origin> = origin.build_query_as().fetch_optional(&mut *tx).await?;
            let Some((entity_type, entity_id, at, id, request_id, session_id)) = found else {
                return Ok::<_, sqlx::Error>(RecordNeighbors::default());
            };
            let side = |older: bool| {
                let mut sql = QueryBuilder::<Postgres>::new(EVENT_COLUMNS);
                sql.push("FROM audit_events e WHERE e.org_id = ")
                    .push_bind(org_id)
                    .push(" AND e.entity_id = ")
                    .push_bind(entity_id.clone())
                    .push(" AND e.entity_type = ")
                    .push_bind(entity_type.clone())
                    .push(if older {
                        " AND (e.occurred_at, e.id) < ("
                    } else {
                        " AND (e.occurred_at, e.id) > ("
                    })
                    .push_bind(at)
                    .push(", ")
                    .push_bind(id)
                    .push(")");
                push_conditions(&mut sql, org_id, within);
                sql.push(if older {
                    " ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1"
                } else {
                    " ORDER BY e.occurred_at, e.id LIMIT 1"
                });
                sql
            };
            let previous: Option<EventRow> = side(true).build_query_as().fetch_optional(&mut *tx).await?;
            let next: Option<EventRow> = side(false).build_query_as().fetch_optional(&mut *tx).await?;
            let related: Vec<EventRow> = match (request_id, session_id) {
                (None, None) => Vec::new(),
                (request_id, session_id) => {
                    // A few seconds of the org's log around the event, on the
                    // time index: cheap whatever the log's size.
                    let window = chrono::TimeDelta::seconds(RELATED_WINDOW_SECS);
                    let mut sql = QueryBuilder::<Postgres>::new(EVENT_COLUMNS);
                    sql.push("FROM audit_events e WHERE e.org_id = ")
                        .push_bind(org_id)
                        .push(" AND e.occurred_at >= ")
                        .push_bind(at - window)
                        .push(" AND e.occurred_at <= ")
                        .push_bind(at + window)
                        .push(" AND e.id <> ")
                        .push_bind(id)
                        .push(" AND (e.request_id = ")
                        .push_bind(request_id)
                        .push(" OR e.session_id = ")
                        .push_bind(session_id)
                        .push(")");
                    push_conditions(&mut sql, org_id, within);
                    sql.push(" ORDER BY e.occurred_at, e.id LIMIT ").push_bind(RELATED_MAX as i64);
                    sql.build_query_as().fetch_all(&mut *tx).await?
                }
            };
            tx.commit().await?;
            Ok::<_, sqlx::Error>(RecordNeighbors {
                previous: previous.map(EventRow::into_event),
                next: next.map(EventRow::into_event),
                related: related.into_iter().map(EventRow::into_event).collect(),
            })
        };
        read.await.map_err(store_error)
    }

    /// Actors of an org, by skip scan over `audit_events_by_actor` (one index
    /// probe per actor, whatever the number of events), each with the name and
    /// kind of its latest event; filtered by `search` in name, email or id.
    async fn actors(
        &self,
        org_id: Uuid,
        search: &str,
        limit: usize,
    ) -> Result<Vec<ActorSummary>, StoreError> {
        let pool = &self.pool;
        let read = async {
            let pattern = format!("%{}%", escape_like(&search.to_lowercase()));
            let mut tx = crate::store::tenant::begin_read(pool, org_id, false, READ_TIMEOUT).await?;
            let rows: Vec<(String, String, String)> = sqlx::query_as(
                "WITH RECURSIVE a(actor_id) AS ( \
                 (SELECT actor_id FROM audit_events WHERE org_id = $1 ORDER BY actor_id LIMIT 1) \
                 UNION ALL \
                 SELECT (SELECT e.actor_id FROM audit_events e \
                          WHERE e.org_id = $1 AND e.actor_id > a.actor_id ORDER BY e.actor_id LIMIT 1) \
                   FROM a WHERE a.actor_id IS NOT NULL) \
             SELECT a.actor_id, l.actor_kind, l.actor_name FROM a \
             CROSS JOIN LATERAL (SELECT actor_kind, actor_name, actor_email FROM audit_events e \
                                  WHERE e.org_id = $1 AND e.actor_id = a.actor_id \
                                  ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1) l \
             WHERE a.actor_id IS NOT NULL \
               AND (lower(l.actor_name) LIKE $2 OR lower(coalesce(l.actor_email, '')) LIKE $2 \
                    OR lower(a.actor_id) LIKE $2) \
             ORDER BY lower(l.actor_name), a.actor_id LIMIT $3",
            )
            .bind(org_id)
            .bind(pattern)
            .bind(limit as i64)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(
                rows.into_iter()
                    .map(|(id, kind, name)| ActorSummary {
                        kind: ActorKind::parse(&kind).unwrap_or(ActorKind::System),
                        id,
                        name,
                    })
                    .collect(),
            )
        };
        read.await.map_err(store_error)
    }

    /// The distinct entity categories of an org, by skip scan: each step jumps to
    /// the next category in `audit_events_by_entity_type`, so the cost is one
    /// index probe per category, not a scan of millions of events.
    async fn entity_types(&self, org_id: Uuid) -> Result<Vec<String>, StoreError> {
        let pool = &self.pool;
        let read = async {
            let mut tx = crate::store::tenant::begin_read(pool, org_id, false, READ_TIMEOUT).await?;
            let types = sqlx::query_scalar(
                "WITH RECURSIVE t(entity_type) AS ( \
                 (SELECT entity_type FROM audit_events WHERE org_id = $1 ORDER BY entity_type LIMIT 1) \
                 UNION ALL \
                 SELECT (SELECT a.entity_type FROM audit_events a \
                          WHERE a.org_id = $1 AND a.entity_type > t.entity_type \
                          ORDER BY a.entity_type LIMIT 1) \
                   FROM t WHERE t.entity_type IS NOT NULL) \
             SELECT entity_type FROM t WHERE entity_type IS NOT NULL",
            )
            .bind(org_id)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(types)
        };
        read.await.map_err(store_error)
    }

    async fn span_counts(&self, org_id: Uuid, bounds: &[DateTime<Utc>]) -> Result<Vec<Vec<u64>>, StoreError> {
        let read = async {
            // One snapshot: the rollups and the part-hours agree.
            let mut tx = crate::store::tenant::begin_read(&self.pool, org_id, true, COUNT_TIMEOUT).await?;
            let counts = crate::store::rollups::counts_between(&mut tx, org_id, bounds).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(counts.into_iter().map(|c| c.0.to_vec()).collect())
        };
        read.await.map_err(store_error)
    }

    async fn log_totals(&self, org_id: Uuid) -> Result<(u64, u64), StoreError> {
        let read = async {
            let mut tx = crate::store::tenant::begin_read(&self.pool, org_id, false, COUNT_TIMEOUT).await?;
            let totals = crate::store::rollups::totals(&mut tx, org_id).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(totals)
        };
        read.await.map_err(store_error)
    }

    async fn actor_counts(
        &self,
        org_id: Uuid,
        actor_id: &str,
        days: (chrono::NaiveDate, chrono::NaiveDate),
        measures: &[Vec<String>],
        modules: usize,
    ) -> Result<app::model::people::ActorCounts, StoreError> {
        let read = async {
            let mut tx = crate::store::tenant::begin_read(&self.pool, org_id, true, COUNT_TIMEOUT).await?;
            let counts =
                crate::store::actor_counts::actor_counts(&mut tx, org_id, actor_id, days, measures, modules)
                    .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(counts)
        };
        read.await.map_err(store_error)
    }

    async fn server_health(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Option<app::model::oversight::ServerHealth>, StoreError> {
        crate::store::server_health::read(&self.pool, since, Utc::now()).await.map(Some).map_err(store_error)
    }

    async fn chain_status(&self, org_id: Uuid) -> Result<Option<ChainStatus>, StoreError> {
        let report = crate::chain::latest_verification(&self.pool, org_id).await.map_err(store_error)?;
        Ok(report.map(|r| r.status()))
    }

    async fn verify_chain(&self, org_id: Uuid) -> Result<ChainStatus, StoreError> {
        let report = crate::chain::verify_org_trusting(&self.pool, org_id, &self.trusted_keys)
            .await
            .map_err(store_error)?;
        Ok(report.status())
    }
}

fn store_error(err: sqlx::Error) -> StoreError {
    if crate::store::tenant::is_timeout(&err) { StoreError::TimedOut } else { StoreError::failed(err) }
}
