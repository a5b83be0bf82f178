package hubclient

import (
	"context"
	"fmt"
	"log/slog"
)

// slogAdapter gives amenzhinsky/iothub's logger interface a *slog.Logger, so that the library
// never prints on its own.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Errorf(format string, v ...any) { a.log(slog.LevelError, format, v) }
func (a slogAdapter) Warnf(format string, v ...any)  { a.log(slog.LevelWarn, format, v) }
func (a slogAdapter) Infof(format string, v ...any)  { a.log(slog.LevelInfo, format, v) }
func (a slogAdapter) Debugf(format string, v ...any) { a.log(slog.LevelDebug, format, v) }

func (a slogAdapter) log(level slog.Level, format string, v []any) {
	if a.l.Enabled(context.Background(), level) {
		a.l.Log(context.Background(), level, fmt.Sprintf(format, v...), "component", "iothub-mqtt")
	}
}
