// Command riskmap is the GIS spatial risk-map server of a district emergency-management
// bureau. This package only wires: it reads flags and environment, builds the
// registry, store and HTTP handler, and runs the chosen subcommand.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `riskmap — spatial risk map server (Luohu district emergency management)

Usage:
  riskmap <command> [flags]

Commands:
  serve     run the HTTP server
  migrate   bring the store's schema to this binary's version
  seed      write the demo dataset (riskmap seed --demo)
  import    import census data (GeoJSON, CSV, GeoPackage) into a layer: riskmap import --layer risk_points risks.csv
  export    write a layer as GeoJSON, CSV or GeoPackage: riskmap export --layer risk_points --format csv -o risks.csv
  simulate  run a storm drill: simulated sensor readings, marked drill
  token     manage API tokens: riskmap token create --role editor --name "...", list, revoke ID
  version   print the version
  config    check serve's configuration: riskmap config check [--config FILE] [--connect]

Run "riskmap <command> --help" for the flags of a command.

Store: without a database URL, riskmap keeps everything in one GeoPackage file
(./riskmap.gpkg, created with the demo dataset on first serve); with one, in PostGIS.

Environment:
  RISKMAP_DATABASE_URL   PostgreSQL/PostGIS URL, e.g. postgres://user@host:5432/riskmap
  RISKMAP_GPKG           the GeoPackage file when no database URL is given (default riskmap.gpkg)
  RISKMAP_ADDR           listen address of serve (default :8080)
  RISKMAP_CONFIG         serve's TOML configuration file (every setting: docs/configuration.md)
`

// command is one subcommand: it parses its own args and returns an exit code.
type command func(ctx context.Context, args []string, stdout, stderr io.Writer) int

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	commands := map[string]command{
		"serve":    serveCmd,
		"migrate":  migrateCmd,
		"seed":     seedCmd,
		"export":   exportCmd,
		"import":   importCmd,
		"simulate": simulateCmd,
		"token":    tokenCmd,
		"version":  versionCmd,
		"config":   configCmd,
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "riskmap: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	return cmd(ctx, args[1:], stdout, stderr)
}
