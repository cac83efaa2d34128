package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Row is one reading as published: {"sensor_id", "time", "value", "drill"}.
type Row struct {
	SensorID int64     `json:"sensor_id"`
	Time     time.Time `json:"time"`
	Value    float64   `json:"value"`
	Drill    bool      `json:"drill"`
	// ExternalID names the MQTT topic; it is not part of the payload.
	ExternalID string `json:"-"`
}

// Publisher sends rows to the server. Publish returns the rows that were not
// accepted (nil when all were) and why: an error wrapping ErrRejected (the server
// refused them as invalid: sending them again would not help), ErrFatal (nothing
// will be accepted: wrong token, wrong server), or any other error, after which
// the rows may be sent again — the server stores a reading once per (sensor,
// drill, time), so a repeat is harmless.
type Publisher interface {
	Publish(ctx context.Context, rows []Row) (failed []Row, err error)
	Close()
}

// Errors of Publish that are not worth a retry.
var (
	ErrRejected = errors.New("rejected by the server")
	ErrFatal    = errors.New("cannot publish")
)

// MaxHTTPBatch is the largest batch POST /api/v1/readings takes.
const MaxHTTPBatch = 10000

// HTTP posts batches to POST {Server}/api/v1/readings.
type HTTP struct {
	Server string
	Token  string
	Client *http.Client
}

// Publish posts rows (at most MaxHTTPBatch) as one batch: all are committed, or
// none.
func (h *HTTP) Publish(ctx context.Context, rows []Row) ([]Row, error) {
	if len(rows) > MaxHTTPBatch {
		return rows, fmt.Errorf("%w: a batch of %d readings, at most %d", ErrFatal, len(rows), MaxHTTPBatch)
	}
	body, err := json.Marshal(rows)
	if err != nil {
		return rows, fmt.Errorf("%w: %w", ErrFatal, err)
	}
	url := strings.TrimRight(h.Server, "/") + "/api/v1/readings"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return rows, fmt.Errorf("%w: %w", ErrFatal, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if h.Token != "" {
		req.Header.Set("Authorization", "Bearer "+h.Token)
	}
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return rows, fmt.Errorf("POST %s: %w", url, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil, nil
	case retryableStatus(resp.StatusCode):
		return rows, fmt.Errorf("POST %s: %s: %s", url, resp.Status, errorMessage(msg))
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnprocessableEntity:
		return rows, fmt.Errorf("%w: POST %s: %s: %s", ErrRejected, url, resp.Status, errorMessage(msg))
	default:
		return rows, fmt.Errorf("%w: POST %s: %s: %s", ErrFatal, url, resp.Status, errorMessage(msg))
	}
}

// Close does nothing.
func (h *HTTP) Close() {}

// MQTT publishes each sensor's rows to riskmap/readings/<external id> at QoS 1; a
// row counts as accepted once the broker has acknowledged its message.
//
// It does not let the client reconnect by itself: when the connection drops, the
// messages in flight fail and come back as failed rows, and the next Publish
// connects again. Run's retry is then the one way anything is sent twice (paho's
// own resending after an automatic reconnect races with its writer:
// eclipse-paho/paho.mqtt.golang#703).
type MQTT struct {
	url, clientID string
	client        mqtt.Client
	// AckTimeout is how long Publish waits for the broker's acknowledgement of a
	// message before counting it failed (to be sent again).
	AckTimeout time.Duration
	// Prefix replaces TopicPrefix as the prefix of the topics published to, when
	// not empty (a test's own topic tree, say); it should end in '/'.
	Prefix string
}

// TopicPrefix is the prefix of the topics readings are published to.
const TopicPrefix = "riskmap/readings/"

// Topic is the topic of a sensor's readings: TopicPrefix and its external id, with
// the characters that cannot appear in an MQTT topic name ('+', '#', '/') as '_'.
func Topic(externalID string) string {
	return topicUnder(TopicPrefix, externalID)
}

// Topic is the topic q publishes a sensor's readings to: Topic(externalID), or
// the same under q.Prefix when that is set.
func (q *MQTT) Topic(externalID string) string {
	if q.Prefix != "" {
		return topicUnder(q.Prefix, externalID)
	}
	return Topic(externalID)
}

func topicUnder(prefix, externalID string) string {
	return prefix + strings.Map(func(r rune) rune {
		switch r {
		case '+', '#', '/':
			return '_'
		}
		return r
	}, externalID)
}

// DialMQTT connects to the broker at url (tcp://host:1883, ssl://..., ws://...;
// user and password in the URL are used) as clientID, with a clean session.
func DialMQTT(ctx context.Context, url, clientID string) (*MQTT, error) {
	q := &MQTT{url: url, clientID: clientID, AckTimeout: 15 * time.Second}
	if err := q.connect(ctx); err != nil {
		return nil, err
	}
	return q, nil
}

func (q *MQTT) connect(ctx context.Context) error {
	if q.client != nil {
		q.client.Disconnect(0)
	}
	opts := mqtt.NewClientOptions().AddBroker(q.url).SetClientID(q.clientID).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectTimeout(10 * time.Second).SetKeepAlive(30 * time.Second).
		SetOrderMatters(false).SetWriteTimeout(5 * time.Second)
	c := mqtt.NewClient(opts)
	tok := c.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		c.Disconnect(0)
		return ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("drill: connect to MQTT broker %s: %w", q.url, err)
	}
	q.client = c
	return nil
}

