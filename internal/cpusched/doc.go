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
// per request falls (README, performance). Nothing else changes: the priority
// (nice value) stays, and a process alone on an idle CPU runs as soon as it wakes,
// so a lightly loaded cluster's latency is the same. An operator who shares the
// replica's host with latency-sensitive work can keep the default policy
// (splitbft replica --sched normal).
package cpusched
