// Package broker is the SplitBFT broker: the UNTRUSTED host around a replica's three
// compartments (SPEC.md §13). It holds no secret and nothing it does can break safety;
// its obligations are for liveness only: initialise and configure the enclaves
// (Bootstrap), route every compartment output by the routing table of §13.1, batch
// client requests at the primary, run request timers and suspect the primary together
// with f other brokers (and bring back a conf left alone in a higher view), fetch
// missing batches and state, retransmit to lagging peers, deliver replies (with a
// Ledger, only once the batch they answer is durable: durable.go, SPEC.md §13.5), and
// bound every queue.
//
// Replica is an event-driven core in the style of etcd raft's host loop: it has no
// goroutines and no clock. The host calls HandlePeer and HandleClient for arriving
// messages, Tick for each abstract unit of time, and Flush to deliver what is queued;
// all output goes through the non-blocking Net interface. broker/simnet drives
// replicas deterministically for tests; a production host drives them from sockets
// and a ticker.
//
// The broker-to-broker wire (PeerMsg) is defined in wire.go.
package broker
