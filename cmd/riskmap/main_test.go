package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"riskmap/demo"
	"riskmap/internal/pgtest"
	"riskmap/layers"
	"riskmap/migrations"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	code := run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelpAndUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		out  string // in stdout
		err  string // in stderr
	}{
		{[]string{"--help"}, 0, "Commands:", ""},
		{[]string{"serve", "--help"}, 0, "Usage: riskmap serve", ""},
		{[]string{"migrate", "-h"}, 0, "Usage: riskmap migrate", ""},
		{[]string{"seed", "--help"}, 0, "Usage: riskmap seed", ""},
		{[]string{"version", "--help"}, 0, "Usage: riskmap version", ""},
		{[]string{"version"}, 0, "riskmap ", ""},
		{nil, 2, "", "Commands:"},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"serve", "--port", "1"}, 2, "", "flag provided but not defined: -port"},
		{[]string{"seed"}, 2, "", "pass --demo"},
		{[]string{"seed", "--demo", "--replace", "--if-empty"}, 2, "", "contradict"},
		{[]string{"migrate", "--gpkg", "/nonexistent-riskmap-dir/x.gpkg"}, 1, "", "nonexistent-riskmap-dir"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Setenv("RISKMAP_DATABASE_URL", "")
			code, out, errOut := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(errOut, tt.err) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, out, errOut, tt.code, tt.out, tt.err)
			}
		})
	}
}

// TestMigrateSeedServe is the README's first command in miniature: migrate, seed the
// demo data, serve, and read the demo counts from /api/v1/layers.
func TestMigrateSeedServe(t *testing.T) {
	url := pgtest.NewDatabase(t)
	t.Setenv("RISKMAP_DATABASE_URL", url)

	// Serving an unmigrated database is refused with advice.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = serve(context.Background(), storeSpec{DatabaseURL: url}, ln, slog.New(slog.NewTextHandler(io.Discard, nil)), serveOptions{tileCacheMB: 16, clusterBelow: 15, eventFlush: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "riskmap migrate") {
		t.Fatalf("serve on an empty database: %v", err)
	}
	ln.Close()

	all, err := migrations.PostGIS()
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if code, out, errOut := runCLI(t, "migrate"); code != 0 || !strings.Contains(out, fmt.Sprintf("schema at version %d\n", len(all))) {
			t.Fatalf("migrate: %d %q %q", code, out, errOut)
		}
	}
	code, out, errOut := runCLI(t, "seed", "--demo")
	if code != 0 || !strings.Contains(out, "seeded 37705 features") || !strings.Contains(out, "risk_points") {
		t.Fatalf("seed: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "seed", "--demo"); code != 1 || !strings.Contains(errOut, "--replace") {
		t.Fatalf("second seed: %d %q", code, errOut)
	}
	if code, out, _ := runCLI(t, "seed", "--demo", "--if-empty"); code != 0 || !strings.Contains(out, "not seeding") {
		t.Fatalf("seed --if-empty: %d %q", code, out)
	}

	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, storeSpec{DatabaseURL: url}, ln, slog.New(slog.NewTextHandler(io.Discard, nil)), serveOptions{tileCacheMB: 16, clusterBelow: 15, eventFlush: 100 * time.Millisecond})
	}()

	// /readyz says "loading" (503) until the index is loaded, then "ready".
	for i := 0; ; i++ {
		r, err := http.Get("http://" + ln.Addr().String() + "/readyz")
		if err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				break
			}
			if r.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("/readyz: %d", r.StatusCode)
			}
		}
		if i > 600 {
			t.Fatalf("not ready after 60 s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := http.Get("http://" + ln.Addr().String() + "/api/v1/layers")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Layers []struct {
			Name  string `json:"name"`
			Count int64  `json:"count"`
		} `json:"layers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{
		layers.RiskPoints:        demo.RiskPointCount,
		layers.Slopes:            demo.SlopeCount,
		layers.WaterloggingSpots: demo.WaterloggingSpotCount,
		layers.RectifiedRoads:    demo.QualityUpgradeRoads + demo.SeparationRoads + demo.RadarScanRoads,
		layers.Resources:         demo.ResourceCount,
	}
	if len(body.Layers) != len(want) {
		t.Fatalf("layers %+v", body.Layers)
	}
	for _, l := range body.Layers {
		if l.Count != want[l.Name] {
			t.Errorf("%s: %d, want %d", l.Name, l.Count, want[l.Name])
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after cancel: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not shut down")
	}
}
