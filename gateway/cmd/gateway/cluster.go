package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/splitbft/splitbft/attest"
	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// cluster is the part of the cluster directory's cluster.json that the gateway reads:
// where the replicas are and which client ids its replica's gateway holds. It is read,
// not trusted: nothing in it can make the gateway accept a configuration that does not
// register its own keys (SPEC.md §16.2). The gateway does not link the operator's
// package (untrusted host code), so it reads these fields itself and ignores the rest.
type cluster struct {
	N        uint64           `json:"n"`
	F        uint64           `json:"f"`
	Replicas []clusterReplica `json:"replicas"`
}

// clusterReplica is one replica's entry.
type clusterReplica struct {
	Client         string   `json:"client"`
	Status         string   `json:"status"`
	TransportKey   hexBytes `json:"transport_key"`
	Redis          string   `json:"redis"`
	GatewayClients []uint64 `json:"gateway_clients"`
}

// hexBytes is a byte string in hexadecimal, as cluster.json writes keys.
type hexBytes []byte

func (h *hexBytes) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	*h = v
	return err
}

// maxClusterBytes caps the cluster.json the gateway reads.
const maxClusterBytes = 16 << 20

// loadCluster reads cluster.json from dir, or from r when dir is "" (the replica
// passes it on stdin, so that the gateway needs no file system, as in an enclave).
func loadCluster(dir string, r io.Reader) (*cluster, error) {
	if dir != "" {
		f, err := os.Open(filepath.Join(dir, "cluster.json"))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	raw, err := io.ReadAll(io.LimitReader(r, maxClusterBytes+1))
	if err != nil {
		return nil, fmt.Errorf("cluster.json: %w", err)
	}
	if len(raw) > maxClusterBytes {
		return nil, fmt.Errorf("cluster.json: over %d bytes", maxClusterBytes)
	}
	return parseCluster(raw)
}

// parseCluster decodes cluster.json and checks the fields the gateway uses.
func parseCluster(raw []byte) (*cluster, error) {
	var c cluster
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("cluster.json: %w", err)
	}
	if c.F < 1 || c.N != 3*c.F+1 || uint64(len(c.Replicas)) != c.N {
		return nil, fmt.Errorf("cluster.json: n=%d f=%d with %d replicas", c.N, c.F, len(c.Replicas))
	}
	for i, r := range c.Replicas {
		if len(r.TransportKey) != 32 {
			return nil, fmt.Errorf("cluster.json: replica %d: transport key of %d bytes", i, len(r.TransportKey))
		}
	}
	return &c, nil
}

// errNotFormed says that no configuration is served by f+1 replicas yet.
var errNotFormed = errors.New("the cluster has not formed")

// errNotRegistered says that the configuration the cluster runs does not register
// this gateway's identities (yet): a gateway started again has new ones, which the
// governance members admit with a proposal (SPEC.md §16.2, "A restarted gateway").
var errNotRegistered = errors.New("the configuration does not register this gateway's client identities with its keys")

// errAmbiguous says that two different valid genesis configurations are each served
// by f+1 replicas, which at most f faulty replicas cannot bring about: the gateway
// chooses neither, and asks again.
var errAmbiguous = errors.New("two different valid configurations are each served by f+1 replicas")

// fetchConfig returns the configuration the gateway serves under (SPEC.md §16.2): the
// genesis configuration that f+1 replicas serve byte for byte in GET /chain and that
// checkGenesis accepts, followed along the longest run of chain steps that verifies
// from it among the chains those replicas serve (§17.7), provided the configuration
// reached passes checkReached. A replica that serves no chain (not running yet,
// rejoining, recovering the whole cluster) counts for nothing: its GET /config may
// hold a later epoch, which is no genesis copy. One replica that serves a verifying
// step suffices; a replica can withhold steps, not forge them.
//
// cache, if not nil, holds what an earlier call verified and is updated: while the
// gateway waits, it polls, and a long chain (an epoch per rejoin or rejuvenation) is
// verified from genesis once, not at every poll.
func fetchConfig(ctx context.Context, c *cluster, own *spec.GatewayEnrollment, enclave bool, v attest.Verifier, cache *chainCache) (*spec.Config, error) {
	type served struct {
		genesis []byte
		steps   []spec.Step
		err     error
	}
	got := make([]served, len(c.Replicas))
	var wg sync.WaitGroup
	for i, r := range c.Replicas {
		wg.Go(func() {
			got[i].genesis, got[i].steps, got[i].err = fetchChain(ctx, r.Status)
		})
	}
	wg.Wait()
	type copies struct {
		by     []int
		chains [][]spec.Step
	}
	groups := map[string]*copies{}
	var unserved []string
	for i, g := range got {
		if g.err != nil {
			unserved = append(unserved, fmt.Sprintf("replica %d: %v", i, g.err))
			continue
		}
		cp := groups[string(g.genesis)]
		if cp == nil {
			cp = &copies{}
			groups[string(g.genesis)] = cp
		}
		cp.by = append(cp.by, i)
		cp.chains = append(cp.chains, g.steps)
	}
	var found *spec.Config
	var foundRaw string
	var foundBy []int
	var chains [][]spec.Step
	var problems []string
	for raw, g := range groups {
		if uint64(len(g.by)) < c.F+1 {
			continue
		}
		cfg, err := checkGenesis([]byte(raw), c)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("replicas %v: %v", g.by, err))
		case found != nil:
			return nil, fmt.Errorf("%w: replicas %v and replicas %v", errAmbiguous, foundBy, g.by)
		default:
			found, foundRaw, foundBy, chains = cfg, raw, g.by, g.chains
		}
	}
	if found == nil && len(problems) > 0 {
		return nil, fmt.Errorf("no configuration served by f+1 replicas is acceptable: %s", strings.Join(problems, "; "))
	}
	if found == nil {
		return nil, fmt.Errorf("%w (%s)", errNotFormed, strings.Join(unserved, "; "))
	}
	// The steps verified before from this genesis are not verified again: a step that
	// verifies from the configuration the cache reached continues the chain whatever
	// the replica served before it.
	start := found
	if cache != nil && cache.genesis == foundRaw && cache.reached != nil {
		start = cache.reached
	}
	reached := start
	for _, steps := range chains {
		done := start.Epoch - found.Epoch // steps before start
		if uint64(len(steps)) <= reached.Epoch-found.Epoch {
			continue
		}
		if next, err := spec.VerifySteps(start, steps[done:], verifyEd, broker.AdmitKey); err == nil {
			reached = next
		}
	}
	if cache != nil {
		cache.genesis, cache.reached = foundRaw, reached
	}
	if err := checkReached(reached, own, enclave, v); err != nil {
		return nil, err
	}
	return reached, nil
}

