//go:build !linux

package cpusched

import "errors"

var errUnsupported = errors.New("cpusched: scheduling policies are set on Linux only")

// Batch returns an error: only Linux has SCHED_BATCH.
func Batch() error { return errUnsupported }

// Normal does nothing: the default policy is the only one here.
func Normal() error { return nil }

// Policy returns "normal".
func Policy(tid int) (string, error) { return "normal", nil }

// OnThisThread does nothing.
func OnThisThread() error { return nil }

// Apply returns "normal": only Linux has other policies here.
func Apply(want string) (string, error) { return "normal", nil }
