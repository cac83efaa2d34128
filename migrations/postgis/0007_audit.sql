-- riskmap schema version 7: every edit is traceable, and hazards have due dates.
--
-- audit: one row per edit (feature create/update/delete, hazard status move, alert
-- acknowledgement, signal, token made or revoked), written in the edit's own
-- transaction: who (the token's name and id), when, what, the feature's state before
-- and after (GeoJSON), and the note.
CREATE TABLE audit (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor          text        NOT NULL,
    token_id       bigint,
    action         text        NOT NULL CONSTRAINT audit_action_enum CHECK (action IN (
        'create', 'update', 'delete', 'hazard_status', 'ack_alert', 'set_signal', 'token_create', 'token_revoke')),
    layer          text,
    feature_id     bigint,
    version_before bigint,
    version_after  bigint,
    before         jsonb,
    after          jsonb,
    note           text
);
CREATE INDEX audit_feature_idx ON audit (layer, feature_id, id);

-- The rectification workflow's due date: each step of a hazard may set when the next
-- one is due. The latest step's due_on is the hazard's current due date.
ALTER TABLE risk_point_status_history ADD COLUMN due_on date;

-- The trigger records the step's due date from the transaction setting riskmap.due_on
-- (YYYY-MM-DD, empty for none), set by the store with riskmap.actor and riskmap.note.
CREATE OR REPLACE FUNCTION riskmap_status_history() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.hazard_status IS DISTINCT FROM OLD.hazard_status THEN
        INSERT INTO risk_point_status_history (risk_point_id, from_status, to_status, actor, note, due_on)
        VALUES (NEW.id,
                CASE WHEN TG_OP = 'UPDATE' THEN OLD.hazard_status END,
                NEW.hazard_status,
                COALESCE(NULLIF(current_setting('riskmap.actor', true), ''), session_user),
                NULLIF(current_setting('riskmap.note', true), ''),
                NULLIF(current_setting('riskmap.due_on', true), '')::date);
    END IF;
    RETURN NULL;
END $$;
