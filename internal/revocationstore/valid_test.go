package revocationstore_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/appsign/signer/internal/revocation"
	"github.com/appsign/signer/internal/revocationstore"
)

// TestSignaturesBeforeFromTheLog: the set an exact list entry keeps valid
// is every logged signature by the revoked key version made before T and
// logged before the revocation, and nothing a database administrator adds
// or edits in the signatures table reaches it: an edited row refuses the
// publication.
func TestSignaturesBeforeFromTheLog(t *testing.T) {
	f := newFixture(t)
	s := revocationstore.New(f.ledger.Pool(), f.ledger.RevocationStoreOptions(nil))
	pre := []int64{f.sign(t, "1.0.0", 1, t0.Add(time.Hour)).ID, f.sign(t, "1.0.1", 1, t0.Add(2*time.Hour)).ID}
	post := f.sign(t, "1.0.2", 1, t0.Add(4*time.Hour))
	other := f.sign(t, "2.0.0", 2, t0.Add(time.Hour)) // another version: not under the revoked key
	fp := fingerprint(f.certs[1])
	r, _, _, err := s.RevokeKey(t.Context(), fp, "CN=k", t0.Add(3*time.Hour), revocation.ReasonKeyCompromise, "admin", byKey(fp))
	if err != nil {
		t.Fatal(err)
	}
	// Logged after the revocation but claiming a time before T (a forged
	// or late entry): the log index says it cannot be a pre-T signature.
	late := f.sign(t, "1.0.9", 1, t0.Add(time.Hour))

	sigs, complete, err := s.SignaturesBefore(t.Context(), r, byKey(fp))
	if err != nil || !complete {
		t.Fatalf("SignaturesBefore = %v, complete %v; want the pre-T signatures", err, complete)
	}
	var got []int64
	for _, sg := range sigs {
		got = append(got, sg.EntryID)
		if len(sg.SHA256) != 32 || len(sg.Signature) != 64 {
			t.Errorf("entry %d: digest %d bytes, signature %d bytes", sg.EntryID, len(sg.SHA256), len(sg.Signature))
		}
	}
	if !slices.Equal(got, pre) || slices.Contains(got, other.ID) || slices.Contains(got, late.ID) {
		t.Errorf("SignaturesBefore = entries %v; want exactly %v", got, pre)
	}

	// Without a log that can prove signatures, nothing is exact.
	bare := revocationstore.New(f.ledger.Pool(), revocationstore.Options{})
	if _, complete, err := bare.SignaturesBefore(t.Context(), r, byKey(fp)); err != nil || complete {
		t.Errorf("store without a signature log: complete %v, %v; want not exact", complete, err)
	}

	// A DBA moves the post-T signature before T in the table (triggers off).
	err = pgx.BeginFunc(t.Context(), f.ledger.Pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(t.Context(), `SET LOCAL session_replication_role = replica`); err != nil {
			return err
		}
		_, err := tx.Exec(t.Context(), `UPDATE signatures SET signed_at = $1 WHERE id = $2`, t0.Add(time.Hour), post.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SignaturesBefore(t.Context(), r, byKey(fp)); err == nil || !strings.Contains(err.Error(), "ledger verify") {
		t.Errorf("after a DBA backdated entry %d: SignaturesBefore = %v; want it refused, naming ledger verify", post.ID, err)
	}
}

// TestSignaturesBeforeNotExactForVendorKeys: under a target that also
// covers a certificate issued to a vendor, whose signatures are made
// outside the service, the log cannot list what stays valid.
func TestSignaturesBeforeNotExactForVendorKeys(t *testing.T) {
	f := newFixture(t)
	s := revocationstore.New(f.ledger.Pool(), f.ledger.RevocationStoreOptions(nil))
	f.sign(t, "1.0.0", 1, t0.Add(time.Hour))
	if err := s.RecordVendorCertificate(t.Context(), revocationstore.VendorCertificate{Vendor: "acme", Caller: "spiffe://x/vendor/acme",
		AppKeys: []string{"com.acme.app"}, Cert: f.certs[2]}); err != nil {
		t.Fatal(err)
	}
	all := func(revocationstore.SignedCert) bool { return true } // e.g. a CA over both
	r, _, _, err := s.RevokeCertificate(t.Context(), revocationstore.CertificateTarget{Issuer: "CN=k", Serial: "01"}, t0.Add(3*time.Hour),
		revocation.ReasonCACompromise, "admin", all)
	if err != nil {
		t.Fatal(err)
	}
	if _, complete, err := s.SignaturesBefore(t.Context(), r, all); err != nil || complete {
		t.Errorf("target covering a vendor certificate: complete %v, %v; want not exact", complete, err)
	}
	if _, complete, err := s.SignaturesBefore(t.Context(), r, byKey(fingerprint(f.certs[1]))); err != nil || !complete {
		t.Errorf("target covering only the service's key version: complete %v, %v; want exact", complete, err)
	}
}
