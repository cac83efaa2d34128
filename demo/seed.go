package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/sensors"
	"riskmap/store"
)

// Sink is what seeding needs of a store.
type Sink interface {
	Count(ctx context.Context, layer string) (int64, error)
	DeleteAll(ctx context.Context, opts store.WriteOptions) error
	BulkLoad(ctx context.Context, layer string, fs []feature.Feature, opts store.WriteOptions, progress func(done int)) error
	BulkLoadSensors(ctx context.Context, sensors []feature.Sensor) error
	BulkLoadReadings(ctx context.Context, rs []sensors.Reading, progress func(done int)) error
}

// ErrNotEmpty is returned by Seed when the store already holds features and neither
// Replace nor IfEmpty was asked for.
var ErrNotEmpty = errors.New("store already holds features")

// SeedOptions control Seed.
type SeedOptions struct {
	// Replace deletes every existing feature first (logged deletes, not TRUNCATE).
	Replace bool
	// IfEmpty makes Seed do nothing, successfully, when the store has features.
	IfEmpty bool
	// Progress receives human-readable progress lines; nil for silence.
	Progress io.Writer
	// History is how much reading history (History: calm weather, real readings)
	// to write for the sensors, ending at Now: 0 means DefaultHistory (6 h), a
	// negative value none.
	History time.Duration
	// Now is when the history ends; the zero value means the time of seeding.
	Now time.Time
}

// SeedResult says what Seed did.
type SeedResult struct {
	Skipped  bool           // IfEmpty and the store had data
	Existing int64          // features found before seeding
	Written  map[string]int // features written per layer
	Sensors  int
	Readings int // history readings written
	Elapsed  time.Duration
}

// Seed writes ds into dst, layer by layer in registry order, then the sensors and
// their reading history (SeedOptions.History), reporting progress.
func Seed(ctx context.Context, dst Sink, reg *layers.Registry, ds *Dataset, opts SeedOptions) (SeedResult, error) {
	start := time.Now()
	res := SeedResult{Written: map[string]int{}}
	say := func(format string, args ...any) {
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, format+"\n", args...)
		}
	}
	for _, l := range reg.Layers() {
		n, err := dst.Count(ctx, l.Name)
		if err != nil {
			return res, err
		}
		res.Existing += n
	}
	if res.Existing > 0 {
		switch {
		case opts.IfEmpty:
			res.Skipped = true
			say("store already holds %d features: not seeding (use --replace to start again)", res.Existing)
			return res, nil
		case !opts.Replace:
			return res, fmt.Errorf("demo: %w (%d features); use --replace to delete them first, or --if-empty", ErrNotEmpty, res.Existing)
		}
		say("deleting %d existing features...", res.Existing)
		if err := dst.DeleteAll(ctx, store.WriteOptions{Actor: "seed", Note: "seed --demo --replace"}); err != nil {
			return res, err
		}
	}
	opt := store.WriteOptions{Actor: "seed", Note: "demo dataset"}
	for _, l := range reg.Layers() {
		fs := ds.Features[l.Name]
		layerStart := time.Now()
		err := dst.BulkLoad(ctx, l.Name, fs, opt, func(done int) {
			say("  %-20s %6d / %-6d (%3.0f%%)", l.Name, done, len(fs), 100*float64(done)/float64(max(len(fs), 1)))
		})
		if err != nil {
			return res, err
		}
		res.Written[l.Name] = len(fs)
		say("%-22s %6d features in %v", l.Name, len(fs), time.Since(layerStart).Round(time.Millisecond))
	}
	if err := dst.BulkLoadSensors(ctx, ds.Sensors); err != nil {
		return res, err
	}
	res.Sensors = len(ds.Sensors)
	say("%-22s %6d", "sensors", len(ds.Sensors))
	if err := seedHistory(ctx, dst, ds, opts, &res, say); err != nil {
		return res, err
	}
	res.Elapsed = time.Since(start)
	say("seeded %d features, %d sensors and %d readings in %v", ds.Total(), len(ds.Sensors), res.Readings, res.Elapsed.Round(time.Millisecond))
	return res, nil
}

// seedHistory writes the sensors' reading history (History) ending at opts.Now.
func seedHistory(ctx context.Context, dst Sink, ds *Dataset, opts SeedOptions, res *SeedResult, say func(string, ...any)) error {
	span := opts.History
	if span == 0 {
		span = DefaultHistory
	}
	if span < 0 || len(ds.Sensors) == 0 {
		return nil
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	histStart := time.Now()
	rs, err := History(ds, now, span, ds.Seed)
	if err != nil {
		return err
	}
	err = dst.BulkLoadReadings(ctx, rs, func(done int) {
		say("  %-20s %6d / %-6d (%3.0f%%)", "readings", done, len(rs), 100*float64(done)/float64(max(len(rs), 1)))
	})
	if err != nil {
		return err
	}
	res.Readings = len(rs)
	say("%-22s %6d over the last %v in %v", "readings", len(rs), span, time.Since(histStart).Round(time.Millisecond))
	return nil
}
