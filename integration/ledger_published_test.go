package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/appsign/signer/internal/anchor"
	"github.com/appsign/signer/internal/anchor/anchortest"
	"github.com/appsign/signer/internal/pgtest"
	"github.com/appsign/signer/internal/translog"
)

// publishedFixture is a dev signer that publishes its checkpoints to a
// directory under its data dir, serves metrics, and runs on a database the
// test can tamper with as a superuser.
type publishedFixture struct {
	*ledgerFixture
	metrics   string // host:port of /metrics
	published string // the published checkpoints directory
	vkey      string // the ledger key, pinned by the auditor
}

func newPublishedFixture(t *testing.T, extra ...string) *publishedFixture {
	t.Helper()
	requirePostgresBinaries(t)
	url := pgtest.URL(t)
	metricsAddr := freeLoopbackAddr(t)
	f := &ledgerFixture{srv: startDev(t, append([]string{"--database-url", url, "--metrics-listen", metricsAddr}, extra...)...), dir: t.TempDir()}
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.WithoutCancel(t.Context())) })
	f.conn = conn
	out := mustSignerctl(t, "ledger", "checkpoint", "--server", f.srv.Addr)
	return &publishedFixture{
		ledgerFixture: f,
		metrics:       metricsAddr,
		published:     filepath.Join(f.srv.DataDir, "published-checkpoints"),
		vkey:          strings.TrimPrefix(strings.SplitN(out, "\n", 2)[0], "ledger key: "),
	}
}

// freeLoopbackAddr returns a loopback address with a port free just now.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	return lis.Addr().String()
}

// signAndPublish signs n archives and waits until the published latest
// checkpoint covers them; it returns its size.
func (f *publishedFixture) signAndPublish(t *testing.T, prefix string, n int) int64 {
	t.Helper()
	for i := range n {
		f.sign(t, fmt.Sprintf("%s.%d", prefix, i), "upm")
	}
	size := f.waitCheckpoint(t)
	if got := f.publishedSize(t); got != size {
		t.Fatalf("published latest is of size %d, the served checkpoint %d: checkpoints are stored before they are published", got, size)
	}
	return size
}

// publishedSize returns the tree size in the published latest file.
func (f *publishedFixture) publishedSize(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.published, "latest"))
	if err != nil {
		t.Fatal(err)
	}
	_, tree, err := translog.ParseCheckpoint(b[:strings.Index(string(b), "\n\n")+1])
	if err != nil {
		t.Fatal(err)
	}
	return tree.N
}

// verifyPublished runs the auditor's check against the published directory.
func (f *publishedFixture) verifyPublished(t *testing.T) result {
	t.Helper()
	return signerctl(t, "ledger", "verify", "--server", f.srv.Addr, "--ledger-key", f.vkey, "--published-dir", f.published, "--quiet")
}

// dbTree is the log as the database holds it, rebuilt in memory: what an
// attacker who read internal/translog computes to make the tables
// consistent again after changing them.
type dbTree struct {
	hashes []tlog.Hash // by stored hash index
	n      int64
}

func (m *dbTree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = m.hashes[x]
	}
	return out, nil
}

func (m *dbTree) add(t *testing.T, leaf []byte) {
	t.Helper()
	stored, err := tlog.StoredHashes(m.n, leaf, m)
	if err != nil {
		t.Fatal(err)
	}
	m.hashes = append(m.hashes, stored...)
	m.n++
}

// head returns log_head's root and frontier for the tree.
func (m *dbTree) head(t *testing.T) (root tlog.Hash, frontier []byte) {
	t.Helper()
	root, err := tlog.TreeHash(m.n, m)
	if err != nil {
		t.Fatal(err)
	}
	var start int64
	for level := 62; level >= 0; level-- {
		if m.n&(1<<level) != 0 {
			h := m.hashes[tlog.StoredHashIndex(level, start>>level)]
			frontier = append(frontier, h[:]...)
			start += 1 << level
		}
	}
	return root, frontier
}

// readTree rebuilds the tree of the first n leaves in the database.
func (f *publishedFixture) readTree(t *testing.T, n int64) *dbTree {
	t.Helper()
	rows, _ := f.conn.Query(t.Context(), `SELECT log_leaf(kind, payload, appended_at) FROM log_leaves WHERE idx < $1 ORDER BY idx`, n)
	leaves, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		t.Fatal(err)
	}
	m := &dbTree{}
	for _, leaf := range leaves {
		m.add(t, leaf)
	}
	return m
}

