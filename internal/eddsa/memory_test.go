package eddsa

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// makeFile writes size pseudo-random bytes to a new file in dir, one buffer
// at a time, and returns it open for reading.
func makeFile(tb testing.TB, dir string, size int, seed uint64) *os.File {
	tb.Helper()
	path := filepath.Join(dir, fmt.Sprintf("msg-%d-%d.bin", size, seed))
	w, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	var s [32]byte
	s[0], s[1] = byte(seed), byte(size)
	src := rand.NewChaCha8(s)
	buf := make([]byte, bufSize)
	for left := size; left > 0; {
		n := min(left, len(buf))
		src.Read(buf[:n])
		if _, err := w.Write(buf[:n]); err != nil {
			tb.Fatal(err)
		}
		left -= n
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}

// allocated returns the fewest bytes allocated over a few runs of f
// (TotalAlloc counts every allocation, even ones collected since).
func allocated(f func()) uint64 {
	best := uint64(math.MaxUint64)
	for range 3 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		best = min(best, after.TotalAlloc-before.TotalAlloc)
	}
	return best
}

// TestMemoryDoesNotGrowWithSize signs and verifies a 1 MiB and a 64 MiB file
// and checks that the bytes allocated do not grow with the message size.
// It measures allocation, never time.
func TestMemoryDoesNotGrowWithSize(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const smallSize, largeSize = 1 << 20, 64 << 20
	small := makeFile(t, dir, smallSize, 1)
	large := makeFile(t, dir, largeSize, 2)
	pub, priv := randKey(newRand(21))

	sign := func(f *os.File, size int64) []byte {
		sig, err := Sign(ctx, priv, f, size)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		return sig
	}
	verify := func(f *os.File, sig []byte) {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if err := Verify(ctx, pub, f, sig); err != nil {
			t.Fatalf("Verify: %v", err)
		}
	}
	smallSig := sign(small, smallSize) // also warms up the buffer pool
	largeSig := sign(large, largeSize)

	signSmall := allocated(func() { sign(small, smallSize) })
	signLarge := allocated(func() { sign(large, largeSize) })
	verifySmall := allocated(func() { verify(small, smallSig) })
	verifyLarge := allocated(func() { verify(large, largeSig) })
	t.Logf("bytes allocated: Sign 1 MiB %d, Sign 64 MiB %d, Verify 1 MiB %d, Verify 64 MiB %d",
		signSmall, signLarge, verifySmall, verifyLarge)

	// At most one buffer may be allocated per call (when the pool is empty,
	// which the race detector provokes on purpose); anything proportional to
	// the message would be at least 63 MiB more for the large file.
	const slack = bufSize + 64<<10
	for _, c := range []struct {
		op           string
		small, large uint64
	}{{"Sign", signSmall, signLarge}, {"Verify", verifySmall, verifyLarge}} {
		if c.large > c.small+slack {
			t.Errorf("%s allocates %d bytes for 64 MiB but %d for 1 MiB: grows with size", c.op, c.large, c.small)
		}
		if c.large > 2*bufSize {
			t.Errorf("%s allocates %d bytes for 64 MiB, more than two buffers", c.op, c.large)
		}
	}
}

var benchSizes = []struct {
	name string
	size int
}{
	{"1KiB", 1 << 10},
	{"1MiB", 1 << 20},
	{"64MiB", 64 << 20},
}

// BenchmarkSign signs a file through its io.ReaderAt.
func BenchmarkSign(b *testing.B) {
	ctx := context.Background()
	_, priv := randKey(newRand(30))
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			f := makeFile(b, b.TempDir(), bs.size, 3)
			b.SetBytes(int64(bs.size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Sign(ctx, priv, f, int64(bs.size)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify verifies a file read as an io.Reader.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	pub, priv := randKey(newRand(31))
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			f := makeFile(b, b.TempDir(), bs.size, 4)
			sig, err := Sign(ctx, priv, f, int64(bs.size))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(bs.size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.Seek(0, io.SeekStart); err != nil {
					b.Fatal(err)
				}
				if err := Verify(ctx, pub, f, sig); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStdlibSign is the crypto/ed25519 baseline, with the whole
// message in memory.
func BenchmarkStdlibSign(b *testing.B) {
	r := newRand(32)
	_, priv := randKey(r)
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			msg := randBytes(r, bs.size)
			b.SetBytes(int64(bs.size))
			b.ReportAllocs()
			for b.Loop() {
				ed25519.Sign(priv, msg)
			}
		})
	}
}

// BenchmarkStdlibVerify is the crypto/ed25519 baseline, with the whole
// message in memory.
func BenchmarkStdlibVerify(b *testing.B) {
	r := newRand(33)
	pub, priv := randKey(r)
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			msg := randBytes(r, bs.size)
			sig := ed25519.Sign(priv, msg)
			b.SetBytes(int64(bs.size))
			b.ReportAllocs()
			for b.Loop() {
				if !ed25519.Verify(pub, msg, sig) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
