package spool

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"riskmap/sensors"
)

func readings(n int, base int64) []sensors.Reading {
	t0 := time.Date(2026, 9, 1, 8, 0, 0, 123, time.UTC)
	out := make([]sensors.Reading, n)
	for i := range out {
		out[i] = sensors.Reading{SensorID: base + int64(i%7), Time: t0.Add(time.Duration(i) * time.Second),
			Value: float64(i) * 0.25, Drill: i%3 == 0}
	}
	return out
}

func TestEncodeDecode(t *testing.T) {
	for _, n := range []int{0, 1, 2, 1000} {
		rs := readings(n, 1)
		got, err := Decode(Encode(rs))
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if len(got) != n || (n > 0 && !reflect.DeepEqual(got, rs)) {
			t.Fatalf("n=%d: round trip differs", n)
		}
	}
}

func TestDecodeRejectsDamage(t *testing.T) {
	good := Encode(readings(10, 1))
	cases := map[string][]byte{
		"empty":     nil,
		"truncated": good[:len(good)-5],
		"bit flip":  func() []byte { b := append([]byte(nil), good...); b[20] ^= 1; return b }(),
		"bad magic": append([]byte("XXXXXXXX"), good[8:]...),
	}
	for name, b := range cases {
		if _, err := Decode(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
}

func TestAppendDrain(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := readings(3, 1), readings(5, 10), readings(2, 20)
	for _, rs := range [][]sensors.Reading{a, b, c} {
		if err := s.Append(rs); err != nil {
			t.Fatal(err)
		}
	}
	// An append interrupted by a crash leaves a temporary file: never drained.
	if err := os.WriteFile(filepath.Join(dir, "00000000000000000099.seg.tmp"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 3 {
		t.Fatalf("Len = %d, want 3", s.Len())
	}
	// A store failing on the second segment keeps it and everything after it.
	calls := 0
	boom := errors.New("database down")
	n, err := s.Drain(context.Background(), func(_ context.Context, rs []sensors.Reading) error {
		calls++
		if calls == 2 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != 3 || s.Len() != 2 {
		t.Fatalf("Drain = %d, %v; Len %d; want 3, boom, 2", n, err, s.Len())
	}
	// Reopening (a restart) keeps the order and removes the temporary file.
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "00000000000000000099.seg.tmp")); !os.IsNotExist(err) {
		t.Errorf("temporary file not removed: %v", err)
	}
	if err := s2.Append(readings(1, 30)); err != nil {
		t.Fatal(err)
	}
	var got [][]sensors.Reading
	n, err = s2.Drain(context.Background(), func(_ context.Context, rs []sensors.Reading) error {
		got = append(got, rs)
		return nil
	})
	if err != nil || n != 8 || s2.Len() != 0 {
		t.Fatalf("Drain = %d, %v; Len %d", n, err, s2.Len())
	}
	want := [][]sensors.Reading{b, c, readings(1, 30)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("drained %v, want %v", got, want)
	}
}

func TestDrainSetsCorruptAside(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(readings(2, 1)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "00000000000000000000.seg"), []byte("RMSPOOL1garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(readings(4, 1)); err != nil {
		t.Fatal(err)
	}
	n, err := s.Drain(context.Background(), func(context.Context, []sensors.Reading) error { return nil })
	if !errors.Is(err, ErrCorrupt) || n != 4 {
		t.Fatalf("Drain = %d, %v; want 4 drained and ErrCorrupt", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "00000000000000000000.bad")); err != nil {
		t.Errorf("corrupt segment not kept aside: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(readings(3, 1)))
	f.Add([]byte("RMSPOOL1\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := Decode(b)
		if err != nil {
			return
		}
		again, err := Decode(Encode(rs))
		if err != nil || len(again) != len(rs) {
			t.Fatalf("valid segment does not round-trip: %v", err)
		}
	})
}
