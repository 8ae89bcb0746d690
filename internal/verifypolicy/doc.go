// Package verifypolicy owns the verifier's final decision: given what the
// trust store established (the origin a signature chained to, or that it
// did not verify), the first failure, the revocation data available and
// the operator's per-origin policy, it decides whether an archive is
// accepted. It is a pure function of its inputs, so every rule is tested
// on the decision value, not on the command's output.
//
// The signature file never chooses the policy: origin comes only from
// the trust store (chain.OriginOfChain), and a file that does not verify
// has chain.OriginUnknown, governed by the "unsigned" mode, the
// ecosystem's grace period for unsigned apps.
package verifypolicy
