package tiles_test

import (
	"encoding/binary"
	"fmt"
)

// zzFields splits a protobuf message into (field, wiretype, payload) triples.
func zzFields(b []byte, want int) (out []string, feats [][]byte, stats map[int]int) {
	stats = map[int]int{}
	for len(b) > 0 {
		k, n := binary.Uvarint(b)
		b = b[n:]
		f, wt := int(k>>3), int(k&7)
		switch wt {
		case 0:
			_, n := binary.Uvarint(b)
			stats[f] += n + 1
			b = b[n:]
		case 1:
			b = b[8:]
		case 2:
			l, n := binary.Uvarint(b)
			p := b[n : n+int(l)]
			stats[f] += n + int(l) + 1
			if f == want {
				feats = append(feats, p)
			}
			b = b[n+int(l):]
		case 5:
			b = b[4:]
		}
		_ = fmt.Sprint
	}
	return
}
