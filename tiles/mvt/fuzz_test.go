package mvt

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"testing"

	"github.com/paulmach/orb/encoding/mvt"
)

// fuzzInput hands out values from the fuzz bytes; past the end it gives zeros.
type fuzzInput struct{ b []byte }

func (in *fuzzInput) byte() byte {
	if len(in.b) == 0 {
		return 0
	}
	c := in.b[0]
	in.b = in.b[1:]
	return c
}

func (in *fuzzInput) uint64() uint64 {
	var buf [8]byte
	n := copy(buf[:], in.b)
	in.b = in.b[n:]
	return binary.LittleEndian.Uint64(buf[:])
}

// coord gives a coordinate: tiny (many duplicates), byte-sized, int16-sized
// (outside a 4096 tile) or large, up to ±2^21.
func (in *fuzzInput) coord() int32 {
	switch in.byte() % 4 {
	case 0:
		return int32(int8(in.byte())) >> 5
	case 1:
		return int32(int8(in.byte()))
	case 2:
		return int32(int16(in.byte()) | int16(in.byte())<<8)
	default:
		return int32(uint32(in.uint64())) >> 10
	}
}

// points gives up to 15 points; some repeat the previous one.
func (in *fuzzInput) points() [][2]int32 {
	n := int(in.byte() % 16)
	out := make([][2]int32, 0, n)
	for range n {
		if len(out) > 0 && in.byte()%4 == 0 {
			out = append(out, out[len(out)-1])
			continue
		}
		out = append(out, [2]int32{in.coord(), in.coord()})
	}
	if len(out) > 2 && in.byte()%4 == 0 {
		out = append(out, out[0]) // explicitly closed
	}
	return out
}

func (in *fuzzInput) value() Value {
	switch in.byte() % 4 {
	case 0:
		n := int(in.byte() % 8)
		s := make([]byte, 0, n)
		for range n {
			s = append(s, in.byte()%4+'a') // small alphabet: duplicates
		}
		if in.byte()%8 == 0 {
			s = append(s, "风险"...)
		}
		if in.byte()%16 == 0 {
			s = append(s, 0xff) // invalid UTF-8 passes through as bytes
		}
		return String(string(s))
	case 1:
		if in.byte()%2 == 0 {
			return Int(int64(int8(in.byte())))
		}
		return Int(int64(in.uint64()))
	case 2:
		if in.byte()%2 == 0 {
			return Double(float64(int8(in.byte())) / 4)
		}
		return Double(math.Float64frombits(in.uint64()))
	default:
		return Bool(in.byte()%2 == 0)
	}
}

// fuzzModel is the straightforward, allocating model of what a Layer should
// write, kept next to the Layer while the fuzz calls are made.
type fuzzModel struct {
	values   []Value
	viaValue []bool // entry added by Value (de-duplicated) rather than AddValue
	features []wantFeature
	open     bool
	cur      wantFeature
	curTags  [][2]uint32
	geomSet  bool
}

func (m *fuzzModel) value(v Value, dedup bool) uint32 {
	if dedup {
		for i, w := range m.values {
			if m.viaValue[i] && sameValue(v, w) {
				return uint32(i)
			}
		}
	}
	m.values = append(m.values, v)
	m.viaValue = append(m.viaValue, dedup)
	return uint32(len(m.values) - 1)
}

func dedup(p [][2]int32) [][2]int32 {
	var out [][2]int32
	for i, q := range p {
		if i == 0 || q != p[i-1] {
			out = append(out, q)
		}
	}
	return out
}

func modelLines(lines [][][2]int32) []part {
	var out []part
	for _, l := range lines {
		if d := dedup(l); len(d) >= 2 {
			out = append(out, part{Pts: d})
		}
	}
	return out
}

func modelPolygons(polys [][][][2]int32) []part {
	var out []part
	for _, poly := range polys {
		for i, r := range poly {
			d := dedup(r)
			if len(d) > 1 && d[len(d)-1] == d[0] {
				d = d[:len(d)-1]
			}
			if len(d) < 3 || areaSign(d) == 0 {
				if i == 0 {
					break
				}
				continue
			}
			out = append(out, part{Pts: d, Closed: true})
		}
	}
	return out
}

// orient makes an exterior ring positive and a hole negative, as the caller
// must; zero-area rings stay as they are.
func orient(r [][2]int32, exterior bool) [][2]int32 {
	if s := areaSign(r); (exterior && s < 0) || (!exterior && s > 0) {
		slices.Reverse(r)
	}
	return r
}

