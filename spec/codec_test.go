package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strconv"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
)

// slotKind is the Go shape an encoded item decodes into.
type slotKind int

const (
	slotUint slotKind = iota
	slotBool
	slotBytes  // []byte
	slotFixed  // [N]byte
	slotStruct // toarray struct
	slotSlice  // []T, T not byte
)

// typedItem is one item of a golden encoding with the Go shape it decodes into.
type typedItem struct {
	it   *cborItem
	kind slotKind
	size int    // N for slotFixed
	path string // e.g. "Body.Ops[1].Nonce", for messages
}

// annotate pairs each item of an encoding of type t with its slot kind.
func annotate(it *cborItem, t reflect.Type, path string, out *[]typedItem) {
	ti := typedItem{it: it, path: path}
	switch {
	case t.Kind() == reflect.Uint64:
		ti.kind = slotUint
	case t.Kind() == reflect.Bool:
		ti.kind = slotBool
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		ti.kind = slotBytes
	case t.Kind() == reflect.Array:
		ti.kind, ti.size = slotFixed, t.Len()
	case t.Kind() == reflect.Slice:
		ti.kind = slotSlice
		for i, k := range it.kids {
			annotate(k, t.Elem(), path+"["+itoa(i)+"]", out)
		}
	case t.Kind() == reflect.Struct:
		ti.kind = slotStruct
		n := 0
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); f.Name != "_" {
				annotate(it.kids[n], f.Type, path+"."+f.Name, out)
				n++
			}
		}
	}
	*out = append(*out, ti)
}

func itoa(i int) string { return strconv.Itoa(i) }

// content returns the content bytes of a byte-string item.
func content(data []byte, it *cborItem) []byte { return data[it.start+it.head : it.end] }

// longerHead returns the item's head re-encoded one size longer, or nil if it is
// already 9 bytes.
func longerHead(it *cborItem) []byte {
	size := map[int]int{1: 1, 2: 2, 3: 4, 5: 8}[it.head]
	if size == 0 {
		return nil
	}
	return cborHead(it.major, it.arg, size)
}

func all(ks ...slotKind) map[slotKind]bool {
	m := map[slotKind]bool{}
	for _, k := range ks {
		m[k] = true
	}
	return m
}

var anyKind = all(slotUint, slotBool, slotBytes, slotFixed, slotStruct, slotSlice)

