package feed_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"riskmap/events"
	"riskmap/feature"
	"riskmap/feed"
	"riskmap/index"
	"riskmap/internal/pgtest"
	"riskmap/layers"
	"riskmap/store"
	"riskmap/store/postgis"
	"riskmap/tiles"
)

// env is a migrated database with a few resources, an index, and a follower whose
// applied batches are recorded.
type env struct {
	s   *postgis.Store
	ix  *index.Index
	f   *feed.Follower
	reg *layers.Registry

	mu       sync.Mutex
	applied  []feed.Applied
	publish  func([]feed.Applied) // the event stream, when a test wires one
	reloads  int
	stop     context.CancelFunc
	runDone  chan error
	insertID int
}

func newEnv(t *testing.T, url string) *env {
	t.Helper()
	ctx := context.Background()
	reg := layers.New()
	s, err := postgis.Open(ctx, url, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	e := &env{s: s, ix: index.New(reg), reg: reg}
	for range 5 {
		e.insert(t, ctx)
	}
	e.f = feed.New(s, e.ix, feed.Options{
		Poll: 200 * time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
		OnApplied: func(a []feed.Applied) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.applied = append(e.applied, a...)
			if e.publish != nil {
				e.publish(a)
			}
		},
		OnReload: func() { e.mu.Lock(); e.reloads++; e.mu.Unlock() },
	})
	return e
}

func (e *env) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e.stop = cancel
	e.runDone = make(chan error, 1)
	go func() { e.runDone <- e.f.Run(ctx) }()
	t.Cleanup(func() { e.halt(t) })
	waitFor(t, 30*time.Second, "the follower to be ready", func() bool {
		loaded, degraded := e.f.Ready()
		return loaded && len(degraded) == 0
	})
}

func (e *env) halt(t *testing.T) {
	t.Helper()
	if e.stop == nil {
		return
	}
	e.stop()
	if err := <-e.runDone; err != nil {
		t.Errorf("Run: %v", err)
	}
	e.stop = nil
}

