-- Live tail: tell every server process that an org's log has grown.
--
-- One notification per org per INSERT or COPY statement, on channel
-- `audit_events`, with the payload `<org id>:<highest seq inserted>`. Each
-- server process LISTENs on one connection and fans the notifications out to
-- the browsers watching that org (server/src/live.rs), so several processes
-- behind a load balancer all hear of every write, whichever process took it.
--
-- NOTIFY is delivered when the writing transaction commits, and not at all
-- if it rolls back: a listener never hears of an event it cannot read yet.
-- The payload carries no event data, only a position in the org's chain; a
-- browser reads the events themselves through the same permission checks
-- and row-level security as any page (events_since). seq is assigned under
-- the lock on the org's chain head (0006) and that lock is held to commit,
-- so an org's events commit in seq order and `seq > last seen` is exactly
-- what is new.
--
-- Statement-level with a transition table, like the entity_state projection
-- (0002): a batch of a thousand events or a COPY of fifty thousand costs one
-- GROUP BY and one notification per org, not one per row. Both triggers read
-- the same captured rows; PostgreSQL keeps one transition table per table
-- and statement, however many triggers reference it.
CREATE FUNCTION audit_events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    head record;
BEGIN
    FOR head IN
        SELECT org_id, max(seq) AS seq FROM inserted WHERE seq IS NOT NULL GROUP BY org_id
    LOOP
        PERFORM pg_notify('audit_events', head.org_id::text || ':' || head.seq::text);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER audit_events_notify
    AFTER INSERT ON audit_events
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_notify();
