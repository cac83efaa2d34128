package demo

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/geo"
	"riskmap/layers"
)

// Counts of the demo dataset. The first four come from the Luohu emergency bureau's
// January 2022 report (see ../shared/seed-luohu-2022.txt in the workspace); the rest
// are realistic sizes chosen for the demo.
const (
	RiskPointCount      = 35548 // risk points screened and reviewed, ground voids included
	SlopeCount          = 1932  // slopes
	QualityUpgradeRoads = 26    // roads upgraded in quality
	SeparationRoads     = 17    // roads given motor / non-motor separation
	RadarScanRoads      = 5     // arterial roads scanned by ground-penetrating radar
	GroundVoidCount     = 46    // voids the radar found, risk points along the 5 roads

	UnderpassSpots   = 18
	LowRoadSpots     = 40
	ResidentialSpots = 30
	ReservoirSpots   = 8
	DrainNodeSpots   = 24

	Shelters        = 20
	RescueTeams     = 15
	MaterialDepots  = 10
	MedicalPoints   = 12
	DefaultDemoSeed = 20220122 // the report's date
)

// WaterloggingSpotCount is the number of waterlogging spots of every kind.
const WaterloggingSpotCount = UnderpassSpots + LowRoadSpots + ResidentialSpots + ReservoirSpots + DrainNodeSpots

// ResourceCount is the number of emergency resources of every kind.
const ResourceCount = Shelters + RescueTeams + MaterialDepots + MedicalPoints

// Dataset is a generated demo dataset: features by layer name, ids 1..n in each
// layer, and the sensors on monitored slopes and waterlogging spots.
type Dataset struct {
	Features map[string][]feature.Feature
	Sensors  []feature.Sensor
	// Seed is the seed the dataset was generated with; Seed draws the sensors'
	// reading history from it too.
	Seed uint64
}

// Total is the number of features over all layers.
func (d *Dataset) Total() int {
	n := 0
	for _, fs := range d.Features {
		n += len(fs)
	}
	return n
}

// generator carries the state of one generation run.
type generator struct {
	reg      *layers.Registry
	r        *rng
	s        *sampler
	roads    []road
	centroid []RoadCentroid
	ds       *Dataset
	names    map[string]int // layer + name → times used
}

// unique returns name, or name with a "(2)", "(3)"... suffix when the layer already
// has a feature of that name.
func (g *generator) unique(layer, name string) string {
	key := layer + "\x00" + name
	g.names[key]++
	if c := g.names[key]; c > 1 {
		return fmt.Sprintf("%s(%d)", name, c)
	}
	return name
}

// Generate builds the dataset for seed. The same seed gives the same dataset.
func Generate(seed uint64) (*Dataset, error) {
	boundary, err := Boundary()
	if err != nil {
		return nil, err
	}
	cs, err := RoadCentroids()
	if err != nil {
		return nil, err
	}
	r := newRNG(seed)
	g := &generator{
		reg:      layers.New(),
		r:        r,
		s:        &sampler{boundary: boundary, bound: boundary.Bound(), r: r},
		roads:    buildRoads(cs, boundary),
		centroid: cs,
		ds:       &Dataset{Features: map[string][]feature.Feature{}, Seed: seed},
		names:    map[string]int{},
	}
	radar, err := g.rectifiedRoads()
	if err != nil {
		return nil, err
	}
	g.riskPoints(radar)
	g.slopes()
	g.spots()
	g.resources()
	return g.ds, nil
}

func (g *generator) add(layer string, geom orb.Geometry, props map[string]any) int64 {
	id := int64(len(g.ds.Features[layer]) + 1)
	g.ds.Features[layer] = append(g.ds.Features[layer], feature.Feature{Layer: layer, ID: id, Geometry: geom, Props: props})
	return id
}

func (g *generator) choose(xs []string) string { return xs[g.r.intn(len(xs))] }

// grade draws a risk grade with weights for low, general, significant, major.
func (g *generator) grade(w [4]float64) string {
	return [4]string{"low", "general", "significant", "major"}[g.r.pick(w[:])]
}

// nearestRoad is the name of the road whose way centroid is nearest p.
func (g *generator) nearestRoad(p orb.Point) string {
	best, bestD := "", math.Inf(1)
	for _, c := range g.centroid {
		if d := localDist(p, c.Point); d < bestD {
			best, bestD = c.Name, d
		}
	}
	return best
}

