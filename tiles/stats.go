package tiles

import "sort"

// LayerStats are the cache's counters of one layer since the cache was made, and
// what it holds of that layer now.
type LayerStats struct {
	Layer string
	// Hits and Misses count Get calls for the layer's tiles that found a cached
	// tile and that did not.
	Hits, Misses int64
	// Entries and Bytes are the layer's cached tiles and their bytes now (raw and
	// compressed, with the per-entry overhead the cache charges).
	Entries int
	Bytes   int64
}

// layerCounts are one layer's counters, guarded by the cache's lock.
type layerCounts struct {
	hits, misses int64
}

// countLayer counts a Get of layer. Called with c.mu held.
func (c *Cache) countLayer(layer string, hit bool) {
	if c.perLayer == nil {
		c.perLayer = map[string]*layerCounts{}
	}
	lc := c.perLayer[layer]
	if lc == nil {
		lc = &layerCounts{}
		c.perLayer[layer] = lc
	}
	if hit {
		lc.hits++
	} else {
		lc.misses++
	}
}

// LayerStats returns the counters and the current size of every layer the cache
// has been asked for, by layer name.
func (c *Cache) LayerStats() []LayerStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]LayerStats, 0, len(c.perLayer))
	for name, lc := range c.perLayer {
		ls := LayerStats{Layer: name, Hits: lc.hits, Misses: lc.misses, Entries: len(c.byLayer[name])}
		for e := range c.byLayer[name] {
			ls.Bytes += e.charged
		}
		out = append(out, ls)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Layer < out[j].Layer })
	return out
}
