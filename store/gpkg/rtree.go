package gpkg

import (
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"math"

	"modernc.org/sqlite"

	"riskmap/store/geomconv"
)

// The GeoPackage R-tree spatial index extension (gpkg_rtree_index, OGC 12-128r18
// annex F.3) keeps one SQLite R-tree per layer in step with the layer through
// triggers, which QGIS and GDAL use to read a map window without scanning the table.
// The triggers call ST_MinX, ST_MaxX, ST_MinY, ST_MaxY and ST_IsEmpty on GeoPackage
// geometries: every program that writes the file must provide them (GDAL does).
// They are registered once, on the driver, for every connection it opens — the
// driver has no per-connection registration; the functions hold no state.
func init() {
	for name, fn := range map[string]func(env [4]float64) float64{
		"ST_MinX": func(e [4]float64) float64 { return e[0] },
		"ST_MaxX": func(e [4]float64) float64 { return e[1] },
		"ST_MinY": func(e [4]float64) float64 { return e[2] },
		"ST_MaxY": func(e [4]float64) float64 { return e[3] },
	} {
		sqlite.MustRegisterDeterministicScalarFunction(name, 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			b, ok := args[0].([]byte)
			if !ok {
				return nil, nil // NULL (or not a geometry): no extent
			}
			env, empty, err := envelope(b)
			if err != nil || empty {
				return nil, err
			}
			return fn(env), nil
		})
	}
	sqlite.MustRegisterDeterministicScalarFunction("ST_IsEmpty", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		b, ok := args[0].([]byte)
		if !ok {
			return nil, nil
		}
		_, empty, err := envelope(b)
		if err != nil {
			return nil, err
		}
		return empty, nil
	})
}

var errNotGPKG = errors.New("not a GeoPackage geometry")

// envelope reads a GeoPackage geometry's extent [minx, maxx, miny, maxy]: from its
// header when it has one, from the WKB of a point directly, else by decoding it.
func envelope(b []byte) (env [4]float64, empty bool, err error) {
	if len(b) < 8 || b[0] != 'G' || b[1] != 'P' {
		return env, false, errNotGPKG
	}
	flags := b[3]
	if flags&0x10 != 0 {
		return env, true, nil
	}
	var order binary.ByteOrder = binary.BigEndian
	if flags&0x01 != 0 {
		order = binary.LittleEndian
	}
	if e := (flags >> 1) & 0x07; e >= 1 && e <= 4 && len(b) >= 40 {
		for i := range env {
			env[i] = math.Float64frombits(order.Uint64(b[8+8*i:]))
		}
		return env, false, nil
	}
	// A point without an envelope (how points are written): its WKB is
	// byte order, type 1, x, y.
	if w := b[8:]; len(w) == 21 && flags&0x0e == 0 {
		var wo binary.ByteOrder = binary.BigEndian
		if w[0] == 1 {
			wo = binary.LittleEndian
		}
		if wo.Uint32(w[1:]) == 1 {
			x, y := math.Float64frombits(wo.Uint64(w[5:])), math.Float64frombits(wo.Uint64(w[13:]))
			if math.IsNaN(x) && math.IsNaN(y) {
				return env, true, nil // the WKB encoding of POINT EMPTY
			}
			return [4]float64{x, x, y, y}, false, nil
		}
	}
	g, err := geomconv.DecodeGPKG(b)
	if err != nil {
		return env, false, err
	}
	bd := g.Bound()
	return [4]float64{bd.Min[0], bd.Max[0], bd.Min[1], bd.Max[1]}, false, nil
}
