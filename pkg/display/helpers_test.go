package display

import (
	"strings"
	"testing"

	"github.com/oobtpm/oob/pkg/qr"
)

// longPayload is 628 characters, which encodes as a version 12 code at level M: the size of
// a real enrollment payload, dense enough that a layout or colour mistake breaks decoding.
var longPayload = "OOB1:M" + strings.Repeat("0123456789", 62) + "01"

// shortPayload makes a small code, where centring and text wrapping differ most.
const shortPayload = "OOB1:hello"

// testScreen encodes payload at level M and fills in the text fields as the agent would.
func testScreen(tb testing.TB, payload string) Screen {
	tb.Helper()
	code, err := qr.Encode(payload, qr.LevelM)
	if err != nil {
		tb.Fatalf("qr.Encode: %v", err)
	}
	return Screen{
		Title:          "Scan to enroll this device",
		Code:           code,
		RegistrationID: "mfrggzdfmztwq2lknnwg23tpobyxe43uov3ho6dzpiytgnbvgy3t", // 52 base32 characters, like a real one
		Status:         "waiting for enrollment",
	}
}
