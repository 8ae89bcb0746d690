package main

import (
	"encoding/hex"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

// ledgerFilter holds the query flags shared by `ledger list` and `ledger export`.
type ledgerFilter struct {
	appKey, version, track, keyID, certSerial, sha256, caller, since, until, revoked string
	keyVersion                                                                       int32
	revocationID                                                                     int64
}

func (f *ledgerFilter) addFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.appKey, "app-key", "", "only entries of this app key")
	fl.StringVar(&f.version, "version", "", "only entries of this version")
	fl.StringVar(&f.track, "track", "", "only entries of this track: marketplace or private-build")
	fl.StringVar(&f.keyID, "key-id", "", "only entries signed with this key")
	fl.Int32Var(&f.keyVersion, "key-version", 0, "only entries of this version of --key-id")
	fl.StringVar(&f.certSerial, "cert-serial", "", "only entries under this certificate serial (hex)")
	fl.StringVar(&f.sha256, "sha256", "", "only entries of the archive with this SHA-256 (hex)")
	fl.StringVar(&f.caller, "caller", "", "only entries requested by this identity")
	fl.StringVar(&f.since, "since", "", "only entries signed at or after this time (RFC 3339)")
	fl.StringVar(&f.until, "until", "", "only entries signed before this time (RFC 3339)")
	fl.StringVar(&f.revoked, "revoked", "", "only revoked (yes) or unrevoked (no) entries")
	completeValues(cmd, "track", "marketplace", "private-build")
	completeValues(cmd, "revoked", "yes", "no")
	fl.Int64Var(&f.revocationID, "revocation-id", 0, "only the entries this revocation covers (all of them, paged; a revoke response lists at most 10,000)")
}

// request builds the ListEntriesRequest of the flags.
func (f *ledgerFilter) request() (*signerv1.ListEntriesRequest, error) {
	req := &signerv1.ListEntriesRequest{AppKey: f.appKey, Version: f.version, KeyId: f.keyID, KeyVersion: f.keyVersion,
		CertificateSerial: f.certSerial, Caller: f.caller, RevocationId: f.revocationID}
	switch f.track {
	case "":
	case "marketplace":
		req.Track = signerv1.Track_TRACK_MARKETPLACE
	case "private-build":
		req.Track = signerv1.Track_TRACK_PRIVATE_BUILD
	default:
		return nil, usagef("--track %q: use marketplace or private-build", f.track)
	}
	if f.sha256 != "" {
		b, err := hex.DecodeString(f.sha256)
		if err != nil || len(b) != 32 {
			return nil, usagef("--sha256: want 64 hex digits")
		}
		req.Sha256 = b
	}
	for _, t := range []struct {
		flag, value string
		dst         **timestamppb.Timestamp
	}{{"--since", f.since, &req.SignedFrom}, {"--until", f.until, &req.SignedTo}} {
		if t.value == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, t.value)
		if err != nil {
			return nil, usagef("%s %q: want an RFC 3339 time such as 2026-05-01T00:00:00Z", t.flag, t.value)
		}
		*t.dst = timestamppb.New(at)
	}
	switch f.revoked {
	case "":
	case "yes":
		req.Revocation = signerv1.RevocationFilter_REVOCATION_FILTER_REVOKED
	case "no":
		req.Revocation = signerv1.RevocationFilter_REVOCATION_FILTER_NOT_REVOKED
	default:
		return nil, usagef("--revoked %q: use yes or no", f.revoked)
	}
	return req, nil
}
