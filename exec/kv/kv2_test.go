package kv

import (
	"bytes"
	"strings"
	"testing"

	"github.com/splitbft/splitbft/spec"
)

func op2(o spec.KVOp2) []byte { return spec.Encode(&o) }

func set2(k, v string, flags uint64) []byte {
	return op2(spec.KVOp2{Op: spec.KVSet, Keys: [][]byte{[]byte(k)}, Values: [][]byte{[]byte(v)}, Flags: flags})
}

func incr(k string, delta uint64, neg bool) []byte {
	return op2(spec.KVOp2{Op: spec.KVIncrBy, Keys: [][]byte{[]byte(k)}, Delta: delta, Neg: neg})
}

func appendOp(k, v string) []byte {
	return op2(spec.KVOp2{Op: spec.KVAppend, Keys: [][]byte{[]byte(k)}, Values: [][]byte{[]byte(v)}})
}

func strlenOp(k string) []byte { return op2(spec.KVOp2{Op: spec.KVStrlen, Keys: [][]byte{[]byte(k)}}) }

func msetnx(kv ...string) []byte {
	o := spec.KVOp2{Op: spec.KVMSetNX}
	for i := 0; i+1 < len(kv); i += 2 {
		o.Keys = append(o.Keys, []byte(kv[i]))
		o.Values = append(o.Values, []byte(kv[i+1]))
	}
	return op2(o)
}

