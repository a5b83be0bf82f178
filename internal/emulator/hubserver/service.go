package hubserver

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/oobtpm/oob/pkg/sas"
)

// ServicePolicy is the shared access policy the hub's service API admits, as an IoT hub's
// iothubowner: requests carry "Authorization: SharedAccessSignature sr={hubHost}&sig=…&se=…&skn={Name}"
// signed with Key. One policy serves every hub host name.
type ServicePolicy struct {
	Name string
	Key  sas.Key
}

// ServiceDevice is the device identity IoT Hub's service API returns ("Devices - Get Identity"),
// with the fields the emulator knows. Keys are not returned: the emulator answers null for them.
type ServiceDevice struct {
	DeviceID                   string              `json:"deviceId"`
	GenerationID               string              `json:"generationId"`
	ETag                       string              `json:"etag"`
	ConnectionState            string              `json:"connectionState"`
	Status                     string              `json:"status"`
	StatusReason               *string             `json:"statusReason"`
	ConnectionStateUpdatedTime string              `json:"connectionStateUpdatedTime"`
	StatusUpdatedTime          string              `json:"statusUpdatedTime"`
	LastActivityTime           string              `json:"lastActivityTime"`
	CloudToDeviceMessageCount  int                 `json:"cloudToDeviceMessageCount"`
	Authentication             serviceAuth         `json:"authentication"`
	Capabilities               serviceCapabilities `json:"capabilities"`
}

type serviceAuth struct {
	SymmetricKey   serviceKeys        `json:"symmetricKey"`
	X509Thumbprint serviceThumbprints `json:"x509Thumbprint"`
	Type           string             `json:"type"`
}

type serviceKeys struct {
	PrimaryKey   *string `json:"primaryKey"`
	SecondaryKey *string `json:"secondaryKey"`
}

type serviceThumbprints struct {
	PrimaryThumbprint   *string `json:"primaryThumbprint"`
	SecondaryThumbprint *string `json:"secondaryThumbprint"`
}

type serviceCapabilities struct {
	IoTEdge bool `json:"iotEdge"`
}

// Connection states as IoT Hub spells them.
const (
	StateConnected    = "Connected"
	StateDisconnected = "Disconnected"
)

// zeroTime is how IoT Hub writes a time that never happened.
const zeroTime = "0001-01-01T00:00:00Z"

// ServiceHandler returns IoT Hub's service REST API for the devices of every hub this Server
// serves: GET /devices/{deviceId}?api-version=… answers the device identity with its live
// connection state. The hub is the one the client names in TLS (SNI) or, without it, in Host.
// A missing, malformed, expired or wrongly signed token is answered 401, a device the Registry
// does not know 404, both with IoT Hub's error body and iothub-errorcode header.
func (s *Server) ServiceHandler(policy ServicePolicy) (http.Handler, error) {
	if policy.Name == "" || policy.Key.IsZero() {
		return nil, errors.New("hubserver: the service API needs a policy name and key")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /devices/{deviceId}", func(w http.ResponseWriter, r *http.Request) {
		s.getDevice(w, r, policy)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/devices/") && r.Method != http.MethodGet {
			serviceError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "the emulated hub serves only GET /devices/{deviceId}")
			return
		}
		serviceError(w, http.StatusNotFound, "NotFound", "the emulated hub serves only GET /devices/{deviceId}")
	})
	return mux, nil
}

func (s *Server) getDevice(w http.ResponseWriter, r *http.Request, policy ServicePolicy) {
	hubHost := requestHub(r)
	if err := s.authorizeService(r, policy, hubHost); err != nil {
		s.log.Warn("hub service request refused", "hub", truncate(hubHost), "path", truncate(r.URL.Path), "reason", err)
		serviceError(w, http.StatusUnauthorized, "IotHubUnauthorizedAccess", "Unauthorized")
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		serviceError(w, http.StatusBadRequest, "InvalidProtocolVersion", "api-version is required")
		return
	}
	deviceID := r.PathValue("deviceId")
	dev, err := s.cfg.Registry.Device(r.Context(), hubHost, deviceID)
	if errors.Is(err, ErrDeviceNotFound) {
		serviceError(w, http.StatusNotFound, "DeviceNotFound", deviceID)
		return
	}
	if err != nil {
		s.log.Error("hub service: registry", "error", err)
		serviceError(w, http.StatusInternalServerError, "ServerError", "the emulator's registry failed")
		return
	}
	body := s.serviceDevice(hubHost, dev)
	b, err := json.Marshal(body)
	if err != nil {
		serviceError(w, http.StatusInternalServerError, "ServerError", "encoding the device failed")
		return
	}
	s.log.Info("hub service: device read", "hub", hubHost, "device", deviceID, "state", body.ConnectionState)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("ETag", `"`+body.ETag+`"`)
	_, _ = w.Write(b)
}

