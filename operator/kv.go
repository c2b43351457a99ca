package operator

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/broker/tcpnet"
	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

// ErrNotFormed is wrapped by FetchConfig when too few replicas serve a configuration
// yet: waiting may help.
var ErrNotFormed = errors.New("operator: the cluster has not formed")

// FetchConfig fetches the configuration from every replica's GET /config and returns
// the one configuration that (1) at least f+1 replicas serve byte for byte, (2) is
// exactly the configuration the template makes from its enrollments, the gateway
// identities it registers and its group key (Assemble; a client does not check the
// gateways' attestations, which the replicas did: to it a gateway is only clients,
// SPEC.md §16.1), and (3) whose every enrollment's evidence is admitted under the
// template's policy (attest.CheckConfig). This is the client's view of the evidence.
//
// Replicas that serve something else (a replica restarted alone and formed a
// configuration of its own, or up to f faulty replicas serving a forged one) are
// ignored: at most f replicas can be faulty, so a copy served by f+1 comes from at
// least one correct replica, and one replica must not be able to deny service to every
// client (DESIGN §2: liveness needs only 2f+1 correct replicas). Two different valid
// configurations each served by f+1 replicas are refused as ambiguous.
//
// The copies are the genesis configurations of the replicas' chains (GET /chain; a
// replica without one is asked for GET /config). From the genesis found, FetchConfig
// follows the longest chain any of its replicas serves that verifies (EC1–EC4, SPEC
// §17.7) and returns the configuration it reaches: one replica can hold a client back
// to an older epoch no longer than the client's first timeout (client.Options.Chain),
// and cannot forge one.
func FetchConfig(ctx context.Context, t *Template, v attest.Verifier, timeout time.Duration) (*spec.Config, error) {
	_, cfg, groups, err := fetchGenesis(ctx, t, v, timeout, nil)
	if err != nil {
		return nil, err
	}
	return latest(cfg, groups), nil
}

// fetchGenesis is FetchConfig's choice of the genesis configuration: the copy f+1
// replicas serve that checkCopy and holds (if not nil) accept (raw and decoded), and
// every copy served.
func fetchGenesis(ctx context.Context, t *Template, v attest.Verifier, timeout time.Duration, holds func(*spec.Config) bool) ([]byte, *spec.Config, []copyGroup, error) {
	groups, errs := fetchCopies(ctx, t, timeout)
	var found *spec.Config
	var foundRaw []byte
	var foundBy []int
	var problems []string
	for _, g := range groups {
		if uint64(len(g.replicas)) < t.F+1 {
			continue
		}
		cfg, err := checkCopy(t, v, g.raw)
		if err != nil {
			problems = append(problems, fmt.Sprintf("replicas %v: %v", g.replicas, err))
			continue
		}
		if holds != nil && !holds(cfg) {
			continue
		}
		if found != nil {
			return nil, nil, nil, fmt.Errorf("operator: replicas %v and replicas %v serve two different valid configurations", foundBy, g.replicas)
		}
		found, foundRaw, foundBy = cfg, g.raw, g.replicas
	}
	if found != nil {
		return foundRaw, found, groups, nil
	}
	if len(problems) > 0 {
		return nil, nil, nil, fmt.Errorf("operator: no configuration served by f+1 = %d replicas is valid: %s", t.F+1, strings.Join(problems, "; "))
	}
	return nil, nil, nil, fmt.Errorf("%w: no configuration is served by f+1 = %d replicas (%s)", ErrNotFormed, t.F+1, describeCopies(groups, errs))
}

// checkCopy decodes one served configuration and checks it against the template and
// the build policy (FetchConfig's conditions 2 and 3).
func checkCopy(t *Template, v attest.Verifier, raw []byte) (*spec.Config, error) {
	var cfg spec.Config
	if err := spec.Decode(raw, &cfg, spec.MaxMessageBytes); err != nil {
		return nil, fmt.Errorf("the configuration does not decode: %w", err)
	}
	enr := make([][3]spec.Enrollment, len(cfg.Replicas))
	for i, rc := range cfg.Replicas {
		enr[i] = [3]spec.Enrollment{rc.Prep, rc.Conf, rc.Exec}
	}
	again, err := Assemble(t, enr, t.gatewayRegistrations(&cfg), cfg.ExecGroupKey)
	if err != nil {
		return nil, fmt.Errorf("the configuration is not valid for %s: %w", TemplateFile, err)
	}
	if !bytes.Equal(spec.Encode(again), raw) {
		return nil, fmt.Errorf("the configuration differs from what %s makes of its enrollments", TemplateFile)
	}
	if err := attest.Rejected(attest.CheckConfig(&cfg, v)); err != nil {
		return nil, fmt.Errorf("the configuration has enclaves that are not admitted: %w", err)
	}
	return &cfg, nil
}

