// Package repocheck holds repository-wide checks that belong to no one package; it
// has tests only.
//
//   - Every citation of a section (SPEC §x.y, DESIGN §x, …) in a .go, .md or .cddl
//     file resolves to a heading of spec/SPEC.md or docs/DESIGN.md; the accepted
//     forms are listed at the top of docs/DESIGN.md.
//   - The operator binary and every compartment binary link no test code: no
//     package testing, no swarm simulator, no linearizability checker.
//
// Trust: test code.
package repocheck
