// Package enroll turns a checked device identity into the device's DPS individual enrollment,
// exactly once: the same identity again changes nothing, and a different endorsement key under a
// registration ID that is already enrolled is refused as a conflict, never overwritten, unless
// the caller asks to replace it.
package enroll