// chainCache is fetchConfig's record of the configuration it reached by verified
// chain steps from a genesis copy (raw bytes).
type chainCache struct {
	genesis string
	reached *spec.Config
}

// fetchChain returns the genesis configuration and the chain steps a replica serves
// at GET /chain.
func fetchChain(ctx context.Context, addr string) (genesis []byte, steps []spec.Step, err error) {
	raw, err := get(ctx, addr, "/chain", spec.MaxMessageBytes)
	if err != nil {
		return nil, nil, err
	}
	var ch chainBody
	if err := spec.Decode(raw, &ch, spec.MaxMessageBytes); err != nil {
		return nil, nil, fmt.Errorf("its chain does not decode: %w", err)
	}
	return ch.Genesis, ch.Changes, nil
}

// checkGenesis accepts a served genesis configuration when it decodes, is valid
// (SPEC.md §6.2) and is of the cluster's size.
func checkGenesis(raw []byte, c *cluster) (*spec.Config, error) {
	var cfg spec.Config
	if err := spec.Decode(raw, &cfg, spec.MaxMessageBytes); err != nil {
		return nil, fmt.Errorf("the configuration does not decode: %w", err)
	}
	if err := cfg.Validate(broker.AdmitKey); err != nil {
		return nil, err
	}
	if cfg.N != c.N || cfg.F != c.F {
		return nil, fmt.Errorf("the configuration has n=%d f=%d, cluster.json n=%d f=%d", cfg.N, cfg.F, c.N, c.F)
	}
	return &cfg, nil
}

// checkReached accepts the configuration the gateway would serve under when it
// registers exactly this gateway's identities (errNotRegistered otherwise), every
// enrollment's evidence is admitted (§7.3), and it allows no dev-insecure evidence
// when this gateway runs in an enclave (§16.2).
func checkReached(cfg *spec.Config, own *spec.GatewayEnrollment, enclave bool, v attest.Verifier) error {
	switch {
	case !own.SameKeys(cfg):
		return fmt.Errorf("%w (epoch %d)", errNotRegistered, cfg.Epoch)
	case enclave && cfg.AllowDevInsecure:
		return errors.New("the configuration allows dev-insecure evidence, and this gateway runs in an enclave")
	}
	return attest.Rejected(attest.CheckConfig(cfg, v))
}

// waitConfig polls fetchConfig, up to wait, while the cluster has not formed, its
// configuration does not register this gateway (replica id's), or two genesis copies
// are each served by f+1 replicas: every 250 ms, and while it waits for re-admission
// every pollSlow (members act in minutes, and each poll fetches every replica's
// chain). It says on stderr why it waits each time the reason changes: the gateway of
// a replica started again has new identities, which the members admit.
func waitConfig(ctx context.Context, c *cluster, id uint64, own *spec.GatewayEnrollment, enclave bool, wait time.Duration, stderr io.Writer) (*spec.Config, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	v := attest.DefaultVerifier()
	var said error // the last reason to wait: the timeout names it, not the cut-off fetch
	var cache chainCache
	for {
		cfg, err := fetchConfig(ctx, c, own, enclave, v, &cache)
		if ctx.Err() != nil && said != nil {
			err = said
		}
		pause := 250 * time.Millisecond
		switch {
		case errors.Is(err, errNotRegistered):
			pause = pollSlow
			if !errors.Is(said, errNotRegistered) {
				fmt.Fprintf(stderr, "gateway: %v: waiting until the governance members admit this gateway's identities "+
					"(splitbft propose --readmit-gateway %d)\n", err, id)
			}
		case errors.Is(err, errAmbiguous):
			if !errors.Is(said, errAmbiguous) {
				fmt.Fprintf(stderr, "gateway: %v; waiting\n", err)
			}
		case errors.Is(err, errNotFormed):
		default:
			return cfg, err
		}
		said = err
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("%w; waited %s", err, wait)
			}
			return nil, ctx.Err()
		case <-time.After(pause):
		}
	}
}

// pollSlow is waitConfig's pause while the configuration does not register the gateway.
var pollSlow = 2 * time.Second

// get fetches http://addr+path, at most max bytes, within 3 seconds.
func get(ctx context.Context, addr, path string, max int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(resp.Body, max+1))
	switch {
	case err != nil:
		return nil, err
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("GET %s%s: %s", addr, path, resp.Status)
	case n > max:
		return nil, fmt.Errorf("GET %s%s: answer over %d bytes", addr, path, max)
	}
	return buf.Bytes(), nil
}
