package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestHistQuantiles checks the histogram's quantiles against the exact nearest-rank
// quantiles of the same samples: within the bucket's 1/32 relative width.
func TestHistQuantiles(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		gen  func() time.Duration
	}{
		{"uniform 0–2 ms", func() time.Duration { return time.Duration(r.IntN(2000)) * time.Microsecond }},
		{"log-normal around 5 ms", func() time.Duration {
			return time.Duration(5000*math.Exp(r.NormFloat64())) * time.Microsecond
		}},
		{"bimodal 1 ms and 2 s", func() time.Duration {
			if r.IntN(100) < 3 {
				return 2*time.Second + time.Duration(r.IntN(1000))*time.Microsecond
			}
			return time.Millisecond + time.Duration(r.IntN(100))*time.Microsecond
		}},
		{"below 32 µs: exact", func() time.Duration { return time.Duration(r.IntN(32)) * time.Microsecond }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h Hist
			var exact []float64
			for range 20000 {
				d := tc.gen()
				h.Add(d)
				exact = append(exact, float64(d.Microseconds())/1000)
			}
			slices.Sort(exact)
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
				want := exact[int(math.Ceil(q*float64(len(exact))))-1]
				got := h.Quantile(q)
				if math.Abs(got-want) > want/32+0.0005 {
					t.Errorf("q%.3f = %.4f ms, exact %.4f ms", q, got, want)
				}
			}
			if got, want := h.Quantile(1), exact[len(exact)-1]; got != want {
				t.Errorf("max = %v, want %v", got, want)
			}
			if h.Count() != 20000 {
				t.Errorf("count %d", h.Count())
			}
		})
	}
}

func TestHistBucketsMonotonic(t *testing.T) {
	prev := -1
	for v := int64(0); v < 1<<22; v += 1 + v/100 {
		b := bucket(v)
		if b < prev {
			t.Fatalf("bucket(%d) = %d < bucket of a smaller value %d", v, b, prev)
		}
		if mid := bucketValue(b); math.Abs(mid-float64(v)) > float64(v)/32+1 {
			t.Fatalf("bucket(%d) = %d whose middle is %v", v, b, mid)
		}
		prev = b
	}
}

func TestHistEmptyAndMerge(t *testing.T) {
	var a, b Hist
	if !math.IsNaN(a.Quantile(0.5)) {
		t.Error("empty histogram has a median")
	}
	a.Add(time.Millisecond)
	b.Add(3 * time.Millisecond)
	b.Add(5 * time.Millisecond)
	a.Merge(&b)
	if a.Count() != 3 || a.Max() != 5 {
		t.Errorf("merged: count %d max %v", a.Count(), a.Max())
	}
	if got := a.Quantile(0.5); math.Abs(got-3) > 3.0/32 {
		t.Errorf("median %v, want 3", got)
	}
}

func TestRecorderRotate(t *testing.T) {
	var r Recorder
	r.Add(2 * time.Millisecond)
	r.Add(4 * time.Millisecond)
	r.Fail(errors.New("boom"))
	s := r.Rotate()
	if s.Count != 2 || s.Errors != 1 {
		t.Errorf("second: %+v", s)
	}
	s = r.Rotate()
	if s.Count != 0 || s.Errors != 0 || !math.IsNaN(s.P99) {
		t.Errorf("empty second: %+v", s)
	}
	r.Add(8 * time.Millisecond)
	r.Rotate()
	h, n, msgs := r.Total()
	if h.Count() != 3 || n != 1 || len(msgs) != 1 || msgs[0] != "boom" || h.Max() != 8 {
		t.Errorf("total: %d latencies, %d errors %v, max %v", h.Count(), n, msgs, h.Max())
	}
}

// series makes a heap series of one sample a second for minutes, from f(t seconds).
func series(minutes float64, f func(float64) float64) (ts, heap []float64) {
	for s := 0.0; s <= minutes*60; s++ {
		ts = append(ts, s)
		heap = append(heap, f(s))
	}
	return ts, heap
}

