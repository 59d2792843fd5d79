-- API keys: how programs send events (POST /api/v1/events). A key belongs to
-- one org and is shown once, when it is created; only its hash is stored.
--
-- key_hash is SHA-256 of the whole secret. A fast hash is right here, unlike
-- for passwords: the secret is 40 random base62 characters (~238 bits), so
-- guessing it is hopeless however fast the hash, while a slow one (bcrypt,
-- argon2) would add tens of milliseconds of CPU to every ingest request. And
-- because it is unsalted and deterministic, a request finds its key with one
-- unique-index lookup.
--
-- The exception to "lead every key with org_id": a request names no org, the
-- key is what tells us the org, so the hash alone must be unique and indexed.
CREATE TABLE api_keys (
    org_id     uuid        NOT NULL REFERENCES orgs (id),
    id         uuid        NOT NULL,
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- The first characters of the secret, so people can tell their keys apart
    -- in a list (`atl_3fA9xK2p…`) without the list revealing a usable secret.
    prefix     text        NOT NULL,
    key_hash   bytea       NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Who created it, as the timeline names them (the full actor is in the
    -- api_key.create audit event).
    created_by text        NOT NULL,
    revoked_at timestamptz,
    PRIMARY KEY (org_id, id)
);

-- Revocation is final: a revoked key never works again, whoever runs the
-- UPDATE. Without this, the column grant below would let the app role clear
-- revoked_at as easily as set it.
CREATE FUNCTION api_keys_revocation_is_final() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.revoked_at IS NOT NULL THEN
        RAISE EXCEPTION 'API key % is revoked; revocation cannot be changed', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER api_keys_revocation_is_final
    BEFORE UPDATE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION api_keys_revocation_is_final();

-- The first response to each request sent with an Idempotency-Key header, so
-- a retry of that request (same key, same body) gets the same answer and
-- writes nothing, and a reuse of the key for a different body is refused.
-- Written in the same transaction as the events it answers for: either both
-- exist or neither does.
--
-- One row per keyed request, a few hundred bytes each; nothing purges them
-- yet (the app role cannot DELETE). created_at is there for a purge by the
-- owner, should the table ever matter.
CREATE TABLE idempotency_keys (
    org_id       uuid        NOT NULL,
    key          text        NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    -- SHA-256 of the raw request body.
    request_hash bytea       NOT NULL CHECK (length(request_hash) = 32),
    status       smallint    NOT NULL,
    response     jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, key)
);

GRANT SELECT, INSERT ON api_keys, idempotency_keys TO audit_app;
GRANT UPDATE (revoked_at) ON api_keys TO audit_app;
