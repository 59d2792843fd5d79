-- Writes and look-ups keep their plans; reads are planned for their terms.
--
-- 0014 set plan_cache_mode = force_custom_plan for the whole app role, so
-- that a search is planned with its actual term (0002: the trigram index
-- for a rare term, the time index for a common one). It also had every
-- other statement planned again on every execution: the batch insert, the
-- chain head, the API key look-up and the statements of the triggers. A
-- profile of single events at 1,000 a second found PostgreSQL spending
-- more time planning those than inserting. The read transactions now set
-- it themselves, transaction-local (server/src/store/tenant.rs, so it also
-- holds behind a transaction-mode pooler), and the role is back to the
-- default, where a statement run often keeps a generic plan.
DO $$
BEGIN
    IF coalesce((SELECT 'plan_cache_mode=force_custom_plan' = ANY (rolconfig)
                   FROM pg_roles WHERE rolname = 'audit_app'), false) THEN
        ALTER ROLE audit_app RESET plan_cache_mode;
    END IF;
EXCEPTION
    WHEN insufficient_privilege THEN
        RAISE NOTICE 'cannot ALTER ROLE audit_app RESET plan_cache_mode; run it once as a superuser';
END
$$;

-- The two look-ups made before an org is known, in PL/pgSQL: a SQL
-- function that cannot be inlined (these are SECURITY DEFINER) is parsed
-- and planned on every call, a PL/pgSQL one keeps its plan for the
-- session. Same signatures, results, rights and grants as 0013 and 0017.
CREATE OR REPLACE FUNCTION api_key_by_hash(hash bytea)
RETURNS TABLE (org_id uuid, id uuid, name text, revoked_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public SET app.api_key_lookup = 'on'
AS $$
BEGIN
    RETURN QUERY SELECT k.org_id, k.id, k.name, k.revoked_at FROM api_keys k WHERE k.key_hash = hash;
END
$$;

CREATE OR REPLACE FUNCTION viewer_token_org(p_org uuid, p_key uuid)
RETURNS TABLE (id uuid, slug text, name text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public
AS $$
BEGIN
    RETURN QUERY
    SELECT o.id, o.slug, o.name
      FROM orgs o JOIN api_keys k ON k.org_id = o.id
     WHERE o.id = p_org AND k.id = p_key AND k.revoked_at IS NULL;
END
$$;
