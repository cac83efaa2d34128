package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"riskmap/internal/pgtest"
)

// wallReport is what wallmap.mjs prints.
type wallReport struct {
	Chromium       string                    `json:"chromium"`
	Steps          []map[string]any          `json:"steps"`
	Layers         map[string]map[string]int `json:"layers"`
	Screenshots    []string                  `json:"screenshots"`
	FailedRequests []failedRequest           `json:"failedRequests"`
	ConsoleErrors  []string                  `json:"consoleErrors"`
	PageErrors     []string                  `json:"pageErrors"`
	Error          string                    `json:"error"`
}

func (r *wallReport) step(t *testing.T, name string) map[string]any {
	t.Helper()
	for _, s := range r.Steps {
		if s["name"] == name {
			return s
		}
	}
	t.Errorf("wallmap.mjs reported no step %q", name)
	return map[string]any{}
}

const wallToken = "e2e-wall-map-write-token"

// TestWallMapInBrowser is issue 7's browser test: the riskmap binary, built from
// this tree, serves the demo dataset from a fresh PostGIS database, and the wall map
// page at / is driven in headless Chromium (wallmap.mjs): it reaches map idle without
// console errors, draws every layer, a click opens the popup of the clicked object,
// a reading over a threshold puts the alert at the top of the panel within 2 s, the
// typhoon signal switches to the flood view with its list worst first, a storm drill
// (riskmap simulate) shows as a drill, the page without WebGL says so, and a stopped
// server leaves the last picture under a "disconnected" banner. With
// RISKMAP_SCREENSHOTS=dir the screenshots are also written to dir (the README's are
// made with RISKMAP_SCREENSHOTS=docs/screenshots); they always go to .tmp/e2e/wall.
func TestWallMapInBrowser(t *testing.T) {
	chromium := os.Getenv("RISKMAP_CHROMIUM")
	if chromium == "" {
		t.Skip("RISKMAP_CHROMIUM is not set: set it to a Chromium binary (./scripts/browser.sh installs one and prints its path) to run the browser test")
	}
	if _, err := os.Stat("node_modules/playwright-core"); err != nil {
		t.Skip("e2e/node_modules is missing playwright-core: run ./scripts/browser.sh or npm ci --prefix e2e")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the browser test runs e2e/wallmap.mjs with Node.js")
	}
	dbURL := pgtest.NewDatabase(t) // skips without RISKMAP_TEST_DATABASE_URL

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "riskmap")
	run := func(args ...string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Env = append(os.Environ(), "RISKMAP_DATABASE_URL="+dbURL)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	start := time.Now()
	run("go", "build", "-o", bin, "../cmd/riskmap")
	run(bin, "migrate")
	run(bin, "seed", "--demo")
	t.Logf("built, migrated and seeded the demo: %v", time.Since(start).Round(time.Millisecond))

	// riskmap serve on a free port; its log says where.
	srvCtx, stopSrv := context.WithCancel(ctx)
	defer stopSrv()
	serve := exec.CommandContext(srvCtx, bin, "serve", "--addr", "127.0.0.1:0", "--spool-dir", filepath.Join(dir, "spool"),
		"--event-flush", "50ms")
	serve.Env = append(os.Environ(), "RISKMAP_DATABASE_URL="+dbURL, "RISKMAP_WRITE_TOKEN="+wallToken, "RISKMAP_MQTT_URL=",
		"RISKMAP_WRITE_TOKEN_FILE=")
	serve.Cancel = func() error { return serve.Process.Signal(os.Interrupt) }
	serve.WaitDelay = 20 * time.Second
	logR, err := serve.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	var stopOnce sync.Once
	served := make(chan error, 1)
	go func() { served <- serve.Wait() }()
	stop := func() { stopOnce.Do(func() { stopSrv(); <-served }) }
	defer stop()
	addrRe := regexp.MustCompile(`msg="riskmap serving" addr=(\S+)`)
	addrc := make(chan string, 1)
	var logBuf bytes.Buffer
	var logMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(logR)
		for sc.Scan() {
			logMu.Lock()
			logBuf.WriteString(sc.Text() + "\n")
			logMu.Unlock()
			if m := addrRe.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
	}()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a
	case <-time.After(60 * time.Second):
		t.Fatal("riskmap serve did not start within 60 s")
	}
	defer func() {
		if t.Failed() {
			logMu.Lock()
			t.Logf("riskmap serve log:\n%s", logBuf.String())
			logMu.Unlock()
		}
	}()
	waitReady(t, base)

	// The script stops the server through this hook for its last step.
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		go stop()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()

	out, err := filepath.Abs(filepath.Join("..", ".tmp", "e2e", "wall"))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"wallmap.mjs", "--server", base, "--out", out, "--stop-url", hook.URL,
		"--simulate", mustJSON(t, []string{bin, "simulate", "--scenario", "typhoon", "--speed", "3600x", "--duration", "4h",
			"--server", base, "--token", wallToken, "--progress", "10s"})}
	if d := os.Getenv("RISKMAP_SCREENSHOTS"); d != "" {
		abs, err := filepath.Abs(filepath.Join("..", d))
		if filepath.IsAbs(d) {
			abs = d
		}
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, "--screenshots", abs)
	}
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Env = append(os.Environ(), "RISKMAP_CHROMIUM="+chromium, "RISKMAP_WRITE_TOKEN="+wallToken)
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start = time.Now()
	runErr := cmd.Run()
	t.Logf("wallmap.mjs ran %v", time.Since(start).Round(time.Millisecond))
	if s := strings.TrimSpace(stderr.String()); s != "" {
		t.Logf("wallmap.mjs stderr:\n%s", s)
	}
	_ = os.MkdirAll(out, 0o755)
	_ = os.WriteFile(filepath.Join(out, "wallmap.json"), stdout.Bytes(), 0o644)
	var rep wallReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("wallmap.mjs: %v (run error %v); stdout:\n%s", err, runErr, stdout.String())
	}
	if rep.Error != "" || runErr != nil {
		t.Fatalf("wallmap.mjs failed (%v): %s", runErr, rep.Error)
	}
	t.Logf("%s; report %s; screenshots %v", rep.Chromium, filepath.Join(out, "wallmap.json"), rep.Screenshots)
	for _, f := range rep.FailedRequests {
		t.Errorf("request failed in the browser: %s %d %s", f.URL, f.Status, f.Error)
	}
	for _, e := range rep.PageErrors {
		t.Errorf("page error: %s", e)
	}
	for _, e := range rep.ConsoleErrors {
		t.Errorf("console error: %s", e)
	}

	if s := rep.step(t, "idle"); s["conn"] != "live" {
		t.Errorf("after idle the connection indicator says %v, want live", s["conn"])
	}
	for _, layer := range []string{"risk_points", "slopes", "waterlogging_spots", "rectified_roads", "resources"} {
		if rep.Layers["overview"][layer] == 0 || rep.Layers["z16"][layer] == 0 {
			t.Errorf("layer %s: %d rendered features in the district view, %d at zoom 16; want some in both",
				layer, rep.Layers["overview"][layer], rep.Layers["z16"][layer])
		}
	}
	t.Logf("rendered features: district %v, zoom 16 %v", rep.Layers["overview"], rep.Layers["z16"])

	pop := rep.step(t, "popup")
	clicked, _ := pop["clicked"].(map[string]any)
	if clicked == nil || clicked["name"] == nil || pop["popupName"] != clicked["name"] {
		t.Errorf("popup: clicked %v, the popup says %q", clicked, pop["popupName"])
	}

	al := rep.step(t, "alert")
	found, _ := al["found"].(map[string]any)
	total, _ := al["totalMs"].(float64)
	switch {
	case found == nil:
		t.Errorf("the alert of a reading over the red threshold never showed in the panel: %v", al)
	case total > 2000:
		t.Errorf("the alert showed %v ms after the reading was posted, want within 2 s", total)
	case found["index"] != 0.0 || found["drill"] != "false":
		t.Errorf("the new red alert is row %v (drill %v) of the panel, want the first, real", found["index"], found["drill"])
	case !strings.Contains(found["text"].(string), al["object"].(string)):
		t.Errorf("the alert row %q does not name the object %q", found["text"], al["object"])
	default:
		t.Logf("alert in the panel %.0f ms after posting the reading (POST took %v ms)", total, al["postMs"])
	}

	fl := rep.step(t, "flood")
	if fl["signal"] != "orange" {
		t.Errorf("flood view: the typhoon signal shows %v, want orange", fl["signal"])
	}
	list, _ := fl["list"].([]any)
	if len(list) == 0 {
		t.Errorf("flood view: empty list")
	}
	for i := 1; i < len(list); i++ {
		a, b := list[i-1].(map[string]any), list[i].(map[string]any)
		if a["rank"].(float64) < b["rank"].(float64) || (a["rank"] == b["rank"] && a["depth"].(float64) < b["depth"].(float64)) {
			t.Errorf("flood list out of order at row %d: %v before %v", i, a, b)
		}
	}
	if len(list) > 0 {
		if first := list[0].(map[string]any); first["id"] != al["feature"] {
			t.Errorf("flood list: first row %v, want the spot of the red reading (%v)", first, al["feature"])
		}
	}

	dr := rep.step(t, "drill")
	if dr["exit"] != 0.0 || dr["drill"] != true || dr["drillRows"].(float64) == 0 || dr["drillAlerts"].(float64) == 0 {
		t.Errorf("storm drill: %v; want exit 0, the drill banner, drill rows and drill alerts", dr)
	}
	if ng := rep.step(t, "nowebgl"); !strings.Contains(ng["message"].(string), "WebGL") {
		t.Errorf("without WebGL the page says %q, want the message naming WebGL", ng["message"])
	}
	dc := rep.step(t, "disconnected")
	after, _ := dc["after"].(map[string]any)
	if dc["conn"] != "disconnected" || dc["banner"] == "" || len(after) == 0 {
		t.Errorf("server stopped: %v; want the disconnected banner over the last picture", dc)
	}
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && bytes.Contains(b, []byte(`"ready"`)) {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s/readyz not ready within 60 s", base)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
