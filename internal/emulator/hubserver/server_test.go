package hubserver_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/oobtpm/oob/internal/emulator/hubserver"
	"github.com/oobtpm/oob/internal/emulator/tlsca"
	"github.com/oobtpm/oob/pkg/sas"
)

const (
	hubHost   = "raw-hub.azure-devices.net"
	waitLimit = 20 * time.Second
)

// fixture is a hub on a loopback port and what a raw MQTT client needs to reach it.
type fixture struct {
	srv  *hubserver.Server
	reg  *hubserver.MemoryRegistry
	addr string
	tls  *tls.Config
	keys map[string]sas.Key
	// srvTLS is the server's TLS configuration, for another endpoint of the same hub.
	srvTLS *tls.Config
}

func start(t *testing.T, now func() time.Time) *fixture {
	t.Helper()
	ca, err := tlsca.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCertificate(hubHost)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{reg: &hubserver.MemoryRegistry{}, keys: map[string]sas.Key{}, srvTLS: tlsca.TLSConfig(cert)}
	f.srv, err = hubserver.New(hubserver.Config{Registry: f.reg, TLS: f.srvTLS, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go f.srv.Serve(ln)
	t.Cleanup(func() { f.srv.Close() })
	f.addr = ln.Addr().String()
	f.tls = &tls.Config{RootCAs: ca.CertPool(), ServerName: hubHost}
	for _, id := range []string{"dev-a", "dev-b"} {
		k := sas.NewKey([]byte(strings.Repeat(id, 8)))
		f.keys[id] = k
		f.reg.Put(hubHost, hubserver.Device{ID: id, Auth: hubserver.Auth{SecondaryKey: k}, InitialTwin: hubserver.InitialTwin{
			Desired: json.RawMessage(`{"interval":5,"$version":9}`),
		}})
	}
	return f
}

// token signs a device token for resource with the device's key.
func (f *fixture) token(t *testing.T, id, resource string, expiry time.Time) string {
	t.Helper()
	tok, err := sas.NewToken(context.Background(), f.keys[id], resource, "", expiry)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// dial connects a raw MQTT 3.1.1 client; lost receives the connection-lost error.
func (f *fixture) dial(clientID, username, password string) (paho.Client, chan error, error) {
	lost := make(chan error, 1)
	o := paho.NewClientOptions().
		AddBroker("tls://" + f.addr).
		SetTLSConfig(f.tls).
		SetProtocolVersion(4).
		SetClientID(clientID).
		SetUsername(username).
		SetPassword(password).
		SetAutoReconnect(false).
		SetConnectTimeout(waitLimit).
		SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err })
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(waitLimit) {
		return nil, nil, errors.New("connect timed out")
	}
	return c, lost, tok.Error()
}

func (f *fixture) connect(t *testing.T, id string) (paho.Client, chan error) {
	t.Helper()
	c, lost, err := f.dial(id, hubHost+"/"+id+"/?api-version=2021-04-12", f.token(t, id, hubHost+"/devices/"+id, time.Now().Add(time.Hour)))
	if err != nil {
		t.Fatalf("connect %s: %v", id, err)
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c, lost
}

func TestConnackCodes(t *testing.T) {
	f := start(t, nil)
	hour := time.Now().Add(time.Hour)
	good := func(id string) string { return f.token(t, "dev-a", hubHost+"/devices/"+id, hour) }
	tests := []struct {
		name, clientID, username, password string
		want                               error
	}{
		{"SDK username", "dev-a", hubHost + "/dev-a/?api-version=2021-04-12&DeviceClientType=azure-iot-device%2F1.18.0", good("dev-a"), nil},
		{"username without ?", "dev-a", hubHost + "/dev-a/api-version=2020-09-30", good("dev-a"), nil},
		{"upper-case host and sr", "dev-a", strings.ToUpper(hubHost) + "/dev-a/?api-version=2021-04-12", f.token(t, "dev-a", strings.ToUpper(hubHost)+"/devices/dev-a", hour), nil},
		{"hub-wide sr", "dev-a", hubHost + "/dev-a/?api-version=2021-04-12", f.token(t, "dev-a", hubHost, hour), nil},
		{"raw sr", "dev-a", hubHost + "/dev-a/?api-version=2021-04-12", rawResourceToken(t, f.keys["dev-a"], hubHost+"/devices/dev-a", hour), nil},
		{"sr for another device", "dev-a", hubHost + "/dev-a/?api-version=2021-04-12", good("dev-b"), packets.ErrorRefusedNotAuthorised},
		{"client ID is not the device", "dev-b", hubHost + "/dev-a/?api-version=2021-04-12", good("dev-a"), packets.ErrorRefusedNotAuthorised},
		{"another device's key", "dev-b", hubHost + "/dev-b/?api-version=2021-04-12", good("dev-b"), packets.ErrorRefusedNotAuthorised},
		{"expired", "dev-a", hubHost + "/dev-a/?api-version=2021-04-12", f.token(t, "dev-a", hubHost+"/devices/dev-a", time.Now().Add(-time.Hour)), packets.ErrorRefusedNotAuthorised},
		{"unknown hub", "dev-a", "other.azure-devices.net/dev-a/?api-version=2021-04-12", good("dev-a"), packets.ErrorRefusedNotAuthorised},
		{"module identity", "dev-a", hubHost + "/dev-a/mod/?api-version=2021-04-12", good("dev-a"), packets.ErrorRefusedBadUsernameOrPassword},
		{"not a token", "dev-a", hubHost + "/dev-a/?api-version=2021-04-12", "hunter2", packets.ErrorRefusedBadUsernameOrPassword},
		{"no username", "dev-a", "", good("dev-a"), packets.ErrorRefusedBadUsernameOrPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := f.dial(tt.clientID, tt.username, tt.password)
			if c != nil {
				defer c.Disconnect(0)
			}
			if err != tt.want {
				t.Fatalf("connect = %v, want %v", err, tt.want)
			}
		})
	}
}

// rawResourceToken signs sr unencoded, as some clients send it.
func rawResourceToken(t *testing.T, key sas.Key, resource string, expiry time.Time) string {
	t.Helper()
	se := strconv.FormatInt(expiry.Unix(), 10)
	sig, err := key.Sign(context.Background(), sas.StringToSign(resource, se))
	if err != nil {
		t.Fatal(err)
	}
	return sas.Prefix + "sr=" + resource + "&sig=" + sas.Escape(base64.StdEncoding.EncodeToString(sig)) + "&se=" + se
}

// TestTwinTopics checks the exact topics and bodies of twin requests and responses.
func TestTwinTopics(t *testing.T) {
	f := start(t, nil)
	c, _ := f.connect(t, "dev-a")
	res := make(chan paho.Message, 4)
	if tok := c.Subscribe("$iothub/twin/res/#", 1, func(_ paho.Client, m paho.Message) { res <- m }); !tok.WaitTimeout(waitLimit) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}

	publish(t, c, "$iothub/twin/GET/?$rid=get-1", nil)
	m := receive(t, res)
	if m.Topic() != "$iothub/twin/res/200/?$rid=get-1" {
		t.Errorf("GET answered on %q", m.Topic())
	}
	var doc struct{ Desired, Reported map[string]any }
	if err := json.Unmarshal(m.Payload(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Desired["interval"] != float64(5) || doc.Desired["$version"] != float64(1) || doc.Reported["$version"] != float64(1) {
		t.Errorf("twin = %s", m.Payload())
	}

	publish(t, c, "$iothub/twin/PATCH/properties/reported/?$rid=7", []byte(`{"state":{"ok":true}}`))
	if m := receive(t, res); m.Topic() != "$iothub/twin/res/204/?$rid=7&$version=2" || len(m.Payload()) != 0 {
		t.Errorf("PATCH answered on %q with %q", m.Topic(), m.Payload())
	}
	publish(t, c, "$iothub/twin/PATCH/properties/reported/?$rid=8", []byte(`[1,2]`))
	if m := receive(t, res); !strings.HasPrefix(m.Topic(), "$iothub/twin/res/400/?$rid=8") {
		t.Errorf("bad PATCH answered on %q", m.Topic())
	}
	if tw, _ := f.srv.Twin(hubHost, "dev-a"); tw.ReportedVersion != 2 {
		t.Errorf("reported version after a refused patch = %d, want 2", tw.ReportedVersion)
	}

	// A desired update from the service side reaches the device.
	desired := make(chan paho.Message, 1)
	if tok := c.Subscribe("$iothub/twin/PATCH/properties/desired/#", 1, func(_ paho.Client, m paho.Message) { desired <- m }); !tok.WaitTimeout(waitLimit) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	v, err := f.srv.UpdateDesired(hubHost, "dev-a", []byte(`{"interval":10}`))
	if err != nil || v != 2 {
		t.Fatalf("UpdateDesired = %d, %v", v, err)
	}
	if m := receive(t, desired); m.Topic() != "$iothub/twin/PATCH/properties/desired/?$version=2" || !strings.Contains(string(m.Payload()), `"interval":10`) {
		t.Errorf("desired update on %q: %s", m.Topic(), m.Payload())
	}
}

// TestOwnTopicsOnly: a device publishing to another device's topic is disconnected and nothing is
// recorded for the other device; subscribing to another device's topic is refused.
func TestOwnTopicsOnly(t *testing.T) {
	f := start(t, nil)
	b, _ := f.connect(t, "dev-b")
	for _, filter := range []string{"devices/dev-a/messages/devicebound/#", "#", "$iothub/#", "devices/+/messages/events/#"} {
		tok := b.Subscribe(filter, 1, nil)
		if !tok.WaitTimeout(waitLimit) {
			t.Fatalf("no SUBACK for %q", filter)
		}
		if got := tok.(*paho.SubscribeToken).Result()[filter]; got != 0x80 {
			t.Errorf("SUBACK for %q = %#x, want 0x80 (failure)", filter, got)
		}
	}

	for _, qos := range []byte{0, 1} {
		a, lost := f.connect(t, "dev-a")
		a.Publish("devices/dev-b/messages/events/", qos, false, []byte("forged"))
		select {
		case <-lost:
		case <-time.After(waitLimit):
			t.Fatalf("QoS %d: still connected after publishing as another device", qos)
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		if err := f.srv.Wait(ctx, func() bool { return !f.srv.Connected(hubHost, "dev-a") }); err != nil {
			t.Fatalf("hub still counts dev-a connected: %v", err)
		}
		cancel()
	}
	if msgs := f.srv.Messages(hubHost, "dev-b"); len(msgs) != 0 {
		t.Errorf("forged messages recorded for dev-b: %v", msgs)
	}
	if !f.srv.Connected(hubHost, "dev-b") {
		t.Error("dev-b was disconnected by dev-a's misbehaviour")
	}
}

// TestMessageProperties: the property bag is split into application and system properties.
func TestMessageProperties(t *testing.T) {
	f := start(t, nil)
	c, _ := f.connect(t, "dev-a")
	publish(t, c, "devices/dev-a/messages/events/$.ct=application%2Fjson&$.ce=utf-8&$.mid=m1&level=warn%20now&x=a%2Bb", []byte(`{}`))
	publish(t, c, "devices/dev-a/messages/events/", []byte("bare"))
	publish(t, c, "devices/dev-a/messages/events", []byte("no slash"))
	msgs := f.srv.Messages(hubHost, "dev-a")
	if len(msgs) != 3 {
		t.Fatalf("recorded %d messages, want 3 (a QoS 1 publish is recorded before it is acknowledged)", len(msgs))
	}
	m := msgs[0]
	if m.SystemProperties["contentType"] != "application/json" || m.SystemProperties["contentEncoding"] != "utf-8" || m.SystemProperties["messageId"] != "m1" {
		t.Errorf("system properties = %v", m.SystemProperties)
	}
	if m.Properties["level"] != "warn now" || m.Properties["x"] != "a+b" || len(m.Properties) != 2 {
		t.Errorf("application properties = %v", m.Properties)
	}
	if string(msgs[1].Payload) != "bare" || string(msgs[2].Payload) != "no slash" {
		t.Errorf("payloads = %q, %q", msgs[1].Payload, msgs[2].Payload)
	}
}

func TestConfigRequired(t *testing.T) {
	if _, err := hubserver.New(hubserver.Config{Registry: &hubserver.MemoryRegistry{}}); err == nil {
		t.Error("New without TLS succeeded")
	}
	if _, err := hubserver.New(hubserver.Config{TLS: &tls.Config{}}); err == nil {
		t.Error("New without a registry succeeded")
	}
}

func publish(t *testing.T, c paho.Client, topic string, payload []byte) {
	t.Helper()
	tok := c.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(waitLimit) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func receive(t *testing.T, ch chan paho.Message) paho.Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(waitLimit):
		t.Fatal("no message from the hub")
		return nil
	}
}
