-- riskmap GeoPackage schema version 1: the embedded store (store/gpkg), equal in content
-- to the PostGIS schema at its version 5.
--
-- The file is an OGC GeoPackage 1.3 (application_id 'GPKG', user_version 10300, set by
-- the store when it creates the file): the layers are feature tables registered in
-- gpkg_contents and gpkg_geometry_columns, their geometry column "geom" holds
-- GeoPackage binary geometries in EPSG:4326, so QGIS and GDAL open the file as is.
-- Constraint names follow the PostGIS schema's <table>_<column>_<rule> convention.
-- Versions, the change log and the hazard status history are written by the store in
-- the same transaction as each edit (one process owns the file).

CREATE TABLE gpkg_spatial_ref_sys (
    srs_name                 TEXT    NOT NULL,
    srs_id                   INTEGER NOT NULL PRIMARY KEY,
    organization             TEXT    NOT NULL,
    organization_coordsys_id INTEGER NOT NULL,
    definition               TEXT    NOT NULL,
    description              TEXT
);
INSERT INTO gpkg_spatial_ref_sys VALUES
    ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
    ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
    ('WGS 84 geodetic', 4326, 'EPSG', 4326,
     'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]',
     'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid');

CREATE TABLE gpkg_contents (
    table_name  TEXT     NOT NULL PRIMARY KEY,
    data_type   TEXT     NOT NULL,
    identifier  TEXT UNIQUE,
    description TEXT DEFAULT '',
    last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    min_x       DOUBLE,
    min_y       DOUBLE,
    max_x       DOUBLE,
    max_y       DOUBLE,
    srs_id      INTEGER,
    CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id)
);

CREATE TABLE gpkg_geometry_columns (
    table_name         TEXT    NOT NULL,
    column_name        TEXT    NOT NULL,
    geometry_type_name TEXT    NOT NULL,
    srs_id             INTEGER NOT NULL,
    z                  TINYINT NOT NULL,
    m                  TINYINT NOT NULL,
    CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
    CONSTRAINT uk_gc_table_name UNIQUE (table_name),
    CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents (table_name),
    CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id)
);

-- The change log: one row per insert, update and delete of a feature, in commit order.
CREATE TABLE changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    layer      TEXT     NOT NULL,
    feature_id INTEGER  NOT NULL,
    op         TEXT     NOT NULL CONSTRAINT changes_op_enum CHECK (op IN ('insert', 'update', 'delete')),
    version    INTEGER  NOT NULL,
    changed_at DATETIME NOT NULL
);
CREATE INDEX changes_feature_idx ON changes (layer, feature_id, seq);

-- What pruning removed: seq is the newest pruned row; a follower whose last seq is
-- below it may have missed pruned rows and reloads.
CREATE TABLE changes_horizon (
    one INTEGER PRIMARY KEY CONSTRAINT changes_horizon_one_row CHECK (one = 1),
    seq INTEGER NOT NULL
);
INSERT INTO changes_horizon (one, seq) VALUES (1, 0);

CREATE TABLE risk_points (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    version          INTEGER  NOT NULL DEFAULT 1,
    updated_at       DATETIME NOT NULL,
    external_id      TEXT NOT NULL
        CONSTRAINT risk_points_external_id_unique UNIQUE
        CONSTRAINT risk_points_external_id_length CHECK (length(external_id) BETWEEN 1 AND 64),
    name             TEXT NOT NULL,
    category         TEXT NOT NULL CONSTRAINT risk_points_category_enum CHECK (category IN (
        'landslide', 'flooding', 'fire', 'high_rise_fire', 'hazardous_chemicals', 'construction',
        'small_works', 'gas', 'elevator', 'ev_charging', 'ground_void', 'falling_object',
        'road_traffic', 'other')),
    address          TEXT,
    subdistrict      TEXT CONSTRAINT risk_points_subdistrict_enum CHECK (subdistrict IN (
        'guiyuan', 'huangbei', 'dongmen', 'cuizhu', 'nanhu', 'sungang', 'donghu', 'liantang',
        'dongxiao', 'qingshuihe')),
    cause            TEXT,
    measures         TEXT,
    responsible_dept TEXT,
    risk_grade       TEXT NOT NULL CONSTRAINT risk_points_risk_grade_enum CHECK (risk_grade IN (
        'low', 'general', 'significant', 'major')),
    hazard_status    TEXT NOT NULL DEFAULT 'open' CONSTRAINT risk_points_hazard_status_enum CHECK (hazard_status IN (
        'open', 'rectifying', 'closed')),
    geom             POINT NOT NULL
);

