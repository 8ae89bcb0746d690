package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/appsign/signer/internal/auth"
	"github.com/appsign/signer/internal/bundle"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/eddsa"
	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/kms"
	"github.com/appsign/signer/internal/kms/awskms/awscall"
	"github.com/appsign/signer/internal/kms/pkcs11kms"
	"github.com/appsign/signer/internal/ledger"
	"github.com/appsign/signer/internal/limits"
	"github.com/appsign/signer/internal/revocation"
	"github.com/appsign/signer/internal/revocationstore"
	"github.com/appsign/signer/internal/statement"
	"github.com/appsign/signer/internal/translog"
)

// sentinelPackages are the packages (relative to this one) whose errors
// reach the handlers or the interceptors: what they call, and what those
// call in turn. Every exported Err* variable declared in them must have a
// row in errorRules.
var sentinelPackages = []string{
	".", "../auth", "../auth/approvalpg", "../limits",
	"../kms", "../kms/awskms", "../kms/awskms/awscall", "../kms/pkcs11kms", "../kms/sealedkms", "../kms/softkms",
	"../keystore", "../ledger", "../translog", "../revocation", "../revocationstore",
	"../statement", "../chain", "../bundle", "../eddsa",
}

// declaredSentinels returns "pkg.ErrX" for every exported package-level
// Err* variable in the non-test files of dir ("ErrX" for this package).
func declaredSentinels(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		prefix := f.Name.Name + "."
		if dir == "." {
			prefix = ""
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				for _, id := range spec.(*ast.ValueSpec).Names {
					if strings.HasPrefix(id.Name, "Err") && id.IsExported() {
						out = append(out, prefix+id.Name)
					}
				}
			}
		}
	}
	return out
}

// ruleNames returns the sentinels errorRules names in errmap.go, as
// written there ("pkg.ErrX" or "ErrX").
func ruleNames(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "errmap.go", nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "errorRules" {
			return true
		}
		for _, row := range vs.Values[0].(*ast.CompositeLit).Elts {
			for _, elt := range row.(*ast.CompositeLit).Elts[0].(*ast.CompositeLit).Elts {
				switch e := elt.(type) {
				case *ast.SelectorExpr:
					names = append(names, e.X.(*ast.Ident).Name+"."+e.Sel.Name)
				case *ast.Ident:
					names = append(names, e.Name)
				}
			}
		}
		return false
	})
	if n := len(ruleSentinels()); len(names) != n {
		t.Fatalf("read %d sentinels from errmap.go, errorRules has %d", len(names), n)
	}
	return names
}

// TestErrorRulesCoverEverySentinel fails when a package the server calls
// gains a sentinel that errorRules does not map: without a row it would
// reach clients as "internal error".
func TestErrorRulesCoverEverySentinel(t *testing.T) {
	rules := ruleNames(t)
	var declared []string
	for _, dir := range sentinelPackages {
		declared = append(declared, declaredSentinels(t, dir)...)
	}
	if len(declared) < 90 {
		t.Fatalf("found only %d sentinels in %v: is the parser reading the packages?", len(declared), sentinelPackages)
	}
	for _, name := range declared {
		if !slices.Contains(rules, name) {
			t.Errorf("%s has no row in errorRules (internal/server/errmap.go): give it a code and a fixed, actionable client message, and a want in TestErrorMapping", name)
		}
	}
	for i, name := range rules {
		if slices.Index(rules, name) != i {
			t.Errorf("%s has two rows in errorRules; the second is never used", name)
		}
	}
}

// sentinelRule is one sentinel of errorRules with its row's message.
type sentinelRule struct {
	err error
	msg string
}

// ruleSentinels lists errorRules' sentinels, in order.
func ruleSentinels() []sentinelRule {
	var out []sentinelRule
	for _, r := range errorRules {
		for _, e := range r.errs {
			out = append(out, sentinelRule{e, r.msg})
		}
	}
	return out
}

