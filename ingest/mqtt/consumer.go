// Package mqtt consumes sensor readings from an MQTT broker (eclipse/paho.golang,
// MQTT 5) into the ingest service: QoS 1 on a persistent session, and a message is
// acknowledged (PUBACK) only once its readings are durable — committed to the
// database, or, while the database is unavailable, written to the local spool
// (package ingest/spool, fsync'd) that a drainer empties into the database when
// it is back. A message not acknowledged when the process stops is redelivered by
// the broker to the next session with the same client id; readings are idempotent
// on (sensor, drill, time), so a redelivery stores nothing twice.
//
// MQTT 5 rather than 3.1.1 because of flow control: a broker sends a 3.1.1
// client at most a fixed number of unacknowledged QoS 1 messages (Mosquitto: 20),
// so a consumer that acknowledges after storing gets at most 20 messages per
// database commit, and a fast publisher then overflows the broker's queue for the
// client (Mosquitto drops beyond max_queued_messages, 1,000) — losing exactly what
// QoS 1 was meant to keep. An MQTT 5 client announces its own Receive Maximum
// (ReceiveMaximum here), so whole batches are in flight at once.
//
// Messages are stored in batches (one transaction for up to BatchSize readings or
// BatchWait), which is what lets one consumer keep up with thousands of readings
// a second. Payloads are ingest.ParseReadings JSON: one reading object or an
// array. A malformed payload, or a reading the service rejects (unknown sensor,
// impossible value), is logged, counted and acknowledged — retrying it cannot
// succeed — and never stops the consumer.
package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"riskmap/ingest"
	"riskmap/ingest/spool"
	"riskmap/sensors"
)

// Service is what the consumer needs of the ingest service.
type Service interface {
	Validate(rs []sensors.Reading) error
	Observe(rs []sensors.Reading)
	CountAccepted(n int)
}

// Store stores readings (store/postgis).
type Store interface {
	InsertReadings(ctx context.Context, rs []sensors.Reading) (int, error)
}

// Config configures a Consumer. URL, ClientID, Service, Store and Spool are
// required.
type Config struct {
	// URL is the broker, e.g. tcp://127.0.0.1:1883.
	URL string
	// ClientID names the persistent session: keep it stable across restarts, or
	// the broker forgets what it queued for the previous one.
	ClientID string
	// Topic is the subscription filter (default "riskmap/readings/#").
	Topic   string
	Service Service
	Store   Store
	Spool   *spool.Spool
	// BatchSize is the most readings stored in one transaction (default 5,000);
	// BatchWait the longest a batch waits for more messages once it has one
	// (default 10 ms; it closes earlier after 1 ms without a message).
	BatchSize int
	BatchWait time.Duration
	// SessionExpiry is how long the broker keeps the session (subscription and
	// queued messages) while the consumer is away (default 7 days, at most
	// ~136 years).
	SessionExpiry time.Duration
	Logger        *slog.Logger
}

// Stats are the consumer's counters since start.
type Stats struct {
	Messages  int64 `json:"messages"`  // messages received
	Malformed int64 `json:"malformed"` // messages whose payload did not parse
	Rejected  int64 `json:"rejected"`  // readings the service rejected
	Stored    int64 `json:"stored"`    // readings committed to the database directly
	Spooled   int64 `json:"spooled"`   // readings written to the spool
	Drained   int64 `json:"drained"`   // spooled readings since stored in the database
	Connected bool  `json:"connected"`
	// Subscribed: the broker has acknowledged the subscription on the current
	// connection (from then on the session keeps what is published while away).
	Subscribed bool `json:"subscribed"`
	SpoolLen   int  `json:"spool_segments"`
}

// Consumer consumes readings from MQTT.
type Consumer struct {
	cfg  Config
	log  *slog.Logger
	msgs chan inbound

	connected, subscribed                                 atomic.Bool
	messages, malformed, rejected, stored, spooled, drain atomic.Int64
	drainNow                                              chan struct{}
}

