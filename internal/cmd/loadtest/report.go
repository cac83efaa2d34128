package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"text/tabwriter"
	"time"
)

// writeOutputs prints the summary and writes the CSV and the chart.
func writeOutputs(c config, res *result, out io.Writer) error {
	secs := res.elapsed.Seconds()
	fmt.Fprintf(out, "\n== %v of load, %s\n", res.elapsed.Round(time.Millisecond), res.started.UTC().Format("2006-01-02 15:04 MST"))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tcount\tper s\tp50 ms\tp99 ms\tmax ms\terrors\t")
	for _, k := range kinds {
		h := res.totals[k]
		count, rate := float64(h.Count()), float64(h.Count())/secs
		note := ""
		switch k {
		case kindEvents:
			count, rate = float64(res.events), float64(res.events)/secs
			note = "  events received by all streams; latency change → read"
		case kindReadings:
			count, rate = float64(res.readings), float64(res.readings)/secs
			note = fmt.Sprintf("  readings stored; latency per batch of %d from its scheduled time", c.batch)
		case kindSSEConnect:
			rate = math.NaN()
			note = "  time to the stream's headers"
		case kindEdits, kindTiles, kindNearby:
			if k == kindEdits || c.tileRate > 0 && k == kindTiles || c.nearbyRate > 0 && k == kindNearby {
				note = "  latency from the scheduled time"
			}
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%s\t%d\t%s\n", k, count, num(rate, 0), num(h.Quantile(0.5), 2), num(h.Quantile(0.99), 2), num(h.Max(), 1), res.errors[k], note)
	}
	tw.Flush()
	var total int64
	for _, k := range kinds {
		total += res.errors[k]
		for _, m := range res.messages[k] {
			fmt.Fprintf(out, "  %s error: %s\n", k, m)
		}
	}
	fmt.Fprintf(out, "errors: %d (target 0)\n", total)
	for _, sh := range res.shortfalls(c) {
		verdict := "met"
		if !sh.ok() {
			verdict = "NOT met: the server fell behind"
		}
		fmt.Fprintf(out, "%s: %.1f/s done of %.0f/s offered (%.0f %%; ≥ 95 %% %s)\n", sh.kind, sh.done, sh.offered, 100*sh.done/sh.offered, verdict)
	}
	if c.readingsRate > 0 {
		fmt.Fprintf(out, "readings from %d sensors\n", res.sensors)
	}

	// memory at the start, the middle and the end
	if n := len(res.samples); n > 0 {
		fmt.Fprintln(out, "\nserver memory, MB:")
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "when\theap in use\theap alloc\tRSS (/metrics)\tVmRSS (/proc)\t")
		row := func(name string, m Memory) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", name, num(m.HeapInuse/1e6, 1), num(m.HeapAlloc/1e6, 1), num(m.RSS/1e6, 1), num(m.VmRSS/1e6, 1))
		}
		row("before", res.start)
		mid := res.samples[n/2]
		row(fmt.Sprintf("%.0f s", mid.T), mid.Mem)
		last := res.samples[n-1]
		row(fmt.Sprintf("%.0f s (end)", last.T), last.Mem)
		tw.Flush()
		if !math.IsNaN(res.start.CPU) && !math.IsNaN(last.Mem.CPU) {
			fmt.Fprintf(out, "server CPU: %.1f s over %.1f s (%.0f %% of one core)\n", last.Mem.CPU-res.start.CPU, last.T, 100*(last.Mem.CPU-res.start.CPU)/last.T)
		}
		fmt.Fprintf(out, "load generator CPU (this process, the %d streams' reading included): %.1f s (%.0f %% of one core)\n",
			c.subscribers, res.selfCPU, 100*res.selfCPU/res.elapsed.Seconds())
		var lo, hi float64 = math.Inf(1), math.Inf(-1)
		for _, s := range res.samples {
			if !math.IsNaN(s.Load1) {
				lo, hi = math.Min(lo, s.Load1), math.Max(hi, s.Load1)
			}
		}
		fmt.Fprintf(out, "machine load average (1 min) during the run: %.2f–%.2f\n", lo, hi)
	}

	if c.csvPath != "" {
		if err := writeCSVFile(c.csvPath, res.samples); err != nil {
			return err
		}
		fmt.Fprintf(out, "per-second samples: %s\n", c.csvPath)
	}
	if c.svgPath != "" {
		title := c.title
		if title == "" {
			mode := "Load test"
			if c.soak {
				mode = "Soak"
			}
			title = fmt.Sprintf("riskmap %s, %v, %s", mode, c.duration, res.started.UTC().Format("2006-01-02 15:04 MST"))
		}
		f, err := os.Create(c.svgPath)
		if err != nil {
			return err
		}
		chart := chartOf(title, res.samples)
		if c.soak {
			soakMarks(&chart, c.flat, res)
		}
		if err := WriteSVG(f, chart); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintf(out, "chart: %s\n", c.svgPath)
	}
	return nil
}

