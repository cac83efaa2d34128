// Package feed keeps the in-memory index equal to the database: it loads every
// feature at start, then follows the database's change log and applies each change
// to the index — which drops the touched tiles — and hands it on to the event stream,
// in log order, each change once.
//
// Notifications (LISTEN) only wake the follower up; what it applies comes from the
// log, read by transaction snapshot (store.ChangesSince), so a lost notification
// delays a change by at most the poll interval and never loses it. When the
// connection drops, the follower keeps the index serving, reports itself degraded,
// reconnects with backoff and catches up from its last snapshot — deletes included —
// before it reports ready again; when the log no longer reaches back that far, it
// reloads everything.
package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"riskmap/feature"
	"riskmap/index"
	"riskmap/store"
)

// Source is what the follower reads: a store (store/postgis satisfies it).
type Source interface {
	index.Source
	CurrentSnapshot(ctx context.Context) (store.Snapshot, error)
	ChangesSince(ctx context.Context, since store.Snapshot, limit int) (store.ChangeBatch, error)
	Listen(ctx context.Context, listening, wake func()) error
}

// Applied is one feature's change as the follower applied it: the last log row of
// the feature in the batch, its state after the change (nil when deleted) and the
// index's record before it (nil when it was not in the index).
type Applied struct {
	Change  feature.Change
	Feature *feature.Feature
	Old     *index.Record
}

// Options configures a Follower. Zero values mean the defaults.
type Options struct {
	// Poll is how often the log is read when no notification comes (default 1 s).
	Poll time.Duration
	// MinBackoff and MaxBackoff bound the wait between reconnection attempts
	// (defaults 100 ms and 5 s; the wait doubles after each failure).
	MinBackoff, MaxBackoff time.Duration
	// CatchUpLimit: when more changes than this committed since the last snapshot,
	// reload everything instead of applying them one by one (default 200,000).
	CatchUpLimit int
	// OnApplied is called after each batch is applied to the index, with the
	// batch's changes in log order (one per feature). It runs on the follower's
	// goroutine: it must not block for long.
	OnApplied func([]Applied)
	// OnReload is called after the index was reloaded from scratch (clients must
	// reload too).
	OnReload func()
	Logger   *slog.Logger
}

// Status is the follower's state for /readyz.
type Status struct {
	// Loaded is true once the index holds the database's content.
	Loaded bool
	// Degraded lists why the index may be behind the database (empty when
	// following normally).
	Degraded []string
	// LastSeq is the highest change sequence number applied; LastApplied when.
	LastSeq     int64
	LastApplied time.Time
	// LastChange is when the newest change applied was committed (the database's
	// clock): LastApplied - LastChange is the change feed's lag.
	LastChange time.Time
}

// Follower loads the index and follows the change log. Create with New, then call
// Run (which loads first).
type Follower struct {
	src Source
	ix  *index.Index
	opt Options
	log *slog.Logger

	snap store.Snapshot // owned by the Run goroutine

	mu     sync.Mutex
	status Status
}

// New returns a follower applying src's changes to ix.
func New(src Source, ix *index.Index, opt Options) *Follower {
	if opt.Poll <= 0 {
		opt.Poll = time.Second
	}
	if opt.MinBackoff <= 0 {
		opt.MinBackoff = 100 * time.Millisecond
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 5 * time.Second
	}
	if opt.CatchUpLimit <= 0 {
		opt.CatchUpLimit = 200_000
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Follower{src: src, ix: ix, opt: opt, log: log}
}

// Status returns the current state. Safe for concurrent use.
func (f *Follower) Status() Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.status
	s.Degraded = append([]string(nil), s.Degraded...)
	return s
}

func (f *Follower) setDegraded(reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status.Degraded = []string{reason}
}

func (f *Follower) setFollowing() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status.Degraded = nil
}

