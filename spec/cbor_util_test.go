package spec

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// A small, independent CBOR reader for the subset the wire format uses (unsigned
// integers, byte strings, definite arrays, false and true), used to print diagnostic
// notation and to locate items for mutation. It does not use the codec under test.

// cborItem is one data item of an encoding.
type cborItem struct {
	major      byte   // 0 uint, 2 bstr, 4 array, 7 simple
	start, end int    // byte range of the whole item
	head       int    // length of the head
	arg        uint64 // value, length, element count or simple value
	kids       []*cborItem
}

// parseCBOR parses exactly one item covering all of data.
func parseCBOR(data []byte) (*cborItem, error) {
	it, err := parseItem(data, 0, 0)
	if err == nil && it.end != len(data) {
		err = fmt.Errorf("%d trailing bytes", len(data)-it.end)
	}
	return it, err
}

func parseItem(data []byte, off, depth int) (*cborItem, error) {
	if depth > 64 {
		return nil, fmt.Errorf("nesting too deep at %d", off)
	}
	if off >= len(data) {
		return nil, fmt.Errorf("truncated at %d", off)
	}
	it := &cborItem{major: data[off] >> 5, start: off}
	ai := data[off] & 31
	n := map[byte]int{24: 1, 25: 2, 26: 4, 27: 8}[ai]
	if ai >= 28 || off+1+n > len(data) {
		return nil, fmt.Errorf("bad or truncated head at %d", off)
	}
	it.head = 1 + n
	it.arg = uint64(ai)
	if n > 0 {
		var buf [8]byte
		copy(buf[8-n:], data[off+1:off+1+n])
		it.arg = binary.BigEndian.Uint64(buf[:])
	}
	it.end = off + it.head
	switch {
	case it.major == 0:
	case it.major == 2:
		if it.arg > uint64(len(data)-it.end) {
			return nil, fmt.Errorf("byte string overruns input at %d", off)
		}
		it.end += int(it.arg)
	case it.major == 4:
		for i := uint64(0); i < it.arg; i++ {
			kid, err := parseItem(data, it.end, depth+1)
			if err != nil {
				return nil, err
			}
			it.kids = append(it.kids, kid)
			it.end = kid.end
		}
	case it.major == 7 && (ai == 20 || ai == 21):
	default:
		return nil, fmt.Errorf("unsupported initial byte %#02x at %d", data[off], off)
	}
	return it, nil
}

// diag renders an item in RFC 8949 §8 diagnostic notation. Arrays whose one-line form
// fits in 72 columns stay on one line; others put one element per line, indented.
func diag(data []byte, it *cborItem, indent string) string {
	switch it.major {
	case 0:
		return fmt.Sprint(it.arg)
	case 2:
		return "h'" + hex.EncodeToString(data[it.end-int(it.arg):it.end]) + "'"
	case 7:
		return map[uint64]string{20: "false", 21: "true"}[it.arg]
	}
	parts := make([]string, len(it.kids))
	flat := true
	for i, k := range it.kids {
		parts[i] = diag(data, k, indent+"  ")
		flat = flat && !strings.Contains(parts[i], "\n")
	}
	if one := "[" + strings.Join(parts, ", ") + "]"; flat && len(indent)+len(one) <= 72 {
		return one
	}
	return "[\n" + indent + "  " + strings.Join(parts, ",\n"+indent+"  ") + "\n" + indent + "]"
}

// cborHead returns the shortest head of the given major type and argument, or a
// longer one when size (1, 2, 4 or 8 argument bytes) is non-zero.
func cborHead(major byte, arg uint64, size int) []byte {
	if size == 0 {
		switch {
		case arg < 24:
			return []byte{major<<5 | byte(arg)}
		case arg <= 0xff:
			size = 1
		case arg <= 0xffff:
			size = 2
		case arg <= 0xffffffff:
			size = 4
		default:
			size = 8
		}
	}
	ai := map[int]byte{1: 24, 2: 25, 4: 26, 8: 27}[size]
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], arg)
	return append([]byte{major<<5 | ai}, buf[8-size:]...)
}

// splice returns data with data[start:end] replaced by repl, in a new slice.
func splice(data []byte, start, end int, repl ...[]byte) []byte {
	out := append([]byte{}, data[:start]...)
	for _, r := range repl {
		out = append(out, r...)
	}
	return append(out, data[end:]...)
}
