package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/operator"
	"github.com/splitbft/splitbft/spec"
)

const proposeUsage = `usage: splitbft propose --dir DIR --client C --member-key FILE... CHANGE...

Builds a governance proposal for the cluster's current epoch (SPEC.md §17.2), signs it
with each --member-key (files made by init --members; the configuration's threshold
of them), and submits it through the log as client C. The cluster moves to a new epoch
if it is accepted; the command prints the outcome and exits 1 if it was rejected.

changes (repeatable, applied in order):
  --add-build ROLE:BUILD        accept a build (e.g. prep:prep-b)
  --remove-build ROLE:BUILD     stop accepting a build
  --set-address I=HOST:PORT     replica I's peer address
  --set-threshold T             member signatures a proposal needs
  --add-client ID[=FILE]        register a client with the public keys of its credentials
                                (default DIR/clients/client-ID.json, made by keygen --client;
                                the file holds its secret keys, of which only the public
                                halves are registered)
  --add-client ID=SIGNHEX:BOXHEX
                                register a client by its public keys as keygen --client
                                prints them (64 hex digits each), so that a client that made
                                its own keys hands over only their public half
  --remove-client ID            deregister a client
  --add-member FILE|HEX         add a member by its key file (keygen --member; the file holds
                                the member's secret seed, from which its public key is
                                derived) or by its 64-digit hex public key (which keygen
                                --member prints), so that the secret need not leave its owner
  --remove-member FILE|HEX      remove a member, by its key file or hex public key
  --readmit-gateway I           register replica I's Redis gateway as it runs now: a gateway
                                started again (its replica crashed and rejoined) has new
                                identities and waits for this. The command fetches the
                                attestation replica I serves, checks it as formation does
                                (SPEC.md §16.2) and replaces the registration of each of its
                                client ids; these changes come after the others

examples:
  splitbft propose --dir /tmp/sbft --client 1 --member-key /tmp/sbft/members/member-0.json \
      --member-key /tmp/sbft/members/member-1.json --remove-build prep:prep-a
  splitbft keygen --dir /tmp/sbft --client 66
  splitbft propose --dir /tmp/sbft --client 1 --member-key /tmp/sbft/members/member-0.json --add-client 66
  splitbft propose --dir /tmp/sbft --client 1 --member-key /tmp/sbft/members/member-0.json \
      --add-client 67=SIGNHEX:BOXHEX      # the public keys the client's own keygen printed
  splitbft propose --dir /tmp/sbft --client 1 --member-key /tmp/sbft/members/member-0.json --readmit-gateway 2`

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// proposeMain is `splitbft propose`.
func proposeMain(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("propose", proposeUsage, stderr)
	dir := fs.String("dir", "", "cluster directory made by init (required)")
	id := fs.Int64("client", 0, "client id that submits the proposal (required)")
	var keyFiles listFlag
	var changes []spec.Change
	var gateways []uint64    // --readmit-gateway: their changes need the cluster's configuration
	var later []func() error // resolved once every flag is parsed (--add-client ID needs --dir)
	fs.Var(&keyFiles, "member-key", "member key file (repeatable)")
	change := func(name string, parse func(string) (spec.Change, error)) {
		fs.Func(name, "see the changes above", func(v string) error {
			c, err := parse(v)
			if err == nil {
				changes = append(changes, c)
			}
			return err
		})
	}
	change("add-build", func(v string) (spec.Change, error) { return buildChange(spec.ChangeAddBuild, v) })
	change("remove-build", func(v string) (spec.Change, error) { return buildChange(spec.ChangeRemoveBuild, v) })
	change("set-address", addressChange)
	change("set-threshold", func(v string) (spec.Change, error) {
		t, err := strconv.ParseUint(v, 10, 64)
		return spec.Change{Op: spec.ChangeSetThreshold, Replica: t}, err
	})
	change("add-client", func(v string) (spec.Change, error) {
		idText, path, withFile := strings.Cut(v, "=")
		c, err := strconv.ParseUint(idText, 10, 64)
		if err != nil || c == 0 {
			return spec.Change{}, fmt.Errorf("%q: want ID, ID=FILE or ID=SIGNHEX:BOXHEX with a client id ≥ 1", v)
		}
		if withFile && operator.IsKeyPair(path) { // a file of that name: give it as ./NAME
			reg, err := operator.ParseRegistration(c, path)
			return spec.Change{Op: spec.ChangeAddClient, Client: reg}, err
		}
		at := len(changes)
		later = append(later, func() error {
			if !withFile {
				path = operator.CredentialsPath(*dir, c)
			}
			reg, err := operator.LoadRegistration(path, c)
			changes[at].Client = reg
			return err
		})
		return spec.Change{Op: spec.ChangeAddClient, Client: spec.ClientConfig{ID: c}}, nil
	})
	change("add-member", func(v string) (spec.Change, error) {
		k, err := operator.MemberPublicKey(v)
		return spec.Change{Op: spec.ChangeAddMember, Key: k}, err
	})
	change("remove-member", func(v string) (spec.Change, error) {
		k, err := operator.MemberPublicKey(v)
		return spec.Change{Op: spec.ChangeRemoveMember, Key: k}, err
	})
	change("remove-client", func(v string) (spec.Change, error) {
		c, err := strconv.ParseUint(v, 10, 64)
		return spec.Change{Op: spec.ChangeRemoveClient, Client: spec.ClientConfig{ID: c}}, err
	})
	fs.Func("readmit-gateway", "see the changes above", func(v string) error {
		i, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%q: want a replica id", v)
		}
		if !slices.Contains(gateways, i) {
			gateways = append(gateways, i)
		}
		return nil
	})
	words, err := parseFlags(fs, args, stdout)
	switch {
	case err != nil:
	case *dir == "":
		err = errors.New("--dir is required")
	case requiredID(fs, "client", *id) != nil:
		err = requiredID(fs, "client", *id)
	case len(keyFiles) == 0:
		err = errors.New("at least one --member-key is required")
	case len(changes) == 0 && len(gateways) == 0:
		err = errors.New("no change given")
	case len(words) > 0:
		err = fmt.Errorf("unexpected argument %q", words[0])
	}
	if err != nil {
		return usageError("propose", err, stderr)
	}
	for _, resolve := range later {
		if err := resolve(); err != nil {
			fmt.Fprintf(stderr, "splitbft propose: --add-client: %v\n", err)
			return 1
		}
	}
	if err := propose(*dir, uint64(*id), keyFiles, changes, gateways, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "splitbft propose: %v\n", err)
		return 1
	}
	return 0
}

