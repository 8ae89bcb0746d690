package ledger

import (
	"testing"
	"testing/synctest"
)

// TestAuditReadAheadDepth: while the checks stall, the rows are read
// ahead in batches of 256 until the channel of 47 batches (a whole List
// page of 10,000 rows and more) is full and one more batch waits to be
// handed over: exactly 49 batches, so reading overlaps checking and the
// memory an audit holds is bounded. Every row arrives once, in order.
func TestAuditReadAheadDepth(t *testing.T) {
	const total = 20000
	synctest.Test(t, func(t *testing.T) {
		read := 0
		next, stop := pullAhead(func(yield func(int, error) bool) {
			for i := range total {
				read++
				if !yield(i, nil) {
					return
				}
			}
		})
		defer stop()
		if v, err, ok := next(); v != 0 || err != nil || !ok {
			t.Fatalf("first row = %d, %v, %v", v, err, ok)
		}
		synctest.Wait() // the reader is blocked on the full channel
		if want := 49 * 256; read != want || want < MaxListLimit {
			t.Fatalf("%d rows read ahead of the checks; want %d", read, want)
		}
		for i := 1; i < total; i++ {
			if v, err, ok := next(); v != i || err != nil || !ok {
				t.Fatalf("row %d = %d, %v, %v", i, v, err, ok)
			}
		}
		if _, _, ok := next(); ok {
			t.Fatal("a row after the last")
		}
	})
}
