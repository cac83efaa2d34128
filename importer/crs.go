package importer

import (
	"fmt"
	"strings"

	"github.com/paulmach/orb"

	"riskmap/geo"
)

// CRS is the coordinate system of the input's lon/lat degrees.
type CRS string

// Input coordinate systems. CGCS2000 (EPSG:4490) is taken as WGS84 (EPSG:4326):
// the two differ by centimetres, far below census accuracy. GCJ-02 (AMap,
// Tencent) and BD-09 (Baidu) are converted back to WGS84 by package geo.
const (
	WGS84    CRS = "wgs84"
	CGCS2000 CRS = "cgcs2000"
	GCJ02    CRS = "gcj02"
	BD09     CRS = "bd09"
)

// ErrUnknownCRS is returned (wrapped) for a CRS name ParseCRS does not know.
var ErrUnknownCRS = fmt.Errorf("unknown coordinate system")

// ParseCRS reads a CRS name: wgs84, cgcs2000, gcj02 or bd09 (case-insensitive;
// EPSG:4326 and EPSG:4490 are accepted too).
func ParseCRS(s string) (CRS, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "wgs84", "epsg:4326", "4326", "crs84":
		return WGS84, nil
	case "cgcs2000", "epsg:4490", "4490":
		return CGCS2000, nil
	case "gcj02", "gcj-02":
		return GCJ02, nil
	case "bd09", "bd-09":
		return BD09, nil
	}
	return "", fmt.Errorf("%w %q: use wgs84, cgcs2000, gcj02 or bd09", ErrUnknownCRS, s)
}

// point returns the function taking a point of c to WGS84 lon/lat degrees.
func (c CRS) point() func(orb.Point) orb.Point {
	switch c {
	case GCJ02:
		return geo.GCJ02ToWGS84
	case BD09:
		return geo.BD09ToWGS84
	}
	return nil
}

// toWGS84 converts g, in c, to WGS84 in place and returns it.
func (c CRS) toWGS84(g orb.Geometry) orb.Geometry {
	f := c.point()
	if f == nil || g == nil {
		return g
	}
	conv := func(ps []orb.Point) {
		for i := range ps {
			ps[i] = f(ps[i])
		}
	}
	switch v := g.(type) {
	case orb.Point:
		return f(v)
	case orb.MultiPoint:
		conv(v)
	case orb.LineString:
		conv(v)
	case orb.MultiLineString:
		for _, l := range v {
			conv(l)
		}
	case orb.Polygon:
		for _, r := range v {
			conv(r)
		}
	case orb.MultiPolygon:
		for _, p := range v {
			for _, r := range p {
				conv(r)
			}
		}
	case orb.Ring:
		conv(v)
	}
	return g
}
