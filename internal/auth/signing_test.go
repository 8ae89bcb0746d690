package auth_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

func TestSigningRules(t *testing.T) {
	p := mustPolicy(t, testPolicy+`  - id: spiffe://appsign/mixed/pv
    roles: [pipeline, vendor]
    vendor: mixed
    app_key_prefixes: [com.mixed]
`)
	_, dial := mtlsServer(t, p)
	const (
		pipeline = "spiffe://appsign/pipeline/review-1"
		vendor   = "spiffe://appsign/vendor/acme/ci"
		auditor  = "spiffe://appsign/auditor/bob"
		mixed    = "spiffe://appsign/mixed/pv"
	)
	private, market := signerv1.Track_TRACK_PRIVATE_BUILD, signerv1.Track_TRACK_MARKETPLACE
	tests := []struct {
		name      string
		subject   string
		appKey    string
		track     signerv1.Track
		chunkOnly bool // SignArchive only: send a chunk where the metadata belongs
		want      codes.Code
		wantMsg   string
	}{
		{"pipeline signs a marketplace release", pipeline, "com.acme.app", market, false, codes.OK, ""},
		// The service's signatures are marketplace-origin: no private-build track for anyone.
		{"pipeline asks for a private build", pipeline, "com.other.app", private, false, codes.PermissionDenied, "TRACK_PRIVATE_BUILD"},
		{"vendor asks for its own private build", vendor, "com.acme.timesheets", private, false, codes.PermissionDenied, "private-build certificate"},
		{"vendor asks for its own marketplace release", vendor, "com.acme.timesheets", market, false, codes.PermissionDenied, "only the review pipeline"},
		{"vendor asks for another vendor's app", vendor, "com.globex.app", private, false, codes.PermissionDenied, "only the review pipeline"},
		{"vendor hides the metadata", vendor, "", private, true, codes.PermissionDenied, "only the review pipeline"},
		{"pipeline and vendor roles: pipeline rule applies", mixed, "com.other.app", market, false, codes.OK, ""},
		{"pipeline and vendor roles: no private build either", mixed, "com.mixed.app", private, false, codes.PermissionDenied, "TRACK_PRIVATE_BUILD"},
		{"auditor", auditor, "com.acme.app", private, false, codes.PermissionDenied, "roles do not allow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := signerv1.NewSignerServiceClient(dial(tt.subject))
			check := func(rpc string, gotKeyID string, err error) {
				t.Helper()
				st := status.Convert(err)
				if st.Code() != tt.want {
					t.Fatalf("%s: %v, want %v", rpc, err, tt.want)
				}
				if tt.want == codes.OK && gotKeyID != tt.subject {
					t.Fatalf("%s: handler saw caller %q, want %q", rpc, gotKeyID, tt.subject)
				}
				if tt.wantMsg != "" && !strings.Contains(st.Message(), tt.wantMsg) {
					t.Fatalf("%s: message %q, want it to mention %q", rpc, st.Message(), tt.wantMsg)
				}
			}

			stream, err := client.SignArchive(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			first := &signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Metadata{Metadata: &signerv1.SignArchiveMetadata{AppKey: tt.appKey, Track: tt.track}}}
			if tt.chunkOnly {
				first = &signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Chunk{Chunk: []byte("PK")}}
			}
			_ = stream.Send(first)
			_ = stream.Send(&signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Chunk{Chunk: []byte("archive")}})
			resp, err := stream.CloseAndRecv()
			check("SignArchive", resp.GetKeyId(), err)

			if tt.chunkOnly {
				return
			}
			dresp, err := client.SignDigest(t.Context(), &signerv1.SignDigestRequest{AppKey: tt.appKey, Track: tt.track})
			check("SignDigest", dresp.GetKeyId(), err)
		})
	}
}
