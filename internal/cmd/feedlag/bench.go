package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// layerSpec is what the tool reads and compares of a layer: fields are the
// properties compared in tiles (every field is in a tile from z16), returning the
// SQL that yields version, fields, lon, lat of a point on the feature and whether
// the geometry is a point.
type layerSpec struct {
	name      string
	fields    []string
	returning string
}

var specs = map[string]*layerSpec{
	"risk_points": {
		name:      "risk_points",
		fields:    []string{"name", "risk_grade", "hazard_status"},
		returning: "version, name, risk_grade, hazard_status, ST_X(geom), ST_Y(geom), true",
	},
	"waterlogging_spots": {
		name:      "waterlogging_spots",
		fields:    []string{"name", "current_depth_cm", "warning_level", "trend"},
		returning: "version, name, current_depth_cm, warning_level, trend, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)), GeometryType(geom) = 'POINT'",
	},
}

// state is a feature's committed state as far as the checks go.
type state struct {
	version  int64
	deleted  bool
	lon, lat float64 // the point, or a point on the polygon; for a delete the last one
	point    bool    // the geometry is a point: its position is checked in tiles
	props    []any   // values of spec.fields (string, float64 or nil)
}

// tileKey is what a tile shows of the state.
func (s *state) tileKey() string {
	if s.deleted {
		return "deleted"
	}
	return fmt.Sprintf("%v|%.6f|%.6f", s.props, s.lon, s.lat)
}

// feat is a feature the tool knows.
type feat struct {
	k    fkey
	spec *layerSpec
	tool bool // inserted by the tool

	states []*state // committed states, oldest first; guarded by bench.mu

	// Writer only.
	keys         map[string]bool // tile keys of every state it had
	live         bool
	pos          int      // index in bench.live[layer]
	warningDepth *float64 // spots
	// pending counts the query and tile measurements of its changes not done yet.
	pending atomic.Int32
}

// change is one committed change and what was measured of it.
type change struct {
	n      int
	f      *feat
	op     string // insert, update, delete
	what   string // insert, grade, name, status, move, reading, delete
	st     *state
	commit time.Time
	sqlDur time.Duration // BEGIN → COMMIT returned
	res    []procResult  // per process
}

const (
	pathEvents = iota
	pathQuery
	pathTile
	numPaths
)

var pathNames = [numPaths]string{"event stream", "query", "tile z16"}

type procResult struct {
	lat       [numPaths]time.Duration
	ok        [numPaths]bool
	note      [numPaths]string // what was last seen, when not visible
	coalesced bool             // the stream never delivered this version, only a later one
	early     bool             // the stream delivered it before COMMIT returned to the writer
}

type bench struct {
	o       options
	dbURL   string
	dbName  string
	servers []*server
	streams []*stream
	conn    *pgx.Conn
	client  *http.Client
	rng     *rand.Rand

	mu      sync.Mutex // guards feat.states
	feats   map[fkey]*feat
	live    map[string][]*feat
	changes []*change

	sem        chan struct{}
	wg         sync.WaitGroup
	slotWaits  atomic.Int64
	lateStarts int // changes made more than 1 s behind schedule

	// Requests the pollers made: feature queries, tiles, tiles answered 304.
	queryReqs, tileReqs, tile304 atomic.Int64
}

func newBench(ctx context.Context, o options, dbURL string, servers []*server, streams []*stream) (*bench, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	b := &bench{
		o: o, dbURL: dbURL, dbName: conn.Config().Database, servers: servers, streams: streams, conn: conn,
		client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute,
		}},
		rng:   newRand(o.seed),
		feats: map[fkey]*feat{},
		live:  map[string][]*feat{},
		sem:   make(chan struct{}, o.maxPollers),
	}
	for _, l := range o.layers {
		if err := b.load(ctx, specs[l]); err != nil {
			conn.Close(context.Background())
			return nil, fmt.Errorf("load %s: %w", l, err)
		}
	}
	return b, nil
}

