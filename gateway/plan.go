package gateway

import (
	"fmt"
	"strings"

	"github.com/splitbft/splitbft/spec"
)

// plan is one command of a pipeline, ready to run: the operations to order (none for a
// command the gateway answers alone) and how to write its reply from their results.
// reply runs after every earlier command's reply, in order, so a command that changes
// the connection (HELLO, QUIT) affects exactly the replies after it.
type plan struct {
	ops   [][]byte
	reply func(w *writer, res []spec.Result)
	last  bool // QUIT: nothing after it in the pipeline is read or run
	// readOnly: every operation is read-only (kv-v1 get, kv-v2 strlen), so the plan may
	// take the fast read path (SPEC.md §16.6).
	readOnly bool
}

// handler plans one command; args[0] is the command name.
type handler func(g *Gateway, c *conn, args [][]byte) plan

// command is an entry of the command table: its handler and Redis's arity (n > 0:
// exactly n arguments including the name; n < 0: at least −n).
type command struct {
	h     handler
	arity int
}

// commands is the command table (SPEC.md §16.4), filled in by init functions.
var commands = map[string]command{}

// transactions are refused with a message of their own (SPEC.md §16.4).
var transactions = map[string]bool{"multi": true, "exec": true, "discard": true, "watch": true, "unwatch": true}

// plan turns one parsed command into a plan; unknown commands and wrong arities get
// the error reply Redis gives.
func (g *Gateway) plan(c *conn, args [][]byte) plan {
	name := strings.ToLower(string(args[0]))
	if transactions[name] {
		return errPlan("ERR MULTI/EXEC transactions are not supported by the SplitBFT gateway")
	}
	cmd, ok := commands[name]
	if !ok {
		return errPlan(fmt.Sprintf("ERR unknown command '%s', with args beginning with: %s", printable(args[0], 64), argsPreview(args[1:])))
	}
	if (cmd.arity > 0 && len(args) != cmd.arity) || (cmd.arity < 0 && len(args) < -cmd.arity) {
		return errPlan(fmt.Sprintf("ERR wrong number of arguments for '%s' command", name))
	}
	return cmd.h(g, c, args)
}

// argsPreview lists the first arguments as Redis does in its unknown-command error.
// Arguments are client data; they go back only to the client that sent them.
func argsPreview(args [][]byte) string {
	var b strings.Builder
	for i, a := range args {
		if i == 3 {
			break
		}
		fmt.Fprintf(&b, "'%s' ", printable(a, 32))
	}
	return b.String()
}

// errPlan is a local plan answering with the error s.
func errPlan(s string) plan { return plan{reply: func(w *writer, _ []spec.Result) { w.err(s) }} }

// localPlan is a plan with no operations.
func localPlan(f func(w *writer)) plan {
	return plan{reply: func(w *writer, _ []spec.Result) { f(w) }}
}

// opsPlan orders ops and writes the reply with f, unless the replicas rejected an
// operation (BadOp, Undecryptable, or a status this gateway does not know for it).
func opsPlan(ops [][]byte, f func(w *writer, res []spec.Result)) plan {
	return plan{ops: ops, reply: f}
}

// rejected writes the error for a result the gateway has no reply for.
func rejected(w *writer, r spec.Result) {
	switch r.Status {
	case spec.StatusBadOp:
		w.err("ERR operation rejected by the replicas (bad operation)")
	case spec.StatusUndecryptable:
		w.err("ERR operation rejected by the replicas (undecryptable)")
	default:
		w.err(fmt.Sprintf("ERR unexpected result status %d from the replicas", r.Status))
	}
}
