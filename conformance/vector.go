package conformance

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/splitbft/splitbft/spec"
)

// Vector is one single-step conformance vector: a compartment (role, replica) with
// randomness Stream("enclave", Seed) is initialised, receives the setup Steps (none
// of which may be rejected), then one Final input whose outcome is Expect.
//
// File format (one vector per file, lines "key: value", '#' lines are the comment):
//
//	# a second proposal for (v, n) with another digest
//	compartment: prep
//	rule: P7
//	seed: 3
//	replica: 1
//	params: f=1 k=4 l=16 batch=16 ops=4 opbytes=1024 clients=3
//	expect: reject conflict        (or: accept; or: accept emits prepare,commit)
//	step: <hex of a StepInput>     (zero or more, in order)
//	final: <hex of an Input>
//
// An unknown key is an error, so a vector can never be half-understood.
type Vector struct {
	Name    string
	Comment string
	Role    spec.Role
	Rule    string
	Seed    uint64
	Replica uint64
	Params  Params
	Accept  bool     // expect accept (no rejection) ...
	Code    uint64   // ... or expect exactly this reject code
	Emits   []uint64 // with Accept: the kinds of the non-status outputs, in order (nil: not checked)
	Steps   []spec.StepInput
	Final   spec.Input
}

// Format renders v in the vector file format.
func (v *Vector) Format() string {
	var b strings.Builder
	for _, line := range strings.Split(v.Comment, "\n") {
		fmt.Fprintf(&b, "# %s\n", line)
	}
	fmt.Fprintf(&b, "compartment: %s\nrule: %s\nseed: %d\nreplica: %d\n", spec.RoleName(v.Role), v.Rule, v.Seed, v.Replica)
	p := v.Params
	fmt.Fprintf(&b, "params: f=%d k=%d l=%d batch=%d ops=%d opbytes=%d clients=%d", p.F, p.K, p.L, p.MaxBatch, p.MaxOps, p.MaxOpBytes, p.Clients)
	if p.Members > 0 {
		fmt.Fprintf(&b, " members=%d threshold=%d", p.Members, p.Threshold)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "expect: %s\n", v.expectString())
	for i := range v.Steps {
		fmt.Fprintf(&b, "step: %x\n", spec.Encode(&v.Steps[i]))
	}
	fmt.Fprintf(&b, "final: %x\n", spec.Encode(&v.Final))
	return b.String()
}

func (v *Vector) expectString() string {
	if !v.Accept {
		return "reject " + spec.CodeName(v.Code)
	}
	if v.Emits == nil {
		return "accept"
	}
	names := make([]string, len(v.Emits))
	for i, k := range v.Emits {
		names[i] = spec.KindName(k)
	}
	if len(names) == 0 {
		return "accept emits nothing"
	}
	return "accept emits " + strings.Join(names, ",")
}

// ParseVector parses one vector file.
func ParseVector(name, text string) (*Vector, error) {
	v := &Vector{Name: name}
	var comments []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for ln := 1; sc.Scan(); ln++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			comments = append(comments, strings.TrimPrefix(strings.TrimPrefix(line, "#"), " "))
			continue
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		key, val, ok := strings.Cut(line, ": ")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want \"key: value\"", name, ln)
		}
		if seen[key] && key != "step" {
			return nil, fmt.Errorf("%s:%d: %q given twice", name, ln, key)
		}
		seen[key] = true
		if err := v.set(key, val); err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %v", name, ln, key, err)
		}
	}
	for _, k := range []string{"compartment", "rule", "seed", "replica", "params", "expect", "final"} {
		if !seen[k] {
			return nil, fmt.Errorf("%s: missing %q", name, k)
		}
	}
	v.Comment = strings.Join(comments, "\n")
	return v, sc.Err()
}

func (v *Vector) set(key, val string) error {
	var err error
	switch key {
	case "compartment":
		v.Role, err = parseRole(val)
	case "rule":
		v.Rule = val
	case "seed":
		v.Seed, err = strconv.ParseUint(val, 10, 64)
	case "replica":
		v.Replica, err = strconv.ParseUint(val, 10, 64)
	case "params":
		v.Params, err = parseParams(val)
	case "expect":
		err = v.parseExpect(val)
	case "step":
		var si spec.StepInput
		err = decodeHex(val, &si)
		v.Steps = append(v.Steps, si)
	case "final":
		err = decodeHex(val, &v.Final)
	default:
		err = fmt.Errorf("unknown key")
	}
	return err
}

func parseRole(s string) (spec.Role, error) {
	for _, r := range []spec.Role{spec.RolePrep, spec.RoleConf, spec.RoleExec} {
		if spec.RoleName(r) == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("unknown compartment %q", s)
}

func parseParams(s string) (Params, error) {
	var p Params
	fields := map[string]*uint64{"f": &p.F, "k": &p.K, "l": &p.L, "batch": &p.MaxBatch, "ops": &p.MaxOps, "opbytes": &p.MaxOpBytes}
	for _, kv := range strings.Fields(s) {
		k, val, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(val, 10, 64)
		if err != nil {
			return p, fmt.Errorf("%s: %v", k, err)
		}
		switch k {
		case "clients":
			p.Clients = int(n)
			continue
		case "members":
			p.Members = int(n)
			continue
		case "threshold":
			p.Threshold = n
			continue
		}
		dst, ok := fields[k]
		if !ok {
			return p, fmt.Errorf("unknown param %q", k)
		}
		*dst = n
	}
	return p, nil
}

func (v *Vector) parseExpect(s string) error {
	if code, ok := strings.CutPrefix(s, "reject "); ok {
		c, known := spec.CodeByName(code)
		if !known {
			return fmt.Errorf("unknown reject code %q", code)
		}
		v.Code = c
		return nil
	}
	v.Accept = true
	rest, ok := strings.CutPrefix(s, "accept")
	if !ok {
		return fmt.Errorf("want accept or reject <code>")
	}
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return nil
	}
	list, ok := strings.CutPrefix(rest, "emits ")
	if !ok {
		return fmt.Errorf("want \"accept emits <kinds>\"")
	}
	v.Emits = []uint64{}
	if list == "nothing" {
		return nil
	}
	for _, name := range strings.Split(list, ",") {
		k, ok := kindByName(name)
		if !ok {
			return fmt.Errorf("unknown kind %q", name)
		}
		v.Emits = append(v.Emits, k)
	}
	return nil
}

func kindByName(name string) (uint64, bool) {
	for k := uint64(0); k < 128; k++ {
		if spec.KindName(k) == name {
			return k, true
		}
	}
	return 0, false
}

func decodeHex(s string, v any) error {
	b, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	return spec.Decode(b, v, spec.MaxMessageBytes)
}
