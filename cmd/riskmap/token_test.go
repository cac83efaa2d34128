package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"riskmap/layers"
	"riskmap/store"
	"riskmap/store/gpkg"
)

// TestTokenCommandsOnGPKG: riskmap token create prints the token alone on one line
// of stdout (only its SHA-256 is in the file), list shows it, revoke revokes it; bad
// usage exits 2; a GeoPackage held by a running server is refused with a pointer to
// the admin API.
func TestTokenCommandsOnGPKG(t *testing.T) {
	t.Setenv("RISKMAP_DATABASE_URL", "")
	path := filepath.Join(t.TempDir(), "riskmap.gpkg")
	if code, out, errOut := runCLI(t, "token", "list", "--gpkg", path); code != 1 || !strings.Contains(errOut, "riskmap migrate") {
		t.Errorf("list on a missing file: exit %d, %q %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "migrate", "--gpkg", path); code != 0 {
		t.Fatalf("migrate: %d %s", code, errOut)
	}
	code, out, errOut := runCLI(t, "token", "create", "--gpkg", path, "--role", "editor", "--name", "值班员 Zhang")
	if code != 0 {
		t.Fatalf("create: exit %d, %s", code, errOut)
	}
	tok := strings.TrimSuffix(out, "\n")
	if strings.Count(out, "\n") != 1 || !strings.HasPrefix(tok, store.TokenPrefix) || len(tok) < len(store.TokenPrefix)+43 {
		t.Fatalf("create printed %q, want the token alone on one line", out)
	}
	if !strings.Contains(errOut, "shown only this once") || strings.Contains(errOut, tok) {
		t.Errorf("create's message %q", errOut)
	}
	if code, _, _ := runCLI(t, "token", "create", "--gpkg", path, "--role", "viewer", "--name", "wall screen"); code != 0 {
		t.Fatal("second create failed")
	}
	for _, bad := range [][]string{
		{"token"},
		{"token", "frob"},
		{"token", "create", "--gpkg", path, "--role", "root", "--name", "x"},
		{"token", "create", "--gpkg", path, "--role", "viewer"},
		{"token", "revoke", "--gpkg", path},
		{"token", "revoke", "abc", "--gpkg", path},
	} {
		if code, _, _ := runCLI(t, bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
	if code, out, _ := runCLI(t, "token", "--help"); code != 0 || !strings.Contains(out, "riskmap token create --role editor") {
		t.Errorf("token --help: %d %q", code, out)
	}

	code, out, _ = runCLI(t, "token", "list", "--gpkg", path)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.Contains(lines[0], "LAST USED") ||
		!strings.Contains(lines[1], "值班员 Zhang") || !strings.Contains(lines[1], "editor") || !strings.HasSuffix(strings.TrimSpace(lines[1]), "-") ||
		!strings.Contains(lines[2], "wall screen") {
		t.Fatalf("list: exit %d\n%s", code, out)
	}
	if strings.Contains(out, tok) {
		t.Error("list shows the token")
	}

	// The file holds the hash, never the token.
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if wal, err := os.ReadFile(path + "-wal"); err == nil {
		raw = append(raw, wal...)
	}
	if bytes.Contains(raw, []byte(tok)) || !bytes.Contains(raw, store.HashToken(tok)) {
		t.Error("the GeoPackage holds the token in clear, or not its hash")
	}

	// Revoke (id after or before the flags).
	if code, _, errOut := runCLI(t, "token", "revoke", "1", "--gpkg", path); code != 0 || !strings.Contains(errOut, "revoked") {
		t.Fatalf("revoke: %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "token", "revoke", "--gpkg", path, "99"); code != 1 || !strings.Contains(errOut, "not found") {
		t.Errorf("revoke unknown: %d %s", code, errOut)
	}
	_, out, _ = runCLI(t, "token", "list", "--gpkg", path)
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || strings.HasSuffix(strings.TrimSpace(lines[1]), " -") || !strings.HasSuffix(strings.TrimSpace(lines[2]), "-") {
		t.Errorf("list after revoke:\n%s", out)
	}

	// The store agrees: the editor token is revoked, the viewer's works.
	s, err := gpkg.Open(context.Background(), path, layers.New())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenByHash(context.Background(), store.HashToken(tok)); err == nil {
		t.Error("the revoked token is still found")
	}
	// While a server holds the file, the commands point to the admin API.
	code, _, errOut = runCLI(t, "token", "list", "--gpkg", path)
	s.Close()
	if code != 1 || !strings.Contains(errOut, "/api/v1/tokens") {
		t.Errorf("list on a held file: exit %d, %q", code, errOut)
	}
}
