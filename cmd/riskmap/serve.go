package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"riskmap/httpapi"
	"riskmap/index"
	"riskmap/layers"
	"riskmap/store/postgis"
)

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("serve", "Run the HTTP server. It loads every feature into the in-memory index, then serves\n/healthz, /readyz, /api/v1/layers, nearby, query, dispatch, search and features.\nThe database schema must be at this binary's version (run riskmap migrate).", stdout, stderr)
	dbURL := databaseFlag(fs)
	addr := fs.String("addr", envOr("RISKMAP_ADDR", ":8080"), "listen address (env RISKMAP_ADDR)")
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	if !requireDatabase(*dbURL, stderr, "serve") {
		return 1
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "riskmap serve: %v\n", err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if err := serve(ctx, *dbURL, ln, log); err != nil {
		log.Error("riskmap serve stopped", "err", err)
		return 1
	}
	return 0
}

// serve runs the server on ln until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, dbURL string, ln net.Listener, log *slog.Logger) error {
	reg := layers.New()
	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := postgis.Open(openCtx, dbURL, reg)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.CheckSchema(openCtx); err != nil {
		return err
	}
	ix := index.New(reg)
	start := time.Now()
	err = ix.Load(ctx, s, func(p index.LoadProgress) {
		if p.Done {
			log.Info("index: layer loaded", "layer", p.Layer, "features", p.Loaded, "took", p.Elapsed.Round(time.Millisecond))
		} else {
			log.Info("index: loading", "layer", p.Layer, "features", p.Loaded)
		}
	})
	if err != nil {
		return err
	}
	log.Info("index: loaded", "took", time.Since(start).Round(time.Millisecond))
	srv := &http.Server{
		Handler:           httpapi.New(httpapi.Config{Registry: reg, Store: s, Index: ix, Logger: log}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("riskmap serving", "addr", ln.Addr().String(), "version", buildVersion())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutCtx, cancelShut := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancelShut()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
