-- fieldkit vault schema, version 1.
--
-- Every record table keeps the fields that are queried (or guarded by triggers) as real
-- columns and the rest of the record's codec dict (fieldkit.domain.codec.to_dict) in `data`
-- (JSON). A field lives in exactly one place, so a column and the JSON can never disagree.
-- `version` is the server version of the row (0 until the server has it).
--
-- Foreign keys are DEFERRABLE INITIALLY DEFERRED: a pull page may bring a note before its case
-- within one transaction; the check happens at COMMIT.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL            -- JSON
) WITHOUT ROWID;

-- Set only inside Vault.purge_case / purge_record's own transaction (and cleared before it
-- commits); the delete guards below let rows through while it holds a row. See docs/storage.md.
CREATE TABLE purge_guard (active INTEGER NOT NULL);

CREATE TABLE persons (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    personnummer       TEXT,
    protected_identity TEXT NOT NULL DEFAULT 'none',
    version            INTEGER NOT NULL DEFAULT 0,
    data               TEXT NOT NULL
);
CREATE INDEX persons_pnr ON persons(personnummer) WHERE personnummer IS NOT NULL;

CREATE TABLE cases (
    id             TEXT PRIMARY KEY,
    person_id      TEXT NOT NULL REFERENCES persons(id) DEFERRABLE INITIALLY DEFERRED,
    case_type      TEXT NOT NULL,
    team_id        TEXT NOT NULL,
    owner_id       TEXT NOT NULL,
    reference      TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    assigned_ids   TEXT NOT NULL DEFAULT '[]',   -- JSON array of user ids
    summary        TEXT NOT NULL DEFAULT '',
    district       TEXT NOT NULL DEFAULT '',
    updated_at     TEXT NOT NULL,
    field_versions TEXT NOT NULL DEFAULT '{}',   -- JSON {field: server version}
    version        INTEGER NOT NULL DEFAULT 0,
    data           TEXT NOT NULL
);
CREATE INDEX cases_caseload ON cases(status, owner_id, updated_at);
CREATE INDEX cases_team ON cases(team_id, status, updated_at);
CREATE INDEX cases_person ON cases(person_id);

CREATE TABLE notes (
    id           TEXT PRIMARY KEY,
    case_id      TEXT NOT NULL REFERENCES cases(id) DEFERRABLE INITIALLY DEFERRED,
    author_id    TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('draft', 'signed')),
    link_kind    TEXT CHECK (link_kind IN ('correction', 'supplement', 'own_view')),
    link_to      TEXT REFERENCES notes(id) DEFERRABLE INITIALLY DEFERRED,
    event_time   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    text         TEXT NOT NULL,
    place        TEXT NOT NULL DEFAULT '',
    content_hash TEXT,
    version      INTEGER NOT NULL DEFAULT 0,
    data         TEXT NOT NULL,
    CHECK ((link_kind IS NULL) = (link_to IS NULL)),
    CHECK (state = 'draft' OR content_hash IS NOT NULL)
);
CREATE INDEX notes_case_time ON notes(case_id, event_time, created_at);
CREATE INDEX notes_link ON notes(link_to) WHERE link_to IS NOT NULL;
CREATE INDEX notes_drafts ON notes(author_id) WHERE state = 'draft';

CREATE TABLE assessments (
    id               TEXT PRIMARY KEY,
    case_id          TEXT NOT NULL REFERENCES cases(id) DEFERRABLE INITIALLY DEFERRED,
    form_id          TEXT NOT NULL,
    form_version     TEXT NOT NULL,
    author_id        TEXT NOT NULL,
    status           TEXT NOT NULL
                     CHECK (status IN ('draft', 'submitted', 'returned', 'approved', 'superseded')),
    reassessment_due TEXT,
    submitted_at     TEXT,
    content_hash     TEXT,
    updated_at       TEXT NOT NULL,
    version          INTEGER NOT NULL DEFAULT 0,
    data             TEXT NOT NULL
);
CREATE INDEX assessments_case ON assessments(case_id, updated_at);
CREATE INDEX assessments_status ON assessments(status, submitted_at);
CREATE INDEX assessments_due ON assessments(reassessment_due) WHERE status = 'approved';

