package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// Actor is who makes a change, as the API knows them: the name and id of the token
// (or signed-in session's token) the request came with. The HTTP layer puts it on
// the request's context (WithActor); a store records it in the audit row of the
// change. TokenID 0 means no stored token (the legacy write token, the command line).
type Actor struct {
	Name    string
	TokenID int64
}

type actorKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor ctx carries.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// Audit actions of the changes that are not feature edits.
const (
	ActionAckAlert    = "ack_alert"
	ActionSetSignal   = "set_signal"
	ActionTokenCreate = "token_create"
	ActionTokenRevoke = "token_revoke"
)

// ChangeAudit builds the audit row of a change that is not a feature edit: an alert
// acknowledged, a signal set, a token made or revoked. The actor is ctx's (else
// fallback, e.g. the name the request gave, with no token id); layer and featureID
// name the monitored object when there is one ("" and 0 otherwise); before and after
// are the changed thing's state, encoded as JSON (nil: none).
func ChangeAudit(ctx context.Context, fallback, action, layer string, featureID int64, before, after any, note string) (AuditRow, error) {
	row := AuditRow{Actor: fallback, Action: action, Layer: layer, FeatureID: featureID}
	if a, ok := ActorFrom(ctx); ok && a.Name != "" {
		row.Actor = a.Name
		if a.TokenID != 0 {
			row.TokenID = a.TokenID
		}
	}
	if row.Actor == "" {
		row.Actor = "riskmap"
	}
	if note != "" {
		row.Note = note
	}
	for _, x := range []struct {
		v   any
		dst *any
	}{{before, &row.Before}, {after, &row.After}} {
		if x.v == nil {
			continue
		}
		b, err := json.Marshal(x.v)
		if err != nil {
			return row, fmt.Errorf("audit %s: %w", action, err)
		}
		*x.dst = string(b)
	}
	return row, nil
}
