//go:build !enclave

package main

import "github.com/splitbft/splitbft/exec"

// sealerOptions returns the sealing option of this build: none. This is not an
// enclave build, so the exec seals the group key in the insecure format 0 (SPEC.md
// §11.2); the broker and its tools say so.
func sealerOptions() []exec.Option { return nil }
