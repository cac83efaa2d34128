package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"riskmap/sim"
	"riskmap/sim/drill"
)

func simulateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("simulate", "Run a storm drill: simulate a scenario over the server's sensors in accelerated\n"+
		"time and send every reading, marked drill, over HTTP (POST /api/v1/readings) or\n"+
		"MQTT (riskmap/readings/<external_id>, QoS 1). Readings are stamped with the\n"+
		"wall-clock time they fall due. Ctrl-C stops it; queued readings are still sent.\n"+
		"The model is described in docs/simulator.md.", stdout, stderr)
	scenario := fs.String("scenario", "typhoon", "scenario: "+strings.Join(sim.ScenarioNames(), ", "))
	speed := fs.String("speed", "60x", "simulated time per real time: 60x runs a simulated hour per real minute (1x–10000x)")
	useMQTT := fs.Bool("mqtt", false, "publish over MQTT")
	useHTTP := fs.Bool("http", false, "post over HTTP (the default)")
	server := fs.String("server", envOr("RISKMAP_SERVER", "http://localhost:8080"), "riskmap server: the sensor list, and the readings over HTTP (env RISKMAP_SERVER)")
	token := fs.String("token", os.Getenv("RISKMAP_WRITE_TOKEN"), "write token (env RISKMAP_WRITE_TOKEN)")
	mqttURL := fs.String("mqtt-url", envOr("RISKMAP_MQTT_URL", "tcp://127.0.0.1:1883"), "MQTT broker; user:password@ in the URL are used (env RISKMAP_MQTT_URL)")
	duration := fs.Duration("duration", 0, "simulated time to run (default: the scenario's length)")
	seed := fs.Uint64("seed", 1, "seed of the noise and of which slopes creep: the same seed, the same readings")
	batch := fs.Int("batch", 5000, "readings per HTTP request, or per round of MQTT messages (at most 10000)")
	progress := fs.Duration("progress", 5*time.Second, "how often to print progress")
	if code, ok := parse(fs, args, stdout); !ok {
		return code
	}
	sc, ok := sim.ScenarioByName(*scenario)
	if !ok {
		fmt.Fprintf(stderr, "riskmap simulate: unknown scenario %q (have %s)\n", *scenario, strings.Join(sim.ScenarioNames(), ", "))
		return 2
	}
	x, err := parseSpeed(*speed)
	if err != nil {
		fmt.Fprintf(stderr, "riskmap simulate: --speed: %v\n", err)
		return 2
	}
	if *useMQTT && *useHTTP {
		fmt.Fprintln(stderr, "riskmap simulate: --mqtt and --http contradict each other")
		return 2
	}
	if *duration < 0 || *batch < 1 || *batch > drill.MaxHTTPBatch || *progress <= 0 {
		fmt.Fprintln(stderr, "riskmap simulate: --duration must not be negative, --batch within 1–10000, --progress positive")
		return 2
	}
	if *duration == 0 {
		*duration = sc.Duration
	}

	client := &http.Client{Timeout: 30 * time.Second}
	sensors, skipped, err := drill.FetchSensors(ctx, client, *server, *token)
	if err != nil {
		fmt.Fprintf(stderr, "riskmap simulate: %v\n", err)
		return 1
	}
	m, err := sim.New(sc, sensors, *seed)
	if err != nil {
		fmt.Fprintf(stderr, "riskmap simulate: %v\n", err)
		return 1
	}
	for _, s := range m.Skipped() {
		skipped = append(skipped, fmt.Sprintf("%s (id %d): kind %q or range [%v, %v] not simulated", s.ExternalID, s.ID, s.Kind, s.RangeMin, s.RangeMax))
	}
	for i, s := range skipped {
		if i == 5 {
			fmt.Fprintf(stdout, "  ... and %d more\n", len(skipped)-5)
			break
		}
		fmt.Fprintf(stdout, "  skipped %s\n", s)
	}

	var pub drill.Publisher
	target := "POST " + strings.TrimRight(*server, "/") + "/api/v1/readings"
	if *useMQTT {
		q, err := drill.DialMQTT(ctx, *mqttURL, fmt.Sprintf("riskmap-simulate-%d", os.Getpid()))
		if err != nil {
			fmt.Fprintf(stderr, "riskmap simulate: %v\n", err)
			return 1
		}
		pub = q
		target = "MQTT " + redactURL(*mqttURL) + " " + drill.TopicPrefix + "<external_id>"
	} else {
		pub = &drill.HTTP{Server: *server, Token: *token, Client: client}
	}
	defer pub.Close()

	fmt.Fprintf(stdout, "drill %q: %s\n", sc.Name, sc.Description)
	fmt.Fprintf(stdout, "%d sensors, %v simulated at %gx (%v real), seed %d, drill readings to %s\n",
		len(m.Sensors()), *duration, x, time.Duration(float64(*duration)/x).Round(time.Second), *seed, target)
	st, err := drill.Run(ctx, m, pub, drill.Config{Speed: x, Duration: *duration, Progress: *progress, MaxBatch: *batch, Out: stdout})
	fmt.Fprintf(stdout, "total: %d readings generated, %d sent, %d rejected, %d unsent, %d failed attempts; %v simulated in %v\n",
		st.Generated, st.Sent, st.Rejected, st.Unsent, st.Failures, st.SimTime.Truncate(time.Second), st.Elapsed.Round(time.Millisecond))
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "riskmap simulate: %v\n", err)
		return 1
	case st.Rejected > 0 || st.Unsent > 0:
		fmt.Fprintf(stderr, "riskmap simulate: %d readings rejected, %d not sent\n", st.Rejected, st.Unsent)
		return 1
	case st.Interrupted:
		fmt.Fprintln(stdout, "interrupted")
	}
	return 0
}

// parseSpeed reads "60x" or "60": a factor from 1 to 10,000 (beyond, readings of
// one sensor would fall within the same microsecond of wall-clock time).
func parseSpeed(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "x"), 64)
	if err != nil {
		return 0, errors.New("want a factor such as 60x")
	}
	if !(v >= 1 && v <= 10000) {
		return 0, fmt.Errorf("%gx is outside 1x–10000x", v)
	}
	return v, nil
}

// redactURL hides a password in a URL for printing.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if user, _, hasPw := strings.Cut(rest[:at], ":"); hasPw {
			return scheme + "://" + user + ":***@" + rest[at+1:]
		}
	}
	return u
}
