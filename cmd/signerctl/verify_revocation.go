package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/bundle"
	"github.com/appsign/signer/internal/chain"
	"github.com/appsign/signer/internal/revocation"
)

// revocationSource is the list verify checks against and where it came from.
type revocationSource struct {
	list *revocation.List
	from string
}

// loadRevocationList returns the newest trustworthy revocation list: the
// trust store's installed one (.revocation/revocation.json, put there by
// bundle install) or --revocation-list FILE, which must not be older than
// the installed one (rollback). A stale list is used, with a warning, or
// refused when staleFail. No list at all is (nil, nil).
func loadRevocationList(truststore, extra string, ts *chain.TrustStore, now time.Time, staleFail bool) (*revocationSource, []string, error) {
	var warnings []string
	load := func(path string) (*revocation.List, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		l, _, err := revocation.VerifyTrusted(b, ts.Roots(), ts.Intermediates(), now)
		switch {
		case errors.Is(err, revocation.ErrStale) && !staleFail:
			warnings = append(warnings, fmt.Sprintf("%s: %v (checking against it anyway; install a newer bundle)", path, err))
		case err != nil:
			return nil, fmt.Errorf("revocation list %s: %w", path, err)
		}
		return l, nil
	}
	installedPath := filepath.Join(truststore, bundle.RevocationDir, bundle.RevocationListFile)
	installed, err := load(installedPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, warnings, err
	}
	src := &revocationSource{list: installed, from: installedPath}
	if extra != "" {
		l, err := load(extra)
		if err != nil {
			return nil, warnings, err
		}
		if installed != nil {
			if err := revocation.CheckNotOlder(installed.Version, l); err != nil {
				return nil, warnings, fmt.Errorf("revocation list %s: %w (the trust store has version %d)", extra, err, installed.Version)
			}
		}
		src = &revocationSource{list: l, from: extra}
	}
	if src.list == nil {
		return nil, warnings, nil
	}
	return src, warnings, nil
}

// signingTime returns when the signature was made and how far that can be
// trusted: from the ledger when --server and --ledger-entry name the
// entry that recorded exactly this signature over this archive, else from
// a digest statement, else unknown.
func signingTime(ctx context.Context, conn *client, entryID int64, res *verified) (time.Time, revocation.TimeSource, error) {
	if entryID > 0 {
		resp, err := unary(ctx, conn, "get ledger entry", func(ctx context.Context, conn *grpc.ClientConn) (*signerv1.GetEntryResponse, error) {
			return signerv1.NewLedgerServiceClient(conn).GetEntry(ctx, &signerv1.GetEntryRequest{Id: entryID})
		})
		if err != nil {
			return time.Time{}, 0, err
		}
		e := resp.GetEntry()
		if !bytes.Equal(e.GetSignature(), res.Signature) || fmt.Sprintf("%x", e.GetSha256()) != res.SHA256 {
			return time.Time{}, 0, withCode(exitError, fmt.Errorf("ledger entry %d records another signature or archive: it cannot date this one", entryID))
		}
		return e.GetSignedAt().AsTime(), revocation.TimeFromLedger, nil
	}
	if res.Statement != nil {
		return res.Statement.SignedAt, revocation.TimeFromStatement, nil
	}
	return time.Time{}, revocation.TimeUnknown, nil
}

// checkRevoked runs the revocation check for a verified signature whose
// certificate path (signaturePath) is certs.
func checkRevoked(src *revocationSource, certs []*x509.Certificate, res *verified, signedAt time.Time, source revocation.TimeSource) error {
	q := revocation.Query{ArchiveSHA256: res.SHA256, Chain: revocation.RefsOf(certs), SignedAt: signedAt, SignedAtSource: source, Signature: res.Signature}
	if err := revocation.Check(src.list, q); err != nil {
		return fmt.Errorf("%w (revocation list version %d, %s)", err, src.list.Version, src.from)
	}
	return nil
}

// signaturePath is the signing certificate and its CAs up to the root.
func signaturePath(ts *chain.TrustStore, res *verified, now time.Time) ([]*x509.Certificate, error) {
	if res.FromTrustStore {
		return []*x509.Certificate{res.Certificate}, nil
	}
	p, err := ts.VerifySigningCertificate(res.Certificate, now)
	if err != nil {
		return nil, err
	}
	return p, nil
}
