package index

import (
	"context"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/paulmach/orb"

	"riskmap/feature"
	"riskmap/layers"
)

// checkCodes checks every record of every layer: its Summary codes against its
// Props (nulls, enum ranks, booleans, CodeProp for the rest), its interned texts
// numbered equal exactly when equal, and the text table holding exactly the texts
// of the current records, each counted once per holder.
func checkCodes(t *testing.T, ix *Index) {
	t.Helper()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	for _, name := range ix.order {
		li := ix.layers[name]
		l := li.def
		byNumber := map[uint32]string{}
		holders := map[string]int32{}
		interned := map[int]bool{}
		for _, f := range li.texts.fields {
			interned[f.field] = true
		}
		for _, r := range li.byID {
			codes := r.SummaryCodes()
			j := 0
			for i, fd := range l.Fields {
				if !fd.Summary {
					continue
				}
				if j >= len(codes) {
					t.Fatalf("%s %d: %d codes, the layer has more Summary fields", name, r.ID, len(codes))
				}
				c := codes[j]
				j++
				v, ok := r.Prop(i)
				if !ok {
					t.Fatalf("%s %d: field %s unreadable", name, r.ID, fd.Name)
				}
				switch {
				case v.Kind == layers.PackedNull:
					if c != CodeNull {
						t.Errorf("%s %d %s: null coded %d", name, r.ID, fd.Name, c)
					}
				case v.Kind == layers.PackedEnum:
					if c != 1+uint32(v.Rank) {
						t.Errorf("%s %d %s: rank %d coded %d", name, r.ID, fd.Name, v.Rank, c)
					}
				case v.Kind == layers.PackedTrue || v.Kind == layers.PackedFalse:
					if want := map[bool]uint32{false: 1, true: 2}[v.Bool()]; c != want {
						t.Errorf("%s %d %s: %v coded %d", name, r.ID, fd.Name, v.Bool(), c)
					}
				case interned[i]:
					if c == CodeNull || c == CodeProp {
						t.Errorf("%s %d %s: text %q not numbered (%d)", name, r.ID, fd.Name, v.Text, c)
						continue
					}
					if s, seen := byNumber[c]; seen && s != v.Text {
						t.Errorf("%s: number %d for %q and %q", name, c-1, s, v.Text)
					}
					byNumber[c] = v.Text
					holders[v.Text]++
					if li.texts.texts[c-1] != v.Text {
						t.Errorf("%s: number %d is %q in the table, %q in record %d", name, c-1, li.texts.texts[c-1], v.Text, r.ID)
					}
				default:
					if c != CodeProp {
						t.Errorf("%s %d %s: %v coded %d, want CodeProp", name, r.ID, fd.Name, v, c)
					}
				}
			}
			if j != len(codes) {
				t.Errorf("%s %d: %d codes for %d Summary fields", name, r.ID, len(codes), j)
			}
		}
		if len(byNumber) != len(holders) {
			t.Errorf("%s: %d numbers for %d distinct texts", name, len(byNumber), len(holders))
		}
		if li.texts.len() != len(holders) {
			t.Errorf("%s: the table holds %d texts, the records %d", name, li.texts.len(), len(holders))
		}
		for s, n := range holders {
			if id, ok := li.texts.ids[s]; !ok || li.texts.refs[id] != n {
				t.Errorf("%s: %q held by %d records, counted %d", name, s, n, li.texts.refs[id])
			}
		}
	}
}

