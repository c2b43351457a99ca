package gateway

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
)

// redisModel is a sequential model of Redis's semantics for the commands of SPEC.md
// §16.4, written from the Redis documentation independently of the gateway and kv-v2:
// what a correct gateway's answers must match, command for command.
type redisModel map[string]string

// nilReply stands for Redis's null reply in expected results.
type nilReply struct{}

// modelErr is an expected error reply (its text).
type modelErr string

// apply runs one command on the model and returns the expected reply: string, int64,
// nilReply, modelErr, or []any of string/nilReply.
func (m redisModel) apply(args []string) any {
	cmd, a := strings.ToUpper(args[0]), args[1:]
	switch cmd {
	case "GET":
		return m.get(a[0])
	case "SET":
		return m.set(a)
	case "SETNX":
		if _, ok := m[a[0]]; ok {
			return int64(0)
		}
		m[a[0]] = a[1]
		return int64(1)
	case "GETSET":
		old := m.get(a[0])
		m[a[0]] = a[1]
		return old
	case "GETDEL":
		old := m.get(a[0])
		delete(m, a[0])
		return old
	case "DEL", "EXISTS":
		return m.count(cmd == "DEL", a)
	case "INCR", "DECR", "INCRBY", "DECRBY":
		return m.incr(cmd, a)
	case "APPEND":
		m[a[0]] += a[1]
		return int64(len(m[a[0]]))
	case "STRLEN":
		return int64(len(m[a[0]]))
	}
	return m.multi(cmd, a)
}

func (m redisModel) get(k string) any {
	if v, ok := m[k]; ok {
		return v
	}
	return nilReply{}
}

func (m redisModel) set(a []string) any {
	k, v := a[0], a[1]
	var nx, xx, get bool
	for _, o := range a[2:] {
		switch strings.ToUpper(o) {
		case "NX":
			nx = true
		case "XX":
			xx = true
		case "GET":
			get = true
		}
	}
	old, present := m[k]
	doSet := !(nx && present) && !(xx && !present)
	if doSet {
		m[k] = v
	}
	switch {
	case get && present:
		return old
	case get, !doSet:
		return nilReply{}
	}
	return "OK"
}

func (m redisModel) count(del bool, keys []string) any {
	var n int64
	for _, k := range keys {
		if _, ok := m[k]; ok {
			n++
			if del {
				delete(m, k)
			}
		}
	}
	return n
}

// incr follows Redis: the value must be the exact decimal form of an int64, and the
// sum must stay in range, else an error and no change.
func (m redisModel) incr(cmd string, a []string) any {
	d := big.NewInt(1)
	if len(a) == 2 {
		n, err := strconv.ParseInt(a[1], 10, 64)
		if err != nil {
			return modelErr("ERR value is not an integer or out of range")
		}
		if cmd == "DECRBY" && n == math.MinInt64 {
			return modelErr("ERR decrement would overflow") // checked before the value
		}
		d = big.NewInt(n)
	}
	if strings.HasPrefix(cmd, "DECR") {
		d.Neg(d)
	}
	cur := big.NewInt(0)
	if v, ok := m[a[0]]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || strconv.FormatInt(n, 10) != v {
			return modelErr("ERR value is not an integer or out of range")
		}
		cur.SetInt64(n)
	}
	cur.Add(cur, d)
	if !cur.IsInt64() {
		return modelErr("ERR increment or decrement would overflow")
	}
	m[a[0]] = cur.String()
	return cur.Int64()
}

func (m redisModel) multi(cmd string, a []string) any {
	switch cmd {
	case "MGET":
		out := make([]any, len(a))
		for i, k := range a {
			out[i] = m.get(k)
		}
		return out
	case "MSET":
		for i := 0; i+1 < len(a); i += 2 {
			m[a[i]] = a[i+1]
		}
		return "OK"
	case "MSETNX":
		for i := 0; i < len(a); i += 2 {
			if _, ok := m[a[i]]; ok {
				return int64(0)
			}
		}
		for i := 0; i+1 < len(a); i += 2 {
			m[a[i]] = a[i+1]
		}
		return int64(1)
	}
	return modelErr(fmt.Sprintf("model: no command %s", cmd))
}

// randomCommand draws a command over a few keys and values that exercise the integer
// rules (exact int64 forms, their limits, non-canonical forms).
func randomCommand(rng *rand.Rand) []string {
	keys := []string{"k0", "k1", "k2", "k3"}
	vals := []string{"0", "1", "-5", "9223372036854775807", "-9223372036854775808", "abc", "", "01", "+3"}
	k := func() string { return keys[rng.IntN(len(keys))] }
	v := func() string { return vals[rng.IntN(len(vals))] }
	nums := []string{"1", "-1", "7", "9223372036854775807", "-9223372036854775808", "x"}
	switch rng.IntN(16) {
	case 0:
		return []string{"GET", k()}
	case 1:
		c := []string{"SET", k(), v()}
		switch rng.IntN(3) {
		case 1:
			c = append(c, "NX")
		case 2:
			c = append(c, "XX")
		}
		if rng.IntN(2) == 0 {
			c = append(c, "GET")
		}
		return c
	case 2:
		return []string{"SETNX", k(), v()}
	case 3:
		return []string{"GETSET", k(), v()}
	case 4:
		return []string{"GETDEL", k()}
	case 5:
		return []string{"DEL", k(), k()}
	case 6:
		return []string{"EXISTS", k(), k(), k()}
	case 7:
		return []string{"INCR", k()}
	case 8:
		return []string{"DECR", k()}
	case 9:
		return []string{"INCRBY", k(), nums[rng.IntN(len(nums))]}
	case 10:
		return []string{"DECRBY", k(), nums[rng.IntN(len(nums))]}
	case 11:
		return []string{"APPEND", k(), v()}
	case 12:
		return []string{"STRLEN", k()}
	case 13:
		return []string{"MGET", k(), k()}
	case 14:
		return []string{"MSET", k(), v(), k(), v()}
	}
	return []string{"MSETNX", k(), v(), k(), v()}
}
