//go:build reliability

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// call is one RPC a load caller made during a fault test.
type call struct {
	caller     int
	idem       string
	start, end time.Time
	code       codes.Code
	replayed   bool
}

// callLog records every call of a fault test, for its figures.
type callLog struct {
	mu    sync.Mutex
	calls []call
}

func (l *callLog) add(c call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
}

func (l *callLog) snapshot() []call {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// retryable says whether a client may retry a call that failed with c
// (with the same idempotency key): the service promises no signature was
// issued, or that a retry returns the one that was.
func retryable(c codes.Code) bool {
	return c == codes.Unavailable
}

// failureFigures summarises the failed calls of calls: how many, by code,
// and the p50/p99/max of how long a failure took to come back.
type failureFigures struct {
	failed          int
	byCode          map[codes.Code]int
	p50, p99, max   time.Duration
	notRetryable    []call
	firstAt, lastAt time.Time
}

func failures(calls []call) failureFigures {
	f := failureFigures{byCode: map[codes.Code]int{}}
	var lat []time.Duration
	for _, c := range calls {
		if c.code == codes.OK {
			continue
		}
		f.failed++
		f.byCode[c.code]++
		lat = append(lat, c.end.Sub(c.start))
		if !retryable(c.code) {
			f.notRetryable = append(f.notRetryable, c)
		}
		if f.firstAt.IsZero() || c.end.Before(f.firstAt) {
			f.firstAt = c.end
		}
		if c.end.After(f.lastAt) {
			f.lastAt = c.end
		}
	}
	if len(lat) > 0 {
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		f.p50 = lat[len(lat)/2]
		f.p99 = lat[min(len(lat)-1, len(lat)*99/100)]
		f.max = lat[len(lat)-1]
	}
	return f
}

func (f failureFigures) String() string {
	var codes []string
	for c, n := range f.byCode {
		codes = append(codes, fmt.Sprintf("%s=%d", c, n))
	}
	sort.Strings(codes)
	return fmt.Sprintf("%d failed calls (%s); failure latency p50 %v, p99 %v, max %v",
		f.failed, strings.Join(codes, " "), f.p50.Round(time.Millisecond), f.p99.Round(time.Millisecond), f.max.Round(time.Millisecond))
}

// requireRetryable fails the test if any call failed with a code a client
// must not retry.
func (f failureFigures) requireRetryable(t testing.TB) {
	t.Helper()
	for _, c := range f.notRetryable {
		t.Errorf("call %s failed with %v after %v: not a retryable code", c.idem, c.code, c.end.Sub(c.start))
	}
}

// codeOf is the gRPC code of err (OK for nil).
func codeOf(err error) codes.Code { return status.Code(err) }

// writeResults logs lines and, when RELIABILITY_RESULTS_DIR is set, also
// writes them to a file of that name there (e.g. bench/results), so a run's
// figures can be kept.
func writeResults(t testing.TB, name string, lines []string) {
	t.Helper()
	text := strings.Join(lines, "\n") + "\n"
	t.Logf("%s:\n%s", name, text)
	dir := os.Getenv("RELIABILITY_RESULTS_DIR")
	if dir == "" {
		return
	}
	header := fmt.Sprintf("# %s, %s, %s\n", name, time.Now().UTC().Format(time.RFC3339), t.Name())
	must(t, os.WriteFile(filepath.Join(dir, name), []byte(header+text), 0o644))
}

// firstLine returns the first line of text that starts with prefix, or "".
func firstLine(text, prefix string) string {
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, prefix) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}
