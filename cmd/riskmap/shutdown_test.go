package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"riskmap/internal/pgtest"
	"riskmap/internal/sensortest"
)

// TestGracefulShutdown runs `riskmap serve` on PostGIS and sends it SIGTERM while
// a reading batch is half sent (its handler already reading the body), an event
// stream is open and readings are being posted. The listener closes at once (new
// connections are refused), the half-sent batch completes with 200, the MQTT
// consumer stops and disconnects (what it acknowledged is stored), the stream
// gets the shutdown event with its retry hint and then ends cleanly, every
// reading answered 200 is in the database after the exit, and the process exits
// 0 with "shutdown complete", within the grace period.
func TestGracefulShutdown(t *testing.T) {
	mqttURL := sensortest.MQTTURL(t)
	url := pgtest.NewDatabase(t)
	const sensors = 20
	st := sensortest.Seed(t, url, sensors)
	bin := buildBinary(t)
	const grace = 30 * time.Second
	suffix := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	topic := "riskmap/readings/shutdown-test-" + suffix
	p := startProc(t, bin, "", 90*time.Second, "--database-url", url, "--shutdown-grace", grace.String(),
		"--spool-dir", t.TempDir(), "--event-flush", "50ms", "--log-format", "json",
		"--mqtt-url", mqttURL, "--mqtt-topic", topic+"/#", "--mqtt-client-id", "riskmap-shutdown-test-"+suffix)
	addr := strings.TrimPrefix(p.Base, "http://")
	client := &http.Client{Timeout: 20 * time.Second}

	start := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	type key struct {
		sensor int64
		at     time.Time
	}
	batch := func(i int) ([]byte, []key) {
		var rs []map[string]any
		var ks []key
		for s := int64(1); s <= sensors; s++ {
			at := start.Add(time.Duration(i) * time.Second)
			rs = append(rs, map[string]any{"sensor_id": s, "time": at.Format(time.RFC3339), "value": float64(i%30) / 2})
			ks = append(ks, key{s, at})
		}
		b, _ := json.Marshal(rs)
		return b, ks
	}
	post := func(body []byte) (int, error) {
		req, _ := http.NewRequest(http.MethodPost, p.Base+"/api/v1/readings", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testWriteToken)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	sensortest.WaitFor(t, 60*time.Second, "ingest ready", func() bool {
		code, err := post([]byte("[]"))
		return err == nil && code == http.StatusOK
	})
	mqttStats := func() (subscribed bool, durable int64) {
		resp, err := client.Get(p.Base + "/api/v1/ingest/stats")
		if err != nil {
			return false, -1
		}
		defer resp.Body.Close()
		var st struct {
			MQTT struct {
				Subscribed      bool
				Stored, Spooled int64
			} `json:"mqtt"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&st)
		return st.MQTT.Subscribed, st.MQTT.Stored + st.MQTT.Spooled
	}
	sensortest.WaitFor(t, 60*time.Second, "MQTT subscribed", func() bool { ok, _ := mqttStats(); return ok })

	// The event stream, read line by line until it ends.
	sctx, cancelStream := context.WithCancel(context.Background())
	defer cancelStream()
	req, _ := http.NewRequestWithContext(sctx, http.MethodGet, p.Base+"/api/v1/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("events: %v %v", resp, err)
	}
	var streamLines []string
	streamEnd := make(chan error, 1)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			streamLines = append(streamLines, sc.Text())
		}
		streamEnd <- sc.Err() // nil: a clean end of the body
	}()

	// The slow batch: headers with Expect: 100-continue, so the "100 Continue"
	// proves its handler is running and reading the body; the body comes later.
	slowBody, slowKeys := batch(0)
	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "POST /api/v1/readings HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", addr, testWriteToken, len(slowBody))
	slowR := bufio.NewReader(slow)
	if line, err := slowR.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("slow request: %q %v; want 100 Continue", line, err)
	}
	if _, err := slowR.ReadString('\n'); err != nil { // the blank line after 100 Continue
		t.Fatal(err)
	}
	if _, err := slow.Write(slowBody[:len(slowBody)/2]); err != nil {
		t.Fatal(err)
	}

	// Readings posted without pause, from before SIGTERM until refused.
	var mu sync.Mutex
	var acked []key
	posted, stopPosting := make(chan struct{}), make(chan struct{})
	twoAcked := make(chan struct{})
	go func() {
		defer close(posted)
		for i := 1; ; i++ {
			select {
			case <-stopPosting:
				return
			default:
			}
			body, ks := batch(i)
			code, err := post(body)
			if err != nil {
				return // refused: the server has closed its listener
			}
			if code == http.StatusOK {
				mu.Lock()
				acked = append(acked, ks...)
				if len(acked) == 2*sensors {
					close(twoAcked)
				}
				mu.Unlock()
			}
		}
	}()
	// Readings over MQTT (QoS 1), one a message, from before SIGTERM on; their
	// times are apart from the HTTP ones (10 hours before).
	mqttFrom := start.Add(-10 * time.Hour)
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(mqttURL).SetClientID("riskmap-shutdown-pub-" + suffix))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher: %v", tok.Error())
	}
	defer pub.Disconnect(100)
	published := make(chan struct{})
	go func() {
		defer close(published)
		for i := 0; ; i++ {
			select {
			case <-stopPosting:
				return
			default:
			}
			s := int64(i%sensors + 1)
			payload, _ := json.Marshal(map[string]any{"sensor_id": s, "time": mqttFrom.Add(time.Duration(i) * time.Second).Format(time.RFC3339), "value": 1.5})
			pub.Publish(fmt.Sprintf("%s/%d", topic, s), 1, false, payload).WaitTimeout(10 * time.Second)
		}
	}()
	<-twoAcked
	// Wait until the consumer has made some readings durable (and acknowledged
	// them); those counted just before SIGTERM must be in the store after exit.
	var mqttDurable int64
	sensortest.WaitFor(t, 30*time.Second, "MQTT readings stored", func() bool { _, mqttDurable = mqttStats(); return mqttDurable >= 20 })

	sigAt := time.Now()
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// New connections are refused while the slow request is still in flight.
	sensortest.WaitFor(t, 10*time.Second, "connections refused", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	close(stopPosting)
	<-posted
	<-published

	// The slow request completes.
	if _, err := slow.Write(slowBody[len(slowBody)/2:]); err != nil {
		t.Fatalf("slow request, second half: %v", err)
	}
	slowResp, err := http.ReadResponse(slowR, nil)
	if err != nil {
		t.Fatalf("slow request: %v", err)
	}
	slowAnswer, _ := io.ReadAll(slowResp.Body)
	slowResp.Body.Close()
	if slowResp.StatusCode != http.StatusOK {
		t.Errorf("slow request: %d %s; want 200", slowResp.StatusCode, slowAnswer)
	}

	select {
	case err := <-streamEnd:
		if err != nil {
			t.Errorf("event stream ended with %v; want a clean end", err)
		}
	case <-time.After(grace):
		t.Fatal("event stream still open after the grace period")
	}
	// The stream's last event is the shutdown event with its retry hint.
	tail := strings.Join(streamLines[max(0, len(streamLines)-4):], "\n")
	if want := "retry: 3000\nevent: shutdown\ndata: {\"reason\":\"server_shutdown\",\"retry_ms\":3000}\n"; tail != want {
		t.Errorf("event stream ends with\n%s\nwant\n%s\n(whole stream: %q)", tail, want, streamLines)
	}

	select {
	case <-p.Exited():
	case <-time.After(grace + 10*time.Second):
		t.Fatalf("serve still running %v after SIGTERM", time.Since(sigAt))
	}
	took := time.Since(sigAt)
	if code := p.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if took > grace {
		t.Errorf("exit %v after SIGTERM, past the grace period %v", took, grace)
	}
	out := p.Output()
	if !strings.Contains(out, `"msg":"shutdown complete"`) || !strings.Contains(out, `"requests_cut":false`) {
		t.Errorf("no shutdown complete line without cut requests in the log:\n%s", out)
	}

	// Every reading answered 200 is stored.
	mu.Lock()
	want := append(acked, slowKeys...)
	mu.Unlock()
	rows, err := st.Pool().Query(context.Background(), "SELECT sensor_id, time FROM readings")
	if err != nil {
		t.Fatal(err)
	}
	stored := map[key]bool{}
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.sensor, &k.at); err != nil {
			t.Fatal(err)
		}
		stored[key{k.sensor, k.at.UTC()}] = true
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	missing := 0
	for _, k := range want {
		if !stored[k] {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged readings are not stored", missing, len(want))
	}
	var overMQTT int64
	for k := range stored {
		if k.at.Before(start) {
			overMQTT++
		}
	}
	if overMQTT < mqttDurable {
		t.Errorf("%d MQTT readings stored, but the consumer had acknowledged %d before SIGTERM", overMQTT, mqttDurable)
	}
	if strings.Contains(out, "mqtt: connection lost") {
		t.Errorf("the MQTT consumer lost its connection instead of disconnecting:\n%s", out)
	}
	t.Logf("SIGTERM → exit in %v; %d readings acknowledged over HTTP, %d of them stored; %d over MQTT before SIGTERM, %d stored", took.Round(time.Millisecond), len(want), len(want)-missing, mqttDurable, overMQTT)
}
