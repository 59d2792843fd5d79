//! An org owner's priorities per action pattern. The writer reads them under
//! the org's chain-head lock, so a change applies to every event written
//! after it, by every server process; events already written keep theirs.
//! Setting or removing a rule is itself an audit event, in the same
//! transaction.

use app::model::{Actor, ChangeNode, ChangeTree, Changes, NewAuditEvent, Priority, PriorityRule};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Most rules an org may have: they are read on every write.
pub const MAX_RULES: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error(
        "pattern: expected an action (invoice.delete), a record type's actions (invoice.*) or a verb (*.export)"
    )]
    InvalidPattern,
    #[error("an org has at most {MAX_RULES} priority rules")]
    TooMany,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The org's rules, on a connection whose transaction has named the org.
pub async fn rules_in(conn: &mut PgConnection, org_id: Uuid) -> Result<Vec<PriorityRule>, sqlx::Error> {
    let rows = sqlx::query!("SELECT pattern, priority FROM priority_rules WHERE org_id = $1", org_id)
        .fetch_all(conn)
        .await?;
    Ok(rows
        .into_iter()
        // The column's CHECK admits only the three names.
        .filter_map(|r| Some(PriorityRule { pattern: r.pattern, priority: Priority::parse(&r.priority)? }))
        .collect())
}

/// The org's rules, most specific shapes first, then by pattern.
pub async fn list_rules(pool: &PgPool, org_id: Uuid) -> Result<Vec<PriorityRule>, sqlx::Error> {
    let mut tx = super::tenant::begin_for_org(pool, org_id).await?;
    let mut rules = rules_in(&mut tx, org_id).await?;
    tx.commit().await?;
    rules.sort_by(|a, b| {
        let shape = |p: &str| (p.starts_with("*."), p.ends_with(".*"));
        shape(&a.pattern).cmp(&shape(&b.pattern)).then_with(|| a.pattern.cmp(&b.pattern))
    });
    Ok(rules)
}

/// Sets the priority for `pattern` (or, with `None`, removes its rule) and
/// records a `priority_rule.update` / `priority_rule.delete` event by `by`
/// with what changed. Returns false, writing nothing, when nothing changes.
pub async fn set_rule(
    pool: &PgPool,
    org_id: Uuid,
    pattern: &str,
    priority: Option<Priority>,
    by: &Actor,
) -> Result<bool, RuleError> {
    let pattern = pattern.trim();
    if !PriorityRule::is_valid_pattern(pattern) {
        return Err(RuleError::InvalidPattern);
    }
    let mut tx = super::tenant::begin_for_org(pool, org_id).await?;
    // Serialises rule changes with the org's writers, so the count check
    // below cannot be raced past.
    crate::chain::lock_head(&mut tx, org_id).await?;
    let before = sqlx::query_scalar!(
        "SELECT priority FROM priority_rules WHERE org_id = $1 AND pattern = $2",
        org_id,
        pattern
    )
    .fetch_optional(&mut *tx)
    .await?
    .and_then(|p| Priority::parse(&p));
    if before == priority {
        return Ok(false);
    }
    match priority {
        Some(p) => {
            if before.is_none() {
                let count = sqlx::query_scalar!(
                    r#"SELECT count(*) AS "count!" FROM priority_rules WHERE org_id = $1"#,
                    org_id
                )
                .fetch_one(&mut *tx)
                .await?;
                if count >= MAX_RULES as i64 {
                    return Err(RuleError::TooMany);
                }
            }
            sqlx::query!(
                "INSERT INTO priority_rules (org_id, pattern, priority) VALUES ($1, $2, $3) \
                 ON CONFLICT (org_id, pattern) DO UPDATE SET priority = EXCLUDED.priority, updated_at = now()",
                org_id,
                pattern,
                p.as_str(),
            )
            .execute(&mut *tx)
            .await?;
        }
        None => {
            sqlx::query!("DELETE FROM priority_rules WHERE org_id = $1 AND pattern = $2", org_id, pattern)
                .execute(&mut *tx)
                .await?;
        }
    }
    let node = ChangeNode::Value {
        old: Some(before.map_or(Value::Null, |p| json!(p.as_str()))),
        new: Some(priority.map_or(Value::Null, |p| json!(p.as_str()))),
    };
    let changes = Changes::Diff(ChangeTree::from([("priority".to_string(), node)]));
    let action = if priority.is_some() { "priority_rule.update" } else { "priority_rule.delete" };
    let entity = crate::self_audit::entity("priority_rule", pattern, pattern.to_string());
    let event = NewAuditEvent {
        changes: Some(changes),
        ..crate::self_audit::event(org_id, by.clone(), action, entity)
    };
    super::insert_events_in(&mut tx, &[event]).await?;
    tx.commit().await?;
    Ok(true)
}