CREATE TABLE reviews (
    id            TEXT PRIMARY KEY,
    assessment_id TEXT NOT NULL REFERENCES assessments(id) DEFERRABLE INITIALLY DEFERRED,
    case_id       TEXT NOT NULL REFERENCES cases(id) DEFERRABLE INITIALLY DEFERRED,
    reviewer_id   TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    version       INTEGER NOT NULL DEFAULT 0,
    data          TEXT NOT NULL
);
CREATE INDEX reviews_assessment ON reviews(assessment_id, created_at);
CREATE INDEX reviews_case ON reviews(case_id);

CREATE TABLE consents (
    id           TEXT PRIMARY KEY,
    case_id      TEXT NOT NULL REFERENCES cases(id) DEFERRABLE INITIALLY DEFERRED,
    person_id    TEXT NOT NULL,
    valid_from   TEXT NOT NULL,
    valid_until  TEXT,
    withdrawn_at TEXT,
    version      INTEGER NOT NULL DEFAULT 0,
    data         TEXT NOT NULL
);
CREATE INDEX consents_case ON consents(case_id, valid_from);

CREATE TABLE disclosures (
    id           TEXT PRIMARY KEY,
    case_id      TEXT NOT NULL REFERENCES cases(id) DEFERRABLE INITIALLY DEFERRED,
    person_id    TEXT NOT NULL,
    disclosed_at TEXT NOT NULL,
    version      INTEGER NOT NULL DEFAULT 0,
    data         TEXT NOT NULL
);
CREATE INDEX disclosures_case ON disclosures(case_id, disclosed_at);

CREATE TABLE interventions (
    id         TEXT PRIMARY KEY,
    case_id    TEXT NOT NULL REFERENCES cases(id) DEFERRABLE INITIALLY DEFERRED,
    kind       TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date   TEXT,
    version    INTEGER NOT NULL DEFAULT 0,
    data       TEXT NOT NULL
);
CREATE INDEX interventions_case ON interventions(case_id, start_date);

-- Team directory from the server: {id, username, display_name, role, team_id}.
CREATE TABLE users (
    id           TEXT PRIMARY KEY,
    username     TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    role         TEXT NOT NULL,
    team_id      TEXT,
    version      INTEGER NOT NULL DEFAULT 0,
    data         TEXT NOT NULL
);
CREATE INDEX users_team ON users(team_id);

-- Knowledge library: {id, title, body_markdown, version, published_at, tags}.
CREATE TABLE documents (
    id            TEXT PRIMARY KEY,
    title         TEXT NOT NULL,
    body_markdown TEXT NOT NULL DEFAULT '',
    published_at  TEXT,
    tags          TEXT NOT NULL DEFAULT '[]',
    version       INTEGER NOT NULL DEFAULT 0,
    data          TEXT NOT NULL
);

-- The audit log: append-only, hash-chained per device (fieldkit.domain.audit). `pos` keeps the
-- order rows were written in, so verify() can tell a reordered chain from a renumbered one.
CREATE TABLE audit_events (
    pos         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    device_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    actor_id    TEXT NOT NULL,
    action      TEXT NOT NULL,
    record_type TEXT NOT NULL DEFAULT '',
    record_id   TEXT,
    case_id     TEXT,
    details     TEXT NOT NULL DEFAULT '{}',
    at          TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    UNIQUE (device_id, seq)
);
CREATE INDEX audit_case ON audit_events(case_id, at) WHERE case_id IS NOT NULL;
CREATE INDEX audit_actor ON audit_events(actor_id, at);
CREATE INDEX audit_at ON audit_events(at);

-- Mutations waiting for the server. AUTOINCREMENT: an id is never reused, even after
-- remove_through() emptied the table, because the id is the per-device mutation id.
CREATE TABLE outbox (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL,
    args           TEXT NOT NULL,          -- JSON
    created_at     TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    form_version   TEXT,
    size           INTEGER NOT NULL        -- bytes of args, for bounded batches
);

------------------------------------------------------------------------------------------------
-- Immutability, enforced by the database itself.
------------------------------------------------------------------------------------------------

