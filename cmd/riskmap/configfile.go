package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"riskmap/httpapi"
)

// The serve configuration comes from four places, each overriding the one before:
// the defaults, one TOML file (--config FILE or RISKMAP_CONFIG), environment
// variables (RISKMAP_*) and flags. Every setting has a key in the file
// ("section.name"), a flag and an environment variable; the table is
// serveSettings. docs/configuration.md lists them; deploy/riskmap.toml is the
// complete example (a test keeps it in step with the table).

// source is where a setting's value came from.
type source int

const (
	fromDefault source = iota
	fromFile
	fromEnv
	fromFlag
)

func (s source) String() string {
	return [...]string{"default", "file", "env", "flag"}[s]
}

// Errors a configProblem wraps: errors.Is tells unknown keys from bad values.
var (
	// errUnknownKey: the file has a key no setting has (a typo, or a key of
	// another version).
	errUnknownKey = errors.New("unknown key")
	// errBadValue: a value of the wrong type, out of range or unreadable.
	errBadValue = errors.New("bad value")
	// errConfigFile: the file cannot be read or is not TOML.
	errConfigFile = errors.New("config file")
)

// configProblem is one thing wrong with the configuration, naming the setting's
// key and where the value came from (the file's line, the variable, the flag).
type configProblem struct {
	Key   string // the setting's file key; "" for the file as a whole
	Where string // "file riskmap.toml:12", "env RISKMAP_ADDR", "flag --addr", "default"
	Err   error  // wraps errUnknownKey, errBadValue or errConfigFile
}

func (p *configProblem) Error() string {
	var b strings.Builder
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Err.Error())
	if p.Where != "" {
		b.WriteString(" (")
		b.WriteString(p.Where)
		b.WriteString(")")
	}
	return b.String()
}

func (p *configProblem) Unwrap() error { return p.Err }

// configError is every problem of a configuration, in the order found: file,
// environment, flags, then the checks of the values.
type configError struct{ Problems []*configProblem }

func (e *configError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return strings.Join(msgs, "; ")
}

func (e *configError) Unwrap() []error {
	out := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p
	}
	return out
}

// setting is one configuration key. dst points at the field it sets: *string,
// *bool, *int, *int64, *float64, *time.Duration or *[]string (comma separated in env and
// flags, an array in the file).
type setting struct {
	Key    string // in the file: "section.name"
	Flag   string // without the dashes
	Env    string
	Doc    string
	Secret bool // printed redacted by config check
	dst    any
	// check validates the value once every setting is read; nil: any value of the
	// type is fine.
	check func() error
	def   string // the default, as TOML
	src   source
	where string // for messages: where the value came from
}

// serveConfig is everything serve is configured with.
type serveConfig struct {
	Addr           string
	Store          storeSpec
	WriteTokenFile string
	LogFormat      string
	LogLevel       string
	// Metrics: serve /metrics; MetricsTokenFile holds its token (else
	// RISKMAP_METRICS_TOKEN).
	Metrics          bool
	MetricsTokenFile string
	Opt              serveOptions
}

// Defaults of the settings new with the config file.
const (
	defaultReadHeaderTimeout = 10 * time.Second
	defaultReadTimeout       = 30 * time.Second
	defaultWriteTimeout      = 60 * time.Second
	defaultIdleTimeout       = 120 * time.Second
	defaultRequestTimeout    = 10 * time.Second
	defaultShutdownGrace     = 15 * time.Second
)

// defaultServeConfig is the configuration without file, environment or flags.
func defaultServeConfig() serveConfig {
	return serveConfig{
		Addr:      ":8080",
		Store:     storeSpec{GPKG: defaultGPKG},
		LogFormat: "text",
		LogLevel:  "info",
		Metrics:   true,
		Opt: serveOptions{
			tileCacheMB: 256, clusterBelow: 15, changeRetention: 7 * 24 * time.Hour, eventFlush: 100 * time.Millisecond,
			ingest: true, mqttTopic: "riskmap/readings/#", mqttClientID: "riskmap-ingest", spoolDir: "riskmap-spool",
			sensorTick: 10 * time.Second, readAccess: "public", sessionTTL: 12 * time.Hour, basemapCRS: "wgs84",
			readHeaderTimeout: defaultReadHeaderTimeout, readTimeout: defaultReadTimeout, writeTimeout: defaultWriteTimeout,
			idleTimeout: defaultIdleTimeout, requestTimeout: defaultRequestTimeout, shutdownGrace: defaultShutdownGrace,
			rateLimits: httpapi.DefaultRateLimits(),
		},
	}
}

