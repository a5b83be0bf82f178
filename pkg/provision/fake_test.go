package provision_test

// Answers the emulator never gives, from a fake DPS: each case says what it stands for.

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/provision"
	"github.com/oobtpm/oob/pkg/sas"
)

func TestRegisterUnusualAnswers(t *testing.T) {
	const opID = "op/1 x" // an operation ID with characters that need escaping
	cases := []struct {
		name     string
		register string // body of the 202 to the register request
		poll     func(t *testing.T, r *http.Request) (int, string)
		wantErr  error
		want     dpsapi.RegistrationStatus
	}{
		{
			name:     "operation ID escaped as one path segment",
			register: `{"operationId":"` + opID + `","status":"assigning"}`,
			poll: func(t *testing.T, r *http.Request) (int, string) {
				if !strings.HasSuffix(r.URL.EscapedPath(), "/operations/op%2F1%20x") {
					t.Errorf("poll path %s", r.URL.EscapedPath())
				}
				return 200, `{"operationId":"` + opID + `","status":"assigned","registrationState":{"status":"assigned","assignedHub":"h","deviceId":"d"}}`
			},
			want: dpsapi.RegistrationAssigned,
		},
		{
			name:     "assigning without an operation to poll",
			register: `{"status":"assigning"}`,
			wantErr:  provision.ErrBadResponse,
		},
		{
			name:     "a status DPS does not have",
			register: `{"operationId":"1","status":"assigning"}`,
			poll:     func(*testing.T, *http.Request) (int, string) { return 200, `{"operationId":"1","status":"exploded"}` },
			wantErr:  provision.ErrBadResponse,
		},
		{
			name:     "a captive portal's page",
			register: `{"operationId":"1","status":"assigning"}`,
			poll:     func(*testing.T, *http.Request) (int, string) { return 200, `<html>log in</html>` },
			wantErr:  provision.ErrBadResponse,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPut {
					w.Header().Set("Retry-After", "1")
					w.WriteHeader(http.StatusAccepted)
					_, _ = w.Write([]byte(c.register))
					return
				}
				status, body := c.poll(t, r)
				w.WriteHeader(status)
				_, _ = w.Write([]byte(body))
			}))
			defer srv.Close()
			key, _ := sas.ParseKey("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
			clk := newClock()
			pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
			res, err := provision.Register(t.Context(), provision.Config{
				IDScope: "0ne00000001", RegistrationID: "dev-1", Endpoint: srv.URL, RootCAs: pool,
				SymmetricKey: &key, Now: clk.Now, Sleep: clk.Sleep,
			})
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("%+v, %v; want %v", res, err, c.wantErr)
				}
				return
			}
			if err != nil || res.Status != c.want {
				t.Fatalf("%+v, %v", res, err)
			}
		})
	}
}
