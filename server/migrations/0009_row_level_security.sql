-- Tenants kept apart by the database, not only by handler code.
--
-- Every tenant table admits only the rows of the org named by the
-- `app.org_id` setting, which the store sets per transaction (SET LOCAL via
-- set_config(.., true); see server/src/store/tenant.rs). The app role
-- (audit_app) does not own these tables, so the policies bind it; with no
-- org set, it sees and writes nothing. A query that forgets its
-- `WHERE org_id = ...` therefore still reads a single org. The owner
-- (migrations, demo loading, the CLI) is not bound, as PostgreSQL intends.
CREATE FUNCTION current_org() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT nullif(current_setting('app.org_id', true), '')::uuid $$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['audit_events', 'entity_state', 'chain_heads', 'chain_checkpoints',
                             'chain_verifications', 'api_keys', 'idempotency_keys']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (org_id = current_org()) '
                       'WITH CHECK (org_id = current_org())', t);
    END LOOP;
END
$$;

-- An API key is presented before anyone knows its org: this function
-- answers that one question, by the key's hash, with the owner's rights.
CREATE FUNCTION api_key_by_hash(hash bytea)
RETURNS TABLE (org_id uuid, id uuid, name text, revoked_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
AS $$ SELECT k.org_id, k.id, k.name, k.revoked_at FROM api_keys k WHERE k.key_hash = hash $$;
REVOKE ALL ON FUNCTION api_key_by_hash(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_key_by_hash(bytea) TO audit_app;
