package server

import (
	"context"

	"google.golang.org/grpc/codes"

	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/bundle"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/eddsa"
	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/pkcs11kms"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/limits"
	"github.com/appsign/signer/internal/revocation"
	"github.com/appsign/signer/internal/revocationstore"
	"github.com/appsign/signer/internal/statement"
	"github.com/appsign/signer/internal/translog"
)

// errorRule gives every error that wraps one of errs the gRPC code and the
// fixed client message. Messages say what happened and what to do; they never
// carry an error's own text, which may name hosts, paths or SQL.
type errorRule struct {
	errs []error
	code codes.Code
	msg  string
}

// msgInternal is the answer to a fault of the service itself: nothing the
// caller changes helps, and the log has the cause under the request id.
const msgInternal = "internal error"

// Authentication messages tell the caller what to fix without revealing
// anything about the policy.
const (
	msgNoCredentials = "authentication required: connect with mutual TLS and a client certificate issued for this service"
	msgUnknownCaller = "caller not recognised: the client certificate's identity (URI SAN) is not known to this service"
	msgForbidden     = "permission denied: the caller's roles do not allow this method"
	msgRequestDenied = "permission denied: the caller may not make this request"
)

// errorRules is the one error→status table, first match wins: an error
// may wrap several sentinels (a key store error around a KMS one), so the
// sentinel that says most about what the caller or an operator must do
// comes first. errmap_test.go fails when an exported Err* sentinel of a
// package the server calls is missing here.
var errorRules = []errorRule{
	// The server itself and the call's context.
	{[]error{ErrSpoolFull}, codes.ResourceExhausted, "no room to receive the archive on this replica; nothing was signed, retry later with the same idempotency key"},
	{[]error{ErrDraining}, codes.Unavailable, "server shutting down; no signature was issued, retry (on another replica) with the same idempotency key"},
	{[]error{context.Canceled}, codes.Canceled, "request cancelled"},
	{[]error{context.DeadlineExceeded}, codes.DeadlineExceeded, "deadline exceeded before the request finished"},

	// Authentication and authorization (internal/auth).
	{[]error{auth.ErrNoCredentials, auth.ErrNotLoopback}, codes.Unauthenticated, msgNoCredentials},
	{[]error{auth.ErrInvalidSubject, auth.ErrUnknownIdentity}, codes.Unauthenticated, msgUnknownCaller},
	{[]error{auth.ErrMethodNotCovered, auth.ErrRoleNotAllowed}, codes.PermissionDenied, msgForbidden},
	{[]error{auth.ErrPermissionDenied}, codes.PermissionDenied, msgRequestDenied},
	{[]error{auth.ErrInvalidPolicy}, codes.Internal, msgInternal},

	// Rate and concurrency limits (internal/limits): toStatus adds the
	// retry delay to the message and as a RetryInfo detail.
	{[]error{limits.ErrOverloaded}, codes.Unavailable, "server overloaded: too many calls in flight; retry with backoff"},
	{[]error{limits.ErrConcurrency}, codes.ResourceExhausted, "too many concurrent calls from this caller; retry when one of them finishes"},
	{[]error{limits.ErrRateLimited}, codes.ResourceExhausted, "rate limit exceeded for this caller"},
	{[]error{limits.ErrInvalidConfig}, codes.Internal, msgInternal},

	// Two-person approvals (internal/auth, stores in auth/approvalpg).
	{[]error{auth.ErrApprovalNotFound}, codes.NotFound, "approval not found: check the id (signerctl approval show)"},
	{[]error{auth.ErrInvalidApproval}, codes.InvalidArgument, "invalid approval request: action is 1-64 characters of a-z, 0-9, '.', '_' or '-'; target 1-1024 printable ASCII characters; reason at most 1024 printable characters"},
	{[]error{auth.ErrSelfApproval}, codes.PermissionDenied, "an approval must come from a second security admin, not the one who requested it"},
	{[]error{auth.ErrAlreadyApproved}, codes.FailedPrecondition, "the approval is already approved: the requester can now use it with --approval"},
	{[]error{auth.ErrNotApproved}, codes.FailedPrecondition, "the approval is not approved yet: another security admin must approve it first (signerctl approval approve)"},
	{[]error{auth.ErrAlreadyConsumed}, codes.FailedPrecondition, "the approval was already used: an approval allows one action; request a new one"},
	{[]error{auth.ErrApprovalExpired}, codes.FailedPrecondition, "the approval expired: request a new one"},
	{[]error{auth.ErrApprovalsUnavailable}, codes.Unavailable, "approvals database unavailable; nothing was recorded, retry later"},
	{[]error{auth.ErrApprovalMismatch}, codes.FailedPrecondition, "the approval is for another action or other parameters, or its stored parameters no longer match their hash; nothing was done: request a new approval for exactly this request"},

	// Named keys (internal/keystore). Before kms: the key store wraps
	// backend errors in its own when it knows better what went wrong.
	{[]error{keystore.ErrInvalidRequest}, codes.InvalidArgument, "invalid key request: the name is 2-63 lowercase letters, digits and '-', starting with a letter; the role archive-signing, ca or ledger; versions start at 1; the backend must be one this server serves and able to create keys, and archive-signing keys need a certificate issuer"},
	{[]error{keystore.ErrUnsuitableKey}, codes.InvalidArgument, "the key does not suit its role: an archive-signing key needs a backend that can pure-sign archives of the configured size and a valid, non-CA code-signing certificate"},
	{[]error{keystore.ErrNotFound}, codes.NotFound, "no such key or key version: list them with signerctl key list"},
	{[]error{keystore.ErrExists}, codes.AlreadyExists, "a key with this name exists (or the backend key is already one of its versions): choose another name, or rotate the existing key"},
	{[]error{keystore.ErrNoActiveVersion}, codes.FailedPrecondition, "the signing key has no usable active version; a security admin must rotate it (signerctl key rotate)"},
	{[]error{keystore.ErrActiveVersion}, codes.FailedPrecondition, "that version is the key's active version; nothing was changed: rotate the key first (signerctl key rotate), then retire or revoke the old version"},
	{[]error{keystore.ErrRevoked}, codes.FailedPrecondition, "that key version is revoked and cannot be used or reinstated; rotate to a new version (signerctl key rotate)"},
	{[]error{keystore.ErrKeyMismatch}, codes.FailedPrecondition, "the key backend's key does not match the key store's record of it; nothing was signed: operators must check the key's backend URI, then rotate the key"},
	{[]error{keystore.ErrClosed}, codes.Unavailable, "key store shutting down; retry (on another replica)"},
	{[]error{keystore.ErrUnavailable}, codes.Unavailable, "key store unavailable; nothing was changed, retry later"},

	// Revocations (internal/revocationstore).
	{[]error{revocationstore.ErrNotFound}, codes.NotFound, "not found: no ledger entry with that id, or no revocation list or CRL published yet (publish one first)"},
	{[]error{revocationstore.ErrInvalid}, codes.InvalidArgument, "invalid revocation request: name the target (a ledger entry id or 64-hex-digit SHA-256, a certificate with issuer and serial, or a 64-hex-digit key fingerprint), a known reason and an effective time"},
	{[]error{revocationstore.ErrUnavailable}, codes.Unavailable, "revocation database unavailable; nothing was recorded, retry later"},
	{[]error{revocationstore.ErrLogMismatch}, codes.FailedPrecondition, "the revocation tables disagree with the ledger log; nothing was published: run `signerctl ledger verify` to see which"},

	// The signature ledger (internal/ledger).
	{[]error{ledger.ErrNotFound}, codes.NotFound, "no such ledger entry"},
	{[]error{ledger.ErrIdempotencyConflict}, codes.AlreadyExists, "idempotency key already used for a different archive or app version; use a new key"},
	{[]error{ledger.ErrKeyVersionRevoked}, codes.FailedPrecondition, "the signing key version is revoked: nothing was signed or recorded; retry (same idempotency key) to sign with the active version"},
	{[]error{ledger.ErrInvalidEntry}, codes.InvalidArgument, "the request does not make a valid ledger entry (app key, version, track, sizes and digests); nothing was signed"},
	{[]error{ledger.ErrInvalidFilter}, codes.InvalidArgument, "invalid ledger query filter: check the app key, version, track, time range and page size"},
	{[]error{ledger.ErrUnavailable}, codes.Unavailable, "ledger database unavailable; no signature was issued, retry with the same idempotency key"},
	{[]error{ledger.ErrMalformedPayload}, codes.DataLoss, "the stored ledger log is inconsistent; nothing was signed; operators: run signerctl ledger verify"},
	{[]error{ledger.ErrInvalidURL}, codes.Internal, msgInternal},

	// The tamper-evident log (internal/translog).
	{[]error{translog.ErrNoCheckpoint}, codes.FailedPrecondition, "the ledger has no signed checkpoint yet; retry shortly"},
	{[]error{translog.ErrNoSigner}, codes.FailedPrecondition, "this server has no ledger key to sign checkpoints; operators: configure keys.ledger_backend"},
	{[]error{translog.ErrOutOfRange}, codes.OutOfRange, "index or tree size beyond the log's signed size"},
	{[]error{translog.ErrDiverged}, codes.DataLoss, "the stored ledger log diverges from its published checkpoints; nothing was signed; operators: run signerctl ledger verify"},
	{[]error{translog.ErrCorrupt, translog.ErrMalformedLeaf}, codes.DataLoss, "the stored ledger log is inconsistent; nothing was signed; operators: run signerctl ledger verify"},
	{[]error{translog.ErrBadCheckpoint}, codes.DataLoss, "a stored checkpoint does not verify under the ledger key; nothing was signed; operators: run signerctl ledger verify"},
	{[]error{translog.ErrPublish}, codes.Unavailable, "the ledger cannot check its log against the published checkpoints; nothing was signed, retry later"},
	{[]error{translog.ErrClosed, translog.ErrUnavailable}, codes.Unavailable, "ledger log unavailable; retry later"},
	{[]error{translog.ErrInvalidKind, translog.ErrPayloadTooLarge, translog.ErrInvalidOptions}, codes.Internal, msgInternal},

	// Key backends (internal/kms and its backends). A key an operator
	// disabled or locked away is FailedPrecondition, never a retry hint:
	// retrying cannot help until somebody acts.
	{[]error{kms.ErrKeyDisabled}, codes.FailedPrecondition, "the key this request needs is disabled in its key backend (or pending deletion); nothing was signed: enable it in the backend, or rotate to a new key (signerctl key rotate)"},
	{[]error{kms.ErrPermission}, codes.FailedPrecondition, "the key backend denied this service access to the key this request needs (key policy, IAM or PIN); nothing was signed: restore the service's access, or rotate to a new key (signerctl key rotate)"},
	{[]error{kms.ErrKeyNotFound}, codes.FailedPrecondition, "the key backend no longer has the key this request needs; nothing was signed: rotate to a new key (signerctl key rotate)"},
	{[]error{kms.ErrInvalidKey}, codes.FailedPrecondition, "the key backend's key is not a usable Ed25519 key for this operation; nothing was signed: rotate to a new key (signerctl key rotate)"},
	{[]error{kms.ErrMessageTooLarge, kms.ErrUnsupported}, codes.FailedPrecondition, "the active signing key's backend cannot pure-sign this archive"},
	{[]error{kms.ErrUnknownBackend}, codes.FailedPrecondition, "no key backend of that scheme is configured on this server; use one it serves"},
	{[]error{kms.ErrInvalidURI}, codes.FailedPrecondition, "the key backend attributes do not name a key; check them (signerctl key list shows the stored ones)"},
	{[]error{pkcs11kms.ErrKeyExists}, codes.AlreadyExists, "the PKCS#11 token already holds an object with this key's label; choose another key name"},
	{[]error{kms.ErrUnavailable, kms.ErrClosed}, codes.Unavailable, "signing key backend unavailable; no signature was issued, retry later"},
	{[]error{kms.ErrBackendFault}, codes.Internal, "signing key backend returned an invalid signature; no signature was issued"},
	{[]error{eddsa.ErrMessageChanged}, codes.Aborted, "the archive changed while it was being signed; nothing was signed, retry with the same idempotency key"},
	{[]error{eddsa.ErrInvalidSignature, eddsa.ErrBatchInvalid}, codes.Internal, "signing key backend returned an invalid signature; no signature was issued"},
	{[]error{eddsa.ErrInvalidKey}, codes.Internal, msgInternal},

	// Signed artefacts the server builds (statement, chain, bundle,
	// revocation). Their verification sentinels describe files the
	// server made itself, so reaching a client they are its fault, except
	// an expired CA or signer certificate, which an operator renews.
	{[]error{statement.ErrInvalidStatement}, codes.InvalidArgument, "the request does not make a valid digest statement: check the app key, version, track, archive size and the 32-byte SHA-256 and 64-byte SHA-512"},
	{[]error{statement.ErrDigestMismatch}, codes.InvalidArgument, "the archive does not match the digests in the request"},
	{[]error{chain.ErrExpired, revocation.ErrExpired, bundle.ErrExpired}, codes.FailedPrecondition, "a CA or signer certificate this request needs is outside its validity period; nothing was issued: operators must renew it"},
	{[]error{chain.ErrOutOfScope}, codes.PermissionDenied, "the app key is outside the certificate's scope"},
	{[]error{
		chain.ErrMalformed, chain.ErrBadSignature, chain.ErrUntrusted, chain.ErrInvalidKey,
		chain.ErrInsecureKeyFile, chain.ErrInvalidPKI, revocation.ErrInvalidList, revocation.ErrMalformed,
		revocation.ErrBadSignature, revocation.ErrUntrusted, revocation.ErrStale, revocation.ErrRollback,
		revocation.ErrRevoked, bundle.ErrInvalidBundle, bundle.ErrMalformed, bundle.ErrBadSignature,
		bundle.ErrUntrusted, bundle.ErrDigestMismatch, bundle.ErrMissingFile, bundle.ErrUnexpectedFile,
		bundle.ErrDowngrade, bundle.ErrConflict,
	}, codes.Internal, msgInternal},
}
