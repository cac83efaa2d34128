package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
)

var (
	errNoToken        = errors.New("this endpoint writes: send the write token as \"Authorization: Bearer <token>\"")
	errBadToken       = errors.New("the write token is wrong")
	errWritesDisabled = errors.New("writes are disabled on this server: no write token is configured (RISKMAP_WRITE_TOKEN)")
)

// Role is what a token may do: viewer reads; editor edits features, moves hazard
// status, acknowledges alerts and sets district signals; sensor posts readings only;
// admin manages tokens.
type Role string

// The roles.
const (
	RoleViewer Role = "viewer"
	RoleEditor Role = "editor"
	RoleSensor Role = "sensor"
	RoleAdmin  Role = "admin"
)

// Identity is who makes a request: the token's id and name (what audit rows and
// histories record) and its role.
type Identity struct {
	TokenID int64
	Name    string
	Role    Role
}

// authorize checks that the request may do what one of roles may and returns who
// makes it: errNoToken (401) without credentials, errBadToken (401) for unknown
// ones, a 403 for a role not among roles. Until tokens with roles exist, the one
// configured write token is Identity{Name: "write-token", Role: RoleAdmin} and may do
// everything.
func (s *server) authorize(r *http.Request, roles ...Role) (Identity, error) {
	if err := s.authorizeWrite(r); err != nil {
		return Identity{}, err
	}
	return Identity{Name: "write-token", Role: RoleAdmin}, nil
}

// authorizeWrite checks the request's bearer token against the configured write
// token (constant time). Until roles exist (users and tokens), one token allows
// every write.
func (s *server) authorizeWrite(r *http.Request) error {
	if s.writeToken == "" {
		return errWritesDisabled
	}
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return errNoToken
	}
	a, b := sha256.Sum256([]byte(tok)), sha256.Sum256([]byte(s.writeToken))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return errBadToken
	}
	return nil
}
