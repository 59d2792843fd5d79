-- Tenants. Every other table carries org_id and leads its keys with it, so
-- the schema can later be distributed by org_id (Citus) unchanged.
CREATE TABLE orgs (
    id         uuid        PRIMARY KEY,
    slug       text        NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);