// mutations are the per-item changes that every decoder must reject. Each returns
// the mutated encoding, or nil where it does not apply to that item.
var mutations = []struct {
	name  string
	on    map[slotKind]bool
	apply func(d []byte, ti typedItem) []byte
}{
	{"non-shortest head", all(slotUint, slotBytes, slotFixed, slotStruct, slotSlice), func(d []byte, ti typedItem) []byte {
		if h := longerHead(ti.it); h != nil {
			return splice(d, ti.it.start, ti.it.start+ti.it.head, h)
		}
		return nil
	}},
	{"non-shortest simple", all(slotBool), func(d []byte, ti typedItem) []byte {
		return splice(d, ti.it.start, ti.it.end, []byte{0xf8, byte(ti.it.arg)})
	}},
	{"null", anyKind, func(d []byte, ti typedItem) []byte { return splice(d, ti.it.start, ti.it.end, []byte{0xf6}) }},
	{"undefined", anyKind, func(d []byte, ti typedItem) []byte { return splice(d, ti.it.start, ti.it.end, []byte{0xf7}) }},
	{"tag 0 wrapper", anyKind, func(d []byte, ti typedItem) []byte { return splice(d, ti.it.start, ti.it.start, []byte{0xc0}) }},
	{"tag 24 wrapper", all(slotBytes, slotFixed), func(d []byte, ti typedItem) []byte {
		return splice(d, ti.it.start, ti.it.start, []byte{0xd8, 0x18})
	}},
	{"bignum", all(slotUint), func(d []byte, ti typedItem) []byte {
		v := binary.BigEndian.AppendUint64(nil, ti.it.arg)
		return splice(d, ti.it.start, ti.it.end, []byte{0xc2, 0x48}, v)
	}},
	{"float64", all(slotUint), func(d []byte, ti typedItem) []byte {
		return splice(d, ti.it.start, ti.it.end, []byte{0xfb}, binary.BigEndian.AppendUint64(nil, math.Float64bits(float64(ti.it.arg))))
	}},
	{"float16 zero", all(slotUint, slotBool), func(d []byte, ti typedItem) []byte {
		return splice(d, ti.it.start, ti.it.end, []byte{0xf9, 0, 0})
	}},
	{"negative int", all(slotUint), func(d []byte, ti typedItem) []byte { return splice(d, ti.it.start, ti.it.end, []byte{0x20}) }},
	{"bool for uint", all(slotUint), func(d []byte, ti typedItem) []byte { return splice(d, ti.it.start, ti.it.end, []byte{0xf5}) }},
	{"uint for bool", all(slotBool), func(d []byte, ti typedItem) []byte {
		return splice(d, ti.it.start, ti.it.end, []byte{byte(ti.it.arg - 20)})
	}},
	{"text for bstr", all(slotBytes, slotFixed), func(d []byte, ti typedItem) []byte {
		txt := bytes.Repeat([]byte("a"), int(ti.it.arg))
		return splice(d, ti.it.start, ti.it.end, cborHead(3, ti.it.arg, 0), txt)
	}},
	{"array for bstr", all(slotBytes, slotFixed), func(d []byte, ti typedItem) []byte {
		out := cborHead(4, ti.it.arg, 0)
		for _, b := range content(d, ti.it) {
			out = append(out, cborHead(0, uint64(b), 0)...)
		}
		return splice(d, ti.it.start, ti.it.end, out)
	}},
	{"indefinite bstr", all(slotBytes, slotFixed), func(d []byte, ti typedItem) []byte {
		return splice(d, ti.it.start, ti.it.end, []byte{0x5f}, d[ti.it.start:ti.it.end], []byte{0xff})
	}},
	{"fixed size -1", all(slotFixed), func(d []byte, ti typedItem) []byte {
		return splice(d, ti.it.start, ti.it.end, cborHead(2, ti.it.arg-1, 0), content(d, ti.it)[1:])
	}},
	{"fixed size +1", all(slotFixed), func(d []byte, ti typedItem) []byte {
		return splice(d, ti.it.start, ti.it.end, cborHead(2, ti.it.arg+1, 0), content(d, ti.it), []byte{0})
	}},
	{"fixed size 0", all(slotFixed), func(d []byte, ti typedItem) []byte { return splice(d, ti.it.start, ti.it.end, []byte{0x40}) }},
	{"indefinite array", all(slotStruct, slotSlice), func(d []byte, ti typedItem) []byte {
		return splice(d, ti.it.start, ti.it.end, []byte{0x9f}, d[ti.it.start+ti.it.head:ti.it.end], []byte{0xff})
	}},
	{"empty map for array", all(slotStruct, slotSlice), func(d []byte, ti typedItem) []byte {
		return splice(d, ti.it.start, ti.it.end, []byte{0xa0})
	}},
	{"map for array", all(slotStruct, slotSlice), func(d []byte, ti typedItem) []byte {
		if len(ti.it.kids)%2 != 0 || len(ti.it.kids) == 0 {
			return nil
		}
		return splice(d, ti.it.start, ti.it.start+ti.it.head, cborHead(5, ti.it.arg/2, 0))
	}},
	{"bstr for array", all(slotStruct, slotSlice), func(d []byte, ti typedItem) []byte {
		return splice(d, ti.it.start, ti.it.end, []byte{0x40})
	}},
	{"arity +1", all(slotStruct), func(d []byte, ti typedItem) []byte {
		return splice(d, ti.it.start, ti.it.end, cborHead(4, ti.it.arg+1, 0), d[ti.it.start+ti.it.head:ti.it.end], []byte{0})
	}},
	{"arity -1", all(slotStruct), func(d []byte, ti typedItem) []byte {
		if len(ti.it.kids) == 0 {
			return nil // an empty array (SealGet) has no element to drop
		}
		last := ti.it.kids[len(ti.it.kids)-1]
		return splice(d, ti.it.start, ti.it.end, cborHead(4, ti.it.arg-1, 0), d[ti.it.start+ti.it.head:last.start])
	}},
}

// mustReject fails unless Decode into a new value of example's type rejects data
// with ErrMalformed.
func mustReject(t *testing.T, example any, data []byte, what string) {
	t.Helper()
	err := Decode(data, newOf(example), MaxFrameBytes)
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("%s: Decode(%T) = %v, want ErrMalformed\ninput %x", what, example, err, data)
	}
}

