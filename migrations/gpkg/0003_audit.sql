-- riskmap GeoPackage schema version 3: the audit log and hazard due dates, as PostGIS
-- schema version 7. before/after hold GeoJSON text.
CREATE TABLE audit (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at             DATETIME NOT NULL,
    actor          TEXT     NOT NULL,
    token_id       INTEGER,
    action         TEXT     NOT NULL CONSTRAINT audit_action_enum CHECK (action IN (
        'create', 'update', 'delete', 'hazard_status', 'ack_alert', 'set_signal', 'token_create', 'token_revoke')),
    layer          TEXT,
    feature_id     INTEGER,
    version_before INTEGER,
    version_after  INTEGER,
    before         TEXT,
    after          TEXT,
    note           TEXT
);
CREATE INDEX audit_feature_idx ON audit (layer, feature_id, id);

ALTER TABLE risk_point_status_history ADD COLUMN due_on DATE;
