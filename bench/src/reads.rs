//! Reading the largest org's timeline: the first page, a page a million
//! rows deep, structured filter mixes and substring searches, through the
//! server function a browser calls, with the bare SQL beside it.

use app::api::AuditStore;
use app::model::{Cursor, EventQuery, PAGE_SIZE, TimelineFilter, TimelinePage};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use server::{PgAuditStore, store};
use sqlx::PgPool;
use uuid::Uuid;

use super::client::{Client, Reply};
use super::report::{Report, Table};
use super::stats::{Stats, fmt_ms, thousands, time};

/// A signed-in browser tab on the largest org.
pub struct Tab {
    pub client: Client,
    pub slug: String,
}

/// The arguments of the `list_events` server function, as the browser
/// sends them.
#[derive(Serialize)]
struct PageArgs<'a> {
    org: &'a str,
    filter: &'a TimelineFilter,
    scope: TimelineFilter,
    cursor: Option<&'a str>,
}

impl Tab {
    /// One page through `/api/ui/timeline`, as the timeline asks for it.
    pub async fn page(
        &mut self,
        filter: &TimelineFilter,
        cursor: Option<&str>,
    ) -> anyhow::Result<TimelinePage> {
        self.page_reply(filter, cursor).await?.json()
    }

    /// [`Tab::page`] up to the last byte of the answer, not decoded: what
    /// the server takes, without the client's JSON decoder.
    pub async fn page_reply(
        &mut self,
        filter: &TimelineFilter,
        cursor: Option<&str>,
    ) -> anyhow::Result<Reply> {
        let args = PageArgs { org: &self.slug, filter, scope: TimelineFilter::default(), cursor };
        let body = serde_qs::to_string(&args)?;
        self.client.post_form("/api/ui/timeline", body).await?.ok()
    }
}

/// What the read measurements need.
pub struct Reads<'a> {
    pub tab: &'a mut Tab,
    /// Superuser pool: the bare SQL, without the app role's row security.
    pub admin: &'a PgPool,
    /// The product's own pool (the `audit_app` role).
    pub app: &'a PgPool,
    pub org_id: Uuid,
    pub org_events: usize,
    pub until: DateTime<Utc>,
    pub runs: usize,
}

fn filter(pairs: &str) -> TimelineFilter {
    let pairs: Vec<(&str, &str)> =
        pairs.split('&').filter(|p| !p.is_empty()).filter_map(|p| p.split_once('=')).collect();
    let (f, ignored) = TimelineFilter::from_pairs(pairs);
    assert!(ignored.is_empty(), "benchmark filter {ignored:?}");
    f
}