// New checks cfg and returns a consumer; Run starts it.
func New(cfg Config) (*Consumer, error) {
	if cfg.URL == "" || cfg.ClientID == "" || cfg.Service == nil || cfg.Store == nil || cfg.Spool == nil {
		return nil, errors.New("mqtt: URL, ClientID, Service, Store and Spool are required")
	}
	if cfg.Topic == "" {
		cfg.Topic = "riskmap/readings/#"
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 5000
	}
	if cfg.BatchWait <= 0 {
		cfg.BatchWait = 10 * time.Millisecond
	}
	if cfg.SessionExpiry <= 0 {
		cfg.SessionExpiry = DefaultSessionExpiry
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Consumer{cfg: cfg, log: cfg.Logger, msgs: make(chan inbound, 4096), drainNow: make(chan struct{}, 1)}, nil
}

// Stats returns the counters.
func (c *Consumer) Stats() Stats {
	return Stats{Messages: c.messages.Load(), Malformed: c.malformed.Load(), Rejected: c.rejected.Load(),
		Stored: c.stored.Load(), Spooled: c.spooled.Load(), Drained: c.drain.Load(),
		Connected: c.connected.Load(), Subscribed: c.subscribed.Load(), SpoolLen: c.cfg.Spool.Len()}
}

// Run connects (retrying until the broker answers), consumes until ctx ends, then
// disconnects. Messages received but not yet durable when ctx ends are not
// acknowledged: the broker redelivers them to the next session.
func (c *Consumer) Run(ctx context.Context) error {
	u, err := url.Parse(c.cfg.URL)
	if err != nil {
		return fmt.Errorf("mqtt: broker URL: %w", err)
	}
	if u.Scheme == "tcp" {
		u.Scheme = "mqtt"
	}
	recvMax := uint16(ReceiveMaximum)
	connCtx, stopConn := context.WithCancel(context.WithoutCancel(ctx))
	defer stopConn()
	cm, err := autopaho.NewConnection(connCtx, autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{u},
		KeepAlive:                     30,
		CleanStartOnInitialConnection: false,
		SessionExpiryInterval:         uint32(min(c.cfg.SessionExpiry/time.Second, 1<<32-1)),
		ReconnectBackoff:              autopaho.NewExponentialBackoff(100*time.Millisecond, 5*time.Second, 500*time.Millisecond, 2),
		ConnectPacketBuilder: func(cp *paho.Connect, _ *url.URL) (*paho.Connect, error) {
			if cp.Properties == nil {
				cp.Properties = &paho.ConnectProperties{}
			}
			cp.Properties.ReceiveMaximum = &recvMax
			return cp, nil
		},
		OnConnectionUp: func(cm *autopaho.ConnectionManager, _ *paho.Connack) {
			c.connected.Store(true)
			c.log.Info("mqtt: connected", "broker", c.cfg.URL, "client_id", c.cfg.ClientID)
			// The persistent session keeps the subscription; subscribing again is
			// harmless and covers a broker that lost its state.
			go func() {
				sctx, cancel := context.WithTimeout(connCtx, 10*time.Second)
				defer cancel()
				if _, err := cm.Subscribe(sctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{
					{Topic: c.cfg.Topic, QoS: 1}}}); err != nil {
					c.log.Error("mqtt: subscribe", "topic", c.cfg.Topic, "err", err)
					return
				}
				c.subscribed.Store(true)
			}()
		},
		OnConnectionDown: func() bool {
			c.connected.Store(false)
			c.subscribed.Store(false)
			c.log.Warn("mqtt: connection lost")
			return true
		},
		OnConnectError: func(err error) { c.log.Warn("mqtt: connecting", "broker", c.cfg.URL, "err", err) },
		ClientConfig: paho.ClientConfig{
			ClientID:                   c.cfg.ClientID,
			EnableManualAcknowledgment: true,
			SendAcksInterval:           2 * time.Millisecond,
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){
				func(pr paho.PublishReceived) (bool, error) {
					c.messages.Add(1)
					select {
					case c.msgs <- inbound{pkt: pr.Packet, cl: pr.Client}:
					case <-connCtx.Done():
					}
					return true, nil
				},
			},
		},
	})
	if err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); c.drainer(runCtx) }()
	c.batcher(ctx)
	cancel()
	wg.Wait()
	dctx, cancelD := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	_ = cm.Disconnect(dctx)
	cancelD()
	stopConn()
	<-cm.Done()
	c.connected.Store(false)
	return nil
}

// ReceiveMaximum is how many unacknowledged messages the consumer lets the broker
// send it at once; DefaultSessionExpiry is Config.SessionExpiry's default.
const (
	ReceiveMaximum       = 65535
	DefaultSessionExpiry = 7 * 24 * time.Hour
)

// inbound is a received message and the connection it came on (its
// acknowledgement goes there).
type inbound struct {
	pkt *paho.Publish
	cl  *paho.Client
}

func (m inbound) ack() { _ = m.cl.Ack(m.pkt) }

// pending is a message with its parsed readings.
type pending struct {
	msg inbound
	rs  []sensors.Reading
}

// batcher collects messages into batches and stores each, until ctx ends.
func (c *Consumer) batcher(ctx context.Context) {
	for {
		var batch []pending
		n := 0
		select {
		case <-ctx.Done():
			return
		case m := <-c.msgs:
			batch, n = c.add(batch, n, m)
		}
		// The batch closes at BatchSize readings, after BatchWait, or as soon as
		// no message has come for a millisecond: the broker sends a client only
		// so many unacknowledged messages (Mosquitto: 20), so once they are here
		// waiting longer only delays their acknowledgement and the next ones.
		deadline := time.NewTimer(c.cfg.BatchWait)
		idle := time.NewTimer(time.Millisecond)
	collect:
		for n < c.cfg.BatchSize {
			select {
			case m := <-c.msgs:
				batch, n = c.add(batch, n, m)
				idle.Reset(time.Millisecond)
			case <-idle.C:
				break collect
			case <-deadline.C:
				break collect
			case <-ctx.Done():
				deadline.Stop()
				idle.Stop()
				return
			}
		}
		deadline.Stop()
		idle.Stop()
		if !c.store(ctx, batch) {
			return
		}
	}
}

