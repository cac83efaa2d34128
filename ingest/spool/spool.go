// Package spool is the ingest service's on-disk queue of readings that were
// acknowledged to a sender (an MQTT broker) while the database could not take
// them: each batch is one segment file, written whole and fsync'd (file, then
// directory) before Append returns, and deleted only after Drain has handed it to
// a consumer that stored it. A reading in the spool survives a crash or power loss
// of the host; a segment that was being written when the process died is a
// temporary file and is ignored (Append had not returned, so nothing was
// acknowledged).
//
// Segment format (little-endian): magic "RMSPOOL1", count uint32, count records of
// 25 bytes (sensor id int64, time Unix ns int64, value float64 bits, drill byte),
// CRC-32 (Castagnoli) of everything before it.
package spool

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"riskmap/sensors"
)

const (
	magic      = "RMSPOOL1"
	recordSize = 25
	suffix     = ".seg"
	// MaxSegment bounds the readings of one segment (and what Decode accepts).
	MaxSegment = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt: a segment is not a whole, valid segment.
var ErrCorrupt = errors.New("spool: corrupt segment")

// Spool is a directory of segments. Safe for concurrent use.
type Spool struct {
	dir string

	mu   sync.Mutex // serializes Append's sequence numbers and Drain
	next uint64
}

// Open opens (creating it) the spool directory and removes leftover temporary
// files of interrupted appends.
func Open(dir string) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{dir: dir}
	names, err := s.segments()
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if seq, ok := seqOf(n); ok && seq >= s.next {
			s.next = seq + 1
		}
	}
	tmps, _ := filepath.Glob(filepath.Join(dir, "*.tmp"))
	for _, t := range tmps {
		_ = os.Remove(t)
	}
	return s, nil
}

// Dir is the spool's directory.
func (s *Spool) Dir() string { return s.dir }

func seqOf(name string) (uint64, bool) {
	n, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(name), suffix), 10, 64)
	return n, err == nil
}

// segments lists the segment files in order.
func (s *Spool) segments() ([]string, error) {
	names, err := filepath.Glob(filepath.Join(s.dir, "*"+suffix))
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	slices.SortFunc(names, func(a, b string) int {
		x, _ := seqOf(a)
		y, _ := seqOf(b)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	return names, nil
}

// Len is the number of segments waiting.
func (s *Spool) Len() int {
	names, _ := s.segments()
	return len(names)
}

// Encode returns the segment bytes of rs.
func Encode(rs []sensors.Reading) []byte {
	b := make([]byte, 0, len(magic)+4+len(rs)*recordSize+4)
	b = append(b, magic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(rs)))
	for _, r := range rs {
		b = binary.LittleEndian.AppendUint64(b, uint64(r.SensorID))
		b = binary.LittleEndian.AppendUint64(b, uint64(r.Time.UnixNano()))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.Value))
		var d byte
		if r.Drill {
			d = 1
		}
		b = append(b, d)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// Decode parses a segment; an error wraps ErrCorrupt.
func Decode(b []byte) ([]sensors.Reading, error) {
	if len(b) < len(magic)+8 || string(b[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: no header", ErrCorrupt)
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	n := binary.LittleEndian.Uint32(body[len(magic):])
	recs := body[len(magic)+4:]
	if n > MaxSegment || uint64(len(recs)) != uint64(n)*recordSize {
		return nil, fmt.Errorf("%w: %d records announced, %d bytes of records", ErrCorrupt, n, len(recs))
	}
	out := make([]sensors.Reading, n)
	for i := range out {
		r := recs[i*recordSize:]
		out[i] = sensors.Reading{
			SensorID: int64(binary.LittleEndian.Uint64(r)),
			Time:     time.Unix(0, int64(binary.LittleEndian.Uint64(r[8:]))).UTC(),
			Value:    math.Float64frombits(binary.LittleEndian.Uint64(r[16:])),
			Drill:    r[24] != 0,
		}
		if r[24] > 1 {
			return nil, fmt.Errorf("%w: record %d: drill byte %d", ErrCorrupt, i, r[24])
		}
	}
	return out, nil
}

// Append writes rs as one segment, durably: when it returns nil the readings are
// on disk (file and directory entry fsync'd).
func (s *Spool) Append(rs []sensors.Reading) error {
	if len(rs) == 0 {
		return nil
	}
	if len(rs) > MaxSegment {
		return fmt.Errorf("spool: %d readings in one segment (max %d)", len(rs), MaxSegment)
	}
	s.mu.Lock()
	seq := s.next
	s.next++
	s.mu.Unlock()
	final := filepath.Join(s.dir, fmt.Sprintf("%020d%s", seq, suffix))
	tmp := final + ".tmp"
	if err := writeSync(tmp, Encode(rs)); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("spool: %w", err)
	}
	return syncDir(s.dir)
}

func writeSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("spool: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("spool: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("spool: sync dir: %w", err)
	}
	return nil
}

// Drain hands every segment, oldest first, to store and deletes each that store
// took (returned nil). It stops at the first store error, which it returns with
// the number of readings drained so far; the failed segment stays. A corrupt
// segment is renamed *.bad (kept for inspection, never retried) and reported in
// the error after the other segments are drained.
func (s *Spool) Drain(ctx context.Context, store func(context.Context, []sensors.Reading) error) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names, err := s.segments()
	if err != nil {
		return 0, err
	}
	n := 0
	var bad error
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return n, fmt.Errorf("spool: %w", err)
		}
		rs, err := Decode(b)
		if err != nil {
			_ = os.Rename(name, strings.TrimSuffix(name, suffix)+".bad")
			bad = errors.Join(bad, fmt.Errorf("%s: %w", filepath.Base(name), err))
			continue
		}
		if err := store(ctx, rs); err != nil {
			return n, err
		}
		if err := os.Remove(name); err != nil {
			return n, fmt.Errorf("spool: %w", err)
		}
		n += len(rs)
	}
	if n > 0 {
		if err := syncDir(s.dir); err != nil {
			return n, err
		}
	}
	return n, bad
}
