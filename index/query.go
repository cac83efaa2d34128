package index

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/paulmach/orb"

	"riskmap/geo"
)

// Hit is a query result: the record and its distance in meters from the query
// geometry (0 for polygon and bbox queries).
type Hit struct {
	Rec      *Record
	Distance float64
}

// Lower bounds of the length of one degree on WGS84, in meters: of latitude (the
// meridian degree is shortest at the equator) and of longitude at the equator (the
// parallel degree there times cos(latitude) elsewhere).
const (
	degLatMin = 110574.0
	degLonEq  = 111319.0
	// lbFactor keeps lowerBound below the ellipsoidal distance for the distances the
	// API allows (radius ≤ 50 km, and kNN within a district), with a wide margin.
	lbFactor = 0.995
)

// origin is a query point with the cosine of its latitude widened by cosMargin
// degrees toward the pole, computed once per query: boxes whose nearest latitude is
// within cosMargin of the point reuse it; others compute their own.
type origin struct {
	p      orb.Point
	cosMin float64
}

const cosMargin = 0.1 // degrees

func newOrigin(p orb.Point) origin {
	return origin{p: p, cosMin: math.Cos(math.Min(math.Abs(p[1])+cosMargin, 90) * math.Pi / 180)}
}

// lowerBound is a lower bound, in meters, of the geodesic distance from o.p to any
// point of the box [min, max] (lon/lat degrees): the degree offsets times the
// shortest lengths a degree of latitude and of longitude can have between the two
// latitudes. It lets a search rank candidates cheaply and compute the exact geodesic
// only for the few that matter, without ever missing a nearer one.
func lowerBound(o origin, min, max [2]float64) float64 {
	p := o.p
	var dlon, dlat float64
	switch {
	case p[0] < min[0]:
		dlon = min[0] - p[0]
	case p[0] > max[0]:
		dlon = p[0] - max[0]
	}
	if dlon > 180 {
		dlon = 360 - dlon
	}
	q := p[1]
	switch {
	case p[1] < min[1]:
		dlat, q = min[1]-p[1], min[1]
	case p[1] > max[1]:
		dlat, q = p[1]-max[1], max[1]
	}
	c := o.cosMin
	if dlat > cosMargin {
		c = math.Cos(math.Max(math.Abs(p[1]), math.Abs(q)) * math.Pi / 180)
	}
	x := dlon * degLonEq * c
	y := dlat * degLatMin
	return lbFactor * math.Sqrt(x*x+y*y)
}

// expand returns the box around b that holds every point within r meters of b.
func expand(b orb.Bound, r float64) orb.Bound {
	dlat := r/(degLatMin*lbFactor) + 1e-9
	phi := math.Min(math.Max(math.Abs(b.Min[1]), math.Abs(b.Max[1]))+dlat, 89.9) * math.Pi / 180
	dlon := r/(degLonEq*lbFactor*math.Cos(phi)) + 1e-9
	return orb.Bound{
		Min: orb.Point{b.Min[0] - dlon, math.Max(b.Min[1]-dlat, -90)},
		Max: orb.Point{b.Max[0] + dlon, math.Min(b.Max[1]+dlat, 90)},
	}
}

// distanceTo is the geodesic distance in meters from p to the record's geometry.
func distanceTo(p orb.Point, r *Record) float64 {
	if q, ok := r.Geometry.(orb.Point); ok {
		return geo.Distance(p, q)
	}
	return geo.DistanceToGeometry(p, r.Geometry)
}

// pointOrGeometryDistance is distanceTo(p, r) for a record whose bounds in the tree
// are [min, max]: when they are a single point, every point of the geometry is that
// point, and the distance is computed without reading the record (a cache miss saved
// per candidate).
func pointOrGeometryDistance(p orb.Point, min, max [2]float64, r *Record) float64 {
	if min == max {
		return geo.Distance(p, min)
	}
	return distanceTo(p, r)
}

// less orders hits by distance, then layer (registry order), then id.
func (ix *Index) less(a, b Hit) int {
	if c := cmp.Compare(a.Distance, b.Distance); c != 0 {
		return c
	}
	if a.Rec.rank != b.Rec.rank {
		return int(a.Rec.rank) - int(b.Rec.rank)
	}
	return cmp.Compare(a.Rec.ID, b.Rec.ID)
}

