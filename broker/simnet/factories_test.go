package simnet

import (
	"testing"

	"github.com/splitbft/splitbft/internal/builds"
	"github.com/splitbft/splitbft/internal/testcluster"
)

// trio returns the factory of a replica running implementation prep of Preparation
// and conf of Confirmation ("a" or "b"), with exec + kv, from the build registry.
func trio(prep, conf string) Factory {
	t := builds.Trio(prep, conf)
	return Factory{Prep: t[0], Conf: t[1], Exec: t[2]}
}

// factoryA builds replicas from the "a" implementations: prep-a, conf-a, exec + kv.
func factoryA(uint64) Factory { return trio("a", "a") }

// factories returns replica factories: "aaa" uses the a implementations everywhere;
// "mixed" gives odd replicas prep-b and replicas 2 and 3 conf-b, so every pairing of
// a and b occurs.
func factories(mix string) func(uint64) Factory {
	return func(i uint64) Factory {
		if mix != "mixed" {
			return factoryA(i)
		}
		prep, conf := "a", "a"
		if i%2 == 1 {
			prep = "b"
		}
		if i >= 2 {
			conf = "b"
		}
		return trio(prep, conf)
	}
}

// enclaveKeys returns the keys of compartment id, learned from the randomness the
// simulator gave it (SPEC §3.5); it fails t if they cannot be read.
func enclaveKeys(t testing.TB, s *Sim, id EnclaveID) testcluster.Keys {
	t.Helper()
	k, err := testcluster.DeriveKeys(s.EnclaveRand(id), id.Role)
	if err != nil {
		t.Fatalf("seed %d: keys of %v: %v", s.Seed(), id, err)
	}
	return k
}
