package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// This file is the flag handling every verb shares, so that they behave alike:
//
//   - flags may come before, between or after the positional arguments
//     (`kv get k --dir D` is `kv --dir D get k`); "--" ends the flags;
//   - -h, --help and `splitbft help VERB` print the verb's synopsis, an example and
//     its flags on stdout and exit 0;
//   - a bad flag prints the problem and a pointer to -h on stderr and exits 2.

// errUsage marks a usage error already reported on stderr (exit 2).
var errUsage = errors.New("usage error")

// flagSet is a verb's flag set and its help text.
type flagSet struct {
	*flag.FlagSet
	usage string // synopsis, description, example
}

// newFlagSet returns a flag set for verb whose help is usage (synopsis, description,
// example) followed by the flag defaults. Parse errors go to stderr; help goes to
// stdout through parseFlags.
func newFlagSet(verb, usage string, stderr io.Writer) *flagSet {
	fs := flag.NewFlagSet(verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // parseFlags prints the help, or a one-line pointer to it
	return &flagSet{FlagSet: fs, usage: usage}
}

// parseFlags parses args with fs, accepting flags anywhere among the positional
// arguments, and returns the positional arguments in order. On -h or --help it prints
// the help on stdout and returns flag.ErrHelp; on a bad flag it prints the error (the
// flag package's message) and a pointer to the help on stderr and returns errUsage.
func parseFlags(fs *flagSet, args []string, stdout io.Writer) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printHelp(fs, stdout)
				return nil, flag.ErrHelp
			}
			fmt.Fprintf(fs.Output(), "run \"splitbft %s -h\" for usage\n", fs.Name())
			return nil, errUsage
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil // "--" ended the flags
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// printHelp writes fs's usage text and flag defaults to w.
func printHelp(fs *flagSet, w io.Writer) {
	fmt.Fprint(w, strings.TrimRight(fs.usage, "\n")+"\n\nflags:\n")
	out := fs.Output()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(out)
}

// usageError reports a usage problem of verb on stderr and returns exit status 2,
// or 0 when err is flag.ErrHelp (the help was printed).
func usageError(verb string, err error, stderr io.Writer) int {
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case !errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "splitbft %s: %v\nrun \"splitbft %s -h\" for usage\n", verb, err, verb)
	}
	return 2
}

// setFlags returns the names of the flags set on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// requiredID checks a replica or client id flag: required, and not negative.
func requiredID(fs *flagSet, name string, v int64) error {
	switch {
	case !setFlags(fs.FlagSet)[name]:
		return fmt.Errorf("--%s is required", name)
	case v < 0:
		return fmt.Errorf("--%s %d: ids are 0 or more", name, v)
	}
	return nil
}