// serveSettings is the table of every setting of c, in the order of the example
// file, each with its default taken from c.
func serveSettings(c *serveConfig) []*setting {
	o := &c.Opt
	between := func(d *time.Duration, lo, hi time.Duration) func() error {
		return func() error {
			if *d < lo || (hi > 0 && *d > hi) {
				if hi > 0 {
					return fmt.Errorf("%s: want %s to %s", formatDuration(*d), formatDuration(lo), formatDuration(hi))
				}
				return fmt.Errorf("%s: want at least %s", formatDuration(*d), formatDuration(lo))
			}
			return nil
		}
	}
	oneOf := func(s *string, allowed ...string) func() error {
		return func() error {
			if !slices.Contains(allowed, *s) {
				return fmt.Errorf("%q: want %s", *s, strings.Join(allowed, " or "))
			}
			return nil
		}
	}
	ss := []*setting{
		{Key: "server.addr", Flag: "addr", Env: "RISKMAP_ADDR", dst: &c.Addr,
			Doc: "listen address"},
		{Key: "server.public_url", Flag: "public-url", Env: "RISKMAP_PUBLIC_URL", dst: &o.publicURL,
			Doc: "absolute URL clients reach the server at, for TileJSON and the style; empty: from each request"},
		{Key: "server.read_header_timeout", Flag: "read-header-timeout", Env: "RISKMAP_READ_HEADER_TIMEOUT", dst: &o.readHeaderTimeout,
			Doc: "longest time a client may take to send a request's headers", check: between(&o.readHeaderTimeout, time.Second, 0)},
		{Key: "server.read_timeout", Flag: "read-timeout", Env: "RISKMAP_READ_TIMEOUT", dst: &o.readTimeout,
			Doc: "longest time a client may take to send a whole request (headers and body)", check: between(&o.readTimeout, time.Second, 0)},
		{Key: "server.write_timeout", Flag: "write-timeout", Env: "RISKMAP_WRITE_TIMEOUT", dst: &o.writeTimeout,
			Doc: "longest time from the end of a request's headers to the end of its answer; the event stream is exempt (each of its writes has its own 30 s deadline)", check: between(&o.writeTimeout, time.Second, 0)},
		{Key: "server.idle_timeout", Flag: "idle-timeout", Env: "RISKMAP_IDLE_TIMEOUT", dst: &o.idleTimeout,
			Doc: "how long an idle keep-alive connection is kept open", check: between(&o.idleTimeout, time.Second, 0)},
		{Key: "server.request_timeout", Flag: "request-timeout", Env: "RISKMAP_REQUEST_TIMEOUT", dst: &o.requestTimeout,
			Doc: "bound on each request's work, database calls included (not the event stream)", check: between(&o.requestTimeout, 100*time.Millisecond, 0)},
		{Key: "server.shutdown_grace", Flag: "shutdown-grace", Env: "RISKMAP_SHUTDOWN_GRACE", dst: &o.shutdownGrace,
			Doc: "on SIGTERM or SIGINT, how long in-flight requests may take to finish before they are cut", check: between(&o.shutdownGrace, 0, 0)},

		{Key: "store.database_url", Flag: "database-url", Env: "RISKMAP_DATABASE_URL", dst: &c.Store.DatabaseURL, Secret: true,
			Doc: "PostgreSQL/PostGIS URL, e.g. postgres://riskmap@127.0.0.1:5432/riskmap; a password is better in ~/.pgpass or PGPASSWORD than here; empty: the embedded GeoPackage"},
		{Key: "store.gpkg", Flag: "gpkg", Env: "RISKMAP_GPKG", dst: &c.Store.GPKG,
			Doc: "the GeoPackage file of the embedded store, used when no database URL is given (created with the demo dataset on first serve)"},
		{Key: "store.change_retention", Flag: "change-retention", Env: "RISKMAP_CHANGE_RETENTION", dst: &o.changeRetention,
			Doc: "how long the change log keeps rows (a process offline longer reloads everything); 0 keeps them forever", check: between(&o.changeRetention, 0, 0)},

		{Key: "tiles.cache_mb", Flag: "tile-cache-mb", Env: "RISKMAP_TILE_CACHE_MB", dst: &o.tileCacheMB,
			Doc: "bytes of encoded tiles kept in memory, in MB", check: func() error {
				if o.tileCacheMB < 0 || o.tileCacheMB > 1<<20 {
					return fmt.Errorf("%d: want 0 to %d", o.tileCacheMB, 1<<20)
				}
				return nil
			}},
		{Key: "tiles.cluster_below", Flag: "cluster-below", Env: "RISKMAP_CLUSTER_BELOW", dst: &o.clusterBelow,
			Doc: "cluster risk points in tiles below this zoom; 0: never", check: func() error {
				if o.clusterBelow < 0 || o.clusterBelow > maxClusterBelow {
					return fmt.Errorf("%d: want 0 to %d", o.clusterBelow, maxClusterBelow)
				}
				return nil
			}},

		{Key: "events.flush", Flag: "event-flush", Env: "RISKMAP_EVENT_FLUSH", dst: &o.eventFlush,
			Doc: "how often the event stream writes to its clients, 1ms to 250ms: changes of one object within it are coalesced", check: between(&o.eventFlush, time.Millisecond, 250*time.Millisecond)},

		{Key: "ingest.enabled", Flag: "ingest", Env: "RISKMAP_INGEST", dst: &o.ingest,
			Doc: "run the sensor ingest service (readings, warning levels, alerts); run it in one process per database"},
		{Key: "ingest.sensor_tick", Flag: "sensor-tick", Env: "RISKMAP_SENSOR_TICK", dst: &o.sensorTick,
			Doc: "how often silent sensors are looked for", check: between(&o.sensorTick, 100*time.Millisecond, 0)},
		{Key: "ingest.spool_dir", Flag: "spool-dir", Env: "RISKMAP_SPOOL_DIR", dst: &o.spoolDir,
			Doc: "directory of the on-disk spool of MQTT readings taken while the database is down", check: func() error {
				if o.spoolDir == "" {
					return errors.New("empty: want a directory")
				}
				return nil
			}},

		{Key: "mqtt.url", Flag: "mqtt-url", Env: "RISKMAP_MQTT_URL", dst: &o.mqttURL,
			Doc: "MQTT broker to take readings from (QoS 1), e.g. tcp://127.0.0.1:1883; empty: none"},
		{Key: "mqtt.topic", Flag: "mqtt-topic", Env: "RISKMAP_MQTT_TOPIC", dst: &o.mqttTopic,
			Doc: "MQTT topic filter the readings come on"},
		{Key: "mqtt.client_id", Flag: "mqtt-client-id", Env: "RISKMAP_MQTT_CLIENT_ID", dst: &o.mqttClientID,
			Doc: "MQTT client id: names the persistent session, keep it stable"},

		{Key: "auth.read_access", Flag: "read-access", Env: "RISKMAP_READ_ACCESS", dst: &o.readAccess,
			Doc:   "who may read: public (anyone) or viewer (a viewer, editor or admin token or sign-in session; /healthz, /readyz, the page's files and sign-in stay open)",
			check: oneOf(&o.readAccess, "public", "viewer")},
		{Key: "auth.session_ttl", Flag: "session-ttl", Env: "RISKMAP_SESSION_TTL", dst: &o.sessionTTL,
			Doc: "how long a page's sign-in session lasts", check: between(&o.sessionTTL, time.Minute, 0)},
		{Key: "auth.write_token_file", Flag: "write-token-file", Env: "RISKMAP_WRITE_TOKEN_FILE", dst: &c.WriteTokenFile,
			Doc: "deprecated: file holding a legacy write token that acts as an admin token (or the token itself in env RISKMAP_WRITE_TOKEN); use riskmap token create instead"},

		{Key: "basemap.url", Flag: "basemap-url", Env: "RISKMAP_BASEMAP_URL", dst: &o.basemapURL,
			Doc: "optional raster basemap tile URL for the wall map ({z}/{x}/{y}); empty: the offline basemap only"},
		{Key: "basemap.crs", Flag: "basemap-crs", Env: "RISKMAP_BASEMAP_CRS", dst: &o.basemapCRS,
			Doc:   "the raster basemap's coordinates: wgs84 (Tianditu, CGCS2000) or gcj02 (AMap, Tencent: the page then draws the layers in GCJ-02)",
			check: oneOf(&o.basemapCRS, "wgs84", "gcj02")},
		{Key: "basemap.attribution", Flag: "basemap-attribution", Env: "RISKMAP_BASEMAP_ATTRIBUTION", dst: &o.basemapAttribution,
			Doc: "attribution shown for the raster basemap"},

		{Key: "http.cors_origins", Flag: "cors-origins", Env: "RISKMAP_CORS_ORIGINS", dst: &o.corsOrigins,
			Doc: "origins (scheme://host[:port]) other web pages may call the API from (CORS), comma separated in env and flags; none by default", check: func() error {
				_, err := httpapi.ParseCORSOrigins(o.corsOrigins)
				return err
			}},
		{Key: "http.trusted_proxies", Flag: "trusted-proxies", Env: "RISKMAP_TRUSTED_PROXIES", dst: &o.trustedProxies,
			Doc: "reverse proxies (IP addresses or CIDR prefixes, comma separated in env and flags) whose X-Forwarded-For and X-Real-IP name the client, for rate limits and logs; none: the connection's peer is the client", check: func() error {
				_, err := httpapi.ParseTrustedProxies(o.trustedProxies)
				return err
			}},
		{Key: "http.metrics", Flag: "metrics", Env: "RISKMAP_METRICS", dst: &c.Metrics,
			Doc: "serve GET /metrics: Prometheus metrics of requests, tiles, the index, the change feed, event streams, ingest and the database pools"},
		{Key: "http.metrics_token_file", Flag: "metrics-token-file", Env: "RISKMAP_METRICS_TOKEN_FILE", dst: &c.MetricsTokenFile,
			Doc: "file holding the token a scrape of /metrics must send (Authorization: Bearer), or the token itself in env RISKMAP_METRICS_TOKEN; empty: /metrics is open (keep it on a private network)"},
	}
	rl := &o.rateLimits
	for _, r := range []struct {
		class, what string
		rate        *httpapi.Rate
	}{
		{"reads", "reads (GET and HEAD API routes, the page's files, the read POSTs query and report)", &rl.Reads},
		{"tiles", "tiles (vector tiles, TileJSON, the style)", &rl.Tiles},
		{"writes", "writes (edits, hazard moves, alerts, signals, tokens, sign-in)", &rl.Writes},
		{"readings", "sensor reading batches (POST /api/v1/readings)", &rl.Readings},
		{"events", "event streams opened (GET /api/v1/events)", &rl.Events},
	} {
		env := "RISKMAP_LIMIT_" + strings.ToUpper(r.class)
		ss = append(ss,
			&setting{Key: "limits." + r.class + "_per_second", Flag: "limit-" + r.class + "-per-second", Env: env + "_PER_SECOND", dst: &r.rate.PerSecond,
				Doc: "rate limit of " + r.what + ": requests a second per API token, or per client address without one, on average (429 with Retry-After past it); 0: no limit",
				check: func() error {
					if !(r.rate.PerSecond >= 0) {
						return fmt.Errorf("%v: want 0 or more", r.rate.PerSecond)
					}
					return nil
				}},
			&setting{Key: "limits." + r.class + "_burst", Flag: "limit-" + r.class + "-burst", Env: env + "_BURST", dst: &r.rate.Burst,
				Doc: "rate limit of " + r.what + ": requests allowed at once above the average",
				check: func() error {
					if r.rate.Burst < 0 {
						return fmt.Errorf("%d: want 0 or more", r.rate.Burst)
					}
					return nil
				}})
	}
	ss = append(ss, &setting{Key: "limits.max_clients", Flag: "limit-max-clients", Env: "RISKMAP_LIMIT_MAX_CLIENTS", dst: &rl.MaxKeys,
		Doc: "most clients (tokens and addresses) with a rate limit bucket in memory; 0: 100000",
		check: func() error {
			if rl.MaxKeys < 0 {
				return fmt.Errorf("%d: want 0 or more", rl.MaxKeys)
			}
			return nil
		}})
	ss = append(ss, []*setting{
		{Key: "log.format", Flag: "log-format", Env: "RISKMAP_LOG_FORMAT", dst: &c.LogFormat,
			Doc: "log format on stderr: text (key=value) or json (one object a line)", check: oneOf(&c.LogFormat, "text", "json")},
		{Key: "log.level", Flag: "log-level", Env: "RISKMAP_LOG_LEVEL", dst: &c.LogLevel,
			Doc: "least level logged: debug, info, warn or error", check: func() error {
				_, err := parseLogLevel(c.LogLevel)
				return err
			}},
	}...)
	for _, s := range ss {
		s.def = formatValue(s.dst)
	}
	return ss
}

