package layers

import (
	"errors"
	"fmt"
	"slices"
)

// GeometryType is an OGC simple-feature type name as written in GeoJSON.
type GeometryType string

// Geometry types a layer may accept.
const (
	Point           GeometryType = "Point"
	LineString      GeometryType = "LineString"
	MultiLineString GeometryType = "MultiLineString"
	Polygon         GeometryType = "Polygon"
	MultiPolygon    GeometryType = "MultiPolygon"
)

// Layer is one map layer: a PostGIS table of features with a geometry column `geom`
// (SRID 4326, lon/lat degrees) and the attribute Fields.
type Layer struct {
	// Name is the table name, the URL segment and the MVT layer name.
	Name    string `json:"name"`
	TitleZH string `json:"title_zh"`
	TitleEN string `json:"title_en"`
	// Geometry lists the accepted geometry types; the first is the usual one.
	Geometry []GeometryType `json:"geometry"`
	Fields   []Field        `json:"fields"`
}

// Field returns the field with the given name.
func (l *Layer) Field(name string) (Field, bool) {
	for _, f := range l.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// FieldNames returns the attribute column names in registry order (not id, version,
// updated_at or geom). The result is a new slice.
func (l *Layer) FieldNames() []string {
	out := make([]string, len(l.Fields))
	for i, f := range l.Fields {
		out[i] = f.Name
	}
	return out
}

// Accepts reports whether the layer accepts geometry type t.
func (l *Layer) Accepts(t GeometryType) bool {
	for _, g := range l.Geometry {
		if g == t {
			return true
		}
	}
	return false
}

// SensorKind is a kind of monitoring sensor: what it measures, in which unit, the
// physical range a reading must fall in, and which layer's objects carry it.
type SensorKind struct {
	Code    string `json:"code"`
	LabelZH string `json:"label_zh"`
	LabelEN string `json:"label_en"`
	Unit    string `json:"unit"`
	// Min and Max are the default physical range of a reading, in Unit.
	Min float64 `json:"min"`
	Max float64 `json:"max"`
	// Layers are the layers whose features this kind of sensor can be attached to.
	Layers []string `json:"layers"`
}

// Registry is the single source of truth for riskmap's layers, their fields, the two
// severity scales and the sensor kinds. A Registry is immutable after New; callers
// must not modify the slices it returns.
type Registry struct {
	layers      []*Layer
	byName      map[string]*Layer
	grades      Enum
	levels      Enum
	sensorKinds []SensorKind
	fieldCodes  map[string][]string // enum field name → codes over all layers
}

// ErrUnknownLayer is returned (wrapped, with the name) for a layer name not in the
// registry.
var ErrUnknownLayer = errors.New("unknown layer")

// Layer names.
const (
	RiskPoints        = "risk_points"
	Slopes            = "slopes"
	WaterloggingSpots = "waterlogging_spots"
	RectifiedRoads    = "rectified_roads"
	Resources         = "resources"
)

// summaryFields are the fields every vector tile carries, at every zoom: what the
// wall map colors, labels and filters by (Field.Summary).
var summaryFields = []string{"name", "category", "kind", "risk_grade", "warning_level",
	"hazard_status", "current_depth_cm", "trend", "open", "sensor_status", "drill_warning_level", "drill_depth_cm"}

// New builds the registry.
func New() *Registry {
	r := &Registry{
		grades: riskGrades(),
		levels: warningLevels(),
		layers: []*Layer{
			{
				Name: RiskPoints, TitleZH: "风险点", TitleEN: "Risk points",
				Geometry: []GeometryType{Point},
				Fields: []Field{
					externalID(),
					text("name", "名称", "Name", true),
					enum("category", "风险类别", "Category", true, riskCategories(), nil),
					text("address", "地址", "Address", false),
					subdistrict(),
					text("cause", "致险成因", "Cause", false),
					text("measures", "管控措施", "Control measures", false),
					text("responsible_dept", "责任单位", "Responsible department", false),
					enum("risk_grade", "风险等级", "Risk grade", true, riskGrades(), nil),
					enum("hazard_status", "隐患整改状态", "Hazard status", true, hazardStatuses(), "open"),
				},
			},
			{
				Name: Slopes, TitleZH: "边坡", TitleEN: "Slopes",
				Geometry: []GeometryType{Polygon, MultiPolygon, Point},
				Fields: []Field{
					externalID(),
					text("name", "名称", "Name", true),
					enum("kind", "边坡类型", "Kind", true, slopeKinds(), nil),
					subdistrict(),
					number("height_m", "坡高", "Height", "m", 0, 1000),
					number("length_m", "坡长", "Length", "m", 0, 10000),
					number("angle_deg", "坡度", "Angle", "deg", 0, 90),
					enum("risk_grade", "风险等级", "Risk grade", true, riskGrades(), nil),
					{Name: "monitored", Type: TypeBool, Required: true, LabelZH: "在线监测", LabelEN: "Monitored", Default: false},
					enum("warning_level", "预警等级", "Warning level", true, warningLevels(), "none"),
					number("displacement_mm", "当前位移", "Current displacement", "mm", -2000, 2000),
					enum("trend", "趋势", "Trend", false, trends(), nil),
					enum("sensor_status", "监测状态", "Sensor status", false, sensorStatuses(), nil),
					enum("drill_warning_level", "演练预警等级", "Drill warning level", false, warningLevels(), nil),
				},
			},
			{
				Name: WaterloggingSpots, TitleZH: "易涝点", TitleEN: "Waterlogging spots",
				Geometry: []GeometryType{Point, Polygon},
				Fields: []Field{
					externalID(),
					text("name", "名称", "Name", true),
					enum("kind", "类型", "Kind", true, spotKinds(), nil),
					subdistrict(),
					number("warning_depth_cm", "警戒水深", "Warning depth", "cm", 0, 1000),
					number("current_depth_cm", "当前水深", "Current depth", "cm", 0, 5000),
					enum("trend", "趋势", "Trend", false, trends(), nil),
					enum("warning_level", "预警等级", "Warning level", true, warningLevels(), "none"),
					enum("sensor_status", "监测状态", "Sensor status", false, sensorStatuses(), nil),
					number("drill_depth_cm", "演练水深", "Drill depth", "cm", 0, 5000),
					enum("drill_warning_level", "演练预警等级", "Drill warning level", false, warningLevels(), nil),
				},
			},
			{
				Name: RectifiedRoads, TitleZH: "整治道路", TitleEN: "Rectified roads",
				Geometry: []GeometryType{LineString, MultiLineString},
				Fields: []Field{
					externalID(),
					text("name", "道路名称", "Road name", true),
					enum("kind", "整治类型", "Rectification kind", true, roadKinds(), nil),
					{Name: "completed_on", Type: TypeDate, LabelZH: "完成日期", LabelEN: "Completed on"},
				},
			},
			{
				Name: Resources, TitleZH: "应急资源", TitleEN: "Emergency resources",
				Geometry: []GeometryType{Point},
				Fields: []Field{
					externalID(),
					enum("kind", "资源类型", "Kind", true, resourceKinds(), nil),
					text("name", "名称", "Name", true),
					subdistrict(),
					text("address", "地址", "Address", false),
					{Name: "capacity", Type: TypeInt, LabelZH: "容量", LabelEN: "Capacity", Unit: "persons", Min: bound(0), Max: bound(1e7)},
					{Name: "open", Type: TypeBool, Required: true, LabelZH: "开放", LabelEN: "Open", Default: true},
					text("contact_dept", "联系部门", "Contact department", false),
				},
			},
		},
		sensorKinds: []SensorKind{
			{Code: "displacement_mm", LabelZH: "位移", LabelEN: "Displacement", Unit: "mm", Min: -2000, Max: 2000, Layers: []string{Slopes}},
			{Code: "tilt_deg", LabelZH: "倾角", LabelEN: "Tilt", Unit: "deg", Min: -90, Max: 90, Layers: []string{Slopes}},
			{Code: "rainfall_mm_h", LabelZH: "雨量", LabelEN: "Rainfall", Unit: "mm/h", Min: 0, Max: 500, Layers: []string{Slopes, WaterloggingSpots}},
			{Code: "water_depth_cm", LabelZH: "积水深度", LabelEN: "Water depth", Unit: "cm", Min: 0, Max: 1000, Layers: []string{WaterloggingSpots}},
			{Code: "water_level_m", LabelZH: "水位", LabelEN: "Water level", Unit: "m", Min: -20, Max: 300, Layers: []string{WaterloggingSpots}},
		},
	}
	for _, l := range r.layers {
		for i := range l.Fields {
			l.Fields[i].Summary = slices.Contains(summaryFields, l.Fields[i].Name)
		}
	}
	r.byName = make(map[string]*Layer, len(r.layers))
	r.fieldCodes = map[string][]string{}
	for _, l := range r.layers {
		r.byName[l.Name] = l
		for _, f := range l.Fields {
			if f.Enum == nil {
				continue
			}
			for _, c := range f.Enum.Codes() {
				if !slices.Contains(r.fieldCodes[f.Name], c) {
					r.fieldCodes[f.Name] = append(r.fieldCodes[f.Name], c)
				}
			}
		}
	}
	return r
}

// FieldCodes returns the codes an enum field allows, over every layer that has the
// field (e.g. "kind": slope, spot, road and resource kinds), in registry order; nil
// for a field that is no enum anywhere.
func (r *Registry) FieldCodes(field string) []string { return r.fieldCodes[field] }

// Layers returns the layers in display order (bottom to top is the caller's choice).
func (r *Registry) Layers() []*Layer { return r.layers }

// Layer returns the named layer, or an error wrapping ErrUnknownLayer.
func (r *Registry) Layer(name string) (*Layer, error) {
	if l, ok := r.byName[name]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownLayer, name)
}

// RiskGrades is the census risk grade scale, least to most severe.
func (r *Registry) RiskGrades() Enum { return r.grades }

// WarningLevels is the warning level scale, calm to most severe.
func (r *Registry) WarningLevels() Enum { return r.levels }

// SensorKinds lists the sensor kinds.
func (r *Registry) SensorKinds() []SensorKind { return r.sensorKinds }

// SensorKind returns the sensor kind with the given code.
func (r *Registry) SensorKind(code string) (SensorKind, bool) {
	for _, k := range r.sensorKinds {
		if k.Code == code {
			return k, true
		}
	}
	return SensorKind{}, false
}
