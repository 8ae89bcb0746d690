package ledger

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/keystore"
	"github.com/appsign/signer/internal/translog"
)

// LogKeys collects the signing keys the log records: each key version's
// public key from its key leaf and its certificate from its certificate
// leaf. It is what an auditor checks signatures with instead of what the
// server says the keys are.
type LogKeys struct {
	Keys  map[KeyRef]ed25519.PublicKey
	Certs map[KeyRef]*x509.Certificate
	// Index is the leaf that added each key version.
	Index    map[KeyRef]int64
	Findings []Finding
}

// NewLogKeys returns an empty LogKeys.
func NewLogKeys() *LogKeys {
	return &LogKeys{Keys: map[KeyRef]ed25519.PublicKey{}, Certs: map[KeyRef]*x509.Certificate{}, Index: map[KeyRef]int64{}}
}

// Leaf records the key or signing certificate a leaf adds; other leaves
// are ignored.
func (k *LogKeys) Leaf(index int64, raw []byte) {
	leaf, err := translog.DecodeLeaf(raw)
	if err != nil || (leaf.Kind != translog.KindKey && leaf.Kind != translog.KindCertificate) {
		return
	}
	ev, err := DecodeEvent(leaf.Kind, leaf.Payload)
	if err != nil {
		return // the Projector reports it
	}
	if leaf.Kind == translog.KindCertificate {
		var d CertificateDetail
		if json.Unmarshal(ev.Detail, &d) != nil || d.Profile != CertSigning {
			return
		}
		c, err := x509.ParseCertificate(d.DER)
		if err != nil {
			k.Findings = append(k.Findings, Finding{Index: index, Problem: fmt.Sprintf("logged certificate of %s v%d does not parse: %v", d.Key, d.KeyVersion, err)})
			return
		}
		k.Certs[KeyRef{d.Key, d.KeyVersion}] = c
		return
	}
	switch keystore.EventKind(ev.Action) {
	case keystore.EventCreated, keystore.EventImported, keystore.EventRotated:
	default:
		return
	}
	var name string
	var version int32
	var d KeyDetail
	if _, err := fmt.Sscanf(ev.Subject, "key %s v%d", &name, &version); err != nil || json.Unmarshal(ev.Detail, &d) != nil {
		return
	}
	pub, err := hex.DecodeString(d.PublicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		k.Findings = append(k.Findings, Finding{Index: index, Problem: fmt.Sprintf("logged public key of %s v%d is not an Ed25519 key", name, version)})
		return
	}
	ref := KeyRef{name, version}
	k.Keys[ref], k.Index[ref] = ed25519.PublicKey(pub), index
}

// CompareServerKeys names every key the server presents (served) that
// the log does not record, or records with another public key.
func (k *LogKeys) CompareServerKeys(served map[KeyRef]ed25519.PublicKey) []Finding {
	refs := make([]KeyRef, 0, len(served))
	for r := range served {
		refs = append(refs, r)
	}
	slices.SortFunc(refs, func(a, b KeyRef) int {
		return cmp.Or(strings.Compare(a.ID, b.ID), cmp.Compare(a.Version, b.Version))
	})
	var out []Finding
	for _, r := range refs {
		logged, ok := k.Keys[r]
		switch {
		case !ok:
			out = append(out, Finding{Index: -1, Problem: fmt.Sprintf("the server presents signing key %s v%d, which no key leaf records", r.ID, r.Version)})
		case !logged.Equal(served[r]):
			out = append(out, Finding{Index: k.Index[r], Problem: fmt.Sprintf("the server presents another public key for %s v%d than the log records", r.ID, r.Version)})
		}
	}
	return out
}

// ArchiveCheck re-verifies default-profile (UPM) signatures over the
// archives an auditor holds: each signature leaf whose archive is in
// Archives (SHA-256 hex → file path) is checked as an installing instance
// would, with the signing certificate from the log, chained to the
// auditor's trust store at the signing time, and its key the one the
// key leaf records. Feed it every leaf with Leaf (after LogKeys saw it),
// then call Finish.
type ArchiveCheck struct {
	Archives map[string]string
	Trust    *chain.TrustStore
	Keys     *LogKeys
	// Checked counts the signatures re-verified.
	Checked int64

	pending []archiveJob
	matched map[string]bool
	// digest is the last digest-v1 leaf naming each held archive: such a
	// leaf signs a statement, not the archive, so it does not cover it
	// here, but the finding says it exists.
	digest   map[string]int64
	Findings []Finding
}

