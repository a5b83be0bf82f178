//go:build !unix

package imagetest

import "testing"

// makeFIFO makes nothing: the system has no FIFOs in its file system.
func makeFIFO(testing.TB, string) string { return "" }

func unblockFIFO(string) {}
