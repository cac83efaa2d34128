package tiles

import (
	"math"

	"github.com/paulmach/orb"

	"riskmap/geo"
	"riskmap/index"
)

// Extent is the size of a tile in tile units (MVT 2.1's default).
const Extent = 4096

// MaxZoom is the highest zoom served.
const MaxZoom = 22

// maxLat is the latitude where the square Web Mercator world ends, degrees.
const maxLat = index.MaxMercatorLat

// CRS is the coordinate system tiles are drawn in.
type CRS uint8

// Coordinate systems of tiles.
const (
	WGS84 CRS = iota // geometry as stored: for OpenStreetMap-like basemaps
	GCJ02            // offset to GCJ-02: lines up on AMap and Tencent basemaps
)

// String returns the CRS's query-parameter value.
func (c CRS) String() string {
	if c == GCJ02 {
		return "gcj02"
	}
	return "wgs84"
}

// Coord addresses a tile: zoom, column (from the west), row (from the north).
type Coord struct {
	Z, X, Y uint32
}

// Valid reports whether z ≤ MaxZoom and x, y are inside the zoom's grid.
func (c Coord) Valid() bool {
	return c.Z <= MaxZoom && uint64(c.X) < 1<<c.Z && uint64(c.Y) < 1<<c.Z
}

// projection maps lon/lat degrees to tile units of one tile.
type projection struct {
	scale  float64 // tile units per world width at this zoom
	x0, y0 float64 // the tile's north-west corner, in world tile units
	crs    CRS
}

func newProjection(c Coord, crs CRS) projection {
	return projection{
		scale: float64(uint64(1)<<c.Z) * Extent,
		x0:    float64(c.X) * Extent,
		y0:    float64(c.Y) * Extent,
		crs:   crs,
	}
}

// project returns p (WGS84 lon/lat) in the tile's units, as floats.
func (pr *projection) project(p orb.Point) (float64, float64) {
	if pr.crs == GCJ02 {
		p = geo.WGS84ToGCJ02(p)
	}
	return pr.fromMercator(index.Mercator(p))
}

// fromMercator returns a position given in Web Mercator scaled to the world square
// (index.Mercator) in the tile's units. scale is a power of two, so the products
// are exact: a position projected once per record (index.Record.MercatorPoint)
// lands where project puts it, to the bit.
func (pr *projection) fromMercator(x, y float64) (float64, float64) {
	return x*pr.scale - pr.x0, y*pr.scale - pr.y0
}

// unproject returns the lon/lat (in the tile's CRS) of a position in tile units.
func (pr *projection) unproject(x, y float64) orb.Point {
	lon := (x+pr.x0)/pr.scale*360 - 180
	n := math.Pi * (1 - 2*(y+pr.y0)/pr.scale)
	lat := math.Atan(math.Sinh(n)) * 180 / math.Pi
	return orb.Point{lon, lat}
}

// queryBound returns the WGS84 lon/lat bound holding every point that projects into
// the tile grown by buffer tile units on each side: what to ask the index for, and
// the area whose changes make the tile stale.
func (pr *projection) queryBound(buffer float64) orb.Bound {
	lo, hi := -buffer, Extent+buffer
	nw, se := pr.unproject(lo, lo), pr.unproject(hi, hi)
	b := orb.Bound{Min: orb.Point{nw[0], se[1]}, Max: orb.Point{se[0], nw[1]}}
	if pr.crs == WGS84 {
		return clampBound(b)
	}
	// GCJ-02: the tile is laid over GCJ-02 positions; the WGS84 points that land
	// in it are those of the inverse transform. The offset (a few hundred meters)
	// varies slowly, so the inverse images of a 5×5 grid over the bound, grown by
	// 2 % of its size and 1e-5° (about a meter), hold the whole inverse image.
	out := orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}
	for i := range 5 {
		for j := range 5 {
			q := orb.Point{b.Min[0] + (b.Max[0]-b.Min[0])*float64(i)/4, b.Min[1] + (b.Max[1]-b.Min[1])*float64(j)/4}
			out = out.Extend(geo.GCJ02ToWGS84(q))
		}
	}
	mx := 0.02*(out.Max[0]-out.Min[0]) + 1e-5
	my := 0.02*(out.Max[1]-out.Min[1]) + 1e-5
	out.Min[0], out.Min[1] = out.Min[0]-mx, out.Min[1]-my
	out.Max[0], out.Max[1] = out.Max[0]+mx, out.Max[1]+my
	return clampBound(out)
}

func clampBound(b orb.Bound) orb.Bound {
	// Tiles at the top and bottom rows reach the poles' features too (they are
	// drawn at the edge); the grid's columns wrap nothing.
	if b.Max[1] >= maxLat-1e-9 {
		b.Max[1] = 90
	}
	if b.Min[1] <= -maxLat+1e-9 {
		b.Min[1] = -90
	}
	b.Min[0] = math.Max(b.Min[0], -180)
	b.Max[0] = math.Min(b.Max[0], 180)
	return b
}
