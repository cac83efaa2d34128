package tiles_test

import (
	"sync"
	"testing"

	"riskmap/demo"
	"riskmap/feature"
	"riskmap/index"
	"riskmap/layers"
)

// demoIndex is the demo dataset (seed demo.DefaultDemoSeed) in an index, built once
// per test binary. Tests must not Apply to it; they build their own for changes.
var (
	demoOnce sync.Once
	demoIx   *index.Index
	demoDS   *demo.Dataset
	demoErr  error
)

func demoIndex(t testing.TB) (*index.Index, *demo.Dataset) {
	t.Helper()
	demoOnce.Do(func() {
		demoDS, demoErr = demo.Generate(demo.DefaultDemoSeed)
		if demoErr != nil {
			return
		}
		demoIx, demoErr = loadIndex(demoDS)
	})
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	return demoIx, demoDS
}

func loadIndex(ds *demo.Dataset) (*index.Index, error) {
	ix := index.New(layers.New())
	var ms []index.Mutation
	for _, fs := range ds.Features {
		for _, f := range fs {
			ms = append(ms, index.Mutation{Op: feature.Insert, Feature: f})
		}
	}
	_, err := ix.Apply(ms...)
	return ix, err
}
