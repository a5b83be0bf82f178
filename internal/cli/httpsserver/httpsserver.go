// Package httpsserver runs the HTTPS servers of the project's service commands (oob-factory
// serve, oob-portal serve) with one set of limits, until their context ends.
package httpsserver

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// New returns a server of h over TLS conf (TLS 1.2 at least) with bounded header, read, write
// and idle times and headers, logging its errors to log as warnings.
func New(h http.Handler, conf *tls.Config, log *slog.Logger) *http.Server {
	if conf.MinVersion == 0 {
		conf.MinVersion = tls.VersionTLS12
	}
	return &http.Server{
		Handler:           h,
		TLSConfig:         conf,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Run serves srv on l, with each job running beside it, until ctx ends or the server or a job
// fails; then it shuts the server down, letting requests in flight finish for up to 10 s. The
// end of ctx is not an error.
func Run(ctx context.Context, srv *http.Server, l net.Listener, jobs ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1+len(jobs))
	go func() { done <- srv.ServeTLS(l, "", "") }()
	for _, job := range jobs {
		go func() { done <- job(ctx) }()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-done:
	}
	shut, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	_ = srv.Shutdown(shut)
	if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
