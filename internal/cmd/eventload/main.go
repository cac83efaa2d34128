// Command eventload is the load benchmark of the live event stream (GET
// /api/v1/events): many concurrent SSE clients over real HTTP on loopback,
// receiving a steady stream of feature changes.
//
//	go run ./internal/cmd/eventload                    # 1,000 clients, 1,000 changes/s, 10 s, 5,000 features
//	go run ./internal/cmd/eventload -clients 200 -rate 5000 -duration 30s
//
// The server process serves riskmap's HTTP handler (httpapi.New with an events.Hub,
// default hub options: 250 ms flush, 50,000-event window, 10,000-event client
// buffer) on a loopback port, with the serve command's HTTP timeouts, and publishes
// -rate changes per second for -duration, each an events.ChangeEvent of a feature
// picked uniformly among -features (30 % waterlogging spots, 30 % slopes with a
// small polygon, 40 % risk points), so that some changes to the same feature fall in
// one flush and are coalesced. The clients run in a child process (the same binary
// with -clients-only), so the CPU time of the server — getrusage(RUSAGE_SELF) over
// the publishing window — is not mixed with the clients'; -in-process runs the
// clients as goroutines of the server process instead. Each client is a goroutine
// with a net/http request reading the text/event-stream line by line; it takes the
// delivery latency of every change from the payload's "time" (set to the publish
// time, to the nanosecond) to the moment it read the data line. At the end the server
// publishes an "end" event; clients stop there and report. -cpuprofile writes CPU
// profiles of both processes.
//
// Figures (2 vCPU AMD EPYC, 23 GB RAM, Linux, Go 1.26; server and clients share the
// two cores; 527 bytes per event on the wire on average):
//
//	go run ./internal/cmd/eventload          three runs: 1,000 clients, 1,000 changes/s, 10 s
//	  published            9,992–9,999 changes over 5,000 features
//	  coalesced            240–269 (2.4–2.7 %), so 9,726–9,759 events sent
//	  delivered per client min = median = max = every event sent; 5.13 GB read in all
//	  dropped clients      0 (no reloads)
//	  latency              p50 193–198 ms, p90 300–307 ms, p99 350–360 ms, max 382–424 ms
//	                       (publish → client read; the 250 ms flush alone waits 125 ms on
//	                       average, 250 ms at most)
//	  CPU, server process  3.23–3.31 s over 10.5 s (31 % of one core; 71 % of it is
//	                       write(2) on loopback, the hub's flushes 3 %, building the
//	                       events 3 %)
//	  CPU, clients         6.8–7.1 s
//	  server heap          32–37 MB in use at the end (18 MB before)
//
//	-flush 50ms            p50 49 ms, p99 88 ms, max 135 ms; 0.5 % coalesced; server 5.8 s CPU
//	-rate 100              p50 141 ms, p99 268 ms; server 1.7 s CPU (16 % of a core)
//	-clients 2000          every event to every client, none dropped; p50 260 ms, p99 462 ms,
//	                       max 627 ms; server 5.5 s CPU, clients 13.4 s (the machine is full)
//	-duration 30s          29,266 events to each of 1,000 clients; p99 353 ms; server 9.5 s CPU
//	-in-process            p50 203 ms, p99 353 ms; 10.0 s CPU for server and clients together
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/paulmach/orb"

	"riskmap/events"
	"riskmap/feature"
	"riskmap/httpapi"
	"riskmap/index"
	"riskmap/layers"
)

func main() {
	var o options
	flag.IntVar(&o.clients, "clients", 1000, "concurrent SSE clients")
	flag.IntVar(&o.rate, "rate", 1000, "changes published per second")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long to publish")
	flag.IntVar(&o.features, "features", 5000, "distinct features the changes are spread over")
	flag.DurationVar(&o.flush, "flush", events.DefaultFlush, "hub flush interval")
	flag.BoolVar(&o.inProcess, "in-process", false, "run the clients in the server process (CPU figures then include them)")
	flag.StringVar(&o.clientsOnly, "clients-only", "", "internal: run only the clients against this URL, report JSON on stdout")
	cpuProfile := &o.cpuProfile
	flag.StringVar(cpuProfile, "cpuprofile", "", "write a CPU profile of the server process to this file, and of the clients' process to this file + \".clients\"")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "eventload:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "eventload:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	var err error
	if o.clientsOnly != "" {
		err = runClientsOnly(o)
	} else {
		err = run(o)
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "eventload:", err)
		os.Exit(1)
	}
}