CREATE TABLE risk_point_status_history (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    risk_point_id INTEGER  NOT NULL,
    from_status   TEXT,
    to_status     TEXT     NOT NULL,
    actor         TEXT     NOT NULL,
    note          TEXT,
    changed_at    DATETIME NOT NULL
);
CREATE INDEX risk_point_status_history_point_idx ON risk_point_status_history (risk_point_id, changed_at);

CREATE TABLE slopes (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    version             INTEGER  NOT NULL DEFAULT 1,
    updated_at          DATETIME NOT NULL,
    external_id         TEXT NOT NULL
        CONSTRAINT slopes_external_id_unique UNIQUE
        CONSTRAINT slopes_external_id_length CHECK (length(external_id) BETWEEN 1 AND 64),
    name                TEXT NOT NULL,
    kind                TEXT NOT NULL CONSTRAINT slopes_kind_enum CHECK (kind IN ('building_slope', 'natural_slope')),
    subdistrict         TEXT CONSTRAINT slopes_subdistrict_enum CHECK (subdistrict IN (
        'guiyuan', 'huangbei', 'dongmen', 'cuizhu', 'nanhu', 'sungang', 'donghu', 'liantang',
        'dongxiao', 'qingshuihe')),
    height_m            DOUBLE CONSTRAINT slopes_height_m_range CHECK (height_m BETWEEN 0 AND 1000),
    length_m            DOUBLE CONSTRAINT slopes_length_m_range CHECK (length_m BETWEEN 0 AND 10000),
    angle_deg           DOUBLE CONSTRAINT slopes_angle_deg_range CHECK (angle_deg BETWEEN 0 AND 90),
    risk_grade          TEXT NOT NULL CONSTRAINT slopes_risk_grade_enum CHECK (risk_grade IN (
        'low', 'general', 'significant', 'major')),
    monitored           BOOLEAN NOT NULL DEFAULT 0,
    warning_level       TEXT NOT NULL DEFAULT 'none' CONSTRAINT slopes_warning_level_enum CHECK (warning_level IN (
        'none', 'blue', 'yellow', 'orange', 'red')),
    displacement_mm     DOUBLE CONSTRAINT slopes_displacement_mm_range CHECK (displacement_mm BETWEEN -2000 AND 2000),
    trend               TEXT CONSTRAINT slopes_trend_enum CHECK (trend IN ('falling', 'steady', 'rising')),
    sensor_status       TEXT CONSTRAINT slopes_sensor_status_enum CHECK (sensor_status IN ('live', 'no_data')),
    drill_warning_level TEXT CONSTRAINT slopes_drill_warning_level_enum CHECK (drill_warning_level IN (
        'none', 'blue', 'yellow', 'orange', 'red')),
    geom                GEOMETRY NOT NULL
);

