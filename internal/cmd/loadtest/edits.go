package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
)

// editTarget is a risk point the edits change, with the ETag it was last seen at.
type editTarget struct {
	mu   sync.Mutex
	id   int64
	etag string
}

// editTargets finds n risk points near the middle of the built-up area and reads
// their ETags.
func (e *env) editTargets(ctx context.Context, n int) ([]*editTarget, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		e.base+"/api/v1/nearby?lon=114.125&lat=22.55&layers=risk_points&k="+strconv.Itoa(n), nil)
	if err != nil {
		return nil, err
	}
	_, body, err := do(e.plain, req)
	if err != nil {
		return nil, err
	}
	var fc struct {
		Features []struct {
			ID int64 `json:"id"`
		} `json:"features"`
	}
	if err := json.Unmarshal(body, &fc); err != nil {
		return nil, fmt.Errorf("nearby risk points: %w", err)
	}
	if len(fc.Features) == 0 {
		return nil, fmt.Errorf("no risk points near the centre: is the demo data loaded?")
	}
	var out []*editTarget
	for _, f := range fc.Features {
		t := &editTarget{id: f.ID}
		if err := e.refreshETag(ctx, t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// refreshETag reads t's current ETag.
func (e *env) refreshETag(ctx context.Context, t *editTarget) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.base+"/api/v1/features/risk_points/"+strconv.FormatInt(t.id, 10), nil)
	if err != nil {
		return err
	}
	resp, _, err := do(e.plain, req)
	if err != nil {
		return err
	}
	t.etag = resp.Header.Get("ETag")
	if t.etag == "" {
		return fmt.Errorf("risk point %d: no ETag", t.id)
	}
	return nil
}

// edit PATCHes one property (measures) of t with If-Match, as an editor, and keeps
// the new ETag. A 412 (someone else edited it) is an error, after which the ETag is
// read again.
func (e *env) edit(t *editTarget, n int64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	body, _ := json.Marshal(map[string]any{"type": "Feature", "properties": map[string]any{
		"measures": fmt.Sprintf("落实巡查（负载测试 loadtest edit %d）", n)}, "note": "loadtest"})
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, e.base+"/api/v1/features/risk_points/"+strconv.FormatInt(t.id, 10), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+e.editorToken)
	req.Header.Set("Content-Type", "application/geo+json")
	req.Header.Set("If-Match", t.etag)
	resp, _, err := do(e.plain, req)
	if err != nil {
		_ = e.refreshETag(ctx, t)
		return err
	}
	t.etag = resp.Header.Get("ETag")
	if t.etag == "" {
		return fmt.Errorf("PATCH risk point %d: no ETag in the answer", t.id)
	}
	return nil
}
