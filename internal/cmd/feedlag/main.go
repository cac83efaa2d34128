// Command feedlag measures the live data path across processes: how long after a
// change made by plain SQL commits it is visible in every `riskmap serve` process's
// event stream, feature queries and vector tiles (docs/benchmarks.md, "Live data
// path: change to visible across processes"). The target is 200 ms at p99.
//
//	go run ./internal/cmd/feedlag                       # 2 processes, 1,000 changes at 20/s
//	go run ./internal/cmd/feedlag -event-flush 250ms    # the stream's flush passed to serve
//	go run ./internal/cmd/feedlag -procs 3 -changes 3000 -rate 50
//
// What it does, in order:
//
//  1. builds the riskmap binary (go build -o <tmp>/riskmap ./cmd/riskmap, no -race;
//     -bin uses a binary already built);
//  2. creates a fresh database on -admin-url, runs `riskmap migrate` and
//     `riskmap seed --demo` (37,705 features, progress shown);
//  3. starts -procs `riskmap serve` processes on it (free loopback ports,
//     --database-url, --event-flush only when -event-flush is given, every other
//     setting at its default: RISKMAP_* variables are removed from their
//     environment), waits until each /readyz says "ready" and opens one event
//     stream (GET /api/v1/events, every layer) per process;
//  4. makes -changes changes (or as many as -duration allows) by plain SQL over its
//     own pgx connection (BEGIN; one INSERT/UPDATE/DELETE … RETURNING; COMMIT), at
//     -rate per second with exponentially distributed gaps (a Poisson process),
//     on the -layers (risk_points and waterlogging_spots): inserts, updates —
//     risk_grade, name, hazard_status or moving a risk point by 10–60 m; a water
//     sensor's reading on a spot (current_depth_cm with the trend and warning level
//     it implies) — and deletes, in the proportions of -mix. The commit time of each
//     is taken just after COMMIT returns;
//  5. measures, for every change and every process, commit → visible:
//     (a) event stream: the stream delivered an event of the feature (layer and id)
//     with a version ≥ the change's (a delete's event carries one past the last
//     stored version), so a later change of the same feature that the hub coalesced
//     with it within one flush — or the feed applied in the same batch — counts;
//     (b) query: GET /api/v1/features/{layer}/{id} shows version ≥ the change's
//     (404 for a delete, or for an update the feature's later delete);
//     (c) tile: the z16 tile (/tiles/{layer}/16/x/y.mvt) that holds the feature
//     (for a polygon spot, its point on surface) shows the committed state — the
//     feature absent after a delete, else present with the fields the tool writes
//     (name, risk_grade, hazard_status; name, current_depth_cm, warning_level,
//     trend: every field is in tiles from z16) and, for points, at the committed
//     position (±1 m); a later committed state counts too. Every state the tool
//     writes differs from all earlier states of that feature (a name is made unique
//     when needed), so an old state is never mistaken for a new one. Tiles are
//     polled with If-None-Match, as a map client revalidates.
//     Queries and tiles are polled every -poll (default 2 ms, so a figure is late by
//     at most one interval plus one request), one goroutine per change, process and
//     path, started at commit, so polling one change never delays another's.
//     A feature is deleted only when the measurements of its last change are done
//     (a delete is otherwise indistinguishable from an insert not yet seen).
//  6. reports p50, p90, p99 and max of (a), (b), (c) per process, over all
//     processes, and per change for the slowest process ("in every process"), how
//     many changes never became visible within -timeout (a bug: each is listed
//     with how to look at it), how many changes were coalesced in the streams, and
//     the CPU time over the measured window of each server process, of PostgreSQL's
//     backends serving this database, of the tool, and of the whole machine;
//  7. stops the servers and drops the database — also on Ctrl-C.
//
// Figures (2 vCPU AMD EPYC, shared by PostgreSQL 15, both servers and this tool;
// Go 1.26; 1,000 changes at 20/s; commit → visible in every process, i.e. the
// slowest of the two per change, p50 / p99 / max; none missing):
//
//	go run ./internal/cmd/feedlag                     event stream 55 / 105 / 123 ms
//	                                                  query         6 /  27 /  38 ms
//	                                                  tile z16      8 /  47 /  58 ms
//	go run ./internal/cmd/feedlag -event-flush 250ms  event stream 132 / 253 / 255 ms
//	                                                  query         6 /  30 /  57 ms
//	                                                  tile z16      8 /  45 /  71 ms
//	go run ./internal/cmd/feedlag -no-analyze         query 34 / 111 ms: the change
//	                                                  log without statistics makes the
//	                                                  feed's query walk the whole log
//
// More in docs/benchmarks.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// supportedLayers are the layers the tool knows how to change.
var supportedLayers = []string{"risk_points", "waterlogging_spots"}

type options struct {
	adminURL   string
	procs      int
	changes    int
	rate       float64
	duration   time.Duration
	layers     []string
	mix        [3]float64 // insert, update, delete weights
	eventFlush time.Duration
	poll       time.Duration
	timeout    time.Duration
	maxPollers int
	seed       uint64
	bin        string
	csv        string
	noAnalyze  bool
}

