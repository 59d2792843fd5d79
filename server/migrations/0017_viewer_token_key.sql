-- A viewer token is good only while the API key that minted it is: revoking
-- the key revokes every token it handed out. The token names its org and
-- key; this function answers, in one round trip on every request a token
-- makes, the org's slug and name when that key is live, and nothing
-- otherwise. It runs with the owner's rights because api_keys is hidden by
-- row-level security until an org is chosen (as `api_key_by_hash`, 0009).
CREATE FUNCTION viewer_token_org(p_org uuid, p_key uuid)
RETURNS TABLE (id uuid, slug text, name text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
AS $$
    SELECT o.id, o.slug, o.name
      FROM orgs o JOIN api_keys k ON k.org_id = o.id
     WHERE o.id = p_org AND k.id = p_key AND k.revoked_at IS NULL
$$;
REVOKE ALL ON FUNCTION viewer_token_org(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION viewer_token_org(uuid, uuid) TO audit_app;
