package importer

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"riskmap/layers"
)

// text returns a source value as trimmed text; ok is false for a null or blank
// value (which the importer stores as null).
func text(v any) (s string, ok bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		s = x
	case json.Number:
		s = x.String()
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		s = strconv.FormatInt(x, 10)
	case bool:
		s = strconv.FormatBool(x)
	default:
		s = fmt.Sprint(x)
	}
	s = strings.TrimSpace(s)
	return s, s != ""
}

// fold is the form values are compared in: NFKC (full-width digits and letters,
// ～ and Roman numeral characters Ⅰ–Ⅳ become ASCII), trimmed, lower case.
func fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		s = norm.NFKC.String(s)
	}
	return strings.ToLower(strings.TrimSpace(s))
}

// numberRE matches one decimal number.
const numberRE = `[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?`

var (
	singleRE = regexp.MustCompile(`^(` + numberRE + `)$`)
	// A range "a-b", "a~b", "a～b" (folded to ~), "a—b", "a至b", "a到b".
	rangeRE = regexp.MustCompile(`^(` + numberRE + `)\s*(?:-|~|—|–|至|到)\s*(` + numberRE + `)$`)
)

// Words tolerated around a number: "约300", "300人", "20余", "100以上", "约 5 m".
var (
	numberPrefixes = []string{"大约", "约为", "约", "近", "≈", "~", "about", "approx.", "approx", "ca."}
	numberSuffixes = []string{"余人", "多人", "以上", "以下", "左右", "余", "多", "+", "人", "名", "个", "处"}
	unitWords      = map[string][]string{
		"m":       {"m", "米"},
		"cm":      {"cm", "厘米", "公分"},
		"mm":      {"mm", "毫米"},
		"deg":     {"°", "度"},
		"persons": {"人"},
	}
)

// parseNumber reads a numeric cell as offices write it, for a field with the given
// unit ("m", "cm", ...). Thousands separators are dropped; a leading 约/大约/近/≈/~
// and a trailing 人/名/个/余/多/以上/以下/左右/+ or the field's own unit (m 米, cm 厘米,
// mm 毫米, ° 度) are tolerated; a range "a-b", "a~b", "a～b", "a—b", "a至b", "a到b"
// gives its upper bound. Anything else is not a number (the reason says why).
func parseNumber(s, unit string) (float64, string) {
	t := fold(s)
	t = strings.ReplaceAll(t, ",", "")
	for changed := true; changed; {
		changed = false
		for _, p := range numberPrefixes {
			if strings.HasPrefix(t, p) && len(t) > len(p) {
				t, changed = strings.TrimSpace(t[len(p):]), true
			}
		}
		for _, sfx := range append(numberSuffixes, unitWords[unit]...) {
			if strings.HasSuffix(t, sfx) && len(t) > len(sfx) {
				t, changed = strings.TrimSpace(t[:len(t)-len(sfx)]), true
			}
		}
	}
	if m := singleRE.FindStringSubmatch(t); m != nil {
		x, err := strconv.ParseFloat(m[1], 64)
		if err == nil {
			return x, ""
		}
	}
	if m := rangeRE.FindStringSubmatch(t); m != nil {
		a, err1 := strconv.ParseFloat(m[1], 64)
		b, err2 := strconv.ParseFloat(m[2], 64)
		if err1 == nil && err2 == nil {
			return math.Max(a, b), ""
		}
	}
	return 0, "is not a number (a range a-b gives its upper bound)"
}

var (
	trueWords  = []string{"true", "t", "yes", "y", "1", "是", "开放", "已开放", "开", "有", "√", "✓"}
	falseWords = []string{"false", "f", "no", "n", "0", "否", "关闭", "未开放", "关", "无", "×"}
)

// parseBool reads true/false, yes/no, y/n, 1/0, 是/否, 开放/关闭, 有/无, √/×.
func parseBool(s string) (bool, string) {
	t := fold(s)
	for _, w := range trueWords {
		if t == w {
			return true, ""
		}
	}
	for _, w := range falseWords {
		if t == w {
			return false, ""
		}
	}
	return false, "is not true or false (是/否, yes/no, 1/0)"
}