// Nearest returns the k features nearest p (k ≥ 1) that pass f, nearest first, with
// their distance in meters to the feature's nearest point. maxDist < 0 means no
// maximum distance; otherwise features farther than maxDist meters are left out.
//
// It searches a box around p that grows until it holds k features no farther than
// the box's radius: every feature within radius r has a lower bound ≤ r and lies in
// the box, so the k nearest found inside are the k nearest overall. Inside, the
// candidates are ranked by their cheap lower bound and exact geodesics are computed
// only until the k-th best is nearer than the next bound.
func (ix *Index) Nearest(p orb.Point, k int, maxDist float64, f Filter) []Hit {
	if k <= 0 {
		return nil
	}
	o := newOrigin(p)
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var selBuf [8]*layerIndex
	sel := ix.selectedInto(selBuf[:0], &f)
	// Start with the radius that would hold about k/4 features at the selected
	// layers' mean density, and the largest radius that can matter.
	n, extent := 0, orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}
	for _, li := range sel {
		if li.tree.Len() == 0 {
			continue
		}
		n += li.tree.Len()
		mn, mx := li.tree.Bounds()
		extent = extent.Union(orb.Bound{Min: mn, Max: mx})
	}
	if n == 0 {
		return nil
	}
	// far: beyond every feature (an upper bound: a degree is at most 111,700 m).
	dlon := math.Max(math.Abs(p[0]-extent.Min[0]), math.Abs(p[0]-extent.Max[0]))
	dlat := math.Max(math.Abs(p[1]-extent.Min[1]), math.Abs(p[1]-extent.Max[1]))
	far := math.Min(1.01*111_700*math.Hypot(dlon, dlat), 20_100_000) + 1
	if maxDist >= 0 && maxDist < far {
		far = maxDist
	}
	area := math.Max((extent.Max[0]-extent.Min[0])*degLonEq*o.cosMin*(extent.Max[1]-extent.Min[1])*degLatMin, 1)
	r := math.Min(math.Max(math.Sqrt(float64(k)*area/(4*math.Pi*float64(n))), 10), far)

	buf := ix.cands.Get().(*[]candidate)
	cands := (*buf)[:0]
	defer func() { *buf = cands[:0]; ix.cands.Put(buf) }()
	best := make([]Hit, 0, k)
	attrs := f.hasAttrs()
	for tries := 0; ; {
		cands = cands[:0]
		box := expand(orb.Bound{Min: p, Max: p}, r)
		for _, li := range sel {
			li.tree.Search(box.Min, box.Max, func(min, max [2]float64, rec *Record) bool {
				if lb := lowerBound(o, min, max); lb <= r && (!attrs || f.matchAttrs(rec)) {
					cands = append(cands, candidate{rec, lb, min, max})
				}
				return true
			})
		}
		slices.SortFunc(cands, func(a, b candidate) int { return cmp.Compare(a.lb, b.lb) })
		best = best[:0]
		for _, c := range cands {
			if len(best) == k && c.lb > best[k-1].Distance {
				break // every later candidate is at least c.lb away
			}
			d := pointOrGeometryDistance(p, c.min, c.max, c.rec)
			if d > r {
				continue
			}
			h := Hit{c.rec, d}
			if len(best) == k {
				if ix.less(h, best[k-1]) >= 0 {
					continue
				}
				best = best[:k-1]
			}
			i, _ := slices.BinarySearchFunc(best, h, ix.less)
			best = slices.Insert(best, i, h)
		}
		if len(best) == k || r >= far {
			return best
		}
		tries++
		if tries == 2 {
			// Sparse around p (the district's edge, open country): a growing box
			// would gather too much; walk the tree nearest-first instead.
			return ix.nearestWalk(o, sel, k, maxDist, &f)
		}
		// Grow toward the radius that should hold k at the density seen so far.
		grow := math.Sqrt(1.5 * float64(k) / math.Max(float64(len(best)), 0.5))
		r = math.Min(r*math.Min(math.Max(grow, 1.5), 4), far)
	}
}

// nearestWalk is Nearest by the R-tree's nearest-first traversal, ranked by the
// same lower bound, computing exact distances as candidates come. It costs more
// than the box search where features are dense, but does not depend on density.
// Callers hold the read lock.
func (ix *Index) nearestWalk(o origin, sel []*layerIndex, k int, maxDist float64, f *Filter) []Hit {
	best := make([]Hit, 0, k)
	attrs := f.hasAttrs()
	for _, li := range sel {
		li.tree.Nearby(
			func(min, max [2]float64, _ *Record, _ bool) float64 { return lowerBound(o, min, max) },
			func(min, max [2]float64, r *Record, lb float64) bool {
				if len(best) == k && lb > best[k-1].Distance || maxDist >= 0 && lb > maxDist {
					return false // every later candidate is at least lb away
				}
				if attrs && !f.matchAttrs(r) {
					return true
				}
				d := pointOrGeometryDistance(o.p, min, max, r)
				if maxDist >= 0 && d > maxDist {
					return true
				}
				h := Hit{r, d}
				if len(best) == k {
					if ix.less(h, best[k-1]) >= 0 {
						return true
					}
					best = best[:k-1]
				}
				i, _ := slices.BinarySearchFunc(best, h, ix.less)
				best = slices.Insert(best, i, h)
				return true
			})
	}
	return best
}

// candidate is a record with a lower bound of its distance, meters, and its bounds
// as the tree holds them (see pointOrGeometryDistance).
type candidate struct {
	rec      *Record
	lb       float64
	min, max [2]float64
}

