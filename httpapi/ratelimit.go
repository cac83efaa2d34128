package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate is one token bucket: PerSecond requests a second on average, up to Burst
// at once. A zero PerSecond means no limit.
type Rate struct {
	PerSecond float64
	Burst     int
}

// RateLimits are the request budgets of one client: per API token (or sign-in
// session's token) when the request carries valid credentials, else per client
// address (see TrustedProxies). Each class of route has its own bucket, so a wall
// map loading hundreds of tiles does not eat its reads. /healthz, /readyz and
// /metrics are never limited. The zero value limits nothing.
type RateLimits struct {
	// Reads: GET/HEAD API routes, the page's files, and the read POSTs
	// (/api/v1/query, /api/v1/report).
	Reads Rate
	// Tiles: vector tiles, TileJSON, the style and glyphs.
	Tiles Rate
	// Writes: every other POST, PUT, PATCH and DELETE but readings.
	Writes Rate
	// Readings: POST /api/v1/readings (sensors, in batches).
	Readings Rate
	// Events: GET /api/v1/events (each request opens a stream).
	Events Rate
	// MaxKeys bounds the clients (tokens and addresses) with buckets; zero means
	// 100,000. Buckets idle long enough to be full again are dropped first.
	MaxKeys int
}

// DefaultRateLimits are generous budgets for a command center: a wall map loads
// a few hundred tiles a minute per screen, a planner a handful of queries a
// second, and one sensor gateway token posts 2,000 readings a second (in batches,
// or one by one).
func DefaultRateLimits() RateLimits {
	return RateLimits{
		Reads:    Rate{PerSecond: 50, Burst: 200},
		Tiles:    Rate{PerSecond: 300, Burst: 3000},
		Writes:   Rate{PerSecond: 20, Burst: 100},
		Readings: Rate{PerSecond: 3000, Burst: 6000},
		Events:   Rate{PerSecond: 5, Burst: 500},
	}
}

// The route classes with their own buckets.
const (
	classReads    = "reads"
	classTiles    = "tiles"
	classWrites   = "writes"
	classReadings = "readings"
	classEvents   = "events"
)

// rateLimitError is a request over its budget: 429 with Retry-After.
type rateLimitError struct {
	Class      string
	RetryAfter time.Duration
}

func (e *rateLimitError) Error() string {
	return fmt.Sprintf("too many %s requests from this client; retry after %d s", e.Class, e.retrySeconds())
}

// retrySeconds is Retry-After: whole seconds, at least 1.
func (e *rateLimitError) retrySeconds() int {
	return max(1, int(math.Ceil(e.RetryAfter.Seconds())))
}

// limiter holds the buckets of every client, per class.
type limiter struct {
	rates   map[string]Rate
	maxKeys int
	now     func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket // class + "|" + client key
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
	full time.Duration // how long an idle bucket takes to fill up again
}

func newLimiter(rl RateLimits) *limiter {
	l := &limiter{rates: map[string]Rate{}, maxKeys: rl.MaxKeys, now: time.Now, buckets: map[string]*bucket{}}
	if l.maxKeys <= 0 {
		l.maxKeys = 100_000
	}
	for class, r := range map[string]Rate{classReads: rl.Reads, classTiles: rl.Tiles, classWrites: rl.Writes,
		classReadings: rl.Readings, classEvents: rl.Events} {
		if r.PerSecond > 0 {
			r.Burst = max(r.Burst, 1)
			l.rates[class] = r
		}
	}
	return l
}

// enabled reports whether any class is limited.
func (l *limiter) enabled() bool { return len(l.rates) > 0 }

// limited reports whether class has a budget.
func (l *limiter) limited(class string) bool {
	_, ok := l.rates[class]
	return ok
}

// allow takes one request of class from key's bucket; when it is empty, the
// error says when the next one is allowed.
func (l *limiter) allow(class, key string) error {
	r, ok := l.rates[class]
	if !ok {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute {
		l.sweep(now, false)
	}
	k := class + "|" + key
	b := l.buckets[k]
	if b == nil {
		if len(l.buckets) >= l.maxKeys {
			l.sweep(now, true)
		}
		b = &bucket{lim: rate.NewLimiter(rate.Limit(r.PerSecond), r.Burst),
			full: time.Duration(float64(r.Burst) / r.PerSecond * float64(time.Second))}
		l.buckets[k] = b
	}
	b.seen = now
	res := b.lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return &rateLimitError{Class: class, RetryAfter: d}
	}
	return nil
}

// sweep drops the buckets idle long enough to be full again (forgetting them
// changes nothing); when full is set and that freed nothing, it drops them all,
// so memory stays bounded under any churn of addresses. Called with mu held.
func (l *limiter) sweep(now time.Time, full bool) {
	l.lastSweep = now
	for k, b := range l.buckets {
		if now.Sub(b.seen) >= b.full {
			delete(l.buckets, k)
		}
	}
	if full && len(l.buckets) >= l.maxKeys {
		clear(l.buckets)
	}
}