// load reads everything into the index, from a snapshot taken first: changes
// committed during the load are applied again afterwards (harmless: the index takes
// the state read then).
func (f *Follower) load(ctx context.Context) error {
	snap, err := f.src.CurrentSnapshot(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	err = f.ix.Load(ctx, f.src, func(p index.LoadProgress) {
		if p.Done {
			f.log.Info("index: layer loaded", "layer", p.Layer, "features", p.Loaded, "took", p.Elapsed.Round(time.Millisecond))
		} else {
			f.log.Info("index: loading", "layer", p.Layer, "features", p.Loaded)
		}
	})
	if err != nil {
		return err
	}
	f.log.Info("index: loaded", "took", time.Since(start).Round(time.Millisecond))
	f.snap = snap
	f.mu.Lock()
	f.status.Loaded = true
	f.mu.Unlock()
	return nil
}

// Run follows the change log until ctx ends, reconnecting with backoff whenever the
// connection fails; it loads the index first when that was not done. It returns nil
// when ctx ends, or the first error that is not the database being unavailable
// (schema mismatch, a failed load of bad data).
func (f *Follower) Run(ctx context.Context) error {
	backoff := f.opt.MinBackoff
	f.setDegraded("change feed: connecting")
	for ctx.Err() == nil {
		var err error
		if !f.Status().Loaded {
			if err = f.load(ctx); err == nil {
				backoff = f.opt.MinBackoff
			}
		}
		if err == nil {
			err = f.session(ctx, func() { backoff = f.opt.MinBackoff })
		}
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(err, store.ErrUnavailable) {
			return fmt.Errorf("feed: %w", err)
		}
		f.setDegraded(fmt.Sprintf("database unreachable, retrying every ≤%v: %v", f.opt.MaxBackoff, err))
		f.log.Warn("feed: database unreachable; serving from memory and retrying", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, f.opt.MaxBackoff)
	}
	return nil
}

// session listens, catches up, then applies changes on every wake-up or poll tick,
// until the connection fails (error) or ctx ends (nil). connected is called once the
// follower has caught up.
func (f *Follower) session(ctx context.Context, connected func()) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wake := make(chan struct{}, 1)
	listening := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- f.src.Listen(sctx, func() { close(listening) }, func() {
			select {
			case wake <- struct{}{}:
			default:
			}
		})
	}()
	select {
	case <-listening:
	case err := <-errc:
		return listenerStopped(err)
	case <-ctx.Done():
		return nil
	}
	// Listening: nothing committed from now on goes unnoticed. Catch up.
	if err := f.poll(sctx); err != nil {
		return err
	}
	f.setFollowing()
	connected()
	f.log.Info("feed: following the change log", "last_seq", f.Status().LastSeq)
	tick := time.NewTicker(f.opt.Poll)
	defer tick.Stop()
	for {
		select {
		case <-wake:
		case <-tick.C:
		case err := <-errc:
			return listenerStopped(err)
		case <-ctx.Done():
			return nil
		}
		if err := f.poll(sctx); err != nil {
			return err
		}
	}
}

// listenerStopped is the session's error when the listener returned err (nil when
// it stopped without one, which only a cancelled session expects).
func listenerStopped(err error) error {
	if err == nil {
		return fmt.Errorf("%w: listener stopped", store.ErrUnavailable)
	}
	return err
}

// poll reads what committed since the last snapshot and applies it.
func (f *Follower) poll(ctx context.Context) error {
	b, err := f.src.ChangesSince(ctx, f.snap, f.opt.CatchUpLimit)
	if errors.Is(err, store.ErrLogTruncated) {
		f.log.Warn("feed: the change log does not reach back to the last snapshot; reloading everything", "err", err)
		if err := f.load(ctx); err != nil {
			return err
		}
		if f.opt.OnReload != nil {
			f.opt.OnReload()
		}
		return nil
	}
	if err != nil {
		return err
	}
	if len(b.Changes) > 0 {
		f.apply(b)
	}
	f.snap = b.Next
	return nil
}

// apply applies a batch: one mutation per changed feature (its state as of the
// batch's snapshot, or a delete), in the order of each feature's last change.
func (f *Follower) apply(b store.ChangeBatch) {
	last := map[store.FeatureKey]int{}
	for i, c := range b.Changes {
		last[store.FeatureKey{Layer: c.Layer, ID: c.ID}] = i
	}
	applied := make([]Applied, 0, len(last))
	muts := make([]index.Mutation, 0, len(last))
	maxSeq, newest := int64(0), time.Time{}
	for i, c := range b.Changes {
		maxSeq = max(maxSeq, c.Seq)
		if c.Time.After(newest) {
			newest = c.Time
		}
		k := store.FeatureKey{Layer: c.Layer, ID: c.ID}
		if last[k] != i {
			continue
		}
		old, _, err := f.ix.Get(c.Layer, c.ID)
		if err != nil {
			continue // a layer the registry does not know
		}
		a := Applied{Change: c, Old: old}
		if ft, ok := b.Features[k]; ok {
			a.Feature = &ft
			muts = append(muts, index.Mutation{Op: feature.Update, Feature: ft})
		} else {
			a.Change.Op = feature.Delete
			muts = append(muts, index.Mutation{Op: feature.Delete, Feature: feature.Feature{Layer: c.Layer, ID: c.ID}})
		}
		applied = append(applied, a)
	}
	if _, err := f.ix.Apply(muts...); err != nil {
		// One bad row must not hold the others back: apply them one by one.
		f.log.Error("feed: a batch did not apply; applying its changes one by one", "err", err)
		kept := applied[:0]
		for i, m := range muts {
			if _, err := f.ix.Apply(m); err != nil {
				f.log.Error("feed: change not applied", "layer", m.Feature.Layer, "id", m.Feature.ID, "err", err)
				continue
			}
			kept = append(kept, applied[i])
		}
		applied = kept
	}
	f.mu.Lock()
	f.status.LastSeq = max(f.status.LastSeq, maxSeq)
	f.status.LastApplied = time.Now()
	if newest.After(f.status.LastChange) {
		f.status.LastChange = newest
	}
	f.mu.Unlock()
	if f.opt.OnApplied != nil && len(applied) > 0 {
		f.opt.OnApplied(applied)
	}
}

// Ready reports whether the index is loaded and why it may be behind (for
// httpapi.Readiness).
func (f *Follower) Ready() (bool, []string) {
	s := f.Status()
	return s.Loaded, s.Degraded
}
