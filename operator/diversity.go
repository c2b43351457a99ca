package operator

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strings"

	"github.com/splitbft/splitbft/spec"
)

// Diversity modes for Assign.
const (
	DiversityBalanced = "balanced" // cycle (a,a), (a,b), (b,a), (b,b) over (prep, conf)
	DiversityA        = "a"        // prep-a and conf-a everywhere
	DiversityB        = "b"        // prep-b and conf-b everywhere
	DiversityRandom   = "random"   // each replica's prep and conf drawn from a seeded stream
)

// Assign returns the builds (prep, conf, exec) of each of n replicas under a diversity
// mode. Balanced spreads the two implementations of each agreement compartment
// evenly, and pairs them in every combination, so that one buggy implementation sits
// on as few replicas as n allows; random draws each letter from a PCG stream seeded
// with seed (the same seed gives the same matrix).
func Assign(mode string, n int, seed uint64) ([][3]string, error) {
	letters := make([][2]string, n)
	rng := rand.New(rand.NewPCG(seed, 0x5b17bf7))
	for i := range letters {
		switch mode {
		case DiversityBalanced:
			letters[i] = [2]string{"aabb"[i%4 : i%4+1], "abab"[i%4 : i%4+1]}
		case DiversityA, DiversityB:
			letters[i] = [2]string{mode, mode}
		case DiversityRandom:
			letters[i] = [2]string{"ab"[rng.IntN(2):][:1], "ab"[rng.IntN(2):][:1]}
		default:
			return nil, fmt.Errorf("unknown diversity %q (want balanced, a, b or random)", mode)
		}
	}
	out := make([][3]string, n)
	for i, l := range letters {
		out[i] = [3]string{"prep-" + l[0], "conf-" + l[1], "exec"}
	}
	return out, nil
}

// WriteMatrix prints the diversity matrix of a template: one row per replica with its
// builds and addresses, then how many replicas run each build.
func WriteMatrix(w io.Writer, t *Template) {
	fmt.Fprintf(w, "%-8s %-8s %-8s %-8s %-22s %-22s %s\n", "replica", "prep", "conf", "exec", "peer", "client", "status")
	count := map[string][]string{}
	for _, rt := range t.Replicas {
		fmt.Fprintf(w, "%-8d %-8s %-8s %-8s %-22s %-22s %s\n", rt.ID, rt.Prep, rt.Conf, rt.Exec, rt.Peer, rt.Client, rt.Status)
		for r := spec.RolePrep; r <= spec.RoleExec; r++ {
			count[rt.Build(r)] = append(count[rt.Build(r)], fmt.Sprint(rt.ID))
		}
	}
	for r := spec.RolePrep; r <= spec.RoleExec; r++ {
		var parts []string
		for _, b := range BuildNames(r) {
			if ids := count[b]; len(ids) > 0 {
				parts = append(parts, fmt.Sprintf("%s on %d (replicas %s)", b, len(ids), strings.Join(ids, ",")))
			}
		}
		fmt.Fprintf(w, "%s: %s\n", spec.RoleName(r), strings.Join(parts, "; "))
	}
}
