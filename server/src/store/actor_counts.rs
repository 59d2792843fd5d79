//! One actor's counts over whole UTC days, from `actor_rollups` (kept by
//! the insert trigger, migration 0020): a person's page reads a few hundred
//! rollup rows, never the actor's events.

use app::model::people::ActorCounts;
use chrono::NaiveDate;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::filter_sql::action_patterns;

/// Events of `actor_id` on days `[from, until)`: all of them, those whose
/// action matches each of `measures` (timeline action terms, matched as
/// the timeline matches them so a count and its link agree), and the
/// `modules` busiest record types.
pub async fn actor_counts(
    conn: &mut PgConnection,
    org_id: Uuid,
    actor_id: &str,
    (from, until): (NaiveDate, NaiveDate),
    measures: &[Vec<String>],
    modules: usize,
) -> Result<ActorCounts, sqlx::Error> {
    let mut sql = QueryBuilder::<Postgres>::new("SELECT coalesce(sum(events), 0)::bigint");
    for terms in measures {
        let (exact, patterns) = action_patterns(terms);
        sql.push(", coalesce(sum(events) FILTER (WHERE action = ANY(")
            .push_bind(exact)
            .push(") OR action LIKE ANY(")
            .push_bind(patterns)
            .push(")), 0)::bigint");
    }
    push_rows(&mut sql, org_id, actor_id, from, until);
    let row = sql.build().fetch_one(&mut *conn).await?;
    let count = |i: usize| row.try_get::<i64, _>(i).map(|n| u64::try_from(n).unwrap_or(0));
    let total = count(0)?;
    let measures = (1..=measures.len()).map(count).collect::<Result<Vec<_>, _>>()?;

    let mut sql = QueryBuilder::<Postgres>::new("SELECT entity_type, sum(events)::bigint");
    push_rows(&mut sql, org_id, actor_id, from, until);
    sql.push(" GROUP BY entity_type ORDER BY 2 DESC, 1 LIMIT ").push_bind(modules as i64);
    let modules = sql
        .build_query_as::<(String, i64)>()
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|(t, n)| (t, u64::try_from(n).unwrap_or(0)))
        .collect();
    Ok(ActorCounts { total, measures, modules })
}

fn push_rows(
    sql: &mut QueryBuilder<'_, Postgres>,
    org_id: Uuid,
    actor_id: &str,
    from: NaiveDate,
    until: NaiveDate,
) {
    sql.push(" FROM actor_rollups WHERE org_id = ")
        .push_bind(org_id)
        .push(" AND actor_id = ")
        .push_bind(actor_id.to_string())
        .push(" AND day >= ")
        .push_bind(from)
        .push(" AND day < ")
        .push_bind(until);
}
