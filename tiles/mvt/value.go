package mvt

import (
	"encoding/binary"
	"math"
)

// ValueKind says which field of a Value holds the property value and how it is
// encoded in the tile.
type ValueKind uint8

// Value kinds. The zero ValueKind is KindString, so the zero Value is the
// empty string.
const (
	// KindString is a string (Value.S), written as string_value.
	KindString ValueKind = iota
	// KindInt is a signed integer (Value.I), written as sint_value (zigzag).
	KindInt
	// KindDouble is a float64 (Value.F), written as double_value.
	KindDouble
	// KindBool is a boolean (Value.B), written as bool_value.
	KindBool
)

// Value is a property value. Kind selects the field that holds it; the other
// fields are ignored (and do not affect de-duplication in Layer.Value).
type Value struct {
	Kind ValueKind
	S    string  // KindString; should be valid UTF-8 (not checked)
	I    int64   // KindInt
	F    float64 // KindDouble
	B    bool    // KindBool
}

// String returns a string Value.
func String(s string) Value { return Value{Kind: KindString, S: s} }

// Int returns an integer Value, encoded as sint_value.
func Int(i int64) Value { return Value{Kind: KindInt, I: i} }

// Double returns a float64 Value, encoded as double_value.
func Double(f float64) Value { return Value{Kind: KindDouble, F: f} }

// Bool returns a boolean Value.
func Bool(b bool) Value { return Value{Kind: KindBool, B: b} }

// AddValue appends v to the layer's value table and returns its index, for
// Tag. It does not de-duplicate: use it for values known to be unique within
// a tile (names, ids); use Value for repeated ones. It panics on an unknown
// Kind.
func (l *Layer) AddValue(v Value) uint32 {
	b := l.values
	switch v.Kind {
	case KindString:
		n := uint64(len(v.S))
		b = append(b, tagLayerValue)
		b = appendVarint(b, 1+uint64(sizeVarint(n))+n)
		b = appendString(b, tagValueString, v.S)
	case KindInt:
		z := uint64(v.I<<1) ^ uint64(v.I>>63)
		b = append(b, tagLayerValue, byte(1+sizeVarint(z)), tagValueSint)
		b = appendVarint(b, z)
	case KindDouble:
		b = append(b, tagLayerValue, 9, tagValueDouble)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.F))
	case KindBool:
		var x byte
		if v.B {
			x = 1
		}
		b = append(b, tagLayerValue, 2, tagValueBool, x)
	default:
		panic("mvt: unknown ValueKind")
	}
	l.values = b
	i := l.nValues
	l.nValues++
	return i
}

// Value returns the index of v in the layer's value table, for Tag, adding v
// the first time it is seen since the last Reset. Values are equal when their
// Kind and the field it selects are equal (doubles by bit pattern). Values
// added with AddValue are not looked up: Value adds its own copy. The
// de-duplication maps are kept across Reset, so this allocates nothing in
// steady state. It panics on an unknown Kind.
func (l *Layer) Value(v Value) uint32 {
	switch v.Kind {
	case KindString:
		if i, ok := l.strIdx[v.S]; ok {
			return i
		}
		i := l.AddValue(v)
		l.strIdx[v.S] = i
		return i
	case KindInt:
		if i, ok := l.intIdx[v.I]; ok {
			return i
		}
		i := l.AddValue(v)
		l.intIdx[v.I] = i
		return i
	case KindDouble:
		// By bit pattern: NaN finds itself, and 0 and -0, which encode
		// differently, stay apart.
		k := math.Float64bits(v.F)
		if i, ok := l.dblIdx[k]; ok {
			return i
		}
		i := l.AddValue(v)
		l.dblIdx[k] = i
		return i
	case KindBool:
		k := 0
		if v.B {
			k = 1
		}
		if l.boolIdx[k] == 0 {
			l.boolIdx[k] = l.AddValue(v) + 1
		}
		return l.boolIdx[k] - 1
	}
	panic("mvt: unknown ValueKind")
}
