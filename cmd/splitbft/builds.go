package main

import (
	"fmt"
	"io"

	"github.com/splitbft/splitbft/broker/localnet"
	confa "github.com/splitbft/splitbft/conf-a"
	confb "github.com/splitbft/splitbft/conf-b"
	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/exec/kv"
	prepa "github.com/splitbft/splitbft/prep-a"
	prepb "github.com/splitbft/splitbft/prep-b"
	"github.com/splitbft/splitbft/spec"
)

// The compartment implementations this binary can host.
var (
	prepImpls = map[string]localnet.Factory{
		"a": func(r io.Reader) spec.Compartment { return prepa.New(r) },
		"b": func(r io.Reader) spec.Compartment { return prepb.New(r) },
	}
	confImpls = map[string]localnet.Factory{
		"a": func(r io.Reader) spec.Compartment { return confa.New(r) },
		"b": func(r io.Reader) spec.Compartment { return confb.New(r) },
	}
	execImpl localnet.Factory = func(r io.Reader) spec.Compartment { return exec.New(r, kv.New()) }
)

// diversity returns the (prep, conf) implementation letters of each of n replicas:
// "a" or "b" everywhere, or "mixed", which cycles (a,a), (a,b), (b,a), (b,b).
func diversity(mode string, n int) ([][2]string, error) {
	out := make([][2]string, n)
	for i := range out {
		switch mode {
		case "a", "b":
			out[i] = [2]string{mode, mode}
		case "mixed":
			out[i] = [2]string{[]string{"a", "a", "b", "b"}[i%4], []string{"a", "b", "a", "b"}[i%4]}
		default:
			return nil, fmt.Errorf("unknown implementation mix %q (want a, b or mixed)", mode)
		}
	}
	return out, nil
}

// replicaBuilds turns a diversity assignment into localnet builds.
func replicaBuilds(assign [][2]string) []localnet.Builds {
	var bs []localnet.Builds
	for _, a := range assign {
		bs = append(bs, localnet.Builds{Prep: prepImpls[a[0]], Conf: confImpls[a[1]], Exec: execImpl})
	}
	return bs
}
