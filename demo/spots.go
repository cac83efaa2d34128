package demo

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/layers"
)

// reservoirs: Shenzhen Reservoir and Fairy Lake by their approximate real places; the
// small reservoirs are synthetic, placed on the hills.
func reservoirs() []struct {
	name string
	p    orb.Point
} {
	return []struct {
		name string
		p    orb.Point
	}{
		{"深圳水库", orb.Point{114.1500, 22.5770}},
		{"仙湖", orb.Point{114.1720, 22.5800}},
	}
}

// spots writes the waterlogging spots: underpasses, low-lying roads and drain nodes
// on the real roads, residential spots in the built-up area, reservoirs on the hills.
// Most carry a water sensor; every tenth a rain gauge.
func (g *generator) spots() {
	n := 0
	next := func() int { n++; return n }
	add := func(kind, name string, p orb.Point, warnCM any) {
		i := next()
		props := map[string]any{
			"external_id":      fmt.Sprintf("WL-%03d", i),
			"name":             g.unique(layers.WaterloggingSpots, name),
			"kind":             kind,
			"subdistrict":      Subdistrict(p),
			"warning_depth_cm": warnCM,
			"current_depth_cm": nil,
			"trend":            "steady",
			"warning_level":    "none",
		}
		if warnCM != nil {
			props["current_depth_cm"] = 0.0
		}
		id := g.add(layers.WaterloggingSpots, p, props)
		switch kind {
		case "reservoir":
			limit := math.Round(g.r.between(20, 60)*10) / 10 // flood-limit water level, m
			g.sensor(layers.WaterloggingSpots, id, "water_level_m",
				&feature.Thresholds{Blue: limit - 1.5, Yellow: limit - 1, Orange: limit - 0.5, Red: limit})
		case "drain_node":
			g.sensor(layers.WaterloggingSpots, id, "water_level_m", &feature.Thresholds{Blue: 1, Yellow: 1.5, Orange: 2, Red: 2.5})
		default:
			if w, ok := warnCM.(float64); ok && (kind == "underpass" || g.r.float() < 0.8) {
				g.sensor(layers.WaterloggingSpots, id, "water_depth_cm",
					&feature.Thresholds{Blue: w / 2, Yellow: w, Orange: 1.5 * w, Red: 2 * w})
			}
		}
		if i%10 == 0 {
			g.sensor(layers.WaterloggingSpots, id, "rainfall_mm_h", &feature.Thresholds{Blue: 20, Yellow: 30, Orange: 50, Red: 70})
		}
	}
	onRoad := func() (orb.Point, string) {
		r := g.roads[g.r.intn(len(g.roads))]
		for {
			p := round7(offset(r.pointAlong(g.r.float()), g.r.between(-12, 12), g.r.between(-12, 12)))
			if g.s.inside(p) {
				return p, r.name
			}
		}
	}
	for range UnderpassSpots {
		p, road := onRoad()
		add("underpass", road+"下穿通道", p, 27.0)
	}
	for range LowRoadSpots {
		p, road := onRoad()
		add("low_road", road+"低洼路段", p, 5*math.Round(g.r.between(15, 30)/5))
	}
	for range ResidentialSpots {
		p := g.s.point(builtUp())
		add("residential", g.nearestRoad(p)+"片区居民区积水点", p, 5*math.Round(g.r.between(20, 40)/5))
	}
	for _, res := range reservoirs() {
		add("reservoir", res.name, res.p, nil)
	}
	for i := len(reservoirs()); i < ReservoirSpots; i++ {
		p := g.s.point(hills())
		add("reservoir", fmt.Sprintf("%s小型水库%d", g.subLabel(Subdistrict(p)), i-1), p, nil)
	}
	for range DrainNodeSpots {
		p, road := onRoad()
		add("drain_node", road+"雨水管网节点", p, nil)
	}
}

// resources writes shelters, rescue teams, material depots and medical points in the
// built-up area.
func (g *generator) resources() {
	n := 0
	add := func(kind, name string, p orb.Point, capacity any, open bool, dept string) {
		n++
		sub := Subdistrict(p)
		g.add(layers.Resources, p, map[string]any{
			"external_id":  fmt.Sprintf("RS-%03d", n),
			"kind":         kind,
			"name":         g.unique(layers.Resources, name),
			"subdistrict":  sub,
			"address":      g.address(p, sub),
			"capacity":     capacity,
			"open":         open,
			"contact_dept": dept,
		})
	}
	for i := range Shelters {
		p := g.s.point(builtUp())
		site := []string{"小学", "中学", "公园", "体育馆"}[g.r.intn(4)]
		capacity := int64(50 * math.Round(g.r.between(300, 3000)/50))
		add("shelter", fmt.Sprintf("%s%s应急避难场所", g.nearestRoad(p), site), p, capacity, i%4 == 0,
			g.subLabel(Subdistrict(p))+"街道办事处")
	}
	for i := range RescueTeams {
		p := g.s.point(builtUp())
		var name string
		switch {
		case i == 0:
			name = "罗湖区综合应急救援大队"
		case i < 5:
			name = fmt.Sprintf("罗湖消防救援站(%s)", g.subLabel(Subdistrict(p)))
		default:
			name = fmt.Sprintf("%s街道应急救援队", g.subLabel(Subdistrict(p)))
		}
		add("rescue_team", name, p, int64(15+g.r.intn(66)), true, "区应急管理局")
	}
	for i := range MaterialDepots {
		p := g.s.point(builtUp())
		name := fmt.Sprintf("%s街道应急物资储备点", g.subLabel(Subdistrict(p)))
		if i == 0 {
			name = "罗湖区应急物资储备库"
		}
		add("material_depot", name, p, nil, true, "区应急管理局")
	}
	for range MedicalPoints {
		p := g.s.point(builtUp())
		add("medical", fmt.Sprintf("%s社区健康服务中心", g.nearestRoad(p)), p, int64(10+g.r.intn(60)), true, "区卫生健康局")
	}
}
