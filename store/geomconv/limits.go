package geomconv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrMalformed is returned for bytes that are not well-formed (E)WKB.
var ErrMalformed = errors.New("malformed WKB")

// EWKB type flags (PostGIS extension of WKB).
const (
	flagZ    = 0x80000000
	flagM    = 0x40000000
	flagSRID = 0x20000000
)

// maxDepth bounds nesting (a collection inside a collection...).
const maxDepth = 8

// checkSizes walks the (E)WKB structure without allocating and verifies that every
// element count fits in the bytes that follow and that the total number of points is
// at most MaxPoints. It does not check anything go-geom's decoder checks itself.
func checkSizes(b []byte) error {
	w := walker{b: b}
	if err := w.geometry(0); err != nil {
		return err
	}
	if w.off != len(b) {
		return fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(b)-w.off)
	}
	return nil
}

type walker struct {
	b      []byte
	off    int
	points int
}

func (w *walker) need(n int) error {
	if n < 0 || len(w.b)-w.off < n {
		return fmt.Errorf("%w: truncated at byte %d", ErrMalformed, w.off)
	}
	return nil
}

func (w *walker) uint32(order binary.ByteOrder) (uint32, error) {
	if err := w.need(4); err != nil {
		return 0, err
	}
	v := order.Uint32(w.b[w.off:])
	w.off += 4
	return v, nil
}

// count reads an element count and checks that n elements of at least minSize bytes
// each fit in what is left.
func (w *walker) count(order binary.ByteOrder, minSize int) (int, error) {
	n, err := w.uint32(order)
	if err != nil {
		return 0, err
	}
	if uint64(n)*uint64(minSize) > uint64(len(w.b)-w.off) {
		return 0, fmt.Errorf("%w: count %d at byte %d exceeds the %d bytes left", ErrMalformed, n, w.off-4, len(w.b)-w.off)
	}
	return int(n), nil
}

func (w *walker) coords(order binary.ByteOrder, dim int) error {
	n, err := w.count(order, 8*dim)
	if err != nil {
		return err
	}
	return w.skipPoints(order, n, dim)
}

// skipPoints steps over n points of dim ordinates, refusing NaN and infinities: no
// stored coordinate is ever non-finite.
func (w *walker) skipPoints(order binary.ByteOrder, n, dim int) error {
	w.points += n
	if w.points > MaxPoints {
		return fmt.Errorf("%w: more than %d points", ErrTooLarge, MaxPoints)
	}
	for range n * dim {
		x := math.Float64frombits(order.Uint64(w.b[w.off:]))
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%w: non-finite coordinate at byte %d", ErrMalformed, w.off)
		}
		w.off += 8
	}
	return nil
}

func (w *walker) geometry(depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nested deeper than %d", ErrMalformed, maxDepth)
	}
	if err := w.need(1); err != nil {
		return err
	}
	var order binary.ByteOrder
	switch w.b[w.off] {
	case 0:
		order = binary.BigEndian
	case 1:
		order = binary.LittleEndian
	default:
		return fmt.Errorf("%w: byte order %d at byte %d", ErrMalformed, w.b[w.off], w.off)
	}
	w.off++
	t, err := w.uint32(order)
	if err != nil {
		return err
	}
	dim := 2
	if t&flagZ != 0 {
		dim++
	}
	if t&flagM != 0 {
		dim++
	}
	if t&flagSRID != 0 {
		if _, err := w.uint32(order); err != nil {
			return err
		}
	}
	base := t &^ (flagZ | flagM | flagSRID)
	// ISO WKB writes Z/M as +1000/+2000/+3000.
	switch {
	case base > 3000 && base < 4000:
		dim, base = 4, base-3000
	case base > 2000 && base < 3000:
		dim, base = 3, base-2000
	case base > 1000 && base < 2000:
		dim, base = 3, base-1000
	}
	switch base {
	case 1: // Point
		if err := w.need(8 * dim); err != nil {
			return err
		}
		return w.skipPoints(order, 1, dim)
	case 2: // LineString
		return w.coords(order, dim)
	case 3: // Polygon
		rings, err := w.count(order, 4)
		if err != nil {
			return err
		}
		for range rings {
			if err := w.coords(order, dim); err != nil {
				return err
			}
		}
		return nil
	case 4, 5, 6, 7: // Multi* and GeometryCollection: each member is a geometry
		n, err := w.count(order, 5) // a member has at least byte order + type
		if err != nil {
			return err
		}
		for range n {
			if err := w.geometry(depth + 1); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%w: WKB type %d", ErrUnsupported, base)
}
