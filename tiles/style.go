package tiles

import (
	"riskmap/layers"
)

// Style returns a MapLibre GL style (version 8) drawing every layer of the tile set
// described at tileJSONURL (an absolute URL): risk points and slopes colored by risk
// grade, slope outlines and waterlogging spots by warning level (the registry's
// colors; the two scales stay apart), risk-point clusters as circles sized by their
// count and colored by their highest grade, objects whose sensors are all silent
// (sensor_status no_data) in the no-data color, rectified roads by kind and
// resources by kind with a symbol, in colors that are none of the grade or warning
// colors. Waterlogging spots may be points or areas. It has no basemap, and its only
// text is the resources' CJK symbols, which MapLibre draws from local fonts, so it
// needs no glyphs or sprites: the wall map lays it over a basemap of its choice.
func Style(reg *layers.Registry, tileJSONURL string) map[string]any {
	grade := matchColor("risk_grade", reg.RiskGrades(), "#888888")
	warning := matchColor("warning_level", reg.WarningLevels(), "#888888")
	// A monitored object whose sensors have all gone silent is drawn apart from
	// calm: filled in the no-data color, its outline keeping the level its
	// sensors last had.
	noData := []any{"==", []any{"get", "sensor_status"}, "no_data"}
	noDataColor := "#616161"
	if l, err := reg.Layer(layers.WaterloggingSpots); err == nil {
		if f, ok := l.Field("sensor_status"); ok && f.Enum != nil {
			if c, ok := f.Enum.Choice("no_data"); ok && c.Color != "" {
				noDataColor = c.Color
			}
		}
	}
	levelOrNoData := []any{"case", noData, noDataColor, warning}
	isCluster := []any{"==", []any{"get", KeyCluster}, true}
	notCluster := []any{"!=", []any{"get", KeyCluster}, true}
	geom := func(t string) []any { return []any{"==", []any{"geometry-type"}, t} }
	layer := func(id, typ, source string, filter []any, paint map[string]any) map[string]any {
		l := map[string]any{"id": id, "type": typ, "source": "riskmap", "source-layer": source, "paint": paint}
		if filter != nil {
			l["filter"] = filter
		}
		return l
	}
	resourceColor := []any{"match", []any{"get", "kind"},
		"shelter", "#1a9850", "rescue_team", "#6a3d9a", "material_depot", "#8c510a", "medical", "#01665e", "#333333"}
	// Roads by rectification kind, in greens and teals: none of the grade or
	// warning colors.
	roadColor := []any{"match", []any{"get", "kind"},
		"quality_upgrade", "#1b7837", "motor_nonmotor_separation", "#5aae61", "radar_scan", "#35978f", "#1b7837"}
	// Resources carry a symbol: the first character of the kind's Chinese name
	// (避 shelter, 救 rescue team, 物 depot, 医 medical) in white on the kind's
	// circle, from zoom 13. CJK characters render from the client's fonts
	// (MapLibre's local ideographs), so the style still needs no glyphs or sprites.
	resourceSymbols := map[string]any{
		"id": "resources-symbol", "type": "symbol", "source": "riskmap", "source-layer": layers.Resources,
		"minzoom": 13,
		"layout": map[string]any{
			"text-field": []any{"match", []any{"get", "kind"},
				"shelter", "避", "rescue_team", "救", "material_depot", "物", "medical", "医", ""},
			"text-size":          []any{"interpolate", []any{"linear"}, []any{"zoom"}, 13, 9, 16, 13},
			"text-allow-overlap": true, "text-ignore-placement": true,
		},
		"paint": map[string]any{"text-color": "#ffffff"},
	}
	return map[string]any{
		"version": 8,
		"name":    "riskmap",
		"sources": map[string]any{
			"riskmap": map[string]any{"type": "vector", "url": tileJSONURL},
		},
		"layers": []any{
			layer("slopes-fill", "fill", layers.Slopes, geom("Polygon"), map[string]any{
				"fill-color": grade, "fill-opacity": 0.35,
			}),
			layer("slopes-outline", "line", layers.Slopes, geom("Polygon"), map[string]any{
				"line-color": levelOrNoData, "line-width": []any{"interpolate", []any{"linear"}, []any{"zoom"}, 10, 0.5, 16, 2.5},
			}),
			layer("slopes-point", "circle", layers.Slopes, geom("Point"), map[string]any{
				"circle-color": grade, "circle-radius": 3, "circle-stroke-color": levelOrNoData, "circle-stroke-width": 1,
			}),
			layer("rectified-roads", "line", layers.RectifiedRoads, nil, map[string]any{
				"line-color": roadColor, "line-width": []any{"interpolate", []any{"linear"}, []any{"zoom"}, 10, 1, 16, 4},
				"line-opacity": 0.8,
			}),
			layer("risk-clusters", "circle", layers.RiskPoints, isCluster, map[string]any{
				"circle-color": grade, "circle-opacity": 0.75,
				"circle-radius": []any{"interpolate", []any{"linear"}, []any{"get", KeyCount},
					2, 6, 10, 9, 100, 15, 1000, 24},
				"circle-stroke-color": "#ffffff", "circle-stroke-width": 1,
			}),
			layer("risk-points", "circle", layers.RiskPoints, notCluster, map[string]any{
				"circle-color":        grade,
				"circle-radius":       []any{"interpolate", []any{"linear"}, []any{"zoom"}, 10, 2, 16, 5, 20, 8},
				"circle-stroke-color": []any{"match", []any{"get", "hazard_status"}, "open", "#222222", "#ffffff"},
				"circle-stroke-width": 1,
			}),
			layer("waterlogging-areas", "fill", layers.WaterloggingSpots, geom("Polygon"), map[string]any{
				"fill-color": levelOrNoData, "fill-opacity": 0.45,
				"fill-outline-color": []any{"case", noData, warning, "#08306b"},
			}),
			layer("waterlogging-spots", "circle", layers.WaterloggingSpots, geom("Point"), map[string]any{
				"circle-color":        levelOrNoData,
				"circle-radius":       []any{"interpolate", []any{"linear"}, []any{"zoom"}, 10, 4, 16, 9},
				"circle-stroke-color": []any{"case", noData, warning, "#08306b"},
				"circle-stroke-width": []any{"case", noData, 3, 1.5},
			}),
			layer("resources", "circle", layers.Resources, nil, map[string]any{
				"circle-color":        resourceColor,
				"circle-radius":       []any{"interpolate", []any{"linear"}, []any{"zoom"}, 10, 3, 14, 8, 16, 11},
				"circle-stroke-color": "#ffffff", "circle-stroke-width": 1.5,
			}),
			resourceSymbols,
		},
	}
}

// matchColor is a MapLibre match expression giving each code of e its color.
func matchColor(field string, e layers.Enum, fallback string) []any {
	m := []any{"match", []any{"get", field}}
	for _, c := range e.Choices {
		if c.Color != "" {
			m = append(m, c.Code, c.Color)
		}
	}
	return append(m, fallback)
}
