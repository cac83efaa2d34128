-- riskmap schema version 3: sensors in operation — what the evaluator writes back to
-- the monitored objects, drill readings kept apart from real ones, alerts and the
-- district's weather signals.

-- The evaluated state of a monitored object, written by the ingest service (package
-- ingest) whenever it changes; the change log carries it to every follower like any
-- other edit. warning_level stays on the ordered scale; sensor_status says whether
-- the sensors deciding it are heard from (no_data: all silent, warning_level is the
-- level they last had). The drill_* columns are the storm simulator's picture,
-- never mixed into the real one (null when no drill runs).
ALTER TABLE slopes
    ADD COLUMN displacement_mm double precision
        CONSTRAINT slopes_displacement_mm_range CHECK (displacement_mm BETWEEN -2000 AND 2000),
    ADD COLUMN trend text CONSTRAINT slopes_trend_enum CHECK (trend IN ('falling', 'steady', 'rising')),
    ADD COLUMN sensor_status text CONSTRAINT slopes_sensor_status_enum CHECK (sensor_status IN ('live', 'no_data')),
    ADD COLUMN drill_warning_level text CONSTRAINT slopes_drill_warning_level_enum CHECK (drill_warning_level IN (
        'none', 'blue', 'yellow', 'orange', 'red'));

ALTER TABLE waterlogging_spots
    ADD COLUMN sensor_status text
        CONSTRAINT waterlogging_spots_sensor_status_enum CHECK (sensor_status IN ('live', 'no_data')),
    ADD COLUMN drill_depth_cm double precision
        CONSTRAINT waterlogging_spots_drill_depth_cm_range CHECK (drill_depth_cm BETWEEN 0 AND 5000),
    ADD COLUMN drill_warning_level text
        CONSTRAINT waterlogging_spots_drill_warning_level_enum CHECK (drill_warning_level IN (
            'none', 'blue', 'yellow', 'orange', 'red'));

-- Readings of drills (the storm simulator) are stored apart from real ones under the
-- same key: a drill reading never collides with, replaces or hides a real one.
ALTER TABLE readings ADD COLUMN drill boolean NOT NULL DEFAULT false;
ALTER TABLE readings DROP CONSTRAINT readings_pkey;
ALTER TABLE readings ADD CONSTRAINT readings_pkey PRIMARY KEY (sensor_id, drill, time);

-- An alert is one change of one sensor's warning level (package sensors, Alert).
-- Open while not acknowledged.
CREATE TABLE alerts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    layer        text   NOT NULL CONSTRAINT alerts_layer_enum CHECK (layer IN ('slopes', 'waterlogging_spots')),
    feature_id   bigint NOT NULL,
    sensor_id    bigint REFERENCES sensors (id) ON DELETE SET NULL,
    kind         text   NOT NULL,
    unit         text   NOT NULL,
    from_level   text   NOT NULL CONSTRAINT alerts_from_level_enum CHECK (from_level IN (
        'none', 'blue', 'yellow', 'orange', 'red', 'no_data')),
    to_level     text   NOT NULL CONSTRAINT alerts_to_level_enum CHECK (to_level IN (
        'none', 'blue', 'yellow', 'orange', 'red', 'no_data')),
    object_level text   NOT NULL CONSTRAINT alerts_object_level_enum CHECK (object_level IN (
        'none', 'blue', 'yellow', 'orange', 'red', 'no_data')),
    value        double precision NOT NULL,
    threshold    double precision,
    reason       text   NOT NULL CONSTRAINT alerts_reason_enum CHECK (reason IN (
        'threshold', 'no_data', 'recovered', 'config')),
    time         timestamptz NOT NULL,
    drill        boolean NOT NULL,
    raised_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    acked_at     timestamptz,
    acked_by     text,
    ack_note     text,
    CONSTRAINT alerts_changes_level CHECK (from_level <> to_level),
    CONSTRAINT alerts_ack_whole CHECK ((acked_at IS NULL) = (acked_by IS NULL))
);
CREATE INDEX alerts_open_idx ON alerts (id) WHERE acked_at IS NULL;
CREATE INDEX alerts_feature_idx ON alerts (layer, feature_id, id);

-- District weather signals (typhoon, rainstorm): every setting is kept; the current
-- signal of a kind is its latest row ('none' when lifted).
CREATE TABLE signals (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind   text NOT NULL CONSTRAINT signals_kind_enum CHECK (kind IN ('typhoon', 'rainstorm')),
    level  text NOT NULL CONSTRAINT signals_level_enum CHECK (level IN (
        'none', 'white', 'blue', 'yellow', 'orange', 'red')),
    set_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    set_by text NOT NULL,
    note   text
);
CREATE INDEX signals_kind_idx ON signals (kind, id);
