package mvt

// An independent, strict MVT 2.1 decoder built on protowire, used to check
// what the writer produces byte by byte: wire types, field order, minimal
// varints, packed fields, command ids and counts, ClosePath, zigzag deltas and
// the geometry rules of the specification.

import (
	"errors"
	"fmt"
	"math"
	"math/big"

	"google.golang.org/protobuf/encoding/protowire"
)

type decTile struct {
	Layers []decLayer
}

type decLayer struct {
	Name     string
	Version  uint32
	Extent   uint32
	Keys     []string
	Values   []Value
	Features []decFeature
}

type decFeature struct {
	ID    uint64
	HasID bool
	Tags  []uint32
	Type  int
	Parts []part
}

// part is one MoveTo command with what follows it: for POINT all the points of
// the single MoveTo; for LINESTRING one line; for POLYGON one ring without its
// closing point (Closed reports the ClosePath).
type part struct {
	Pts    [][2]int32
	Closed bool
}

// field is one decoded protobuf field: its number, wire type, and either its
// varint/fixed value or its bytes.
type field struct {
	num protowire.Number
	typ protowire.Type
	v   uint64
	b   []byte
}

// fields splits a message into its fields, rejecting malformed input,
// non-minimal varints and groups.
func fields(b []byte) ([]field, error) {
	var out []field
	for len(b) > 0 {
		tag, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		if n != protowire.SizeVarint(tag) {
			return nil, errors.New("non-minimal tag varint")
		}
		num, typ := protowire.DecodeTag(tag)
		if !num.IsValid() {
			return nil, fmt.Errorf("invalid field number %d", num)
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
			if n >= 0 && n != protowire.SizeVarint(f.v) {
				return nil, errors.New("non-minimal varint")
			}
		case protowire.Fixed64Type:
			f.v, n = protowire.ConsumeFixed64(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.v = uint64(v)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		default:
			return nil, fmt.Errorf("field %d: unexpected wire type %d", num, typ)
		}
		if n < 0 {
			return nil, fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		out = append(out, f)
	}
	return out, nil
}

// packed decodes a packed repeated uint32 field.
func packed(b []byte) ([]uint32, error) {
	var out []uint32
	for len(b) > 0 {
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		if n != protowire.SizeVarint(v) {
			return nil, errors.New("non-minimal packed varint")
		}
		if v > math.MaxUint32 {
			return nil, fmt.Errorf("packed value %d exceeds uint32", v)
		}
		out = append(out, uint32(v))
		b = b[n:]
	}
	return out, nil
}

// want checks a field's wire type and that fields come in non-decreasing
// field-number order (the writer's canonical order).
func want(f field, typ protowire.Type, last *protowire.Number) error {
	if f.typ != typ {
		return fmt.Errorf("field %d: wire type %d, want %d", f.num, f.typ, typ)
	}
	if f.num < *last {
		return fmt.Errorf("field %d after field %d", f.num, *last)
	}
	*last = f.num
	return nil
}

// decodeTile decodes and validates a whole tile.
func decodeTile(b []byte) (decTile, error) {
	var t decTile
	fs, err := fields(b)
	if err != nil {
		return t, err
	}
	for _, f := range fs {
		if f.num != 3 || f.typ != protowire.BytesType {
			return t, fmt.Errorf("tile: unexpected field %d type %d", f.num, f.typ)
		}
		l, err := decodeLayer(f.b)
		if err != nil {
			return t, fmt.Errorf("layer %d: %w", len(t.Layers), err)
		}
		t.Layers = append(t.Layers, l)
	}
	return t, nil
}

func decodeLayer(b []byte) (decLayer, error) {
	l := decLayer{Version: 1, Extent: 4096}
	fs, err := fields(b)
	if err != nil {
		return l, err
	}
	var last protowire.Number
	var haveName, haveVersion bool
	var raw [][]byte
	for _, f := range fs {
		switch f.num {
		case 1:
			if err := want(f, protowire.BytesType, &last); err != nil {
				return l, err
			}
			if haveName {
				return l, errors.New("two names")
			}
			haveName = true
			l.Name = string(f.b)
		case 2:
			if err := want(f, protowire.BytesType, &last); err != nil {
				return l, err
			}
			raw = append(raw, f.b)
		case 3:
			if err := want(f, protowire.BytesType, &last); err != nil {
				return l, err
			}
			l.Keys = append(l.Keys, string(f.b))
		case 4:
			if err := want(f, protowire.BytesType, &last); err != nil {
				return l, err
			}
			v, err := decodeValue(f.b)
			if err != nil {
				return l, fmt.Errorf("value %d: %w", len(l.Values), err)
			}
			l.Values = append(l.Values, v)
		case 5:
			if err := want(f, protowire.VarintType, &last); err != nil {
				return l, err
			}
			l.Extent = uint32(f.v)
		case 15:
			if err := want(f, protowire.VarintType, &last); err != nil {
				return l, err
			}
			haveVersion = true
			l.Version = uint32(f.v)
		default:
			return l, fmt.Errorf("unknown layer field %d", f.num)
		}
	}
	if !haveName || !haveVersion {
		return l, errors.New("layer without name or version")
	}
	if l.Version != 2 {
		return l, fmt.Errorf("version %d", l.Version)
	}
	if len(raw) == 0 {
		return l, errors.New("layer without features")
	}
	for i, fb := range raw {
		f, err := decodeFeature(fb, len(l.Keys), len(l.Values))
		if err != nil {
			return l, fmt.Errorf("feature %d: %w", i, err)
		}
		l.Features = append(l.Features, f)
	}
	return l, nil
}

func decodeValue(b []byte) (Value, error) {
	fs, err := fields(b)
	if err != nil {
		return Value{}, err
	}
	if len(fs) != 1 {
		return Value{}, fmt.Errorf("value message with %d fields", len(fs))
	}
	f := fs[0]
	var last protowire.Number
	switch f.num {
	case 1:
		if err := want(f, protowire.BytesType, &last); err != nil {
			return Value{}, err
		}
		return String(string(f.b)), nil
	case 3:
		if err := want(f, protowire.Fixed64Type, &last); err != nil {
			return Value{}, err
		}
		return Double(math.Float64frombits(f.v)), nil
	case 6:
		if err := want(f, protowire.VarintType, &last); err != nil {
			return Value{}, err
		}
		return Int(protowire.DecodeZigZag(f.v)), nil
	case 7:
		if err := want(f, protowire.VarintType, &last); err != nil {
			return Value{}, err
		}
		if f.v > 1 {
			return Value{}, fmt.Errorf("bool value %d", f.v)
		}
		return Bool(f.v == 1), nil
	}
	return Value{}, fmt.Errorf("unexpected value field %d", f.num)
}

func decodeFeature(b []byte, nKeys, nValues int) (decFeature, error) {
	var f decFeature
	fs, err := fields(b)
	if err != nil {
		return f, err
	}
	var last protowire.Number
	var geom []uint32
	var haveType, haveGeom bool
	for _, fl := range fs {
		if fl.num == last {
			return f, fmt.Errorf("field %d twice", fl.num)
		}
		switch fl.num {
		case 1:
			if err := want(fl, protowire.VarintType, &last); err != nil {
				return f, err
			}
			f.ID, f.HasID = fl.v, true
		case 2:
			if err := want(fl, protowire.BytesType, &last); err != nil {
				return f, err
			}
			if f.Tags, err = packed(fl.b); err != nil {
				return f, err
			}
			if len(f.Tags) == 0 {
				return f, errors.New("empty packed tags written")
			}
		case 3:
			if err := want(fl, protowire.VarintType, &last); err != nil {
				return f, err
			}
			haveType = true
			f.Type = int(fl.v)
		case 4:
			if err := want(fl, protowire.BytesType, &last); err != nil {
				return f, err
			}
			haveGeom = true
			if geom, err = packed(fl.b); err != nil {
				return f, err
			}
		default:
			return f, fmt.Errorf("unknown feature field %d", fl.num)
		}
	}
	if !haveType || !haveGeom {
		return f, errors.New("feature without type or geometry")
	}
	if len(f.Tags)%2 != 0 {
		return f, errors.New("odd number of tags")
	}
	for i := 0; i < len(f.Tags); i += 2 {
		if int(f.Tags[i]) >= nKeys || int(f.Tags[i+1]) >= nValues {
			return f, fmt.Errorf("tag pair %d,%d out of range", f.Tags[i], f.Tags[i+1])
		}
	}
	f.Parts, err = decodeGeometry(f.Type, geom)
	return f, err
}

// decodeGeometry decodes a command stream and checks it against the rules of
// the specification for the geometry type.
func decodeGeometry(typ int, g []uint32) ([]part, error) {
	var cx, cy int32
	var parts []part
	pos := 0
	cmd := func() (id, count uint32, err error) {
		if pos >= len(g) {
			return 0, 0, errors.New("geometry ends before command")
		}
		c := g[pos]
		pos++
		return c & 7, c >> 3, nil
	}
	pts := func(count uint32, lineTo bool) ([][2]int32, error) {
		if pos+2*int(count) > len(g) {
			return nil, errors.New("geometry ends inside parameters")
		}
		out := make([][2]int32, 0, count)
		for range count {
			dx := int32(g[pos]>>1) ^ -int32(g[pos]&1)
			dy := int32(g[pos+1]>>1) ^ -int32(g[pos+1]&1)
			pos += 2
			if lineTo && dx == 0 && dy == 0 {
				return nil, errors.New("LineTo with a zero-length segment")
			}
			cx += dx
			cy += dy
			out = append(out, [2]int32{cx, cy})
		}
		return out, nil
	}
	if len(g) == 0 {
		return nil, errors.New("empty geometry")
	}
	switch typ {
	case 1:
		id, count, err := cmd()
		if err != nil {
			return nil, err
		}
		if id != 1 || count == 0 {
			return nil, fmt.Errorf("point geometry starts with command %d count %d", id, count)
		}
		p, err := pts(count, false)
		if err != nil {
			return nil, err
		}
		if pos != len(g) {
			return nil, errors.New("point geometry with more than one command")
		}
		return []part{{Pts: p}}, nil
	case 2, 3:
		for pos < len(g) {
			id, count, err := cmd()
			if err != nil {
				return nil, err
			}
			if id != 1 || count != 1 {
				return nil, fmt.Errorf("part starts with command %d count %d", id, count)
			}
			first, err := pts(1, false)
			if err != nil {
				return nil, err
			}
			id, count, err = cmd()
			if err != nil {
				return nil, err
			}
			if id != 2 || count == 0 || (typ == 3 && count < 2) {
				return nil, fmt.Errorf("MoveTo followed by command %d count %d", id, count)
			}
			rest, err := pts(count, true)
			if err != nil {
				return nil, err
			}
			p := part{Pts: append(first, rest...)}
			if typ == 3 {
				id, count, err = cmd()
				if err != nil {
					return nil, err
				}
				if id != 7 || count != 1 {
					return nil, fmt.Errorf("ring ends with command %d count %d", id, count)
				}
				p.Closed = true
				a := areaSign(p.Pts)
				if a == 0 {
					return nil, errors.New("ring with zero area")
				}
				if len(parts) == 0 && a < 0 {
					return nil, errors.New("first ring is not exterior")
				}
			}
			parts = append(parts, p)
		}
		return parts, nil
	}
	return nil, fmt.Errorf("geometry type %d", typ)
}

// areaSign is the sign of the test's own shoelace sum (twice the signed area,
// y down, positive = exterior), computed exactly with math/big.
func areaSign(r [][2]int32) int {
	var a, t big.Int
	for i := range r {
		p, q := r[i], r[(i+1)%len(r)]
		a.Add(&a, t.SetInt64(int64(p[0])*int64(q[1]))) // |product| <= 2^62
		a.Sub(&a, t.SetInt64(int64(q[0])*int64(p[1])))
	}
	return a.Sign()
}