var dateLayouts = []string{"2006-01-02", "2006-1-2", "2006/1/2", "2006.1.2", "2006年1月2日", "20060102"}

// parseDate reads a date: 2021-03-05, 2021/3/5, 2021.3.5, 2021年3月5日, 20210305,
// or any of them followed by a time ("2021-03-05 14:00:00", "2021-03-05T14:00:00Z"),
// which is dropped.
func parseDate(s string) (time.Time, string) {
	t := strings.TrimSpace(norm.NFKC.String(s))
	if i := strings.IndexAny(t, " T"); i > 0 {
		t = t[:i]
	}
	for _, l := range dateLayouts {
		if d, err := time.Parse(l, t); err == nil {
			return d, ""
		}
	}
	return time.Time{}, "is not a date (YYYY-MM-DD)"
}

// Grade and warning words, folded. The risk grade and the warning level are two
// axes: 重大/较大/一般/低 are grades only; the colors, Roman numerals and 1–4 are read
// on whichever axis the field is (grade: 1 = I = red = major; warning: I = red).
var (
	gradeWords = map[string][]string{
		"major":       {"重大", "重大风险", "红", "红色", "i", "1", "一级", "i级", "1级"},
		"significant": {"较大", "较大风险", "橙", "橙色", "ii", "2", "二级", "ii级", "2级"},
		"general":     {"一般", "一般风险", "黄", "黄色", "iii", "3", "三级", "iii级", "3级"},
		"low":         {"低", "低风险", "较低", "蓝", "蓝色", "iv", "4", "四级", "iv级", "4级"},
	}
	warningWords = map[string][]string{
		"red":    {"红", "红色", "红色预警", "i", "1", "一级", "i级", "1级", "i级预警"},
		"orange": {"橙", "橙色", "橙色预警", "ii", "2", "二级", "ii级", "2级", "ii级预警"},
		"yellow": {"黄", "黄色", "黄色预警", "iii", "3", "三级", "iii级", "3级", "iii级预警"},
		"blue":   {"蓝", "蓝色", "蓝色预警", "iv", "4", "四级", "iv级", "4级", "iv级预警"},
		"none":   {"无", "无预警", "none", "0", "正常"},
	}
)

// enumSuffixes are dropped from both sides when comparing with a Chinese label:
// "东门街道" matches 东门, "较大" matches 较大风险.
var enumSuffixes = []string{"街道", "风险", "预警"}

func stripSuffixes(s string) string {
	for _, x := range enumSuffixes {
		s = strings.TrimSuffix(s, x)
	}
	return s
}

// parseEnum reads a value of an enum field: the user's value mapping first, then
// the code, the Chinese or English label (case-insensitive, NFKC), the label without
// 街道/风险/预警, and for risk grades and warning levels the words of gradeWords and
// warningWords.
func parseEnum(f layers.Field, s string, user map[string]string) (string, string) {
	if len(user) == 0 && f.Enum.Has(s) {
		return s, "" // the code itself, the usual case
	}
	t := fold(s)
	if code, ok := user[t]; ok {
		return code, ""
	}
	for _, c := range f.Enum.Choices {
		if t == fold(c.Code) || t == fold(c.LabelZH) || t == fold(c.LabelEN) {
			return c.Code, ""
		}
	}
	if st := stripSuffixes(t); st != "" {
		for _, c := range f.Enum.Choices {
			if st == stripSuffixes(fold(c.LabelZH)) {
				return c.Code, ""
			}
		}
	}
	var words map[string][]string
	switch f.Enum.Name {
	case "risk_grade":
		words = gradeWords
	case "warning_level":
		words = warningWords
	}
	for code, ws := range words {
		for _, w := range ws {
			if t == w {
				return code, ""
			}
		}
	}
	labels := make([]string, 0, len(f.Enum.Choices))
	for _, c := range f.Enum.Choices {
		labels = append(labels, c.Code+" "+c.LabelZH)
	}
	return "", "is not one of " + strings.Join(labels, ", ")
}

// short truncates a value quoted in a reason to 60 characters.
func short(s string) string {
	r := []rune(s)
	if len(r) <= 60 {
		return s
	}
	return string(r[:60]) + "…"
}
