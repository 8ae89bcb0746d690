package server

import (
	"context"
	"io"

	"google.golang.org/grpc"

	signerv1 "github.com/appsign/signer/gen/signer/v1"
)

// archiveStream replays one batch archive item as the message sequence of
// a SignArchive stream (metadata, then chunks), so a batch item goes
// through exactly the checks and signing path of SignArchive.
type archiveStream struct {
	grpc.ServerStream // nil: only Recv and Context are used by signArchive
	ctx               context.Context
	msgs              []*signerv1.SignArchiveRequest
}

func newArchiveStream(ctx context.Context, a *signerv1.BatchArchive) *archiveStream {
	s := &archiveStream{ctx: ctx}
	if a.GetMetadata() != nil {
		s.msgs = append(s.msgs, &signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Metadata{Metadata: a.GetMetadata()}})
	}
	content := a.GetContent()
	for off := 0; off < len(content); off += chunkLimit {
		chunk := content[off:min(off+chunkLimit, len(content))]
		s.msgs = append(s.msgs, &signerv1.SignArchiveRequest{Payload: &signerv1.SignArchiveRequest_Chunk{Chunk: chunk}})
	}
	return s
}

// Context implements grpc.ServerStream.
func (s *archiveStream) Context() context.Context { return s.ctx }

// Recv returns the next message, then io.EOF.
func (s *archiveStream) Recv() (*signerv1.SignArchiveRequest, error) {
	if err := s.ctx.Err(); err != nil {
		return nil, err
	}
	if len(s.msgs) == 0 {
		return nil, io.EOF
	}
	m := s.msgs[0]
	s.msgs = s.msgs[1:]
	return m, nil
}

// SendAndClose is never called: the batch service builds the response.
func (s *archiveStream) SendAndClose(*signerv1.SignArchiveResponse) error { return nil }
