package httpapi

import (
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"riskmap/index"
)

// Limits of the proximity API.
const (
	MaxRadius  = 50_000.0 // meters
	MaxK       = 1000
	MaxBodyLen = 1 << 20 // bytes of a POST body
	MaxLimit   = 100_000 // features in one response
)

// query wraps URL parameters: it rejects names the route does not know and
// parameters given twice, and parses numbers with errors that name the parameter.
type query struct {
	v url.Values
}

// newQuery checks that every parameter name is one of allowed or of the filter
// grammar (when withFilter).
func newQuery(v url.Values, withFilter bool, allowed ...string) (*query, error) {
	var names []string
	for name := range v {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(allowed, name) && !(withFilter && index.IsFilterParam(name)) {
			known := append([]string(nil), allowed...)
			if withFilter {
				known = append(known, index.FilterParams()...)
			}
			return nil, badParam(name, "unknown parameter; this endpoint takes %s", strings.Join(known, ", "))
		}
		if len(v[name]) > 1 {
			return nil, badParam(name, "given more than once")
		}
	}
	return &query{v: v}, nil
}

func (q *query) has(name string) bool { return q.v.Has(name) }

func (q *query) float(name string) (float64, bool, error) {
	if !q.v.Has(name) {
		return 0, false, nil
	}
	s := q.v.Get(name)
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false, badParam(name, "%q is not a number", s)
	}
	return x, true, nil
}

func (q *query) int(name string, def, lo, hi int) (int, error) {
	if !q.v.Has(name) {
		return def, nil
	}
	s := q.v.Get(name)
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, badParam(name, "%q is not a whole number", s)
	}
	if n < lo || n > hi {
		return 0, badParam(name, "%d is outside %d..%d", n, lo, hi)
	}
	return n, nil
}

// point reads lon and lat (WGS84 degrees), both required.
func (q *query) point() (orb.Point, error) {
	lon, ok, err := q.float("lon")
	if err != nil {
		return orb.Point{}, err
	}
	if !ok {
		return orb.Point{}, badParam("lon", "is required (WGS84 longitude in degrees)")
	}
	lat, ok, err := q.float("lat")
	if err != nil {
		return orb.Point{}, err
	}
	if !ok {
		return orb.Point{}, badParam("lat", "is required (WGS84 latitude in degrees)")
	}
	return checkPoint(orb.Point{lon, lat}, "lon", "lat")
}

func checkPoint(p orb.Point, lonName, latName string) (orb.Point, error) {
	if !(p[0] >= -180 && p[0] <= 180) {
		return p, badParam(lonName, "longitude %v is outside -180..180 degrees", p[0])
	}
	if !(p[1] >= -90 && p[1] <= 90) {
		return p, badParam(latName, "latitude %v is outside -90..90 degrees", p[1])
	}
	return p, nil
}

// distance reads a distance in meters in (0, MaxRadius].
func (q *query) distance(name string) (float64, bool, error) {
	d, ok, err := q.float(name)
	if err != nil || !ok {
		return 0, ok, err
	}
	if err := checkDistance(name, d); err != nil {
		return 0, false, err
	}
	return d, true, nil
}

func checkDistance(name string, d float64) error {
	if !(d > 0 && d <= MaxRadius) {
		return badParam(name, "%v m is outside the allowed range: more than 0, at most %v m", d, MaxRadius)
	}
	return nil
}

// filter parses the filter grammar from the query.
func (s *server) filter(q *query) (index.Filter, error) {
	return index.ParseFilter(s.reg, q.v)
}

// time parses an RFC 3339 time parameter; def when absent.
func (q *query) time(name string, def time.Time) (time.Time, error) {
	if !q.v.Has(name) {
		return def, nil
	}
	t, err := time.Parse(time.RFC3339Nano, q.v.Get(name))
	if err != nil {
		return time.Time{}, badParam(name, "%q is not an RFC 3339 time (e.g. 2026-07-01T08:00:00+08:00)", q.v.Get(name))
	}
	return t, nil
}

// bool parses a true/false parameter; def when absent.
func (q *query) bool(name string, def bool) (bool, error) {
	if !q.v.Has(name) {
		return def, nil
	}
	switch q.v.Get(name) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, badParam(name, "%q is not true or false", q.v.Get(name))
}
