package postgis

import (
	"testing"

	"riskmap/store/storetest"
)

// TestConformance runs the store contract (package storetest) on PostGIS, each
// subtest on a fresh database.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s, _ := newStore(t, true)
		return s
	})
}
