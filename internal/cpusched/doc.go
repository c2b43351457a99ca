// Package cpusched sets the Linux scheduling policy of the calling process.
//
// Why: the processes of a replica (its broker and three compartments) hand work to
// each other many times per request, and each hand-off wakes a process. Under the
// default policy (SCHED_OTHER) a woken process preempts the one running on its CPU
// when the scheduler thinks it has waited long enough, so on a loaded host a
// compartment checking a batch's signatures is cut off by every network message
// its broker receives: about 40% of prep's context switches on two shared cores
// were such preemptions, each paid again in refilled caches. Under SCHED_BATCH a
// woken process does not preempt: it runs when a CPU is idle or the running
// process's slice ends. The process cluster then cuts larger batches, and its CPU
// per request falls (README, Performance, session 13). Nothing else changes: the
// priority (nice value) stays, and a woken process that finds a CPU idle runs at
// once, so a cluster with idle CPUs answers as fast as before. The cost is the
// other way round: a replica under SCHED_BATCH on a host that also runs CPU-bound
// work of the default policy waits for that work's time slices, where it would
// have preempted it; an operator in that case keeps the default policy (splitbft
// replica --sched normal). Apply switches only between the default policy and
// SCHED_BATCH: a process an operator started under another (a real-time or idle
// policy, by chrt or systemd's CPUSchedulingPolicy=) keeps it.
package cpusched
