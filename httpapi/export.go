package httpapi

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"riskmap/export"
)

// exportRoutes registers GET /api/v1/export.
func (s *server) exportRoutes(r *mux.Router) {
	r.Handle("/api/v1/export", s.handle(s.exportLayer)).Methods(http.MethodGet, http.MethodHead).Name(exportRoute)
}

// exportRoute names the export route, so withTimeout gives it ExportTimeout
// instead of the request timeout.
const exportRoute = "export"

// ExportTimeout bounds one export download, encoding and sending included: a whole
// layer to a slow client takes longer than an API answer. The handler also moves
// the connection's write deadline (the server's WriteTimeout) to the same bound.
const ExportTimeout = 10 * time.Minute

// exportLayer: GET /api/v1/export?layer=&format=geojson|csv|gpkg[&bbox=minlon,minlat,
// maxlon,maxlat][&crs=wgs84|gcj02][&filters] — one layer as a file to download (see
// package export; riskmap export writes the same bytes): the features passing the
// filters whose bounds intersect bbox (in the coordinates of crs), by id. GeoJSON and
// CSV are streamed as they are encoded; a GeoPackage is written to a temporary file
// first. The answer names the file (Content-Disposition) and carries the number of
// features in X-Feature-Count; HEAD answers the headers only. Bad input is 400
// naming the parameter, before anything is written. The request's context ends the
// stream: a client gone or the request timeout stops the encoding, and a response
// cut short is aborted (the client sees a broken transfer, never a file that looks
// complete).
func (s *server) exportLayer(w http.ResponseWriter, r *http.Request) error {
	q, err := newQuery(r.URL.Query(), true, "layer", "format", "bbox", "crs")
	if err != nil {
		return err
	}
	if q.has("layers") {
		return badParam("layers", "an export is of one layer: give layer=")
	}
	req, err := s.exportRequest(q)
	if err != nil {
		return err
	}
	e, err := export.Prepare(s.ix, req)
	if err != nil {
		return exportParamError(err)
	}
	h := w.Header()
	h.Set("Content-Type", e.ContentType())
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Feature-Count", strconv.Itoa(e.Count()))
	attachment(w, e.FileName(time.Now()))
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	if dl, ok := r.Context().Deadline(); ok {
		// The server's WriteTimeout would cut a long download; the context's deadline
		// (ExportTimeout) is the bound. Not every ResponseWriter supports it.
		_ = http.NewResponseController(w).SetWriteDeadline(dl)
	}
	cw := &countingWriter{w: w}
	if err := e.WriteTo(r.Context(), cw); err != nil {
		if cw.n == 0 {
			// Nothing sent yet: an ordinary error answer, not a download.
			h.Del("Content-Disposition")
			h.Del("X-Feature-Count")
			return err
		}
		s.log.WarnContext(r.Context(), "export cut short", "layer", req.Layer, "format", req.Format, "written", cw.n, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// exportRequest reads layer (required), format (default geojson), crs, bbox and the
// filters.
func (s *server) exportRequest(q *query) (export.Request, error) {
	var req export.Request
	if !q.has("layer") {
		return req, badParam("layer", "is required: the layer to export")
	}
	req.Layer = q.v.Get("layer")
	req.Format = export.GeoJSON
	if q.has("format") {
		f, err := export.ParseFormat(q.v.Get("format"))
		if err != nil {
			return req, exportParamError(err)
		}
		req.Format = f
	}
	crs, err := export.ParseCRS(q.v.Get("crs"))
	if q.has("crs") && q.v.Get("crs") == "" {
		err = &export.OptionError{Option: "crs", Reason: "is empty"}
	}
	if err != nil {
		return req, exportParamError(err)
	}
	req.CRS = crs
	if q.has("bbox") {
		b, err := export.ParseBBox(q.v.Get("bbox"))
		if err != nil {
			return req, exportParamError(err)
		}
		req.BBox = &b
	}
	f, err := s.filter(q)
	if err != nil {
		return req, err
	}
	req.Filter = &f
	return req, nil
}

// exportParamError turns the export package's option errors into parameter errors
// naming the parameter; others pass unchanged.
func exportParamError(err error) error {
	var oe *export.OptionError
	if errors.As(err, &oe) {
		return badParam(oe.Option, "%s", oe.Reason)
	}
	return err
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
