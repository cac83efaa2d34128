package index

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"riskmap/layers"
)

func TestParseFilter(t *testing.T) {
	reg := layers.New()
	tests := []struct {
		query string
		check func(f Filter) bool
		param string // expected error parameter, "" = success
		why   string
	}{
		{"", func(f Filter) bool { return f.Layers == nil && f.Grades == 0 && f.MinCapacity == -1 }, "", ""},
		{"layers=all", func(f Filter) bool { return f.Layers == nil }, "", ""},
		{"layers=resources,risk_points", func(f Filter) bool { return strings.Join(f.Layers, ",") == "risk_points,resources" }, "", ""},
		{"grade=major,significant", func(f Filter) bool { return f.Grades == 1<<3|1<<2 }, "", ""},
		{"min_grade=significant", func(f Filter) bool { return f.Grades == 1<<3|1<<2 }, "", ""},
		{"min_warning=yellow", func(f Filter) bool { return f.Warnings == 1<<2|1<<3|1<<4 }, "", ""},
		{"warning=red", func(f Filter) bool { return f.Warnings == 1<<4 }, "", ""},
		{"kind=shelter&open=true&min_capacity=500", func(f Filter) bool { return f.Kind[0] == "shelter" && *f.Open && f.MinCapacity == 500 }, "", ""},
		{"status=open,rectifying&subdistrict=dongmen&category=fire", func(f Filter) bool { return len(f.Status) == 2 && f.Subdistrict[0] == "dongmen" }, "", ""},
		{"layers=bridges", nil, "layers", `"bridges" is not one of`},
		{"grade=critical", nil, "grade", `"critical" is not one of low, general, significant, major`},
		{"grade=major&min_grade=low", nil, "min_grade", "cannot be combined"},
		{"min_grade=low,major", nil, "min_grade", "takes one code"},
		{"warning=purple", nil, "warning", "not one of"},
		{"open=maybe", nil, "open", "not true or false"},
		{"min_capacity=-3", nil, "min_capacity", "whole number >= 0"},
		{"kind=", nil, "kind", "empty"},
		{"grade=low&grade=major", nil, "grade", "more than once"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			v, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			f, err := ParseFilter(reg, v)
			if tt.param == "" {
				if err != nil || !tt.check(f) {
					t.Fatalf("%+v, %v", f, err)
				}
				return
			}
			var fe *FilterError
			if !errors.As(err, &fe) || fe.Param != tt.param || !strings.Contains(fe.Reason, tt.why) {
				t.Fatalf("err = %v, want %s: ...%s...", err, tt.param, tt.why)
			}
		})
	}
}

func TestFilterMatchAbsentFields(t *testing.T) {
	ix, _ := randomIndex(t, 10, 1)
	rec, _, _ := ix.Get(layers.Resources, 1)
	// A grade condition never matches a layer without grades.
	if (&Filter{Grades: 0xF, MinCapacity: -1}).Match(rec) {
		t.Fatal("a resource matched a grade filter")
	}
	if !(&Filter{MinCapacity: -1}).Match(rec) {
		t.Fatal("the empty filter did not match")
	}
}

func FuzzParseFilter(f *testing.F) {
	f.Add("layers=risk_points&grade=major")
	f.Add("min_warning=yellow&open=true&min_capacity=10")
	f.Add("kind=shelter,%20rescue_team&status=open")
	reg := layers.New()
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		flt, err := ParseFilter(reg, v)
		if err != nil {
			var fe *FilterError
			if !errors.As(err, &fe) || fe.Param == "" || fe.Reason == "" {
				t.Fatalf("error %v is not a FilterError naming a parameter", err)
			}
			return
		}
		for _, l := range flt.Layers {
			if _, err := reg.Layer(l); err != nil {
				t.Fatalf("accepted layer %q", l)
			}
		}
	})
}

func TestValidatePolygon(t *testing.T) {
	sq := orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}
	tests := []struct {
		name string
		mp   orb.MultiPolygon
		want string // "" valid
	}{
		{"square", orb.MultiPolygon{{sq}}, ""},
		{"square with hole", orb.MultiPolygon{{sq, {{0.2, 0.2}, {0.2, 0.4}, {0.4, 0.4}, {0.2, 0.2}}}}, ""},
		{"bowtie", orb.MultiPolygon{{{{0, 0}, {1, 1}, {1, 0}, {0, 1}, {0, 0}}}}, "crosses itself"},
		{"open ring", orb.MultiPolygon{{sq[:4]}}, "must be closed"},
		{"too few points", orb.MultiPolygon{{{{0, 0}, {1, 1}, {0, 0}}}}, "at least 4 points"},
		{"lon 200", orb.MultiPolygon{{{{0, 0}, {200, 0}, {1, 1}, {0, 0}}}}, "outside lon"},
		{"hole crossing the shell", orb.MultiPolygon{{sq, {{0.5, 0.5}, {1.5, 0.5}, {1.5, 0.6}, {0.5, 0.5}}}}, "intersect"},
		{"spike", orb.MultiPolygon{{{{0, 0}, {2, 0}, {1, 0}, {1, 1}, {0, 0}}}}, "ring 0"},
		{"empty", orb.MultiPolygon{}, "no polygon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidatePolygon(tt.mp)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidPolygon) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ...%s...", err, tt.want)
			}
		})
	}
}
