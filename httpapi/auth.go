package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"riskmap/store"
)

var (
	errNoToken        = errors.New("sign in, or send a token as \"Authorization: Bearer <token>\"")
	errBadToken       = errors.New("the token is unknown or was revoked")
	errBadSession     = errors.New("the session has ended (expired, signed out, or its token was revoked): sign in again")
	errWritesDisabled = errors.New("writes are disabled on this server: no tokens and no write token are configured")
	errCSRF           = errors.New("a write made with the session cookie must send the session's CSRF token in the X-CSRF-Token header")
	errAuthDisabled   = errors.New("sign-in and tokens are not enabled on this server (no token store)")
)

// roleError: the credentials are valid but their role may not do this (403).
type roleError struct {
	Have Role
	Need []Role
}

func (e *roleError) Error() string {
	need := make([]string, len(e.Need))
	for i, r := range e.Need {
		need[i] = string(r)
	}
	return fmt.Sprintf("a %s token may not do this: it needs the role %s (or admin)", e.Have, strings.Join(need, " or "))
}

// Role is what a token may do: viewer reads; editor edits features, moves hazard
// status, acknowledges alerts and sets district signals; sensor posts readings only;
// admin may do everything and manages tokens.
type Role string

// The roles.
const (
	RoleViewer Role = "viewer"
	RoleEditor Role = "editor"
	RoleSensor Role = "sensor"
	RoleAdmin  Role = "admin"
)

// readRoles may read when reading needs a token (--read-access viewer). A sensor
// token posts readings only.
var readRoles = []Role{RoleViewer, RoleEditor}

// Identity is who makes a request: the token's id and name (what audit rows and
// histories record) and its role.
type Identity struct {
	TokenID int64
	Name    string
	Role    Role
}

// context is the request's context carrying who makes it, for the store's audit rows
// (store.WithActor).
func (id Identity) context(r *http.Request) context.Context {
	return store.WithActor(r.Context(), store.Actor{Name: id.Name, TokenID: id.TokenID})
}

// legacyIdentity is the deprecated single write token's identity (an admin).
var legacyIdentity = Identity{Name: "write-token", Role: RoleAdmin}

// Tokens is what authorization needs of the store: API tokens (stored as SHA-256)
// and the page's sign-in sessions. store/postgis and store/gpkg both are one.
type Tokens interface {
	CreateToken(ctx context.Context, t store.NewToken) (int64, error)
	Tokens(ctx context.Context) ([]store.Token, error)
	RevokeToken(ctx context.Context, id int64) error
	TokenByHash(ctx context.Context, hash []byte) (store.Token, error)
	TouchToken(ctx context.Context, id int64, at time.Time) error
	CreateSession(ctx context.Context, s store.Session) error
	Session(ctx context.Context, idHash []byte, now time.Time) (store.Session, error)
	DeleteSession(ctx context.Context, idHash []byte) error
	ExpireSessions(ctx context.Context, now time.Time) (int64, error)
}

// Read access: public (anyone reads) or viewer (reading needs a viewer, editor or
// admin token or session).
const (
	ReadPublic = "public"
	ReadViewer = "viewer"
)

// sessionCookie is the name of the page's session cookie.
const sessionCookie = "riskmap_session"

// credentials are a request's authenticated identity and how it came.
type credentials struct {
	id Identity
	// session is set when the identity came from the session cookie: writes then
	// need its CSRF token.
	session *store.Session
}

// authorize checks that the request may do what one of roles may and returns who
// makes it: errNoToken (401) without credentials, errBadToken / errBadSession (401)
// for unknown, revoked or expired ones, a *roleError (403) for a role not among roles
// (admin may do everything), errCSRF (403) for a write with the session cookie but
// without the session's CSRF token. A bearer token needs no CSRF token.
func (s *server) authorize(r *http.Request, roles ...Role) (Identity, error) {
	if s.tokens == nil && s.writeToken == "" {
		return Identity{}, errWritesDisabled
	}
	c, err := s.authenticate(r)
	if err != nil {
		return Identity{}, err
	}
	if !allowed(c.id.Role, roles) {
		return Identity{}, &roleError{Have: c.id.Role, Need: roles}
	}
	if c.session != nil && !safeMethod(r.Method) {
		got := r.Header.Get("X-CSRF-Token")
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(c.session.CSRF)) != 1 {
			return Identity{}, errCSRF
		}
	}
	return c.id, nil
}

func allowed(have Role, roles []Role) bool {
	return have == RoleAdmin || slices.Contains(roles, have)
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// authenticate finds the request's credentials: the bearer token (the legacy write
// token, else an API token), else the session cookie.
func (s *server) authenticate(r *http.Request) (credentials, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || tok == "" {
			return credentials{}, errBadToken
		}
		hash := sha256.Sum256([]byte(tok))
		if s.writeToken != "" {
			legacy := sha256.Sum256([]byte(s.writeToken))
			if subtle.ConstantTimeCompare(hash[:], legacy[:]) == 1 {
				return credentials{id: legacyIdentity}, nil
			}
		}
		if s.tokens == nil {
			return credentials{}, errBadToken
		}
		t, err := s.auth.token(r.Context(), s.tokens, hash)
		if errors.Is(err, store.ErrNotFound) {
			return credentials{}, errBadToken
		}
		if err != nil {
			return credentials{}, err
		}
		s.auth.touch(r.Context(), s, t.ID)
		return credentials{id: Identity{TokenID: t.ID, Name: t.Name, Role: Role(t.Role)}}, nil
	}
	if ck, err := r.Cookie(sessionCookie); err == nil && ck.Value != "" && s.tokens != nil {
		ss, err := s.auth.session(r.Context(), s.tokens, sha256.Sum256([]byte(ck.Value)))
		if errors.Is(err, store.ErrNotFound) {
			return credentials{}, errBadSession
		}
		if err != nil {
			return credentials{}, err
		}
		s.auth.touch(r.Context(), s, ss.TokenID)
		return credentials{id: Identity{TokenID: ss.Token.ID, Name: ss.Token.Name, Role: Role(ss.Token.Role)}, session: &ss}, nil
	}
	return credentials{}, errNoToken
}