// verdict returns an error when the run failed: any error, or (soak) a heap that
// is not flat.
func (res *result) verdict(c config, out io.Writer) error {
	var total int64
	for _, k := range kinds {
		total += res.errors[k]
	}
	var failed []string
	if total > 0 {
		failed = append(failed, fmt.Sprintf("%d errors", total))
	}
	for _, sh := range res.shortfalls(c) {
		if !sh.ok() {
			failed = append(failed, fmt.Sprintf("%s at %.0f/s of the %.0f/s offered", sh.kind, sh.done, sh.offered))
		}
	}
	if c.soak {
		t, heap := heapSeries(res.samples)
		what := "heap in use"
		if res.noMetrics {
			what = "VmRSS (no /metrics)"
		}
		fr, err := c.flat.Check(t, heap)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "\nflat heap (%s after a %v warm-up: slope ≤ %.2f MB/min, last-minute median within %.0f %% of the first minute's): slope %.3f MB/min over %d samples, medians %.1f → %.1f MB (%+.1f %%): ",
			what, c.flat.Warmup, c.flat.MaxSlope, 100*c.flat.Tolerance, fr.Slope, fr.Samples, fr.First, fr.Last, 100*(fr.Last-fr.First)/fr.First)
		if fr.Flat {
			fmt.Fprintln(out, "flat")
		} else {
			fmt.Fprintln(out, "NOT flat:", fr.Why)
			failed = append(failed, "heap not flat: "+fr.Why)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("FAILED: %v", failed)
	}
	fmt.Fprintln(out, "PASSED")
	return nil
}

// heapSeries is heap in use over time, or VmRSS where the server has no /metrics.
func heapSeries(ss []Sample) (t, heap []float64) {
	for _, s := range ss {
		t = append(t, s.T)
		heap = append(heap, firstKnown(s.Mem.HeapInuse, s.Mem.VmRSS))
	}
	return t, heap
}

// csvHeader is the CSV's first row.
func csvHeader() []string {
	h := []string{"t_s"}
	for _, k := range kinds {
		h = append(h, k+"_count", k+"_errors", k+"_p50_ms", k+"_p99_ms")
	}
	return append(h, "heap_inuse_mb", "heap_alloc_mb", "rss_mb", "vmrss_mb", "server_cpu_s", "sse_streams", "load1")
}