// wantCodes is the code every sentinel must reach the client with,
// written out once more so that moving a row or changing a code is a
// visible decision.
var wantCodes = map[error]codes.Code{
	ErrSpoolFull: codes.ResourceExhausted, ErrDraining: codes.Unavailable,
	context.Canceled: codes.Canceled, context.DeadlineExceeded: codes.DeadlineExceeded,

	auth.ErrNoCredentials: codes.Unauthenticated, auth.ErrNotLoopback: codes.Unauthenticated,
	auth.ErrInvalidSubject: codes.Unauthenticated, auth.ErrUnknownIdentity: codes.Unauthenticated,
	auth.ErrMethodNotCovered: codes.PermissionDenied, auth.ErrPermissionDenied: codes.PermissionDenied,
	auth.ErrRoleNotAllowed: codes.PermissionDenied, auth.ErrInvalidPolicy: codes.Internal,
	limits.ErrOverloaded: codes.Unavailable, limits.ErrConcurrency: codes.ResourceExhausted,
	limits.ErrRateLimited: codes.ResourceExhausted, limits.ErrInvalidConfig: codes.Internal,

	auth.ErrApprovalNotFound: codes.NotFound, auth.ErrInvalidApproval: codes.InvalidArgument,
	auth.ErrSelfApproval: codes.PermissionDenied, auth.ErrAlreadyApproved: codes.FailedPrecondition,
	auth.ErrNotApproved: codes.FailedPrecondition, auth.ErrAlreadyConsumed: codes.FailedPrecondition,
	auth.ErrApprovalExpired: codes.FailedPrecondition, auth.ErrApprovalMismatch: codes.FailedPrecondition,
	auth.ErrApprovalsUnavailable: codes.Unavailable,

	keystore.ErrInvalidRequest: codes.InvalidArgument, keystore.ErrUnsuitableKey: codes.InvalidArgument,
	keystore.ErrNotFound: codes.NotFound, keystore.ErrExists: codes.AlreadyExists,
	keystore.ErrNoActiveVersion: codes.FailedPrecondition, keystore.ErrActiveVersion: codes.FailedPrecondition,
	keystore.ErrRevoked: codes.FailedPrecondition, keystore.ErrKeyMismatch: codes.FailedPrecondition,
	keystore.ErrClosed: codes.Unavailable, keystore.ErrUnavailable: codes.Unavailable,

	revocationstore.ErrNotFound: codes.NotFound, revocationstore.ErrInvalid: codes.InvalidArgument,
	revocationstore.ErrUnavailable: codes.Unavailable, revocationstore.ErrLogMismatch: codes.FailedPrecondition,

	ledger.ErrNotFound: codes.NotFound, ledger.ErrIdempotencyConflict: codes.AlreadyExists,
	ledger.ErrKeyVersionRevoked: codes.FailedPrecondition, ledger.ErrInvalidEntry: codes.InvalidArgument,
	ledger.ErrInvalidFilter: codes.InvalidArgument, ledger.ErrUnavailable: codes.Unavailable,
	ledger.ErrMalformedPayload: codes.DataLoss, ledger.ErrInvalidURL: codes.Internal,

	translog.ErrNoCheckpoint: codes.FailedPrecondition, translog.ErrNoSigner: codes.FailedPrecondition,
	translog.ErrOutOfRange: codes.OutOfRange, translog.ErrDiverged: codes.DataLoss,
	translog.ErrCorrupt: codes.DataLoss, translog.ErrMalformedLeaf: codes.DataLoss,
	translog.ErrBadCheckpoint: codes.DataLoss, translog.ErrPublish: codes.Unavailable,
	translog.ErrClosed: codes.Unavailable, translog.ErrUnavailable: codes.Unavailable,
	translog.ErrInvalidKind: codes.Internal, translog.ErrPayloadTooLarge: codes.Internal,
	translog.ErrInvalidOptions: codes.Internal,

	kms.ErrKeyDisabled: codes.FailedPrecondition, kms.ErrPermission: codes.FailedPrecondition,
	kms.ErrKeyNotFound: codes.FailedPrecondition, kms.ErrInvalidKey: codes.FailedPrecondition,
	kms.ErrMessageTooLarge: codes.FailedPrecondition, kms.ErrUnsupported: codes.FailedPrecondition,
	kms.ErrUnknownBackend: codes.FailedPrecondition, kms.ErrInvalidURI: codes.FailedPrecondition,
	pkcs11kms.ErrKeyExists: codes.AlreadyExists,
	kms.ErrUnavailable:     codes.Unavailable, kms.ErrClosed: codes.Unavailable, kms.ErrBackendFault: codes.Internal,
	eddsa.ErrMessageChanged: codes.Aborted, eddsa.ErrInvalidSignature: codes.Internal,
	eddsa.ErrBatchInvalid: codes.Internal, eddsa.ErrInvalidKey: codes.Internal,

	statement.ErrInvalidStatement: codes.InvalidArgument, statement.ErrDigestMismatch: codes.InvalidArgument,
	chain.ErrExpired: codes.FailedPrecondition, revocation.ErrExpired: codes.FailedPrecondition,
	bundle.ErrExpired: codes.FailedPrecondition, chain.ErrOutOfScope: codes.PermissionDenied,
	chain.ErrMalformed: codes.Internal, chain.ErrBadSignature: codes.Internal, chain.ErrUntrusted: codes.Internal,
	chain.ErrInvalidKey: codes.Internal, chain.ErrInsecureKeyFile: codes.Internal, chain.ErrInvalidPKI: codes.Internal,
	revocation.ErrInvalidList: codes.Internal, revocation.ErrMalformed: codes.Internal,
	revocation.ErrBadSignature: codes.Internal, revocation.ErrUntrusted: codes.Internal,
	revocation.ErrStale: codes.Internal, revocation.ErrRollback: codes.Internal, revocation.ErrRevoked: codes.Internal,
	bundle.ErrInvalidBundle: codes.Internal, bundle.ErrMalformed: codes.Internal, bundle.ErrBadSignature: codes.Internal,
	bundle.ErrUntrusted: codes.Internal, bundle.ErrDigestMismatch: codes.Internal, bundle.ErrMissingFile: codes.Internal,
	bundle.ErrUnexpectedFile: codes.Internal, bundle.ErrDowngrade: codes.Internal, bundle.ErrConflict: codes.Internal,
}

