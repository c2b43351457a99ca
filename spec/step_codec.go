package spec

import "fmt"

// Decoding of the two envelopes that cross the compartment boundary on every Step,
// StepInput and StepOutput, without the general decoder. They have fixed shapes
// (arrays of unsigned integers and byte strings), so the canonical encodings that
// Decode accepts for them (SPEC.md §2.3: shortest heads, definite lengths, exact field
// counts, at most MaxArrayElements elements per array, nothing trailing) can be
// checked item by item, and the round-trip gate is implied: every head is checked to
// be the shortest, and nothing else can vary. Decode uses these for *StepInput and
// *StepOutput; decodeGeneric is the general path they are checked against
// (FuzzStepEnvelopes, and the mutation corpus through Decode).

// cursor reads canonical CBOR items from b, starting at pos.
type cursor struct {
	b     []byte
	pos   int
	share bool // byte strings share b's memory (DecodeShared) instead of being copied
}

// uint reads an unsigned integer in its shortest form.
func (c *cursor) uint() (uint64, error) {
	n, next, err := canonicalHead(c.b, c.pos, 0)
	if err != nil {
		return 0, err
	}
	c.pos = next
	return n, nil
}

// array reads the head of an array in its shortest form and returns its length,
// which is at most MaxArrayElements and at most the bytes left (each element takes
// at least one).
func (c *cursor) array() (int, error) {
	n, next, err := canonicalHead(c.b, c.pos, 4)
	if err != nil {
		return 0, err
	}
	if n > MaxArrayElements || n > uint64(len(c.b)-next) {
		return 0, fmt.Errorf("%w: array of %d elements at offset %d", ErrMalformed, n, c.pos)
	}
	c.pos = next
	return int(n), nil
}

// arrayOf reads an array head whose elements each take at least min bytes encoded:
// a count the remaining input cannot hold is malformed before anything is allocated
// for it (a hostile count would otherwise cost count × the element's size in memory).
func (c *cursor) arrayOf(min int) (int, error) {
	at := c.pos
	n, err := c.array()
	if err == nil && n > (len(c.b)-c.pos)/min {
		err = fmt.Errorf("%w: array of %d elements of at least %d bytes at offset %d, %d bytes left", ErrMalformed, n, min, at, len(c.b)-c.pos)
	}
	return n, err
}

// Smallest encodings of the elements hand decoders allocate for.
const (
	minSealedOpBytes = 1 + 2 + len(Nonce{}) + 1 // [nonce, ciphertext] with an empty ciphertext
	minRequestBytes  = 1 + 1 + 2 + 1 + 2 + 64   // [[client, ts, ops], sig]
	minResultBytes   = 3                        // [status, value]
	minDigestBytes   = 2 + 32
	minInputBytes    = 3 // [kind, body]
	minOutputBytes   = 6 // [kind, [roles, [replicas]], body]
)

// fields reads the head of a struct encoded as an array of want fields.
func (c *cursor) fields(want int) error {
	n, err := c.array()
	if err == nil && n != want {
		err = fmt.Errorf("%w: %d fields at offset %d, want %d", ErrMalformed, n, c.pos, want)
	}
	return err
}

// bytes reads a byte string in its shortest form and returns a copy of it, or with
// c.share a sub-slice of c.b without spare capacity (DecodeShared).
func (c *cursor) bytes() ([]byte, error) {
	n, next, err := canonicalHead(c.b, c.pos, 2)
	if err != nil {
		return nil, err
	}
	if n > uint64(len(c.b)-next) {
		return nil, fmt.Errorf("%w: byte string of %d bytes at offset %d is truncated", ErrMalformed, n, c.pos)
	}
	c.pos = next + int(n)
	if c.share {
		return c.b[next:c.pos:c.pos], nil
	}
	return append(make([]byte, 0, n), c.b[next:c.pos]...), nil
}

// end checks that nothing follows the top-level item.
func (c *cursor) end() error {
	if c.pos != len(c.b) {
		return fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(c.b)-c.pos)
	}
	return nil
}

// decodeStepInput is Decode for a *StepInput.
func decodeStepInput(data []byte, v *StepInput, share bool) error {
	c := cursor{b: data, share: share}
	if err := c.fields(1); err != nil {
		return err
	}
	n, err := c.arrayOf(minInputBytes)
	if err != nil {
		return err
	}
	v.Inputs = make([]Input, n)
	for i := range v.Inputs {
		in := &v.Inputs[i]
		if err := c.fields(2); err != nil {
			return err
		}
		if in.Kind, err = c.uint(); err != nil {
			return err
		}
		if in.Body, err = c.bytes(); err != nil {
			return err
		}
	}
	return c.end()
}

// decodeStepOutput is Decode for a *StepOutput. The Replicas of all outputs share one
// backing array (each capped at its length, so an append copies).
func decodeStepOutput(data []byte, v *StepOutput, share bool) error {
	c := cursor{b: data, share: share}
	if err := c.fields(1); err != nil {
		return err
	}
	n, err := c.arrayOf(minOutputBytes)
	if err != nil {
		return err
	}
	v.Outputs = make([]Output, n)
	var slab []uint64
	for i := range v.Outputs {
		if slab, err = c.output(&v.Outputs[i], slab); err != nil {
			return err
		}
	}
	return c.end()
}

// output reads one Output into o, taking its Replicas from slab (grown as needed),
// and returns what is left of slab.
func (c *cursor) output(o *Output, slab []uint64) ([]uint64, error) {
	if err := c.fields(3); err != nil {
		return nil, err
	}
	var err error
	if o.Kind, err = c.uint(); err != nil {
		return nil, err
	}
	if err := c.fields(2); err != nil {
		return nil, err
	}
	if o.To.Roles, err = c.uint(); err != nil {
		return nil, err
	}
	m, err := c.array()
	if err != nil {
		return nil, err
	}
	if m == 0 {
		o.To.Replicas = []uint64{} // as the general decoder: empty, not nil
		o.Body, err = c.bytes()
		return slab, err
	}
	if m > cap(slab)-len(slab) {
		slab = make([]uint64, 0, max(m, 16))
	}
	start := len(slab)
	for range m {
		r, err := c.uint()
		if err != nil {
			return nil, err
		}
		slab = append(slab, r)
	}
	o.To.Replicas = slab[start:len(slab):len(slab)]
	o.Body, err = c.bytes()
	return slab, err
}