CREATE TABLE waterlogging_spots (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    version             INTEGER  NOT NULL DEFAULT 1,
    updated_at          DATETIME NOT NULL,
    external_id         TEXT NOT NULL
        CONSTRAINT waterlogging_spots_external_id_unique UNIQUE
        CONSTRAINT waterlogging_spots_external_id_length CHECK (length(external_id) BETWEEN 1 AND 64),
    name                TEXT NOT NULL,
    kind                TEXT NOT NULL CONSTRAINT waterlogging_spots_kind_enum CHECK (kind IN (
        'underpass', 'low_road', 'residential', 'reservoir', 'drain_node', 'other')),
    subdistrict         TEXT CONSTRAINT waterlogging_spots_subdistrict_enum CHECK (subdistrict IN (
        'guiyuan', 'huangbei', 'dongmen', 'cuizhu', 'nanhu', 'sungang', 'donghu', 'liantang',
        'dongxiao', 'qingshuihe')),
    warning_depth_cm    DOUBLE CONSTRAINT waterlogging_spots_warning_depth_cm_range CHECK (warning_depth_cm BETWEEN 0 AND 1000),
    current_depth_cm    DOUBLE CONSTRAINT waterlogging_spots_current_depth_cm_range CHECK (current_depth_cm BETWEEN 0 AND 5000),
    trend               TEXT CONSTRAINT waterlogging_spots_trend_enum CHECK (trend IN ('falling', 'steady', 'rising')),
    warning_level       TEXT NOT NULL DEFAULT 'none' CONSTRAINT waterlogging_spots_warning_level_enum CHECK (warning_level IN (
        'none', 'blue', 'yellow', 'orange', 'red')),
    sensor_status       TEXT CONSTRAINT waterlogging_spots_sensor_status_enum CHECK (sensor_status IN ('live', 'no_data')),
    drill_depth_cm      DOUBLE CONSTRAINT waterlogging_spots_drill_depth_cm_range CHECK (drill_depth_cm BETWEEN 0 AND 5000),
    drill_warning_level TEXT CONSTRAINT waterlogging_spots_drill_warning_level_enum CHECK (drill_warning_level IN (
        'none', 'blue', 'yellow', 'orange', 'red')),
    geom                GEOMETRY NOT NULL
);

CREATE TABLE rectified_roads (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    version      INTEGER  NOT NULL DEFAULT 1,
    updated_at   DATETIME NOT NULL,
    external_id  TEXT NOT NULL
        CONSTRAINT rectified_roads_external_id_unique UNIQUE
        CONSTRAINT rectified_roads_external_id_length CHECK (length(external_id) BETWEEN 1 AND 64),
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL CONSTRAINT rectified_roads_kind_enum CHECK (kind IN (
        'quality_upgrade', 'motor_nonmotor_separation', 'radar_scan')),
    completed_on DATE,
    geom         GEOMETRY NOT NULL
);

CREATE TABLE resources (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    version      INTEGER  NOT NULL DEFAULT 1,
    updated_at   DATETIME NOT NULL,
    external_id  TEXT NOT NULL
        CONSTRAINT resources_external_id_unique UNIQUE
        CONSTRAINT resources_external_id_length CHECK (length(external_id) BETWEEN 1 AND 64),
    kind         TEXT NOT NULL CONSTRAINT resources_kind_enum CHECK (kind IN (
        'shelter', 'rescue_team', 'material_depot', 'medical')),
    name         TEXT NOT NULL,
    subdistrict  TEXT CONSTRAINT resources_subdistrict_enum CHECK (subdistrict IN (
        'guiyuan', 'huangbei', 'dongmen', 'cuizhu', 'nanhu', 'sungang', 'donghu', 'liantang',
        'dongxiao', 'qingshuihe')),
    address      TEXT,
    capacity     INTEGER CONSTRAINT resources_capacity_range CHECK (capacity BETWEEN 0 AND 10000000),
    open         BOOLEAN NOT NULL DEFAULT 1,
    contact_dept TEXT,
    geom         POINT NOT NULL
);

INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
    ('risk_points', 'features', '风险点 Risk points', 'riskmap layer risk_points', 4326),
    ('slopes', 'features', '边坡 Slopes', 'riskmap layer slopes', 4326),
    ('waterlogging_spots', 'features', '易涝点 Waterlogging spots', 'riskmap layer waterlogging_spots', 4326),
    ('rectified_roads', 'features', '整治道路 Rectified roads', 'riskmap layer rectified_roads', 4326),
    ('resources', 'features', '应急资源 Emergency resources', 'riskmap layer resources', 4326);
INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m) VALUES
    ('risk_points', 'geom', 'POINT', 4326, 0, 0),
    ('slopes', 'geom', 'GEOMETRY', 4326, 0, 0),
    ('waterlogging_spots', 'geom', 'GEOMETRY', 4326, 0, 0),
    ('rectified_roads', 'geom', 'GEOMETRY', 4326, 0, 0),
    ('resources', 'geom', 'POINT', 4326, 0, 0);

