package awscall

import (
	"context"
	"errors"
	"fmt"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/appsign/signer/internal/kms"
)

// Error is a classified KMS API failure. It wraps both its kms sentinel
// (Kind) and the underlying error, so errors.Is(err, kms.ErrUnavailable)
// and errors.As(err, **types.DisabledException) both work.
type Error struct {
	// Kind is the kms sentinel: ErrUnavailable, ErrKeyDisabled, ErrPermission, ErrKeyNotFound,
	// ErrInvalidKey, ErrInvalidURI or ErrUnsupported; nil when none fits.
	Kind error
	// Reason says in plain words what went wrong.
	Reason string
	// Transient is true when the same call may succeed later without anybody
	// changing anything (throttling, server faults, network, timeouts).
	Transient bool
	// Err is the SDK's error (or the context error).
	Err error
}

func (e *Error) Error() string {
	if e.Kind == nil {
		return fmt.Sprintf("%s: %v", e.Reason, e.Err)
	}
	return fmt.Sprintf("%v: %s: %v", e.Kind, e.Reason, e.Err)
}

// Unwrap returns the sentinel and the underlying error.
func (e *Error) Unwrap() []error {
	if e.Kind == nil {
		return []error{e.Err}
	}
	return []error{e.Kind, e.Err}
}

// IsTransient reports whether err is a classified failure that may pass by
// itself (see Error.Transient).
func IsTransient(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Transient
}

// Classify maps an error from the KMS SDK client to an *Error. The reason
// texts name the AWS error code; none of them carries key material.
func Classify(err error) *Error {
	var api smithy.APIError
	if !errors.As(err, &api) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return &Error{Kind: kms.ErrUnavailable, Reason: "KMS did not answer in time", Transient: true, Err: err}
		}
		var params smithy.InvalidParamsError
		if errors.As(err, &params) {
			return &Error{Kind: kms.ErrUnsupported, Reason: "the SDK refused the request as invalid", Err: err}
		}
		var send *smithyhttp.RequestSendError
		if errors.As(err, &send) {
			return &Error{Kind: kms.ErrUnavailable, Reason: "cannot reach KMS", Transient: true, Err: err}
		}
		return &Error{Reason: "KMS call failed", Err: err}
	}
	e := &Error{Err: err}
	switch code := api.ErrorCode(); code {
	case "ThrottlingException", "ThrottledException", "TooManyRequestsException", "RequestLimitExceeded":
		e.Kind, e.Reason, e.Transient = kms.ErrUnavailable, "KMS throttled the request", true
	case "KMSInternalException", "DependencyTimeoutException", "KeyUnavailableException",
		"InternalFailure", "ServiceUnavailable", "ServiceUnavailableException":
		e.Kind, e.Reason, e.Transient = kms.ErrUnavailable, "KMS is failing ("+code+")", true
	case "DisabledException":
		e.Kind, e.Reason = kms.ErrKeyDisabled, "the KMS key is disabled; enable it to resume"
	case "KMSInvalidStateException":
		e.Kind, e.Reason = kms.ErrKeyDisabled, "the KMS key is not usable in its current state (pending deletion or import?)"
	case "NotFoundException":
		e.Kind, e.Reason = kms.ErrKeyNotFound, "KMS has no such key or alias"
	case "AccessDeniedException", "AccessDenied", "UnrecognizedClientException", "InvalidSignatureException",
		"IncompleteSignatureException", "MissingAuthenticationTokenException", "InvalidClientTokenId",
		"ExpiredTokenException", "ExpiredToken", "SignatureDoesNotMatch":
		e.Kind, e.Reason = kms.ErrPermission, "KMS denied access ("+code+")"
	case "InvalidCiphertextException", "IncorrectKeyException":
		e.Kind, e.Reason = kms.ErrInvalidKey, "KMS cannot decrypt this ciphertext with this key and encryption context ("+code+")"
	case "InvalidKeyUsageException":
		e.Kind, e.Reason = kms.ErrInvalidKey, "the KMS key cannot be used for this operation"
	case "InvalidArnException":
		e.Kind, e.Reason = kms.ErrInvalidURI, "the key id is not a valid ARN"
	case "ValidationException", "UnsupportedOperationException":
		e.Kind, e.Reason = kms.ErrUnsupported, "KMS refused the request ("+code+")"
	default:
		e.Reason = "KMS call failed (" + code + ")"
		var re *awshttp.ResponseError
		if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
			e.Kind, e.Transient = kms.ErrUnavailable, true
		}
	}
	return e
}
