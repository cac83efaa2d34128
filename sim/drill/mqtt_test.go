package drill

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"riskmap/internal/sensortest"
)

// The MQTT tests talk to the real broker at sensortest.MQTTURL, under a topic tree
// and client ids of their own (pid and time), so that parallel runs and other
// tests on the same broker do not see each other's messages.

// testSuffix makes a test's topics and client ids unique on the shared broker.
func testSuffix() string {
	return fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
}

// testPrefix is a topic prefix of the test's own, outside riskmap/readings/ so
// that no riskmap server consuming the broker takes the test's readings.
func testPrefix(suffix string) string {
	return "riskmap-test/drill/" + suffix + "/"
}

// received is a message delivered to a subscriber.
type received struct {
	topic   string
	qos     byte
	payload []byte
}

// subscriber records what the broker delivers for a topic filter, at QoS 1.
type subscriber struct {
	mu   sync.Mutex
	msgs []received
}

// subscribe connects to the broker at brokerURL (directly, not through a proxy)
// and subscribes to filter at QoS 1, returning once the broker has granted it.
func subscribe(t *testing.T, brokerURL, clientID, filter string) *subscriber {
	t.Helper()
	s := &subscriber{}
	opts := mqtt.NewClientOptions().AddBroker(brokerURL).SetClientID(clientID).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectTimeout(10 * time.Second).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			t.Errorf("subscriber %s lost its connection (messages may be missed): %v", clientID, err)
		})
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber: connect to %s: %v", brokerURL, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(250) })
	tok := c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		s.mu.Lock()
		s.msgs = append(s.msgs, received{topic: m.Topic(), qos: m.Qos(), payload: append([]byte(nil), m.Payload()...)})
		s.mu.Unlock()
	})
	if !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber: subscribe to %s: %v", filter, tok.Error())
	}
	if st, ok := tok.(*mqtt.SubscribeToken); ok {
		if q := st.Result()[filter]; q != 1 {
			t.Fatalf("subscriber: the broker granted QoS %d for %s, want 1", q, filter)
		}
	}
	return s
}

// messages is a copy of what was delivered so far.
func (s *subscriber) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

// proxy is a TCP proxy between MQTT clients and the real broker, for fault
// injection in the network: it forwards whole MQTT packets both ways, and can cut
// every connection after the client side has sent a given number of PUBLISH
// packets (refusing new connections for a while after), or swallow the broker's
// PUBACKs.
type proxy struct {
	t      *testing.T
	ln     net.Listener
	broker string // host:port of the broker
	url    string // the broker URL with the proxy's address

	// cutAt > 0: once the cutAt-th PUBLISH from a client has been forwarded to
	// the broker, every proxied connection is closed; then new connections are
	// closed on arrival for refuseFor from the first one (a broker restarting).
	cutAt     int
	refuseFor time.Duration
	// dropAcks: PUBACK packets from the broker are not forwarded to the client.
	dropAcks bool

	mu          sync.Mutex
	conns       map[net.Conn]bool
	refusing    bool      // cut, and not accepting again yet
	refuseUntil time.Time // when refusing: the end of the refusal, from the first refused connection
	accepted    int       // connections forwarded to the broker
	refused     int       // connections closed on arrival
	publishes   int       // PUBLISH packets forwarded to the broker
	droppedAcks int
	cuts        int
	wg          sync.WaitGroup
}

