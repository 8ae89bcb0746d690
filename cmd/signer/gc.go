package main

import "runtime/debug"

// gcPercent is the garbage collector's target for the signer when GOGC is
// not set: the heap may grow to three times what is live before a
// collection, not twice. The signer's live heap is small and every
// request allocates, so with Go's default of 100 it collected many times a
// second under load, and each collection also shrank the stacks of idle
// goroutines that the next request grew again (runtime.copystack).
// Measured for issue 13 (docs/BENCHMARKS.md): signer CPU per single
// SignDigest ≈ 8 % lower at 200 and ≈ 16 % at 400; peak RSS signing a
// 1 GiB archive 63 MiB at 100, 85 MiB at 200, 115 MiB at 400, against a
// goal of 128 MiB, hence 200. GOGC and GOMEMLIMIT, when set, are the
// operator's and apply unchanged.
const gcPercent = 200

// tuneGC sets gcPercent unless the environment (getenv) sets GOGC.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}
