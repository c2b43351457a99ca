package exec

import "github.com/splitbft/splitbft/spec"

// ReadOnly is implemented by an Application that can answer read-only operations
// without changing its state, for the fast read path (SPEC.md §16.6). ExecuteRead
// returns ok == false, and must change nothing, for an operation that is not
// read-only or does not parse.
type ReadOnly interface {
	ExecuteRead(op []byte) (res spec.Result, ok bool)
}

// onRead answers a READ (SPEC.md §16.6, rules X1–X3) with the results of its
// read-only operations on the current state. It changes no state.
func (e *Exec) onRead(m *spec.Read) uint64 {
	keys, ok := e.clientKeysFor(m.Client)
	switch {
	case !ok:
		return spec.CodeUnknownSender
	case len(m.Ops) < 1 || uint64(len(m.Ops)) > e.cfg.MaxRequestOps:
		return spec.CodeBatchLimit
	}
	for _, op := range m.Ops {
		if len(op.Ciphertext) < 17 || uint64(len(op.Ciphertext)) > e.cfg.MaxOpBytes {
			return spec.CodeBatchLimit
		}
	}
	ro, _ := e.app.(ReadOnly)
	res := make([]spec.Result, len(m.Ops))
	for j, op := range m.Ops {
		plain, opened := aeadOpen(keys.request, op.Nonce, op.Ciphertext, spec.ReadOpAD(e.cd, m.Client, m.ReadID, uint64(j)))
		r := spec.Result{Status: spec.StatusUndecryptable}
		if opened {
			r = spec.Result{Status: spec.StatusBadOp}
			if ro != nil {
				if v, ok := ro.ExecuteRead(plain); ok {
					r = v
				}
			}
		}
		res[j] = r
	}
	n := e.readNonce()
	ad := spec.ReadReplyAD(e.cd, m.Client, m.ReadID, e.replica, e.lastExec, e.view)
	rep := spec.ReadReply{Client: m.Client, ReadID: m.ReadID, Replica: e.replica, Last: e.lastExec, View: e.view,
		Nonce: n, Ciphertext: aeadSeal(keys.reply, n, spec.AppendResults(nil, res), ad)}
	e.emit(spec.KindReadReply, spec.Destination{}, spec.Encode(&rep))
	return 0
}
