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

// fetchConfig returns the configuration that f+1 replicas serve byte for byte and
// that checkConfig accepts (SPEC.md §16.2); two such configurations are refused as
// ambiguous.
func fetchConfig(ctx context.Context, c *cluster, own *spec.GatewayEnrollment, enclave bool, v attest.Verifier) (*spec.Config, error) {
	copies := map[string]int{}
	for _, r := range c.Replicas {
		if raw, err := get(ctx, r.Status, "/config", spec.MaxMessageBytes); err == nil {
			copies[string(raw)]++
		}
	}
	var found *spec.Config
	var problems []string
	for raw, count := range copies {
		if uint64(count) < c.F+1 {
			continue
		}
		cfg, err := checkConfig([]byte(raw), c, own, enclave, v)
		switch {
		case err != nil:
			problems = append(problems, err.Error())
		case found != nil:
			return nil, errors.New("two different valid configurations are each served by f+1 replicas")
		default:
			found = cfg
		}
	}
	if found == nil && len(problems) > 0 {
		return nil, fmt.Errorf("no configuration served by f+1 replicas is acceptable: %s", strings.Join(problems, "; "))
	}
	if found == nil {
		return nil, errNotFormed
	}
	return found, nil
}

// checkConfig accepts a served configuration when it is valid (SPEC.md §6.2), of the
// cluster's size, registers exactly this gateway's identities, every enrollment's
// evidence is admitted (§7.3), and it allows no dev-insecure evidence when this
// gateway runs in an enclave (§16.2).
func checkConfig(raw []byte, c *cluster, own *spec.GatewayEnrollment, enclave bool, v attest.Verifier) (*spec.Config, error) {
	var cfg spec.Config
	if err := spec.Decode(raw, &cfg, spec.MaxMessageBytes); err != nil {
		return nil, fmt.Errorf("the configuration does not decode: %w", err)
	}
	if err := cfg.Validate(broker.AdmitKey); err != nil {
		return nil, err
	}
	switch {
	case cfg.N != c.N || cfg.F != c.F:
		return nil, fmt.Errorf("the configuration has n=%d f=%d, cluster.json n=%d f=%d", cfg.N, cfg.F, c.N, c.F)
	case !own.SameKeys(&cfg):
		return nil, errors.New("the configuration does not register this gateway's client identities with its keys")
	case enclave && cfg.AllowDevInsecure:
		return nil, errors.New("the configuration allows dev-insecure evidence, and this gateway runs in an enclave")
	}
	if err := attest.Rejected(attest.CheckConfig(&cfg, v)); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// waitConfig polls fetchConfig every 250ms while the cluster has not formed, up to wait.
func waitConfig(ctx context.Context, c *cluster, own *spec.GatewayEnrollment, enclave bool, wait time.Duration) (*spec.Config, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	v := attest.DefaultVerifier()
	for {
		cfg, err := fetchConfig(ctx, c, own, enclave, v)
		if !errors.Is(err, errNotFormed) {
			return cfg, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w within %s", errNotFormed, wait)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

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
