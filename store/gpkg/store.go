// Package gpkg is riskmap's embedded store: the whole of riskmap on one OGC GeoPackage
// 1.3 file (SQLite through the pure-Go driver modernc.org/sqlite), no database server
// needed. It keeps the same contract as store/postgis — features with versions and a
// change log, bulk loads, the change feed, sensors, readings, alerts and signals —
// so everything above the store works the same on either.
//
// One process owns the file: Open takes an exclusive lock on "<file>.lock" and a
// second process refuses to start. There is no LISTEN/NOTIFY: the change feed and the
// alert/signal relay are woken in-process by the store after each commit. Writes go
// through one connection (BEGIN IMMEDIATE), so the change log's order is the commit
// order; reads use a pool of read-only connections that see committed snapshots (WAL).
// Durability: journal_mode=WAL with synchronous=FULL — a commit returns once the WAL is
// fsync'd, so an acknowledged write survives a crash or power cut.
//
// The feature tables are GeoPackage feature tables (geometry column "geom", GeoPackage
// binary geometries in EPSG:4326) registered in gpkg_contents, so QGIS and GDAL open
// the file as is. Edits made with those tools bypass the change log: make edits
// through riskmap.
package gpkg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/paulmach/orb"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"riskmap/layers"
	"riskmap/store"
	"riskmap/store/geomconv"
)

// ErrLocked: another process holds the file.
var ErrLocked = errors.New("the GeoPackage is in use by another riskmap process")

// GeoPackage identification (OGC 12-128r18, clause 1.1.1.1.1).
const (
	applicationID = 0x47504B47 // "GPKG"
	userVersion   = 10300      // GeoPackage 1.3.0
)

// Store is the GeoPackage store. It is safe for concurrent use. Close releases the
// file.
type Store struct {
	reg  *layers.Registry
	path string
	w    *sql.DB // the one writer connection
	r    *sql.DB // read-only connections
	lock *os.File

	changes notifier // wakes change-feed listeners after each commit with changes
	events  eventBus // alerts, acknowledgements and signals, to ListenEvents
	now     func() time.Time
}

// Open opens the GeoPackage at path, creating an empty file (no schema: call Migrate)
// when there is none. It fails with an error wrapping ErrLocked when another process
// has the file open.
func Open(ctx context.Context, path string, reg *layers.Registry) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("gpkg: %s: %w", path, err)
	}
	lock, err := lockFile(abs)
	if err != nil {
		return nil, err
	}
	s := &Store{reg: reg, path: abs, lock: lock, now: time.Now}
	s.w, err = sql.Open("sqlite", dsn(abs, false))
	if err == nil {
		s.r, err = sql.Open("sqlite", dsn(abs, true))
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("gpkg: open %s: %w", abs, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetConnMaxIdleTime(0)
	s.r.SetMaxOpenConns(8)
	// WAL mode is a property of the file: set it on the writer first, so the
	// readers find it.
	if err := s.w.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("gpkg: open %s: %w", abs, classify(err))
	}
	return s, nil
}

// dsn is the driver's data source name for the file: WAL, synchronous=FULL (a commit
// is durable when it returns), foreign keys on, a busy timeout; the writer takes the
// write lock when a transaction begins (BEGIN IMMEDIATE), readers are query-only.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// lockFile takes an exclusive advisory lock on path+".lock" and writes this
// process's id into it. The lock goes with the process, however it ends.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("gpkg: lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path + ".lock")
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid := strings.TrimSpace(string(holder))
			if pid == "" {
				pid = "unknown"
			}
			return nil, fmt.Errorf("gpkg: %s: %w (pid %s); stop it first, or give this one another file", path, ErrLocked, pid)
		}
		return nil, fmt.Errorf("gpkg: lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// Close closes the connections and releases the file.
func (s *Store) Close() {
	if s.r != nil {
		s.r.Close()
	}
	if s.w != nil {
		s.w.Close()
	}
	if s.lock != nil {
		_ = syscall.Flock(int(s.lock.Fd()), syscall.LOCK_UN)
		s.lock.Close()
	}
}

// Path is the GeoPackage file's absolute path.
func (s *Store) Path() string { return s.path }

// Registry returns the layer registry the store was opened with.
func (s *Store) Registry() *layers.Registry { return s.reg }

// Ping checks that the file can be read.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("gpkg: %w", classify(err))
	}
	return nil
}

