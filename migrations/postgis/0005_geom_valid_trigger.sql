-- riskmap schema version 5: a geometry's validity (ST_IsValid, computed by GEOS) is
-- checked when the geometry is written, not on every update of the row.
--
-- A CHECK constraint is evaluated on every UPDATE, whatever columns it sets; since
-- sensor states are written back to slopes and waterlogging spots (thousands of
-- attribute updates a minute during a storm), each ran GEOS's validity test on an
-- unchanged polygon. A BEFORE INSERT OR UPDATE OF geom trigger runs it only when the
-- geometry is in the statement. It raises the same error as the constraint did
-- (check_violation, constraint <table>_geom_valid), so the store's mapping of
-- constraint names to fields, and its message, are unchanged. The cheap geometry
-- checks (type, empty, lon/lat range) stay constraints.
CREATE FUNCTION riskmap_check_geom_valid() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT ST_IsValid(NEW.geom) THEN
        RAISE EXCEPTION 'new row for relation "%" violates check constraint "%"', TG_TABLE_NAME, TG_TABLE_NAME || '_geom_valid'
            USING ERRCODE = 'check_violation', CONSTRAINT = TG_TABLE_NAME || '_geom_valid',
                  TABLE = TG_TABLE_NAME, COLUMN = 'geom';
    END IF;
    RETURN NEW;
END $$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['risk_points', 'slopes', 'waterlogging_spots', 'rectified_roads', 'resources'] LOOP
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', t, t || '_geom_valid');
        EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE OF geom ON %I FOR EACH ROW EXECUTE FUNCTION riskmap_check_geom_valid()',
            t || '_geom_valid', t);
    END LOOP;
END $$;