// TestErrorMapping sends every sentinel, wrapped the way the packages
// wrap them (with context that may name hosts and keys), through toStatus:
// the client gets the sentinel's code and exactly its fixed message with
// the request id, nothing of the error's text; the log gets the cause,
// the method and the request id.
func TestErrorMapping(t *testing.T) {
	rules := ruleSentinels()
	if len(wantCodes) != len(rules) {
		t.Errorf("wantCodes has %d sentinels, errorRules %d: keep them in step", len(wantCodes), len(rules))
	}
	const secret = "db.internal.example:5432 user=signer"
	for _, r := range rules {
		t.Run(r.err.Error(), func(t *testing.T) {
			want, ok := wantCodes[r.err]
			if !ok {
				t.Fatalf("no want for %v", r.err)
			}
			if r.msg == "" || strings.Contains(r.msg, r.err.Error()) {
				t.Errorf("message %q is empty or repeats the error text", r.msg)
			}
			var logs bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&logs, nil))
			ctx := context.WithValue(t.Context(), requestIDKey{}, "req-0123456789")
			err := toStatus(ctx, log, "/signer.v1.Test/Method", fmt.Errorf("store: connect %s: %w", secret, r.err))
			st := status.Convert(err)
			if st.Code() != want {
				t.Errorf("code %v, want %v", st.Code(), want)
			}
			if wantMsg := r.msg + " (request id req-0123456789)"; st.Message() != wantMsg {
				t.Errorf("message %q, want %q (the rule of another sentinel matched first?)", st.Message(), wantMsg)
			}
			for _, field := range []string{`"method":"/signer.v1.Test/Method"`, `"request_id":"req-0123456789"`, secret, `"code":"` + want.String() + `"`} {
				if !strings.Contains(logs.String(), field) {
					t.Errorf("log lacks %s:\n%s", field, logs.String())
				}
			}
		})
	}
}

