package emulator

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// AdminHandler serves the emulator's control API, GET/PUT/DELETE /admin/faults, to local callers
// holding the admin token: a request from a non-loopback peer is refused with 403 whatever it
// carries, and one without "Authorization: Bearer <token>" with 401. Serve it on its own loopback
// listener, apart from the service API, so that no client of the service can reach it.
func AdminHandler(faults *Faults, token string, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &adminHandler{faults: faults, token: token, log: log}
}

type adminHandler struct {
	faults *Faults
	token  string
	log    *slog.Logger
}

func (a *adminHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	if !loopbackPeer(r.RemoteAddr) {
		a.log.Warn("admin request refused: not a loopback peer", "remote", r.RemoteAddr, "path", r.URL.Path)
		writeError(w, now, &apiError{Status: http.StatusForbidden, Code: 403001, Message: "The admin endpoint only answers loopback callers."})
		return
	}
	if !a.authorized(r.Header.Get("Authorization")) {
		a.log.Warn("admin request refused: bad token", "remote", r.RemoteAddr, "path", r.URL.Path)
		writeError(w, now, &apiError{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "Send Authorization: Bearer <the token in the data directory's admin-token file>."})
		return
	}
	if r.URL.Path != "/admin/faults" {
		writeError(w, now, errorf(CodeNotFound, "Unknown admin resource; use /admin/faults."))
		return
	}
	switch r.Method {
	case http.MethodGet:
	case http.MethodPut:
		var cfg FaultConfig
		dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg); err != nil {
			writeError(w, now, errorf(CodeMalformedBody, "The body is not a fault configuration: %s", truncate(err.Error())))
			return
		}
		if err := a.faults.Set(cfg); err != nil {
			writeError(w, now, errorf(CodeInvalidArgument, "%s", err))
			return
		}
		a.log.Info("faults set", "config", cfg)
	case http.MethodDelete:
		_ = a.faults.Set(FaultConfig{})
		a.log.Info("faults cleared")
	default:
		writeError(w, now, errorf(CodeMethodNotAllowed, "Use GET, PUT or DELETE on /admin/faults."))
		return
	}
	writeJSON(w, http.StatusOK, a.faults.Status())
}

func (a *adminHandler) authorized(h string) bool {
	const prefix = "Bearer "
	if a.token == "" || !strings.HasPrefix(h, prefix) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(h[len(prefix):]), []byte(a.token)) == 1
}

// loopbackPeer reports whether a request's remote address is a loopback address.
func loopbackPeer(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
