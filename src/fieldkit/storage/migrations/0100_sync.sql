-- Sync's own tables (owner: sync). The cursor, last_mutation_id and the device credential
-- live in meta; these hold what the user must see and decide.

-- Mutations the server refused, with its reason. The arguments are kept as they were sent:
-- nothing a worker wrote is discarded because the server said no.
CREATE TABLE sync_needs_attention (
    mutation_id   INTEGER PRIMARY KEY,            -- the outbox row id that was pushed
    name          TEXT NOT NULL,                  -- MutationName
    args          TEXT NOT NULL,                  -- JSON, as pushed
    form_version  TEXT,
    case_id       TEXT,
    created_at    TEXT NOT NULL,                  -- when the worker made the change
    reason_code   TEXT,
    reason        TEXT,
    rejected_at   TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'dismissed')),
    dismissed_at  TEXT
);
CREATE INDEX sync_needs_attention_state ON sync_needs_attention (state);

-- Both-sides changes waiting for the worker's decision (DESIGN.md section 5).
CREATE TABLE sync_conflicts (
    id              TEXT PRIMARY KEY,
    mutation_id     INTEGER,                       -- the pushed mutation that met the conflict
    record_type     TEXT NOT NULL,
    record_id       TEXT NOT NULL,
    case_id         TEXT,
    field           TEXT NOT NULL,                 -- a case field, or '*' for a whole record
    base_version    INTEGER,
    server_value    TEXT,                          -- JSON
    local_value     TEXT,                          -- JSON: the worker's value, never dropped
    copy_id         TEXT,                          -- the conflicted local copy (assessments)
    state           TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved')),
    resolution      TEXT CHECK (resolution IN ('mine', 'theirs', 'merged')),
    resolved_value  TEXT,                          -- JSON
    created_at      TEXT NOT NULL,
    resolved_at     TEXT,
    UNIQUE (mutation_id, record_type, record_id, field)
);
CREATE INDEX sync_conflicts_state ON sync_conflicts (state);
CREATE INDEX sync_conflicts_case ON sync_conflicts (case_id);
