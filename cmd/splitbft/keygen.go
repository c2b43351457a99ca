package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/splitbft/splitbft/operator"
)

const keygenUsage = `usage: splitbft keygen --dir DIR --client ID
       splitbft keygen --member FILE

Makes the key of a new client or governance member, for a proposal to register
(SPEC.md §17.2). With --client it writes the client's credentials to
DIR/clients/client-ID.json (its secret keys: give it to the client only; DIR must
be a cluster directory made by init, and ID an id its cluster.json does not use
for a client, a broker client or a gateway), then
"splitbft propose --add-client ID" registers it and "splitbft kv --client ID" uses
it once the cluster accepted the proposal. With --member it writes a member key
file, whose owner keeps it offline; "splitbft propose --add-member HEX" adds the
member by the public key printed here (or --add-member FILE, which reads the
secret seed from the file to derive it). Neither ever overwrites an existing file.
It prints the public keys: "propose --add-client ID=SIGNHEX:BOXHEX" registers a
client by them, so that the secret credentials need not leave the client.

examples:
  splitbft keygen --dir /tmp/sbft --client 66
  splitbft keygen --member /tmp/sbft/members/member-1.json`

// keygenMain is `splitbft keygen`.
func keygenMain(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("keygen", keygenUsage, stderr)
	dir := fs.String("dir", "", "cluster directory made by init (with --client)")
	id := fs.Int64("client", 0, "a new client id: write DIR/clients/client-ID.json")
	member := fs.String("member", "", "write a new member key to this file")
	words, err := parseFlags(fs, args, stdout)
	isClient := setFlags(fs.FlagSet)["client"]
	switch {
	case err != nil:
	case isClient == (*member != ""):
		err = errors.New("give exactly one of --client ID and --member FILE")
	case isClient && *dir == "":
		err = errors.New("--dir is required with --client")
	case isClient && *id < 1:
		err = fmt.Errorf("--client %d: a new client's id is 1 or more", *id)
	case len(words) > 0:
		err = fmt.Errorf("unexpected argument %q", words[0])
	}
	if err != nil {
		return usageError("keygen", err, stderr)
	}
	if isClient {
		reg, err := operator.NewClient(*dir, uint64(*id), rand.Reader)
		if err != nil {
			fmt.Fprintf(stderr, "splitbft keygen: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "client %d: credentials written to %s (secret)\nsign key %x\nbox key  %x\n", reg.ID, operator.CredentialsPath(*dir, reg.ID), reg.SignKey[:], reg.BoxKey[:])
		return 0
	}
	pub, err := operator.NewMemberKey(*member, rand.Reader)
	if err != nil {
		fmt.Fprintf(stderr, "splitbft keygen: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "member key written to %s (secret)\npublic key %x\n", *member, pub[:])
	return 0
}
