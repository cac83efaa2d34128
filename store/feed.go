package store

import (
	"errors"

	"riskmap/feature"
)

// ErrLogTruncated: the change log no longer reaches back to the given snapshot (it
// was pruned), or holds more changes since then than a catch-up may read. The
// follower must reload everything instead.
var ErrLogTruncated = errors.New("change log does not reach back that far")

// Snapshot marks a point in the store's commit history: every change committed
// before it has been seen. Opaque to callers; the empty Snapshot is "nothing seen".
type Snapshot string

// FeatureKey identifies a feature across layers.
type FeatureKey struct {
	Layer string
	ID    int64
}

// ChangeBatch is what committed between two snapshots: the change log rows in order,
// and the state of every changed feature as of Next (absent from Features: deleted
// by then). Reading both at one snapshot keeps them consistent.
type ChangeBatch struct {
	Changes  []feature.Change
	Features map[FeatureKey]feature.Feature
	Next     Snapshot
}
