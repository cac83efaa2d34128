package importer

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"riskmap/store/geomconv"
)

// ReadGeoPackage reads the feature table named table (the first feature table in
// gpkg_contents, by name, when empty) of the GeoPackage at path, read-only. Its
// spatial reference must be lon/lat degrees: EPSG:4326, EPSG:4490 (CGCS2000) or
// undefined geographic; anything else is an ErrFormat asking to reproject. The
// table's integer primary key (OGR's fid) and geometry column are not columns of
// the Table; a row's number (Row.Line) is its 1-based position in primary-key order.
func ReadGeoPackage(path, table string) (*Table, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: abs}).EscapedPath()+"?mode=ro&_pragma=query_only(1)")
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrFormat, path, err)
	}
	defer db.Close()
	t, err := readGPKG(context.Background(), db, table)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

func readGPKG(ctx context.Context, db *sql.DB, table string) (*Table, error) {
	q := `SELECT c.table_name, g.column_name, g.srs_id, COALESCE(s.organization, ''), COALESCE(s.organization_coordsys_id, 0), COALESCE(s.srs_name, '')
		FROM gpkg_contents c JOIN gpkg_geometry_columns g ON g.table_name = c.table_name
		LEFT JOIN gpkg_spatial_ref_sys s ON s.srs_id = g.srs_id
		WHERE c.data_type = 'features' AND (? = '' OR c.table_name = ?) ORDER BY c.table_name LIMIT 1`
	var name, geomCol, org, srsName string
	var srsID, orgID int64
	err := db.QueryRowContext(ctx, q, table, table).Scan(&name, &geomCol, &srsID, &org, &orgID, &srsName)
	if errors.Is(err, sql.ErrNoRows) {
		if table != "" {
			return nil, fmt.Errorf("%w: no feature table %q in the GeoPackage", ErrFormat, table)
		}
		return nil, fmt.Errorf("%w: the GeoPackage has no feature table", ErrFormat)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: not a GeoPackage: %v", ErrFormat, err)
	}
	epsg := srsID
	if strings.EqualFold(org, "EPSG") {
		epsg = orgID
	}
	var crs CRS
	if strings.EqualFold(srsName, "GCJ-02") {
		crs = GCJ02 // riskmap export --crs gcj02 writes this system (it has no EPSG code)
	} else if epsg != 4326 && epsg != 4490 && srsID != 0 && srsID != -1 {
		return nil, fmt.Errorf("%w: table %s is in SRS %s:%d: only lon/lat degrees (EPSG:4326, EPSG:4490) are read; reproject first (ogr2ogr -t_srs EPSG:4326)", ErrFormat, name, org, orgID)
	}
	ident := `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
	info, err := db.QueryContext(ctx, `SELECT name, type, pk FROM pragma_table_info(?)`, name)
	if err != nil {
		return nil, fmt.Errorf("%w: table %s: %v", ErrFormat, name, err)
	}
	var cols []string
	var pk string
	for info.Next() {
		var c, typ string
		var isPK int
		if err := info.Scan(&c, &typ, &isPK); err != nil {
			info.Close()
			return nil, err
		}
		if isPK == 1 && strings.EqualFold(typ, "INTEGER") {
			pk = c
		}
		cols = append(cols, c)
	}
	info.Close()
	if len(cols) > MaxColumns {
		return nil, fmt.Errorf("%w: %d columns, the limit is %d", ErrTooLarge, len(cols), MaxColumns)
	}
	t := &Table{Format: GeoPackage, Name: name, HasGeometry: true, CRS: crs}
	var sel []string
	geomAt := -1
	for _, c := range cols {
		if c == pk {
			continue
		}
		if c == geomCol {
			geomAt = len(sel)
		} else {
			t.Columns = append(t.Columns, c)
		}
		sel = append(sel, `"`+strings.ReplaceAll(c, `"`, `""`)+`"`)
	}
	if len(sel) == 0 {
		return nil, fmt.Errorf("%w: table %s has no columns", ErrFormat, name)
	}
	order := ""
	if pk != "" {
		order = ` ORDER BY "` + strings.ReplaceAll(pk, `"`, `""`) + `"`
	}
	rows, err := db.QueryContext(ctx, `SELECT `+strings.Join(sel, ", ")+` FROM `+ident+order)
	if err != nil {
		return nil, fmt.Errorf("%w: table %s: %v", ErrFormat, name, err)
	}
	defer rows.Close()
	raw := make([]any, len(sel))
	ptrs := make([]any, len(sel))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	for rows.Next() {
		if len(t.Rows) >= MaxRows {
			return nil, fmt.Errorf("%w: more than %d rows", ErrTooLarge, MaxRows)
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("%w: table %s: %v", ErrFormat, name, err)
		}
		row := Row{Line: len(t.Rows) + 1, Values: make([]any, 0, len(t.Columns))}
		for i, v := range raw {
			if i == geomAt {
				b, _ := v.([]byte)
				if len(b) == 0 {
					continue // null geometry: the layer says it is required
				}
				g, err := geomconv.DecodeGPKG(as4326(b, srsID))
				if err != nil {
					row.GeometryErr = err.Error()
				} else {
					row.Geometry = g
				}
				continue
			}
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			row.Values = append(row.Values, v)
		}
		t.Rows = append(t.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%w: table %s: %v", ErrFormat, name, err)
	}
	return t, nil
}

// as4326 returns the GeoPackage geometry blob b with an SRS id of 4490 (CGCS2000,
// taken as WGS84) or of the table's own lon/lat system tableSRS rewritten to 4326 in
// a copy (the coordinates are not changed: the Mapper converts them); other blobs are
// returned as they are.
func as4326(b []byte, tableSRS int64) []byte {
	if len(b) < 8 || b[0] != 'G' || b[1] != 'P' {
		return b
	}
	var order binary.ByteOrder = binary.BigEndian
	if b[3]&1 != 0 {
		order = binary.LittleEndian
	}
	if srs := int64(int32(order.Uint32(b[4:]))); srs == 4326 || srs != 4490 && srs != tableSRS {
		return b
	}
	c := append([]byte(nil), b...)
	order.PutUint32(c[4:], 4326)
	return c
}
