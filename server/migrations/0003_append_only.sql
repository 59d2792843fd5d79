-- Append-only, enforced by the database for everyone: a statement-level
-- trigger refuses every UPDATE, DELETE and TRUNCATE on audit_events, even ones
-- that would touch no row and even when run by the table's owner. Only a
-- superuser who drops or disables the trigger can get past it, and the hash
-- chain exists to make that visible.
CREATE FUNCTION audit_events_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % on audit_events is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Audit events can be added, never changed or removed.';
END
$$;

CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();

-- Which records have been deleted: a mutable projection kept beside the
-- immutable log, so the timeline can strike through their names without
-- scanning for later delete events. The latest lifecycle event by
-- (occurred_at, id) wins, so events arriving out of order still converge.
CREATE TABLE entity_state (
    org_id      uuid        NOT NULL,
    entity_type text        NOT NULL,
    entity_id   text        NOT NULL,
    deleted     boolean     NOT NULL,
    as_of       timestamptz NOT NULL,
    event_id    uuid        NOT NULL,
    PRIMARY KEY (org_id, entity_type, entity_id)
);

-- Statement-level with a transition table, so a COPY of a million events
-- updates the projection in one set-based statement instead of per row.
CREATE FUNCTION audit_events_track_entity_state() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO entity_state AS s (org_id, entity_type, entity_id, deleted, as_of, event_id)
    SELECT DISTINCT ON (org_id, entity_type, entity_id)
           org_id, entity_type, entity_id, action LIKE '%.delete', occurred_at, id
      FROM inserted
     WHERE action LIKE '%.delete' OR action LIKE '%.restore'
     ORDER BY org_id, entity_type, entity_id, occurred_at DESC, id DESC
    ON CONFLICT (org_id, entity_type, entity_id) DO UPDATE
       SET deleted = EXCLUDED.deleted, as_of = EXCLUDED.as_of, event_id = EXCLUDED.event_id
     WHERE (s.as_of, s.event_id) < (EXCLUDED.as_of, EXCLUDED.event_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER audit_events_entity_state
    AFTER INSERT ON audit_events
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_track_entity_state();
