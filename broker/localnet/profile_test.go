package localnet_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
)

// labelShares reads a CPU profile (gzipped profile.proto) and returns the share of
// sampled CPU time per value of the "compartment" label; samples without it count as
// "host", and those of them labelled bench=client (the benchmark's clients) also as
// "client", a part of the host's share. It decodes only the few protobuf fields it
// needs.
func labelShares(r io.Reader) (map[string]float64, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	var strs []string
	type sample struct {
		ns  int64
		lab []int64 // (key, str) string-table index pairs
	}
	var samples []sample
	err = fields(raw, func(num int, val []byte, _ uint64) error {
		switch num {
		case 2: // Sample
			var s sample
			err := fields(val, func(n int, v []byte, x uint64) error {
				switch n {
				case 2: // value (packed or not): the last one is the CPU time
					vs, err := varints(v, x)
					if len(vs) > 0 {
						s.ns = int64(vs[len(vs)-1])
					}
					return err
				case 3: // Label
					var key, str int64
					err := fields(v, func(n int, _ []byte, x uint64) error {
						if n == 1 {
							key = int64(x)
						} else if n == 2 {
							str = int64(x)
						}
						return nil
					})
					s.lab = append(s.lab, key, str)
					return err
				}
				return nil
			})
			samples = append(samples, s)
			return err
		case 6: // string_table
			strs = append(strs, string(val))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	total := 0.0
	out := map[string]float64{"prep": 0, "conf": 0, "exec": 0, "host": 0, "client": 0}
	for _, s := range samples {
		who, client := "host", false
		for i := 0; i+1 < len(s.lab); i += 2 {
			k, v := int(s.lab[i]), int(s.lab[i+1])
			switch {
			case k >= len(strs) || v >= len(strs):
			case strs[k] == "compartment":
				who = strs[v]
			case strs[k] == "bench" && strs[v] == "client":
				client = true
			}
		}
		out[who] += float64(s.ns)
		if client && who == "host" {
			out["client"] += float64(s.ns) // part of the host's share
		}
		total += float64(s.ns)
	}
	if total == 0 {
		return nil, errors.New("profile has no samples")
	}
	for k := range out {
		out[k] /= total
	}
	return out, nil
}

// fields calls f for each field of a protobuf message: its number, its bytes if
// length-delimited, its value if a varint.
func fields(b []byte, f func(num int, val []byte, x uint64) error) error {
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("bad protobuf key")
		}
		b = b[n:]
		num, wire := int(key>>3), key&7
		var val []byte
		var x uint64
		switch wire {
		case 0:
			x, n = binary.Uvarint(b)
			if n <= 0 {
				return errors.New("bad varint")
			}
			b = b[n:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return errors.New("bad length")
			}
			val, b = b[n:n+int(l)], b[n+int(l):]
		case 1:
			b = b[8:]
		case 5:
			b = b[4:]
		default:
			return errors.New("unsupported wire type")
		}
		if err := f(num, val, x); err != nil {
			return err
		}
	}
	return nil
}

// varints returns a repeated varint field's values: packed in val, or the single x.
func varints(val []byte, x uint64) ([]uint64, error) {
	if val == nil {
		return []uint64{x}, nil
	}
	var out []uint64
	for r := bytes.NewReader(val); r.Len() > 0; {
		v, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
