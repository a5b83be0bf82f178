package hubclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// keepAlive is the MQTT keep-alive the session announces; IoT Hub allows up to 29 minutes and its
// SDKs default to 4 minutes. A PINGREQ goes out at half of it.
const keepAlive = 4 * time.Minute

// twinResponseFilter is where IoT Hub answers twin requests.
const twinResponseFilter = "$iothub/twin/res/#"

// errClosed is what a request gets once the session has ended.
var errClosed = errors.New("hub: connection closed")

// session is one MQTT 3.1.1 session with the hub over an established TLS connection: packets are
// encoded and decoded by paho's packets package, and a reader goroutine hands acknowledgements
// and twin responses to the requests waiting for them. It does not reconnect: a dropped
// connection fails every request from then on with the reason, and the caller connects again.
type session struct {
	conn net.Conn

	writeMu sync.Mutex

	mu      sync.Mutex
	nextID  uint16
	nextRID int
	acks    map[uint16]chan struct{}
	twin    map[string]chan twinResponse
	err     error // why the session ended, once it has
	done    chan struct{}
}

// twinResponse is the hub's answer on $iothub/twin/res/{status}/?$rid={rid}[&$version={v}].
type twinResponse struct {
	status  int
	version int64
	body    []byte
}

// openSession sends CONNECT and waits for CONNACK, bounded by ctx. A refusal is the CONNACK's
// return code as paho's packets package names it (packets.ErrorRefusedNotAuthorised, …).
func openSession(ctx context.Context, conn net.Conn, clientID, username, password string) (*session, error) {
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	cp := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	cp.ProtocolName, cp.ProtocolVersion = "MQTT", 4
	cp.CleanSession = true
	cp.ClientIdentifier = clientID
	cp.UsernameFlag, cp.Username = true, username
	if password != "" {
		cp.PasswordFlag, cp.Password = true, []byte(password)
	}
	cp.Keepalive = uint16(keepAlive / time.Second)
	if err := cp.Write(conn); err != nil {
		return nil, ctxErr(ctx, fmt.Errorf("sending CONNECT: %w", err))
	}
	pk, err := packets.ReadPacket(conn)
	if err != nil {
		return nil, ctxErr(ctx, fmt.Errorf("reading CONNACK: %w", err))
	}
	ack, ok := pk.(*packets.ConnackPacket)
	if !ok {
		return nil, fmt.Errorf("the hub answered CONNECT with %s, not CONNACK", pk.String())
	}
	if ack.ReturnCode != packets.Accepted {
		if e, ok := packets.ConnErrors[ack.ReturnCode]; ok {
			return nil, e
		}
		return nil, fmt.Errorf("the hub refused the connection with return code %d", ack.ReturnCode)
	}
	if !stop() {
		return nil, ctx.Err()
	}
	_ = conn.SetDeadline(time.Time{})
	s := &session{conn: conn, acks: map[uint16]chan struct{}{}, twin: map[string]chan twinResponse{}, done: make(chan struct{})}
	go s.read()
	go s.ping()
	if err := s.subscribe(ctx, twinResponseFilter); err != nil {
		s.close(err)
		return nil, err
	}
	return s, nil
}

// ctxErr prefers the context's end over the I/O error it caused.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

func (s *session) write(p packets.ControlPacket) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return p.Write(s.conn)
}

// read dispatches what the hub sends until the connection ends.
func (s *session) read() {
	for {
		pk, err := packets.ReadPacket(s.conn)
		if err != nil {
			s.close(fmt.Errorf("%w: %v", errClosed, err))
			return
		}
		switch p := pk.(type) {
		case *packets.PubackPacket:
			s.acked(p.MessageID)
		case *packets.SubackPacket:
			s.acked(p.MessageID)
		case *packets.PublishPacket:
			if p.Qos == 1 {
				ack := packets.NewControlPacket(packets.Puback).(*packets.PubackPacket)
				ack.MessageID = p.MessageID
				if err := s.write(ack); err != nil {
					s.close(fmt.Errorf("%w: %v", errClosed, err))
					return
				}
			}
			s.deliver(p.TopicName, p.Payload)
		case *packets.PingrespPacket:
		default:
			s.close(fmt.Errorf("%w: the hub sent an unexpected %s", errClosed, pk.String()))
			return
		}
	}
}

