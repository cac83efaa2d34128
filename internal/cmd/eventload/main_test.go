package main

import (
	"testing"
	"time"
)

// TestPayloadTime: the benchmark's quick reader of the payload's time agrees with
// time.Parse.
func TestPayloadTime(t *testing.T) {
	for _, s := range []string{"2026-11-29T09:19:24.123456789Z", "2026-01-02T03:04:05.1Z", "2026-12-31T23:59:59Z", "2026-06-01T00:30:00.1234Z"} {
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		line := []byte(`data: {"seq":1,"layer":"slopes","id":2,"version":3,"op":"update","time":"` + s + `","properties":{}}` + "\n")
		got, ok := payloadTime(line)
		if !ok || !got.Equal(want) {
			t.Errorf("%s: %v %v", s, got, ok)
		}
	}
	if _, ok := payloadTime([]byte(`data: {"seq":1}` + "\n")); ok {
		t.Error("no time: ok")
	}
}