// TestRejectMutations applies every mutation to every item of every golden example.
func TestRejectMutations(t *testing.T) {
	applied := map[string]int{}
	for _, w := range wireTypes() {
		enc := Encode(w.example)
		root, err := parseCBOR(enc)
		if err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		var items []typedItem
		annotate(root, reflect.TypeOf(w.example).Elem(), w.name, &items)
		for _, ti := range items {
			for _, m := range mutations {
				if !m.on[ti.kind] {
					continue
				}
				bad := m.apply(enc, ti)
				if bad == nil {
					continue
				}
				if bytes.Equal(bad, enc) {
					t.Fatalf("%s at %s: mutation changed nothing", m.name, ti.path)
				}
				applied[m.name]++
				mustReject(t, w.example, bad, m.name+" at "+ti.path)
			}
		}
	}
	for _, m := range mutations {
		if applied[m.name] == 0 {
			t.Errorf("mutation %q never applied", m.name)
		}
		t.Logf("%-20s %5d mutants rejected", m.name, applied[m.name])
	}
}

// TestRejectWholeInput covers changes to the input as a whole: trailing bytes,
// truncation at every length, and wrappers around the top-level array.
func TestRejectWholeInput(t *testing.T) {
	for _, w := range wireTypes() {
		enc := Encode(w.example)
		mustReject(t, w.example, nil, w.name+" empty input")
		mustReject(t, w.example, []byte{}, w.name+" empty input")
		mustReject(t, w.example, append(append([]byte{}, enc...), 0x00), w.name+" trailing byte")
		mustReject(t, w.example, append(append([]byte{}, enc...), enc...), w.name+" twice")
		mustReject(t, w.example, append([]byte{0xd9, 0xd9, 0xf7}, enc...), w.name+" self-describe tag")
		mustReject(t, w.example, append([]byte{0xc0}, enc...), w.name+" tag 0")
		for n := 0; n < len(enc); n++ {
			mustReject(t, w.example, enc[:n], w.name+" truncated to "+itoa(n))
		}
	}
}

// TestRejectWrongLengths names the fixed-size fields explicitly: a digest, key,
// signature or nonce of any other length is malformed.
func TestRejectWrongLengths(t *testing.T) {
	cases := []struct {
		name    string
		example any
		field   string
		lengths []int
	}{
		{"digest", exampleOf("Slot"), "Slot.Digest", []int{0, 1, 31, 33, 64}},
		{"public key", exampleOf("ClientConfig"), "ClientConfig.SignKey", []int{0, 31, 33}},
		{"signature", exampleOf("Prepare"), "Prepare.Sig", []int{0, 32, 63, 65}},
		{"nonce", exampleOf("Reply"), "Reply.Nonce", []int{0, 12, 23, 25, 32}},
	}
	for _, tc := range cases {
		enc := Encode(tc.example)
		root, _ := parseCBOR(enc)
		var items []typedItem
		annotate(root, reflect.TypeOf(tc.example).Elem(), reflect.TypeOf(tc.example).Elem().Name(), &items)
		found := false
		for _, ti := range items {
			if ti.path != tc.field {
				continue
			}
			found = true
			for _, n := range tc.lengths {
				bad := splice(enc, ti.it.start, ti.it.end, cborHead(2, uint64(n), 0), make([]byte, n))
				mustReject(t, tc.example, bad, tc.name+" of length "+itoa(n))
			}
		}
		if !found {
			t.Errorf("%s: field %s not found", tc.name, tc.field)
		}
	}
}

// TestOversize checks each kind's cap: a body one past it is rejected by DecodeKind
// even where it is otherwise a valid encoding, and every example fits its cap.
func TestOversize(t *testing.T) {
	valid := map[uint64]func(n int) any{ // a valid body of at least n bytes
		KindStatus: func(n int) any { return &Status{NeedBatch: make([]Digest, n/33+1)} },
		KindReply:  func(n int) any { return &Reply{Ciphertext: make([]byte, n)} },
		KindStateChunk: func(n int) any {
			return &StateChunk{Ciphertext: make([]byte, n)}
		},
		KindRequest:        func(n int) any { return &Request{Body: RequestBody{Ops: []SealedOp{{Ciphertext: make([]byte, n)}}}} },
		KindGroupKeyShares: func(n int) any { return &GroupKeyShares{Shares: make([]GroupKeyShare, n/100+1)} },
		KindGroupKeyDeal:   func(n int) any { return &GroupKeyDeal{Execs: make([]EnrollmentBody, n/70+1)} },
	}
	for _, k := range allKinds() {
		limit := MaxBodyBytes(k)
		ex := Encode(exampleOf(kindTypes[k]))
		if len(ex) > limit {
			t.Errorf("%s: example of %d bytes exceeds the cap %d", KindName(k), len(ex), limit)
		}
		body := append(append([]byte{}, ex...), make([]byte, limit+1-len(ex))...)
		if mk, ok := valid[k]; ok {
			body = Encode(mk(limit))
			if err := Decode(body, newBody(k), len(body)); err != nil {
				t.Fatalf("%s: oversize body is not otherwise valid: %v", KindName(k), err)
			}
		}
		if len(body) <= limit {
			t.Fatalf("%s: test body of %d bytes is not over the cap %d", KindName(k), len(body), limit)
		}
		if _, err := DecodeKind(k, body); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: DecodeKind of %d bytes (cap %d) = %v, want ErrMalformed", KindName(k), len(body), limit, err)
		}
	}
	if err := Decode(Encode(exampleOf("Suspect")), new(Suspect), 1); !errors.Is(err, ErrMalformed) {
		t.Errorf("Decode with a 1-byte cap = %v", err)
	}
}