-- The R-tree spatial index extension (gpkg_rtree_index, annex F.3) on every layer: one
-- SQLite R-tree per layer, kept in step by the standard's triggers (they call
-- ST_MinX.. ST_IsEmpty, which store/gpkg registers and GDAL provides), so that QGIS and
-- GDAL read a map window without scanning the table.
CREATE TABLE gpkg_extensions (
    table_name     TEXT,
    column_name    TEXT,
    extension_name TEXT NOT NULL,
    definition     TEXT NOT NULL,
    scope          TEXT NOT NULL,
    CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name)
);

INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope)
    VALUES ('risk_points', 'geom', 'gpkg_rtree_index', 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only');
CREATE VIRTUAL TABLE rtree_risk_points_geom USING rtree(id, minx, maxx, miny, maxy);
CREATE TRIGGER rtree_risk_points_geom_insert AFTER INSERT ON risk_points
    WHEN (NEW.geom NOT NULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
    INSERT OR REPLACE INTO rtree_risk_points_geom VALUES (NEW.id, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom));
END;
CREATE TRIGGER rtree_risk_points_geom_update1 AFTER UPDATE OF geom ON risk_points
    WHEN OLD.id = NEW.id AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
    INSERT OR REPLACE INTO rtree_risk_points_geom VALUES (NEW.id, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom));
END;
CREATE TRIGGER rtree_risk_points_geom_update2 AFTER UPDATE OF geom ON risk_points
    WHEN OLD.id = NEW.id AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
BEGIN
    DELETE FROM rtree_risk_points_geom WHERE id = OLD.id;
END;
CREATE TRIGGER rtree_risk_points_geom_update3 AFTER UPDATE ON risk_points
    WHEN OLD.id != NEW.id AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
    DELETE FROM rtree_risk_points_geom WHERE id = OLD.id;
    INSERT OR REPLACE INTO rtree_risk_points_geom VALUES (NEW.id, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom));
END;
CREATE TRIGGER rtree_risk_points_geom_update4 AFTER UPDATE ON risk_points
    WHEN OLD.id != NEW.id AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
BEGIN
    DELETE FROM rtree_risk_points_geom WHERE id IN (OLD.id, NEW.id);
END;
CREATE TRIGGER rtree_risk_points_geom_delete AFTER DELETE ON risk_points
    WHEN OLD.geom NOT NULL
BEGIN
    DELETE FROM rtree_risk_points_geom WHERE id = OLD.id;
END;

INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope)
    VALUES ('slopes', 'geom', 'gpkg_rtree_index', 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only');
CREATE VIRTUAL TABLE rtree_slopes_geom USING rtree(id, minx, maxx, miny, maxy);
CREATE TRIGGER rtree_slopes_geom_insert AFTER INSERT ON slopes
    WHEN (NEW.geom NOT NULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
    INSERT OR REPLACE INTO rtree_slopes_geom VALUES (NEW.id, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom));
END;
CREATE TRIGGER rtree_slopes_geom_update1 AFTER UPDATE OF geom ON slopes
    WHEN OLD.id = NEW.id AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
    INSERT OR REPLACE INTO rtree_slopes_geom VALUES (NEW.id, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom));
END;
CREATE TRIGGER rtree_slopes_geom_update2 AFTER UPDATE OF geom ON slopes
    WHEN OLD.id = NEW.id AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
BEGIN
    DELETE FROM rtree_slopes_geom WHERE id = OLD.id;
END;
CREATE TRIGGER rtree_slopes_geom_update3 AFTER UPDATE ON slopes
    WHEN OLD.id != NEW.id AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
    DELETE FROM rtree_slopes_geom WHERE id = OLD.id;
    INSERT OR REPLACE INTO rtree_slopes_geom VALUES (NEW.id, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom));
END;
CREATE TRIGGER rtree_slopes_geom_update4 AFTER UPDATE ON slopes
    WHEN OLD.id != NEW.id AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