// runFuzz drives l (and the model) with the calls encoded in data and returns
// the tile and the expected features.
func runFuzz(t *testing.T, l *Layer, data []byte) ([]byte, []wantFeature) {
	in := &fuzzInput{b: data}
	m := &fuzzModel{}
	end := func() {
		kept := l.EndFeature()
		want := len(m.cur.Parts) > 0
		if kept != want {
			t.Fatalf("EndFeature() = %v, want %v", kept, want)
		}
		if want {
			for _, tg := range m.curTags {
				m.cur.Tags = append(m.cur.Tags, kv{testKeys[tg[0]], m.values[tg[1]]})
			}
			m.features = append(m.features, m.cur)
		}
		m.open = false
	}
	begin := func(id uint64, hasID bool) {
		if m.open {
			end()
		}
		l.BeginFeature(id, hasID)
		m.open, m.geomSet = true, false
		m.cur = wantFeature{HasID: hasID}
		if hasID {
			m.cur.ID = id
		}
		m.curTags = m.curTags[:0]
	}
	geometry := func(typ int) {
		if !m.open || m.geomSet {
			begin(0, false)
		}
		m.geomSet = true
		m.cur.Type = typ
	}
	for ops := 0; len(in.b) > 0 && ops < 300; ops++ {
		switch in.byte() % 11 {
		case 0:
			id := uint64(in.byte())
			if in.byte()%4 == 0 {
				id = in.uint64()
			}
			begin(id, in.byte()%3 != 0)
		case 1:
			if !m.open || len(m.values) == 0 {
				continue
			}
			k := uint32(in.byte()) % uint32(len(testKeys))
			v := uint32(in.byte()) % uint32(len(m.values))
			l.Tag(k, v)
			m.curTags = append(m.curTags, [2]uint32{k, v})
		case 2, 3:
			v := in.value()
			dd := in.byte()%2 == 0
			var got uint32
			if dd {
				got = l.Value(v)
			} else {
				got = l.AddValue(v)
			}
			if want := m.value(v, dd); got != want {
				t.Fatalf("value index %d, want %d", got, want)
			}
		case 4:
			geometry(1)
			x, y := in.coord(), in.coord()
			l.Point(x, y)
			m.cur.Parts = []part{{Pts: [][2]int32{{x, y}}}}
		case 5:
			geometry(1)
			p := in.points()
			l.MultiPoint(p)
			if len(p) > 0 {
				m.cur.Parts = []part{{Pts: p}}
			}
		case 6:
			geometry(2)
			lines := make([][][2]int32, in.byte()%4)
			for i := range lines {
				lines[i] = in.points()
			}
			l.LineStrings(lines)
			m.cur.Parts = modelLines(lines)
		case 7, 8:
			geometry(3)
			polys := make([][][][2]int32, in.byte()%4)
			for i := range polys {
				polys[i] = make([][][2]int32, in.byte()%4)
				for j := range polys[i] {
					polys[i][j] = orient(in.points(), j == 0)
				}
			}
			l.Polygons(polys)
			m.cur.Parts = modelPolygons(polys)
		case 9:
			if m.open {
				end()
			}
		case 10:
			if in.byte()%8 == 0 {
				l.Reset()
				*m = fuzzModel{}
			}
		}
	}
	if m.open {
		end()
	}
	if l.Len() != len(m.features) {
		t.Fatalf("Len() = %d, want %d", l.Len(), len(m.features))
	}
	return l.AppendTile(nil), m.features
}

func FuzzLayer(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 1, 1, 2, 0, 1, 'x', 0, 0, 1, 0, 0, 4, 1, 10, 1, 20})
	f.Add([]byte("\x07\x02\x03\x05\x01\x00\x01\x10\x01\x00\x01\x10\x01\x10\x01\x00\x01\x10\x09"))
	f.Add([]byte("\x06\x02\x04\x00\x01\x01\x02\x01\x03\x03\x00\x00\x00\x00\x00\x00\x05\x03\x02\x00\x01\x02\x03"))
	f.Add(bytes.Repeat([]byte{8, 3, 3, 5, 1, 200, 1, 100, 2, 1, 2, 3, 9, 9, 7, 3}, 8))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := NewLayer("fuzz", 4096, testKeys)
		tile, want := runFuzz(t, l, data)

		// The same calls on the reused layer give the same bytes.
		l.Reset()
		again, _ := runFuzz(t, l, data)
		if !bytes.Equal(tile, again) {
			t.Fatal("reused layer encodes differently")
		}

		if len(want) == 0 {
			if len(tile) != 0 {
				t.Fatalf("empty layer wrote %d bytes", len(tile))
			}
			return
		}
		dec, err := decodeTile(tile)
		if err != nil {
			t.Fatalf("protowire decode: %v", err)
		}
		if len(dec.Layers) != 1 {
			t.Fatalf("%d layers", len(dec.Layers))
		}
		checkLayer(t, dec.Layers[0], "fuzz", 4096, testKeys, want)

		layers, err := mvt.Unmarshal(tile)
		if err != nil {
			t.Fatalf("orb decode: %v", err)
		}
		if len(layers) != 1 {
			t.Fatalf("orb: %d layers", len(layers))
		}
		checkOrbLayer(t, layers[0], "fuzz", 4096, want)
	})
}
