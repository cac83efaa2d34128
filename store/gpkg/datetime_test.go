package gpkg

import (
	"context"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/store"
)

// TestDatetimesAreGeoPackageForm: every DATETIME a feature write, a sensor state
// patch, a delete or the status history leaves in the tables GDAL reads is in the
// standard's form, "YYYY-MM-DDTHH:MM:SS.SSSZ".
func TestDatetimesAreGeoPackageForm(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "dt.gpkg"), layers.New())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	spot, err := s.Upsert(ctx, feature.Feature{Layer: layers.WaterloggingSpots, Geometry: orb.Point{114.1, 22.5},
		Props: map[string]any{"external_id": "W1", "name": "下穿通道", "kind": "underpass"}}, store.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplySensorState(ctx, []store.FieldPatch{{Layer: layers.WaterloggingSpots, FeatureID: spot.ID,
		Fields: []string{"current_depth_cm"}, Values: []any{42.0}}}, nil); err != nil {
		t.Fatal(err)
	}
	rp, err := s.Upsert(ctx, feature.Feature{Layer: layers.RiskPoints, Geometry: orb.Point{114.1, 22.5},
		Props: map[string]any{"external_id": "R1", "name": "n", "category": "fire", "risk_grade": "low"}}, store.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, layers.RiskPoints, rp.ID, store.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	form := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	for _, q := range []string{
		// CAST: an expression has no declared type, so the driver hands over the
		// stored text instead of parsing a DATETIME column into a time.
		"SELECT CAST(updated_at AS TEXT) FROM waterlogging_spots",
		"SELECT CAST(changed_at AS TEXT) FROM changes",
		"SELECT CAST(changed_at AS TEXT) FROM risk_point_status_history",
		"SELECT CAST(last_change AS TEXT) FROM gpkg_contents",
	} {
		rows, err := s.r.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var v []byte
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			if !form.Match(v) {
				t.Errorf("%s: %q is not a GeoPackage DATETIME", q, v)
			}
			n++
		}
		rows.Close()
		if n == 0 {
			t.Errorf("%s: no rows", q)
		}
	}
}