// maxClusterBelow is the largest cluster-below: one past the deepest tile zoom.
const maxClusterBelow = 23

// configFlags are serve's flags: one per setting, plus --config.
type configFlags struct {
	file     *string
	settings []*setting
	values   map[string]*settingFlag // by flag name
}

// settingFlag is a setting's flag: it keeps the text, which load parses with the
// other sources so that config check reports a bad flag like any bad value.
type settingFlag struct {
	text   string
	isBool bool
}

func (f *settingFlag) String() string {
	if f == nil {
		return ""
	}
	return f.text
}
func (f *settingFlag) Set(v string) error { f.text = v; return nil }
func (f *settingFlag) IsBoolFlag() bool   { return f.isBool }

// addConfigFlags adds --config and one flag per setting of c to fs; the usage of
// each names its environment variable and file key.
func addConfigFlags(fs *flag.FlagSet, c *serveConfig) *configFlags {
	cf := &configFlags{settings: serveSettings(c), values: map[string]*settingFlag{}}
	cf.file = fs.String("config", "", "TOML configuration file (env RISKMAP_CONFIG); flags override env, env overrides the file")
	for _, s := range cf.settings {
		_, isBool := s.dst.(*bool)
		v := &settingFlag{isBool: isBool}
		def := s.def
		if def == `""` {
			def = ""
		}
		v.text = strings.Trim(def, `"`)
		cf.values[s.Flag] = v
		fs.Var(v, s.Flag, fmt.Sprintf("%s (env %s; file key %s)", s.Doc, s.Env, s.Key))
	}
	return cf
}