BEGIN
    DELETE FROM rtree_slopes_geom WHERE id IN (OLD.id, NEW.id);
END;
CREATE TRIGGER rtree_slopes_geom_delete AFTER DELETE ON slopes
    WHEN OLD.geom NOT NULL
BEGIN
    DELETE FROM rtree_slopes_geom WHERE id = OLD.id;
END;

INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope)
    VALUES ('waterlogging_spots', 'geom', 'gpkg_rtree_index', 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only');
CREATE VIRTUAL TABLE rtree_waterlogging_spots_geom USING rtree(id, minx, maxx, miny, maxy);
CREATE TRIGGER rtree_waterlogging_spots_geom_insert AFTER INSERT ON waterlogging_spots
    WHEN (NEW.geom NOT NULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
    INSERT OR REPLACE INTO rtree_waterlogging_spots_geom VALUES (NEW.id, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom));
END;
CREATE TRIGGER rtree_waterlogging_spots_geom_update1 AFTER UPDATE OF geom ON waterlogging_spots
    WHEN OLD.id = NEW.id AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
    INSERT OR REPLACE INTO rtree_waterlogging_spots_geom VALUES (NEW.id, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom));
END;
CREATE TRIGGER rtree_waterlogging_spots_geom_update2 AFTER UPDATE OF geom ON waterlogging_spots
    WHEN OLD.id = NEW.id AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
BEGIN
    DELETE FROM rtree_waterlogging_spots_geom WHERE id = OLD.id;
END;
CREATE TRIGGER rtree_waterlogging_spots_geom_update3 AFTER UPDATE ON waterlogging_spots
    WHEN OLD.id != NEW.id AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
    DELETE FROM rtree_waterlogging_spots_geom WHERE id = OLD.id;
    INSERT OR REPLACE INTO rtree_waterlogging_spots_geom VALUES (NEW.id, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom));
END;
CREATE TRIGGER rtree_waterlogging_spots_geom_update4 AFTER UPDATE ON waterlogging_spots
    WHEN OLD.id != NEW.id AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
BEGIN
    DELETE FROM rtree_waterlogging_spots_geom WHERE id IN (OLD.id, NEW.id);
END;
CREATE TRIGGER rtree_waterlogging_spots_geom_delete AFTER DELETE ON waterlogging_spots
    WHEN OLD.geom NOT NULL
BEGIN
    DELETE FROM rtree_waterlogging_spots_geom WHERE id = OLD.id;
END;

INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope)
    VALUES ('rectified_roads', 'geom', 'gpkg_rtree_index', 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only');
CREATE VIRTUAL TABLE rtree_rectified_roads_geom USING rtree(id, minx, maxx, miny, maxy);
CREATE TRIGGER rtree_rectified_roads_geom_insert AFTER INSERT ON rectified_roads
    WHEN (NEW.geom NOT NULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
    INSERT OR REPLACE INTO rtree_rectified_roads_geom VALUES (NEW.id, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom));
END;
CREATE TRIGGER rtree_rectified_roads_geom_update1 AFTER UPDATE OF geom ON rectified_roads
    WHEN OLD.id = NEW.id AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
    INSERT OR REPLACE INTO rtree_rectified_roads_geom VALUES (NEW.id, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom));
END;
CREATE TRIGGER rtree_rectified_roads_geom_update2 AFTER UPDATE OF geom ON rectified_roads
    WHEN OLD.id = NEW.id AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
BEGIN
    DELETE FROM rtree_rectified_roads_geom WHERE id = OLD.id;
END;
CREATE TRIGGER rtree_rectified_roads_geom_update3 AFTER UPDATE ON rectified_roads
    WHEN OLD.id != NEW.id AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
    DELETE FROM rtree_rectified_roads_geom WHERE id = OLD.id;
    INSERT OR REPLACE INTO rtree_rectified_roads_geom VALUES (NEW.id, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom));
END;
CREATE TRIGGER rtree_rectified_roads_geom_update4 AFTER UPDATE ON rectified_roads
    WHEN OLD.id != NEW.id AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