// Count returns the number of features in a layer.
func (s *Store) Count(ctx context.Context, layer string) (int64, error) {
	l, err := s.reg.Layer(layer)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM "+ident(l.Name)).Scan(&n); err != nil {
		return 0, fmt.Errorf("gpkg: count %s: %w", l.Name, classify(err))
	}
	return n, nil
}

// ident quotes an identifier. Identifiers come only from the layer registry.
func ident(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// classify marks errors that mean the file cannot be used right now (busy beyond the
// timeout, I/O error, disk full, closed) with store.ErrUnavailable.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL,
			sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY:
			return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
	}
	if errors.Is(err, sql.ErrConnDone) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// tsLayout is the form of the times in riskmap's own tables that GDAL does not read
// (alerts, signals, the schema table): ISO 8601, UTC, microseconds.
const tsLayout = "2006-01-02T15:04:05.000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(tsLayout) }

// datetimeLayout is the form the GeoPackage standard (OGC 12-128r18, table 1) gives a
// DATETIME: ISO 8601 "YYYY-MM-DDTHH:MM:SS.SSSZ", UTC, milliseconds. GDAL warns
// ("Non-conformant content") about any other form, microseconds included, so the
// columns of the tables GDAL and QGIS read — the layers' updated_at, the change log and
// the status history, gpkg_contents.last_change — hold this form.
const datetimeLayout = "2006-01-02T15:04:05.000Z"

func formatDatetime(t time.Time) string { return t.UTC().Format(datetimeLayout) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("gpkg: timestamp %q: %w", s, err)
	}
	return t, nil
}

// notifier wakes every registered listener; wake functions must not block.
type notifier struct {
	mu   sync.Mutex
	next int
	subs map[int]func()
}

func (n *notifier) add(fn func()) (remove func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.subs == nil {
		n.subs = map[int]func(){}
	}
	id := n.next
	n.next++
	n.subs[id] = fn
	return func() {
		n.mu.Lock()
		delete(n.subs, id)
		n.mu.Unlock()
	}
}

func (n *notifier) wake() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, fn := range n.subs {
		fn()
	}
}

// eventBus delivers (type, id) events to listeners in commit order.
type eventBus struct {
	// order is held from just before a commit that makes events until they are
	// published, so that a later commit's events cannot overtake them.
	order sync.Mutex
	mu    sync.Mutex
	next  int
	subs  map[int]func(typ string, id int64)
}

func (b *eventBus) add(fn func(typ string, id int64)) (remove func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs == nil {
		b.subs = map[int]func(string, int64){}
	}
	id := b.next
	b.next++
	b.subs[id] = fn
	return func() {
		b.mu.Lock()
		delete(b.subs, id)
		b.mu.Unlock()
	}
}

// commit runs commit (a write transaction's Commit) and, when it succeeds,
// publishes evs. Write transactions run one at a time on the writer connection, and
// the next one can commit only once this one has published: events reach listeners
// in commit order.
func (b *eventBus) commit(commit func() error, evs []event) error {
	b.order.Lock()
	defer b.order.Unlock()
	if err := commit(); err != nil {
		return err
	}
	b.publish(evs...)
	return nil
}

// publish calls every listener with each event, in order. Called after the commit
// that made them, by the writer; listeners must not block.
func (b *eventBus) publish(evs ...event) {
	if len(evs) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range evs {
		for _, fn := range b.subs {
			fn(e.typ, e.id)
		}
	}
}

// event is one alert ("alert", "alert_ack") or signal ("signal") event: its type and
// row id.
type event struct {
	typ string
	id  int64
}

// decodeBound is the bounds of a stored GeoPackage geometry.
func decodeBound(b []byte) (orb.Bound, error) {
	g, err := geomconv.DecodeGPKG(b)
	if err != nil {
		return orb.Bound{}, err
	}
	return g.Bound(), nil
}
