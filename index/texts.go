package index

import (
	"strings"

	"riskmap/layers"
)

// textTable numbers the distinct texts of a layer's interned fields — the Summary
// fields of type text or date that are not Unique (names, mostly) — for
// Record.SummaryCodes: a vector tile then de-duplicates them by number, not by
// hashing and comparing their bytes. Numbers are counted by the records that hold
// them and reused once none does, so the table holds the texts of the layer's
// current records only. It is guarded by the index's write lock (or owned by a
// Load that has not published its layers yet).
type textTable struct {
	def    *layers.Layer
	fields []internedField
	ids    map[string]uint32
	texts  []string // by number (a private copy)
	refs   []int32  // records holding each number; 0: free
	free   []uint32
}

// internedField is an interned field: its position among the Summary fields (in
// Record.codes) and in the layer's Fields.
type internedField struct{ pos, field int }

func newTextTable(l *layers.Layer) *textTable {
	t := &textTable{def: l, ids: map[string]uint32{}}
	pos := 0
	for i, f := range l.Fields {
		if !f.Summary {
			continue
		}
		if !f.Unique && (f.Type == layers.TypeText || f.Type == layers.TypeDate) {
			t.fields = append(t.fields, internedField{pos, i})
		}
		pos++
	}
	return t
}

// intern gives r's interned texts their numbers (before r is published).
func (t *textTable) intern(r *Record) {
	for _, f := range t.fields {
		if f.pos >= int(r.nCodes) || r.codes[f.pos] != CodeProp {
			continue // null
		}
		if v, ok := r.Prop(f.field); ok && v.Kind == layers.PackedText {
			r.codes[f.pos] = 1 + t.acquire(v.Text)
		}
	}
}

// release drops r's hold on its texts' numbers (r left the index).
func (t *textTable) release(r *Record) {
	for _, f := range t.fields {
		if f.pos < int(r.nCodes) {
			if c := r.codes[f.pos]; c != CodeNull && c != CodeProp {
				t.drop(c - 1)
			}
		}
	}
}

func (t *textTable) acquire(s string) uint32 {
	if id, ok := t.ids[s]; ok {
		t.refs[id]++
		return id
	}
	s = strings.Clone(s) // not a slice of one record's JSON, which it would keep alive
	var id uint32
	if n := len(t.free); n > 0 {
		id, t.free = t.free[n-1], t.free[:n-1]
		t.texts[id], t.refs[id] = s, 1
	} else {
		id = uint32(len(t.texts))
		t.texts = append(t.texts, s)
		t.refs = append(t.refs, 1)
	}
	t.ids[s] = id
	return id
}

func (t *textTable) drop(id uint32) {
	if int(id) >= len(t.refs) || t.refs[id] <= 0 {
		return
	}
	if t.refs[id]--; t.refs[id] == 0 {
		delete(t.ids, t.texts[id])
		t.texts[id] = ""
		t.free = append(t.free, id)
	}
}

// len is the number of texts held.
func (t *textTable) len() int { return len(t.ids) }