func TestDecodeUint(t *testing.T) {
	good := map[string]uint64{"00": 0, "17": 23, "1818": 24, "18ff": 255, "190100": 256, "1a00010000": 65536,
		"1b0000000100000000": 1 << 32, "1bffffffffffffffff": math.MaxUint64}
	for h, want := range good {
		b, _ := hex.DecodeString(h)
		if got, err := DecodeUint(b); err != nil || got != want {
			t.Errorf("DecodeUint(%s) = %d, %v; want %d", h, got, err, want)
		}
	}
	for _, h := range []string{"", "1817", "190017", "1a00000017", "1b0000000000000017", "20", "f6", "f4", "40", "80",
		"0000", "18", "c000", "f90000", "1b000000000000000000"} {
		b, _ := hex.DecodeString(h)
		if _, err := DecodeUint(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeUint(%s) = %v, want ErrMalformed", h, err)
		}
	}
}

// TestEncodeCanonical pins encoding rules that the decoder relies on.
func TestEncodeCanonical(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{&Batch{}, "8180"},                                       // nil slice is an empty array
		{&Result{Status: 24}, "821818" + "40"},                   // nil []byte is an empty byte string
		{&Suspect{View: math.MaxUint64}, "811bffffffffffffffff"}, // shortest heads
		{&Destination{Roles: 3, Replicas: []uint64{0, 23, 24}}, "8203830017" + "1818"},
		{&InitRequest{Role: RoleExec, Replica: 256}, "830219010058200000000000000000000000000000000000000000000000000000000000000000"},
		{&KVOp{Absent: true}, "8500404040f5"},
	}
	for _, tt := range tests {
		if got := hex.EncodeToString(Encode(tt.v)); got != tt.want {
			t.Errorf("Encode(%T) = %s, want %s", tt.v, got, tt.want)
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Encode of an unencodable value did not panic")
			}
		}()
		Encode(func() {})
	}()
}

func TestSignedBytesAndHash(t *testing.T) {
	var cfg Digest
	for i := range cfg {
		cfg[i] = byte(i)
	}
	want, _ := hex.DecodeString("6162" + "00" + "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" + "fffe")
	if got := SignedBytes("ab", cfg, []byte{0xff, 0xfe}); !bytes.Equal(got, want) {
		t.Errorf("SignedBytes = %x, want %x", got, want)
	}
	hashes := []struct {
		got  Digest
		want string
	}{
		{Hash("ab", []byte{1, 2}), "e0fb34d0db773825ba15667b86c28ca7d6c7bb3f8de2303388c31bd9c5df7a14"}, // SHA-256("ab" 00 01 02)
		{Hash("", nil), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"},            // SHA-256(00)
		{NullBatchDigest(), "4f8ae7244bffd604f4ff125ee043a9bac0371915916a8c8c6eb0de8d6b1b39ae"},        // SHA-256(DomainBatch 00 81 80)
		{StateDigest([]byte("snap")), "f13a9365b55c6aedda69129adaf5dfea03553e860d910a03803cacc253868651"},
	}
	for i, h := range hashes {
		if got := hex.EncodeToString(h.got[:]); got != h.want {
			t.Errorf("hash %d = %s, want %s", i, got, h.want)
		}
	}
	b := exBatch()
	e := &validConfig().Replicas[0].Exec.Body
	c := validConfig()
	for _, tt := range []struct {
		got    Digest
		domain string
		data   []byte
	}{
		{BatchDigest(b), DomainBatch, Encode(b)},
		{EnrollmentDigest(e), DomainEnrollment, Encode(e)},
		{ConfigDigest(c), DomainConfig, Encode(c)},
	} {
		if want := sha256.Sum256(append([]byte(tt.domain+"\x00"), tt.data...)); tt.got != want {
			t.Errorf("digest for %s = %x, want %x", tt.domain, tt.got, want)
		}
	}
	if got := hex.EncodeToString(U64(0x0102030405060708)); got != "0102030405060708" {
		t.Errorf("U64 = %s", got)
	}
}

// TestConfigDigestCoversEveryField changes each leaf of the config (and the length of
// each list) in turn: every change must give a new, distinct digest.
func TestConfigDigestCoversEveryField(t *testing.T) {
	seen := map[Digest]string{ConfigDigest(validConfig()): "original"}
	var paths [][]int
	leafPaths(reflect.ValueOf(validConfig()).Elem(), nil, &paths)
	for _, p := range paths {
		c := validConfig()
		name := mutateAt(reflect.ValueOf(c).Elem(), p)
		d := ConfigDigest(c)
		if prev, dup := seen[d]; dup {
			t.Errorf("changing %s gives the same digest as %s", name, prev)
		}
		seen[d] = name
	}
	if len(paths) < 100 {
		t.Errorf("only %d leaves found", len(paths))
	}
}

// leafPaths lists the paths (field or element indices) of every scalar, byte string
// and list inside v.
func leafPaths(v reflect.Value, path []int, out *[][]int) {
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).Name != "_" {
				leafPaths(v.Field(i), append(path[:len(path):len(path)], i), out)
			}
		}
		return
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.Uint8 {
			for i := 0; i < v.Len(); i++ {
				leafPaths(v.Index(i), append(path[:len(path):len(path)], i), out)
			}
		}
	}
	*out = append(*out, path)
}

