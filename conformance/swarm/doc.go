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
// state request, partition the replicas, restart or rejuvenate an enclave, move an
// admission on, or let a Byzantine enclave act.
//
// Epochs (SPEC.md §17). A restarted enclave has fresh keys; the simulated broker Inits
// it with the current epoch's digest as Challenge, gives its enrollment to the execs
// as input attest, collects their attestations and, with q of them, has the admin
// client (a registered client of the brokers) submit ConfigOp{Admit} as an ordinary
// request, retransmitted like any other. Epoch votes and epoch changes are routed by
// §13.1 and can be dropped, duplicated and replayed; the new enclave is configured
// with the new configuration (an exec with a group key share, tried dealer by dealer)
// and catches up. A rejuvenation (proactive recovery, §17.6) starts the fresh instance
// next to a running correct one, which retires when the epoch that replaces it is
// certified. Sometimes the malicious broker instead runs the restarted enclave in a
// forked configuration, where everything it signs must be rejected. The world keeps
// the chain (epoch.go): request validity, checkpoint signatures, reply keys and
// certificates are checked under the epoch a message belongs to, and clients re-sign
// and re-seal their outstanding request under each new digest with the same
// timestamp. A restarted enclave counts against f until it is admitted.
//
// Whole-cluster restarts (SPEC.md §17.8, restart_cluster.go): at steps the seed
// places, every enclave of every replica stops. What the brokers persisted (disk.go:
// committed batches with their commit certificates, the stable snapshot's chunks,
// the sealed group key) survives, one replica's disk possibly cut, stale or lost; the
// simulator, as the members' tool, starts fresh enclaves, signs a recovery plan for
// the highest head any disk proves with the fixture's member key (members.go), feeds
// every fresh exec recover, the base snapshot and the log, routes the recovery votes,
// and continues the run in the configuration the recovery starts (recovered.go). The
// durability oracle checks that no result a client accepted before is lost.
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
// safety, confidentiality, restart isolation (no correct compartment accepts a signed
// message from an enclave its own epoch's configuration does not enrol), epochs
// (monotone at every correct compartment, each adopted configuration the chain's),
// admission (every enrollment entering a configuration was attested by f+1 correct
// execs), retirement, and the fault budget (at most f slots per role of the latest
// configuration hold no correct enclave); N-version equivalence is checked by
// replaying every recorded prep and conf trace on the other build; liveness at the
// end (every outstanding request completes and every restarted enclave is admitted).
// Mutants (deliberately broken builds, deployed on every replica for one role) show
// that the oracles can fail.
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
