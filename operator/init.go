package operator

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

// InitOptions are the choices of `splitbft init`. Zero values take the defaults noted.
type InitOptions struct {
	Name             string   // cluster name; default "splitbft"
	F                uint64   // faults tolerated per compartment type; n = 3f+1; default 1
	Diversity        string   // Assign mode; default balanced
	Seed             uint64   // seed of the random diversity
	BasePort         int      // replica i uses BasePort+3i (peer), +1 (client), +2 (status); default 7000
	Hosts            []string // one host for all replicas, or one per replica; default 127.0.0.1
	Clients          int      // client identities, ids 1..Clients; default 4
	AllowDevInsecure bool     // admit dev-insecure evidence (no TEE)
	K, L             uint64   // checkpoint interval and window; defaults 16 and 64
	Batch            uint64   // max requests per batch; default 200
	MaxOps           uint64   // max operations per request; default 16
	MaxOpBytes       uint64   // max ciphertext bytes per operation; default 16384 (an admission with SGX evidence, SPEC §17.5, fits)
	Force            bool     // replace an existing cluster directory's template and credentials
	// RedisPort, when not 0, gives replica i a Redis gateway on 127.0.0.1:RedisPort+i
	// (SPEC.md §16) with GatewayClients client identities of its own (default 4),
	// numbered after the Clients; the gateway generates their keys (§16.2), so init
	// writes no credentials for them.
	RedisPort, GatewayClients int
	// RedisTLS makes the gateways serve TLS under their attested keys (SPEC.md §16.2).
	RedisTLS bool
	// Members governance member keys are made (SPEC.md §17.2), written to members/;
	// MemberThreshold signatures a proposal needs (default: a majority of them).
	Members         int
	MemberThreshold uint64
}

func (o InitOptions) withDefaults() InitOptions {
	def := func(v *uint64, d uint64) {
		if *v == 0 {
			*v = d
		}
	}
	if o.Name == "" {
		o.Name = "splitbft"
	}
	if o.Diversity == "" {
		o.Diversity = DiversityBalanced
	}
	if o.BasePort == 0 {
		o.BasePort = 7000
	}
	if len(o.Hosts) == 0 {
		o.Hosts = []string{"127.0.0.1"}
	}
	if o.Clients == 0 {
		o.Clients = 4
	}
	def(&o.F, 1)
	def(&o.K, 16)
	def(&o.L, 64)
	def(&o.Batch, 200)
	def(&o.MaxOps, 16)
	def(&o.MaxOpBytes, 16384)
	return o
}

// NewTemplate builds a validated template and the clients' identities, whose keys
// are read from rand (64 bytes per client, client.NewIdentity, then 32 bytes per
// replica for its transport key, whose private half it drops, then 64 bytes per
// replica for its broker client, which it registers and drops).
func NewTemplate(opt InitOptions, rand io.Reader) (*Template, []client.Identity, error) {
	t, ids, _, _, err := newTemplateBrokers(opt, rand)
	return t, ids, err
}

// newTemplateBrokers is newTemplate, also returning the replicas' broker clients
// (whose keys are read from rand after the transport keys).
func newTemplateBrokers(opt InitOptions, rand io.Reader) (*Template, []client.Identity, []ed25519.PrivateKey, []client.Identity, error) {
	t, ids, keys, brokers, _, err := newTemplateAll(opt, rand)
	return t, ids, keys, brokers, err
}

// newTemplateAll is newTemplateBrokers, also returning the member keys (read from
// rand after the broker clients').
func newTemplateAll(opt InitOptions, rand io.Reader) (*Template, []client.Identity, []ed25519.PrivateKey, []client.Identity, []ed25519.PrivateKey, error) {
	t, ids, keys, err := newTemplateKeys(opt, rand)
	if err != nil {
		return nil, nil, nil, nil, nil, err
	}
	brokers, err := addBrokerClients(t, rand)
	if err != nil {
		return nil, nil, nil, nil, nil, err
	}
	members, err := addMembers(t, opt.Members, opt.MemberThreshold, rand)
	if err != nil {
		return nil, nil, nil, nil, nil, err
	}
	return t, ids, keys, brokers, members, t.Validate()
}

