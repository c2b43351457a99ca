package simnet

import (
	"github.com/splitbft/splitbft/internal/builds"
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
