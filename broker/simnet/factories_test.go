package simnet

import (
	"io"

	confa "github.com/splitbft/splitbft/conf-a"
	confb "github.com/splitbft/splitbft/conf-b"
	"github.com/splitbft/splitbft/exec"
	"github.com/splitbft/splitbft/exec/kv"
	prepa "github.com/splitbft/splitbft/prep-a"
	prepb "github.com/splitbft/splitbft/prep-b"
	"github.com/splitbft/splitbft/spec"
)

// factoryA builds replicas from the "a" implementations: prep-a, conf-a, exec + kv.
func factoryA(uint64) Factory {
	return Factory{
		Prep: func(r io.Reader) spec.Compartment { return prepa.New(r) },
		Conf: func(r io.Reader) spec.Compartment { return confa.New(r) },
		Exec: func(r io.Reader) spec.Compartment { return exec.New(r, kv.New()) },
	}
}

// factories returns replica factories: "aaa" uses the a implementations everywhere;
// "mixed" gives odd replicas prep-b and replicas 2 and 3 conf-b, so every pairing of
// a and b occurs.
func factories(mix string) func(uint64) Factory {
	return func(i uint64) Factory {
		f := factoryA(i)
		if mix != "mixed" {
			return f
		}
		if i%2 == 1 {
			f.Prep = func(r io.Reader) spec.Compartment { return prepb.New(r) }
		}
		if i >= 2 {
			f.Conf = func(r io.Reader) spec.Compartment { return confb.New(r) }
		}
		return f
	}
}
