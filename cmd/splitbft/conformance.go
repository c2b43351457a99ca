package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"

	"github.com/splitbft/splitbft/conformance"
	"github.com/splitbft/splitbft/spec"
)

const conformanceUsage = `usage: splitbft conformance --role prep|conf|exec --exec ./path/to/binary [--run REGEX]

Runs the conformance suite of one role (Init checks, golden scenarios, embedded
vectors; with --run only the matching vectors) against a compartment binary that
speaks the frame protocol of SPEC §7.5 on stdin/stdout (started with -test-seed N per
compartment). Prints one line per failure and "N passed, M failed".
Exit status: 0 all passed, 1 some failed (or none selected), 2 usage.

example:
  go build -o /tmp/prep-b ./prep-b/cmd/prep-b
  splitbft conformance --role prep --exec /tmp/prep-b --run P7`

// conformanceMain implements "splitbft conformance": it runs the conformance suite of
// one role (Init checks, golden scenarios, embedded vectors; with --run only the
// matching vectors) against a compartment binary in process mode (the binary is
// started with -test-seed per compartment, SPEC.md Appendix A). It prints a line per
// failure and a summary "N passed, M failed"; it returns 0 when every selected check
// passed, 1 when some failed (or none was selected), 2 for bad arguments.
func conformanceMain(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("conformance", conformanceUsage, stderr)
	roleName := fs.String("role", "", "compartment role of the binary: prep, conf or exec")
	binary := fs.String("exec", "", "path of the compartment binary (it must accept -test-seed N)")
	run := fs.String("run", "", "run only the vectors whose name matches this regular expression (default: every check)")
	words, err := parseFlags(fs, args, stdout)
	if err == nil && len(words) > 0 {
		err = fmt.Errorf("unexpected argument %q", words[0])
	}
	if err != nil {
		return usageError("conformance", err, stderr)
	}
	role, filter, err := conformanceArgs(fs.FlagSet, *roleName, *binary, *run)
	if err != nil {
		fmt.Fprintf(stderr, "splitbft conformance: %v\n", err)
		return 2
	}
	return runVectors(role, filter, *binary, stdout)
}

// conformanceArgs checks the flags and returns the role and the vector name filter.
func conformanceArgs(fs *flag.FlagSet, roleName, binary, run string) (spec.Role, *regexp.Regexp, error) {
	if fs.NArg() > 0 {
		return 0, nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	roles := map[string]spec.Role{"prep": spec.RolePrep, "conf": spec.RoleConf, "exec": spec.RoleExec}
	role, ok := roles[roleName]
	if !ok {
		return 0, nil, fmt.Errorf("--role must be prep, conf or exec, not %q", roleName)
	}
	if binary == "" {
		return 0, nil, errors.New("--exec is required")
	}
	if st, err := os.Stat(binary); err != nil || st.IsDir() {
		return 0, nil, fmt.Errorf("--exec %s: not a file", binary)
	}
	if run == "" {
		return role, nil, nil
	}
	filter, err := regexp.Compile(run)
	if err != nil {
		return 0, nil, fmt.Errorf("--run: %v", err)
	}
	return role, filter, nil
}

// runVectors runs the suite of role against binary — every check, or with filter
// only the vectors whose name matches it — each against fresh processes of binary,
// and prints the failures (with what the processes wrote to stderr) and the summary.
func runVectors(role spec.Role, filter *regexp.Regexp, binary string, stdout io.Writer) int {
	pool := conformance.NewProcessPool(binary)
	defer pool.Close()
	root := newCLIReporter(stdout, spec.RoleName(role), func(failed bool) {
		hostErrs := pool.TakeErrors()
		pool.Close()
		if failed {
			for _, he := range hostErrs {
				fmt.Fprintf(stdout, "     host: %v\n", he)
			}
		}
	})
	root.call(func(r *cliReporter) { conformance.RunSuite(r, role, pool.Factory, filter) })
	fmt.Fprintf(stdout, "%d passed, %d failed\n", root.tally.passed, root.tally.failed)
	if root.failed || root.tally.passed == 0 {
		return 1
	}
	return 0
}