func (b *bench) close() { b.conn.Close(context.Background()) }

// load reads every feature of a layer as it is now.
func (b *bench) load(ctx context.Context, sp *layerSpec) error {
	wd := "NULL::float8"
	if sp.name == "waterlogging_spots" {
		wd = "warning_depth_cm"
	}
	rows, err := b.conn.Query(ctx, "SELECT id, "+wd+", "+sp.returning+" FROM "+sp.name+" ORDER BY id")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var wdv *float64
		st := &state{props: make([]any, len(sp.fields))}
		dest := []any{&id, &wdv, &st.version}
		for i := range st.props {
			dest = append(dest, &st.props[i])
		}
		dest = append(dest, &st.lon, &st.lat, &st.point)
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		f := &feat{k: fkey{sp.name, id}, spec: sp, states: []*state{st}, keys: map[string]bool{st.tileKey(): true}, warningDepth: wdv}
		b.feats[f.k] = f
		b.addLive(f)
	}
	fmt.Printf("%s: %d features\n", sp.name, len(b.live[sp.name]))
	return rows.Err()
}

func (b *bench) addLive(f *feat) {
	f.live, f.pos = true, len(b.live[f.k.layer])
	b.live[f.k.layer] = append(b.live[f.k.layer], f)
}

func (b *bench) removeLive(f *feat) {
	l := b.live[f.k.layer]
	last := l[len(l)-1]
	l[f.pos], last.pos = last, f.pos
	b.live[f.k.layer] = l[:len(l)-1]
	f.live = false
}

// cpuSample is the CPU times read at one moment.
type cpuSample struct {
	at        time.Time
	servers   []time.Duration
	backends  map[int]time.Duration
	self      time.Duration
	busy, all time.Duration
}

func (b *bench) sampleCPU() cpuSample {
	s := cpuSample{at: time.Now(), backends: backendsCPU(b.dbName), self: selfCPU()}
	for _, srv := range b.servers {
		c, _ := procCPU(srv.cmd.Process.Pid)
		s.servers = append(s.servers, c)
	}
	s.busy, s.all = machineCPU()
	return s
}

// run makes the changes, measures them and returns the report.
func (b *bench) run(ctx context.Context) (*report, error) {
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fmt.Printf("making %d changes at %g/s (Poisson) on %s; mix insert/update/delete %g/%g/%g\n",
		b.o.changes, b.o.rate, strings.Join(b.o.layers, ", "), b.o.mix[0], b.o.mix[1], b.o.mix[2])
	cpu0 := b.sampleCPU()
	start := time.Now()
	next := start
	lastProgress := start
	var err error
	for n := 0; n < b.o.changes; n++ {
		if b.o.duration > 0 && time.Since(start) >= b.o.duration {
			break
		}
		if d := time.Until(next); d > 0 {
			select {
			case <-ctx.Done():
				err = ctx.Err()
			case <-time.After(d):
			}
		} else if -d > time.Second {
			b.lateStarts++
		}
		if err != nil {
			break
		}
		var c *change
		if c, err = b.makeChange(ctx, n); err != nil {
			err = fmt.Errorf("change %d: %w", n, err)
			break
		}
		b.changes = append(b.changes, c)
		b.measure(mctx, c)
		next = next.Add(time.Duration(b.rng.ExpFloat64() / b.o.rate * float64(time.Second)))
		if time.Since(lastProgress) >= 10*time.Second {
			lastProgress = time.Now()
			fmt.Printf("  %d changes in %v\n", n+1, time.Since(start).Round(time.Second))
		}
	}
	writeEnd := time.Now()
	if err != nil {
		cancel()
		b.wg.Wait()
		return nil, err
	}
	fmt.Printf("  %d changes made in %v; waiting for the last measurements\n", len(b.changes), writeEnd.Sub(start).Round(time.Millisecond))
	b.wg.Wait()
	cpu1 := b.sampleCPU()
	if err := b.awaitStreams(ctx); err != nil {
		return nil, err
	}
	return b.report(start, writeEnd, cpu0, cpu1), nil
}

