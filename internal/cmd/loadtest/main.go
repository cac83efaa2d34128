// Command loadtest is riskmap's mixed load test (make loadtest) and soak (make soak):
// against one running riskmap server holding the demo data, for the whole -duration
// at once,
//
//   - tiles: GET /tiles/all/{z}/{x}/{y}.mvt with Accept-Encoding: gzip, a zoom
//     uniform in 10–17 and a position uniform over the district (a non-empty tile
//     must come gzipped);
//   - nearby: GET /api/v1/nearby, kNN-10 and radius 500 m over risk points in
//     turn, at the proximity benchmarks' random points in the built-up area
//     (internal/benchkit);
//   - sse-connect and events: -subscribers event stream clients (GET
//     /api/v1/events) held open for the whole run, counting every event received;
//     the latency of a change event is from the change's time in its payload to
//     its read; a stream that ends early, or a reload event, is an error;
//   - readings: -readings-rate readings per second POSTed to /api/v1/readings in
//     batches of -batch with a sensor token, for the server's real sensors (GET
//     /api/v1/sensors), calm valid values, each sensor's moving once every
//     -value-every (1 s), so that every monitored object changes about once a
//     second and every stream gets the change;
//   - edits: -edit-rate PATCHes per second of one property (measures) of a risk
//     point with If-Match, with an editor token (docs/edits.md).
//
// Readings and edits are paced open-loop at their fixed rate, at most -inflight
// requests at once each, and their latency counts from the scheduled time (so a
// server that falls behind shows, rather than slowing the load down). Tiles and
// nearby are paced the same way at -tile-rate and -nearby-rate, at most
// -tile-workers and -nearby-workers at once; a rate of 0 runs that many workers
// one request after the other as fast as the server answers instead. An error is
// any transport error, status outside 2xx (429 included), unexpected answer or
// dropped stream.
//
// Every second it takes each kind's count, errors and p50/p99 latency of that
// second, and the server's memory: go_memstats_heap_inuse_bytes,
// go_memstats_heap_alloc_bytes and process_resident_memory_bytes from /metrics
// when the server has it, and, with -pid (a server started on this machine),
// VmRSS and CPU time from /proc. At the end it prints p50/p99/max, count, rate and
// errors per kind, memory at the start, middle and end, writes the per-second
// samples as CSV (-csv) and a chart of p99 latency per kind and memory over time
// as SVG (-svg), and exits 1 when there was any error or, with -soak, when the
// heap was not flat (FlatRule: after -warmup, the least-squares slope of heap in
// use at most -max-slope MB/min and the last minute's median within -tolerance of
// the first minute's after the warm-up). scripts/loadtest.sh starts a server with
// the demo data and its tokens and runs this; see docs/benchmarks.md, "Load test
// and soak".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// config is the command line.
type config struct {
	url                        string
	duration                   time.Duration
	soak                       bool
	tileWorkers, nearbyWorkers int
	tileRate, nearbyRate       float64 // requests/s; 0: closed loop
	subscribers                int
	readingsRate               float64 // readings/s
	batch                      int     // readings per request
	valueEvery                 time.Duration
	editRate                   float64 // edits/s
	inflight                   int
	sensorToken, editorToken   string
	pid                        int
	csvPath, svgPath, title    string
	flat                       FlatRule
	progress                   time.Duration
	readyTimeout               time.Duration
	freePort                   bool
	metricsToken               string
}

