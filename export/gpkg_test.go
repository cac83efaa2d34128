package export

import (
	"context"
	"database/sql"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"riskmap/layers"
	"riskmap/store/geomconv"
)

// readGPKG writes the export of req as a GeoPackage file and opens it read-only.
func readGPKG(t *testing.T, req Request) (*sql.DB, string) {
	t.Helper()
	req.Format, req.TempDir = GPKG, t.TempDir()
	path := filepath.Join(t.TempDir(), req.Layer+".gpkg")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := Prepare(fixture(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.WriteTo(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// TestGPKGFile: the GeoPackage holds the identification, the metadata rows, one
// feature table named after the layer with the registry's fields in their column
// types and values, geometries with the table's SRS in their headers, the R-tree
// with one entry per feature, and the extent; GCJ-02 has its own SRS entry.
func TestGPKGFile(t *testing.T) {
	ix := fixture(t)
	for _, crs := range []CRS{WGS84, GCJ02} {
		for _, l := range ix.Registry().Layers() {
			t.Run(l.Name+"-"+string(crs), func(t *testing.T) {
				db, _ := readGPKG(t, Request{Layer: l.Name, CRS: crs})
				var appID, userVersion int64
				if err := db.QueryRow("PRAGMA application_id").Scan(&appID); err != nil || appID != 0x47504B47 {
					t.Errorf("application_id %x, %v", appID, err)
				}
				if err := db.QueryRow("PRAGMA user_version").Scan(&userVersion); err != nil || userVersion != 10300 {
					t.Errorf("user_version %d, %v", userVersion, err)
				}
				wantSRS := int64(4326)
				if crs == GCJ02 {
					wantSRS = GCJ02SRSID
				}
				var table, geomType string
				var srs, contentsSRS int64
				var minX, minY, maxX, maxY float64
				if err := db.QueryRow(`SELECT c.table_name, c.srs_id, c.min_x, c.min_y, c.max_x, c.max_y, g.geometry_type_name, g.srs_id
					FROM gpkg_contents c JOIN gpkg_geometry_columns g USING (table_name) WHERE c.data_type = 'features'`).
					Scan(&table, &contentsSRS, &minX, &minY, &maxX, &maxY, &geomType, &srs); err != nil {
					t.Fatal(err)
				}
				if table != l.Name || srs != wantSRS || contentsSRS != wantSRS || geomType != gpkgGeometryType(l) {
					t.Errorf("table %s srs %d/%d geometry %s", table, srs, contentsSRS, geomType)
				}
				var srsName string
				if err := db.QueryRow(`SELECT srs_name FROM gpkg_spatial_ref_sys WHERE srs_id = $1`, wantSRS).Scan(&srsName); err != nil {
					t.Fatal(err)
				}
				if crs == GCJ02 && srsName != "GCJ-02" || crs == WGS84 && srsName != "WGS 84 geodetic" {
					t.Errorf("srs_name %q", srsName)
				}
				// Column types, in order.
				rows, err := db.Query(`SELECT name, type, "notnull" FROM pragma_table_info($1) ORDER BY cid`, l.Name)
				if err != nil {
					t.Fatal(err)
				}
				var cols []string
				for rows.Next() {
					var name, typ string
					var notNull bool
					if err := rows.Scan(&name, &typ, &notNull); err != nil {
						t.Fatal(err)
					}
					if notNull {
						typ += " NOT NULL"
					}
					cols = append(cols, name+" "+typ)
				}
				rows.Close()
				want := []string{"id INTEGER NOT NULL", "geom " + gpkgGeometryType(l) + " NOT NULL"}
				for _, f := range l.Fields {
					c := f.Name + " " + gpkgColumnType(f.Type)
					if f.Required {
						c += " NOT NULL"
					}
					want = append(want, c)
				}
				want = append(want, "version INTEGER NOT NULL", "updated_at DATETIME")
				if strings.Join(cols, ", ") != strings.Join(want, ", ") {
					t.Errorf("columns\n%s\nwant\n%s", strings.Join(cols, ", "), strings.Join(want, ", "))
				}
				// Every feature, value by value.
				var ext orb.Bound
				var n int
				fr, err := db.Query(`SELECT * FROM "` + l.Name + `" ORDER BY id`)
				if err != nil {
					t.Fatal(err)
				}
				for fr.Next() {
					vals := make([]any, len(want))
					ptrs := make([]any, len(vals))
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					if err := fr.Scan(ptrs...); err != nil {
						t.Fatal(err)
					}
					id := vals[0].(int64)
					rec, ok, _ := ix.Get(l.Name, id)
					if !ok {
						t.Fatalf("id %d not in the index", id)
					}
					blob := vals[1].([]byte)
					if got := int64(int32(binary.LittleEndian.Uint32(blob[4:8]))); got != wantSRS {
						t.Errorf("id %d: geometry SRS %d, want %d", id, got, wantSRS)
					}
					setSRS(blob, 4326)
					g, err := geomconv.DecodeGPKG(blob)
					wantG := rec.Geometry
					if crs == GCJ02 {
						wantG = toGCJ02(orb.Clone(rec.Geometry))
					}
					if err != nil || !orb.Equal(g, wantG) {
						t.Errorf("id %d: geometry %v (%v), want %v", id, g, err, wantG)
					}
					if n == 0 {
						ext = g.Bound()
					} else {
						ext = ext.Union(g.Bound())
					}
					n++
					p := props(l, rec)
					for i, f := range l.Fields {
						got, v := vals[2+i], p[f.Name]
						switch f.Type {
						case layers.TypeBool:
							if v != nil {
								v = map[bool]int64{false: 0, true: 1}[v.(bool)]
							}
						case layers.TypeDate:
							// the driver reads a DATE column's text as a time
							if gt, ok := got.(time.Time); ok {
								got = gt.Format(time.DateOnly)
							}
							if v != nil {
								v = v.(time.Time).Format(time.DateOnly)
							}
						}
						if got != v {
							t.Errorf("id %d %s: %#v, want %#v", id, f.Name, got, v)
						}
					}
					if u, _ := vals[len(vals)-1].(time.Time); vals[len(vals)-2] != rec.Version || !u.Equal(updated.Truncate(time.Millisecond)) {
						t.Errorf("id %d: version %v updated_at %v", id, vals[len(vals)-2], vals[len(vals)-1])
					}
				}
				if err := fr.Close(); err != nil {
					t.Fatal(err)
				}
				if n != ix.Count(l.Name) {
					t.Errorf("%d rows, want %d", n, ix.Count(l.Name))
				}
				if (orb.Bound{Min: orb.Point{minX, minY}, Max: orb.Point{maxX, maxY}}) != ext {
					t.Errorf("extent %v %v %v %v, want %v", minX, minY, maxX, maxY, ext)
				}
				// Dates and times are stored as the standard's texts.
				var texts int
				if err := db.QueryRow(`SELECT count(*) FROM "` + l.Name + `" WHERE typeof(updated_at) = 'text' AND updated_at = '2026-07-01T08:30:15.123Z'`).Scan(&texts); err != nil || texts != n {
					t.Errorf("%d updated_at texts (%v), want %d", texts, err, n)
				}
				var nTree int
				if err := db.QueryRow(`SELECT count(*) FROM "rtree_` + l.Name + `_geom" r JOIN "` + l.Name + `" f ON f.id = r.id`).Scan(&nTree); err != nil || nTree != n {
					t.Errorf("R-tree entries %d (%v), want %d", nTree, err, n)
				}
				var ext2 string
				if err := db.QueryRow(`SELECT extension_name FROM gpkg_extensions WHERE table_name = $1`, l.Name).Scan(&ext2); err != nil || ext2 != "gpkg_rtree_index" {
					t.Errorf("extension %q, %v", ext2, err)
				}
			})
		}
	}
}

// TestGPKGDeterministic: the same data gives the same file, byte for byte (the
// command line and the API write the same bytes).
func TestGPKGDeterministic(t *testing.T) {
	_, a := readGPKG(t, Request{Layer: layers.Slopes})
	_, b := readGPKG(t, Request{Layer: layers.Slopes})
	ba, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	bb, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(ba) != string(bb) {
		t.Errorf("two exports of the same data differ")
	}
}