// Radius returns every feature within r meters of p that passes f, nearest first.
func (ix *Index) Radius(p orb.Point, r float64, f Filter) []Hit {
	o := newOrigin(p)
	box := expand(orb.Bound{Min: p, Max: p}, r)
	var hits []Hit
	attrs := f.hasAttrs()
	ix.mu.RLock()
	for _, li := range ix.selected(&f) {
		li.tree.Search(box.Min, box.Max, func(min, max [2]float64, rec *Record) bool {
			if lowerBound(o, min, max) > r || attrs && !f.matchAttrs(rec) {
				return true
			}
			if d := pointOrGeometryDistance(p, min, max, rec); d <= r {
				hits = append(hits, Hit{rec, d})
			}
			return true
		})
	}
	ix.mu.RUnlock()
	slices.SortFunc(hits, ix.less)
	return hits
}

// Along returns every feature within buffer meters of the route (a line in lon/lat
// degrees, edges taken as geodesics like PostGIS geography) that passes f, nearest to
// the route first.
func (ix *Index) Along(route orb.LineString, buffer float64, f Filter) []Hit {
	seen := map[*Record]struct{}{}
	var hits []Hit
	ix.mu.RLock()
	for _, li := range ix.selected(&f) {
		for i := range max(len(route)-1, 1) {
			seg := orb.LineString{route[i], route[min(i+1, len(route)-1)]}
			box := expand(seg.Bound(), buffer)
			li.tree.Search(box.Min, box.Max, func(_, _ [2]float64, rec *Record) bool {
				if _, dup := seen[rec]; dup || !f.matchAttrs(rec) {
					return true
				}
				seen[rec] = struct{}{}
				if d := geo.GeometryDistance(route, rec.Geometry); d <= buffer {
					hits = append(hits, Hit{rec, d})
				}
				return true
			})
		}
	}
	ix.mu.RUnlock()
	slices.SortFunc(hits, ix.less)
	return hits
}

// InPolygon returns the features that pass f and intersect mp (or, with within, lie
// inside it, boundary included), by layer and id. Polygon edges are straight lines in
// lon/lat, as GeoJSON defines them, so answers match PostGIS ST_Intersects /
// ST_CoveredBy on geometry. mp must be valid (see ValidatePolygon).
func (ix *Index) InPolygon(mp orb.MultiPolygon, within bool, f Filter) []Hit {
	b := mp.Bound()
	var hits []Hit
	ix.mu.RLock()
	for _, li := range ix.selected(&f) {
		li.tree.Search(b.Min, b.Max, func(_, _ [2]float64, rec *Record) bool {
			if !f.matchAttrs(rec) {
				return true
			}
			if within && covers(mp, rec.Geometry) || !within && intersects(mp, rec.Geometry) {
				hits = append(hits, Hit{Rec: rec})
			}
			return true
		})
	}
	ix.mu.RUnlock()
	slices.SortFunc(hits, ix.less)
	return hits
}

// BBox returns the features that pass f and whose bounds intersect b, by layer and id.
func (ix *Index) BBox(b orb.Bound, f Filter) []Hit {
	var hits []Hit
	ix.mu.RLock()
	for _, li := range ix.selected(&f) {
		li.tree.Search(b.Min, b.Max, func(_, _ [2]float64, rec *Record) bool {
			if f.matchAttrs(rec) {
				hits = append(hits, Hit{Rec: rec})
			}
			return true
		})
	}
	ix.mu.RUnlock()
	slices.SortFunc(hits, ix.less)
	return hits
}

// SearchHit is a text-search result with its score (higher is better).
type SearchHit struct {
	Rec   *Record
	Score int
}

// Search finds features whose name, address or external id contains q
// (case-insensitive), best first: external id equal, name equal, name starting with
// q, name containing q, external id containing q, address containing q. At most
// limit hits.
func (ix *Index) Search(q string, limit int, f Filter) []SearchHit {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" || limit <= 0 {
		return nil
	}
	var hits []SearchHit
	ix.mu.RLock()
	for _, li := range ix.selected(&f) {
		for _, r := range li.byID {
			if !containsFold(r.Name, q) && !containsFold(r.Address, q) && !containsFold(r.ExternalID, q) || !f.matchAttrs(r) {
				continue
			}
			name := strings.ToLower(r.Name)
			ext := strings.ToLower(r.ExternalID)
			score := 10
			switch {
			case ext == q:
				score = 100
			case name == q:
				score = 90
			case strings.HasPrefix(name, q):
				score = 70
			case strings.Contains(name, q):
				score = 50
			case strings.Contains(ext, q):
				score = 30
			}
			hits = append(hits, SearchHit{r, score})
		}
	}
	ix.mu.RUnlock()
	slices.SortFunc(hits, func(a, b SearchHit) int {
		if a.Score != b.Score {
			return b.Score - a.Score
		}
		if c := cmp.Compare(len(a.Rec.Name), len(b.Rec.Name)); c != 0 {
			return c // shorter names first: closer to the query
		}
		return ix.less(Hit{Rec: a.Rec}, Hit{Rec: b.Rec})
	})
	if len(hits) > limit {
		hits = hits[:limit]
	}
	return hits
}

// containsFold reports whether s contains q, ignoring case; q is lower case.
func containsFold(s, q string) bool {
	if strings.Contains(s, q) {
		return true
	}
	for i := 0; i+len(q) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(q)], q) {
			return true
		}
	}
	return false
}
