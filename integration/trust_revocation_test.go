package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCompromiseDrill is the bad day: the marketplace signing key is
// compromised from time T. The key is rotated, revoked from T (the command
// lists exactly the app versions signed at or after T and re-signs them
// with the new key), a new revocation list is published, and with it
// exactly the signatures made after T fail verification while earlier ones
// (online with their ledger entry, or offline as the list's exact entry
// names them) and the re-signed ones pass. A revoked single archive fails whenever it
// was signed; an older revocation list is refused as a rollback.
func TestCompromiseDrill(t *testing.T) {
	requirePostgresBinaries(t)
	srv := startDev(t)
	work := t.TempDir()
	truststore := filepath.Join(work, "truststore")
	mustSignerctl(t, "bundle", "get", "--server", srv.Addr, "--out", truststore)
	oldCert := filepath.Join(work, "old-signing.pem")
	b, err := os.ReadFile(filepath.Join(srv.DataDir, "pki", "signing.crt"))
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(oldCert, b, 0o644))

	archives := filepath.Join(work, "archives")
	must(t, os.MkdirAll(archives, 0o755))
	type signed struct {
		path  string
		entry int64
	}
	sign := func(name string, seed uint64) signed {
		p := writeArchive(t, archives, name+".jar", 32<<10, seed)
		return signed{p, signEntry(t, srv.Addr, p, "com.example."+name, "1.0.0")}
	}
	before := sign("before", 21)
	time.Sleep(20 * time.Millisecond)
	compromisedFrom := time.Now().UTC()
	time.Sleep(20 * time.Millisecond)
	after1, after2 := sign("after-one", 22), sign("after-two", 23)
	listV1 := filepath.Join(work, "revocation-v1.json")
	mustSignerctl(t, "revoke", "publish", "--server", srv.Addr, "--out", listV1)

	// Keep copies of the signatures made with the compromised key.
	oldSig := func(s signed) string {
		p := s.path + ".old.sig"
		b, err := os.ReadFile(s.path + ".sig")
		if err != nil {
			t.Fatal(err)
		}
		must(t, os.WriteFile(p, b, 0o644))
		return p
	}
	beforeSig, after1Sig, after2Sig := oldSig(before), oldSig(after1), oldSig(after2)

	mustSignerctl(t, "key", "rotate", "--server", srv.Addr, "dev-signing")
	out := mustSignerctl(t, "revoke", "key", "--server", srv.Addr, "--cert", oldCert,
		"--effective-from", compromisedFrom.Format(time.RFC3339Nano), "--reason", "key-compromise", "--resign-dir", archives)
	wantContains(t, "revoke key", out, "2 signature(s) revoked")
	for _, s := range []signed{after1, after2} {
		wantContains(t, "revoke key", out, fmt.Sprintf("entry %d ", s.entry))
	}
	if strings.Contains(out, fmt.Sprintf("entry %d ", before.entry)) {
		t.Errorf("revoke key lists the signature made before T:\n%s", out)
	}
	if n := strings.Count(out, "re-signed "); n != 2 {
		t.Errorf("re-signed %d versions, want 2:\n%s", n, out)
	}
	// Revoking again from a later time changes nothing.
	again := mustSignerctl(t, "revoke", "key", "--server", srv.Addr, "--cert", oldCert,
		"--effective-from", compromisedFrom.Add(time.Hour).Format(time.RFC3339Nano), "--reason", "key-compromise")
	wantContains(t, "revoke key later", again, "nothing changed")

	listV2 := filepath.Join(work, "revocation-v2.json")
	mustSignerctl(t, "revoke", "publish", "--server", srv.Addr, "--out", listV2)
	show := mustSignerctl(t, "revoke", "show", "--truststore", truststore, listV2)
	wantContains(t, "revoke show", show, "version 2")

	cases := []struct {
		name      string
		sig       string
		archive   string
		entry     int64
		wantCode  int
		wantCause string
	}{
		{"signed before T, time from the ledger", beforeSig, before.path, before.entry, 0, ""},
		{"signed after T", after1Sig, after1.path, after1.entry, 8, "revoked"},
		{"signed after T, another version", after2Sig, after2.path, after2.entry, 8, "revoked"},
		{"signed before T, offline: the exact list names it", beforeSig, before.path, 0, 0, ""},
		{"re-signed with the new key", after1.path + ".sig", after1.path, 0, 0, ""},
	}
	for _, tc := range cases {
		args := []string{"--truststore", truststore, "--revocation-list", listV2, "--signature", tc.sig}
		if tc.entry != 0 {
			args = append(args, "--server", srv.Addr, "--ledger-entry", fmt.Sprint(tc.entry))
		}
		code, rep := verifyJSON(t, append(args, tc.archive)...)
		if code != tc.wantCode || rep.Cause != tc.wantCause {
			t.Errorf("%s: exit %d, %+v; want exit %d cause %q", tc.name, code, rep, tc.wantCode, tc.wantCause)
		}
		if tc.wantCode == 8 && (rep.Revoked == nil || rep.Revoked.Reason != "key-compromise") {
			t.Errorf("%s: revocation not named in the report: %+v", tc.name, rep)
		}
	}
	// Without a revocation list the old signatures still verify: the list is what revokes.
	if code, _ := verifyJSON(t, "--truststore", truststore, "--signature", after1Sig, after1.path); code != 0 {
		t.Errorf("old signature without any revocation list: exit %d, want 0", code)
	}

	// One archive revoked: every signature over it fails, whenever made.
	mustSignerctl(t, "revoke", "signature", "--server", srv.Addr, "--ledger-entry", fmt.Sprint(before.entry), "--reason", "malicious")
	listV3 := filepath.Join(work, "revocation-v3.json")
	mustSignerctl(t, "revoke", "publish", "--server", srv.Addr, "--out", listV3)
	code, rep := verifyJSON(t, "--truststore", truststore, "--revocation-list", listV3, "--signature", beforeSig,
		"--server", srv.Addr, "--ledger-entry", fmt.Sprint(before.entry), before.path)
	if code != 8 || rep.Revoked == nil || rep.Revoked.Kind != "archive" {
		t.Errorf("revoked archive: exit %d, %+v; want 8 naming the archive", code, rep)
	}

	// A list older than the one installed in the trust store is a rollback.
	rollbackStore := filepath.Join(work, "truststore-with-list")
	copyDir(t, truststore, rollbackStore)
	must(t, os.MkdirAll(filepath.Join(rollbackStore, ".revocation"), 0o755))
	v3, _ := os.ReadFile(listV3)
	must(t, os.WriteFile(filepath.Join(rollbackStore, ".revocation", "revocation.json"), v3, 0o444))
	code, rep = verifyJSON(t, "--truststore", rollbackStore, "--revocation-list", listV1, "--signature", after1.path+".sig", after1.path)
	if code != 8 || !strings.Contains(rep.Error, "rollback") {
		t.Errorf("older list than installed: exit %d, %+v; want 8 rollback", code, rep)
	}
	// The installed list alone is applied.
	if code, _ := verifyJSON(t, "--truststore", rollbackStore, "--signature", after2Sig, after2.path); code != 8 {
		t.Errorf("installed list not applied: exit %d, want 8", code)
	}
	if out := mustSignerctl(t, "revoke", "list", "--server", srv.Addr); strings.Count(out, "revocation ") != 2 {
		t.Errorf("revoke list: want 2 revocations (key, archive):\n%s", out)
	}
}
