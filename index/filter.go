package index

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"riskmap/layers"
)

// Filter selects features; the zero Filter selects every feature of every layer.
// One grammar serves every query (and the tiles): see ParseFilter.
type Filter struct {
	// Layers to search, in registry order; nil means all.
	Layers []string
	// Grades and Warnings are bit sets over the ranks of the two scales (bit i = rank
	// i); 0 means no condition. A feature without the field never matches a condition.
	Grades, Warnings uint16
	// Enum conditions: the feature's code must be one of these (nil = no condition).
	Category, Kind, Status, Subdistrict []string
	// Open: nil no condition; otherwise the feature's open flag must equal *Open.
	Open *bool
	// MinCapacity: -1 no condition; otherwise capacity >= MinCapacity (persons).
	MinCapacity int64
}

// FilterParams returns the query parameter names of the filter grammar, as a new
// slice.
func FilterParams() []string {
	return []string{"layers", "grade", "min_grade", "warning", "min_warning",
		"category", "kind", "status", "subdistrict", "open", "min_capacity"}
}

// IsFilterParam reports whether name is a query parameter of the filter grammar.
func IsFilterParam(name string) bool { return slices.Contains(FilterParams(), name) }

// FilterError says which parameter is wrong and why. It is what ParseFilter returns.
type FilterError struct {
	Param  string
	Reason string
}

func (e *FilterError) Error() string { return e.Param + ": " + e.Reason }

// ParseFilter reads the filter grammar from query parameters:
//
//	layers=a,b | all        grade=major,significant   min_grade=significant
//	warning=orange,red      min_warning=yellow        category=, kind=, status=, subdistrict=
//	open=true|false         min_capacity=N
//
// Lists are comma-separated codes from the registry. Parameters that are not part of
// the grammar are ignored here; callers reject names they do not know. A parameter
// given twice, an unknown code or a malformed number is a *FilterError.
func ParseFilter(reg *layers.Registry, params map[string][]string) (Filter, error) {
	f := Filter{MinCapacity: -1}
	get := func(name string) (string, bool, error) {
		vs, ok := params[name]
		if !ok {
			return "", false, nil
		}
		if len(vs) != 1 {
			return "", false, &FilterError{name, "given more than once"}
		}
		if strings.TrimSpace(vs[0]) == "" {
			return "", false, &FilterError{name, "is empty"}
		}
		return vs[0], true, nil
	}
	list := func(name string, allowed []string) ([]string, error) {
		v, ok, err := get(name)
		if err != nil || !ok {
			return nil, err
		}
		var out []string
		for _, c := range strings.Split(v, ",") {
			c = strings.TrimSpace(c)
			if !slices.Contains(allowed, c) {
				return nil, &FilterError{name, fmt.Sprintf("%q is not one of %s", c, strings.Join(allowed, ", "))}
			}
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
		return out, nil
	}
	var err error

	var names []string
	for _, l := range reg.Layers() {
		names = append(names, l.Name)
	}
	if v, ok, e := get("layers"); e != nil {
		return f, e
	} else if ok && v != "all" {
		if f.Layers, err = list("layers", names); err != nil {
			return f, err
		}
		// registry order, so results are ordered the same whatever the request's order
		slices.SortFunc(f.Layers, func(a, b string) int { return slices.Index(names, a) - slices.Index(names, b) })
	}

	scale := func(name, minName string, e layers.Enum) (uint16, error) {
		codes, err := list(name, e.Codes())
		if err != nil {
			return 0, err
		}
		minCodes, err := list(minName, e.Codes())
		if err != nil {
			return 0, err
		}
		if codes != nil && minCodes != nil {
			return 0, &FilterError{minName, fmt.Sprintf("cannot be combined with %s", name)}
		}
		var bits uint16
		for _, c := range codes {
			bits |= 1 << e.Rank(c)
		}
		if len(minCodes) > 1 {
			return 0, &FilterError{minName, "takes one code"}
		}
		if len(minCodes) == 1 {
			for r := e.Rank(minCodes[0]); r < len(e.Choices); r++ {
				bits |= 1 << r
			}
		}
		return bits, nil
	}
	if f.Grades, err = scale("grade", "min_grade", reg.RiskGrades()); err != nil {
		return f, err
	}
	if f.Warnings, err = scale("warning", "min_warning", reg.WarningLevels()); err != nil {
		return f, err
	}

	enums := []struct {
		param, field string
		dst          *[]string
	}{
		{"category", "category", &f.Category},
		{"kind", "kind", &f.Kind},
		{"status", "hazard_status", &f.Status},
		{"subdistrict", "subdistrict", &f.Subdistrict},
	}
	for _, e := range enums {
		if *e.dst, err = list(e.param, reg.FieldCodes(e.field)); err != nil {
			return f, err
		}
	}
	if v, ok, e := get("open"); e != nil {
		return f, e
	} else if ok {
		b, perr := strconv.ParseBool(v)
		if perr != nil {
			return f, &FilterError{"open", fmt.Sprintf("%q is not true or false", v)}
		}
		f.Open = &b
	}
	if v, ok, e := get("min_capacity"); e != nil {
		return f, e
	} else if ok {
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || n < 0 {
			return f, &FilterError{"min_capacity", fmt.Sprintf("%q is not a whole number >= 0", v)}
		}
		f.MinCapacity = n
	}
	return f, nil
}

// selects reports whether the filter's layer list includes layer.
func (f *Filter) selects(layer string) bool {
	return f.Layers == nil || slices.Contains(f.Layers, layer)
}

// Match reports whether r passes every condition of f (the layer list included).
func (f *Filter) Match(r *Record) bool {
	return f.selects(r.Layer) && f.matchAttrs(r)
}

// HasAttrs reports whether f has any condition on attributes (beyond its layer
// list): without one, every feature of a selected layer passes.
func (f *Filter) HasAttrs() bool { return f.hasAttrs() }

// hasAttrs reports whether f has any condition on attributes (beyond layers); when
// it has none, a query need not read a candidate's record to filter it.
func (f *Filter) hasAttrs() bool {
	return f.Grades != 0 || f.Warnings != 0 || f.Category != nil || f.Kind != nil ||
		f.Status != nil || f.Subdistrict != nil || f.Open != nil || f.MinCapacity >= 0
}

// matchAttrs is Match without the layer list, for searches that only visit the
// selected layers' trees.
func (f *Filter) matchAttrs(r *Record) bool {
	if f.Grades != 0 && (r.Grade < 0 || f.Grades&(1<<r.Grade) == 0) {
		return false
	}
	if f.Warnings != 0 && (r.Warning < 0 || f.Warnings&(1<<r.Warning) == 0) {
		return false
	}
	if !codeIn(f.Category, r.Category) || !codeIn(f.Kind, r.Kind) ||
		!codeIn(f.Status, r.Status) || !codeIn(f.Subdistrict, r.Subdistrict) {
		return false
	}
	if f.Open != nil && (r.Open < 0 || (r.Open == 1) != *f.Open) {
		return false
	}
	if f.MinCapacity >= 0 && (r.Capacity < 0 || r.Capacity < f.MinCapacity) {
		return false
	}
	return true
}

func codeIn(allowed []string, code string) bool {
	return allowed == nil || (code != "" && slices.Contains(allowed, code))
}
