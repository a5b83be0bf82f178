// Package scan is the companion's production-line loop: frames from a camera, video or image
// folder are decoded as fast as they come, each device code held in view becomes one event, and
// each new device is checked, recorded in the journal and enrolled, once.
//
// Two goroutines share the work. The reader decodes frames (a live source hands over only its
// newest frame, so the decoder never falls behind the camera), debounces the codes and records
// each device it sees in the journal. The sender enrolls those devices in order. Before an
// enrollment is sent, it is written to the journal's queue with its settings, running
// number and whether it replaces, so a process killed while sending loses nothing: the next scan or companion sync
// sends it again, and enroll's create-only semantics make that harmless. When DPS cannot be
// reached or keeps throttling, devices stay queued and the scan goes on; the queue is retried
// with backoff and sent in order once DPS answers. A device the journal has already settled
// is reported as already enrolled without asking DPS again. Sync sends what a scan left
// queued, with the same code the sender uses, for companion sync.
//
// Every event is reported only after the journal holds it: what a technician saw reported as
// done survives kill -9 and a power cut.
package scan