func TestFlatRule(t *testing.T) {
	rule := FlatRule{Warmup: 2 * time.Minute, MaxSlope: 1, Tolerance: 0.10}
	saw := func(s float64) float64 { return 100e6 + 20e6*math.Mod(s, 7)/7 } // GC sawtooth 100–120 MB
	tests := []struct {
		name      string
		f         func(float64) float64
		flat      bool
		slope, md bool // which checks pass
	}{
		{"flat with a GC sawtooth", saw, true, true, true},
		{"growth during the warm-up only", func(s float64) float64 { return saw(s) + 50e6*math.Min(s, 110)/110 }, true, true, true},
		{"leak of 3 MB/min", func(s float64) float64 { return saw(s) + 3e6*s/60 }, false, false, false},
		{"leak of 0.9 MB/min over 8 min: slope passes, 6 %", func(s float64) float64 { return saw(s) + 0.9e6*s/60 }, true, true, true},
		{"a 30 % step in the last minutes", func(s float64) float64 {
			if s > 500 {
				return saw(s) * 1.3
			}
			return saw(s)
		}, false, false, false},
		{"NaN samples are left out", func(s float64) float64 {
			if int(s)%5 == 0 {
				return math.NaN()
			}
			return saw(s)
		}, true, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts, heap := series(10, tc.f)
			got, err := rule.Check(ts, heap)
			if err != nil {
				t.Fatal(err)
			}
			if got.Flat != tc.flat || got.SlopeOK != tc.slope || got.MedOK != tc.md {
				t.Errorf("flat %v (slope %.2f MB/min ok %v, medians %.1f → %.1f ok %v, %s), want flat %v slope %v medians %v",
					got.Flat, got.Slope, got.SlopeOK, got.First, got.Last, got.MedOK, got.Why, tc.flat, tc.slope, tc.md)
			}
			if got.Flat != (got.Why == "") {
				t.Errorf("flat %v with reason %q", got.Flat, got.Why)
			}
		})
	}
}

func TestFlatRuleSlopeExact(t *testing.T) {
	ts, heap := series(10, func(s float64) float64 { return 50e6 + 2e6*s/60 })
	got, err := FlatRule{Warmup: 2 * time.Minute, MaxSlope: 1, Tolerance: 0.5}.Check(ts, heap)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got.Slope-2) > 1e-9 || got.SlopeOK {
		t.Errorf("slope %v MB/min (ok %v), want exactly 2 and a failure", got.Slope, got.SlopeOK)
	}
	if math.Abs(got.Intercept-50) > 1e-6 {
		t.Errorf("intercept %v MB, want 50", got.Intercept)
	}
	if got.Samples != 481 {
		t.Errorf("%d samples after the warm-up, want 481", got.Samples)
	}
}

func TestFlatRuleTooShort(t *testing.T) {
	ts, heap := series(3, func(float64) float64 { return 1e8 })
	if _, err := (FlatRule{Warmup: 2 * time.Minute, MaxSlope: 1, Tolerance: 0.1}).Check(ts, heap); err == nil {
		t.Error("a 3-minute run with a 2-minute warm-up was judged")
	}
}

// svgDoc is the part of the chart's SVG the test reads.
type svgDoc struct {
	XMLName xml.Name `xml:"svg"`
	Panels  []struct {
		Title string `xml:"data-title,attr"`
		Paths []struct {
			Class  string `xml:"class,attr"`
			Series string `xml:"data-series,attr"`
			D      string `xml:"d,attr"`
		} `xml:"path"`
		Texts []string `xml:"text"`
	} `xml:"g"`
}