impl Reads<'_> {
    fn query(&self, f: &TimelineFilter) -> anyhow::Result<EventQuery> {
        EventQuery::single(f.clone(), Utc::now()).map_err(|e| anyhow::anyhow!("{e:?}"))
    }

    async fn bare(&self, f: &TimelineFilter, after: Option<Cursor>) -> anyhow::Result<usize> {
        let query = self.query(f)?;
        let rows = store::page_statement("", self.org_id, &query, after, PAGE_SIZE)
            .build()
            .fetch_all(self.admin)
            .await?;
        Ok(rows.len())
    }

    /// Times the server function on `f` and checks it found what the bare
    /// SQL finds.
    async fn through_server(
        &mut self,
        f: &TimelineFilter,
        cursor: Option<&str>,
    ) -> anyhow::Result<(Stats, usize)> {
        let found = self.tab.page(f, cursor).await?.events.len();
        let tab = &mut *self.tab;
        let stats = time(3, self.runs, async || tab.page_reply(f, cursor).await).await?;
        Ok((stats, found))
    }

    /// The first page three ways, and a page `depth` rows down by keyset and
    /// by OFFSET.
    pub async fn paging(&mut self, report: &mut Report) -> anyhow::Result<()> {
        let none = TimelineFilter::default();
        let (server, found) = self.through_server(&none, None).await?;
        anyhow::ensure!(found == PAGE_SIZE, "the first page has {found} events");
        let pg_store = PgAuditStore::new(self.app.clone());
        let query = self.query(&none)?;
        let (org_id, runs) = (self.org_id, self.runs);
        let in_store = time(3, runs, async || {
            pg_store.list_events(org_id, &query, None, PAGE_SIZE).await.map_err(anyhow::Error::from)
        })
        .await?;
        let bare = time(3, runs, async || self.bare(&none, None).await).await?;

        let depth = self.org_events.saturating_sub(PAGE_SIZE + 1).clamp(1, 1_000_000);
        let at: (DateTime<Utc>, Uuid) = sqlx::query_as(
            "SELECT occurred_at, id FROM audit_events WHERE org_id = $1 ORDER BY occurred_at DESC, id DESC OFFSET $2 LIMIT 1",
        )
        .bind(self.org_id)
        .bind(depth as i64 - 1)
        .fetch_one(self.admin)
        .await?;
        let cursor = Cursor { occurred_at: at.0, id: at.1 };
        let encoded = cursor.encode();
        let (deep, deep_found) = self.through_server(&none, Some(&encoded)).await?;
        anyhow::ensure!(deep_found > 0, "nothing after the cursor at depth {depth}");
        let deep_bare = time(3, runs, async || self.bare(&none, Some(cursor)).await).await?;
        let offset_sql = "SELECT * FROM audit_events WHERE org_id = $1 ORDER BY occurred_at DESC, id DESC OFFSET $2 LIMIT $3";
        let (admin, offset_runs) = (self.admin, runs.clamp(1, 20));
        let offset = time(1, offset_runs, async || {
            sqlx::query(offset_sql)
                .bind(org_id)
                .bind(depth as i64)
                .bind(PAGE_SIZE as i64)
                .fetch_all(admin)
                .await
                .map_err(anyhow::Error::from)
        })
        .await?;

        let mut table = Table::timings(
            "Paging the largest org",
            &format!(
                "Pages of {PAGE_SIZE}, newest first, no filter. \"Server function\" is the HTTP round trip of \
                 `POST /api/ui/timeline` with a session cookie, as the browser makes it, to the last byte of the \
                 answer (decoding it is the browser's time, not the server's); \"store\" is the same read \
                 in-process (app role, snapshot, chain head, rows decoded); \"bare SQL\" is the page's \
                 statement alone as superuser, rows not decoded. Depth {} is {} rows down: keyset continues from a cursor, OFFSET skips the rows.",
                thousands(depth as u64),
                thousands(depth as u64)
            ),
            "read",
        );
        table.timing("first page, server function", server);
        table.timing("first page, store", in_store);
        table.timing("first page, bare SQL", bare);
        table.timing(&format!("depth {}, keyset, server function", thousands(depth as u64)), deep);
        table.timing(&format!("depth {}, keyset, bare SQL", thousands(depth as u64)), deep_bare);
        table.timing(&format!("depth {}, OFFSET, bare SQL", thousands(depth as u64)), offset);
        report.add(table);

        let overhead = server.median / bare.median;
        report.target(
            "first page, server-function round trip, p95",
            "≤ 10 ms, and ≤ 2× the bare SQL",
            format!("{} ms; {overhead:.1}× the bare SQL (medians)", fmt_ms(server.p95)),
            server.p95 <= 10.0 && overhead <= 2.0,
        );
        let deep_ratio = deep.p95 / server.p95;
        let keyset_gain = offset.median / deep_bare.median;
        report.target(
            "Load more at depth ≥ 1M",
            "within 1.5× of the first page; ≥ 20× faster than OFFSET",
            format!(
                "depth {}: p95 {deep_ratio:.2}× the first page's; OFFSET {keyset_gain:.0}× slower (medians, bare SQL)",
                thousands(depth as u64)
            ),
            deep_ratio <= 1.5 && keyset_gain >= 20.0 && depth >= 1_000_000,
        );
        Ok(())
    }

    /// Values that exist in the data, so every filter finds something.
    async fn samples(&self) -> anyhow::Result<Samples> {
        let since = self.until - Duration::days(30);
        let entity_types: Vec<String> = sqlx::query_scalar(
            "SELECT entity_type FROM audit_events WHERE org_id = $1 AND occurred_at >= $2 \
             GROUP BY entity_type ORDER BY count(*) DESC LIMIT 3",
        )
        .bind(self.org_id)
        .bind(since)
        .fetch_all(self.admin)
        .await?;
        let (actor, actor_name): (String, String) = sqlx::query_as(
            "SELECT actor_id, max(actor_name) FROM audit_events WHERE org_id = $1 AND occurred_at >= $2 \
             AND actor_kind = 'user' GROUP BY actor_id ORDER BY count(*) DESC LIMIT 1",
        )
        .bind(self.org_id)
        .bind(since)
        .fetch_one(self.admin)
        .await?;
        let (record, shared_name): (String, String) = sqlx::query_as(
            "SELECT entity_id, entity_name FROM audit_events WHERE org_id = $1 AND entity_name IS NOT NULL \
             AND length(entity_name) >= 6 ORDER BY occurred_at LIMIT 1",
        )
        .bind(self.org_id)
        .fetch_one(self.admin)
        .await?;
        // The shortest name of a record touched least often: a term as
        // people type it, with a handful of matches in millions of events.
        let rare_name: String = sqlx::query_scalar(
            "SELECT entity_name FROM audit_events WHERE org_id = $1 AND length(entity_name) >= 6 \
             GROUP BY entity_name ORDER BY count(*), length(entity_name), entity_name LIMIT 1",
        )
        .bind(self.org_id)
        .fetch_one(self.admin)
        .await?;
        anyhow::ensure!(entity_types.len() == 3, "the org has fewer than 3 entity types");
        Ok(Samples { entity_types, actor, actor_name, record, rare_name, shared_name })
    }

    fn dates(&self, days: i64) -> String {
        let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S").to_string();
        format!(
            "after={}&before={}",
            fmt(self.until - Duration::days(days)),
            fmt(self.until + Duration::seconds(1))
        )
    }

    /// Structured filter mixes and searches, each with the plan it gets.
    pub async fn filters(&mut self, report: &mut Report) -> anyhow::Result<()> {
        let s = self.samples().await?;
        let types = s.entity_types.join(",");
        let week = self.dates(7);
        let month = self.dates(30);
        let mixes: Vec<(String, String)> = vec![
            ("one action type (deletes)".into(), "action=delete".into()),
            (format!("3 entity types ({types})"), format!("entity={types}")),
            ("one actor".into(), format!("actor={}", s.actor)),
            ("7-day range".into(), week.clone()),
            ("record id".into(), format!("record={}", s.record)),
            ("deletes + 3 entity types + 30 days".into(), format!("action=delete&entity={types}&{month}")),
            ("one actor + updates".into(), format!("actor={}&action=update", s.actor)),
            ("3 entity types + 7 days".into(), format!("entity={types}&{week}")),
            ("record id + updates".into(), format!("record={}&action=update", s.record)),
        ];
        let mut worst_mix = 0.0f64;
        let mut table = self.table(
            "Structured filters",
            "First page of the largest org through the server function, per filter mix. \"Matching\" counts \
             the org's events that match. \"Plan\" names the index PostgreSQL walks for the page (from \
             `EXPLAIN` of the page's own statement).",
        );
        for (label, pairs) in &mixes {
            let stats = self.measure(&mut table, label, &filter(pairs)).await?;
            worst_mix = worst_mix.max(stats.p95);
        }
        report.add(table);
        report.target(
            "any structured filter mix, p95",
            "≤ 20 ms",
            format!("worst mix {} ms", fmt_ms(worst_mix)),
            worst_mix <= 20.0,
        );

        let first_word = s.actor_name.split_whitespace().next().unwrap_or("a").to_lowercase();
        let three: String = first_word.chars().take(3).collect();
        let two: String = s.entity_types[0].chars().take(2).collect();
        let searches: Vec<(String, String, bool)> = vec![
            (format!("rare term \"{}\"", s.rare_name), format!("q=\"{}\"", s.rare_name), true),
            (format!("shared name \"{}\"", s.shared_name), format!("q=\"{}\"", s.shared_name), true),
            (format!("common term \"{}\"", s.entity_types[0]), format!("q={}", s.entity_types[0]), true),
            (format!("common name \"{first_word}\""), format!("q={first_word}"), true),
            (format!("3 characters \"{three}\""), format!("q={three}"), true),
            (format!("2 characters \"{two}\""), format!("q={two}"), false),
            (format!("\"{first_word}\" + deletes"), format!("q={first_word}&action=delete"), true),
            (format!("\"{three}\" + 30 days"), format!("q={three}&{month}"), true),
        ];
        let mut table = self.table(
            "Substring search",
            "First page of the largest org through the server function, searching action, actor and entity \
             names. \"Matching\" counts the org's events that match. \"Plan\" shows how the page is found: \
             the trigram index (rare terms) or a walk down the time index that stops at 51 matches (common \
             terms).",
        );
        let (mut worst_p95, mut worst_max) = (0.0f64, 0.0f64);
        for (label, pairs, counted) in &searches {
            let stats = self.measure(&mut table, label, &filter(pairs)).await?;
            if *counted {
                worst_p95 = worst_p95.max(stats.p95);
                worst_max = worst_max.max(stats.max);
            }
        }
        report.add(table);
        report.target(
            "substring search ≥ 3 chars, p95 / worst",
            "≤ 100 ms / ≤ 300 ms",
            format!("{} ms / {} ms", fmt_ms(worst_p95), fmt_ms(worst_max)),
            worst_p95 <= 100.0 && worst_max <= 300.0,
        );
        Ok(())
    }

    fn table(&self, title: &str, about: &str) -> Table {
        Table::new(
            title,
            about,
            &["filter", "matching", "found", "median ms", "p95 ms", "max ms", "runs", "plan"],
        )
    }

    async fn measure(&mut self, table: &mut Table, label: &str, f: &TimelineFilter) -> anyhow::Result<Stats> {
        let (stats, found) = self.through_server(f, None).await?;
        let bare = self.bare(f, None).await?.min(PAGE_SIZE);
        anyhow::ensure!(found == bare, "{label}: the server found {found}, the SQL {bare}");
        let query = self.query(f)?;
        let plan = store::page_plan(self.app, self.org_id, &query, PAGE_SIZE).await?;
        // Every match, through the page's own statement without its limit.
        let mut count =
            store::page_statement("SELECT count(*) FROM (", self.org_id, &query, None, i64::MAX as usize - 1);
        count.push(") every_match");
        let matching: i64 = count.build_query_scalar().fetch_one(self.admin).await?;
        table.row(vec![
            label.to_string(),
            thousands(matching as u64),
            found.to_string(),
            fmt_ms(stats.median),
            fmt_ms(stats.p95),
            fmt_ms(stats.max),
            stats.runs.to_string(),
            plan_summary(&plan),
        ]);
        Ok(stats)
    }
}