// mutateAt changes the value at path and returns a name for it.
func mutateAt(v reflect.Value, path []int) string {
	name := v.Type().Name()
	for _, i := range path {
		if v.Kind() == reflect.Struct {
			name += "." + v.Type().Field(i).Name
			v = v.Field(i)
		} else {
			name += "[" + itoa(i) + "]"
			v = v.Index(i)
		}
	}
	switch {
	case v.Kind() == reflect.Uint64:
		v.SetUint(v.Uint() + 1)
	case v.Kind() == reflect.Bool:
		v.SetBool(!v.Bool())
	case v.Kind() == reflect.Array:
		v.Index(0).SetUint(v.Index(0).Uint() ^ 0xff)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8:
		v.SetBytes(append(v.Bytes(), 'x'))
	case v.Kind() == reflect.Slice:
		v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
		name += " (appended)"
	}
	return name
}

// TestDecodeShared: DecodeShared gives Decode's value, with every byte string of a
// hand-decoded type a sub-slice of the input without spare capacity; Decode's value
// owns its bytes.
func TestDecodeShared(t *testing.T) {
	p := &Proposal{Header: PrePrepare{Body: Slot{View: 1, Seq: 2, Replica: 1}},
		Batch: Batch{Requests: []Request{*exRequest(), *exRequest()}}}
	p.Batch.Requests[1].Body.Client = 9
	data := Encode(p)
	var copied, shared Proposal
	if err := Decode(data, &copied, len(data)); err != nil {
		t.Fatal(err)
	}
	if err := DecodeShared(data, &shared, len(data)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(copied, shared); diff != "" {
		t.Fatalf("DecodeShared differs from Decode (-Decode +DecodeShared):\n%s", diff)
	}
	inside := func(b []byte) bool {
		if len(b) == 0 {
			return true
		}
		start := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
		p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		return p >= start && p+uintptr(len(b)) <= start+uintptr(len(data))
	}
	n := 0
	for i := range shared.Batch.Requests {
		for j, op := range shared.Batch.Requests[i].Body.Ops {
			n++
			if !inside(op.Ciphertext) || cap(op.Ciphertext) != len(op.Ciphertext) {
				t.Fatalf("request %d op %d: shared ciphertext not a capped sub-slice of the input", i, j)
			}
			if inside(copied.Batch.Requests[i].Body.Ops[j].Ciphertext) {
				t.Fatalf("request %d op %d: Decode's ciphertext shares the input", i, j)
			}
		}
	}
	if n == 0 {
		t.Fatal("no ciphertext checked")
	}
	var in, inShared StepInput
	si := Encode(&StepInput{Inputs: []Input{{Kind: KindProposal, Body: data}}})
	if err := DecodeShared(si, &inShared, len(si)); err != nil || Decode(si, &in, len(si)) != nil {
		t.Fatalf("step input: %v", err)
	}
	data = si
	if !inside(inShared.Inputs[0].Body) || inside(in.Inputs[0].Body) {
		t.Fatal("StepInput bodies: DecodeShared must share the input, Decode must not")
	}
}
