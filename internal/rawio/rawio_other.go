//go:build !linux || enclave

package rawio

import (
	"io"
	"os"
)

// Enabled reports whether this build does raw I/O (Linux, not an enclave build).
const Enabled = false

// File returns f: this build does no raw I/O.
func File(f *os.File) io.ReadWriteCloser { return f }

// Std returns f: this build does no raw I/O.
func Std(f *os.File) io.ReadWriteCloser { return f }
