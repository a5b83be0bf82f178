package hubserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// registryTimeout bounds one Registry look-up during a CONNECT.
const registryTimeout = 10 * time.Second

// hook plugs IoT Hub's authentication, ACL and topics into the MQTT broker.
type hook struct {
	mqtt.HookBase
	srv *Server
}

func (h *hook) ID() string { return "iothub" }

func (h *hook) Provides(b byte) bool {
	return bytes.Contains([]byte{
		mqtt.OnConnect,
		mqtt.OnConnectAuthenticate,
		mqtt.OnACLCheck,
		mqtt.OnSessionEstablished,
		mqtt.OnDisconnect,
		mqtt.OnPublish,
	}, []byte{b})
}

// OnConnect authenticates the device. A refusal is answered here with the CONNACK code IoT Hub
// uses (the broker's own refusal is always "bad username or password").
func (h *hook) OnConnect(cl *mqtt.Client, pk packets.Packet) error {
	s := h.srv
	var state *tls.ConnectionState
	if tc, ok := cl.Net.Conn.(*tls.Conn); ok {
		st := tc.ConnectionState()
		state = &st
	}
	ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
	defer cancel()
	sess, err := s.auth.authenticate(ctx, pk.Connect.ClientIdentifier, string(pk.Connect.Username), pk.Connect.Password, state)
	if err != nil {
		s.log.Warn("device refused", "client", truncate(cl.ID), "remote", cl.Net.Remote, "reason", err)
		_ = s.broker.SendConnack(cl, connackCode(err, cl.Properties.ProtocolVersion), false, nil)
		return err
	}
	s.mu.Lock()
	s.sessions[cl] = sess
	s.mu.Unlock()
	return nil
}

// connackCode is the CONNACK return code for a refusal. MQTT 3.1.1 codes are sent as they are
// (the broker's v5-to-v3 mapping has no "not authorized", and sends its own "bad username or
// password" as 5).
func connackCode(err error, protocolVersion byte) packets.Code {
	v5 := protocolVersion >= 5
	switch {
	case errors.Is(err, errBadCredentials) && v5:
		return packets.ErrBadUsernameOrPassword
	case errors.Is(err, errBadCredentials):
		return packets.ErrMalformedUsernameOrPassword // 4
	case errors.Is(err, errUnavailable) && v5:
		return packets.ErrServerUnavailable
	case errors.Is(err, errUnavailable):
		return packets.Err3ServerUnavailable // 3
	case v5:
		return packets.ErrNotAuthorized
	}
	return packets.Err3NotAuthorized // 5
}

// OnConnectAuthenticate admits the connections OnConnect authenticated.
func (h *hook) OnConnectAuthenticate(cl *mqtt.Client, _ packets.Packet) bool {
	_, ok := h.srv.session(cl)
	return ok
}

// OnSessionEstablished seeds the device's twin at its first connection and counts it connected.
func (h *hook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	s := h.srv
	sess, ok := s.session(cl)
	if !ok {
		return
	}
	s.mu.Lock()
	key := sess.key()
	if _, ok := s.twins[key]; !ok {
		s.twins[key] = newTwin(sess.device.InitialTwin)
	}
	s.connected[key]++
	s.touchLocked(key, true, s.connected[key] == 1)
	s.notifyLocked()
	s.mu.Unlock()
	s.log.Info("device connected", "hub", sess.hubHost, "device", sess.deviceID, "remote", cl.Net.Remote)
}

// OnDisconnect forgets the connection.
func (h *hook) OnDisconnect(cl *mqtt.Client, err error, _ bool) {
	s := h.srv
	s.mu.Lock()
	sess, ok := s.sessions[cl]
	if ok {
		delete(s.sessions, cl)
		key := sess.key()
		if s.connected[key]--; s.connected[key] <= 0 {
			delete(s.connected, key)
			s.touchLocked(key, false, true)
		}
		s.notifyLocked()
	}
	s.mu.Unlock()
	if ok {
		s.log.Info("device disconnected", "hub", sess.hubHost, "device", sess.deviceID, "error", err)
	}
}

// OnACLCheck keeps a device to its own topics. A publish elsewhere disconnects it, as IoT Hub
// does (the broker alone would drop a QoS 0 publish silently); a subscription elsewhere is
// refused in the SUBACK.
func (h *hook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	sess, ok := h.srv.session(cl)
	if !ok {
		return false
	}
	if !write {
		return maySubscribe(sess.deviceID, topic)
	}
	if mayPublish(sess.deviceID, topic) {
		return true
	}
	h.srv.log.Warn("device published outside its topics; disconnecting it", "device", sess.deviceID, "topic", truncate(topic))
	cl.Stop(packets.ErrNotAuthorized)
	return false
}

