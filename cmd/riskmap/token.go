package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"riskmap/layers"
	"riskmap/store"
)

const tokenUsage = `Usage: riskmap token <create|list|revoke> [flags]

Manage the API tokens of the store (only their SHA-256 is stored):

  riskmap token create --role editor --name "值班员 Zhang"
                    print a new token alone on one line of stdout — it is shown only
                    this once; roles: viewer (reads), editor (edits features, moves
                    hazard status, acknowledges alerts, sets district signals), sensor
                    (posts readings only), admin (everything, manages tokens)
  riskmap token list
                    the tokens: id, name, role, created, last used, revoked
  riskmap token revoke ID
                    revoke a token and end its sign-in sessions; a running server
                    stops accepting it within 5 s

Each takes the store flags (--database-url, --gpkg). A GeoPackage is locked by a
running "riskmap serve": then use that server's admin API instead
(GET/POST /api/v1/tokens, DELETE /api/v1/tokens/{id}, with an admin token).
`

func tokenCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, tokenUsage)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		fmt.Fprint(stdout, tokenUsage)
		return 0
	case "create":
		return tokenCreate(ctx, args[1:], stdout, stderr)
	case "list":
		return tokenList(ctx, args[1:], stdout, stderr)
	case "revoke":
		return tokenRevoke(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "riskmap token: unknown subcommand %q\n\n%s", args[0], tokenUsage)
	return 2
}

// openTokenStore opens the chosen store for the token commands. A GeoPackage must
// exist already (serve or migrate makes it) and not be held by a running server.
func openTokenStore(ctx context.Context, st storeSpec) (tokenStore, error) {
	return st.openExisting(ctx, layers.New(), "run riskmap serve or riskmap migrate first, or give --database-url",
		"manage tokens through its admin API instead (GET/POST /api/v1/tokens, DELETE /api/v1/tokens/{id} with an admin token), or stop it first")
}

// cliActor is who created a token from the command line, as recorded.
func cliActor() string {
	if u := os.Getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}

func tokenCreate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("token create", "Create an API token and print it alone on one line of stdout: it is shown only\nthis once (only its SHA-256 is stored). Messages go to stderr.", stdout, stderr)
	sf := addStoreFlags(fs)
	role := fs.String("role", "", "the token's role: viewer, editor, sensor or admin (required)")
	name := fs.String("name", "", "who or what the token is for, 1–100 characters, recorded with its writes (required)")
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "riskmap token create: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	*name = strings.TrimSpace(*name)
	if *name == "" || !validRole(*role) {
		fmt.Fprintf(stderr, "riskmap token create: --name and --role (%s) are required\n", strings.Join(store.Roles, ", "))
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	s, err := openTokenStore(ctx, sf.spec())
	if err != nil {
		fmt.Fprintf(stderr, "riskmap token create: %v\n", err)
		return 1
	}
	defer s.Close()
	secret, hash, err := store.NewSecret(store.TokenPrefix)
	if err != nil {
		fmt.Fprintf(stderr, "riskmap token create: %v\n", err)
		return 1
	}
	id, err := s.CreateToken(ctx, store.NewToken{Name: *name, Role: *role, CreatedBy: cliActor(), Hash: hash})
	if err != nil {
		fmt.Fprintf(stderr, "riskmap token create: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "created token %d %q (%s); it is shown only this once:\n", id, *name, *role)
	fmt.Fprintln(stdout, secret)
	return 0
}

func validRole(r string) bool {
	for _, x := range store.Roles {
		if r == x {
			return true
		}
	}
	return false
}

func tokenList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("token list", "List the API tokens: id, name, role, created, last used, revoked (times UTC).", stdout, stderr)
	sf := addStoreFlags(fs)
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	s, err := openTokenStore(ctx, sf.spec())
	if err != nil {
		fmt.Fprintf(stderr, "riskmap token list: %v\n", err)
		return 1
	}
	defer s.Close()
	list, err := s.Tokens(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "riskmap token list: %v\n", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATED\tLAST USED\tREVOKED")
	for _, t := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, cliTime(t.CreatedAt), cliTime(t.LastUsedAt), cliTime(t.RevokedAt))
	}
	if err := tw.Flush(); err != nil {
		return 1
	}
	return 0
}

func cliTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func tokenRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("token revoke", "Revoke the API token ID (riskmap token list) and end its sign-in sessions. A\nrunning server stops accepting it within 5 s (its lookup cache).\n\nUsage: riskmap token revoke [flags] ID", stdout, stderr)
	sf := addStoreFlags(fs)
	// The id comes first or last: riskmap token revoke 3 --gpkg x, or --gpkg x 3.
	var idArg string
	switch {
	case len(args) > 0 && !strings.HasPrefix(args[0], "-"):
		idArg, args = args[0], args[1:]
	case len(args) > 0 && !strings.HasPrefix(args[len(args)-1], "-"):
		idArg, args = args[len(args)-1], args[:len(args)-1]
	}
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	if idArg == "" {
		fmt.Fprintln(stderr, "riskmap token revoke: give the token id (riskmap token list)")
		return 2
	}
	rest := []string{idArg}
	id, err := strconv.ParseInt(rest[0], 10, 64)
	if err != nil || id <= 0 {
		fmt.Fprintf(stderr, "riskmap token revoke: %q is not a token id\n", rest[0])
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	s, err := openTokenStore(ctx, sf.spec())
	if err != nil {
		fmt.Fprintf(stderr, "riskmap token revoke: %v\n", err)
		return 1
	}
	defer s.Close()
	if err := s.RevokeToken(ctx, id); err != nil {
		fmt.Fprintf(stderr, "riskmap token revoke: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "token %d revoked\n", id)
	return 0
}
