// Command splitbft-sim is the long mode of the Byzantine swarm simulator
// (conformance/swarm): many seeds on all cores, a scenario file for every failing
// seed, and deterministic replay of one scenario file.
//
//	splitbft-sim [-seeds N] [-from S] [-profile P] [-steps K] [-j J] [-out DIR]
//	splitbft-sim -scenario FILE
//	splitbft-sim -mutant NAME ...   deploy a deliberately broken build: every failing
//	                                seed is a seed that catches it
//	splitbft-sim -log FILE ...      write every event of every run to FILE (runs one
//	                                seed at a time)
//	splitbft-sim -whole-restart ... every run has a whole-cluster restart (SPEC.md
//	                                §17.8; without it, one mixed run in four has one)
//
// It is its own binary, not a subcommand of splitbft, so that the operator binary
// links neither the simulator nor its linearizability checker.
//
// Trust: test code. It hosts compartments in-process, outside any enclave.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/splitbft/splitbft/conformance/swarm"
)

const simUsage = `usage: splitbft-sim [-seeds N] [-from S] [-profile P] [-j J] [-out DIR]
       splitbft-sim -scenario FILE

Runs the Byzantine swarm simulator (conformance/swarm) over seeds S..S+N-1 on J cores
with a progress line; every failing seed is printed and its scenario file written to
DIR. -scenario replays one scenario file deterministically, event by event.
Exit status: 0 every seed passed, 1 some failed or interrupted, 2 usage.

example:
  go run ./cmd/splitbft-sim -seeds 10000 -from 100001 -j 2
  go run ./cmd/splitbft-sim -scenario swarm-failures/seed-107115.txt`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is splitbft-sim with its arguments. It runs seeds from..from+seeds−1 on all
// cores with a progress line, prints every failing seed and writes its scenario file;
// `-scenario F` replays one scenario file deterministically. It returns 0 when every
// seed passed, 1 when one failed or the run was interrupted, 2 for bad arguments.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("splitbft-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, simUsage+"\n\nflags:\n"); fs.PrintDefaults() }
	seeds := fs.Int("seeds", 1000, "number of seeds to run")
	from := fs.Uint64("from", 1, "first seed")
	profile := fs.String("profile", string(swarm.ProfileMixed), "adversary profile: mixed, lossy, partition, timers, equivocate")
	steps := fs.Int("steps", 0, "adversary actions in each safety phase (0: the simulator's default)")
	jobs := fs.Int("j", runtime.GOMAXPROCS(0), "runs in parallel")
	out := fs.String("out", "swarm-failures", "directory for the scenario files of failing runs")
	scenario := fs.String("scenario", "", "replay this scenario file instead, and print its events")
	every := fs.Duration("progress", 5*time.Second, "interval between progress lines")
	mutant := fs.String("mutant", "", "debug: deploy this broken build on every replica; failing seeds are the ones that catch it")
	logFile := fs.String("log", "", "debug: write every event of every run to this file (runs one seed at a time)")
	whole := fs.Bool("whole-restart", false, "every run stops every enclave once and recovers the cluster (SPEC §17.8); without it one mixed run in four does")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "splitbft-sim: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *scenario != "" {
		return replayScenario(*scenario, stdout, stderr)
	}
	if err := checkSimFlags(*seeds, *jobs, swarm.Profile(*profile), swarm.Mutant(*mutant)); err != nil {
		fmt.Fprintf(stderr, "splitbft-sim: %v\n", err)
		return 2
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(stderr, "splitbft-sim: scenario directory: %v\n", err)
		return 2
	}
	plan := simPlan{from: *from, seeds: *seeds, jobs: *jobs, every: *every,
		base: swarm.Options{Profile: swarm.Profile(*profile), SafetySteps: *steps, ScenarioDir: *out, Mutant: swarm.Mutant(*mutant),
			WholeRestart: *whole}}
	if *logFile != "" {
		f, err := os.Create(*logFile)
		if err != nil {
			fmt.Fprintf(stderr, "splitbft-sim: -log: %v\n", err)
			return 2
		}
		defer f.Close()
		plan.base.Log, plan.jobs = f, 1
	}
	return runPlan(plan, *profile, stdout, stderr)
}

