// Command ingestload measures sensor ingest (docs/benchmarks.md, "Sensor
// ingest"): sustained readings per second over HTTP batches and over MQTT, against
// the peer doing the same work naively — one INSERT per reading, each its own
// commit, through pgx — in the same run; and reading-to-alert latency on the event
// stream while ingest runs at a background rate.
//
//	go run ./internal/cmd/ingestload                    # every phase, 10 s each
//	go run ./internal/cmd/ingestload -phases alert -background 5000
//
// What it does: creates a database on -admin-url (dropped at the end), migrates
// it and writes -sensors waterlogging spots each with a water depth sensor
// (blue 10, yellow 20, orange 30, red 50 cm), plus -probes more kept for the
// latency probes; serves the riskmap API in this process (the ingest service, the
// MQTT consumer on -mqtt-url, the event hub, httpapi) on a loopback port; then runs
// the phases:
//
//   - peer: -conns connections each INSERT one reading per statement
//     (autocommit) for -duration: what a consumer committing every message does;
//   - http: -conns clients POST /api/v1/readings batches of -batch readings, one
//     request at a time each, for -duration; readings/s counts 200 answers;
//   - mqtt: for each -mqtt-size (readings per message) and -mqtt-rate (readings/s
//     offered), one QoS 1 publisher publishes at that rate, with up to -window
//     unacknowledged messages, for -duration; readings/s is what the consumer
//     stored (database or spool) over the time from the first publish to the last
//     reading stored — a rate is sustained when the consumer finishes right after
//     the publisher (a consumer slower than its publisher makes the broker's
//     queue for it overflow, and Mosquitto drops beyond max_queued_messages);
//   - alert: background HTTP ingest at -background readings/s of calm values
//     while, every -probe-every, one probe sensor (a new one each time) gets a
//     reading over its red threshold — alternately over HTTP and MQTT; latency
//     is from just before the POST (or publish) to the alert event of that sensor
//     arriving on an SSE stream (GET /api/v1/events) read by this tool.
//
// All readings are calm (below blue) except the probes', so the background load
// raises no alerts. Readings carry distinct (sensor, time) keys.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"
)

type options struct {
	adminURL, mqttURL string
	phases            []string
	sensors, probes   int
	conns, batch      int
	mqttSizes         []int
	mqttRates         []int
	window            int
	duration          time.Duration
	background        int
	probeEvery        time.Duration
}

func main() {
	var o options
	var phases, sizes, rates string
	flag.StringVar(&o.adminURL, "admin-url", envOr("RISKMAP_TEST_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "PostgreSQL server to create the benchmark database on")
	flag.StringVar(&o.mqttURL, "mqtt-url", envOr("RISKMAP_MQTT_URL", "tcp://127.0.0.1:1883"), "MQTT broker")
	flag.StringVar(&phases, "phases", "peer,http,mqtt,alert", "phases to run, comma separated: peer, http, mqtt, alert")
	flag.IntVar(&o.sensors, "sensors", 1000, "sensors the load spreads over")
	flag.IntVar(&o.probes, "probes", 400, "extra sensors for the alert probes (one per probe)")
	flag.IntVar(&o.conns, "conns", 4, "connections (peer) and HTTP clients (http)")
	flag.IntVar(&o.batch, "batch", 500, "readings per HTTP batch")
	flag.StringVar(&sizes, "mqtt-size", "1,10", "readings per MQTT message, one mqtt phase per size")
	flag.StringVar(&rates, "mqtt-rate", "5000,10000,20000", "readings/s offered over MQTT, one run per rate and size")
	flag.IntVar(&o.window, "window", 1000, "most unacknowledged MQTT publishes")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each throughput phase")
	flag.IntVar(&o.background, "background", 5000, "background readings/s during the alert phase")
	flag.DurationVar(&o.probeEvery, "probe-every", 100*time.Millisecond, "interval between alert probes")
	flag.Parse()
	o.phases = strings.Split(phases, ",")
	for _, s := range strings.Split(sizes, ",") {
		var n int
		if _, err := fmt.Sscan(s, &n); err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "ingestload: bad -mqtt-size %q\n", s)
			os.Exit(2)
		}
		o.mqttSizes = append(o.mqttSizes, n)
	}
	for _, s := range strings.Split(rates, ",") {
		var n int
		if _, err := fmt.Sscan(s, &n); err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "ingestload: bad -mqtt-rate %q\n", s)
			os.Exit(2)
		}
		o.mqttRates = append(o.mqttRates, n)
	}
	if o.probes < 1 || o.sensors < 1 || o.conns < 1 || o.batch < 1 || o.batch > 10000 {
		fmt.Fprintln(os.Stderr, "ingestload: -sensors, -probes, -conns ≥ 1; -batch in 1..10000")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Printf("command: go run ./internal/cmd/ingestload %s\n", strings.Join(os.Args[1:], " "))
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "ingestload: %v\n", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