type options struct {
	clients, rate, features int
	duration, flush         time.Duration
	inProcess               bool
	clientsOnly             string
	cpuProfile              string
}

// report is what the clients measured.
type report struct {
	Clients    int     `json:"clients"`
	Events     []int   `json:"events"` // change events received, per client
	Reloads    int     `json:"reloads"`
	Heartbeats int     `json:"heartbeats"`
	Failed     int     `json:"failed"` // clients whose stream broke before the end event
	Bytes      int64   `json:"bytes"`
	Samples    int     `json:"samples"`
	P50        float64 `json:"p50_ms"` // delivery latency, milliseconds
	P90        float64 `json:"p90_ms"`
	P99        float64 `json:"p99_ms"`
	Max        float64 `json:"max_ms"`
	CPUSeconds float64 `json:"cpu_seconds"` // of the clients' process, from ready to finished
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func run(o options) error {
	reg := layers.New()
	hub := events.NewHub(events.Options{Flush: o.flush})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hubDone := make(chan struct{})
	go func() { hub.Run(ctx); close(hubDone) }()
	h, err := httpapi.New(httpapi.Config{Registry: reg, Index: index.New(reg), Events: hub,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	// The serve command's timeouts: the stream must outlive them.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	url := "http://" + ln.Addr().String() + "/api/v1/events"

	// Clients: a child process (or goroutines here); "ready" once all are connected.
	ready := make(chan struct{})    // every client is connected
	finished := make(chan struct{}) // every client has read the end event
	results := make(chan report, 1)
	errc := make(chan error, 1)
	if o.inProcess {
		go func() {
			r, err := runClients(url, o.clients, func() { close(ready) }, func() { close(finished) })
			if err != nil {
				errc <- err
				return
			}
			results <- r
		}()
	} else {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		args := []string{"-clients-only", url, "-clients", strconv.Itoa(o.clients)}
		if o.cpuProfile != "" {
			args = append(args, "-cpuprofile", o.cpuProfile+".clients")
		}
		cmd := exec.Command(exe, args...)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return err
		}
		go func() {
			br := bufio.NewReader(out)
			line, err := br.ReadString('\n')
			if err != nil || line != "ready\n" {
				errc <- fmt.Errorf("clients: %q %v", line, err)
				return
			}
			close(ready)
			if line, err = br.ReadString('\n'); err != nil || line != "done\n" {
				errc <- fmt.Errorf("clients: %q %v", line, err)
				return
			}
			close(finished)
			var r report
			if err := json.NewDecoder(br).Decode(&r); err != nil {
				errc <- fmt.Errorf("clients' report: %w", err)
				return
			}
			if err := cmd.Wait(); err != nil {
				errc <- err
				return
			}
			results <- r
		}()
	}
	select {
	case <-ready:
	case err := <-errc:
		return err
	}
	fmt.Fprintf(os.Stderr, "%d clients connected; publishing %d changes/s over %d features for %v\n", o.clients, o.rate, o.features, o.duration)

	cpu0, t0 := cpuSeconds(), time.Now()
	var ms0 runtimeStats
	ms0.read()
	published := publish(reg, hub, o)
	// The last flush, then the end marker (never coalesced).
	time.Sleep(o.flush + 100*time.Millisecond)
	hub.Publish(events.Event{ID: int64(published) + 1, Type: "end", NoCoalesce: true, Data: []byte(`{}`)})
	select {
	case <-finished:
	case err := <-errc:
		return err
	}
	cpu, wall := cpuSeconds()-cpu0, time.Since(t0)
	var ms runtimeStats
	ms.read()
	var r report
	select {
	case r = <-results:
	case err := <-errc:
		return err
	}
	st := hub.Stats()
	cancel()
	<-hubDone
	shut, cancelShut := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShut()
	_ = srv.Shutdown(shut)

	ev := slices.Clone(r.Events)
	slices.Sort(ev)
	med := 0
	if len(ev) > 0 {
		med = ev[len(ev)/2]
	}
	sent := st.Published - st.Coalesced - 1 // without the end marker
	fmt.Printf("clients            %d (connected; %d failed before the end)\n", r.Clients, r.Failed)
	fmt.Printf("published          %d changes in %v (%.0f/s) over %d features\n", published, o.duration, float64(published)/o.duration.Seconds(), o.features)
	fmt.Printf("coalesced          %d (%.2f %%); sent after coalescing %d\n", st.Coalesced, 100*float64(st.Coalesced)/float64(published), sent)
	if len(ev) > 0 {
		fmt.Printf("delivered/client   min %d, median %d, max %d (of %d sent)\n", ev[0], med, ev[len(ev)-1], sent)
	}
	fmt.Printf("delivered total    %d events, %.1f MB of text/event-stream read by the clients\n", st.Delivered, float64(r.Bytes)/1e6)
	fmt.Printf("dropped clients    %d; reloads %d; heartbeats seen %d\n", st.Dropped, r.Reloads, r.Heartbeats)
	fmt.Printf("latency            publish → client read: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (%d samples; flush %v)\n",
		r.P50, r.P90, r.P99, r.Max, r.Samples, o.flush)
	who := "server process (hub, HTTP, publisher)"
	if o.inProcess {
		who = "the one process (server and clients)"
	}
	fmt.Printf("CPU                %s: %.2f s over %.1f s wall, publishing to the last client's end (%.0f %% of one core)\n", who, cpu, wall.Seconds(), 100*cpu/wall.Seconds())
	if !o.inProcess {
		fmt.Printf("                   clients' process: %.2f s\n", r.CPUSeconds)
	}
	fmt.Printf("memory             server heap in use %.0f MB at the end (%.0f MB before publishing); GC cycles %d\n",
		float64(ms.heapInuse)/1e6, float64(ms0.heapInuse)/1e6, ms.numGC-ms0.numGC)
	return nil
}

// publish publishes o.rate changes per second for o.duration, each built by
// events.ChangeEvent with Time = the publish time, and returns how many.
func publish(reg *layers.Registry, hub *events.Hub, o options) int {
	rng := rand.New(rand.NewPCG(2022, 1))
	levels := reg.WarningLevels().Codes()
	start := time.Now()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	n := 0
	var seq int64
	for now := range tick.C {
		el := now.Sub(start)
		if el >= o.duration {
			break
		}
		for target := int(el.Seconds() * float64(o.rate)); n < target; n++ {
			seq++
			id := int64(rng.IntN(o.features)) + 1
			before, after := rng.IntN(len(levels)), rng.IntN(len(levels))
			f := synthetic(id, seq, levels[after], rng)
			c := feature.Change{Seq: seq, Layer: f.Layer, ID: id, Op: feature.Update, Version: seq, Time: time.Now()}
			e, err := events.ChangeEvent(reg, c, f, int8(before))
			if err != nil {
				panic(err)
			}
			hub.Publish(e)
		}
	}
	return n
}

// synthetic is a plausible feature of the layer id falls in.
func synthetic(id, version int64, level string, rng *rand.Rand) *feature.Feature {
	lon, lat := 114.10+0.05*float64(id%997)/997, 22.535+0.035*float64(id%991)/991
	switch id % 10 {
	case 0, 1, 2:
		return &feature.Feature{Layer: layers.WaterloggingSpots, ID: id, Version: version, Geometry: orb.Point{lon, lat},
			Props: map[string]any{"external_id": fmt.Sprintf("WL-%05d", id), "name": "泥岗路下穿通道", "kind": "underpass",
				"subdistrict": "huangbei", "warning_depth_cm": 27.0, "current_depth_cm": float64(rng.IntN(800)) / 10,
				"trend": "rising", "warning_level": level}}
	case 3, 4, 5:
		d := 0.0004
		return &feature.Feature{Layer: layers.Slopes, ID: id, Version: version,
			Geometry: orb.Polygon{{{lon, lat}, {lon + d, lat}, {lon + d, lat + d}, {lon + d/2, lat + 1.4*d}, {lon, lat + d}, {lon, lat}}},
			Props: map[string]any{"external_id": fmt.Sprintf("SL-%05d", id), "name": "布心村后山边坡", "kind": "cut",
				"subdistrict": "donghu", "height_m": 18.5, "length_m": 64.0, "angle_deg": 52.0, "risk_grade": "significant",
				"monitored": true, "warning_level": level}}
	default:
		return &feature.Feature{Layer: layers.RiskPoints, ID: id, Version: version, Geometry: orb.Point{lon, lat},
			Props: map[string]any{"external_id": fmt.Sprintf("RP-%05d", id), "name": "东门老街消防通道", "category": "fire",
				"address": "深圳市罗湖区东门街道", "subdistrict": "dongmen", "cause": nil, "measures": "清理占道",
				"responsible_dept": "东门街道办", "risk_grade": "general", "hazard_status": "rectifying"}}
	}
}

type runtimeStats struct {
	heapInuse uint64
	numGC     uint32
}

func (s *runtimeStats) read() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	s.heapInuse, s.numGC = m.HeapInuse, m.NumGC
}

// runClientsOnly is the child process: connect, say "ready", read until the end
// event, print the report as JSON.
func runClientsOnly(o options) error {
	r, err := runClients(o.clientsOnly, o.clients, func() { fmt.Println("ready") }, func() { fmt.Println("done") })
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

// runClients connects n clients to url, calls ready once all are streaming and
// finished once every one has seen the end event (or failed), and returns what
// they measured.
func runClients(url string, n int, ready, finished func()) (report, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: -1, DisableCompression: true}
	client := &http.Client{Transport: tr}
	type result struct {
		events, reloads, heartbeats int
		bytes                       int64
		lat                         []int32 // µs
		err                         error
	}
	res := make([]result, n)
	bodies := make([]io.ReadCloser, n)
	// Connect 64 at a time.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	var connErr atomic.Value
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			resp, err := client.Get(url)
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %d", resp.StatusCode)
				resp.Body.Close()
			}
			if err != nil {
				connErr.Store(err)
				return
			}
			bodies[i] = resp.Body
		}()
	}
	wg.Wait()
	if err, _ := connErr.Load().(error); err != nil {
		for _, b := range bodies {
			if b != nil {
				b.Close()
			}
		}
		return report{}, fmt.Errorf("connecting: %w", err)
	}
	cpu0 := cpuSeconds()
	ready()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer bodies[i].Close()
			r := &res[i]
			r.lat = make([]int32, 0, 16384)
			br := bufio.NewReaderSize(bodies[i], 64<<10)
			typ := ""
			var now time.Time
			for {
				// The read time of a line is when its bytes arrived: taken when the
				// reader has to go to the connection for more.
				refill := br.Buffered() == 0
				line, err := br.ReadSlice('\n')
				if err != nil {
					r.err = err
					return
				}
				if refill || now.IsZero() {
					now = time.Now()
				}
				r.bytes += int64(len(line))
				switch {
				case bytes.HasPrefix(line, []byte("event: ")):
					typ = string(line[7 : len(line)-1])
				case bytes.HasPrefix(line, []byte(": ")):
					r.heartbeats++
				case bytes.HasPrefix(line, []byte("data: ")):
					switch typ {
					case "end":
						return
					case events.TypeReload:
						r.reloads++
					case events.TypeChange:
						r.events++
						if t, ok := payloadTime(line); ok {
							r.lat = append(r.lat, int32(now.Sub(t).Microseconds()))
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	rep := report{Clients: n, CPUSeconds: cpuSeconds() - cpu0}
	finished()
	var lat []int32
	for _, r := range res {
		rep.Events = append(rep.Events, r.events)
		rep.Reloads += r.reloads
		rep.Heartbeats += r.heartbeats
		rep.Bytes += r.bytes
		if r.err != nil { // the stream ended before the end event
			rep.Failed++
		}
		lat = append(lat, r.lat...)
	}
	slices.Sort(lat)
	rep.Samples = len(lat)
	if len(lat) > 0 {
		q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1000 }
		rep.P50, rep.P90, rep.P99, rep.Max = q(0.50), q(0.90), q(0.99), q(1)
	}
	return rep, nil
}

// payloadTime reads the "time" of a change payload in a data line: it comes before
// the properties, within the first 160 bytes; UTC, "2006-01-02T15:04:05.999999999Z".
func payloadTime(line []byte) (time.Time, bool) {
	head := line[:min(len(line), 160)]
	i := bytes.Index(head, []byte(`"time":"`))
	if i < 0 {
		return time.Time{}, false
	}
	s := line[i+8:]
	j := bytes.IndexByte(s, '"')
	if j < 20 || s[j-1] != 'Z' {
		return time.Time{}, false
	}
	s = s[:j-1]
	num := func(b []byte) int {
		n := 0
		for _, c := range b {
			n = n*10 + int(c-'0')
		}
		return n
	}
	ns := 0
	if len(s) > 20 && s[19] == '.' {
		frac := s[20:]
		ns = num(frac)
		for k := len(frac); k < 9; k++ {
			ns *= 10
		}
	}
	return time.Date(num(s[0:4]), time.Month(num(s[5:7])), num(s[8:10]), num(s[11:13]), num(s[14:16]), num(s[17:19]), ns, time.UTC), true
}
