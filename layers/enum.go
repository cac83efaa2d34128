package layers

// Choice is one allowed value of an enumerated field: a stable machine code (what is
// stored and sent over the API) with its Chinese and English labels and, for the
// two color scales, a display color.
type Choice struct {
	Code    string `json:"code"`
	LabelZH string `json:"label_zh"`
	LabelEN string `json:"label_en"`
	// Color is a CSS hex color ("#rrggbb"), empty when the choice has no color.
	Color string `json:"color,omitempty"`
	// Roman is the official level numeral (I..IV) of a warning level, empty otherwise.
	Roman string `json:"roman,omitempty"`
}

// Enum is an ordered list of allowed codes. For the risk grade and warning level
// scales the order is from least to most severe, so Rank compares severity.
type Enum struct {
	Name    string   `json:"name"`
	Choices []Choice `json:"choices"`
}

// Has reports whether code is one of the enum's codes (exact, case-sensitive).
func (e Enum) Has(code string) bool {
	return e.Rank(code) >= 0
}

// Rank returns the position of code in the enum (0 = first), or -1 when absent.
// On severity scales a higher rank is more severe.
func (e Enum) Rank(code string) int {
	for i, c := range e.Choices {
		if c.Code == code {
			return i
		}
	}
	return -1
}

// Choice returns the choice with the given code.
func (e Enum) Choice(code string) (Choice, bool) {
	if i := e.Rank(code); i >= 0 {
		return e.Choices[i], true
	}
	return Choice{}, false
}

// Codes returns the codes in order, as a new slice.
func (e Enum) Codes() []string {
	out := make([]string, len(e.Choices))
	for i, c := range e.Choices {
		out[i] = c.Code
	}
	return out
}

// The four-color palette shared by both severity scales (red, orange, yellow, blue),
// plus grey for a calm warning level.
const (
	ColorRed    = "#d7191c"
	ColorOrange = "#f28e1c"
	ColorYellow = "#f2d024"
	ColorBlue   = "#2b83ba"
	ColorGrey   = "#9e9e9e"
)

// riskGrades is the static census risk grade, least to most severe.
func riskGrades() Enum {
	return Enum{Name: "risk_grade", Choices: []Choice{
		{Code: "low", LabelZH: "低风险", LabelEN: "Low", Color: ColorBlue},
		{Code: "general", LabelZH: "一般风险", LabelEN: "General", Color: ColorYellow},
		{Code: "significant", LabelZH: "较大风险", LabelEN: "Significant", Color: ColorOrange},
		{Code: "major", LabelZH: "重大风险", LabelEN: "Major", Color: ColorRed},
	}}
}

// warningLevels is the dynamic warning level from sensors and weather, calm to most
// severe. Level IV is blue, I is red.
func warningLevels() Enum {
	return Enum{Name: "warning_level", Choices: []Choice{
		{Code: "none", LabelZH: "无预警", LabelEN: "No warning", Color: ColorGrey},
		{Code: "blue", LabelZH: "蓝色预警", LabelEN: "Blue (IV)", Color: ColorBlue, Roman: "IV"},
		{Code: "yellow", LabelZH: "黄色预警", LabelEN: "Yellow (III)", Color: ColorYellow, Roman: "III"},
		{Code: "orange", LabelZH: "橙色预警", LabelEN: "Orange (II)", Color: ColorOrange, Roman: "II"},
		{Code: "red", LabelZH: "红色预警", LabelEN: "Red (I)", Color: ColorRed, Roman: "I"},
	}}
}

// subdistricts are Luohu's ten sub-districts (街道).
func subdistricts() Enum {
	return Enum{Name: "subdistrict", Choices: []Choice{
		{Code: "guiyuan", LabelZH: "桂园", LabelEN: "Guiyuan"},
		{Code: "huangbei", LabelZH: "黄贝", LabelEN: "Huangbei"},
		{Code: "dongmen", LabelZH: "东门", LabelEN: "Dongmen"},
		{Code: "cuizhu", LabelZH: "翠竹", LabelEN: "Cuizhu"},
		{Code: "nanhu", LabelZH: "南湖", LabelEN: "Nanhu"},
		{Code: "sungang", LabelZH: "笋岗", LabelEN: "Sungang"},
		{Code: "donghu", LabelZH: "东湖", LabelEN: "Donghu"},
		{Code: "liantang", LabelZH: "莲塘", LabelEN: "Liantang"},
		{Code: "dongxiao", LabelZH: "东晓", LabelEN: "Dongxiao"},
		{Code: "qingshuihe", LabelZH: "清水河", LabelEN: "Qingshuihe"},
	}}
}