func parseFlags(args []string, out io.Writer) (config, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(out)
	var c config
	defURL := os.Getenv("RISKMAP_LOADTEST_URL")
	if defURL == "" {
		defURL = "http://127.0.0.1:8080"
	}
	fs.StringVar(&c.url, "url", defURL, "the server (default $RISKMAP_LOADTEST_URL, else http://127.0.0.1:8080)")
	fs.DurationVar(&c.duration, "duration", 0, "how long the load runs (default 60s, 10m with -soak)")
	fs.BoolVar(&c.soak, "soak", false, "soak: 10 minutes unless -duration, and fail unless the heap is flat")
	fs.IntVar(&c.tileWorkers, "tile-workers", 8, "tiles: requests at once at most")
	fs.Float64Var(&c.tileRate, "tile-rate", 200, "tiles: requests per second, open loop; 0: -tile-workers closed-loop workers as fast as answered")
	fs.IntVar(&c.nearbyWorkers, "nearby-workers", 8, "nearby: requests at once at most")
	fs.Float64Var(&c.nearbyRate, "nearby-rate", 50, "nearby: requests per second, open loop; 0: closed-loop workers")
	fs.IntVar(&c.subscribers, "subscribers", 500, "event stream clients held open for the whole run")
	fs.Float64Var(&c.readingsRate, "readings-rate", 2000, "readings per second")
	fs.IntVar(&c.batch, "batch", 40, "readings per POST")
	fs.DurationVar(&c.valueEvery, "value-every", time.Second, "readings: each sensor's value moves once this often (each move changes its object: an event to every stream); 0: at every reading")
	fs.Float64Var(&c.editRate, "edit-rate", 1, "feature edits per second")
	fs.IntVar(&c.inflight, "inflight", 32, "readings and edits: requests at once at most, each")
	fs.StringVar(&c.sensorToken, "sensor-token", os.Getenv("RISKMAP_LOADTEST_SENSOR_TOKEN"), "token with the sensor role (default $RISKMAP_LOADTEST_SENSOR_TOKEN)")
	sensorFile := fs.String("sensor-token-file", "", "file holding the sensor token")
	fs.StringVar(&c.editorToken, "editor-token", os.Getenv("RISKMAP_LOADTEST_EDITOR_TOKEN"), "token with the editor role (default $RISKMAP_LOADTEST_EDITOR_TOKEN)")
	editorFile := fs.String("editor-token-file", "", "file holding the editor token")
	fs.StringVar(&c.metricsToken, "metrics-token", os.Getenv("RISKMAP_LOADTEST_METRICS_TOKEN"), "bearer token of /metrics when the server asks for one (default $RISKMAP_LOADTEST_METRICS_TOKEN)")
	fs.IntVar(&c.pid, "pid", 0, "the server's process id, when it runs on this machine: its VmRSS and CPU from /proc")
	fs.StringVar(&c.csvPath, "csv", "", "write the per-second samples to this CSV file")
	fs.StringVar(&c.svgPath, "svg", "", "write the chart of latency and memory over time to this SVG file")
	fs.StringVar(&c.title, "title", "", "the chart's title (default from the mode and the date)")
	fs.DurationVar(&c.flat.Warmup, "warmup", 5*time.Minute, "soak: the heap is judged after this warm-up; it must cover the fill of the bounded buffers (the event window's 50,000 events take about 4 minutes at this load, the sensors' 512-reading histories 3.5)")
	fs.Float64Var(&c.flat.MaxSlope, "max-slope", 1, "soak: largest least-squares slope of heap in use after the warm-up, MB/min")
	fs.Float64Var(&c.flat.Tolerance, "tolerance", 0.10, "soak: largest relative change between the medians of the first minute after the warm-up and of the last minute")
	fs.DurationVar(&c.readyTimeout, "ready-timeout", 30*time.Second, "how long to wait for the server's /readyz (with -pid: unless the process ends)")
	fs.BoolVar(&c.freePort, "free-port", false, "print a free TCP port on 127.0.0.1 and exit (for scripts/loadtest.sh)")
	fs.DurationVar(&c.progress, "progress", 0, "print a progress line this often (default 5s, 30s with -soak)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, f := range []struct {
		file string
		dst  *string
	}{{*sensorFile, &c.sensorToken}, {*editorFile, &c.editorToken}} {
		if f.file == "" {
			continue
		}
		b, err := os.ReadFile(f.file)
		if err != nil {
			return c, err
		}
		*f.dst = strings.TrimSpace(string(b))
	}
	if c.duration == 0 {
		c.duration = time.Minute
		if c.soak {
			c.duration = 10 * time.Minute
		}
	}
	if c.progress == 0 {
		c.progress = 5 * time.Second
		if c.soak {
			c.progress = 30 * time.Second
		}
	}
	c.url = strings.TrimRight(c.url, "/")
	switch {
	case c.freePort:
	case c.readingsRate > 0 && c.sensorToken == "":
		return c, errors.New("readings need a sensor token: -sensor-token, -sensor-token-file or $RISKMAP_LOADTEST_SENSOR_TOKEN (riskmap token create --role sensor)")
	case c.editRate > 0 && c.editorToken == "":
		return c, errors.New("edits need an editor token: -editor-token, -editor-token-file or $RISKMAP_LOADTEST_EDITOR_TOKEN (riskmap token create --role editor)")
	case c.batch < 1 || c.inflight < 1 || c.tileWorkers < 1 || c.nearbyWorkers < 1:
		return c, errors.New("-batch, -inflight, -tile-workers and -nearby-workers must be positive")
	case c.duration < time.Second:
		return c, errors.New("-duration must be at least 1s")
	}
	return c, nil
}

func run(ctx context.Context, args []string, out io.Writer) error {
	c, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	if c.freePort {
		return printFreePort(out)
	}
	res, err := loadTest(ctx, c, out)
	if res == nil {
		return err
	}
	// interrupted: what was measured until then is still reported
	if werr := writeOutputs(c, res, out); werr != nil {
		return werr
	}
	if err != nil {
		return fmt.Errorf("interrupted after %v: %w", res.elapsed.Round(time.Second), err)
	}
	return res.verdict(c, out)
}

// printFreePort prints a TCP port free on 127.0.0.1 now.
func printFreePort(out io.Writer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	_, err = fmt.Fprintln(out, ln.Addr().(*net.TCPAddr).Port)
	return err
}