// awaitStreams waits until every change was delivered by every stream, or -timeout
// after the last commit, and records the stream figures.
func (b *bench) awaitStreams(ctx context.Context) error {
	deadline := time.Now().Add(b.o.timeout)
	if n := len(b.changes); n > 0 {
		deadline = b.changes[n-1].commit.Add(b.o.timeout)
	}
	for {
		missing := 0
		for _, c := range b.changes {
			for i, st := range b.streams {
				r := &c.res[i]
				if r.ok[pathEvents] {
					continue
				}
				at, coalesced, ok := st.resolve(c.f.k, c.st.version)
				if !ok {
					missing++
					continue
				}
				r.ok[pathEvents], r.coalesced = true, coalesced
				r.lat[pathEvents] = at.Sub(c.commit)
				if r.lat[pathEvents] < 0 {
					r.lat[pathEvents], r.early = 0, true
				}
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	for _, c := range b.changes {
		for i, st := range b.streams {
			if r := &c.res[i]; !r.ok[pathEvents] {
				r.note[pathEvents] = st.seen(c.f.k)
			}
		}
	}
	return nil
}

// ---- the changes ----

var (
	grades     = []string{"low", "general", "significant", "major"}
	statuses   = []string{"open", "rectifying", "closed"}
	categories = []string{"landslide", "flooding", "fire", "high_rise_fire", "hazardous_chemicals", "construction",
		"small_works", "gas", "elevator", "ev_charging", "falling_object", "road_traffic", "other"}
	spotKinds = []string{"underpass", "low_road", "residential", "drain_node", "other"}
)

// setClause is one column assignment of an UPDATE.
type setClause struct {
	sql  string // with %d placeholders for its arguments' numbers
	args []any
}

func (b *bench) pick(weights []float64) int {
	sum := 0.0
	for _, w := range weights {
		sum += w
	}
	x := b.rng.Float64() * sum
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// makeChange makes change number n and returns it, committed.
func (b *bench) makeChange(ctx context.Context, n int) (*change, error) {
	layer := b.o.layers[b.rng.IntN(len(b.o.layers))]
	op := [...]string{"insert", "update", "delete"}[b.pick(b.o.mix[:])]
	live := b.live[layer]
	if len(live) == 0 {
		op = "insert"
	}
	var f *feat
	switch op {
	case "delete":
		// Only a feature whose last change was fully measured (see the package
		// comment), and never the last few spots.
		if len(live) > 10 {
			for range 50 {
				if c := live[b.rng.IntN(len(live))]; c.pending.Load() == 0 {
					f = c
					break
				}
			}
		}
		if f == nil {
			op = "update"
		}
	}
	if op == "update" {
		f = live[b.rng.IntN(len(live))]
	}
	switch op {
	case "insert":
		return b.insert(ctx, n, layer)
	case "update":
		return b.update(ctx, n, f)
	default:
		return b.delete(ctx, n, f)
	}
}

// near returns a point within maxM meters of (lon, lat), at least minM away.
func (b *bench) near(lon, lat, minM, maxM float64) (float64, float64) {
	d := minM + b.rng.Float64()*(maxM-minM)
	a := b.rng.Float64() * 2 * math.Pi
	return lon + d*math.Sin(a)/(111320*math.Cos(lat*math.Pi/180)), lat + d*math.Cos(a)/110574
}

// exec runs one statement returning a feature in its own transaction and returns
// the state after it and the time COMMIT returned.
func (b *bench) exec(ctx context.Context, sp *layerSpec, withID bool, sql string, args ...any) (int64, *state, time.Time, time.Duration, error) {
	t0 := time.Now()
	tx, err := b.conn.Begin(ctx)
	if err != nil {
		return 0, nil, time.Time{}, 0, err
	}
	defer tx.Rollback(context.Background())
	var id int64
	st := &state{props: make([]any, len(sp.fields))}
	var dest []any
	if withID {
		dest = append(dest, &id)
	}
	dest = append(dest, &st.version)
	for i := range st.props {
		dest = append(dest, &st.props[i])
	}
	dest = append(dest, &st.lon, &st.lat, &st.point)
	if err := tx.QueryRow(ctx, sql, args...).Scan(dest...); err != nil {
		return 0, nil, time.Time{}, 0, fmt.Errorf("%s: %w", sql, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, nil, time.Time{}, 0, err
	}
	at := time.Now()
	return id, st, at, at.Sub(t0), nil
}

func (b *bench) insert(ctx context.Context, n int, layer string) (*change, error) {
	sp := specs[layer]
	anchor := b.live[layer][b.rng.IntN(len(b.live[layer]))].last()
	lon, lat := b.near(anchor.lon, anchor.lat, 0, 150)
	ext := fmt.Sprintf("FEEDLAG-%d", n)
	var sql string
	var args []any
	var wd *float64
	switch layer {
	case "risk_points":
		sql = `INSERT INTO risk_points (external_id, name, category, risk_grade, hazard_status, geom)
			VALUES ($1, $2, $3, $4, 'open', ST_SetSRID(ST_MakePoint($5, $6), 4326)) RETURNING id, ` + sp.returning
		args = []any{ext, fmt.Sprintf("新排查风险点 %d", n), categories[b.rng.IntN(len(categories))], grades[b.rng.IntN(len(grades))], lon, lat}
	default:
		w := float64(20 + 5*b.rng.IntN(7))
		wd = &w
		depth := math.Round(b.rng.Float64()*w*10) / 10
		sql = `INSERT INTO waterlogging_spots (external_id, name, kind, warning_depth_cm, current_depth_cm, trend, warning_level, geom)
			VALUES ($1, $2, $3, $4, $5, 'rising', $6, ST_SetSRID(ST_MakePoint($7, $8), 4326)) RETURNING id, ` + sp.returning
		args = []any{ext, fmt.Sprintf("新增积水点 %d", n), spotKinds[b.rng.IntN(len(spotKinds))], w, depth, warningFor(depth, w), lon, lat}
	}
	id, st, at, dur, err := b.exec(ctx, sp, true, sql, args...)
	if err != nil {
		return nil, err
	}
	f := &feat{k: fkey{layer, id}, spec: sp, tool: true, keys: map[string]bool{}, warningDepth: wd}
	b.mu.Lock()
	b.feats[f.k] = f
	b.mu.Unlock()
	b.addLive(f)
	return b.committed(n, f, "insert", "insert", st, at, dur), nil
}

// last is the feature's latest committed state.
func (f *feat) last() *state { return f.states[len(f.states)-1] }

// warningFor is the warning level a depth gauge reading implies for a spot whose
// warning depth is w.
func warningFor(depth, w float64) string {
	switch r := depth / w; {
	case r < 0.5:
		return "none"
	case r < 0.75:
		return "blue"
	case r < 1:
		return "yellow"
	case r < 1.5:
		return "orange"
	}
	return "red"
}

func (b *bench) update(ctx context.Context, n int, f *feat) (*change, error) {
	b.mu.Lock()
	cur := f.last()
	b.mu.Unlock()
	want := &state{lon: cur.lon, lat: cur.lat, point: cur.point, props: slices.Clone(cur.props)}
	var sets []setClause
	set := func(field string, v any) {
		want.props[slices.Index(f.spec.fields, field)] = v
		sets = append(sets, setClause{field + " = $%d", []any{v}})
	}
	var what string
	switch f.k.layer {
	case "risk_points":
		what = [...]string{"grade", "name", "status", "move"}[b.pick([]float64{35, 15, 15, 35})]
		switch what {
		case "grade":
			set("risk_grade", other(b.rng, grades, cur.props[1]))
		case "name":
			set("name", fmt.Sprintf("风险点（更名 %d）", n))
		case "status":
			set("hazard_status", other(b.rng, statuses, cur.props[2]))
		case "move":
			want.lon, want.lat = b.near(cur.lon, cur.lat, 10, 60)
			sets = append(sets, setClause{"geom = ST_SetSRID(ST_MakePoint($%d, $%d), 4326)", []any{want.lon, want.lat}})
		}
	default:
		what = "reading"
		old, _ := cur.props[1].(float64)
		if cur.props[1] == nil {
			old = 10
		}
		w := 30.0
		if f.warningDepth != nil && *f.warningDepth > 0 {
			w = *f.warningDepth
		}
		depth := max(0, math.Round((old+b.rng.NormFloat64()*0.2*w)*10)/10)
		if depth == old {
			depth += 0.1
		}
		trend := "steady"
		switch {
		case depth > old+0.5:
			trend = "rising"
		case depth < old-0.5:
			trend = "falling"
		}
		set("current_depth_cm", depth)
		set("trend", trend)
		set("warning_level", warningFor(depth, w))
	}
	if f.keys[want.tileKey()] {
		// The state would look like an earlier one in a tile: make it unique.
		set("name", fmt.Sprintf("%v（%d）", want.props[0], n))
	}
	var cl []string
	args := []any{f.k.id}
	for _, s := range sets {
		nums := make([]any, len(s.args))
		for i := range s.args {
			args = append(args, s.args[i])
			nums[i] = len(args)
		}
		cl = append(cl, fmt.Sprintf(s.sql, nums...))
	}
	sql := "UPDATE " + f.spec.name + " SET " + strings.Join(cl, ", ") + " WHERE id = $1 RETURNING " + f.spec.returning
	_, st, at, dur, err := b.exec(ctx, f.spec, false, sql, args...)
	if err != nil {
		return nil, err
	}
	return b.committed(n, f, "update", what, st, at, dur), nil
}

// other picks a value of choices different from cur.
func other(rng *rand.Rand, choices []string, cur any) string {
	for {
		if c := choices[rng.IntN(len(choices))]; c != cur {
			return c
		}
	}
}

func (b *bench) delete(ctx context.Context, n int, f *feat) (*change, error) {
	t0 := time.Now()
	tx, err := b.conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(context.Background())
	var v int64
	if err := tx.QueryRow(ctx, "DELETE FROM "+f.spec.name+" WHERE id = $1 RETURNING version", f.k.id).Scan(&v); err != nil {
		return nil, fmt.Errorf("delete %s %d: %w", f.k.layer, f.k.id, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	at := time.Now()
	b.mu.Lock()
	cur := f.last()
	b.mu.Unlock()
	// The change log gives a delete one past the last stored version.
	st := &state{version: v + 1, deleted: true, lon: cur.lon, lat: cur.lat, point: cur.point}
	b.removeLive(f)
	return b.committed(n, f, "delete", "delete", st, at, at.Sub(t0)), nil
}

// committed records a committed state of f and returns its change.
func (b *bench) committed(n int, f *feat, op, what string, st *state, at time.Time, dur time.Duration) *change {
	b.mu.Lock()
	f.states = append(f.states, st)
	b.mu.Unlock()
	f.keys[st.tileKey()] = true
	return &change{n: n, f: f, op: op, what: what, st: st, commit: at, sqlDur: dur, res: make([]procResult, len(b.servers))}
}

// candidates are the committed states of c's feature that satisfy c: its own and
// any later one.
func (b *bench) candidates(c *change) []*state {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*state
	for _, s := range c.f.states {
		if s.version >= c.st.version {
			out = append(out, s)
		}
	}
	return out
}