-- A signed journal entry never changes. Only the server version may rise (the server's copy
-- of the very same entry).
CREATE TRIGGER notes_signed_no_update BEFORE UPDATE ON notes
WHEN OLD.state = 'signed' AND (
       NEW.id IS NOT OLD.id OR NEW.case_id IS NOT OLD.case_id
    OR NEW.author_id IS NOT OLD.author_id OR NEW.state IS NOT OLD.state
    OR NEW.link_kind IS NOT OLD.link_kind OR NEW.link_to IS NOT OLD.link_to
    OR NEW.event_time IS NOT OLD.event_time OR NEW.created_at IS NOT OLD.created_at
    OR NEW.text IS NOT OLD.text OR NEW.place IS NOT OLD.place
    OR NEW.content_hash IS NOT OLD.content_hash OR NEW.data IS NOT OLD.data
    OR NEW.version < OLD.version)
BEGIN
    SELECT RAISE(ABORT, 'note_signed: a signed journal entry cannot be changed');
END;

CREATE TRIGGER notes_signed_no_delete BEFORE DELETE ON notes
WHEN OLD.state = 'signed' AND NOT EXISTS (SELECT 1 FROM purge_guard)
BEGIN
    SELECT RAISE(ABORT, 'note_signed_delete: a signed journal entry cannot be deleted');
END;

-- A correction, supplement or own view links to a SIGNED entry of the same case.
CREATE TRIGGER notes_link_insert BEFORE INSERT ON notes
WHEN NEW.link_to IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM notes o WHERE o.id = NEW.link_to AND o.state = 'signed' AND o.case_id = NEW.case_id)
BEGIN
    SELECT RAISE(ABORT, 'note_link: a linked entry must point to a signed entry of the same case');
END;

CREATE TRIGGER notes_link_update BEFORE UPDATE OF link_to, link_kind, case_id ON notes
WHEN NEW.link_to IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM notes o WHERE o.id = NEW.link_to AND o.state = 'signed' AND o.case_id = NEW.case_id)
BEGIN
    SELECT RAISE(ABORT, 'note_link: a linked entry must point to a signed entry of the same case');
END;

-- Submitted assessment content never changes; the status only moves forward.
CREATE TRIGGER assessments_content_frozen BEFORE UPDATE ON assessments
WHEN OLD.status <> 'draft' AND (
       NEW.id IS NOT OLD.id OR NEW.case_id IS NOT OLD.case_id
    OR NEW.form_id IS NOT OLD.form_id OR NEW.form_version IS NOT OLD.form_version
    OR NEW.author_id IS NOT OLD.author_id OR NEW.reassessment_due IS NOT OLD.reassessment_due
    OR NEW.submitted_at IS NOT OLD.submitted_at OR NEW.content_hash IS NOT OLD.content_hash
    OR NEW.data IS NOT OLD.data)
BEGIN
    SELECT RAISE(ABORT, 'assessment_frozen: a submitted assessment cannot be changed');
END;

CREATE TRIGGER assessments_status_forward BEFORE UPDATE OF status ON assessments
WHEN NEW.status IS NOT OLD.status AND NOT (
       (OLD.status = 'draft' AND NEW.status = 'submitted')
    OR (OLD.status = 'submitted' AND NEW.status IN ('approved', 'returned'))
    OR (OLD.status = 'approved' AND NEW.status = 'superseded'))
BEGIN
    SELECT RAISE(ABORT, 'assessment_status: this status change is not allowed');
END;

CREATE TRIGGER assessments_version_forward BEFORE UPDATE OF version ON assessments
WHEN OLD.status <> 'draft' AND NEW.version < OLD.version
BEGIN
    SELECT RAISE(ABORT, 'assessment_frozen: a submitted assessment cannot be changed');
END;

CREATE TRIGGER assessments_no_delete BEFORE DELETE ON assessments
WHEN OLD.status <> 'draft' AND NOT EXISTS (SELECT 1 FROM purge_guard)
BEGIN
    SELECT RAISE(ABORT, 'assessment_delete: a submitted assessment cannot be deleted');
END;

-- The audit log is append-only. There is no way past these, not even for a purge.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_immutable: audit events cannot be changed');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_immutable: audit events cannot be deleted');
END;

------------------------------------------------------------------------------------------------
-- Full-text search (FTS5, external content, kept in step by triggers).
-- unicode61 remove_diacritics 2: case- and diacritic-insensitive ("hogskola" finds
-- "högskola"); exact spellings are ranked first by the search repository.
------------------------------------------------------------------------------------------------

