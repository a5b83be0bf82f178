package sas

import (
	"errors"
	"strings"
	"testing"
)

func TestParseHubConnectionString(t *testing.T) {
	const hub = "my-hub.azure-devices.net"
	tests := []struct {
		name, in string
		ok       bool
		mention  string
	}{
		{"portal form", "HostName=" + hub + ";SharedAccessKeyName=iothubowner;SharedAccessKey=" + testKeyB64, true, ""},
		{"registry read policy", "HostName=" + hub + ";SharedAccessKeyName=registryRead;SharedAccessKey=" + testKeyB64 + ";\n", true, ""},
		{"dps host", testCS, false, "Device Provisioning Service"},
		{"device connection string", "HostName=" + hub + ";DeviceId=dev1;SharedAccessKey=" + testKeyB64, false, "shared access policy"},
		{"missing policy", "HostName=" + hub + ";SharedAccessKey=" + testKeyB64, false, "SharedAccessKeyName is missing"},
		{"key truncated", "HostName=" + hub + ";SharedAccessKeyName=iothubowner;SharedAccessKey=" + testKeyB64[:20], false, "SharedAccessKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := ParseHubConnectionString(tt.in)
			if tt.ok {
				if err != nil {
					t.Fatalf("ParseHubConnectionString: %v", err)
				}
				if cs.HostName != hub || cs.Key.Base64() != testKeyB64 {
					t.Errorf("parsed %v", cs)
				}
				return
			}
			if !errors.Is(err, ErrConnectionString) {
				t.Fatalf("err = %v, want ErrConnectionString", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.mention) || !strings.Contains(msg, "IoT hub → Shared access policies") {
				t.Errorf("error %q does not mention %q and where to find the right string", msg, tt.mention)
			}
			if strings.Contains(msg, testKeyB64[:12]) {
				t.Errorf("error quotes the key: %q", msg)
			}
		})
	}
}