// propose signs and submits the proposal (changes, then the re-admission of each
// replica's gateway in gateways) and prints its outcome.
func propose(dir string, id uint64, keyFiles []string, changes []spec.Change, gateways []uint64, stdout, stderr io.Writer) error {
	var keys []ed25519.PrivateKey
	for _, f := range keyFiles {
		k, err := operator.LoadMemberKey(f)
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}
	var t *operator.Template
	if len(gateways) > 0 {
		var err error
		if t, err = operator.LoadTemplate(dir); err != nil {
			return err
		}
		if err := operator.CheckReadmissions(t, gateways, changes); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	kv, err := operator.Connect(ctx, operator.KVOptions{Dir: dir, ID: id, Stderr: stderr, Wait: 5 * time.Second})
	if err != nil {
		return err
	}
	defer kv.Close()
	cfg := kv.Session().Config()
	for _, i := range gateways {
		more, note, err := operator.ReadmitGateway(ctx, t, i, cfg, attest.DefaultVerifier(), 5*time.Second)
		if err != nil {
			return fmt.Errorf("--readmit-gateway %d: %w", i, err)
		}
		fmt.Fprintln(stdout, note)
		changes = append(changes, more...)
	}
	if len(changes) > operator.MaxProposalChanges {
		return fmt.Errorf("the proposal would hold %d changes, at most %d fit in one (each re-admitted gateway id takes two): "+
			"re-admit fewer gateways at a time", len(changes), operator.MaxProposalChanges)
	}
	op, err := operator.BuildProposal(cfg, changes, keys)
	if err != nil {
		return err
	}
	res, err := kv.Do(ctx, [][]byte{op})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, operator.DescribeConfigResult(res[0]))
	if res[0].Status != spec.StatusOK {
		return errors.New("the cluster did not accept the proposal") // exit 1: scripts must not go on as if it had
	}
	return nil
}

// buildChange parses ROLE:BUILD.
func buildChange(op uint64, v string) (spec.Change, error) {
	role, build, ok := strings.Cut(v, ":")
	r, known := map[string]spec.Role{"prep": spec.RolePrep, "conf": spec.RoleConf, "exec": spec.RoleExec}[role]
	if !ok || !known || !spec.ValidBuildName([]byte(build)) {
		return spec.Change{}, fmt.Errorf("%q: want ROLE:BUILD, e.g. prep:prep-b", v)
	}
	return spec.Change{Op: op, Build: spec.BuildPolicy{Role: r, Build: []byte(build)}}, nil
}

// addressChange parses I=HOST:PORT.
func addressChange(v string) (spec.Change, error) {
	i, addr, ok := strings.Cut(v, "=")
	n, err := strconv.ParseUint(i, 10, 64)
	if !ok || err != nil || addr == "" || len(addr) > 256 {
		return spec.Change{}, fmt.Errorf("%q: want REPLICA=HOST:PORT", v)
	}
	return spec.Change{Op: spec.ChangeSetAddress, Replica: n, Address: []byte(addr)}, nil
}
