-- The server's own health, one row per process per minute (server/src/
-- health.rs): requests answered, their total time and a latency histogram.
-- A row, even of an idle minute, is the heartbeat uptime is counted from.
-- Not any org's data: every org's system view reads the same server.
CREATE TABLE server_minutes (
    instance  uuid             NOT NULL,
    minute    timestamptz      NOT NULL,
    requests  integer          NOT NULL CHECK (requests >= 0),
    total_ms  double precision NOT NULL CHECK (total_ms >= 0),
    buckets   integer[]        NOT NULL,
    PRIMARY KEY (minute, instance)
);
GRANT SELECT ON server_minutes TO audit_app;
