package report

import (
	"github.com/paulmach/orb"

	"riskmap/index"
)

// position is where a feature is listed and drawn as a dot: a point itself, otherwise
// the center of its bounds (WGS84 degrees).
func position(rec *index.Record) orb.Point {
	if p, ok := rec.Geometry.(orb.Point); ok {
		return p
	}
	return rec.Bound.Center()
}
