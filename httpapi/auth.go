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
