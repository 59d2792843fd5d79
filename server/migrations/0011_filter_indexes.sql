-- Indexes for the investigation filters. Each one lets a filter walk its
-- matches newest first and stop after a page, instead of walking the whole
-- timeline and discarding non-matches (which for a rare value means reading
-- every event of the org).
--
-- Actor filter, and the skip scan that lists an org's actors.
CREATE INDEX audit_events_by_actor ON audit_events (org_id, actor_id, occurred_at DESC, id DESC);

-- Record filter and record history (entity_type is checked on these few rows).
CREATE INDEX audit_events_by_record ON audit_events (org_id, entity_id, occurred_at DESC, id DESC);

-- Session filter; most system and API events have no session.
CREATE INDEX audit_events_by_session ON audit_events (org_id, session_id, occurred_at DESC, id DESC)
    WHERE session_id IS NOT NULL;
