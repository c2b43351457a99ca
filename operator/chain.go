package operator

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/splitbft/splitbft/broker"
	"github.com/splitbft/splitbft/spec"
)

// The configuration chain on the operator's side (SPEC.md §13.4, §17.7): a replica
// persists the configuration it formed (GenesisFile) and the chain it follows
// (ChainFile), serves the chain as GET /chain, and a replica that restarts on a
// directory holding its genesis fetches the chain from its peers instead of forming.

// GenesisFile holds, in replica-<id>/, the configuration the replica formed (epoch 0).
const GenesisFile = "genesis.cbor"

// ChainFile holds, in replica-<id>/, the chain the replica last adopted (CBOR Chain).
const ChainFile = "chain.cbor"

// Chain is the body of GET /chain: the genesis configuration's canonical bytes and the
// chain steps (epoch changes and recoveries, SPEC.md §17.8) since, in order. A chain of
// epoch changes only encodes as before steps existed.
type Chain struct {
	_       struct{} `cbor:",toarray"`
	Genesis []byte
	Changes []spec.Step
}

// maxChainBody caps a chain a replica accepts from a peer.
const maxChainBody = spec.MaxMessageBytes

// verifyEd is the standard library's Ed25519 as a spec.SigVerifier (SPEC.md §3.3).
func verifyEd(pub spec.PublicKey, msg []byte, sig spec.Signature) bool {
	return ed25519.Verify(pub[:], msg, sig[:])
}

// VerifyChain checks a chain against the genesis configuration the caller trusts
// (its exact bytes) and returns the configuration it reaches.
func VerifyChain(genesis []byte, c *Chain) (*spec.Config, error) {
	if string(c.Genesis) != string(genesis) {
		return nil, errors.New("operator: the chain starts from another genesis configuration (another cluster)")
	}
	var g spec.Config
	if err := spec.Decode(genesis, &g, spec.MaxMessageBytes); err != nil {
		return nil, fmt.Errorf("operator: genesis configuration: %w", err)
	}
	return spec.VerifySteps(&g, c.Changes, verifyEd, broker.AdmitKey)
}

func replicaDir(dir string, id uint64) string {
	return filepath.Join(dir, fmt.Sprintf("replica-%d", id))
}

// loadGenesis returns replica id's genesis configuration bytes, or nil if it never
// formed a cluster in dir.
func loadGenesis(dir string, id uint64) ([]byte, error) {
	raw, err := os.ReadFile(filepath.Join(replicaDir(dir, id), GenesisFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("operator: %w", err)
	}
	var g spec.Config
	if err := spec.Decode(raw, &g, spec.MaxMessageBytes); err != nil {
		return nil, fmt.Errorf("operator: %s of replica %d does not decode: %w (every replica of a cluster holds the same genesis: copy a peer's; or start every replica with --new-cluster to form a new cluster)", GenesisFile, id, err)
	}
	return raw, nil
}

// writeChain persists the chain and the configuration it reaches (config.cbor), each
// replaced whole (writeFileAtomic): a replica killed meanwhile finds the old file or
// the new one, never a torn one it could not recover from (SPEC §17.8).
func writeChain(dir string, id uint64, c *Chain, cur *spec.Config) error {
	d := replicaDir(dir, id)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(d, ChainFile), spec.Encode(c)); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(d, ConfigFile), spec.Encode(cur))
}

// writeFileAtomic replaces path by data: written to a temporary file in the same
// directory, then renamed over path. Not synced (it runs on the broker's event loop):
// a power loss may leave the old file or an empty one, which localChain makes up for
// from the ledger's epoch records.
func writeFileAtomic(path string, data []byte) error {
	return replaceFile(path, data, false)
}

