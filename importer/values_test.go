package importer

import (
	"testing"
	"time"

	"riskmap/layers"
)

func TestParseNumber(t *testing.T) {
	for _, tc := range []struct {
		in, unit string
		want     float64
		bad      bool
	}{
		{"300", "", 300, false},
		{" 1,200 ", "", 1200, false},
		{"300-1000", "persons", 1000, false},
		{"2~3", "", 3, false},
		{"2～3", "", 3, false},
		{"8 ~ 12", "m", 12, false},
		{"50至70", "deg", 70, false},
		{"约300", "persons", 300, false},
		{"300人", "persons", 300, false},
		{"约300人", "persons", 300, false},
		{"100以上", "", 100, false},
		{"20余", "", 20, false},
		{"15m", "m", 15, false},
		{"15米", "m", 15, false},
		{"40cm", "cm", 40, false},
		{"40厘米", "cm", 40, false},
		{"60°", "deg", 60, false},
		{"１２３", "", 123, false}, // full-width digits
		{"-5", "mm", -5, false},
		{"2.5", "", 2.5, false},
		{"15km", "m", 0, true}, // another unit is not silently dropped
		{"10cm", "m", 0, true},
		{"abc", "", 0, true},
		{"3-", "", 0, true},
		{"人", "persons", 0, true},
		{"1e400", "", 0, true},
	} {
		got, reason := parseNumber(tc.in, tc.unit)
		if tc.bad != (reason != "") || !tc.bad && got != tc.want {
			t.Errorf("parseNumber(%q, %q) = %v, %q; want %v (bad %v)", tc.in, tc.unit, got, reason, tc.want, tc.bad)
		}
	}
}

func TestParseEnumGradesAndWarnings(t *testing.T) {
	reg := layers.New()
	slopes, _ := reg.Layer(layers.Slopes)
	grade, _ := slopes.Field("risk_grade")
	warning, _ := slopes.Field("warning_level")
	kind, _ := slopes.Field("kind")
	sp, _ := reg.Layer(layers.RiskPoints)
	sub, _ := sp.Field("subdistrict")
	for _, tc := range []struct {
		f    layers.Field
		in   string
		want string // "" = bad
	}{
		{grade, "重大", "major"}, {grade, "较大", "significant"}, {grade, "一般", "general"}, {grade, "低", "low"},
		{grade, "重大风险", "major"}, {grade, "一般风险", "general"},
		{grade, "红", "major"}, {grade, "橙色", "significant"}, {grade, "黄", "general"}, {grade, "蓝色", "low"},
		{grade, "I", "major"}, {grade, "II", "significant"}, {grade, "iii", "general"}, {grade, "IV", "low"},
		{grade, "Ⅰ", "major"}, {grade, "Ⅱ", "significant"}, {grade, "Ⅲ", "general"}, {grade, "Ⅳ", "low"},
		{grade, "1", "major"}, {grade, "4", "low"}, {grade, "Ⅳ级", "low"},
		{grade, "major", "major"}, {grade, "Significant", "significant"}, {grade, "MAJOR", "major"},
		{grade, "5", ""}, {grade, "红色预警", ""}, {grade, "无", ""},
		// The warning level is the other axis: grade words are not warning levels.
		{warning, "重大", ""}, {warning, "较大", ""},
		{warning, "红", "red"}, {warning, "橙色预警", "orange"}, {warning, "Ⅲ", "yellow"}, {warning, "IV", "blue"},
		{warning, "1", "red"}, {warning, "无", "none"}, {warning, "Blue (IV)", "blue"}, {warning, "none", "none"},
		{kind, "自然边坡", "natural_slope"}, {kind, "Building slope", "building_slope"}, {kind, "自然斜坡", ""},
		{sub, "东门街道", "dongmen"}, {sub, "东门", "dongmen"}, {sub, "Qingshuihe", "qingshuihe"}, {sub, "福保街道", ""},
	} {
		got, reason := parseEnum(tc.f, tc.in, nil)
		if tc.want == "" && reason == "" || tc.want != "" && got != tc.want {
			t.Errorf("parseEnum(%s, %q) = %q, %q; want %q", tc.f.Name, tc.in, got, reason, tc.want)
		}
	}
}

func TestParseBoolAndDate(t *testing.T) {
	for in, want := range map[string]bool{"是": true, "否": false, "yes": true, "N": false, "1": true, "0": false, "开放": true, "关闭": false, "TRUE": true} {
		if got, reason := parseBool(in); reason != "" || got != want {
			t.Errorf("parseBool(%q) = %v, %q; want %v", in, got, reason, want)
		}
	}
	if _, reason := parseBool("maybe"); reason == "" {
		t.Error("parseBool(maybe) accepted")
	}
	want := time.Date(2021, 3, 5, 0, 0, 0, 0, time.UTC)
	for _, in := range []string{"2021-03-05", "2021/3/5", "2021.3.5", "2021年3月5日", "20210305", "2021-03-05 14:00:00", "2021-03-05T14:00:00Z"} {
		if got, reason := parseDate(in); reason != "" || !got.Equal(want) {
			t.Errorf("parseDate(%q) = %v, %q; want %v", in, got, reason, want)
		}
	}
	for _, in := range []string{"2021-13-05", "yesterday", "05/03/2021"} {
		if _, reason := parseDate(in); reason == "" {
			t.Errorf("parseDate(%q) accepted", in)
		}
	}
}