// lookupEnv is os.LookupEnv, or a test's map.
type lookupEnv func(string) (string, bool)

// load reads the configuration after fs was parsed: the file (the --config flag,
// else RISKMAP_CONFIG), then the environment, then the flags given; then checks
// every value. It returns every problem at once (*configError). c must be the
// config addConfigFlags was given.
func (cf *configFlags) load(fs *flag.FlagSet, env lookupEnv) error {
	var probs []*configProblem
	add := func(s *setting, where string, err error) {
		key := ""
		if s != nil {
			key = s.Key
		}
		probs = append(probs, &configProblem{Key: key, Where: where, Err: err})
	}
	byKey := map[string]*setting{}
	for _, s := range cf.settings {
		byKey[s.Key] = s
	}
	file := *cf.file
	if file == "" {
		file, _ = env("RISKMAP_CONFIG")
	}
	if file != "" {
		src, err := os.ReadFile(file)
		if err != nil {
			add(nil, "", fmt.Errorf("%w: %w", errConfigFile, err))
		} else {
			probs = append(probs, decodeConfigFile(file, src, byKey)...)
		}
	}
	for _, s := range cf.settings {
		if v, ok := env(s.Env); ok && v != "" {
			s.src, s.where = fromEnv, "env "+s.Env
			if err := parseText(s.dst, v); err != nil {
				add(s, s.where, fmt.Errorf("%w: %w", errBadValue, err))
			}
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, s := range cf.settings {
		if set[s.Flag] {
			s.src, s.where = fromFlag, "flag --"+s.Flag
			if err := parseText(s.dst, cf.values[s.Flag].text); err != nil {
				add(s, s.where, fmt.Errorf("%w: %w", errBadValue, err))
			}
		}
	}
	for _, s := range cf.settings {
		if s.check == nil {
			continue
		}
		if err := s.check(); err != nil {
			where := s.where
			if s.src == fromDefault {
				where = "default"
			}
			add(s, where, fmt.Errorf("%w: %w", errBadValue, err))
		}
	}
	if len(probs) > 0 {
		return &configError{Problems: probs}
	}
	return nil
}

// decodeConfigFile decodes a TOML file into the settings, returning a problem for
// every unknown key and every value of the wrong type (each with its line).
func decodeConfigFile(name string, src []byte, byKey map[string]*setting) []*configProblem {
	var raw map[string]any
	if _, err := toml.NewDecoder(bytes.NewReader(src)).Decode(&raw); err != nil {
		where := name
		var pe toml.ParseError
		if errors.As(err, &pe) {
			where = fmt.Sprintf("%s:%d", name, pe.Position.Line)
			err = errors.New(pe.Message)
		}
		return []*configProblem{{Where: "file " + where, Err: fmt.Errorf("%w: %w", errConfigFile, err)}}
	}
	var probs []*configProblem
	lines := keyLines(src)
	where := func(key string) string {
		if n, ok := lines[key]; ok {
			return fmt.Sprintf("file %s:%d", name, n)
		}
		return "file " + name
	}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int { return lines[prefix+a] - lines[prefix+b] })
		for _, k := range keys {
			key := prefix + k
			v := m[k]
			s, ok := byKey[key]
			if !ok {
				if sub, isTable := v.(map[string]any); isTable && hasKeyPrefix(byKey, key+".") {
					walk(key+".", sub)
					continue
				}
				probs = append(probs, &configProblem{Key: key, Where: where(key), Err: errUnknownKey})
				continue
			}
			s.src, s.where = fromFile, where(key)
			if err := setTOML(s.dst, v); err != nil {
				probs = append(probs, &configProblem{Key: key, Where: s.where, Err: fmt.Errorf("%w: %w", errBadValue, err)})
			}
		}
	}
	walk("", raw)
	return probs
}