// ping keeps the session alive while it is idle.
func (s *session) ping() {
	t := time.NewTicker(keepAlive / 2)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			if err := s.write(packets.NewControlPacket(packets.Pingreq)); err != nil {
				s.close(fmt.Errorf("%w: %v", errClosed, err))
				return
			}
		}
	}
}

func (s *session) acked(id uint16) {
	s.mu.Lock()
	ch := s.acks[id]
	delete(s.acks, id)
	s.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// deliver hands a twin response to the request that asked for it; anything else (desired
// property updates, cloud-to-device messages) is not asked for by this client and is dropped.
func (s *session) deliver(topic string, payload []byte) {
	rest, ok := strings.CutPrefix(topic, "$iothub/twin/res/")
	if !ok {
		return
	}
	status, query, _ := strings.Cut(rest, "/?")
	code, err := strconv.Atoi(status)
	if err != nil || len(status) != 3 || code < 100 || code > 599 {
		return // not an HTTP status as IoT Hub writes one
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return
	}
	res := twinResponse{status: code, body: payload}
	if v := q.Get("$version"); v != "" {
		res.version, _ = strconv.ParseInt(v, 10, 64)
	}
	s.mu.Lock()
	ch := s.twin[q.Get("$rid")]
	delete(s.twin, q.Get("$rid"))
	s.mu.Unlock()
	if ch != nil {
		ch <- res
	}
}

// close ends the session with err as the reason every waiting and later request gets.
func (s *session) close(err error) {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return
	}
	s.err = err
	close(s.done)
	s.mu.Unlock()
	_ = s.conn.Close()
}

func (s *session) ended() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// packetID reserves the next packet identifier (never 0) and the channel its acknowledgement
// closes.
func (s *session) packetID() (uint16, chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	if s.nextID == 0 {
		s.nextID = 1
	}
	ch := make(chan struct{})
	s.acks[s.nextID] = ch
	return s.nextID, ch
}

// await waits for ch, the session's end or ctx's, forgetting packet id on the way out.
func (s *session) await(ctx context.Context, id uint16, ch chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-s.done:
		return s.ended()
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.acks, id)
		s.mu.Unlock()
		return ctx.Err()
	}
}

func (s *session) subscribe(ctx context.Context, filter string) error {
	sp := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
	id, ch := s.packetID()
	sp.MessageID, sp.Topics, sp.Qoss = id, []string{filter}, []byte{0}
	if err := s.write(sp); err != nil {
		return fmt.Errorf("subscribing to %s: %w", filter, err)
	}
	return s.await(ctx, id, ch)
}

// publish sends payload to topic; at QoS 1 it returns once the hub acknowledged it.
func (s *session) publish(ctx context.Context, topic string, qos byte, payload []byte) error {
	if err := s.ended(); err != nil {
		return err
	}
	pp := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	pp.TopicName, pp.Qos, pp.Payload = topic, qos, payload
	if qos == 0 {
		return s.write(pp)
	}
	id, ch := s.packetID()
	pp.MessageID = id
	if err := s.write(pp); err != nil {
		return err
	}
	return s.await(ctx, id, ch)
}

// twinRequest publishes a twin request to prefix + "?$rid=…" and waits for its response.
func (s *session) twinRequest(ctx context.Context, prefix string, body []byte) (twinResponse, error) {
	s.mu.Lock()
	s.nextRID++
	rid := strconv.Itoa(s.nextRID)
	ch := make(chan twinResponse, 1)
	s.twin[rid] = ch
	s.mu.Unlock()
	forget := func() {
		s.mu.Lock()
		delete(s.twin, rid)
		s.mu.Unlock()
	}
	if err := s.publish(ctx, prefix+"?$rid="+rid, 0, body); err != nil {
		forget()
		return twinResponse{}, err
	}
	select {
	case res := <-ch:
		return res, nil
	case <-s.done:
		forget()
		return twinResponse{}, s.ended()
	case <-ctx.Done():
		forget()
		return twinResponse{}, ctx.Err()
	}
}

// disconnect says goodbye and ends the session.
func (s *session) disconnect() error {
	if s.ended() == nil {
		_ = s.conn.SetWriteDeadline(time.Now().Add(time.Second))
		_ = s.write(packets.NewControlPacket(packets.Disconnect))
	}
	s.close(errClosed)
	return nil
}
