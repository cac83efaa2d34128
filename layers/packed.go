package layers

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Packed is a feature's attribute values in the layer's field order, in a compact
// binary form: one kind byte per field, then its payload. It is what the in-memory
// index keeps of a feature's properties (about a third of a map's size, no pointers
// for the garbage collector to follow) and what the tile encoder reads. A Packed is
// an immutable string, so slicing text values out of it never copies.
//
// Payloads: text and dates (as "YYYY-MM-DD") a uvarint length and the bytes; integers
// a zigzag varint; numbers 8 bytes of IEEE 754, little-endian; enums one byte, the
// code's rank in Field.Enum; booleans and nulls nothing. A text may instead be a
// reference — a uvarint offset and length — into a base string the owner keeps
// beside the Packed (the index: the feature's cached GeoJSON, which holds the same
// text), read with EachIn; the text is then stored once.
type Packed string

// PackedKind is the kind of one packed value.
type PackedKind uint8

// Packed value kinds.
const (
	PackedNull PackedKind = iota
	PackedText
	PackedInt
	PackedFloat
	PackedFalse
	PackedTrue
	PackedEnum
	// PackedTextRef is a text stored in the base string given to EachIn; EachIn
	// reports it as PackedText.
	PackedTextRef
)

// Pack packs canonical properties (as Normalize returns them, or a store reads them)
// in l's field order. Fields absent from props are null. A value whose Go type does
// not fit its field, or an enum code the field does not have, is an error.
func (l *Layer) Pack(props map[string]any) (Packed, error) { return l.PackRefs(props, nil) }

// PackRefs is Pack storing a text field i as a reference when ref(i) reports where
// the text lies in the base string the caller will pass to EachIn (offset in bytes;
// the caller guarantees base[off:off+len(text)] is the text).
func (l *Layer) PackRefs(props map[string]any, ref func(i int) (off int, ok bool)) (Packed, error) {
	b := make([]byte, 0, 16*len(l.Fields))
	for i, f := range l.Fields {
		v := props[f.Name]
		if v == nil {
			b = append(b, byte(PackedNull))
			continue
		}
		switch f.Type {
		case TypeText:
			s, ok := v.(string)
			if !ok {
				return "", fmt.Errorf("layers: pack %s.%s: %T is not text", l.Name, f.Name, v)
			}
			if off, ok := refOf(ref, i); ok {
				b = append(b, byte(PackedTextRef))
				b = binary.AppendUvarint(b, uint64(off))
				b = binary.AppendUvarint(b, uint64(len(s)))
				continue
			}
			b = appendText(b, s)
		case TypeEnum:
			s, ok := v.(string)
			r := -1
			if ok {
				r = f.Enum.Rank(s)
			}
			if r < 0 || r > math.MaxUint8 {
				return "", fmt.Errorf("layers: pack %s.%s: %v is not one of its codes", l.Name, f.Name, v)
			}
			b = append(b, byte(PackedEnum), byte(r))
		case TypeInt:
			n, ok := v.(int64)
			if !ok {
				return "", fmt.Errorf("layers: pack %s.%s: %T is not an integer", l.Name, f.Name, v)
			}
			b = append(b, byte(PackedInt))
			b = binary.AppendVarint(b, n)
		case TypeFloat:
			x, ok := v.(float64)
			if !ok {
				return "", fmt.Errorf("layers: pack %s.%s: %T is not a number", l.Name, f.Name, v)
			}
			b = append(b, byte(PackedFloat))
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
		case TypeBool:
			x, ok := v.(bool)
			if !ok {
				return "", fmt.Errorf("layers: pack %s.%s: %T is not a boolean", l.Name, f.Name, v)
			}
			if x {
				b = append(b, byte(PackedTrue))
			} else {
				b = append(b, byte(PackedFalse))
			}
		case TypeDate:
			t, ok := v.(time.Time)
			if !ok {
				return "", fmt.Errorf("layers: pack %s.%s: %T is not a date", l.Name, f.Name, v)
			}
			b = appendText(b, t.Format(time.DateOnly))
		default:
			return "", fmt.Errorf("layers: pack %s.%s: unknown field type %q", l.Name, f.Name, f.Type)
		}
	}
	return Packed(b), nil
}

func refOf(ref func(int) (int, bool), i int) (int, bool) {
	if ref == nil {
		return 0, false
	}
	return ref(i)
}

