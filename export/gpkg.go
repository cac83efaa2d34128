package export

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/paulmach/orb"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver (pure Go)

	"riskmap/index"
	"riskmap/layers"
	"riskmap/store/geomconv"
)

// GeoPackage identification (OGC 12-128r18, clause 1.1.1.1.1): application_id
// "GPKG", user_version 10300 (GeoPackage 1.3.0).
const (
	gpkgApplicationID = 0x47504B47
	gpkgUserVersion   = 10300
)

// GCJ02SRSID is the srs_id of the GCJ-02 entry in an export's gpkg_spatial_ref_sys.
// GCJ-02 has no EPSG code (it is an obfuscation of WGS 84, not a datum), so a
// GCJ-02 GeoPackage carries its own entry, named GCJ-02, rather than claiming
// EPSG:4326 for coordinates hundreds of meters off it. 100000 is where GDAL starts
// numbering the coordinate systems it defines itself.
const GCJ02SRSID = 100000

// The spatial reference systems of an export: the three every GeoPackage has, and
// GCJ-02 when asked for.
const (
	wgs84Definition = `GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]`
	// The GCJ-02 definition is WGS 84's ellipsoid under a datum of its own name and
	// no transformation to WGS 84: GIS tools show the name and do not pretend to
	// know how to shift it back (riskmap's geo.GCJ02ToWGS84 does).
	gcj02Definition = `GEOGCS["GCJ-02",DATUM["GCJ-02 (WGS 84 with the Chinese GCJ-02 offset)",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433],AXIS["Latitude",NORTH],AXIS["Longitude",EAST]]`
)

// gpkgSchema creates the GeoPackage's metadata tables (definitions to the letter of
// the standard's annex C, as GDAL's validator checks them).
const gpkgSchema = `
CREATE TABLE gpkg_spatial_ref_sys (
    srs_name                 TEXT    NOT NULL,
    srs_id                   INTEGER NOT NULL PRIMARY KEY,
    organization             TEXT    NOT NULL,
    organization_coordsys_id INTEGER NOT NULL,
    definition               TEXT    NOT NULL,
    description              TEXT
);
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
CREATE TABLE gpkg_extensions (
    table_name     TEXT,
    column_name    TEXT,
    extension_name TEXT NOT NULL,
    definition     TEXT NOT NULL,
    scope          TEXT NOT NULL,
    CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name)
);
INSERT INTO gpkg_spatial_ref_sys VALUES
    ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
    ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
    ('WGS 84 geodetic', 4326, 'EPSG', 4326, '` + wgs84Definition + `',
     'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid');
`

// rtreeTriggers are the R-tree extension's triggers (annex F.3) for table t and
// geometry column geom, created after the rows (whose index entries are written
// directly), so that a tool editing the file later keeps the index in step.
const rtreeTriggers = `
CREATE TRIGGER "rtree_{T}_geom_insert" AFTER INSERT ON "{T}"
    WHEN (NEW.geom NOT NULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
    INSERT OR REPLACE INTO "rtree_{T}_geom" VALUES (NEW.id, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom));
END;
CREATE TRIGGER "rtree_{T}_geom_update1" AFTER UPDATE OF geom ON "{T}"
    WHEN OLD.id = NEW.id AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
    INSERT OR REPLACE INTO "rtree_{T}_geom" VALUES (NEW.id, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom));
END;
CREATE TRIGGER "rtree_{T}_geom_update2" AFTER UPDATE OF geom ON "{T}"
    WHEN OLD.id = NEW.id AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
BEGIN
    DELETE FROM "rtree_{T}_geom" WHERE id = OLD.id;
END;
CREATE TRIGGER "rtree_{T}_geom_update3" AFTER UPDATE ON "{T}"
    WHEN OLD.id != NEW.id AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
    DELETE FROM "rtree_{T}_geom" WHERE id = OLD.id;
    INSERT OR REPLACE INTO "rtree_{T}_geom" VALUES (NEW.id, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom));
END;
CREATE TRIGGER "rtree_{T}_geom_update4" AFTER UPDATE ON "{T}"
    WHEN OLD.id != NEW.id AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
BEGIN
    DELETE FROM "rtree_{T}_geom" WHERE id IN (OLD.id, NEW.id);
END;
CREATE TRIGGER "rtree_{T}_geom_delete" AFTER DELETE ON "{T}"
    WHEN OLD.geom NOT NULL
BEGIN
    DELETE FROM "rtree_{T}_geom" WHERE id = OLD.id;
END;
`

