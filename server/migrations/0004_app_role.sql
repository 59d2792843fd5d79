-- The role the server reads and writes as. It may add and read audit events
-- and nothing else: no UPDATE, DELETE or TRUNCATE privilege on audit_events
-- exists to misuse, and the trigger above refuses them even to the owner.
--
-- Roles are cluster-wide while migrations run per database (tests create a
-- database each), so creating it tolerates it existing already.
DO $$
BEGIN
    CREATE ROLE audit_app NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

-- The migrating user switches to audit_app (SET ROLE) on each app connection.
DO $$
BEGIN
    EXECUTE format('GRANT audit_app TO %I', current_user);
EXCEPTION WHEN others THEN
    NULL; -- a superuser needs no membership
END
$$;

GRANT USAGE ON SCHEMA public TO audit_app;
GRANT SELECT ON orgs TO audit_app;
GRANT SELECT, INSERT ON audit_events TO audit_app;
GRANT SELECT, INSERT, UPDATE ON entity_state TO audit_app;
