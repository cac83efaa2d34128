package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/store"
)

// testDeleteAll: every feature of every layer goes, each delete logged with its
// tombstone version; a second DeleteAll on an empty store logs nothing.
func testDeleteAll(t *testing.T, s Store) {
	ctx := ctxFor(t)
	var want []string
	for _, name := range []string{layers.RiskPoints, layers.RectifiedRoads} {
		for i := range 3 {
			f := upsert(t, s, sample(t, s, name, fmt.Sprintf("X-%d", i)))
			if i == 1 {
				f = upsert(t, s, f) // version 2
			}
			want = append(want, fmt.Sprintf("delete %s/%d v%d", name, f.ID, f.Version+1))
		}
	}
	snap, err := s.CurrentSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAll(ctx, opts); err != nil {
		t.Fatal(err)
	}
	for _, l := range s.Registry().Layers() {
		if n := count(t, s, l.Name); n != 0 {
			t.Errorf("%s: %d features after DeleteAll", l.Name, n)
		}
	}
	b, err := s.ChangesSince(ctx, snap, 100)
	if err != nil {
		t.Fatal(err)
	}
	got := opsOf(b.Changes)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("DeleteAll logged %v, want %v", got, want)
	}
	checkLogOrder(t, b.Changes)
	if len(b.Features) != 0 {
		t.Fatalf("features of deleted features: %v", b.Features)
	}
	before := len(changes(t, s))
	if err := s.DeleteAll(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if n := len(changes(t, s)); n != before {
		t.Fatalf("DeleteAll of an empty store logged %d changes", n-before)
	}
}

// testChanges: Changes reads the log after a seq, in seq order, at most limit rows.
func testChanges(t *testing.T, s Store) {
	ctx := ctxFor(t)
	if cs, err := s.Changes(ctx, 0, 10); err != nil || len(cs) != 0 {
		t.Fatalf("log of an empty store: %v %v", cs, err)
	}
	a := upsert(t, s, sample(t, s, layers.Resources, "A"))
	b := upsert(t, s, sample(t, s, layers.Slopes, "B"))
	upsert(t, s, a)
	if err := s.Delete(ctx, layers.Slopes, b.ID, opts); err != nil {
		t.Fatal(err)
	}
	all := changes(t, s)
	want := []string{
		fmt.Sprintf("insert resources/%d v1", a.ID), fmt.Sprintf("insert slopes/%d v1", b.ID),
		fmt.Sprintf("update resources/%d v2", a.ID), fmt.Sprintf("delete slopes/%d v2", b.ID),
	}
	if !slices.Equal(opsOf(all), want) {
		t.Fatalf("log %v, want %v", opsOf(all), want)
	}
	checkLogOrder(t, all)
	first, err := s.Changes(ctx, 0, 2)
	if err != nil || !slices.Equal(first, all[:2]) {
		t.Fatalf("first 2: %v %v", opsOf(first), err)
	}
	rest, err := s.Changes(ctx, first[1].Seq, 100)
	if err != nil || !slices.Equal(rest, all[2:]) {
		t.Fatalf("after seq %d: %v %v", first[1].Seq, opsOf(rest), err)
	}
	if none, err := s.Changes(ctx, all[3].Seq, 100); err != nil || len(none) != 0 {
		t.Fatalf("after the last: %v %v", opsOf(none), err)
	}
}