// OnPublish handles a device's publish before the broker acknowledges it, so that an
// acknowledged message is a recorded one. Nothing is routed on to subscribers: IoT Hub is not a
// broker between devices.
func (h *hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	s := h.srv
	sess, ok := s.session(cl)
	if !ok {
		return pk, packets.ErrRejectPacket
	}
	s.mu.Lock()
	s.touchLocked(sess.key(), true, false)
	s.mu.Unlock()
	topic := pk.TopicName
	if bag, ok := eventProperties(sess.deviceID, topic); ok {
		s.recordMessage(sess, topic, bag, pk.Payload)
		return pk, packets.CodeSuccessIgnore
	}
	switch {
	case strings.HasPrefix(topic, twinGetPrefix):
		s.twinGet(cl, sess, requestID(topic))
	case strings.HasPrefix(topic, twinReportedPrefix):
		s.twinReported(cl, sess, requestID(topic), pk.Payload)
	}
	// Direct method responses have no method calls to answer yet: dropped.
	return pk, packets.CodeSuccessIgnore
}

func (s *Server) session(cl *mqtt.Client) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[cl]
	return sess, ok
}

func (s *Server) recordMessage(sess session, topic, bag string, payload []byte) {
	app, sys := parsePropertyBag(bag)
	m := Message{
		HubHost:          sess.hubHost,
		DeviceID:         sess.deviceID,
		Topic:            topic,
		Payload:          append([]byte(nil), payload...),
		Properties:       app,
		SystemProperties: sys,
		Received:         s.now(),
	}
	s.mu.Lock()
	key := sess.key()
	msgs := append(s.messages[key], m)
	if len(msgs) > maxMessagesPerDevice {
		msgs = msgs[len(msgs)-maxMessagesPerDevice:]
	}
	s.messages[key] = msgs
	s.notifyLocked()
	s.mu.Unlock()
	s.log.Debug("device-to-cloud message", "device", sess.deviceID, "bytes", len(payload))
}

func (s *Server) twinGet(cl *mqtt.Client, sess session, rid string) {
	if rid == "" {
		s.log.Warn("twin GET without $rid ignored", "device", sess.deviceID)
		return
	}
	s.mu.Lock()
	doc := s.twins[sess.key()].document()
	s.mu.Unlock()
	s.sendTo(cl, twinResponseFilter, fmt.Sprintf("%s200/?$rid=%s", twinResponsePrefix, url.QueryEscape(rid)), doc)
}

func (s *Server) twinReported(cl *mqtt.Client, sess session, rid string, body []byte) {
	if rid == "" {
		s.log.Warn("reported properties PATCH without $rid ignored", "device", sess.deviceID)
		return
	}
	patch, err := parsePatch(body)
	if err != nil {
		s.log.Warn("reported properties refused", "device", sess.deviceID, "error", err)
		msg := mustJSON(map[string]any{"errorCode": 400004, "message": err.Error()})
		s.sendTo(cl, twinResponseFilter, fmt.Sprintf("%s400/?$rid=%s", twinResponsePrefix, url.QueryEscape(rid)), msg)
		return
	}
	s.mu.Lock()
	t := s.twins[sess.key()]
	merge(t.reported, patch)
	t.reportedVersion++
	v := t.reportedVersion
	s.notifyLocked()
	s.mu.Unlock()
	s.sendTo(cl, twinResponseFilter, fmt.Sprintf("%s204/?$rid=%s&$version=%d", twinResponsePrefix, url.QueryEscape(rid), v), nil)
}

// sendTo publishes to one client only, if it subscribed to filter. Twin topics are the same for
// every device, so the broker's topic routing must not be used for them.
func (s *Server) sendTo(cl *mqtt.Client, filter, topic string, payload []byte) {
	if _, ok := cl.State.Subscriptions.Get(filter); !ok {
		s.log.Warn("device is not subscribed; response dropped", "client", truncate(cl.ID), "filter", filter)
		return
	}
	pk := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish},
		TopicName:   topic,
		Payload:     payload,
	}
	if err := cl.WritePacket(pk); err != nil {
		s.log.Warn("sending to device failed", "client", truncate(cl.ID), "topic", topic, "error", err)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