// Publish sends one message per sensor — an object for one row, an array for
// several — and waits for every acknowledgement; the rows of messages that failed
// or were not acknowledged in time are returned, to be sent again.
func (q *MQTT) Publish(ctx context.Context, rows []Row) ([]Row, error) {
	if q.client == nil || !q.client.IsConnectionOpen() {
		if err := q.connect(ctx); err != nil {
			return rows, err
		}
	}
	type msg struct {
		rows []Row
		tok  mqtt.Token
	}
	var order []string
	groups := map[string][]Row{}
	for _, r := range rows {
		if _, ok := groups[r.ExternalID]; !ok {
			order = append(order, r.ExternalID)
		}
		groups[r.ExternalID] = append(groups[r.ExternalID], r)
	}
	msgs := make([]msg, 0, len(order))
	for _, ext := range order {
		g := groups[ext]
		var payload []byte
		var err error
		if len(g) == 1 {
			payload, err = json.Marshal(g[0])
		} else {
			payload, err = json.Marshal(g)
		}
		if err != nil {
			return rows, fmt.Errorf("%w: %w", ErrFatal, err)
		}
		msgs = append(msgs, msg{rows: g, tok: q.client.Publish(q.Topic(ext), 1, false, payload)})
	}
	deadline := time.NewTimer(q.AckTimeout)
	defer deadline.Stop()
	var failed []Row
	var firstErr error
	expired := false
	for _, m := range msgs {
		if !expired {
			select {
			case <-m.tok.Done():
			case <-deadline.C:
				expired = true
			case <-ctx.Done():
				expired = true
			}
		}
		var err error
		select {
		case <-m.tok.Done():
			err = m.tok.Error()
		default:
			err = fmt.Errorf("no acknowledgement within %v", q.AckTimeout)
			if ctx.Err() != nil {
				err = ctx.Err()
			}
		}
		if err != nil {
			failed = append(failed, m.rows...)
			if firstErr == nil {
				firstErr = fmt.Errorf("MQTT publish to %s: %w", q.Topic(m.rows[0].ExternalID), err)
			}
		}
	}
	return failed, firstErr
}

// Close disconnects, letting in-flight work finish for up to a second.
func (q *MQTT) Close() {
	if q.client != nil {
		q.client.Disconnect(1000)
	}
}
