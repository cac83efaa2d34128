package importer

import (
	"io"
	"testing"

	"riskmap/layers"
)

// fuzzMap maps a table into every layer and writes its rejects: nothing may panic,
// and every row is either a feature, a duplicate or a bad line.
func fuzzMap(t *testing.T, tb *Table) {
	reg := layers.New()
	for _, l := range reg.Layers() {
		for _, o := range []Options{{}, {IDPrefix: "f-", CRS: BD09}} {
			m, err := NewMapper(l, o)
			if err != nil {
				t.Fatal(err)
			}
			r, err := m.Map(tb)
			if err != nil {
				continue // no geometry columns, ...
			}
			if n := len(r.Features) + len(r.Duplicates) + len(r.BadLines()); n != len(tb.Rows) {
				t.Fatalf("%s: %d features + %d duplicates + %d bad lines != %d rows", l.Name, len(r.Features), len(r.Duplicates), len(r.BadLines()), len(tb.Rows))
			}
			for _, f := range r.Features {
				if err := l.ValidateGeometry(f.Geometry); err != nil {
					t.Fatalf("%s: a mapped feature's geometry is invalid: %v", l.Name, err)
				}
			}
			if err := WriteRejects(io.Discard, tb, r.Errors); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("name,lon,lat\na,114.1,22.5\n"))
	f.Add([]byte("\ufeff普查编号,名称,风险类别,风险等级,经度,纬度\nR1,东门,燃气,重大,114.12,22.55\nR1,东门,燃气,重大,114.12,22.55\n"))
	f.Add([]byte("external_id,name,kind,wkt\nS1,坡,自然边坡,\"POLYGON ((114 22, 114.1 22, 114.1 22.1, 114 22))\"\n"))
	f.Add([]byte("external_id,name,kind,capacity,lon,lat\nX,a,shelter,300-1000,1e400,NaN\n\"unterminated"))
	f.Add([]byte("a\tb\n1\t2\t3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tb, err := ReadCSV(data)
		if err != nil {
			return
		}
		fuzzMap(t, tb)
	})
}

func FuzzReadGeoJSON(f *testing.F) {
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[114.1,22.5]},"properties":{"external_id":"a","name":"b","category":"gas","risk_grade":"红"}}]}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[[[[114,22],[114.1,22],[114.1,22.1],[114,22]]]]},"properties":{"name":1e999}}]}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"GeometryCollection","geometries":[]},"properties":{"a":[[[[]]]]}}]}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"LineString","coordinates":[[1,2]]},"properties":{"":null}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tb, err := ReadGeoJSON(data)
		if err != nil {
			return
		}
		fuzzMap(t, tb)
	})
}
