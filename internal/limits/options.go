package limits

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// MaxResponseSize is the least the server may send in one message: a
// revocation list whose exact entries name every signature a revoked key
// made before its revocation is up to revocation.MaxSize (64 MiB). What the
// server accepts stays bounded by MaxMessageSize.
const MaxResponseSize = 72 << 20

// ServerOptions returns the gRPC server options that carry the transport
// limits: message size, streams per connection, handshake timeout, and
// keepalive rules that close dead and idle connections and refuse clients
// that ping too often. Append them after any option they should override.
func (l *Limiter) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(l.cfg.MaxMessageSize),
		grpc.MaxSendMsgSize(max(l.cfg.MaxMessageSize, MaxResponseSize)),
		grpc.MaxConcurrentStreams(l.cfg.MaxStreamsPerConnection),
		grpc.ConnectionTimeout(l.cfg.HandshakeTimeout),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: 5 * time.Minute,
			Time:              time.Minute,
			Timeout:           20 * time.Second,
		}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             10 * time.Second,
			PermitWithoutStream: true,
		}),
	}
}