// copyGroup is one distinct genesis configuration copy, the replicas that served
// it, and the epoch changes each of them served after it (SPEC §17.7).
type copyGroup struct {
	raw      []byte
	replicas []int
	changes  [][]spec.Step // by position in replicas
}

// latest follows the longest chain that verifies from the trusted genesis cfg among
// those its replicas served, and returns the configuration it reaches (cfg itself
// when none goes further). A forged chain does not verify and is ignored.
func latest(cfg *spec.Config, groups []copyGroup) *spec.Config {
	raw := spec.Encode(cfg)
	best := cfg
	for _, g := range groups {
		if !bytes.Equal(g.raw, raw) {
			continue
		}
		for _, ch := range g.changes {
			if uint64(len(ch)) <= best.Epoch-cfg.Epoch {
				continue
			}
			if next, err := spec.VerifySteps(cfg, ch, verifyEd, broker.AdmitKey); err == nil {
				best = next
			}
		}
	}
	return best
}

// fetchChain fetches replica i's chain (GET /chain), or, from a replica that does not
// serve one (not yet running, or an older version), its configuration as a chain
// without changes. Not from a replica that answers it recovers the whole cluster
// (PhaseHeader): it may serve /config a moment later, after the recovery, and that
// configuration is not a genesis copy.
func fetchChain(ctx context.Context, t *Template, i int, timeout time.Duration) (*Chain, error) {
	raw, err := httpGet(ctx, t.Replicas[i].Status, "/chain", timeout, maxChainBody)
	var c Chain
	if err == nil {
		if err := spec.Decode(raw, &c, maxChainBody); err != nil {
			return nil, fmt.Errorf("its chain does not decode: %w", err)
		}
		return &c, nil
	}
	if isRecoveringAnswer(err) {
		return nil, err
	}
	cfg, cerr := httpGet(ctx, t.Replicas[i].Status, "/config", timeout, spec.MaxMessageBytes)
	if cerr != nil {
		return nil, err
	}
	return &Chain{Genesis: cfg}, nil
}

// fetchCopies fetches every replica's chain and groups identical genesis copies, the
// most served first (ties by lowest replica id); errs holds each replica's fetch error.
func fetchCopies(ctx context.Context, t *Template, timeout time.Duration) ([]copyGroup, []error) {
	chains := make([]*Chain, t.N)
	errs := make([]error, t.N)
	var wg sync.WaitGroup
	for i := range t.Replicas {
		wg.Go(func() {
			chains[i], errs[i] = fetchChain(ctx, t, i, timeout)
		})
	}
	wg.Wait()
	var groups []copyGroup
	for i, c := range chains {
		if errs[i] != nil {
			continue
		}
		j := slices.IndexFunc(groups, func(g copyGroup) bool { return bytes.Equal(g.raw, c.Genesis) })
		if j < 0 {
			groups = append(groups, copyGroup{raw: c.Genesis})
			j = len(groups) - 1
		}
		groups[j].replicas = append(groups[j].replicas, i)
		groups[j].changes = append(groups[j].changes, c.Changes)
	}
	sort.SliceStable(groups, func(a, b int) bool { return len(groups[a].replicas) > len(groups[b].replicas) })
	return groups, errs
}

// describeCopies says who served which copy and who could not be reached.
func describeCopies(groups []copyGroup, errs []error) string {
	var desc []string
	for _, g := range groups {
		d := spec.Hash("splitbft/operator/copy", g.raw)
		desc = append(desc, fmt.Sprintf("replicas %v serve %x", g.replicas, d[:6]))
	}
	for i, err := range errs {
		if err != nil {
			desc = append(desc, fmt.Sprintf("replica %d: %v", i, err))
		}
	}
	return strings.Join(desc, "; ")
}

// KVOptions configure Connect. Zero values take the defaults noted.
type KVOptions struct {
	Dir      string          // cluster directory; required
	ID       uint64          // client id (credentials in Dir/clients/client-<id>.json)
	Wait     time.Duration   // how long to wait for the cluster to form; default 0 (try once)
	Timeout  time.Duration   // per request; default 30s
	Verifier attest.Verifier // default attest.DefaultVerifier()
	Stderr   io.Writer       // the dev-insecure note and waiting notes; default os.Stderr
	Quiet    bool            // print no dev-insecure note (another client of this invocation did)
	// InsecureTransport connects over plain TCP without authentication (SPEC §13.2),
	// to replicas run the same way, for measuring the transport's cost only.
	InsecureTransport bool
}

