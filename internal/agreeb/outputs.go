package agreeb

import "github.com/splitbft/splitbft/spec"

// Outputs accumulates the Outputs of one Step in the order they are produced
// (SPEC.md §7.4). The zero value is an empty list, ready to use.
type Outputs struct {
	list []spec.Output // append-only during a Step
}

// Reject appends a Rejection of input idx of the given kind.
func (o *Outputs) Reject(idx, kind, code, sub uint64) {
	o.list = append(o.list, spec.Output{
		Kind: spec.KindReject,
		Body: spec.Encode(&spec.Rejection{Index: idx, Kind: kind, Code: code, Sub: sub}),
	})
}

// Send appends a protocol message for roles at every replica in replicas.
func (o *Outputs) Send(kind, roles uint64, replicas []uint64, body any) {
	o.list = append(o.list, spec.Output{
		Kind: kind,
		To:   spec.Destination{Roles: roles, Replicas: replicas},
		Body: spec.Encode(body),
	})
}

// Local appends an output for the local broker (empty destination).
func (o *Outputs) Local(kind uint64, body any) {
	o.list = append(o.list, spec.Output{Kind: kind, Body: spec.Encode(body)})
}
