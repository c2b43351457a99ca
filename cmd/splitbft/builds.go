package main

import (
	"fmt"

	"github.com/splitbft/splitbft/broker/localnet"
	"github.com/splitbft/splitbft/internal/builds"
	"github.com/splitbft/splitbft/spec"
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
		bs = append(bs, localnet.Builds{Prep: variant(spec.RolePrep, a[0]), Conf: variant(spec.RoleConf, a[1]), Exec: variant(spec.RoleExec, "")})
	}
	return bs
}

// variant returns the in-process constructor of implementation v of role r from the
// build registry; diversity only produces letters the registry has.
func variant(r spec.Role, v string) localnet.Factory {
	b, ok := builds.Variant(r, v)
	if !ok {
		panic(fmt.Sprintf("splitbft: no %s build %q", spec.RoleName(r), v))
	}
	return localnet.Factory(b.New)
}