// TestErrorMappingPrecedence: errors that wrap several sentinels get the
// one that says what to do.
func TestErrorMappingPrecedence(t *testing.T) {
	disabled := awscall.Classify(&smithy.OperationError{ServiceID: "KMS", OperationName: "Sign", Err: &types.DisabledException{}})
	tests := []struct {
		name string
		err  error
		code codes.Code
		msg  string // a substring of the client message
	}{
		{"AWS DisabledException through the classifier", fmt.Errorf("awskms: sign: %w", disabled), codes.FailedPrecondition, "disabled in its key backend"},
		{"key store refusal around a backend's", fmt.Errorf("keystore: key k: %w: backend x cannot create keys: %w", keystore.ErrInvalidRequest, kms.ErrUnsupported), codes.InvalidArgument, "invalid key request"},
		{"KMS call out of time", fmt.Errorf("%w: %w", kms.ErrUnavailable, context.DeadlineExceeded), codes.DeadlineExceeded, "deadline exceeded"},
		{"a diverged log wrapped in a publish failure", fmt.Errorf("%w: checkpoint 9: %w", translog.ErrPublish, translog.ErrDiverged), codes.DataLoss, "diverges"},
		{"active version refusal names the key", fmt.Errorf("revoke: %w", &keystore.ActiveVersionError{Name: "dev-signing", Version: 3}), codes.FailedPrecondition, "key dev-signing version 3 is the active signing version"},
		{"a denial's reason is for the caller", fmt.Errorf("check: %w", &auth.Denial{Reason: "signing needs the pipeline role"}), codes.PermissionDenied, "permission denied: signing needs the pipeline role"},
		{"log mismatch lists the findings", fmt.Errorf("%w: %w", revocationstore.ErrLogMismatch, &ledger.FindingsError{Findings: []ledger.Finding{{Index: -1, Problem: "revocations 7: reason differs"}}}), codes.FailedPrecondition, "(revocations 7: reason differs)"},
		{"a rate limit says when to retry", fmt.Errorf("admit: %w", &limits.RetryError{Err: limits.ErrRateLimited, After: 250 * time.Millisecond, Detail: "4 calls/s"}), codes.ResourceExhausted, "rate limit exceeded for this caller; retry in 250ms (request id"},
		{"no sentinel at all", errors.New("pq: password authentication failed for user signer"), codes.Internal, "internal error (request id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := status.Convert(toStatus(t.Context(), slog.New(slog.DiscardHandler), "/m", tc.err))
			if st.Code() != tc.code || !strings.Contains(st.Message(), tc.msg) {
				t.Errorf("%v: %q, want %v containing %q", st.Code(), st.Message(), tc.code, tc.msg)
			}
			if strings.Contains(st.Message(), "password") || strings.Contains(st.Message(), "operation error") || strings.Contains(st.Message(), "calls/s") {
				t.Errorf("client message carries error text: %q", st.Message())
			}
			if d, ok := limits.RetryDelay(st.Err()); ok != errors.Is(tc.err, limits.ErrRateLimited) || (ok && d != 250*time.Millisecond) {
				t.Errorf("RetryInfo %v (present %v): only a limit's refusal carries one, with its delay", d, ok)
			}
		})
	}
}

// TestStatusesAndClientErrorsKeepTheirMessage: a status (from the
// transport or a deadline) and a handler's clientError, built from the
// request, reach the client as they are, even wrapped.
func TestStatusesAndClientErrorsKeepTheirMessage(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	st := status.Convert(toStatus(t.Context(), log, "/m", fmt.Errorf("recv: %w", status.Error(codes.ResourceExhausted, "grpc: message too large"))))
	if st.Code() != codes.ResourceExhausted || st.Message() != "grpc: message too large" {
		t.Errorf("status: %v %q", st.Code(), st.Message())
	}
	st = status.Convert(toStatus(t.Context(), log, "/m", fmt.Errorf("validate: %w", invalidArg("app_key %q is not reverse-DNS", "x"))))
	if st.Code() != codes.InvalidArgument || st.Message() != `app_key "x" is not reverse-DNS` {
		t.Errorf("client error: %v %q", st.Code(), st.Message())
	}
	if toStatus(t.Context(), log, "/m", nil) != nil {
		t.Error("nil error became a status")
	}
}