func TestWriteSVG(t *testing.T) {
	nan := math.NaN()
	c := Chart{Title: "riskmap <load> & soak", XLabel: "seconds", Panels: []Panel{
		{Title: "p99", YLabel: "ms", Log: true, Series: []Series{
			{Name: "tiles", Color: "#1f77b4", X: []float64{1, 2, 3, 4}, Y: []float64{1.5, 30, nan, 700}},
			{Name: "edits", Color: "red", X: []float64{1, 2, 3, 4}, Y: []float64{nan, nan, nan, nan}},
		}},
		{Title: "memory", YLabel: "MB", Series: []Series{
			{Name: "heap in use", Color: "blue", X: []float64{1, 2, 3, 4}, Y: []float64{100, 110, 105, 120}},
		}, Marks: []Mark{{X: 2, Label: "end of warm-up"}, {X: 99, Label: "outside"}}},
	}}
	var buf bytes.Buffer
	if err := WriteSVG(&buf, c); err != nil {
		t.Fatal(err)
	}
	var doc svgDoc
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, buf.String())
	}
	// well-formed throughout, not only the part unmarshalled
	d := xml.NewDecoder(bytes.NewReader(buf.Bytes()))
	for {
		if _, err := d.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("token: %v", err)
		}
	}
	if !strings.Contains(buf.String(), "riskmap &lt;load&gt; &amp; soak") {
		t.Error("title not escaped")
	}
	if len(doc.Panels) != 2 || doc.Panels[0].Title != "p99" || doc.Panels[1].Title != "memory" {
		t.Fatalf("panels: %+v", doc.Panels)
	}
	want := [][]string{{"tiles", "edits"}, {"heap in use"}}
	for i, p := range doc.Panels {
		var names []string
		for _, path := range p.Paths {
			if path.Class == "series" {
				names = append(names, path.Series)
			}
		}
		if !slices.Equal(names, want[i]) {
			t.Errorf("panel %d series %v, want %v", i, names, want[i])
		}
		for _, n := range want[i] {
			if !slices.Contains(p.Texts, n) {
				t.Errorf("panel %d: no legend entry %q in %v", i, n, p.Texts)
			}
		}
	}
	// tiles: a line of two points, a gap (NaN), then a lone point
	tiles := doc.Panels[0].Paths[0].D
	if strings.Count(tiles, "M") != 2 || strings.Count(tiles, "L") != 1 {
		t.Errorf("tiles path %q: want two pieces, one of two points", tiles)
	}
	if doc.Panels[0].Paths[1].D != "" {
		t.Errorf("all-NaN series drew %q", doc.Panels[0].Paths[1].D)
	}
	// the log axis has its decades 1–1000 labelled, the linear one starts at 0
	for _, l := range []string{"1", "10", "100", "1000"} {
		if !slices.Contains(doc.Panels[0].Texts, l) {
			t.Errorf("log axis: no tick label %s in %v", l, doc.Panels[0].Texts)
		}
	}
	if n := strings.Count(buf.String(), `class="mark"`); n != 1 || !slices.Contains(doc.Panels[1].Texts, "end of warm-up") {
		t.Errorf("%d marks drawn, want the one inside the x range", n)
	}
	if !slices.Contains(doc.Panels[1].Texts, "0") || !slices.Contains(doc.Panels[1].Texts, "seconds") {
		t.Errorf("linear panel texts %v", doc.Panels[1].Texts)
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP go_memstats_heap_inuse_bytes Number of heap bytes that are in use.
# TYPE go_memstats_heap_inuse_bytes gauge
go_memstats_heap_inuse_bytes 1.2345678e+08
go_memstats_heap_alloc_bytes 9.8e+07
go_memstats_heap_inuse_bytes_total{x="y"} 1
process_resident_memory_bytes 2.5e+08 1700000000000
http_requests_total{route="/tiles"} 12
`
	got, err := parseMetrics(strings.NewReader(text), metricNames)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"go_memstats_heap_inuse_bytes": 1.2345678e8, "go_memstats_heap_alloc_bytes": 9.8e7, "process_resident_memory_bytes": 2.5e8}
	if len(got) != len(want) {
		t.Errorf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if _, err := parseMetrics(strings.NewReader("go_memstats_heap_inuse_bytes x\n"), metricNames); err == nil {
		t.Error("a bad value was taken")
	}
}

func TestParseProc(t *testing.T) {
	status := "Name:\triskmap\nVmPeak:\t  900000 kB\nVmRSS:\t  123456 kB\nThreads:\t9\n"
	if v, err := parseVmRSS([]byte(status)); err != nil || v != 123456*1024 {
		t.Errorf("VmRSS %v %v", v, err)
	}
	if _, err := parseVmRSS([]byte("Name:\tx\n")); err == nil {
		t.Error("no VmRSS taken")
	}
	stat := "4321 (risk map) S 1 4321 4321 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 100 0 0"
	if v, err := parseCPU([]byte(stat)); err != nil || v != 3 {
		t.Errorf("CPU %v %v, want 3 s", v, err)
	}
}

func TestReadingsBody(t *testing.T) {
	body := []byte(`{"sensors":[
	 {"id":1,"active":true,"thresholds":{"blue":5},"range_min":-2000,"range_max":2000,"state":{"value":0.48}},
	 {"id":2,"active":true,"thresholds":{"blue":12.5},"range_min":0,"range_max":1000,"state":{"value":0}},
	 {"id":3,"active":false,"thresholds":{"blue":20},"range_min":0,"range_max":500},
	 {"id":4,"active":true,"thresholds":{"blue":23.9},"range_min":-20,"range_max":300,"state":{"value":23.5}}]}`)
	ss, err := calmSensors(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 3 {
		t.Fatalf("%d sensors, want the 3 active", len(ss))
	}
	now := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	for _, every := range []time.Duration{0, 10 * time.Second} {
		for b := range int64(50) {
			raw := readingsBody(nil, ss, b, 40, now.Add(time.Duration(b)*20*time.Millisecond), every)
			var rows []struct {
				SensorID int64     `json:"sensor_id"`
				Time     time.Time `json:"time"`
				Value    float64   `json:"value"`
			}
			if err := json.Unmarshal(raw, &rows); err != nil {
				t.Fatalf("batch %d: %v: %s", b, err, raw)
			}
			if len(rows) != 40 {
				t.Fatalf("batch %d: %d rows", b, len(rows))
			}
			seen := map[[2]int64]bool{}
			for _, r := range rows {
				key := [2]int64{r.SensorID, r.Time.UnixNano()}
				if seen[key] {
					t.Fatalf("batch %d: sensor %d twice at %v", b, r.SensorID, r.Time)
				}
				seen[key] = true
				var blue, lo float64
				switch r.SensorID {
				case 1:
					blue, lo = 5, -2000
				case 2:
					blue, lo = 12.5, 0
				case 4:
					blue, lo = 23.9, -20
				default:
					t.Fatalf("reading of sensor %d", r.SensorID)
				}
				if r.Value < lo || math.Abs(r.Value) >= blue {
					t.Errorf("sensor %d: value %v not calm (blue %v, min %v)", r.SensorID, r.Value, blue, lo)
				}
			}
		}
	}
}

func TestWriteCSV(t *testing.T) {
	ss := []Sample{{T: 1, Kinds: map[string]Second{kindTiles: {Count: 10, P50: 1.5, P99: 9}}, Mem: unknownMemory(), SSE: 500, Load1: 1.5}}
	ss[0].Mem.HeapInuse = 120e6
	var buf bytes.Buffer
	if err := writeCSV(&buf, ss); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || len(rows[0]) != len(rows[1]) {
		t.Fatalf("rows %v", rows)
	}
	col := func(name string) string { return rows[1][slices.Index(rows[0], name)] }
	if col("tiles_p99_ms") != "9.000" || col("heap_inuse_mb") != "120.000" || col("rss_mb") != "" || col("sse_streams") != "500" || col("edits_p50_ms") != "" {
		t.Errorf("row %v", rows[1])
	}
}

func TestPayloadTime(t *testing.T) {
	line := []byte(`data: {"seq":38124,"layer":"risk_points","id":5,"version":2,"op":"update","time":"2026-11-29T17:25:04.836Z","properties":{}}` + "\n")
	got, ok := payloadTime(line)
	if !ok || !got.Equal(time.Date(2026, 11, 29, 17, 25, 4, 836e6, time.UTC)) {
		t.Errorf("%v %v", got, ok)
	}
	if _, ok := payloadTime([]byte("data: {\"seq\":1}\n")); ok {
		t.Error("a time from nothing")
	}
}
