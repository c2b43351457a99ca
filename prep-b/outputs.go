package prepb

import "github.com/splitbft/splitbft/spec"

// outputs accumulates the Outputs of one Step in the order they are produced
// (SPEC.md §7.4).
type outputs struct {
	list []spec.Output
}

// reject appends a Rejection of input idx of the given kind.
func (o *outputs) reject(idx, kind, code, sub uint64) {
	o.list = append(o.list, spec.Output{
		Kind: spec.KindReject,
		Body: spec.Encode(&spec.Rejection{Index: idx, Kind: kind, Code: code, Sub: sub}),
	})
}

// send appends a protocol message for roles at every replica in replicas.
func (o *outputs) send(kind, roles uint64, replicas []uint64, body any) {
	o.list = append(o.list, spec.Output{
		Kind: kind,
		To:   spec.Destination{Roles: roles, Replicas: replicas},
		Body: spec.Encode(body),
	})
}

// local appends an output for the local broker (empty destination).
func (o *outputs) local(kind uint64, body any) {
	o.list = append(o.list, spec.Output{Kind: kind, Body: spec.Encode(body)})
}