// cutBack plays the superuser who removes the newest k leaves: the
// signature rows, leaves, stored hashes and stored checkpoints above the
// cut go, and the head is moved back with its root and frontier
// recomputed, so the database is consistent with itself again (the
// state a failover to a standby that lost transactions also leaves).
func (f *publishedFixture) cutBack(t *testing.T, to int64) {
	t.Helper()
	m := f.readTree(t, to)
	root, frontier := m.head(t)
	f.tamper(t,
		`DELETE FROM signatures WHERE log_index >= `+strconv.FormatInt(to, 10),
		`DELETE FROM log_leaves WHERE idx >= `+strconv.FormatInt(to, 10),
		`DELETE FROM log_hashes WHERE id >= `+strconv.Itoa(len(m.hashes)),
		`DELETE FROM log_checkpoints WHERE tree_size > `+strconv.FormatInt(to, 10),
		fmt.Sprintf(`UPDATE log_head SET tree_size = %d, root_hash = '\x%x', frontier = '\x%x',
			last_at = (SELECT max(appended_at) FROM log_leaves)`, to, root[:], frontier))
}

// rewriteSignature plays the superuser who changes the version an entry
// records, in the signatures row and in its leaf, recomputes the leaf's
// hash, every stored hash and the head, and deletes the stored
// checkpoints that would show the change: the tables agree with each
// other and with the service's own checks.
func (f *publishedFixture) rewriteSignature(t *testing.T, s signed, from, to string) {
	t.Helper()
	ctx := t.Context()
	var (
		kind    string
		payload []byte
		at      time.Time
		size    int64
	)
	if err := f.conn.QueryRow(ctx, `SELECT kind, payload, appended_at FROM log_leaves WHERE idx = $1`, s.index).Scan(&kind, &payload, &at); err != nil {
		t.Fatal(err)
	}
	if err := f.conn.QueryRow(ctx, `SELECT tree_size FROM log_head`).Scan(&size); err != nil {
		t.Fatal(err)
	}
	forged := []byte(strings.Replace(string(payload), `"`+from+`"`, `"`+to+`"`, 1))
	if string(forged) == string(payload) {
		t.Fatalf("leaf %d does not record version %s: %s", s.index, from, payload)
	}
	f.tamper(t,
		fmt.Sprintf(`UPDATE signatures SET version = '%s' WHERE id = %d`, to, s.id),
		fmt.Sprintf(`UPDATE log_leaves SET payload = '\x%x' WHERE idx = %d`, forged, s.index))
	m := f.readTree(t, size)
	root, frontier := m.head(t)
	var ids, hashes []string
	for i, h := range m.hashes {
		ids, hashes = append(ids, strconv.Itoa(i)), append(hashes, fmt.Sprintf(`'\x%x'::bytea`, h[:]))
	}
	f.tamper(t,
		`DELETE FROM log_hashes`,
		fmt.Sprintf(`INSERT INTO log_hashes (id, hash) SELECT * FROM unnest(ARRAY[%s]::bigint[], ARRAY[%s])`, strings.Join(ids, ","), strings.Join(hashes, ",")),
		fmt.Sprintf(`DELETE FROM log_checkpoints WHERE tree_size > %d`, s.index),
		fmt.Sprintf(`UPDATE log_head SET root_hash = '\x%x', frontier = '\x%x'`, root[:], frontier))
}

