package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"riskmap/layers"
	"riskmap/sensors"
	"riskmap/store"
)

// AuditedStore is what the change-audit test needs: the sensor half (alerts,
// signals), tokens and the audit log.
type AuditedStore interface {
	SensorStore
	TokenStore
	EditStore
}

// testChangeAudit: the changes that are not feature edits — an alert acknowledged, a
// signal set, a token made and revoked — each write an audit row in their own
// transaction, with the actor the request carries (store.WithActor) or, without one,
// the name given; a refused change (a second acknowledgement, revoking twice) writes
// none.
func testChangeAudit(t *testing.T, s Store) {
	as, ok := s.(AuditedStore)
	if !ok {
		t.Fatalf("%T lacks the sensor, token or edit half of the contract", s)
	}
	ctx := ctxFor(t)
	seedSensors(t, as)
	editor := store.Actor{Name: "值班员 editor", TokenID: 42}
	actx := store.WithActor(ctx, editor)

	stored, err := as.ApplySensorState(ctx, nil, []sensors.Alert{
		alertOf(layers.WaterloggingSpots, 1, 3, sensors.None, sensors.Orange, time.Minute, false)})
	if err != nil {
		t.Fatal(err)
	}
	alert := stored[0]
	if _, err := as.AckAlert(actx, alert.ID, "张三", "已派人"); err != nil {
		t.Fatal(err)
	}
	if _, err := as.AckAlert(actx, alert.ID, "张三", "again"); err == nil {
		t.Fatal("a second acknowledgement was accepted")
	}
	if _, err := as.SetSignal(actx, "typhoon", "orange", "李四", "八号风球"); err != nil {
		t.Fatal(err)
	}
	if _, err := as.SetSignal(ctx, "typhoon", "red", "王五", ""); err != nil { // no actor on the context
		t.Fatal(err)
	}
	_, tokenID := newToken(t, as, "gateway", "sensor")
	if err := as.RevokeToken(actx, tokenID); err != nil {
		t.Fatal(err)
	}
	if err := as.RevokeToken(actx, tokenID); err != nil {
		t.Fatal(err)
	}

	rows, err := as.Audit(ctx, store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		action, actor string
		tokenID       int64
		layer         string
		featureID     int64
		after, before map[string]any
	}
	wants := []want{ // newest first
		{action: store.ActionTokenRevoke, actor: editor.Name, tokenID: 42, before: map[string]any{"token_id": float64(tokenID), "name": "gateway", "role": "sensor"}},
		{action: store.ActionTokenCreate, after: map[string]any{"token_id": float64(tokenID), "name": "gateway", "role": "sensor"}},
		{action: store.ActionSetSignal, actor: "王五", after: map[string]any{"kind": "typhoon", "level": "red"}, before: map[string]any{"kind": "typhoon", "level": "orange"}},
		{action: store.ActionSetSignal, actor: editor.Name, tokenID: 42, after: map[string]any{"kind": "typhoon", "level": "orange", "set_by": "李四"}, before: map[string]any{"level": "none"}},
		{action: store.ActionAckAlert, actor: editor.Name, tokenID: 42, layer: layers.WaterloggingSpots, featureID: 1,
			after: map[string]any{"alert_id": float64(alert.ID), "acked_by": "张三", "ack_note": "已派人"}},
	}
	if len(rows) != len(wants) {
		for _, r := range rows {
			t.Logf("audit: %+v", r)
		}
		t.Fatalf("%d audit rows, want %d (one per change, none for the refused ones)", len(rows), len(wants))
	}
	for i, w := range wants {
		r := rows[i]
		if r.Action != w.action || w.actor != "" && r.Actor != w.actor || r.TokenID != w.tokenID || r.Layer != w.layer || r.FeatureID != w.featureID {
			t.Errorf("audit row %d: %+v, want %+v", i, r, w)
		}
		for _, side := range []struct {
			raw  json.RawMessage
			want map[string]any
			name string
		}{{r.After, w.after, "after"}, {r.Before, w.before, "before"}} {
			var got map[string]any
			_ = json.Unmarshal(side.raw, &got)
			for k, v := range side.want {
				if got[k] != v {
					t.Errorf("audit row %d (%s): %s.%s = %v, want %v", i, r.Action, side.name, k, got[k], v)
				}
			}
		}
	}
}
