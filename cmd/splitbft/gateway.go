package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/operator"
)

const gatewayUsage = `usage: splitbft gateway verify --dir DIR --replica I [--out FILE]

Checks replica I's Redis gateway as SPEC.md §16.2 says a legacy client's operator
must: the attestation the replica serves (GET /gateway-enrollment) is admitted by the
gateway build policy of DIR/cluster.json and names the client ids the template gives
that gateway; the configuration f+1 replicas serve registers exactly its identities;
and the TLS certificate the gateway presents carries, and is signed by, the attested
TLS key. Then it writes that certificate (PEM) to FILE for clients to pin:

  redis-cli -p PORT --tls --cacert FILE

The gateway must serve TLS (redis_tls in cluster.json, splitbft init --redis-tls). A
gateway with dev-insecure evidence (no enclave) is accepted only where the template
allows dev-insecure, with a loud warning.

Exit status: 0 verified (certificate written), 1 refused, 2 usage error.

example:
  splitbft gateway verify --dir /tmp/sbft --replica 1 --out /tmp/gw1.pem`

// gatewayMain is `splitbft gateway verify`.
func gatewayMain(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("gateway", gatewayUsage, stderr)
	dir := fs.String("dir", "", "cluster directory (required)")
	replica := fs.Uint64("replica", 0, "the replica whose gateway to verify")
	out := fs.String("out", "", "write the verified certificate (PEM) here; default: print it")
	timeout := fs.Duration("timeout", 3*time.Second, "per request")
	words, err := parseFlags(fs, args, stdout)
	if err == nil && (*dir == "" || len(words) != 1 || words[0] != "verify") {
		err = errors.New("the only subcommand is verify, and --dir is required")
	}
	if err != nil {
		return usageError("gateway", err, stderr)
	}
	t, err := operator.LoadTemplate(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "splitbft gateway: %v\n", err)
		return 1
	}
	vg, err := operator.VerifyGateway(context.Background(), t, *replica, attest.DefaultVerifier(), *timeout)
	if err != nil {
		fmt.Fprintf(stderr, "splitbft gateway verify: REFUSED: %v\n", err)
		return 1
	}
	if vg.Insecure {
		fmt.Fprintf(stderr, "WARNING: replica %d's gateway runs WITHOUT AN ENCLAVE (dev-insecure evidence): NO TEE protection;\n"+
			"its host can read its keys and every command; use for development and testing only.\n", *replica)
	}
	return writeCert(vg, *replica, *out, stdout, stderr)
}

// writeCert writes the verified certificate to out (or stdout) and says what was checked.
func writeCert(vg *operator.VerifiedGateway, replica uint64, out string, stdout, stderr io.Writer) int {
	if out == "" {
		stdout.Write(vg.CertPEM)
		return 0
	}
	if err := os.WriteFile(out, vg.CertPEM, 0o644); err != nil {
		fmt.Fprintf(stderr, "splitbft gateway verify: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "replica %d gateway verified: %d client identities %v registered, TLS key attested; certificate written to %s\n",
		replica, len(vg.Attestation.Enrollment.ClientIDs), vg.Attestation.Enrollment.ClientIDs, out)
	return 0
}
