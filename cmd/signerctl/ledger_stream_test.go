package main

import (
	"net"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

// deadlineLedger serves StreamLogEntries the way a server whose per-call
// deadline runs out mid-stream does: at most perCall entries, then
// DeadlineExceeded (or failWith, when set, before sending anything).
type deadlineLedger struct {
	signerv1.UnimplementedLedgerServiceServer
	perCall  int64
	failWith codes.Code
	calls    atomic.Int32
}

func (l *deadlineLedger) StreamLogEntries(req *signerv1.StreamLogEntriesRequest, stream grpc.ServerStreamingServer[signerv1.StreamLogEntriesResponse]) error {
	l.calls.Add(1)
	if l.failWith != codes.OK {
		return status.Error(l.failWith, "refused")
	}
	end := min(req.GetEnd(), req.GetStart()+l.perCall)
	for i := req.GetStart(); i < end; i++ {
		if err := stream.Send(&signerv1.StreamLogEntriesResponse{Entries: []*signerv1.LogEntry{{Index: i, Leaf: []byte{byte(i)}}}}); err != nil {
			return err
		}
	}
	if end < req.GetEnd() {
		return status.Error(codes.DeadlineExceeded, "deadline exceeded before the request finished")
	}
	return nil
}

func ledgerClient(t *testing.T, srv signerv1.LedgerServiceServer) signerv1.LedgerServiceClient {
	t.Helper()
	g := grpc.NewServer()
	signerv1.RegisterLedgerServiceServer(g, srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go g.Serve(lis)
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return signerv1.NewLedgerServiceClient(conn)
}

// TestStreamLogResumesAcrossCallDeadlines: ledger verify over a log longer
// than one call may last reads every position exactly once, in order,
// across as many calls as the server's deadline forces (the 30-minute
// soak's 3.4M-entry log failed verify with DeadlineExceeded before this).
// A stream that ends without progress, or with another error, fails.
func TestStreamLogResumesAcrossCallDeadlines(t *testing.T) {
	cases := []struct {
		name      string
		srv       *deadlineLedger
		start     int64
		end       int64
		wantCalls int32
		wantErr   codes.Code
	}{
		{"one call is enough", &deadlineLedger{perCall: 100}, 0, 10, 1, codes.OK},
		{"three calls", &deadlineLedger{perCall: 4}, 0, 10, 3, codes.OK},
		{"from the middle", &deadlineLedger{perCall: 3}, 5, 12, 3, codes.OK},
		{"no progress is an error", &deadlineLedger{perCall: 0}, 0, 10, 1, codes.DeadlineExceeded},
		{"another error is not retried", &deadlineLedger{failWith: codes.Unavailable}, 0, 10, 1, codes.Unavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := ledgerClient(t, tc.srv)
			want := tc.start
			var gotErr error
			for e, err := range streamLogFrom(t.Context(), client, tc.start, tc.end) {
				if err != nil {
					gotErr = err
					break
				}
				if e.Index != want || len(e.Leaf) != 1 || e.Leaf[0] != byte(want) {
					t.Fatalf("entry %d (leaf %x), want %d", e.Index, e.Leaf, want)
				}
				want++
			}
			if tc.wantErr == codes.OK {
				if gotErr != nil || want != tc.end {
					t.Fatalf("read up to %d of [%d, %d): %v", want, tc.start, tc.end, gotErr)
				}
			} else if gotErr == nil {
				t.Fatalf("read up to %d without error, want %s", want, tc.wantErr)
			}
			if got := tc.srv.calls.Load(); got != tc.wantCalls {
				t.Errorf("%d calls, want %d", got, tc.wantCalls)
			}
		})
	}
}

// TestStreamLogStopsWhenTheCallerStops: a consumer that stops early ends
// the stream without another call.
func TestStreamLogStopsWhenTheCallerStops(t *testing.T) {
	srv := &deadlineLedger{perCall: 2}
	client := ledgerClient(t, srv)
	n := 0
	for _, err := range streamLog(t.Context(), client, 10) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 3 {
			break
		}
	}
	if got := srv.calls.Load(); got != 2 {
		t.Errorf("%d calls after stopping at the third entry, want 2", got)
	}
}