// gpkgColumnType is the GeoPackage column type of a field type (annex table 1).
func gpkgColumnType(t layers.FieldType) string {
	switch t {
	case layers.TypeInt:
		return "INTEGER"
	case layers.TypeFloat:
		return "DOUBLE"
	case layers.TypeBool:
		return "BOOLEAN"
	case layers.TypeDate:
		return "DATE"
	default:
		return "TEXT"
	}
}

// gpkgGeometryType is the geometry_type_name of the layer's column: POINT,
// LINESTRING, POLYGON... for a layer of one geometry type, GEOMETRY for a layer of
// several.
func gpkgGeometryType(l *layers.Layer) string {
	if len(l.Geometry) == 1 {
		return strings.ToUpper(string(l.Geometry[0]))
	}
	return "GEOMETRY"
}

// quoteIdent quotes an SQL identifier. Identifiers come from the layer registry
// only; quoting keeps them safe whatever they are.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// writeGPKG writes the export as a GeoPackage to a temporary file, then copies the
// file to w and removes it.
func (e *Export) writeGPKG(ctx context.Context, w io.Writer) error {
	f, err := os.CreateTemp(e.tmp, "riskmap-export-*.gpkg")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	path := f.Name()
	f.Close()
	defer os.Remove(path)
	if err := e.WriteGPKGFile(ctx, path); err != nil {
		return err
	}
	f, err = os.Open(path)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer f.Close()
	if _, err := io.Copy(w, ctxReader{ctx, f}); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// ctxReader is a reader that fails once ctx has ended.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// WriteGPKGFile writes the export as a GeoPackage 1.3 at path, replacing what is
// there (an existing file is truncated; its journal files must not exist). The file
// holds one feature table named after the layer: an id column (the riskmap id, the
// GeoPackage's feature id), geom (GeoPackage binary geometries: EPSG:4326, or the
// GCJ-02 entry GCJ02SRSID), the layer's fields with their types (text and enum
// TEXT, integer INTEGER, number DOUBLE, boolean BOOLEAN, date DATE; required fields
// NOT NULL), then version and updated_at (DATETIME, UTC) — and the R-tree spatial
// index extension on geom. gpkg_contents' last_change is the latest updated_at of
// the features, so the same data gives the same file.
func (e *Export) WriteGPKGFile(ctx context.Context, path string) (err error) {
	if err := os.Truncate(path, 0); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("export: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(MEMORY)")
	q.Add("_pragma", "synchronous(OFF)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "cache_size(-65536)")
	q.Add("_pragma", "locking_mode(EXCLUSIVE)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("export: gpkg: %w", err)
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("export: gpkg: %w", cerr)
		}
	}()
	db.SetMaxOpenConns(1)
	if err := e.fillGPKG(ctx, db); err != nil {
		return fmt.Errorf("export: gpkg %s: %w", e.layer.Name, err)
	}
	return nil
}

// fillGPKG creates the tables and writes the features in one transaction.
func (e *Export) fillGPKG(ctx context.Context, db *sql.DB) error {
	l := e.layer
	t := quoteIdent(l.Name)
	srs := 4326
	if e.crs == GCJ02 {
		srs = GCJ02SRSID
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d; PRAGMA user_version = %d", gpkgApplicationID, gpkgUserVersion)); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, gpkgSchema); err != nil {
		return err
	}
	if e.crs == GCJ02 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO gpkg_spatial_ref_sys VALUES ('GCJ-02', $1, 'riskmap', $1, $2, $3)`,
			GCJ02SRSID, gcj02Definition,
			"GCJ-02 (火星坐标): longitude/latitude degrees of WGS 84 shifted by the offset Chinese web maps (AMap, Tencent) use, 570-620 m in Shenzhen; not EPSG:4326"); err != nil {
			return err
		}
	}
	var cols strings.Builder
	cols.WriteString("id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom " + gpkgGeometryType(l) + " NOT NULL")
	for _, f := range l.Fields {
		cols.WriteString(", " + quoteIdent(f.Name) + " " + gpkgColumnType(f.Type))
		if f.Required {
			cols.WriteString(" NOT NULL")
		}
	}
	cols.WriteString(", version INTEGER NOT NULL, updated_at DATETIME")
	if _, err := tx.ExecContext(ctx, "CREATE TABLE "+t+" ("+cols.String()+")"); err != nil {
		return err
	}
	rtree := quoteIdent("rtree_" + l.Name + "_geom")
	if _, err := tx.ExecContext(ctx, "CREATE VIRTUAL TABLE "+rtree+" USING rtree(id, minx, maxx, miny, maxy)"); err != nil {
		return err
	}
	marks := make([]string, len(l.Fields)+4)
	for i := range marks {
		marks[i] = fmt.Sprintf("$%d", i+1)
	}
	var names []string
	for _, f := range l.Fields {
		names = append(names, quoteIdent(f.Name))
	}
	ins, err := tx.PrepareContext(ctx, "INSERT INTO "+t+" (id, geom, "+strings.Join(names, ", ")+", version, updated_at) VALUES ("+strings.Join(marks, ", ")+")")
	if err != nil {
		return err
	}
	defer ins.Close()
	insR, err := tx.PrepareContext(ctx, "INSERT INTO "+rtree+" VALUES ($1, $2, $3, $4, $5)")
	if err != nil {
		return err
	}
	defer insR.Close()
	var extent orb.Bound
	var latest time.Time
	args := make([]any, len(marks))
	for i, r := range e.recs {
		if i%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		g := e.geometry(r)
		blob, err := geomconv.EncodeGPKG(g)
		if err != nil {
			return fmt.Errorf("id %d: %w", r.ID, err)
		}
		setSRS(blob, int32(srs))
		b := g.Bound()
		if i == 0 {
			extent = b
		} else {
			extent = extent.Union(b)
		}
		args[0], args[1] = r.ID, blob
		gpkgValues(l, r, args[2:2+len(l.Fields)])
		args[2+len(l.Fields)] = r.Version
		args[3+len(l.Fields)] = nil
		if u := r.UpdatedAt(); !u.IsZero() {
			args[3+len(l.Fields)] = formatDatetime(u)
			if u.After(latest) {
				latest = u
			}
		}
		if _, err := ins.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("id %d: %w", r.ID, err)
		}
		if _, err := insR.ExecContext(ctx, r.ID, b.Min[0], b.Max[0], b.Min[1], b.Max[1]); err != nil {
			return fmt.Errorf("id %d: %w", r.ID, err)
		}
	}
	if _, err := tx.ExecContext(ctx, strings.ReplaceAll(rtreeTriggers, "{T}", l.Name)); err != nil {
		return err
	}
	var ext [4]any
	if len(e.recs) > 0 {
		ext = [4]any{extent.Min[0], extent.Min[1], extent.Max[0], extent.Max[1]}
	}
	desc := "riskmap export of layer " + l.Name
	if e.crs == GCJ02 {
		desc += ", coordinates in GCJ-02"
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change, min_x, min_y, max_x, max_y, srs_id)
		VALUES ($1, 'features', $2, $3, $4, $5, $6, $7, $8, $9)`,
		l.Name, l.TitleZH+" "+l.TitleEN, desc, formatDatetime(latest), ext[0], ext[1], ext[2], ext[3], srs); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO gpkg_geometry_columns VALUES ($1, 'geom', $2, $3, 0, 0)`, l.Name, gpkgGeometryType(l), srs); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO gpkg_extensions VALUES ($1, 'geom', 'gpkg_rtree_index', 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')`, l.Name); err != nil {
		return err
	}
	return tx.Commit()
}