func writeCSV(w io.Writer, ss []Sample) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader()); err != nil {
		return err
	}
	f := func(v float64, prec int) string {
		if math.IsNaN(v) {
			return ""
		}
		return strconv.FormatFloat(v, 'f', prec, 64)
	}
	for _, s := range ss {
		row := []string{f(s.T, 3)}
		for _, k := range kinds {
			ks, ok := s.Kinds[k]
			if !ok {
				ks = Second{P50: math.NaN(), P99: math.NaN()}
			}
			row = append(row, strconv.FormatInt(ks.Count, 10), strconv.FormatInt(ks.Errors, 10), f(ks.P50, 3), f(ks.P99, 3))
		}
		row = append(row, f(s.Mem.HeapInuse/1e6, 3), f(s.Mem.HeapAlloc/1e6, 3), f(s.Mem.RSS/1e6, 3), f(s.Mem.VmRSS/1e6, 3),
			f(s.Mem.CPU, 2), strconv.FormatInt(s.SSE, 10), f(s.Load1, 2))
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func writeCSVFile(path string, ss []Sample) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeCSV(f, ss); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// chartOf is the chart of a run: p99 latency per kind per second (log scale), and
// the server's memory.
func chartOf(title string, ss []Sample) Chart {
	colors := map[string]string{kindTiles: "#1f77b4", kindNearby: "#2ca02c", kindEvents: "#ff7f0e", kindReadings: "#9467bd", kindEdits: "#d62728"}
	lat := Panel{Title: "p99 latency of each second", YLabel: "milliseconds (log scale)", Log: true}
	for _, k := range []string{kindTiles, kindNearby, kindReadings, kindEdits, kindEvents} {
		s := Series{Name: k, Color: colors[k]}
		if k == kindEvents {
			s.Name = "events (change → read)"
		}
		for _, x := range ss {
			s.X = append(s.X, x.T)
			s.Y = append(s.Y, x.Kinds[k].P99)
		}
		lat.Series = append(lat.Series, s)
	}
	mem := Panel{Title: "server memory", YLabel: "MB"}
	for _, m := range []struct {
		name, color string
		get         func(Memory) float64
	}{
		{"heap in use", "#1f77b4", func(m Memory) float64 { return m.HeapInuse }},
		{"heap alloc", "#17becf", func(m Memory) float64 { return m.HeapAlloc }},
		{"RSS (/metrics)", "#d62728", func(m Memory) float64 { return m.RSS }},
		{"VmRSS (/proc)", "#ff9896", func(m Memory) float64 { return m.VmRSS }},
	} {
		s := Series{Name: m.name, Color: m.color}
		known := false
		for _, x := range ss {
			v := m.get(x.Mem)
			known = known || !math.IsNaN(v)
			s.X = append(s.X, x.T)
			s.Y = append(s.Y, v/1e6)
		}
		if known {
			mem.Series = append(mem.Series, s)
		}
	}
	return Chart{Title: title, XLabel: "seconds from the start of the load", Panels: []Panel{lat, mem}}
}

// num prints v with prec decimals, "-" for NaN.
func num(v float64, prec int) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// soakMarks adds to a soak's memory panel the end of the warm-up and the
// least-squares line of the heap after it (the flatness rule's slope).
func soakMarks(c *Chart, rule FlatRule, res *result) {
	mem := &c.Panels[len(c.Panels)-1]
	mem.Marks = append(mem.Marks, Mark{X: rule.Warmup.Seconds(), Label: "end of warm-up"})
	t, heap := heapSeries(res.samples)
	fr, err := rule.Check(t, heap)
	if err != nil || len(t) == 0 {
		return
	}
	x0, x1 := rule.Warmup.Seconds(), t[len(t)-1]
	line := func(x float64) float64 { return fr.Intercept + fr.Slope*x/60 }
	mem.Series = append(mem.Series, Series{Name: fmt.Sprintf("fit: %+.2f MB/min", fr.Slope), Color: "#000", Dash: true,
		X: []float64{x0, x1}, Y: []float64{line(x0), line(x1)}})
}

// rateDone is the rate a paced kind achieved against the one offered, per second.
type rateDone struct {
	kind          string
	done, offered float64
}

// ok: at least 95 % of the offered rate was done — the server kept up with the
// load (an open-loop load falls short only when every in-flight slot stayed busy).
func (r rateDone) ok() bool { return r.done >= 0.95*r.offered }

// shortfalls lists the paced kinds with their achieved rates: successful
// operations over the load's duration (readings: readings stored).
func (res *result) shortfalls(c config) []rateDone {
	secs := res.elapsed.Seconds()
	var out []rateDone
	add := func(kind string, offered float64, done float64) {
		if offered > 0 {
			out = append(out, rateDone{kind: kind, done: done / secs, offered: offered})
		}
	}
	tiles, nearby, edits := res.totals[kindTiles], res.totals[kindNearby], res.totals[kindEdits]
	add(kindTiles, c.tileRate, float64(tiles.Count()))
	add(kindNearby, c.nearbyRate, float64(nearby.Count()))
	add(kindReadings, c.readingsRate, float64(res.readings))
	add(kindEdits, c.editRate, float64(edits.Count()))
	return out
}
