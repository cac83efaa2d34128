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
	"riskmap/tiles"
)

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("serve", "Run the HTTP server. It loads every feature into the in-memory index, then serves\n/healthz, /readyz, /api/v1/layers, nearby, query, dispatch, search, features,\nvector tiles (/tiles/...), TileJSON and the MapLibre style (/styles/riskmap.json).\nThe database schema must be at this binary's version (run riskmap migrate).", stdout, stderr)
	dbURL := databaseFlag(fs)
	addr := fs.String("addr", envOr("RISKMAP_ADDR", ":8080"), "listen address (env RISKMAP_ADDR)")
	var opt serveOptions
	fs.Int64Var(&opt.tileCacheMB, "tile-cache-mb", envInt("RISKMAP_TILE_CACHE_MB", 256), "bytes of encoded tiles kept in memory, in MB (env RISKMAP_TILE_CACHE_MB)")
	fs.IntVar(&opt.clusterBelow, "cluster-below", int(envInt("RISKMAP_CLUSTER_BELOW", 15)), "cluster risk points in tiles below this zoom (env RISKMAP_CLUSTER_BELOW)")
	fs.StringVar(&opt.publicURL, "public-url", envOr("RISKMAP_PUBLIC_URL", ""), "absolute URL clients reach the server at, for TileJSON and the style; default: from each request (env RISKMAP_PUBLIC_URL)")
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	if opt.tileCacheMB < 0 || opt.clusterBelow < 0 || opt.clusterBelow > tiles.MaxZoom+1 {
		fmt.Fprintf(stderr, "riskmap serve: --tile-cache-mb must be ≥ 0 and --cluster-below in 0..%d\n", tiles.MaxZoom+1)
		return 2
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
	if err := serve(ctx, *dbURL, ln, log, opt); err != nil {
		log.Error("riskmap serve stopped", "err", err)
		return 1
	}
	return 0
}

// serveOptions are the serve command's tuning flags.
type serveOptions struct {
	tileCacheMB  int64
	clusterBelow int
	publicURL    string
}

// serve runs the server on ln until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, dbURL string, ln net.Listener, log *slog.Logger, opt serveOptions) error {
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
	// Tiles: the cache is told of every change by the index, under its write lock.
	clusterBelow := opt.clusterBelow
	if clusterBelow == 0 {
		clusterBelow = -1 // 0 means "never cluster" here; Options reads 0 as the default
	}
	rd, err := tiles.NewRenderer(reg, ix, tiles.Options{ClusterBelow: clusterBelow})
	if err != nil {
		return err
	}
	cache := tiles.NewCache(opt.tileCacheMB << 20)
	ix.OnApply(cache.Invalidate)
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
	handler, err := httpapi.New(httpapi.Config{Registry: reg, Store: s, Index: ix, Logger: log,
		Tiles: tiles.NewService(rd, cache), PublicURL: opt.publicURL})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
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