type archiveJob struct {
	index int64
	e     Entry
}

// Leaf queues a UPM signature leaf whose archive is held.
func (a *ArchiveCheck) Leaf(index int64, raw []byte) {
	leaf, err := translog.DecodeLeaf(raw)
	if err != nil || leaf.Kind != translog.KindSignature {
		return
	}
	e, err := DecodeSignature(leaf.Payload)
	if err != nil {
		return
	}
	sum := hex.EncodeToString(e.SHA256)
	if _, ok := a.Archives[sum]; !ok {
		return
	}
	if e.Profile != ProfileUPM && e.Profile != "" {
		if a.digest == nil {
			a.digest = map[string]int64{}
		}
		a.digest[sum] = index
		return
	}
	a.pending = append(a.pending, archiveJob{index, e})
}

// Finish re-verifies every queued signature and names every archive no
// signature leaf covers.
func (a *ArchiveCheck) Finish(ctx context.Context) []Finding {
	if a.matched == nil {
		a.matched = map[string]bool{}
	}
	for _, j := range a.pending {
		if err := ctx.Err(); err != nil {
			a.add(j, "not checked: %v", err)
			break
		}
		a.check(ctx, j)
	}
	var unmatched []string
	for sum, path := range a.Archives {
		switch i, digest := a.digest[sum]; {
		case a.matched[sum]:
		case digest:
			unmatched = append(unmatched, fmt.Sprintf("archive %s (SHA-256 %s): no archive (UPM) signature leaf covers it; "+
				"digest-v1 statement leaf %d names it, whose signature the statement check covers, not this re-verification", path, sum, i))
		default:
			unmatched = append(unmatched, fmt.Sprintf("archive %s (SHA-256 %s): no signature leaf covers it", path, sum))
		}
	}
	slices.Sort(unmatched)
	for _, u := range unmatched {
		a.Findings = append(a.Findings, Finding{Index: -1, Problem: u})
	}
	return a.Findings
}

func (a *ArchiveCheck) add(j archiveJob, format string, args ...any) {
	a.Findings = append(a.Findings, Finding{Index: j.index, EntryID: j.e.ID, Problem: fmt.Sprintf(format, args...)})
}

func (a *ArchiveCheck) check(ctx context.Context, j archiveJob) {
	sum := hex.EncodeToString(j.e.SHA256)
	path := a.Archives[sum]
	a.matched[sum] = true
	ref := KeyRef{j.e.KeyID, j.e.KeyVersion}
	pub, ok := a.Keys.Keys[ref]
	if !ok {
		a.add(j, "signing key %s v%d: no key leaf records it", ref.ID, ref.Version)
		return
	}
	cert, ok := a.Keys.Certs[ref]
	if !ok {
		a.add(j, "signing key %s v%d: no certificate leaf records its certificate", ref.ID, ref.Version)
		return
	}
	if cp, ok := cert.PublicKey.(ed25519.PublicKey); !ok || !cp.Equal(pub) {
		a.add(j, "the logged certificate of %s v%d is not for the logged key", ref.ID, ref.Version)
		return
	}
	if cs := hex.EncodeToString(cert.SerialNumber.Bytes()); cs != j.e.CertSerial && cert.SerialNumber.Text(16) != j.e.CertSerial {
		a.add(j, "the entry names certificate serial %s, the log's certificate of %s v%d is %s", j.e.CertSerial, ref.ID, ref.Version, cs)
	}
	f, err := os.Open(path)
	if err != nil {
		a.add(j, "archive %s: %v", path, err)
		return
	}
	defer f.Close()
	// Hash while verifying: the file must be the archive the entry names.
	h := sha256.New()
	sf := chain.SignatureFile{Signature: j.e.Signature, Certificate: chain.CertificatePEM(cert)}
	_, err = a.Trust.Verify(ctx, sf, io.TeeReader(f, h), j.e.SignedAt)
	if _, cerr := io.Copy(h, f); cerr != nil { // the rest, when the trust decision came first
		a.add(j, "archive %s: %v", path, cerr)
		return
	}
	if got := h.Sum(nil); !bytes.Equal(got, j.e.SHA256) {
		a.add(j, "archive %s has SHA-256 %x, not the %s the entry signs (changed since it was listed)", path, got, sum)
		return
	}
	if err != nil {
		a.add(j, "the signature over archive %s does not verify with the logged certificate of %s v%d against the trust store: %v", path, ref.ID, ref.Version, err)
		return
	}
	a.Checked++
}
