-- People who sign in, the orgs they belong to, and their sessions.
--
-- Users are global (one person can belong to several orgs); memberships
-- carry the org_id and the role. Sessions are stored by the SHA-256 of their
-- token: the token is 256 random bits, so a fast hash is enough, and a
-- leaked table cannot be replayed as cookies.
CREATE TABLE users (
    id            uuid        PRIMARY KEY,
    email         text        NOT NULL UNIQUE CHECK (email = lower(email) AND email LIKE '%@%'),
    name          text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
    org_id     uuid        NOT NULL,
    user_id    uuid        NOT NULL REFERENCES users (id),
    role       text        NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'member')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id);

CREATE TABLE sessions (
    token_hash bytea       PRIMARY KEY,
    id         uuid        NOT NULL UNIQUE,
    user_id    uuid        NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    ip         text,
    user_agent text,
    ended_at   timestamptz
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- The server reads people and memberships; it creates and ends sessions.
-- Users and memberships are managed by the owner connection (CLI, demo).
GRANT SELECT ON users, memberships TO audit_app;
GRANT SELECT, INSERT ON sessions TO audit_app;
GRANT UPDATE (ended_at) ON sessions TO audit_app;