// insert adds a resource through SQL-equivalent store writes; the id is returned.
func (e *env) insert(t *testing.T, ctx context.Context) int64 {
	t.Helper()
	e.insertID++
	f, err := e.s.Upsert(ctx, feature.Feature{Layer: layers.Resources, Geometry: orb.Point{114.12 + 0.001*float64(e.insertID), 22.55},
		Props: map[string]any{"external_id": fmt.Sprintf("R-%d", e.insertID), "kind": "shelter", "name": "避难场所", "capacity": int64(100)}},
		store.WriteOptions{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return f.ID
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sameAsDatabase compares the index with the database, every layer, every feature:
// ids, versions, geometry and properties.
func sameAsDatabase(t *testing.T, ctx context.Context, s *postgis.Store, ix *index.Index, reg *layers.Registry) bool {
	t.Helper()
	for _, l := range reg.Layers() {
		n := 0
		mismatch := ""
		err := s.Stream(ctx, l.Name, func(f feature.Feature) error {
			n++
			r, ok, _ := ix.Get(l.Name, f.ID)
			if !ok {
				mismatch = fmt.Sprintf("%s %d missing from the index", l.Name, f.ID)
				return nil
			}
			same := true
			r.EachProp(func(i int, v layers.PackedValue) bool {
				want := f.Props[l.Fields[i].Name]
				got := l.Value(v, i)
				if tw, ok := want.(time.Time); ok {
					gt, _ := got.(time.Time)
					same = same && tw.Equal(gt)
				} else {
					same = same && got == want
				}
				return true
			})
			if r.Version != f.Version || !same || !orb.Equal(r.Geometry, f.Geometry) {
				mismatch = fmt.Sprintf("%s %d differs: index version %d, database %d", l.Name, f.ID, r.Version, f.Version)
			}
			return nil
		})
		if err != nil {
			t.Logf("stream %s: %v", l.Name, err)
			return false
		}
		if mismatch != "" {
			t.Log(mismatch)
			return false
		}
		if got := ix.Count(l.Name); got != n {
			t.Logf("%s: index has %d, database %d", l.Name, got, n)
			return false
		}
	}
	return true
}

// TestFollowsSQLChanges: inserts, updates and deletes made with plain SQL appear in
// the index, in order, once each; the delay from commit to visible is logged.
func TestFollowsSQLChanges(t *testing.T) {
	e := newEnv(t, pgtest.NewDatabase(t))
	e.start(t)
	ctx := context.Background()
	pool := e.s.Pool()
	var delays []time.Duration
	visible := func(what string, ok func() bool) {
		start := time.Now()
		waitFor(t, 5*time.Second, what, ok)
		delays = append(delays, time.Since(start))
	}
	for i := range 20 {
		var id int64
		err := pool.QueryRow(ctx, `INSERT INTO resources (external_id, kind, name, open, geom)
			VALUES ($1, 'rescue_team', '救援队', true, ST_SetSRID(ST_MakePoint(114.13, 22.56), 4326)) RETURNING id`,
			fmt.Sprintf("SQL-%d", i)).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		visible("an SQL insert", func() bool { _, ok, _ := e.ix.Get(layers.Resources, id); return ok })
		if _, err := pool.Exec(ctx, "UPDATE resources SET name = '改名' WHERE id = $1", id); err != nil {
			t.Fatal(err)
		}
		visible("an SQL update", func() bool { r, _, _ := e.ix.Get(layers.Resources, id); return r != nil && r.Name == "改名" })
		if _, err := pool.Exec(ctx, "DELETE FROM resources WHERE id = $1", id); err != nil {
			t.Fatal(err)
		}
		visible("an SQL delete", func() bool { _, ok, _ := e.ix.Get(layers.Resources, id); return !ok })
	}
	slices.Sort(delays)
	t.Logf("commit → index delay over %d changes: p50 %v, max %v", len(delays), delays[len(delays)/2], delays[len(delays)-1])
	e.mu.Lock()
	defer e.mu.Unlock()
	var ops []feature.Op
	for _, a := range e.applied {
		ops = append(ops, a.Change.Op)
	}
	if len(ops) != 60 {
		t.Fatalf("%d changes applied, want 60 (each once): %v", len(ops), ops)
	}
	for i := 0; i < 60; i += 3 {
		if ops[i] != feature.Insert || ops[i+1] != feature.Update || ops[i+2] != feature.Delete {
			t.Fatalf("changes out of order at %d: %v", i, ops[i:i+3])
		}
	}
	if !sameAsDatabase(t, ctx, e.s, e.ix, e.reg) {
		t.Fatal("index differs from the database")
	}
}

// TestReconnectsAfterTerminatedBackend: the feed's connection is killed
// (pg_terminate_backend) while changes continue; the follower reports degraded,
// reconnects, catches up — deletes included — and reports ready.
func TestReconnectsAfterTerminatedBackend(t *testing.T) {
	e := newEnv(t, pgtest.NewDatabase(t))
	e.start(t)
	ctx := context.Background()
	pool := e.s.Pool()
	for round := range 3 {
		if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`); err != nil {
			t.Fatal(err)
		}
		id := e.insert(t, ctx)
		if _, err := pool.Exec(ctx, "DELETE FROM resources WHERE id = (SELECT min(id) FROM resources)"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, fmt.Sprintf("round %d: the insert", round), func() bool { _, ok, _ := e.ix.Get(layers.Resources, id); return ok })
		waitFor(t, 10*time.Second, "ready again", func() bool { loaded, d := e.f.Ready(); return loaded && len(d) == 0 })
		waitFor(t, 10*time.Second, "the index to equal the database", func() bool { return sameAsDatabase(t, ctx, e.s, e.ix, e.reg) })
	}
}

// TestOutageRestartedPostgres: a private PostgreSQL is stopped and started twice
// while a writer keeps inserting, updating and deleting (its writes fail while the
// server is down). Meanwhile the index keeps answering and the follower reports
// degraded; afterwards index, cached tiles and an event-stream client all agree with
// the database, deletes included.
func TestOutageRestartedPostgres(t *testing.T) {
	inst := pgtest.StartInstance(t)
	e := newEnv(t, inst.URL())
	e.start(t)

	wctx, stopWriter := context.WithCancel(context.Background())
	writes, failed := 0, 0
	var wmu sync.Mutex
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		pool, err := pgxpool.New(wctx, inst.URL())
		if err != nil {
			return
		}
		defer pool.Close()
		for i := 0; wctx.Err() == nil; i++ {
			var err error
			switch i % 3 {
			case 0:
				_, err = pool.Exec(wctx, `INSERT INTO resources (external_id, kind, name, open, geom)
					VALUES ($1, 'medical', '医疗点', true, ST_SetSRID(ST_MakePoint(114.14, 22.56), 4326))`, fmt.Sprintf("W-%d", i))
			case 1:
				_, err = pool.Exec(wctx, "UPDATE resources SET capacity = $1 WHERE id = (SELECT max(id) FROM resources)", i)
			case 2:
				_, err = pool.Exec(wctx, "DELETE FROM resources WHERE id = (SELECT min(id) FROM resources)")
			}
			wmu.Lock()
			if err != nil {
				failed++
			} else {
				writes++
			}
			wmu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	// The stream: a client keeps id → version of the resources from the index's
	// content when it subscribes, then from the events.
	hubCtx, stopHub := context.WithCancel(context.Background())
	defer stopHub()
	client, clientDone := followStream(t, hubCtx, e)
	// The tiles: a cache kept by the index, warm on the tiles around the resources.
	rd, err := tiles.NewRenderer(e.reg, e.ix, tiles.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cache := tiles.NewCache(64 << 20)
	e.ix.OnApply(cache.Invalidate)
	svc := tiles.NewService(rd, cache)
	var coords []tiles.Coord
	for _, z := range []int{12, 14, 16} {
		for _, lon := range []float64{114.12, 114.125, 114.13, 114.14} {
			tl := maptile.At(orb.Point{lon, 22.55}, maptile.Zoom(z))
			coords = append(coords, tiles.Coord{Z: uint32(z), X: tl.X, Y: tl.Y})
		}
	}
	serveTiles := func() {
		for _, c := range coords {
			if _, err := svc.Tile(context.Background(), []string{layers.Resources}, tiles.Request{Coord: c, Filter: index.Filter{MinCapacity: -1}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	serveTiles()

	for range 2 {
		time.Sleep(300 * time.Millisecond)
		serveTiles()
		inst.Stop(t)
		waitFor(t, 10*time.Second, "degraded while the database is down", func() bool { _, d := e.f.Ready(); return len(d) > 0 })
		during := e.ix.Count(layers.Resources)
		time.Sleep(300 * time.Millisecond)
		if loaded, d := e.f.Ready(); !loaded || during == 0 || e.ix.Count(layers.Resources) != during {
			t.Fatalf("during the outage: loaded %v, %d then %d resources", loaded, during, e.ix.Count(layers.Resources))
		} else {
			t.Logf("during the outage: %q", d)
		}
		inst.Start(t)
		waitFor(t, 20*time.Second, "ready after the restart", func() bool { _, d := e.f.Ready(); return len(d) == 0 })
	}
	time.Sleep(300 * time.Millisecond)
	stopWriter()
	<-writerDone
	ctx := context.Background()
	waitFor(t, 10*time.Second, "the index to equal the database after the outages", func() bool { return sameAsDatabase(t, ctx, e.s, e.ix, e.reg) })
	// Tiles: every cached tile equals a fresh rendering of the (now equal) index.
	for _, c := range coords {
		req := tiles.Request{Coord: c, Filter: index.Filter{MinCapacity: -1}}
		tl, err := svc.Tile(context.Background(), []string{layers.Resources}, req)
		if err != nil {
			t.Fatal(err)
		}
		want, _, err := rd.Render(nil, layers.Resources, req)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(bytes.Join(tl.Raw(), nil), want) {
			t.Fatalf("tile %v is stale after the outages", c)
		}
	}
	// Stream: the client's picture equals the database.
	want := map[int64]int64{}
	if err := e.s.Stream(ctx, layers.Resources, func(f feature.Feature) error { want[f.ID] = f.Version; return nil }); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the stream client to equal the database", func() bool {
		client.mu.Lock()
		defer client.mu.Unlock()
		return maps.Equal(client.versions, want)
	})
	stopHub()
	<-clientDone
	wmu.Lock()
	t.Logf("writer: %d writes, %d failed during the outages", writes, failed)
	if writes < 50 || failed == 0 {
		t.Errorf("writer: %d writes, %d failed: the outage was not under load", writes, failed)
	}
	wmu.Unlock()
}

// TestReloadWhenLogPruned: a follower whose snapshot predates pruned log rows
// reloads everything (and says so) instead of catching up.
func TestReloadWhenLogPruned(t *testing.T) {
	e := newEnv(t, pgtest.NewDatabase(t))
	e.start(t)
	e.halt(t)
	ctx := context.Background()
	var ids []int64
	for range 3 {
		ids = append(ids, e.insert(t, ctx))
	}
	for _, id := range ids[:2] {
		if err := e.s.Delete(ctx, layers.Resources, id, store.WriteOptions{Actor: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := e.s.PruneChanges(ctx, time.Now().Add(time.Hour)); err != nil || n == 0 {
		t.Fatalf("prune: %d %v", n, err)
	}
	e.start(t)
	waitFor(t, 10*time.Second, "a reload", func() bool { e.mu.Lock(); defer e.mu.Unlock(); return e.reloads > 0 })
	time.Sleep(300 * time.Millisecond) // a poll or two more: still one reload
	e.mu.Lock()
	reloads := e.reloads
	e.mu.Unlock()
	if reloads != 1 {
		t.Errorf("%d reloads, want 1", reloads)
	}
	if !sameAsDatabase(t, ctx, e.s, e.ix, e.reg) {
		t.Fatal("index differs from the database after the reload")
	}
}

// streamClient is what a client of the event stream knows: resource id → version.
type streamClient struct {
	mu       sync.Mutex
	versions map[int64]int64
}

// followStream wires a hub to the follower (as serve does), subscribes a client
// seeded with the index's resources, and applies every event it receives. A reload
// fails the test: the outage must be caught up, not reloaded.
func followStream(t *testing.T, ctx context.Context, e *env) (*streamClient, <-chan struct{}) {
	t.Helper()
	hub := events.NewHub(events.Options{Flush: 20 * time.Millisecond})
	go hub.Run(ctx)
	c := &streamClient{versions: map[int64]int64{}}
	// Subscribe and seed under the publisher's lock, so no event falls between.
	e.mu.Lock()
	e.publish = func(as []feed.Applied) {
		for _, a := range as {
			before := int8(-1)
			if a.Old != nil {
				before = a.Old.Warning
			}
			ev, err := events.ChangeEvent(e.reg, a.Change, a.Feature, before)
			if err != nil {
				t.Error(err)
				continue
			}
			hub.Publish(ev)
		}
	}
	sub, err := hub.Subscribe(events.Filter{}, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	_ = e.ix.Visit(layers.Resources, index.World, index.Filter{MinCapacity: -1}, func(r *index.Record) bool {
		c.versions[r.ID] = r.Version
		return true
	})
	e.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer sub.Close()
		var buf []events.Batch
		for {
			var err error
			buf, err = sub.Next(ctx, buf[:0])
			if err != nil {
				return
			}
			for _, b := range buf {
				for _, ev := range b.Events {
					if ev.Type == events.TypeReload {
						t.Errorf("the stream sent a reload: %s", ev.Data)
						continue
					}
					var ch events.Change
					if err := json.Unmarshal(ev.Data, &ch); err != nil {
						t.Error(err)
						continue
					}
					if ch.Layer != layers.Resources {
						continue
					}
					c.mu.Lock()
					if ch.Op == feature.Delete {
						delete(c.versions, ch.ID)
					} else if ch.Version > c.versions[ch.ID] {
						c.versions[ch.ID] = ch.Version
					}
					c.mu.Unlock()
				}
			}
		}
	}()
	return c, done
}
