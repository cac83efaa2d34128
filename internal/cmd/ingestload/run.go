package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"riskmap/events"
	"riskmap/feature"
	"riskmap/httpapi"
	"riskmap/index"
	"riskmap/ingest"
	"riskmap/ingest/mqtt"
	"riskmap/ingest/spool"
	"riskmap/layers"
	"riskmap/store"
	"riskmap/store/postgis"
)

const token = "ingestload-token-0123456789abcdef"

type rig struct {
	o        options
	st       *postgis.Store
	pool     *pgxpool.Pool
	base     string
	consumer *mqtt.Consumer
	topic    string
	// last is the latest reading time handed out, Unix µs: every reading gets
	// a distinct time, the wall clock's (or 1 µs after the previous one).
	last  atomic.Int64
	start time.Time
}

// at returns a fresh reading time: now, distinct across calls.
func (r *rig) at() string {
	for {
		prev := r.last.Load()
		t := max(time.Now().UnixMicro(), prev+1)
		if r.last.CompareAndSwap(prev, t) {
			return time.UnixMicro(t).UTC().Format(time.RFC3339Nano)
		}
	}
}

func run(ctx context.Context, o options) error {
	dbURL, drop, err := createDatabase(ctx, o.adminURL)
	if err != nil {
		return err
	}
	defer drop()
	reg := layers.New()
	st, err := postgis.Open(ctx, dbURL, reg)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx, nil); err != nil {
		return err
	}
	if err := seed(ctx, st, o.sensors+o.probes); err != nil {
		return err
	}
	fmt.Printf("seeded %d spots with a water depth sensor each (%d for the load, %d probes)\n", o.sensors+o.probes, o.sensors, o.probes)
	fmt.Printf("machine: %d CPUs (GOMAXPROCS %d), %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())

	// The server, as serve wires it.
	sctx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	ix := index.New(reg)
	if err := ix.Load(ctx, st, nil); err != nil {
		return err
	}
	hub := events.NewHub(events.Options{})
	var bg sync.WaitGroup
	defer bg.Wait()
	defer stopServer()
	bg.Go(func() { hub.Run(sctx) })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	bg.Go(func() { ingest.NewRelay(st, hub, ix, quiet).Run(sctx) })
	svc, err := ingest.New(ingest.Config{Store: st, Registry: reg, Logger: quiet})
	if err != nil {
		return err
	}
	bg.Go(func() { _ = svc.Run(sctx) })
	spoolDir, err := os.MkdirTemp("", "ingestload-spool")
	if err != nil {
		return err
	}
	defer os.RemoveAll(spoolDir)
	sp, err := spool.Open(spoolDir)
	if err != nil {
		return err
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	id := "ingestload-" + hex.EncodeToString(b[:])
	consumer, err := mqtt.New(mqtt.Config{URL: o.mqttURL, ClientID: id, Topic: "riskmap/readings/" + id + "/#",
		Service: svc, Store: st, Spool: sp, SessionExpiry: time.Minute, Logger: quiet})
	if err != nil {
		return err
	}
	bg.Go(func() { _ = consumer.Run(sctx) })
	h, err := httpapi.New(httpapi.Config{Registry: reg, Store: st, Index: ix, Events: hub, Ingest: svc, SensorStore: st,
		WriteToken: token, Logger: quiet})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, BaseContext: func(net.Listener) context.Context { return sctx }}
	bg.Go(func() { _ = srv.Serve(ln) })
	defer srv.Close()
	for !svc.Ready() || !consumer.Stats().Subscribed {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	r := &rig{o: o, st: st, pool: st.Pool(), base: "http://" + ln.Addr().String(), consumer: consumer,
		topic: "riskmap/readings/" + id + "/", start: time.Now().UTC()}
	fmt.Printf("serving on %s; MQTT consumer %s on %s\n\n", r.base, id, o.mqttURL)

	results := map[string]float64{}
	for _, ph := range o.phases {
		switch ph {
		case "peer":
			results["peer"], err = r.peer(ctx)
		case "http":
			results["http"], err = r.http(ctx)
		case "mqtt":
			for _, n := range o.mqttSizes {
				for _, rate := range o.mqttRates {
					var got float64
					got, err = r.mqtt(ctx, n, rate)
					if err != nil {
						break
					}
					k := fmt.Sprintf("mqtt%d", n)
					results[k] = max(results[k], got)
				}
				if err != nil {
					break
				}
			}
		case "alert":
			err = r.alert(ctx)
		default:
			err = fmt.Errorf("unknown phase %q", ph)
		}
		if err != nil {
			return err
		}
	}
	if p := results["peer"]; p > 0 {
		fmt.Println("\nratios against the peer (one INSERT + commit per reading):")
		for _, k := range []string{"http", "mqtt1", "mqtt10"} {
			if v, ok := results[k]; ok {
				fmt.Printf("  %-7s %6.1f×\n", k, v/p)
			}
		}
	}
	ss := svc.Stats()
	fmt.Printf("\ningest service: %d accepted, %d rejected, %d alerts, %d state transactions, %d failed\n",
		ss.Accepted, ss.Rejected, ss.Alerts, ss.StateWrites, ss.WriteErrors)
	return nil
}

func createDatabase(ctx context.Context, admin string) (string, func(), error) {
	u, err := url.Parse(admin)
	if err != nil {
		return "", nil, err
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "riskmap_ingestload_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", nil, fmt.Errorf("connect to %s: %w", admin, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		c, err := pgx.Connect(context.Background(), admin)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	}
	return u.String(), drop, nil
}

func seed(ctx context.Context, st *postgis.Store, n int) error {
	fs := make([]feature.Feature, n)
	ss := make([]feature.Sensor, n)
	for i := range n {
		id := int64(i + 1)
		fs[i] = feature.Feature{Layer: layers.WaterloggingSpots, ID: id,
			Geometry: orb.Point{114.08 + float64(i%100)*0.0008, 22.53 + float64(i/100)*0.0008},
			Props:    map[string]any{"external_id": fmt.Sprintf("WS-%d", id), "name": fmt.Sprintf("Spot %d", id), "kind": "low_road"}}
		ss[i] = feature.Sensor{ID: id, ExternalID: fmt.Sprintf("WD-%d", id), Kind: "water_depth_cm", Layer: layers.WaterloggingSpots,
			FeatureID: id, Thresholds: &feature.Thresholds{Blue: 10, Yellow: 20, Orange: 30, Red: 50}, RangeMin: 0, RangeMax: 1000, Active: true}
	}
	if err := st.BulkLoad(ctx, layers.WaterloggingSpots, fs, store.WriteOptions{Actor: "ingestload"}, nil); err != nil {
		return err
	}
	return st.BulkLoadSensors(ctx, ss)
}

// calm is a calm reading of a load sensor.
func (r *rig) calm(i int64) map[string]any {
	return map[string]any{"sensor_id": i%int64(r.o.sensors) + 1, "time": r.at(), "value": float64(i%50) / 10}
}

func (r *rig) peer(ctx context.Context) (float64, error) {
	var n atomic.Int64
	pctx, cancel := context.WithTimeout(ctx, r.o.duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for c := range r.o.conns {
		wg.Go(func() {
			for i := int64(c); pctx.Err() == nil; i += int64(r.o.conns) {
				t, _ := time.Parse(time.RFC3339Nano, r.at())
				_, err := r.pool.Exec(pctx, "INSERT INTO readings (sensor_id, time, value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
					i%int64(r.o.sensors)+1, t, float64(i%50)/10)
				if err != nil {
					if pctx.Err() == nil {
						firstErr.CompareAndSwap(nil, err)
					}
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	rate := float64(n.Load()) / time.Since(start).Seconds()
	fmt.Printf("peer  %d connections, one INSERT+commit per reading: %d readings in %v = %.0f readings/s\n",
		r.o.conns, n.Load(), r.o.duration, rate)
	return rate, nil
}

func (r *rig) post(ctx context.Context, cl *http.Client, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.base+"/api/v1/readings", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := cl.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (r *rig) http(ctx context.Context) (float64, error) {
	var n atomic.Int64
	var lat []time.Duration
	var mu sync.Mutex
	hctx, cancel := context.WithTimeout(ctx, r.o.duration)
	defer cancel()
	cl := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: r.o.conns}}
	start := time.Now()
	var wg sync.WaitGroup
	var bad atomic.Int64
	for c := range r.o.conns {
		wg.Go(func() {
			i := int64(c) * 1_000_000_000
			for hctx.Err() == nil {
				batch := make([]map[string]any, r.o.batch)
				for j := range batch {
					batch[j] = r.calm(i)
					i++
				}
				body, _ := json.Marshal(batch)
				t0 := time.Now()
				code, err := r.post(hctx, cl, body)
				if err != nil || code != 200 {
					if hctx.Err() == nil {
						bad.Add(1)
					}
					continue
				}
				d := time.Since(t0)
				n.Add(int64(r.o.batch))
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	rate := float64(n.Load()) / time.Since(start).Seconds()
	fmt.Printf("http  %d clients, batches of %d: %d readings in %v = %.0f readings/s; batch p50 %v, p99 %v; %d failed\n",
		r.o.conns, r.o.batch, n.Load(), r.o.duration, rate, pct(lat, 50), pct(lat, 99), bad.Load())
	return rate, nil
}

func (r *rig) publisher(suffix string) (paho.Client, error) {
	cl := paho.NewClient(paho.NewClientOptions().AddBroker(r.o.mqttURL).SetClientID("ingestload-pub-" + suffix).
		SetMaxResumePubInFlight(r.o.window))
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("publisher connect: %v", tok.Error())
	}
	return cl, nil
}

// mqtt publishes messages of size readings at rate readings/s for the duration
// and waits until the consumer has stored them all; it reports the rate achieved
// (readings over the time from the first publish to the last reading stored) and
// how long the consumer trailed the publisher at the end.
func (r *rig) mqtt(ctx context.Context, size, rate int) (float64, error) {
	pub, err := r.publisher(fmt.Sprintf("%d-%d", size, rate))
	if err != nil {
		return 0, err
	}
	defer pub.Disconnect(100)
	s0 := r.consumer.Stats()
	stored0 := s0.Stored + s0.Spooled
	mctx, cancel := context.WithTimeout(ctx, r.o.duration)
	defer cancel()
	start := time.Now()
	inflight := make(chan paho.Token, r.o.window)
	var sent, failed int64
	done := make(chan struct{})
	go func() {
		for tok := range inflight {
			if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
				failed++
			}
		}
		close(done)
	}()
	every := time.Duration(float64(time.Second) * float64(size) / float64(rate))
	next := time.Now()
	var i int64
	for mctx.Err() == nil {
		msg := make([]map[string]any, size)
		for j := range msg {
			msg[j] = r.calm(i)
			i++
		}
		payload, _ := json.Marshal(msg)
		inflight <- pub.Publish(r.topic+"load", 1, false, payload)
		sent += int64(size)
		next = next.Add(every)
		if d := time.Until(next); d > time.Millisecond {
			time.Sleep(d)
		}
	}
	close(inflight)
	<-done
	pubEnd := time.Since(start)
	want := stored0 + sent - failed*int64(size)
	for {
		s := r.consumer.Stats()
		if s.Stored+s.Spooled >= want {
			break
		}
		if time.Since(start) > r.o.duration+time.Minute {
			return 0, fmt.Errorf("mqtt: the consumer stored %d of %d readings a minute after the last publish (see the broker's log: a consumer slower than the publisher overflows its queue)",
				s.Stored+s.Spooled-stored0, sent)
		}
		time.Sleep(2 * time.Millisecond)
	}
	total := time.Since(start)
	got := float64(sent) / total.Seconds()
	fmt.Printf("mqtt  %2d reading(s)/message at %6d readings/s offered: %d published in %v, all stored %v after the last publish = %.0f readings/s (%.0f messages/s); %d publishes failed\n",
		size, rate, sent, pubEnd.Round(time.Millisecond), (total - pubEnd).Round(time.Millisecond), got, got/float64(size), failed)
	return got, nil
}

// alert measures reading → alert event latency under background load.
func (r *rig) alert(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(sctx, http.MethodGet, r.base+"/api/v1/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var mu sync.Mutex
	sentAt := map[int64]time.Time{}
	var lats []time.Duration
	var byPath = map[string][]time.Duration{}
	pathOf := map[int64]string{}
	go func() { // the stream reader
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && event == ingest.EventAlert:
				now := time.Now()
				var a struct {
					SensorID int64 `json:"sensor_id"`
				}
				if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &a) == nil {
					mu.Lock()
					if t, ok := sentAt[a.SensorID]; ok {
						d := now.Sub(t)
						lats = append(lats, d)
						byPath[pathOf[a.SensorID]] = append(byPath[pathOf[a.SensorID]], d)
						delete(sentAt, a.SensorID)
					}
					mu.Unlock()
				}
			case line == "":
				event = ""
			}
		}
	}()
	// Background load: batches of 100 every 100/background seconds.
	bctx, stopBG := context.WithCancel(sctx)
	defer stopBG()
	var bgWG sync.WaitGroup
	var bgSent atomic.Int64
	bgWG.Go(func() {
		cl := &http.Client{}
		every := time.Duration(float64(time.Second) * 100 / float64(r.o.background))
		next := time.Now()
		i := int64(5_000_000_000)
		for bctx.Err() == nil {
			batch := make([]map[string]any, 100)
			for j := range batch {
				batch[j] = r.calm(i)
				i++
			}
			body, _ := json.Marshal(batch)
			if code, err := r.post(bctx, cl, body); err == nil && code == 200 {
				bgSent.Add(100)
			}
			next = next.Add(every)
			if d := time.Until(next); d > 0 {
				select {
				case <-bctx.Done():
				case <-time.After(d):
				}
			}
		}
	})
	pub, err := r.publisher("probe")
	if err != nil {
		stopBG()
		return err
	}
	defer pub.Disconnect(100)
	cl := &http.Client{}
	time.Sleep(time.Second) // background load settles
	bgStart, bg0 := time.Now(), bgSent.Load()
	probes := int(r.o.probes)
	for p := range probes {
		if ctx.Err() != nil {
			break
		}
		sensor := int64(r.o.sensors + p + 1)
		body, _ := json.Marshal([]map[string]any{{"sensor_id": sensor, "time": time.Now().UTC().Format(time.RFC3339Nano), "value": 60.0}})
		path := "http"
		if p%2 == 1 {
			path = "mqtt"
		}
		mu.Lock()
		sentAt[sensor] = time.Now()
		pathOf[sensor] = path
		mu.Unlock()
		if path == "http" {
			if code, err := r.post(sctx, cl, body); err != nil || code != 200 {
				return fmt.Errorf("probe post: %d %v", code, err)
			}
		} else {
			tok := pub.Publish(r.topic+"probe", 1, false, body)
			tok.Wait()
		}
		time.Sleep(r.o.probeEvery)
	}
	time.Sleep(2 * time.Second)
	bgRate := float64(bgSent.Load()-bg0) / time.Since(bgStart).Seconds()
	stopBG()
	bgWG.Wait()
	mu.Lock()
	defer mu.Unlock()
	fmt.Printf("alert %d probes (half HTTP, half MQTT) every %v under %.0f readings/s background: %d alerts seen, %d missing\n",
		probes, r.o.probeEvery, bgRate, len(lats), len(sentAt))
	fmt.Printf("      reading → alert event: p50 %v, p90 %v, p99 %v, max %v\n", pct(lats, 50), pct(lats, 90), pct(lats, 99), pct(lats, 100))
	for _, k := range []string{"http", "mqtt"} {
		l := byPath[k]
		fmt.Printf("      %-4s: p50 %v, p99 %v (%d)\n", k, pct(l, 50), pct(l, 99), len(l))
	}
	if len(sentAt) > 0 {
		return fmt.Errorf("%d probe alerts never arrived", len(sentAt))
	}
	return nil
}

// pct is the p-th percentile (nearest rank), rounded for printing.
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	i = min(max(i, 0), len(s)-1)
	return s[i].Round(100 * time.Microsecond)
}