// TestSummaryCodes: after inserts, renames, deletes and reinserts (which free
// numbers and reuse them), codes match the properties and equal numbers mean equal
// texts; a Load starts a new table.
func TestSummaryCodes(t *testing.T) {
	ix, fs := randomIndex(t, 300, 11)
	checkCodes(t, ix)
	r := rand.New(rand.NewPCG(5, 5))
	names := []string{"东门", "翠竹", "黄贝", "桂园", ""} // few names: many share numbers
	for round := range 40 {
		var ms []Mutation
		for range 20 {
			f := fs[r.IntN(len(fs))]
			switch r.IntN(4) {
			case 0:
				ms = append(ms, Mutation{feature.Delete, f})
			case 1:
				f.Props = cloneProps(f.Props)
				f.Props["name"] = nil
				ms = append(ms, Mutation{feature.Update, f})
			default:
				f.Props = cloneProps(f.Props)
				f.Props["name"] = names[r.IntN(len(names))]
				ms = append(ms, Mutation{feature.Update, f})
			}
		}
		if _, err := ix.Apply(ms...); err != nil {
			t.Fatal(err)
		}
		checkCodes(t, ix)
		if t.Failed() {
			t.Fatalf("after round %d", round)
		}
	}
	// Every name deleted: the table is empty and its numbers free.
	var ms []Mutation
	for _, f := range fs {
		ms = append(ms, Mutation{feature.Delete, f})
	}
	if _, err := ix.Apply(ms...); err != nil {
		t.Fatal(err)
	}
	checkCodes(t, ix)
	for _, li := range ix.layers {
		if li.texts.len() != 0 {
			t.Errorf("%s: %d texts left after deleting everything", li.def.Name, li.texts.len())
		}
	}
	src := sliceSource(fs)
	if err := ix.Load(context.Background(), src, nil); err != nil {
		t.Fatal(err)
	}
	checkCodes(t, ix)
}

func cloneProps(p map[string]any) map[string]any {
	out := make(map[string]any, len(p))
	for k, v := range p {
		out[k] = v
	}
	return out
}

type sliceSource []feature.Feature

func (s sliceSource) Stream(_ context.Context, layer string, fn func(feature.Feature) error) error {
	for _, f := range s {
		if f.Layer == layer {
			if err := fn(f); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestMercatorPoint: points carry their Web Mercator position, computed as Mercator
// does (the tiles rely on it to the bit); other geometries none.
func TestMercatorPoint(t *testing.T) {
	reg := layers.New()
	rp, _ := reg.Layer(layers.RiskPoints)
	rd, _ := reg.Layer(layers.RectifiedRoads)
	for _, p := range []orb.Point{{114.118, 22.548}, {-180, 85.06}, {180, -89}, {0, 0}} {
		rec, err := newRecord(reg, rp, riskPoint(1, p, "low"))
		if err != nil {
			t.Fatal(err)
		}
		x, y, ok := rec.MercatorPoint()
		wx, wy := Mercator(p)
		if !ok || x != wx || y != wy {
			t.Errorf("%v: MercatorPoint %v, %v, %v; Mercator %v, %v", p, x, y, ok, wx, wy)
		}
		if x < -1e-12 || x > 1+1e-12 || y < -1e-12 || y > 1+1e-12 {
			t.Errorf("%v: %v, %v outside the world square", p, x, y)
		}
	}
	if x, y := Mercator(orb.Point{0, 0}); x != 0.5 || y != 0.5 {
		t.Errorf("Mercator(0, 0) = %v, %v", x, y)
	}
	rec, err := newRecord(reg, rd, road(1, orb.LineString{{114, 22}, {114.1, 22.1}}))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := rec.MercatorPoint(); ok {
		t.Error("a line has a Mercator point")
	}
	// The bound's corners as Mercator projects them, to the bit.
	x0, y0 := Mercator(orb.Point{rec.Bound.Min[0], rec.Bound.Max[1]})
	x1, y1 := Mercator(orb.Point{rec.Bound.Max[0], rec.Bound.Min[1]})
	if a, b, c, d := rec.MercatorBound(); a != x0 || b != y0 || c != x1 || d != y1 {
		t.Errorf("MercatorBound %v %v %v %v, want %v %v %v %v", a, b, c, d, x0, y0, x1, y1)
	}
	pt, _ := newRecord(reg, rp, riskPoint(1, orb.Point{114.1, 22.5}, "low"))
	px, py, _ := pt.MercatorPoint()
	if a, b, c, d := pt.MercatorBound(); a != px || c != px || b != py || d != py {
		t.Errorf("a point's MercatorBound %v %v %v %v, want its position %v %v", a, b, c, d, px, py)
	}
}

// TestRecordHotFields: the fields a tile reads of every feature stay in the
// record's first 64 bytes.
func TestRecordHotFields(t *testing.T) {
	var r Record
	if end := unsafe.Offsetof(r.nCodes) + unsafe.Sizeof(r.nCodes); end > 64 {
		t.Errorf("the tile fields end at byte %d, past 64", end)
	}
}
