package hubserver

import (
	"net/url"
	"strings"
)

// IoT Hub's MQTT topics, as its device SDKs use them.
const (
	twinGetPrefix          = "$iothub/twin/GET/"
	twinReportedPrefix     = "$iothub/twin/PATCH/properties/reported/"
	twinResponsePrefix     = "$iothub/twin/res/"
	twinDesiredPrefix      = "$iothub/twin/PATCH/properties/desired/"
	methodRequestPrefix    = "$iothub/methods/POST/"
	methodResponsePrefix   = "$iothub/methods/res/"
	twinResponseFilter     = twinResponsePrefix + "#"
	twinDesiredFilter      = twinDesiredPrefix + "#"
	eventsSegment          = "/messages/events"
	deviceboundSegment     = "/messages/devicebound/"
	devicesPrefix          = "devices/"
	maxMessagesPerDevice   = 1000
	maxMessagePayloadBytes = 256 * 1024
)

// mayPublish reports whether device deviceID may publish to topic: its own events, its twin
// requests and its direct method responses.
func mayPublish(deviceID, topic string) bool {
	if _, ok := eventProperties(deviceID, topic); ok {
		return true
	}
	for _, p := range []string{twinGetPrefix, twinReportedPrefix, methodResponsePrefix} {
		if strings.HasPrefix(topic, p) {
			return true
		}
	}
	return false
}

// maySubscribe reports whether device deviceID may subscribe to filter (or receive on a topic):
// its cloud-to-device messages, twin responses, desired property updates and method requests.
// Wildcards are allowed only as the final "#" under those prefixes.
func maySubscribe(deviceID, filter string) bool {
	for _, p := range []string{devicesPrefix + deviceID + deviceboundSegment, twinResponsePrefix, twinDesiredPrefix, methodRequestPrefix} {
		rest, ok := strings.CutPrefix(filter, p)
		if ok && (rest == "#" || !strings.ContainsAny(rest, "#+")) {
			return true
		}
	}
	return false
}

// eventProperties recognises devices/{deviceID}/messages/events[/{property bag}] and returns the
// property bag.
func eventProperties(deviceID, topic string) (string, bool) {
	rest, ok := strings.CutPrefix(topic, devicesPrefix+deviceID+eventsSegment)
	if !ok {
		return "", false
	}
	if rest == "" {
		return "", true
	}
	if rest[0] != '/' {
		return "", false
	}
	return strings.TrimSuffix(rest[1:], "/"), true
}

// systemProperties names the property bag keys IoT Hub reads as system properties.
var systemProperties = map[string]string{
	"$.mid":   "messageId",
	"$.cid":   "correlationId",
	"$.uid":   "userId",
	"$.to":    "to",
	"$.ct":    "contentType",
	"$.ce":    "contentEncoding",
	"$.exp":   "absoluteExpiryTime",
	"$.ctime": "creationTimeUtc",
	"$.ifid":  "interfaceId",
	"$.sub":   "componentName",
}

// parsePropertyBag splits a URL-encoded property bag ("a=1&b=2&$.ct=application%2Fjson") into
// application and system properties. '+' stays a plus: the SDKs encode spaces as %20. A key
// without '=' is a property with an empty value.
func parsePropertyBag(bag string) (app, sys map[string]string) {
	app, sys = map[string]string{}, map[string]string{}
	for _, kv := range strings.Split(bag, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if uk, err := url.PathUnescape(k); err == nil {
			k = uk
		}
		if uv, err := url.PathUnescape(v); err == nil {
			v = uv
		}
		if name, ok := systemProperties[k]; ok {
			sys[name] = v
			continue
		}
		app[k] = v
	}
	return app, sys
}

// requestID returns the $rid of a twin request topic ("…/?$rid=42"), or "" when it has none.
func requestID(topic string) string {
	_, query, ok := strings.Cut(topic, "?")
	if !ok {
		return ""
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return ""
	}
	return q.Get("$rid")
}
