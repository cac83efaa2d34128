package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gorilla/mux"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"riskmap/feature"
	"riskmap/layers"
	"riskmap/store"
)

// EditStore is what the edit, audit and hazard routes need of the store: the
// current feature, edits with compare-and-set versions written with their audit
// rows, the audit log and the hazard rectification workflow. Edits go to the store
// only; the index, tiles and event stream follow through the change feed.
type EditStore interface {
	Get(ctx context.Context, layer string, id int64) (feature.Feature, error)
	EditFeature(ctx context.Context, e store.Edit) (store.EditResult, error)
	Audit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error)
	MoveHazard(ctx context.Context, m store.HazardMove) (feature.Feature, error)
	HazardHistory(ctx context.Context, id int64) ([]store.HazardStep, error)
	Hazards(ctx context.Context, q store.HazardQuery) ([]store.Hazard, error)
}

var (
	errEditsDisabled = errors.New("feature edits are not enabled on this server")
	// errPreconditionRequired: an edit of an existing feature without If-Match
	// (428): the editor must say which version the edit was made on.
	errPreconditionRequired = errors.New(`this edit needs the header "If-Match" with the feature's ETag (its version, e.g. "3", from GET or the last edit): edits are made on a known version`)
)

// MaxEditNoteLen bounds an edit's audit note, in characters.
const MaxEditNoteLen = MaxNoteLen

