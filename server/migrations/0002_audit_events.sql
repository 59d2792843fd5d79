-- The audit events themselves: one row per event, never changed after insert.
--
-- Ids are UUIDv7 made by the writer (time-ordered, so inserts append to the
-- primary key's right edge). Actor, entity and context are columns rather than
-- JSON because every one of them is filtered on; changes and metadata are
-- free-form and only ever displayed, so they stay jsonb.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;

CREATE TABLE audit_events (
    org_id       uuid        NOT NULL,
    id           uuid        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_kind   text        NOT NULL CHECK (actor_kind IN ('user', 'system', 'api_key', 'integration')),
    actor_id     text        NOT NULL,
    actor_name   text        NOT NULL,
    actor_email  text,
    actor_avatar text,
    action       text        NOT NULL CHECK (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
    entity_type  text        NOT NULL CHECK (entity_type ~ '^[a-z][a-z0-9_]*$'),
    entity_id    text        NOT NULL,
    entity_name  text,
    changes      jsonb,
    ip           inet,
    user_agent   text,
    session_id   text,
    request_id   text,
    country      text,
    metadata     jsonb       NOT NULL DEFAULT '{}',
    -- What the search box matches: action, actor name and entity name,
    -- lower-cased once at write time. The newline keeps a search from matching
    -- across the boundary of two fields.
    search_text  text        GENERATED ALWAYS AS (
                     lower(action || E'\n' || actor_name || E'\n' || coalesce(entity_name, ''))
                 ) STORED,
    PRIMARY KEY (org_id, id)
);

-- The timeline: every read is a keyset walk down this index,
-- `WHERE org_id = $1 AND (occurred_at, id) < ($2, $3) ORDER BY occurred_at DESC, id DESC LIMIT 51`,
-- which reads 51 index entries whatever the depth (no OFFSET anywhere).
CREATE INDEX audit_events_timeline ON audit_events (org_id, occurred_at DESC, id DESC);

-- Entity-type filter: the same walk restricted to one category. Also serves
-- the distinct-categories menu as a skip scan (one probe per category).
CREATE INDEX audit_events_by_entity_type ON audit_events (org_id, entity_type, occurred_at DESC, id DESC);

-- Case-insensitive substring search (`search_text LIKE '%term%'`).
--
-- A btree cannot answer an infix LIKE; pg_trgm's GIN index can, for terms of
-- three or more characters: it intersects the posting lists of the term's
-- trigrams and rechecks the few candidate rows. btree_gin puts org_id in the
-- same index so the intersection happens per tenant. GIN over GiST because
-- this index is read far more than written and GIN lookups are several times
-- faster; fastupdate batches the insert cost.
--
-- The planner picks per query between this index (rare terms: a bitmap of the
-- matches, then a top-50 sort) and a walk down audit_events_timeline with the
-- LIKE as a filter (common terms: the first 50 matches come early). The app's
-- connections use plan_cache_mode = force_custom_plan so that choice is made
-- with the actual search term, never a generic plan. EXPLAIN ANALYZE on 1M
-- demo events is in docs/search-plans.md.
CREATE INDEX audit_events_search ON audit_events USING gin (org_id, search_text gin_trgm_ops);
