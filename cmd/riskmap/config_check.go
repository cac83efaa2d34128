package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"riskmap/internal/obs"
	"riskmap/layers"
)

// configCmd: riskmap config check [--config FILE] [--connect] [serve's flags].
func configCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "check" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprint(stdout, configUsage)
			return 0
		}
		fmt.Fprint(stderr, configUsage)
		return 2
	}
	fs, c, cf := newServeFlags("config check", "Check serve's configuration — the config file (--config or RISKMAP_CONFIG), the\nenvironment and these flags, read exactly as serve reads them — and print it as\nTOML with the source of each value, secrets redacted. Every problem is reported,\nwith its key and where the value came from; the exit code is then 1.\nThe store is not opened unless --connect is given.", stdout, stderr)
	connect := fs.Bool("connect", false, "also check that the store is reachable and at this binary's schema version")
	if code, ok := parse(fs, args[1:], stdout); !ok {
		return code
	}
	env := lookupEnv(os.LookupEnv)
	if err := loadServeConfig(fs, cf, c, env); err != nil {
		reportConfigError(stderr, "riskmap config check", err)
		return 1
	}
	cf.writeEffective(stdout, cf.configFile(env))
	if *connect {
		msg, err := checkStore(ctx, c.Store)
		if err != nil {
			fmt.Fprintf(stderr, "riskmap config check: store: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "\n# store: %s\n", msg)
	}
	return 0
}

const configUsage = `Usage: riskmap config check [--config FILE] [--connect] [serve's flags]

Check serve's configuration and print it with the source of each value.
Run "riskmap config check --help" for the flags.
`

// newServeFlags is the flag set of serve and config check: --config and one flag
// per setting, over the defaults.
func newServeFlags(name, synopsis string, stdout, stderr io.Writer) (*flag.FlagSet, *serveConfig, *configFlags) {
	fs := newFlags(name, synopsis, stdout, stderr)
	c := defaultServeConfig()
	cf := addConfigFlags(fs, &c)
	return fs, &c, cf
}

// loadServeConfig reads serve's configuration once fs is parsed (see
// configFlags.load) and the write token; every problem is in the *configError.
func loadServeConfig(fs *flag.FlagSet, cf *configFlags, c *serveConfig, env lookupEnv) error {
	err := cf.load(fs, env)
	var ce *configError
	if err != nil && !errors.As(err, &ce) {
		return err
	}
	tok, terr := writeToken(c.WriteTokenFile, env)
	if terr != nil {
		if ce == nil {
			ce = &configError{}
		}
		where := "env RISKMAP_WRITE_TOKEN"
		if c.WriteTokenFile != "" {
			where = whereOf(cf, "auth.write_token_file", where)
		}
		ce.Problems = append(ce.Problems, &configProblem{Key: "auth.write_token_file", Where: where, Err: fmt.Errorf("%w: %w", errBadValue, terr)})
	}
	c.Opt.writeToken = tok
	mtok, merr := secretFile(c.MetricsTokenFile, "RISKMAP_METRICS_TOKEN", env)
	if merr != nil {
		if ce == nil {
			ce = &configError{}
		}
		ce.Problems = append(ce.Problems, &configProblem{Key: "http.metrics_token_file", Where: whereOf(cf, "http.metrics_token_file", "env RISKMAP_METRICS_TOKEN"),
			Err: fmt.Errorf("%w: metrics token: %w", errBadValue, merr)})
	}
	c.Opt.metricsToken = mtok
	c.Opt.noMetrics = !c.Metrics
	if ce != nil {
		return ce
	}
	return nil
}

// whereOf is where the setting key's value came from; def when it is the default.
func whereOf(cf *configFlags, key, def string) string {
	for _, s := range cf.settings {
		if s.Key == key && s.src != fromDefault {
			return s.where
		}
	}
	return def
}

// secretFile is a secret: the contents of file (trimmed) when given, else the
// environment variable; "" when neither. Shorter than 16 characters is refused.
func secretFile(file, envName string, env lookupEnv) (string, error) {
	tok, _ := env(envName)
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		tok = strings.TrimSpace(string(b))
	}
	if tok != "" && len(tok) < 16 {
		return "", errors.New("shorter than 16 characters")
	}
	return tok, nil
}

// reportConfigError writes each problem on a line of its own.
func reportConfigError(w io.Writer, prefix string, err error) {
	var ce *configError
	if !errors.As(err, &ce) {
		fmt.Fprintf(w, "%s: %v\n", prefix, err)
		return
	}
	fmt.Fprintf(w, "%s: %d problem(s) in the configuration:\n", prefix, len(ce.Problems))
	for _, p := range ce.Problems {
		fmt.Fprintf(w, "  %v\n", p)
	}
}

// checkStore opens the store (without creating a GeoPackage) and checks its
// schema version; it says what it found.
func checkStore(ctx context.Context, st storeSpec) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if st.DatabaseURL == "" {
		if _, err := os.Stat(st.GPKG); errors.Is(err, os.ErrNotExist) {
			return fmt.Sprintf("GeoPackage %s does not exist yet: serve creates it with the demo dataset", st.GPKG), nil
		}
	}
	s, err := st.openSchemaStore(ctx, layers.New())
	if err != nil {
		return "", err
	}
	defer s.Close()
	cur, latest, err := s.SchemaVersion(ctx)
	if err != nil {
		return "", err
	}
	kind := "PostGIS " + redactDatabaseURL(st.DatabaseURL)
	if st.DatabaseURL == "" {
		kind = "GeoPackage " + st.GPKG
		if cur < latest {
			return fmt.Sprintf("%s reachable, schema at version %d of %d: serve migrates it", kind, cur, latest), nil
		}
	}
	if err := s.CheckSchema(ctx); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s reachable, schema at version %d (this binary's)", kind, cur), nil
}

// redact is a secret setting's value as config check prints it: a URL keeps all
// but its password; anything else that is not empty becomes "REDACTED".
func redact(dst any) string {
	s, ok := dst.(*string)
	if !ok {
		return "REDACTED"
	}
	if *s == "" {
		return ""
	}
	if strings.Contains(*s, "://") {
		return redactDatabaseURL(*s)
	}
	return "REDACTED"
}

// dsnPassword finds password=... in a key=value connection string or a query.
var dsnPassword = regexp.MustCompile(`(?i)(password=)[^&\s]*`)

// redactDatabaseURL hides a database URL's password, in the user info or the query.
func redactDatabaseURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "REDACTED"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
	}
	return dsnPassword.ReplaceAllString(u.String(), "${1}REDACTED")
}

// parseLogLevel reads debug, info, warn or error.
func parseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q: want debug, info, warn or error", s)
}

// newLogger is the process's logger, built once and passed down: text
// (key=value) or JSON lines on w, from level up; records logged with a request's
// context carry its request_id (internal/obs).
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	lv, err := parseLogLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	switch format {
	case "text", "":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: want text or json", format)
	}
	// A line logged with a request's context carries its request id.
	return slog.New(obs.NewHandler(h)), nil
}
