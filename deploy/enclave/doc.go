// Package enclave holds no code: its directories hold the EGo enclave configuration
// (enclave.json) of each compartment binary, and its test checks them. How to build,
// sign and run the enclaves, and how their sizes were chosen: docs/ENCLAVES.md.
package enclave
