package conformance

// confCases are the single-step vectors of the Confirmation compartment (SPEC.md §10).
func confCases() []Case { return nil }

// execCases are the single-step vectors of the Execution compartment (SPEC.md §11).
func execCases() []Case { return nil }
