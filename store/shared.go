package store

import (
	"fmt"
	"strings"

	"riskmap/feature"
	"riskmap/layers"
)

// ConstraintField recovers the field from a constraint named <table>_<column>_<rule>,
// the convention of both stores' schemas. The geometry column geom is reported as
// "geometry"; a name that does not follow the convention is returned as is.
func ConstraintField(l *layers.Layer, constraint string) string {
	rest, ok := strings.CutPrefix(constraint, l.Name+"_")
	if !ok {
		return constraint
	}
	if strings.HasPrefix(rest, "geom_") {
		return "geometry"
	}
	best := ""
	for _, f := range l.Fields {
		if strings.HasPrefix(rest, f.Name+"_") && len(f.Name) > len(best) {
			best = f.Name
		}
	}
	if best == "" {
		return constraint
	}
	return best
}

// ConstraintReason words a check violation by the rule part of its name (see
// ConstraintField), the same on both stores.
func ConstraintReason(constraint string) string {
	c := constraint
	switch {
	case strings.HasSuffix(c, "_enum"):
		return "is not one of the allowed values"
	case strings.HasSuffix(c, "_range"):
		return "is outside the allowed range"
	case strings.HasSuffix(c, "_geom_lonlat"):
		return "coordinates must be longitude -180..180 and latitude -90..90 degrees (EPSG:4326)"
	case strings.HasSuffix(c, "_geom_valid"):
		return "is not a valid geometry"
	case strings.HasSuffix(c, "_geom_empty"):
		return "is empty"
	case strings.HasSuffix(c, "_geom_type"):
		return "geometry type is not accepted by this layer"
	case strings.HasSuffix(c, "_length"):
		return "must be 1 to 64 characters"
	}
	return fmt.Sprintf("violates %s", c)
}

// PrepareBulk checks the rows of a bulk load of layer l before anything is written,
// the same way on both stores: each row belongs to l, every row has an id or none
// has (explicitIDs says which), each row passes prepare (its error is wrapped with
// the row's position and external id), and no external_id occurs twice (a
// *ConflictError naming both rows). It returns the prepared rows in order.
func PrepareBulk[P any](store string, l *layers.Layer, fs []feature.Feature, prepare func(feature.Feature) (P, error)) (rows []P, explicitIDs bool, err error) {
	if len(fs) == 0 {
		return nil, false, nil
	}
	explicitIDs = fs[0].ID != 0
	rows = make([]P, len(fs))
	extRow := make(map[any]int, len(fs))
	for i, f := range fs {
		if f.Layer != "" && f.Layer != l.Name {
			return nil, false, fmt.Errorf("%s: bulk load %s: row %d belongs to layer %s", store, l.Name, i, f.Layer)
		}
		if (f.ID != 0) != explicitIDs {
			return nil, false, fmt.Errorf("%s: bulk load %s: row %d: either every row has an id or none has", store, l.Name, i)
		}
		p, err := prepare(f)
		if err != nil {
			return nil, false, fmt.Errorf("%s row %d (external_id %v): %w", l.Name, i, f.Props["external_id"], err)
		}
		ext := f.Props["external_id"]
		if first, dup := extRow[ext]; dup {
			return nil, false, fmt.Errorf("%s row %d: %w", l.Name, i, &ConflictError{Layer: l.Name, Field: "external_id",
				Value: fmt.Sprintf("%v (also row %d)", ext, first)})
		}
		extRow[ext] = i
		rows[i] = p
	}
	return rows, explicitIDs, nil
}