// editRoutes registers the edit, audit and hazard routes.
func (s *server) editRoutes(r *mux.Router) {
	r.Handle("/api/v1/features/{layer}", s.handle(s.createFeature)).Methods(http.MethodPost)
	r.Handle("/api/v1/features/{layer}/{id}", s.handle(s.putFeature)).Methods(http.MethodPut)
	r.Handle("/api/v1/features/{layer}/{id}", s.handle(s.patchFeature)).Methods(http.MethodPatch)
	r.Handle("/api/v1/features/{layer}/{id}", s.handle(s.deleteFeature)).Methods(http.MethodDelete)
	r.Handle("/api/v1/audit", s.handle(s.auditLog)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/v1/hazards", s.handle(s.listHazards)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/v1/hazards/{id}", s.handle(s.getHazard)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/api/v1/hazards/{id}/status", s.handle(s.moveHazard)).Methods(http.MethodPost)
}

// etag is the strong entity tag of a feature version.
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// ifMatch reads the version an edit was made on from If-Match: one strong entity
// tag "<version>". Missing (or "*", which names no version) is 428; a malformed one
// 400.
func ifMatch(r *http.Request) (int64, error) {
	vs := r.Header.Values("If-Match")
	if len(vs) == 0 || strings.TrimSpace(vs[0]) == "" || strings.TrimSpace(vs[0]) == "*" {
		return 0, errPreconditionRequired
	}
	v := strings.TrimSpace(vs[0])
	if len(vs) > 1 || strings.Contains(v, ",") {
		return 0, badParam("If-Match", "give one entity tag, the feature's version")
	}
	if strings.HasPrefix(v, "W/") {
		return 0, badParam("If-Match", "a weak entity tag cannot match: send the ETag as given, e.g. \"3\"")
	}
	uq, ok := strings.CutPrefix(v, `"`)
	if ok {
		uq, ok = strings.CutSuffix(uq, `"`)
	}
	n, err := strconv.ParseInt(uq, 10, 64)
	if !ok || err != nil || n <= 0 {
		return 0, badParam("If-Match", "%q is not a feature's ETag (its version in quotes, e.g. \"3\")", truncateText(v, 40))
	}
	return n, nil
}

// truncateText cuts s to at most n runes for an error message.
func truncateText(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// pathFeature reads {layer} (a registry layer) and {id} (when the route has one).
func (s *server) pathFeature(r *http.Request, withID bool) (*layers.Layer, int64, error) {
	vars := mux.Vars(r)
	l, err := s.reg.Layer(vars["layer"])
	if err != nil {
		return nil, 0, err
	}
	if !withID {
		return l, 0, nil
	}
	id, err := strconv.ParseInt(vars["id"], 10, 64)
	if err != nil || id <= 0 {
		return nil, 0, badParam("id", "%q is not a feature id (a positive whole number)", truncateText(vars["id"], 40))
	}
	return l, id, nil
}

// featureBody is an edit's body: a GeoJSON Feature, with an optional foreign
// member "note" for the audit log.
type featureBody struct {
	Type       string          `json:"type"`
	ID         json.RawMessage `json:"id"`
	Geometry   json.RawMessage `json:"geometry"`
	Properties map[string]any  `json:"properties"`
	Bbox       json.RawMessage `json:"bbox"`
	Note       string          `json:"note"`
	// set: which of geometry and properties the body gives.
	hasGeometry, hasProperties bool
	geometry                   orb.Geometry
}

// readFeatureBody decodes and checks an edit's body: one JSON object, a GeoJSON
// Feature with no member but type, id, geometry, properties, bbox and note; numbers
// kept exact; the geometry parsed (its fitness for the layer is the store's check).
func readFeatureBody(w http.ResponseWriter, r *http.Request) (*featureBody, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyLen))
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(body) {
		return nil, badParam("body", "is not valid UTF-8")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, badParam("body", "is not a JSON object (a GeoJSON Feature): %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var fb featureBody
	if err := dec.Decode(&fb); err != nil {
		var name string
		if _, after, ok := strings.Cut(err.Error(), "unknown field "); ok {
			name = strings.Trim(after, `"`)
			return nil, badParam(name, "is not a member of a GeoJSON Feature here (type, id, geometry, properties, bbox, note); layer fields go in properties")
		}
		return nil, badParam("body", "not a GeoJSON Feature: %v", err)
	}
	if fb.Type != "Feature" {
		return nil, badParam("type", "must be \"Feature\"")
	}
	if g, ok := raw["geometry"]; ok && string(bytes.TrimSpace(g)) != "null" {
		fb.hasGeometry = true
		geom, err := geojson.UnmarshalGeometry(g)
		if err != nil {
			return nil, badParam("geometry", "is not a GeoJSON geometry: %v", err)
		}
		fb.geometry = geom.Geometry()
		if fb.geometry == nil {
			return nil, badParam("geometry", "is not a GeoJSON geometry")
		}
	}
	if p, ok := raw["properties"]; ok && string(bytes.TrimSpace(p)) != "null" {
		fb.hasProperties = true
	}
	if fb.Properties == nil {
		fb.Properties = map[string]any{}
	}
	for k, v := range fb.Properties {
		if n, ok := v.(json.Number); ok {
			// json.Number stays exact for the registry's checks; refuse what
			// cannot be a number at all.
			if _, err := n.Float64(); err != nil {
				return nil, badParam(k, "%s is not a finite number", truncateText(n.String(), 40))
			}
		}
	}
	if err := checkText("note", fb.Note, false, MaxEditNoteLen); err != nil {
		return nil, err
	}
	if strings.ContainsRune(fb.Note, 0) {
		return nil, badParam("note", "contains a NUL character")
	}
	return &fb, nil
}

// readOnlyMembers takes the members a feature read carries besides its fields
// (properties layer, id, version; the Feature's id) out of fb, checking that they
// name the feature edited: so a GET's body can be sent back as it was edited.
// id is 0 and version 0 for a create.
func (fb *featureBody) readOnlyMembers(l *layers.Layer, id, version int64) error {
	if len(fb.ID) > 0 && string(fb.ID) != "null" {
		if id == 0 {
			return badParam("id", "is assigned by the server: leave it out of a new feature")
		}
		if string(fb.ID) != strconv.FormatInt(id, 10) {
			return badParam("id", "%s is not the id in the path (%d)", truncateText(string(fb.ID), 40), id)
		}
	}
	if v, ok := fb.Properties["layer"]; ok {
		if v != l.Name {
			return badParam("layer", "the property layer is %v, the path's layer is %s", v, l.Name)
		}
		delete(fb.Properties, "layer")
	}
	if v, ok := fb.Properties["id"]; ok {
		if n, isNum := v.(json.Number); id == 0 || !isNum || n.String() != strconv.FormatInt(id, 10) {
			return badParam("id", "the property id does not name the feature edited")
		}
		delete(fb.Properties, "id")
	}
	if v, ok := fb.Properties["version"]; ok {
		if n, isNum := v.(json.Number); version == 0 || !isNum || n.String() != strconv.FormatInt(version, 10) {
			return badParam("version", "the property version is not the version in If-Match")
		}
		delete(fb.Properties, "version")
	}
	return nil
}

// editor checks the request may edit and returns who makes it.
func (s *server) editor(r *http.Request) (Identity, error) {
	id, err := s.authorize(r, RoleEditor)
	if err != nil {
		return Identity{}, err
	}
	if s.edits == nil {
		return Identity{}, errEditsDisabled
	}
	if strings.TrimSpace(id.Name) == "" {
		id.Name = fmt.Sprintf("token %d", id.TokenID)
	}
	return id, nil
}

// writeFeature answers an edit with the feature as stored, its ETag, and status.
func (s *server) writeFeature(w http.ResponseWriter, l *layers.Layer, f *feature.Feature, status int) error {
	b, err := store.FeatureGeoJSON(l, *f)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(f.Version))
	w.Header().Set("Content-Type", geojsonType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return nil
}

// createFeature: POST /api/v1/features/{layer} — a new feature from a GeoJSON
// Feature; 201 with Location and ETag.
func (s *server) createFeature(w http.ResponseWriter, r *http.Request) error {
	who, err := s.editor(r)
	if err != nil {
		return err
	}
	l, _, err := s.pathFeature(r, false)
	if err != nil {
		return err
	}
	if _, err := newQuery(r.URL.Query(), false); err != nil {
		return err
	}
	fb, err := readFeatureBody(w, r)
	if err != nil {
		return err
	}
	if err := fb.readOnlyMembers(l, 0, 0); err != nil {
		return err
	}
	if !fb.hasGeometry {
		return badParam("geometry", "is required")
	}
	res, err := s.edits.EditFeature(r.Context(), store.Edit{Action: store.ActionCreate, Layer: l.Name,
		Feature: feature.Feature{Layer: l.Name, Geometry: fb.geometry, Props: fb.Properties},
		Actor:   who.Name, TokenID: who.TokenID, Note: fb.Note})
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/features/%s/%d", l.Name, res.After.ID))
	return s.writeFeature(w, l, res.After, http.StatusCreated)
}

// current reads the feature edited from the store and checks If-Match against its
// version before anything is decoded: a stale edit is 412 at once (the store checks
// again, atomically, when it writes).
func (s *server) current(r *http.Request, l *layers.Layer, id, version int64) (feature.Feature, error) {
	f, err := s.edits.Get(r.Context(), l.Name, id)
	if err != nil {
		return feature.Feature{}, err
	}
	if f.Version != version {
		return feature.Feature{}, &store.VersionConflictError{Layer: l.Name, ID: id, Expected: version, Current: f.Version}
	}
	return f, nil
}

// putFeature: PUT /api/v1/features/{layer}/{id} — replace the whole feature (fields
// left out take their default or null; a risk point's hazard_status, when left out,
// stays as stored: it moves through the hazard workflow). If-Match required.
func (s *server) putFeature(w http.ResponseWriter, r *http.Request) error {
	return s.updateFeature(w, r, false)
}

// patchFeature: PATCH /api/v1/features/{layer}/{id} — merge: only the properties
// given change (null clears one), the geometry when given. If-Match required.
func (s *server) patchFeature(w http.ResponseWriter, r *http.Request) error {
	return s.updateFeature(w, r, true)
}

func (s *server) updateFeature(w http.ResponseWriter, r *http.Request, merge bool) error {
	who, err := s.editor(r)
	if err != nil {
		return err
	}
	l, id, err := s.pathFeature(r, true)
	if err != nil {
		return err
	}
	if _, err := newQuery(r.URL.Query(), false); err != nil {
		return err
	}
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	fb, err := readFeatureBody(w, r)
	if err != nil {
		return err
	}
	if err := fb.readOnlyMembers(l, id, version); err != nil {
		return err
	}
	if !merge && !fb.hasGeometry {
		return badParam("geometry", "is required (PATCH changes only what it is given)")
	}
	cur, err := s.current(r, l, id, version)
	if err != nil {
		return err
	}
	props := fb.Properties
	if merge {
		props = make(map[string]any, len(l.Fields))
		for k, v := range cur.Props {
			props[k] = v
		}
		for k, v := range fb.Properties {
			props[k] = v
		}
	} else if _, given := props["hazard_status"]; !given && l.Name == layers.RiskPoints {
		props["hazard_status"] = cur.Props["hazard_status"]
	}
	geom := cur.Geometry
	if fb.hasGeometry {
		geom = fb.geometry
	}
	res, err := s.edits.EditFeature(r.Context(), store.Edit{Action: store.ActionUpdate, Layer: l.Name, ID: id, IfVersion: version,
		Feature: feature.Feature{Layer: l.Name, ID: id, Geometry: geom, Props: props},
		Actor:   who.Name, TokenID: who.TokenID, Note: fb.Note})
	if err != nil {
		return err
	}
	return s.writeFeature(w, l, res.After, http.StatusOK)
}

// deleteFeature: DELETE /api/v1/features/{layer}/{id}[?note=] — 204. If-Match
// required.
func (s *server) deleteFeature(w http.ResponseWriter, r *http.Request) error {
	who, err := s.editor(r)
	if err != nil {
		return err
	}
	l, id, err := s.pathFeature(r, true)
	if err != nil {
		return err
	}
	q, err := newQuery(r.URL.Query(), false, "note")
	if err != nil {
		return err
	}
	note := q.v.Get("note")
	if err := checkText("note", note, false, MaxEditNoteLen); err != nil {
		return err
	}
	if strings.ContainsRune(note, 0) {
		return badParam("note", "contains a NUL character")
	}
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	if _, err := s.edits.EditFeature(r.Context(), store.Edit{Action: store.ActionDelete, Layer: l.Name, ID: id, IfVersion: version,
		Actor: who.Name, TokenID: who.TokenID, Note: note}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