func riskCategories() Enum {
	return Enum{Name: "risk_category", Choices: []Choice{
		{Code: "landslide", LabelZH: "地质灾害(滑坡崩塌)", LabelEN: "Landslide / collapse"},
		{Code: "flooding", LabelZH: "内涝", LabelEN: "Flooding"},
		{Code: "fire", LabelZH: "火灾", LabelEN: "Fire"},
		{Code: "high_rise_fire", LabelZH: "高层建筑消防", LabelEN: "High-rise fire safety"},
		{Code: "hazardous_chemicals", LabelZH: "危险化学品", LabelEN: "Hazardous chemicals"},
		{Code: "construction", LabelZH: "建设工程", LabelEN: "Construction works"},
		{Code: "small_works", LabelZH: "小散工程", LabelEN: "Small scattered works"},
		{Code: "gas", LabelZH: "燃气", LabelEN: "Gas"},
		{Code: "elevator", LabelZH: "电梯", LabelEN: "Elevator"},
		{Code: "ev_charging", LabelZH: "电动车充电设施", LabelEN: "EV charging"},
		{Code: "ground_void", LabelZH: "地面坍塌(地下空洞)", LabelEN: "Ground void"},
		{Code: "falling_object", LabelZH: "高空坠物", LabelEN: "Falling objects"},
		{Code: "road_traffic", LabelZH: "道路交通", LabelEN: "Road traffic"},
		{Code: "other", LabelZH: "其他", LabelEN: "Other"},
	}}
}

// hazardStatuses is the closed-loop rectification workflow of a risk point's hazard:
// open → rectifying → closed.
func hazardStatuses() Enum {
	return Enum{Name: "hazard_status", Choices: []Choice{
		{Code: "open", LabelZH: "待整改", LabelEN: "Open"},
		{Code: "rectifying", LabelZH: "整改中", LabelEN: "Rectifying"},
		{Code: "closed", LabelZH: "已闭环", LabelEN: "Closed"},
	}}
}

func slopeKinds() Enum {
	return Enum{Name: "slope_kind", Choices: []Choice{
		{Code: "building_slope", LabelZH: "建筑边坡", LabelEN: "Building slope"},
		{Code: "natural_slope", LabelZH: "自然边坡", LabelEN: "Natural slope"},
	}}
}

func spotKinds() Enum {
	return Enum{Name: "spot_kind", Choices: []Choice{
		{Code: "underpass", LabelZH: "下穿通道", LabelEN: "Underpass"},
		{Code: "low_road", LabelZH: "低洼路段", LabelEN: "Low-lying road"},
		{Code: "residential", LabelZH: "居民区", LabelEN: "Residential area"},
		{Code: "reservoir", LabelZH: "水库", LabelEN: "Reservoir"},
		{Code: "drain_node", LabelZH: "雨水管网节点", LabelEN: "Storm-drain node"},
		{Code: "other", LabelZH: "其他", LabelEN: "Other"},
	}}
}

func trends() Enum {
	return Enum{Name: "trend", Choices: []Choice{
		{Code: "falling", LabelZH: "下降", LabelEN: "Falling"},
		{Code: "steady", LabelZH: "平稳", LabelEN: "Steady"},
		{Code: "rising", LabelZH: "上涨", LabelEN: "Rising"},
	}}
}

// sensorStatuses is whether a monitored object's alerting sensors are heard from:
// live, or no_data when all of them have fallen silent (the warning level then
// keeps the level they last had; a map must show the object apart from calm).
// Null for an object without alerting sensors.
func sensorStatuses() Enum {
	return Enum{Name: "sensor_status", Choices: []Choice{
		{Code: "live", LabelZH: "在线", LabelEN: "Live"},
		{Code: "no_data", LabelZH: "无数据", LabelEN: "No data", Color: "#616161"},
	}}
}

func roadKinds() Enum {
	return Enum{Name: "road_kind", Choices: []Choice{
		{Code: "quality_upgrade", LabelZH: "品质提升", LabelEN: "Quality upgrade"},
		{Code: "motor_nonmotor_separation", LabelZH: "机非分离", LabelEN: "Motor / non-motor separation"},
		{Code: "radar_scan", LabelZH: "地质雷达探测", LabelEN: "Ground-penetrating radar scan"},
	}}
}

func resourceKinds() Enum {
	return Enum{Name: "resource_kind", Choices: []Choice{
		{Code: "shelter", LabelZH: "应急避难场所", LabelEN: "Shelter"},
		{Code: "rescue_team", LabelZH: "救援队伍", LabelEN: "Rescue team"},
		{Code: "material_depot", LabelZH: "物资储备库", LabelEN: "Material depot"},
		{Code: "medical", LabelZH: "医疗点", LabelEN: "Medical point"},
	}}
}
