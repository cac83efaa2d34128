package gpkg_test

import (
	"testing"

	"riskmap/store/storetest"
)

// TestConformance runs the store contract (package storetest) on the GeoPackage
// store, each subtest on a new file.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s, _ := open(t)
		return s
	})
}
