-- The server logs in as audit_app itself, and a fresh install is set up by
-- a person rather than by demo data.
--
-- 1. audit_app becomes a LOGIN role. Until now the server connected as the
--    owner (often a superuser) and ran `SET ROLE audit_app`: anything that
--    could run SQL on such a connection could `RESET ROLE` back to the
--    owner. A session that logs in as audit_app has nothing to go back to.
--    Its password is set by the server at startup (server/src/db.rs), not
--    here: migrations run in every database while roles are cluster-wide.
--
--    Session settings the app role needs are the role's own, so they hold
--    on every connection, including ones a transaction-mode pooler hands
--    out: plan each statement with its actual parameters (the best plan for
--    a search depends on the term, which a cached generic plan cannot know).
--
--    Concurrent migrations of several databases (the tests create one each)
--    race on the one pg_authid row; whoever loses found it done, so only an
--    error that leaves it undone is raised.
DO $$
BEGIN
    IF NOT (SELECT rolcanlogin FROM pg_roles WHERE rolname = 'audit_app') THEN
        ALTER ROLE audit_app LOGIN;
    END IF;
EXCEPTION
    WHEN insufficient_privilege THEN
        RAISE NOTICE 'cannot ALTER ROLE audit_app LOGIN; run it once as a superuser';
    WHEN others THEN
        IF NOT (SELECT rolcanlogin FROM pg_roles WHERE rolname = 'audit_app') THEN
            RAISE;
        END IF;
END
$$;

DO $$
BEGIN
    IF NOT coalesce((SELECT 'plan_cache_mode=force_custom_plan' = ANY (rolconfig)
                          FROM pg_roles WHERE rolname = 'audit_app'), false) THEN
        ALTER ROLE audit_app SET plan_cache_mode = force_custom_plan;
    END IF;
EXCEPTION
    WHEN insufficient_privilege THEN
        RAISE NOTICE 'cannot ALTER ROLE audit_app SET plan_cache_mode; run it once as a superuser';
    WHEN others THEN
        IF NOT coalesce((SELECT 'plan_cache_mode=force_custom_plan' = ANY (rolconfig)
                              FROM pg_roles WHERE rolname = 'audit_app'), false) THEN
            RAISE;
        END IF;
END
$$;

-- Where the owner keeps the app role's password when it has no secret of
-- its own to derive it from (see server/src/db.rs). No grant to anyone: the
-- app role must not read the password of the role it logs in as, or
-- any other.
CREATE TABLE app_role_credentials (
    role_name  text        PRIMARY KEY,
    password   text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON app_role_credentials FROM PUBLIC;

-- 2. Demo accounts are marked, so a demo login page lists them and never a
--    real account added later. Only the demo loader sets it. Installs that
--    loaded demo data before this column existed: demo people have
--    addresses under the reserved `.example` domain (RFC 2606), which no
--    real mailbox has.
ALTER TABLE users ADD COLUMN demo boolean NOT NULL DEFAULT false;
UPDATE users SET demo = true WHERE email LIKE '%.example';

-- 3. The one-time link that creates the first owner of a fresh install.
--    Stored by the SHA-256 of the token (256 random bits, so a fast hash is
--    enough); used once, and only while no user exists. Owner only.
CREATE TABLE setup_tokens (
    token_hash bytea       PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
REVOKE ALL ON setup_tokens FROM PUBLIC;