// writeFileSynced is writeFileAtomic, with the file synced before the rename and the
// directory after it: once it returns, a crash or power loss leaves data at path.
// For the genesis (a replica that finds it empty or cut short cannot start until the
// operator replaces it) and the record of formation attempts (formed_without.go).
func writeFileSynced(path string, data []byte) error {
	if err := replaceFile(path, data, true); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func replaceFile(path string, data []byte, sync bool) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// ChainFetcher fetches the current chain from a replica's peers.
type ChainFetcher struct {
	T       *Template
	ID      uint64        // the fetching replica (not asked)
	Every   time.Duration // polling period; default 200ms
	Timeout time.Duration // per request; default 2s
	Log     func(msg string, args ...any)
	// Answered is, after Fetch returned, how many peers served a chain that verifies.
	Answered int
	// Recovering is, after Fetch returned, how many of the other peers last answered
	// that they cannot serve a chain because they restarted themselves: they recover
	// the whole cluster, or wait for f+1 chains to rejoin (PhaseHeader, SPEC §17.8).
	Recovering int
}

// Fetch polls every peer's GET /chain until f+1 of them served a chain that verifies
// from genesis, and returns the longest of those and the configuration it reaches.
// A faulty peer can serve an old chain but not a forged one; among f+1 peers one is
// correct and current.
func (cf *ChainFetcher) Fetch(ctx context.Context, genesis []byte) (*Chain, *spec.Config, error) {
	got := map[uint64]*Chain{}
	recovering := map[uint64]bool{}
	cf.Answered, cf.Recovering = 0, 0
	var best *Chain
	var bestCfg *spec.Config
	type answer struct {
		c      *Chain
		cfg    *spec.Config
		err    error
		asked  bool
		cutOff bool // ctx ended during the request: no answer
	}
	for polls := 0; ; polls++ {
		// The peers are asked at once, so that one slow or silent peer does not use up
		// a round (awaitChain) in which the others answer.
		answers := make([]answer, cf.T.N)
		var wg sync.WaitGroup
		for i := range cf.T.N {
			if i == cf.ID || got[i] != nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, cfg, err := cf.fetchOne(ctx, i, genesis)
				answers[i] = answer{c: c, cfg: cfg, err: err, asked: true, cutOff: ctx.Err() != nil}
			}()
		}
		wg.Wait()
		for i := range cf.T.N {
			a := answers[i]
			if !a.asked {
				continue
			}
			c, cfg, err := a.c, a.cfg, a.err
			if !a.cutOff {
				recovering[i] = isRestartedAnswer(err)
			}
			if err != nil {
				if polls%25 == 24 && cf.Log != nil {
					cf.Log("chain not fetched", "peer", i, "err", err)
				}
				continue
			}
			got[i] = c
			cf.Answered = len(got)
			if best == nil || len(c.Changes) > len(best.Changes) {
				best, bestCfg = c, cfg
			}
		}
		cf.Recovering = 0
		for _, r := range recovering {
			if r {
				cf.Recovering++
			}
		}
		if uint64(len(got)) >= cf.T.F+1 {
			return best, bestCfg, nil
		}
		if polls%25 == 24 && cf.Log != nil {
			cf.Log("waiting for f+1 peers to serve the configuration chain; if every replica restarted and this one has no ledger to recover from, start them all with --new-cluster to form a new, empty cluster",
				"answered", len(got), "need", cf.T.F+1)
		}
		t := time.NewTimer(cmpOr(cf.Every, 200*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, ctx.Err()
		case <-t.C:
		}
	}
}

// fetchRounds runs fetcher's Fetch in rounds of round, each with a fresh count
// (only a round's answers count: a peer that served in an earlier round may have
// stopped since), until a round yields f+1 chains (returned), ctx ends (its error),
// or giveUp, asked after each other round with its fetcher, says to stop (stopped).
func fetchRounds(ctx context.Context, fetcher ChainFetcher, genesis []byte, round time.Duration, giveUp func(round int, cf *ChainFetcher) bool) (c *Chain, cfg *spec.Config, stopped bool, err error) {
	for n := 1; ; n++ {
		cf := fetcher
		rctx, cancel := context.WithTimeout(ctx, round)
		c, cfg, err := cf.Fetch(rctx, genesis)
		cancel()
		switch {
		case err == nil:
			return c, cfg, false, nil
		case ctx.Err() != nil:
			return nil, nil, false, ctx.Err()
		case giveUp(n, &cf):
			return nil, nil, true, nil
		}
	}
}

// fetchOne fetches and verifies peer i's chain.
func (cf *ChainFetcher) fetchOne(ctx context.Context, i uint64, genesis []byte) (*Chain, *spec.Config, error) {
	raw, err := httpGet(ctx, cf.T.Replicas[i].Status, "/chain", cmpOr(cf.Timeout, 2*time.Second), maxChainBody)
	if err != nil {
		return nil, nil, err
	}
	var c Chain
	if err := spec.Decode(raw, &c, maxChainBody); err != nil {
		return nil, nil, fmt.Errorf("operator: replica %d's chain does not decode: %w", i, err)
	}
	cfg, err := VerifyChain(genesis, &c)
	if err != nil {
		return nil, nil, fmt.Errorf("operator: replica %d's chain: %w", i, err)
	}
	return &c, cfg, nil
}

// ChainSource returns a client.Options.Chain for the cluster of t: it fetches every
// replica's chain and returns the longest run of chain steps after cur that
// verifies from cur (SPEC.md §17.7), none if no replica serves one.
func ChainSource(t *Template, timeout time.Duration) func(ctx context.Context, cur *spec.Config) ([]spec.Step, error) {
	return func(ctx context.Context, cur *spec.Config) ([]spec.Step, error) {
		groups, _ := fetchCopies(ctx, t, timeout)
		var best []spec.Step
		for _, g := range groups {
			var gen spec.Config
			if spec.Decode(g.raw, &gen, spec.MaxMessageBytes) != nil || cur.Epoch < gen.Epoch {
				continue
			}
			for _, ch := range g.changes {
				skip := cur.Epoch - gen.Epoch
				if uint64(len(ch)) <= skip || len(ch[skip:]) <= len(best) {
					continue
				}
				if _, err := spec.VerifySteps(cur, ch[skip:], verifyEd, broker.AdmitKey); err == nil {
					best = ch[skip:]
				}
			}
		}
		return best, nil
	}
}