struct Samples {
    entity_types: Vec<String>,
    actor: String,
    actor_name: String,
    record: String,
    rare_name: String,
    /// A record name many records share: a term of middling frequency.
    shared_name: String,
}

/// The scans of a plan, in order: "Index Scan using audit_events_timeline"
/// becomes "audit_events_timeline", a bitmap scan of the trigram index
/// "bitmap audit_events_search"; the deleted-entity lookup is left out (it
/// runs on the page's rows only).
pub fn plan_summary(plan: &[String]) -> String {
    let mut scans: Vec<String> = Vec::new();
    for line in plan {
        let line = line.trim().trim_start_matches("->").trim();
        let word_after = |marker: &str| {
            line.split_once(marker).and_then(|(_, rest)| rest.split_whitespace().next()).unwrap_or_default()
        };
        let scan = if line.starts_with("Bitmap Index Scan on ") {
            format!("bitmap {}", word_after(" on "))
        } else if line.starts_with("Index Scan using ") || line.starts_with("Index Only Scan using ") {
            word_after(" using ").to_string()
        } else if line.starts_with("Seq Scan on ") {
            format!("seq scan {}", word_after(" on "))
        } else {
            continue;
        };
        if !scan.contains("entity_state") && !scans.contains(&scan) {
            scans.push(scan);
        }
    }
    scans.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_summarised_by_their_scans() {
        let plan: Vec<String> = [
            "Sort",
            "  ->  Limit",
            "        ->  Index Scan using audit_events_timeline on audit_events",
            "              Filter: (search_text ~~ lower($2))",
            "  SubPlan 1",
            "    ->  Index Scan using entity_state_pkey on entity_state s",
            "    ->  Seq Scan on entity_state s",
            "        ->  Bitmap Heap Scan on audit_events",
            "              ->  Bitmap Index Scan on audit_events_search",
            "  ->  Index Only Scan using audit_events_by_actor on audit_events",
            "  ->  Seq Scan on audit_events",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            plan_summary(&plan),
            "audit_events_timeline, bitmap audit_events_search, audit_events_by_actor, seq scan audit_events"
        );
    }
}