// testChangesSince: the feed reads what committed after a snapshot, in log order,
// with the state of every changed feature as of the batch (deleted ones absent);
// nothing twice; more than the limit, or a malformed snapshot, is an error.
func testChangesSince(t *testing.T, s Store) {
	ctx := ctxFor(t)
	snap0, err := s.CurrentSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	empty, err := s.ChangesSince(ctx, snap0, 10)
	if err != nil || len(empty.Changes) != 0 || len(empty.Features) != 0 || empty.Next == "" {
		t.Fatalf("an empty store's feed: %+v %v", empty, err)
	}
	a := upsert(t, s, sample(t, s, layers.Resources, "A"))
	b := upsert(t, s, sample(t, s, layers.Resources, "B"))
	mid, err := s.CurrentSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.Props["name"] = "A2"
	a = upsert(t, s, a)
	if err := s.Delete(ctx, layers.Resources, b.ID, opts); err != nil {
		t.Fatal(err)
	}
	c := upsert(t, s, sample(t, s, layers.RiskPoints, "C"))

	batch, err := s.ChangesSince(ctx, snap0, 5)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		fmt.Sprintf("insert resources/%d v1", a.ID), fmt.Sprintf("insert resources/%d v1", b.ID),
		fmt.Sprintf("update resources/%d v2", a.ID), fmt.Sprintf("delete resources/%d v2", b.ID),
		fmt.Sprintf("insert risk_points/%d v1", c.ID),
	}
	if !slices.Equal(opsOf(batch.Changes), want) {
		t.Fatalf("since the start: %v, want %v", opsOf(batch.Changes), want)
	}
	checkLogOrder(t, batch.Changes)
	if !slices.Equal(batch.Changes, changes(t, s)) {
		t.Fatalf("the feed's changes %+v differ from the log's", batch.Changes)
	}
	keyA := store.FeatureKey{Layer: layers.Resources, ID: a.ID}
	keyC := store.FeatureKey{Layer: layers.RiskPoints, ID: c.ID}
	if len(batch.Features) != 2 {
		t.Fatalf("features %v, want A and C", batch.Features)
	}
	if d := sameFeature(layer(t, s, layers.Resources), batch.Features[keyA], get(t, s, layers.Resources, a.ID)); d != "" || batch.Features[keyA].Props["name"] != "A2" {
		t.Fatalf("A in the batch: %s", d)
	}
	if d := sameFeature(layer(t, s, layers.RiskPoints), batch.Features[keyC], get(t, s, layers.RiskPoints, c.ID)); d != "" {
		t.Fatalf("C in the batch: %s", d)
	}

	// From the snapshot taken in between: the three later changes only.
	later, err := s.ChangesSince(ctx, mid, 100)
	if err != nil || !slices.Equal(opsOf(later.Changes), want[2:]) {
		t.Fatalf("since the middle: %v %v, want %v", opsOf(later.Changes), err, want[2:])
	}
	// The batch's Next: nothing new, twice; then the next change alone.
	next := batch.Next
	for range 2 {
		idle, err := s.ChangesSince(ctx, next, 100)
		if err != nil || len(idle.Changes) != 0 || len(idle.Features) != 0 {
			t.Fatalf("nothing new: %v %v", opsOf(idle.Changes), err)
		}
		next = idle.Next
	}
	c.Props["name"] = "C2"
	upsert(t, s, c)
	one, err := s.ChangesSince(ctx, next, 100)
	if err != nil || !slices.Equal(opsOf(one.Changes), []string{fmt.Sprintf("update risk_points/%d v2", c.ID)}) ||
		one.Features[keyC].Props["name"] != "C2" {
		t.Fatalf("the next change: %v %v %v", opsOf(one.Changes), one.Features, err)
	}
	// Exactly the limit is fine; one more is too many: reload.
	if _, err := s.ChangesSince(ctx, snap0, 6); err != nil {
		t.Fatalf("6 changes with limit 6: %v", err)
	}
	if _, err := s.ChangesSince(ctx, snap0, 5); !errors.Is(err, store.ErrLogTruncated) {
		t.Fatalf("6 changes with limit 5: %v, want ErrLogTruncated", err)
	}
	if _, err := s.ChangesSince(ctx, "not a snapshot", 100); err == nil || errors.Is(err, store.ErrLogTruncated) {
		t.Fatalf("a malformed snapshot: %v, want an error other than ErrLogTruncated", err)
	}
}

