// Package swarm is a seeded, deterministic Byzantine swarm simulator for SplitBFT.
//
// One process, one seed, no wall clock, no goroutines: the simulator holds the real
// compartments (prep-a/prep-b, conf-a/conf-b, exec with kv-v1; a and b builds mixed
// per replica, drawn from the seed) of n = 3f+1 replicas, bootstraps them with
// broker.Bootstrap, and drives them directly through spec.Compartment. There is no
// broker.Replica: the network adversary is the union of all brokers. It keeps a pool
// of every message any compartment or client ever emitted, routed by SPEC.md §13.1
// into per-(role, replica) deliveries, and each step picks one action: deliver a
// pending message, drop it, duplicate it, replay any message ever seen to any
// compartment, hand a client batch to a prep, fire or withhold a suspicion, send a
// state request, partition the replicas, restart an enclave, or let a Byzantine
// enclave act.
//
// Byzantine enclaves (up to f per compartment type, placed independently per type)
// are wrappers that own the enclave's real private key (derived from its randomness
// stream, SPEC.md §3.5 and appendix A) and equivocate, stay silent, replay stale
// messages, sign small-scope mutations of what they sign, or run as Twins (two
// instances of one identity fed different inputs).
//
// Every run has a safety phase (the adversary active) and a liveness phase (Byzantine
// and restarted enclaves silent, a fair broker). Oracles are checked after every
// step: agreement, integrity, validity, monotonicity, checkpoint agreement, client
// safety, confidentiality, restart isolation; N-version equivalence is checked by
// replaying every recorded prep and conf trace on the other build; liveness at the
// end. Mutants (deliberately broken builds, deployed on every replica for one role)
// show that the oracles can fail.
//
// A run (sim) has three parts, each a type that owns its state: the world (world.go:
// the configuration, the compartment slots, the clients and every message in
// flight), the adversary (strategy.go: its weights and the attacks under way; its
// moves are in adversary.go), and the oracles (oracle.go: what was executed, seen and
// returned, and the first failure). The oracles read the world only through the
// nodes handed to them and the worldView interface, and never the adversary; the
// moves and the run loop are methods of sim.
//
// Trust: test code on the UNTRUSTED side. It is never linked into a compartment or a
// broker.
package swarm
