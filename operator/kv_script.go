package operator

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/splitbft/splitbft/client"
	"github.com/splitbft/splitbft/spec"
)

// Doer runs operation plaintexts as one request and returns their results
// (*client.Client and *KV are Doers).
type Doer interface {
	Do(ctx context.Context, ops [][]byte) ([]spec.Result, error)
}

// Op is one kv-v1 operation as the kv command and its scripts write it:
//
//	put KEY VALUE
//	get KEY
//	del KEY
//	cas KEY OLD NEW
//	cas-absent KEY NEW
//
// Tokens are separated by white space; a token in Go double-quoted syntax ("",
// "a\tb") is unquoted, so an empty value is "".
type Op struct {
	Verb     string // put, get, del, cas, cas-absent
	Key      []byte
	Value    []byte // put, cas, cas-absent: the new value
	Expected []byte // cas: the value the key must hold
}

// arity is the number of arguments of each verb.
var arity = map[string]int{"put": 2, "get": 1, "del": 1, "cas": 3, "cas-absent": 2}

// ParseOp parses one operation from its words (verb first).
func ParseOp(words []string) (Op, error) {
	if len(words) == 0 {
		return Op{}, fmt.Errorf("empty operation")
	}
	n, ok := arity[words[0]]
	if !ok {
		return Op{}, fmt.Errorf("unknown operation %q (want put, get, del, cas or cas-absent)", words[0])
	}
	if len(words)-1 != n {
		return Op{}, fmt.Errorf("%s takes %d argument(s), got %d", words[0], n, len(words)-1)
	}
	args := make([][]byte, n)
	for i, w := range words[1:] {
		args[i] = []byte(w)
		if strings.HasPrefix(w, `"`) {
			u, err := strconv.Unquote(w)
			if err != nil {
				return Op{}, fmt.Errorf("bad quoted token %s", w)
			}
			args[i] = []byte(u)
		}
	}
	op := Op{Verb: words[0], Key: args[0]}
	switch op.Verb {
	case "put", "cas-absent":
		op.Value = args[1]
	case "cas":
		op.Expected, op.Value = args[1], args[2]
	}
	if len(op.Key) == 0 || len(op.Key) > spec.MaxKVKey || len(op.Value) > spec.MaxKVValue || len(op.Expected) > spec.MaxKVValue {
		return Op{}, fmt.Errorf("key must be 1..%d bytes and values at most %d", spec.MaxKVKey, spec.MaxKVValue)
	}
	return op, nil
}

// Plaintext returns the kv-v1 operation encoding (SPEC.md §12.6).
func (o Op) Plaintext() []byte {
	switch o.Verb {
	case "put":
		return client.PutOp(o.Key, o.Value)
	case "get":
		return client.GetOp(o.Key)
	case "del":
		return client.DeleteOp(o.Key)
	case "cas":
		return client.CASOp(o.Key, o.Expected, o.Value, false)
	}
	return client.CASOp(o.Key, nil, o.Value, true)
}

// FormatResult renders a result as one line: "ok", `ok "VALUE"` (get and del),
// "notfound", `mismatch "CURRENT"` (cas), "badop" or "undecryptable".
func FormatResult(o Op, r spec.Result) string {
	switch r.Status {
	case spec.StatusOK:
		if o.Verb == "get" || o.Verb == "del" {
			return "ok " + strconv.Quote(string(r.Value))
		}
		return "ok"
	case spec.StatusNotFound:
		return "notfound"
	case spec.StatusCASMismatch:
		return "mismatch " + strconv.Quote(string(r.Value))
	case spec.StatusBadOp:
		return "badop"
	case spec.StatusUndecryptable:
		return "undecryptable"
	}
	return fmt.Sprintf("status%d", r.Status)
}

// RunScript reads operations from in, one per line (blank lines and lines starting
// with # are skipped), runs each as its own request in order, and writes one result
// line per operation to out as soon as it is known (FormatResult, or "error: ..." for
// a line that does not parse or a request that failed). It returns the number of
// lines that gave an error, and an error only if reading in or writing out failed.
func RunScript(ctx context.Context, d Doer, in io.Reader, out io.Writer) (int, error) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 2*spec.MaxKVValue+1024)
	failed := 0
	for sc.Scan() {
		words := strings.Fields(sc.Text())
		if len(words) == 0 || strings.HasPrefix(words[0], "#") {
			continue
		}
		line := runLine(ctx, d, words)
		if strings.HasPrefix(line, "error:") {
			failed++
		}
		if _, err := fmt.Fprintln(out, line); err != nil {
			return failed, err
		}
	}
	return failed, sc.Err()
}

// runLine runs one parsed script line and returns its result line.
func runLine(ctx context.Context, d Doer, words []string) string {
	op, err := ParseOp(words)
	if err != nil {
		return "error: " + err.Error()
	}
	res, err := d.Do(ctx, [][]byte{op.Plaintext()})
	if err != nil {
		return "error: " + strings.ReplaceAll(err.Error(), "\n", " ")
	}
	return FormatResult(op, res[0])
}