// testPruneChanges: pruning deletes the log rows older than the cutoff except each
// feature's latest; a snapshot from before the pruned rows must reload
// (ErrLogTruncated), one taken after pruning reads on; versions continue.
func testPruneChanges(t *testing.T, s Store) {
	ctx := ctxFor(t)
	old, err := s.CurrentSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := upsert(t, s, sample(t, s, layers.Resources, "P"))
	for i := range 3 {
		p.Props["capacity"] = int64(100 + i)
		p = upsert(t, s, p)
	}
	q := upsert(t, s, sample(t, s, layers.Slopes, "Q"))
	if n, err := s.PruneChanges(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("pruning before the first change: %d, %v; want 0", n, err)
	}
	n, err := s.PruneChanges(ctx, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("pruned %d rows, want 3 (P's 4th and Q's only row are their latest)", n)
	}
	left := changes(t, s)
	if want := []string{fmt.Sprintf("update resources/%d v4", p.ID), fmt.Sprintf("insert slopes/%d v1", q.ID)}; !slices.Equal(opsOf(left), want) {
		t.Fatalf("log after pruning: %v, want %v", opsOf(left), want)
	}
	if _, err := s.ChangesSince(ctx, old, 1000); !errors.Is(err, store.ErrLogTruncated) {
		t.Fatalf("a snapshot older than pruned rows: %v, want ErrLogTruncated", err)
	}
	now, err := s.CurrentSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		b, err := s.ChangesSince(ctx, now, 1000)
		if err != nil || len(b.Changes) != 0 {
			t.Fatalf("a snapshot taken after pruning: %v %v", opsOf(b.Changes), err)
		}
		now = b.Next
	}
	p = upsert(t, s, p)
	if p.Version != 5 {
		t.Fatalf("version after pruning: %d, want 5", p.Version)
	}
	b, err := s.ChangesSince(ctx, now, 1000)
	if err != nil || !slices.Equal(opsOf(b.Changes), []string{fmt.Sprintf("update resources/%d v5", p.ID)}) {
		t.Fatalf("after pruning: %v %v", opsOf(b.Changes), err)
	}
	// A deleted feature's tombstone is its latest row: kept, so the id put back
	// continues from it.
	if err := s.Delete(ctx, layers.Slopes, q.ID, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PruneChanges(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	back := sample(t, s, layers.Slopes, "Q")
	back.ID = q.ID
	if err := s.BulkLoad(ctx, layers.Slopes, []feature.Feature{back}, opts, nil); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, layers.Slopes, q.ID); got.Version != 3 {
		t.Fatalf("Q put back after pruning: version %d, want 3", got.Version)
	}
}

// testListen: Listen calls wake after every commit that changes features (an
// upsert, a delete, a bulk load, DeleteAll) — at least once per commit; a refused
// write wakes nobody; Listen returns nil when its context ends.
func testListen(t *testing.T, s Store) {
	ctx, cancel := context.WithTimeout(ctxFor(t), time.Minute)
	defer cancel()
	listening := make(chan struct{})
	wakes := make(chan struct{}, 1000)
	done := make(chan error, 1)
	go func() {
		done <- s.Listen(ctx, func() { close(listening) }, func() {
			select {
			case wakes <- struct{}{}:
			default:
			}
		})
	}()
	select {
	case <-listening:
	case err := <-done:
		t.Fatalf("Listen returned before listening: %v", err)
	case <-ctx.Done():
		t.Fatal("Listen never called listening")
	}
	awaitWake := func(what string) {
		t.Helper()
		select {
		case <-wakes:
		case <-time.After(10 * time.Second):
			t.Fatalf("no wake-up after %s", what)
		}
		// More wake-ups for the same commit (one per change, in PostGIS) may follow:
		// let them arrive and drop them.
		time.Sleep(200 * time.Millisecond)
		for len(wakes) > 0 {
			<-wakes
		}
	}
	l := layer(t, s, layers.Resources)
	f := upsert(t, s, Sample(l, "L", false))
	awaitWake("an insert")
	upsert(t, s, f)
	awaitWake("an update")
	if err := s.BulkLoad(ctx, l.Name, []feature.Feature{Sample(l, "L1", false), Sample(l, "L2", false)}, opts, nil); err != nil {
		t.Fatal(err)
	}
	awaitWake("a bulk load")
	if err := s.Delete(ctx, l.Name, f.ID, opts); err != nil {
		t.Fatal(err)
	}
	awaitWake("a delete")
	if err := s.DeleteAll(ctx, opts); err != nil {
		t.Fatal(err)
	}
	awaitWake("DeleteAll")

	// Refused writes commit nothing: no wake-up.
	taken := upsert(t, s, Sample(l, "T", false))
	awaitWake("an insert")
	other := upsert(t, s, Sample(l, "U", false))
	awaitWake("an insert")
	other.Props["external_id"] = "T"
	if _, err := s.Upsert(ctx, other, opts); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("conflict: %v", err)
	}
	if err := s.Delete(ctx, l.Name, taken.ID+1000, opts); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete of a missing id: %v", err)
	}
	select {
	case <-wakes:
		t.Fatal("a wake-up after refused writes")
	case <-time.After(500 * time.Millisecond):
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Listen after its context ended: %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Listen did not return after its context ended")
	}
}