// TestKV2Semantics runs table-driven sequences of kv-v2 operations (SPEC.md §12.7),
// mixed with kv-v1 ones on the same map, and checks every result.
func TestKV2Semantics(t *testing.T) {
	const nx, xx, gt = spec.KVSetNX, spec.KVSetXX, spec.KVSetGet
	ok, nf, bad := spec.StatusOK, spec.StatusNotFound, spec.StatusBadOp
	type step struct {
		op   []byte
		want spec.Result
	}
	big := strings.Repeat("x", spec.MaxKVValue)
	cases := []struct {
		name  string
		steps []step
	}{
		{"set plain", []step{{set2("a", "1", 0), res(ok, "")}, {get("a"), res(ok, "1")}}},
		{"set nx absent", []step{{set2("a", "1", nx), res(ok, "")}, {get("a"), res(ok, "1")}}},
		{"set nx present", []step{{put("a", "0"), res(ok, "")}, {set2("a", "1", nx), res(nf, "")}, {get("a"), res(ok, "0")}}},
		{"set xx absent", []step{{set2("a", "1", xx), res(nf, "")}, {get("a"), res(nf, "")}}},
		{"set xx present", []step{{put("a", "0"), res(ok, "")}, {set2("a", "1", xx), res(ok, "")}, {get("a"), res(ok, "1")}}},
		{"set get old", []step{{put("a", "0"), res(ok, "")}, {set2("a", "1", gt), res(ok, "0")}, {get("a"), res(ok, "1")}}},
		{"set get absent", []step{{set2("a", "1", gt), res(nf, "")}, {get("a"), res(ok, "1")}}},
		{"set nx get present", []step{{put("a", "0"), res(ok, "")}, {set2("a", "1", nx|gt), res(ok, "0")}, {get("a"), res(ok, "0")}}},
		{"set xx get absent", []step{{set2("a", "1", xx|gt), res(nf, "")}, {get("a"), res(nf, "")}}},
		{"set nx xx", []step{{set2("a", "1", nx|xx), res(bad, "")}, {get("a"), res(nf, "")}}},
		{"set flag 8", []step{{set2("a", "1", 8), res(bad, "")}}},
		{"incr absent", []step{{incr("n", 1, false), res(ok, "1")}, {get("n"), res(ok, "1")}}},
		{"incrby negative", []step{{put("n", "10"), res(ok, "")}, {incr("n", 15, true), res(ok, "-5")}}},
		{"incr not integer", []step{{put("n", "x"), res(ok, "")}, {incr("n", 1, false), res(spec.StatusNotInteger, "")}, {get("n"), res(ok, "x")}}},
		{"incr leading zero", []step{{put("n", "01"), res(ok, "")}, {incr("n", 1, false), res(spec.StatusNotInteger, "")}}},
		{"incr minus zero", []step{{put("n", "-0"), res(ok, "")}, {incr("n", 1, false), res(spec.StatusNotInteger, "")}}},
		{"incr plus sign", []step{{put("n", "+1"), res(ok, "")}, {incr("n", 1, false), res(spec.StatusNotInteger, "")}}},
		{"incr space", []step{{put("n", " 1"), res(ok, "")}, {incr("n", 1, false), res(spec.StatusNotInteger, "")}}},
		{"incr empty", []step{{put("n", ""), res(ok, "")}, {incr("n", 1, false), res(spec.StatusNotInteger, "")}}},
		{"incr too big literal", []step{{put("n", "9223372036854775808"), res(ok, "")}, {incr("n", 0, false), res(spec.StatusNotInteger, "")}}},
		{"incr overflow", []step{{put("n", "9223372036854775807"), res(ok, "")}, {incr("n", 1, false), res(spec.StatusOverflow, "")}, {get("n"), res(ok, "9223372036854775807")}}},
		{"decr overflow", []step{{put("n", "-9223372036854775808"), res(ok, "")}, {incr("n", 1, true), res(spec.StatusOverflow, "")}}},
		{"decr by min from 0", []step{{incr("n", 1<<63, true), res(ok, "-9223372036854775808")}}},
		{"decr by min from -1", []step{{put("n", "-1"), res(ok, "")}, {incr("n", 1<<63, true), res(spec.StatusOverflow, "")}}},
		{"incr max from min", []step{{put("n", "-9223372036854775808"), res(ok, "")}, {incr("n", 1<<63-1, false), res(ok, "-1")}}},
		{"incr delta 2^63 positive", []step{{incr("n", 1<<63, false), res(bad, "")}}},
		{"decr delta 0 neg", []step{{incr("n", 0, true), res(bad, "")}}},
		{"append absent", []step{{appendOp("a", "xy"), res(ok, "2")}, {get("a"), res(ok, "xy")}}},
		{"append present", []step{{put("a", "ab"), res(ok, "")}, {appendOp("a", "c"), res(ok, "3")}, {get("a"), res(ok, "abc")}}},
		{"append too large", []step{{put("a", big), res(ok, "")}, {appendOp("a", "c"), res(spec.StatusTooLarge, "")}, {strlenOp("a"), res(ok, "16384")}}},
		{"strlen absent", []step{{strlenOp("a"), res(nf, "")}}},
		{"strlen empty value", []step{{put("a", ""), res(ok, "")}, {strlenOp("a"), res(ok, "0")}}},
		{"msetnx all new", []step{{msetnx("a", "1", "b", "2"), res(ok, "1")}, {get("b"), res(ok, "2")}}},
		{"msetnx one exists", []step{{put("b", "0"), res(ok, "")}, {msetnx("a", "1", "b", "2"), res(ok, "0")}, {get("a"), res(nf, "")}}},
		{"msetnx duplicate key last wins", []step{{msetnx("a", "1", "a", "2"), res(ok, "1")}, {get("a"), res(ok, "2")}}},
		{"msetnx values mismatch", []step{{op2(spec.KVOp2{Op: spec.KVMSetNX, Keys: [][]byte{[]byte("a")}}), res(bad, "")}}},
		{"two keys on set", []step{{op2(spec.KVOp2{Op: spec.KVSet, Keys: [][]byte{[]byte("a"), []byte("b")}, Values: [][]byte{nil}}), res(bad, "")}}},
		{"empty key", []step{{set2("", "1", 0), res(bad, "")}}},
		{"value too long", []step{{set2("a", big+"x", 0), res(bad, "")}, {get("a"), res(nf, "")}}},
		{"flags on strlen", []step{{op2(spec.KVOp2{Op: spec.KVStrlen, Keys: [][]byte{[]byte("a")}, Flags: 1}), res(bad, "")}}},
		{"delta on append", []step{{op2(spec.KVOp2{Op: spec.KVAppend, Keys: [][]byte{[]byte("a")}, Values: [][]byte{nil}, Delta: 1}), res(bad, "")}}},
		{"unknown op 21", []step{{op2(spec.KVOp2{Op: 21, Keys: [][]byte{[]byte("a")}}), res(bad, "")}}},
		{"kv-v1 op number in KVOp2", []step{{op2(spec.KVOp2{Op: spec.KVGet, Keys: [][]byte{[]byte("a")}}), res(bad, "")}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			for i, st := range tc.steps {
				d := s.Digest()
				got := s.Execute(st.op)
				if !sameResult(got, st.want) {
					t.Fatalf("step %d: got status %d value %q, want status %d value %q", i, got.Status, trunc(got.Value), st.want.Status, trunc(st.want.Value))
				}
				if got.Status != ok && got.Status != nf && s.Digest() != d {
					t.Fatalf("step %d: failed operation (status %d) changed the state", i, got.Status)
				}
			}
		})
	}
}

// TestParseIntMatchesFormat checks that ParseInt accepts exactly the canonical
// decimal forms: every value it accepts formats back to the same bytes.
func TestParseIntMatchesFormat(t *testing.T) {
	for _, in := range []string{"0", "1", "-1", "42", "9223372036854775807", "-9223372036854775808", "00", "-0", "+1", "1 ", "", "-", "1e3", "18446744073709551616", "-9223372036854775809"} {
		n, ok := ParseInt([]byte(in))
		if ok != (in != "" && strings.TrimLeft(in, "+") == in && bytes.Equal([]byte(in), []byte(formatInt(n)))) {
			t.Errorf("ParseInt(%q) = %d, %v: acceptance differs from round-trip", in, n, ok)
		}
	}
}

func formatInt(n int64) string { return string(incrResult(n)) }

// incrResult formats n as the store does (via a fresh incr from 0).
func incrResult(n int64) []byte {
	s := New()
	if n < 0 {
		return s.Execute(incr("k", uint64(-(n+1))+1, true)).Value
	}
	return s.Execute(incr("k", uint64(n), false)).Value
}