func hasKeyPrefix(byKey map[string]*setting, prefix string) bool {
	for k := range byKey {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// keyLines finds the line of each key of a TOML file, for messages: table headers
// ([a] and [a.b]) and key = value lines (bare, quoted or dotted keys). Keys it
// cannot place are left out; arrays of tables are not placed.
func keyLines(src []byte) map[string]int {
	out := map[string]int{}
	table := ""
	for i, line := range strings.Split(string(src), "\n") {
		l := strings.TrimSpace(line)
		switch {
		case l == "" || l[0] == '#':
			continue
		case strings.HasPrefix(l, "[["):
			table = "[[" // keys of arrays of tables are not placed
			continue
		case l[0] == '[':
			end := strings.IndexByte(l, ']')
			if end < 0 {
				continue
			}
			table = normalizeKey(l[1:end])
			if _, ok := out[table]; !ok {
				out[table] = i + 1
			}
			continue
		}
		eq := strings.IndexByte(l, '=')
		if eq <= 0 || table == "[[" {
			continue
		}
		key := normalizeKey(l[:eq])
		if table != "" {
			key = table + "." + key
		}
		if _, ok := out[key]; !ok {
			out[key] = i + 1
		}
	}
	return out
}

// normalizeKey turns a TOML key as written (a . "b" . c) into a dotted key.
func normalizeKey(k string) string {
	parts := strings.Split(k, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}

// setTOML sets dst from a decoded TOML value: strings for strings and durations
// ("30s"), integers, booleans, arrays of strings.
func setTOML(dst any, v any) error {
	switch d := dst.(type) {
	case *string:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want a string", tomlType(v))
		}
		*d = s
	case *bool:
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("%s: want true or false", tomlType(v))
		}
		*d = b
	case *int, *int64:
		n, ok := v.(int64)
		if !ok {
			return fmt.Errorf("%s: want an integer", tomlType(v))
		}
		return setInt(dst, n)
	case *float64:
		switch n := v.(type) {
		case float64:
			*d = n
		case int64:
			*d = float64(n)
		default:
			return fmt.Errorf("%s: want a number", tomlType(v))
		}
	case *time.Duration:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want a duration as a string, e.g. \"30s\"", tomlType(v))
		}
		return parseText(dst, s)
	case *[]string:
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: want an array of strings", tomlType(v))
		}
		out := make([]string, 0, len(a))
		for _, e := range a {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("array of %s: want an array of strings", tomlType(e))
			}
			out = append(out, s)
		}
		*d = out
	default:
		return fmt.Errorf("setting of type %T", dst)
	}
	return nil
}