// waitRefusal waits until the service raises the checkpoint alarm and
// reports NOT_SERVING, and returns the metrics scrape.
func (f *publishedFixture) waitRefusal(t *testing.T) string {
	t.Helper()
	conn, err := grpc.NewClient(f.srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	must(t, err)
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(90 * time.Second)
	for {
		body := scrapeMetrics(t, f.metrics)
		h, err := health.Check(t.Context(), &healthpb.HealthCheckRequest{})
		if strings.Contains(body, `signer_ledger_checkpoint_refused{reason="diverged"} 1`+"\n") &&
			err == nil && h.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("no refusal within 90s: health %v, %v\nmetrics:\n%s\nstderr:\n%s", h.GetStatus(), err, grepLines(body, "checkpoint"), f.srv.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func scrapeMetrics(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// servedSize returns the size of the server's latest checkpoint.
func (f *publishedFixture) servedSize(t *testing.T) int64 {
	t.Helper()
	out := mustSignerctl(t, "ledger", "checkpoint", "--server", f.srv.Addr)
	m := treeSizeRE.FindStringSubmatch(out[strings.Index(out, "\n\n")+2:])
	if m == nil {
		t.Fatalf("no checkpoint in:\n%s", out)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// TestPublishedCheckpointsCatchCutBack: after signatures and a published
// checkpoint, a superuser cuts the newest leaves off the log (rows,
// hashes, stored checkpoints, head: all consistent again). The auditor's
// `ledger verify --published-dir` names the cut, and the service refuses
// to sign the shorter (then regrown, forked) log: an error is logged, the
// alarm metric is raised and health is NOT_SERVING.
func TestPublishedCheckpointsCatchCutBack(t *testing.T) {
	f := newPublishedFixture(t)
	size := f.signAndPublish(t, "1.0", 5)
	if r := f.verifyPublished(t); r.code != 0 || !strings.Contains(r.stdout, "OK:") {
		t.Fatalf("clean ledger: verify exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	cut := size - 3
	f.cutBack(t, cut)
	r := f.verifyPublished(t)
	if r.code != exitLedgerBad {
		t.Errorf("verify after the cut: exit %d, want %d\n%s%s", r.code, exitLedgerBad, r.stdout, r.stderr)
	}
	for _, want := range []string{
		fmt.Sprintf("published checkpoint %s: signed a tree of %d leaves, but the log holds %d: it was cut back", filepath.Join(f.published, "checkpoints", strconv.FormatInt(size, 10)), size, cut),
		fmt.Sprintf("leaves %d..%d: missing", cut, size-1),
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("verify output lacks %q:\n%s", want, r.stdout)
		}
	}

	// The service goes on appending; it must not sign what it appends.
	f.sign(t, "2.0.0", "upm")
	body := f.waitRefusal(t)
	if !strings.Contains(f.srv.stderr.String(), "diverges from the published checkpoint") {
		t.Errorf("no error logged for the refusal:\n%s", f.srv.stderr)
	}
	if got := f.publishedSize(t); got != size {
		t.Errorf("published latest moved from %d to %d", size, got)
	}
	if got := f.servedSize(t); got > cut {
		t.Errorf("the service signed a checkpoint of %d leaves over the cut log\n%s", got, grepLines(body, "checkpoint"))
	}
}

// TestPublishedCheckpointsCatchRewrite: a superuser rewrites a signed
// entry (row and leaf), recomputes the whole tree and deletes the stored
// checkpoints that covered it. The database is consistent with itself,
// so only the published checkpoints tell: verify names the departure and
// the service refuses to sign.
func TestPublishedCheckpointsCatchRewrite(t *testing.T) {
	f := newPublishedFixture(t)
	f.signAndPublish(t, "1.0", 2)
	victim := f.sign(t, "1.0.2", "upm")
	size := f.signAndPublish(t, "1.1", 2)

	f.rewriteSignature(t, victim, "1.0.2", "6.6.6")
	r := f.verifyPublished(t)
	if r.code != exitLedgerBad {
		t.Errorf("verify after the rewrite: exit %d, want %d\n%s%s", r.code, exitLedgerBad, r.stdout, r.stderr)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(fmt.Sprintf(`published checkpoint \S+: signed a tree of %d leaves, newer than the server's latest checkpoint`, size)),
		// The leaves are checked against every published root: the change
		// is bounded to the leaves after the last published size that still
		// matches, which is below the victim.
		rangeRE,
	} {
		if !want.MatchString(r.stdout) {
			t.Errorf("verify output lacks %s:\n%s", want, r.stdout)
		}
	}
	if m := rangeRE.FindStringSubmatch(r.stdout); m != nil {
		lo, _ := strconv.ParseInt(m[1], 10, 64)
		hi, _ := strconv.ParseInt(m[2], 10, 64)
		if victim.index < lo || victim.index > hi {
			t.Errorf("range %d..%d does not hold the rewritten leaf %d", lo, hi, victim.index)
		}
	}

	f.sign(t, "2.0.0", "upm")
	f.waitRefusal(t)
	if got := f.servedSize(t); got > victim.index {
		t.Errorf("the service signed a checkpoint of %d leaves over the rewritten log", got)
	}
}

// rangeRE matches verify's report of leaves that do not hash to a signed root.
var rangeRE = regexp.MustCompile(`leaves (\d+)\.\.(\d+): leaves do not match the signed tree`)

// TestLedgerVerifyNotAnExtension (issue 17, hand-made survivor 4): the
// server serves a latest checkpoint, validly signed by the ledger key,
// that does not extend the auditor's saved one. Here the attacker rewrote
// an entry and the tree, deleted the stored checkpoints and also wiped the
// published checkpoints (as in a deployment without ledger.checkpoint_dir),
// so the service signed the rewritten history. The saved checkpoint's
// consistency proof must fail and be reported as such.
func TestLedgerVerifyNotAnExtension(t *testing.T) {
	f := newPublishedFixture(t)
	victim := f.sign(t, "1.0.0", "upm")
	f.signAndPublish(t, "1.1", 3)
	saved := filepath.Join(f.dir, "saved.checkpoint")
	out := mustSignerctl(t, "ledger", "verify", "--server", f.srv.Addr, "--ledger-key", f.vkey, "--checkpoint-out", saved, "--quiet")
	if !strings.Contains(out, "OK:") {
		t.Fatalf("clean ledger:\n%s", out)
	}
	b, err := os.ReadFile(saved)
	must(t, err)
	_, old, err := translog.ParseCheckpoint(b[:strings.Index(string(b), "\n\n")+1])
	must(t, err)

	f.rewriteSignature(t, victim, "1.0.0", "6.6.6")
	must(t, os.RemoveAll(f.published))
	must(t, os.Mkdir(f.published, 0o755))
	f.sign(t, "2.0.0", "upm")
	grown := f.waitCheckpoint(t) // signed over the rewritten history
	if grown <= old.N {
		t.Fatalf("the server's latest checkpoint is of %d leaves, want more than the saved %d", grown, old.N)
	}

	r := signerctl(t, "ledger", "verify", "--server", f.srv.Addr, "--ledger-key", f.vkey, "--checkpoint", saved, "--quiet")
	if r.code != exitLedgerBad {
		t.Errorf("verify: exit %d, want %d\n%s%s", r.code, exitLedgerBad, r.stdout, r.stderr)
	}
	want := fmt.Sprintf("checkpoint %s: the latest tree (%d) is not an extension of it (%d)", saved, grown, old.N)
	if !strings.Contains(r.stdout, want) {
		t.Errorf("verify output lacks %q:\n%s", want, r.stdout)
	}
}

// exitLedgerBad is signerctl ledger verify's status for a ledger that does
// not match its checkpoints (docs/cli.md).
const exitLedgerBad = 10

// TestWitnessCatchesRewriteOfDatabaseAndDirectory: the service sends every
// checkpoint to a C2SP tlog-witness (a real one: litewitness) and keeps
// its cosignature. An attacker who controls both the database and the
// published directory rewrites an entry, recomputes the tree, deletes the
// stored checkpoints and wipes the directory, so neither check inside the
// service can see it. The witness, which keeps its own record, refuses the
// next checkpoint (its consistency proof fails), and the service refuses
// to sign: nothing is stored or published, the alarm is raised.
func TestWitnessCatchesRewriteOfDatabaseAndDirectory(t *testing.T) {
	lw := anchortest.StartLitewitness(t)
	f := newPublishedFixture(t, "--witness", lw.URL+" "+lw.VKey)
	lw.Register(t, "appsign.dev/ledger", f.vkey)
	victim := f.sign(t, "1.0.0", "upm")
	size := f.signAndPublish(t, "1.1", 2)

	cosigned, err := os.ReadFile(filepath.Join(f.published, "cosigned", strconv.FormatInt(size, 10)))
	if err != nil {
		t.Fatalf("no cosigned checkpoint of %d leaves: %v\nstderr:\n%s", size, err, f.srv.stderr)
	}
	lv, err := note.NewVerifier(f.vkey)
	must(t, err)
	wv, err := anchor.NewCosignatureVerifier(lw.VKey)
	must(t, err)
	if n, err := note.Open(cosigned, note.VerifierList(lv, wv)); err != nil || len(n.Sigs) != 2 {
		t.Fatalf("cosigned checkpoint: %v; want the ledger key's signature and the witness's cosignature", err)
	}

	f.rewriteSignature(t, victim, "1.0.0", "6.6.6")
	must(t, os.RemoveAll(f.published))
	must(t, os.Mkdir(f.published, 0o755))
	f.sign(t, "2.0.0", "upm")
	f.waitRefusal(t)
	if !strings.Contains(f.srv.stderr.String(), "witness refused the checkpoint as inconsistent") {
		t.Errorf("the witness's refusal is not logged:\n%s", f.srv.stderr)
	}
	if got := f.servedSize(t); got > victim.index {
		t.Errorf("the service signed and stored a checkpoint of %d leaves over the rewritten log", got)
	}
	if left, _ := os.ReadDir(f.published); len(left) != 0 {
		t.Errorf("something was published after the witness refused: %v", left)
	}
}
