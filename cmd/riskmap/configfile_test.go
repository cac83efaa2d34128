package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"riskmap/internal/pgtest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// exampleConfig is the complete example configuration.
const exampleConfig = "../../deploy/riskmap.toml"

// loadArgs parses args as serve does and loads the configuration with env (a map:
// no variable of the test's own environment leaks in).
func loadArgs(t *testing.T, env map[string]string, args ...string) (*serveConfig, *configFlags, error) {
	t.Helper()
	fs, c, cf := newServeFlags("serve", "", io.Discard, io.Discard)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	err := loadServeConfig(fs, cf, c, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	return c, cf, err
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "riskmap.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// sourceOf is where the setting key's value came from.
func sourceOf(cf *configFlags, key string) string {
	for _, s := range cf.settings {
		if s.Key == key {
			if s.src == fromDefault {
				return "default"
			}
			return s.where
		}
	}
	return "no such key"
}

// TestConfigPrecedence: flags > env > file > defaults, key by key.
func TestConfigPrecedence(t *testing.T) {
	file := writeFile(t, `
[server]
addr = ":9001"
shutdown_grace = "40s"
[tiles]
cache_mb = 64
cluster_below = 12
[ingest]
enabled = false
[log]
format = "json"
[http]
cors_origins = ["https://a.example", "https://b.example"]
trusted_proxies = ["10.0.0.0/8"]
[limits]
tiles_per_second = 12
reads_per_second = 1.5
`)
	c, cf, err := loadArgs(t,
		map[string]string{"RISKMAP_CONFIG": file, "RISKMAP_ADDR": ":9002", "RISKMAP_TILE_CACHE_MB": "32", "RISKMAP_SESSION_TTL": "1h", "RISKMAP_LOG_LEVEL": "",
			"RISKMAP_TRUSTED_PROXIES": "127.0.0.1, ::1", "RISKMAP_LIMIT_READS_BURST": "7"},
		"--addr", ":9003", "--ingest", "--event-flush", "20ms")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key, source string
		got, want   any
	}{
		{"server.addr", "flag --addr", c.Addr, ":9003"},
		{"server.shutdown_grace", "file " + file + ":4", c.Opt.shutdownGrace, 40 * time.Second},
		{"tiles.cache_mb", "env RISKMAP_TILE_CACHE_MB", c.Opt.tileCacheMB, int64(32)},
		{"tiles.cluster_below", "file " + file + ":7", c.Opt.clusterBelow, 12},
		{"ingest.enabled", "flag --ingest", c.Opt.ingest, true},
		{"events.flush", "flag --event-flush", c.Opt.eventFlush, 20 * time.Millisecond},
		{"auth.session_ttl", "env RISKMAP_SESSION_TTL", c.Opt.sessionTTL, time.Hour},
		{"log.format", "file " + file + ":11", c.LogFormat, "json"},
		{"log.level", "default", c.LogLevel, "info"}, // an empty variable is unset
		{"store.gpkg", "default", c.Store.GPKG, defaultGPKG},
		{"server.read_timeout", "default", c.Opt.readTimeout, defaultReadTimeout},
		{"http.cors_origins", "file " + file + ":13", strings.Join(c.Opt.corsOrigins, " "), "https://a.example https://b.example"},
		{"http.trusted_proxies", "env RISKMAP_TRUSTED_PROXIES", strings.Join(c.Opt.trustedProxies, " "), "127.0.0.1 ::1"},
		{"limits.tiles_per_second", "file " + file + ":16", c.Opt.rateLimits.Tiles.PerSecond, 12.0},
		{"limits.reads_per_second", "file " + file + ":17", c.Opt.rateLimits.Reads.PerSecond, 1.5},
		{"limits.reads_burst", "env RISKMAP_LIMIT_READS_BURST", c.Opt.rateLimits.Reads.Burst, 7},
		{"limits.writes_burst", "default", c.Opt.rateLimits.Writes.Burst, 100},
	}
	for _, tt := range tests {
		if tt.got != tt.want || sourceOf(cf, tt.key) != tt.source {
			t.Errorf("%s = %v from %s; want %v from %s", tt.key, tt.got, sourceOf(cf, tt.key), tt.want, tt.source)
		}
	}
	// --config wins over RISKMAP_CONFIG.
	other := writeFile(t, "[server]\naddr = \":9004\"\n")
	c, _, err = loadArgs(t, map[string]string{"RISKMAP_CONFIG": file}, "--config", other)
	if err != nil || c.Addr != ":9004" || c.Opt.tileCacheMB != 256 {
		t.Errorf("--config over RISKMAP_CONFIG: addr %q, cache %d, %v", c.Addr, c.Opt.tileCacheMB, err)
	}
}

// TestConfigProblems: every problem is reported, each with its key and where the
// value came from; unknown keys and bad values are told apart with errors.Is.
func TestConfigProblems(t *testing.T) {
	tests := []struct {
		name string
		file string // "" for none
		env  map[string]string
		args []string
		want []string // problems, in order, as printed; FILE stands for the file's name
		is   []error  // what each problem wraps
	}{
		{
			name: "unknown keys with lines",
			file: "[server]\naddr = \":1\"\nadress = \":2\"\n\n[tile]\ncache_mb = 3\n[store]\n\"gpkg\" = \"a.gpkg\"\ncolour = 1\n",
			want: []string{"server.adress: unknown key (file FILE:3)", "tile: unknown key (file FILE:5)", "store.colour: unknown key (file FILE:9)"},
			is:   []error{errUnknownKey, errUnknownKey, errUnknownKey},
		},
		{
			name: "wrong types in the file",
			file: "[server]\nshutdown_grace = 30\naddr = true\n[tiles]\ncache_mb = \"big\"\n[ingest]\nenabled = \"yes\"\n",
			want: []string{
				`server.shutdown_grace: bad value: an integer: want a duration as a string, e.g. "30s" (file FILE:2)`,
				"server.addr: bad value: a boolean: want a string (file FILE:3)",
				"tiles.cache_mb: bad value: a string: want an integer (file FILE:5)",
				"ingest.enabled: bad value: a string: want true or false (file FILE:7)",
			},
			is: []error{errBadValue, errBadValue, errBadValue, errBadValue},
		},
		{
			name: "out of range from every source",
			file: "[events]\nflush = \"1s\"\n",
			env:  map[string]string{"RISKMAP_READ_ACCESS": "everyone", "RISKMAP_SENSOR_TICK": "soon"},
			args: []string{"--cluster-below", "99", "--log-level", "loud", "--session-ttl", "10s"},
			want: []string{
				`ingest.sensor_tick: bad value: "soon": want a duration such as 30s, 5m or 12h (env RISKMAP_SENSOR_TICK)`,
				"tiles.cluster_below: bad value: 99: want 0 to 23 (flag --cluster-below)",
				"events.flush: bad value: 1s: want 1ms to 250ms (file FILE:2)",
				`auth.read_access: bad value: "everyone": want public or viewer (env RISKMAP_READ_ACCESS)`,
				"auth.session_ttl: bad value: 10s: want at least 1m (flag --session-ttl)",
				`log.level: bad value: "loud": want debug, info, warn or error (flag --log-level)`,
			},
			is: []error{errBadValue, errBadValue, errBadValue, errBadValue, errBadValue, errBadValue},
		},
		{
			name: "not TOML",
			file: "[server]\naddr = \":1\"\naddr = \":2\"\n",
			want: []string{"config file: Key 'server.addr' has already been defined. (file FILE:3)"},
			is:   []error{errConfigFile},
		},
		{
			name: "HTTP settings",
			file: "[http]\ncors_origins = \"https://a.example\"\n[limits]\nreads_per_second = -1\ntiles_burst = 1.5\n",
			env:  map[string]string{"RISKMAP_TRUSTED_PROXIES": "nginx", "RISKMAP_METRICS_TOKEN": "short"},
			args: []string{"--cors-origins", "https://a.example/path"},
			want: []string{
				"http.cors_origins: bad value: a string: want an array of strings (file FILE:2)",
				"limits.tiles_burst: bad value: a float: want an integer (file FILE:5)",
				`http.cors_origins: bad value: httpapi: CORS origin "https://a.example/path": want scheme://host[:port], e.g. https://gis.example.gov.cn (flag --cors-origins)`,
				`http.trusted_proxies: bad value: httpapi: trusted proxy "nginx": not an IP address or CIDR prefix (env RISKMAP_TRUSTED_PROXIES)`,
				"limits.reads_per_second: bad value: -1: want 0 or more (file FILE:4)",
				"http.metrics_token_file: bad value: metrics token: shorter than 16 characters (env RISKMAP_METRICS_TOKEN)",
			},
			is: []error{errBadValue, errBadValue, errBadValue, errBadValue, errBadValue, errBadValue},
		},
		{
			name: "short write token",
			env:  map[string]string{"RISKMAP_WRITE_TOKEN": "short"},
			want: []string{"auth.write_token_file: bad value: write token: shorter than 16 characters (env RISKMAP_WRITE_TOKEN)"},
			is:   []error{errBadValue},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			file := ""
			if tt.file != "" {
				file = writeFile(t, tt.file)
				args = append([]string{"--config", file}, args...)
			}
			_, _, err := loadArgs(t, tt.env, args...)
			var ce *configError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T): want a *configError", err, err)
			}
			var got []string
			for _, p := range ce.Problems {
				msg := p.Error()
				if file != "" {
					msg = strings.ReplaceAll(msg, file, "FILE")
				}
				got = append(got, msg)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			for i, p := range ce.Problems {
				if !errors.Is(p, tt.is[i]) || !errors.Is(err, tt.is[i]) {
					t.Errorf("problem %d (%v) is not %v", i, p, tt.is[i])
				}
			}
		})
	}
	_, _, err := loadArgs(t, nil, "--config", filepath.Join(t.TempDir(), "missing.toml"))
	if !errors.Is(err, errConfigFile) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v; want errConfigFile and os.ErrNotExist", err)
	}
}