CREATE VIRTUAL TABLE notes_fts USING fts5(
    text, place,
    content = 'notes', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER notes_fts_ai AFTER INSERT ON notes BEGIN
    INSERT INTO notes_fts(rowid, text, place) VALUES (NEW.rowid, NEW.text, NEW.place);
END;
CREATE TRIGGER notes_fts_ad AFTER DELETE ON notes BEGIN
    INSERT INTO notes_fts(notes_fts, rowid, text, place) VALUES ('delete', OLD.rowid, OLD.text, OLD.place);
END;
CREATE TRIGGER notes_fts_au AFTER UPDATE OF text, place ON notes BEGIN
    INSERT INTO notes_fts(notes_fts, rowid, text, place) VALUES ('delete', OLD.rowid, OLD.text, OLD.place);
    INSERT INTO notes_fts(rowid, text, place) VALUES (NEW.rowid, NEW.text, NEW.place);
END;

-- Case metadata: reference, the person's name, summary, district. The content is a view so the
-- person's name is indexed with each of their cases.
CREATE VIEW cases_search AS
    SELECT c.rowid AS rowid, c.reference AS reference, p.name AS person_name,
           c.summary AS summary, c.district AS district
    FROM cases c JOIN persons p ON p.id = c.person_id;

CREATE VIRTUAL TABLE cases_fts USING fts5(
    reference, person_name, summary, district,
    content = 'cases_search', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER cases_fts_ai AFTER INSERT ON cases BEGIN
    INSERT INTO cases_fts(rowid, reference, person_name, summary, district)
    VALUES (NEW.rowid, NEW.reference,
            coalesce((SELECT name FROM persons WHERE id = NEW.person_id), ''),
            NEW.summary, NEW.district);
END;
CREATE TRIGGER cases_fts_ad AFTER DELETE ON cases BEGIN
    INSERT INTO cases_fts(cases_fts, rowid, reference, person_name, summary, district)
    VALUES ('delete', OLD.rowid, OLD.reference,
            coalesce((SELECT name FROM persons WHERE id = OLD.person_id), ''),
            OLD.summary, OLD.district);
END;
CREATE TRIGGER cases_fts_au AFTER UPDATE OF reference, summary, district, person_id ON cases BEGIN
    INSERT INTO cases_fts(cases_fts, rowid, reference, person_name, summary, district)
    VALUES ('delete', OLD.rowid, OLD.reference,
            coalesce((SELECT name FROM persons WHERE id = OLD.person_id), ''),
            OLD.summary, OLD.district);
    INSERT INTO cases_fts(rowid, reference, person_name, summary, district)
    VALUES (NEW.rowid, NEW.reference,
            coalesce((SELECT name FROM persons WHERE id = NEW.person_id), ''),
            NEW.summary, NEW.district);
END;
CREATE TRIGGER persons_fts_au AFTER UPDATE OF name ON persons BEGIN
    INSERT INTO cases_fts(cases_fts, rowid, reference, person_name, summary, district)
    SELECT 'delete', c.rowid, c.reference, OLD.name, c.summary, c.district
    FROM cases c WHERE c.person_id = OLD.id;
    INSERT INTO cases_fts(rowid, reference, person_name, summary, district)
    SELECT c.rowid, c.reference, NEW.name, c.summary, c.district
    FROM cases c WHERE c.person_id = NEW.id;
END;
CREATE TRIGGER persons_fts_ai AFTER INSERT ON persons BEGIN
    -- a case that arrived before its person (same pull page) was indexed without the name
    INSERT INTO cases_fts(cases_fts, rowid, reference, person_name, summary, district)
    SELECT 'delete', c.rowid, c.reference, '', c.summary, c.district
    FROM cases c WHERE c.person_id = NEW.id;
    INSERT INTO cases_fts(rowid, reference, person_name, summary, district)
    SELECT c.rowid, c.reference, NEW.name, c.summary, c.district
    FROM cases c WHERE c.person_id = NEW.id;
END;

-- Deleting from the index really removes the tokens (a purged case leaves no words behind).
INSERT INTO notes_fts(notes_fts, rank) VALUES ('secure-delete', 1);
INSERT INTO cases_fts(cases_fts, rank) VALUES ('secure-delete', 1);