// KV is a connected key-value client.
type KV struct {
	*client.Client
	Config  *spec.Config
	conn    *tcpnet.ClientConn
	tsPath  string
	t       *Template
	timeout time.Duration
}

// Connect loads the client's credentials and the template, fetches and checks the
// configuration (FetchConfig, retried while the cluster has not formed, up to
// opt.Wait), prints the dev-insecure warning if it applies, and connects to the
// replicas' client ports. Timestamps continue above every timestamp this client
// identity used before (a file beside its credentials, and the clock).
func Connect(ctx context.Context, opt KVOptions) (*KV, error) {
	kvs, err := ConnectClients(ctx, opt, 1)
	if err != nil {
		return nil, err
	}
	return kvs[0], nil
}

// ConnectClients connects n clients, ids opt.ID to opt.ID+n−1, as Connect does one,
// over shared connections: one per replica for every tcpnet.MaxClientsPerDial
// clients, the first client of each authenticating it and the others attached
// (SPEC §13.2), so that their requests and replies share system calls.
func ConnectClients(ctx context.Context, opt KVOptions, n int) ([]*KV, error) {
	if n < 1 {
		return nil, fmt.Errorf("operator: %d clients to connect, want at least 1", n)
	}
	if opt.Verifier == nil {
		opt.Verifier = attest.DefaultVerifier()
	}
	if opt.Stderr == nil {
		opt.Stderr = os.Stderr
	}
	t, err := LoadTemplate(opt.Dir)
	if err != nil {
		return nil, err
	}
	var ids []client.Identity
	for i := range uint64(n) {
		id, err := LoadIdentity(opt.Dir, opt.ID+i)
		if err != nil {
			if cerr := t.checkClient(opt.ID + i); cerr != nil {
				return nil, cerr // a typo, most likely: say which ids exist
			}
			return nil, err
		}
		ids = append(ids, id)
	}
	cfg, err := waitConfig(ctx, t, opt)
	if err != nil {
		return nil, err
	}
	for _, id := range ids { // the configuration, not the template: governance adds and removes clients
		if err := registered(cfg, id); err != nil {
			return nil, err
		}
	}
	if !opt.Quiet {
		fmt.Fprint(opt.Stderr, InsecureNote(cfg))
	}
	var kvs []*KV
	for len(ids) > 0 {
		k := min(len(ids), tcpnet.MaxClientsPerDial)
		more, err := dial(ctx, t, cfg, ids[:k], opt)
		if err != nil {
			for _, kv := range kvs {
				kv.Close()
			}
			return nil, err
		}
		kvs, ids = append(kvs, more...), ids[k:]
	}
	for _, kv := range kvs {
		kv.t, kv.timeout = t, cmpOr(opt.Timeout, 30*time.Second)
	}
	return kvs, nil
}

