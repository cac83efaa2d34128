package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"riskmap/internal/pgtest"
	"riskmap/internal/syncbuf"
)

// TestServeUsesConfig: the settings read from a file, the environment and flags
// reach the server — rate limits (429 with Retry-After), CORS origins, the
// metrics token — and the JSON log carries each request's id.
func TestServeUsesConfig(t *testing.T) {
	url := pgtest.NewDatabase(t)
	if code, out, errOut := runCLI(t, "migrate", "--database-url", url); code != 0 {
		t.Fatalf("migrate: %s %s", out, errOut)
	}
	file := writeFile(t, "[limits]\nreads_per_second = 0.001\nreads_burst = 2\n[http]\ncors_origins = [\"https://gis.example.org\"]\n[log]\nformat = \"json\"\n")
	c, _, err := loadArgs(t, map[string]string{"RISKMAP_METRICS_TOKEN": "metrics-token-0123456789", "RISKMAP_DATABASE_URL": url},
		"--config", file, "--ingest=false", "--tile-cache-mb", "16")
	if err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	log, err := newLogger(&logs, c.LogFormat, c.LogLevel)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, c.Store, ln, log, c.Opt) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if !strings.Contains(logs.String(), `"msg":"shutdown complete"`) {
			t.Errorf("no shutdown complete line:\n%s", logs.String())
		}
	}()
	do := func(method, path string, h map[string]string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := 0; ; i++ {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			var body struct{ Status string }
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if body.Status == "ready" {
				break
			}
		}
		if i > 600 {
			t.Fatalf("not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Reads: a burst of 2, then 429 (the next token comes in 1000 s).
	codes := []int{}
	var last *http.Response
	for range 3 {
		last = do(http.MethodGet, "/api/v1/layers", map[string]string{"X-Request-Id": "config-test-1"})
		codes = append(codes, last.StatusCode)
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Errorf("reads with a burst of 2: %v, Retry-After %q; want 200 200 429 with Retry-After", codes, last.Header.Get("Retry-After"))
	}
	// CORS: the configured origin may call the API, another may not.
	pre := map[string]string{"Origin": "https://gis.example.org", "Access-Control-Request-Method": "GET"}
	if resp := do(http.MethodOptions, "/api/v1/nearby", pre); resp.Header.Get("Access-Control-Allow-Origin") != "https://gis.example.org" {
		t.Errorf("preflight from the allowed origin: %d, Access-Control-Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	pre["Origin"] = "https://elsewhere.example"
	if resp := do(http.MethodOptions, "/api/v1/nearby", pre); resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin allowed: %q", resp.Header.Get("Access-Control-Allow-Origin"))
	}
	// /metrics asks for its token.
	if resp := do(http.MethodGet, "/metrics", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %d, want 401", resp.StatusCode)
	}
	if resp := do(http.MethodGet, "/metrics", map[string]string{"Authorization": "Bearer metrics-token-0123456789"}); resp.StatusCode != http.StatusOK {
		t.Errorf("/metrics with the token: %d, want 200", resp.StatusCode)
	}
	// The JSON log: one object a line, the request's id on its lines.
	found := false
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		found = found || rec["request_id"] == "config-test-1"
	}
	if !found {
		t.Errorf("no log line carries request_id config-test-1:\n%s", logs.String())
	}
}
