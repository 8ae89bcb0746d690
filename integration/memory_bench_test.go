package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/appsign/signer/internal/pgtest"
)

// BenchmarkArchiveMemory signs archives of growing size, each with a fresh
// signer process, and reports the process's peak resident memory (VmHWM).
// Flat figures show the archive is streamed, not held in memory. Results are
// appended to bench/results/memory.txt by `make bench`.
func BenchmarkArchiveMemory(b *testing.B) {
	for _, size := range []int64{16 << 20, 256 << 20, 1 << 30} {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			archive := writeArchive(b, b.TempDir(), "big.jar", size, 3)
			var peak int64
			b.SetBytes(size)
			for i := 0; b.Loop(); i++ {
				srv := startDev(b, "--database-url", pgtest.URL(b), "--max-archive-size", strconv.FormatInt(2<<30, 10))
				mustSignerctl(b, "sign", "--server", srv.Addr, "--app-key", "com.example.mem", "--version", fmt.Sprintf("1.0.%d", i), "--out", filepath.Join(b.TempDir(), "s.sig"), archive)
				peak = max(peak, peakRSS(b, srv.cmd.Process.Pid))
			}
			b.ReportMetric(float64(peak)/(1<<20), "peakRSS-MiB")
		})
	}
}

// peakRSS reads VmHWM (peak resident set) of a process, in bytes.
func peakRSS(t testing.TB, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("VmHWM not found")
	return 0
}