// waitConfig retries FetchConfig while the cluster has not formed, up to opt.Wait.
func waitConfig(ctx context.Context, t *Template, opt KVOptions) (*spec.Config, error) {
	deadline := time.Now().Add(opt.Wait)
	for said := false; ; said = true {
		cfg, err := FetchConfig(ctx, t, opt.Verifier, 3*time.Second)
		if err == nil || !errors.Is(err, ErrNotFormed) || time.Now().After(deadline) {
			return cfg, err
		}
		if !said {
			fmt.Fprintf(opt.Stderr, "waiting up to %s for the cluster to form...\n", opt.Wait.Round(time.Second))
		}
		if err := sleepCtx(ctx, 250*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// dial connects the client ports for ids over shared connections and starts a
// client for each above its last used timestamp.
func dial(ctx context.Context, t *Template, cfg *spec.Config, ids []client.Identity, opt KVOptions) ([]*KV, error) {
	addrs := make([]string, t.N)
	for i, r := range t.Replicas {
		addrs[i] = r.Client
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	idents := make([]tcpnet.ClientIdentity, len(ids))
	for i, id := range ids {
		idents[i] = tcpnet.ClientIdentity{ID: id.ID, Key: ed25519.NewKeyFromSeed(id.Seed[:])}
	}
	conns, err := tcpnet.DialClients(dctx, addrs, idents, tcpnet.ClientOptions{Insecure: opt.InsecureTransport,
		ServerKeys: t.TransportKeys()})
	if err != nil {
		return nil, err
	}
	kvs := make([]*KV, 0, len(ids))
	fail := func(err error) ([]*KV, error) {
		for _, c := range conns {
			c.Close()
		}
		return nil, err
	}
	for i, id := range ids {
		c, err := client.New(cfg, id, rand.Reader, conns[i], client.Options{Timeout: cmpOr(opt.Timeout, 30*time.Second),
			Chain: ChainSource(t, 3*time.Second), Admit: broker.AdmitKey})
		if err != nil {
			return fail(err)
		}
		kv := &KV{Client: c, Config: cfg, conn: conns[i], tsPath: CredentialsPath(opt.Dir, id.ID) + ".next"}
		if err := c.Session().SetNextTimestamp(kv.firstTimestamp()); err != nil {
			return fail(err)
		}
		kvs = append(kvs, kv)
	}
	return kvs, nil
}

// registered fails, listing the registered ids, unless id is a client of cfg with
// id's keys (SPEC §17.2: proposals add and remove clients after formation, and a
// client removed and added again may have new keys): the brokers would refuse a
// connection under another signing key, and the replies of another box key could
// not be opened.
func registered(cfg *spec.Config, id client.Identity) error {
	ids := make([]string, len(cfg.Clients))
	for i, c := range cfg.Clients {
		if c.ID != id.ID {
			ids[i] = strconv.FormatUint(c.ID, 10)
			continue
		}
		switch own := id.Registration(); {
		case c.SignKey != own.SignKey:
			return fmt.Errorf("operator: client %d is registered with another key in the cluster's configuration of epoch %d: sign key %x, the credentials' is %x", id.ID, cfg.Epoch, c.SignKey[:], own.SignKey[:])
		case c.BoxKey != own.BoxKey:
			return fmt.Errorf("operator: client %d is registered with another key in the cluster's configuration of epoch %d: box key %x, the credentials' is %x", id.ID, cfg.Epoch, c.BoxKey[:], own.BoxKey[:])
		}
		return nil
	}
	return fmt.Errorf("operator: client %d is not registered in the cluster's configuration of epoch %d (registered clients: %s)", id.ID, cfg.Epoch, strings.Join(ids, ", "))
}

// checkClient fails, listing the registered ids, unless id is a client of the template.
func (t *Template) checkClient(id uint64) error {
	ids := make([]string, len(t.Clients))
	for i, c := range t.Clients {
		if c.ID == id {
			return nil
		}
		ids[i] = strconv.FormatUint(c.ID, 10)
	}
	return fmt.Errorf("operator: client %d is not registered in %s (registered clients: %s)", id, TemplateFile, strings.Join(ids, ", "))
}

// InsecureNote is the short dev-insecure warning a client prints once per invocation
// (replicas, init and the demo print the long one): empty when every enclave of cfg
// has TEE evidence.
func InsecureNote(cfg *spec.Config) string {
	if attest.InsecureWarning(cfg) == "" {
		return ""
	}
	return fmt.Sprintf("WARNING: cluster %q runs compartments WITHOUT AN ENCLAVE (dev-insecure): NO TEE protection;\n"+
		"their hosts can read and change keys, state and client data (splitbft status shows which).\n", cfg.Name)
}

// Do runs ops as one request (client.Client.Do). When the request times out it asks
// every replica's status port and, when no quorum of replicas is healthy, says which
// replicas are unreachable or unhealthy instead of a bare deadline.
func (kv *KV) Do(ctx context.Context, ops [][]byte) ([]spec.Result, error) {
	res, err := kv.Client.Do(ctx, ops)
	if err == nil || !errors.Is(err, client.ErrTimeout) || kv.t == nil {
		return res, err
	}
	dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := AssessHealth(kv.t, FetchStatus(dctx, kv.t, 2*time.Second))
	return nil, h.explainTimeout(err, kv.timeout)
}

// firstTimestamp is the larger of the clock in nanoseconds and the next timestamp a
// previous run of this client recorded.
func (kv *KV) firstTimestamp() uint64 {
	ts := uint64(time.Now().UnixNano())
	if raw, err := os.ReadFile(kv.tsPath); err == nil {
		if prev, err := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64); err == nil && prev > ts {
			ts = prev
		}
	}
	return ts
}

// Close records the next unused timestamp and closes the client; the connections it
// shares with the other clients of its ConnectClients call close with the last of
// them.
func (kv *KV) Close() error {
	next := kv.Session().NextTimestamp()
	tmp := kv.tsPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.FormatUint(next, 10)+"\n"), 0o600); err == nil {
		os.Rename(tmp, kv.tsPath)
	}
	return kv.conn.Close()
}