// openPaths are the routes that need no credentials even when reading needs a
// viewer: health, readiness, the page's files and signing in.
var openPaths = map[string]bool{"/healthz": true, "/readyz": true, "/": true, "/api/v1/session": true}

// readPosts are the routes that read with a POST (a query body).
var readPosts = map[string]bool{"/api/v1/query": true, "/api/v1/report": true}

// withReadAccess makes every read route need a viewer, editor or admin token or
// session when the read access is viewer. Writes are checked by their handlers
// (authorize).
func (s *server) withReadAccess(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.readAccess != ReadViewer {
			next.ServeHTTP(w, r)
			return
		}
		tmpl := ""
		if rt := mux.CurrentRoute(r); rt != nil {
			tmpl, _ = rt.GetPathTemplate()
		}
		if openPaths[tmpl] || strings.HasPrefix(tmpl, "/app/") || strings.HasPrefix(r.URL.Path, "/app/") {
			next.ServeHTTP(w, r)
			return
		}
		if safeMethod(r.Method) || (r.Method == http.MethodPost && readPosts[tmpl]) {
			c, err := s.authenticate(r)
			if err == nil && !allowed(c.id.Role, readRoles) {
				err = &roleError{Have: c.id.Role, Need: []Role{RoleViewer}}
			}
			if err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// authCache keeps recent token and session lookups for at most ttl (5 s by
// default), so a revocation in another process (riskmap token revoke) takes effect
// here within ttl; a revocation through this server clears it at once. Unknown
// tokens are not cached: a new token works at once. It also remembers when each
// token's last use was recorded, to record it at most once a minute.
type authCache struct {
	ttl time.Duration
	now func() time.Time

	mu       sync.Mutex
	tokens   map[[32]byte]cachedToken
	sessions map[[32]byte]cachedSession
	touched  map[int64]time.Time
}

type cachedToken struct {
	t  store.Token
	at time.Time
}

type cachedSession struct {
	s  store.Session
	at time.Time
}

// maxCached bounds each map: past it, the map is emptied.
const maxCached = 10000

// touchEvery is how often a token's last use is recorded at most.
const touchEvery = time.Minute

func newAuthCache(ttl time.Duration) *authCache {
	return &authCache{ttl: ttl, now: time.Now, tokens: map[[32]byte]cachedToken{},
		sessions: map[[32]byte]cachedSession{}, touched: map[int64]time.Time{}}
}

func (c *authCache) token(ctx context.Context, ts Tokens, hash [32]byte) (store.Token, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.tokens[hash]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < c.ttl {
		return e.t, nil
	}
	t, err := ts.TokenByHash(ctx, hash[:])
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		delete(c.tokens, hash)
		return t, err
	}
	if len(c.tokens) >= maxCached {
		clear(c.tokens)
	}
	c.tokens[hash] = cachedToken{t: t, at: now}
	return t, nil
}

func (c *authCache) session(ctx context.Context, ts Tokens, idHash [32]byte) (store.Session, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.sessions[idHash]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < c.ttl && now.Before(e.s.ExpiresAt) {
		return e.s, nil
	}
	ss, err := ts.Session(ctx, idHash[:], now)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		delete(c.sessions, idHash)
		return ss, err
	}
	if len(c.sessions) >= maxCached {
		clear(c.sessions)
	}
	c.sessions[idHash] = cachedSession{s: ss, at: now}
	return ss, nil
}

// forget drops one session (signed out).
func (c *authCache) forget(idHash [32]byte) {
	c.mu.Lock()
	delete(c.sessions, idHash)
	c.mu.Unlock()
}

// clearAll drops every cached lookup (a token was revoked here).
func (c *authCache) clearAll() {
	c.mu.Lock()
	clear(c.tokens)
	clear(c.sessions)
	c.mu.Unlock()
}

// touch records the token's use in the store at most once a minute; a failure is
// logged, never the request's.
func (c *authCache) touch(ctx context.Context, s *server, id int64) {
	now := c.now()
	c.mu.Lock()
	last, ok := c.touched[id]
	due := !ok || now.Sub(last) >= touchEvery
	if due {
		if len(c.touched) >= maxCached {
			clear(c.touched)
		}
		c.touched[id] = now
	}
	c.mu.Unlock()
	if due {
		if err := s.tokens.TouchToken(ctx, id, now); err != nil {
			s.log.WarnContext(ctx, "record token use", "token", id, "err", err)
		}
	}
}
