//go:build reliability

package integration

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/pgtest"
)

// spoolFS is the size of the file system mounted on the spool directory.
const spoolFS = 1 << 20

// mountSmallFS mounts a tmpfs of size bytes on dir (we run as root in CI);
// it skips the test when mounting is impossible here, unless CI=true.
func mountSmallFS(t *testing.T, dir string, size int) {
	t.Helper()
	must(t, os.MkdirAll(dir, 0o700))
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and no tmpfs mount on %s (the test needs root or CAP_SYS_ADMIN): %v", dir, err)
		}
		t.Skipf("cannot mount a small file system on %s (needs root): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
}

// fsUsed returns the bytes in use on the file system holding dir.
func fsUsed(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	must(t, syscall.Statfs(dir, &st))
	return int64(st.Blocks-st.Bfree) * int64(st.Bsize)
}

// openChunked starts a SignArchive call for archive and sends all of it in
// 256 KiB chunks, as large uploads arrive, without closing it; finish
// closes it and returns the answer. Until then the server holds the
// archive in its spool.
func openChunked(t *testing.T, c signerv1.SignerServiceClient, archive []byte, idem string) (finish func() (*signerv1.SignArchiveResponse, error)) {
	t.Helper()
	sum := sha256.Sum256(archive)
	stream, err := c.SignArchive(t.Context())
	must(t, err)
	if err := stream.Send(&signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Metadata{Metadata: &signerv1.SignArchiveMetadata{
		AppKey: "com.example.spool", Version: "1.0.0", Track: signerv1.Track_TRACK_MARKETPLACE,
		ReviewRef: "spool", IdempotencyKey: idem, ExpectedSha256: sum[:],
	}}}); err == nil {
		for off := 0; off < len(archive); off += 256 << 10 {
			if err := stream.Send(&signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Chunk{Chunk: archive[off:min(off+256<<10, len(archive))]}}); err != nil {
				break // the server ended the call: CloseAndRecv says why
			}
		}
	}
	return stream.CloseAndRecv
}

// TestReliabilitySpoolDiskFull mounts a 1 MiB file system on the spool
// directory and uploads archives that do not fit: one larger than the file
// system, and four held open at once of which three fit. A caller whose archive does not fit gets
// ResourceExhausted mid-upload; nothing is recorded for it; the spool file
// system is empty again afterwards (nothing left behind); later calls that
// fit succeed, without a restart. It ends with `signerctl ledger verify`
// against a checkpoint saved before the disk filled.
func TestReliabilitySpoolDiskFull(t *testing.T) {
	url := pgtest.URL(t)
	dataDir := t.TempDir()
	spoolDir := filepath.Join(dataDir, "spool")
	mountSmallFS(t, spoolDir, spoolFS)
	srv := startDev(t, "--database-url", url, "--data-dir", dataDir)
	client := signerv1.NewSignerServiceClient(dialPlain(t, srv.Addr))

	// 300 KiB archives go to the spool file system (past the 64 KiB kept
	// in memory); three fit at once, four do not.
	archive := func(idem string) []byte {
		size := 300 << 10
		if idem == "spool-too-big" {
			size = 2 * spoolFS
		}
		return append([]byte("PK "+idem+" "), bytes.Repeat([]byte{'s'}, size)...)
	}
	r := newReceipts()
	sign := func(idem string) error {
		resp, err := openChunked(t, client, archive(idem), idem)()
		r.add(idem, resp, err)
		return err
	}
	must(t, sign("spool-before"))
	audit := newAuditor(t, srv.Addr)
	saved, _ := audit.save(t, srv.Addr, url)
	empty := fsUsed(t, spoolDir)

	// Alone: an archive twice the file system's size.
	if err := sign("spool-too-big"); codeOf(err) != codes.ResourceExhausted {
		t.Fatalf("archive larger than the spool file system: %v, want ResourceExhausted", err)
	}
	// Together: four 300 KiB uploads held open at once; three fit.
	var finish []func() (*signerv1.SignArchiveResponse, error)
	for i := range 4 {
		idem := fmt.Sprintf("spool-crowd-%d", i)
		finish = append(finish, openChunked(t, client, archive(idem), idem))
	}
	full := 0
	for i, f := range finish {
		resp, err := f()
		r.add(fmt.Sprintf("spool-crowd-%d", i), resp, err)
		switch codeOf(err) {
		case codes.OK:
		case codes.ResourceExhausted:
			full++
		default:
			t.Fatalf("crowded upload %d: %v, want OK or ResourceExhausted", i, err)
		}
	}
	if full == 0 {
		t.Fatal("four 300 KiB uploads held at once all fit in 1 MiB: the disk never filled")
	}
	// Nothing left behind: the spool file system is as empty as before,
	// and no directory entry remains.
	for range 100 {
		if fsUsed(t, spoolDir) <= empty {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if used := fsUsed(t, spoolDir); used > empty {
		t.Fatalf("spool file system holds %d bytes after the failed uploads, %d before", used, empty)
	}
	left, err := os.ReadDir(spoolDir)
	must(t, err)
	if len(left) != 0 {
		t.Fatalf("spool directory not empty: %v", left)
	}
	// Nothing recorded for the refused uploads (checkLedger below: every
	// row was received by a caller); retried with their keys once there
	// is room, each gets one entry.
	rows := readLedger(t, url)
	if _, ok := rows["spool-too-big"]; ok {
		t.Fatal("the archive that did not fit is in the ledger")
	}
	for _, idem := range r.unknownKeys() {
		if _, ok := rows[idem]; ok {
			t.Fatalf("%s was refused but is in the ledger", idem)
		}
	}
	// Retried with their keys once there is room, the crowded uploads
	// each get one entry. The one that never fits is dropped by its caller.
	for _, idem := range r.unknownKeys() {
		if idem == "spool-too-big" {
			continue
		}
		if err := sign(idem); err != nil {
			t.Fatalf("retry of %s: %v", idem, err)
		}
	}
	checkLedgerWith(t, url, r, archive)
	checkLogIndexes(t, url)
	audit.verify(t, srv.Addr, url, saved)
	t.Logf("%d of 4 crowded uploads refused with ResourceExhausted, retried to one entry each; spool empty after", full)
}
