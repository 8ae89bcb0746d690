package kmsemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// contentType is the request and response media type of AWS JSON 1.1.
const contentType = "application/x-amz-json-1.1"

// targetPrefix prefixes the operation name in the X-Amz-Target header.
const targetPrefix = "TrentService."

// maxBody bounds a request body; the largest real KMS request (a 4096-byte
// Sign message plus a 6144-byte ciphertext, base64) is far below it.
const maxBody = 256 << 10

// apiError is a KMS error response: its code becomes "__type" and the
// X-Amzn-ErrorType header, which the SDK maps to typed errors such as
// *types.NotFoundException (or smithy.GenericAPIError for codes the KMS
// model does not declare, like ThrottlingException).
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errorf(code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, message: fmt.Sprintf(format, args...)}
}

func validationf(format string, args ...any) *apiError {
	return errorf("ValidationException", format, args...)
}

func notFoundf(format string, args ...any) *apiError {
	return errorf("NotFoundException", format, args...)
}

func internalError(msg string) *apiError {
	return &apiError{status: http.StatusInternalServerError, code: "KMSInternalException", message: msg}
}

func writeError(w http.ResponseWriter, reqID string, e *apiError) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Amzn-Requestid", reqID)
	h.Set("X-Amzn-Errortype", e.code)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.code, e.message})
}

func writeResult(w http.ResponseWriter, reqID string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, reqID, internalError("kmsemu: encode response"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Amzn-Requestid", reqID)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// decode parses a request body into in, rejecting unknown JSON shapes the
// way KMS rejects a malformed request.
func decode(body []byte, in any) *apiError {
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, in); err != nil {
		return errorf("SerializationException", "cannot parse request body")
	}
	return nil
}

// epoch is a timestamp in the protocol's wire form: seconds since the Unix
// epoch as a JSON number.
type epoch float64

func toEpoch(t time.Time) epoch { return epoch(float64(t.UnixMilli()) / 1000) }

// optEpoch is a timestamp that is omitted when zero.
func optEpoch(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := toEpoch(t)
	return &e
}
