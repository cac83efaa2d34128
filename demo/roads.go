package demo

import (
	"hash/fnv"
	"math"
	"sort"

	"github.com/paulmach/orb"

	"riskmap/geo"
)

// road is one real road name with its way centroids chained into a line.
type road struct {
	name    string
	highway string
	lengthM float64 // sum of the OSM way lengths, meters
	parts   []orb.LineString
}

// geometry is the road's line, LineString or MultiLineString.
func (r road) geometry() orb.Geometry {
	if len(r.parts) == 1 {
		return r.parts[0]
	}
	return orb.MultiLineString(r.parts)
}

// buildRoads turns way centroids into road lines inside the boundary. A road with
// several centroids is chained in order along its main direction (the principal axis
// of its centroids) and extended past the end centroids by half the end way's length;
// a road with one centroid becomes a gently bent line of its way length through the
// centroid, in a direction fixed by its name. Pieces that would leave the district are
// cut off, so every line lies inside the boundary.
func buildRoads(cs []RoadCentroid, boundary orb.Polygon) []road {
	byName := map[string][]RoadCentroid{}
	var names []string
	for _, c := range cs {
		if _, ok := byName[c.Name]; !ok {
			names = append(names, c.Name)
		}
		byName[c.Name] = append(byName[c.Name], c)
	}
	var out []road
	for _, name := range names {
		group := byName[name]
		r := road{name: name, highway: group[0].Highway}
		for _, c := range group {
			r.lengthM += c.LengthM
		}
		var line orb.LineString
		if len(group) == 1 {
			line = bentLine(group[0], nameAngle(name))
		} else {
			line = chain(group)
		}
		r.parts = clipInside(line, boundary)
		if len(r.parts) > 0 {
			out = append(out, r)
		}
	}
	return out
}

// nameAngle is a direction in degrees (0..180) derived from a road name.
func nameAngle(name string) float64 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return float64(h.Sum32() % 180)
}

// bentLine is a five-vertex line of the way's length (at least 200 m) through c,
// turning slightly at each vertex so that it reads as a street, not a ruler stroke.
func bentLine(c RoadCentroid, azimuth float64) orb.LineString {
	length := math.Max(c.LengthM, 200)
	step := length / 4
	line := orb.LineString{c.Point}
	// Walk two steps each way from the centroid, bending 4° per vertex.
	fwd, back := c.Point, c.Point
	for i := 1; i <= 2; i++ {
		fwd = geo.Destination(fwd, azimuth+4*float64(i), step)
		back = geo.Destination(back, azimuth+180-4*float64(i), step)
		line = append(orb.LineString{round7(back)}, line...)
		line = append(line, round7(fwd))
	}
	return line
}

// chain orders centroids along their principal axis and extends both ends.
func chain(group []RoadCentroid) orb.LineString {
	var mx, my float64
	for _, c := range group {
		mx += c.Point[0]
		my += c.Point[1]
	}
	mx /= float64(len(group))
	my /= float64(len(group))
	// Principal axis of the centroids in local meters.
	var sxx, sxy, syy float64
	for _, c := range group {
		dx := (c.Point[0] - mx) * metersPerDegLon
		dy := (c.Point[1] - my) * metersPerDegLat
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	theta := 0.5 * math.Atan2(2*sxy, sxx-syy)
	ux, uy := math.Cos(theta), math.Sin(theta)
	sorted := append([]RoadCentroid(nil), group...)
	proj := func(c RoadCentroid) float64 {
		return (c.Point[0]-mx)*metersPerDegLon*ux + (c.Point[1]-my)*metersPerDegLat*uy
	}
	sort.SliceStable(sorted, func(i, j int) bool { return proj(sorted[i]) < proj(sorted[j]) })
	var line orb.LineString
	for _, c := range sorted {
		if len(line) > 0 && line[len(line)-1] == c.Point {
			continue
		}
		line = append(line, c.Point)
	}
	if len(line) < 2 {
		return bentLine(sorted[0], nameAngle(sorted[0].Name))
	}
	// Extend past each end centroid by half its way's length, along the end segment.
	first, last := sorted[0], sorted[len(sorted)-1]
	_, azStart, _ := geo.Inverse(line[1], line[0])
	_, azEnd, _ := geo.Inverse(line[len(line)-2], line[len(line)-1])
	head := round7(geo.Destination(line[0], azStart, math.Max(first.LengthM/2, 30)))
	tail := round7(geo.Destination(line[len(line)-1], azEnd, math.Max(last.LengthM/2, 30)))
	return append(append(orb.LineString{head}, line...), tail)
}

// clipInside keeps the runs of consecutive segments of line that lie inside the
// boundary; each run of at least one segment becomes a part.
func clipInside(line orb.LineString, boundary orb.Polygon) []orb.LineString {
	var parts []orb.LineString
	var cur orb.LineString
	for i := 0; i+1 < len(line); i++ {
		seg := orb.LineString{line[i], line[i+1]}
		if geo.PolygonCoversLine(boundary, seg) {
			if len(cur) == 0 {
				cur = append(cur, line[i])
			}
			cur = append(cur, line[i+1])
			continue
		}
		if len(cur) >= 2 {
			parts = append(parts, cur)
		}
		cur = nil
	}
	if len(cur) >= 2 {
		parts = append(parts, cur)
	}
	return parts
}

// pointAlong returns the point at fraction t (0..1) of the road's total length.
func (r road) pointAlong(t float64) orb.Point {
	total := 0.0
	for _, p := range r.parts {
		total += lineLength(p)
	}
	want := t * total
	for _, p := range r.parts {
		for i := 0; i+1 < len(p); i++ {
			d := geo.Distance(p[i], p[i+1])
			if want <= d {
				_, az, _ := geo.Inverse(p[i], p[i+1])
				return geo.Destination(p[i], az, want)
			}
			want -= d
		}
	}
	last := r.parts[len(r.parts)-1]
	return last[len(last)-1]
}

func lineLength(l orb.LineString) float64 {
	total := 0.0
	for i := 0; i+1 < len(l); i++ {
		total += geo.Distance(l[i], l[i+1])
	}
	return total
}
