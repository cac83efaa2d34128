package drill

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// broker is a minimal MQTT 3.1.1 broker for the tests: it accepts connections,
// acknowledges CONNECT, PUBLISH at QoS 1 and PINGREQ, and records what was
// published. It can close the connection instead of acknowledging one publish.
type broker struct {
	t  *testing.T
	ln net.Listener
	mu sync.Mutex
	// dropAfter > 0: the dropAfter-th publish is recorded but not acknowledged,
	// and its connection is closed (an acknowledgement lost with the connection);
	// then new connections are refused for refuseFor (a broker restarting).
	dropAfter   int
	noAck       bool // never acknowledge a publish
	refuseFor   time.Duration
	refuseUntil time.Time
	count       int
	conns       int
	msgs        []brokerMsg
}

type brokerMsg struct {
	topic   string
	qos     byte
	payload []byte
}

func newBroker(t *testing.T) *broker {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &broker{t: t, ln: ln}
	go b.serve()
	t.Cleanup(func() { ln.Close() })
	return b
}

func (b *broker) addr() string { return b.ln.Addr().String() }

func (b *broker) serve() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		refuse := time.Now().Before(b.refuseUntil)
		b.mu.Unlock()
		if refuse {
			c.Close()
			continue
		}
		b.mu.Lock()
		b.conns++
		b.mu.Unlock()
		go b.conn(c)
	}
}

func (b *broker) conn(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		head, err := r.ReadByte()
		if err != nil {
			return
		}
		n, err := remainingLength(r)
		if err != nil {
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		switch head >> 4 {
		case 1: // CONNECT
			c.Write([]byte{0x20, 0x02, 0x00, 0x00})
		case 3: // PUBLISH
			qos := head >> 1 & 3
			tl := int(binary.BigEndian.Uint16(body))
			topic := string(body[2 : 2+tl])
			rest := body[2+tl:]
			var id []byte
			if qos > 0 {
				id, rest = rest[:2], rest[2:]
			}
			b.mu.Lock()
			b.count++
			b.msgs = append(b.msgs, brokerMsg{topic: topic, qos: qos, payload: append([]byte(nil), rest...)})
			drop := b.count == b.dropAfter
			if drop {
				b.refuseUntil = time.Now().Add(b.refuseFor)
			}
			b.mu.Unlock()
			if drop {
				return
			}
			if qos == 1 && !b.noAck {
				c.Write([]byte{0x40, 0x02, id[0], id[1]})
			}
		case 12: // PINGREQ
			c.Write([]byte{0xD0, 0x00})
		case 14: // DISCONNECT
			return
		default:
			b.t.Errorf("broker: unexpected packet type %d", head>>4)
			return
		}
	}
}

// remainingLength reads MQTT's variable-length integer.
func remainingLength(r *bufio.Reader) (int, error) {
	n, mul := 0, 1
	for i := 0; i < 4; i++ {
		c, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		n += int(c&127) * mul
		if c&128 == 0 {
			return n, nil
		}
		mul *= 128
	}
	return 0, errors.New("malformed remaining length")
}
