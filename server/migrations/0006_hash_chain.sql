-- Tamper evidence: a hash chain per org, signed checkpoints of it, and the
-- latest verification result. The trigger of 0003 stops every role short of
-- a superuser; this makes what a superuser (or anyone with the disk) does to
-- stored events visible. The canonical form that is hashed is documented in
-- server/src/chain/canonical.rs and docs/hash-chain.md.
--
-- Each event of an org gets the next sequence number and
--     hash = SHA-256(prev_hash || canonical JSON of the event)
-- where prev_hash is the hash of the org's event at seq - 1. Genesis: the
-- prev_hash of seq 1 is 32 zero bytes. A fixed, public constant, so a
-- verifier needs nothing but the rows to start, and a chain cannot be made to
-- start anywhere else (a real hash is never all zeros). It need not be
-- per org: org_id and seq are inside every canonical event, so no two orgs'
-- chains share a hash and no event can be moved from one to the other.
--
-- The writer (server/src/store/insert.rs and copy.rs) assigns seq, prev_hash
-- and hash in Rust inside the insert transaction, holding the org's
-- chain_heads row locked, and sets received_at itself (it is part of the
-- hashed form, so it cannot be left to the column default).
ALTER TABLE audit_events
    ADD COLUMN seq       bigint,
    ADD COLUMN prev_hash bytea,
    ADD COLUMN hash      bytea;

-- Every new row is chained. NOT VALID: rows written before this migration
-- (no deployment has any) may stay unchained, and verify reports any such
-- row as not belonging to the chain. Spelled out with IS NOT NULL because a
-- CHECK passes when its expression is NULL.
ALTER TABLE audit_events ADD CONSTRAINT audit_events_chained CHECK (
    seq IS NOT NULL AND seq >= 1
    AND prev_hash IS NOT NULL AND octet_length(prev_hash) = 32
    AND hash IS NOT NULL AND octet_length(hash) = 32
) NOT VALID;

-- One event per place in an org's chain. Also the order verify walks the
-- chain in, and how the checkpointer finds the first unsigned event.
CREATE UNIQUE INDEX audit_events_chain ON audit_events (org_id, seq);

-- The end of each org's chain: the last seq and its hash, so a writer need
-- not search the events for them. Mutable, unlike the events, and it doubles
-- as the per-org write lock: a writer takes it with SELECT ... FOR UPDATE,
-- once per batch, so concurrent batches of one org chain one after the other
-- while other orgs write in parallel. Verify also compares the walked chain's
-- end with it, which is how a removed last event shows.
CREATE TABLE chain_heads (
    org_id     uuid        PRIMARY KEY,
    seq        bigint      NOT NULL CHECK (seq >= 0),
    hash       bytea       NOT NULL CHECK (octet_length(hash) = 32),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The public halves of the keys checkpoints are signed with. key_id is the
-- first 16 hex characters of SHA-256(public_key). Server-wide, not per org:
-- the key belongs to the installation.
CREATE TABLE signing_keys (
    key_id     text        PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
    public_key bytea       NOT NULL UNIQUE CHECK (octet_length(public_key) = 32),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Signed statements "org's chain had this hash at this seq at this time".
-- A superuser can recompute a whole chain after changing an event (the
-- canonical form is public), but cannot sign: a checkpoint taken before the
-- rewrite then disagrees with the chain. The signed message is
-- `audit-checkpoint:v1:{org_id}:{seq}:{hex hash}:{signed_at}` (signed_at as
-- RFC 3339 UTC with microseconds), see server/src/chain/checkpoint.rs.
CREATE TABLE chain_checkpoints (
    org_id    uuid        NOT NULL,
    seq       bigint      NOT NULL CHECK (seq >= 1),
    hash      bytea       NOT NULL CHECK (octet_length(hash) = 32),
    signed_at timestamptz NOT NULL,
    key_id    text        NOT NULL REFERENCES signing_keys (key_id),
    signature bytea       NOT NULL CHECK (octet_length(signature) = 64),
    PRIMARY KEY (org_id, seq)
);

-- The latest verification of each org, for the timeline header: "verified
-- through seq N" or the first bad seq and why. Replaced on every run.
CREATE TABLE chain_verifications (
    org_id           uuid        PRIMARY KEY,
    ok               boolean     NOT NULL,
    verified_through bigint      NOT NULL CHECK (verified_through >= 0),
    checkpoints      bigint      NOT NULL CHECK (checkpoints >= 0),
    first_bad_seq    bigint,
    -- modified, deleted, inserted, reordered or checkpoint; NULL when ok.
    fault            text,
    reason           text,
    checked_at       timestamptz NOT NULL,
    CHECK (ok = (first_bad_seq IS NULL AND fault IS NULL AND reason IS NULL))
);

-- What the server needs, no more. Nothing new on audit_events: its INSERT
-- privilege covers the new columns, and it still has no UPDATE or DELETE.
-- Checkpoints and keys are only ever added.
GRANT SELECT, INSERT, UPDATE ON chain_heads TO audit_app;
GRANT SELECT, INSERT ON signing_keys TO audit_app;
GRANT SELECT, INSERT ON chain_checkpoints TO audit_app;
GRANT SELECT, INSERT, UPDATE ON chain_verifications TO audit_app;