// newProxy starts a proxy to the broker of brokerURL (tcp:// only). Set its
// fields before the first client connects.
func newProxy(t *testing.T, brokerURL string) *proxy {
	t.Helper()
	u, err := url.Parse(brokerURL)
	if err != nil {
		t.Fatalf("%s %q: %v", sensortest.MQTTEnvVar, brokerURL, err)
	}
	if u.Scheme != "tcp" && u.Scheme != "mqtt" {
		t.Fatalf("%s %q: the fault-injecting proxy speaks plain TCP only (tcp://host:port)", sensortest.MQTTEnvVar, brokerURL)
	}
	broker := u.Host
	if u.Port() == "" {
		broker = net.JoinHostPort(u.Hostname(), "1883")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pu := *u
	pu.Scheme, pu.Host = "tcp", ln.Addr().String()
	p := &proxy{t: t, ln: ln, broker: broker, url: pu.String(), conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.refusing && p.refuseUntil.IsZero() {
			p.refuseUntil = time.Now().Add(p.refuseFor)
		}
		refuse := p.refusing && time.Now().Before(p.refuseUntil)
		if refuse {
			p.refused++
		} else {
			p.refusing = false
		}
		p.mu.Unlock()
		if refuse {
			c.Close()
			continue
		}
		b, err := net.DialTimeout("tcp", p.broker, 5*time.Second)
		if err != nil {
			p.t.Errorf("proxy: dial the broker %s: %v", p.broker, err)
			c.Close()
			continue
		}
		p.mu.Lock()
		p.accepted++
		p.conns[c], p.conns[b] = true, true
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(b, c, true)
		go p.pipe(c, b, false)
	}
}

// pipe forwards packets from src to dst until either fails, then closes both.
func (p *proxy) pipe(dst, src net.Conn, toBroker bool) {
	defer p.wg.Done()
	defer func() {
		src.Close()
		dst.Close()
		p.mu.Lock()
		delete(p.conns, src)
		delete(p.conns, dst)
		p.mu.Unlock()
	}()
	r := bufio.NewReader(src)
	for {
		pkt, err := readPacket(r)
		if err != nil {
			if errors.Is(err, errMalformed) {
				p.t.Errorf("proxy: %v", err)
			}
			return
		}
		kind := pkt[0] >> 4
		if !toBroker && kind == pubackType && p.dropAcks {
			p.mu.Lock()
			p.droppedAcks++
			p.mu.Unlock()
			continue
		}
		if _, err := dst.Write(pkt); err != nil {
			return
		}
		if toBroker && kind == publishType {
			p.mu.Lock()
			p.publishes++
			cut := p.publishes == p.cutAt
			p.mu.Unlock()
			if cut {
				p.cut()
			}
		}
	}
}

// cut closes every proxied connection and has new ones refused for a while.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cuts++
	p.refusing, p.refuseUntil = true, time.Time{}
	for c := range p.conns {
		c.Close()
	}
}

// MQTT control packet types (the high nibble of a packet's first byte).
const (
	publishType = 3
	pubackType  = 4
)

var errMalformed = errors.New("malformed MQTT packet")

// readPacket reads one MQTT control packet, whole: the fixed header (type and
// flags, then the remaining length in 1 to 4 bytes of 7 bits, low first, the top
// bit set on all but the last) and the rest.
func readPacket(r *bufio.Reader) ([]byte, error) {
	first, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	pkt := []byte{first}
	n, shift := 0, 0
	for {
		b, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		pkt = append(pkt, b)
		n |= int(b&0x7f) << shift
		if b&0x80 == 0 {
			break
		}
		shift += 7
		if shift == 28 {
			return nil, fmt.Errorf("%w: remaining length longer than 4 bytes", errMalformed)
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return append(pkt, body...), nil
}

func TestReadPacket(t *testing.T) {
	big := make([]byte, 321) // remaining length 321: 0xc1 0x02
	in := append([]byte{0x40, 0x02, 0x00, 0x07, 0x32, 0xc1, 0x02}, big...)
	in = append(in, 0xd0, 0x00)
	r := bufio.NewReader(bytes.NewReader(in))
	for i, want := range []int{4, 3 + 321, 2} {
		pkt, err := readPacket(r)
		if err != nil || len(pkt) != want {
			t.Fatalf("packet %d: %d bytes (%v), want %d", i, len(pkt), err, want)
		}
	}
	if _, err := readPacket(r); err != io.EOF {
		t.Errorf("at the end: %v, want EOF", err)
	}
	if _, err := readPacket(bufio.NewReader(bytes.NewReader([]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}))); !errors.Is(err, errMalformed) {
		t.Errorf("a 5-byte remaining length: %v", err)
	}
}