// serviceDevice is dev as the service API shows it, with its connection state now.
func (s *Server) serviceDevice(hubHost string, dev Device) ServiceDevice {
	st := s.ConnectionState(hubHost, dev.ID)
	sum := sha256.Sum256([]byte(deviceKey(hubHost, dev.ID)))
	d := ServiceDevice{
		DeviceID:                   dev.ID,
		GenerationID:               fmt.Sprintf("6%017d", binaryDigits(sum[:8])),
		ETag:                       base64.StdEncoding.EncodeToString(sum[8:14]),
		ConnectionState:            StateDisconnected,
		Status:                     "enabled",
		ConnectionStateUpdatedTime: serviceTime(st.Updated),
		StatusUpdatedTime:          zeroTime,
		LastActivityTime:           serviceTime(st.LastActivity),
		Authentication:             serviceAuth{Type: "sas"},
	}
	if st.Connected {
		d.ConnectionState = StateConnected
	}
	if dev.Disabled {
		d.Status = "disabled"
	}
	if a := dev.Auth; a.PrimaryKey.IsZero() && a.SecondaryKey.IsZero() && (a.PrimaryThumbprint != "" || a.SecondaryThumbprint != "") {
		d.Authentication.Type = "selfSigned"
		d.Authentication.X509Thumbprint = serviceThumbprints{nonEmpty(a.PrimaryThumbprint), nonEmpty(a.SecondaryThumbprint)}
	}
	return d
}

func binaryDigits(b []byte) uint64 {
	var n uint64
	for _, c := range b {
		n = n<<8 | uint64(c)
	}
	return n % 1e17
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// serviceTime writes t as IoT Hub does: UTC with fractional seconds, or its zero time.
func serviceTime(t time.Time) string {
	if t.IsZero() {
		return zeroTime
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// requestHub is the hub a request is for: the TLS server name, else Host without its port.
func requestHub(r *http.Request) string {
	if r.TLS != nil && r.TLS.ServerName != "" {
		return strings.ToLower(r.TLS.ServerName)
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(host)
}

// authorizeService checks the request's SAS token: signed with the policy's key, naming the
// policy, for the hub (or a resource under it), not expired.
func (s *Server) authorizeService(r *http.Request, policy ServicePolicy, hubHost string) error {
	tok := r.Header.Get("Authorization")
	if tok == "" {
		return errors.New("no Authorization header")
	}
	if hubHost == "" {
		return errors.New("the request names no hub (no TLS server name, no Host)")
	}
	v := &sas.Verifier{Key: policy.Key, KeyName: policy.Name, Resource: hubHost + r.URL.Path, Skew: s.cfg.Skew, Now: s.cfg.Now}
	_, err := v.Verify(r.Context(), tok)
	return err
}

// serviceError answers IoT Hub's error form: the iothub-errorcode header and
// {"Message":"ErrorCode:{code};{message}","ExceptionMessage":"Tracking ID:…-G:0-TimeStamp:…"}.
func serviceError(w http.ResponseWriter, status int, code, message string) {
	var id [16]byte
	_, _ = rand.Read(id[:])
	body, _ := json.Marshal(map[string]string{
		"Message":          "ErrorCode:" + code + ";" + message,
		"ExceptionMessage": "Tracking ID:" + hex.EncodeToString(id[:]) + "-G:0-TimeStamp:" + time.Now().UTC().Format("01/02/2006 15:04:05"),
	})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("iothub-errorcode", code)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
