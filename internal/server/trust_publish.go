package server

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
	"github.com/appsign/signer/internal/revocation"
	"github.com/appsign/signer/internal/revocationstore"
)

// maxNextUpdate bounds how long a list or CRL may claim to be fresh.
const maxNextUpdate = 90 * 24 * time.Hour

// PublishRevocationList implements signerv1.TrustServiceServer.
func (s *trustService) PublishRevocationList(ctx context.Context, req *signerv1.PublishRevocationListRequest) (*signerv1.PublishRevocationListResponse, error) {
	d, err := nextUpdate(req.GetNextUpdate())
	if err != nil {
		return nil, err
	}
	p, err := s.admin.Store.PublishList(ctx, s.caller(ctx), func(ctx context.Context, version int64, revs []revocationstore.Revocation) (revocationstore.Published, error) {
		now := s.cfg.Now()
		valid, err := s.validSets(ctx, revs)
		if err != nil {
			return revocationstore.Published{}, err
		}
		l, err := buildList(s.admin.ListIssuer, uint64(version), now, now.Add(d), revs, valid)
		if err != nil {
			return revocationstore.Published{}, err
		}
		env, err := revocation.Sign(ctx, l, s.admin.ListSigner, s.admin.ListSignerCert)
		if err != nil {
			return revocationstore.Published{}, err
		}
		return revocationstore.Published{Version: version, IssuedAt: l.IssuedAt, NextUpdate: l.NextUpdate, Data: env}, nil
	})
	if err != nil {
		return nil, err
	}
	return &signerv1.PublishRevocationListResponse{RevocationList: p.Data, Version: uint64(p.Version),
		IssuedAt: timestamppb.New(p.IssuedAt), NextUpdate: timestamppb.New(p.NextUpdate)}, nil
}

// GetRevocationList implements signerv1.TrustServiceServer.
func (s *trustService) GetRevocationList(ctx context.Context, _ *signerv1.GetRevocationListRequest) (*signerv1.GetRevocationListResponse, error) {
	p, err := s.admin.Store.LatestList(ctx)
	if err != nil {
		return nil, err
	}
	return &signerv1.GetRevocationListResponse{RevocationList: p.Data, Version: uint64(p.Version),
		IssuedAt: timestamppb.New(p.IssuedAt), NextUpdate: timestamppb.New(p.NextUpdate)}, nil
}

// IssueCrl implements signerv1.TrustServiceServer.
func (s *trustService) IssueCrl(ctx context.Context, req *signerv1.IssueCrlRequest) (*signerv1.IssueCrlResponse, error) {
	ca, err := s.namedCA(req.GetCa())
	if err != nil {
		return nil, err
	}
	d, err := nextUpdate(req.GetNextUpdate())
	if err != nil {
		return nil, err
	}
	p, err := s.admin.Store.PublishCRL(ctx, ca.Name, s.caller(ctx), func(ctx context.Context, number int64, revs []revocationstore.Revocation) (revocationstore.Published, error) {
		now := s.cfg.Now().UTC().Truncate(time.Second)
		l, err := buildList(s.admin.ListIssuer, 1, now, now.Add(d), revs, nil)
		if err != nil {
			return revocationstore.Published{}, err
		}
		der, err := revocation.BuildCRL(ctx, ca.Cert, ca.Signer, big.NewInt(number), revocation.CRLEntriesFor(l, ca.Cert), now, now.Add(d))
		if err != nil {
			return revocationstore.Published{}, err
		}
		return revocationstore.Published{Version: number, IssuedAt: now, NextUpdate: now.Add(d), Data: der}, nil
	})
	if err != nil {
		return nil, err
	}
	return &signerv1.IssueCrlResponse{Crl: p.Data, Ca: ca.Name, Number: p.Version, FileName: ca.Name + ".crl"}, nil
}

// GetCrl implements signerv1.TrustServiceServer.
func (s *trustService) GetCrl(ctx context.Context, req *signerv1.GetCrlRequest) (*signerv1.GetCrlResponse, error) {
	ca, err := s.namedCA(req.GetCa())
	if err != nil {
		return nil, err
	}
	p, err := s.admin.Store.LatestCRL(ctx, ca.Name)
	if err != nil {
		return nil, err
	}
	return &signerv1.GetCrlResponse{Crl: p.Data, Ca: ca.Name, Number: p.Version, FileName: ca.Name + ".crl"}, nil
}

func (s *trustService) namedCA(name string) (CA, error) {
	if ca, ok := s.admin.ca(name); ok {
		return ca, nil
	}
	names := make([]string, 0, len(s.admin.CAs))
	for _, c := range s.admin.CAs {
		names = append(names, c.Name)
	}
	return CA{}, clientErrorf(codes.InvalidArgument, "ca %q: use one of %s", name, strings.Join(names, ", "))
}

func nextUpdate(d *durationpb.Duration) (time.Duration, error) {
	if d == nil || d.AsDuration() == 0 {
		return DefaultNextUpdate, nil
	}
	if v := d.AsDuration(); v > 0 && v <= maxNextUpdate {
		return v, nil
	}
	return 0, invalidArg("next_update must be positive and at most %s", maxNextUpdate)
}

// buildList turns the recorded revocations into a revocation list; the
// key and certificate entries with a set in valid are exact.
func buildList(issuer string, version uint64, issuedAt, next time.Time, revs []revocationstore.Revocation, valid map[int64]validSet) (*revocation.List, error) {
	in := revocation.Input{Issuer: issuer, Version: version, IssuedAt: issuedAt, NextUpdate: next}
	for _, r := range revs {
		switch r.Kind {
		case revocationstore.KindArchive:
			in.Archives = append(in.Archives, revocation.RevokedArchive{SHA256: r.ArchiveSHA256, Reason: r.Reason, RevokedAt: r.RevokedAt, LedgerEntryID: r.LedgerEntryID})
		case revocationstore.KindCertificate:
			in.Certificates = append(in.Certificates, revocation.RevokedCertificate{Issuer: r.Issuer, Serial: r.Serial, EffectiveFrom: r.EffectiveFrom, Reason: r.Reason,
				Exact: valid[r.ID].exact, Valid: valid[r.ID].valid})
		case revocationstore.KindKey:
			in.Keys = append(in.Keys, revocation.RevokedKey{Fingerprint: r.Fingerprint, EffectiveFrom: r.EffectiveFrom, Reason: r.Reason,
				Exact: valid[r.ID].exact, Valid: valid[r.ID].valid})
		default:
			return nil, fmt.Errorf("server: revocation %d has unknown kind %q", r.ID, r.Kind)
		}
	}
	return revocation.Build(in)
}
