-- Tamper evidence the database cannot forge.
--
-- 1. Checkpoints and signing keys are append-only, like the events (0003):
--    a statement-level trigger refuses UPDATE, DELETE and TRUNCATE for every
--    role, the owner included. A signed checkpoint that could be edited or
--    removed would let whoever rewrites the chain also rewrite its witness.
CREATE FUNCTION chain_records_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Checkpoints and signing keys can be added, never changed or removed.';
END
$$;

CREATE TRIGGER chain_checkpoints_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON chain_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION chain_records_refuse_change();

CREATE TRIGGER signing_keys_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON signing_keys
    FOR EACH STATEMENT EXECUTE FUNCTION chain_records_refuse_change();

-- 2. The app role cannot register a signing key. The server registers its
--    own key through the owner connection at startup; verification trusts
--    the keys the server is configured with, never this table's rows, so a
--    key planted here (by an injection through the app role, or by a
--    database superuser) signs nothing that counts.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON signing_keys FROM audit_app;

-- 3. Row-level security binds the tables' owner too. Without FORCE, the
--    owner (and any connection that reaches the owner's rights) reads every
--    tenant; with it, only superusers and BYPASSRLS roles do, which is what
--    the operator's tools (migrations, demo loading with COPY, the
--    checkpointer's scan of every org) run as. Every table that has row
--    level security enabled gets it, so none is forgotten.
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN
        SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relrowsecurity
    LOOP
        EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
    END LOOP;
END
$$;

-- An API key is looked up before its org is known (api_key_by_hash, 0009),
-- as the owner: under FORCE the owner needs a policy of its own for that.
-- It admits rows only while `app.api_key_lookup` is on, which only the
-- function sets (for its own duration); and it is granted to the owner
-- role alone, so the app role setting the same variable gains nothing.
DO $$
BEGIN
    EXECUTE format('CREATE POLICY api_key_lookup ON api_keys FOR SELECT TO %I '
                   'USING (current_setting(''app.api_key_lookup'', true) = ''on'')', current_user);
END
$$;

CREATE OR REPLACE FUNCTION api_key_by_hash(hash bytea)
RETURNS TABLE (org_id uuid, id uuid, name text, revoked_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public SET app.api_key_lookup = 'on'
AS $$ SELECT k.org_id, k.id, k.name, k.revoked_at FROM api_keys k WHERE k.key_hash = hash $$;
