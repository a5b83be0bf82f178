package hubclient

import (
	"fmt"
	"strings"
	"testing"
)

// What the hub publishes to the device is outside input: deliver must never panic, and must hand a
// twin response to exactly the request its $rid names, with the status its topic says.
func FuzzDeliver(f *testing.F) {
	f.Add("$iothub/twin/res/200/?$rid=1", []byte(`{"desired":{"$version":1}}`))
	f.Add("$iothub/twin/res/204/?$rid=1&$version=7", []byte(nil))
	f.Add("$iothub/twin/res/x/?$rid=1", []byte(nil))
	f.Add("$iothub/twin/res/200/?$rid=%zz", []byte(nil))
	f.Add("$iothub/twin/PATCH/properties/desired/?$version=3", []byte(`{}`))
	f.Add("devices/d/messages/devicebound/a=b", []byte("hi"))
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		s := &session{twin: map[string]chan twinResponse{}, acks: map[uint16]chan struct{}{}, done: make(chan struct{})}
		ch := make(chan twinResponse, 1)
		s.twin["1"] = ch
		s.deliver(topic, payload)
		select {
		case res := <-ch:
			if !strings.HasPrefix(topic, fmt.Sprintf("$iothub/twin/res/%d/?", res.status)) {
				t.Errorf("topic %q delivered as status %d", topic, res.status)
			}
		default:
		}
	})
}