// TestExampleConfigComplete: deploy/riskmap.toml sets every key the loader knows,
// and only those, each to its default — the example and the loader cannot drift.
func TestExampleConfigComplete(t *testing.T) {
	src, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	md, err := toml.Decode(string(src), &raw)
	if err != nil {
		t.Fatal(err)
	}
	inFile := map[string]bool{}
	for _, k := range md.Keys() {
		if md.Type(k...) != "Hash" {
			inFile[k.String()] = true
		}
	}
	def := defaultServeConfig()
	known := map[string]*setting{}
	for _, s := range serveSettings(&def) {
		known[s.Key] = s
		if !inFile[s.Key] {
			t.Errorf("%s: key %s is missing", exampleConfig, s.Key)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(inFile)) {
		if known[k] == nil {
			t.Errorf("%s: key %s is not a setting", exampleConfig, k)
		}
	}
	c, cf, err := loadArgs(t, nil, "--config", exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cf.settings {
		if got := formatValue(s.dst); got != known[s.Key].def {
			t.Errorf("%s: %s = %s; the default is %s", exampleConfig, s.Key, got, known[s.Key].def)
		}
		if s.src != fromFile {
			t.Errorf("%s: not read from the file (%v)", s.Key, s.src)
		}
	}
	// Each key is documented in docs/configuration.md with its flag and variable.
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cf.settings {
		for _, name := range []string{"`" + s.Key + "`", "`--" + s.Flag + "`", "`" + s.Env + "`"} {
			if !bytes.Contains(doc, []byte(name)) {
				t.Errorf("docs/configuration.md does not name %s", name)
			}
		}
	}
	_ = c
}

// clearConfigEnv unsets every variable the configuration reads, for the tests
// that run the command in this process.
func clearConfigEnv(t *testing.T) {
	t.Helper()
	c := defaultServeConfig()
	for _, s := range serveSettings(&c) {
		t.Setenv(s.Env, "")
	}
	t.Setenv("RISKMAP_CONFIG", "")
	t.Setenv("RISKMAP_WRITE_TOKEN", "")
	t.Setenv("RISKMAP_METRICS_TOKEN", "")
}

// TestConfigCheck runs riskmap config check: on the example (golden output, exit
// 0), with a secret in the environment (redacted), and on a bad file (every
// problem, exit 1).
func TestConfigCheck(t *testing.T) {
	clearConfigEnv(t)
	code, out, errOut := runCLI(t, "config", "check", "--config", exampleConfig, "--log-format", "json")
	if code != 0 || errOut != "" {
		t.Fatalf("config check: exit %d, stderr %q", code, errOut)
	}
	golden := filepath.Join("testdata", "config_check.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("config check output differs from %s (go test -run TestConfigCheck -update to refresh):\n%s", golden, out)
	}
	// The output is a configuration file itself, giving the same values.
	again := writeFile(t, out)
	c2, cf2, err := loadArgs(t, nil, "--config", again)
	if err != nil {
		t.Fatalf("config check's output as a file: %v", err)
	}
	_, cf1, _ := loadArgs(t, nil, "--config", exampleConfig, "--log-format", "json")
	for i, s := range cf2.settings {
		if got, want := formatValue(s.dst), formatValue(cf1.settings[i].dst); got != want {
			t.Errorf("%s: %s from config check's output, %s before", s.Key, got, want)
		}
	}
	if c2.LogFormat != "json" {
		t.Errorf("log.format from config check's output: %q", c2.LogFormat)
	}

	t.Setenv("RISKMAP_DATABASE_URL", "postgres://riskmap:s3cret-pass@db.example:5432/riskmap?sslmode=disable")
	t.Setenv("RISKMAP_CONFIG", exampleConfig)
	code, out, errOut = runCLI(t, "config", "check")
	if code != 0 || strings.Contains(out, "s3cret") ||
		!strings.Contains(out, `database_url = "postgres://riskmap:REDACTED@db.example:5432/riskmap?sslmode=disable"  # env RISKMAP_DATABASE_URL`) {
		t.Errorf("secret in the environment: exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}

	bad := writeFile(t, "[server]\naddr = 1\nbogus = 2\n")
	code, out, errOut = runCLI(t, "config", "check", "--config", bad, "--event-flush", "5s")
	for _, want := range []string{"3 problem(s)", "server.addr: bad value", bad + ":2", "server.bogus: unknown key (file " + bad + ":3)", "events.flush: bad value: 5s: want 1ms to 250ms (flag --event-flush)"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("bad file: stderr lacks %q:\n%s", want, errOut)
		}
	}
	if code != 1 || out != "" {
		t.Errorf("bad file: exit %d, stdout %q; want 1 and nothing", code, out)
	}
	// serve refuses the same configuration, through the same code path, before
	// listening.
	code, _, errOut = runCLI(t, "serve", "--config", bad, "--addr", "127.0.0.1:0")
	if code != 2 || !strings.Contains(errOut, "server.bogus: unknown key") {
		t.Errorf("serve with a bad file: exit %d, stderr %q", code, errOut)
	}
}

func TestRedactDatabaseURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://u:pw@h:5432/db", "postgres://u:REDACTED@h:5432/db"},
		{"postgres://u@h/db?sslmode=disable", "postgres://u@h/db?sslmode=disable"},
		{"postgres://h/db?password=pw&sslmode=disable", "postgres://h/db?password=REDACTED&sslmode=disable"},
		{"", ""},
	}
	for _, tt := range tests {
		s := tt.in
		if got := redact(&s); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	dsn := "host=h user=u password=pw"
	if got := redact(&dsn); got != "REDACTED" {
		t.Errorf("key=value DSN: %q", got)
	}
}

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(&buf, "json", "warn")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("not shown")
	log.Warn("shown", "n", 1)
	if got := buf.String(); strings.Contains(got, "not shown") || !strings.HasPrefix(got, `{"time":`) || !strings.Contains(got, `"msg":"shown","n":1}`) {
		t.Errorf("json at warn: %q", got)
	}
	buf.Reset()
	if log, err = newLogger(&buf, "text", "debug"); err != nil {
		t.Fatal(err)
	}
	log.Debug("detail")
	if !strings.Contains(buf.String(), "level=DEBUG msg=detail") {
		t.Errorf("text at debug: %q", buf.String())
	}
	for _, bad := range [][2]string{{"xml", "info"}, {"text", "verbose"}} {
		if _, err := newLogger(&buf, bad[0], bad[1]); err == nil {
			t.Errorf("newLogger(%q, %q): no error", bad[0], bad[1])
		}
	}
}

func TestKeyLines(t *testing.T) {
	src := "# c\na = 1\n[server]\n  addr = \":1\" # x\n\"public_url\" = \"\"\n[ tiles . x ]\ny.z = 2\n[[arr]]\nq = 1\n"
	got := keyLines([]byte(src))
	want := map[string]int{"a": 2, "server": 3, "server.addr": 4, "server.public_url": 5, "tiles.x": 6, "tiles.x.y.z": 7}
	if !maps.Equal(got, want) {
		t.Errorf("keyLines = %v, want %v", got, want)
	}
}

// FuzzConfigFile: whatever the file holds, decoding it never panics, and every
// problem names a key or the file and wraps one of the three kinds.
func FuzzConfigFile(f *testing.F) {
	if src, err := os.ReadFile(exampleConfig); err == nil {
		f.Add(src)
	}
	f.Add([]byte("[server]\naddr = 1\nx = [1, \"a\"]\n[tiles]\ncache_mb = 99999999999999\n"))
	f.Add([]byte("a.b.c = 1\n[store]\ngpkg = 1979-05-27\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		c := defaultServeConfig()
		byKey := map[string]*setting{}
		for _, s := range serveSettings(&c) {
			byKey[s.Key] = s
		}
		for _, p := range decodeConfigFile("f.toml", src, byKey) {
			if !errors.Is(p, errUnknownKey) && !errors.Is(p, errBadValue) && !errors.Is(p, errConfigFile) {
				t.Errorf("problem of no kind: %v", p)
			}
			if p.Key == "" && !errors.Is(p, errConfigFile) {
				t.Errorf("problem without a key: %v", p)
			}
			if !strings.HasPrefix(p.Where, "file f.toml") {
				t.Errorf("problem without the file: %v", p)
			}
		}
	})
}

// TestConfigCheckConnect: --connect opens the store: a database not migrated is
// exit 1 naming the fix, a migrated one exit 0; a GeoPackage not created yet is
// no error (serve creates it).
func TestConfigCheckConnect(t *testing.T) {
	clearConfigEnv(t)
	gpkgPath := filepath.Join(t.TempDir(), "none.gpkg")
	code, out, errOut := runCLI(t, "config", "check", "--connect", "--gpkg", gpkgPath)
	if code != 0 || !strings.Contains(out, "# store: GeoPackage "+gpkgPath+" does not exist yet") {
		t.Errorf("new GeoPackage: exit %d, stderr %q, stdout tail %q", code, errOut, out[max(0, len(out)-200):])
	}
	if _, err := os.Stat(gpkgPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("config check created %s: %v", gpkgPath, err)
	}

	url := pgtest.NewDatabase(t)
	t.Setenv("RISKMAP_DATABASE_URL", url)
	code, _, errOut = runCLI(t, "config", "check", "--connect")
	if code != 1 || !strings.Contains(errOut, "run `riskmap migrate`") {
		t.Errorf("database not migrated: exit %d, stderr %q", code, errOut)
	}
	if code, out, errOut := runCLI(t, "migrate"); code != 0 {
		t.Fatalf("migrate: %s %s", out, errOut)
	}
	code, out, errOut = runCLI(t, "config", "check", "--connect")
	if code != 0 || !strings.Contains(out, "reachable, schema at version") {
		t.Errorf("migrated database: exit %d, stderr %q, stdout tail %q", code, errOut, out[max(0, len(out)-200):])
	}
}
