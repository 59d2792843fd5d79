-- Categories, priorities and the counts kept beside the log (docs/categories.md).
--
-- Every event has a category (record, user, system, security, view, api) and
-- a priority (low, medium, high). The writer works them out in Rust
-- (app/src/model/category.rs, with the org's priority rules) and stores them
-- with the event, so a filter on either is an index walk and a count is a
-- sum of rollups. They are not part of the hash: they are the product's
-- reading of the event, not the sender's words.

-- Rows written before this migration get the rules as they stand here; the
-- two functions mirror app::model::category and are dropped at the end, so
-- the Rust code stays the one statement of the rules
-- (server/tests/integration/categories.rs runs this migration over events of
-- every shape and compares).
CREATE FUNCTION category_at_0020(action text, actor_kind text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN verb IN ('login_failed', 'failed_login', 'sign_in_failed', 'lockout', 'locked', 'lock',
                      'blocked', 'denied', 'access_denied',
                      'role_change', 'role_changed', 'grant', 'permission_change', 'escalate',
                      'impersonate', 'share',
                      'mfa_disable', 'mfa_disabled', 'two_factor_disable', 'two_factor_disabled', 'export')
          OR noun IN ('api_key', 'role', 'permission', 'share_grant', 'viewer_token', 'membership',
                      'signing_key', 'sso', 'saml', 'access_policy')
            THEN 'security'
        WHEN noun IN ('session', 'password', 'two_factor', 'mfa', 'profile', 'user_session')
          OR verb IN ('login', 'logout', 'sign_in', 'sign_out', 'password_change', 'password_changed',
                      'password_reset', 'mfa_enable', 'mfa_enabled', 'two_factor_enable',
                      'two_factor_enabled', 'permission_request', 'access_request')
          OR (noun = 'user' AND verb <> 'create')
            THEN 'user'
        WHEN verb IN ('view', 'viewed', 'read', 'open', 'opened', 'download', 'downloaded') THEN 'view'
        WHEN noun IN ('api', 'api_request') THEN 'api'
        WHEN actor_kind IN ('system', 'integration') THEN 'system'
        ELSE 'record'
    END
    FROM (SELECT split_part(action, '.', 1) AS noun, regexp_replace(action, '^.*\.', '') AS verb) parts
$$;

CREATE FUNCTION exported_rows_at_0020(v jsonb) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN jsonb_typeof(v) = 'number' AND v::text ~ '^[0-9]+$' THEN v::text::numeric
        WHEN jsonb_typeof(v) = 'string' AND btrim(v #>> '{}') ~ '^\+?[0-9]+$' THEN btrim(v #>> '{}')::numeric
    END
$$;

CREATE FUNCTION priority_at_0020(action text, category text, metadata jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN verb IN ('lockout', 'locked', 'lock', 'blocked',
                      'role_change', 'role_changed', 'permission_change', 'escalate', 'impersonate',
                      'mfa_disable', 'mfa_disabled', 'two_factor_disable', 'two_factor_disabled')
          OR (noun IN ('role', 'permission', 'signing_key') AND verb <> 'view')
          OR (verb = 'export' AND coalesce(exported_rows_at_0020(metadata -> 'rows'),
                                           exported_rows_at_0020(metadata -> 'records'),
                                           exported_rows_at_0020(metadata -> 'record_count')) >= 1000)
          OR (noun = 'api_key' AND verb = 'create'
              AND (lower(btrim(metadata ->> 'environment')) IN ('production', 'prod', 'live')
                   OR lower(btrim(metadata ->> 'env')) IN ('production', 'prod', 'live')))
            THEN 'high'
        WHEN category = 'security' OR verb = 'delete' THEN 'medium'
        ELSE 'low'
    END
    FROM (SELECT split_part(action, '.', 1) AS noun, regexp_replace(action, '^.*\.', '') AS verb) parts
$$;

-- Generated first, so the table rewrite fills existing rows without an
-- UPDATE (which the append-only trigger refuses, rightly); then plain
-- columns the writer fills.
ALTER TABLE audit_events
    ADD COLUMN category text GENERATED ALWAYS AS (category_at_0020(action, actor_kind)) STORED,
    ADD COLUMN priority text GENERATED ALWAYS AS
        (priority_at_0020(action, category_at_0020(action, actor_kind), metadata)) STORED;
ALTER TABLE audit_events ALTER COLUMN category DROP EXPRESSION;
ALTER TABLE audit_events ALTER COLUMN priority DROP EXPRESSION;
ALTER TABLE audit_events
    ALTER COLUMN category SET NOT NULL,
    ALTER COLUMN priority SET NOT NULL,
    ADD CONSTRAINT audit_events_category_known
        CHECK (category IN ('record', 'user', 'system', 'security', 'view', 'api')),
    ADD CONSTRAINT audit_events_priority_known CHECK (priority IN ('low', 'medium', 'high'));

DROP FUNCTION priority_at_0020(text, text, jsonb);
DROP FUNCTION exported_rows_at_0020(jsonb);
DROP FUNCTION category_at_0020(text, text);

-- The two filters as index walks, like the entity-type filter (0002). Only
-- medium and high priorities are indexed: "low" is most of the log, where a
-- walk down the timeline index finds 50 at once, and the index stays small.
CREATE INDEX audit_events_by_category ON audit_events (org_id, category, occurred_at DESC, id DESC);
CREATE INDEX audit_events_by_priority ON audit_events (org_id, priority, occurred_at DESC, id DESC)
    WHERE priority <> 'low';

-- An owner's priorities per action pattern (`invoice.delete`, `invoice.*`,
-- `*.export`): the writer reads them with the chain head, so they apply to
-- every event written after the change, in every server process at once.
CREATE TABLE priority_rules (
    org_id     uuid        NOT NULL REFERENCES orgs (id),
    pattern    text        NOT NULL CHECK (
                   pattern ~ '^([a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+|[a-z][a-z0-9_]*\.\*|\*\.[a-z][a-z0-9_]*)$'),
    priority   text        NOT NULL CHECK (priority IN ('low', 'medium', 'high')),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, pattern)
);
ALTER TABLE priority_rules ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON priority_rules USING (org_id = current_org()) WITH CHECK (org_id = current_org());
GRANT SELECT, INSERT, UPDATE, DELETE ON priority_rules TO audit_app;

-- Counts per org, hour, category and priority, kept exact in the inserting
-- statement's own transaction by a statement-level trigger (one grouped
-- upsert per INSERT or COPY, like entity_state in 0003). Writers of one org
-- already queue on its chain head, so the upsert adds no new waiting;
-- writers of different orgs touch different rows. `bytes` is the stored
-- size of the rows, what "storage used" sums.
--
-- The app role may read the counts but not write them: the trigger runs
-- with the owner's rights (SECURITY DEFINER). A drift can only come from
-- outside the product; `audit-timeline recount` finds and repairs it.
CREATE TABLE event_rollups (
    org_id   uuid        NOT NULL,
    hour     timestamptz NOT NULL,
    category text        NOT NULL,
    priority text        NOT NULL,
    events   bigint      NOT NULL,
    bytes    bigint      NOT NULL,
    PRIMARY KEY (org_id, hour, category, priority)
);
ALTER TABLE event_rollups ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON event_rollups USING (org_id = current_org());
GRANT SELECT ON event_rollups TO audit_app;

-- Per org: every event and its stored size, for "storage used" and the
-- recount's quick check. One row an org, updated by the statement that
-- already holds the org's chain head.
CREATE TABLE event_totals (
    org_id uuid   PRIMARY KEY,
    events bigint NOT NULL,
    bytes  bigint NOT NULL
);
ALTER TABLE event_totals ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON event_totals USING (org_id = current_org());
GRANT SELECT ON event_totals TO audit_app;

-- Per person per UTC day and action: what a person's page sums.
CREATE TABLE actor_rollups (
    org_id      uuid   NOT NULL,
    actor_id    text   NOT NULL,
    day         date   NOT NULL,
    action      text   NOT NULL,
    entity_type text   NOT NULL,
    events      bigint NOT NULL,
    PRIMARY KEY (org_id, actor_id, day, action, entity_type)
);
ALTER TABLE actor_rollups ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON actor_rollups USING (org_id = current_org());
GRANT SELECT ON actor_rollups TO audit_app;

CREATE FUNCTION audit_events_rollup() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    INSERT INTO event_rollups AS r (org_id, hour, category, priority, events, bytes)
    SELECT org_id, date_trunc('hour', occurred_at, 'UTC'), category, priority, count(*),
           sum(pg_column_size(inserted.*))
      FROM inserted
     GROUP BY 1, 2, 3, 4
    ON CONFLICT (org_id, hour, category, priority) DO UPDATE
       SET events = r.events + EXCLUDED.events, bytes = r.bytes + EXCLUDED.bytes;
    INSERT INTO event_totals AS t (org_id, events, bytes)
    SELECT org_id, count(*), sum(pg_column_size(inserted.*)) FROM inserted GROUP BY 1
    ON CONFLICT (org_id) DO UPDATE SET events = t.events + EXCLUDED.events, bytes = t.bytes + EXCLUDED.bytes;
    INSERT INTO actor_rollups AS r (org_id, actor_id, day, action, entity_type, events)
    SELECT org_id, actor_id, (occurred_at AT TIME ZONE 'UTC')::date, action, entity_type, count(*)
      FROM inserted
     GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (org_id, actor_id, day, action, entity_type) DO UPDATE
       SET events = r.events + EXCLUDED.events;
    RETURN NULL;
END
$$;

CREATE TRIGGER audit_events_rollup
    AFTER INSERT ON audit_events
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_rollup();

-- The events already stored.
INSERT INTO event_rollups (org_id, hour, category, priority, events, bytes)
SELECT org_id, date_trunc('hour', occurred_at, 'UTC'), category, priority, count(*), sum(pg_column_size(e.*))
  FROM audit_events e
 GROUP BY 1, 2, 3, 4;
INSERT INTO actor_rollups (org_id, actor_id, day, action, entity_type, events)
SELECT org_id, actor_id, (occurred_at AT TIME ZONE 'UTC')::date, action, entity_type, count(*)
  FROM audit_events
 GROUP BY 1, 2, 3, 4, 5;
INSERT INTO event_totals (org_id, events, bytes)
SELECT org_id, sum(events), sum(bytes) FROM event_rollups GROUP BY 1;

-- Like every tenant table (0013), the new ones bind their owner too; set
-- last, after the owner has filled them for every org.
ALTER TABLE priority_rules FORCE ROW LEVEL SECURITY;
ALTER TABLE event_rollups FORCE ROW LEVEL SECURITY;
ALTER TABLE event_totals FORCE ROW LEVEL SECURITY;
ALTER TABLE actor_rollups FORCE ROW LEVEL SECURITY;