// setSRS sets the srs_id of a little-endian GeoPackage binary geometry as
// geomconv.EncodeGPKG writes it (the header's bytes 4 to 7).
func setSRS(blob []byte, srs int32) {
	binary.LittleEndian.PutUint32(blob[4:8], uint32(srs))
}

// gpkgValues fills dst (one per field) with the record's values as SQLite takes
// them: texts, codes and dates as TEXT, integers, floats, booleans as 0 or 1, nil
// for null.
func gpkgValues(l *layers.Layer, r *index.Record, dst []any) {
	clear(dst)
	r.EachProp(func(i int, v layers.PackedValue) bool {
		switch v.Kind {
		case layers.PackedText:
			dst[i] = strings.Clone(v.Text)
		case layers.PackedInt:
			dst[i] = v.Int
		case layers.PackedFloat:
			if !math.IsNaN(v.Float) {
				dst[i] = v.Float
			}
		case layers.PackedTrue:
			dst[i] = int64(1)
		case layers.PackedFalse:
			dst[i] = int64(0)
		case layers.PackedEnum:
			dst[i] = l.Value(v, i)
		}
		return true
	})
}

// formatDatetime is a GeoPackage DATETIME: ISO 8601 in UTC with milliseconds
// (strftime('%Y-%m-%dT%H:%M:%fZ')); the zero time is 1970-01-01T00:00:00.000Z.
func formatDatetime(t time.Time) string {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
