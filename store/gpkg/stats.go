package gpkg

import "database/sql"

// WriterStats and ReaderStats are the state of the store's two connection pools
// (the one writer connection, the read-only connections), for the metrics.
func (s *Store) WriterStats() sql.DBStats { return s.w.Stats() }

// ReaderStats: see WriterStats.
func (s *Store) ReaderStats() sql.DBStats { return s.r.Stats() }
