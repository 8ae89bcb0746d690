package kmsemu

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Server.
type Options struct {
	// Region and AccountID appear in key ARNs and must match the SigV4
	// credential scope. Defaults: "us-east-1" and "111122223333".
	Region    string
	AccountID string
	// AccessKeyID is the only access key accepted; empty accepts any
	// (the Authorization header is still required).
	AccessKeyID string
	// SecretAccessKey, when set, makes the server check SigV4 signatures in
	// full. It is never logged or echoed.
	SecretAccessKey string
	// StatePath, when set, is a JSON file (mode 0600) the key store is
	// loaded from and saved to after every change. For development only:
	// it holds key material in the clear.
	StatePath string
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Rand is the entropy source for keys, ids and nonces; nil means crypto/rand.
	Rand io.Reader
	// AllowEmptyMessage makes Sign and Verify accept a 0-byte RAW message.
	// Real KMS refuses it (the Message member has a minimum length of 1);
	// this exists only for suites that sign empty messages.
	AllowEmptyMessage bool
}

// Server is an in-memory KMS endpoint; it implements http.Handler. All
// methods are safe for concurrent use.
type Server struct {
	opts  Options
	reqID atomic.Uint64

	mu      sync.Mutex
	keys    map[string]*key
	aliases map[string]*alias
	dirty   bool // the store changed since it was last saved
	faults  faults
	calls   map[string]int
}

// New returns a Server, loading Options.StatePath if it exists.
func New(opts Options) (*Server, error) {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "111122223333"
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	s := &Server{
		opts:    opts,
		keys:    map[string]*key{},
		aliases: map[string]*alias{},
		calls:   map[string]int{},
	}
	if opts.StatePath != "" {
		if err := s.load(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Server) now() time.Time { return s.opts.Clock() }

// ServeHTTP implements the KMS JSON 1.1 protocol.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := fmt.Sprintf("kmsemu-%08d", s.reqID.Add(1))
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		writeError(w, reqID, &apiError{status: http.StatusNotFound, code: "UnknownOperationException", message: "KMS accepts POST / only"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, reqID, validationf("request body too large or unreadable"))
		return
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if !ok || op == "" {
		writeError(w, reqID, errorf("UnknownOperationException", "missing or foreign X-Amz-Target"))
		return
	}
	s.count(op)
	if e := s.authenticate(r, body); e != nil {
		writeError(w, reqID, e)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != contentType {
		writeError(w, reqID, errorf("SerializationException", "Content-Type must be %s", contentType))
		return
	}
	if err := s.delay(r.Context()); err != nil {
		return // the client went away
	}
	if e := s.takeFault(); e != nil {
		writeError(w, reqID, e)
		return
	}
	out, e := s.dispatch(op, body)
	if e == nil {
		e = s.persist()
	}
	if e != nil {
		writeError(w, reqID, e)
		return
	}
	writeResult(w, reqID, out)
}

func (s *Server) dispatch(op string, body []byte) (any, *apiError) {
	switch op {
	case "CreateKey":
		return s.createKey(body)
	case "DescribeKey":
		return s.describeKey(body)
	case "EnableKey":
		return s.setEnabled(body, true)
	case "DisableKey":
		return s.setEnabled(body, false)
	case "ScheduleKeyDeletion":
		return s.scheduleKeyDeletion(body)
	case "CancelKeyDeletion":
		return s.cancelKeyDeletion(body)
	case "CreateAlias":
		return s.createAlias(body)
	case "DeleteAlias":
		return s.deleteAlias(body)
	case "ListAliases":
		return s.listAliases(body)
	case "GetPublicKey":
		return s.getPublicKey(body)
	case "Sign":
		return s.sign(body)
	case "Verify":
		return s.verify(body)
	case "Encrypt":
		return s.encrypt(body)
	case "Decrypt":
		return s.decrypt(body)
	case "GenerateDataKey":
		return s.generateDataKey(body)
	}
	return nil, errorf("UnknownOperationException", "kmsemu does not implement %s", op)
}

// persist saves the store if a request changed it and StatePath is set.
func (s *Server) persist() *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.dirty || s.opts.StatePath == "" {
		s.dirty = false
		return nil
	}
	if err := s.saveLocked(); err != nil {
		return internalError("kmsemu: could not save state")
	}
	s.dirty = false
	return nil
}

// newID returns a random key id in UUID form.
func (s *Server) newID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(s.opts.Rand, b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
