-- The sender's own id for an event. Unique per org, so a producer that
-- retries a send (network error, crash before the response) cannot store the
-- same event twice. Partial: most events carry none.
ALTER TABLE audit_events ADD COLUMN external_id text CHECK (length(external_id) BETWEEN 1 AND 200);
CREATE UNIQUE INDEX audit_events_external_id ON audit_events (org_id, external_id) WHERE external_id IS NOT NULL;
