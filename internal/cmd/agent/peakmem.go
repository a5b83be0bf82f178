package agent

import (
	"log/slog"
	"syscall"
)

// logPeakMemory logs the most memory the agent held resident at once (the kernel's count, in
// KiB), at the end of `oob-agent run`: a device maker sizes the first boot's memory budget by it,
// and make bench reports it from the VM's serial console.
func logPeakMemory(log *slog.Logger) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return
	}
	log.Info("peak resident memory", "kib", int64(ru.Maxrss))
}