// newTemplateKeys builds the template without broker clients.
func newTemplateKeys(opt InitOptions, rand io.Reader) (*Template, []client.Identity, []ed25519.PrivateKey, error) {
	opt = opt.withDefaults()
	n := 3*opt.F + 1
	if opt.F > spec.MaxReplicas/3 {
		return nil, nil, nil, tmplErr("f=%d: at most %d replicas", opt.F, spec.MaxReplicas)
	}
	if len(opt.Hosts) != 1 && uint64(len(opt.Hosts)) != n {
		return nil, nil, nil, tmplErr("%d hosts for %d replicas: give one host, or one per replica", len(opt.Hosts), n)
	}
	if opt.Clients < 0 || opt.Clients > spec.MaxClients {
		return nil, nil, nil, tmplErr("clients %d out of 0..%d", opt.Clients, spec.MaxClients)
	}
	if opt.BasePort < 1 || opt.BasePort+3*int(n) > 65536 {
		return nil, nil, nil, tmplErr("base port %d: ports %d..%d must lie in 1..65535", opt.BasePort, opt.BasePort, opt.BasePort+3*int(n)-1)
	}
	builds, err := Assign(opt.Diversity, int(n), opt.Seed)
	if err != nil {
		return nil, nil, nil, tmplErr("%v", err)
	}
	t := &Template{Name: opt.Name, N: n, F: opt.F, CheckpointInterval: opt.K, Window: opt.L,
		MaxBatchRequests: opt.Batch, MaxRequestOps: opt.MaxOps, MaxOpBytes: opt.MaxOpBytes,
		AllowDevInsecure: opt.AllowDevInsecure, Builds: devPolicies()}
	for i := range builds {
		host := opt.Hosts[min(i, len(opt.Hosts)-1)]
		port := func(k int) string { return net.JoinHostPort(host, strconv.Itoa(opt.BasePort+3*i+k)) }
		t.Replicas = append(t.Replicas, ReplicaTemplate{ID: uint64(i), Peer: port(0), Client: port(1), Status: port(2),
			Prep: builds[i][0], Conf: builds[i][1], Exec: builds[i][2]})
	}
	ids, err := newClients(opt.Clients, rand)
	if err != nil {
		return nil, nil, nil, err
	}
	assignGateways(t, opt)
	for _, id := range ids {
		reg := id.Registration()
		t.Clients = append(t.Clients, ClientKeys{ID: id.ID, SignKey: reg.SignKey[:], BoxKey: reg.BoxKey[:]})
	}
	keys, err := newTransportKeys(n, rand)
	if err != nil {
		return nil, nil, nil, err
	}
	for i, k := range keys {
		t.Replicas[i].TransportKey = Hex(k.Public().(ed25519.PublicKey))
	}
	return t, ids, keys, t.Validate()
}

// devPolicies returns one policy per known (role, build), without measurements: it
// admits dev-insecure evidence only (when the template allows it), until an operator
// adds a unique id or a signer id for the EGo builds (docs/ENCLAVES.md).
func devPolicies() []BuildPolicy {
	var out []BuildPolicy
	for r := spec.RolePrep; r <= spec.RoleExec; r++ {
		for _, b := range BuildNames(r) {
			out = append(out, BuildPolicy{Role: spec.RoleName(r), Build: b})
		}
	}
	return out
}

