package sas

import "strings"

// DefaultHubPolicyName is the access policy every IoT hub is created with, allowed to read the
// device registry (and everything else).
const DefaultHubPolicyName = "iothubowner"

// hubWhereToFind ends every IoT Hub connection string error.
const hubWhereToFind = "copy it from the Azure portal: the IoT hub → Shared access policies → " +
	DefaultHubPolicyName + " (or a policy with registry read) → Primary connection string"

var hubFlavor = flavor{
	whereToFind: hubWhereToFind,
	wrongService: func(h string) string {
		if strings.HasSuffix(strings.ToLower(h), ".azure-devices-provisioning.net") {
			return "HostName is a Device Provisioning Service, not an IoT hub; " + hubWhereToFind
		}
		return ""
	},
	deviceString: "this is an IoT Hub device connection string; a connection string of the hub's shared access policy is needed: " + hubWhereToFind,
}

// ParseHubConnectionString reads an IoT hub's service connection string (a shared access
// policy's: HostName=…;SharedAccessKeyName=…;SharedAccessKey=…), as leniently and as strictly as
// ParseConnectionString reads DPS's, with messages that point to the hub's policies. Tokens made
// with the result (ConnectionString.Token) are what IoT Hub's service API takes.
func ParseHubConnectionString(s string) (ConnectionString, error) {
	return parseConnectionString(s, hubFlavor)
}
