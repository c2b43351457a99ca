package conformance

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/splitbft/splitbft/spec"
)

// A scenario is a golden multi-step script (datadriven style): a header, then commands,
// each followed by "----" and the compartment's outputs rendered by spec.DescribeOutput.
// Every implementation of the role must reproduce the outputs unchanged.
//
//	# a prepared certificate makes conf commit
//	compartment: conf
//	replica: 1
//	seed: 7
//
//	configure
//	----
//	status conf r=1 view=0 active stable=0 last=0
//
// Commands (arguments are key=value; NAME binds a value for later commands):
//
//	configure                              the fixture's configure input
//	batch NAME client=I ts=T [ops=K]       define a batch of one request (no step)
//	vc NAME w=W r=R [stable=N:TAG:R1,R2,R3] [prepared=V:N:BATCH,…]   define a VIEW-CHANGE (no step)
//	client-batch batch=B                   deliver B as a client batch
//	proposal v=V n=N batch=B               the primary's proposal of B
//	pre-prepare v=V n=N batch=B            the primary's PRE-PREPARE header
//	prepare v=V n=N batch=B r=R            replica R's PREPARE
//	commit v=V n=N batch=B r=R             replica R's COMMIT
//	deliver-batch batch=B                  B as a batch message (exec)
//	checkpoint n=N state=TAG r=R           replica R's CHECKPOINT for state digest H(TAG)
//	view-change NAME                       deliver a defined VIEW-CHANGE
//	new-view w=W vcs=NAME,NAME,…           the NEW-VIEW for W built from defined VIEW-CHANGEs
//	suspect v=V                            a suspicion from the broker
//
// batch=null names the null batch. The recovery commands (§17.8) are in
// scenario_recovery.go.
type Scenario struct {
	Name    string
	Comment string
	Role    spec.Role
	Replica uint64
	Seed    uint64
	Params  *Params // header "params:" as in a vector; nil: DefaultParams
	Fresh   bool    // header "fresh: true": the compartment is a fresh enclave outside the fixture's configuration (NewFreshFixture)
	Steps   []ScenarioStep
}

// ScenarioStep is one command and its expected rendering.
type ScenarioStep struct {
	Cmd  string
	Want string
}

// ParseScenario parses a scenario file.
func ParseScenario(name, text string) (*Scenario, error) {
	sc := &Scenario{Name: name}
	blocks := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n")
	var comments []string
	seen := map[string]bool{}
	for _, line := range strings.Split(blocks[0], "\n") {
		if c, ok := strings.CutPrefix(line, "#"); ok {
			comments = append(comments, strings.TrimSpace(c))
			continue
		}
		k, v, ok := strings.Cut(line, ": ")
		if !ok || seen[k] {
			return nil, fmt.Errorf("%s: bad or repeated header line %q", name, line)
		}
		seen[k] = true
		if err := sc.setHeader(k, v); err != nil {
			return nil, fmt.Errorf("%s: %s: %v", name, k, err)
		}
	}
	if !seen["compartment"] || !seen["replica"] || !seen["seed"] {
		return nil, fmt.Errorf("%s: header needs compartment, replica and seed", name)
	}
	sc.Comment = strings.Join(comments, "\n")
	for _, b := range blocks[1:] {
		if strings.TrimSpace(b) == "" {
			continue
		}
		cmd, want, ok := strings.Cut(b, "\n----")
		if !ok {
			return nil, fmt.Errorf("%s: command %q has no ---- line", name, strings.SplitN(b, "\n", 2)[0])
		}
		want = strings.TrimRight(strings.TrimPrefix(want, "\n"), "\n")
		if want != "" {
			want += "\n" // blocks are separated by blank lines; every rendered line ends in \n
		}
		sc.Steps = append(sc.Steps, ScenarioStep{Cmd: strings.TrimSpace(cmd), Want: want})
	}
	return sc, nil
}

func (sc *Scenario) setHeader(k, v string) error {
	var err error
	switch k {
	case "compartment":
		sc.Role, err = parseRole(v)
	case "replica":
		sc.Replica, err = strconv.ParseUint(v, 10, 64)
	case "seed":
		sc.Seed, err = strconv.ParseUint(v, 10, 64)
	case "params":
		var p Params
		p, err = parseParams(v)
		sc.Params = &p
	case "fresh":
		sc.Fresh, err = strconv.ParseBool(v)
	default:
		err = fmt.Errorf("unknown header key")
	}
	return err
}

// Format renders the scenario with the given outputs (one per step).
func (sc *Scenario) Format(outputs []string) string {
	var b strings.Builder
	for _, c := range strings.Split(sc.Comment, "\n") {
		fmt.Fprintf(&b, "# %s\n", c)
	}
	fmt.Fprintf(&b, "compartment: %s\nreplica: %d\nseed: %d\n", spec.RoleName(sc.Role), sc.Replica, sc.Seed)
	if p := sc.Params; p != nil {
		fmt.Fprintf(&b, "params: f=%d k=%d l=%d batch=%d ops=%d opbytes=%d clients=%d members=%d threshold=%d\n",
			p.F, p.K, p.L, p.MaxBatch, p.MaxOps, p.MaxOpBytes, p.Clients, p.Members, p.Threshold)
	}
	if sc.Fresh {
		b.WriteString("fresh: true\n")
	}
	for i, st := range sc.Steps {
		fmt.Fprintf(&b, "\n%s\n----\n%s", st.Cmd, outputs[i])
	}
	return b.String()
}

// RenderScenario runs the scenario's commands against a fresh compartment from
// factory and returns each step's rendered outputs.
func RenderScenario(sc *Scenario, factory Factory) ([]string, error) {
	in, err := Start(factory, sc.Seed, sc.Role, sc.Replica)
	if err != nil {
		return nil, err
	}
	p, newFx := DefaultParams(), NewFixture
	if sc.Params != nil {
		p = *sc.Params
	}
	if sc.Fresh {
		newFx = NewFreshFixture
	}
	fx, err := newFx(sc.Seed, p, sc.Role, sc.Replica, in.Enrollment.Body)
	if err != nil {
		return nil, err
	}
	env := &scenarioEnv{fx: fx, batches: map[string]spec.Batch{}, vcs: map[string]spec.ViewChange{}}
	var outs []string
	for i, st := range sc.Steps {
		input, ok, err := env.command(st.Cmd)
		if err != nil {
			return nil, fmt.Errorf("%s step %d %q: %v", sc.Name, i, st.Cmd, err)
		}
		if !ok {
			outs = append(outs, "")
			continue
		}
		out, _, err := in.Step(input)
		if err != nil {
			return nil, fmt.Errorf("%s step %d: %v", sc.Name, i, err)
		}
		outs = append(outs, spec.DescribeOutput(out))
	}
	return outs, nil
}

// CheckScenario runs the scenario and reports the first step whose outputs differ.
func CheckScenario(sc *Scenario, factory Factory) error {
	got, err := RenderScenario(sc, factory)
	if err != nil {
		return err
	}
	for i, st := range sc.Steps {
		if d := cmp.Diff(st.Want, got[i]); d != "" {
			return fmt.Errorf("%s step %d %q: outputs differ (-want +got):\n%s", sc.Name, i, st.Cmd, d)
		}
	}
	return nil
}