func main() {
	var o options
	var layersFlag, mixFlag string
	flag.StringVar(&o.adminURL, "admin-url", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL server to create the benchmark database on (needs CREATEDB and PostGIS)")
	flag.IntVar(&o.procs, "procs", 2, "riskmap serve processes on the one database")
	flag.IntVar(&o.changes, "changes", 1000, "changes to make")
	flag.Float64Var(&o.rate, "rate", 20, "changes per second (mean of a Poisson process)")
	flag.DurationVar(&o.duration, "duration", 0, "stop making changes after this long, even before -changes (0: no limit)")
	flag.StringVar(&layersFlag, "layers", strings.Join(supportedLayers, ","), "layers to change, each picked with equal probability: "+strings.Join(supportedLayers, ", "))
	flag.StringVar(&mixFlag, "mix", "15,75,10", "relative weights of inserts, updates and deletes")
	flag.DurationVar(&o.eventFlush, "event-flush", 0, "pass --event-flush to riskmap serve (1ms–250ms); 0: the server's default (100 ms)")
	flag.DurationVar(&o.poll, "poll", 2*time.Millisecond, "interval between two polls of a feature query or tile")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Second, "a change not visible this long after its commit counts as never visible")
	flag.IntVar(&o.maxPollers, "max-pollers", 2000, "most polling goroutines at once (a change waiting for one is reported)")
	flag.Uint64Var(&o.seed, "seed", 1, "random seed of the changes")
	flag.StringVar(&o.bin, "bin", "", "use this riskmap binary instead of building one")
	flag.BoolVar(&o.noAnalyze, "no-analyze", false, "do not ANALYZE the database after seeding (the change log then has no statistics, as with autovacuum off)")
	flag.StringVar(&o.csv, "csv", "", "also write every measurement to this CSV file (change, layer, id, op, what, version, commit offset, process, path, ms)")
	flag.Parse()
	if err := o.parse(layersFlag, mixFlag); err != nil {
		fmt.Fprintln(os.Stderr, "feedlag:", err)
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	interrupted := ctx.Err() != nil
	stop()
	if err != nil {
		if interrupted {
			fmt.Fprintln(os.Stderr, "feedlag: interrupted; cleaned up")
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "feedlag:", err)
		os.Exit(1)
	}
}

func (o *options) parse(layersFlag, mixFlag string) error {
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if o.procs < 1 || o.changes < 1 || o.rate <= 0 || o.duration < 0 || o.poll <= 0 || o.timeout <= 0 || o.maxPollers < 1 {
		return errors.New("-procs, -changes, -rate, -poll, -timeout and -max-pollers must be positive, -duration ≥ 0")
	}
	if o.eventFlush != 0 && (o.eventFlush < time.Millisecond || o.eventFlush > 250*time.Millisecond) {
		return errors.New("-event-flush must be within 1ms–250ms (what riskmap serve accepts), or 0 for its default")
	}
	for l := range strings.SplitSeq(layersFlag, ",") {
		l = strings.TrimSpace(l)
		if !slices.Contains(supportedLayers, l) {
			return fmt.Errorf("-layers: %q is not one of %s", l, strings.Join(supportedLayers, ", "))
		}
		if !slices.Contains(o.layers, l) {
			o.layers = append(o.layers, l)
		}
	}
	parts := strings.Split(mixFlag, ",")
	if len(parts) != 3 {
		return errors.New("-mix: three weights, insert,update,delete")
	}
	sum := 0.0
	for i, p := range parts {
		if _, err := fmt.Sscan(strings.TrimSpace(p), &o.mix[i]); err != nil || o.mix[i] < 0 {
			return fmt.Errorf("-mix: %q is not a weight ≥ 0", p)
		}
		sum += o.mix[i]
	}
	if sum == 0 {
		return errors.New("-mix: the weights sum to 0")
	}
	return nil
}

// commandLine is how this run was invoked, for the report.
func commandLine() string {
	args := make([]string, 0, len(os.Args))
	exe := os.Args[0]
	if strings.Contains(exe, "go-build") {
		args = append(args, "go", "run", "./internal/cmd/feedlag")
	} else {
		args = append(args, exe)
	}
	for _, a := range os.Args[1:] {
		if strings.ContainsAny(a, " \t'\"$&;|<>()") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		args = append(args, a)
	}
	return strings.Join(args, " ")
}

func run(ctx context.Context, o options) (err error) {
	cmdline := commandLine()
	fmt.Printf("command: %s\n", cmdline)
	tmp, err := os.MkdirTemp("", "feedlag-")
	if err != nil {
		return err
	}
	keepTmp := false
	defer func() {
		if keepTmp {
			fmt.Printf("server logs kept in %s\n", tmp)
			return
		}
		os.RemoveAll(tmp)
	}()

	bin := o.bin
	if bin == "" {
		bin = filepath.Join(tmp, "riskmap")
		if err := buildBinary(ctx, bin); err != nil {
			return err
		}
	}
	db, err := createDatabase(ctx, o.adminURL)
	if err != nil {
		return err
	}
	defer db.drop()
	if err := prepareDatabase(ctx, bin, db.url, !o.noAnalyze); err != nil {
		return err
	}

	var servers []*server
	defer func() { stopServers(servers) }()
	for i := range o.procs {
		s, err := startServer(ctx, bin, db.url, i+1, tmp, o.eventFlush)
		if err != nil {
			return err
		}
		servers = append(servers, s)
	}
	for _, s := range servers {
		if err := s.waitReady(ctx, 3*time.Minute); err != nil {
			keepTmp = true
			return err
		}
	}

	streamCtx, stopStreams := context.WithCancel(ctx)
	defer stopStreams()
	streams := make([]*stream, len(servers))
	for i, s := range servers {
		if streams[i], err = openStream(streamCtx, s.base); err != nil {
			return fmt.Errorf("event stream of process %d: %w", s.n, err)
		}
	}

	b, err := newBench(ctx, o, db.url, servers, streams)
	if err != nil {
		return err
	}
	defer b.close()
	rep, err := b.run(ctx)
	if err != nil {
		return err
	}
	stopStreams()
	rep.command = cmdline
	rep.print(os.Stdout)
	if o.csv != "" {
		if err := rep.writeCSV(o.csv); err != nil {
			return err
		}
	}
	if rep.invisible > 0 {
		keepTmp = true
	}
	return nil
}

// newRand returns the tool's random source.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }
