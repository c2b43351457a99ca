// Package operator runs a SplitBFT cluster the way an operator does: one replica per
// host (or per network namespace), each replica a broker process with its three
// compartments as child processes.
//
// Trust: UNTRUSTED host code. Nothing here is inside an enclave, and nothing here can
// break safety: compartments verify every signature and certificate themselves. What
// operator code must get right is what SPEC.md leaves to "whoever assembles and
// accepts the configuration" (§7.3): it checks every enrollment's evidence against the
// accepted builds before it configures its compartments, and clients check the same
// evidence before they send a request.
//
// The life of a cluster:
//
//  1. Init writes a cluster directory: cluster.json (the Template: parameters,
//     addresses, the build matrix, the accepted build policies, the registered
//     clients' public keys) and clients/client-<id>.json (each client's secret
//     Identity, mode 0600). No enclave key is ever written: every compartment
//     generates its keys at start and keeps them in its memory only (DESIGN.md §5).
//  2. Each replica (Run) starts its three compartment processes, Inits them and forms
//     the cluster with its peers over HTTP on its status address (formation.go): it
//     serves its enrollments, collects everyone's, checks their evidence, has the
//     lowest replica deal the exec group key, assembles the one Config every replica
//     computes identically from the template (Assemble), configures its compartments
//     and serves the Config. Then it runs the broker over TCP (broker/tcpnet).
//  3. Clients (Connect) fetch the Config from the replicas, require the copies to
//     agree and every enrollment's evidence to pass, and talk to the client ports.
//
// A compartment process that dies is never restarted in place: a new process has new
// keys that are not in the configuration. The replica carries on without it, says so
// in its log, its status and its metrics, and has a fresh process admitted in a new
// epoch (heal.go, SPEC.md §17.6).
package operator