// newClients creates identities 1..n.
func newClients(n int, rand io.Reader) ([]client.Identity, error) {
	ids := make([]client.Identity, 0, n)
	for i := 1; i <= n; i++ {
		id, err := client.NewIdentity(uint64(i), rand)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// ErrExists is returned by Init for a cluster directory that already holds a cluster
// when Force is not set.
var ErrExists = errors.New("operator: cluster directory already exists")

// Init creates cluster directory dir: cluster.json, clients/client-<id>.json,
// replica-<id>/transport.key and replica-<id>/broker-client.json. A
// directory that exists and is not empty is refused unless opt.Force is set, in which
// case its template, credentials and replica configurations (not its bin folder) are
// replaced.
func Init(dir string, opt InitOptions, rand io.Reader) (*Template, error) {
	t, ids, keys, brokers, members, err := newTemplateAll(opt, rand)
	if err != nil {
		return nil, err
	}
	if err := prepareDir(dir, opt.Force); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, ClientsDir), 0o700); err != nil {
		return nil, err
	}
	if err := t.Save(dir); err != nil {
		return nil, err
	}
	for _, id := range ids {
		if err := SaveIdentity(dir, id); err != nil {
			return nil, err
		}
	}
	for i, k := range keys {
		if err := saveTransportKey(dir, uint64(i), k); err != nil {
			return nil, err
		}
	}
	for i, c := range brokers {
		if err := saveBrokerClient(dir, uint64(i), c); err != nil {
			return nil, err
		}
	}
	if err := saveMembers(dir, members); err != nil {
		return nil, err
	}
	return t, nil
}

// prepareDir refuses a non-empty dir without force, and with force removes what Init
// writes and what replicas wrote for the old cluster.
func prepareDir(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(entries) == 0) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return err
	}
	if !force {
		return fmt.Errorf("%w: %s is not empty (use --force to replace its cluster)", ErrExists, dir)
	}
	old, _ := filepath.Glob(filepath.Join(dir, "replica-*"))
	old = append(old, filepath.Join(dir, TemplateFile), filepath.Join(dir, ClientsDir), filepath.Join(dir, MembersDir))
	for _, p := range old {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	return nil
}

// WriteInitReport prints what Init made: the diversity matrix, the files, and what an
// operator must know before starting the replicas.
func WriteInitReport(w io.Writer, dir string, t *Template) {
	fmt.Fprintf(w, "cluster %q: n=%d f=%d K=%d L=%d batch≤%d ops/request≤%d\n\n", t.Name, t.N, t.F,
		t.CheckpointInterval, t.Window, t.MaxBatchRequests, t.MaxRequestOps)
	WriteMatrix(w, t)
	fmt.Fprintf(w, "\nwrote %s (template, no secrets)\n", filepath.Join(dir, TemplateFile))
	fmt.Fprintf(w, "wrote %d client credentials in %s (secret, mode 0600)\n", len(t.Clients)-len(t.Replicas), filepath.Join(dir, ClientsDir))
	fmt.Fprintf(w, "wrote %d broker transport keys and broker client credentials, %s and %s (secret, mode 0600; copy each to its replica's host)\n\n",
		len(t.Replicas), filepath.Join(dir, "replica-<id>", TransportKeyFile), BrokerClientFile)
	if len(t.Members) > 0 {
		fmt.Fprintf(w, "wrote %d governance member keys in %s (secret, mode 0600; give each to its member, who keeps it offline);\n"+
			"a proposal (splitbft propose) and the recovery of a whole cluster (splitbft recover-cluster) need %d signatures\n\n",
			len(t.Members), filepath.Join(dir, MembersDir), t.Threshold)
	}
	fmt.Fprint(w, "No enclave keys were written. Every compartment generates its keys inside its own\n"+
		"process when `splitbft replica` starts and never writes them anywhere (docs/DESIGN.md §5):\n"+
		"a replica is never restarted from old state. A restarted replica has new keys: started\n"+
		"again with the same command, it fetches the configuration chain from its peers and has\n"+
		"its fresh compartments admitted in a new epoch (SPEC.md §17.5).\n")
	if t.AllowDevInsecure {
		fmt.Fprint(w, "\nWARNING: this cluster allows dev-insecure evidence: compartments running outside\n"+
			"any enclave are admitted and have NO TEE protection.\n")
		return
	}
	fmt.Fprint(w, "\nThis cluster admits ego-sgx evidence only: before starting the replicas, add the\n"+
		"unique_id (or signer_id, product_id, min_svn) of each EGo build to the build policies\n"+
		"in cluster.json (docs/ENCLAVES.md), or re-run init with --allow-dev-insecure.\n")
}
