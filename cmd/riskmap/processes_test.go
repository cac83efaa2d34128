package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"

	"riskmap/events"
	"riskmap/internal/pgtest"
	"riskmap/internal/proctest"
)

// Binaries of this command, built once per test process and removed by
// TestMain: with the race detector (buildBinary) and without (buildPlainBinary).
var raceBin, plainBin = &proctest.Binary{Race: true}, &proctest.Binary{}

func TestMain(m *testing.M) { proctest.Main(m, raceBin, plainBin) }

// buildBinary builds this command with -race, once per test process.
func buildBinary(t *testing.T) string { return raceBin.Path(t) }

// buildPlainBinary builds this command without the race detector, once per test
// process.
func buildPlainBinary(t *testing.T) string { return plainBin.Path(t) }

// startServe starts `riskmap serve` on dbURL and waits until /readyz says ready.
func startServe(t *testing.T, bin, dbURL string) *proctest.Proc {
	t.Helper()
	return startProc(t, bin, "", 60*time.Second, "--database-url", dbURL)
}

// startProc starts `riskmap serve` with args (and RISKMAP_DATABASE_URL unset) in dir
// ("" for the test's directory) and waits up to wait until /readyz says ready. The
// process is stopped with SIGINT when the test ends, unless it has exited.
func startProc(t *testing.T, bin, dir string, wait time.Duration, args ...string) *proctest.Proc {
	t.Helper()
	return proctest.Serve(t, bin, proctest.Options{Args: args, Dir: dir, Wait: wait, Stop: os.Interrupt,
		Env: []string{"RISKMAP_TILE_CACHE_MB=32", "RISKMAP_DATABASE_URL=", "RISKMAP_WRITE_TOKEN=" + testWriteToken}})
}

// featureVersion is the version /api/v1/features gives, 0 when 404.
func featureVersion(t *testing.T, base, layer string, id int64) int64 {
	resp, err := http.Get(fmt.Sprintf("%s/api/v1/features/%s/%d", base, layer, id))
	if err != nil {
		t.Error(err)
		return -1
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return 0
	}
	var f struct {
		Properties struct{ Version int64 } `json:"properties"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil {
		t.Error(err)
		return -1
	}
	return f.Properties.Version
}

// tileHas reports whether the z16 tile of p holds feature id in layer.
func tileHas(t *testing.T, base, layer string, p orb.Point, id int64) bool {
	tl := maptile.At(p, 16)
	resp, err := http.Get(fmt.Sprintf("%s/tiles/%s/16/%d/%d.mvt", base, layer, tl.X, tl.Y))
	if err != nil {
		t.Error(err)
		return false
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	ls, err := mvt.Unmarshal(raw)
	if err != nil {
		t.Error(err)
		return false
	}
	for _, l := range ls {
		for _, f := range l.Features {
			if f.Properties["id"] == float64(id) {
				return true
			}
		}
	}
	return false
}

// stream follows a process's /api/v1/events and keeps the latest change seen of
// each feature.
type stream struct {
	mu     sync.Mutex
	latest map[int64]events.Change // by feature id
	err    error
}

func openStream(t *testing.T, ctx context.Context, base, query string) *stream {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/events"+query, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	st := &stream{latest: map[int64]events.Change{}}
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var c events.Change
			if err := json.Unmarshal([]byte(data), &c); err != nil || c.Layer == "" {
				continue // not a change (a reload, say)
			}
			st.mu.Lock()
			st.latest[c.ID] = c
			st.mu.Unlock()
		}
		st.mu.Lock()
		st.err = sc.Err()
		st.mu.Unlock()
	}()
	return st
}

// has reports whether the stream carried feature id at version ≥ v (or its delete).
func (st *stream) has(id, v int64, op string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	c, ok := st.latest[id]
	return ok && c.Version >= v && (op == "" || string(c.Op) == op)
}

// TestTwoProcessesFollowSQL: two `riskmap serve` processes on one database; inserts,
// updates and deletes made with plain SQL show in both processes' feature queries,
// tiles and event streams (one filtered to the layer). The delays are logged (the figures for docs/benchmarks.md come from
// internal/cmd/feedlag).
func TestTwoProcessesFollowSQL(t *testing.T) {
	url := pgtest.NewDatabase(t)
	if code, out, errOut := runCLI(t, "migrate", "--database-url", url); code != 0 {
		t.Fatalf("migrate: %s %s", out, errOut)
	}
	bin := buildBinary(t)
	a, b := startServe(t, bin, url), startServe(t, bin, url)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	sctx, stopStreams := context.WithCancel(ctx)
	defer stopStreams()
	streams := map[*proctest.Proc]*stream{a: openStream(t, sctx, a.Base, "?layers=risk_points"), b: openStream(t, sctx, b.Base, "")}

	var delays []time.Duration
	visible := func(what string, ok func(p *proctest.Proc) bool) {
		t.Helper()
		start := time.Now()
		for _, p := range []*proctest.Proc{a, b} {
			for !ok(p) {
				if time.Since(start) > 10*time.Second {
					t.Fatalf("%s: not visible in %s after 10 s", what, p.Base)
				}
				time.Sleep(2 * time.Millisecond)
			}
		}
		delays = append(delays, time.Since(start))
	}
	for i := range 10 {
		pt := orb.Point{114.12 + 0.002*float64(i), 22.55}
		var id int64
		err := pool.QueryRow(ctx, `INSERT INTO risk_points (external_id, name, category, risk_grade, geom)
			VALUES ($1, '测试风险点', 'fire', 'major', ST_SetSRID(ST_MakePoint($2, $3), 4326)) RETURNING id`,
			fmt.Sprintf("P-%d", i), pt[0], pt[1]).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		visible("insert", func(p *proctest.Proc) bool {
			return featureVersion(t, p.Base, "risk_points", id) == 1 && tileHas(t, p.Base, "risk_points", pt, id) &&
				streams[p].has(id, 1, "")
		})
		if _, err := pool.Exec(ctx, "UPDATE risk_points SET risk_grade = 'low' WHERE id = $1", id); err != nil {
			t.Fatal(err)
		}
		visible("update", func(p *proctest.Proc) bool {
			return featureVersion(t, p.Base, "risk_points", id) == 2 && streams[p].has(id, 2, "")
		})
		if _, err := pool.Exec(ctx, "DELETE FROM risk_points WHERE id = $1", id); err != nil {
			t.Fatal(err)
		}
		visible("delete", func(p *proctest.Proc) bool {
			return featureVersion(t, p.Base, "risk_points", id) == 0 && !tileHas(t, p.Base, "risk_points", pt, id) &&
				streams[p].has(id, 3, "delete")
		})
	}
	slices.Sort(delays)
	t.Logf("SQL commit → visible in both processes (query, tile and event stream), %d changes: p50 %v, max %v",
		len(delays), delays[len(delays)/2], delays[len(delays)-1])
}
