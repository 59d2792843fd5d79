//! One translation of [`EventQuery`] into SQL, used by every read that
//! filters: timeline pages, counts, record neighbours and exports. Values are
//! always bound, never spliced.

use app::model::filter::action_type;
use app::model::{EventQuery, Priority, TimelineFilter};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

/// Appends ` AND ...` for every condition of `query` to a statement whose
/// `audit_events` rows are in scope unqualified (a `WHERE org_id = ...` must
/// already be open, for `org_id`).
pub fn push_conditions(sql: &mut QueryBuilder<'_, Postgres>, org_id: Uuid, query: &EventQuery) {
    for f in &query.filters {
        push_filter(sql, org_id, f);
    }
    if let Some(from) = query.from {
        sql.push(" AND occurred_at >= ").push_bind(from);
    }
    if let Some(until) = query.until {
        sql.push(" AND occurred_at < ").push_bind(until);
    }
    if let Some(id) = query.event {
        sql.push(" AND id = ").push_bind(id);
    }
}

fn push_filter(sql: &mut QueryBuilder<'_, Postgres>, org_id: Uuid, f: &TimelineFilter) {
    for term in f.search_terms() {
        // lower() on the server folds the pattern exactly like the stored
        // search_text; escaping first keeps % and _ literal.
        sql.push(" AND search_text LIKE lower(").push_bind(format!("%{}%", escape_like(&term))).push(")");
    }
    if !f.actions.is_empty() {
        sql.push(" AND ");
        push_actions(sql, &f.actions);
    }
    if !f.not_actions.is_empty() {
        sql.push(" AND NOT ");
        push_actions(sql, &f.not_actions);
    }
    if !f.entity_types.is_empty() {
        sql.push(" AND entity_type = ANY(").push_bind(f.entity_types.clone()).push(")");
    }
    if !f.actors.is_empty() {
        sql.push(" AND actor_id = ANY(");
        push_actor_ids(sql, org_id, &f.actors);
        sql.push(")");
    }
    if !f.categories.is_empty() {
        let names: Vec<&'static str> = f.categories.iter().map(|c| c.as_str()).collect();
        sql.push(" AND category = ANY(").push_bind(names).push(")");
    }
    if !f.priorities.is_empty() {
        let names: Vec<&'static str> = f.priorities.iter().map(|p| p.as_str()).collect();
        sql.push(" AND priority = ANY(").push_bind(names).push(")");
        if !f.priorities.contains(&Priority::Low) {
            // Spelled out so the planner can use the index of the
            // non-low priorities (0020), whose predicate this is.
            sql.push(" AND priority <> 'low'");
        }
    }
    if let Some(record) = &f.record {
        sql.push(" AND entity_id = ").push_bind(record.clone());
    }
    if let Some(ip) = &f.ip {
        // `<<=`: contained in or equal to, so an address and a block both work.
        sql.push(" AND ip <<= ").push_bind(ip.clone()).push("::inet");
    }
    if let Some(session) = &f.session {
        sql.push(" AND session_id = ").push_bind(session.clone());
    }
    if let Some(country) = &f.country {
        sql.push(" AND country = ").push_bind(country.clone());
    }
}

/// An array of the ids of `org_id`'s actors that `actors` names: each value
/// is an actor id exactly, or the start of an actor's name (as of their
/// newest event) or, when it has an `@`, of their email (in any of their
/// newest hundred events; some events, like a failed login, carry none). Resolved over the org's distinct actors
/// (a skip scan of the actor index), so that a page can then walk the actor
/// index rather than test every event.
pub fn push_actor_ids(sql: &mut QueryBuilder<'_, Postgres>, org_id: Uuid, actors: &[String]) {
    let prefixes: Vec<String> =
        actors.iter().map(|a| format!("{}%", escape_like(&a.to_lowercase()))).collect();
    sql.push(
        "ARRAY(WITH RECURSIVE known(id) AS ( \
           (SELECT ka.actor_id FROM audit_events ka WHERE ka.org_id = ",
    )
    .push_bind(org_id)
    .push(
        " ORDER BY ka.actor_id LIMIT 1) \
           UNION ALL \
           SELECT (SELECT kb.actor_id FROM audit_events kb WHERE kb.org_id = ",
    )
    .push_bind(org_id)
    .push(
        " AND kb.actor_id > known.id ORDER BY kb.actor_id LIMIT 1) \
             FROM known WHERE known.id IS NOT NULL) \
         SELECT known.id FROM known CROSS JOIN LATERAL ( \
           SELECT kc.actor_name FROM audit_events kc WHERE kc.org_id = ",
    )
    .push_bind(org_id)
    .push(" AND kc.actor_id = known.id ORDER BY kc.occurred_at DESC, kc.id DESC LIMIT 1) latest WHERE known.id = ANY(")
    .push_bind(actors.to_vec())
    .push(") OR lower(latest.actor_name) LIKE ANY(")
    .push_bind(prefixes.clone());
    // Emails are looked at only for a value that is one: reading a hundred
    // events per actor is the costly part.
    let emails: Vec<String> = prefixes.into_iter().filter(|p| p.contains('@')).collect();
    if !emails.is_empty() {
        sql.push(") OR EXISTS (SELECT 1 FROM (SELECT kd.actor_email FROM audit_events kd WHERE kd.org_id = ")
            .push_bind(org_id)
            .push(
                " AND kd.actor_id = known.id ORDER BY kd.occurred_at DESC, kd.id DESC LIMIT 100) recent \
                   WHERE lower(recent.actor_email) LIKE ANY(",
            )
            .push_bind(emails)
            .push(")");
    }
    sql.push("))");
}

/// `(action = ANY(exact) OR action LIKE ANY(patterns))`. Exact actions stay
/// equalities so an index on `action` can serve them.
fn push_actions(sql: &mut QueryBuilder<'_, Postgres>, terms: &[String]) {
    let (exact, patterns) = action_patterns(terms);
    sql.push("(action = ANY(").push_bind(exact).push(") OR action LIKE ANY(").push_bind(patterns).push("))");
}

/// Splits action terms into exact actions and LIKE patterns: a type or a bare
/// verb matches `%.verb`, a `*` matches any words.
pub fn action_patterns(terms: &[String]) -> (Vec<String>, Vec<String>) {
    let mut exact = Vec::new();
    let mut patterns = Vec::new();
    for term in terms {
        if let Some(t) = action_type(term) {
            patterns.extend(t.verbs.iter().map(|v| format!("%.{}", escape_like(v))));
        } else if !term.contains('.') {
            patterns.push(format!("%.{}", escape_like(term)));
        } else if term.contains('*') {
            patterns.push(escape_like(term).replace('*', "%"));
        } else {
            exact.push(term.clone());
        }
    }
    (exact, patterns)
}

/// Escapes LIKE's wildcards so user input matches literally.
pub(crate) fn escape_like(term: &str) -> String {
    let mut out = String::with_capacity(term.len());
    for c in term.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_literal() {
        assert_eq!(escape_like(r"50%_off\"), r"50\%\_off\\");
    }

    #[test]
    fn action_terms_become_equalities_and_patterns() {
        let terms: Vec<String> =
            ["delete", "invoice.update", "invoice.*", "*.view", "approve", "permission_change"]
                .map(String::from)
                .into();
        let (exact, patterns) = action_patterns(&terms);
        assert_eq!(exact, ["invoice.update"]);
        assert_eq!(
            patterns,
            [
                "%.delete",
                "invoice.%",
                "%.view",
                "%.approve",
                r"%.role\_change",
                r"%.permission\_change",
                "%.grant",
                "%.ungrant"
            ]
        );
    }
}