// subLabel is the Chinese name of a sub-district code, from the registry.
func (g *generator) subLabel(code string) string {
	l, err := g.reg.Layer(layers.RiskPoints)
	if err != nil {
		return code
	}
	f, _ := l.Field("subdistrict")
	if c, ok := f.Enum.Choice(code); ok {
		return c.LabelZH
	}
	return code
}

func (g *generator) address(p orb.Point, sub string) string {
	return fmt.Sprintf("深圳市罗湖区%s街道%s%d号", g.subLabel(sub), g.nearestRoad(p), 1+g.r.intn(380))
}

// rectifiedRoads writes the three road lists and returns the radar-scanned roads.
func (g *generator) rectifiedRoads() ([]road, error) {
	// Radar: the five arterial (trunk/primary) roads with the most mapped ways.
	arterial := append([]road(nil), g.roads...)
	sort.SliceStable(arterial, func(i, j int) bool { return lineCount(arterial[i]) > lineCount(arterial[j]) })
	var radar []road
	for _, r := range arterial {
		if (r.highway == "trunk" || r.highway == "primary") && len(radar) < RadarScanRoads {
			radar = append(radar, r)
		}
	}
	if len(radar) < RadarScanRoads || len(g.roads) < QualityUpgradeRoads {
		return nil, fmt.Errorf("demo: only %d roads (%d arterial) in the road data", len(g.roads), len(radar))
	}
	// Quality upgrade and separation: draws from a shuffled list, so some roads are on
	// both lists (two rows), as in the report.
	perm := func() []road {
		p := append([]road(nil), g.roads...)
		for i := len(p) - 1; i > 0; i-- {
			j := g.r.intn(i + 1)
			p[i], p[j] = p[j], p[i]
		}
		return p
	}
	lists := []struct {
		kind   string
		code   string
		roads  []road
		year   int
		months int
	}{
		{"quality_upgrade", "QU", perm()[:QualityUpgradeRoads], 2019, 30},
		{"motor_nonmotor_separation", "MS", perm()[:SeparationRoads], 2020, 20},
		{"radar_scan", "GPR", radar, 2021, 10},
	}
	for _, list := range lists {
		for i, r := range list.roads {
			done := time.Date(list.year, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, g.r.intn(list.months), g.r.intn(28))
			g.add(layers.RectifiedRoads, r.geometry(), map[string]any{
				"external_id":  fmt.Sprintf("RD-%s-%02d", list.code, i+1),
				"name":         r.name,
				"kind":         list.kind,
				"completed_on": done,
			})
		}
	}
	return radar, nil
}

func lineCount(r road) int {
	n := 0
	for _, p := range r.parts {
		n += len(p)
	}
	return n
}

// riskPoints writes the ground voids along the radar roads, then the other
// categories until RiskPointCount.
func (g *generator) riskPoints(radar []road) {
	vt := voidTexts()
	for i := range GroundVoidCount {
		r := radar[i%len(radar)]
		p := round7(r.pointAlong(g.r.float()))
		sub := Subdistrict(p)
		g.add(layers.RiskPoints, p, map[string]any{
			"external_id":      fmt.Sprintf("RP-440303-%06d", i+1),
			"name":             fmt.Sprintf("%s地下空洞隐患点%02d", r.name, i/len(radar)+1),
			"category":         "ground_void",
			"address":          g.address(p, sub),
			"subdistrict":      sub,
			"cause":            g.choose(vt.causes),
			"measures":         g.choose(vt.measures),
			"responsible_dept": g.choose(vt.depts),
			"risk_grade":       g.grade(vt.grades),
			"hazard_status":    g.status(),
		})
	}
	cats := categoryTexts()
	weights := make([]float64, len(cats))
	for i, c := range cats {
		weights[i] = c.weight
	}
	for i := GroundVoidCount; i < RiskPointCount; i++ {
		c := cats[g.r.pick(weights)]
		var p orb.Point
		if c.terrain == "hills" {
			p = g.s.point(hills())
		} else {
			p = g.s.point(builtUp())
		}
		sub := Subdistrict(p)
		road := g.nearestRoad(p)
		g.add(layers.RiskPoints, p, map[string]any{
			"external_id":      fmt.Sprintf("RP-440303-%06d", i+1),
			"name":             fmt.Sprintf("%s%s", road, g.choose(c.place)),
			"category":         c.code,
			"address":          g.address(p, sub),
			"subdistrict":      sub,
			"cause":            g.choose(c.causes),
			"measures":         g.choose(c.measures),
			"responsible_dept": g.choose(c.depts),
			"risk_grade":       g.grade(c.grades),
			"hazard_status":    g.status(),
		})
	}
}

