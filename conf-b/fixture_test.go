package confb

import (
	"io"
	"testing"

	"github.com/splitbft/splitbft/internal/agreeb/agreebtest"
	"github.com/splitbft/splitbft/spec"
)

// testSetup describes conf-b to the shared b test fixture.
var testSetup = agreebtest.Setup{
	Role: spec.RoleConf, Build: Build, ConfigName: "confb-test",
	New: func(r io.Reader) agreebtest.Compartment { return New(r) },
}

// fixture is one conf-b under test inside a simulated cluster (agreebtest.World),
// with the conf-specific helpers of this package's tests as methods.
type fixture struct {
	*agreebtest.World
}

// newUnconfigured builds the fixture's keys and an initialised, unconfigured conf.
func newUnconfigured(t testing.TB, me uint64, seed int64) *fixture {
	t.Helper()
	return &fixture{agreebtest.NewUnconfigured(t, &testSetup, me, seed)}
}

// newFixture returns a configured conf-b at replica me.
func newFixture(t testing.TB, me uint64, seed int64) *fixture {
	t.Helper()
	return &fixture{agreebtest.NewConfigured(t, &testSetup, me, seed)}
}
