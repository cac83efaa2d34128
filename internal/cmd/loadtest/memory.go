package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// Memory is one reading of the server's memory, bytes; NaN where unknown.
type Memory struct {
	HeapInuse float64 // go_memstats_heap_inuse_bytes (/metrics)
	HeapAlloc float64 // go_memstats_heap_alloc_bytes (/metrics)
	RSS       float64 // process_resident_memory_bytes (/metrics)
	VmRSS     float64 // VmRSS of /proc/PID/status (a server started here)
	CPU       float64 // the server's user+system CPU time so far, seconds (/proc/PID/stat)
}

func unknownMemory() Memory {
	nan := math.NaN()
	return Memory{HeapInuse: nan, HeapAlloc: nan, RSS: nan, VmRSS: nan, CPU: nan}
}

// errNoMetrics: the server has no /metrics (404).
var errNoMetrics = errors.New("the server has no /metrics")

// metricNames are the Prometheus series read from /metrics.
var metricNames = []string{"go_memstats_heap_inuse_bytes", "go_memstats_heap_alloc_bytes", "process_resident_memory_bytes"}

// parseMetrics reads the values of the unlabelled series named in names from a
// Prometheus text exposition; a name missing from it is missing from the map.
func parseMetrics(r io.Reader, names []string) (map[string]float64, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		sp := bytes.IndexByte(line, ' ')
		if sp < 0 || !want[string(line[:sp])] {
			continue
		}
		fields := strings.Fields(string(line[sp+1:])) // value [timestamp]
		if len(fields) == 0 {
			return nil, fmt.Errorf("metrics: %q has no value", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics: %q: %w", line, err)
		}
		out[string(line[:sp])] = v
	}
	return out, sc.Err()
}

// scrapeMetrics reads the memory series from base + "/metrics" into m.
func scrapeMetrics(ctx context.Context, cl *http.Client, base, token string, m *Memory) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := cl.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		_, _ = io.Copy(io.Discard, resp.Body)
		return errNoMetrics
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return fmt.Errorf("GET /metrics: status %d", resp.StatusCode)
	}
	vals, err := parseMetrics(resp.Body, metricNames)
	if err != nil {
		return err
	}
	set := func(dst *float64, name string) {
		if v, ok := vals[name]; ok {
			*dst = v
		}
	}
	set(&m.HeapInuse, "go_memstats_heap_inuse_bytes")
	set(&m.HeapAlloc, "go_memstats_heap_alloc_bytes")
	set(&m.RSS, "process_resident_memory_bytes")
	return nil
}

// parseVmRSS reads VmRSS from the text of /proc/PID/status, bytes.
func parseVmRSS(status []byte) (float64, error) {
	for line := range bytes.Lines(status) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := strings.Fields(string(rest)) // "123456 kB"
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("VmRSS: unexpected %q", line)
			}
			kb, err := strconv.ParseFloat(f[0], 64)
			if err != nil {
				return 0, fmt.Errorf("VmRSS: %w", err)
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("no VmRSS line (a zombie process?)")
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on Linux.
const clockTicks = 100

// parseCPU reads utime + stime from the text of /proc/PID/stat, seconds.
func parseCPU(stat []byte) (float64, error) {
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("stat: no command name")
	}
	f := strings.Fields(string(stat[i+1:])) // from field 3 (state)
	if len(f) < 13 {
		return 0, errors.New("stat: too few fields")
	}
	var sum float64
	for _, s := range f[11:13] { // fields 14 utime, 15 stime
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("stat: %w", err)
		}
		sum += v
	}
	return sum / clockTicks, nil
}

// readProc fills m.VmRSS and m.CPU from /proc/pid.
func readProc(pid int, m *Memory) error {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return err
	}
	if m.VmRSS, err = parseVmRSS(b); err != nil {
		return err
	}
	if b, err = os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err != nil {
		return err
	}
	m.CPU, err = parseCPU(b)
	return err
}

// loadAverage is the 1-minute load average of the machine (/proc/loadavg), NaN
// when unreadable.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return math.NaN()
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return math.NaN()
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return math.NaN()
	}
	return v
}
