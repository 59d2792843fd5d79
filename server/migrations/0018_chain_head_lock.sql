-- Taking an org's chain head in one round trip.
--
-- A writer scopes its transaction to the org (row-level security on
-- chain_heads reads `app.org_id`) and locks the org's head row. Two
-- statements from the client cost two round trips per write group; in one
-- function they run in order (the setting first, then the policy that reads
-- it) for one. Not SECURITY DEFINER: it runs with the caller's rights, so
-- the tenant policy applies to the SELECT as to any other.
--
-- No row means the org has never been written; the writer then creates its
-- head at genesis and calls this again (server/src/chain/head.rs).
CREATE FUNCTION lock_chain_head(org uuid) RETURNS TABLE (seq bigint, hash bytea)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('app.org_id', org::text, true);
    RETURN QUERY SELECT h.seq, h.hash FROM chain_heads h WHERE h.org_id = org FOR UPDATE;
END
$$;
REVOKE ALL ON FUNCTION lock_chain_head(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lock_chain_head(uuid) TO audit_app;