// add parses m into the batch; a malformed payload is acknowledged and dropped.
func (c *Consumer) add(batch []pending, n int, m inbound) ([]pending, int) {
	rs, err := ingest.ParseReadings(m.pkt.Payload)
	if err != nil {
		c.malformed.Add(1)
		c.log.Warn("mqtt: malformed payload dropped", "topic", m.pkt.Topic, "bytes", len(m.pkt.Payload), "err", err)
		m.ack()
		return batch, n
	}
	return append(batch, pending{msg: m, rs: rs}), n + len(rs)
}

// store makes the batch durable and acknowledges its messages; false when ctx
// ended first (nothing acknowledged).
func (c *Consumer) store(ctx context.Context, batch []pending) bool {
	if len(batch) == 0 {
		return true
	}
	var all []sensors.Reading
	for _, p := range batch {
		all = append(all, p.rs...)
	}
	backoff := 100 * time.Millisecond
	wait := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
		return true
	}
	// Validate: drop what can never be stored; wait while the service starts.
	for {
		err := c.validate(all)
		var be *ingest.BatchError
		switch {
		case err == nil:
		case errors.As(err, &be):
			all = c.dropRejected(all, be)
		case errors.Is(err, ingest.ErrNotReady):
			if !wait() {
				return false
			}
			continue
		default:
			c.log.Error("mqtt: validate", "err", err)
			if !wait() {
				return false
			}
			continue
		}
		break
	}
	// Store, or spool while the database is unavailable.
	for len(all) > 0 {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := c.cfg.Store.InsertReadings(sctx, all)
		cancel()
		if err == nil {
			c.stored.Add(int64(len(all)))
			break
		}
		if ctx.Err() != nil {
			return false
		}
		if serr := c.cfg.Spool.Append(all); serr == nil {
			c.spooled.Add(int64(len(all)))
			c.log.Warn("mqtt: database unavailable, readings spooled", "readings", len(all), "err", err)
			select {
			case c.drainNow <- struct{}{}:
			default:
			}
			break
		} else {
			c.log.Error("mqtt: cannot store nor spool readings; retrying", "db_err", err, "spool_err", serr)
		}
		if !wait() {
			return false
		}
	}
	if len(all) > 0 {
		c.cfg.Service.CountAccepted(len(all))
		c.cfg.Service.Observe(all)
	}
	for _, p := range batch {
		p.msg.ack()
	}
	return true
}

// validate validates all in chunks of at most ingest.MaxBatch; a *BatchError's
// rows index all.
func (c *Consumer) validate(all []sensors.Reading) error {
	var rows []ingest.RowError
	for off := 0; off < len(all); off += ingest.MaxBatch {
		err := c.cfg.Service.Validate(all[off:min(off+ingest.MaxBatch, len(all))])
		var be *ingest.BatchError
		switch {
		case err == nil:
		case errors.As(err, &be):
			for _, r := range be.Rows {
				r.Row += off
				rows = append(rows, r)
			}
		default:
			return err
		}
	}
	if len(rows) > 0 {
		return &ingest.BatchError{Rows: rows}
	}
	return nil
}

// dropRejected removes the rows be names from all (rows index all).
func (c *Consumer) dropRejected(all []sensors.Reading, be *ingest.BatchError) []sensors.Reading {
	bad := make(map[int]bool, len(be.Rows))
	for i, r := range be.Rows {
		bad[r.Row] = true
		if i < 3 {
			c.log.Warn("mqtt: reading rejected", "row", r.Row, "sensor", r.SensorID, "reason", r.Reason, "err", r.Message)
		}
	}
	c.rejected.Add(int64(len(bad)))
	kept := all[:0:0]
	for i, r := range all {
		if !bad[i] {
			kept = append(kept, r)
		}
	}
	return kept
}

// drainer empties the spool into the database: at once when a batch was spooled
// (after a pause) and every second while segments remain.
func (c *Consumer) drainer(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-c.drainNow:
			continue // the database just failed: the next tick retries
		}
		if c.cfg.Spool.Len() == 0 {
			continue
		}
		n, err := c.cfg.Spool.Drain(ctx, func(ctx context.Context, rs []sensors.Reading) error {
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			_, err := c.cfg.Store.InsertReadings(sctx, rs)
			return err
		})
		c.drain.Add(int64(n))
		if n > 0 {
			c.log.Info("mqtt: spooled readings stored", "readings", n)
		}
		if err != nil && ctx.Err() == nil {
			c.log.Warn("mqtt: draining the spool", "err", fmt.Sprint(err))
		}
	}
}
