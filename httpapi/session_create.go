package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"riskmap/store"
)

// sessionView is the answer of the session routes: who is signed in, the CSRF
// token writes made with the cookie must send (X-CSRF-Token), and when the session
// ends. A bearer token's "who am I" has no CSRF token and no end.
type sessionView struct {
	Name      string     `json:"name"`
	Role      Role       `json:"role"`
	CSRF      string     `json:"csrf,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// createSession: POST /api/v1/session {"token": "..."} — sign the page in: the
// token is checked (never cached: a revoked one cannot sign in), a session is
// stored (the SHA-256 of its random id only) and its id set as the cookie
// riskmap_session (HttpOnly, SameSite=Strict, Path=/, Secure over TLS or with an
// https public URL). Open even when reading needs a viewer.
func (s *server) createSession(w http.ResponseWriter, r *http.Request) error {
	if s.tokens == nil {
		return errAuthDisabled
	}
	var body struct {
		Token string `json:"token"`
	}
	if err := decodeBody(w, r, &body); err != nil {
		return err
	}
	tok := strings.TrimSpace(body.Token)
	if tok == "" {
		return badParam("token", "is required")
	}
	if s.writeToken != "" {
		a, b := sha256.Sum256([]byte(tok)), sha256.Sum256([]byte(s.writeToken))
		if subtle.ConstantTimeCompare(a[:], b[:]) == 1 {
			return badParam("token", "the legacy write token cannot sign in: create a token (riskmap token create) and sign in with it")
		}
	}
	t, err := s.tokens.TokenByHash(r.Context(), store.HashToken(tok))
	if errors.Is(err, store.ErrNotFound) {
		return errBadToken
	}
	if err != nil {
		return err
	}
	sid, sidHash, err := store.NewSecret("")
	if err != nil {
		return err
	}
	csrf, _, err := store.NewSecret("")
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	expires := now.Add(s.sessionTTL).Truncate(time.Millisecond)
	if _, err := s.tokens.ExpireSessions(r.Context(), now); err != nil {
		s.log.WarnContext(r.Context(), "expire sessions", "err", err)
	}
	if err := s.tokens.CreateSession(r.Context(), store.Session{IDHash: sidHash, TokenID: t.ID, CSRF: csrf, ExpiresAt: expires}); err != nil {
		return err
	}
	s.auth.touch(r.Context(), s, t.ID)
	http.SetCookie(w, s.cookie(r, sid, expires))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, sessionView{Name: t.Name, Role: Role(t.Role), CSRF: csrf, ExpiresAt: &expires})
	return nil
}

// cookie is the session cookie carrying value until expires (a zero time and an
// empty value: delete it).
func (s *server) cookie(r *http.Request, value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{Name: sessionCookie, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || strings.HasPrefix(s.publicURL, "https://")}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires
		c.MaxAge = int(time.Until(expires).Seconds())
	}
	return c
}
