package httpapi

import (
	"net/http"
	"strconv"

	"riskmap/store"
)

// MaxAuditLimit bounds one page of the audit log.
const MaxAuditLimit = 1000

// auditLog: GET /api/v1/audit?layer=&id=&before=&limit= — the audit log, newest
// first: every feature edit and hazard move with who (the token's name and id),
// when, the versions and the feature before and after as GeoJSON, and the note.
// layer and id select one feature's rows (id needs layer); before (an audit row id)
// pages: the answer's next_before continues it. Read like every other route.
func (s *server) auditLog(w http.ResponseWriter, r *http.Request) error {
	if s.edits == nil {
		return errEditsDisabled
	}
	q, err := newQuery(r.URL.Query(), false, "layer", "id", "before", "limit")
	if err != nil {
		return err
	}
	aq := store.AuditQuery{}
	if q.has("layer") {
		l, err := s.reg.Layer(q.v.Get("layer"))
		if err != nil {
			return err
		}
		aq.Layer = l.Name
	}
	if q.has("id") {
		if aq.Layer == "" {
			return badParam("id", "needs layer: feature ids are per layer")
		}
		id, err := strconv.ParseInt(q.v.Get("id"), 10, 64)
		if err != nil || id <= 0 {
			return badParam("id", "%q is not a feature id (a positive whole number)", truncateText(q.v.Get("id"), 40))
		}
		aq.FeatureID = id
	}
	if q.has("before") {
		b, err := strconv.ParseInt(q.v.Get("before"), 10, 64)
		if err != nil || b <= 0 {
			return badParam("before", "%q is not an audit row id (a positive whole number)", truncateText(q.v.Get("before"), 40))
		}
		aq.BeforeID = b
	}
	if aq.Limit, err = q.int("limit", 100, 1, MaxAuditLimit); err != nil {
		return err
	}
	rows, err := s.edits.Audit(r.Context(), aq)
	if err != nil {
		return err
	}
	out := map[string]any{"entries": rows}
	if len(rows) == aq.Limit {
		out["next_before"] = rows[len(rows)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
