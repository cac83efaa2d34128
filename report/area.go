// Package report builds site risk reports: what lies in a circle around a site, in a
// polygon or along a route with a buffer — counts by layer and grade, by sub-district
// and responsible department, the nearest feature of each layer, the monitored objects
// in warning, and the full list — and writes them as JSON, CSV (UTF-8 with a BOM, for
// Excel), GeoJSON and a printable HTML briefing with an SVG map.
//
// It reads the in-memory index only; it never touches the network or the database.
// Coordinates are WGS84 lon/lat degrees, distances meters.
package report

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"

	"riskmap/geo"
)

// Kind is the shape of the area a report covers.
type Kind string

// The kinds of area.
const (
	KindCircle  Kind = "circle"
	KindPolygon Kind = "polygon"
	KindRoute   Kind = "route"
)

// Area is the site a report covers, in WGS84 lon/lat degrees. Build it with Circle,
// Polygon or Route; the Area owns its geometry (the constructors clone theirs).
type Area struct {
	Kind Kind
	// Center is the circle's center; for a polygon or route, the center of its bounds
	// (where the briefing's map is centered).
	Center orb.Point
	// RadiusM is the circle's radius in meters.
	RadiusM float64
	// BufferM is the distance in meters around a route.
	BufferM float64
	// Route is the route line (KindRoute).
	Route orb.LineString
	// Polygon is the area (KindPolygon): straight edges in lon/lat, as GeoJSON.
	Polygon orb.MultiPolygon
}

// Circle is the area within radiusM meters (geodesic) of center.
func Circle(center orb.Point, radiusM float64) Area {
	return Area{Kind: KindCircle, Center: center, RadiusM: radiusM}
}

// Polygon is the area of mp (features intersecting it are in the report). mp must be
// valid (index.ValidatePolygon).
func Polygon(mp orb.MultiPolygon) Area {
	mp = mp.Clone()
	return Area{Kind: KindPolygon, Center: mp.Bound().Center(), Polygon: mp}
}

// Route is the area within bufferM meters of the line.
func Route(line orb.LineString, bufferM float64) Area {
	line = line.Clone()
	return Area{Kind: KindRoute, Center: line.Bound().Center(), Route: line, BufferM: bufferM}
}

// Geometry is the query geometry: the circle's center point, the route line or the
// polygon. The caller must not modify it.
func (a Area) Geometry() orb.Geometry {
	switch a.Kind {
	case KindRoute:
		return a.Route
	case KindPolygon:
		if len(a.Polygon) == 1 {
			return a.Polygon[0]
		}
		return a.Polygon
	}
	return a.Center
}

// LengthM is a route's geodesic length in meters (0 for other kinds).
func (a Area) LengthM() float64 {
	var l float64
	for i := 1; i < len(a.Route); i++ {
		l += geo.Distance(a.Route[i-1], a.Route[i])
	}
	return l
}

// AreaM2 is the area covered in square meters: πr² for a circle (exact enough for a
// radius of kilometers), the spherical area of a polygon (orb/geo.Area: within about
// 0.5 % of the ellipsoidal area at Shenzhen's latitude), and 2·buffer·length + π·buffer²
// for a route (exact for a straight route; an upper bound when it bends back on
// itself).
func (a Area) AreaM2() float64 {
	switch a.Kind {
	case KindCircle:
		return math.Pi * a.RadiusM * a.RadiusM
	case KindPolygon:
		var s float64
		for _, p := range a.Polygon {
			s += math.Abs(orbgeo.Area(p))
		}
		return s
	case KindRoute:
		return 2*a.BufferM*a.LengthM() + math.Pi*a.BufferM*a.BufferM
	}
	return 0
}

// Outline is the area's boundary as a polygon to draw: the circle with n vertices
// along geodesics from the center, the polygon itself; a route has none (ok false:
// draw the line with its buffer as width).
func (a Area) Outline(n int) (orb.MultiPolygon, bool) {
	switch a.Kind {
	case KindCircle:
		ring := make(orb.Ring, 0, n+1)
		for i := range n {
			ring = append(ring, geo.Destination(a.Center, 360*float64(i)/float64(n), a.RadiusM))
		}
		ring = append(ring, ring[0])
		return orb.MultiPolygon{{ring}}, true
	case KindPolygon:
		return a.Polygon, true
	}
	return nil, false
}

// describe is a one-line description of the area for titles, in the language lang
// ("zh" or "en").
func (a Area) describe(lang string) string {
	zh := lang != "en"
	switch a.Kind {
	case KindCircle:
		if zh {
			return fmt.Sprintf("以 %.6f, %.6f 为中心、半径 %s 米范围", a.Center[0], a.Center[1], meters(a.RadiusM))
		}
		return fmt.Sprintf("within %s m of %.6f, %.6f", meters(a.RadiusM), a.Center[0], a.Center[1])
	case KindRoute:
		if zh {
			return fmt.Sprintf("长 %s 米路线两侧 %s 米范围", meters(a.LengthM()), meters(a.BufferM))
		}
		return fmt.Sprintf("within %s m of a route %s m long", meters(a.BufferM), meters(a.LengthM()))
	}
	if zh {
		return fmt.Sprintf("面积 %s 平方米的多边形范围", meters(a.AreaM2()))
	}
	return fmt.Sprintf("a polygon of %s m²", meters(a.AreaM2()))
}

// meters formats a length or area rounded to a whole number (a tenth below 10).
func meters(x float64) string {
	if math.Abs(x) < 10 {
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.0f", x)
}
