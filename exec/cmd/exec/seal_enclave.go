//go:build enclave

package main

import (
	"fmt"
	"os"

	"github.com/edgelesssys/ego/ecrypto"
	"github.com/edgelesssys/ego/enclave"
	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/spec"
)

// sealerOptions returns the sealing option of this enclave build (SPEC.md §11.2):
// EGo's product-key sealer (format 1) when a self-report proves the process runs
// inside an enclave; otherwise none, so that the exec uses the insecure format 0,
// and a warning says so. (Outside an enclave EGo's sealing "succeeds" with an
// all-zero key: it must not be used there.)
func sealerOptions() []exec.Option {
	if _, err := enclave.GetSelfReport(); err != nil {
		fmt.Fprintf(os.Stderr, "exec: WARNING: not inside an enclave (%v): the group key is stored UNPROTECTED (sealed-key format 0)\n", err)
		return nil
	}
	return []exec.Option{exec.WithSealer(egoSealer{})}
}

// egoSealer is format 1 (spec.SealEGoProduct): EGo's SealWithProductKey, additional
// data the group public key.
type egoSealer struct{}

// Format returns spec.SealEGoProduct.
func (egoSealer) Format() uint64 { return spec.SealEGoProduct }

// Seal seals g with the enclave's product key.
func (egoSealer) Seal(g, ad []byte) ([]byte, error) { return ecrypto.SealWithProductKey(g, ad) }

// Unseal opens data sealed by an enclave of the same signer and product.
func (egoSealer) Unseal(data, ad []byte) ([]byte, error) { return ecrypto.Unseal(data, ad) }
