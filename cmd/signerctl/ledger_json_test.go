package main

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/ledger"
)

// TestLedgerEntryJSONHasTheLeafShape: signerctl's JSON and CSV of a ledger
// entry (ledger list, show, export) name every field as the entry's log
// leaf does (docs/ledger.md), so an auditor matches the two without a
// translation table. It used to say certificate_serial where the leaf says
// cert_serial.
func TestLedgerEntryJSONHasTheLeafShape(t *testing.T) {
	signedAt := time.Date(2026, 5, 1, 12, 0, 0, 123456000, time.UTC)
	sum256, sum512, sig := make([]byte, 32), make([]byte, 64), make([]byte, 64)
	leaf := ledger.EncodeSignature(ledger.Entry{
		ID: 7, AppKey: "com.acme.app", Version: "1.0", Track: ledger.TrackMarketplace, ArchiveSize: 10,
		SHA256: sum256, SHA512: sum512, KeyID: "app-signing", KeyVersion: 2, CertSerial: "0a1b", Signature: sig,
		Caller: "spiffe://pipeline", ReviewRef: "RVW-1", IdempotencyKey: "k", SignedAt: signedAt,
		Profile: ledger.ProfileDigestV1, Statement: []byte("st"),
	})
	cli, err := json.Marshal(entryJSONOf(&signerv1.LedgerEntry{
		Id: 7, LogIndex: 3, AppKey: "com.acme.app", Version: "1.0", Track: signerv1.Track_TRACK_MARKETPLACE, ArchiveSize: 10,
		Sha256: sum256, Sha512: sum512, KeyId: "app-signing", KeyVersion: 2, CertificateSerial: "0a1b", Signature: sig,
		Caller: "spiffe://pipeline", ReviewRef: "RVW-1", IdempotencyKey: "k", SignedAt: timestamppb.New(signedAt),
		Profile: ledger.ProfileDigestV1, Statement: []byte("st"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	var leafObj, cliObj map[string]any
	if err := json.Unmarshal(leaf, &leafObj); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(cli, &cliObj); err != nil {
		t.Fatal(err)
	}
	// The leaf's format version and entry_id (the CLI's id) are the leaf's own.
	for _, k := range slices.Sorted(maps.Keys(leafObj)) {
		if _, ok := cliObj[k]; !ok && k != "v" && k != "entry_id" {
			t.Errorf("signerctl's ledger entry JSON lacks the leaf's key %q: %s", k, cli)
		}
	}
	if cliObj["cert_serial"] != "0a1b" {
		t.Errorf("cert_serial = %v, want 0a1b: %s", cliObj["cert_serial"], cli)
	}
	if _, ok := cliObj["certificate_serial"]; ok {
		t.Errorf("JSON still carries certificate_serial: %s", cli)
	}
	// CSV columns are the JSON keys, in order.
	if got := slices.Sorted(slices.Values(csvHeader)); !slices.Equal(got, slices.Sorted(maps.Keys(cliObj))) {
		t.Errorf("CSV header %v, want the JSON keys %v", csvHeader, slices.Sorted(maps.Keys(cliObj)))
	}
}
