// Package scantest makes what a scan reads: devices with standard-template endorsement keys,
// their identity codes and damaged ones, and the pictures and videos a webcam pointed at device
// screens would give; and it reads back what a scan left queued in its journal. It is test
// support: no binary imports it.
package scantest
