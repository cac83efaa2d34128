package postgis

import (
	"context"
	"errors"
	"testing"
	"time"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/store"
)

// TestChangesSinceFollowsCommitOrder: a transaction that takes a lower seq but commits
// after a higher one was read is still delivered by the next read; deletes come with
// no feature; each change is delivered once.
func TestChangesSinceFollowsCommitOrder(t *testing.T) {
	s, _ := newStore(t, true)
	ctx := ctxT(t)
	reg := layers.New()
	l, _ := reg.Layer(layers.Resources)
	a, err := s.Upsert(ctx, sample(l, "A", false), store.WriteOptions{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Upsert(ctx, sample(l, "B", false), store.WriteOptions{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := s.CurrentSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// T1 writes A first (lower seq) and stays open; T2 writes B (higher seq) and commits.
	t1, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer t1.Rollback(ctx)
	if _, err := t1.Exec(ctx, "UPDATE resources SET name = 'A2' WHERE id = $1", a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, "UPDATE resources SET name = 'B2' WHERE id = $1", b.ID); err != nil {
		t.Fatal(err)
	}
	b1, err := s.ChangesSince(ctx, snap, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(b1.Changes) != 1 || b1.Changes[0].ID != b.ID {
		t.Fatalf("first read: %+v, want B's update only", b1.Changes)
	}
	if f := b1.Features[store.FeatureKey{Layer: layers.Resources, ID: b.ID}]; f.Props["name"] != "B2" {
		t.Fatalf("B as of the read: %v", f.Props["name"])
	}
	if err := t1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	b2, err := s.ChangesSince(ctx, b1.Next, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(b2.Changes) != 1 || b2.Changes[0].ID != a.ID || b2.Changes[0].Seq >= b1.Changes[0].Seq {
		t.Fatalf("second read: %+v, want A's update, with the lower seq", b2.Changes)
	}
	if f := b2.Features[store.FeatureKey{Layer: layers.Resources, ID: a.ID}]; f.Props["name"] != "A2" {
		t.Fatalf("A as of the read: %v", f.Props["name"])
	}

	// A delete: the change, and no feature.
	if err := s.Delete(ctx, layers.Resources, a.ID, store.WriteOptions{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	b3, err := s.ChangesSince(ctx, b2.Next, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(b3.Changes) != 1 || b3.Changes[0].Op != feature.Delete {
		t.Fatalf("delete read: %+v", b3.Changes)
	}
	if _, ok := b3.Features[store.FeatureKey{Layer: layers.Resources, ID: a.ID}]; ok {
		t.Fatal("a deleted feature came with a state")
	}
	// Nothing new: nothing returned, twice.
	for range 2 {
		b4, err := s.ChangesSince(ctx, b3.Next, 1000)
		if err != nil || len(b4.Changes) != 0 {
			t.Fatalf("idle read: %v %+v", err, b4.Changes)
		}
	}
	// More than the limit: truncated, reload.
	for i := range 3 {
		if _, err := s.pool.Exec(ctx, "UPDATE resources SET capacity = $1 WHERE id = $2", 10+i, b.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ChangesSince(ctx, b3.Next, 2); !errors.Is(err, store.ErrLogTruncated) {
		t.Fatalf("3 changes with limit 2: %v", err)
	}
}

// TestPruneChanges: pruning keeps each feature's latest row and makes a follower
// whose snapshot predates pruned rows reload.
func TestPruneChanges(t *testing.T) {
	s, _ := newStore(t, true)
	ctx := ctxT(t)
	l, _ := layers.New().Layer(layers.Resources)
	old, err := s.CurrentSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Upsert(ctx, sample(l, "P", false), store.WriteOptions{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := s.pool.Exec(ctx, "UPDATE resources SET capacity = $1 WHERE id = $2", 100+i, f.ID); err != nil {
			t.Fatal(err)
		}
	}
	// A long transaction elsewhere, older than the prune, holds every snapshot's xmin
	// back: it must not make every later read look truncated.
	long, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer long.Rollback(ctx)
	if _, err := long.Exec(ctx, "SELECT pg_current_xact_id()"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, "UPDATE resources SET capacity = 7 WHERE id = $1", f.ID); err != nil {
		t.Fatal(err)
	}
	n, err := s.PruneChanges(ctx, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Fatalf("pruned %d rows, want 4 (the 5th is the feature's latest)", n)
	}
	if _, err := s.ChangesSince(ctx, old, 1000); !errors.Is(err, store.ErrLogTruncated) {
		t.Fatalf("a snapshot older than pruned rows: %v, want ErrLogTruncated", err)
	}
	now, _ := s.CurrentSnapshot(ctx)
	for range 2 {
		b, err := s.ChangesSince(ctx, now, 1000)
		if err != nil {
			t.Fatalf("a fresh snapshot after pruning, a long transaction open: %v", err)
		}
		now = b.Next
	}
	if err := long.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// The version of the feature continues.
	if _, err := s.pool.Exec(ctx, "UPDATE resources SET capacity = 1 WHERE id = $1", f.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, layers.Resources, f.ID)
	if err != nil || got.Version != 6 {
		t.Fatalf("version after prune: %d (%v), want 6", got.Version, err)
	}
}

// TestListen: a notification wakes the listener; terminating its backend makes
// Listen return an error wrapping ErrUnavailable.
func TestListen(t *testing.T) {
	s, _ := newStore(t, true)
	ctx, cancel := context.WithTimeout(ctxT(t), 20*time.Second)
	defer cancel()
	listening := make(chan struct{})
	wakes := make(chan struct{}, 16)
	done := make(chan error, 1)
	go func() {
		done <- s.Listen(ctx, func() { close(listening) }, func() {
			select {
			case wakes <- struct{}{}:
			default:
			}
		})
	}()
	<-listening
	l, _ := layers.New().Layer(layers.Resources)
	if _, err := s.Upsert(ctx, sample(l, "L", false), store.WriteOptions{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wakes:
	case <-ctx.Done():
		t.Fatal("no wake-up after a change")
	}
	if _, err := s.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Listen after its backend was terminated: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Listen did not return after its backend was terminated")
	}
}