// size is the number of buckets kept.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// unlimitedRoutes are never rate limited.
var unlimitedRoutes = map[string]bool{"/healthz": true, "/readyz": true, metricsPath: true}

// tileRoutes are the tile class.
var tileRoutes = map[string]bool{"/tiles/{layers}/{z}/{x}/{y}.mvt": true, "/tiles/{layers}.json": true,
	"/styles/riskmap.json": true, "/api/v1/glyphs/{fontstack}/{range}.pbf": true}

// routeClass is the budget class of a request to route template tmpl, or "" when
// it is not limited.
func routeClass(method, tmpl string) string {
	switch {
	case unlimitedRoutes[tmpl]:
		return ""
	case tileRoutes[tmpl]:
		return classTiles
	case tmpl == "/api/v1/events":
		return classEvents
	case tmpl == "/api/v1/readings" && method == http.MethodPost:
		return classReadings
	case safeMethod(method), method == http.MethodPost && readPosts[tmpl]:
		return classReads
	default:
		return classWrites
	}
}

// withRateLimit charges each request to its client's bucket of the route's class
// (429 with Retry-After when empty). A client with credentials is keyed by its
// token: a token already verified recently (the auth cache) costs nothing more;
// otherwise the address's bucket is charged first, so that made-up tokens cannot
// escape the address's budget nor make a lookup each, and then the credentials
// are checked — valid ones are charged to the token, others stay on the address.
func (s *server) withRateLimit(next http.Handler) http.Handler {
	if !s.limits.enabled() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		class := routeClass(r.Method, routeTemplate(r))
		if class == "" || !s.limits.limited(class) {
			next.ServeHTTP(w, r)
			return
		}
		addrKey := "a:" + s.clientAddr(r).String()
		key, verified := s.cachedCredentialKey(r)
		if !verified && hasCredentials(r) {
			if err := s.limits.allow(class, addrKey); err != nil {
				s.writeError(w, r, err)
				return
			}
			c, err := s.authenticate(r)
			if err != nil {
				// Charged to the address already; the route answers for the
				// credentials.
				next.ServeHTTP(w, r)
				return
			}
			key = credentialKey(c.id)
		}
		if key == "" {
			key = addrKey
		}
		if err := s.limits.allow(class, key); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hasCredentials reports whether r carries a bearer token or a session cookie.
func hasCredentials(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return true
	}
	c, err := r.Cookie(sessionCookie)
	return err == nil && c.Value != ""
}

// credentialKey is a limiter key of an identity.
func credentialKey(id Identity) string {
	if id == legacyIdentity {
		return "t:legacy"
	}
	return "t:" + strconv.FormatInt(id.TokenID, 10)
}

// cachedCredentialKey is the key of r's credentials when they were verified
// recently (in the auth cache, or the legacy write token), without a lookup.
func (s *server) cachedCredentialKey(r *http.Request) (string, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := cutBearer(h)
		if !ok {
			return "", false
		}
		hash := sha256.Sum256([]byte(tok))
		if s.writeToken != "" {
			legacy := sha256.Sum256([]byte(s.writeToken))
			if subtle.ConstantTimeCompare(hash[:], legacy[:]) == 1 {
				return credentialKey(legacyIdentity), true
			}
		}
		if t, ok := s.auth.peekToken(hash); ok {
			return "t:" + strconv.FormatInt(t, 10), true
		}
		return "", false
	}
	if ck, err := r.Cookie(sessionCookie); err == nil && ck.Value != "" {
		if t, ok := s.auth.peekSession(sha256.Sum256([]byte(ck.Value))); ok {
			return "t:" + strconv.FormatInt(t, 10), true
		}
	}
	return "", false
}

func cutBearer(h string) (string, bool) {
	const p = "Bearer "
	if len(h) <= len(p) || h[:len(p)] != p {
		return "", false
	}
	return h[len(p):], true
}

// peekToken returns the id of the token hashed hash when its lookup is cached and
// fresh.
func (c *authCache) peekToken(hash [32]byte) (int64, bool) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.tokens[hash]
	if !ok || now.Sub(e.at) >= c.ttl {
		return 0, false
	}
	return e.t.ID, true
}

// peekSession returns the token id of the session whose id hashes to idHash when
// its lookup is cached, fresh and the session has not expired.
func (c *authCache) peekSession(idHash [32]byte) (int64, bool) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.sessions[idHash]
	if !ok || now.Sub(e.at) >= c.ttl || !now.Before(e.s.ExpiresAt) {
		return 0, false
	}
	return e.s.TokenID, true
}