func appendText(b []byte, s string) []byte {
	b = append(b, byte(PackedText))
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// PackedValue is one value read from a Packed: Kind says which of the other fields
// holds it (Text for text and dates, Int, Float, Rank for enums; booleans are the
// kinds PackedTrue and PackedFalse).
type PackedValue struct {
	Kind  PackedKind
	Text  string
	Int   int64
	Float float64
	Rank  int
}

// Bool returns the value of a PackedTrue or PackedFalse value.
func (v PackedValue) Bool() bool { return v.Kind == PackedTrue }

// Each calls fn with the index (into l.Fields) and value of every field, in order,
// and stops early when fn returns false. p must have been packed for l; a truncated
// or foreign Packed ends the walk at the first byte that does not parse, and so does
// a text reference (use EachIn).
func (p Packed) Each(fn func(i int, v PackedValue) bool) { p.EachIn("", fn) }

// EachIn is Each for a Packed whose text references point into base: they are
// reported as PackedText values, slices of base (not copied).
func (p Packed) EachIn(base string, fn func(i int, v PackedValue) bool) {
	for i, off := 0, 0; off < len(p); i++ {
		v, n := p.value(off, base)
		if n <= 0 || !fn(i, v) {
			return
		}
		off += n
	}
}

// FieldIn returns the value of field i (an index into l.Fields of the layer p was
// packed for), text references read from base as in EachIn, without decoding the
// fields after it; ok is false when p ends or does not parse before field i.
func (p Packed) FieldIn(base string, i int) (v PackedValue, ok bool) {
	for j, off := 0, 0; off < len(p) && j <= i; j++ {
		if j < i {
			n := p.skip(off)
			if n <= 0 {
				return PackedValue{}, false
			}
			off += n
			continue
		}
		v, n := p.value(off, base)
		return v, n > 0
	}
	return PackedValue{}, false
}

// skip returns the length in bytes of the value at off without decoding it (0 when
// malformed).
func (p Packed) skip(off int) int {
	switch PackedKind(p[off]) {
	case PackedNull, PackedFalse, PackedTrue:
		return 1
	case PackedEnum:
		if len(p)-off < 2 {
			return 0
		}
		return 2
	case PackedFloat:
		if len(p)-off < 9 {
			return 0
		}
		return 9
	case PackedInt:
		_, m := uvarint(p[off+1:])
		if m <= 0 {
			return 0
		}
		return 1 + m
	case PackedText:
		l, m := uvarint(p[off+1:])
		if m <= 0 || uint64(len(p)-off-1-m) < l {
			return 0
		}
		return 1 + m + int(l)
	case PackedTextRef:
		_, m1 := uvarint(p[off+1:])
		if m1 <= 0 {
			return 0
		}
		_, m2 := uvarint(p[off+1+m1:])
		if m2 <= 0 {
			return 0
		}
		return 1 + m1 + m2
	}
	return 0
}

// value decodes the value at off; n is its length in bytes (0 when malformed).
func (p Packed) value(off int, base string) (v PackedValue, n int) {
	v.Kind = PackedKind(p[off])
	switch v.Kind {
	case PackedTextRef:
		at, m1 := uvarint(p[off+1:])
		if m1 <= 0 {
			return v, 0
		}
		l, m2 := uvarint(p[off+1+m1:])
		if m2 <= 0 || at > uint64(len(base)) || l > uint64(len(base))-at {
			return v, 0
		}
		v.Kind, v.Text = PackedText, base[at:at+l]
		return v, 1 + m1 + m2
	case PackedNull, PackedFalse, PackedTrue:
		return v, 1
	case PackedText:
		l, m := uvarint(p[off+1:])
		if m <= 0 || uint64(len(p)-off-1-m) < l {
			return v, 0
		}
		start := off + 1 + m
		v.Text = string(p[start : start+int(l)])
		return v, 1 + m + int(l)
	case PackedInt:
		x, m := varint(p[off+1:])
		if m <= 0 {
			return v, 0
		}
		v.Int = x
		return v, 1 + m
	case PackedFloat:
		if len(p)-off < 9 {
			return v, 0
		}
		var u uint64
		for i := 7; i >= 0; i-- {
			u = u<<8 | uint64(p[off+1+i])
		}
		v.Float = math.Float64frombits(u)
		return v, 9
	case PackedEnum:
		if len(p)-off < 2 {
			return v, 0
		}
		v.Rank = int(p[off+1])
		return v, 2
	}
	return v, 0
}

// uvarint is binary.Uvarint over a string (no copy).
func uvarint(s Packed) (uint64, int) {
	var x uint64
	var shift uint
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		c := s[i]
		if c < 0x80 {
			return x | uint64(c)<<shift, i + 1
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	return 0, 0
}

func varint(s Packed) (int64, int) {
	u, n := uvarint(s)
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x, n
}

// Value returns field i's value as the canonical Go value Normalize produces (nil,
// string, int64, float64, bool; dates as time.Time), for callers that want maps.
func (l *Layer) Value(v PackedValue, i int) any {
	switch v.Kind {
	case PackedText:
		if l.Fields[i].Type == TypeDate {
			if t, err := time.Parse(time.DateOnly, v.Text); err == nil {
				return t
			}
		}
		return v.Text
	case PackedInt:
		return v.Int
	case PackedFloat:
		return v.Float
	case PackedTrue, PackedFalse:
		return v.Bool()
	case PackedEnum:
		if e := l.Fields[i].Enum; e != nil && v.Rank < len(e.Choices) {
			return e.Choices[v.Rank].Code
		}
	}
	return nil
}

// AppendJSON appends a canonical property value (nil, string, int64, float64, bool,
// time.Time for dates) as the API writes it in JSON: null, a JSON string (escaped as
// encoding/json does), a number, a boolean, a date as "YYYY-MM-DD". A non-finite
// number or another type is an error.
func AppendJSON(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		enc, err := json.Marshal(x) // escapes as JSON requires; HTML-safe escaping is harmless
		return append(b, enc...), err
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("non-finite number")
		}
		return strconv.AppendFloat(b, x, 'f', -1, 64), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case time.Time:
		return strconv.AppendQuote(b, x.Format(time.DateOnly)), nil
	}
	return nil, fmt.Errorf("unsupported value type %T", v)
}