// runPlan runs plan until done or interrupted and prints the summary.
func runPlan(plan simPlan, profile string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res := runSeeds(ctx, plan, stdout)
	fmt.Fprintf(stdout, "sim: %d seeds from %d (%s): %d failed; %s\n", res.done, plan.from, profile, res.failed, res.stats.Summary())
	if plan.base.Mutant != swarm.MutantNone {
		fmt.Fprintf(stdout, "sim: mutant %s caught by %d of %d seeds\n", plan.base.Mutant, res.failed, res.done)
	}
	switch {
	case res.failed > 0:
		return 1
	case res.done < plan.seeds:
		fmt.Fprintf(stderr, "splitbft-sim: interrupted after %d of %d seeds\n", res.done, plan.seeds)
		return 1
	}
	return 0
}

// checkSimFlags validates the run flags.
func checkSimFlags(seeds, jobs int, p swarm.Profile, m swarm.Mutant) error {
	switch {
	case seeds < 1:
		return fmt.Errorf("-seeds %d: want at least 1", seeds)
	case jobs < 1:
		return fmt.Errorf("-j %d: want at least 1", jobs)
	case m != swarm.MutantNone && !slices.Contains(swarm.Mutants, m):
		return fmt.Errorf("-mutant %q: unknown (%s)", m, mutantNames())
	}
	if p == swarm.ProfileMixed {
		return nil
	}
	for _, q := range swarm.Profiles {
		if p == q {
			return nil
		}
	}
	return fmt.Errorf("-profile %q: unknown (mixed, lossy, partition, timers, equivocate)", p)
}

// mutantNames lists the known mutants for a message.
func mutantNames() string {
	var names []string
	for _, m := range swarm.Mutants {
		names = append(names, string(m))
	}
	return strings.Join(names, ", ")
}

// simPlan is what runSeeds runs.
type simPlan struct {
	from        uint64
	seeds, jobs int
	every       time.Duration
	base        swarm.Options
}

// simResult is what runSeeds did.
type simResult struct {
	done, failed int
	stats        swarm.Stats
}

// runSeeds runs the plan's seeds on jobs workers, printing failures as they happen
// and a progress line every interval; it stops early when ctx is cancelled.
func runSeeds(ctx context.Context, p simPlan, w io.Writer) simResult {
	next := make(chan uint64)
	reports := make(chan swarm.Report)
	var wg sync.WaitGroup
	for range p.jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seed := range next {
				opt := p.base
				opt.Seed = seed
				reports <- swarm.Run(opt)
			}
		}()
	}
	go func() {
		defer close(next)
		for i := range p.seeds {
			select {
			case next <- p.from + uint64(i):
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(reports) }()
	return collect(reports, p, w)
}

// collect gathers reports, printing failures and progress.
func collect(reports <-chan swarm.Report, p simPlan, w io.Writer) simResult {
	var res simResult
	start, last := time.Now(), time.Now()
	for rep := range reports {
		res.done++
		res.stats.Add(rep.Stats)
		if rep.Failure != nil {
			res.failed++
			fmt.Fprintf(w, "FAIL seed %d: %s\n  scenario: %s (replay: splitbft-sim -scenario %s)\n", rep.Seed, rep.Failure.Error(), rep.Scenario, rep.Scenario)
		}
		if time.Since(last) >= p.every || res.done == p.seeds {
			last = time.Now()
			rate := float64(res.done) / time.Since(start).Seconds()
			eta := time.Duration(float64(p.seeds-res.done)/rate) * time.Second
			fmt.Fprintf(w, "sim: %d/%d seeds (%.0f%%), %d failed, %.1f seeds/s, ETA %s\n",
				res.done, p.seeds, 100*float64(res.done)/float64(p.seeds), res.failed, rate, eta.Round(time.Second))
		}
	}
	return res
}

// replayScenario replays one scenario file, printing every event.
func replayScenario(path string, stdout, stderr io.Writer) int {
	opt, err := swarm.LoadScenario(path)
	if err != nil {
		fmt.Fprintf(stderr, "splitbft-sim: %v\n", err)
		return 2
	}
	opt.Log, opt.ScenarioDir = stdout, ""
	rep := swarm.Run(opt)
	fmt.Fprintln(stdout, rep)
	if rep.Failure != nil {
		return 1
	}
	return 0
}