BEGIN
    DELETE FROM rtree_rectified_roads_geom WHERE id IN (OLD.id, NEW.id);
END;
CREATE TRIGGER rtree_rectified_roads_geom_delete AFTER DELETE ON rectified_roads
    WHEN OLD.geom NOT NULL
BEGIN
    DELETE FROM rtree_rectified_roads_geom WHERE id = OLD.id;
END;

INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope)
    VALUES ('resources', 'geom', 'gpkg_rtree_index', 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only');
CREATE VIRTUAL TABLE rtree_resources_geom USING rtree(id, minx, maxx, miny, maxy);
CREATE TRIGGER rtree_resources_geom_insert AFTER INSERT ON resources
    WHEN (NEW.geom NOT NULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
    INSERT OR REPLACE INTO rtree_resources_geom VALUES (NEW.id, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom));
END;
CREATE TRIGGER rtree_resources_geom_update1 AFTER UPDATE OF geom ON resources
    WHEN OLD.id = NEW.id AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
    INSERT OR REPLACE INTO rtree_resources_geom VALUES (NEW.id, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom));
END;
CREATE TRIGGER rtree_resources_geom_update2 AFTER UPDATE OF geom ON resources
    WHEN OLD.id = NEW.id AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
BEGIN
    DELETE FROM rtree_resources_geom WHERE id = OLD.id;
END;
CREATE TRIGGER rtree_resources_geom_update3 AFTER UPDATE ON resources
    WHEN OLD.id != NEW.id AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
    DELETE FROM rtree_resources_geom WHERE id = OLD.id;
    INSERT OR REPLACE INTO rtree_resources_geom VALUES (NEW.id, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom));
END;
CREATE TRIGGER rtree_resources_geom_update4 AFTER UPDATE ON resources
    WHEN OLD.id != NEW.id AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
BEGIN
    DELETE FROM rtree_resources_geom WHERE id IN (OLD.id, NEW.id);
END;
CREATE TRIGGER rtree_resources_geom_delete AFTER DELETE ON resources
    WHEN OLD.geom NOT NULL
BEGIN
    DELETE FROM rtree_resources_geom WHERE id = OLD.id;
END;

-- Sensors on monitored slopes and waterlogging spots, and their readings.
CREATE TABLE sensors (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    external_id      TEXT NOT NULL CONSTRAINT sensors_external_id_unique UNIQUE,
    kind             TEXT NOT NULL CONSTRAINT sensors_kind_enum CHECK (kind IN (
        'displacement_mm', 'tilt_deg', 'rainfall_mm_h', 'water_depth_cm', 'water_level_m')),
    slope_id         INTEGER REFERENCES slopes (id) ON DELETE CASCADE,
    spot_id          INTEGER REFERENCES waterlogging_spots (id) ON DELETE CASCADE,
    threshold_blue   DOUBLE,
    threshold_yellow DOUBLE,
    threshold_orange DOUBLE,
    threshold_red    DOUBLE,
    range_min        DOUBLE  NOT NULL,
    range_max        DOUBLE  NOT NULL,
    active           BOOLEAN NOT NULL DEFAULT 1,
    CONSTRAINT sensors_attached_one CHECK ((slope_id IS NULL) <> (spot_id IS NULL)),
    CONSTRAINT sensors_kind_target CHECK (
        (slope_id IS NULL OR kind IN ('displacement_mm', 'tilt_deg', 'rainfall_mm_h')) AND
        (spot_id IS NULL OR kind IN ('rainfall_mm_h', 'water_depth_cm', 'water_level_m'))),
    CONSTRAINT sensors_thresholds_order CHECK (
        (threshold_blue IS NULL AND threshold_yellow IS NULL AND threshold_orange IS NULL AND threshold_red IS NULL) OR
        (threshold_blue IS NOT NULL AND threshold_yellow IS NOT NULL AND threshold_orange IS NOT NULL AND threshold_red IS NOT NULL AND
         threshold_blue <= threshold_yellow AND threshold_yellow <= threshold_orange AND threshold_orange <= threshold_red)),
    CONSTRAINT sensors_range_order CHECK (range_min < range_max)
);
CREATE INDEX sensors_slope_idx ON sensors (slope_id) WHERE slope_id IS NOT NULL;
CREATE INDEX sensors_spot_idx ON sensors (spot_id) WHERE spot_id IS NOT NULL;