// status: most hazards found were rectified and closed (the report's closed loop).
func (g *generator) status() string {
	return []string{"closed", "rectifying", "open"}[g.r.pick([]float64{82, 8, 10})]
}

// slopes writes SlopeCount slopes: natural slopes on the hills, building slopes
// (cut slopes behind buildings) in the built-up area; outlines as star-shaped
// polygons of 6 to 9 vertices, 2% surveyed only as a point.
func (g *generator) slopes() {
	for i := range SlopeCount {
		natural := g.r.float() < 0.62
		var c orb.Point
		kind := "building_slope"
		if natural {
			c = g.s.point(hills())
			kind = "natural_slope"
		} else {
			c = g.s.point(builtUp())
		}
		length := math.Min(20*math.Exp(0.8*g.r.normal()+0.9), 600) // meters, median ~50
		height := math.Round(math.Min(math.Max(length*g.r.between(0.15, 0.6), 3), 120)*10) / 10
		angle := math.Round(g.r.between(25, 75)*10) / 10
		grade := g.grade([4]float64{50, 35, 12, 3})
		monitored := grade == "major" || grade == "significant"
		var geom orb.Geometry = c
		if g.r.float() >= 0.02 {
			if poly, ok := g.outline(c, length); ok {
				geom = poly
			}
		}
		sub := Subdistrict(c)
		kindZH := map[string]string{"natural_slope": "自然边坡", "building_slope": "建筑边坡"}[kind]
		id := g.add(layers.Slopes, geom, map[string]any{
			"external_id":   fmt.Sprintf("SL-%04d", i+1),
			"name":          fmt.Sprintf("%s%s%04d", g.subLabel(sub), kindZH, i+1),
			"kind":          kind,
			"subdistrict":   sub,
			"height_m":      height,
			"length_m":      math.Round(length*10) / 10,
			"angle_deg":     angle,
			"risk_grade":    grade,
			"monitored":     monitored,
			"warning_level": "none",
		})
		if monitored {
			g.sensor(layers.Slopes, id, "displacement_mm", &feature.Thresholds{Blue: 5, Yellow: 10, Orange: 20, Red: 40})
			g.sensor(layers.Slopes, id, "tilt_deg", &feature.Thresholds{Blue: 0.5, Yellow: 1, Orange: 2, Red: 3})
			if id%3 == 0 {
				g.sensor(layers.Slopes, id, "rainfall_mm_h", &feature.Thresholds{Blue: 20, Yellow: 30, Orange: 50, Red: 70})
			}
		}
	}
}

// outline draws a star-shaped polygon around c, elongated along a random direction,
// length meters long; false if it would not lie inside the district.
func (g *generator) outline(c orb.Point, length float64) (orb.Polygon, bool) {
	n := 6 + g.r.intn(4)
	a := length / 2
	b := a * g.r.between(0.25, 0.55)
	theta := g.r.between(0, math.Pi)
	ring := make(orb.Ring, 0, n+1)
	for k := range n {
		phi := 2 * math.Pi * (float64(k) + g.r.between(-0.2, 0.2)) / float64(n)
		ex, ey := a*math.Cos(phi)*g.r.between(0.85, 1.1), b*math.Sin(phi)*g.r.between(0.85, 1.1)
		// rotate by theta (counter-clockwise, in east/north meters)
		dx := ex*math.Cos(theta) - ey*math.Sin(theta)
		dy := ex*math.Sin(theta) + ey*math.Cos(theta)
		az := math.Atan2(dx, dy) * 180 / math.Pi
		ring = append(ring, round7(geo.Destination(c, az, math.Hypot(dx, dy))))
	}
	ring = append(ring, ring[0])
	poly := orb.Polygon{ring}
	return poly, geo.PolygonCoversRing(g.s.boundary, ring)
}

func (g *generator) sensor(layer string, id int64, kind string, t *feature.Thresholds) {
	k, _ := g.reg.SensorKind(kind)
	n := int64(len(g.ds.Sensors) + 1)
	g.ds.Sensors = append(g.ds.Sensors, feature.Sensor{
		ID: n, ExternalID: fmt.Sprintf("SN-%05d", n), Kind: kind, Layer: layer, FeatureID: id,
		Thresholds: t, RangeMin: k.Min, RangeMax: k.Max, Active: true,
	})
}
