package spec

import (
	"reflect"
	"strings"
	"testing"
)

// newBody returns a new zero body of kind k's type, or nil for an unknown kind.
func newBody(k uint64) any {
	if info, ok := LookupKind(k); ok {
		return info.New()
	}
	return nil
}

// TestKindTableConsumers: every kind has one row, and every consumer of the table
// knows it: the names, the codec (type and cap), Describe, and the routing columns
// agree with SPEC.md §13.1. kindTypes (examples_test.go) is the independent list the
// table is checked against, in both directions.
func TestKindTableConsumers(t *testing.T) {
	rows := Kinds()
	if len(rows) != len(kindTypes) {
		t.Fatalf("the kind table has %d rows, the test's list of kinds %d", len(rows), len(kindTypes))
	}
	for i, info := range rows {
		k := info.Kind
		if i > 0 && rows[i-1].Kind >= k {
			t.Errorf("%s: the table is not ordered by kind", info.Name)
		}
		if got := reflect.TypeOf(info.New()).Elem().Name(); got != kindTypes[k] {
			t.Errorf("%s: table type %s, want %s", info.Name, got, kindTypes[k])
		}
		ex := Encode(exampleOf(kindTypes[k]))
		if v, err := DecodeKind(k, ex); err != nil || reflect.TypeOf(v) != reflect.TypeOf(info.New()) {
			t.Errorf("%s: DecodeKind of its example: %T, %v", info.Name, v, err)
		}
		if KindName(k) != info.Name || MaxBodyBytes(k) != info.MaxBytes || info.MaxBytes < len(ex) {
			t.Errorf("%s: name %q, cap %d (example %d bytes)", info.Name, KindName(k), MaxBodyBytes(k), len(ex))
		}
		if d := Describe(k, ex); !strings.HasPrefix(d, info.Name+" ") || strings.HasSuffix(d, "malformed") || strings.Contains(d, "%!") || strings.Contains(d, "*spec.") {
			t.Errorf("%s: Describe gives %q", info.Name, d)
		}
		if (info.Deliver != 0 || info.Produced) && !info.Peer {
			t.Errorf("%s: routed between replicas but not a peer kind", info.Name)
		}
		if info.Split != (k == KindProposal) {
			t.Errorf("%s: only a proposal is delivered split (SPEC.md §13.1)", info.Name)
		}
	}
}

// TestKindTableRoutes pins the routing columns to the table of SPEC.md §13.1.
func TestKindTableRoutes(t *testing.T) {
	all := ToPrep | ToConf | ToExec
	tests := []struct {
		kind     uint64
		producer Role
		deliver  uint64
	}{
		{KindProposal, RolePrep, all},
		{KindPrepare, RolePrep, ToConf},
		{KindCommit, RoleConf, ToExec},
		{KindCheckpoint, RoleExec, all},
		{KindViewChange, RoleConf, ToPrep},
		{KindNewView, RolePrep, all},
		{KindStateChunk, RoleExec, ToExec},
		{KindEpochVote, RoleExec, ToExec},
		{KindEpochChange, RoleExec, all},
		{KindRecoveryVote, RoleExec, ToExec},
	}
	produced := 0
	for _, info := range Kinds() {
		if info.Produced {
			produced++
		}
	}
	if produced != len(tests) {
		t.Fatalf("%d kinds are routed outputs, SPEC.md §13.1 lists %d", produced, len(tests))
	}
	for _, tc := range tests {
		info, ok := LookupKind(tc.kind)
		if !ok || !info.Produced || info.Producer != tc.producer || info.Deliver != tc.deliver {
			t.Errorf("%s: producer %d deliver %b, want %d %b", KindName(tc.kind), info.Producer, info.Deliver, tc.producer, tc.deliver)
		}
	}
}