-- time is microseconds since 1970-01-01 UTC: readings are many, and compared and
-- bucketed by time.
CREATE TABLE readings (
    sensor_id INTEGER NOT NULL REFERENCES sensors (id) ON DELETE CASCADE,
    drill     BOOLEAN NOT NULL DEFAULT 0,
    time      INTEGER NOT NULL,
    value     DOUBLE  NOT NULL,
    PRIMARY KEY (sensor_id, drill, time)
) WITHOUT ROWID;

CREATE TABLE alerts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    layer        TEXT    NOT NULL CONSTRAINT alerts_layer_enum CHECK (layer IN ('slopes', 'waterlogging_spots')),
    feature_id   INTEGER NOT NULL,
    sensor_id    INTEGER REFERENCES sensors (id) ON DELETE SET NULL,
    kind         TEXT    NOT NULL,
    unit         TEXT    NOT NULL,
    from_level   TEXT    NOT NULL CONSTRAINT alerts_from_level_enum CHECK (from_level IN (
        'none', 'blue', 'yellow', 'orange', 'red', 'no_data')),
    to_level     TEXT    NOT NULL CONSTRAINT alerts_to_level_enum CHECK (to_level IN (
        'none', 'blue', 'yellow', 'orange', 'red', 'no_data')),
    object_level TEXT    NOT NULL CONSTRAINT alerts_object_level_enum CHECK (object_level IN (
        'none', 'blue', 'yellow', 'orange', 'red', 'no_data')),
    value        DOUBLE  NOT NULL,
    threshold    DOUBLE,
    reason       TEXT    NOT NULL CONSTRAINT alerts_reason_enum CHECK (reason IN (
        'threshold', 'no_data', 'recovered', 'config')),
    time         DATETIME NOT NULL,
    drill        BOOLEAN  NOT NULL,
    raised_at    DATETIME NOT NULL,
    acked_at     DATETIME,
    acked_by     TEXT,
    ack_note     TEXT,
    CONSTRAINT alerts_changes_level CHECK (from_level <> to_level),
    CONSTRAINT alerts_ack_whole CHECK ((acked_at IS NULL) = (acked_by IS NULL))
);
CREATE INDEX alerts_open_idx ON alerts (id) WHERE acked_at IS NULL;
CREATE INDEX alerts_feature_idx ON alerts (layer, feature_id, id);

CREATE TABLE signals (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    kind   TEXT NOT NULL CONSTRAINT signals_kind_enum CHECK (kind IN ('typhoon', 'rainstorm')),
    level  TEXT NOT NULL CONSTRAINT signals_level_enum CHECK (level IN (
        'none', 'white', 'blue', 'yellow', 'orange', 'red')),
    set_at DATETIME NOT NULL,
    set_by TEXT NOT NULL,
    note   TEXT
);
CREATE INDEX signals_kind_idx ON signals (kind, id);

-- The sensors and the hazard status history are registered as GeoPackage attribute
-- tables (each has an INTEGER PRIMARY KEY AUTOINCREMENT), so a GIS user can open them
-- beside the layers. With attribute tables registered, GDAL and QGIS list only what
-- gpkg_contents names: the store's bookkeeping (riskmap_schema, changes,
-- changes_horizon), readings (a WITHOUT ROWID table, which GDAL cannot read) and
-- alerts and signals (their times are kept to the microsecond, finer than the
-- millisecond DATETIME form GDAL accepts) stay out of their listing.
INSERT INTO gpkg_contents (table_name, data_type, identifier, description) VALUES
    ('risk_point_status_history', 'attributes', '隐患整改记录 Hazard status history', 'riskmap: hazard status transitions of risk points'),
    ('sensors', 'attributes', '传感器 Sensors', 'riskmap: sensors on monitored slopes and waterlogging spots');