func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a date"
	}
	return fmt.Sprintf("%T", v)
}

func setInt(dst any, n int64) error {
	switch d := dst.(type) {
	case *int64:
		*d = n
	case *int:
		if int64(int(n)) != n {
			return fmt.Errorf("%d: out of range", n)
		}
		*d = int(n)
	}
	return nil
}

// parseText sets dst from the text of an environment variable or a flag.
func parseText(dst any, v string) error {
	switch d := dst.(type) {
	case *string:
		*d = v
	case *bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q: want true or false", v)
		}
		*d = b
	case *int, *int64:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("%q: want an integer", v)
		}
		return setInt(dst, n)
	case *float64:
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return fmt.Errorf("%q: want a number", v)
		}
		*d = n
	case *time.Duration:
		t, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q: want a duration such as 30s, 5m or 12h", v)
		}
		*d = t
	case *[]string:
		var out []string
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		*d = out
	default:
		return fmt.Errorf("setting of type %T", dst)
	}
	return nil
}

// formatValue is a setting's value as TOML.
func formatValue(dst any) string {
	switch d := dst.(type) {
	case *string:
		return tomlString(*d)
	case *bool:
		return strconv.FormatBool(*d)
	case *int:
		return strconv.Itoa(*d)
	case *int64:
		return strconv.FormatInt(*d, 10)
	case *float64:
		f := strconv.FormatFloat(*d, 'f', -1, 64)
		if !strings.ContainsAny(f, ".eEnN") {
			f += ".0" // a TOML float, not an integer
		}
		return f
	case *time.Duration:
		return tomlString(formatDuration(*d))
	case *[]string:
		q := make([]string, len(*d))
		for i, s := range *d {
			q[i] = tomlString(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	return fmt.Sprintf("%v", dst)
}

// formatDuration writes d as time.Duration does, without the zero units it adds
// ("168h" rather than "168h0m0s").
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// writeEffective writes the configuration as TOML, each key with its source as a
// comment, secrets redacted.
func (cf *configFlags) writeEffective(w io.Writer, file string) {
	fmt.Fprintln(w, "# riskmap serve: effective configuration (source of each value after #)")
	if file != "" {
		fmt.Fprintf(w, "# config file: %s\n", file)
	}
	section := ""
	for _, s := range cf.settings {
		sec, name, _ := strings.Cut(s.Key, ".")
		if sec != section {
			if section != "" {
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "[%s]\n", sec)
			section = sec
		}
		v := formatValue(s.dst)
		if s.Secret {
			v = tomlString(redact(s.dst))
		}
		src := s.src.String()
		if s.src != fromDefault {
			src = s.where
		}
		fmt.Fprintf(w, "%s = %s  # %s\n", name, v, src)
	}
}

// configFile is the file the flags or environment name, "" when none.
func (cf *configFlags) configFile(env lookupEnv) string {
	if *cf.file != "" {
		return *cf.file
	}
	f, _ := env("RISKMAP_CONFIG")
	return f
}
